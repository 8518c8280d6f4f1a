/*
 * resp.h - the Redis door: a client's state, the reply writers, and the
 * command table.  Commands live in resp_*.c by family; each is a function
 * of the client and its arguments that appends exactly one reply (or,
 * for a blocking read, none yet: see resp_block()).
 */
#ifndef MQ_SERVE_RESP_H
#define MQ_SERVE_RESP_H

#include <stddef.h>
#include <stdint.h>

#include "mq.h"
#include "parse.h"
#include "server.h"
#include "users.h"
#include "core/fanout.h"
#include "core/turn.h"
#include "core/waiters.h"

extern const struct proto resp_proto;
/* The RESP client of a connection, or NULL if it speaks another protocol. */
struct resp_client *resp_of(struct conn *conn);

/* A blocked XREAD/XREADGROUP: its arguments, kept to run it again. */
struct resp_block {
	char		**argv;
	size_t		*lens;
	size_t		 argc;
	struct waiter	*waiter;	/* the core's (core/waiters.c) */
	int64_t		 deadline_ms;	/* 0: BLOCK 0, waits for ever */
};

struct resp_client {
	struct conn		*conn;
	struct resp_parser	 parser;
	int			 proto;		/* 2 or 3 (HELLO 3) */
	int			 authenticated;	/* 0: only CMD_NOAUTH commands */
	char			 user[USERS_NAME_MAX + 1];	/* "default" until AUTH */
	char			 name[128];	/* CLIENT SETNAME */
	char			 lib_name[64], lib_ver[64];	/* CLIENT SETINFO */
	const char		*last_cmd;
	/* Pub/Sub (pubsub.c). */
	mq_sub			*sub;		/* exact channels (SUBSCRIBE) */
	mq_sub			*psub;		/* patterns (PSUBSCRIBE) */
	char			**channels;	/* subscribed, in order */
	size_t			 nchannels;
	char			**patterns;
	size_t			 npatterns;
	/* A blocked read (stream.c), or NULL. */
	struct resp_block	*block;
	/* Among the core's live subscribers while it has a subscription. */
	struct fanout_sub	 fsub;
	/* MULTI ... EXEC (multi.c). */
	struct resp_multi	*multi;		/* queued commands, or NULL */
	struct resp_watch	*watched;	/* WATCHed keys */
	int			 pub_rc;	/* a queued PUBLISH's failure so far */
	/*
	 * For the requests of one read: whether an anonymous subscriber
	 * listens (mq_router_anonymous, asked at the first PUBLISH that
	 * needs to know), or -1.
	 */
	int			 anonymous;
	size_t			 nwatched;
	/* A command waiting for a password check (auth.c), or NULL. */
	struct resp_authwait	*authwait;
	int			 in_exec;	/* EXEC runs its commands */
	struct resp_multi	*running;	/* the one EXEC runs, detached */
};

typedef void resp_cmd_fn(struct resp_client *c, size_t argc,
	    const struct resp_arg *argv);

#define CMD_PUBSUB	0x1	/* allowed in a RESP2 subscribed connection */
#define CMD_NOAUTH	0x2	/* allowed before AUTH */
#define CMD_WRITE	0x4
#define CMD_READONLY	0x8
#define CMD_BLOCKING	0x10
#define CMD_HOLD	0x20	/* may keep groups held (server_release_groups) */

struct resp_command {
	const char	*name;		/* lower case */
	int		 arity;		/* > 0 exactly, < 0 at least -arity (name included) */
	int		 flags;
	int		 firstkey, lastkey, step;	/* for COMMAND INFO */
	resp_cmd_fn	*fn;
};

/* Finds a command by name (case-insensitive); NULL if unknown. */
const struct resp_command *resp_lookup(const char *name, size_t len);
/* The table, for COMMAND COUNT/INFO/DOCS. */
extern const struct resp_command resp_commands[];
extern const size_t resp_ncommands;

/*
 * ---- Password checks (auth.c), off the loop.  resp_auth() checks
 * 'pass' as the password of 'user' for the command 'argv' (AUTH, HELLO):
 * 1 if it is (the connection is that user now), 0 if not (the error is
 * the reply), or -1 if the answer is not known yet: then the command
 * stops with no reply, and is run again with the same arguments once it
 * is; the connection runs nothing else meanwhile.
 */
int	 resp_auth(struct resp_client *c, size_t argc,
	    const struct resp_arg *argv, const struct resp_arg *user,
	    const struct resp_arg *pass);
/*
 * EXEC ('argv'), for each queued command ('cmd', 'q') before it runs any:
 * asks for the check that command needs and has no answer for: 1 if it
 * did (EXEC stops, and runs again once answered), -1 if it could not
 * (the error is the reply), 0 if none is needed.
 */
int	 resp_auth_exec(struct resp_client *c, size_t argc,
	    const struct resp_arg *argv, const struct resp_command *cmd,
	    size_t qargc, const struct resp_arg *q);
