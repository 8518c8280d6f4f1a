/*
 * admin.c - the Redis commands about the connection and the server:
 * PING, ECHO, HELLO, AUTH, SELECT, QUIT, RESET, CLIENT, COMMAND, INFO,
 * CONFIG and TIME.  (DBSIZE and FLUSHALL are keyspace commands and live
 * in keys.c.)
 *
 * Model: mq-serve presents itself as Redis 7.0.15, standalone, master,
 * one database (0), because clients look at the version and the mode
 * before they use features.  Users: with a users file (users.c), AUTH
 * and HELLO AUTH check a name and password against it; without one, the
 * user "default" needs no password, as in a Redis without requirepass.
 * Either way a client is "default" until it authenticates as another.
 * Replies copy Redis 7.0's shapes and wording; where a figure has no
 * meaning for mq (replication, RDB saves) the field says what an idle
 * Redis with that feature off says, and where mq has a real figure
 * (clients, commands, memory, keys, fsync) it is given.  A few fields
 * of mq's own (mq_version, mq_spool, mq_fsync) are added: Redis clients
 * ignore fields they do not know.
 *
 * COMMAND DOCS carries, for each command, a summary, a version, a group
 * and its synopsis as one argument: redis-cli builds its hints from it
 * (and reads the summary and group for HELP, so these are never left
 * out).  CONFIG knows the parameters clients ask for; CONFIG SET accepts
 * those that change nothing in mq and remembers their value for GET.
 */
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/utsname.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <ctype.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "resp.h"

#define REDIS_VERSION	"7.0.15"

/* ------------------------------------------------------------------
 * Helpers.
 * ---------------------------------------------------------------- */

/* A verbatim string ("txt") in RESP3, a bulk string in RESP2, as Redis. */
static void
reply_verbatim(struct resp_client *c, const char *p, size_t len)
{
	if (c->proto != 3) {
		resp_reply_bulk(c, p, len);
		return;
	}
	conn_printf(c->conn, "=%zu\r\ntxt:", len + 4);
	conn_write(c->conn, p, len);
	conn_write(c->conn, "\r\n", 2);
}

/* "ERR unknown subcommand 'x'. Try CMD HELP." */
static void
reply_unknown_sub(struct resp_client *c, const struct resp_arg *sub,
    const char *cmd)
{
	resp_reply_error(c, "ERR unknown subcommand '%.*s'. Try %s HELP.",
	    (int)(sub->len > 128 ? 128 : sub->len), sub->p, cmd);
}

/* "ERR wrong number of arguments for 'cmd|sub' command". */
static void
reply_sub_arity(struct resp_client *c, const char *cmd, const char *sub)
{
	resp_reply_error(c, "ERR wrong number of arguments for '%s|%s' command",
	    cmd, sub);
}

/* A help reply: one simple string per line. */
static void
reply_help(struct resp_client *c, const char *const *lines, size_t n)
{
	size_t i;

	resp_reply_array(c, n);
	for (i = 0; i < n; i++)
		resp_reply_simple(c, lines[i]);
}

/* Redis's bytesToHuman(): "512B", "1.50K", "3.00M", ... */
static void
human(char *buf, size_t size, unsigned long long n)
{
	static const char units[] = "KMGTP";
	double d = (double)n;
	int i = -1;

	if (n < 1024) {
		snprintf(buf, size, "%lluB", n);
		return;
	}
	while (d >= 1024 && i < 4) {
		d /= 1024;
		i++;
	}
	snprintf(buf, size, "%.2f%c", d, units[i]);
}

/* The address of the local end of the connection, "ip:port". */
static void
local_addr(const struct conn *conn, char *buf, size_t size, int *port)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	char host[INET6_ADDRSTRLEN] = "?";
	int p = 0;

	if (getsockname(conn->fd, (struct sockaddr *)&ss, &len) == 0) {
		if (ss.ss_family == AF_INET) {
			struct sockaddr_in *in = (struct sockaddr_in *)&ss;

			inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
			p = ntohs(in->sin_port);
		} else if (ss.ss_family == AF_INET6) {
			struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;

			inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
			p = ntohs(in6->sin6_port);
		}
	}
	snprintf(buf, size, "%s:%d", host, p);
	if (port != NULL)
		*port = p;
}

struct resp_client *
resp_of(struct conn *conn)
{
	return conn->proto == &resp_proto && !conn->dead ? conn->state : NULL;
}

/* ------------------------------------------------------------------
 * PING, ECHO, HELLO, AUTH, SELECT, QUIT, RESET, TIME.
 * ---------------------------------------------------------------- */

/*
 * PING [message]: +PONG or the message; a RESP2 subscriber gets
 * ["pong", message or ""], as Redis answers in that mode.
 */
void
resp_cmd_ping(struct resp_client *c, size_t argc, const struct resp_arg *argv)
{
	if (argc > 2) {
		resp_reply_wrong_arity(c, "ping");
		return;
	}
	if (c->proto == 2 && c->nchannels + c->npatterns > 0) {
		resp_reply_array(c, 2);
		resp_reply_bulk(c, "pong", 4);
		if (argc == 2)
			resp_reply_bulk(c, argv[1].p, argv[1].len);
		else
			resp_reply_bulk(c, "", 0);
	} else if (argc == 2)
		resp_reply_bulk(c, argv[1].p, argv[1].len);
	else
		resp_reply_simple(c, "PONG");
}

void
resp_cmd_echo(struct resp_client *c, size_t argc, const struct resp_arg *argv)
{
	resp_reply_bulk(c, argv[1].p, argv[1].len);
}

/*
 * Checks a name for CLIENT SETNAME and HELLO SETNAME: printable ASCII
 * without spaces, as Redis wants, and short enough for the client's
 * buffer.  Replies with the error and returns 0 when refused.
 */
static int
name_check(struct resp_client *c, const struct resp_arg *a)
{
	size_t i;

	for (i = 0; i < a->len; i++)
		if (a->p[i] < '!' || a->p[i] > '~') {
			resp_reply_error(c,
			    "ERR Client names cannot contain spaces, "
			    "newlines or special characters.");
			return 0;
		}
	if (a->len >= sizeof(c->name)) {
		resp_reply_error(c,
		    "ERR Client names longer than %zu bytes are not "
		    "supported by mq-serve", sizeof(c->name) - 1);
		return 0;
	}
	return 1;
}

static void
name_set(struct resp_client *c, const struct resp_arg *a)
{
	memcpy(c->name, a->p, a->len);
	c->name[a->len] = '\0';
}

/*
 * HELLO [protover [AUTH username password] [SETNAME clientname]]: switches
 * to RESP2 or RESP3 and describes the server as a map.  As in Redis 7.0,
 * the options take effect one by one, in order, up to the first that
 * fails; only then must the client be authenticated.  An AUTH whose
 * check is not answered yet stops it: it runs again once it is (auth.c).
 */
void
resp_cmd_hello(struct resp_client *c, size_t argc, const struct resp_arg *argv)
{
	long long ver = c->proto;
	size_t i;

	if (argc >= 2) {
		if (!resp_arg_ll(&argv[1], &ver)) {
			resp_reply_error(c,
			    "ERR Protocol version is not an integer "
			    "or out of range");
			return;
		}
		if (ver < 2 || ver > 3) {
			resp_reply_error(c,
			    "NOPROTO unsupported protocol version");
			return;
		}
	}
	for (i = 2; i < argc; i++) {
		if (resp_arg_is(&argv[i], "auth") && i + 2 < argc) {
			if (resp_auth(c, argc, argv, &argv[i + 1],
			    &argv[i + 2]) != 1)
				return;
			i += 2;
		} else if (resp_arg_is(&argv[i], "setname") && i + 1 < argc) {
			if (!name_check(c, &argv[i + 1]))
				return;
			name_set(c, &argv[++i]);
		} else {
			resp_reply_error(c, "ERR Syntax error in HELLO option "
			    "'%.*s'", (int)(argv[i].len > 128 ? 128 :
			    argv[i].len), argv[i].p);
			return;
		}
	}
	if (!c->authenticated) {
		resp_reply_error(c,
		    "NOAUTH HELLO must be called with the client "
		    "already authenticated, otherwise the HELLO AUTH <user> "
		    "<pass> option can be used to authenticate the client and "
		    "select the RESP protocol version at the same time");
		return;
	}
	c->proto = (int)ver;
	resp_reply_map(c, 7);
	resp_reply_bulk_str(c, "server");
	resp_reply_bulk_str(c, "redis");
	resp_reply_bulk_str(c, "version");
	resp_reply_bulk_str(c, REDIS_VERSION);
	resp_reply_bulk_str(c, "proto");
	resp_reply_int(c, c->proto);
	resp_reply_bulk_str(c, "id");
	resp_reply_int(c, (long long)c->conn->id);
	resp_reply_bulk_str(c, "mode");
	resp_reply_bulk_str(c, "standalone");
	resp_reply_bulk_str(c, "role");
	resp_reply_bulk_str(c, "master");
	resp_reply_bulk_str(c, "modules");
	resp_reply_array(c, 0);
}

