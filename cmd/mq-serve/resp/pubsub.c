/*
 * pubsub.c - Redis Pub/Sub over the spool's topic exchange.
 *
 * Model: PUBLISH publishes on the topic exchange with the channel as the
 * topic (through the server's mq_router, which keeps the subscriptions
 * and bindings between publishes), so it reaches every live subscriber
 * of any process (mq-subscribe, another mq-serve) and every queue bound
 * to a matching pattern; its reply counts them all, as the spool
 * registers them.  Like a plain XADD, a PUBLISH that reaches someone
 * joins the run of appends (core/publish.c, which every door shares),
 * and is answered at the flush.
 *
 * A client holds at most two live subscriptions of libmq: 'sub' for its
 * channels (MQ_SUB_EXACT) and 'psub' for its patterns (MQ_SUB_GLOB,
 * Redis globs).  libmq has no way to change a subscription, so each
 * (P)SUBSCRIBE or (P)UNSUBSCRIBE that changes the list opens a new one
 * and closes the old, after handing out what the old one still held.
 * Both tail the exchange's log, which the server's watch covers; when it
 * changes the core (core/fanout.c) has every subscriber drain its two
 * subscriptions in the log's order and pushes
 * "message" and "pmessage" frames.  A publish that went to no log comes
 * with the others of its run of appends, all at once: the frames of the
 * run are the core's, made once for all subscribers in each variant this
 * door asks for (RESP2 or RESP3 "message", the end of a "pmessage"), and
 * a client copies those it takes to its output, a run of them in one
 * piece.  What a client receives is filtered
 * again by its current lists, so a subscription that could not be
 * replaced only costs reads, never a message the client did not ask for.
 *
 * SSUBSCRIBE, SUNSUBSCRIBE and SPUBLISH are aliases of the plain
 * commands: a server that is not a cluster has one shard, and mq keeps
 * a single namespace of channels (the replies name the command used).
 *
 * The counts Redis puts in the confirmations are the client's channels
 * plus its patterns.  PUBSUB answers from this server's clients only.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "resp.h"
#include "core/publish.h"

/* ------------------------------------------------------------------
 * Lists of channels and patterns: NUL-terminated copies, in order.
 * ---------------------------------------------------------------- */

/* The index of 'len' bytes at 'p' in 'list', or -1. */
static ssize_t
list_find(char *const *list, size_t n, const char *p, size_t len)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strncmp(list[i], p, len) == 0 && list[i][len] == '\0')
			return (ssize_t)i;
	return -1;
}

/* Appends a copy of 'len' bytes at 'p'; -1 if out of memory. */
static int
list_add(char ***list, size_t *n, const char *p, size_t len)
{
	char **l, *s;

	if ((s = strndup(p, len)) == NULL)
		return -1;
	if ((l = reallocarray(*list, *n + 1, sizeof(*l))) == NULL) {
		free(s);
		return -1;
	}
	l[(*n)++] = s;
	*list = l;
	return 0;
}

/* Removes entry 'i', keeping the order of the others. */
static void
list_del(char **list, size_t *n, size_t i)
{
	free(list[i]);
	memmove(&list[i], &list[i + 1], (*n - i - 1) * sizeof(*list));
	(*n)--;
}

static void
list_free(char ***list, size_t *n)
{
	size_t i;

	for (i = 0; i < *n; i++)
		free((*list)[i]);
	free(*list);
	*list = NULL;
	*n = 0;
}

/* What Redis counts in a confirmation: channels plus patterns. */
static long long
sub_count(const struct resp_client *c)
{
	return (long long)(c->nchannels + c->npatterns);
}

static void deliver_client(void *arg);
static void push_here(void *arg, struct fanout_run *run);
static int encode_frame(struct fanout_buf *b, int variant,
    const struct fanout_msg *m);

static const struct fanout_ops fanout_ops = {
	.drain = deliver_client,
	.push = push_here,
	.encode = encode_frame,
};

/* Keeps the client among the core's subscribers exactly while it has one. */
static void
subscribers_update(struct resp_client *c)
{
	if (c->nchannels + c->npatterns == 0) {
		fanout_leave(c->conn->server, &c->fsub);
		return;
	}
	c->fsub.conn = c->conn;
	c->fsub.ops = &fanout_ops;
	c->fsub.arg = c;
	fanout_join(c->conn->server, &c->fsub);
}

