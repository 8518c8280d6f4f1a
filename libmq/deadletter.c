/*
 * deadletter.c - moving messages to a stream's dead-letter stream, or
 * through its dead-letter exchange.
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
 * A message dead-lettered before keeps those of its earlier deaths
 * behind: its headers are its history, newest first.  Its own deadline
 * (MQ_EXPIRES_AT) is left out, since a copy past it would expire again
 * at once wherever it goes.
 *
 * When the policy names a dead-letter exchange (MQ_DL_EXCHANGE), the copy
 * carries two more, mq-exchange (that exchange) and mq-key (its key
 * before, if it had one), takes the policy's dl_key as its key if one is
 * set, and goes to every queue the exchange routes that key to (through
 * mq_exchange_route, as a publish; headers bindings match nothing here,
 * for libmq does not read AMQP tables).  One that no queue takes goes to
 * the dead-letter stream instead: nothing is lost without a trace.  A
 * queue the message was dead-lettered from before (its own origin or an
 * mq-origin of its history) does not get it again unless a rejection is
 * in its history: an expiry or max-len cycle would never end.
 *
 * All messages of one call go in one mq_append per stream: one lock, one
 * write; a run of messages with one key is routed once.  Since the extra
 * headers make a copy larger than its original, a dead-letter stream
 * whose size limit is below its origin's would refuse what the origin
 * took and block the origin's consumers forever; in that case its limit
 * is raised to fit and the append tried once more.  A queue the exchange
 * routes to keeps its limits (they are its owner's): a letter too big
 * for it, or past its max-len, is not taken there, and goes to the
 * dead-letter stream if no other queue takes it.
 *
 * Through an exchange, each queue is its own append: if one fails (an
 * I/O error), the call fails and its caller tries the whole again
 * later, so the queues before it may get a message twice.  Dead
 * letters are at least once, never lost.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define DL_HEADERS	7	/* at most: five, mq-exchange and mq-key */
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

/* Whether header 'h' is named 'name'. */
static int
named(const struct mq_header *h, const char *name)
{
	return h->namelen == strlen(name) &&
	    memcmp(h->name, name, h->namelen) == 0;
}

/* Whether header 'h' has the value 'v' ('len' bytes). */
static int
valued(const struct mq_header *h, const char *v, size_t len)
{
	return h->valuelen == len && memcmp(h->value, v, len) == 0;
}

/*
 * Whether routing dead letter 'm' (with its new headers in front) to
 * 'queue' closes a cycle that no rejection is part of.
 */
static int
cycles(const struct mq_msg *m, const char *queue)
{
	size_t i, len = strlen(queue);
	int back = 0;

	for (i = 0; i < m->nheaders; i++) {
		if (named(&m->headers[i], "mq-reason") &&
		    valued(&m->headers[i], "rejected", 8))
			return 0;
		if (named(&m->headers[i], "mq-origin") &&
		    valued(&m->headers[i], queue, len))
			back = 1;
	}
	return back;
}

/* The queues of one route, copied out of the registry's answer. */
struct dests {
	char	**names;
	size_t	  n;
};

static void
dests_free(struct dests *d)
{
	while (d->n > 0)
		free(d->names[--d->n]);
	free(d->names);
	d->names = NULL;
}

/* The queues exchange 'x' routes 'key' to; none if 'x' is missing. */
static int
dests_route(mq_spool *sp, const char *x, const char *key, struct dests *d)
{
	const char *const *qs;
	size_t nq, i;
	int rc;

	d->names = NULL;
	d->n = 0;
	rc = mq_exchange_route(sp, x, key, NULL, NULL, &qs, &nq);
	if (rc == MQ_ENOEXCHANGE || (rc == MQ_OK && nq == 0))
		return MQ_OK;
	if (rc != MQ_OK)
		return rc;
	if ((d->names = calloc(nq, sizeof(*d->names))) == NULL)
		return mq_sys();
	for (i = 0; i < nq; i++) {
		if ((d->names[i] = strdup(qs[i])) == NULL) {
			rc = mq_sys();
			dests_free(d);
			return rc;
		}
		d->n++;
	}
	return MQ_OK;
}

