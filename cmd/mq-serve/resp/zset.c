/*
 * zset.c - the sorted-set commands of the Redis door: ZADD,
 * ZINCRBY, ZREM, ZCARD, ZSCORE, ZMSCORE, ZRANK, ZREVRANK, ZCOUNT,
 * ZLEXCOUNT, ZRANGE and its older forms (ZREVRANGE, ZRANGEBYSCORE,
 * ZREVRANGEBYSCORE, ZRANGEBYLEX, ZREVRANGEBYLEX), ZPOPMIN, ZPOPMAX and
 * ZREMRANGEBYRANK/SCORE/LEX.
 *
 * Model: every sorted-set key is a libmq sorted set of the spool
 * (mq_zset_open), opened once through server_zset().  Since a set
 * exists only while it has members, a missing key and an empty set get
 * the same replies, as in Redis.  Arguments are checked in Redis 7.0's
 * order (src/t_zset.c) -- syntax, then numbers, then the key's type --
 * and replies are byte for byte those of Redis 7.0: scores as bulk
 * strings ("%.17g", "inf", "-inf") in RESP2 and doubles in RESP3,
 * member/score pairs flat in RESP2 and as two-element arrays in RESP3;
 * the differential test tests/interop/resp/zset.txt compares them.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "resp.h"

static const char err_float[] = "ERR value is not a valid float";
static const char err_range[] = "ERR min or max is not a float";
static const char err_lex[] = "ERR min or max not valid string range item";
static const char err_int[] = "ERR value is not an integer or out of range";

/* ------------------------------------------------------------------
 * Arguments
 * ---------------------------------------------------------------- */

/*
 * A NUL-terminated copy of the first 'len' bytes at 'p', in 'buf' if it
 * fits, else malloc'd (the caller frees it when it is not 'buf'); NULL
 * if out of memory.
 */
static char *
cstr(const char *p, size_t len, char *buf, size_t size)
{
	char *s = len < size ? buf : malloc(len + 1);

	if (s != NULL) {
		memcpy(s, p, len);
		s[len] = '\0';
	}
	return s;
}

/*
 * A score as ZADD and ZINCRBY read it (Redis's string2d): strtod(3) of
 * the whole argument, no leading blank, no NaN, no overflow; 0 if not.
 */
static int
zarg_score(const struct resp_arg *a, double *v)
{
	char buf[128], *s, *end;
	int ok;

	if (a->len == 0 || isspace((unsigned char)a->p[0]))
		return 0;
	if ((s = cstr(a->p, a->len, buf, sizeof(buf))) == NULL)
		return 0;
	errno = 0;
	*v = strtod(s, &end);
	ok = (size_t)(end - s) == a->len && !isnan(*v) &&
	    !(errno == ERANGE && (*v == HUGE_VAL || *v == -HUGE_VAL ||
	    fpclassify(*v) == FP_ZERO));
	if (s != buf)
		free(s);
	return ok;
}

/*
 * One end of a range by score, as Redis's zslParseRange reads it: "("
 * makes it exclusive, then strtod(3) up to the end of the C string (a
 * NUL ends it), no NaN; 0 if invalid.
 */
static int
zarg_score_bound(const struct resp_arg *a, struct mq_zbound *b)
{
	const char *p = a->p, *nul;
	size_t len = a->len;
	char buf[128], *s, *end;
	int ok;

	if ((nul = memchr(p, '\0', len)) != NULL)
		len = (size_t)(nul - p);
	memset(b, 0, sizeof(*b));
	if (len > 0 && p[0] == '(') {
		b->excl = 1;
		p++;
		len--;
	}
	if ((s = cstr(p, len, buf, sizeof(buf))) == NULL)
		return 0;
	b->score = strtod(s, &end);
	ok = *end == '\0' && !isnan(b->score);
	if (s != buf)
		free(s);
	return ok;
}

