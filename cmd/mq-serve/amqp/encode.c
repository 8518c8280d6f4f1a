/*
 * encode.c - AMQP 0-9-1 frames for the client: methods, bodies,
 * heartbeats.
 *
 * Model: the mirror of parse.c.  A frame is opened (type, channel, room
 * for the size), filled, and closed (the size written back, the end
 * octet appended); a method's arguments are written in the order and
 * types of spec.c, consecutive bits packed into octets from the lowest
 * bit up, 8 to an octet.
 */
#include <errno.h>
#include <string.h>

#include "wire.h"

void
amqp_frame_head(uint8_t out[AMQP_FRAME_HEAD_LEN], uint8_t type,
    uint16_t channel, uint32_t size)
{
	out[0] = type;
	amqp_store_be(out + 1, channel, 2);
	amqp_store_be(out + 3, size, 4);
}

size_t
amqp_frame_open(struct amqp_buf *b, uint8_t type, uint16_t channel)
{
	amqp_put_u8(b, type);
	amqp_put_u16(b, channel);
	return amqp_put_open(b);
}

void
amqp_frame_close(struct amqp_buf *b, size_t mark)
{
	amqp_put_close(b, mark);
	amqp_put_u8(b, AMQP_FRAME_END);
}

void
amqp_put_value(struct amqp_buf *b, enum amqp_type t,
    const struct amqp_value *v)
{
	switch (t) {
	case AMQP_T_OCTET:
		amqp_put_u8(b, (uint8_t)v->n);
		break;
	case AMQP_T_SHORT:
		amqp_put_u16(b, (uint16_t)v->n);
		break;
	case AMQP_T_LONG:
		amqp_put_u32(b, (uint32_t)v->n);
		break;
	case AMQP_T_LONGLONG:
	case AMQP_T_TIMESTAMP:
		amqp_put_u64(b, v->n);
		break;
	case AMQP_T_SHORTSTR:
		amqp_put_shortstr(b, v->p, v->len);
		break;
	case AMQP_T_LONGSTR:
	case AMQP_T_TABLE:
		amqp_put_longstr(b, v->p, v->len);
		break;
	case AMQP_T_BIT:
		break;		/* packed by the caller */
	}
}

static void
put_args(struct amqp_buf *b, const struct amqp_method_spec *s,
    const struct amqp_value *args)
{
	unsigned bit = 8;	/* the next bit of the octet at 'at'; 8: none */
	size_t at = 0;
	uint8_t i;

	for (i = 0; i < s->nargs; i++) {
		if (s->args[i].type != AMQP_T_BIT) {
			bit = 8;
			amqp_put_value(b, s->args[i].type, &args[i]);
			continue;
		}
		if (bit == 8) {
			at = b->len;
			amqp_put_u8(b, 0);
			bit = 0;
		}
		if (args[i].n != 0 && b->err == 0)
			b->p[at] |= (uint8_t)(1u << bit);
		bit++;
	}
}

void
amqp_put_method(struct amqp_buf *b, uint16_t channel, uint32_t id,
    const struct amqp_value *args)
{
	const struct amqp_method_spec *s = amqp_method_spec(id);
	size_t mark;

	if (s == NULL) {
		amqp_buf_fail(b, EINVAL);
		return;
	}
	mark = amqp_frame_open(b, AMQP_FRAME_METHOD, channel);
	amqp_put_u32(b, id);
	put_args(b, s, args);
	amqp_frame_close(b, mark);
}

void
amqp_put_body(struct amqp_buf *b, uint16_t channel, const void *body,
    size_t len, uint32_t frame_max)
{
	size_t chunk = len, off, n;
	uint8_t head[AMQP_FRAME_HEAD_LEN];

	if (frame_max != 0) {
		if (frame_max <= AMQP_FRAME_OVERHEAD) {
			amqp_buf_fail(b, EINVAL);
			return;
		}
		chunk = frame_max - AMQP_FRAME_OVERHEAD;
	}
	for (off = 0; off < len; off += n) {
		n = len - off < chunk ? len - off : chunk;
		if (n > UINT32_MAX)
			n = UINT32_MAX;
		amqp_frame_head(head, AMQP_FRAME_BODY, channel, (uint32_t)n);
		amqp_put_bytes(b, head, sizeof(head));
		amqp_put_bytes(b, (const uint8_t *)body + off, n);
		amqp_put_u8(b, AMQP_FRAME_END);
	}
}

void
amqp_put_heartbeat(struct amqp_buf *b)
{
	amqp_put_bytes(b, AMQP_HEARTBEAT_BYTES, AMQP_FRAME_OVERHEAD);
}
