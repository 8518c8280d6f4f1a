/*
 * test_auth.c - mq-serve's password checks off the loop (cmd/mq-serve/
 * auth.c), with its real loop, thread and users file, and connections
 * that are bare structs: answers right and wrong, the cache of successes,
 * the delay after a failure, one check per connection, a request dropped
 * while it waits, is queued or runs, and a reload while a check runs.
 *
 * The user "slow" has a SHA-512 hash of many rounds, made at start, so
 * that its check runs long enough to be seen running (auth_stats); the
 * tests wait for that with a bound, never for a time.
 */
#include <crypt.h>
#include <errno.h>
#include <time.h>

#include "helpers.h"

#include "server.h"
#include "users.h"

/* "sesame", as in test_users.c. */
#define SHA512_SESAME	"$6$mqtestsalt$/uKERq5YRH9GKcQOO3RCkuY4RR3/" \
	"rUCj2Lpgy5py5RJGjhK6Skr4ShHJSgqymtsriyFALWV2cm1YatiF5bVGi."
#define SLOW_SETTING	"$6$rounds=1500000$mqslowsalt$"
#define SLOW_PASS	"slowly"

static char slow_hash[256];

struct fixture {
	char		*dir;
	char		 path[4096];
	struct server	 s;
	struct conn	 c[3];
	int		 answers;	/* how many came */
	struct conn	*last;		/* the connection of the last one */
	int		 ok;		/* and what it said */
};

/* Writes 'text' as the users file and loads it. */
static struct users *
load(struct fixture *f, const char *text)
{
	char err[512];
	struct users *u;
	FILE *fp;

	assert_non_null(fp = fopen(f->path, "w"));
	assert_true(fputs(text, fp) >= 0);
	assert_int_equal(fclose(fp), 0);
	if ((u = users_load(f->path, err, sizeof(err))) == NULL)
		fail_msg("%s", err);
	return u;
}

static int
setup(void **state)
{
	struct fixture *f;
	char text[512];
	size_t i;

	assert_non_null(f = calloc(1, sizeof(*f)));
	f->dir = test_tmpdir();
	snprintf(f->path, sizeof(f->path), "%s/users", f->dir);
	snprintf(text, sizeof(text), "alice:%s\nslow:%s\n", SHA512_SESAME,
	    slow_hash);
	f->s.users = load(f, text);
	assert_non_null(f->s.loop = loop_new());
	assert_int_equal(auth_start(&f->s), 0);
	for (i = 0; i < NELEM(f->c); i++) {
		f->c[i].server = &f->s;
		f->c[i].id = i + 1;
	}
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;
	size_t i;

	for (i = 0; i < NELEM(f->c); i++)
		auth_cancel(&f->c[i]);
	auth_stop(&f->s);
	users_free(f->s.users);
	loop_free(f->s.loop);
	test_rmdir(f->dir);
	free(f);
	return 0;
}

static void
answered(struct conn *c, void *arg, int ok)
{
	struct fixture *f = arg;

	assert_null(c->auth);	/* gone before the call: it may ask again */
	f->answers++;
	f->last = c;
	f->ok = ok;
	loop_stop(c->server->loop);
}

static void
too_long(struct loop *loop, void *arg)
{
	fail_msg("no answer after 20 s");
}

static void
ask(struct fixture *f, int i, const char *user, const char *pass)
{
	assert_int_equal(auth_check(&f->c[i], user, strlen(user), pass,
	    strlen(pass), answered, f), 0);
	assert_non_null(f->c[i].auth);
}

/* Runs the loop until the next answer; returns what it said. */
static int
next_answer(struct fixture *f)
{
	uint64_t t = loop_timer_add(f->s.loop, 20000, too_long, f);
	int before = f->answers;

	assert_int_equal(loop_run(f->s.loop), 0);
	loop_timer_del(f->s.loop, t);
	assert_int_equal(f->answers, before + 1);
	return f->ok;
}

static struct auth_stats
stats(struct fixture *f)
{
	struct auth_stats st;

	auth_stats(&f->s, &st);
	return st;
}

/* Waits (20 s at most) until the thread runs a check. */
static void
wait_running(struct fixture *f)
{
	struct timespec ms = { 0, 1000000 };
	int i;

	for (i = 0; i < 20000 && !stats(f).running; i++)
		nanosleep(&ms, NULL);
	assert_int_equal(stats(f).running, 1);
}