/* One end of a range by member bytes: "-", "+", "(bytes" or "[bytes". */
static int
zarg_lex_bound(const struct resp_arg *a, struct mq_zbound *b)
{
	memset(b, 0, sizeof(*b));
	if (a->len == 0)
		return 0;
	switch (a->p[0]) {
	case '-':
	case '+':
		/* Redis looks at the C string: "+" then a NUL is "+". */
		if (a->len > 1 && a->p[1] != '\0')
			return 0;
		b->inf = a->p[0] == '+' ? 1 : -1;
		b->excl = 1;
		return 1;
	case '(':
	case '[':
		b->excl = a->p[0] == '(';
		b->member = a->p + 1;
		b->len = a->len - 1;
		return 1;
	}
	return 0;
}

/* Both ends of a range 'by' score or member bytes; replies to an error. */
static int
zarg_bounds(struct resp_client *c, enum mq_zby by, const struct resp_arg *min,
    const struct resp_arg *max, struct mq_zrange *r)
{
	r->by = by;
	if (by == MQ_ZBY_SCORE) {
		if (zarg_score_bound(min, &r->min) &&
		    zarg_score_bound(max, &r->max))
			return 0;
		resp_reply_error(c, err_range);
	} else {
		if (zarg_lex_bound(min, &r->min) && zarg_lex_bound(max, &r->max))
			return 0;
		resp_reply_error(c, err_lex);
	}
	return -1;
}

/* Positions of a range by rank; replies to an error. */
static int
zarg_ranks(struct resp_client *c, const struct resp_arg *start,
    const struct resp_arg *stop, struct mq_zrange *r)
{
	long long a, b;

	if (!resp_arg_ll(start, &a) || !resp_arg_ll(stop, &b)) {
		resp_reply_error(c, err_int);
		return -1;
	}
	r->by = MQ_ZBY_RANK;
	r->start = a;
	r->stop = b;
	return 0;
}

/*
 * Opens sorted set 'key': 1, 0 if it does not exist (never with
 * 'create'; a key mq cannot hold does not exist either), or -1 after an
 * error reply (WRONGTYPE for a stream).
 */
static int
zkey(struct resp_client *c, const struct resp_arg *key, int create,
    mq_zset **z)
{
	int rc;

	/* The topic exchange's stream, even before it exists. */
	if (key->len == sizeof(MQ_TOPIC_EXCHANGE) - 1 &&
	    memcmp(key->p, MQ_TOPIC_EXCHANGE, key->len) == 0)
		rc = MQ_EWRONGTYPE;
	else
		rc = server_zset(c->conn->server, key->p, key->len, create, z);
	if (rc == MQ_OK)
		return 1;
	if (!create && (rc == MQ_ENOSTREAM || rc == MQ_EBADNAME))
		return 0;
	resp_reply_mq_error(c, rc, "zset");
	return -1;
}

/* After a change that may have emptied the set: a removed key has no TTL. */
static void
zchanged(struct resp_client *c, mq_zset *z)
{
	uint64_t n;

	if (mq_zset_card(z, &n) == MQ_OK && n == 0)
		resp_key_gone(c->conn->server, mq_zset_name(z));
}

/* ------------------------------------------------------------------
 * Replies
 * ---------------------------------------------------------------- */

/*
 * Members, with their scores if 'withscores': flat in RESP2, as
 * [member, score] pairs in RESP3 ('pairs' 0 keeps them flat in RESP3
 * too, as a single ZPOPMIN does).
 */
static void
reply_members(struct resp_client *c, const struct mq_zmember *m, size_t n,
    int withscores, int pairs)
{
	size_t i;

	pairs = withscores && pairs && c->proto == 3;
	resp_reply_array(c, withscores && !pairs ? 2 * n : n);
	for (i = 0; i < n; i++) {
		if (pairs)
			resp_reply_array(c, 2);
		resp_reply_bulk(c, m[i].member, m[i].len);
		if (withscores)
			resp_reply_double(c, m[i].score);
	}
}

static void
reply_empty(struct resp_client *c)
{
	resp_reply_array(c, 0);
}

/* ------------------------------------------------------------------
 * Adding and removing
 * ---------------------------------------------------------------- */

