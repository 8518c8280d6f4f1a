/*
 * door.c - the Redis door: a connection's state, the loop over the
 * requests that arrived (any number of pipelined ones per read), the
 * command table, and the checks every command shares (unknown command,
 * arity, authentication, the commands a RESP2 subscriber may send).
 *
 * Authentication: with a users file, a connection runs only AUTH, HELLO,
 * QUIT and RESET until AUTH or HELLO AUTH succeeds (Redis's NO_AUTH
 * commands).  Without one, every client is the user "default" at once,
 * and in protected mode (the default) only 127.0.0.1 and ::1 may connect,
 * as Redis's protected mode has it.
 *
 * A command runs to completion and appends one reply, except a blocking
 * read that finds nothing: it parks the client (resp_block) and no later
 * request of that connection runs until it is served or times out, as in
 * Redis; a password check (AUTH, HELLO AUTH, an EXEC with them), which
 * holds the connection the same way until its answer (auth.c); and a
 * plain XADD, which joins the run of appends of appendq.c and gets its
 * reply when the run is flushed, before anything else runs.
 */
#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "resp.h"

/* Sorted by name: resp_lookup() is a binary search. */
const struct resp_command resp_commands[] = {
	{ "auth",	-2, CMD_NOAUTH,			0, 0, 0,
	    resp_cmd_auth },
	{ "client",	-2, 0,				0, 0, 0,
	    resp_cmd_client },
	{ "command",	-1, 0,				0, 0, 0,
	    resp_cmd_command },
	{ "config",	-2, 0,				0, 0, 0,
	    resp_cmd_config },
	{ "dbsize",	 1, CMD_READONLY,		0, 0, 0,
	    resp_cmd_dbsize },
	{ "del",	-2, CMD_WRITE,			1, -1, 1,
	    resp_cmd_del },
	{ "discard",	 1, 0,				0, 0, 0,
	    resp_cmd_discard },
	{ "echo",	 2, 0,				0, 0, 0,
	    resp_cmd_echo },
	{ "exec",	 1, 0,				0, 0, 0,
	    resp_cmd_exec },
	{ "exists",	-2, CMD_READONLY,		1, -1, 1,
	    resp_cmd_exists },
	{ "expire",	-3, CMD_WRITE,			1, 1, 1,
	    resp_cmd_expire },
	{ "flushall",	-1, CMD_WRITE,			0, 0, 0,
	    resp_cmd_flushall },
	{ "flushdb",	-1, CMD_WRITE,			0, 0, 0,
	    resp_cmd_flushall },
	{ "hello",	-1, CMD_NOAUTH,			0, 0, 0,
	    resp_cmd_hello },
	{ "info",	-1, 0,				0, 0, 0,
	    resp_cmd_info },
	{ "keys",	 2, CMD_READONLY,		0, 0, 0,
	    resp_cmd_keys },
	{ "multi",	 1, 0,				0, 0, 0,
	    resp_cmd_multi },
	{ "pexpire",	-3, CMD_WRITE,			1, 1, 1,
	    resp_cmd_expire },
	{ "ping",	-1, CMD_PUBSUB | CMD_HOLD,	0, 0, 0,
	    resp_cmd_ping },
	{ "psubscribe",	-2, CMD_PUBSUB,			0, 0, 0,
	    resp_cmd_psubscribe },
	{ "pttl",	 2, CMD_READONLY,		1, 1, 1, resp_cmd_ttl },
	{ "publish",	 3, 0,				0, 0, 0,
	    resp_cmd_publish },
	{ "pubsub",	-2, 0,				0, 0, 0,
	    resp_cmd_pubsub },
	{ "punsubscribe", -1, CMD_PUBSUB,		0, 0, 0,
	    resp_cmd_punsubscribe },
	{ "quit",	-1, CMD_PUBSUB | CMD_NOAUTH,	0, 0, 0,
	    resp_cmd_quit },
	{ "rename",	 3, CMD_WRITE,			1, 2, 1,
	    resp_cmd_rename },
	{ "renamenx",	 3, CMD_WRITE,			1, 2, 1,
	    resp_cmd_rename },
	{ "reset",	 1, CMD_PUBSUB | CMD_NOAUTH,	0, 0, 0,
	    resp_cmd_reset },
	{ "scan",	-2, CMD_READONLY,		0, 0, 0,
	    resp_cmd_scan },
	{ "select",	 2, 0,				0, 0, 0,
	    resp_cmd_select },
	{ "spublish",	 3, 0,				1, 1, 1,
	    resp_cmd_publish },
	{ "ssubscribe",	-2, CMD_PUBSUB,			1, -1, 1,
	    resp_cmd_subscribe },
	{ "subscribe",	-2, CMD_PUBSUB,			0, 0, 0,
	    resp_cmd_subscribe },
	{ "sunsubscribe", -1, CMD_PUBSUB,		1, -1, 1,
	    resp_cmd_unsubscribe },
	{ "time",	 1, 0,				0, 0, 0,
	    resp_cmd_time },
	{ "ttl",	 2, CMD_READONLY,		1, 1, 1, resp_cmd_ttl },
	{ "type",	 2, CMD_READONLY,		1, 1, 1,
	    resp_cmd_type },
	{ "unlink",	-2, CMD_WRITE,			1, -1, 1,
	    resp_cmd_del },
	{ "unsubscribe", -1, CMD_PUBSUB,		0, 0, 0,
	    resp_cmd_unsubscribe },
	{ "unwatch",	 1, 0,				0, 0, 0,
	    resp_cmd_unwatch },
	{ "watch",	-2, 0,				1, -1, 1,
	    resp_cmd_watch },
	{ "xack",	-4, CMD_WRITE | CMD_HOLD,	1, 1, 1,
	    resp_cmd_xack },
	{ "xadd",	-5, CMD_WRITE | CMD_HOLD,	1, 1, 1,
	    resp_cmd_xadd },
	{ "xautoclaim",	-6, CMD_WRITE | CMD_HOLD,	1, 1, 1,
	    resp_cmd_xautoclaim },
	{ "xclaim",	-6, CMD_WRITE | CMD_HOLD,	1, 1, 1,
	    resp_cmd_xclaim },
	{ "xdel",	-3, CMD_WRITE,			1, 1, 1,
	    resp_cmd_xdel },
	{ "xgroup",	-2, CMD_WRITE,			2, 2, 1,
	    resp_cmd_xgroup },
	{ "xinfo",	-2, CMD_READONLY,		2, 2, 1,
	    resp_cmd_xinfo },
	{ "xlen",	 2, CMD_READONLY | CMD_HOLD,	1, 1, 1,
	    resp_cmd_xlen },
	{ "xpending",	-3, CMD_READONLY | CMD_HOLD,	1, 1, 1,
	    resp_cmd_xpending },
	{ "xrange",	-4, CMD_READONLY | CMD_HOLD,	1, 1, 1,
	    resp_cmd_xrange },
	{ "xread",	-4, CMD_READONLY | CMD_BLOCKING | CMD_HOLD, 0, 0, 0,
	    resp_cmd_xread },
	{ "xreadgroup",	-7, CMD_WRITE | CMD_BLOCKING | CMD_HOLD, 0, 0, 0,
	    resp_cmd_xreadgroup },
	{ "xrevrange",	-4, CMD_READONLY | CMD_HOLD,	1, 1, 1,
	    resp_cmd_xrevrange },
	{ "xsetid",	-3, CMD_WRITE,			1, 1, 1,
	    resp_cmd_xsetid },
	{ "xtrim",	-4, CMD_WRITE,			1, 1, 1,
	    resp_cmd_xtrim },
	{ "zadd",	-4, CMD_WRITE,			1, 1, 1,
	    resp_cmd_zadd },
	{ "zcard",	 2, CMD_READONLY,		1, 1, 1,
	    resp_cmd_zcard },
	{ "zcount",	 4, CMD_READONLY,		1, 1, 1,
	    resp_cmd_zcount },
	{ "zincrby",	 4, CMD_WRITE,			1, 1, 1,
	    resp_cmd_zadd },
	{ "zlexcount",	 4, CMD_READONLY,		1, 1, 1,
	    resp_cmd_zcount },
	{ "zmscore",	-3, CMD_READONLY,		1, 1, 1,
	    resp_cmd_zscore },
	{ "zpopmax",	-2, CMD_WRITE,			1, 1, 1,
	    resp_cmd_zpop },
	{ "zpopmin",	-2, CMD_WRITE,			1, 1, 1,
	    resp_cmd_zpop },
	{ "zrange",	-4, CMD_READONLY,		1, 1, 1,
	    resp_cmd_zrange },
	{ "zrangebylex", -4, CMD_READONLY,		1, 1, 1,
	    resp_cmd_zrange },
	{ "zrangebyscore", -4, CMD_READONLY,		1, 1, 1,
	    resp_cmd_zrange },
	{ "zrank",	 3, CMD_READONLY,		1, 1, 1,
	    resp_cmd_zrank },
	{ "zrem",	-3, CMD_WRITE,			1, 1, 1,
	    resp_cmd_zrem },
	{ "zremrangebylex", 4, CMD_WRITE,		1, 1, 1,
	    resp_cmd_zremrange },
	{ "zremrangebyrank", 4, CMD_WRITE,		1, 1, 1,
	    resp_cmd_zremrange },
	{ "zremrangebyscore", 4, CMD_WRITE,		1, 1, 1,
	    resp_cmd_zremrange },
	{ "zrevrange",	-4, CMD_READONLY,		1, 1, 1,
	    resp_cmd_zrange },
	{ "zrevrangebylex", -4, CMD_READONLY,		1, 1, 1,
	    resp_cmd_zrange },
	{ "zrevrangebyscore", -4, CMD_READONLY,	1, 1, 1, resp_cmd_zrange },
	{ "zrevrank",	 3, CMD_READONLY,		1, 1, 1,
	    resp_cmd_zrank },
	{ "zscore",	 3, CMD_READONLY,		1, 1, 1,
	    resp_cmd_zscore },
};
const size_t resp_ncommands = sizeof(resp_commands) / sizeof(resp_commands[0]);