/*
 * Whether a channel or pattern can be registered in the spool: libmq
 * takes C strings of at most MQ_NAME_MAX bytes ("" is allowed).
 */
static int
name_ok(const struct resp_arg *a)
{
	return a->len <= MQ_NAME_MAX && memchr(a->p, '\0', a->len) == NULL;
}

/* ------------------------------------------------------------------
 * Delivery.
 * ---------------------------------------------------------------- */

/* Pushes ["message", channel, body] if the client still has the channel. */
static void
push_message(struct resp_client *c, const struct mq_msg *m)
{
	if (list_find(c->channels, c->nchannels, m->key, m->keylen) < 0)
		return;
	resp_reply_push(c, 3);
	resp_reply_bulk(c, "message", 7);
	resp_reply_bulk(c, m->key, m->keylen);
	resp_reply_bulk(c, m->body, m->bodylen);
}

/* Pushes ["pmessage", pattern, channel, body] for each matching pattern. */
static void
push_pmessage(struct resp_client *c, const struct mq_msg *m)
{
	size_t i;

	for (i = 0; i < c->npatterns; i++) {
		if (!mq_glob_match(c->patterns[i], strlen(c->patterns[i]),
		    m->key, m->keylen))
			continue;
		resp_reply_push(c, 4);
		resp_reply_bulk(c, "pmessage", 8);
		resp_reply_bulk_str(c, c->patterns[i]);
		resp_reply_bulk(c, m->key, m->keylen);
		resp_reply_bulk(c, m->body, m->bodylen);
	}
}

/*
 * The next message of 'sub' into 'm': 1, or 0 when there is none (also
 * for no subscription, or an error, which is logged: the client keeps
 * what it has and the next change tries again).
 */
static int
next_of(struct resp_client *c, mq_sub *sub, struct mq_msg *m)
{
	int rc;

	if (sub == NULL)
		return 0;
	if ((rc = mq_sub_next(sub, m)) < 0) {
		server_log(c->conn->server, "resp: client %llu: reading "
		    "subscription: %s", (unsigned long long)c->conn->id,
		    mq_strerror(rc));
		return 0;
	}
	return rc;
}

/*
 * Hands out everything the client's subscriptions hold.  Both read the
 * same log, so merging them by id gives Redis's order: for each publish,
 * the channel's message first, then the pattern messages.
 */
static void
deliver_client(void *arg)
{
	struct resp_client *c = arg;
	struct mq_msg m, pm;
	int have = next_of(c, c->sub, &m), phave = next_of(c, c->psub, &pm);

	while ((have || phave) && !c->conn->dead) {
		if (have && (!phave || mq_id_cmp(m.id, pm.id) <= 0)) {
			push_message(c, &m);
			have = next_of(c, c->sub, &m);
		} else {
			push_pmessage(c, &pm);
			phave = next_of(c, c->psub, &pm);
		}
	}
}

/* ------------------------------------------------------------------
 * Delivery of a run of publishes that went to no log (core/fanout.c):
 * each frame is made once, for every subscriber that takes it.
 * ---------------------------------------------------------------- */

/* The variants of frames this door has the core make. */
enum {
	FRAME_MESSAGE2,		/* *3 "message" channel body */
	FRAME_MESSAGE3,		/* the same as a RESP3 push, >3 */
	FRAME_TAIL		/* channel body: how a "pmessage" frame ends */
};

/* "$<len>\r\n" 'p' "\r\n" at 'at'; returns the end. */
static char *
put_bulk(char *at, const char *hdr, size_t hlen, const void *p, size_t len)
{
	memcpy(at, hdr, hlen);
	memcpy(at + hlen, p, len);
	memcpy(at + hlen + len, "\r\n", 2);
	return at + hlen + len + 2;
}

