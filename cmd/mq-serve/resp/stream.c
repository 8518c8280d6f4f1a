/*
 * stream.c - the stream commands of the Redis door (XADD, XLEN,
 * XRANGE, XREVRANGE, XDEL, XTRIM, XSETID, XREAD, XREADGROUP) and the
 * blocking of XREAD/XREADGROUP.
 *
 * Model: every stream key is a libmq stream of the spool, opened once
 * through server_stream().  A Redis entry's field/value pairs are the
 * message's headers in order, except the first field named exactly
 * "body", which is its body (docs/mapping.md); resp_reply_entry() turns a
 * message back into fields.  Replies, their types and error texts are
 * those of Redis 7.0 (src/t_stream.c), which the differential tests in
 * tests/interop/ compare byte for byte.
 *
 * Redis keeps a stream in nodes of at most 100 entries
 * (stream-node-max-entries) and its '~' trimming removes whole nodes
 * only.  libmq has no nodes, so '~' is emulated: the entries are grouped
 * by offset / 100, which is where Redis's nodes start for a stream that
 * was only appended to with small entries, and whole groups are
 * trimmed under the same rules.  Large entries (Redis also closes a node
 * at 4096 bytes) and XDEL make Redis's nodes differ; then '~' trims a
 * little differently, but never below the count, as Redis promises.
 *
 * A blocked read keeps a copy of its arguments, with '$' replaced by the
 * id it stood for at the time, and is a waiter of the core
 * (core/waiters.c) on each of its streams: for entries after that id,
 * or for what its group may deliver.  The core runs it again when a
 * change, by any process, may serve it; a run that finds data replies
 * and unblocks; the first stream with data is served, with COUNT 1000
 * when none was given, as Redis does.  It waits until it is served,
 * times out or its client goes; a stream that does not exist yet is
 * waited on by name, and the core hears of its making.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "resp.h"

#define NODE_ENTRIES	100	/* Redis's stream-node-max-entries */
#define APPROX_LIMIT	(100 * NODE_ENTRIES)	/* '~' without LIMIT */
#define BLOCK_COUNT	1000	/* XREAD_BLOCKED_DEFAULT_COUNT */
#define READ_CHUNK	1024	/* group reads without COUNT, per call */

static const char err_badid[] =
    "ERR Invalid stream ID specified as stream command argument";

/* ------------------------------------------------------------------
 * Arguments and lookups shared with group.c.
 * ---------------------------------------------------------------- */

/*
 * Parses the 'len' bytes at 's' (a C string) as Redis's string2ll():
 * [-]digits, no leading zero but "0", within a long long.  Returns 0,
 * or -1.
 */
static int
strict_ll(const char *s, size_t len, long long *v)
{
	unsigned long long r = 0, lim;
	size_t i = 0;
	int neg = 0;

	if (len == 1 && s[0] == '0') {
		*v = 0;
		return 0;
	}
	if (len > 0 && s[0] == '-') {
		neg = 1;
		i = 1;
	}
	if (i >= len || s[i] < '1' || s[i] > '9')
		return -1;
	lim = neg ? (unsigned long long)LLONG_MAX + 1 : (unsigned long long)LLONG_MAX;
	for (; i < len; i++) {
		if (s[i] < '0' || s[i] > '9' || r > (lim - (unsigned)(s[i] - '0')) / 10)
			return -1;
		r = r * 10 + (unsigned)(s[i] - '0');
	}
	*v = neg ? (long long)(0 - r) : (long long)r;
	return 0;
}

/*
 * Parses an unsigned 64-bit number as Redis's string2ull() does: a
 * strict decimal first (a negative one is refused), else strtoull(3),
 * with its leading blanks and sign.  'len' bytes at 's', no NUL inside.
 * Returns 0, or -1.
 */
static int
redis_ull(const char *s, size_t len, uint64_t *v)
{
	char buf[128], *end;
	unsigned long long r;
	long long ll;

	if (len >= sizeof(buf))
		return -1;
	memcpy(buf, s, len);
	buf[len] = '\0';
	if (strict_ll(buf, len, &ll) == 0) {
		if (ll < 0)
			return -1;
		*v = (uint64_t)ll;
		return 0;
	}
	errno = 0;
	r = strtoull(buf, &end, 10);
	if (errno == EINVAL || errno == ERANGE || len == 0 || *end != '\0')
		return -1;
	*v = r;
	return 0;
}

/*
 * Parses the id at 's' ('len' bytes) as Redis's streamGenericParseID:
 * "-" and "+" unless 'strict', "ms" with seq 'missing_seq', "ms-seq",
 * and with 'partial' not NULL also "ms-*" (then '*partial' is 1).
 * Returns 0, or -1 for an invalid id.
 */
static int
parse_id(const char *s, size_t len, uint64_t missing_seq, int strict,
    int *partial, mq_id *id)
{
	const char *nul, *dash, *seq;
	size_t seqlen;

	if (len > 127)
		return -1;
	/* Redis reads the argument as a C string: a NUL ends it. */
	if ((nul = memchr(s, '\0', len)) != NULL)
		len = (size_t)(nul - s);
	if (partial != NULL)
		*partial = 0;
	if (len == 1 && (s[0] == '-' || s[0] == '+')) {
		if (strict)
			return -1;
		id->ms = id->seq = s[0] == '-' ? 0 : UINT64_MAX;
		return 0;
	}
	if ((dash = memchr(s, '-', len)) == NULL) {
		if (redis_ull(s, len, &id->ms) == -1)
			return -1;
		id->seq = missing_seq;
		return 0;
	}
	seq = dash + 1;
	seqlen = len - (size_t)(seq - s);
	if (redis_ull(s, (size_t)(dash - s), &id->ms) == -1)
		return -1;
	if (partial != NULL && seqlen == 1 && seq[0] == '*') {
		id->seq = 0;
		*partial = 1;
		return 0;
	}
	return redis_ull(seq, seqlen, &id->seq);
}

int
resp_xarg_id(struct resp_client *c, const struct resp_arg *a,
    uint64_t missing_seq, int strict, mq_id *id)
{
	if (parse_id(a->p, a->len, missing_seq, strict, NULL, id) == -1) {
		if (c != NULL)
			resp_reply_error(c, err_badid);
		return -1;
	}
	return 0;
}

int
resp_xarg_interval(struct resp_client *c, const struct resp_arg *a, int end,
    mq_id *id)
{
	uint64_t missing = end ? UINT64_MAX : 0;

	if (a->len > 1 && a->p[0] == '(') {
		if (parse_id(a->p + 1, a->len - 1, missing, 1, NULL, id) == -1) {
			resp_reply_error(c, err_badid);
			return -1;
		}
		if ((end ? mq_id_decr(id) : mq_id_incr(id)) != MQ_OK) {
			resp_reply_error(c,
			    end ? "ERR invalid end ID for the interval" :
			    "ERR invalid start ID for the interval");
			return -1;
		}
		return 0;
	}
	return resp_xarg_id(c, a, missing, 0, id);
}

int
resp_xarg_ll(struct resp_client *c, const struct resp_arg *a, const char *msg,
    long long *v)
{
	if (!resp_arg_ll(a, v)) {
		resp_reply_error(c, "ERR %s", msg != NULL ? msg :
		    "value is not an integer or out of range");
		return -1;
	}
	return 0;
}