/*
 * AUTH [username] password: without a username, "default".  The check
 * runs off the loop: this runs again with its answer (auth.c).
 */
void
resp_cmd_auth(struct resp_client *c, size_t argc, const struct resp_arg *argv)
{
	static const struct resp_arg def = { "default", 7 };

	if (argc > 3) {
		resp_reply_syntax_error(c);
		return;
	}
	if (argc == 2 && c->conn->server->users == NULL) {
		resp_reply_error(c,
		    "ERR AUTH <password> called without any password "
		    "configured for the default user. Are you sure your "
		    "configuration is correct?");
		return;
	}
	if ((argc == 2 ? resp_auth(c, argc, argv, &def, &argv[1]) :
	    resp_auth(c, argc, argv, &argv[1], &argv[2])) == 1)
		resp_reply_ok(c);
}

/* SELECT index: only database 0 exists. */
void
resp_cmd_select(struct resp_client *c, size_t argc, const struct resp_arg *argv)
{
	long long db;

	if (!resp_arg_ll(&argv[1], &db)) {
		resp_reply_error(c,
		    "ERR value is not an integer or out of range");
		return;
	}
	if (db != 0) {
		resp_reply_error(c, "ERR DB index is out of range");
		return;
	}
	resp_reply_ok(c);
}

void
resp_cmd_quit(struct resp_client *c, size_t argc, const struct resp_arg *argv)
{
	resp_reply_ok(c);
	conn_close_after_reply(c->conn);
}

/*
 * RESET: the connection as it was when it opened: no subscriptions, no
 * name, RESP2, the user "default" (not authenticated if there is a
 * users file).
 */
void
resp_cmd_reset(struct resp_client *c, size_t argc, const struct resp_arg *argv)
{
	resp_pubsub_close(c);
	c->name[0] = '\0';
	c->proto = 2;
	c->authenticated = c->conn->server->users == NULL;
	strlcpy(c->user, "default", sizeof(c->user));
	resp_reply_simple(c, "RESET");
}

/* TIME: [unix seconds, microseconds], both as bulk strings. */
void
resp_cmd_time(struct resp_client *c, size_t argc, const struct resp_arg *argv)
{
	struct timeval tv;
	char buf[32];
	int n;

	gettimeofday(&tv, NULL);
	resp_reply_array(c, 2);
	n = snprintf(buf, sizeof(buf), "%lld", (long long)tv.tv_sec);
	resp_reply_bulk(c, buf, (size_t)n);
	n = snprintf(buf, sizeof(buf), "%ld", (long)tv.tv_usec);
	resp_reply_bulk(c, buf, (size_t)n);
}

/* ------------------------------------------------------------------
 * CLIENT.
 * ---------------------------------------------------------------- */

/*
 * Writes the CLIENT LIST line of 'rc' (Redis 7.0's fields, in its order;
 * figures mq has no notion of are 0) to 'f'.  'sub' is the CLIENT
 * subcommand the asking client runs, for its own "cmd=client|sub".
 */
static void
client_line(FILE *f, struct resp_client *rc, const char *sub)
{
	struct conn *conn = rc->conn;
	int64_t now = loop_now_ms(conn->server->loop);
	char laddr[INET6_ADDRSTRLEN + 8], flags[8];
	size_t nf = 0, qfree = conn->incap - conn->inlen;
	size_t obl = conn->outlen - conn->outpos;

	local_addr(conn, laddr, sizeof(laddr), NULL);
	if (rc->nchannels + rc->npatterns > 0)
		flags[nf++] = 'P';
	if (rc->block != NULL)
		flags[nf++] = 'b';
	if (nf == 0)
		flags[nf++] = 'N';
	flags[nf] = '\0';
	fprintf(f, "id=%llu addr=%s laddr=%s fd=%d name=%s age=%lld "
	    "idle=%lld flags=%s db=0 sub=%zu psub=%zu ssub=0 multi=-1 "
	    "qbuf=%zu qbuf-free=%zu argv-mem=0 multi-mem=0 rbs=%zu rbp=0 "
	    "obl=%zu oll=0 omem=%zu tot-mem=%zu events=r%s cmd=%s%s%s "
	    "user=%s redir=-1 resp=%d\n",
	    (unsigned long long)conn->id, conn->peer, laddr, conn->fd, rc->name,
	    (long long)((now - conn->created_ms) / 1000),
	    (long long)((now - conn->active_ms) / 1000), flags,
	    rc->nchannels, rc->npatterns, conn->inlen, qfree, conn->incap,
	    obl, conn->outcap,
	    sizeof(*conn) + sizeof(*rc) + conn->incap + conn->outcap,
	    obl > 0 ? "w" : "",
	    rc->last_cmd != NULL ? rc->last_cmd : "NULL",
	    sub != NULL ? "|" : "", sub != NULL ? sub : "", rc->user,
	    rc->proto);
}

/* CLIENT LIST [TYPE normal|master|replica|pubsub] [ID id [id ...]]. */
static void
client_list(struct resp_client *c, size_t argc, const struct resp_arg *argv)
{
	const struct resp_arg *type = NULL;
	struct resp_client *rc;
	struct conn *conn;
	long long id;
	size_t i, firstid = 0, len = 0;
	char *text = NULL;
	FILE *f;

	for (i = 2; i < argc; i++) {
		if (resp_arg_is(&argv[i], "type") && i + 1 < argc) {
			type = &argv[++i];
			if (!resp_arg_is(type, "normal") && !resp_arg_is(type,
			    "master") &&
			    !resp_arg_is(type, "replica") && !resp_arg_is(type,
			    "slave") && !resp_arg_is(type, "pubsub")) {
				resp_reply_error(c,
				    "ERR Unknown client type '%.*s'",
				    (int)(type->len > 64 ? 64 : type->len),
				    type->p);
				return;
			}
		} else if (resp_arg_is(&argv[i], "id") && i + 1 < argc) {
			firstid = ++i;
			for (; i < argc; i++)
				if (!resp_arg_ll(&argv[i], &id) || id < 1) {
					resp_reply_error(c,
					    "ERR Invalid client ID");
					return;
				}
		} else {
			resp_reply_syntax_error(c);
			return;
		}
	}
	if ((f = open_memstream(&text, &len)) == NULL) {
		resp_reply_mq_error(c, MQ_ESYS, "client");
		return;
	}
	TAILQ_FOREACH(conn, &c->conn->server->conns, all) {
		int subscribed, wanted = firstid == 0;

		if ((rc = resp_of(conn)) == NULL)
			continue;
		subscribed = rc->nchannels + rc->npatterns > 0;
		if (type != NULL && (resp_arg_is(type, "master") ||
		    resp_arg_is(type, "replica") || resp_arg_is(type,
		    "slave") || (resp_arg_is(type, "pubsub") && !subscribed) ||
		    (resp_arg_is(type, "normal") && subscribed)))
			continue;
		for (i = firstid; firstid > 0 && i < argc; i++)
			if (resp_arg_ll(&argv[i], &id) &&
			    (uint64_t)id == conn->id)
				wanted = 1;
		if (wanted)
			client_line(f, rc, rc == c ? "list" : NULL);
	}
	if (fclose(f) != 0) {
		free(text);
		resp_reply_mq_error(c, MQ_ESYS, "client");
		return;
	}
	reply_verbatim(c, text, len);
	free(text);
}

/* CLIENT SETINFO LIB-NAME|LIB-VER value (Redis 7.2; clients send it). */
static void
client_setinfo(struct resp_client *c, const struct resp_arg *attr,
    const struct resp_arg *val)
{
	char *dst;
	size_t size, i;

	if (resp_arg_is(attr, "lib-name")) {
		dst = c->lib_name;
		size = sizeof(c->lib_name);
	} else if (resp_arg_is(attr, "lib-ver")) {
		dst = c->lib_ver;
		size = sizeof(c->lib_ver);
	} else {
		resp_reply_error(c, "ERR Unrecognized option '%.*s'",
		    (int)(attr->len > 64 ? 64 : attr->len), attr->p);
		return;
	}
	for (i = 0; i < val->len; i++)
		if (val->p[i] < '!' || val->p[i] > '~') {
			resp_reply_error(c,
			    "ERR %s cannot contain spaces, newlines "
			    "or special characters.", dst == c->lib_name ?
			    "lib-name" : "lib-ver");
			return;
		}
	if (val->len >= size) {
		resp_reply_error(c, "ERR %s is too long for mq-serve",
		    dst == c->lib_name ? "lib-name" : "lib-ver");
		return;
	}
	memcpy(dst, val->p, val->len);
	dst[val->len] = '\0';
	resp_reply_ok(c);
}