static int
encode_frame(struct fanout_buf *b, int variant, const struct fanout_msg *m)
{
	static const char message2[] = "*3\r\n$7\r\nmessage\r\n";
	static const char message3[] = ">3\r\n$7\r\nmessage\r\n";
	char th[RESP_HEADER_MAX], bh[RESP_HEADER_MAX], *at;
	size_t head = variant == FRAME_TAIL ? 0 : sizeof(message2) - 1;
	size_t tlen = resp_header(th, '$', 0, m->topiclen);
	size_t blen = resp_header(bh, '$', 0, m->bodylen);

	/* Room for all of it at once: a frame is made for every message. */
	if ((at = fanout_reserve(b, head + tlen + m->topiclen + 2 + blen +
	    m->bodylen + 2)) == NULL)
		return -1;
	memcpy(at, variant == FRAME_MESSAGE3 ? message3 : message2, head);
	at = put_bulk(at + head, th, tlen, m->topic, m->topiclen);
	put_bulk(at, bh, blen, m->body, m->bodylen);
	return 0;
}

/* A client's part of a run: where its frames go, and which it asked for. */
struct push {
	struct resp_client		*c;
	struct fanout_run		*run;
	struct fanout_out		 out;
	const struct fanout_frames	*message;	/* "message" frames */
	const struct fanout_frames	*tail;		/* "pmessage" ends */
};

/*
 * Frames 'first' to 'end' (excluded) of the frames '*f' (of 'variant',
 * asked of the core the first time) to the client; 0, or -1 if they
 * cannot be made (out of memory).
 */
static int
out_frames(struct push *p, const struct fanout_frames **f, int variant,
    size_t first, size_t end)
{
	const char *bytes;
	size_t len;

	if (*f == NULL && (*f = fanout_frames(p->run, &fanout_ops,
	    variant)) == NULL)
		return -1;
	bytes = fanout_span(*f, first, end, &len);
	fanout_out_shared(&p->out, bytes, len);
	return 0;
}

/*
 * The frame ["pmessage", pattern, channel, body] of message 'i' for each
 * of the client's patterns that match: its start made here, its end
 * shared.
 */
static int
out_pmessages(struct push *p, size_t i)
{
	struct resp_client *c = p->c;
	const struct fanout_msg *m = &p->run->msgs[i];
	char head[RESP_HEADER_MAX + 14 + RESP_HEADER_MAX + MQ_NAME_MAX + 2];
	size_t j, plen, len;

	for (j = 0; j < c->npatterns; j++) {
		plen = strlen(c->patterns[j]);
		if (!mq_glob_match(c->patterns[j], plen, m->topic, m->topiclen))
			continue;
		len = resp_header(head, c->proto == 3 ? '>' : '*', 0, 4);
		memcpy(head + len, "$8\r\npmessage\r\n", 14);
		len += 14;
		len += resp_header(head + len, '$', 0, plen);
		memcpy(head + len, c->patterns[j], plen);
		memcpy(head + len + plen, "\r\n", 2);
		fanout_out_copy(&p->out, head, len + plen + 2);
		if (out_frames(p, &p->tail, FRAME_TAIL, i, i + 1) == -1)
			return -1;
	}
	return 0;
}

/* The end of the row of messages from 'i' on its topic (fanout_msg). */
static size_t
topic_row(const struct fanout_run *run, size_t i)
{
	const struct fanout_msg *m = &run->msgs[i];
	size_t j;

	for (j = i + 1; j < run->n && run->msgs[j].topic == m->topic &&
	    run->msgs[j].topiclen == m->topiclen; j++)
		;
	return j;
}

/*
 * Hands the client what it subscribed to of 'run': for each message its
 * channel's frame, then a frame per matching pattern, as push_message
 * and push_pmessage would, from the frames shared by every subscriber.
 * The channel is looked up once per row of messages on one topic; with
 * no patterns, the row's frames are one piece, taken at once.  Frames
 * that cannot be made (out of memory) close the client, as an output
 * buffer that cannot grow does.
 */