int
resp_xstream(struct resp_client *c, const struct resp_arg *key, mq_stream **s)
{
	int rc;

	rc = server_stream(c->conn->server, key->p, key->len, 0, s);
	if (rc == MQ_OK)
		return 1;
	if (rc == MQ_ENOSTREAM || rc == MQ_EBADNAME)
		return 0;	/* a key mq cannot hold does not exist */
	resp_reply_mq_error(c, rc, "stream");
	return -1;
}

int
resp_xgroup_open(struct resp_client *c, mq_stream *s,
    const struct resp_arg *name, mq_group **g)
{
	int rc;

	rc = server_group(c->conn->server, s, name->p, name->len, g);
	if (rc == MQ_OK)
		return 1;
	if (rc == MQ_ENOGROUP || rc == MQ_EBADNAME)
		return 0;
	resp_reply_mq_error(c, rc, "group");
	return -1;
}

int64_t
resp_xnow_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ------------------------------------------------------------------
 * Copies of messages, for replies whose length is known at the end.
 * ---------------------------------------------------------------- */

struct msgvec {
	struct mq_msg	*v;
	void		**blocks;	/* what each copy points into */
	size_t		 n, cap;
	int		 rc;		/* a copy that failed, for collect() */
	/*
	 * 'large': collect() stops (and sets 'more') at an entry past
	 * RESP_LARGE_ITEMS or RESP_LARGE_BYTES of copies, for a reply that
	 * a cursor then produces (produce.c).
	 */
	int		 large, more;
	size_t		 bytes;
};

/*
 * Appends a deep copy of 'm' (one malloc'd block, mq_msg_copy).  A
 * deleted pending entry (body NULL, no headers) stays so.
 */
static int
msgvec_add(struct msgvec *mv, const struct mq_msg *m)
{
	unsigned char *block = NULL;
	size_t len = 0, size = 0, off;

	if (mv->n == mv->cap) {
		size_t ncap = mv->cap ? 2 * mv->cap : 16;
		struct mq_msg *nv;
		void **nb;

		if ((nv = reallocarray(mv->v, ncap, sizeof(*nv))) == NULL)
			return MQ_ESYS;
		mv->v = nv;
		if ((nb = reallocarray(mv->blocks, ncap, sizeof(*nb))) == NULL)
			return MQ_ESYS;
		mv->blocks = nb;
		mv->cap = ncap;
	}
	if (mq_msg_copy(m, &block, &len, &size, &off) != MQ_OK)
		return MQ_ESYS;
	mq_msg_at(block, off, &mv->v[mv->n]);
	mv->blocks[mv->n++] = block;
	mv->bytes += len;
	return MQ_OK;
}

static void
msgvec_free(struct msgvec *mv)
{
	size_t i;

	for (i = 0; i < mv->n; i++)
		free(mv->blocks[i]);
	free(mv->blocks);
	free(mv->v);
	memset(mv, 0, sizeof(*mv));
}

/* Writes the copies as an array of entries. */
static void
reply_msgvec(struct resp_client *c, const struct msgvec *mv)
{
	size_t i;

	resp_reply_array(c, mv->n);
	for (i = 0; i < mv->n; i++)
		resp_reply_entry(c, &mv->v[i]);
}

/* mq_range's callback: copies; a failed copy, or a large reply, stops the walk. */
static int
collect(const struct mq_msg *m, void *arg)
{
	struct msgvec *mv = arg;

	if (mv->large && (mv->n >= RESP_LARGE_ITEMS ||
	    mv->bytes >= RESP_LARGE_BYTES)) {
		mv->more = 1;
		return 1;
	}
	return (mv->rc = msgvec_add(mv, m)) == MQ_OK ? 0 : 1;
}

/* Copies the entries start..end (at most 'count', 0: all) into 'mv'. */
static int
range_collect(mq_stream *s, mq_id start, mq_id end, size_t count, int rev,
    struct msgvec *mv)
{
	int rc;

	mv->rc = MQ_OK;
	if ((rc = mq_range(s, start, end, count, rev, collect, mv)) != MQ_OK)
		return rc;
	return mv->rc;
}

/*
 * The entries start..end as a large reply: counted and pinned now, as
 * they are, and written as the client reads them (produce.c).
 */
static int
produce_range(struct resp_client *c, mq_stream *s, mq_id start, mq_id end,
    size_t count, int rev)
{
	struct resp_part *p;
	int rc;

	if ((p = calloc(1, sizeof(*p))) == NULL)
		return MQ_ESYS;
	if ((rc = mq_cursor_open(s, start, end, count, rev, &p->cursor,
	    &p->n)) != MQ_OK) {
		free(p);
		return rc;
	}
	return resp_produce_entries(c, p, 1, 0);
}

int
resp_xreply_range(struct resp_client *c, mq_stream *s, mq_id start, mq_id end,
    size_t count, int rev)
{
	struct msgvec mv = { .large = 1 };
	int rc;

	if ((rc = range_collect(s, start, end, count, rev, &mv)) == MQ_OK) {
		if (mv.more)
			rc = produce_range(c, s, start, end, count, rev);
		else
			reply_msgvec(c, &mv);
	}
	msgvec_free(&mv);
	return rc;
}

/* The entry 'id' as a reply; [id, nil] if it is gone. */
int
resp_xreply_one(struct resp_client *c, mq_stream *s, mq_id id)
{
	struct msgvec mv = { 0 };
	int rc;

	if ((rc = range_collect(s, id, id, 1, 0, &mv)) == MQ_OK) {
		if (mv.n == 1)
			resp_reply_entry(c, &mv.v[0]);
		else {
			resp_reply_array(c, 2);
			resp_reply_id(c, id);
			resp_reply_null_array(c);
		}
	}
	msgvec_free(&mv);
	return rc;
}

/* The id of the last entry that is not deleted (Redis's streamLastValidID). */
static int
last_valid_id(mq_stream *s, mq_id *id)
{
	struct msgvec mv = { 0 };
	mq_id zero = { 0, 0 };
	int rc;

	*id = zero;
	if ((rc = range_collect(s, zero, MQ_ID_LAST, 1, 1, &mv)) == MQ_OK &&
	    mv.n == 1)
		*id = mv.v[0].id;
	msgvec_free(&mv);
	return rc;
}

/* ------------------------------------------------------------------
 * Trimming: XADD's and XTRIM's options.
 * ---------------------------------------------------------------- */

enum trim_strategy { TRIM_NONE = 0, TRIM_MAXLEN, TRIM_MINID };

struct xadd_args {
	enum trim_strategy strategy;
	int		 approx;
	long long	 maxlen;
	mq_id		 minid;
	long long	 limit;		/* 0: none */
	int		 nomkstream;
	int		 id_given;
	struct mq_idspec spec;
	size_t		 idpos;		/* index of the id argument */
};

/*
 * After MAXLEN or MINID at argv[i]: an optional '~' (approximate) or '='
 * (exact) before the threshold.  Returns how many arguments it took.
 */
