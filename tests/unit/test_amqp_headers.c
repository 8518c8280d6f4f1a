/*
 * test_amqp_headers.c - the match of a headers exchange
 * (cmd/mq-serve/amqp/headers.c): x-match all and any, their -with-x
 * kinds, void entries, numbers of different letters, strings and byte
 * arrays, nested tables, no headers at all, and the check of x-match
 * with RabbitMQ's texts.
 */
#include "helpers.h"

#include "amqp/encode.h"
#include "amqp/headers.h"

/* Two tables: a binding's arguments and a message's headers. */
struct pair {
	struct amqp_buf	 args, hdrs;
};

static int
setup(void **state)
{
	struct pair *t = calloc(1, sizeof(*t));

	assert_non_null(t);
	amqp_buf_init(&t->args);
	amqp_buf_init(&t->hdrs);
	*state = t;
	return 0;
}

static int
teardown(void **state)
{
	struct pair *t = *state;

	amqp_buf_free(&t->args);
	amqp_buf_free(&t->hdrs);
	free(t);
	return 0;
}

static void
put_str(struct amqp_buf *b, const char *key, const char *v)
{
	amqp_fput_key(b, key);
	amqp_fput_str(b, v, strlen(v));
}

static void
put_int(struct amqp_buf *b, const char *key, int32_t v)
{
	amqp_fput_key(b, key);
	amqp_fput_i32(b, v);
}

/* Whether the message of 't' matches its binding. */
static int
match(struct pair *t)
{
	struct amqp_headers h = { t->hdrs.p, t->hdrs.len };

	assert_int_equal(t->args.err, 0);
	assert_int_equal(t->hdrs.err, 0);
	return amqp_headers_match(t->args.p, t->args.len, &h);
}

static void
test_all(void **state)
{
	struct pair *t = *state;

	put_str(&t->args, "x-match", "all");
	put_int(&t->args, "a", 1);
	put_str(&t->args, "b", "s");
	put_str(&t->hdrs, "b", "s");
	assert_false(match(t));		/* a is missing */
	put_int(&t->hdrs, "a", 1);
	assert_true(match(t));
	amqp_buf_reset(&t->hdrs);
	put_int(&t->hdrs, "a", 1);
	put_str(&t->hdrs, "b", "t");
	assert_false(match(t));		/* b differs */
}

static void
test_all_is_the_default(void **state)
{
	struct pair *t = *state;

	put_int(&t->args, "a", 1);
	put_int(&t->args, "b", 2);
	put_int(&t->hdrs, "a", 1);
	assert_false(match(t));
	put_int(&t->hdrs, "b", 2);
	assert_true(match(t));
}

static void
test_any(void **state)
{
	struct pair *t = *state;

	put_str(&t->args, "x-match", "any");
	put_int(&t->args, "a", 1);
	put_str(&t->args, "b", "s");
	assert_false(match(t));		/* no headers at all */
	put_str(&t->hdrs, "b", "t");
	assert_false(match(t));
	put_int(&t->hdrs, "a", 1);
	assert_true(match(t));
}

/* Entries "x-..." take part only with all-with-x and any-with-x. */
static void
test_x_entries(void **state)
{
	struct pair *t = *state;

	put_str(&t->args, "x-match", "any");
	put_str(&t->args, "x-k", "v");
	put_str(&t->hdrs, "x-k", "v");
	assert_false(match(t));		/* "any" of nothing */
	amqp_buf_reset(&t->args);
	put_str(&t->args, "x-match", "any-with-x");
	put_str(&t->args, "x-k", "v");
	assert_true(match(t));
	amqp_buf_reset(&t->args);
	put_str(&t->args, "x-match", "all");
	put_str(&t->args, "x-k", "other");
	assert_true(match(t));		/* "all" of nothing */
	amqp_buf_reset(&t->args);
	put_str(&t->args, "x-match", "all-with-x");
	put_str(&t->args, "x-k", "other");
	assert_false(match(t));
}