/* Whether 'rc' of an append to a routed queue means "not taken there". */
static int
refused(int rc)
{
	/* Its policy is its owner's: full, or too big for it. */
	return rc == MQ_EFULL || rc == MQ_ETOOBIG;
}

/*
 * Appends those of 'out[0..n)' that do not cycle into it to 'queue',
 * marking them in 'taken'.  A queue gone since the route takes none;
 * one whose size limit or max-len refuses the run takes each that it
 * takes on its own, as a run of publishes does (appendq.c).
 */
static int
to_queue(mq_spool *sp, const char *queue, const struct mq_msg *out,
    size_t n, struct mq_msg *scratch, char *taken)
{
	mq_stream *st;
	size_t i, k = 0;
	int rc;

	for (i = 0; i < n; i++)
		if (!cycles(&out[i], queue))
			scratch[k++] = out[i];
	if (k == 0)
		return MQ_OK;
	rc = mq_stream_open(sp, queue, 0, &st);
	if (rc == MQ_ENOSTREAM)
		return MQ_OK;
	if (rc != MQ_OK)
		return rc;
	if ((rc = mq_append(st, scratch, k, NULL, NULL)) == MQ_OK) {
		for (i = 0; i < n; i++)
			taken[i] |= !cycles(&out[i], queue);
	} else if (refused(rc)) {
		for (i = 0, rc = MQ_OK; i < n && rc == MQ_OK; i++) {
			if (cycles(&out[i], queue))
				continue;
			if ((rc = mq_append(st, &out[i], 1, NULL, NULL)) ==
			    MQ_OK)
				taken[i] = 1;
			else if (refused(rc))
				rc = MQ_OK;	/* the next may fit */
		}
	}
	mq_stream_close(st);
	return rc;
}

/* The key dead letter 'm' is routed with. */
static const char *
route_key(const struct mq_msg *m, char *buf, size_t size)
{
	size_t len = m->key != NULL ? m->keylen : 0;

	if (len >= size || (len > 0 && memchr(m->key, '\0', len) != NULL))
		len = 0;
	memcpy(buf, m->key != NULL ? m->key : "", len);
	buf[len] = '\0';
	return buf;
}

/*
 * Routes 'out' ('n' dead letters) through the policy's exchange, a run
 * of one key at a time; those no queue took are marked 0 in 'taken'.
 */
static int
route(mq_stream *origin, const struct mq_policy *pol, struct mq_msg *out,
    size_t n, char *taken)
{
	mq_spool *sp = mq_stream_spool(origin);
	char key[MQ_DLKEY_MAX + 1], next[MQ_DLKEY_MAX + 1];
	struct mq_msg *scratch;
	struct dests d;
	size_t i, j, k;
	int rc = MQ_OK;

	if ((scratch = calloc(n, sizeof(*scratch))) == NULL)
		return mq_sys();
	for (i = 0; i < n && rc == MQ_OK; i = j) {
		route_key(&out[i], key, sizeof(key));
		for (j = i + 1; j < n; j++)
			if (strcmp(route_key(&out[j], next, sizeof(next)),
			    key) != 0)
				break;
		if ((rc = dests_route(sp, pol->dl_exchange, key, &d)) != MQ_OK)
			break;
		for (k = 0; k < d.n && rc == MQ_OK; k++)
			rc = to_queue(sp, d.names[k], out + i, j - i, scratch,
			    taken + i);
		dests_free(&d);
	}
	free(scratch);
	return rc;
}

/* Appends 'out' ('n' messages) to the dead-letter stream of 'origin'. */
static int
to_dead_letter_stream(mq_stream *origin, const struct mq_msg *out, size_t n)
{
	char name[MQ_NAME_MAX + 1];
	mq_stream *dl;
	int rc;

	if (n == 0)
		return MQ_OK;
	if ((rc = mq_dead_letter_name(origin, name)) != MQ_OK)
		return rc;
	if ((rc = mq_stream_open(mq_stream_spool(origin), name, MQ_CREATE,
	    &dl)) != MQ_OK)
		return rc;
	rc = append(dl, out, n);
	mq_stream_close(dl);
	return rc;
}

/* Per message, the text of its new headers' values. */
struct vals {
	char	 id[MQ_ID_MAX];
	char	 count[NUM_MAX];
};