static size_t
trim_operator(struct xadd_args *a, const struct resp_arg *argv, size_t i,
    size_t more)
{
	const struct resp_arg *next = &argv[i + 1];

	a->approx = 0;
	if (more < 2 || next->len != 1)
		return 0;
	if (next->p[0] == '~') {
		a->approx = 1;
		return 1;
	}
	return next->p[0] == '=';
}

/*
 * Parses the options of XADD ('xadd' set) or XTRIM as Redis's
 * streamParseAddOrTrimArgsOrReply does, replying to errors.  Returns 0,
 * or -1 after an error reply.
 */
static int
parse_add_trim(struct resp_client *c, size_t argc, const struct resp_arg *argv,
    int xadd, struct xadd_args *a)
{
	static const char both[] = "ERR syntax error, MAXLEN and MINID "
	    "options at the same time are not compatible";
	size_t i, more;
	int limit_given = 0, partial;

	memset(a, 0, sizeof(*a));
	for (i = 2; i < argc; i++) {
		more = argc - 1 - i;
		if (xadd && argv[i].len == 1 && argv[i].p[0] == '*') {
			a->spec.kind = MQ_ID_AUTO;
			break;
		} else if (resp_arg_is(&argv[i], "maxlen") && more > 0) {
			if (a->strategy != TRIM_NONE) {
				resp_reply_error(c, both);
				return -1;
			}
			i += trim_operator(a, argv, i, more);
			if (resp_xarg_ll(c, &argv[i + 1], NULL,
			    &a->maxlen) == -1)
				return -1;
			if (a->maxlen < 0) {
				resp_reply_error(c,
				    "ERR The MAXLEN argument must be " ">= 0.");
				return -1;
			}
			i++;
			a->strategy = TRIM_MAXLEN;
		} else if (resp_arg_is(&argv[i], "minid") && more > 0) {
			if (a->strategy != TRIM_NONE) {
				resp_reply_error(c, both);
				return -1;
			}
			i += trim_operator(a, argv, i, more);
			if (resp_xarg_id(c, &argv[i + 1], 0, 1,
			    &a->minid) == -1)
				return -1;
			i++;
			a->strategy = TRIM_MINID;
		} else if (resp_arg_is(&argv[i], "limit") && more > 0) {
			if (resp_xarg_ll(c, &argv[i + 1], NULL,
			    &a->limit) == -1)
				return -1;
			if (a->limit < 0) {
				resp_reply_error(c,
				    "ERR The LIMIT argument must be " ">= 0.");
				return -1;
			}
			limit_given = 1;
			i++;
		} else if (xadd && resp_arg_is(&argv[i], "nomkstream")) {
			a->nomkstream = 1;
		} else if (xadd) {
			/* An id, or a syntax error reported as a bad id. */
			if (parse_id(argv[i].p, argv[i].len, 0, 1, &partial,
			    &a->spec.id) == -1) {
				resp_reply_error(c, err_badid);
				return -1;
			}
			a->spec.kind = partial ? MQ_ID_PARTIAL : MQ_ID_EXPLICIT;
			a->id_given = 1;
			break;
		} else {
			resp_reply_syntax_error(c);
			return -1;
		}
	}
	a->idpos = i;
	if (a->limit != 0 && a->strategy == TRIM_NONE) {
		resp_reply_error(c,
		    "ERR syntax error, LIMIT cannot be used without "
		    "specifying a trimming strategy");
		return -1;
	}
	if (!xadd && a->strategy == TRIM_NONE) {
		resp_reply_error(c,
		    "ERR syntax error, XTRIM must be called with a "
		    "trimming strategy");
		return -1;
	}
	if (limit_given) {
		if (!a->approx) {
			resp_reply_error(c,
			    "ERR syntax error, LIMIT cannot be used "
			    "without the special ~ option");
			return -1;
		}
	} else
		a->limit = a->approx ? APPROX_LIMIT : 0;
	return 0;
}

/*
 * The walk of an approximate trim over Redis's nodes (see the top):
 * the entries are counted node by node, and each node, once counted, is
 * removed or kept as Redis's streamTrim decides.
 */
struct approx {
	const struct xadd_args *a;
	uint64_t	 length;	/* entries left if the nodes so far go */
	uint64_t	 removed;	/* entries in the nodes that go */
	uint64_t	 node;		/* the node being counted */
	uint64_t	 entries;	/* its entries */
	mq_id		 first, last;	/* its first and last ids */
	int		 started;
	int		 stop;		/* the node counted last stays */
};

/* Decides about the node just counted; sets 'stop' if it stays. */
static void
approx_node(struct approx *ap)
{
	const struct xadd_args *a = ap->a;
	int remove;

	if (a->strategy == TRIM_MAXLEN && ap->length <= (uint64_t)a->maxlen) {
		ap->stop = 1;
		return;
	}
	if (a->limit != 0 && ap->removed + ap->entries > (uint64_t)a->limit) {
		ap->stop = 1;
		return;
	}
	if (a->strategy == TRIM_MAXLEN)
		remove = ap->length - ap->entries >= (uint64_t)a->maxlen;
	else
		remove = mq_id_cmp(ap->last, a->minid) < 0;
	if (!remove) {
		ap->stop = 1;
		return;
	}
	ap->length -= ap->entries;
	ap->removed += ap->entries;
}

static int
approx_walk(const struct mq_msg *m, void *arg)
{
	struct approx *ap = arg;
	uint64_t node = m->offset / NODE_ENTRIES;

	if (ap->started && node != ap->node) {
		approx_node(ap);
		if (ap->stop)
			return 1;
		ap->started = 0;
	}
	if (!ap->started) {
		ap->started = 1;
		ap->node = node;
		ap->entries = 0;
		ap->first = m->id;
	}
	ap->entries++;
	ap->last = m->id;
	return 0;
}

/*
 * Trims 's' as 'a' says (exactly, or by whole emulated nodes with '~');
 * '*removed' counts the entries that went.
 */
static int
trim_stream(mq_stream *s, const struct xadd_args *a, uint64_t *removed)
{
	struct mq_stream_info info;
	struct approx ap;
	mq_id zero = { 0, 0 }, cut;
	int rc;

	*removed = 0;
	if (!a->approx) {
		if (a->strategy == TRIM_MAXLEN)
			return mq_trim_maxlen(s, (uint64_t)a->maxlen, removed);
		return mq_trim_minid(s, a->minid, removed);
	}
	if ((rc = mq_stream_info(s, &info)) != MQ_OK)
		return rc;
	if (info.length == 0 || (a->strategy == TRIM_MAXLEN &&
	    info.length <= (uint64_t)a->maxlen))
		return MQ_OK;
	if (a->strategy == TRIM_MINID && mq_id_cmp(info.first_id, a->minid) >= 0)
		return MQ_OK;
	/*
	 * The usual case of XADD MAXLEN ~ N, a stream just over N with no
	 * deleted entries: the first node stays, which its size tells
	 * without reading it.
	 */
	if (a->strategy == TRIM_MAXLEN &&
	    info.length == info.next_offset - info.first_offset) {
		uint64_t end = (info.first_offset / NODE_ENTRIES + 1) *
		    NODE_ENTRIES;
		uint64_t first = (end < info.next_offset ? end :
		    info.next_offset) - info.first_offset;

		if (info.length - first < (uint64_t)a->maxlen ||
		    (a->limit != 0 && first > (uint64_t)a->limit))
			return MQ_OK;
	}
	memset(&ap, 0, sizeof(ap));
	ap.a = a;
	ap.length = info.length;
	if ((rc = mq_range(s, zero, MQ_ID_LAST, 0, 0, approx_walk, &ap)) !=
	    MQ_OK)
		return rc;
	if (!ap.started)
		return MQ_OK;
	if (!ap.stop) {
		/* The walk reached the end: the last node is decided too. */
		approx_node(&ap);
		if (!ap.stop) {
			/* Every node goes; what comes later stays. */
			cut = ap.last;
			if (mq_id_incr(&cut) != MQ_OK)
				return mq_trim_maxlen(s, 0, removed);
			return mq_trim_minid(s, cut, removed);
		}
	}
	/* The node counted last stays: what is before it goes. */
	if (ap.removed == 0)
		return MQ_OK;
	return mq_trim_minid(s, ap.first, removed);
}

