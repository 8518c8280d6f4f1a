/*
 * test_batch.c - the record batch: encode, validate, decode; every
 * truncation and every flipped byte is refused, never taken for data.
 */
#include "helpers.h"

#include "batch.h"
#include "internal.h"

static size_t
build(unsigned char *buf, size_t size)
{
	struct mq_header h[2] = {
		{ "content-type", 12, "text/plain", 10 },
		{ "empty", 5, "", 0 },
	};
	struct mq_msg m[3];
	size_t len = MQ_BATCH_HDR, i;
	mq_id first = { 7, 1 }, last = { 7, 3 };

	memset(m, 0, sizeof(m));
	m[0].body = "hello";
	m[0].bodylen = 5;
	m[1].headers = h;
	m[1].nheaders = 2;
	m[1].body = "a\0b";
	m[1].bodylen = 3;
	m[2].key = "key";
	m[2].keylen = 3;
	for (i = 0; i < 3; i++) {
		mq_id id = { 7, i + 1 };

		assert_true(len + mq_record_size(&m[i]) <= size);
		mq_record_encode(buf + len, &m[i], 1000);
		mq_record_set_id(buf + len, id);
		len += mq_record_size(&m[i]);
	}
	mq_batch_seal(buf, len, 3, 40, first, last, 1000);
	return len;
}

static void
test_round_trip(void **state)
{
	unsigned char buf[1024];
	struct mq_header *hdrs = NULL;
	size_t nhdrs = 0, len = build(buf, sizeof(buf)), p;
	struct mq_batch b;
	struct mq_msg m;
	long n;

	assert_int_equal(mq_batch_check(buf, len, 1, &b), (long)len);
	assert_int_equal(b.count, 3);
	assert_int_equal(b.base_offset, 40);
	assert_int_equal(b.first.seq, 1);
	assert_int_equal(b.last.seq, 3);
	p = MQ_BATCH_HDR;
	n = mq_record_decode(buf + p, len - p, &m, &hdrs, &nhdrs);
	assert_true(n > 0);
	assert_int_equal(m.id.seq, 1);
	assert_int_equal(m.bodylen, 5);
	assert_null(m.key);
	p += (size_t)n;
	n = mq_record_decode(buf + p, len - p, &m, &hdrs, &nhdrs);
	assert_true(n > 0);
	assert_int_equal(m.nheaders, 2);
	assert_memory_equal(m.headers[0].value, "text/plain", 10);
	assert_int_equal(m.headers[1].valuelen, 0);
	assert_memory_equal(m.body, "a\0b", 3);
	p += (size_t)n;
	n = mq_record_decode(buf + p, len - p, &m, &hdrs, &nhdrs);
	assert_true(n > 0);
	assert_int_equal(m.keylen, 3);
	assert_int_equal(m.bodylen, 0);
	assert_int_equal(p + (size_t)n, len);
	free(hdrs);
}

static void
test_every_truncation_is_incomplete(void **state)
{
	unsigned char buf[1024];
	size_t len = build(buf, sizeof(buf)), cut;

	for (cut = 0; cut < len; cut++)
		assert_int_equal(mq_batch_check(buf, cut, 1, NULL), 0);
}

static void
test_every_flipped_byte_is_refused(void **state)
{
	unsigned char buf[1024];
	size_t len = build(buf, sizeof(buf)), i;
	int bit;

	for (i = 0; i < len; i++)
		for (bit = 0; bit < 8; bit++) {
			buf[i] ^= (unsigned char)(1 << bit);
			assert_true(mq_batch_check(buf, len, 1, NULL) <= 0);
			buf[i] ^= (unsigned char)(1 << bit);
		}
	assert_int_equal(mq_batch_check(buf, len, 1, NULL), (long)len);
}

static void
test_bad_records(void **state)
{
	unsigned char rec[64];
	struct mq_header *hdrs = NULL;
	size_t nhdrs = 0;
	struct mq_msg m;

	memset(rec, 0, sizeof(rec));
	/* Shorter than a record header. */
	assert_int_equal(mq_record_decode(rec, 10, &m, &hdrs, &nhdrs), MQ_ECORRUPT);
	/* Length past the buffer. */
	mq_put32(rec, 1000);
	assert_int_equal(mq_record_decode(rec, sizeof(rec), &m, &hdrs, &nhdrs),
	    MQ_ECORRUPT);
	/* A body longer than the record. */
	mq_put32(rec, MQ_REC_HDR - 4);
	mq_put32(rec + 28, MQ_NOKEY);
	mq_put32(rec + 36, 5);
	assert_int_equal(mq_record_decode(rec, sizeof(rec), &m, &hdrs, &nhdrs),
	    MQ_ECORRUPT);
	/* More headers than could fit. */
	mq_put32(rec + 32, 0x10000000u);
	mq_put32(rec + 36, 0);
	assert_int_equal(mq_record_decode(rec, sizeof(rec), &m, &hdrs, &nhdrs),
	    MQ_ECORRUPT);
	/* A minimal record is fine. */
	mq_put32(rec + 32, 0);
	assert_int_equal(mq_record_decode(rec, sizeof(rec), &m, &hdrs, &nhdrs),
	    MQ_REC_HDR);
	free(hdrs);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_every_truncation_is_incomplete),
		cmocka_unit_test(test_every_flipped_byte_is_refused),
		cmocka_unit_test(test_bad_records),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
