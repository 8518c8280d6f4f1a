/*
 * linedoor.c - a door of text lines into mq-serve's core, for tests
 * only.  Beside the RESP door in one process (main.c), it shows that the
 * core serves every door, not only the one it grew up with: a publish
 * reaches the subscribers of both, an append of one wakes a reader
 * blocked in the other, and refusals and password checks go through
 * each door's own functions (tests/interop/doors.bats).  It is never
 * built into mq-serve.
 *
 * Model: a request is a line ending in '\n' (a '\r' before it is
 * dropped, an empty line skipped): a verb and its arguments, split at
 * single spaces, the last argument taking the rest of the line.  Every
 * reply is a line:
 *
 *   PING               PONG
 *   AUTH user pass     OK or NO, once auth.c's thread has checked
 *   SUB topic          SUBSCRIBED topic, then "MSG topic body" for each
 *                      publish on 'topic' (one topic per connection)
 *   PUB topic body     PUBLISHED receivers
 *   ADD stream body    ID id
 *   WAIT stream id ms  "GOT id body" for the first entry after 'id': at
 *                      once, or after WAITING once it waits; TIMEOUT
 *                      after 'ms' (0: never)
 *   anything else      ERR why
 *
 * Each maps onto the core as a real door's would: SUB onto a live
 * subscription of libmq among core/fanout.c's subscribers, PUB onto
 * core/publish.c, ADD onto the run of appends (core/appendq.c), WAIT
 * onto a waiter of core/waiters.c, AUTH onto auth_check(); every request
 * begins with cmd_begin() (core/turn.c), and a client over --maxclients
 * is told BUSY by the door's refuse().  With a users file, only PING and
 * AUTH run before an AUTH succeeds.  A WAIT that waits, and an AUTH,
 * hold the connection as a blocked XREAD does: what it sent behind them
 * runs after the answer.  Bodies are the bytes that came: one holding a
 * newline breaks the framing, which no test needs.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/fanout.h"
#include "core/publish.h"
#include "core/turn.h"
#include "core/waiters.h"
#include "linedoor.h"

#define LINE_ARGS	3	/* the most a verb takes */

/* An argument: bytes of the line, not NUL-terminated. */
struct word {
	const char	*p;
	size_t		 len;
};

/* A client of the line door (its connection's state). */
struct line_client {
	struct conn		*conn;
	int			 authenticated;	/* 0: only PING and AUTH */
	int			 authwait;	/* an AUTH's check is under way */
	int			 pub_rc;	/* a queued PUB's failure so far */
	int			 anonymous;	/* publish_queue's, for this read */
	/* SUB: its topic and live subscription, among the core's. */
	char			*topic;
	mq_sub			*sub;
	struct fanout_sub	 fsub;
	/* WAIT: what it waits for (NULL: none), and the core's waiter. */
	char			*wait_stream;
	mq_id			 wait_after;
	struct waiter		*waiter;
};

/* Whether a WAIT or an AUTH holds the connection's input. */
static int
held(const struct line_client *lc)
{
	return lc->authwait || lc->wait_stream != NULL;
}

static void
reply_err(struct line_client *lc, const char *why)
{
	conn_printf(lc->conn, "ERR %s\n", why);
}

/* "VERB name body\n": MSG and GOT. */
static void
reply_entry(struct line_client *lc, const char *verb, const char *name,
    size_t namelen, const char *body, size_t bodylen)
{
	conn_printf(lc->conn, "%s %.*s ", verb, (int)namelen, name);
	conn_write(lc->conn, body, bodylen);
	conn_write(lc->conn, "\n", 1);
}

/*
 * Copies a topic or stream name into 'buf' (MQ_NAME_MAX + 1 bytes): 0 if
 * libmq cannot take it (too long, or a NUL in it).
 */
static int
word_name(const struct word *w, char *buf)
{
	if (w->len > MQ_NAME_MAX || memchr(w->p, '\0', w->len) != NULL)
		return 0;
	memcpy(buf, w->p, w->len);
	buf[w->len] = '\0';
	return 1;
}

/* The number 0 .. 'max' that 'w' spells: 1, or 0 if it is not one. */
static int
word_num(const struct word *w, long long max, long long *v)
{
	char buf[24];
	const char *errstr;

	if (w->len >= sizeof(buf))
		return 0;
	memcpy(buf, w->p, w->len);
	buf[w->len] = '\0';
	*v = strtonum(buf, 0, max, &errstr);
	return errstr == NULL;
}