static const char *const client_help[] = {
	"CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
	"GETNAME",
	"    Return the name of the current connection.",
	"ID",
	"    Return the ID of the current connection.",
	"INFO",
	"    Return information about the current client connection.",
	"LIST [options ...]",
	"    Return information about client connections. Options:",
	"    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
	"      Return clients of specified type.",
	"    * ID <client-id> [<client-id> ...]",
	"      Return clients of specified IDs only.",
	"NO-EVICT (ON|OFF)",
	"    Accepted; mq-serve never evicts clients.",
	"NO-TOUCH (ON|OFF)",
	"    Accepted; mq-serve keeps no access times of keys.",
	"SETINFO <option> <value>",
	"    Set client meta attr. Options are:",
	"    * LIB-NAME: the client lib name.",
	"    * LIB-VER: the client lib version.",
	"SETNAME <name>",
	"    Assign the name <name> to the current connection.",
	"HELP",
	"    Print this help.",
};

/* CLIENT subcommand [...]: what clients send about themselves. */
void
resp_cmd_client(struct resp_client *c, size_t argc, const struct resp_arg *argv)
{
	const struct resp_arg *sub = &argv[1];
	char *text = NULL;
	size_t len = 0;
	FILE *f;

	if (resp_arg_is(sub, "id")) {
		if (argc != 2)
			reply_sub_arity(c, "client", "id");
		else
			resp_reply_int(c, (long long)c->conn->id);
	} else if (resp_arg_is(sub, "getname")) {
		if (argc != 2)
			reply_sub_arity(c, "client", "getname");
		else if (c->name[0] == '\0')
			resp_reply_null(c);
		else
			resp_reply_bulk_str(c, c->name);
	} else if (resp_arg_is(sub, "setname")) {
		if (argc != 3)
			reply_sub_arity(c, "client", "setname");
		else if (name_check(c, &argv[2])) {
			name_set(c, &argv[2]);
			resp_reply_ok(c);
		}
	} else if (resp_arg_is(sub, "setinfo")) {
		if (argc != 4)
			reply_sub_arity(c, "client", "setinfo");
		else
			client_setinfo(c, &argv[2], &argv[3]);
	} else if (resp_arg_is(sub, "info")) {
		if (argc != 2) {
			reply_sub_arity(c, "client", "info");
			return;
		}
		if ((f = open_memstream(&text, &len)) == NULL) {
			resp_reply_mq_error(c, MQ_ESYS, "client");
			return;
		}
		client_line(f, c, "info");
		if (fclose(f) != 0)
			resp_reply_mq_error(c, MQ_ESYS, "client");
		else
			reply_verbatim(c, text, len);
		free(text);
	} else if (resp_arg_is(sub, "list")) {
		client_list(c, argc, argv);
	} else if (resp_arg_is(sub, "no-evict") || resp_arg_is(sub,
	    "no-touch")) {
		if (argc != 3)
			reply_sub_arity(c, "client", resp_arg_is(sub,
			    "no-evict") ? "no-evict" : "no-touch");
		else if (resp_arg_is(&argv[2], "on") || resp_arg_is(&argv[2],
		    "off"))
			resp_reply_ok(c);
		else
			resp_reply_syntax_error(c);
	} else if (resp_arg_is(sub, "help") && argc == 2) {
		reply_help(c, client_help,
		    sizeof(client_help) / sizeof(client_help[0]));
	} else
		reply_unknown_sub(c, sub, "CLIENT");
}

/* ------------------------------------------------------------------
 * COMMAND.
 * ---------------------------------------------------------------- */

/* What COMMAND DOCS says of a command; the synopsis feeds redis-cli's hints. */
struct cmd_doc {
	const char	*name;
	const char	*group;		/* Redis's command group */
	const char	*since;
	const char	*summary;
	const char	*synopsis;	/* arguments after the name, "" if none */
};

