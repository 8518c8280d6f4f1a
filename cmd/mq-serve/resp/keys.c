/*
 * keys.c - the Redis keyspace over the spool: every stream is a
 * key of type "stream" in database 0, every sorted set one of type
 * "zset".
 *
 * Model: the keys are the spool's streams (mq_spool_streams), less the
 * topic exchange's log (MQ_TOPIC_EXCHANGE), which belongs to Pub/Sub:
 * removing it would cut every live subscriber off, so it is neither
 * listed, counted, nor removed here; and its sorted sets
 * (mq_spool_zsets), which libmq keeps apart from streams under the same
 * names.  DEL, UNLINK and FLUSHALL remove them from the spool, for every
 * process.
 *
 * KEYS and SCAN see the streams ordered by a 63-bit hash of the name
 * (then by name), and a SCAN cursor is the hash where the next call
 * starts: a key present from the first call to the last is returned
 * once at least, whatever is added or removed meanwhile, as Redis
 * promises; names with equal hashes always go out in the same call.
 *
 * Expiry: the spool has nowhere to keep a key's time to live yet, so
 * EXPIRE and PEXPIRE keep it in this process (a table by name and a timer
 * at the earliest deadline, plus a check before each keyspace command).
 * The stream is removed when it is due, as Redis would.  A restart of
 * mq-serve forgets the deadlines (the streams stay), and a stream that
 * another process removes and creates again keeps the old deadline.
 *
 * RENAME and RENAMENX move the stream's directory (mq_stream_rename),
 * groups, pending entries and policy with it, or the sorted set's file
 * (mq_zset_rename), and the deadline with the key as Redis does; a
 * target of either type is replaced, and its deadline goes.  Open
 * handles of any process notice (mq_stream_removed, and a sorted set's
 * at its next call), so this server's cache reopens by name, and blocked
 * reads run again: an XREADGROUP blocked on the old name gets Redis's
 * UNBLOCKED error, an XREAD on the new name is served.  The topic
 * exchange's log can be neither source nor target.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "resp.h"

/* ------------------------------------------------------------------
 * The streams that are keys.
 * ---------------------------------------------------------------- */

struct keylist {
	char		**names;
	uint64_t	*hashes;	/* parallel to names, after keys_sorted() */
	size_t		 n, cap;
	int		 failed;	/* out of memory */
};

/* Whether the key named 'len' bytes at 'p' can be a stream we show. */
static int
key_ok(const char *p, size_t len)
{
	return len > 0 && len <= MQ_NAME_MAX && memchr(p, '\0', len) == NULL &&
	    !(len == sizeof(MQ_TOPIC_EXCHANGE) - 1 &&
	    memcmp(p, MQ_TOPIC_EXCHANGE, len) == 0);
}

static int
collect(const char *name, void *arg)
{
	struct keylist *k = arg;

	if (!key_ok(name, strlen(name)))
		return 0;
	if (k->n == k->cap) {
		size_t cap = k->cap ? 2 * k->cap : 64;
		char **n = reallocarray(k->names, cap, sizeof(*n));

		if (n == NULL) {
			k->failed = 1;
			return 1;
		}
		k->names = n;
		k->cap = cap;
	}
	if ((k->names[k->n] = strdup(name)) == NULL) {
		k->failed = 1;
		return 1;
	}
	k->n++;
	return 0;
}

static void
keys_free(struct keylist *k)
{
	size_t i;

	for (i = 0; i < k->n; i++)
		free(k->names[i]);
	free(k->names);
	free(k->hashes);
	memset(k, 0, sizeof(*k));
}

/* Lists the keys into 'k' (unsorted); a libmq outcome. */
static int
keys_list(struct server *s, struct keylist *k)
{
	int rc;

	memset(k, 0, sizeof(*k));
	rc = mq_spool_streams(s->spool, collect, k);
	if (rc == MQ_OK && !k->failed)
		rc = mq_spool_zsets(s->spool, collect, k);
	if (rc == MQ_OK && k->failed)
		rc = MQ_ESYS;
	if (rc != MQ_OK)
		keys_free(k);
	return rc;
}