/* ------------------------------------------------------------------
 * XADD, XLEN, XRANGE, XREVRANGE, XDEL, XTRIM, XSETID
 * ---------------------------------------------------------------- */


/*
 * The message of XADD's field-value pairs argv[fpos ..]: the first field
 * named "body" is the body, the others are headers, into 'h' ('nf' of
 * them, one per pair, is always enough).
 */
static void
xadd_msg(const struct resp_arg *argv, size_t fpos, size_t nf,
    struct mq_header *h, struct mq_msg *m)
{
	size_t i, nh = 0;
	int body = 0;

	memset(m, 0, sizeof(*m));
	m->body = "";
	for (i = 0; i < nf; i++) {
		const struct resp_arg *f = &argv[fpos + 2 * i];

		if (!body && f->len == 4 && memcmp(f->p, "body", 4) == 0) {
			body = 1;
			m->body = f[1].p;
			m->bodylen = f[1].len;
			continue;
		}
		h[nh].name = f->p;
		h[nh].namelen = f->len;
		h[nh].value = f[1].p;
		h[nh].valuelen = f[1].len;
		nh++;
	}
	m->headers = h;
	m->nheaders = nh;
}

/* XADD's reply for an append to 's' that returned 'rc' and 'id'. */
static void
xadd_reply(struct resp_client *c, mq_stream *s, int rc, mq_id id)
{
	struct mq_stream_info info;

	switch (rc) {
	case MQ_OK:
		resp_reply_id(c, id);
		break;
	case MQ_EIDSMALL:
		if (s != NULL && mq_stream_info(s, &info) == MQ_OK &&
		    mq_id_cmp(info.last_id, MQ_ID_LAST) == 0)
			resp_reply_error(c,
			    "ERR The stream has exhausted the last "
			    "possible ID, unable to add more items");
		else
			resp_reply_error(c,
			    "ERR The ID specified in XADD is equal "
			    "or smaller than the target stream top item");
		break;
	case MQ_ETOOBIG:
		resp_reply_error(c, "ERR Elements are too large to be stored");
		break;
	default:
		resp_reply_mq_error(c, rc, "XADD");
		break;
	}
}

void
resp_cmd_xadd(struct resp_client *c, size_t argc, const struct resp_arg *argv)
{
	struct xadd_args a;
	struct mq_header hbuf[16], *h = hbuf;
	struct mq_msg m;
	mq_stream *s;
	mq_id id = { 0, 0 };
	size_t fpos, nf;
	uint64_t removed;
	int rc;

	if (parse_add_trim(c, argc, argv, 1, &a) == -1)
		return;
	fpos = a.idpos + 1;
	if (fpos > argc || argc - fpos < 2 || (argc - fpos) % 2 == 1) {
		resp_reply_wrong_arity(c, "xadd");
		return;
	}
	if (a.id_given && a.spec.kind == MQ_ID_EXPLICIT &&
	    a.spec.id.ms == 0 && a.spec.id.seq == 0) {
		resp_reply_error(c,
		    "ERR The ID specified in XADD must be greater " "than 0-0");
		return;
	}
	rc = server_stream(c->conn->server, argv[1].p, argv[1].len,
	    !a.nomkstream, &s);
	if (rc == MQ_ENOSTREAM && a.nomkstream) {
		resp_reply_null(c);
		return;
	}
	if (rc != MQ_OK) {
		resp_reply_mq_error(c, rc, "XADD");
		return;
	}

	nf = (argc - fpos) / 2;
	if (nf > sizeof(hbuf) / sizeof(hbuf[0]) &&
	    (h = reallocarray(NULL, nf, sizeof(*h))) == NULL) {
		resp_reply_mq_error(c, MQ_ESYS, "XADD");
		return;
	}
	xadd_msg(argv, fpos, nf, h, &m);
	rc = mq_append(s, &m, 1, &a.spec, &id);
	if (h != hbuf)
		free(h);
	xadd_reply(c, s, rc, id);
	if (rc != MQ_OK)
		return;
	/* The entry is in: a trim that fails is only logged. */
	if (a.strategy != TRIM_NONE &&
	    (rc = trim_stream(s, &a, &removed)) != MQ_OK)
		server_log(c->conn->server, "XADD %s: trim: %s",
		    mq_stream_name(s), mq_strerror(rc));
}

/* The flush of a queued XADD (see appendq.c): its reply. */
static void
xadd_done(void *arg, mq_stream *s, int rc, mq_id id, long long cookie,
    const struct mq_msg *m)
{
	struct resp_client *c = arg;

	xadd_reply(c, s, rc, id);
}

int
resp_xadd_queue(struct resp_client *c, size_t argc,
    const struct resp_arg *argv)
{
	struct mq_header hbuf[16];
	struct mq_msg m;
	mq_wal_name *key;
	mq_stream *s;
	size_t nf;

	/* Only the plain form: XADD key * field value [field value ...]. */
	if (argc < 5 || (argc - 3) % 2 == 1 || argv[2].len != 1 ||
	    argv[2].p[0] != '*' || (nf = (argc - 3) / 2) > 16)
		return 0;
	xadd_msg(argv, 3, nf, hbuf, &m);
	/*
	 * A stream noted before, or one that does not exist yet: through the
	 * write-ahead log, without opening (or making) it.
	 */
	if (server_loggable(c->conn->server, argv[1].p, argv[1].len, 1, &key))
		return appendq_add_logged(c->conn->server, argv[1].p,
		    argv[1].len, key, &m, xadd_done, c, 0) == MQ_OK;
	if (server_stream(c->conn->server, argv[1].p, argv[1].len, 1, &s) !=
	    MQ_OK)
		return 0;	/* resp_cmd_xadd says why */
	(void)mq_wal_note(s);
	return appendq_add(c->conn->server, s, &m, xadd_done, c, 0) == MQ_OK;
}

void
resp_cmd_xlen(struct resp_client *c, size_t argc, const struct resp_arg *argv)
{
	struct mq_stream_info info;
	mq_stream *s;
	int rc;

	if ((rc = resp_xstream(c, &argv[1], &s)) <= 0) {
		if (rc == 0)
			resp_reply_int(c, 0);
		return;
	}
	if ((rc = mq_stream_info(s, &info)) != MQ_OK) {
		resp_reply_mq_error(c, rc, "XLEN");
		return;
	}
	resp_reply_int(c, (long long)info.length);
}