/*
 * Fills 'h' with the headers of the dead letter of 'm' and returns their
 * number: the new ones, then its own but MQ_EXPIRES_AT.
 */
static size_t
letter_headers(struct mq_header *h, const struct mq_msg *m,
    const char *oname, const char *reason, uint64_t count,
    const char *now, struct vals *v, const struct mq_policy *pol)
{
	size_t nh = 0, k;

	set_header(&h[nh++], "mq-origin", oname, strlen(oname));
	set_header(&h[nh++], "mq-origin-id", v->id, mq_id_fmt(v->id, m->id));
	set_header(&h[nh++], "mq-reason", reason, strlen(reason));
	set_header(&h[nh++], "mq-count", v->count, snprintf(v->count,
	    NUM_MAX, "%" PRIu64, count));
	set_header(&h[nh++], "mq-time", now, strlen(now));
	if (pol != NULL && (pol->dl_route & MQ_DL_EXCHANGE)) {
		set_header(&h[nh++], MQ_DL_VIA, pol->dl_exchange,
		    strlen(pol->dl_exchange));
		if (m->key != NULL && m->keylen > 0)
			set_header(&h[nh++], MQ_DL_KEYWAS, m->key, m->keylen);
	}
	for (k = 0; k < m->nheaders; k++)
		if (!named(&m->headers[k], MQ_EXPIRES_AT))
			h[nh++] = m->headers[k];
	return nh;
}

int
mq_dead_letter(mq_stream *origin, const struct mq_msg *msgs, size_t n,
    const char *reason, const uint64_t *counts)
{
	const struct mq_policy *cur = mq_stream_policy(origin);
	const char *oname = mq_stream_name(origin);
	struct mq_policy polbuf, *pol = NULL;
	struct mq_header *hdrs = NULL, *h;
	struct mq_msg *out = NULL;
	struct vals *vals = NULL;
	char now[NUM_MAX], *taken = NULL;
	size_t nh = 0, i, k;
	int rc, routed;

	if (n == 0)
		return MQ_OK;
	/* A copy: appends below may load the policy again. */
	if (cur != NULL) {
		polbuf = *cur;
		pol = &polbuf;
	}
	routed = pol != NULL && (pol->dl_route & MQ_DL_EXCHANGE);
	for (i = 0; i < n; i++) {
		if (msgs[i].nheaders > SIZE_MAX / 2 - nh - DL_HEADERS)
			return MQ_ETOOBIG;
		nh += msgs[i].nheaders + DL_HEADERS;
	}
	snprintf(now, sizeof(now), "%" PRId64, mq_now_ms());
	out = calloc(n, sizeof(*out));
	hdrs = calloc(nh, sizeof(*hdrs));
	vals = calloc(n, sizeof(*vals));
	taken = calloc(n, 1);
	if (out == NULL || hdrs == NULL || vals == NULL || taken == NULL) {
		rc = mq_sys();
		goto out;
	}
	h = hdrs;
	for (i = 0; i < n; i++) {
		out[i].key = msgs[i].key;
		out[i].keylen = msgs[i].keylen;
		out[i].body = msgs[i].body;
		out[i].bodylen = msgs[i].bodylen;
		out[i].headers = h;
		out[i].nheaders = letter_headers(h, &msgs[i], oname, reason,
		    counts != NULL ? counts[i] : 0, now, &vals[i], pol);
		if (routed && (pol->dl_route & MQ_DL_KEY)) {
			out[i].key = pol->dl_key;
			out[i].keylen = strlen(pol->dl_key);
		}
		h += out[i].nheaders;
	}
	if (routed && (rc = route(origin, pol, out, n, taken)) != MQ_OK)
		goto out;
	/* What no queue took, in order, to the dead-letter stream. */
	for (i = k = 0; i < n; i++)
		if (!taken[i])
			out[k++] = out[i];
	rc = to_dead_letter_stream(origin, out, k);
out:
	free(taken);
	free(vals);
	free(hdrs);
	free(out);
	return rc;
}

int
mq_stream_dead_letter(mq_stream *stream, const struct mq_msg *msgs, size_t n,
    const char *reason)
{
	return mq_dead_letter(stream, msgs, n, reason, NULL);
}
