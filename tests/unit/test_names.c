/*
 * test_names.c - which names the spool surely has no key of (names.c):
 * "absent" only once a listing was taken, never for a key that exists,
 * never after another process took a name since the listing (a stream
 * or a sorted set made, or renamed to), until it is listed again; a
 * process's own new keys keep its listing current.
 *
 * Another mq_spool_open in this process stands for another process: a
 * spool handle keeps its listing to itself.
 */
#include "helpers.h"
#include "internal.h"

#define ENOUGH	100000	/* looks that must bring a listing */

struct fixture {
	char		*dir;
	mq_spool	*sp;		/* the one that asks */
	mq_spool	*other;		/* another process */
};

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	f->dir = test_tmpdir();
	assert_int_equal(mq_spool_open(f->dir, MQ_CREATE, &f->sp), MQ_OK);
	assert_int_equal(mq_spool_open(f->dir, 0, &f->other), MQ_OK);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	mq_spool_close(f->other);
	mq_spool_close(f->sp);
	test_rmdir(f->dir);
	free(f);
	return 0;
}

static int
absent(mq_spool *sp, const char *name)
{
	char enc[MQ_ENCNAME_MAX];

	assert_true(mq_name_encode(name, enc, sizeof(enc)) > 0);
	return mq_names_absent(sp, enc);
}

/* Asks about 'name' until the answer is "absent"; how many asks it took. */
static long
until_absent(mq_spool *sp, const char *name)
{
	long i;

	for (i = 1; i <= ENOUGH; i++)
		if (absent(sp, name))
			return i;
	return -1;
}

static void
make_stream(mq_spool *sp, const char *name)
{
	mq_stream *s;

	assert_int_equal(mq_stream_open(sp, name, MQ_CREATE, &s), MQ_OK);
	mq_stream_close(s);
}

static void
make_zset(mq_spool *sp, const char *name)
{
	struct mq_zmember m = { 0 };
	struct mq_zadd res;
	mq_zset *z;

	m.member = "m";
	m.len = 1;
	m.score = 1.0;
	assert_int_equal(mq_zset_open(sp, name, MQ_CREATE, &z), MQ_OK);
	assert_int_equal(mq_zset_add(z, &m, 1, 0, &res), MQ_OK);
	mq_zset_close(z);
}

/* Looks first; a listing later; never "absent" for what exists. */
static void
test_listing_after_looks(void **state)
{
	struct fixture *f = *state;
	long took;

	make_stream(f->other, "s");
	make_zset(f->other, "z");
	assert_false(absent(f->sp, "x"));	/* no listing yet */
	took = until_absent(f->sp, "x");
	assert_true(took > 1);
	assert_true(absent(f->sp, "y"));	/* listed: no look */
	assert_false(absent(f->sp, "s"));
	assert_false(absent(f->sp, "z"));
}

/* Another process makes a key: the listing no longer says "absent". */
static void
stale_after(struct fixture *f, void (*take)(mq_spool *, const char *))
{
	assert_true(until_absent(f->sp, "x") > 0);
	assert_true(absent(f->sp, "new"));
	take(f->other, "new");
	assert_false(absent(f->sp, "new"));
	assert_false(absent(f->sp, "x"));	/* any name, until listed again */
	assert_true(until_absent(f->sp, "x") > 1);
	assert_false(absent(f->sp, "new"));
}

static void
test_stale_after_stream_made(void **state)
{
	stale_after(*state, make_stream);
}

static void
test_stale_after_zset_made(void **state)
{
	stale_after(*state, make_zset);
}

static void
rename_stream(mq_spool *sp, const char *to)
{
	make_stream(sp, "from");
	assert_int_equal(mq_stream_rename(sp, "from", to, 0), MQ_OK);
}

static void
rename_zset(mq_spool *sp, const char *to)
{
	make_zset(sp, "zfrom");
	assert_int_equal(mq_zset_rename(sp, "zfrom", to, 0), MQ_OK);
}

static void
test_stale_after_stream_renamed(void **state)
{
	stale_after(*state, rename_stream);
}

static void
test_stale_after_zset_renamed(void **state)
{
	stale_after(*state, rename_zset);
}

/* Its own new keys: the listing stays current, and has them. */
static void
test_own_keys_keep_listing(void **state)
{
	struct fixture *f = *state;

	assert_true(until_absent(f->sp, "x") > 0);
	make_stream(f->sp, "mine");
	make_zset(f->sp, "zmine");
	assert_false(absent(f->sp, "mine"));
	assert_false(absent(f->sp, "zmine"));
	assert_true(absent(f->sp, "x"));
}

/* A key removed stays "look": the answer is never wrong, only slower. */
static void
test_removed_key_looks(void **state)
{
	struct fixture *f = *state;

	make_stream(f->sp, "gone");
	assert_true(until_absent(f->sp, "x") > 0);
	assert_int_equal(mq_stream_remove(f->other, "gone"), MQ_OK);
	assert_false(absent(f->sp, "gone"));
	assert_true(absent(f->sp, "x"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_listing_after_looks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stale_after_stream_made, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stale_after_zset_made, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stale_after_stream_renamed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stale_after_zset_renamed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_own_keys_keep_listing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_removed_key_looks, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