/* FNV-1a, folded to 1 .. 2^63-1: 0 is the cursor that starts and ends. */
static uint64_t
key_hash(const char *s)
{
	uint64_t h = 14695981039346656037ULL;

	for (; *s != '\0'; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ULL;
	}
	h &= INT64_MAX;
	return h == 0 ? 1 : h;
}

static int
hashed_cmp(const void *a, const void *b)
{
	const char *x = *(char *const *)a, *y = *(char *const *)b;
	uint64_t hx = key_hash(x), hy = key_hash(y);

	if (hx != hy)
		return hx < hy ? -1 : 1;
	return strcmp(x, y);
}

/* Lists the keys in SCAN's order, with their hashes; a libmq outcome. */
static int
keys_sorted(struct server *s, struct keylist *k)
{
	size_t i;
	int rc;

	if ((rc = keys_list(s, k)) != MQ_OK)
		return rc;
	if (k->n == 0)
		return MQ_OK;
	qsort(k->names, k->n, sizeof(*k->names), hashed_cmp);
	if ((k->hashes = reallocarray(NULL, k->n, sizeof(*k->hashes))) == NULL) {
		keys_free(k);
		return MQ_ESYS;
	}
	for (i = 0; i < k->n; i++)
		k->hashes[i] = key_hash(k->names[i]);
	return MQ_OK;
}

/* The type of key 'a' as TYPE names it: "stream", "zset" or "none". */
static const char *
key_type(struct server *s, const char *p, size_t len)
{
	mq_stream *st;

	if (!key_ok(p, len))
		return "none";
	if (server_stream(s, p, len, 0, &st) == MQ_OK)
		return "stream";
	if (resp_zset_exists(s, p, len))
		return "zset";
	return "none";
}

/* Whether the key exists (the server's caches of open keys first). */
static int
key_exists(struct server *s, const struct resp_arg *a)
{
	return strcmp(key_type(s, a->p, a->len), "none") != 0;
}

/* ------------------------------------------------------------------
 * Deadlines of EXPIRE, in this process.
 * ---------------------------------------------------------------- */

struct expiry {
	RB_ENTRY(expiry)	 link;
	char			*name;
	int64_t			 at;	/* unix time, ms */
};

static int
expiry_cmp(const struct expiry *a, const struct expiry *b)
{
	return strcmp(a->name, b->name);
}

RB_HEAD(expirytree, expiry);
#define RB_ATTR __attribute__((__unused__)) static
RB_GENERATE_INTERNAL(expirytree, expiry, link, expiry_cmp, RB_ATTR)

static struct expirytree expiries = RB_INITIALIZER(&expiries);
static size_t nexpiries;
static uint64_t expiry_timer;		/* 0: none armed */
static struct server *expiry_server;	/* whose loop the timer is on */


/* The deadline of key 'name' ('len' bytes), or NULL. */
static struct expiry *
expiry_find(const char *name, size_t len)
{
	struct expiry key, *e;
	char buf[MQ_NAME_MAX + 1];

	if (len > MQ_NAME_MAX || nexpiries == 0)
		return NULL;
	memcpy(buf, name, len);
	buf[len] = '\0';
	key.name = buf;
	e = RB_FIND(expirytree, &expiries, &key);
	return e;
}

static void
expiry_del(struct expiry *e)
{
	RB_REMOVE(expirytree, &expiries, e);
	nexpiries--;
	free(e->name);
	free(e);
}

static void expiry_arm(struct server *s);

/*
 * Removes the stream or sorted set 'name' from the spool and the
 * server's caches, and forgets its deadline.  Returns a libmq outcome
 * (MQ_ENOSTREAM if it was not there).
 */
static int
key_remove(struct server *s, const char *name)
{
	int rc;

	rc = mq_stream_remove(s->spool, name);
	server_stream_forget(s, name);
	if (rc == MQ_ENOSTREAM) {
		rc = mq_zset_remove(s->spool, name);
		server_zset_forget(s, name);
	}
	resp_key_gone(s, name);
	return rc;
}

void
resp_key_gone(struct server *s, const char *name)
{
	struct expiry *e;

	if ((e = expiry_find(name, strlen(name))) != NULL)
		expiry_del(e);
}

