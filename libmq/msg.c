/*
 * msg.c - copying messages out of the views that readers hand out, and
 * the growing arrays such copies (and other lists) are kept in.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

int
mq_msg_copy(const struct mq_msg *src, struct mq_msg *dst,
    unsigned char **block)
{
	struct mq_header *h;
	unsigned char *p;
	size_t size, i;

	size = src->nheaders * sizeof(*h) + src->bodylen + src->keylen;
	for (i = 0; i < src->nheaders; i++)
		size += src->headers[i].namelen + src->headers[i].valuelen;
	if ((*block = malloc(size + 1)) == NULL)
		return mq_sys();
	*dst = *src;
	h = (struct mq_header *)(void *)*block;
	p = *block + src->nheaders * sizeof(*h);
	for (i = 0; i < src->nheaders; i++) {
		h[i].namelen = src->headers[i].namelen;
		h[i].valuelen = src->headers[i].valuelen;
		memcpy(p, src->headers[i].name, h[i].namelen);
		h[i].name = p;
		p += h[i].namelen;
		memcpy(p, src->headers[i].value, h[i].valuelen);
		h[i].value = p;
		p += h[i].valuelen;
	}
	dst->headers = h;
	if (src->key != NULL) {
		memcpy(p, src->key, src->keylen);
		dst->key = p;
		p += src->keylen;
	}
	if (src->bodylen > 0)
		memcpy(p, src->body, src->bodylen);
	dst->body = p;
	return MQ_OK;
}

int
mq_grow(void *pp, size_t *cap, size_t need, size_t size)
{
	size_t n = *cap ? *cap : 16;
	void *q;

	if (need <= *cap)
		return MQ_OK;
	while (n < need)
		n *= 2;
	if ((q = reallocarray(*(void **)pp, n, size)) == NULL)
		return mq_sys();
	*(void **)pp = q;
	*cap = n;
	return MQ_OK;
}