/* A message of 'body' (and topic 'key', or NULL). */
static void
message(struct mq_msg *m, const char *key, const struct word *body)
{
	memset(m, 0, sizeof(*m));
	if (key != NULL) {
		m->key = key;
		m->keylen = strlen(key);
	}
	m->body = body->p;
	m->bodylen = body->len;
}

static void line_resume(struct line_client *lc);

/* ------------------------------------------------------------------
 * PING, AUTH.
 * ---------------------------------------------------------------- */

static void
cmd_ping(struct line_client *lc, const struct word *w)
{
	conn_write(lc->conn, "PONG\n", 5);
}

/* auth.c's answer, on the loop; never for a connection closed meanwhile. */
static void
auth_done(struct conn *conn, void *arg, int ok)
{
	struct line_client *lc = arg;

	lc->authwait = 0;
	if (ok)
		lc->authenticated = 1;	/* a failure leaves it as it was */
	conn_printf(conn, "%s\n", ok ? "OK" : "NO");
	line_resume(lc);
}

static void
cmd_auth(struct line_client *lc, const struct word *w)
{
	if (auth_check(lc->conn, w[0].p, w[0].len, w[1].p, w[1].len,
	    auth_done, lc) == -1) {
		reply_err(lc, errno == ENOENT ? "no users file" :
		    strerror(errno));
		return;
	}
	lc->authwait = 1;
}

/* ------------------------------------------------------------------
 * SUB, PUB: live subscribers of the core (core/fanout.c).
 * ---------------------------------------------------------------- */

/* "MSG topic body", if the client subscribed to 'topic'. */
static void
sub_out(struct line_client *lc, const char *topic, size_t topiclen,
    const char *body, size_t bodylen)
{
	if (topiclen == strlen(lc->topic) &&
	    memcmp(topic, lc->topic, topiclen) == 0)
		reply_entry(lc, "MSG", topic, topiclen, body, bodylen);
}

/*
 * The publishes of this server that went to no log (core/fanout.c):
 * written one by one, a test door has no need of the shared frames.
 */
static void
sub_push(void *arg, struct fanout_run *run)
{
	struct line_client *lc = arg;
	size_t i;

	for (i = 0; i < run->n && !lc->conn->dead; i++)
		sub_out(lc, run->msgs[i].topic, run->msgs[i].topiclen,
		    run->msgs[i].body, run->msgs[i].bodylen);
}

/* The frame of 'm', for the core's shared frames (not asked for here). */
static int
sub_encode(struct fanout_buf *b, int variant, const struct fanout_msg *m)
{
	char *p;

	(void)variant;
	if ((p = fanout_reserve(b, 4 + m->topiclen + 1 + m->bodylen + 1)) ==
	    NULL)
		return -1;
	memcpy(p, "MSG ", 4);
	memcpy(p + 4, m->topic, m->topiclen);
	p[4 + m->topiclen] = ' ';
	memcpy(p + 5 + m->topiclen, m->body, m->bodylen);
	p[5 + m->topiclen + m->bodylen] = '\n';
	return 0;
}

/* The exchange's log changed: what the subscription reads from it. */
static void
sub_drain(void *arg)
{
	struct line_client *lc = arg;
	struct mq_msg m;
	int rc = 0;

	while (!lc->conn->dead && (rc = mq_sub_next(lc->sub, &m)) == 1)
		sub_out(lc, m.key, m.keylen, m.body, m.bodylen);
	if (rc < 0)
		server_log(lc->conn->server, "line: client %llu: reading "
		    "subscription: %s", (unsigned long long)lc->conn->id,
		    mq_strerror(rc));
}

static const struct fanout_ops sub_ops = {
	.drain = sub_drain,
	.push = sub_push,
	.encode = sub_encode,
};

static void
cmd_sub(struct line_client *lc, const struct word *w)
{
	struct server *s = lc->conn->server;
	char topic[MQ_NAME_MAX + 1];
	const char *topics[1] = { topic };
	int rc;

	if (lc->sub != NULL) {
		reply_err(lc, "subscribed already");
		return;
	}
	if (!word_name(&w[0], topic)) {
		reply_err(lc, "bad topic");
		return;
	}
	if ((lc->topic = strdup(topic)) == NULL) {
		reply_err(lc, "out of memory");
		return;
	}
	/* Registered in the spool: publishers of every door count it. */
	if ((rc = mq_sub_open(s->spool, topics, 1, MQ_SUB_EXACT,
	    &lc->sub)) != MQ_OK || (rc = mq_sub_watch(lc->sub,
	    s->watch)) != MQ_OK) {
		mq_sub_close(lc->sub);
		lc->sub = NULL;
		free(lc->topic);
		lc->topic = NULL;
		reply_err(lc, mq_strerror(rc));
		return;
	}
	lc->fsub.conn = lc->conn;
	lc->fsub.ops = &sub_ops;
	lc->fsub.arg = lc;
	fanout_join(s, &lc->fsub);
	conn_printf(lc->conn, "SUBSCRIBED %s\n", topic);
}