/* Removes every stream whose deadline passed; re-arms the timer. */
static void
expire_due(struct server *s)
{
	struct expiry *e, *next;
	int64_t now = loop_wall_ms();
	int rc;

	for (e = RB_MIN(expirytree, &expiries); e != NULL; e = next) {
		next = RB_NEXT(expirytree, &expiries, e);
		if (e->at > now)
			continue;
		/* key_remove() frees 'e', whatever the outcome. */
		if ((rc = key_remove(s, e->name)) != MQ_OK && rc != MQ_ENOSTREAM)
			server_log(s, "resp: expiring a stream: %s",
			    mq_strerror(rc));
	}
	expiry_arm(s);
}

static void
expiry_fire(struct loop *loop, void *arg)
{
	expiry_timer = 0;
	expire_due(arg);
}

/* Arms one timer at the earliest deadline, or none. */
static void
expiry_arm(struct server *s)
{
	struct expiry *e;
	int64_t first = INT64_MAX, now;

	if (expiry_timer != 0) {
		loop_timer_del(expiry_server->loop, expiry_timer);
		expiry_timer = 0;
	}
	RB_FOREACH(e, expirytree, &expiries)
		if (e->at < first)
			first = e->at;
	if (first == INT64_MAX)
		return;
	now = loop_wall_ms();
	expiry_server = s;
	expiry_timer = loop_timer_add(s->loop, first > now ? first - now : 0,
	    expiry_fire, s);
}

/* Sets the deadline of stream 'name' to 'at' (unix ms); a libmq outcome. */
static int
expiry_set(struct server *s, const char *name, size_t len, int64_t at)
{
	struct expiry *e;

	if ((e = expiry_find(name, len)) == NULL) {
		if ((e = calloc(1, sizeof(*e))) == NULL ||
		    (e->name = strndup(name, len)) == NULL) {
			free(e);
			return MQ_ESYS;
		}
		RB_INSERT(expirytree, &expiries, e);
		nexpiries++;
	}
	e->at = at;
	expiry_arm(s);
	return MQ_OK;
}

size_t
resp_keys_count(struct server *s, size_t *expires)
{
	struct keylist k;
	size_t n;

	expire_due(s);
	if (keys_list(s, &k) != MQ_OK) {
		*expires = 0;
		return 0;
	}
	n = k.n;
	keys_free(&k);
	*expires = nexpiries < n ? nexpiries : n;
	return n;
}

/* ------------------------------------------------------------------
 * Commands.
 * ---------------------------------------------------------------- */

/* DEL key... and UNLINK key...: the number of streams removed. */
void
resp_cmd_del(struct resp_client *c, size_t argc, const struct resp_arg *argv)
{
	struct server *s = c->conn->server;
	char name[MQ_NAME_MAX + 1];
	long long removed = 0;
	size_t i;
	int rc;

	expire_due(s);
	for (i = 1; i < argc; i++) {
		if (!key_ok(argv[i].p, argv[i].len) ||
		    !resp_arg_str(&argv[i], name, sizeof(name)))
			continue;
		if ((rc = key_remove(s, name)) == MQ_OK)
			removed++;
		else if (rc != MQ_ENOSTREAM) {
			resp_reply_mq_error(c, rc, "del");
			return;
		}
	}
	expiry_arm(s);
	resp_reply_int(c, removed);
}

/* EXISTS key...: how many of the names are streams (repeats count). */
void
resp_cmd_exists(struct resp_client *c, size_t argc, const struct resp_arg *argv)
{
	struct server *s = c->conn->server;
	long long n = 0;
	size_t i;

	expire_due(s);
	for (i = 1; i < argc; i++)
		if (key_exists(s, &argv[i]))
			n++;
	resp_reply_int(c, n);
}

void
resp_cmd_type(struct resp_client *c, size_t argc, const struct resp_arg *argv)
{
	expire_due(c->conn->server);
	resp_reply_simple(c, key_type(c->conn->server, argv[1].p, argv[1].len));
}

