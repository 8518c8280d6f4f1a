/*
 * test_route.c - the topic exchange: bindings, publishing to queues and
 * live subscribers, Redis globs, and dead subscribers cleaned up.
 */
#include <sys/wait.h>

#include <dirent.h>
#include <time.h>

#include "helpers.h"
#include "mq.h"

static struct mq_msg
body(const char *text)
{
	struct mq_msg m;

	memset(&m, 0, sizeof(m));
	m.body = text;
	m.bodylen = strlen(text);
	return m;
}

static uint64_t
stream_length(mq_spool *sp, const char *name)
{
	struct mq_stream_info info;
	mq_stream *s;

	if (mq_stream_open(sp, name, 0, &s) != MQ_OK)
		return 0;
	assert_int_equal(mq_stream_info(s, &info), MQ_OK);
	mq_stream_close(s);
	return info.length;
}

static int
count_fn(const char *pattern, const char *queue, void *arg)
{
	(*(int *)arg)++;
	return 0;
}

static void
test_bindings_route_to_queues(void **state)
{
	struct test_spool *f = *state;
	struct mq_msg m = body("hi");
	size_t receivers;
	int n = 0;

	assert_int_equal(mq_bind(f->sp, "orders.*", "billing"), MQ_OK);
	assert_int_equal(mq_bind(f->sp, "orders.*", "billing"), MQ_OK);
	assert_int_equal(mq_bind(f->sp, "#", "audit"), MQ_OK);
	assert_int_equal(mq_bind(f->sp, "orders.created", "billing"), MQ_OK);
	assert_int_equal(mq_bind(f->sp, "", "empty key"), MQ_OK);
	assert_int_equal(mq_bindings(f->sp, count_fn, &n), MQ_OK);
	assert_int_equal(n, 4);

	assert_int_equal(mq_publish(f->sp, "orders.created", &m, 1, &receivers), MQ_OK);
	assert_int_equal(receivers, 2);		/* billing once, audit */
	assert_int_equal(mq_publish(f->sp, "news", &m, 1, &receivers), MQ_OK);
	assert_int_equal(receivers, 1);
	assert_int_equal(mq_publish(f->sp, "", &m, 1, &receivers), MQ_OK);
	assert_int_equal(receivers, 2);		/* audit ('#' matches ""), empty key */
	assert_int_equal(stream_length(f->sp, "billing"), 1);
	assert_int_equal(stream_length(f->sp, "audit"), 3);
	assert_int_equal(stream_length(f->sp, "empty key"), 1);

	assert_int_equal(mq_unbind(f->sp, "#", "audit"), MQ_OK);
	assert_int_equal(mq_publish(f->sp, "news", &m, 1, &receivers), MQ_OK);
	assert_int_equal(receivers, 0);
	assert_int_equal(stream_length(f->sp, "audit"), 3);
}

static void
test_live_subscribers(void **state)
{
	struct test_spool *f = *state;
	const char *topics[] = { "news.*" };
	const char *globs[] = { "news.t*", "x?" };
	const char *exact[] = { "news.*" };
	struct mq_msg m = body("first"), out;
	mq_sub *t, *g, *c;
	size_t receivers;

	/* Nobody listening: nothing is kept. */
	assert_int_equal(mq_publish(f->sp, "news.tech", &m, 1, &receivers), MQ_OK);
	assert_int_equal(receivers, 0);

	assert_int_equal(mq_sub_open(f->sp, topics, 1, 0, &t), MQ_OK);
	assert_int_equal(mq_sub_open(f->sp, globs, 2, MQ_SUB_GLOB, &g), MQ_OK);
	assert_int_equal(mq_sub_open(f->sp, exact, 1, MQ_SUB_EXACT, &c), MQ_OK);
	assert_int_equal(mq_sub_next(t, &out), 0);

	m = body("tech");
	assert_int_equal(mq_publish(f->sp, "news.tech", &m, 1, &receivers), MQ_OK);
	assert_int_equal(receivers, 2);
	m = body("deep");
	assert_int_equal(mq_publish(f->sp, "news.tech.ai", &m, 1, &receivers), MQ_OK);
	assert_int_equal(receivers, 1);		/* only the glob */
	m = body("literal");
	assert_int_equal(mq_publish(f->sp, "news.*", &m, 1, &receivers), MQ_OK);
	assert_int_equal(receivers, 2);		/* topic '*' matches a word; exact */

	assert_int_equal(mq_sub_next(t, &out), 1);
	assert_memory_equal(out.body, "tech", 4);
	assert_int_equal(out.keylen, 9);
	assert_memory_equal(out.key, "news.tech", 9);
	assert_int_equal(mq_sub_next(t, &out), 1);
	assert_memory_equal(out.body, "literal", 7);
	assert_int_equal(mq_sub_next(t, &out), 0);

	assert_int_equal(mq_sub_next(g, &out), 1);
	assert_memory_equal(out.body, "tech", 4);
	assert_int_equal(mq_sub_next(g, &out), 1);
	assert_memory_equal(out.body, "deep", 4);
	assert_int_equal(mq_sub_next(g, &out), 0);

	assert_int_equal(mq_sub_next(c, &out), 1);
	assert_memory_equal(out.body, "literal", 7);
	assert_int_equal(mq_sub_next(c, &out), 0);

	mq_sub_close(t);
	mq_sub_close(g);
	mq_sub_close(c);
	assert_int_equal(mq_publish(f->sp, "news.tech", &m, 1, &receivers), MQ_OK);
	assert_int_equal(receivers, 0);
}