/* The options of ZADD before the first score; returns its index. */
static size_t
zadd_options(size_t argc, const struct resp_arg *argv, int *flags, int *ch)
{
	size_t i;

	for (i = 2; i < argc; i++) {
		if (resp_arg_is(&argv[i], "nx"))
			*flags |= MQ_ZADD_NX;
		else if (resp_arg_is(&argv[i], "xx"))
			*flags |= MQ_ZADD_XX;
		else if (resp_arg_is(&argv[i], "ch"))
			*ch = 1;
		else if (resp_arg_is(&argv[i], "incr"))
			*flags |= MQ_ZADD_INCR;
		else if (resp_arg_is(&argv[i], "gt"))
			*flags |= MQ_ZADD_GT;
		else if (resp_arg_is(&argv[i], "lt"))
			*flags |= MQ_ZADD_LT;
		else
			break;
	}
	return i;
}

/*
 * ZADD key [NX|XX] [GT|LT] [CH] [INCR] score member [score member ...]
 * and ZINCRBY key increment member (ZADD INCR without options).
 */
void
resp_cmd_zadd(struct resp_client *c, size_t argc, const struct resp_arg *argv)
{
	struct mq_zmember mbuf[16], *m = mbuf;
	struct mq_zadd res;
	size_t first, n, i;
	mq_zset *z;
	int incrby = resp_arg_is(&argv[0], "zincrby"), flags = 0, ch = 0, rc;
	const char *cmd = incrby ? "ZINCRBY" : "ZADD";

	if (incrby) {
		flags = MQ_ZADD_INCR;
		first = 2;
	} else
		first = zadd_options(argc, argv, &flags, &ch);
	n = argc - first;
	if (n == 0 || n % 2 == 1) {
		resp_reply_syntax_error(c);
		return;
	}
	n /= 2;
	if ((flags & MQ_ZADD_NX) && (flags & MQ_ZADD_XX)) {
		resp_reply_error(c,
		    "ERR XX and NX options at the same time are not "
		    "compatible");
		return;
	}
	if (((flags & MQ_ZADD_NX) && (flags & (MQ_ZADD_GT | MQ_ZADD_LT))) ||
	    ((flags & MQ_ZADD_GT) && (flags & MQ_ZADD_LT))) {
		resp_reply_error(c,
		    "ERR GT, LT, and/or NX options at the same time "
		    "are not compatible");
		return;
	}
	if ((flags & MQ_ZADD_INCR) && n > 1) {
		resp_reply_error(c, "ERR INCR option supports a single "
		    "increment-element pair");
		return;
	}
	if (n > sizeof(mbuf) / sizeof(mbuf[0]) &&
	    (m = reallocarray(NULL, n, sizeof(*m))) == NULL) {
		resp_reply_mq_error(c, MQ_ESYS, cmd);
		return;
	}
	for (i = 0; i < n; i++) {
		if (!zarg_score(&argv[first + 2 * i], &m[i].score)) {
			resp_reply_error(c, err_float);
			goto done;
		}
		m[i].member = argv[first + 2 * i + 1].p;
		m[i].len = argv[first + 2 * i + 1].len;
	}
	memset(&res, 0, sizeof(res));
	if ((rc = zkey(c, &argv[1], !(flags & MQ_ZADD_XX), &z)) < 0)
		goto done;
	/* XX on a missing key: nothing to do. */
	if (rc == 1 && (rc = mq_zset_add(z, m, n, flags, &res)) != MQ_OK) {
		if (rc == MQ_EINVAL)
			resp_reply_error(c,
			    "ERR resulting score is not a number " "(NaN)");
		else
			resp_reply_mq_error(c, rc, cmd);
		goto done;
	}
	/* Only an add that wrote says the disk takes appends. */
	if (res.added + res.updated > 0)
		server_appended(c->conn->server, MQ_OK);
	if (!(flags & MQ_ZADD_INCR))
		resp_reply_int(c,
		    (long long)(res.added + (ch ? res.updated : 0)));
	else if (res.done > 0)
		resp_reply_double(c, res.score);
	else
		resp_reply_null(c);
done:
	if (m != mbuf)
		free(m);
}

