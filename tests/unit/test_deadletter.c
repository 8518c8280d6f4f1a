/*
 * test_deadletter.c - dead letters: the name of the dead-letter stream,
 * the headers put in front of a copy (origin, id, reason, count, time),
 * what is kept (headers, key or no key, body), batches, and a
 * dead-letter stream whose size limit is below what its origin accepts.
 */
#include "helpers.h"
#include "internal.h"
#include "mq.h"

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
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
