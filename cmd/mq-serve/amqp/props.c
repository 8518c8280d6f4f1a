/*
 * props.c - AMQP 0-9-1 content header frames, both ways.
 *
 * Model: class id(2) weight(2) body size(8), then property flags in
 * 16-bit words, then the properties whose flag is set, in flag order.
 * Each word holds 15 flags from its highest bit down (property 0 is bit
 * 15 of the first word) and, in bit 0, "another word follows".  Basic's
 * 14 properties fit in one word; the continuation is read all the same,
 * and its flags must name properties the class has.  A property of type
 * bit would be its flag alone; strings and the headers table point into
 * the payload, so that amqp_put_content_header() writes the headers
 * back byte for byte.
 *
 * RabbitMQ checks the class against the method's (505 UNEXPECTED_FRAME)
 * and the weight (0) in its command assembler: that is the door's part,
 * with the class and weight read here.
 */
#include <errno.h>
#include <string.h>

#include "wire.h"

/* Payload bytes before the flags. */
#define HEAD_LEN	12
/* The smallest payload RabbitMQ takes: the head and one flag word. */
#define MIN_LEN		14
#define FLAGS_PER_WORD	15

/* h->present has a bit for each property. */
_Static_assert(AMQP_MAX_PROPS <= 32, "too many properties for 'present'");

static int
bad_header(struct amqp_parser *p, const char *what, const char *name)
{
	p->class_id = p->method_id = 0;
	return amqp_fail(p, AMQP_SYNTAX_ERROR,
	    "cannot decode the content header: %s%s%s", what,
	    name != NULL ? " " : "", name != NULL ? name : "");
}

/* Reads the flag words into h->present. */
static int
read_flags(struct amqp_parser *p, struct amqp_rd *r,
    const struct amqp_class_spec *c, struct amqp_content_header *h)
{
	size_t word = 0, idx;
	uint64_t w;
	unsigned k;

	do {
		if (rd_uint(r, 2, &w) == -1)
			return bad_header(p, "property flags cut short", NULL);
		for (k = 0; k < FLAGS_PER_WORD; k++) {
			if ((w >> (15 - k) & 1) == 0)
				continue;
			idx = word * FLAGS_PER_WORD + k;
			if (idx >= c->nprops)
				return bad_header(p, "a flag for no property",
				    NULL);
			h->present |= 1u << idx;
		}
		word++;
	} while (w & 1);
	return 0;
}

static int
read_props(struct amqp_parser *p, struct amqp_rd *r,
    const struct amqp_class_spec *c, struct amqp_content_header *h)
{
	const struct amqp_field_spec *f;
	uint8_t i;
	int rc;

	for (i = 0; i < c->nprops; i++) {
		if ((h->present >> i & 1) == 0)
			continue;
		f = &c->props[i];
		if (f->type == AMQP_T_BIT) {
			h->props[i].n = 1;
			continue;
		}
		if ((rc = amqp_read_value(r, f->type, &h->props[i])) ==
		    AMQP_RD_SHORT)
			return bad_header(p, "cut short at", f->name);
		if (rc != 0)
			return bad_header(p, "malformed field table in",
			    f->name);
	}
	if (rd_left(r) != 0)
		return bad_header(p, "bytes after the properties", NULL);
	return 0;
}

int
amqp_content_header_decode(struct amqp_parser *p, const uint8_t *payload,
    size_t len, struct amqp_content_header *h)
{
	struct amqp_rd r = { payload, len, HEAD_LEN };
	const struct amqp_class_spec *c;

	amqp_clear(p);
	memset(h, 0, sizeof(*h));
	if (len < MIN_LEN)
		return amqp_frame_error(p, AMQP_FRAME_HEADER, payload, len,
		    "unknown_frame");
	h->class_id = amqp_be16(payload);
	h->weight = amqp_be16(payload + 2);
	h->body_size = amqp_be64(payload + 4);
	if ((c = amqp_class_spec(h->class_id)) == NULL)
		return bad_header(p, "unknown class", NULL);
	if (read_flags(p, &r, c, h) == -1)
		return -1;
	return read_props(p, &r, c, h);
}

/*
 * As many flag words as the last property present needs, at least one:
 * property k of a word is its bit 15 - k, bit 0 says another follows.
 * Only the properties present are looked at.
 */
static void
put_flags(struct amqp_buf *b, uint32_t present)
{
	uint32_t bits;
	uint16_t w;

	do {
		bits = present & ((1u << FLAGS_PER_WORD) - 1);
		present >>= FLAGS_PER_WORD;
		w = present != 0;
		for (; bits != 0; bits &= bits - 1)
			w |= (uint16_t)(1u << (15 - __builtin_ctz(bits)));
		amqp_put_u16(b, w);
	} while (present != 0);
}

void
amqp_put_content_header(struct amqp_buf *b, uint16_t channel,
    const struct amqp_content_header *h)
{
	const struct amqp_class_spec *c = amqp_class_spec(h->class_id);
	uint32_t bits;
	size_t mark;
	uint8_t i;

	if (c == NULL || (c->nprops < 32 && h->present >> c->nprops != 0)) {
		amqp_buf_fail(b, EINVAL);
		return;
	}
	mark = amqp_frame_open(b, AMQP_FRAME_HEADER, channel);
	amqp_put_u16(b, h->class_id);
	amqp_put_u16(b, h->weight);
	amqp_put_u64(b, h->body_size);
	put_flags(b, h->present);
	for (bits = h->present; bits != 0; bits &= bits - 1) {
		i = (uint8_t)__builtin_ctz(bits);
		if (c->props[i].type != AMQP_T_BIT)
			amqp_put_value(b, c->props[i].type, &h->props[i]);
	}
	amqp_frame_close(b, mark);
}
