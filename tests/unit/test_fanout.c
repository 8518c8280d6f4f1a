/*
 * test_fanout.c - the core's hand-out of publishes that went to no log
 * (cmd/mq-serve/core/fanout.c), with doors and connections that are bare
 * structs: a run's frames are made once per door and variant whatever
 * the number of subscribers, a subscriber's frames in a row are one
 * write to its connection, a subscriber takes only what it asked for,
 * the run goes out at the end of the flush (at once outside one), a
 * run holds the publisher's bytes and no copy, a topic repeated in a
 * row is one pointer, and the log is drained before a run exactly when
 * the server's watch has news of it.
 *
 * conn_write and appendq_flushing are stubs here: a connection's output
 * is a buffer of the test, with a count of the writes.
 */
#include "helpers.h"

#include "server.h"
#include "core/fanout.h"

#define MAXOUT	4096

/* A connection as the stubs see it: its output and how it came. */
struct out {
	struct conn	 conn;
	char		 bytes[MAXOUT];
	size_t		 len;
	int		 writes;
};

static int flushing;	/* what appendq_flushing says */

void
conn_write(struct conn *c, const void *p, size_t len)
{
	struct out *o = (struct out *)c;

	assert_true(o->len + len <= MAXOUT);
	memcpy(o->bytes + o->len, p, len);
	o->len += len;
	o->writes++;
}

int
appendq_flushing(const struct server *s)
{
	return flushing;
}

/*
 * The test's door: a subscriber takes the messages whose topic starts
 * with its 'prefix', as frames "<variant>:<topic>=<body>;", and says
 * what happened in 'log' ('d' a drain, 'p' a push).
 */
struct tsub {
	struct fanout_sub	 fsub;
	struct out		 out;
	const char		*prefix;
	int			 variant;
	char			 log[16];
};

static int encodes;

static int
t_encode(struct fanout_buf *b, int variant, const struct fanout_msg *m)
{
	char head[8];
	int n = snprintf(head, sizeof(head), "%d:", variant);
	char *at;

	encodes++;
	if ((at = fanout_reserve(b, (size_t)n + m->topiclen + 1 +
	    m->bodylen + 1)) == NULL)
		return -1;
	memcpy(at, head, (size_t)n);
	at += n;
	memcpy(at, m->topic, m->topiclen);
	at += m->topiclen;
	*at++ = '=';
	memcpy(at, m->body, m->bodylen);
	at[m->bodylen] = ';';
	return 0;
}

static void t_push(void *arg, struct fanout_run *run);

static void
t_drain(void *arg)
{
	struct tsub *t = arg;

	strlcat(t->log, "d", sizeof(t->log));
}

static const struct fanout_ops t_ops = {
	.drain = t_drain,
	.push = t_push,
	.encode = t_encode,
};

static void
t_push(void *arg, struct fanout_run *run)
{
	struct tsub *t = arg;
	const struct fanout_frames *f = NULL;
	struct fanout_out o;
	const char *p;
	size_t i, len, plen = strlen(t->prefix);

	strlcat(t->log, "p", sizeof(t->log));
	fanout_out_begin(&o, &t->out.conn);
	for (i = 0; i < run->n; i++) {
		if (run->msgs[i].topiclen < plen ||
		    memcmp(run->msgs[i].topic, t->prefix, plen) != 0)
			continue;
		if (f == NULL)
			assert_non_null(f = fanout_frames(run, &t_ops,
			    t->variant));
		p = fanout_frame(f, i, &len);
		fanout_out_shared(&o, p, len);
	}
	fanout_out_end(&o);
}

/* Where the test's publishes keep their bytes until the hand-out. */
#define MAXKEPT	64

struct fixture {
	char		*dir;
	mq_spool	*sp;
	struct server	 s;
	struct tsub	 subs[4];
	char		 kept[MAXKEPT][16];
	size_t		 nkept;
};