static void
test_void_asks_presence(void **state)
{
	struct pair *t = *state;

	amqp_fput_key(&t->args, "c");
	amqp_fput_void(&t->args);
	put_int(&t->hdrs, "d", 5);
	assert_false(match(t));
	put_str(&t->hdrs, "c", "anything");
	assert_true(match(t));
}

/* Numbers equal by value whatever their letters; strings and x alike. */
static void
test_values(void **state)
{
	struct pair *t = *state;

	put_int(&t->args, "n", 7);
	amqp_fput_key(&t->args, "s");
	amqp_fput_bytes(&t->args, "abc", 3);
	amqp_fput_key(&t->hdrs, "n");
	amqp_fput_i64(&t->hdrs, 7);
	put_str(&t->hdrs, "s", "abc");
	assert_true(match(t));
	amqp_buf_reset(&t->hdrs);
	amqp_fput_key(&t->hdrs, "n");
	amqp_fput_double(&t->hdrs, 7.0);
	put_str(&t->hdrs, "s", "abc");
	assert_true(match(t));
	amqp_buf_reset(&t->hdrs);
	amqp_fput_key(&t->hdrs, "n");
	amqp_fput_double(&t->hdrs, 7.5);
	put_str(&t->hdrs, "s", "abc");
	assert_false(match(t));
	amqp_buf_reset(&t->hdrs);
	amqp_fput_key(&t->hdrs, "n");
	amqp_fput_str(&t->hdrs, "7", 1);
	put_str(&t->hdrs, "s", "abc");
	assert_false(match(t));		/* a string is no number */
}

static void
test_nested_tables_and_bools(void **state)
{
	struct pair *t = *state;
	size_t mark;
	int i;

	for (i = 0; i < 2; i++) {
		struct amqp_buf *b = i == 0 ? &t->args : &t->hdrs;

		amqp_fput_key(b, "f");
		amqp_fput_bool(b, 1);
		amqp_fput_key(b, "t");
		mark = amqp_fput_table_open(b);
		put_str(b, "k", "v");
		amqp_put_close(b, mark);
	}
	assert_true(match(t));
	amqp_buf_reset(&t->hdrs);
	amqp_fput_key(&t->hdrs, "f");
	amqp_fput_bool(&t->hdrs, 0);
	amqp_fput_key(&t->hdrs, "t");
	mark = amqp_fput_table_open(&t->hdrs);
	put_str(&t->hdrs, "k", "v");
	amqp_put_close(&t->hdrs, mark);
	assert_false(match(t));
}

static void
test_check(void **state)
{
	struct pair *t = *state;
	char why[256];

	put_int(&t->args, "a", 1);
	assert_int_equal(amqp_headers_check(t->args.p, t->args.len, why,
	    sizeof(why)), 0);
	put_str(&t->args, "x-match", "any-with-x");
	assert_int_equal(amqp_headers_check(t->args.p, t->args.len, why,
	    sizeof(why)), 0);
	amqp_buf_reset(&t->args);
	put_str(&t->args, "x-match", "some");
	assert_int_equal(amqp_headers_check(t->args.p, t->args.len, why,
	    sizeof(why)), -1);
	assert_string_equal(why, "Invalid x-match field value <<\"some\">>; "
	    "expected all, any, all-with-x, or any-with-x");
	assert_false(match(t));
	amqp_buf_reset(&t->args);
	put_int(&t->args, "x-match", 1);
	assert_int_equal(amqp_headers_check(t->args.p, t->args.len, why,
	    sizeof(why)), -1);
	assert_string_equal(why, "Invalid x-match field type signedint "
	    "(value 1); expected longstr");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_all, setup, teardown),
		cmocka_unit_test_setup_teardown(test_all_is_the_default, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_any, setup, teardown),
		cmocka_unit_test_setup_teardown(test_x_entries, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_void_asks_presence, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_values, setup, teardown),
		cmocka_unit_test_setup_teardown(test_nested_tables_and_bools,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_check, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
