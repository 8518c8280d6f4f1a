/*
 * walrec.c - the records of the spool's write-ahead log (wal.c): sealing
 * one, and checking one that was read back.  Pure functions, fuzzed
 * (tests/fuzz/fuzz_wal.c).
 *
 * A record (mq-spool(5), "WRITE-AHEAD LOG"), little-endian:
 *
 *	0	magic "MQWR"
 *	4	length of the whole record
 *	8	CRC-32C of bytes 12 .. length
 *	12	kind (1 a batch, 2 a tombstone), 16 bits
 *	14	length of the name, 16 bits
 *	16	generation of the log it was written in
 *	24	the stream's name, as its directory is named
 *	...	for a batch: one batch as a segment holds it (batch.h),
 *		base offset 0
 */
#include <string.h>

#include "batch.h"
#include "internal.h"
#include "wal.h"

#define WAL_REC_MAGIC	0x5257514du	/* "MQWR" */

void
mq_wal_record_seal(unsigned char *p, size_t len, int kind, const char *enc,
    size_t enclen, uint64_t gen)
{
	mq_put32(p, WAL_REC_MAGIC);
	mq_put32(p + 4, (uint32_t)len);
	mq_put32(p + 12, (uint32_t)kind | (uint32_t)enclen << 16);
	mq_put64(p + 16, gen);
	memcpy(p + MQ_WAL_REC, enc, enclen);
	mq_put32(p + 8, mq_crc32c(0, p + 12, len - 12));
}

/*
 * Checks the record at the start of 'p' ('len' bytes there): its length,
 * or 0 if it is cut short, or MQ_ECORRUPT.  On success '*kind', '*enc'
 * and '*enclen' say what it is; its generation must be 'gen'.
 */
long
mq_wal_record_check(const unsigned char *p, size_t len, uint64_t gen,
    int *kind, const char **enc, size_t *enclen)
{
	uint32_t rlen;
	size_t nlen;

	if (len < MQ_WAL_REC)
		return 0;
	if (mq_get32(p) != WAL_REC_MAGIC)
		return MQ_ECORRUPT;
	rlen = mq_get32(p + 4);
	nlen = (size_t)p[14] | (size_t)p[15] << 8;
	if (rlen < MQ_WAL_REC + nlen || nlen == 0 || nlen > MQ_ENCNAME_LIMIT)
		return MQ_ECORRUPT;
	if (rlen > len)
		return 0;
	if (mq_crc32c(0, p + 12, rlen - 12) != mq_get32(p + 8))
		return MQ_ECORRUPT;
	if (mq_get64(p + 16) != gen)
		return MQ_ECORRUPT;
	*kind = (int)mq_get32(p + 12) & 0xffff;
	switch (*kind) {
	case MQ_WAL_BATCH:
		/* One whole batch: too short for its header is none (0). */
		if (rlen - MQ_WAL_REC - nlen < MQ_BATCH_HDR ||
		    mq_batch_check(p + MQ_WAL_REC + nlen,
		    rlen - MQ_WAL_REC - nlen, 0, NULL) !=
		    (long)(rlen - MQ_WAL_REC - nlen))
			return MQ_ECORRUPT;
		break;
	case MQ_WAL_TOMBSTONE:
		if (rlen != MQ_WAL_REC + nlen)
			return MQ_ECORRUPT;
		break;
	default:
		return MQ_ECORRUPT;
	}
	*enc = (const char *)p + MQ_WAL_REC;
	*enclen = nlen;
	return (long)rlen;
}
