/*
 * wire.h - inside the AMQP codec: a bounds-checked cursor over bytes,
 * big-endian loads and stores, and the reading and writing of one value of a wire
 * type, which methods (parse.c, encode.c) and content properties
 * (props.c) share.  Not for the door: it uses parse.h and encode.h.
 *
 * Every read checks that its bytes are there first and moves the cursor
 * only if they are, so a failed read leaves nothing half done.
 */
#ifndef MQ_SERVE_AMQP_WIRE_H
#define MQ_SERVE_AMQP_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "encode.h"
#include "parse.h"

struct amqp_rd {
	const uint8_t	*p;
	size_t		 len;	/* bytes at 'p' */
	size_t		 pos;	/* the next one to read */
};

static inline uint16_t
amqp_be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t
amqp_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

static inline uint64_t
amqp_be64(const uint8_t *p)
{
	return (uint64_t)amqp_be32(p) << 32 | amqp_be32(p + 4);
}

static inline size_t
rd_left(const struct amqp_rd *r)
{
	return r->len - r->pos;
}

/*
 * Reads an unsigned big-endian integer of 'n' bytes (1, 2, 4 or 8) into
 * '*v'.  Returns 0, or -1 if fewer bytes are left.
 */
static inline int
rd_uint(struct amqp_rd *r, size_t n, uint64_t *v)
{
	const uint8_t *q = r->p + r->pos;

	if (rd_left(r) < n)
		return -1;
	*v = n == 1 ? q[0] : n == 2 ? amqp_be16(q) : n == 4 ? amqp_be32(q) :
	    amqp_be64(q);
	r->pos += n;
	return 0;
}

/*
 * Reads a length of 'n' bytes (1 or 4) and that many bytes after it,
 * setting '*p' and '*len' to them.  Returns 0, or -1 if they do not fit.
 */
static inline int
rd_sized(struct amqp_rd *r, size_t n, const uint8_t **p, size_t *len)
{
	size_t save = r->pos;
	uint64_t l;

	if (rd_uint(r, n, &l) == -1)
		return -1;
	if (rd_left(r) < l) {
		r->pos = save;
		return -1;
	}
	*p = r->p + r->pos;
	*len = (size_t)l;
	r->pos += (size_t)l;
	return 0;
}


/* Keeps 'err' in the buffer unless it holds one already. */
void	 amqp_buf_fail(struct amqp_buf *b, int err);

/* Forgets the last error: each parse starts with it. */
void	 amqp_clear(struct amqp_parser *p);

/*
 * Sets the parser's error: reply 'code', and the text "NAME - " and
 * 'fmt'.  Returns -1.
 */
int	 amqp_fail(struct amqp_parser *p, uint16_t code, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));

/*
 * A 501 FRAME_ERROR in RabbitMQ's words: "type 'type', all octets =
 * <<...>>: 'why'", quoting (the first 16 bytes of) the payload.
 * Returns -1.
 */
int	 amqp_frame_error(struct amqp_parser *p, uint8_t type,
	    const uint8_t *payload, size_t len, const char *why);

/*
 * Starts a frame: its type, channel and room for its size, returned as
 * the mark to give amqp_frame_close(), which writes the size and the
 * end octet.
 */
size_t	 amqp_frame_open(struct amqp_buf *b, uint8_t type, uint16_t channel);
void	 amqp_frame_close(struct amqp_buf *b, size_t mark);

/* amqp_read_value()'s failures. */
#define AMQP_RD_SHORT	(-1)	/* cut short */
#define AMQP_RD_BAD	(-2)	/* a table that does not walk */

/*
 * Reads one value of wire type 't' (not a bit: methods pack those, and
 * a property's is its flag) into '*v'.  A table is checked all through
 * (amqp_table_check).  Returns 0, or one of the failures above.
 */
int	 amqp_read_value(struct amqp_rd *r, enum amqp_type t,
	    struct amqp_value *v);

/*
 * Appends the value 'v' of wire type 't' (not a bit).  A string longer
 * than its length field can say sets EINVAL in the buffer.
 */
void	 amqp_put_value(struct amqp_buf *b, enum amqp_type t,
	    const struct amqp_value *v);

#endif /* MQ_SERVE_AMQP_WIRE_H */