/* The members of argv[first..argc) as mq_zmembers, into 'm' or malloc'd. */
static struct mq_zmember *
zmembers(const struct resp_arg *argv, size_t first, size_t argc,
    struct mq_zmember *m, size_t room)
{
	size_t i, n = argc - first;

	if (n > room && (m = reallocarray(NULL, n, sizeof(*m))) == NULL)
		return NULL;
	for (i = 0; i < n; i++) {
		m[i].member = argv[first + i].p;
		m[i].len = argv[first + i].len;
		m[i].score = 0;
	}
	return m;
}

/* ZREM key member [member ...]: the number removed. */
void
resp_cmd_zrem(struct resp_client *c, size_t argc, const struct resp_arg *argv)
{
	struct mq_zmember mbuf[16], *m;
	uint64_t removed = 0;
	mq_zset *z;
	int rc;

	if ((rc = zkey(c, &argv[1], 0, &z)) <= 0) {
		if (rc == 0)
			resp_reply_int(c, 0);
		return;
	}
	if ((m = zmembers(argv, 2, argc, mbuf, 16)) == NULL) {
		resp_reply_mq_error(c, MQ_ESYS, "ZREM");
		return;
	}
	rc = mq_zset_rem(z, m, argc - 2, &removed);
	if (m != mbuf)
		free(m);
	if (rc != MQ_OK) {
		resp_reply_mq_error(c, rc, "ZREM");
		return;
	}
	if (removed > 0)
		zchanged(c, z);
	resp_reply_int(c, (long long)removed);
}

/* ZPOPMIN key [count] and ZPOPMAX key [count]. */
void
resp_cmd_zpop(struct resp_client *c, size_t argc, const struct resp_arg *argv)
{
	const struct mq_zmember *m;
	long long count = 1;
	mq_zset *z;
	size_t n;
	int max = resp_arg_is(&argv[0], "zpopmax"), rc;

	if (argc > 3) {
		resp_reply_syntax_error(c);
		return;
	}
	/* Redis gives the same error for what is not a number. */
	if (argc == 3 && (!resp_arg_ll(&argv[2], &count) || count < 0)) {
		resp_reply_error(c,
		    "ERR value is out of range, must be positive");
		return;
	}
	if ((rc = zkey(c, &argv[1], 0, &z)) <= 0) {
		if (rc == 0)
			reply_empty(c);
		return;
	}
	if (count == 0) {
		reply_empty(c);
		return;
	}
	if ((rc = mq_zset_pop(z, (size_t)count, max, &m, &n)) != MQ_OK) {
		resp_reply_mq_error(c, rc, max ? "ZPOPMAX" : "ZPOPMIN");
		return;
	}
	/* Without a count, one flat pair in RESP3 too. */
	reply_members(c, m, n, 1, argc == 3);
	if (n > 0)
		zchanged(c, z);	/* after the reply: 'm' is valid until then */
}

/* ZREMRANGEBYRANK/BYSCORE/BYLEX key min max: the number removed. */
void
resp_cmd_zremrange(struct resp_client *c, size_t argc,
    const struct resp_arg *argv)
{
	struct mq_zrange r;
	uint64_t removed;
	mq_zset *z;
	enum mq_zby by = resp_arg_is(&argv[0],
	    "zremrangebyrank") ? MQ_ZBY_RANK :
	    resp_arg_is(&argv[0],
	    "zremrangebyscore") ? MQ_ZBY_SCORE : MQ_ZBY_LEX;
	int rc;

	memset(&r, 0, sizeof(r));
	if (by == MQ_ZBY_RANK) {
		if (zarg_ranks(c, &argv[2], &argv[3], &r) == -1)
			return;
	} else if (zarg_bounds(c, by, &argv[2], &argv[3], &r) == -1)
		return;
	if ((rc = zkey(c, &argv[1], 0, &z)) <= 0) {
		if (rc == 0)
			resp_reply_int(c, 0);
		return;
	}
	if ((rc = mq_zset_remrange(z, &r, &removed)) != MQ_OK) {
		resp_reply_mq_error(c, rc, "ZREMRANGE");
		return;
	}
	if (removed > 0)
		zchanged(c, z);
	resp_reply_int(c, (long long)removed);
}