/* The flush of a queued PUB (core/publish.c): a part notes a failure. */
static void
pub_part(void *arg, mq_stream *s, int rc, mq_id id, long long cookie,
    const struct mq_msg *m)
{
	struct line_client *lc = arg;

	if (rc != MQ_OK && lc->pub_rc == MQ_OK)
		lc->pub_rc = rc;
}

/* Its last part: the reply, after this server's subscribers got it. */
static void
pub_done(void *arg, mq_stream *s, int rc, mq_id id, long long cookie,
    const struct mq_msg *m)
{
	struct line_client *lc = arg;

	if (rc == MQ_OK)
		rc = lc->pub_rc;
	lc->pub_rc = MQ_OK;
	if (rc != MQ_OK) {
		reply_err(lc, mq_strerror(rc));
		return;
	}
	if (s == NULL && fanout_publish_here(lc->conn->server, m) != MQ_OK) {
		reply_err(lc, "out of memory");
		return;
	}
	conn_printf(lc->conn, "PUBLISHED %lld\n", cookie);
}

/* PUB, through the run of appends if someone hears it: 1 if queued. */
static int
pub_queue(struct line_client *lc, const struct word *w)
{
	char topic[MQ_NAME_MAX + 1];
	struct mq_msg m;
	int rc;

	if (!word_name(&w[0], topic))
		return 0;
	message(&m, topic, &w[1]);
	if ((rc = publish_queue(lc->conn->server, &m, &lc->anonymous,
	    pub_part, pub_done, lc)) == -1) {
		lc->pub_rc = MQ_OK;	/* its parts ran, its 'done' will not */
		reply_err(lc, "out of memory");
	}
	return rc != 0;
}

/* PUB at once: no one hears it, or it could not be queued. */
static void
cmd_pub(struct line_client *lc, const struct word *w)
{
	char topic[MQ_NAME_MAX + 1];
	struct mq_msg m;
	mq_router *r;
	size_t receivers = 0;
	int rc;

	if (!word_name(&w[0], topic)) {
		reply_err(lc, "bad topic");
		return;
	}
	message(&m, NULL, &w[1]);
	if ((rc = server_router(lc->conn->server, &r)) == MQ_OK)
		rc = mq_router_publish(r, topic, &m, 1, &receivers);
	if (rc != MQ_OK)
		reply_err(lc, mq_strerror(rc));
	else
		conn_printf(lc->conn, "PUBLISHED %zu\n", receivers);
}

/* ------------------------------------------------------------------
 * ADD: the run of appends (core/appendq.c).
 * ---------------------------------------------------------------- */

static void
add_reply(struct line_client *lc, int rc, mq_id id)
{
	char buf[MQ_ID_MAX];

	if (rc != MQ_OK) {
		reply_err(lc, mq_strerror(rc));
		return;
	}
	mq_id_fmt(buf, id);
	conn_printf(lc->conn, "ID %s\n", buf);
}

/* The flush of a queued ADD: its reply. */
static void
add_done(void *arg, mq_stream *s, int rc, mq_id id, long long cookie,
    const struct mq_msg *m)
{
	add_reply(arg, rc, id);
}

/* ADD, joining the run of appends: 1 if queued. */
static int
add_queue(struct line_client *lc, const struct word *w)
{
	struct mq_msg m;
	mq_stream *st;

	if (server_stream(lc->conn->server, w[0].p, w[0].len, 1, &st) !=
	    MQ_OK)
		return 0;	/* cmd_add says why */
	message(&m, NULL, &w[1]);
	return appendq_add(lc->conn->server, st, &m, add_done, lc, 0) ==
	    MQ_OK;
}

/* ADD at once: the stream could not be opened, or the run took no more. */
static void
cmd_add(struct line_client *lc, const struct word *w)
{
	struct mq_msg m;
	mq_stream *st;
	mq_id id = { 0, 0 };
	int rc;

	message(&m, NULL, &w[1]);
	if ((rc = server_stream(lc->conn->server, w[0].p, w[0].len, 1,
	    &st)) == MQ_OK)
		rc = mq_append(st, &m, 1, NULL, &id);
	add_reply(lc, rc, id);
}