static void
push_here(void *arg, struct fanout_run *run)
{
	struct push p = { .c = arg, .run = run };
	struct resp_client *c = p.c;
	int variant = c->proto == 3 ? FRAME_MESSAGE3 : FRAME_MESSAGE2;
	size_t i, j, k;
	int chan;

	fanout_out_begin(&p.out, c->conn);
	for (i = 0; i < run->n; i = j) {
		j = topic_row(run, i);
		chan = list_find(c->channels, c->nchannels, run->msgs[i].topic,
		    run->msgs[i].topiclen) >= 0;
		if (c->npatterns == 0) {
			if (chan && out_frames(&p, &p.message, variant, i,
			    j) == -1)
				goto fail;
			continue;
		}
		for (k = i; k < j; k++)
			if ((chan && out_frames(&p, &p.message, variant, k,
			    k + 1) == -1) || out_pmessages(&p, k) == -1)
				goto fail;
	}
	fanout_out_end(&p.out);
	return;
fail:
	fanout_out_end(&p.out);
	conn_close(c->conn, "out of memory");
}

/*
 * Replaces the client's subscription for channels ('glob' 0) or patterns
 * (1) with one for its current list, or none if the list is empty.
 * What the old one holds is delivered first.  On failure the old one is
 * kept and the libmq outcome returned.
 */
static int
sub_replace(struct resp_client *c, int glob)
{
	struct server *s = c->conn->server;
	mq_sub **slot = glob ? &c->psub : &c->sub, *sub = NULL;
	char **list = glob ? c->patterns : c->channels;
	size_t n = glob ? c->npatterns : c->nchannels;
	int rc;

	deliver_client(c);
	if (n > 0) {
		if ((rc = mq_sub_open(s->spool, (const char *const *)list, n,
		    glob ? MQ_SUB_GLOB : MQ_SUB_EXACT, &sub)) != MQ_OK)
			return rc;
		if ((rc = mq_sub_watch(sub, s->watch)) != MQ_OK) {
			mq_sub_close(sub);
			return rc;
		}
	}
	mq_sub_close(*slot);
	*slot = sub;
	return MQ_OK;
}

void
resp_pubsub_close(struct resp_client *c)
{
	mq_sub_close(c->sub);
	mq_sub_close(c->psub);
	c->sub = c->psub = NULL;
	list_free(&c->channels, &c->nchannels);
	list_free(&c->patterns, &c->npatterns);
	subscribers_update(c);
}

/* ------------------------------------------------------------------
 * SUBSCRIBE, PSUBSCRIBE, UNSUBSCRIBE, PUNSUBSCRIBE.
 * ---------------------------------------------------------------- */

/* A confirmation: [kind, name, count]; a NULL name is a null. */
static void
confirm(struct resp_client *c, const char *kind, const char *name,
    size_t len, long long count)
{
	resp_reply_push(c, 3);
	resp_reply_bulk_str(c, kind);
	if (name == NULL)
		resp_reply_null(c);
	else
		resp_reply_bulk(c, name, len);
	resp_reply_int(c, count);
}

/*
 * (P)SUBSCRIBE name...: adds the new names to the list, replaces the
 * subscription once, then confirms each name as Redis does (a name given
 * twice is confirmed twice, the count unchanged).  If the spool refuses,
 * nothing changes and the reply is one error.
 */
static void
subscribe(struct resp_client *c, size_t argc, const struct resp_arg *argv,
    int glob, const char *kind)
{
	char ***list = glob ? &c->patterns : &c->channels;
	size_t *n = glob ? &c->npatterns : &c->nchannels;
	size_t had = *n, added = 0, i;
	long long count;
	int rc;

	for (i = 1; i < argc; i++)
		if (!name_ok(&argv[i])) {
			resp_reply_error(c,
			    "ERR invalid %s name for mq (NUL byte, or "
			    "longer than %d bytes)", glob ? "pattern" : "channel",
			    MQ_NAME_MAX);
			return;
		}
	/* What was published before this command goes out before its reply. */
	deliver_client(c);
	for (i = 1; i < argc; i++) {
		if (list_find(*list, *n, argv[i].p, argv[i].len) >= 0)
			continue;
		if (list_add(list, n, argv[i].p, argv[i].len) == -1) {
			rc = MQ_ESYS;
			goto fail;
		}
	}
	if (*n > had && (rc = sub_replace(c, glob)) != MQ_OK)
		goto fail;
	subscribers_update(c);
	count = sub_count(c) - (long long)(*n - had);
	for (i = 1; i < argc; i++) {
		/* New names sit after the old ones in order of first mention. */
		if (list_find(*list, *n, argv[i].p, argv[i].len) ==
		    (ssize_t)(had + added)) {
			added++;
			count++;
		}
		confirm(c, kind, argv[i].p, argv[i].len, count);
	}
	return;
fail:
	while (*n > had)
		list_del(*list, n, *n - 1);
	resp_reply_mq_error(c, rc, kind);
}