static const struct cmd_doc cmd_docs[] = {
	{ "auth", "connection", "1.0.0", "Authenticates the connection.",
	    "[username] password" },
	{ "client", "connection", "2.4.0", "Inspects or names the connection.",
	    "ID|GETNAME|SETNAME name|SETINFO LIB-NAME|LIB-VER value|INFO|"
	    "LIST [TYPE type] [ID id ...]|NO-EVICT ON|OFF|NO-TOUCH ON|OFF" },
	{ "command", "server", "2.8.13", "Describes the server's commands.",
	    "[COUNT|INFO [command ...]|DOCS [command ...]|LIST [FILTERBY "
	    "MODULE name|ACLCAT category|PATTERN pattern]|GETKEYS command "
	    "[arg ...]]" },
	{ "config", "server", "2.0.0", "Reads or sets server parameters.",
	    "GET parameter [parameter ...]|SET parameter value [parameter "
	    "value ...]|RESETSTAT" },
	{ "dbsize", "server", "1.0.0", "Returns the number of keys (streams).",
	    "" },
	{ "del", "generic", "1.0.0", "Removes streams from the spool.",
	    "key [key ...]" },
	{ "echo", "connection", "1.0.0", "Returns the given string.",
	    "message" },
	{ "exists", "generic", "3.0.3", "Counts the given keys that exist.",
	    "key [key ...]" },
	{ "expire", "generic", "1.0.0",
	    "Sets a key's time to live in seconds.",
	    "key seconds [NX|XX|GT|LT]" },
	{ "flushall", "server", "1.0.0", "Removes every stream.",
	    "[ASYNC|SYNC]" },
	{ "flushdb", "server", "1.0.0", "Removes every stream.",
	    "[ASYNC|SYNC]" },
	{ "hello", "connection", "6.0.0",
	    "Chooses the protocol version and describes the server.",
	    "[protover [AUTH username password] [SETNAME clientname]]" },
	{ "info", "server", "1.0.0", "Returns information about the server.",
	    "[section [section ...]]" },
	{ "keys", "generic", "1.0.0", "Returns the keys matching a pattern.",
	    "pattern" },
	{ "pexpire", "generic", "2.6.0",
	    "Sets a key's time to live in milliseconds.",
	    "key milliseconds [NX|XX|GT|LT]" },
	{ "ping", "connection", "1.0.0", "Returns PONG or the message.",
	    "[message]" },
	{ "psubscribe", "pubsub", "2.0.0",
	    "Listens to channels matching glob patterns.",
	    "pattern [pattern ...]" },
	{ "pttl", "generic", "2.6.0",
	    "Returns a key's time to live in milliseconds.", "key" },
	{ "publish", "pubsub", "2.0.0", "Publishes a message on a channel.",
	    "channel message" },
	{ "pubsub", "pubsub", "2.8.0", "Inspects the Pub/Sub state.",
	    "CHANNELS [pattern]|NUMSUB [channel ...]|NUMPAT|SHARDCHANNELS "
	    "[pattern]|SHARDNUMSUB [shardchannel ...]" },
	{ "punsubscribe", "pubsub", "2.0.0",
	    "Stops listening to glob patterns.", "[pattern [pattern ...]]" },
	{ "quit", "connection", "1.0.0", "Closes the connection.", "" },
	{ "rename", "generic", "1.0.0", "Renames a stream, replacing the target.",
	    "key newkey" },
	{ "renamenx", "generic", "1.0.0",
	    "Renames a stream unless the new name exists.", "key newkey" },
	{ "reset", "connection", "6.2.0", "Resets the connection.", "" },
	{ "scan", "generic", "2.8.0", "Iterates over the keys.",
	    "cursor [MATCH pattern] [COUNT count] [TYPE type]" },
	{ "select", "connection", "1.0.0", "Selects the database (only 0).",
	    "index" },
	{ "spublish", "pubsub", "7.0.0", "Publishes a message on a channel.",
	    "shardchannel message" },
	{ "ssubscribe", "pubsub", "7.0.0", "Listens to channels.",
	    "shardchannel [shardchannel ...]" },
	{ "subscribe", "pubsub", "2.0.0", "Listens to channels.",
	    "channel [channel ...]" },
	{ "sunsubscribe", "pubsub", "7.0.0", "Stops listening to channels.",
	    "[shardchannel [shardchannel ...]]" },
	{ "time", "server", "2.6.0", "Returns the server's time.", "" },
	{ "ttl", "generic", "1.0.0",
	    "Returns a key's time to live in seconds.", "key" },
	{ "type", "generic", "1.0.0", "Returns the type of a key.", "key" },
	{ "unlink", "generic", "4.0.0", "Removes streams from the spool.",
	    "key [key ...]" },
	{ "unsubscribe", "pubsub", "2.0.0", "Stops listening to channels.",
	    "[channel [channel ...]]" },
	{ "xack", "stream", "5.0.0", "Acknowledges pending entries.",
	    "key group id [id ...]" },
	{ "xadd", "stream", "5.0.0", "Appends an entry to a stream.",
	    "key [NOMKSTREAM] [MAXLEN|MINID [=|~] threshold [LIMIT count]] "
	    "*|id field value [field value ...]" },
	{ "xautoclaim", "stream", "6.2.0",
	    "Claims idle pending entries, scanning from a start id.",
	    "key group consumer min-idle-time start [COUNT count] [JUSTID]" },
	{ "xclaim", "stream", "5.0.0", "Claims pending entries.",
	    "key group consumer min-idle-time id [id ...] [IDLE ms] "
	    "[TIME unix-time-milliseconds] [RETRYCOUNT count] [FORCE] "
	    "[JUSTID] [LASTID lastid]" },
	{ "xdel", "stream", "5.0.0", "Deletes entries by id.",
	    "key id [id ...]" },
	{ "xgroup", "stream", "5.0.0", "Manages consumer groups.",
	    "CREATE key group id|$ [MKSTREAM] [ENTRIESREAD entries-read]|"
	    "SETID key group id|$ [ENTRIESREAD entries-read]|DESTROY key "
	    "group|CREATECONSUMER key group consumer|DELCONSUMER key group "
	    "consumer" },
	{ "xinfo", "stream", "5.0.0",
	    "Describes a stream, its groups or consumers.",
	    "STREAM key [FULL [COUNT count]]|GROUPS key|CONSUMERS key group" },
	{ "xlen", "stream", "5.0.0", "Returns the number of entries.", "key" },
	{ "xpending", "stream", "5.0.0", "Inspects a group's pending entries.",
	    "key group [[IDLE min-idle-time] start end count [consumer]]" },
	{ "xrange", "stream", "5.0.0", "Returns entries in an id range.",
	    "key start end [COUNT count]" },
	{ "xread", "stream", "5.0.0",
	    "Reads entries after ids, waiting if asked.",
	    "[COUNT count] [BLOCK milliseconds] STREAMS key [key ...] "
	    "id [id ...]" },
	{ "xreadgroup", "stream", "5.0.0", "Reads entries as a group consumer.",
	    "GROUP group consumer [COUNT count] [BLOCK milliseconds] [NOACK] "
	    "STREAMS key [key ...] id [id ...]" },
	{ "xrevrange", "stream", "5.0.0",
	    "Returns entries in an id range, newest first.",
	    "key end start [COUNT count]" },
	{ "xsetid", "stream", "5.0.0", "Sets a stream's last id.",
	    "key last-id [ENTRIESADDED entries-added] "
	    "[MAXDELETEDID max-deleted-id]" },
	{ "xtrim", "stream", "5.0.0", "Trims a stream.",
	    "key MAXLEN|MINID [=|~] threshold [LIMIT count]" },
	{ "zadd", "sorted-set", "1.2.0",
	    "Adds members to a sorted set, or updates their scores.",
	    "key [NX|XX] [GT|LT] [CH] [INCR] score member "
	    "[score member ...]" },
	{ "zcard", "sorted-set", "1.2.0",
	    "Returns the number of members of a sorted set.", "key" },
	{ "zcount", "sorted-set", "2.0.0",
	    "Counts the members with scores in a range.", "key min max" },
	{ "zincrby", "sorted-set", "1.2.0",
	    "Increments the score of a member.", "key increment member" },
	{ "zlexcount", "sorted-set", "2.8.9",
	    "Counts the members in a range of member bytes.", "key min max" },
	{ "zmscore", "sorted-set", "6.2.0",
	    "Returns the scores of members.", "key member [member ...]" },
	{ "zpopmax", "sorted-set", "5.0.0",
	    "Removes and returns the members with the highest scores.",
	    "key [count]" },
	{ "zpopmin", "sorted-set", "5.0.0",
	    "Removes and returns the members with the lowest scores.",
	    "key [count]" },
	{ "zrange", "sorted-set", "1.2.0",
	    "Returns members in a range of ranks, scores or member bytes.",
	    "key start stop [BYSCORE|BYLEX] [REV] [LIMIT offset count] "
	    "[WITHSCORES]" },
	{ "zrangebylex", "sorted-set", "2.8.9",
	    "Returns members in a range of member bytes.",
	    "key min max [LIMIT offset count]" },
	{ "zrangebyscore", "sorted-set", "1.0.5",
	    "Returns members in a range of scores.",
	    "key min max [WITHSCORES] [LIMIT offset count]" },
	{ "zrank", "sorted-set", "2.0.0",
	    "Returns the rank of a member, lowest score first.", "key member" },
	{ "zrem", "sorted-set", "1.2.0", "Removes members of a sorted set.",
	    "key member [member ...]" },
	{ "zremrangebylex", "sorted-set", "2.8.9",
	    "Removes the members in a range of member bytes.", "key min max" },
	{ "zremrangebyrank", "sorted-set", "2.0.0",
	    "Removes the members in a range of ranks.", "key start stop" },
	{ "zremrangebyscore", "sorted-set", "1.2.0",
	    "Removes the members in a range of scores.", "key min max" },
	{ "zrevrange", "sorted-set", "1.2.0",
	    "Returns members in a range of ranks, highest score first.",
	    "key start stop [WITHSCORES]" },
	{ "zrevrangebylex", "sorted-set", "2.8.9",
	    "Returns members in a range of member bytes, highest first.",
	    "key max min [LIMIT offset count]" },
	{ "zrevrangebyscore", "sorted-set", "2.2.0",
	    "Returns members in a range of scores, highest first.",
	    "key max min [WITHSCORES] [LIMIT offset count]" },
	{ "zrevrank", "sorted-set", "2.0.0",
	    "Returns the rank of a member, highest score first.",
	    "key member" },
	{ "zscore", "sorted-set", "1.2.0", "Returns the score of a member.",
	    "key member" },
};

/* Its docs, or a generic entry for a command added to the table later. */
static const struct cmd_doc *
doc_of(const struct resp_command *cmd)
{
	static struct cmd_doc generic = { NULL, "generic", "0.1.0",
	    "An mq-serve command.", "" };
	size_t i;

	for (i = 0; i < sizeof(cmd_docs) / sizeof(cmd_docs[0]); i++)
		if (strcmp(cmd_docs[i].name, cmd->name) == 0)
			return &cmd_docs[i];
	generic.name = cmd->name;
	return &generic;
}

/* Redis's ACL category of a command group. */
static const char *
category_of(const char *group)
{
	if (strcmp(group, "generic") == 0)
		return "@keyspace";
	if (strcmp(group, "server") == 0)
		return "@admin";
	if (strcmp(group, "stream") == 0)
		return "@stream";
	if (strcmp(group, "pubsub") == 0)
		return "@pubsub";
	if (strcmp(group, "sorted-set") == 0)
		return "@sortedset";
	return "@connection";
}

/* The flags and ACL categories of 'cmd' (at most 6 of each). */
static size_t
cmd_flags(const struct resp_command *cmd, const char **out)
{
	size_t n = 0;

	if (cmd->flags & CMD_WRITE)
		out[n++] = "write";
	if (cmd->flags & CMD_READONLY)
		out[n++] = "readonly";
	if (cmd->flags & CMD_BLOCKING)
		out[n++] = "blocking";
	if (cmd->flags & CMD_PUBSUB)
		out[n++] = "pubsub";
	if (cmd->flags & CMD_NOAUTH)
		out[n++] = "no_auth";
	return n;
}

static size_t
cmd_categories(const struct resp_command *cmd, const char **out)
{
	size_t n = 0;

	if (cmd->flags & CMD_WRITE)
		out[n++] = "@write";
	if (cmd->flags & CMD_READONLY)
		out[n++] = "@read";
	out[n++] = category_of(doc_of(cmd)->group);
	if (cmd->flags & CMD_BLOCKING)
		out[n++] = "@blocking";
	return n;
}

/*
 * One command as COMMAND INFO shows it: [name, arity, flags, first key,
 * last key, step, ACL categories, tips, key specs, subcommands].
 */
