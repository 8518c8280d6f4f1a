/*
 * fuzz_wal.c - libFuzzer target for the records of the spool's
 * write-ahead log (walrec.c): a log body is walked record after record
 * as catch_up() in wal.c walks it, until a record is cut short (0) or
 * refused.  A length mq_wal_record_check() returns never passes what is
 * left, 0 means cut short and nothing else, the name lies inside the
 * record, a batch record holds one whole batch (as mq_wal_collect()
 * reads it), and a record that checks seals again (mq_wal_record_seal
 * over a copy) to the very same bytes.
 *
 * The first byte of the input says how the rest makes the log.  As it
 * is; or (BUILD) as one batch record built from it, a message with the
 * rest as its body, then one byte of it changed where the input says.
 * And with FIX_CRC, each record's CRC is made right before it is
 * checked.  The fuzzer would seldom get a CRC-32C right by itself, nor
 * a whole batch behind it, and would never see what lies beyond them.
 */
#include <stdlib.h>
#include <string.h>

#include "batch.h"
#include "internal.h"
#include "wal.h"

#define FIX_CRC		0x1
#define BUILD		0x2

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Checks the record that checked at 'p', 'n' bytes of the 'left' there. */
static void
check_record(const uint8_t *p, size_t left, long n, int kind,
    const char *enc, size_t enclen, uint64_t gen)
{
	unsigned char *copy;
	size_t blen;

	if (n < MQ_WAL_REC || (size_t)n > left)
		abort();
	if (enc != (const char *)p + MQ_WAL_REC || enclen == 0 ||
	    MQ_WAL_REC + enclen > (size_t)n)
		abort();
	/* A tombstone is its name; a batch, one whole batch after it. */
	blen = (size_t)n - MQ_WAL_REC - enclen;
	if (kind == MQ_WAL_TOMBSTONE) {
		if (blen != 0)
			abort();
	} else if (kind != MQ_WAL_BATCH || blen < MQ_BATCH_HDR ||
	    mq_batch_check(p + MQ_WAL_REC + enclen, blen, 0, NULL) != (long)blen)
		abort();
	if ((copy = malloc((size_t)n)) == NULL)
		abort();
	memcpy(copy, p, (size_t)n);
	memset(copy, 0, MQ_WAL_REC + enclen);
	mq_wal_record_seal(copy, (size_t)n, kind, enc, enclen, gen);
	if (memcmp(copy, p, (size_t)n) != 0)
		abort();
	free(copy);
}

/* Walks the log body 'p' ('size' bytes); 'fix' makes each CRC right first. */
static void
walk(uint8_t *p, size_t size, int fix)
{
	const char *enc;
	size_t pos = 0, enclen, left, rlen;
	uint64_t gen;
	long n;
	int kind;

	/* The log's generation: the first record's, so that some match. */
	gen = size >= MQ_WAL_REC ? mq_get64(p + 16) : 1;
	while (pos < size) {
		left = size - pos;
		if ((fix & FIX_CRC) && left >= MQ_WAL_REC &&
		    (rlen = mq_get32(p + pos + 4)) >= MQ_WAL_REC && rlen <= left)
			mq_put32(p + pos + 8, mq_crc32c(0, p + pos + 12, rlen - 12));
		n = mq_wal_record_check(p + pos, left, gen, &kind, &enc, &enclen);
		if (n < 0)
			break;
		if (n == 0) {
			/* Cut short: catch_up reads on, so it must be so. */
			if (left >= MQ_WAL_REC && mq_get32(p + pos + 4) <= left)
				abort();
			break;
		}
		check_record(p + pos, left, n, kind, enc, enclen, gen);
		pos += (size_t)n;
	}
}

/*
 * A batch record of stream "s..." ('in[0]' % 8 + 1 letters) holding one
 * message, the input from 'in[3]' on as its body, sealed as wal.c seals
 * it; then byte 'in[1]' (of the record, modulo its size) XORed with
 * 'in[2]'.  Its size, 0 if 'in' is too short.
 */
static size_t
build(const uint8_t *in, size_t len, uint8_t **out)
{
	static const char name[] = "ssssssss";
	struct mq_msg m;
	mq_id id = { 1, 0 };
	size_t nlen, rs, total;
	uint8_t *p;

	if (len < 3)
		return 0;
	memset(&m, 0, sizeof(m));
	m.body = in + 3;
	m.bodylen = len - 3;
	nlen = in[0] % 8 + 1;
	rs = mq_record_size(&m);
	total = MQ_WAL_REC + nlen + MQ_BATCH_HDR + rs;
	if ((p = malloc(total)) == NULL)
		abort();
	mq_record_encode(p + MQ_WAL_REC + nlen + MQ_BATCH_HDR, &m, 0);
	mq_record_set_id(p + MQ_WAL_REC + nlen + MQ_BATCH_HDR, id);
	mq_batch_seal(p + MQ_WAL_REC + nlen, MQ_BATCH_HDR + rs, 1, 0, id, id, 0);
	mq_wal_record_seal(p, total, MQ_WAL_BATCH, name, nlen, 1);
	p[in[1] % total] ^= in[2];
	*out = p;
	return total;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *log;
	size_t len;

	if (size == 0)
		return 0;
	if (data[0] & BUILD) {
		if ((len = build(data + 1, size - 1, &log)) == 0)
			return 0;
	} else {
		/* A copy of exactly its size: ASan catches a read past it. */
		len = size - 1;
		if ((log = malloc(len > 0 ? len : 1)) == NULL)
			abort();
		memcpy(log, data + 1, len);
	}
	walk(log, len, data[0]);
	free(log);
	return 0;
}
