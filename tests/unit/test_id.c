/*
 * test_id.c - stream ids: parsing and formatting as Redis 7 does, order,
 * increment and decrement, and XADD id specs.
 */
#include "helpers.h"

#include "mq.h"

static int
parse(const char *s, uint64_t missing, mq_id *id)
{
	return mq_id_parse(s, strlen(s), missing, id);
}

static void
assert_id(mq_id id, uint64_t ms, uint64_t seq)
{
	if (id.ms != ms || id.seq != seq)
		fail_msg("got %ju-%ju, want %ju-%ju", (uintmax_t)id.ms,
		    (uintmax_t)id.seq, (uintmax_t)ms, (uintmax_t)seq);
}

static void
test_parse_valid(void **state)
{
	mq_id id;

	assert_int_equal(parse("0-0", 0, &id), MQ_OK);
	assert_id(id, 0, 0);
	assert_int_equal(parse("1-2", 0, &id), MQ_OK);
	assert_id(id, 1, 2);
	assert_int_equal(parse("1526919030474-55", 0, &id), MQ_OK);
	assert_id(id, 1526919030474ull, 55);
	assert_int_equal(parse("18446744073709551615-18446744073709551615",
	    0, &id), MQ_OK);
	assert_id(id, UINT64_MAX, UINT64_MAX);
	assert_int_equal(parse("9223372036854775808-0", 0, &id), MQ_OK);
	assert_id(id, 9223372036854775808ull, 0);
	assert_int_equal(parse("007-010", 0, &id), MQ_OK);
	assert_id(id, 7, 10);

	/* A bare ms takes the missing seq. */
	assert_int_equal(parse("5", 0, &id), MQ_OK);
	assert_id(id, 5, 0);
	assert_int_equal(parse("5", UINT64_MAX, &id), MQ_OK);
	assert_id(id, 5, UINT64_MAX);
	assert_int_equal(parse("18446744073709551615", 0, &id), MQ_OK);
	assert_id(id, UINT64_MAX, 0);

	/* "-" and "+": the smallest and largest ids, whatever the missing seq. */
	assert_int_equal(parse("-", UINT64_MAX, &id), MQ_OK);
	assert_id(id, 0, 0);
	assert_int_equal(parse("+", 0, &id), MQ_OK);
	assert_id(id, UINT64_MAX, UINT64_MAX);

	/* Only 'len' bytes are read. */
	assert_int_equal(mq_id_parse("12-34xyz", 5, 0, &id), MQ_OK);
	assert_id(id, 12, 34);
}

static void
test_parse_invalid(void **state)
{
	static const char *bad[] = {
		"", "18446744073709551616", "18446744073709551616-0",
		"0-18446744073709551616", "99999999999999999999",
		"1-", "-1", "1-2-3", " 1", "1 ", "1- 2", "abc", "1-a", "a-1",
		"+1", "1-+2", "1--2", "-1-1", "--", "++", "+-", "*", "1-*",
		"0x10", "1.5", "1-2\n", "-0",
	};
	mq_id id = { 77, 88 };
	char longid[200];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (parse(bad[i], 0, &id) != MQ_EBADID)
			fail_msg("parsed \"%s\"", bad[i]);
		assert_id(id, 77, 88);	/* untouched on failure */
	}
	/* An embedded NUL within 'len' is not a digit. */
	assert_int_equal(mq_id_parse("1\0002", 3, 0, &id), MQ_EBADID);

	/* Over 127 bytes is refused even when the value is small (Redis). */
	memset(longid, '0', sizeof(longid));
	longid[126] = '1';
	assert_int_equal(mq_id_parse(longid, 127, 0, &id), MQ_OK);
	assert_id(id, 1, 0);
	longid[127] = '1';
	longid[126] = '0';
	assert_int_equal(mq_id_parse(longid, 128, 0, &id), MQ_EBADID);
}

static void
test_fmt(void **state)
{
	static const struct { uint64_t ms, seq; const char *s; } v[] = {
		{ 0, 0, "0-0" },
		{ 1, 2, "1-2" },
		{ 1526919030474ull, 55, "1526919030474-55" },
		{ 10, 100, "10-100" },
		{ UINT64_MAX, UINT64_MAX,
		    "18446744073709551615-18446744073709551615" },
	};
	char buf[MQ_ID_MAX];
	mq_id id, back;
	size_t i;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		id.ms = v[i].ms;
		id.seq = v[i].seq;
		assert_int_equal(mq_id_fmt(buf, id), strlen(v[i].s));
		assert_string_equal(buf, v[i].s);
		assert_int_equal(parse(buf, 0, &back), MQ_OK);
		assert_int_equal(mq_id_cmp(id, back), 0);
	}
	/* The largest id fills MQ_ID_MAX with its NUL. */
	assert_int_equal(strlen(v[4].s) + 1, MQ_ID_MAX);
}

