/*
 * test_deadletter.c - dead letters: the name of the dead-letter stream,
 * the headers put in front of a copy (origin, id, reason, count, time),
 * what is kept (headers, key or no key, body), batches, a
 * dead-letter stream whose size limit is below what its origin accepts,
 * and dead letters routed through a dead-letter exchange: its key or
 * their own, the stream for those no queue takes, cycles, the policy's
 * exchange and key kept in the meta file; the head of a group expired
 * without a read (mq_group_expire); max-len-bytes dead-lettering with
 * three processes appending at once.
 */
#include "helpers.h"
#include "internal.h"
#include "mq.h"
#include "stream.h"

struct fixture {
	char		*dir;
	mq_spool	*sp;
	mq_stream	*s;
};

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->dir = test_tmpdir();
	assert_int_equal(mq_spool_open(f->dir, MQ_CREATE, &f->sp), MQ_OK);
	mq_spool_set_fsync(f->sp, MQ_FSYNC_NEVER, 0);
	assert_int_equal(mq_stream_open(f->sp, "orders", MQ_CREATE, &f->s),
	    MQ_OK);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	mq_stream_close(f->s);
	mq_spool_close(f->sp);
	test_rmdir(f->dir);
	free(f);
	return 0;
}

/* What a dead-letter stream holds, flattened into text for comparison. */
struct seen {
	int	 n;
	char	 text[4][512];
	int64_t	 time[4];
};

static int
collect(const struct mq_msg *m, void *arg)
{
	struct seen *s = arg;
	char *t = s->text[s->n], part[256];
	size_t i;

	assert_true(s->n < 4);
	t[0] = '\0';
	for (i = 0; i < m->nheaders; i++) {
		const struct mq_header *h = &m->headers[i];

		if (h->namelen == 7 && memcmp(h->name, "mq-time", 7) == 0) {
			snprintf(part, sizeof(part), "%.*s", (int)h->valuelen,
			    (const char *)h->value);
			s->time[s->n] = strtoll(part, NULL, 10);
			strlcpy(part, "mq-time=T;", sizeof(part));
		} else
			snprintf(part, sizeof(part), "%.*s=%.*s;",
			    (int)h->namelen, (const char *)h->name,
			    (int)h->valuelen, (const char *)h->value);
		strlcat(t, part, 512);
	}
	if (m->key != NULL)
		snprintf(part, sizeof(part), "key=%.*s;", (int)m->keylen,
		    (const char *)m->key);
	else
		strlcpy(part, "nokey;", sizeof(part));
	strlcat(t, part, 512);
	snprintf(part, sizeof(part), "body=%.*s", (int)m->bodylen,
	    (const char *)m->body);
	strlcat(t, part, 512);
	s->n++;
	return 0;
}

static void
read_stream(struct fixture *f, const char *name, struct seen *s)
{
	mq_id zero = { 0, 0 };
	mq_stream *d;

	memset(s, 0, sizeof(*s));
	assert_int_equal(mq_stream_open(f->sp, name, 0, &d), MQ_OK);
	assert_int_equal(mq_range(d, zero, MQ_ID_LAST, 0, 0, collect, s),
	    MQ_OK);
	mq_stream_close(d);
}