/* XRANGE key start end [COUNT n] / XREVRANGE key end start [COUNT n]. */
static void
xrange_generic(struct resp_client *c, size_t argc, const struct resp_arg *argv,
    int rev)
{
	const struct resp_arg *sarg = rev ? &argv[3] : &argv[2];
	const struct resp_arg *earg = rev ? &argv[2] : &argv[3];
	long long count = -1;
	mq_id start, end;
	mq_stream *s;
	size_t j;
	int rc;

	if (resp_xarg_interval(c, sarg, 0, &start) == -1 ||
	    resp_xarg_interval(c, earg, 1, &end) == -1)
		return;
	for (j = 4; j < argc; j++) {
		if (resp_arg_is(&argv[j], "count") && argc - j - 1 >= 1) {
			if (resp_xarg_ll(c, &argv[j + 1], NULL, &count) == -1)
				return;
			if (count < 0)
				count = 0;
			j++;
		} else {
			resp_reply_syntax_error(c);
			return;
		}
	}
	if ((rc = resp_xstream(c, &argv[1], &s)) <= 0) {
		if (rc == 0)
			resp_reply_array(c, 0);
		return;
	}
	if (count == 0) {
		resp_reply_null_array(c);
		return;
	}
	if ((rc = resp_xreply_range(c, s, start, end,
	    count == -1 ? 0 : (size_t)count, rev)) != MQ_OK)
		resp_reply_mq_error(c, rc, rev ? "XREVRANGE" : "XRANGE");
}

void
resp_cmd_xrange(struct resp_client *c, size_t argc, const struct resp_arg *argv)
{
	xrange_generic(c, argc, argv, 0);
}

void
resp_cmd_xrevrange(struct resp_client *c, size_t argc,
    const struct resp_arg *argv)
{
	xrange_generic(c, argc, argv, 1);
}

void
resp_cmd_xdel(struct resp_client *c, size_t argc, const struct resp_arg *argv)
{
	mq_stream *s;
	mq_id *ids;
	size_t i, n = argc - 2, deleted;
	int rc;

	if ((rc = resp_xstream(c, &argv[1], &s)) <= 0) {
		if (rc == 0)
			resp_reply_int(c, 0);
		return;
	}
	if ((ids = reallocarray(NULL, n, sizeof(*ids))) == NULL) {
		resp_reply_mq_error(c, MQ_ESYS, "XDEL");
		return;
	}
	for (i = 0; i < n; i++)
		if (resp_xarg_id(c, &argv[2 + i], 0, 1, &ids[i]) == -1) {
			free(ids);
			return;
		}
	rc = mq_delete(s, ids, n, &deleted);
	free(ids);
	if (rc != MQ_OK)
		resp_reply_mq_error(c, rc, "XDEL");
	else
		resp_reply_int(c, (long long)deleted);
}

void
resp_cmd_xtrim(struct resp_client *c, size_t argc, const struct resp_arg *argv)
{
	struct xadd_args a;
	mq_stream *s;
	uint64_t removed;
	int rc;

	if (parse_add_trim(c, argc, argv, 0, &a) == -1)
		return;
	if ((rc = resp_xstream(c, &argv[1], &s)) <= 0) {
		if (rc == 0)
			resp_reply_int(c, 0);
		return;
	}
	if ((rc = trim_stream(s, &a, &removed)) != MQ_OK)
		resp_reply_mq_error(c, rc, "XTRIM");
	else
		resp_reply_int(c, (long long)removed);
}

/* XSETID key last-id [ENTRIESADDED n] [MAXDELETEDID id] */
void
resp_cmd_xsetid(struct resp_client *c, size_t argc, const struct resp_arg *argv)
{
	struct mq_stream_info info;
	long long added = -1;
	mq_id id, maxdel = { 0, 0 }, top;
	mq_stream *s;
	size_t i;
	int rc;

	if (resp_xarg_id(c, &argv[2], 0, 1, &id) == -1)
		return;
	for (i = 3; i < argc; i += 2) {
		if (resp_arg_is(&argv[i], "entriesadded") && i + 1 < argc) {
			if (resp_xarg_ll(c, &argv[i + 1], NULL, &added) == -1)
				return;
			if (added < 0) {
				resp_reply_error(c,
				    "ERR entries_added must be positive");
				return;
			}
		} else if (resp_arg_is(&argv[i], "maxdeletedid") &&
		    i + 1 < argc) {
			if (resp_xarg_id(c, &argv[i + 1], 0, 1, &maxdel) == -1)
				return;
			if (mq_id_cmp(id, maxdel) < 0) {
				resp_reply_error(c,
				    "ERR The ID specified in XSETID is "
				    "smaller than the provided max_deleted_entry_id");
				return;
			}
		} else {
			resp_reply_syntax_error(c);
			return;
		}
	}
	if ((rc = resp_xstream(c, &argv[1], &s)) <= 0) {
		if (rc == 0)
			resp_reply_error(c, "ERR no such key");
		return;
	}
	if ((rc = mq_stream_info(s, &info)) != MQ_OK) {
		resp_reply_mq_error(c, rc, "XSETID");
		return;
	}
	if (info.length > 0) {
		if ((rc = last_valid_id(s, &top)) != MQ_OK) {
			resp_reply_mq_error(c, rc, "XSETID");
			return;
		}
		if (mq_id_cmp(id, top) < 0) {
			resp_reply_error(c,
			    "ERR The ID specified in XSETID is smaller "
			    "than the target stream top item");
			return;
		}
		if (added != -1 && info.length > (uint64_t)added) {
			resp_reply_error(c,
			    "ERR The entries_added specified in XSETID "
			    "is smaller than the target stream length");
			return;
		}
	}
	rc = mq_stream_setid(s, id, added == -1 ? UINT64_MAX : (uint64_t)added,
	    maxdel);
	if (rc == MQ_EIDSMALL)
		/* Below a deleted entry's id: libmq keeps ids increasing. */
		resp_reply_error(c,
		    "ERR The ID specified in XSETID is smaller than "
		    "the target stream top item");
	else if (rc == MQ_EINVAL)
		resp_reply_error(c,
		    "ERR The entries_added specified in XSETID is "
		    "smaller than the target stream length");
	else if (rc != MQ_OK)
		resp_reply_mq_error(c, rc, "XSETID");
	else
		resp_reply_ok(c);
}

/* ------------------------------------------------------------------
 * XREAD and XREADGROUP
 * ---------------------------------------------------------------- */

enum { ID_AFTER = 0, ID_NEW, ID_DOLLAR };

/* One parsed XREAD / XREADGROUP. */
struct xread {
	int			 group;		/* XREADGROUP */
	long long		 count;		/* 0: no limit */
	long long		 timeout;	/* ms, -1: no BLOCK, 0: for ever */
	int			 noack;
	const struct resp_arg	*gname, *cname;
	size_t			 first;		/* index of the first key */
	size_t			 n;		/* keys */
	mq_id			*ids;		/* one per key */
	int			*kind;		/* ID_* */
};