/* ------------------------------------------------------------------
 * Looking
 * ---------------------------------------------------------------- */

/* ZCARD key. */
void
resp_cmd_zcard(struct resp_client *c, size_t argc, const struct resp_arg *argv)
{
	uint64_t n = 0;
	mq_zset *z;
	int rc;

	if ((rc = zkey(c, &argv[1], 0, &z)) < 0)
		return;
	if (rc == 1 && (rc = mq_zset_card(z, &n)) != MQ_OK) {
		resp_reply_mq_error(c, rc, "ZCARD");
		return;
	}
	resp_reply_int(c, (long long)n);
}

/* ZSCORE key member and ZMSCORE key member [member ...]. */
void
resp_cmd_zscore(struct resp_client *c, size_t argc, const struct resp_arg *argv)
{
	struct mq_zmember mbuf[16], *m;
	double sbuf[16], *scores = sbuf;
	size_t i, n = argc - 2;
	mq_zset *z;
	int multi = resp_arg_is(&argv[0], "zmscore"), rc;

	if ((rc = zkey(c, &argv[1], 0, &z)) < 0)
		return;
	if ((m = zmembers(argv, 2, argc, mbuf, 16)) == NULL ||
	    (n > 16 && (scores = reallocarray(NULL, n, sizeof(*scores))) ==
	    NULL)) {
		resp_reply_mq_error(c, MQ_ESYS, "ZSCORE");
		goto done;
	}
	for (i = 0; i < n; i++)
		scores[i] = NAN;
	if (rc == 1 && (rc = mq_zset_score(z, m, n, scores)) != MQ_OK) {
		resp_reply_mq_error(c, rc, "ZSCORE");
		goto done;
	}
	if (multi)
		resp_reply_array(c, n);
	for (i = 0; i < n; i++)
		if (isnan(scores[i]))
			resp_reply_null(c);
		else
			resp_reply_double(c, scores[i]);
done:
	if (m != mbuf)
		free(m);
	if (scores != sbuf)
		free(scores);
}

/* ZRANK key member and ZREVRANK key member: the rank, or null. */
void
resp_cmd_zrank(struct resp_client *c, size_t argc, const struct resp_arg *argv)
{
	uint64_t rank;
	mq_zset *z;
	int reverse = resp_arg_is(&argv[0], "zrevrank"), rc;

	if ((rc = zkey(c, &argv[1], 0, &z)) <= 0) {
		if (rc == 0)
			resp_reply_null(c);
		return;
	}
	rc = mq_zset_rank(z, argv[2].p, argv[2].len, reverse, &rank);
	if (rc == MQ_ENOMSG)
		resp_reply_null(c);
	else if (rc != MQ_OK)
		resp_reply_mq_error(c, rc, "ZRANK");
	else
		resp_reply_int(c, (long long)rank);
}

/* ZCOUNT key min max and ZLEXCOUNT key min max. */
void
resp_cmd_zcount(struct resp_client *c, size_t argc, const struct resp_arg *argv)
{
	struct mq_zrange r;
	uint64_t n = 0;
	mq_zset *z;
	int rc;

	memset(&r, 0, sizeof(r));
	if (zarg_bounds(c, resp_arg_is(&argv[0], "zlexcount") ? MQ_ZBY_LEX :
	    MQ_ZBY_SCORE, &argv[2], &argv[3], &r) == -1)
		return;
	if ((rc = zkey(c, &argv[1], 0, &z)) < 0)
		return;
	if (rc == 1 && (rc = mq_zset_count(z, &r, &n)) != MQ_OK) {
		resp_reply_mq_error(c, rc, "ZCOUNT");
		return;
	}
	resp_reply_int(c, (long long)n);
}

