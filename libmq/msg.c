/*
 * msg.c - copying messages out of the views that readers hand out, and
 * the growing arrays such copies (and other lists) are kept in.
 *
 * Model: every deep copy of a message in libmq and its tools is made by
 * mq_msg_copy(), onto the end of a buffer that the caller owns and that
 * may hold many copies: a reader's window, a group's delivery, a
 * server's queue of appends.  Since the buffer moves as it grows, a copy
 * holds no pointer until mq_msg_at() makes it a message, once the
 * buffer stands still: the copy is the message without its pointers
 * (and which of them were NULL), then its headers, their names and
 * values, its key and its body.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* What a copy starts with, of the message; its headers follow it. */
struct msg_head {
	mq_id		 id;
	uint64_t	 offset;
	int64_t		 time_ms;
	size_t		 keylen, nheaders, bodylen;
	unsigned char	 haskey;	/* 'key' was not NULL */
	unsigned char	 hasbody;	/* 'body' was not NULL */
};

#define HEAD_ALIGN	_Alignof(struct msg_head)

/* Copies 'len' bytes of 'src' (NULL if 'len' is 0) to 'p'; returns its end. */
static unsigned char *
put(unsigned char *p, const void *src, size_t len)
{
	if (len > 0)
		memcpy(p, src, len);
	return p + len;
}

int
mq_msg_copy(const struct mq_msg *src, unsigned char **buf, size_t *len,
    size_t *cap, size_t *off)
{
	struct msg_head *mh;
	struct mq_header *h;
	unsigned char *p;
	size_t at, size, i;
	int rc;

	at = (*len + HEAD_ALIGN - 1) & ~(HEAD_ALIGN - 1);
	size = sizeof(*mh) + src->nheaders * sizeof(*h) +
	    (src->key != NULL ? src->keylen : 0) +
	    (src->body != NULL ? src->bodylen : 0);
	for (i = 0; i < src->nheaders; i++)
		size += src->headers[i].namelen + src->headers[i].valuelen;
	if ((rc = mq_grow(buf, cap, at + size, 1)) != MQ_OK)
		return rc;
	mh = (struct msg_head *)(void *)(*buf + at);
	mh->id = src->id;
	mh->offset = src->offset;
	mh->time_ms = src->time_ms;
	mh->keylen = src->keylen;
	mh->nheaders = src->nheaders;
	mh->bodylen = src->bodylen;
	mh->haskey = src->key != NULL;
	mh->hasbody = src->body != NULL;
	h = (struct mq_header *)(void *)(mh + 1);
	p = (unsigned char *)(h + src->nheaders);
	for (i = 0; i < src->nheaders; i++) {
		h[i].namelen = src->headers[i].namelen;
		h[i].valuelen = src->headers[i].valuelen;
		p = put(p, src->headers[i].name, h[i].namelen);
		p = put(p, src->headers[i].value, h[i].valuelen);
	}
	if (mh->haskey)
		p = put(p, src->key, src->keylen);
	if (mh->hasbody)
		(void)put(p, src->body, src->bodylen);
	*off = at;
	*len = at + size;
	return MQ_OK;
}

void
mq_msg_at(unsigned char *buf, size_t off, struct mq_msg *msg)
{
	const struct msg_head *mh = (const void *)(buf + off);
	struct mq_header *h = (struct mq_header *)(void *)(buf + off +
	    sizeof(*mh));
	unsigned char *p = (unsigned char *)(h + mh->nheaders);
	size_t i;

	msg->id = mh->id;
	msg->offset = mh->offset;
	msg->time_ms = mh->time_ms;
	for (i = 0; i < mh->nheaders; i++) {
		h[i].name = p;
		p += h[i].namelen;
		h[i].value = p;
		p += h[i].valuelen;
	}
	msg->headers = h;
	msg->nheaders = mh->nheaders;
	msg->key = NULL;
	msg->keylen = mh->keylen;
	if (mh->haskey) {
		msg->key = p;
		p += mh->keylen;
	}
	msg->body = mh->hasbody ? p : NULL;
	msg->bodylen = mh->bodylen;
}

int
mq_msg_deadline(const struct mq_msg *m, int64_t *at)
{
	const struct mq_header *h;
	const unsigned char *v;
	int64_t n;
	size_t i, k;

	for (i = 0; i < m->nheaders; i++) {
		h = &m->headers[i];
		if (h->namelen != sizeof(MQ_EXPIRES_AT) - 1 ||
		    memcmp(h->name, MQ_EXPIRES_AT, h->namelen) != 0)
			continue;
		/* At most 18 digits: no overflow to check. */
		if (h->valuelen == 0 || h->valuelen > 18)
			return 0;
		v = h->value;
		for (k = 0, n = 0; k < h->valuelen; k++) {
			if (v[k] < '0' || v[k] > '9')
				return 0;
			n = n * 10 + (v[k] - '0');
		}
		*at = n;
		return 1;
	}
	return 0;
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