/* KEYS pattern: every key matching the glob. */
void
resp_cmd_keys(struct resp_client *c, size_t argc, const struct resp_arg *argv)
{
	struct server *s = c->conn->server;
	struct keylist k;
	size_t i, match = 0;
	int rc;

	expire_due(s);
	if ((rc = keys_sorted(s, &k)) != MQ_OK) {
		resp_reply_mq_error(c, rc, "keys");
		return;
	}
	for (i = 0; i < k.n; i++)
		if (mq_glob_match(argv[1].p, argv[1].len, k.names[i],
		    strlen(k.names[i])))
			k.names[match++] = k.names[i];
		else
			free(k.names[i]);
	k.n = match;
	if (k.n > RESP_LARGE_ITEMS) {
		/* Written as the client reads them: the names go with it. */
		if ((rc = resp_produce_names(c, NULL, 0, k.names, k.n)) !=
		    MQ_OK)
			resp_reply_mq_error(c, rc, "keys");
		k.names = NULL;
		k.n = 0;
		keys_free(&k);
		return;
	}
	resp_reply_array(c, k.n);
	for (i = 0; i < k.n; i++)
		resp_reply_bulk_str(c, k.names[i]);
	keys_free(&k);
}

/*
 * Copies the 'n' names of 'k' that 'pick' points at, for a large reply
 * (the listing may go before it is written); NULL if out of memory.
 */
static char **
names_copy(const struct keylist *k, const size_t *pick, size_t n)
{
	char **names;
	size_t i;

	if ((names = reallocarray(NULL, n, sizeof(*names))) == NULL)
		return NULL;
	for (i = 0; i < n; i++)
		if ((names[i] = strdup(k->names[pick[i]])) == NULL) {
			while (i > 0)
				free(names[--i]);
			free(names);
			return NULL;
		}
	return names;
}

/*
 * A SCAN cursor as Redis reads it: strtoul(3) of the whole argument, so a
 * sign is taken ("-1" is the largest cursor) but no space or overflow.
 */
static int
parse_cursor(const struct resp_arg *a, uint64_t *cursor)
{
	char buf[32], *end;
	unsigned long long v;

	if (a->len == 0 || a->len >= sizeof(buf) ||
	    memchr(a->p, '\0', a->len) != NULL ||
	    isspace((unsigned char)a->p[0]))
		return 0;
	memcpy(buf, a->p, a->len);
	buf[a->len] = '\0';
	errno = 0;
	v = strtoull(buf, &end, 10);
	if (*end != '\0' || errno == ERANGE)
		return 0;
	*cursor = v;
	return 1;
}

/*
 * SCAN's listing, kept from the call with cursor 0 to the call that
 * ends a scan: listing and sorting the spool at every call made a scan
 * of 100,000 keys (10,000 calls of COUNT 10) quadratic.  A key present
 * from the first call to the last is in the listing of the first, which
 * is all that Redis promises; a scan that finds the listing gone (a new
 * scan began, or one ended) lists again, which keeps that promise too.
 */
static struct keylist scan_keys;
static int scan_listed;

/* The listing for a call with 'cursor'; a libmq outcome. */
static int
scan_listing(struct server *s, uint64_t cursor, struct keylist **out)
{
	int rc;

	if (cursor == 0 || !scan_listed) {
		if (scan_listed)
			keys_free(&scan_keys);
		scan_listed = 0;
		if ((rc = keys_sorted(s, &scan_keys)) != MQ_OK)
			return rc;
		scan_listed = 1;
	}
	*out = &scan_keys;
	return MQ_OK;
}

/* A scan ended: its listing goes. */
static void
scan_done(void)
{
	if (scan_listed)
		keys_free(&scan_keys);
	scan_listed = 0;
}

/* Whether key 'name' passes SCAN's MATCH and TYPE (NULL: any). */
static int
scan_wants(struct server *s, const char *name, const struct resp_arg *match,
    const struct resp_arg *type)
{
	size_t len = strlen(name);

	if (type != NULL && !resp_arg_is(type, key_type(s, name, len)))
		return 0;
	return match == NULL || mq_glob_match(match->p, match->len, name, len);
}

/*
 * SCAN cursor [MATCH pattern] [COUNT count] [TYPE type]: the keys whose
 * hash is at or after 'cursor', 'count' of them (more when hashes are
 * equal), filtered by MATCH and TYPE; [next cursor, [key...]].
 */