/* ------------------------------------------------------------------
 * WAIT: a waiter of the core (core/waiters.c).
 * ---------------------------------------------------------------- */

struct got {
	struct line_client	*lc;
	int			 found;
};

static int
got_entry(const struct mq_msg *m, void *arg)
{
	struct got *g = arg;
	char id[MQ_ID_MAX];
	int len;

	len = mq_id_fmt(id, m->id);
	reply_entry(g->lc, "GOT", id, (size_t)len, m->body, m->bodylen);
	g->found = 1;
	return 0;
}

/*
 * Replies GOT with the first entry of the stream waited on after the id
 * waited after: 1, or 0 if there is none yet (or no such stream).
 */
static int
wait_read(struct line_client *lc)
{
	struct server *s = lc->conn->server;
	struct got g = { lc, 0 };
	mq_id start = lc->wait_after;
	mq_stream *st;

	if (mq_id_incr(&start) != MQ_OK || server_stream(s, lc->wait_stream,
	    strlen(lc->wait_stream), 0, &st) != MQ_OK ||
	    mq_range(st, start, MQ_ID_LAST, 1, 0, got_entry, &g) != MQ_OK)
		return 0;
	return g.found;
}

/* The wait is over: what the client sent behind it may run. */
static void
wait_end(struct line_client *lc)
{
	free(lc->wait_stream);
	lc->wait_stream = NULL;
}

/* The core's retry: 1 if it replied, which ends the wait. */
static int
wait_retry(void *arg)
{
	struct line_client *lc = arg;

	/* A command of its own to the cache: what it opens may then go. */
	lc->conn->server->command_seq++;
	if (!wait_read(lc))
		return 0;
	lc->waiter = NULL;	/* the core ends it */
	wait_end(lc);
	return 1;
}

/* Served (the core skips a closed client): what came behind may run. */
static void
wait_served(void *arg)
{
	line_resume(arg);
}

static void
wait_timeout(void *arg)
{
	struct line_client *lc = arg;

	lc->waiter = NULL;	/* the core ended it */
	conn_write(lc->conn, "TIMEOUT\n", 8);
	wait_end(lc);
	line_resume(lc);
}

static const struct waiter_ops wait_ops = {
	.retry = wait_retry,
	.served = wait_served,
	.timeout = wait_timeout,
};

static void
cmd_wait(struct line_client *lc, const struct word *w)
{
	struct server *s = lc->conn->server;
	char name[MQ_NAME_MAX + 1];
	struct wait_on on;
	long long timeout;
	mq_stream *st;
	int rc;

	if (!word_name(&w[0], name) || mq_id_parse(w[1].p, w[1].len, 0,
	    &on.after) != MQ_OK || !word_num(&w[2], INT64_MAX / 2, &timeout)) {
		reply_err(lc, "bad stream, id or timeout");
		return;
	}
	rc = server_stream(s, name, w[0].len, 0, &st);
	if (rc != MQ_OK && rc != MQ_ENOSTREAM) {
		reply_err(lc, mq_strerror(rc));
		return;
	}
	if ((lc->wait_stream = strdup(name)) == NULL) {
		reply_err(lc, "out of memory");
		return;
	}
	lc->wait_after = on.after;
	/* Served at once: the caller runs what came behind. */
	if (wait_read(lc)) {
		wait_end(lc);
		return;
	}
	on.stream = name;
	on.group = NULL;
	if ((lc->waiter = waiter_add(lc->conn, &on, 1, timeout, &wait_ops,
	    lc)) == NULL) {
		wait_end(lc);
		reply_err(lc, "out of memory");
		return;
	}
	conn_write(lc->conn, "WAITING\n", 8);
}

/* ------------------------------------------------------------------
 * Requests.
 * ---------------------------------------------------------------- */

struct line_cmd {
	const char	*verb;
	size_t		 nargs;
	int		 noauth;	/* runs before AUTH */
	/* Joins the run of appends: 1 if queued (its reply comes later). */
	int		(*queue)(struct line_client *, const struct word *);
	void		(*run)(struct line_client *, const struct word *);
};

static const struct line_cmd line_cmds[] = {
	{ "ADD",	2, 0, add_queue, cmd_add },
	{ "AUTH",	2, 1, NULL, cmd_auth },
	{ "PING",	0, 1, NULL, cmd_ping },
	{ "PUB",	2, 0, pub_queue, cmd_pub },
	{ "SUB",	1, 0, NULL, cmd_sub },
	{ "WAIT",	3, 0, NULL, cmd_wait },
};

