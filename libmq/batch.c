/*
 * batch.c - encoding, validation and decoding of record batches.
 *
 * A segment file is a sequence of batches; one append writes one batch
 * with one write(2).  A batch is a 64-byte header (magic, length, CRC-32C
 * of everything after the CRC field, record count, first offset, first and
 * last id, append time) followed by its records.  A reader accepts a batch
 * only when all of it is in the file and the CRC matches, so a batch that
 * is being written, or was torn by a crash, is never taken for data.
 *
 * This file does no I/O: recovery, readers, unit tests and fuzzers share
 * the one validation function, mq_batch_check().
 */
#include <stdlib.h>
#include <string.h>

#include "batch.h"
#include "internal.h"

size_t
mq_msg_payload(const struct mq_msg *msg)
{
	size_t n, i;

	n = msg->bodylen + (msg->key != NULL ? msg->keylen : 0);
	for (i = 0; i < msg->nheaders; i++)
		n += msg->headers[i].namelen + msg->headers[i].valuelen;
	return n;
}

size_t
mq_record_size(const struct mq_msg *msg)
{
	size_t i;

	if (msg->bodylen >= MQ_NOKEY || msg->nheaders >= MQ_NOKEY ||
	    (msg->key != NULL && msg->keylen >= MQ_NOKEY))
		return 0;
	for (i = 0; i < msg->nheaders; i++)
		if (msg->headers[i].namelen >= MQ_NOKEY ||
		    msg->headers[i].valuelen >= MQ_NOKEY)
			return 0;
	return MQ_REC_HDR + 8 * msg->nheaders + mq_msg_payload(msg);
}

void
mq_record_encode(unsigned char *p, const struct mq_msg *msg, int64_t time_ms)
{
	size_t size = mq_record_size(msg), i;
	unsigned char *q;

	mq_put32(p, (uint32_t)(size - 4));
	mq_put64(p + 4, 0);
	mq_put64(p + 12, 0);
	mq_put64(p + 20, (uint64_t)time_ms);
	mq_put32(p + 28, msg->key != NULL ? (uint32_t)msg->keylen : MQ_NOKEY);
	mq_put32(p + 32, (uint32_t)msg->nheaders);
	mq_put32(p + 36, (uint32_t)msg->bodylen);
	q = p + MQ_REC_HDR;
	for (i = 0; i < msg->nheaders; i++) {
		const struct mq_header *h = &msg->headers[i];

		mq_put32(q, (uint32_t)h->namelen);
		mq_put32(q + 4, (uint32_t)h->valuelen);
		q += 8;
		if (h->namelen > 0)
			memcpy(q, h->name, h->namelen);
		q += h->namelen;
		if (h->valuelen > 0)
			memcpy(q, h->value, h->valuelen);
		q += h->valuelen;
	}
	if (msg->key != NULL && msg->keylen > 0) {
		memcpy(q, msg->key, msg->keylen);
		q += msg->keylen;
	}
	if (msg->bodylen > 0)
		memcpy(q, msg->body, msg->bodylen);
}

void
mq_record_set_id(unsigned char *rec, mq_id id)
{
	mq_put64(rec + 4, id.ms);
	mq_put64(rec + 12, id.seq);
}

void
mq_batch_seal(unsigned char *p, size_t len, uint32_t count,
    uint64_t base_offset, mq_id first, mq_id last, int64_t time_ms)
{
	mq_put32(p, MQ_BATCH_MAGIC);
	mq_put32(p + 4, (uint32_t)len);
	mq_put32(p + 12, count);
	mq_put64(p + 16, base_offset);
	mq_put64(p + 24, first.ms);
	mq_put64(p + 32, first.seq);
	mq_put64(p + 40, last.ms);
	mq_put64(p + 48, last.seq);
	mq_put64(p + 56, (uint64_t)time_ms);
	mq_put32(p + 8, mq_crc32c(0, p + 12, len - 12));
}

