/*
 * test_crc32c.c - CRC-32C against published vectors and a bitwise
 * reference, through both the dispatching (hardware where the CPU has
 * it) and the table implementation.
 */
#include "helpers.h"

#include "internal.h"

/* The definition, one bit at a time. */
static uint32_t
ref_crc32c(uint32_t crc, const unsigned char *p, size_t len)
{
	int k;

	crc = ~crc;
	while (len-- > 0) {
		crc ^= *p++;
		for (k = 0; k < 8; k++)
			crc = crc & 1 ? (crc >> 1) ^ 0x82F63B78u : crc >> 1;
	}
	return ~crc;
}

/* Deterministic pseudo-random bytes (xorshift32). */
static void
fill(unsigned char *p, size_t len, uint32_t seed)
{
	uint32_t x = seed ? seed : 1;

	while (len-- > 0) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		*p++ = x >> 24;
	}
}

static void
test_vectors(void **state)
{
	unsigned char b[32];
	size_t i;

	assert_int_equal(mq_crc32c(0, "123456789", 9), 0xE3069283u);
	assert_int_equal(mq_crc32c_sw(0, "123456789", 9), 0xE3069283u);
	assert_int_equal(mq_crc32c(0, "", 0), 0);
	assert_int_equal(mq_crc32c(0x12345678, NULL, 0), 0x12345678);

	/* RFC 3720, appendix B.4. */
	memset(b, 0, sizeof(b));
	assert_int_equal(mq_crc32c(0, b, 32), 0x8A9136AAu);
	assert_int_equal(mq_crc32c_sw(0, b, 32), 0x8A9136AAu);
	memset(b, 0xff, sizeof(b));
	assert_int_equal(mq_crc32c(0, b, 32), 0x62A8AB43u);
	assert_int_equal(mq_crc32c_sw(0, b, 32), 0x62A8AB43u);
	for (i = 0; i < 32; i++)
		b[i] = i;
	assert_int_equal(mq_crc32c(0, b, 32), 0x46DD794Eu);
	assert_int_equal(mq_crc32c_sw(0, b, 32), 0x46DD794Eu);
	for (i = 0; i < 32; i++)
		b[i] = 31 - i;
	assert_int_equal(mq_crc32c(0, b, 32), 0x113FDB5Cu);
	assert_int_equal(mq_crc32c_sw(0, b, 32), 0x113FDB5Cu);
}

/* Every length 0..64 at every alignment 0..7, against the reference. */
static void
test_lengths_alignments(void **state)
{
	unsigned char buf[64 + 8];
	uint32_t want;
	size_t off, len;

	fill(buf, sizeof(buf), 7);
	for (off = 0; off < 8; off++)
		for (len = 0; len <= 64; len++) {
			want = ref_crc32c(0, buf + off, len);
			assert_int_equal(mq_crc32c(0, buf + off, len), want);
			assert_int_equal(mq_crc32c_sw(0, buf + off, len), want);
			/* A non-zero starting CRC, too. */
			want = ref_crc32c(0xDEADBEEF, buf + off, len);
			assert_int_equal(mq_crc32c(0xDEADBEEF, buf + off, len),
			    want);
			assert_int_equal(mq_crc32c_sw(0xDEADBEEF, buf + off,
			    len), want);
		}
}

/* The CRC of a||b is the CRC of b continued from that of a, at any split. */
static void
test_chaining(void **state)
{
	unsigned char buf[300];
	uint32_t whole, c;
	size_t i;

	fill(buf, sizeof(buf), 99);
	whole = ref_crc32c(0, buf, sizeof(buf));
	for (i = 0; i <= sizeof(buf); i++) {
		c = mq_crc32c(mq_crc32c(0, buf, i), buf + i, sizeof(buf) - i);
		assert_int_equal(c, whole);
		c = mq_crc32c_sw(mq_crc32c_sw(0, buf, i), buf + i,
		    sizeof(buf) - i);
		assert_int_equal(c, whole);
		/* Mixing the two implementations across the split. */
		c = mq_crc32c_sw(mq_crc32c(0, buf, i), buf + i,
		    sizeof(buf) - i);
		assert_int_equal(c, whole);
	}
	/* Byte by byte. */
	for (c = 0, i = 0; i < sizeof(buf); i++)
		c = mq_crc32c(c, buf + i, 1);
	assert_int_equal(c, whole);
}

/* A large odd-sized buffer: both implementations and the reference agree. */
static void
test_large(void **state)
{
	size_t len = (1u << 20) + 13;
	unsigned char *buf;
	uint32_t want;

	assert_non_null(buf = malloc(len + 1));
	fill(buf, len + 1, 12345);
	want = ref_crc32c(0, buf + 1, len);
	assert_int_equal(mq_crc32c(0, buf + 1, len), want);
	assert_int_equal(mq_crc32c_sw(0, buf + 1, len), want);
	/* One flipped bit changes the CRC. */
	buf[len / 2] ^= 0x10;
	assert_int_not_equal(mq_crc32c(0, buf + 1, len), want);
	free(buf);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vectors),
		cmocka_unit_test(test_lengths_alignments),
		cmocka_unit_test(test_chaining),
		cmocka_unit_test(test_large),
	};

#if defined(__x86_64__)
	printf("crc32c: mq_crc32c uses the %s implementation\n",
	    __builtin_cpu_supports("sse4.2") ? "SSE4.2" : "table");
#endif
	return cmocka_run_group_tests(tests, NULL, NULL);
}
