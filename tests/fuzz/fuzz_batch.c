/*
 * fuzz_batch.c - libFuzzer target for the segment reader's validation:
 * whatever the bytes, mq_batch_check() and mq_record_decode() either
 * refuse them or decode records that lie wholly inside the batch.
 */
#include <stdlib.h>
#include <string.h>

#include "batch.h"
#include "internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mq_header *hdrs = NULL;
	size_t nhdrs = 0, pos = 0;
	struct mq_batch b;
	struct mq_msg m;
	long len, n;
	uint32_t i;

	/* Walk the input as a segment: batch after batch. */
	while (pos < size) {
		len = mq_batch_check(data + pos, size - pos, 0, &b);
		if (len <= 0)
			break;
		n = MQ_BATCH_HDR;
		for (i = 0; i < b.count && n < len; i++) {
			long r = mq_record_decode(data + pos + n, (size_t)(len - n),
			    &m, &hdrs, &nhdrs);

			if (r < 0)
				break;
			if (m.bodylen > 0 && ((const uint8_t *)m.body < data + pos ||
			    (const uint8_t *)m.body + m.bodylen > data + pos + len))
				abort();
			n += r;
		}
		pos += (size_t)len;
	}
	free(hdrs);
	return 0;
}
