/*
 * test_name.c - percent-encoding of names into file names and back.
 */
#include "helpers.h"

#include "internal.h"

/* Encodes 'name', checks it decodes back, returns the encoding in 'enc'. */
static void
round_trip(const char *name, char *enc)
{
	char dec[MQ_NAME_MAX + 1];
	int n;

	n = mq_name_encode(name, enc, MQ_ENCNAME_MAX);
	assert_true(n > 0);
	assert_int_equal((size_t)n, strlen(enc));
	assert_null(strchr(enc, '/'));
	assert_true(enc[0] != '.');
	n = mq_name_decode(enc, dec, sizeof(dec));
	assert_int_equal(n, (int)strlen(name));
	assert_string_equal(dec, name);
}

static int
plain(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '_' || c == '-';
}

/* Each byte value alone, first in a name and after another byte. */
static void
test_every_byte(void **state)
{
	char name[3], enc[MQ_ENCNAME_MAX], want[8];
	int c;

	for (c = 1; c < 256; c++) {
		name[0] = c;
		name[1] = '\0';
		round_trip(name, enc);
		if (plain(c))
			snprintf(want, sizeof(want), "%c", c);
		else
			snprintf(want, sizeof(want), "%%%02X", c);
		assert_string_equal(enc, want);

		name[0] = 'x';
		name[1] = c;
		name[2] = '\0';
		round_trip(name, enc);
		if (plain(c) || c == '.')
			snprintf(want, sizeof(want), "x%c", c);
		else
			snprintf(want, sizeof(want), "x%%%02X", c);
		assert_string_equal(enc, want);
	}
}

/* All 255 byte values, in names as long as their encoding allows. */
static void
test_all_bytes_long(void **state)
{
	char name[MQ_NAME_MAX + 1], enc[MQ_ENCNAME_MAX];
	int i, from;

	/* 70 bytes encode to at most 210: under MQ_ENCNAME_LIMIT. */
	for (from = 1; from < 256; from += 70) {
		for (i = 0; i < 70 && from + i < 256; i++)
			name[i] = (char)(from + i);
		name[i] = '\0';
		round_trip(name, enc);
	}
}

static void
test_special_names(void **state)
{
	char enc[MQ_ENCNAME_MAX];

	round_trip(".", enc);
	assert_string_equal(enc, "%2E");
	round_trip("..", enc);
	assert_string_equal(enc, "%2E.");
	round_trip("...", enc);
	assert_string_equal(enc, "%2E..");
	round_trip(".hidden", enc);
	assert_string_equal(enc, "%2Ehidden");
	round_trip("a/b", enc);
	assert_string_equal(enc, "a%2Fb");
	round_trip("../etc/passwd", enc);
	assert_string_equal(enc, "%2E.%2Fetc%2Fpasswd");
	round_trip("orders.dlq", enc);
	assert_string_equal(enc, "orders.dlq");
	round_trip("a b%c", enc);
	assert_string_equal(enc, "a%20b%25c");
	round_trip("Az09_-", enc);
	assert_string_equal(enc, "Az09_-");
	round_trip("\xc3\xa9t\xc3\xa9", enc);
	assert_string_equal(enc, "%C3%A9t%C3%A9");
}

static void
test_lengths(void **state)
{
	char name[MQ_NAME_MAX + 2], enc[MQ_ENCNAME_MAX + 8];

	assert_int_equal(mq_name_encode("", enc, sizeof(enc)), MQ_EBADNAME);

	memset(name, 'x', MQ_NAME_MAX);
	name[MQ_NAME_MAX] = '\0';
	assert_int_equal(mq_name_encode(name, enc, sizeof(enc)), MQ_NAME_MAX);
	name[MQ_NAME_MAX] = 'x';
	name[MQ_NAME_MAX + 1] = '\0';
	assert_int_equal(mq_name_encode(name, enc, sizeof(enc)), MQ_EBADNAME);

	/* An encoding must fit a file name, with room for a prefix. */
	memset(name, '/', MQ_NAME_MAX);
	name[MQ_NAME_MAX] = '\0';
	assert_int_equal(mq_name_encode(name, enc, MQ_ENCNAME_MAX), MQ_EBADNAME);
	name[MQ_ENCNAME_LIMIT / 3] = '\0';
	assert_int_equal(mq_name_encode(name, enc, MQ_ENCNAME_MAX),
	    MQ_ENCNAME_LIMIT / 3 * 3);
	name[MQ_ENCNAME_LIMIT / 3] = '/';
	name[MQ_ENCNAME_LIMIT / 3 + 1] = '\0';
	assert_int_equal(mq_name_encode(name, enc, MQ_ENCNAME_MAX), MQ_EBADNAME);
}

