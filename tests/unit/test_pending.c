/*
 * test_pending.c - the pending array of a group: slots in id order,
 * found, sought and inserted anywhere, against a plain table of which
 * ids are pending, through appends in order, inserts below the top,
 * removals and the squeezes they bring.
 */
#include "helpers.h"

#include "internal.h"

enum { MAXID = 2000 };

struct model {
	struct mq_plist	 pl;
	unsigned char	 in[MAXID + 1];	/* in[ms]: id ms-0 is pending */
	uint64_t	 live;
};

static mq_id
id_of(uint64_t ms)
{
	mq_id id = { ms, 0 };

	return id;
}

static void
add(struct model *m, uint64_t ms)
{
	struct mq_pentry *p;

	assert_null(mq_plist_find(&m->pl, id_of(ms)));
	assert_non_null(p = mq_plist_insert(&m->pl, id_of(ms), m->live));
	assert_true(p->live && p->id.ms == ms);
	p->owner = NULL;
	m->in[ms] = 1;
	m->live++;
}

static void
del(struct model *m, uint64_t ms)
{
	struct mq_pentry *p = mq_plist_find(&m->pl, id_of(ms));

	assert_non_null(p);
	p->live = 0;
	m->pl.ndead++;
	m->in[ms] = 0;
	m->live--;
	mq_plist_tidy(&m->pl, m->live);
}

/* The array is in order, its ends live, and it says what the table says. */
static void
check(struct model *m)
{
	const struct mq_plist *pl = &m->pl;
	uint64_t ms, live = 0, dead = 0;
	size_t i, want;

	if (pl->head < pl->len) {
		assert_true(pl->e[pl->head].live);
		assert_true(pl->e[pl->len - 1].live);
	}
	for (i = pl->head; i < pl->len; i++) {
		if (i > pl->head)
			assert_true(!mq_id_lt(pl->e[i].id, pl->e[i - 1].id));
		if (pl->e[i].live)
			live++;
		else
			dead++;
	}
	assert_int_equal(live, m->live);
	assert_int_equal(dead, pl->ndead);
	for (ms = 0; ms <= MAXID; ms++) {
		assert_int_equal(mq_plist_find(&m->pl, id_of(ms)) != NULL,
		    m->in[ms]);
		want = pl->len;
		for (i = pl->head; i < pl->len; i++)
			if (pl->e[i].live && pl->e[i].id.ms > ms) {
				want = i;
				break;
			}
		assert_int_equal(mq_plist_seek(pl, id_of(ms), 1), want);
	}
}

static void
test_in_order(void **state)
{
	struct model m;
	uint64_t ms;

	(void)state;
	memset(&m, 0, sizeof(m));
	for (ms = 1; ms <= 1000; ms++)
		add(&m, ms);
	check(&m);
	/* Acks in order leave no dead slot behind. */
	for (ms = 1; ms <= 500; ms++)
		del(&m, ms);
	assert_int_equal(m.pl.ndead, 0);
	check(&m);
	for (ms = 501; ms <= 1000; ms++)
		del(&m, ms);
	assert_int_equal(m.pl.len, 0);
	free(m.pl.e);
}

static void
test_anywhere(void **state)
{
	struct model m;
	uint64_t ms;
	int round;

	(void)state;
	memset(&m, 0, sizeof(m));
	srandom(7);
	for (ms = MAXID / 2; ms <= MAXID; ms += 2)
		add(&m, ms);
	/* Below the top, at the front, and removals between. */
	for (round = 0; round < 6000; round++) {
		ms = (uint64_t)random() % MAXID + 1;
		if (m.in[ms])
			del(&m, ms);
		else
			add(&m, ms);
		if (round % 500 == 0)
			check(&m);
	}
	check(&m);
	free(m.pl.e);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_in_order),
		cmocka_unit_test(test_anywhere),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