/* The forms of ZRANGE: what each fixes (-1: chosen by the options). */
static const struct {
	const char	*name;
	int		 by, rev;
} zrange_forms[] = {
	{ "zrange",		-1,		-1 },
	{ "zrevrange",		MQ_ZBY_RANK,	1 },
	{ "zrangebyscore",	MQ_ZBY_SCORE,	0 },
	{ "zrevrangebyscore",	MQ_ZBY_SCORE,	1 },
	{ "zrangebylex",	MQ_ZBY_LEX,	0 },
	{ "zrevrangebylex",	MQ_ZBY_LEX,	1 },
};

/*
 * ZRANGE key min max [BYSCORE|BYLEX] [REV] [WITHSCORES] [LIMIT offset
 * count], and the older forms, which fix what it is by and the order.
 * As Redis: the options in any order, LIMIT only by score or bytes,
 * WITHSCORES not by bytes, min and max swapped when reversed by score or
 * bytes, a missing key an empty array.
 */
void
resp_cmd_zrange(struct resp_client *c, size_t argc, const struct resp_arg *argv)
{
	const struct resp_arg *min = &argv[2], *max = &argv[3];
	const struct mq_zmember *m;
	struct mq_zrange r;
	long long offset = 0, limit = -1;
	int withscores = 0, by = -1, rev = -1, rc;
	mq_zset *z;
	size_t i, n;

	for (i = 0; i < sizeof(zrange_forms) / sizeof(zrange_forms[0]); i++)
		if (resp_arg_is(&argv[0], zrange_forms[i].name)) {
			by = zrange_forms[i].by;
			rev = zrange_forms[i].rev;
		}

	for (i = 4; i < argc; i++) {
		if (resp_arg_is(&argv[i], "withscores"))
			withscores = 1;
		else if (resp_arg_is(&argv[i], "limit") && argc - i - 1 >= 2) {
			if (!resp_arg_ll(&argv[i + 1], &offset) ||
			    !resp_arg_ll(&argv[i + 2], &limit)) {
				resp_reply_error(c, err_int);
				return;
			}
			i += 2;
		} else if (rev == -1 && resp_arg_is(&argv[i], "rev"))
			rev = 1;
		else if (by == -1 && resp_arg_is(&argv[i], "bylex"))
			by = MQ_ZBY_LEX;
		else if (by == -1 && resp_arg_is(&argv[i], "byscore"))
			by = MQ_ZBY_SCORE;
		else {
			resp_reply_syntax_error(c);
			return;
		}
	}
	if (rev == -1)
		rev = 0;
	if (by == -1)
		by = MQ_ZBY_RANK;
	if (limit != -1 && by == MQ_ZBY_RANK) {
		resp_reply_error(c,
		    "ERR syntax error, LIMIT is only supported in "
		    "combination with either BYSCORE or BYLEX");
		return;
	}
	if (withscores && by == MQ_ZBY_LEX) {
		resp_reply_error(c,
		    "ERR syntax error, WITHSCORES not supported in "
		    "combination with BYLEX");
		return;
	}
	memset(&r, 0, sizeof(r));
	r.reverse = rev;
	r.offset = offset;
	r.count = limit;
	if (by == MQ_ZBY_RANK) {
		if (zarg_ranks(c, min, max, &r) == -1)
			return;
	} else if (zarg_bounds(c, by, rev ? max : min, rev ? min : max,
	    &r) == -1)
		return;
	if ((rc = zkey(c, &argv[1], 0, &z)) <= 0) {
		if (rc == 0)
			reply_empty(c);
		return;
	}
	if ((rc = mq_zset_range(z, &r, &m, &n)) != MQ_OK) {
		resp_reply_mq_error(c, rc, "ZRANGE");
		return;
	}
	reply_members(c, m, n, withscores, 1);
}

/* ------------------------------------------------------------------
 * For the keyspace (keys.c)
 * ---------------------------------------------------------------- */

int
resp_zset_exists(struct server *s, const char *name, size_t len)
{
	uint64_t n;
	mq_zset *z;

	return server_zset(s, name, len, 0, &z) == MQ_OK &&
	    mq_zset_card(z, &n) == MQ_OK && n > 0;
}