/* A buffer one byte short is refused, never overrun. */
static void
test_small_buffers(void **state)
{
	char buf[16];

	memset(buf, 'Z', sizeof(buf));
	assert_int_equal(mq_name_encode("abc", buf, 3), MQ_EINVAL);
	assert_int_equal(buf[3], 'Z');
	assert_int_equal(mq_name_encode("abc", buf, 4), 3);
	assert_string_equal(buf, "abc");
	assert_int_equal(mq_name_encode("a/", buf, 4), MQ_EINVAL);
	assert_int_equal(mq_name_encode("a/", buf, 5), 4);
	assert_string_equal(buf, "a%2F");
	assert_int_equal(mq_name_encode("a", buf, 0), MQ_EINVAL);

	memset(buf, 'Z', sizeof(buf));
	assert_int_equal(mq_name_decode("a%2Fb", buf, 3), MQ_EINVAL);
	assert_int_equal(buf[3], 'Z');
	assert_int_equal(mq_name_decode("a%2Fb", buf, 4), 3);
	assert_string_equal(buf, "a/b");
	assert_int_equal(mq_name_decode("a", buf, 0), MQ_EINVAL);
}

/* Strings that are no name's encoding. */
static void
test_decode_rejects(void **state)
{
	static const char *bad[] = {
		"",		/* empty name */
		".",		/* leading '.' must be escaped */
		"..",
		".a",
		"a/b",		/* '/' must be escaped */
		"a b",
		"a%2fb",	/* lower-case hex */
		"%2e",
		"%41",		/* 'A' is never escaped */
		"a%2E",		/* '.' after the start is never escaped */
		"%2E%2E",
		"%5F",		/* '_' */
		"%2D",		/* '-' */
		"%00",		/* NUL */
		"%",		/* truncated escapes */
		"%4",
		"a%",
		"%G0",
		"%0G",
		"%%41",
		"\xc3\xa9",	/* bytes over 127 must be escaped */
	};
	char buf[MQ_NAME_MAX + 1], enc[3 * (MQ_NAME_MAX + 1) + 1];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (mq_name_decode(bad[i], buf, sizeof(buf)) != MQ_EBADNAME)
			fail_msg("decoded \"%s\"", bad[i]);
	}

	/* Over-long names, plain and escaped. */
	memset(enc, 'x', MQ_NAME_MAX + 1);
	enc[MQ_NAME_MAX + 1] = '\0';
	assert_int_equal(mq_name_decode(enc, buf, sizeof(buf)), MQ_EBADNAME);
	enc[MQ_NAME_MAX] = '\0';
	assert_int_equal(mq_name_decode(enc, buf, sizeof(buf)), MQ_NAME_MAX);
	for (i = 0; i < MQ_NAME_MAX + 1; i++)
		memcpy(enc + 3 * i, "%2F", 3);
	enc[3 * (MQ_NAME_MAX + 1)] = '\0';
	assert_int_equal(mq_name_decode(enc, buf, sizeof(buf)), MQ_EBADNAME);
	enc[3 * MQ_NAME_MAX] = '\0';
	assert_int_equal(mq_name_decode(enc, buf, sizeof(buf)), MQ_NAME_MAX);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_byte),
		cmocka_unit_test(test_all_bytes_long),
		cmocka_unit_test(test_special_names),
		cmocka_unit_test(test_lengths),
		cmocka_unit_test(test_small_buffers),
		cmocka_unit_test(test_decode_rejects),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