static int
setup(void **state)
{
	struct fixture *f;
	static const char *const prefixes[] = { "", "a", "", "b" };
	size_t i;

	assert_non_null(f = calloc(1, sizeof(*f)));
	f->dir = test_tmpdir();
	assert_int_equal(mq_spool_open(f->dir, MQ_CREATE, &f->sp), MQ_OK);
	TAILQ_INIT(&f->s.fanout);
	assert_int_equal(mq_watch_open(&f->s.watch), MQ_OK);
	for (i = 0; i < NELEM(f->subs); i++) {
		struct tsub *t = &f->subs[i];

		t->prefix = prefixes[i];
		t->variant = (int)(i % 2);
		t->fsub.conn = &t->out.conn;
		t->fsub.ops = &t_ops;
		t->fsub.arg = t;
		fanout_join(&f->s, &t->fsub);
	}
	encodes = 0;
	flushing = 1;
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	fanout_free(&f->s);
	mq_watch_close(f->s.watch);
	mq_spool_close(f->sp);
	test_rmdir(f->dir);
	free(f);
	return 0;
}

/* A copy of 's' of the fixture's, each at a place of its own. */
static const char *
keep(struct fixture *f, const char *s)
{
	assert_true(f->nkept < MAXKEPT && strlen(s) < sizeof(f->kept[0]));
	return strcpy(f->kept[f->nkept++], s);
}

/*
 * Publishes 'body' to 'topic' as appendq's callbacks would: from bytes
 * that stay until the hand-out, each in a place of its own (a topic
 * given twice is two copies, as two entries of a run of appends are).
 */
static void
publish(struct fixture *f, const char *topic, const char *body)
{
	struct mq_msg m = test_body(keep(f, body));

	m.key = keep(f, topic);
	m.keylen = strlen(topic);
	assert_int_equal(fanout_publish_here(&f->s, &m), MQ_OK);
}

/* The frames of "all=m0" ... "all=m<n-1>" in 'variant', in 'buf'. */
static size_t
frames_of_all(char *buf, size_t size, int variant, int n)
{
	size_t len = 0;
	int i;

	for (i = 0; i < n; i++)
		len += (size_t)snprintf(buf + len, size - len, "%d:all=m%d;",
		    variant, i);
	return len;
}

static void
test_frames_made_once_shared_by_all(void **state)
{
	struct fixture *f = *state;
	char want[MAXOUT];
	size_t len, i;
	int n;

	for (n = 0; n < 16; n++) {
		char body[16];

		snprintf(body, sizeof(body), "m%d", n);
		publish(f, "all", body);
	}
	assert_int_equal(f->subs[0].out.len, 0);	/* not before the end */
	fanout_deliver_here(&f->s);
	/* Two variants asked for by four subscribers: two encodings each. */
	assert_int_equal(encodes, 2 * 16);
	for (i = 0; i < 3; i++) {
		len = frames_of_all(want, sizeof(want), f->subs[i].variant, 16);
		assert_int_equal(f->subs[i].out.len, len);
		assert_memory_equal(f->subs[i].out.bytes, want, len);
		/* Sixteen frames in a row: one write. */
		assert_int_equal(f->subs[i].out.writes, 1);
	}
	/* Subscriber 3 takes topics that start with "b": none. */
	assert_int_equal(f->subs[3].out.len, 0);
}

static void
test_each_takes_its_own_in_order(void **state)
{
	struct fixture *f = *state;
	static const char want3[] = "1:b1=y;1:b2=w;";
	static const char want1[] = "1:a=x;1:a=z;";

	publish(f, "a", "x");
	publish(f, "b1", "y");
	publish(f, "a", "z");
	publish(f, "b2", "w");
	fanout_deliver_here(&f->s);
	assert_int_equal(f->subs[1].out.len, sizeof(want1) - 1);
	assert_memory_equal(f->subs[1].out.bytes, want1, sizeof(want1) - 1);
	assert_int_equal(f->subs[3].out.len, sizeof(want3) - 1);
	assert_memory_equal(f->subs[3].out.bytes, want3, sizeof(want3) - 1);
	/* Not next to each other in the frames: a write each. */
	assert_int_equal(f->subs[1].out.writes, 2);
	/* A second run makes its frames again, from its own messages. */
	publish(f, "a", "again");
	fanout_deliver_here(&f->s);
	assert_int_equal(f->subs[1].out.len, sizeof(want1) - 1 + 10);
	assert_memory_equal(f->subs[1].out.bytes + sizeof(want1) - 1,
	    "1:a=again;", 10);
}