static void
test_name(void **state)
{
	struct fixture *f = *state;
	char buf[MQ_NAME_MAX + 1], longname[MQ_NAME_MAX + 1];
	struct mq_policy p;
	mq_stream *s;

	assert_int_equal(mq_dead_letter_name(f->s, buf), MQ_OK);
	assert_string_equal(buf, "orders.dlq");
	assert_int_equal(mq_policy_get(f->s, &p), MQ_OK);
	strlcpy(p.dead_letter, "failed/orders", sizeof(p.dead_letter));
	assert_int_equal(mq_policy_set(f->s, &p), MQ_OK);
	assert_int_equal(mq_dead_letter_name(f->s, buf), MQ_OK);
	assert_string_equal(buf, "failed/orders");

	/* No room for ".dlq" after a name of the longest length. */
	memset(longname, 'x', MQ_NAME_MAX);
	longname[MQ_NAME_MAX] = '\0';
	assert_int_equal(mq_stream_open(f->sp, longname, MQ_CREATE, &s), MQ_OK);
	assert_int_equal(mq_dead_letter_name(s, buf), MQ_EBADNAME);
	longname[MQ_NAME_MAX - 4] = '\0';
	mq_stream_close(s);
	assert_int_equal(mq_stream_open(f->sp, longname, MQ_CREATE, &s), MQ_OK);
	assert_int_equal(mq_dead_letter_name(s, buf), MQ_OK);
	assert_int_equal(strlen(buf), MQ_NAME_MAX);
	mq_stream_close(s);
}

static void
test_headers(void **state)
{
	struct fixture *f = *state;
	struct mq_header h[2] = {
		{ "a", 1, "1", 1 },
		{ "mq-reason", 9, "mine", 4 },
	};
	struct mq_msg m[2];
	uint64_t counts[2] = { 3, 18446744073709551615ull };
	struct seen s;
	mq_stream *d;
	int64_t t0, t1;

	memset(m, 0, sizeof(m));
	m[0].id.ms = 1526919030474ull;
	m[0].id.seq = 55;
	m[0].headers = h;
	m[0].nheaders = 2;
	m[0].key = "K";
	m[0].keylen = 1;
	m[0].body = "hello";
	m[0].bodylen = 5;
	m[1].id.ms = 7;
	m[1].body = "";

	/* Nothing to do: not even the stream is created. */
	assert_int_equal(mq_dead_letter(f->s, m, 0, "rejected", NULL), MQ_OK);
	assert_int_equal(mq_stream_open(f->sp, "orders.dlq", 0, &d),
	    MQ_ENOSTREAM);

	t0 = mq_now_ms();
	assert_int_equal(mq_dead_letter(f->s, m, 2, "rejected", counts), MQ_OK);
	t1 = mq_now_ms();
	read_stream(f, "orders.dlq", &s);
	assert_int_equal(s.n, 2);
	assert_string_equal(s.text[0],
	    "mq-origin=orders;mq-origin-id=1526919030474-55;mq-reason=rejected;"
	    "mq-count=3;mq-time=T;a=1;mq-reason=mine;key=K;body=hello");
	assert_string_equal(s.text[1],
	    "mq-origin=orders;mq-origin-id=7-0;mq-reason=rejected;"
	    "mq-count=18446744073709551615;mq-time=T;nokey;body=");
	assert_true(s.time[0] >= t0 && s.time[0] <= t1);
	assert_int_equal(s.time[0], s.time[1]);

	/* Without counts the count is 0; the next batch goes after. */
	assert_int_equal(mq_dead_letter(f->s, m + 1, 1, "maxlen", NULL), MQ_OK);
	read_stream(f, "orders.dlq", &s);
	assert_int_equal(s.n, 3);
	assert_string_equal(s.text[2],
	    "mq-origin=orders;mq-origin-id=7-0;mq-reason=maxlen;"
	    "mq-count=0;mq-time=T;nokey;body=");
}

static void
test_policy_target(void **state)
{
	struct fixture *f = *state;
	struct mq_policy p;
	struct mq_msg m;
	struct seen s;

	assert_int_equal(mq_policy_get(f->s, &p), MQ_OK);
	strlcpy(p.dead_letter, "../dead letters", sizeof(p.dead_letter));
	assert_int_equal(mq_policy_set(f->s, &p), MQ_OK);
	memset(&m, 0, sizeof(m));
	m.id.ms = 1;
	m.body = "x";
	m.bodylen = 1;
	assert_int_equal(mq_dead_letter(f->s, &m, 1, "expired", NULL), MQ_OK);
	read_stream(f, "../dead letters", &s);
	assert_int_equal(s.n, 1);
	assert_non_null(strstr(s.text[0], "mq-reason=expired;"));
}