void
resp_cmd_scan(struct resp_client *c, size_t argc, const struct resp_arg *argv)
{
	struct server *s = c->conn->server;
	const struct resp_arg *match = NULL, *type = NULL;
	struct keylist *k;
	uint64_t cursor, next = 0;
	long long count = 10;
	size_t i, first, end, out = 0, *pick;
	char buf[24], head[48], **large = NULL;
	int rc, n;

	if (!parse_cursor(&argv[1], &cursor)) {
		resp_reply_error(c, "ERR invalid cursor");
		return;
	}
	for (i = 2; i < argc; i += 2) {
		if (i + 1 >= argc) {
			resp_reply_syntax_error(c);
			return;
		}
		if (resp_arg_is(&argv[i], "count")) {
			if (!resp_arg_ll(&argv[i + 1], &count)) {
				resp_reply_error(c,
				    "ERR value is not an integer or "
				    "out of range");
				return;
			}
			if (count < 1) {
				resp_reply_syntax_error(c);
				return;
			}
		} else if (resp_arg_is(&argv[i], "match"))
			match = &argv[i + 1];
		else if (resp_arg_is(&argv[i], "type"))
			type = &argv[i + 1];
		else {
			resp_reply_syntax_error(c);
			return;
		}
	}
	expire_due(s);
	if ((rc = scan_listing(s, cursor, &k)) != MQ_OK) {
		resp_reply_mq_error(c, rc, "scan");
		return;
	}
	/* The first hash at or after the cursor: a binary search. */
	for (first = 0, end = k->n; first < end; ) {
		i = first + (end - first) / 2;
		if (k->hashes[i] < cursor)
			first = i + 1;
		else
			end = i;
	}
	end = first;
	while (end < k->n && (end - first < (size_t)count ||
	    k->hashes[end] == k->hashes[end - 1]))
		end++;
	if ((pick = reallocarray(NULL, end - first + 1, sizeof(*pick))) == NULL) {
		resp_reply_mq_error(c, MQ_ESYS, "scan");
		return;
	}
	for (i = first; i < end; i++)
		if (scan_wants(s, k->names[i], match, type))
			pick[out++] = i;
	if (out > RESP_LARGE_ITEMS && (large = names_copy(k, pick, out)) ==
	    NULL) {
		free(pick);
		resp_reply_mq_error(c, MQ_ESYS, "scan");
		return;
	}
	/* A cursor past the last hash ends the scan, as in Redis. */
	if (end < k->n)
		next = k->hashes[end];
	n = snprintf(buf, sizeof(buf), "%llu", (unsigned long long)next);
	if (large != NULL) {
		/* [cursor, keys] with the keys written as the client reads. */
		n = snprintf(head, sizeof(head), "*2\r\n$%d\r\n%s\r\n", n, buf);
		if ((rc = resp_produce_names(c, head, (size_t)n, large, out)) !=
		    MQ_OK)
			resp_reply_mq_error(c, rc, "scan");
	} else {
		resp_reply_array(c, 2);
		resp_reply_bulk(c, buf, (size_t)n);
		resp_reply_array(c, out);
		for (i = 0; i < out; i++)
			resp_reply_bulk_str(c, k->names[pick[i]]);
	}
	free(pick);
	if (next == 0)
		scan_done();
}

/* Moves the deadline of 'from' (if any) to 'to', whose own one goes. */
static int
expiry_move(struct server *s, const char *from, const char *to)
{
	struct expiry *e;
	int64_t at;

	if ((e = expiry_find(to, strlen(to))) != NULL)
		expiry_del(e);
	if ((e = expiry_find(from, strlen(from))) == NULL)
		return MQ_OK;
	at = e->at;
	expiry_del(e);
	return expiry_set(s, to, strlen(to), at);
}

/*
 * Renames key 'from' of either type: libmq says MQ_EWRONGTYPE when the
 * function is the other type's, which it may still be if the key was
 * removed and made again of the other type in between.
 */
static int
key_rename(struct server *s, const char *from, const char *to, int replace)
{
	int rc = MQ_EWRONGTYPE, i;

	for (i = 0; i < 4 && rc == MQ_EWRONGTYPE; i++)
		rc = i % 2 == 0 ? mq_stream_rename(s->spool, from, to, replace) :
		    mq_zset_rename(s->spool, from, to, replace);
	return rc;
}