static void
command_info(struct resp_client *c, const struct resp_command *cmd)
{
	const char *v[8];
	size_t n, i;

	resp_reply_array(c, 10);
	resp_reply_bulk_str(c, cmd->name);
	resp_reply_int(c, cmd->arity);
	n = cmd_flags(cmd, v);
	resp_reply_set(c, n);
	for (i = 0; i < n; i++)
		resp_reply_simple(c, v[i]);
	resp_reply_int(c, cmd->firstkey);
	resp_reply_int(c, cmd->lastkey);
	resp_reply_int(c, cmd->step);
	n = cmd_categories(cmd, v);
	resp_reply_set(c, n);
	for (i = 0; i < n; i++)
		resp_reply_simple(c, v[i]);
	resp_reply_set(c, 0);
	resp_reply_array(c, 0);
	resp_reply_array(c, 0);
}

/* One command's COMMAND DOCS map. */
static void
command_doc(struct resp_client *c, const struct resp_command *cmd)
{
	const struct cmd_doc *d = doc_of(cmd);
	int args = d->synopsis[0] != '\0';

	resp_reply_bulk_str(c, cmd->name);
	resp_reply_map(c, 3 + (size_t)args);
	resp_reply_bulk_str(c, "summary");
	resp_reply_bulk_str(c, d->summary);
	resp_reply_bulk_str(c, "since");
	resp_reply_bulk_str(c, d->since);
	resp_reply_bulk_str(c, "group");
	resp_reply_bulk_str(c, d->group);
	if (args) {
		/* One argument whose name is the synopsis: redis-cli's hint. */
		resp_reply_bulk_str(c, "arguments");
		resp_reply_array(c, 1);
		resp_reply_map(c, 2);
		resp_reply_bulk_str(c, "name");
		resp_reply_bulk_str(c, d->synopsis);
		resp_reply_bulk_str(c, "type");
		resp_reply_bulk_str(c, "string");
	}
}

/* COMMAND LIST [FILTERBY MODULE name|ACLCAT category|PATTERN pattern]. */
static void
command_list(struct resp_client *c, size_t argc, const struct resp_arg *argv)
{
	const struct resp_arg *by = NULL, *what = NULL;
	const char *cats[8];
	size_t i, k, n, match = 0;
	int *keep;

	if (argc != 2 && (argc != 5 || !resp_arg_is(&argv[2], "filterby"))) {
		resp_reply_syntax_error(c);
		return;
	}
	if (argc == 5) {
		by = &argv[3];
		what = &argv[4];
		if (!resp_arg_is(by, "module") && !resp_arg_is(by, "aclcat") &&
		    !resp_arg_is(by, "pattern")) {
			resp_reply_syntax_error(c);
			return;
		}
	}
	if ((keep = calloc(resp_ncommands, sizeof(*keep))) == NULL) {
		resp_reply_mq_error(c, MQ_ESYS, "command");
		return;
	}
	for (i = 0; i < resp_ncommands; i++) {
		const struct resp_command *cmd = &resp_commands[i];

		if (by == NULL)
			keep[i] = 1;
		else if (resp_arg_is(by, "pattern")) {
			char pat[256];
			size_t j;

			/* Case-insensitive, as Redis: names are lower case. */
			for (j = 0; j < what->len && j < sizeof(pat); j++)
				pat[j] = (char)tolower((unsigned char)what->p[j]);
			keep[i] = mq_glob_match(pat, j, cmd->name,
			    strlen(cmd->name));
		} else if (resp_arg_is(by, "aclcat")) {
			n = cmd_categories(cmd, cats);
			for (k = 0; k < n; k++)
				if (strlen(cats[k] + 1) == what->len &&
				    strncasecmp(cats[k] + 1, what->p,
				    what->len) == 0)
					keep[i] = 1;
		}
		match += (size_t)keep[i];
	}
	resp_reply_array(c, match);
	for (i = 0; i < resp_ncommands; i++)
		if (keep[i])
			resp_reply_bulk_str(c, resp_commands[i].name);
	free(keep);
}

/* COMMAND GETKEYS command [arg ...]: the keys, from the table's key spec. */
static void
command_getkeys(struct resp_client *c, size_t argc,
    const struct resp_arg *argv)
{
	const struct resp_command *cmd;
	size_t n = argc - 2, first, last, i, count = 0;

	if ((cmd = resp_lookup(argv[2].p, argv[2].len)) == NULL) {
		resp_reply_error(c, "ERR Invalid command specified");
		return;
	}
	if ((cmd->arity > 0 && n != (size_t)cmd->arity) ||
	    (cmd->arity < 0 && n < (size_t)-cmd->arity)) {
		resp_reply_error(c,
		    "ERR Invalid number of arguments specified for " "command");
		return;
	}
	if (cmd->firstkey <= 0 || cmd->step <= 0) {
		resp_reply_error(c, "ERR The command has no key arguments");
		return;
	}
	first = (size_t)cmd->firstkey;
	last = cmd->lastkey < 0 ? n - (size_t)-cmd->lastkey :
	    (size_t)cmd->lastkey;
	for (i = first; i <= last && i < n; i += (size_t)cmd->step)
		count++;
	resp_reply_array(c, count);
	for (i = first; i <= last && i < n; i += (size_t)cmd->step)
		resp_reply_bulk(c, argv[2 + i].p, argv[2 + i].len);
}

static const char *const command_help[] = {
	"COMMAND <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
	"(no subcommand)",
	"    Return details about all commands.",
	"COUNT",
	"    Return the total number of commands in this server.",
	"LIST",
	"    Return a list of all commands in this server.",
	"INFO [<command-name> ...]",
	"    Return details about multiple commands.",
	"    If no command names are given, documentation details for all",
	"    commands are returned.",
	"DOCS [<command-name> ...]",
	"    Return documentation details about multiple commands.",
	"    If no command names are given, documentation details for all",
	"    commands are returned.",
	"GETKEYS <full-command>",
	"    Return the keys from a full command.",
	"HELP",
	"    Print this help.",
};

void
resp_cmd_command(struct resp_client *c, size_t argc,
    const struct resp_arg *argv)
{
	const struct resp_command *cmd;
	size_t i, n;

	if (argc == 1) {
		resp_reply_array(c, resp_ncommands);
		for (i = 0; i < resp_ncommands; i++)
			command_info(c, &resp_commands[i]);
	} else if (resp_arg_is(&argv[1], "count")) {
		if (argc != 2)
			reply_sub_arity(c, "command", "count");
		else
			resp_reply_int(c, (long long)resp_ncommands);
	} else if (resp_arg_is(&argv[1], "info")) {
		if (argc == 2) {
			resp_reply_array(c, resp_ncommands);
			for (i = 0; i < resp_ncommands; i++)
				command_info(c, &resp_commands[i]);
			return;
		}
		resp_reply_array(c, argc - 2);
		for (i = 2; i < argc; i++)
			if ((cmd = resp_lookup(argv[i].p, argv[i].len)) != NULL)
				command_info(c, cmd);
			else
				resp_reply_null_array(c);
	} else if (resp_arg_is(&argv[1], "docs")) {
		if (argc == 2) {
			resp_reply_map(c, resp_ncommands);
			for (i = 0; i < resp_ncommands; i++)
				command_doc(c, &resp_commands[i]);
			return;
		}
		for (i = 2, n = 0; i < argc; i++)
			n += resp_lookup(argv[i].p, argv[i].len) != NULL;
		resp_reply_map(c, n);
		for (i = 2; i < argc; i++)
			if ((cmd = resp_lookup(argv[i].p, argv[i].len)) != NULL)
				command_doc(c, cmd);
	} else if (resp_arg_is(&argv[1], "list")) {
		command_list(c, argc, argv);
	} else if (resp_arg_is(&argv[1], "getkeys") ||
	    resp_arg_is(&argv[1], "getkeysandflags")) {
		if (argc < 4)
			reply_sub_arity(c, "command", resp_arg_is(&argv[1],
			    "getkeys") ? "getkeys" : "getkeysandflags");
		else if (resp_arg_is(&argv[1], "getkeysandflags"))
			resp_reply_error(c,
			    "ERR COMMAND GETKEYSANDFLAGS is not "
			    "supported by mq-serve");
		else
			command_getkeys(c, argc, argv);
	} else if (resp_arg_is(&argv[1], "help") && argc == 2) {
		reply_help(c, command_help,
		    sizeof(command_help) / sizeof(command_help[0]));
	} else
		reply_unknown_sub(c, &argv[1], "COMMAND");
}

/* ------------------------------------------------------------------
 * INFO.
 * ---------------------------------------------------------------- */

