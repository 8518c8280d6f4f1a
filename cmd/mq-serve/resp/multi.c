/*
 * multi.c - MULTI, EXEC, DISCARD, WATCH and UNWATCH.
 *
 * Between MULTI and EXEC each command is checked (unknown, arity) and
 * queued with a copy of its arguments; EXEC runs them back to back, and
 * since mq-serve handles one command at a time, no other client of this
 * server runs in between.  (Other processes of the spool may: libmq
 * keeps every single command consistent, not the transaction.)  The
 * password checks of queued AUTH and HELLO AUTH are made off the loop
 * before EXEC runs any command (auth.c).  WATCH remembers the type of
 * each key and, for a stream, how many entries it had ever been given,
 * its length and its top id; for a sorted set, its version
 * (mq_zset_version: which file holds it, and the length of its log,
 * which every change appends to).  EXEC gives a null reply, and runs
 * nothing, if any of them changed, whichever process changed it.  That
 * is what Redis counts as a change: of a stream, XADD, XDEL and XTRIM
 * that remove something, and not group commands; of a sorted set, a
 * ZADD, ZINCRBY, ZREM, ZPOPMIN, ZREMRANGEBY... that adds, updates or
 * removes a member, and not one that changes nothing; of either, DEL,
 * RENAME from or onto the key, and its removal when it expires.
 */
#include <stdlib.h>
#include <string.h>

#include "resp.h"

struct queued {
	const struct resp_command *cmd;
	struct resp_arg	*argv;
	size_t		 argc;
	char		*data;		/* the arguments' bytes */
};

struct resp_multi {
	struct queued	*cmds;
	size_t		 n, cap;
	int		 failed;	/* a command was refused: EXECABORT */
};

enum watch_type { WATCH_NONE, WATCH_STREAM, WATCH_ZSET };

struct resp_watch {
	char		*name;
	enum watch_type	 type;
	uint64_t	 added;		/* a stream's */
	uint64_t	 length;	/* XDEL and XTRIM change it, as Redis signals */
	mq_id		 last;
	struct mq_zversion zv;		/* a sorted set's */
};

/* The state of key 'name' that WATCH compares. */
static void
watch_state(struct resp_client *c, const char *name, size_t len,
    struct resp_watch *w)
{
	struct server *s = c->conn->server;
	struct mq_stream_info info;
	mq_stream *st;
	mq_zset *z;

	w->type = WATCH_NONE;
	w->added = w->length = 0;
	w->last.ms = w->last.seq = 0;
	memset(&w->zv, 0, sizeof(w->zv));
	if (server_stream(s, name, len, 0, &st) == MQ_OK &&
	    mq_stream_info(st, &info) == MQ_OK) {
		w->type = WATCH_STREAM;
		w->added = info.entries_added;
		w->length = info.length;
		w->last = info.last_id;
	} else if (server_zset(s, name, len, 0, &z) == MQ_OK &&
	    mq_zset_version(z, &w->zv) == MQ_OK && w->zv.length != 0)
		w->type = WATCH_ZSET;
}

static void
unwatch(struct resp_client *c)
{
	size_t i;

	for (i = 0; i < c->nwatched; i++)
		free(c->watched[i].name);
	free(c->watched);
	c->watched = NULL;
	c->nwatched = 0;
}

static void
multi_free(struct resp_multi *m)
{
	size_t i;

	if (m == NULL)
		return;
	for (i = 0; i < m->n; i++) {
		free(m->cmds[i].argv);
		free(m->cmds[i].data);
	}
	free(m->cmds);
	free(m);
}

void
resp_multi_free(struct resp_client *c)
{
	unwatch(c);
	multi_free(c->multi);
	c->multi = NULL;
	/* An EXEC under way when its client closes. */
	multi_free(c->running);
	c->running = NULL;
}

void
resp_multi_fail(struct resp_client *c)
{
	if (c->multi != NULL)
		c->multi->failed = 1;
}

int
resp_queue(struct resp_client *c, const struct resp_command *cmd,
    size_t argc, const struct resp_arg *argv)
{
	struct resp_multi *m = c->multi;
	struct queued *q;

	if (cmd->fn == resp_cmd_exec || cmd->fn == resp_cmd_discard ||
	    cmd->fn == resp_cmd_multi || cmd->fn == resp_cmd_watch ||
	    cmd->fn == resp_cmd_quit || cmd->fn == resp_cmd_reset)
		return 0;
	if (m->n == m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 8;
		struct queued *n = reallocarray(m->cmds, cap, sizeof(*n));

		if (n == NULL) {
			m->failed = 1;
			resp_reply_error(c, "ERR out of memory");
			return 1;
		}
		m->cmds = n;
		m->cap = cap;
	}
	q = &m->cmds[m->n];
	q->cmd = cmd;
	q->argc = argc;
	if (resp_args_copy(argc, argv, &q->argv, &q->data) == -1) {
		m->failed = 1;
		resp_reply_error(c, "ERR out of memory");
		return 1;
	}
	m->n++;
	resp_reply_simple(c, "QUEUED");
	return 1;
}