/*
 * RENAME key newkey: OK, replacing newkey; RENAMENX key newkey: 1, or 0
 * when newkey exists.  As in Redis, a missing key is an error before
 * anything else, and a key renamed to itself is OK / 0.
 */
void
resp_cmd_rename(struct resp_client *c, size_t argc, const struct resp_arg *argv)
{
	struct server *s = c->conn->server;
	int nx = resp_arg_is(&argv[0], "renamenx"), rc;
	char from[MQ_NAME_MAX + 1], to[MQ_NAME_MAX + 1];

	expire_due(s);
	if (!key_exists(s, &argv[1]) || !resp_arg_str(&argv[1], from,
	    sizeof(from))) {
		resp_reply_error(c, "ERR no such key");
		return;
	}
	if (argv[1].len == argv[2].len &&
	    memcmp(argv[1].p, argv[2].p, argv[1].len) == 0) {
		if (nx)
			resp_reply_int(c, 0);
		else
			resp_reply_ok(c);
		return;
	}
	if (!resp_arg_str(&argv[2], to, sizeof(to)) || to[0] == '\0') {
		resp_reply_mq_error(c, MQ_EBADNAME, nx ? "renamenx" : "rename");
		return;
	}
	if (!key_ok(argv[2].p, argv[2].len)) {
		resp_reply_error(c, "ERR the key '%s' is the log of mq's topic "
		    "exchange and cannot be replaced", to);
		return;
	}
	rc = key_rename(s, from, to, !nx);
	server_stream_forget(s, from);
	server_stream_forget(s, to);
	server_zset_forget(s, from);
	server_zset_forget(s, to);
	if (rc == MQ_EEXIST && nx) {
		resp_reply_int(c, 0);
		return;
	}
	if (rc == MQ_OK)
		rc = expiry_move(s, from, to);
	expiry_arm(s);
	if (rc != MQ_OK) {
		resp_reply_mq_error(c, rc, nx ? "renamenx" : "rename");
		return;
	}
	/* Blocked reads of either name run again. */
	waiters_change(s, from, NULL, MQ_WATCH_GONE);
	waiters_change(s, to, NULL, MQ_WATCH_MADE);
	if (nx)
		resp_reply_int(c, 1);
	else
		resp_reply_ok(c);
}

/* The NX, XX, GT, LT flags of EXPIRE. */
#define EXP_NX	0x1
#define EXP_XX	0x2
#define EXP_GT	0x4
#define EXP_LT	0x8

/*
 * EXPIRE key seconds [NX|XX|GT|LT] and PEXPIRE key milliseconds [...]:
 * 1 if the deadline was set (a deadline in the past removes the key at
 * once), 0 if the key is missing or a flag said no.
 */