/* An id of this run, as Redis's run_id: 40 hex digits, made once. */
static const char *
run_id(void)
{
	static char id[41];
	unsigned char raw[20];
	size_t i;

	if (id[0] == '\0') {
		arc4random_buf(raw, sizeof(raw));
		for (i = 0; i < sizeof(raw); i++)
			snprintf(id + 2 * i, 3, "%02x", raw[i]);
	}
	return id;
}

/* Bytes malloc holds for the program, and the resident set size. */
static void
memory_use(size_t *used, size_t *rss)
{
	struct mallinfo2 mi = mallinfo2();
	unsigned long size = 0, resident = 0;
	FILE *f;

	*used = mi.uordblks + mi.hblkhd;
	*rss = 0;
	if ((f = fopen("/proc/self/statm", "r")) != NULL) {
		if (fscanf(f, "%lu %lu", &size, &resident) == 2)
			*rss = resident * (size_t)sysconf(_SC_PAGESIZE);
		fclose(f);
	}
	/* Another allocator (a sanitizer's) leaves mallinfo2() empty. */
	if (*used == 0)
		*used = *rss;
}

static const char *
fsync_name(enum mq_fsync policy, int redis)
{
	switch (policy) {
	case MQ_FSYNC_ALWAYS:
		return "always";
	case MQ_FSYNC_INTERVAL:
		return redis ? "everysec" : "interval";
	case MQ_FSYNC_NEVER:
		break;
	}
	return redis ? "no" : "never";
}

static void
info_server(FILE *f, struct resp_client *c)
{
	struct server *s = c->conn->server;
	int64_t up = (loop_now_ms(s->loop) - s->started_ms) / 1000;
	char exe[1024], laddr[INET6_ADDRSTRLEN + 8];
	struct utsname u;
	struct timeval tv;
	ssize_t n;
	int port = 0;

	if (uname(&u) == -1)
		memset(&u, 0, sizeof(u));
	if ((n = readlink("/proc/self/exe", exe, sizeof(exe) - 1)) < 0)
		n = 0;
	exe[n] = '\0';
	local_addr(c->conn, laddr, sizeof(laddr), &port);
	gettimeofday(&tv, NULL);
	fprintf(f, "# Server\r\n"
	    "redis_version:" REDIS_VERSION "\r\n"
	    "redis_git_sha1:00000000\r\n"
	    "redis_git_dirty:0\r\n"
	    "redis_build_id:0\r\n"
	    "redis_mode:standalone\r\n"
	    "os:%s %s %s\r\n"
	    "arch_bits:%zu\r\n"
	    "monotonic_clock:POSIX clock_gettime\r\n"
	    "multiplexing_api:epoll\r\n"
	    "atomicvar_api:c11-builtin\r\n"
	    "gcc_version:%d.%d.%d\r\n"
	    "process_id:%ld\r\n"
	    "process_supervised:no\r\n"
	    "run_id:%s\r\n"
	    "tcp_port:%d\r\n"
	    "server_time_usec:%lld\r\n"
	    "uptime_in_seconds:%lld\r\n"
	    "uptime_in_days:%lld\r\n"
	    "hz:10\r\n"
	    "configured_hz:10\r\n"
	    "lru_clock:0\r\n"
	    "executable:%s\r\n"
	    "config_file:\r\n"
	    "io_threads_active:0\r\n"
	    "mq_version:" MQ_VERSION "\r\n"
	    "mq_spool:%s\r\n",
	    u.sysname, u.release, u.machine, sizeof(void *) * 8,
#ifdef __GNUC__
	    __GNUC__, __GNUC_MINOR__, __GNUC_PATCHLEVEL__,
#else
	    0, 0, 0,
#endif
	    (long)getpid(), run_id(), port,
	    (long long)tv.tv_sec * 1000000 + tv.tv_usec,
	    (long long)up, (long long)up / 86400, exe,
	    mq_spool_path(s->spool));
}

static void
info_clients(FILE *f, struct server *s)
{
	struct resp_client *rc;
	struct conn *conn;
	size_t blocked = 0, timed = 0;

	TAILQ_FOREACH(conn, &s->conns, all)
		if ((rc = resp_of(conn)) != NULL && rc->block != NULL) {
			blocked++;
			timed += rc->block->deadline_ms != 0;
		}
	fprintf(f, "# Clients\r\n"
	    "connected_clients:%zu\r\n"
	    "cluster_connections:0\r\n"
	    "maxclients:%zu\r\n"
	    "client_recent_max_input_buffer:0\r\n"
	    "client_recent_max_output_buffer:0\r\n"
	    "blocked_clients:%zu\r\n"
	    "tracking_clients:0\r\n"
	    "clients_in_timeout_table:%zu\r\n",
	    s->nconns, s->cfg.max_clients, blocked, timed);
}

static void
info_memory(FILE *f, struct server *s)
{
	static size_t peak;
	size_t used, rss;
	unsigned long long total = (unsigned long long)sysconf(_SC_PHYS_PAGES) *
	    (unsigned long long)sysconf(_SC_PAGESIZE);
	char h1[32], h2[32], h3[32], h4[32];

	memory_use(&used, &rss);
	if (used > peak)
		peak = used;
	human(h1, sizeof(h1), used);
	human(h2, sizeof(h2), rss);
	human(h3, sizeof(h3), peak);
	human(h4, sizeof(h4), total);
	fprintf(f, "# Memory\r\n"
	    "used_memory:%zu\r\n"
	    "used_memory_human:%s\r\n"
	    "used_memory_rss:%zu\r\n"
	    "used_memory_rss_human:%s\r\n"
	    "used_memory_peak:%zu\r\n"
	    "used_memory_peak_human:%s\r\n"
	    "total_system_memory:%llu\r\n"
	    "total_system_memory_human:%s\r\n"
	    "maxmemory:0\r\n"
	    "maxmemory_human:0B\r\n"
	    "maxmemory_policy:noeviction\r\n"
	    "mem_fragmentation_ratio:%.2f\r\n"
	    "mem_allocator:libc\r\n",
	    used, h1, rss, h2, peak, h3, total, h4,
	    used > 0 ? (double)rss / (double)used : 0.0);
}

static void
info_persistence(FILE *f, struct server *s)
{
	int64_t started = (int64_t)time(NULL) -
	    (loop_now_ms(s->loop) - s->started_ms) / 1000;

	/* Every write goes to the spool's log: an append-only file, always on. */
	fprintf(f, "# Persistence\r\n"
	    "loading:0\r\n"
	    "async_loading:0\r\n"
	    "rdb_changes_since_last_save:0\r\n"
	    "rdb_bgsave_in_progress:0\r\n"
	    "rdb_last_save_time:%lld\r\n"
	    "rdb_last_bgsave_status:ok\r\n"
	    "rdb_last_bgsave_time_sec:-1\r\n"
	    "rdb_current_bgsave_time_sec:-1\r\n"
	    "aof_enabled:1\r\n"
	    "aof_rewrite_in_progress:0\r\n"
	    "aof_rewrite_scheduled:0\r\n"
	    "aof_last_rewrite_time_sec:-1\r\n"
	    "aof_current_rewrite_time_sec:-1\r\n"
	    "aof_last_bgrewrite_status:ok\r\n"
	    "aof_last_write_status:ok\r\n"
	    "mq_fsync:%s\r\n",
	    (long long)started, fsync_name(s->cfg.fsync, 0));
}

/* The password checks of the users file (the core's auth.c). */
static void
info_auth(FILE *f, struct server *s)
{
	struct auth_stats st;

	auth_stats(s, &st);
	fprintf(f, "mq_auth_checks:%llu\r\n"
	    "mq_auth_cache_hits:%llu\r\n"
	    "mq_auth_cached:%zu\r\n"
	    "mq_auth_failures:%llu\r\n"
	    "mq_auth_delayed:%llu\r\n"
	    "mq_auth_waiting:%zu\r\n"
	    "mq_auth_queued:%zu\r\n"
	    "mq_auth_running:%d\r\n",
	    (unsigned long long)st.checks,
	    (unsigned long long)st.cache_hits, st.cached,
	    (unsigned long long)st.failures,
	    (unsigned long long)st.delayed, st.waiting, st.queued,
	    st.running);
}