static void
test_size_limit(void **state)
{
	struct fixture *f = *state;
	static char big[4000];
	struct mq_policy p;
	struct mq_msg m;
	struct seen s;
	mq_stream *d;

	/* The origin takes 4000 bytes; its dead-letter stream only 100. */
	assert_int_equal(mq_policy_get(f->s, &p), MQ_OK);
	p.max_msg = 4000;
	assert_int_equal(mq_policy_set(f->s, &p), MQ_OK);
	assert_int_equal(mq_stream_open(f->sp, "orders.dlq", MQ_CREATE, &d),
	    MQ_OK);
	assert_int_equal(mq_policy_get(d, &p), MQ_OK);
	p.max_msg = 100;
	assert_int_equal(mq_policy_set(d, &p), MQ_OK);

	memset(big, 'b', sizeof(big));
	memset(&m, 0, sizeof(m));
	m.id.ms = 1;
	m.body = big;
	m.bodylen = sizeof(big);
	assert_int_equal(mq_append(f->s, &m, 1, NULL, NULL), MQ_OK);
	assert_int_equal(mq_dead_letter(f->s, &m, 1, "rejected", NULL), MQ_OK);
	read_stream(f, "orders.dlq", &s);
	assert_int_equal(s.n, 1);
	assert_int_equal(mq_policy_get(d, &p), MQ_OK);
	assert_true(p.max_msg > sizeof(big) && p.max_msg < sizeof(big) + 200);
	mq_stream_close(d);
}

/* The number of entries of stream 'name'. */
static int
entries(struct fixture *f, const char *name)
{
	struct seen s;

	read_stream(f, name, &s);
	return s.n;
}

/* Binds queue 'q' (made now) to exchange 'x' with 'key'. */
static void
bind_queue(struct fixture *f, const char *x, const char *q, const char *key)
{
	struct mq_binding b = { x, MQ_DEST_QUEUE, q, key, NULL, 0 };
	mq_stream *s;

	assert_int_equal(mq_stream_open(f->sp, q, MQ_CREATE, &s), MQ_OK);
	mq_stream_close(s);
	assert_int_equal(mq_exchange_bind(f->sp, &b), MQ_OK);
}

/* Gives "orders" the dead-letter exchange 'x', and 'key' if not NULL. */
static void
route_through(struct fixture *f, const char *x, const char *key)
{
	struct mq_policy p;

	assert_int_equal(mq_policy_get(f->s, &p), MQ_OK);
	p.dl_route = MQ_DL_EXCHANGE | (key != NULL ? MQ_DL_KEY : 0);
	strlcpy(p.dl_exchange, x, sizeof(p.dl_exchange));
	strlcpy(p.dl_key, key != NULL ? key : "", sizeof(p.dl_key));
	assert_int_equal(mq_policy_set(f->s, &p), MQ_OK);
}