static int
files_in(const char *dir)
{
	struct dirent *de;
	DIR *d;
	int n = 0;

	assert_non_null(d = opendir(dir));
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

/* A subscriber killed without closing is not counted, and its file goes. */
static void
test_dead_subscriber(void **state)
{
	struct test_spool *f = *state;
	const char *pat[] = { "#" };
	struct mq_msg m = body("x");
	size_t receivers;
	char path[1024];
	int status;
	pid_t pid;

	if ((pid = fork()) == 0) {
		mq_spool *sp;
		mq_sub *sub;

		if (mq_spool_open(f->dir, 0, &sp) != MQ_OK ||
		    mq_sub_open(sp, pat, 1, 0, &sub) != MQ_OK)
			_exit(1);
		_exit(0);	/* no mq_sub_close: as if killed */
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_int_equal(WEXITSTATUS(status), 0);
	snprintf(path, sizeof(path), "%s/subscribers", f->dir);
	assert_int_equal(files_in(path), 1);
	assert_int_equal(mq_publish(f->sp, "a", &m, 1, &receivers), MQ_OK);
	assert_int_equal(receivers, 0);
	assert_int_equal(files_in(path), 0);
}

/*
 * A router kept open sees what changes after it first routed: a new
 * subscription, a closed one, a new binding; a queue bound twice gets
 * one copy.
 */
static void
test_router(void **state)
{
	struct test_spool *f = *state;
	const char *const *queues;
	const char *pats[] = { "a.*" };
	struct mq_msg m = body("x");
	mq_router *r;
	mq_sub *sub;
	size_t live, mine, nq, receivers;

	assert_int_equal(mq_router_open(f->sp, &r), MQ_OK);
	assert_int_equal(mq_router_route(r, "a.b", &live, &mine, &queues, &nq), MQ_OK);
	assert_int_equal(live, 0);
	assert_int_equal(nq, 0);
	assert_int_equal(mq_sub_open(f->sp, pats, 1, 0, &sub), MQ_OK);
	assert_int_equal(mq_router_route(r, "a.b", &live, &mine, &queues, &nq), MQ_OK);
	assert_int_equal(live, 1);
	assert_int_equal(mine, 1);	/* this process subscribed */
	assert_int_equal(mq_bind(f->sp, "a.#", "q"), MQ_OK);
	assert_int_equal(mq_bind(f->sp, "*.b", "q"), MQ_OK);
	assert_int_equal(mq_bind(f->sp, "z", "other"), MQ_OK);
	assert_int_equal(mq_router_route(r, "a.b", &live, &mine, &queues, &nq), MQ_OK);
	assert_int_equal(nq, 1);
	assert_string_equal(queues[0], "q");
	assert_int_equal(mq_router_publish(r, "a.b", &m, 1, &receivers), MQ_OK);
	assert_int_equal(receivers, 2);
	assert_int_equal(stream_length(f->sp, "q"), 1);
	mq_sub_close(sub);
	assert_int_equal(mq_router_route(r, "a.b", &live, &mine, &queues, &nq), MQ_OK);
	assert_int_equal(live, 0);
	assert_int_equal(mq_unbind(f->sp, "a.#", "q"), MQ_OK);
	assert_int_equal(mq_unbind(f->sp, "*.b", "q"), MQ_OK);
	assert_int_equal(mq_router_route(r, "a.b", &live, &mine, &queues, &nq), MQ_OK);
	assert_int_equal(nq, 0);
	mq_router_close(r);
}

/*
 * A router kept open forgets, within its liveness read (once a second),
 * a subscriber that died holding its registration, though it routed
 * the same topic just before and nothing bumped the counters.
 */
static void
test_router_forgets_the_dead(void **state)
{
	struct test_spool *f = *state;
	const char *const *queues;
	const char *pat[] = { "a" };
	struct timespec pause = { .tv_nsec = 20000000 };
	size_t live, mine, nq;
	mq_router *r;
	int up[2], down[2], tries;
	char c;
	pid_t pid;

	assert_int_equal(mq_router_open(f->sp, &r), MQ_OK);
	assert_int_equal(pipe(up), 0);
	assert_int_equal(pipe(down), 0);
	if ((pid = fork()) == 0) {
		mq_spool *sp;
		mq_sub *sub;

		if (mq_spool_open(f->dir, 0, &sp) != MQ_OK ||
		    mq_sub_open(sp, pat, 1, MQ_SUB_EXACT, &sub) != MQ_OK ||
		    write(up[1], "s", 1) != 1 || read(down[0], &c, 1) != 1)
			_exit(1);
		_exit(0);	/* no mq_sub_close: as if killed */
	}
	/* Subscribed: routed while it lives, its route kept. */
	assert_int_equal(read(up[0], &c, 1), 1);
	assert_int_equal(mq_router_route(r, "a", &live, &mine, &queues, &nq),
	    MQ_OK);
	assert_int_equal(live, 1);
	assert_int_equal(mine, 0);
	assert_int_equal(write(down[1], "d", 1), 1);
	test_wait_ok(pid);
	/* Asked again and again, as a publisher would: 5 s at most. */
	for (tries = 0; tries < 250; tries++) {
		assert_int_equal(mq_router_route(r, "a", &live, &mine, &queues,
		    &nq), MQ_OK);
		if (live == 0)
			break;
		nanosleep(&pause, NULL);
	}
	assert_int_equal(live, 0);
	mq_router_close(r);
	close(up[0]);
	close(up[1]);
	close(down[0]);
	close(down[1]);
}

static void
test_glob(void **state)
{
	static const struct {
		const char *pattern, *s;
		int match;
	} cases[] = {
		{ "*", "", 1 }, { "*", "anything", 1 }, { "a*", "abc", 1 },
		{ "a*c", "abc", 1 }, { "a*c", "abd", 0 }, { "a?c", "abc", 1 },
		{ "a?c", "ac", 0 }, { "h[ae]llo", "hello", 1 },
		{ "h[ae]llo", "hillo", 0 }, { "h[^e]llo", "hallo", 1 },
		{ "h[^e]llo", "hello", 0 }, { "h[a-b]llo", "hbllo", 1 },
		{ "h[b-a]llo", "hallo", 1 }, { "h\\*llo", "h*llo", 1 },
		{ "h\\*llo", "hello", 0 }, { "*.*.*", "a.b.c", 1 },
		{ "news.*", "news.tech", 1 }, { "news.*", "news", 0 },
		{ "a**b", "ab", 1 }, { "", "", 1 }, { "", "a", 0 },
		{ "*a*a*a*a*a*a*a*b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 0 },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		assert_int_equal(mq_glob_match(cases[i].pattern,
		    strlen(cases[i].pattern), cases[i].s, strlen(cases[i].s)),
		    cases[i].match);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_bindings_route_to_queues,
		    test_spool_setup, test_spool_teardown),
		cmocka_unit_test_setup_teardown(test_live_subscribers,
		    test_spool_setup, test_spool_teardown),
		cmocka_unit_test_setup_teardown(test_dead_subscriber,
		    test_spool_setup, test_spool_teardown),
		cmocka_unit_test_setup_teardown(test_router,
		    test_spool_setup, test_spool_teardown),
		cmocka_unit_test_setup_teardown(test_router_forgets_the_dead,
		    test_spool_setup, test_spool_teardown),
		cmocka_unit_test(test_glob),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