/*
 * (P)UNSUBSCRIBE [name...]: without names, every one in order; confirms
 * each with the count after it, or once with a null name and 0 if there
 * was none.  If no new subscription can be opened the old one stays
 * (filtered by the shorter list), and the failure is logged.
 */
static void
unsubscribe(struct resp_client *c, size_t argc, const struct resp_arg *argv,
    int glob, const char *kind)
{
	char ***list = glob ? &c->patterns : &c->channels;
	size_t *n = glob ? &c->npatterns : &c->nchannels;
	size_t had = *n, i;
	ssize_t at;
	char *name;
	int rc;

	/* What was held for the old list goes out before the confirmations. */
	deliver_client(c);
	if (argc == 1) {
		if (*n == 0)
			confirm(c, kind, NULL, 0, sub_count(c));
		while (*n > 0) {
			name = (*list)[0];
			(*list)[0] = NULL;
			list_del(*list, n, 0);
			confirm(c, kind, name, strlen(name), sub_count(c));
			free(name);
		}
	} else {
		for (i = 1; i < argc; i++) {
			if ((at = list_find(*list, *n, argv[i].p, argv[i].len)) >= 0)
				list_del(*list, n, (size_t)at);
			confirm(c, kind, argv[i].p, argv[i].len, sub_count(c));
		}
	}
	if (*n < had && (rc = sub_replace(c, glob)) != MQ_OK)
		server_log(c->conn->server, "resp: client %llu: %s: %s",
		    (unsigned long long)c->conn->id, kind, mq_strerror(rc));
	subscribers_update(c);
}

void
resp_cmd_subscribe(struct resp_client *c, size_t argc,
    const struct resp_arg *argv)
{
	subscribe(c, argc, argv, 0, resp_arg_is(&argv[0], "ssubscribe") ?
	    "ssubscribe" : "subscribe");
}

void
resp_cmd_psubscribe(struct resp_client *c, size_t argc,
    const struct resp_arg *argv)
{
	subscribe(c, argc, argv, 1, "psubscribe");
}

void
resp_cmd_unsubscribe(struct resp_client *c, size_t argc,
    const struct resp_arg *argv)
{
	unsubscribe(c, argc, argv, 0, resp_arg_is(&argv[0], "sunsubscribe") ?
	    "sunsubscribe" : "unsubscribe");
}

void
resp_cmd_punsubscribe(struct resp_client *c, size_t argc,
    const struct resp_arg *argv)
{
	unsubscribe(c, argc, argv, 1, "punsubscribe");
}

/* ------------------------------------------------------------------
 * PUBLISH.
 * ---------------------------------------------------------------- */

/*
 * PUBLISH channel message (and SPUBLISH): the message is the body of one
 * message on the topic 'channel'.  A channel holding a NUL byte cannot
 * be a topic, and no one can subscribe to it: 0 receivers.
 */
/*
 * The channel of a PUBLISH as a C string in 'buf' (MQ_NAME_MAX + 1
 * bytes): 0 if it holds a NUL or is too long (no subscription can name
 * it: the publish reaches no one).
 */
static int
channel(const struct resp_arg *a, char *buf)
{
	if (a->len > MQ_NAME_MAX || memchr(a->p, '\0', a->len) != NULL)
		return 0;
	memcpy(buf, a->p, a->len);
	buf[a->len] = '\0';
	return 1;
}

void
resp_cmd_publish(struct resp_client *c, size_t argc,
    const struct resp_arg *argv)
{
	char topic[MQ_NAME_MAX + 1];
	struct mq_msg m;
	mq_router *r;
	size_t receivers = 0;
	int rc;

	if (!channel(&argv[1], topic)) {
		resp_reply_int(c, 0);
		return;
	}
	memset(&m, 0, sizeof(m));
	m.body = argv[2].p;
	m.bodylen = argv[2].len;
	if ((rc = server_router(c->conn->server, &r)) == MQ_OK)
		rc = mq_router_publish(r, topic, &m, 1, &receivers);
	if (rc != MQ_OK)
		resp_reply_mq_error(c, rc, "publish");
	else
		resp_reply_int(c, (long long)receivers);
}