void
resp_cmd_multi(struct resp_client *c, size_t argc, const struct resp_arg *argv)
{
	if (c->multi != NULL) {
		resp_reply_error(c, "ERR MULTI calls can not be nested");
		return;
	}
	if ((c->multi = calloc(1, sizeof(*c->multi))) == NULL) {
		resp_reply_error(c, "ERR out of memory");
		return;
	}
	resp_reply_ok(c);
}

void
resp_cmd_discard(struct resp_client *c, size_t argc,
    const struct resp_arg *argv)
{
	if (c->multi == NULL) {
		resp_reply_error(c, "ERR DISCARD without MULTI");
		return;
	}
	resp_multi_free(c);
	resp_reply_ok(c);
}

/* Whether a WATCHed key changed since WATCH. */
static int
watched_changed(struct resp_client *c)
{
	struct resp_watch now;
	size_t i;

	for (i = 0; i < c->nwatched; i++) {
		struct resp_watch *w = &c->watched[i];

		watch_state(c, w->name, strlen(w->name), &now);
		if (now.type != w->type || now.added != w->added ||
		    now.length != w->length || mq_id_cmp(now.last, w->last) != 0 ||
		    now.zv.file != w->zv.file || now.zv.length != w->zv.length)
			return 1;
	}
	return 0;
}

void
resp_cmd_exec(struct resp_client *c, size_t argc, const struct resp_arg *argv)
{
	struct resp_multi *m = c->multi;
	struct conn *conn = c->conn;
	size_t i, n;
	int rc;

	if (m == NULL) {
		resp_reply_error(c, "ERR EXEC without MULTI");
		return;
	}
	if (m->failed) {
		resp_multi_free(c);
		resp_reply_error(c,
		    "EXECABORT Transaction discarded because of "
		    "previous errors.");
		return;
	}
	if (watched_changed(c)) {
		resp_multi_free(c);
		resp_reply_null_array(c);
		return;
	}
	/*
	 * The password checks of its AUTH and HELLO AUTH come first, off
	 * the loop (auth.c): EXEC runs again once each is answered.
	 */
	for (i = 0; i < m->n; i++)
		if ((rc = resp_auth_exec(c, argc, argv, m->cmds[i].cmd,
		    m->cmds[i].argc, m->cmds[i].argv)) != 0) {
			if (rc == -1)
				resp_multi_free(c);
			return;
		}
	/*
	 * Detached first: the commands run as if no MULTI were open.  Kept
	 * in c->running meanwhile, so that a command that closes the client
	 * (its state and this go with resp_close) ends the loop: the
	 * connection, not 'c', says so.
	 */
	c->multi = NULL;
	c->running = m;
	c->in_exec = 1;
	resp_reply_array(c, m->n);
	n = m->n;
	for (i = 0; i < n; i++) {
		resp_execute(c, m->cmds[i].cmd, m->cmds[i].argc,
		    m->cmds[i].argv);
		if (conn->dead)
			return;		/* 'c' and 'm' are gone */
	}
	c->in_exec = 0;
	c->running = NULL;
	c->multi = m;
	resp_multi_free(c);
}

void
resp_cmd_watch(struct resp_client *c, size_t argc, const struct resp_arg *argv)
{
	struct resp_watch *w;
	size_t i;

	if (c->multi != NULL) {
		resp_reply_error(c, "ERR WATCH inside MULTI is not allowed");
		return;
	}
	for (i = 1; i < argc; i++) {
		w = reallocarray(c->watched, c->nwatched + 1, sizeof(*w));
		if (w == NULL) {
			resp_reply_error(c, "ERR out of memory");
			return;
		}
		c->watched = w;
		w += c->nwatched;
		if ((w->name = strndup(argv[i].p, argv[i].len)) == NULL) {
			resp_reply_error(c, "ERR out of memory");
			return;
		}
		watch_state(c, argv[i].p, argv[i].len, w);
		c->nwatched++;
	}
	resp_reply_ok(c);
}

void
resp_cmd_unwatch(struct resp_client *c, size_t argc,
    const struct resp_arg *argv)
{
	unwatch(c);
	resp_reply_ok(c);
}