static void
xread_free(struct xread *x)
{
	free(x->ids);
	free(x->kind);
}

/*
 * Parses the options of XREAD ('group' 0) or XREADGROUP up to STREAMS,
 * as Redis's xreadCommand does.  Returns 0, or -1 after an error reply.
 */
static int
xread_parse(struct resp_client *c, size_t argc, const struct resp_arg *argv,
    int group, struct xread *x)
{
	size_t i, more;

	memset(x, 0, sizeof(*x));
	x->group = group;
	x->timeout = -1;
	for (i = 1; i < argc; i++) {
		more = argc - i - 1;
		if (resp_arg_is(&argv[i], "block") && more > 0) {
			i++;
			if (resp_xarg_ll(c, &argv[i],
			    "timeout is not an integer or "
			    "out of range", &x->timeout) == -1)
				return -1;
			if (x->timeout < 0) {
				resp_reply_error(c, "ERR timeout is negative");
				return -1;
			}
		} else if (resp_arg_is(&argv[i], "count") && more > 0) {
			i++;
			if (resp_xarg_ll(c, &argv[i], NULL, &x->count) == -1)
				return -1;
			if (x->count < 0)
				x->count = 0;
		} else if (resp_arg_is(&argv[i], "streams") && more > 0) {
			x->first = i + 1;
			if ((argc - x->first) % 2 != 0) {
				resp_reply_error(c,
				    "ERR Unbalanced XREAD list of "
				    "streams: for each stream key an ID or '$' "
				    "must be specified.");
				return -1;
			}
			x->n = (argc - x->first) / 2;
			break;
		} else if (resp_arg_is(&argv[i], "group") && more >= 2) {
			if (!group) {
				resp_reply_error(c,
				    "ERR The GROUP option is only "
				    "supported by XREADGROUP. You called XREAD "
				    "instead.");
				return -1;
			}
			x->gname = &argv[i + 1];
			x->cname = &argv[i + 2];
			i += 2;
		} else if (resp_arg_is(&argv[i], "noack")) {
			if (!group) {
				resp_reply_error(c,
				    "ERR The NOACK option is only "
				    "supported by XREADGROUP. You called XREAD "
				    "instead.");
				return -1;
			}
			x->noack = 1;
		} else {
			resp_reply_syntax_error(c);
			return -1;
		}
	}
	if (x->first == 0) {
		resp_reply_syntax_error(c);
		return -1;
	}
	if (group && x->gname == NULL) {
		resp_reply_error(c, "ERR Missing GROUP option for XREADGROUP");
		return -1;
	}
	if ((x->ids = calloc(x->n, sizeof(*x->ids))) == NULL ||
	    (x->kind = calloc(x->n, sizeof(*x->kind))) == NULL) {
		resp_reply_mq_error(c, MQ_ESYS, "XREAD");
		return -1;
	}
	return 0;
}

static void
reply_nogroup_read(struct resp_client *c, const struct resp_arg *key,
    const struct resp_arg *group)
{
	resp_reply_error(c,
	    "NOGROUP No such key '%.*s' or consumer group '%.*s' "
	    "in XREADGROUP with GROUP option", (int)key->len, key->p,
	    (int)group->len, group->p);
}

/*
 * Resolves the ids of a parsed read, stream by stream in Redis's order:
 * the group must exist, '$' is the top id now (XREAD only), '>' means new
 * entries (XREADGROUP only).  Returns 0, or -1 after an error reply.
 */
static int
xread_ids(struct resp_client *c, const struct resp_arg *argv, struct xread *x)
{
	struct mq_stream_info info;
	const struct resp_arg *key, *id;
	mq_stream *s;
	mq_group *g;
	size_t i;
	int rc;

	for (i = 0; i < x->n; i++) {
		key = &argv[x->first + i];
		id = &argv[x->first + x->n + i];
		if ((rc = resp_xstream(c, key, &s)) < 0)
			return -1;
		if (x->group) {
			if (rc == 0 || (rc = resp_xgroup_open(c, s, x->gname,
			    &g)) == 0) {
				reply_nogroup_read(c, key, x->gname);
				return -1;
			}
			if (rc < 0)
				return -1;
		}
		if (id->len == 1 && id->p[0] == '$') {
			if (x->group) {
				resp_reply_error(c,
				    "ERR The $ ID is meaningless in "
				    "the context of XREADGROUP: you want to read "
				    "the history of this consumer by specifying a "
				    "proper ID, or use the > ID to get new "
				    "messages. The $ ID would just return an "
				    "empty result set.");
				return -1;
			}
			x->kind[i] = ID_DOLLAR;
			x->ids[i].ms = x->ids[i].seq = 0;
			if (rc == 1) {
				if ((rc = mq_stream_info(s, &info)) != MQ_OK) {
					resp_reply_mq_error(c, rc, "XREAD");
					return -1;
				}
				x->ids[i] = info.last_id;
			}
		} else if (id->len == 1 && id->p[0] == '>') {
			if (!x->group) {
				resp_reply_error(c,
				    "ERR The > ID can be specified "
				    "only when calling XREADGROUP using the GROUP "
				    "<group> <consumer> option.");
				return -1;
			}
			x->kind[i] = ID_NEW;
		} else {
			x->kind[i] = ID_AFTER;
			if (resp_xarg_id(c, id, 0, 1, &x->ids[i]) == -1)
				return -1;
		}
	}
	return 0;
}

struct consumer_find {
	const char	*name;
	int		 found;
};

static int
consumer_match(const struct mq_consumer_info *ci, void *arg)
{
	struct consumer_find *cf = arg;

	if (strcmp(ci->name, cf->name) == 0) {
		cf->found = 1;
		return 1;
	}
	return 0;
}

/*
 * Whether a '>' read of 'g' by 'consumer' should be tried: Redis 7.0
 * serves (and creates the consumer) only when the stream has entries
 * after the group's last delivered id, and libmq's read creates the
 * consumer whatever it finds.  An existing consumer is simply read for;
 * else a group with pending entries (some may have been handed back by
 * mq-nack) or entries past its cursor.
 */
static int
group_worth_reading(mq_stream *s, mq_group *g, const char *consumer, int *yes)
{
	struct consumer_find cf = { consumer, 0 };
	struct mq_stream_info si;
	struct mq_group_info gi;
	int rc;

	*yes = 1;
	if ((rc = mq_group_consumers(g, consumer_match, &cf)) != MQ_OK)
		return rc;
	if (cf.found)
		return MQ_OK;
	if ((rc = mq_group_info(g, &gi)) != MQ_OK ||
	    (rc = mq_stream_info(s, &si)) != MQ_OK)
		return rc;
	*yes = gi.pending > 0 ||
	    (si.length > 0 && mq_id_cmp(si.last_id, gi.last_delivered) > 0);
	return MQ_OK;
}

/*
 * Reads for consumer 'cname' of group 'g' into 'mv': new entries
 * ('kind' ID_NEW) or its own pending entries after 'after', at most
 * 'count' (0: all).
 */