/* Frees the command waiting and its answers (the client closes). */
void	 resp_auth_free(struct resp_client *c);

/* ---- Replies (reply.c).  RESP3 types fall back to RESP2 ones. */
#define RESP_HEADER_MAX	24	/* "<type>-<20 digits>\r\n" */
/*
 * "<type><n>\r\n" (a length, a count, an integer; a '-' before 'n' if
 * 'neg') into 'buf', without printf: every reply has one or more of
 * these.  Returns its length, at most RESP_HEADER_MAX.
 */
size_t	 resp_header(char *buf, char type, int neg, unsigned long long n);
void	 resp_reply_ok(struct resp_client *c);
void	 resp_reply_simple(struct resp_client *c, const char *s);
/* "-PREFIX message": 'fmt' starts with the prefix (ERR, NOGROUP, ...). */
void	 resp_reply_error(struct resp_client *c, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
void	 resp_reply_int(struct resp_client *c, long long v);
void	 resp_reply_bulk(struct resp_client *c, const void *p, size_t len);
void	 resp_reply_bulk_str(struct resp_client *c, const char *s);
void	 resp_reply_id(struct resp_client *c, mq_id id);
void	 resp_reply_null(struct resp_client *c);		/* $-1 / _ */
void	 resp_reply_null_array(struct resp_client *c);	/* *-1 / _ */
void	 resp_reply_array(struct resp_client *c, size_t n);
void	 resp_reply_map(struct resp_client *c, size_t n);	/* %n / *2n */
void	 resp_reply_set(struct resp_client *c, size_t n);	/* ~n / *n */
void	 resp_reply_push(struct resp_client *c, size_t n);	/* >n / *n */
void	 resp_reply_double(struct resp_client *c, double v);
/* A stream entry: [id, [field, value, ...]] (fields from headers, then "body"). */
void	 resp_reply_entry(struct resp_client *c, const struct mq_msg *m);
/* The one translation of a libmq outcome into Redis's error text. */
void	 resp_reply_mq_error(struct resp_client *c, int err,
	    const char *context);

/*
 * ---- Large replies (produce.c), written as the client reads them.
 * A reply of more than RESP_LARGE_ITEMS entries or names, or of entries
 * of more than RESP_LARGE_BYTES, is handed to a producer.
 */
#define RESP_LARGE_ITEMS	1024
#define RESP_LARGE_BYTES	(256u << 10)

/* A stream's entries in a large reply: 'n' of them, from 'cursor'. */
struct resp_part {
	char		*key;		/* XREAD: [key, entries]; NULL: the entries */
	size_t		 keylen;
	mq_cursor	*cursor;
	uint64_t	 n;
};
/*
 * Writes the 'nparts' parts (malloc'd, with their keys and cursors:
 * taken over), with 'keyed' XREAD's map of them first, after what the
 * command wrote, as the client reads them.  MQ_OK, or MQ_ESYS with
 * nothing written (the parts freed): the command replies the error.
 */
int	 resp_produce_entries(struct resp_client *c, struct resp_part *parts,
	    size_t nparts, int keyed);
/*
 * The same for 'headlen' bytes of 'head' (copied), then an array of the
 * 'n' malloc'd strings 'names' (taken over).
 */
int	 resp_produce_names(struct resp_client *c, const void *head,
	    size_t headlen, char **names, size_t n);
/* Frees 'n' parts, their keys and cursors. */
void	 resp_parts_free(struct resp_part *parts, size_t n);

/* ---- Argument helpers (door.c). */
/* Case-insensitive comparison with a lower-case word. */
int	 resp_arg_is(const struct resp_arg *a, const char *lower);
/* Parses a signed decimal as Redis does ("value is not an integer or out of range"). */
int	 resp_arg_ll(const struct resp_arg *a, long long *v);
/* Copies into a NUL-terminated buffer; 0 if it does not fit or holds a NUL. */
int	 resp_arg_str(const struct resp_arg *a, char *buf, size_t size);
/*
 * Copies the arguments into '*copy' (pointing into '*data', one block):
 * 0, or -1 (out of memory, nothing left allocated).
 */
int	 resp_args_copy(size_t argc, const struct resp_arg *argv,
	    struct resp_arg **copy, char **data);
void	 resp_reply_wrong_arity(struct resp_client *c, const char *cmd);
void	 resp_reply_syntax_error(struct resp_client *c);

/*
 * ---- Blocking (stream.c): a blocked read is a waiter of the core
 * (core/waiters.c), run again when its streams change.  resp_unblock
 * ends it (its client goes).
 */
void	 resp_unblock(struct resp_client *c);
/*
 * Runs the requests pipelined behind a blocked one, once it was served
 * or timed out (door.c).
 */
void	 resp_resume(struct resp_client *c);

/*
 * ---- Stream helpers (stream.c, for group.c).  Those returning
 * int reply to an error themselves and return -1; the lookups return 1
 * (found) or 0 (missing, no reply).
 */
/* A stream id as Redis parses it ("-"/"+" refused if 'strict'); 'c' NULL: no reply. */
int	 resp_xarg_id(struct resp_client *c, const struct resp_arg *a,
	    uint64_t missing_seq, int strict, mq_id *id);
/* A range bound: an id, or "(id" exclusive ('end': the upper bound). */
int	 resp_xarg_interval(struct resp_client *c, const struct resp_arg *a,
	    int end, mq_id *id);
/* An integer; 'msg' replaces Redis's "value is not an integer..." text. */
int	 resp_xarg_ll(struct resp_client *c, const struct resp_arg *a,
	    const char *msg, long long *v);
int	 resp_xstream(struct resp_client *c, const struct resp_arg *key,
	    mq_stream **s);
int	 resp_xgroup_open(struct resp_client *c, mq_stream *s,
	    const struct resp_arg *name, mq_group **g);
/* The entries start..end as an array reply / one entry ([id, nil] if gone). */
int	 resp_xreply_range(struct resp_client *c, mq_stream *s, mq_id start,
	    mq_id end, size_t count, int rev);
int	 resp_xreply_one(struct resp_client *c, mq_stream *s, mq_id id);
int64_t	 resp_xnow_ms(void);	/* wall clock, as Redis's mstime() */

/* ---- Pub/Sub (pubsub.c): deliver what arrived to subscribers. */
/* The distinct channels ('glob' 0) or patterns (1) of this server's clients. */
size_t	 resp_pubsub_distinct(struct server *s, int glob);
void	 resp_pubsub_close(struct resp_client *c);

/* ---- Keyspace (keys.c): the streams clients see as keys (for INFO). */
size_t	 resp_keys_count(struct server *s, size_t *expires);
/* Key 'name' was removed by this server (a set emptied): forget its TTL. */
void	 resp_key_gone(struct server *s, const char *name);

/* ---- Sorted sets (zset.c): whether key 'name' is a non-empty one. */
int	 resp_zset_exists(struct server *s, const char *name, size_t len);

/*
 * Transactions (multi.c): while a MULTI is open, resp_queue() takes
 * every command but EXEC, DISCARD, MULTI, WATCH and QUIT; returns 1 if it
 * queued it (and replied +QUEUED).
 */
int	 resp_queue(struct resp_client *c, const struct resp_command *cmd,
	    size_t argc, const struct resp_arg *argv);
void	 resp_multi_free(struct resp_client *c);
/* A command of an open MULTI was refused: EXEC will abort. */
void	 resp_multi_fail(struct resp_client *c);
/* Runs one request that passed the checks (door.c). */
void	 resp_execute(struct resp_client *c, const struct resp_command *cmd,
	    size_t argc, const struct resp_arg *argv);

/* Every command function, by family. */
resp_cmd_fn resp_cmd_ping, resp_cmd_echo, resp_cmd_hello, resp_cmd_auth,
    resp_cmd_select, resp_cmd_quit, resp_cmd_reset, resp_cmd_client,
    resp_cmd_command, resp_cmd_info, resp_cmd_config, resp_cmd_dbsize,
    resp_cmd_time, resp_cmd_flushall;
resp_cmd_fn resp_cmd_del, resp_cmd_exists, resp_cmd_type, resp_cmd_keys,
    resp_cmd_scan, resp_cmd_rename, resp_cmd_expire, resp_cmd_ttl;
/*
 * Queues a plain XADD (key * field value ...) on the server's run of
 * appends; returns 1 if queued (the reply comes at the flush), 0 if the
 * caller must run resp_cmd_xadd.
 */
int	 resp_xadd_queue(struct resp_client *c, size_t argc,
	    const struct resp_arg *argv);
/* The same for PUBLISH (pubsub.c). */
int	 resp_publish_queue(struct resp_client *c, size_t argc,
	    const struct resp_arg *argv);
resp_cmd_fn resp_cmd_xadd, resp_cmd_xlen, resp_cmd_xrange, resp_cmd_xrevrange,
    resp_cmd_xread, resp_cmd_xdel, resp_cmd_xtrim, resp_cmd_xsetid,
    resp_cmd_xgroup, resp_cmd_xreadgroup, resp_cmd_xack, resp_cmd_xpending,
    resp_cmd_xclaim, resp_cmd_xautoclaim, resp_cmd_xinfo;
resp_cmd_fn resp_cmd_zadd, resp_cmd_zrem, resp_cmd_zcard, resp_cmd_zscore,
    resp_cmd_zrank, resp_cmd_zcount, resp_cmd_zrange, resp_cmd_zpop,
    resp_cmd_zremrange;
resp_cmd_fn resp_cmd_multi, resp_cmd_exec, resp_cmd_discard, resp_cmd_watch,
    resp_cmd_unwatch;
resp_cmd_fn resp_cmd_publish, resp_cmd_subscribe, resp_cmd_psubscribe,
    resp_cmd_unsubscribe, resp_cmd_punsubscribe, resp_cmd_pubsub;

#endif /* MQ_SERVE_RESP_H */