static void
test_exchange(void **state)
{
	struct fixture *f = *state;
	struct mq_header h = { MQ_EXPIRES_AT, 13, "1700000000000", 13 };
	struct mq_msg m[2];
	struct seen s;
	mq_stream *d;

	assert_int_equal(mq_exchange_declare(f->sp, "dlx", MQ_XDIRECT,
	    MQ_XDURABLE, NULL, 0), MQ_OK);
	bind_queue(f, "dlx", "dead.a", "a");
	bind_queue(f, "dlx", "dead.b", "b");
	route_through(f, "dlx", NULL);
	memset(m, 0, sizeof(m));
	m[0].id.ms = 5;
	m[0].key = "a";
	m[0].keylen = 1;
	m[0].body = "one";
	m[0].bodylen = 3;
	m[0].headers = &h;
	m[0].nheaders = 1;
	m[1] = m[0];
	m[1].id.ms = 6;
	m[1].key = "b";
	m[1].body = "two";

	/* Each by its own key; the deadline is left behind. */
	assert_int_equal(mq_dead_letter(f->s, m, 2, "expired", NULL), MQ_OK);
	read_stream(f, "dead.a", &s);
	assert_int_equal(s.n, 1);
	assert_string_equal(s.text[0],
	    "mq-origin=orders;mq-origin-id=5-0;mq-reason=expired;"
	    "mq-count=0;mq-time=T;mq-exchange=dlx;mq-key=a;key=a;body=one");
	read_stream(f, "dead.b", &s);
	assert_int_equal(s.n, 1);
	assert_non_null(strstr(s.text[0], "mq-key=b;key=b;body=two"));
	assert_int_equal(mq_stream_open(f->sp, "orders.dlq", 0, &d),
	    MQ_ENOSTREAM);

	/* The policy's key for both, and it becomes their key. */
	route_through(f, "dlx", "b");
	assert_int_equal(mq_dead_letter(f->s, m, 2, "rejected", NULL), MQ_OK);
	read_stream(f, "dead.b", &s);
	assert_int_equal(s.n, 3);
	assert_non_null(strstr(s.text[1], "mq-key=a;key=b;body=one"));
	assert_non_null(strstr(s.text[2], "mq-key=b;key=b;body=two"));
	assert_int_equal(entries(f, "dead.a"), 1);
}

static void
test_exchange_unrouted(void **state)
{
	struct fixture *f = *state;
	struct mq_msg m;
	struct seen s;

	m = test_body("x");
	m.id.ms = 9;

	/* A missing exchange, then one that routes the key nowhere. */
	route_through(f, "nosuch", "k");
	assert_int_equal(mq_dead_letter(f->s, &m, 1, "maxlen", NULL), MQ_OK);
	assert_int_equal(mq_exchange_declare(f->sp, "dlx", MQ_XDIRECT,
	    MQ_XDURABLE, NULL, 0), MQ_OK);
	bind_queue(f, "dlx", "dead", "other");
	route_through(f, "dlx", "k");
	assert_int_equal(mq_dead_letter(f->s, &m, 1, "maxlen", NULL), MQ_OK);
	read_stream(f, "orders.dlq", &s);
	assert_int_equal(s.n, 2);
	assert_string_equal(s.text[0],
	    "mq-origin=orders;mq-origin-id=9-0;mq-reason=maxlen;"
	    "mq-count=0;mq-time=T;mq-exchange=nosuch;key=k;body=x");
	assert_int_equal(entries(f, "dead"), 0);

	/* The default exchange, "", routes by the queue's name. */
	route_through(f, "", "dead");
	assert_int_equal(mq_dead_letter(f->s, &m, 1, "maxlen", NULL), MQ_OK);
	assert_int_equal(entries(f, "dead"), 1);
}

/*
 * A queue the exchange routes to whose size limit is below the dead
 * letter's: its policy is its owner's, not raised; the letter goes to
 * the dead-letter stream instead, whose limit may be.
 */
/*
 * Routes the dead letters of "orders" through a fanout exchange to queue
 * "small", which takes messages of 100 bytes at most, and to "large"
 * too if 'large'; returns a message of 400 bytes with id 'ms'.
 */
static struct mq_msg
route_to_small(struct fixture *f, int large, uint64_t ms)
{
	static char big[400];
	struct mq_policy p;
	struct mq_msg m = test_body("");
	mq_stream *d;

	assert_int_equal(mq_exchange_declare(f->sp, "dlx", MQ_XFANOUT,
	    MQ_XDURABLE, NULL, 0), MQ_OK);
	bind_queue(f, "dlx", "small", "");
	if (large)
		bind_queue(f, "dlx", "large", "");
	assert_int_equal(mq_stream_open(f->sp, "small", 0, &d), MQ_OK);
	assert_int_equal(mq_policy_get(d, &p), MQ_OK);
	p.max_msg = 100;
	assert_int_equal(mq_policy_set(d, &p), MQ_OK);
	mq_stream_close(d);
	route_through(f, "dlx", NULL);
	memset(big, 'b', sizeof(big));
	m.id.ms = ms;
	m.body = big;
	m.bodylen = sizeof(big);
	return m;
}

