/*
 * deadletter.c - moving messages to a stream's dead-letter stream.
 *
 * Model: a dead letter is a copy of a message appended to another
 * stream, the policy's dead_letter or else "<stream>.dlq", created when
 * first needed.  The copy keeps key, headers and body, and carries in
 * front of its own headers five that say what happened:
 *
 *	mq-origin	the name of the stream it came from
 *	mq-origin-id	its id there, "ms-seq"
 *	mq-reason	rejected, expired, delivery-limit or maxlen
 *	mq-count	how often it had been delivered (decimal)
 *	mq-time		when it was dead-lettered, ms since the epoch
 *
 * All messages of one call go in one mq_append: one lock, one write.
 * Since the extra headers make a copy larger than its original, a
 * dead-letter stream whose size limit is below its origin's would refuse
 * what the origin took and block the origin's consumers forever; in that
 * case its limit is raised to fit and the append tried once more.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define DL_HEADERS	5
#define NUM_MAX		21	/* a uint64 or int64 in decimal, and a NUL */

int
mq_dead_letter_name(mq_stream *stream, char *buf)
{
	const struct mq_policy *pol = mq_stream_policy(stream);
	int n;

	if (pol != NULL && pol->dead_letter[0] != '\0') {
		if (strlcpy(buf, pol->dead_letter, MQ_NAME_MAX + 1) >
		    MQ_NAME_MAX)
			return MQ_EBADNAME;
		return MQ_OK;
	}
	n = snprintf(buf, MQ_NAME_MAX + 1, "%s.dlq", mq_stream_name(stream));
	if (n < 0 || n > MQ_NAME_MAX)
		return MQ_EBADNAME;
	return MQ_OK;
}

static void
set_header(struct mq_header *h, const char *name, const char *value,
    size_t valuelen)
{
	h->name = name;
	h->namelen = strlen(name);
	h->value = value;
	h->valuelen = valuelen;
}

/* The bytes of 'm' that count against a stream's max_msg. */
static size_t
payload(const struct mq_msg *m)
{
	size_t n = m->bodylen + (m->key != NULL ? m->keylen : 0), i;

	for (i = 0; i < m->nheaders; i++)
		n += m->headers[i].namelen + m->headers[i].valuelen;
	return n;
}

/*
 * Appends 'out' ('n' messages) to 'dl'; on MQ_ETOOBIG raises the size
 * limit of 'dl' to fit them (within MQ_MSG_LIMIT) and tries once more.
 */
static int
append(mq_stream *dl, const struct mq_msg *out, size_t n)
{
	struct mq_policy pol;
	size_t need = 0, i;
	int rc;

	if ((rc = mq_append(dl, out, n, NULL, NULL)) != MQ_ETOOBIG)
		return rc;
	for (i = 0; i < n; i++)
		if (payload(&out[i]) > need)
			need = payload(&out[i]);
	if ((rc = mq_policy_get(dl, &pol)) != MQ_OK)
		return rc;
	if (need <= pol.max_msg || need > MQ_MSG_LIMIT)
		return MQ_ETOOBIG;
	pol.max_msg = (uint32_t)need;
	if ((rc = mq_policy_set(dl, &pol)) != MQ_OK)
		return rc;
	return mq_append(dl, out, n, NULL, NULL);
}

int
mq_dead_letter(mq_stream *origin, const struct mq_msg *msgs, size_t n,
    const char *reason, const uint64_t *counts)
{
	char name[MQ_NAME_MAX + 1], now[NUM_MAX], *vals = NULL, *v;
	const char *oname = mq_stream_name(origin);
	struct mq_header *hdrs = NULL, *h;
	struct mq_msg *out = NULL;
	size_t nh = 0, i, k;
	mq_stream *dl = NULL;
	int rc;

	if (n == 0)
		return MQ_OK;
	if ((rc = mq_dead_letter_name(origin, name)) != MQ_OK)
		return rc;
	for (i = 0; i < n; i++) {
		if (msgs[i].nheaders > SIZE_MAX / 2 - nh - DL_HEADERS)
			return MQ_ETOOBIG;
		nh += msgs[i].nheaders + DL_HEADERS;
	}
	snprintf(now, sizeof(now), "%" PRId64, mq_now_ms());
	out = calloc(n, sizeof(*out));
	hdrs = calloc(nh, sizeof(*hdrs));
	/* Per message: its id and its count, as text. */
	vals = calloc(n, MQ_ID_MAX + NUM_MAX);
	if (out == NULL || hdrs == NULL || vals == NULL) {
		rc = mq_sys();
		goto out;
	}
	h = hdrs;
	for (i = 0; i < n; i++) {
		v = vals + i * (MQ_ID_MAX + NUM_MAX);
		set_header(&h[0], "mq-origin", oname, strlen(oname));
		set_header(&h[1], "mq-origin-id", v, mq_id_fmt(v, msgs[i].id));
		v += MQ_ID_MAX;
		set_header(&h[2], "mq-reason", reason, strlen(reason));
		set_header(&h[3], "mq-count", v, snprintf(v, NUM_MAX, "%" PRIu64,
		    counts != NULL ? counts[i] : 0));
		set_header(&h[4], "mq-time", now, strlen(now));
		for (k = 0; k < msgs[i].nheaders; k++)
			h[DL_HEADERS + k] = msgs[i].headers[k];
		out[i].key = msgs[i].key;
		out[i].keylen = msgs[i].keylen;
		out[i].headers = h;
		out[i].nheaders = msgs[i].nheaders + DL_HEADERS;
		out[i].body = msgs[i].body;
		out[i].bodylen = msgs[i].bodylen;
		h += out[i].nheaders;
	}
	if ((rc = mq_stream_open(mq_stream_spool(origin), name, MQ_CREATE,
	    &dl)) != MQ_OK)
		goto out;
	rc = append(dl, out, n);
	mq_stream_close(dl);
out:
	free(vals);
	free(hdrs);
	free(out);
	return rc;
}
