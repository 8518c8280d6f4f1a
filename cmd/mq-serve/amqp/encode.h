/*
 * encode.h - the AMQP 0-9-1 codec, writing side: frames for the client,
 * and field tables to put in them.
 *
 * Everything is appended to a struct amqp_buf, which grows by doubling
 * and keeps its memory when reset: a door that keeps one buffer per
 * connection (or per loop) stops allocating once it is as large as its
 * largest frame, and hands buf.p and buf.len to its writer.  Writers
 * never fail one by one: a buffer that could not grow (ENOMEM) or was
 * given something the wire cannot say (EINVAL: a short string over 255
 * bytes, an unknown method id) keeps that error in 'err', ignores all
 * later writes, and the caller checks 'err' once at the end.
 *
 * A message body need not be copied: amqp_frame_head() makes the 7
 * bytes to write before each slice of it, and AMQP_FRAME_END goes after.
 */
#ifndef MQ_SERVE_AMQP_ENCODE_H
#define MQ_SERVE_AMQP_ENCODE_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "parse.h"

/* A heartbeat frame, whole. */
#define AMQP_HEARTBEAT_BYTES	"\x08\0\0\0\0\0\0\xce"

struct amqp_buf {
	uint8_t		*p;		/* 'len' bytes written, room for 'cap' */
	size_t		 len, cap;
	int		 err;		/* 0, ENOMEM or EINVAL: see above */
};

/* ---- buf.c: the buffer and the wire's primitive types. */

void	 amqp_buf_init(struct amqp_buf *b);
/* Empties the buffer and clears 'err'; the memory stays. */
void	 amqp_buf_reset(struct amqp_buf *b);
void	 amqp_buf_free(struct amqp_buf *b);

/* Stores 'v' big-endian in the 'n' bytes at 'p'. */
static inline void
amqp_store_be(uint8_t *p, uint64_t v, size_t n)
{
	while (n-- > 0) {
		p[n] = (uint8_t)v;
		v >>= 8;
	}
}

/* amqp_put_be when the buffer must grow, or has failed. */
void	 amqp_put_be_slow(struct amqp_buf *b, uint64_t v, size_t n);

/*
 * Appends the 'n' low bytes of 'v' (n <= 8), big-endian.  Inline: the
 * frames of every delivery are made of these, and the room is there
 * but for the first frames of a connection.
 */
static inline void
amqp_put_be(struct amqp_buf *b, uint64_t v, size_t n)
{
	if (b->err == 0 && n <= b->cap - b->len) {
		amqp_store_be(b->p + b->len, v, n);
		b->len += n;
	} else
		amqp_put_be_slow(b, v, n);
}

static inline void
amqp_put_u8(struct amqp_buf *b, uint8_t v)
{
	amqp_put_be(b, v, 1);
}

static inline void
amqp_put_u16(struct amqp_buf *b, uint16_t v)
{
	amqp_put_be(b, v, 2);
}

static inline void
amqp_put_u32(struct amqp_buf *b, uint32_t v)
{
	amqp_put_be(b, v, 4);
}

static inline void
amqp_put_u64(struct amqp_buf *b, uint64_t v)
{
	amqp_put_be(b, v, 8);
}
/* amqp_put_bytes when the buffer must grow, or has failed. */
void	 amqp_put_bytes_slow(struct amqp_buf *b, const void *p, size_t len);

static inline void
amqp_put_bytes(struct amqp_buf *b, const void *p, size_t len)
{
	if (b->err == 0 && len <= b->cap - b->len) {
		if (len > 0)
			memcpy(b->p + b->len, p, len);
		b->len += len;
	} else
		amqp_put_bytes_slow(b, p, len);
}
/* A length (1 byte, or 4) and the bytes; EINVAL if it does not fit. */
void	 amqp_put_shortstr(struct amqp_buf *b, const void *p, size_t len);
void	 amqp_put_longstr(struct amqp_buf *b, const void *p, size_t len);
/*
 * Reserves a 4-byte length and returns where it is; amqp_put_close()
 * writes there the length of what was appended since.
 */