static void
test_exchange_too_big(void **state)
{
	struct fixture *f = *state;
	struct mq_msg m = route_to_small(f, 1, 3);
	struct mq_policy p;
	mq_stream *d;

	assert_int_equal(mq_dead_letter(f->s, &m, 1, "rejected", NULL), MQ_OK);
	assert_int_equal(entries(f, "large"), 1);
	assert_int_equal(entries(f, "small"), 0);
	assert_int_equal(mq_stream_open(f->sp, "small", 0, &d), MQ_OK);
	assert_int_equal(mq_policy_get(d, &p), MQ_OK);
	assert_int_equal(p.max_msg, 100);
	mq_stream_close(d);
	/* Taken by one queue of the route: not in the dead-letter stream. */
	assert_int_equal(mq_stream_open(f->sp, "orders.dlq", 0, &d),
	    MQ_ENOSTREAM);
}

/*
 * A run of three dead letters, the middle one too big for the routed
 * queue: the others, which fit, are the queue's all the same, not the
 * dead-letter stream's.
 */
static void
test_exchange_one_too_big(void **state)
{
	struct fixture *f = *state;
	struct mq_msg m[3];

	m[1] = route_to_small(f, 0, 4);
	m[0] = test_body("fits");
	m[0].id.ms = 3;
	m[2] = test_body("fits too");
	m[2].id.ms = 5;
	assert_int_equal(mq_dead_letter(f->s, m, 3, "rejected", NULL), MQ_OK);
	assert_int_equal(entries(f, "small"), 2);
	assert_int_equal(entries(f, "orders.dlq"), 1);
}

static void
test_exchange_cycle(void **state)
{
	struct fixture *f = *state;
	struct mq_header again[] = {
		{ "mq-origin", 9, "orders", 6 },
		{ "mq-reason", 9, "expired", 7 },
	};
	struct mq_msg m;

	/* "orders" dead-letters to itself and to "dead". */
	assert_int_equal(mq_exchange_declare(f->sp, "dlx", MQ_XFANOUT,
	    MQ_XDURABLE, NULL, 0), MQ_OK);
	bind_queue(f, "dlx", "orders", "");
	bind_queue(f, "dlx", "dead", "");
	route_through(f, "dlx", NULL);
	m = test_body("c");
	m.id.ms = 3;

	/* Expired: not back to itself, but to the other. */
	assert_int_equal(mq_dead_letter(f->s, &m, 1, "expired", NULL), MQ_OK);
	assert_int_equal(entries(f, "orders"), 0);
	assert_int_equal(entries(f, "dead"), 1);

	/* Rejected: back to itself; then expired, with that history: too. */
	assert_int_equal(mq_dead_letter(f->s, &m, 1, "rejected", NULL), MQ_OK);
	assert_int_equal(entries(f, "orders"), 1);
	m.headers = again;
	m.nheaders = 2;
	assert_int_equal(mq_dead_letter(f->s, &m, 1, "expired", NULL), MQ_OK);
	assert_int_equal(entries(f, "orders"), 1);
	again[1].value = "rejected";
	again[1].valuelen = 8;
	assert_int_equal(mq_dead_letter(f->s, &m, 1, "expired", NULL), MQ_OK);
	assert_int_equal(entries(f, "orders"), 2);
}