/* Longer than any command's name: a longer name is no command. */
#define CMD_NAME_MAX	32

const struct resp_command *
resp_lookup(const char *name, size_t len)
{
	/*
	 * The name found last, as it was written, and its command: a
	 * pipeline mostly repeats one, and the same bytes name the same.
	 */
	static char last_name[CMD_NAME_MAX];
	static size_t last_len;
	static const struct resp_command *last;
	char lower[CMD_NAME_MAX];
	size_t lo = 0, hi = resp_ncommands, i;

	if (last != NULL && len == last_len &&
	    memcmp(name, last_name, len) == 0)
		return last;

	/*
	 * Lowered once, then compared as C strings: every request is looked
	 * up, and a caseless compare at each step of the search cost more
	 * than the rest of a PUBLISH's dispatch.
	 */
	if (len >= sizeof(lower) || memchr(name, '\0', len) != NULL)
		return NULL;
	for (i = 0; i < len; i++)
		lower[i] = (char)tolower((unsigned char)name[i]);
	lower[len] = '\0';
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int cmp = strcmp(lower, resp_commands[mid].name);

		if (cmp == 0) {
			memcpy(last_name, name, len);
			last_len = len;
			return last = &resp_commands[mid];
		}
		if (cmp < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

/* ------------------------------------------------------------------
 * Arguments.
 * ---------------------------------------------------------------- */

int
resp_arg_is(const struct resp_arg *a, const char *lower)
{
	return strlen(lower) == a->len && strncasecmp(a->p, lower, a->len) == 0;
}

int
resp_arg_ll(const struct resp_arg *a, long long *v)
{
	char buf[32];
	const char *errstr;

	if (a->len == 0 || a->len >= sizeof(buf))
		return 0;
	memcpy(buf, a->p, a->len);
	buf[a->len] = '\0';
	/* Redis takes no spaces, no '+', and no leading zeros but "0". */
	if (buf[0] == '+' || isspace((unsigned char)buf[0]) ||
	    (buf[0] == '0' && a->len > 1) ||
	    (buf[0] == '-' && (a->len == 1 || buf[1] == '0')))
		return 0;
	*v = strtonum(buf, LLONG_MIN, LLONG_MAX, &errstr);
	return errstr == NULL;
}

int
resp_arg_str(const struct resp_arg *a, char *buf, size_t size)
{
	if (a->len >= size || memchr(a->p, '\0', a->len) != NULL)
		return 0;
	memcpy(buf, a->p, a->len);
	buf[a->len] = '\0';
	return 1;
}

int
resp_args_copy(size_t argc, const struct resp_arg *argv,
    struct resp_arg **copy, char **data)
{
	size_t i, total = 0;
	char *p;

	for (i = 0; i < argc; i++)
		total += argv[i].len;
	*copy = reallocarray(NULL, argc, sizeof(**copy));
	*data = malloc(total + 1);
	if (*copy == NULL || *data == NULL) {
		free(*copy);
		free(*data);
		*copy = NULL;
		*data = NULL;
		return -1;
	}
	for (i = 0, p = *data; i < argc; i++) {
		memcpy(p, argv[i].p, argv[i].len);
		(*copy)[i].p = p;
		(*copy)[i].len = argv[i].len;
		p += argv[i].len;
	}
	return 0;
}

void
resp_reply_wrong_arity(struct resp_client *c, const char *cmd)
{
	resp_reply_error(c, "ERR wrong number of arguments for '%s' command",
	    cmd);
}

void
resp_reply_syntax_error(struct resp_client *c)
{
	resp_reply_error(c, "ERR syntax error");
}

/* "ERR unknown command 'x', with args beginning with: 'a' 'b' " as Redis. */
static void
reply_unknown(struct resp_client *c, size_t argc, const struct resp_arg *argv)
{
	char args[256];
	size_t i, used = 0;

	args[0] = '\0';
	for (i = 1; i < argc && used < 128; i++) {
		int n = snprintf(args + used, sizeof(args) - used, "'%.*s' ",
		    (int)(argv[i].len > 128 - used ? 128 - used : argv[i].len),
		    argv[i].p);

		if (n < 0 || (size_t)n >= sizeof(args) - used)
			break;
		used += (size_t)n;
	}
	resp_reply_error(c,
	    "ERR unknown command '%.*s', with args beginning with: %s",
	    (int)(argv[0].len > 128 ? 128 : argv[0].len), argv[0].p, args);
}

/* Runs one request. */
static void
dispatch(struct resp_client *c, size_t argc, const struct resp_arg *argv)
{
	const struct resp_command *cmd;

	cmd = resp_lookup(argv[0].p, argv[0].len);
	/*
	 * A plain XADD or a PUBLISH joins the run of appends (core/appendq.c);
	 * anything else first lets the run finish, and only a run of group
	 * commands keeps its groups held (core/turn.c).
	 */
	if (cmd != NULL && c->multi == NULL && c->authenticated &&
	    c->nchannels + c->npatterns == 0 &&
	    ((cmd->fn == resp_cmd_xadd && resp_xadd_queue(c, argc, argv)) ||
	    (cmd->fn == resp_cmd_publish && resp_publish_queue(c, argc,
	    argv)))) {
		cmd_begin(c->conn, TURN_QUEUED);
		return;
	}
	if (cmd_begin(c->conn, cmd != NULL && (cmd->flags & CMD_HOLD) &&
	    c->multi == NULL ? TURN_HOLDS : TURN_PLAIN) == -1)
		return;		/* closed: 'c' is gone */
	if (cmd == NULL) {
		resp_multi_fail(c);
		reply_unknown(c, argc, argv);
		return;
	}
	if ((cmd->arity > 0 && argc != (size_t)cmd->arity) ||
	    (cmd->arity < 0 && argc < (size_t)-cmd->arity)) {
		resp_multi_fail(c);
		resp_reply_wrong_arity(c, cmd->name);
		return;
	}
	if (!c->authenticated && !(cmd->flags & CMD_NOAUTH)) {
		resp_multi_fail(c);
		resp_reply_error(c, "NOAUTH Authentication required.");
		return;
	}
	if (c->proto == 2 && c->nchannels + c->npatterns > 0 &&
	    !(cmd->flags & CMD_PUBSUB)) {
		resp_reply_error(c,
		    "ERR Can't execute '%s': only (P|S)SUBSCRIBE / "
		    "(P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this "
		    "context", cmd->name);
		return;
	}
	if (c->multi != NULL && resp_queue(c, cmd, argc, argv))
		return;
	resp_execute(c, cmd, argc, argv);
}

void
resp_execute(struct resp_client *c, const struct resp_command *cmd,
    size_t argc, const struct resp_arg *argv)
{
	c->last_cmd = cmd->name;
	server_cache_release(c->conn->server);	/* each of an EXEC's too */
	cmd->fn(c, argc, argv);
}

/* ------------------------------------------------------------------
 * The protocol.
 * ---------------------------------------------------------------- */

/* Redis 7.0's words, sent before closing a client refused by protected mode. */
static const char denied[] =
    "-DENIED Redis is running in protected mode because protected "
    "mode is enabled and no password is set for the default user. "
    "In this mode connections are only accepted from the loopback interface. "
    "If you want to connect from external computers to Redis you "
    "may adopt one of the following solutions: "
    "1) Just disable protected mode sending the command "
    "'CONFIG SET protected-mode no' from the loopback interface "
    "by connecting to Redis from the same host the server is "
    "running, however MAKE SURE Redis is not publicly accessible "
    "from internet if you do so. Use CONFIG REWRITE to make this "
    "change permanent. "
    "2) Alternatively you can just disable the protected mode by "
    "editing the Redis configuration file, and setting the protected "
    "mode option to 'no', and then restarting the server. "
    "3) If you started the server manually just for testing, restart "
    "it with the '--protected-mode no' option. "
    "4) Setup a an authentication password for the default user. "
    "NOTE: You only need to do one of the above things in order for "
    "the server to start accepting connections from the outside.\r\n";

/* Redis's words for a client over maxclients. */
static void
resp_refuse(int fd)
{
	static const char msg[] = "-ERR max number of clients reached\r\n";

	if (write(fd, msg, sizeof(msg) - 1) < 0) {
		/* nothing to do: it is being refused anyway */
	}
}

static int
resp_open(struct conn *conn)
{
	struct server *s = conn->server;
	struct resp_client *c;

	if (s->users == NULL && s->cfg.protected_mode && !conn_is_local(conn)) {
		/* Best effort, as for maxclients: it is refused anyway. */
		if (write(conn->fd, denied, sizeof(denied) - 1) < 0) {
			/* nothing to do */
		}
		s->rejected_conns++;
		server_log(s, "conn peer=%s proto=resp refused reason=protected "
		    "mode", conn->peer);
		return -1;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return -1;
	c->conn = conn;
	c->proto = 2;
	/* Without a users file, "default" needs no password. */
	c->authenticated = s->users == NULL;
	strlcpy(c->user, "default", sizeof(c->user));
	resp_parser_init(&c->parser);
	/*
	 * --max-request is Redis's proto-max-bulk-len (CONFIG GET reports
	 * it so): a longer bulk gets Redis's protocol error at once, not a
	 * silent close once the buffer is full.
	 */
	if (conn->server->cfg.max_request < c->parser.max_bulk)
		c->parser.max_bulk = conn->server->cfg.max_request;
	conn->state = c;
	return 0;
}

/*
 * The argument array of the request being parsed.  The parser of the
 * connection whose input is handled borrows it, since the loop handles
 * one input at a time: a connection that waits keeps none, and a read
 * allocates none.  A nested call would find none lent and make its own.
 */
static struct resp_arg *spare_args;
static size_t spare_cap;

static void
args_lend(struct resp_parser *p)
{
	p->args = spare_args;
	p->cap = spare_cap;
	spare_args = NULL;
	spare_cap = 0;
}

static void
args_return(struct resp_parser *p)
{
	if (spare_args == NULL) {
		spare_args = p->args;
		spare_cap = p->cap;
	} else
		free(p->args);
	p->args = NULL;
	p->cap = 0;
}

/*
 * Closes after the error reply, logging "protocol error: invalid bulk
 * length" for the parser's "Protocol error: invalid bulk length".
 */
static void
close_protocol_error(struct conn *conn, const char *error)
{
	static const char redis[] = "Protocol error: ";
	char why[128];

	if (strncmp(error, redis, sizeof(redis) - 1) != 0) {
		conn_close_after(conn, error);	/* "out of memory" */
		return;
	}
	(void)snprintf(why, sizeof(why), "protocol error: %s",
	    error + sizeof(redis) - 1);
	conn_close_after(conn, why);
}

/*
 * Handles every whole request that arrived, until one blocks.  On a
 * protocol error, replies with Redis's error and closes (as Redis does).
 */
static int
resp_input(struct conn *conn)
{
	struct resp_client *c = conn->state;
	size_t off = 0, argc;
	int n;

	args_lend(&c->parser);
	c->anonymous = -1;	/* asked again for what this read brought */
	/*
	 * 'conn->dead' first: a command may close it, and free 'c'.  A
	 * large reply being written, or too much output unread, holds the
	 * rest until the client has taken it (conn_held): then conn.c
	 * hands it back.
	 */
	while (!conn->dead && off < conn->inlen && c->block == NULL &&
	    c->authwait == NULL && !conn->closing && !conn_held(conn)) {
		c->parser.authenticated = c->authenticated;
		n = resp_parse(&c->parser, conn->in + off, conn->inlen - off,
		    &argc);
		if (n == 0)
			break;
		if (n < 0) {
			appendq_flush(conn->server);
			resp_reply_error(c, "ERR %s", c->parser.error);
			close_protocol_error(conn, c->parser.error);
			conn_consume(conn, conn->inlen);
			args_return(&c->parser);
			return -1;
		}
		off += (size_t)n;
		if (argc > 0)
			dispatch(c, argc, c->parser.args);
	}
	if (!conn->dead)
		conn_consume(conn, off);
	args_return(&c->parser);
	return 0;
}

/* After a blocked command was served: run what was pipelined behind it. */
void
resp_resume(struct resp_client *c)
{
	/* A protocol error there closes the connection (resp_input). */
	if (c->block == NULL && c->conn->inlen > 0 && !c->conn->dead)
		(void)resp_input(c->conn);
}

static void
resp_close(struct conn *conn)
{
	struct resp_client *c = conn->state;

	if (c == NULL)
		return;
	/*
	 * What it queued still happens, callbacks included: a PUBLISH that
	 * only this server's clients hear is delivered by its callback.
	 */
	if (appendq_flushing(conn->server))
		appendq_cancel(conn->server, c);
	else
		appendq_flush(conn->server);
	resp_unblock(c);
	resp_pubsub_close(c);
	resp_multi_free(c);
	resp_auth_free(c);
	resp_parser_free(&c->parser);
	free(c);
	conn->state = NULL;
}

const struct proto resp_proto = {
	.name = "resp",
	.open = resp_open,
	.input = resp_input,
	.close = resp_close,
	.refuse = resp_refuse,
};