void
resp_cmd_expire(struct resp_client *c, size_t argc, const struct resp_arg *argv)
{
	struct server *s = c->conn->server;
	int ms = resp_arg_is(&argv[0], "pexpire"), flags = 0, rc;
	const char *cmd = ms ? "pexpire" : "expire";
	char name[MQ_NAME_MAX + 1];
	struct expiry *e;
	long long when, now;
	size_t i;

	for (i = 3; i < argc; i++) {
		if (resp_arg_is(&argv[i], "nx"))
			flags |= EXP_NX;
		else if (resp_arg_is(&argv[i], "xx"))
			flags |= EXP_XX;
		else if (resp_arg_is(&argv[i], "gt"))
			flags |= EXP_GT;
		else if (resp_arg_is(&argv[i], "lt"))
			flags |= EXP_LT;
		else {
			resp_reply_error(c, "ERR Unsupported option %.*s",
			    (int)(argv[i].len > 128 ? 128 : argv[i].len),
			    argv[i].p);
			return;
		}
	}
	if ((flags & EXP_NX) && (flags & (EXP_XX | EXP_GT | EXP_LT))) {
		resp_reply_error(c,
		    "ERR NX and XX, GT or LT options at the same time "
		    "are not compatible");
		return;
	}
	if ((flags & EXP_GT) && (flags & EXP_LT)) {
		resp_reply_error(c,
		    "ERR GT and LT options at the same time are not "
		    "compatible");
		return;
	}
	if (!resp_arg_ll(&argv[2], &when)) {
		resp_reply_error(c,
		    "ERR value is not an integer or out of range");
		return;
	}
	now = loop_wall_ms();
	if (!ms && (when > LLONG_MAX / 1000 || when < LLONG_MIN / 1000)) {
		resp_reply_error(c, "ERR invalid expire time in '%s' command",
		    cmd);
		return;
	}
	if (!ms)
		when *= 1000;
	if (when > LLONG_MAX - now) {
		resp_reply_error(c, "ERR invalid expire time in '%s' command",
		    cmd);
		return;
	}
	when += now;
	expire_due(s);
	if (!key_exists(s, &argv[1]) ||
	    !resp_arg_str(&argv[1], name, sizeof(name))) {
		resp_reply_int(c, 0);
		return;
	}
	e = expiry_find(argv[1].p, argv[1].len);
	if (((flags & EXP_NX) && e != NULL) ||
	    ((flags & EXP_XX) && e == NULL) ||
	    ((flags & EXP_GT) && (e == NULL || when <= e->at)) ||
	    ((flags & EXP_LT) && e != NULL && when >= e->at)) {
		resp_reply_int(c, 0);
		return;
	}
	if (when <= now) {
		rc = key_remove(s, name);
		expiry_arm(s);
		if (rc != MQ_OK && rc != MQ_ENOSTREAM)
			resp_reply_mq_error(c, rc, cmd);
		else
			resp_reply_int(c, 1);
		return;
	}
	if ((rc = expiry_set(s, argv[1].p, argv[1].len, when)) != MQ_OK)
		resp_reply_mq_error(c, rc, cmd);
	else
		resp_reply_int(c, 1);
}

/* TTL key and PTTL key: -2 if missing, -1 without a deadline. */
void
resp_cmd_ttl(struct resp_client *c, size_t argc, const struct resp_arg *argv)
{
	struct server *s = c->conn->server;
	struct expiry *e;
	long long left;

	expire_due(s);
	if (!key_exists(s, &argv[1])) {
		resp_reply_int(c, -2);
		return;
	}
	if ((e = expiry_find(argv[1].p, argv[1].len)) == NULL) {
		resp_reply_int(c, -1);
		return;
	}
	left = e->at - loop_wall_ms();
	if (left < 0)
		left = 0;
	resp_reply_int(c, resp_arg_is(&argv[0],
	    "pttl") ? left : (left + 500) / 1000);
}

/* DBSIZE: the number of keys. */
void
resp_cmd_dbsize(struct resp_client *c, size_t argc, const struct resp_arg *argv)
{
	size_t expires;

	resp_reply_int(c, (long long)resp_keys_count(c->conn->server,
	    &expires));
}

/*
 * FLUSHALL [ASYNC|SYNC] and FLUSHDB [ASYNC|SYNC]: removes every stream
 * (both remove at once).  A stream that cannot be removed is reported
 * after the others were.
 */
void
resp_cmd_flushall(struct resp_client *c, size_t argc,
    const struct resp_arg *argv)
{
	struct server *s = c->conn->server;
	struct keylist k;
	size_t i;
	int rc, failed = MQ_OK;

	if (argc > 2 || (argc == 2 && !resp_arg_is(&argv[1], "async") &&
	    !resp_arg_is(&argv[1], "sync"))) {
		resp_reply_syntax_error(c);
		return;
	}
	if ((rc = keys_list(s, &k)) != MQ_OK) {
		resp_reply_mq_error(c, rc, "flushall");
		return;
	}
	for (i = 0; i < k.n; i++)
		if ((rc = key_remove(s, k.names[i])) != MQ_OK &&
		    rc != MQ_ENOSTREAM && failed == MQ_OK)
			failed = rc;
	keys_free(&k);
	while (!RB_EMPTY(&expiries))
		expiry_del(RB_MIN(expirytree, &expiries));
	expiry_arm(s);
	if (failed != MQ_OK)
		resp_reply_mq_error(c, failed, "flushall");
	else
		resp_reply_ok(c);
}