static int
group_collect(mq_stream *s, mq_group *g, const char *cname, int kind,
    mq_id after, size_t count, int noack, struct msgvec *mv)
{
	struct mq_msg *msgs;
	size_t want, got, i;
	int rc = MQ_OK, yes;

	if (kind == ID_NEW) {
		if ((rc = group_worth_reading(s, g, cname, &yes)) != MQ_OK ||
		    !yes)
			return rc;
	}
	want = count == 0 || count > READ_CHUNK ? READ_CHUNK : count;
	if ((msgs = reallocarray(NULL, want, sizeof(*msgs))) == NULL)
		return MQ_ESYS;
	for (;;) {
		if (count != 0 && count - mv->n < want)
			want = count - mv->n;
		if (kind == ID_NEW)
			rc = mq_group_read(g, cname, want, noack, msgs, &got);
		else
			rc = mq_group_history(g, cname, after, want, msgs, &got);
		if (rc != MQ_OK)
			break;
		for (i = 0; i < got && rc == MQ_OK; i++)
			rc = msgvec_add(mv, &msgs[i]);
		if (rc != MQ_OK || got < want || (count != 0 && mv->n >= count))
			break;
		if (got > 0)
			after = msgs[got - 1].id;
	}
	free(msgs);
	return rc;
}

/* What one stream gave to a read. */
struct served {
	const struct resp_arg	*key;
	struct msgvec		 mv;
	mq_stream		*s;		/* a plain read: from 'start' on */
	mq_id			 start;
};

/*
 * The plain read of the 'k' streams of 'sv', one of which has more than
 * a small reply holds, as a large reply: each counted and pinned now,
 * from its 'start', and written as the client reads (produce.c).
 */
static int
xread_produce(struct resp_client *c, struct served *sv, size_t k,
    size_t count)
{
	struct resp_part *parts, *p;
	size_t i, n = 0;
	int rc = MQ_OK;

	if ((parts = calloc(k, sizeof(*parts))) == NULL)
		return MQ_ESYS;
	for (i = 0; i < k && rc == MQ_OK; i++) {
		p = &parts[n];
		rc = mq_cursor_open(sv[i].s, sv[i].start, MQ_ID_LAST, count, 0,
		    &p->cursor, &p->n);
		if (rc != MQ_OK || p->n == 0) {
			/* Trimmed since it was read: not in the reply. */
			mq_cursor_close(p->cursor);
			p->cursor = NULL;
			continue;
		}
		n++;
		if ((p->key = malloc(sv[i].key->len + 1)) == NULL) {
			rc = MQ_ESYS;
			break;
		}
		memcpy(p->key, sv[i].key->p, sv[i].key->len);
		p->keylen = sv[i].key->len;
	}
	if (rc != MQ_OK || n == 0) {
		resp_parts_free(parts, n);
		if (rc == MQ_OK)
			resp_reply_null_array(c);
		return rc;
	}
	return resp_produce_entries(c, parts, n, 1);
}

/*
 * Serves a parsed read: for each stream, the entries after its id (or
 * the group's new entries, or the consumer's history).  'wake': a
 * blocked read run again, which serves only the first stream with data,
 * and reads at most BLOCK_COUNT without COUNT.  Returns 1 if it replied,
 * 0 if nothing was there (no reply).
 */
static int
xread_serve(struct resp_client *c, const struct resp_arg *argv,
    struct xread *x, int wake)
{
	struct served *sv;
	char cname[MQ_NAME_MAX + 1];
	mq_stream *s;
	mq_group *g = NULL;
	size_t i, k = 0, count;
	int rc = MQ_OK, replied = 0;

	count = x->count != 0 ? (size_t)x->count : wake ? BLOCK_COUNT : 0;
	if (x->group && !resp_arg_str(x->cname, cname, sizeof(cname))) {
		/* A consumer name libmq cannot keep. */
		resp_reply_mq_error(c, MQ_EBADNAME, "XREADGROUP");
		return 1;
	}
	if ((sv = calloc(x->n, sizeof(*sv))) == NULL) {
		resp_reply_mq_error(c, MQ_ESYS, "XREAD");
		return 1;
	}
	for (i = 0; i < x->n && !(wake && k > 0); i++) {
		const struct resp_arg *key = &argv[x->first + i];

		rc = server_stream(c->conn->server, key->p, key->len, 0, &s);
		if (rc == MQ_ENOSTREAM && wake && x->group) {
			/* It existed when the read blocked: it was deleted. */
			resp_reply_error(c,
			    "UNBLOCKED the stream key no longer exists");
			replied = 1;
			break;
		}
		if (rc == MQ_ENOSTREAM || rc == MQ_EBADNAME) {
			rc = MQ_OK;
			continue;
		}
		if (rc != MQ_OK)
			break;
		sv[k].key = key;
		if (x->group) {
			rc = server_group(c->conn->server, s, x->gname->p,
			    x->gname->len, &g);
			if (rc == MQ_ENOGROUP) {
				if (wake)
					resp_reply_error(c,
					    "NOGROUP the consumer group "
					    "this client was blocked on no longer "
					    "exists");
				else
					reply_nogroup_read(c, key, x->gname);
				replied = 1;
				break;
			}
			if (rc == MQ_OK)
				rc = group_collect(s, g, cname, x->kind[i],
				    x->ids[i], count, x->noack, &sv[k].mv);
			if (rc == MQ_ENOGROUP) {
				char gname[MQ_NAME_MAX + 1];

				/* Destroyed by another process: open it anew. */
				if (resp_arg_str(x->gname, gname,
				    sizeof(gname)))
					server_group_forget(c->conn->server, s,
					    gname);
				if (wake)
					resp_reply_error(c,
					    "NOGROUP the consumer group "
					    "this client was blocked on no longer "
					    "exists");
				else
					reply_nogroup_read(c, key, x->gname);
				replied = 1;
				break;
			}
			/* A history read is served even when empty. */
			if (rc == MQ_OK && (sv[k].mv.n > 0 ||
			    x->kind[i] != ID_NEW))
				k++;
		} else {
			sv[k].s = s;
			sv[k].start = x->ids[i];
			sv[k].mv.large = 1;
			if (mq_id_incr(&sv[k].start) == MQ_OK)
				rc = range_collect(s, sv[k].start, MQ_ID_LAST,
				    count, 0, &sv[k].mv);
			if (rc == MQ_OK && sv[k].mv.n > 0)
				k++;
		}
		if (rc != MQ_OK)
			break;
	}
	if (!replied && rc != MQ_OK) {
		resp_reply_mq_error(c, rc, x->group ? "XREADGROUP" : "XREAD");
		replied = 1;
	}
	for (i = 0; !replied && i < k; i++)
		if (sv[i].mv.more) {
			if ((rc = xread_produce(c, sv, k, count)) != MQ_OK)
				resp_reply_mq_error(c, rc, "XREAD");
			replied = 1;
		}
	if (!replied && k > 0) {
		if (c->proto == 3)
			resp_reply_map(c, k);
		else
			resp_reply_array(c, k);
		for (i = 0; i < k; i++) {
			if (c->proto != 3)
				resp_reply_array(c, 2);
			resp_reply_bulk(c, sv[i].key->p, sv[i].key->len);
			reply_msgvec(c, &sv[i].mv);
		}
		replied = 1;
	}
	for (i = 0; i < x->n; i++)
		msgvec_free(&sv[i].mv);
	free(sv);
	return replied;
}