size_t	 amqp_put_open(struct amqp_buf *b);
void	 amqp_put_close(struct amqp_buf *b, size_t mark);

/* ---- encode.c: frames. */

/* The head of a frame of 'size' payload bytes, for writing a body in place. */
void	 amqp_frame_head(uint8_t out[AMQP_FRAME_HEAD_LEN], uint8_t type,
	    uint16_t channel, uint32_t size);

/*
 * A method frame: method 'id' (enum amqp_method_id) with its arguments
 * in 'args' (args[i] for the spec's argument i; bits are n != 0, tables
 * the bytes of their entries).  EINVAL for an unknown id.
 */
void	 amqp_put_method(struct amqp_buf *b, uint16_t channel, uint32_t id,
	    const struct amqp_value *args);
/*
 * The body frames of a message of 'len' bytes, each of at most
 * 'frame_max' - 8 payload bytes (any size if 'frame_max' is 0); none for
 * an empty body.
 */
void	 amqp_put_body(struct amqp_buf *b, uint16_t channel, const void *body,
	    size_t len, uint32_t frame_max);
void	 amqp_put_heartbeat(struct amqp_buf *b);

/* ---- props.c: the content header frame. */

/*
 * The content header of 'h': its class, weight, body size, and the
 * properties whose bit is set in h->present, with as many flag words
 * as the last of them needs.  EINVAL for a class not in the spec or a
 * bit for a property it does not have.
 */
void	 amqp_put_content_header(struct amqp_buf *b, uint16_t channel,
	    const struct amqp_content_header *h);

/* ---- table.c: the entries of field tables and arrays. */

/*
 * A table's entries are a key (amqp_fput_key) then a value; an array's
 * are values alone.  For a method argument or a property, write the
 * entries into a buffer of their own and pass its bytes as the value;
 * inside a table, amqp_fput_table_open() or amqp_fput_array_open()
 * start a nested one, and amqp_put_close() ends it.
 */
void	 amqp_fput_key(struct amqp_buf *b, const char *key);
void	 amqp_fput_bool(struct amqp_buf *b, int v);			/* t */
void	 amqp_fput_i8(struct amqp_buf *b, int8_t v);			/* b */
void	 amqp_fput_u8(struct amqp_buf *b, uint8_t v);			/* B */
void	 amqp_fput_i16(struct amqp_buf *b, int16_t v);			/* s */
void	 amqp_fput_u16(struct amqp_buf *b, uint16_t v);		/* u */
void	 amqp_fput_i32(struct amqp_buf *b, int32_t v);			/* I */
void	 amqp_fput_u32(struct amqp_buf *b, uint32_t v);		/* i */
void	 amqp_fput_i64(struct amqp_buf *b, int64_t v);			/* l */
void	 amqp_fput_float(struct amqp_buf *b, float v);			/* f */
void	 amqp_fput_double(struct amqp_buf *b, double v);		/* d */
void	 amqp_fput_decimal(struct amqp_buf *b, uint8_t scale, uint32_t v);	/* D */
void	 amqp_fput_str(struct amqp_buf *b, const void *p, size_t len);	/* S */
void	 amqp_fput_bytes(struct amqp_buf *b, const void *p, size_t len);	/* x */
void	 amqp_fput_timestamp(struct amqp_buf *b, uint64_t v);		/* T */
void	 amqp_fput_void(struct amqp_buf *b);				/* V */
/* A table given as the bytes of its entries, e.g. one that came in. */
void	 amqp_fput_table(struct amqp_buf *b, const void *p, size_t len);	/* F */
size_t	 amqp_fput_table_open(struct amqp_buf *b);			/* F */
size_t	 amqp_fput_array_open(struct amqp_buf *b);			/* A */

#endif /* MQ_SERVE_AMQP_ENCODE_H */