/*
 * The flush of a queued PUBLISH (see appendq.c): one entry per stream it
 * goes to, the exchange's and the bound queues'; each but the last notes
 * a failure, the last replies with the receivers ('cookie').
 */
static void
publish_part(void *arg, mq_stream *s, int rc, mq_id id, long long cookie,
    const struct mq_msg *m)
{
	struct resp_client *c = arg;

	if (rc != MQ_OK && c->pub_rc == MQ_OK)
		c->pub_rc = rc;
}

static void
publish_done(void *arg, mq_stream *s, int rc, mq_id id, long long cookie,
    const struct mq_msg *m)
{
	struct resp_client *c = arg;

	if (rc == MQ_OK)
		rc = c->pub_rc;
	c->pub_rc = MQ_OK;
	if (rc != MQ_OK) {
		resp_reply_mq_error(c, rc, "publish");
		return;
	}
	/* Its stream is NULL when only this server's clients listen. */
	if (s == NULL && fanout_publish_here(c->conn->server, m) != MQ_OK) {
		resp_reply_mq_error(c, MQ_ESYS, "publish");
		return;
	}
	resp_reply_int(c, cookie);
}

int
resp_publish_queue(struct resp_client *c, size_t argc,
    const struct resp_arg *argv)
{
	char topic[MQ_NAME_MAX + 1];
	struct mq_msg m;
	int rc;

	if (argc != 3 || !channel(&argv[1], topic))
		return 0;	/* resp_cmd_publish does it, or says why not */
	memset(&m, 0, sizeof(m));
	m.key = topic;
	m.keylen = argv[1].len;
	m.body = argv[2].p;
	m.bodylen = argv[2].len;
	if ((rc = publish_queue(c->conn->server, &m, &c->anonymous,
	    publish_part, publish_done, c)) == -1)
		resp_reply_mq_error(c, MQ_ESYS, "publish");
	return rc != 0;
}

/* ------------------------------------------------------------------
 * PUBSUB: what this server's clients are subscribed to.
 * ---------------------------------------------------------------- */

static int
strp_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * Every distinct channel ('glob' 0) or pattern (1) of the subscribers,
 * sorted; a malloc'd array of borrowed strings in '*out' and its length
 * in '*n', or -1 if out of memory.
 */
static int
distinct(struct server *s, int glob, char ***out, size_t *n)
{
	struct resp_client *c;
	struct conn *conn;
	char **all = NULL, **grown;
	size_t total = 0, used = 0, i, k;

	TAILQ_FOREACH(conn, &s->conns, all)
		if ((c = resp_of(conn)) != NULL)
			total += glob ? c->npatterns : c->nchannels;
	if (total > 0 && (all = reallocarray(NULL, total, sizeof(*all))) == NULL)
		return -1;
	TAILQ_FOREACH(conn, &s->conns, all) {
		char **list;

		if ((c = resp_of(conn)) == NULL)
			continue;
		list = glob ? c->patterns : c->channels;
		for (k = 0; k < (glob ? c->npatterns : c->nchannels) &&
		    used < total; k++)
			all[used++] = list[k];
	}
	if (used > 0)
		qsort(all, used, sizeof(*all), strp_cmp);
	for (i = k = 0; i < used; i++)
		if (k == 0 || strcmp(all[k - 1], all[i]) != 0)
			all[k++] = all[i];
	if (k > 0 && (grown = reallocarray(all, k, sizeof(*all))) != NULL)
		all = grown;
	*out = all;
	*n = k;
	return 0;
}

size_t
resp_pubsub_distinct(struct server *s, int glob)
{
	char **names;
	size_t n;

	if (distinct(s, glob, &names, &n) == -1)
		return 0;
	free(names);
	return n;
}