static void
info_stats(FILE *f, struct server *s)
{
	fprintf(f, "# Stats\r\n"
	    "total_connections_received:%llu\r\n"
	    "total_commands_processed:%llu\r\n"
	    "instantaneous_ops_per_sec:0\r\n"
	    "rejected_connections:%llu\r\n"
	    "expired_keys:0\r\n"
	    "evicted_keys:0\r\n"
	    "evicted_clients:0\r\n"
	    "pubsub_channels:%zu\r\n"
	    "pubsub_patterns:%zu\r\n"
	    "pubsubshard_channels:0\r\n",
	    (unsigned long long)s->total_conns,
	    (unsigned long long)s->total_commands,
	    (unsigned long long)s->rejected_conns,
	    resp_pubsub_distinct(s, 0), resp_pubsub_distinct(s, 1));
	/*
	 * mq's own: what the cache of open keys holds (core/cache.c), and how
	 * many times blocked reads were run again (core/waiters.c).
	 */
	fprintf(f, "mq_open_streams:%zu\r\n"
	    "mq_open_streams_max:%zu\r\n"
	    "mq_open_groups:%zu\r\n"
	    "mq_open_zsets:%zu\r\n"
	    "mq_open_files_cached:%zu\r\n"
	    "mq_open_files_cached_max:%zu\r\n"
	    "mq_open_files_limit:%zu\r\n"
	    "mq_cache_evictions:%llu\r\n"
	    "mq_wal_bytes:%llu\r\n"
	    "mq_blocked_retries:%llu\r\n",
	    s->nstreams, s->cache_fds_max / STREAM_FDS, s->ngroups, s->nzsets,
	    s->cache_fds, s->cache_fds_max, s->fd_limit,
	    (unsigned long long)s->evictions,
	    (unsigned long long)mq_wal_size(s->spool),
	    (unsigned long long)s->waiter_retries);
	info_auth(f, s);
}

static void
info_replication(FILE *f)
{
	fprintf(f, "# Replication\r\n"
	    "role:master\r\n"
	    "connected_slaves:0\r\n"
	    "master_failover_state:no-failover\r\n"
	    "master_replid:%s\r\n"
	    "master_replid2:0000000000000000000000000000000000000000\r\n"
	    "master_repl_offset:0\r\n"
	    "second_repl_offset:-1\r\n"
	    "repl_backlog_active:0\r\n"
	    "repl_backlog_size:0\r\n"
	    "repl_backlog_first_byte_offset:0\r\n"
	    "repl_backlog_histlen:0\r\n", run_id());
}

static void
info_cpu(FILE *f)
{
	struct rusage self, kids;

	getrusage(RUSAGE_SELF, &self);
	getrusage(RUSAGE_CHILDREN, &kids);
	fprintf(f, "# CPU\r\n"
	    "used_cpu_sys:%ld.%06ld\r\n"
	    "used_cpu_user:%ld.%06ld\r\n"
	    "used_cpu_sys_children:%ld.%06ld\r\n"
	    "used_cpu_user_children:%ld.%06ld\r\n",
	    (long)self.ru_stime.tv_sec, (long)self.ru_stime.tv_usec,
	    (long)self.ru_utime.tv_sec, (long)self.ru_utime.tv_usec,
	    (long)kids.ru_stime.tv_sec, (long)kids.ru_stime.tv_usec,
	    (long)kids.ru_utime.tv_sec, (long)kids.ru_utime.tv_usec);
}

static void
info_keyspace(FILE *f, struct server *s)
{
	size_t keys, expires;

	fputs("# Keyspace\r\n", f);
	if ((keys = resp_keys_count(s, &expires)) > 0)
		fprintf(f, "db0:keys=%zu,expires=%zu,avg_ttl=0\r\n", keys,
		    expires);
}

/* The sections of INFO, in Redis's order; 'dflt' ones make up "default". */
static const struct {
	const char	*name;
	int		 dflt;
} sections[] = {
	{ "server", 1 }, { "clients", 1 }, { "memory", 1 },
	{ "persistence", 1 }, { "stats", 1 }, { "replication", 1 },
	{ "cpu", 1 }, { "modules", 1 }, { "errorstats", 1 },
	{ "cluster", 1 }, { "keyspace", 1 },
};
#define NSECTIONS (sizeof(sections) / sizeof(sections[0]))

static void
info_section(FILE *f, struct resp_client *c, const char *name)
{
	struct server *s = c->conn->server;

	if (strcmp(name, "server") == 0)
		info_server(f, c);
	else if (strcmp(name, "clients") == 0)
		info_clients(f, s);
	else if (strcmp(name, "memory") == 0)
		info_memory(f, s);
	else if (strcmp(name, "persistence") == 0)
		info_persistence(f, s);
	else if (strcmp(name, "stats") == 0)
		info_stats(f, s);
	else if (strcmp(name, "replication") == 0)
		info_replication(f);
	else if (strcmp(name, "cpu") == 0)
		info_cpu(f);
	else if (strcmp(name, "modules") == 0)
		fputs("# Modules\r\n", f);
	else if (strcmp(name, "errorstats") == 0)
		fputs("# Errorstats\r\n", f);
	else if (strcmp(name, "cluster") == 0)
		fputs("# Cluster\r\ncluster_enabled:0\r\n", f);
	else if (strcmp(name, "keyspace") == 0)
		info_keyspace(f, s);
}

/*
 * INFO [section ...]: "default", "all", "everything" or section names
 * (case-insensitive); unknown names add nothing.  Sections are separated
 * by an empty line, as in Redis.
 */
void
resp_cmd_info(struct resp_client *c, size_t argc, const struct resp_arg *argv)
{
	int want[NSECTIONS] = { 0 };
	char *text = NULL;
	size_t len = 0, i, k, out = 0;
	FILE *f;

	for (i = 1; i < argc; i++)
		for (k = 0; k < NSECTIONS; k++)
			if (resp_arg_is(&argv[i], sections[k].name) ||
			    (sections[k].dflt && (resp_arg_is(&argv[i],
			    "default") || resp_arg_is(&argv[i], "all") ||
			    resp_arg_is(&argv[i], "everything"))))
				want[k] = 1;
	if (argc == 1)
		for (k = 0; k < NSECTIONS; k++)
			want[k] = sections[k].dflt;
	if ((f = open_memstream(&text, &len)) == NULL) {
		resp_reply_mq_error(c, MQ_ESYS, "info");
		return;
	}
	for (k = 0; k < NSECTIONS; k++) {
		if (!want[k])
			continue;
		if (out++ > 0)
			fputs("\r\n", f);
		info_section(f, c, sections[k].name);
	}
	if (fclose(f) != 0) {
		free(text);
		resp_reply_mq_error(c, MQ_ESYS, "info");
		return;
	}
	reply_verbatim(c, text, len);
	free(text);
}

/* ------------------------------------------------------------------
 * CONFIG.
 * ---------------------------------------------------------------- */

/* How CONFIG SET treats a parameter. */
enum cfg_set {
	CFG_IMMUTABLE,		/* "can't set immutable config" */
	CFG_FIXED,		/* mq works one way: only its value is taken */
	CFG_IGNORED		/* changes nothing in mq: taken and remembered */
};

struct cfg_param {
	const char	*name;
	const char	*value;		/* NULL: computed by cfg_value() */
	enum cfg_set	 set;
};

static const struct cfg_param cfg_params[] = {
	{ "activedefrag", "no", CFG_IGNORED },
	{ "appendfsync", NULL, CFG_FIXED },
	{ "appendonly", "yes", CFG_FIXED },
	{ "bind", NULL, CFG_IMMUTABLE },
	{ "busy-reply-threshold", "5000", CFG_IGNORED },
	{ "client-output-buffer-limit", NULL, CFG_FIXED },
	{ "client-query-buffer-limit", NULL, CFG_FIXED },
	{ "cluster-enabled", "no", CFG_IMMUTABLE },
	{ "daemonize", "no", CFG_IMMUTABLE },
	{ "databases", "1", CFG_IMMUTABLE },
	{ "dbfilename", "", CFG_FIXED },
	{ "dir", NULL, CFG_IMMUTABLE },
	{ "hz", "10", CFG_IGNORED },
	{ "io-threads", "1", CFG_IMMUTABLE },
	{ "latency-tracking", "no", CFG_IGNORED },
	{ "lazyfree-lazy-user-del", "no", CFG_IGNORED },
	{ "lazyfree-lazy-user-flush", "no", CFG_IGNORED },
	{ "loglevel", "notice", CFG_IGNORED },
	{ "lua-time-limit", "5000", CFG_IGNORED },
	{ "maxclients", NULL, CFG_FIXED },
	{ "maxmemory", "0", CFG_FIXED },
	{ "maxmemory-clients", "0", CFG_FIXED },
	{ "maxmemory-policy", "noeviction", CFG_FIXED },
	{ "maxmemory-samples", "5", CFG_IGNORED },
	{ "min-replicas-to-write", "0", CFG_FIXED },
	{ "notify-keyspace-events", "", CFG_FIXED },
	{ "port", NULL, CFG_IMMUTABLE },
	{ "proto-max-bulk-len", "536870912", CFG_FIXED },
	{ "protected-mode", NULL, CFG_FIXED },
	{ "replica-read-only", "yes", CFG_IGNORED },
	{ "requirepass", "", CFG_FIXED },
	{ "save", "", CFG_IGNORED },
	{ "slowlog-log-slower-than", "10000", CFG_IGNORED },
	{ "slowlog-max-len", "128", CFG_IGNORED },
	{ "stream-node-max-bytes", "4096", CFG_IGNORED },
	{ "stream-node-max-entries", "100", CFG_IGNORED },
	{ "tcp-backlog", "511", CFG_IMMUTABLE },
	{ "tcp-keepalive", "0", CFG_IGNORED },
	{ "timeout", NULL, CFG_FIXED },
};
#define NPARAMS (sizeof(cfg_params) / sizeof(cfg_params[0]))