static void
test_cmp(void **state)
{
	mq_id a = { 1, 5 }, b = { 2, 0 }, c = { 1, 6 }, d = { 1, 5 };
	mq_id big = { UINT64_MAX, 0 }, small = { 0, UINT64_MAX };

	assert_true(mq_id_cmp(a, b) < 0);
	assert_true(mq_id_cmp(b, a) > 0);
	assert_true(mq_id_cmp(a, c) < 0);
	assert_true(mq_id_cmp(c, a) > 0);
	assert_int_equal(mq_id_cmp(a, d), 0);
	/* No overflow from subtracting large values. */
	assert_true(mq_id_cmp(big, small) > 0);
	assert_true(mq_id_cmp(small, big) < 0);
	assert_true(mq_id_cmp(MQ_ID_LAST, big) > 0);
	assert_int_equal(MQ_ID_LAST.ms, UINT64_MAX);
	assert_int_equal(MQ_ID_LAST.seq, UINT64_MAX);
}

static void
test_incr_decr(void **state)
{
	mq_id id;

	id = (mq_id){ 5, 7 };
	assert_int_equal(mq_id_incr(&id), MQ_OK);
	assert_id(id, 5, 8);
	assert_int_equal(mq_id_decr(&id), MQ_OK);
	assert_int_equal(mq_id_decr(&id), MQ_OK);
	assert_id(id, 5, 6);

	/* Carry of seq into ms, and back. */
	id = (mq_id){ 5, UINT64_MAX };
	assert_int_equal(mq_id_incr(&id), MQ_OK);
	assert_id(id, 6, 0);
	assert_int_equal(mq_id_decr(&id), MQ_OK);
	assert_id(id, 5, UINT64_MAX);

	/* The edges. */
	id = MQ_ID_LAST;
	assert_int_equal(mq_id_incr(&id), MQ_EBADID);
	assert_id(id, UINT64_MAX, UINT64_MAX);
	id = (mq_id){ 0, 0 };
	assert_int_equal(mq_id_decr(&id), MQ_EBADID);
	assert_id(id, 0, 0);
	id = (mq_id){ 0, 0 };
	assert_int_equal(mq_id_incr(&id), MQ_OK);
	assert_id(id, 0, 1);
	id = MQ_ID_LAST;
	assert_int_equal(mq_id_decr(&id), MQ_OK);
	assert_id(id, UINT64_MAX, UINT64_MAX - 1);
	id = (mq_id){ UINT64_MAX - 1, UINT64_MAX };
	assert_int_equal(mq_id_incr(&id), MQ_OK);
	assert_id(id, UINT64_MAX, 0);
}

static int
spec(const char *s, struct mq_idspec *sp)
{
	return mq_idspec_parse(s, strlen(s), sp);
}

static void
test_idspec(void **state)
{
	static const char *bad[] = {
		"", "-", "+", "**", "*-1", "-*", "5-", "5-**", "5-*-", "a-*",
		"18446744073709551616-*", " 5-*", "5-* ", "1-2-*", "5-3-1",
		"5 ", "x",
	};
	struct mq_idspec sp;
	size_t i;

	assert_int_equal(spec("*", &sp), MQ_OK);
	assert_int_equal(sp.kind, MQ_ID_AUTO);

	assert_int_equal(spec("5-*", &sp), MQ_OK);
	assert_int_equal(sp.kind, MQ_ID_PARTIAL);
	assert_int_equal(sp.id.ms, 5);

	assert_int_equal(spec("18446744073709551615-*", &sp), MQ_OK);
	assert_int_equal(sp.kind, MQ_ID_PARTIAL);
	assert_int_equal(sp.id.ms, UINT64_MAX);

	/* A bare ms means seq 0 for XADD. */
	assert_int_equal(spec("5", &sp), MQ_OK);
	assert_int_equal(sp.kind, MQ_ID_EXPLICIT);
	assert_id(sp.id, 5, 0);

	assert_int_equal(spec("5-3", &sp), MQ_OK);
	assert_int_equal(sp.kind, MQ_ID_EXPLICIT);
	assert_id(sp.id, 5, 3);

	/* 0-0 parses; refusing it is the append's job (MQ_EIDZERO). */
	assert_int_equal(spec("0-0", &sp), MQ_OK);
	assert_int_equal(sp.kind, MQ_ID_EXPLICIT);
	assert_id(sp.id, 0, 0);

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		sp.kind = MQ_ID_AUTO;
		if (spec(bad[i], &sp) != MQ_EBADID)
			fail_msg("parsed spec \"%s\"", bad[i]);
		assert_int_equal(sp.kind, MQ_ID_AUTO);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_valid),
		cmocka_unit_test(test_parse_invalid),
		cmocka_unit_test(test_fmt),
		cmocka_unit_test(test_cmp),
		cmocka_unit_test(test_incr_decr),
		cmocka_unit_test(test_idspec),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