static void resp_block(struct resp_client *c, size_t argc,
    const struct resp_arg *argv, const struct xread *x);

/*
 * Blocks a read that found nothing, with each '$' replaced by the id it
 * stood for, so that a later run serves what came after it.
 */
static void
xread_block(struct resp_client *c, size_t argc, const struct resp_arg *argv,
    const struct xread *x)
{
	struct resp_arg *v;
	char (*idbuf)[MQ_ID_MAX];
	size_t i, j;

	if ((v = reallocarray(NULL, argc, sizeof(*v))) == NULL ||
	    (idbuf = reallocarray(NULL, x->n ? x->n : 1,
	    sizeof(*idbuf))) == NULL) {
		free(v);
		resp_reply_mq_error(c, MQ_ESYS, "XREAD");
		return;
	}
	memcpy(v, argv, argc * sizeof(*v));
	for (i = 0; i < x->n; i++)
		if (x->kind[i] == ID_DOLLAR) {
			j = x->first + x->n + i;
			v[j].len = (size_t)mq_id_fmt(idbuf[i], x->ids[i]);
			v[j].p = idbuf[i];
		}
	resp_block(c, argc, v, x);
	free(idbuf);
	free(v);
}

static void
xread_generic(struct resp_client *c, size_t argc, const struct resp_arg *argv,
    int group)
{
	struct xread x;

	if (xread_parse(c, argc, argv, group, &x) == -1 ||
	    xread_ids(c, argv, &x) == -1) {
		xread_free(&x);
		return;
	}
	if (!xread_serve(c, argv, &x, 0)) {
		if (x.timeout != -1)
			xread_block(c, argc, argv, &x);
		else
			resp_reply_null_array(c);
	}
	xread_free(&x);
}

void
resp_cmd_xread(struct resp_client *c, size_t argc, const struct resp_arg *argv)
{
	xread_generic(c, argc, argv, 0);
}

void
resp_cmd_xreadgroup(struct resp_client *c, size_t argc,
    const struct resp_arg *argv)
{
	xread_generic(c, argc, argv, 1);
}

/* ------------------------------------------------------------------
 * Blocking: a waiter of the core (core/waiters.c) per blocked read.
 * ---------------------------------------------------------------- */

/* The arguments of a blocked read, as resp_args (the caller frees them). */
static struct resp_arg *
block_args(const struct resp_block *b)
{
	struct resp_arg *v;
	size_t i;

	if ((v = reallocarray(NULL, b->argc, sizeof(*v))) == NULL)
		return NULL;
	for (i = 0; i < b->argc; i++) {
		v[i].p = b->argv[i];
		v[i].len = b->lens[i];
	}
	return v;
}

/* Frees what 'c' kept of its blocked read; its wait must be over. */
static void
block_free(struct resp_client *c)
{
	struct resp_block *b = c->block;
	size_t i;

	for (i = 0; i < b->argc; i++)
		free(b->argv[i]);
	free(b->argv);
	free(b->lens);
	free(b);
	c->block = NULL;
}

/*
 * Runs the blocked read of 'c' again (the core's retry); returns 1 if
 * it replied, which ends the wait.
 */
static int
block_retry(void *arg)
{
	struct resp_client *c = arg;
	struct resp_arg *argv;
	struct xread x;
	size_t argc = c->block->argc;
	int replied = 0;

	if ((argv = block_args(c->block)) == NULL)
		return 0;
	/* A command of its own to the cache: what it opens may then go. */
	server_cache_release(c->conn->server);
	/* The arguments parsed when it blocked: no error is possible. */
	if (xread_parse(c, argc, argv, argc > 0 && argv[0].len == 10, &x) ==
	    0) {
		size_t i;
		int partial;

		for (i = 0; i < x.n; i++) {
			const struct resp_arg *id = &argv[x.first + x.n + i];

			if (id->len == 1 && id->p[0] == '>')
				x.kind[i] = ID_NEW;
			else
				(void)parse_id(id->p, id->len, 0, 1, &partial,
				    &x.ids[i]);
		}
		replied = xread_serve(c, argv, &x, 1);
	} else
		replied = 1;	/* it replied with the error */
	xread_free(&x);
	free(argv);
	if (replied) {
		c->block->waiter = NULL;	/* the core ends it */
		block_free(c);
	}
	return replied;
}

/* Served (its wait is over): what it pipelined behind may run. */
static void
block_served(void *arg)
{
	resp_resume(arg);
}

static void
block_timeout(void *arg)
{
	struct resp_client *c = arg;

	c->block->waiter = NULL;	/* the core ended it */
	resp_reply_null_array(c);
	block_free(c);
	resp_resume(c);
}

static const struct waiter_ops block_ops = {
	.retry = block_retry,
	.served = block_served,
	.timeout = block_timeout,
};

/*
 * Blocks the read 'x' of 'c' (whose arguments are 'argv', each '$'
 * replaced by the id it stood for): a waiter on each of its streams,
 * for entries after its id, or for what its group may deliver.
 */
static void
resp_block(struct resp_client *c, size_t argc, const struct resp_arg *argv,
    const struct xread *x)
{
	struct server *s = c->conn->server;
	struct resp_block *b;
	struct wait_on *on = NULL;
	char group[MQ_NAME_MAX + 1];
	size_t i;

	if ((b = calloc(1, sizeof(*b))) == NULL ||
	    (b->argv = calloc(argc, sizeof(*b->argv))) == NULL ||
	    (b->lens = calloc(argc, sizeof(*b->lens))) == NULL ||
	    (on = calloc(x->n ? x->n : 1, sizeof(*on))) == NULL)
		goto fail;
	b->argc = argc;
	for (i = 0; i < argc; i++) {
		if ((b->argv[i] = malloc(argv[i].len + 1)) == NULL)
			goto fail;
		memcpy(b->argv[i], argv[i].p, argv[i].len);
		b->argv[i][argv[i].len] = '\0';
		b->lens[i] = argv[i].len;
	}
	if (x->group && !resp_arg_str(x->gname, group, sizeof(group)))
		goto fail;
	for (i = 0; i < x->n; i++) {
		on[i].stream = b->argv[x->first + i];
		on[i].group = x->group ? group : NULL;
		on[i].after = x->ids[i];
	}
	c->block = b;
	if (x->timeout > 0)
		b->deadline_ms = loop_now_ms(s->loop) + x->timeout;
	if ((b->waiter = waiter_add(c->conn, on, x->n, x->timeout,
	    &block_ops, c)) == NULL) {
		c->block = NULL;
		goto fail;
	}
	free(on);
	return;
fail:
	free(on);
	if (b != NULL) {
		for (i = 0; b->argv != NULL && i < argc; i++)
			free(b->argv[i]);
		free(b->argv);
		free(b->lens);
		free(b);
	}
	resp_reply_mq_error(c, MQ_ESYS, "XREAD");
}

void
resp_unblock(struct resp_client *c)
{
	if (c->block == NULL)
		return;
	waiter_end(c->conn->server, c->block->waiter);
	block_free(c);
}