int
mq_batch_header(const unsigned char *buf, struct mq_batch *hdr)
{
	if (mq_get32(buf) != MQ_BATCH_MAGIC)
		return MQ_ECORRUPT;
	hdr->length = mq_get32(buf + 4);
	hdr->crc = mq_get32(buf + 8);
	hdr->count = mq_get32(buf + 12);
	hdr->base_offset = mq_get64(buf + 16);
	hdr->first.ms = mq_get64(buf + 24);
	hdr->first.seq = mq_get64(buf + 32);
	hdr->last.ms = mq_get64(buf + 40);
	hdr->last.seq = mq_get64(buf + 48);
	hdr->time_ms = (int64_t)mq_get64(buf + 56);
	/* Every record takes at least MQ_REC_HDR bytes. */
	if (hdr->count == 0 || hdr->length < MQ_BATCH_HDR ||
	    (hdr->length - MQ_BATCH_HDR) / MQ_REC_HDR < hdr->count ||
	    mq_id_cmp(hdr->first, hdr->last) > 0)
		return MQ_ECORRUPT;
	return MQ_OK;
}

long
mq_batch_check(const unsigned char *buf, size_t len, int check_crc,
    struct mq_batch *hdr)
{
	struct mq_batch h;

	if (len < MQ_BATCH_HDR)
		return 0;
	if (mq_batch_header(buf, &h) != MQ_OK)
		return MQ_ECORRUPT;
	if (hdr != NULL)
		*hdr = h;
	if (len < h.length)
		return 0;
	if (check_crc && mq_crc32c(0, buf + 12, h.length - 12) != h.crc)
		return MQ_ECORRUPT;
	return (long)h.length;
}

long
mq_record_decode(const unsigned char *p, size_t len, struct mq_msg *msg,
    struct mq_header **hdrs, size_t *nhdrs)
{
	uint32_t reclen, keylen, nh, bodylen, i;
	const unsigned char *q, *end;

	if (len < MQ_REC_HDR)
		return MQ_ECORRUPT;
	reclen = mq_get32(p);
	if (reclen < MQ_REC_HDR - 4 || reclen > len - 4)
		return MQ_ECORRUPT;
	end = p + 4 + reclen;
	msg->id.ms = mq_get64(p + 4);
	msg->id.seq = mq_get64(p + 12);
	msg->time_ms = (int64_t)mq_get64(p + 20);
	keylen = mq_get32(p + 28);
	nh = mq_get32(p + 32);
	bodylen = mq_get32(p + 36);
	if (nh > (reclen - (MQ_REC_HDR - 4)) / 8)
		return MQ_ECORRUPT;
	if (nh > *nhdrs) {
		struct mq_header *n;
		size_t want = nh < 16 ? 16 : nh;

		n = reallocarray(*hdrs, want, sizeof(**hdrs));
		if (n == NULL)
			return mq_sys();
		*hdrs = n;
		*nhdrs = want;
	}
	q = p + MQ_REC_HDR;
	for (i = 0; i < nh; i++) {
		struct mq_header *h = &(*hdrs)[i];

		if ((size_t)(end - q) < 8)
			return MQ_ECORRUPT;
		h->namelen = mq_get32(q);
		h->valuelen = mq_get32(q + 4);
		q += 8;
		if ((size_t)(end - q) < h->namelen ||
		    (size_t)(end - q) - h->namelen < h->valuelen)
			return MQ_ECORRUPT;
		h->name = q;
		q += h->namelen;
		h->value = q;
		q += h->valuelen;
	}
	msg->headers = *hdrs;
	msg->nheaders = nh;
	if (keylen == MQ_NOKEY) {
		msg->key = NULL;
		msg->keylen = 0;
	} else {
		if ((size_t)(end - q) < keylen)
			return MQ_ECORRUPT;
		msg->key = q;
		msg->keylen = keylen;
		q += keylen;
	}
	if ((size_t)(end - q) != bodylen)
		return MQ_ECORRUPT;
	msg->body = q;
	msg->bodylen = bodylen;
	return (long)(4 + reclen);
}
