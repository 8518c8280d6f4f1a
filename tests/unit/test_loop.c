/*
 * test_loop.c - mq-serve's timers (cmd/mq-serve/loop.c): they fire the
 * earliest first, those due at the same time in the order they were
 * added, a deleted one never, and one a timer adds while the loop runs
 * them is kept.  Ordering only: delays 10 ms apart, so that the clock
 * moving while they are added cannot reorder them.
 */
#include "helpers.h"

#include "server.h"

#define NTIMERS	60

struct fired {
	struct loop	*loop;
	int		 order[NTIMERS * 2];
	int		 n, left;
	uint64_t	 ids[NTIMERS];
};

static struct fired fired;

static void
note(struct loop *loop, void *arg)
{
	fired.order[fired.n++] = (int)(intptr_t)arg;
	if (--fired.left == 0)
		loop_stop(loop);
}

/* Adds one more, due at once, from inside the loop's run of timers. */
static void
note_and_add(struct loop *loop, void *arg)
{
	fired.left++;
	assert_true(loop_timer_add(loop, 0, note, (void *)(intptr_t)999) > 0);
	note(loop, arg);
}

static void
test_order_and_delete(void **state)
{
	struct loop *loop = loop_new();
	int i, delay, expect[NTIMERS], nexpect = 0, slot;

	(void)state;
	assert_non_null(loop);
	memset(&fired, 0, sizeof(fired));
	/*
	 * Timer i is due after (i * 7 % 20) * 10 ms: twenty delays, three
	 * timers each, added out of order.  Every fourth is deleted.  Timer
	 * 57 (190 ms) adds one more as it fires.
	 */
	for (i = 0; i < NTIMERS; i++) {
		delay = i * 7 % 20 * 10;
		fired.ids[i] = loop_timer_add(loop, delay,
		    i == 57 ? note_and_add : note, (void *)(intptr_t)i);
		assert_true(fired.ids[i] > 0);
	}
	for (i = 0; i < NTIMERS; i += 4)
		loop_timer_del(loop, fired.ids[i]);
	loop_timer_del(loop, 123456);	/* no such timer: nothing */
	/* Expected: by delay, then in the order added. */
	for (delay = 0; delay < 200; delay += 10)
		for (i = 0; i < NTIMERS; i++)
			if (i * 7 % 20 * 10 == delay && i % 4 != 0)
				expect[nexpect++] = i;
	/* Timer 57, the last due, adds one due at once: it comes last. */
	expect[nexpect++] = 999;
	fired.left = nexpect - 1;	/* 999 is counted as it is added */
	assert_int_equal(loop_run(loop), 0);
	assert_int_equal(fired.n, nexpect);
	for (slot = 0; slot < nexpect; slot++)
		assert_int_equal(fired.order[slot], expect[slot]);
	loop_free(loop);
}

static void
test_free_with_timers_left(void **state)
{
	struct loop *loop = loop_new();
	int i;

	(void)state;
	assert_non_null(loop);
	for (i = 0; i < 1000; i++)
		assert_true(loop_timer_add(loop, 60000 + i % 17, note, NULL) > 0);
	loop_free(loop);	/* each freed: valgrind and ASan say */
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_order_and_delete),
		cmocka_unit_test(test_free_with_timers_left),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