/* PUBSUB CHANNELS [pattern] (and SHARDCHANNELS). */
static void
pubsub_channels(struct resp_client *c, const struct resp_arg *pattern)
{
	char **names;
	size_t n, i, match = 0;

	if (distinct(c->conn->server, 0, &names, &n) == -1) {
		resp_reply_mq_error(c, MQ_ESYS, "pubsub");
		return;
	}
	for (i = 0; i < n; i++)
		if (pattern == NULL || mq_glob_match(pattern->p, pattern->len,
		    names[i], strlen(names[i])))
			names[match++] = names[i];
	resp_reply_array(c, match);
	for (i = 0; i < match; i++)
		resp_reply_bulk_str(c, names[i]);
	free(names);
}

/* PUBSUB NUMSUB [channel...] (and SHARDNUMSUB): [channel, count, ...]. */
static void
pubsub_numsub(struct resp_client *c, size_t argc, const struct resp_arg *argv)
{
	struct resp_client *sc;
	struct conn *conn;
	long long count;
	size_t i;

	resp_reply_array(c, 2 * (argc - 2));
	for (i = 2; i < argc; i++) {
		count = 0;
		TAILQ_FOREACH(conn, &c->conn->server->conns, all)
			if ((sc = resp_of(conn)) != NULL &&
			    list_find(sc->channels, sc->nchannels, argv[i].p,
			    argv[i].len) >= 0)
				count++;
		resp_reply_bulk(c, argv[i].p, argv[i].len);
		resp_reply_int(c, count);
	}
}

static const char *const pubsub_help[] = {
	"PUBSUB <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
	"CHANNELS [<pattern>]",
	"    Return the currently active channels matching a <pattern> "
	    "(default: '*').",
	"NUMPAT",
	"    Return number of subscriptions to patterns.",
	"NUMSUB [<channel> ...]",
	"    Return the number of subscribers for the specified channels, "
	    "excluding",
	"    pattern subscriptions(default: no channels).",
	"SHARDCHANNELS [<pattern>]",
	"    Return the currently active shard level channels matching a "
	    "<pattern> (default: '*').",
	"SHARDNUMSUB [<shardchannel> ...]",
	"    Return the number of subscribers for the specified shard level "
	    "channel(s)",
	"HELP",
	"    Prints this help.",
};

/* "ERR wrong number..." for a subcommand with a fixed arity, as Redis 7. */
static void
sub_arity(struct resp_client *c, const char *sub)
{
	resp_reply_error(c,
	    "ERR wrong number of arguments for 'pubsub|%s' command", sub);
}

void
resp_cmd_pubsub(struct resp_client *c, size_t argc, const struct resp_arg *argv)
{
	const struct resp_arg *sub = &argv[1];
	char **names;
	size_t i, n;

	if (resp_arg_is(sub, "channels") || resp_arg_is(sub, "shardchannels")) {
		if (argc > 3) {
			resp_reply_error(c,
			    "ERR unknown subcommand or wrong number "
			    "of arguments for '%.*s'. Try PUBSUB HELP.",
			    (int)sub->len, sub->p);
			return;
		}
		pubsub_channels(c, argc == 3 ? &argv[2] : NULL);
	} else if (resp_arg_is(sub, "numsub") || resp_arg_is(sub,
	    "shardnumsub")) {
		pubsub_numsub(c, argc, argv);
	} else if (resp_arg_is(sub, "numpat")) {
		if (argc != 2) {
			sub_arity(c, "numpat");
			return;
		}
		if (distinct(c->conn->server, 1, &names, &n) == -1) {
			resp_reply_mq_error(c, MQ_ESYS, "pubsub");
			return;
		}
		free(names);
		resp_reply_int(c, (long long)n);
	} else if (resp_arg_is(sub, "help")) {
		if (argc != 2) {
			sub_arity(c, "help");
			return;
		}
		n = sizeof(pubsub_help) / sizeof(pubsub_help[0]);
		resp_reply_array(c, n);
		for (i = 0; i < n; i++)
			resp_reply_simple(c, pubsub_help[i]);
	} else
		resp_reply_error(c,
		    "ERR unknown subcommand '%.*s'. Try PUBSUB HELP.",
		    (int)(sub->len > 128 ? 128 : sub->len), sub->p);
}
