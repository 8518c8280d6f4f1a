/*
 * batch.h - the record batch, the unit of every append (see batch.c and
 * mq-spool(5)).
 */
#ifndef MQ_BATCH_H
#define MQ_BATCH_H

#include <stddef.h>
#include <stdint.h>

#include "mq.h"

#define MQ_BATCH_MAGIC	0x3142514du	/* "MQB1" little-endian */
#define MQ_BATCH_HDR	64		/* bytes of a batch header */
#define MQ_REC_HDR	40		/* bytes of a record header */
#define MQ_NOKEY	0xffffffffu	/* key_len of a record with no key */

/* A batch header, decoded. */
struct mq_batch {
	uint32_t	 length;	/* whole batch, header included */
	uint32_t	 crc;
	uint32_t	 count;
	uint64_t	 base_offset;
	mq_id		 first, last;
	int64_t		 time_ms;
};

/* Bytes a message takes as a record, or 0 if a field is over 4 GiB. */
size_t	 mq_record_size(const struct mq_msg *msg);
/* The part of a record that counts against max-msg: key, headers, body. */
size_t	 mq_msg_payload(const struct mq_msg *msg);

/*
 * Writes 'msg' as a record at 'p' (mq_record_size bytes) with id 0-0;
 * the id is set later by mq_record_set_id.
 */
void	 mq_record_encode(unsigned char *p, const struct mq_msg *msg,
	    int64_t time_ms);
void	 mq_record_set_id(unsigned char *rec, mq_id id);

/* Fills in the header of the batch at 'p' ('len' bytes) and its CRC. */
void	 mq_batch_seal(unsigned char *p, size_t len, uint32_t count,
	    uint64_t base_offset, mq_id first, mq_id last, int64_t time_ms);

/*
 * Validates the batch at the start of 'buf': returns its length if the
 * whole batch is there and sound, 0 if 'len' is too short to tell (a
 * partial batch: more may come), or MQ_ECORRUPT.  'hdr' is filled when
 * not NULL and the header could be read.  'check_crc' 0 skips the CRC
 * (for hopping over batches whose CRC was already checked).
 */
long	 mq_batch_check(const unsigned char *buf, size_t len, int check_crc,
	    struct mq_batch *hdr);
/* Decodes just the 64-byte header; MQ_ECORRUPT if the magic or sizes are off. */
int	 mq_batch_header(const unsigned char *buf, struct mq_batch *hdr);

/*
 * Decodes the record at 'p' (of at most 'len' bytes) into 'msg', with
 * headers in 'hdrs' (room for '*nhdrs'; grown with reallocarray when
 * short).  Returns the record's size or MQ_ECORRUPT.
 */
long	 mq_record_decode(const unsigned char *p, size_t len,
	    struct mq_msg *msg, struct mq_header **hdrs, size_t *nhdrs);

#endif /* MQ_BATCH_H */