static const struct line_cmd *
lookup(const char *verb, size_t len)
{
	size_t i;

	for (i = 0; i < sizeof(line_cmds) / sizeof(line_cmds[0]); i++)
		if (strlen(line_cmds[i].verb) == len &&
		    memcmp(line_cmds[i].verb, verb, len) == 0)
			return &line_cmds[i];
	return NULL;
}

/*
 * Splits the 'len' bytes at 'p' at single spaces into at most 'max'
 * words, the last taking the rest; returns how many.
 */
static size_t
split(const char *p, size_t len, struct word *w, size_t max)
{
	const char *end = p + len, *sp;
	size_t n = 0;

	for (;;) {
		sp = n + 1 < max ? memchr(p, ' ', (size_t)(end - p)) : NULL;
		w[n].p = p;
		w[n].len = (size_t)((sp != NULL ? sp : end) - p);
		n++;
		if (sp == NULL)
			return n;
		p = sp + 1;
	}
}

/* Runs the request 'line' ('len' bytes, not empty, without its '\n'). */
static void
dispatch(struct line_client *lc, const char *line, size_t len)
{
	const struct line_cmd *cmd;
	const char *sp = memchr(line, ' ', len);
	struct word w[LINE_ARGS];
	size_t n = 0;

	cmd = lookup(line, sp != NULL ? (size_t)(sp - line) : len);
	if (sp != NULL)
		n = split(sp + 1, (size_t)(line + len - sp - 1), w,
		    cmd != NULL && cmd->nargs > 0 ? cmd->nargs : 1);
	if (cmd != NULL && n == cmd->nargs && cmd->queue != NULL &&
	    lc->authenticated && cmd->queue(lc, w)) {
		cmd_begin(lc->conn, TURN_QUEUED);
		return;
	}
	if (cmd_begin(lc->conn, TURN_PLAIN) == -1)
		return;		/* closed: 'lc' is gone */
	if (cmd == NULL)
		reply_err(lc, "unknown command");
	else if (n != cmd->nargs)
		reply_err(lc, "wrong number of arguments");
	else if (!lc->authenticated && !cmd->noauth)
		reply_err(lc, "AUTH first");
	else
		cmd->run(lc, w);
}

/* Runs every whole line that arrived, until one holds the connection. */
static int
line_input(struct conn *conn)
{
	struct line_client *lc = conn->state;
	size_t off = 0, len;
	const char *line, *nl;

	lc->anonymous = -1;	/* asked again for what this read brought */
	/* 'conn->dead' first: a command may close it, and free 'lc'. */
	while (!conn->dead && !conn->closing && !held(lc) &&
	    (nl = memchr(conn->in + off, '\n', conn->inlen - off)) != NULL) {
		line = conn->in + off;
		len = (size_t)(nl - line);
		off += len + 1;
		if (len > 0 && line[len - 1] == '\r')
			len--;
		if (len > 0)
			dispatch(lc, line, len);
	}
	if (!conn->dead)
		conn_consume(conn, off);
	return 0;
}

/* After a WAIT or an AUTH: runs what the client sent behind it. */
static void
line_resume(struct line_client *lc)
{
	if (!lc->conn->dead && lc->conn->inlen > 0)
		(void)line_input(lc->conn);
}

/* ------------------------------------------------------------------
 * The protocol.
 * ---------------------------------------------------------------- */

static int
line_open(struct conn *conn)
{
	struct line_client *lc;

	if ((lc = calloc(1, sizeof(*lc))) == NULL)
		return -1;
	lc->conn = conn;
	lc->authenticated = conn->server->users == NULL;
	conn->state = lc;
	return 0;
}

static void
line_close(struct conn *conn)
{
	struct line_client *lc = conn->state;

	if (lc == NULL)
		return;
	/* What it queued still happens: a PUB's delivery is its callback. */
	if (appendq_flushing(conn->server))
		appendq_cancel(conn->server, lc);
	else
		appendq_flush(conn->server);
	waiter_end(conn->server, lc->waiter);
	fanout_leave(conn->server, &lc->fsub);
	mq_sub_close(lc->sub);
	free(lc->topic);
	free(lc->wait_stream);
	free(lc);
	conn->state = NULL;
}

/* A client over --maxclients, in this door's words. */
static void
line_refuse(int fd)
{
	if (write(fd, "BUSY\n", 5) < 0) {
		/* nothing to do: it is being refused anyway */
	}
}

const struct proto line_proto = {
	.name = "line",
	.open = line_open,
	.input = line_input,
	.close = line_close,
	.refuse = line_refuse,
};