static void
test_exchange_policy(void **state)
{
	struct fixture *f = *state;
	struct mq_policy p;
	mq_stream *s;

	/* The empty exchange and a key of any bytes survive the meta file. */
	route_through(f, "", "a b%\n:\xff");
	assert_int_equal(mq_stream_open(f->sp, "orders", 0, &s), MQ_OK);
	assert_int_equal(mq_policy_get(s, &p), MQ_OK);
	mq_stream_close(s);
	assert_int_equal(p.dl_route, MQ_DL_EXCHANGE | MQ_DL_KEY);
	assert_string_equal(p.dl_exchange, "");
	assert_string_equal(p.dl_key, "a b%\n:\xff");
	route_through(f, "dlx", NULL);
	assert_int_equal(mq_policy_get(f->s, &p), MQ_OK);
	assert_int_equal(p.dl_route, MQ_DL_EXCHANGE);
	assert_string_equal(p.dl_exchange, "dlx");
	p.dl_route = 0;
	assert_int_equal(mq_policy_set(f->s, &p), MQ_OK);
	assert_int_equal(mq_policy_get(f->s, &p), MQ_OK);
	assert_int_equal(p.dl_route, 0);
}

static void
test_group_expire(void **state)
{
	struct fixture *f = *state;
	char later[24];
	struct mq_header past = { MQ_EXPIRES_AT, 13, "1000000000000", 13 };
	struct mq_header future = { MQ_EXPIRES_AT, 13, later, 0 };
	struct mq_msg m[3], got;
	mq_group *g;
	int64_t next, at = mq_now_ms() + 3600000;
	size_t n;

	future.valuelen = (size_t)snprintf(later, sizeof(later), "%lld",
	    (long long)at);
	memset(m, 0, sizeof(m));
	m[0].body = "old";
	m[0].bodylen = 3;
	m[0].headers = &past;
	m[0].nheaders = 1;
	m[1] = m[0];
	m[1].body = "new";
	m[1].headers = &future;
	m[2] = m[0];
	m[2].body = "behind";
	assert_int_equal(mq_group_create(f->s, "g", (mq_id){ 0, 0 }, -1),
	    MQ_OK);
	assert_int_equal(mq_group_open(f->s, "g", &g), MQ_OK);

	/* Nothing there: nothing to wait for. */
	assert_int_equal(mq_group_expire(g, &next), MQ_OK);
	assert_int_equal(next, -1);

	/* The head goes, up to the first that has not expired. */
	assert_int_equal(mq_append(f->s, m, 3, NULL, NULL), MQ_OK);
	assert_int_equal(mq_group_expire(g, &next), MQ_OK);
	assert_int_equal(next, at + 1);
	assert_int_equal(entries(f, "orders.dlq"), 1);
	assert_int_equal(mq_group_read(g, "c", 1, 0, &got, &n), MQ_OK);
	assert_int_equal(n, 1);
	assert_memory_equal(got.body, "new", 3);
	mq_group_close(g);
}

/* The bodies of the live entries of 's' in [from, to), read afresh. */
static uint64_t
bodies_between(mq_stream *s, uint64_t from, uint64_t to)
{
	struct mq_msg m;
	mq_reader *r;
	uint64_t sum = 0;

	if (mq_reader_open(s, &r) != MQ_OK)
		return UINT64_MAX;
	if (mq_reader_seek_offset(r, from) == MQ_OK)
		while (mq_reader_next(r, &m) == 1 && m.offset < to)
			sum += m.bodylen;
	mq_reader_close(r);
	return sum;
}

enum { PROCS = 3, EACH = 1000 };

/*
 * A process appending EACH messages "P-I-" padded to 1..100 bytes; the
 * first checks under the lock, after each, that its kept count of the
 * bodies is what the stream holds.  Its exit status: 0 if all went well.
 */