/* What CONFIG SET stored for the CFG_IGNORED parameters (NULL: default). */
static char *cfg_overrides[NPARAMS];

/* The value of parameter 'i' into 'buf'. */
static const char *
cfg_value(struct server *s, size_t i, char *buf, size_t size)
{
	const struct cfg_param *p = &cfg_params[i];
	const char *spec = s->cfg.resp != NULL ? s->cfg.resp : "6379";
	const char *colon = strrchr(spec, ':');

	if (cfg_overrides[i] != NULL)
		return cfg_overrides[i];
	if (p->value != NULL)
		return p->value;
	if (strcmp(p->name, "appendfsync") == 0)
		return fsync_name(s->cfg.fsync, 1);
	if (strcmp(p->name, "protected-mode") == 0)
		return s->cfg.protected_mode ? "yes" : "no";
	if (strcmp(p->name, "bind") == 0)
		snprintf(buf, size, "%.*s", colon != NULL ?
		    (int)(colon - spec) : 0, colon != NULL ? spec : "");
	else if (strcmp(p->name, "port") == 0)
		snprintf(buf, size, "%s", colon != NULL ? colon + 1 : spec);
	else if (strcmp(p->name, "dir") == 0)
		snprintf(buf, size, "%s", mq_spool_path(s->spool));
	else if (strcmp(p->name, "maxclients") == 0)
		snprintf(buf, size, "%zu", s->cfg.max_clients);
	else if (strcmp(p->name, "timeout") == 0)
		snprintf(buf, size, "%lld",
		    (long long)(s->cfg.idle_timeout_ms / 1000));
	else if (strcmp(p->name, "client-query-buffer-limit") == 0)
		snprintf(buf, size, "%zu", s->cfg.max_request);
	else if (strcmp(p->name, "client-output-buffer-limit") == 0)
		/* Only subscribers are closed for their output (conn.c). */
		snprintf(buf, size, "normal 0 0 0 slave 0 0 0 pubsub %zu %zu "
		    "%lld", s->cfg.pubsub_hard, s->cfg.pubsub_soft,
		    (long long)(s->cfg.pubsub_soft_ms / 1000));
	else
		buf[0] = '\0';
	/* "[HOST:]PORT" with an empty HOST, or none: loopback, the default. */
	if (strcmp(p->name, "bind") == 0 && buf[0] == '\0')
		snprintf(buf, size, "127.0.0.1");
	return buf;
}

/* The index of parameter 'a' (case-insensitive), or -1. */
static ssize_t
cfg_find(const struct resp_arg *a)
{
	size_t i;

	for (i = 0; i < NPARAMS; i++)
		if (resp_arg_is(a, cfg_params[i].name))
			return (ssize_t)i;
	return -1;
}

/* CONFIG GET pattern [pattern ...]: each matching parameter once. */
static void
config_get(struct resp_client *c, size_t argc, const struct resp_arg *argv)
{
	int match[NPARAMS] = { 0 };
	char pat[256], buf[256];
	size_t i, k, n = 0, plen;

	for (i = 2; i < argc; i++) {
		/* Names are lower case and Redis matches without case. */
		for (plen = 0; plen < argv[i].len && plen < sizeof(pat); plen++)
			pat[plen] = (char)tolower((unsigned char)argv[i].p[plen]);
		for (k = 0; k < NPARAMS; k++)
			if (!match[k] && mq_glob_match(pat, plen,
			    cfg_params[k].name, strlen(cfg_params[k].name))) {
				match[k] = 1;
				n++;
			}
	}
	resp_reply_map(c, n);
	for (k = 0; k < NPARAMS; k++)
		if (match[k]) {
			resp_reply_bulk_str(c, cfg_params[k].name);
			resp_reply_bulk_str(c, cfg_value(c->conn->server, k,
			    buf, sizeof(buf)));
		}
}

/*
 * CONFIG SET parameter value [parameter value ...]: all or nothing.  A
 * parameter that changes nothing in mq is taken (and shown by GET); one
 * that mq fixes is taken only with its current value.
 */
static void
config_set(struct resp_client *c, size_t argc, const struct resp_arg *argv)
{
	char buf[256], *v;
	const char *cur;
	size_t i;
	ssize_t k;

	if ((argc - 2) % 2 != 0) {
		resp_reply_syntax_error(c);
		return;
	}
	for (i = 2; i < argc; i += 2) {
		if ((k = cfg_find(&argv[i])) < 0) {
			resp_reply_error(c, "ERR Unknown option or number of "
			    "arguments for CONFIG SET - '%.*s'",
			    (int)(argv[i].len > 128 ? 128 : argv[i].len),
			    argv[i].p);
			return;
		}
		cur = cfg_value(c->conn->server, (size_t)k, buf, sizeof(buf));
		if (cfg_params[k].set == CFG_IMMUTABLE) {
			resp_reply_error(c,
			    "ERR CONFIG SET failed (possibly related "
			    "to argument '%s') - can't set immutable config",
			    cfg_params[k].name);
			return;
		}
		if (cfg_params[k].set == CFG_FIXED &&
		    (argv[i + 1].len != strlen(cur) ||
		    strncasecmp(argv[i + 1].p, cur, argv[i + 1].len) != 0)) {
			resp_reply_error(c,
			    "ERR CONFIG SET failed (possibly related "
			    "to argument '%s') - mq-serve only runs with '%s'",
			    cfg_params[k].name, cur);
			return;
		}
	}
	for (i = 2; i < argc; i += 2) {
		k = cfg_find(&argv[i]);
		if (cfg_params[k].set != CFG_IGNORED)
			continue;
		if ((v = strndup(argv[i + 1].p, argv[i + 1].len)) == NULL) {
			resp_reply_mq_error(c, MQ_ESYS, "config");
			return;
		}
		free(cfg_overrides[k]);
		cfg_overrides[k] = v;
	}
	resp_reply_ok(c);
}

static const char *const config_help[] = {
	"CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
	"GET <pattern>",
	"    Return parameters matching the glob-like <pattern> and their values.",
	"SET <directive> <value>",
	"    Set the configuration <directive> to <value>.",
	"RESETSTAT",
	"    Reset statistics reported by the INFO command.",
	"REWRITE",
	"    Not supported by mq-serve: its settings are its options.",
	"HELP",
	"    Print this help.",
};

void
resp_cmd_config(struct resp_client *c, size_t argc, const struct resp_arg *argv)
{
	struct server *s = c->conn->server;
	const struct resp_arg *sub = &argv[1];

	if (resp_arg_is(sub, "get")) {
		if (argc < 3)
			reply_sub_arity(c, "config", "get");
		else
			config_get(c, argc, argv);
	} else if (resp_arg_is(sub, "set")) {
		if (argc < 4)
			reply_sub_arity(c, "config", "set");
		else
			config_set(c, argc, argv);
	} else if (resp_arg_is(sub, "resetstat")) {
		if (argc != 2) {
			reply_sub_arity(c, "config", "resetstat");
			return;
		}
		s->total_commands = s->total_conns = s->rejected_conns = 0;
		s->evictions = 0;
		resp_reply_ok(c);
	} else if (resp_arg_is(sub, "rewrite")) {
		if (argc != 2)
			reply_sub_arity(c, "config", "rewrite");
		else
			resp_reply_error(c,
			    "ERR CONFIG REWRITE is not supported by "
			    "mq-serve");
	} else if (resp_arg_is(sub, "help") && argc == 2) {
		reply_help(c, config_help,
		    sizeof(config_help) / sizeof(config_help[0]));
	} else
		reply_unknown_sub(c, sub, "CONFIG");
}