static void
test_answers_cache_and_delay(void **state)
{
	struct fixture *f = *state;

	ask(f, 0, "alice", "sesame");
	assert_int_equal(next_answer(f), 1);
	assert_int_equal(stats(f).checks, 1);
	assert_int_equal(stats(f).cached, 1);
	/* The same pair from another connection: the cache, no check. */
	ask(f, 1, "alice", "sesame");
	assert_int_equal(next_answer(f), 1);
	assert_ptr_equal(f->last, &f->c[1]);
	assert_int_equal(stats(f).checks, 1);
	assert_int_equal(stats(f).cache_hits, 1);
	/* Wrong ones are checked each time, and counted per connection. */
	ask(f, 1, "alice", "Sesame");
	assert_int_equal(next_answer(f), 0);
	assert_int_equal(f->c[1].auth_fails, 1);
	ask(f, 1, "bob", "sesame");
	assert_int_equal(stats(f).waiting, 1);	/* its delay first */
	assert_int_equal(next_answer(f), 0);
	assert_int_equal(f->c[1].auth_fails, 2);
	assert_int_equal(stats(f).checks, 3);
	/* Then the right one, after a delay too; a success ends the run. */
	ask(f, 1, "alice", "sesame");
	assert_int_equal(stats(f).waiting, 1);
	assert_int_equal(next_answer(f), 1);
	assert_int_equal(f->c[1].auth_fails, 0);
	assert_int_equal(stats(f).delayed, 2);
	assert_int_equal(stats(f).failures, 2);
	assert_int_equal(stats(f).waiting, 0);
	/* The other connection never failed: no delay. */
	ask(f, 0, "alice", "nope");
	assert_int_equal(stats(f).waiting, 0);
	assert_int_equal(next_answer(f), 0);
}

static void
test_one_check_per_connection(void **state)
{
	struct fixture *f = *state;

	ask(f, 0, "alice", "sesame");
	errno = 0;
	assert_int_equal(auth_check(&f->c[0], "alice", 5, "sesame", 6,
	    answered, f), -1);
	assert_int_equal(errno, EBUSY);
	assert_int_equal(next_answer(f), 1);
	assert_int_equal(f->answers, 1);
}

static void
test_cancel(void **state)
{
	struct fixture *f = *state;

	/* One runs, one is queued behind it: both dropped. */
	ask(f, 0, "slow", SLOW_PASS);
	wait_running(f);
	ask(f, 1, "alice", "sesame");
	assert_int_equal(stats(f).queued, 1);
	auth_cancel(&f->c[1]);
	assert_null(f->c[1].auth);
	assert_int_equal(stats(f).queued, 0);
	auth_cancel(&f->c[0]);
	assert_null(f->c[0].auth);
	/* The next answer is the only one: the dropped ones never come. */
	ask(f, 2, "alice", "sesame");
	assert_int_equal(next_answer(f), 1);
	assert_ptr_equal(f->last, &f->c[2]);
	assert_int_equal(stats(f).checks, 2);	/* slow's and c[2]'s */
	/* One waiting out its delay: dropped with its timer. */
	f->c[1].auth_fails = 5;
	ask(f, 1, "alice", "sesame");
	assert_int_equal(stats(f).waiting, 1);
	auth_cancel(&f->c[1]);
	assert_int_equal(stats(f).waiting, 0);
	ask(f, 0, "alice", "nope");
	assert_int_equal(next_answer(f), 0);
	assert_ptr_equal(f->last, &f->c[0]);
	assert_int_equal(f->answers, 2);
}

static void
test_reload_while_running(void **state)
{
	struct fixture *f = *state;
	char text[512];

	ask(f, 0, "alice", "sesame");
	assert_int_equal(next_answer(f), 1);
	assert_int_equal(stats(f).cached, 1);
	/* slow's right password, checked while slow leaves the file. */
	ask(f, 1, "slow", SLOW_PASS);
	wait_running(f);
	snprintf(text, sizeof(text), "alice:%s\n", SHA512_SESAME);
	auth_reload(&f->s, load(f, text));
	assert_int_equal(stats(f).cached, 0);
	/* The answer against the old file is not taken: checked again. */
	assert_int_equal(next_answer(f), 0);
	assert_int_equal(stats(f).checks, 3);
	/* And alice's password is checked again, the cache being empty. */
	ask(f, 0, "alice", "sesame");
	assert_int_equal(next_answer(f), 1);
	assert_int_equal(stats(f).checks, 4);
	assert_int_equal(stats(f).cache_hits, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_answers_cache_and_delay,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_one_check_per_connection,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_cancel, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reload_while_running,
		    setup, teardown),
	};
	struct crypt_data cd;
	const char *h;

	memset(&cd, 0, sizeof(cd));
	if ((h = crypt_r(SLOW_PASS, SLOW_SETTING, &cd)) == NULL || *h == '*' ||
	    strlen(h) >= sizeof(slow_hash))
		return 1;
	strcpy(slow_hash, h);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