static int
appender(const char *dir, int p)
{
	char text[128];
	struct mq_msg m;
	mq_spool *sp;
	mq_stream *s, *check;
	uint64_t real;
	int i, n, len, bad = 0;

	srand((unsigned)p * 7919u + 1);
	if (mq_spool_open(dir, 0, &sp) != MQ_OK ||
	    mq_stream_open(sp, "q", 0, &s) != MQ_OK ||
	    mq_stream_open(sp, "q", 0, &check) != MQ_OK)
		return 2;
	for (i = 0; i < EACH; i++) {
		n = snprintf(text, sizeof(text), "%d-%d-", p, i);
		for (len = 1 + rand() % 100; n < len; )
			text[n++] = 'x';
		memset(&m, 0, sizeof(m));
		m.body = text;
		m.bodylen = (size_t)n;
		if (mq_append(s, &m, 1, NULL, NULL) != MQ_OK)
			return 3;
		if (p != 0 || mq_stream_lock(s) != MQ_OK)
			continue;
		if (mq_stream_refresh(s) == MQ_OK && s->bodies_known &&
		    s->bodies_first == s->first_offset &&
		    s->bodies_ndeleted == s->ndeleted &&
		    s->bodies_next <= s->next_offset) {
			real = bodies_between(check, s->bodies_first,
			    s->bodies_next);
			bad += real != s->bodies;
		}
		mq_stream_unlock(s);
	}
	return bad > 0 ? 4 : 0;
}

/* Notes in 'where' (PROCS x EACH) that message "P-I-..." was found. */
static int
note_found(const struct mq_msg *m, void *arg)
{
	int *where = arg, p, i;

	if (sscanf((const char *)m->body, "%d-%d-", &p, &i) == 2 &&
	    p >= 0 && p < PROCS && i >= 0 && i < EACH)
		where[p * EACH + i] |= where[PROCS * EACH];
	return 0;
}

static void
test_max_len_bytes_processes(void **state)
{
	struct fixture *f = *state;
	int where[PROCS * EACH + 1] = { 0 }, p, i;
	struct mq_policy pol;
	mq_stream *dlq;
	pid_t pid[PROCS];

	assert_int_equal(mq_policy_get(f->s, &pol), MQ_OK);
	pol.max_len_bytes = 1000;
	pol.overflow = MQ_OVERFLOW_DEADLETTER;
	assert_int_equal(mq_policy_set(f->s, &pol), MQ_OK);
	mq_stream_close(f->s);
	assert_int_equal(mq_stream_open(f->sp, "q", MQ_CREATE, &f->s), MQ_OK);
	assert_int_equal(mq_policy_set(f->s, &pol), MQ_OK);
	for (p = 0; p < PROCS; p++) {
		assert_true((pid[p] = fork()) != -1);
		if (pid[p] == 0)
			_exit(appender(f->dir, p));
	}
	for (p = 0; p < PROCS; p++)
		test_wait_ok(pid[p]);
	/* Each message is in the queue or its dead letters, not in both. */
	where[PROCS * EACH] = 1;
	assert_int_equal(mq_range(f->s, (mq_id){ 0, 0 }, MQ_ID_LAST, 0, 0,
	    note_found, where), MQ_OK);
	where[PROCS * EACH] = 2;
	assert_int_equal(mq_stream_open(f->sp, "q.dlq", 0, &dlq), MQ_OK);
	assert_int_equal(mq_range(dlq, (mq_id){ 0, 0 }, MQ_ID_LAST, 0, 0,
	    note_found, where), MQ_OK);
	mq_stream_close(dlq);
	for (i = 0; i < PROCS * EACH; i++)
		assert_true(where[i] == 1 || where[i] == 2);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_name, setup, teardown),
		cmocka_unit_test_setup_teardown(test_headers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_policy_target, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_size_limit, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_exchange, setup, teardown),
		cmocka_unit_test_setup_teardown(test_exchange_too_big, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_exchange_one_too_big, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_exchange_unrouted, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_exchange_cycle, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_exchange_policy, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_max_len_bytes_processes,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_group_expire, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