static void
test_nothing_is_a_message_too(void **state)
{
	struct fixture *f = *state;

	publish(f, "", "");
	publish(f, "a", "");
	fanout_deliver_here(&f->s);
	assert_int_equal(f->subs[0].out.len, 9);
	assert_memory_equal(f->subs[0].out.bytes, "0:=;0:a=;", 9);
}

static void
test_outside_a_flush_at_once(void **state)
{
	struct fixture *f = *state;

	flushing = 0;
	publish(f, "a", "now");
	assert_memory_equal(f->subs[0].out.bytes, "0:a=now;", 8);
	assert_int_equal(f->subs[0].out.len, 8);
}

static void
test_a_topic_in_a_row_is_one_pointer(void **state)
{
	struct fixture *f = *state;
	struct fanout_run *run;

	publish(f, "t", "1");
	publish(f, "t", "2");
	publish(f, "u", "3");
	publish(f, "t", "4");
	run = f->s.fanout_run;
	assert_ptr_equal(run->msgs[0].topic, run->msgs[1].topic);
	assert_ptr_not_equal(run->msgs[1].topic, run->msgs[2].topic);
	assert_ptr_not_equal(run->msgs[0].topic, run->msgs[3].topic);
	fanout_deliver_here(&f->s);
	assert_int_equal(f->subs[0].out.len, 4 * strlen("0:t=1;"));
}

/* The run reads the publisher's bytes, where they are. */
static void
test_no_copy_of_the_bytes(void **state)
{
	struct fixture *f = *state;
	struct fanout_run *run;

	publish(f, "t", "1");
	run = f->s.fanout_run;
	assert_ptr_equal(run->msgs[0].topic, f->kept[1]);
	assert_ptr_equal(run->msgs[0].body, f->kept[0]);
	/* What the hand-out reads is what is there then. */
	f->kept[0][0] = '9';
	fanout_deliver_here(&f->s);
	assert_memory_equal(f->subs[0].out.bytes, "0:t=9;", 6);
}

static void
test_an_unsubscribed_one_gets_nothing(void **state)
{
	struct fixture *f = *state;

	fanout_leave(&f->s, &f->subs[0].fsub);
	f->subs[2].out.conn.dead = 1;
	publish(f, "a", "x");
	fanout_deliver_here(&f->s);
	assert_int_equal(f->subs[0].out.len, 0);
	assert_int_equal(f->subs[2].out.len, 0);
	assert_string_equal(f->subs[0].log, "");
	assert_int_equal(f->subs[1].out.len, 6);
}

/*
 * The log's news: an append to a watched stream (another process's, to
 * the exchange in the server) queues an event, and the next run is
 * drained before; with no news, it is not.
 */
static void
test_drained_first_when_the_watch_has_news(void **state)
{
	struct fixture *f = *state;
	struct mq_msg m = test_body("logged");
	mq_stream *log;

	publish(f, "a", "1");
	fanout_deliver_here(&f->s);
	assert_string_equal(f->subs[1].log, "p");
	assert_int_equal(mq_stream_open(f->sp, "log", MQ_CREATE, &log), MQ_OK);
	assert_int_equal(mq_watch_add(f->s.watch, log), MQ_OK);
	assert_int_equal(mq_append(log, &m, 1, NULL, NULL), MQ_OK);
	publish(f, "a", "2");
	fanout_deliver_here(&f->s);
	assert_string_equal(f->subs[1].log, "pdp");
	/* Nothing for an empty run. */
	fanout_deliver_here(&f->s);
	assert_string_equal(f->subs[1].log, "pdp");
	mq_stream_close(log);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_frames_made_once_shared_by_all, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_each_takes_its_own_in_order, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_nothing_is_a_message_too, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_outside_a_flush_at_once, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_a_topic_in_a_row_is_one_pointer, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_no_copy_of_the_bytes, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_an_unsubscribed_one_gets_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_drained_first_when_the_watch_has_news, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
