/*
 * parse.c - AMQP 0-9-1: the protocol header, frames and methods.
 *
 * Model: a connection's bytes are the 8-byte protocol header, then
 * frames: type(1) channel(2) size(4, big-endian) payload(size) and the
 * end octet 0xCE.  A method frame's payload is class id(2) method id(2)
 * and the arguments in the order and types of spec.c, consecutive bits
 * packed into octets from the lowest bit up, 8 to an octet.  Decoding is
 * driven by the table alone; strings and tables point into the payload.
 *
 * The checks and their reply codes follow RabbitMQ 3.x (rabbit_reader,
 * rabbit_command_assembler and its generated framing module):
 * - a size over frame_max is 501 FRAME_ERROR as soon as the 7 bytes of
 *   the head are there ({frame_too_large,Size,FrameMax-8}); RabbitMQ
 *   allows a payload of up to frame_max (its "fudge" of 8 bytes), and so
 *   does this;
 * - an end octet that is not 0xCE, a type other than 1, 2, 3, 8, a
 *   heartbeat with a payload, a method payload shorter than its ids:
 *   501 FRAME_ERROR, with the same text as RabbitMQ's but that bytes are
 *   always printed as numbers;
 * - arguments cut short, bytes after the last one, or a field table that
 *   does not walk: 502 SYNTAX_ERROR, the code the spec gives to a frame
 *   with illegal field values (RabbitMQ says 501 "cannot decode");
 * - an unknown class and method id: 503 COMMAND_INVALID, as RabbitMQ
 *   answers a method it has no handler for (for an id it does not know
 *   at all, its reader exits and closes the socket without a word).
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "wire.h"

/* The older header that RabbitMQ takes for 0-9-1 (it is 0-9's). */
#define PROTO_HEADER_09	"AMQP\1\1\0\x09"

/* Payload bytes that a FRAME_ERROR quotes, as RabbitMQ does. */
#define SNIPPET		16

ssize_t
amqp_proto_header(const uint8_t *buf, size_t len)
{
	if (len < AMQP_PROTO_HEADER_LEN)
		return 0;
	if (memcmp(buf, AMQP_PROTO_HEADER, AMQP_PROTO_HEADER_LEN) == 0 ||
	    memcmp(buf, PROTO_HEADER_09, AMQP_PROTO_HEADER_LEN) == 0)
		return AMQP_PROTO_HEADER_LEN;
	return -1;
}

void
amqp_parser_init(struct amqp_parser *p)
{
	memset(p, 0, sizeof(*p));
	p->frame_max = AMQP_FRAME_MIN_SIZE;
}

/* ---- Errors. */

void
amqp_clear(struct amqp_parser *p)
{
	p->code = p->class_id = p->method_id = 0;
	p->error = NULL;
}

int
amqp_fail(struct amqp_parser *p, uint16_t code, const char *fmt, ...)
{
	const struct amqp_reply_spec *r = amqp_reply_spec(code);
	va_list ap;
	int n;

	p->code = code;
	n = snprintf(p->errbuf, sizeof(p->errbuf), "%s - ",
	    r != NULL ? r->name : "ERROR");
	va_start(ap, fmt);
	(void)vsnprintf(p->errbuf + n, sizeof(p->errbuf) - (size_t)n, fmt, ap);
	va_end(ap);
	p->error = p->errbuf;
	return -1;
}

int
amqp_frame_error(struct amqp_parser *p, uint8_t type, const uint8_t *payload,
    size_t len, const char *why)
{
	char octets[SNIPPET * 4 + 1];
	size_t i, n = len < SNIPPET ? len : SNIPPET, o = 0;

	octets[0] = '\0';
	for (i = 0; i < n; i++)
		o += (size_t)snprintf(octets + o, sizeof(octets) - o, "%s%u",
		    i > 0 ? "," : "", payload[i]);
	p->class_id = p->method_id = 0;
	return amqp_fail(p, AMQP_FRAME_ERROR, "type %u, %s octets = <<%s>>: %s",
	    type, len <= SNIPPET ? "all" : "first 16", octets, why);
}

/* ---- Frames. */

static int
known_type(uint8_t type)
{
	return type == AMQP_FRAME_METHOD || type == AMQP_FRAME_HEADER ||
	    type == AMQP_FRAME_BODY || type == AMQP_FRAME_HEARTBEAT;
}

ssize_t
amqp_frame_split(struct amqp_parser *p, const uint8_t *buf, size_t len,
    struct amqp_frame *f)
{
	const uint8_t *payload = buf + AMQP_FRAME_HEAD_LEN;
	uint32_t size;
	char why[64];

	amqp_clear(p);
	if (len < AMQP_FRAME_HEAD_LEN)
		return 0;
	size = amqp_be32(buf + 3);
	if (p->frame_max != 0 && size > p->frame_max) {
		(void)snprintf(why, sizeof(why), "{frame_too_large,%u,%u}",
		    size, p->frame_max > AMQP_FRAME_OVERHEAD ?
		    p->frame_max - AMQP_FRAME_OVERHEAD : 0);
		return amqp_frame_error(p, buf[0], NULL, 0, why);
	}
	if (len - AMQP_FRAME_HEAD_LEN <= size)
		return 0;	/* the payload or its end octet is missing */
	if (payload[size] != AMQP_FRAME_END) {
		(void)snprintf(why, sizeof(why),
		    "{invalid_frame_end_marker,%u}", payload[size]);
		return amqp_frame_error(p, buf[0], payload, size, why);
	}
	if (!known_type(buf[0]) ||
	    (buf[0] == AMQP_FRAME_HEARTBEAT && size != 0))
		return amqp_frame_error(p, buf[0], payload, size, "unknown_frame");
	f->type = buf[0];
	f->channel = amqp_be16(buf + 1);
	f->size = size;
	f->payload = payload;
	return (ssize_t)size + AMQP_FRAME_OVERHEAD;
}

/* ---- Methods. */

const struct amqp_method_spec *
amqp_method_spec(uint32_t id)
{
	size_t lo = 0, hi = amqp_nmethods, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (amqp_methods[mid].id == id)
			return &amqp_methods[mid];
		if (amqp_methods[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

const struct amqp_class_spec *
amqp_class_spec(uint16_t id)
{
	size_t i;

	for (i = 0; i < amqp_nclasses; i++)
		if (amqp_classes[i].id == id)
			return &amqp_classes[i];
	return NULL;
}

const struct amqp_reply_spec *
amqp_reply_spec(uint16_t code)
{
	size_t i;

	for (i = 0; i < amqp_nreplies; i++)
		if (amqp_replies[i].code == code)
			return &amqp_replies[i];
	return NULL;
}

int
amqp_read_value(struct amqp_rd *r, enum amqp_type t, struct amqp_value *v)
{
	switch (t) {
	case AMQP_T_OCTET:
		return rd_uint(r, 1, &v->n);
	case AMQP_T_SHORT:
		return rd_uint(r, 2, &v->n);
	case AMQP_T_LONG:
		return rd_uint(r, 4, &v->n);
	case AMQP_T_LONGLONG:
	case AMQP_T_TIMESTAMP:
		return rd_uint(r, 8, &v->n);
	case AMQP_T_SHORTSTR:
		return rd_sized(r, 1, &v->p, &v->len);
	case AMQP_T_LONGSTR:
		return rd_sized(r, 4, &v->p, &v->len);
	case AMQP_T_TABLE:
		if (rd_sized(r, 4, &v->p, &v->len) == -1)
			return AMQP_RD_SHORT;
		return amqp_table_check(v->p, v->len) == 0 ? 0 : AMQP_RD_BAD;
	case AMQP_T_BIT:
		break;
	}
	return AMQP_RD_BAD;
}

static int
syntax_error(struct amqp_parser *p, const struct amqp_method *m,
    const char *what, const char *name)
{
	p->class_id = (uint16_t)(m->id >> 16);
	p->method_id = (uint16_t)m->id;
	return amqp_fail(p, AMQP_SYNTAX_ERROR, "cannot decode %s: %s%s%s",
	    m->spec->name, what, name != NULL ? " " : "",
	    name != NULL ? name : "");
}

/* Reads the arguments of m->spec from 'r' into m->args. */
static int
read_args(struct amqp_parser *p, struct amqp_rd *r, struct amqp_method *m)
{
	const struct amqp_field_spec *a;
	unsigned bit = 8;	/* the next bit of 'octet'; 8: read another */
	uint64_t octet = 0;
	uint8_t i;
	int rc;

	for (i = 0; i < m->spec->nargs; i++) {
		a = &m->spec->args[i];
		if (a->type == AMQP_T_BIT) {
			if (bit == 8 && rd_uint(r, 1, &octet) == -1)
				return syntax_error(p, m, "cut short at", a->name);
			if (bit == 8)
				bit = 0;
			m->args[i].n = octet >> bit++ & 1;
			continue;
		}
		bit = 8;
		if ((rc = amqp_read_value(r, a->type, &m->args[i])) == AMQP_RD_SHORT)
			return syntax_error(p, m, "cut short at", a->name);
		if (rc != 0)
			return syntax_error(p, m, "malformed field table in",
			    a->name);
	}
	if (rd_left(r) != 0)
		return syntax_error(p, m, "bytes after the last argument",
		    NULL);
	return 0;
}

int
amqp_method_decode(struct amqp_parser *p, const uint8_t *payload,
    size_t len, struct amqp_method *m)
{
	struct amqp_rd r = { payload, len, 4 };

	amqp_clear(p);
	memset(m, 0, sizeof(*m));
	if (len < 4)
		return amqp_frame_error(p, AMQP_FRAME_METHOD, payload, len,
		    "unknown_frame");
	m->id = amqp_be32(payload);
	if ((m->spec = amqp_method_spec(m->id)) == NULL) {
		p->class_id = (uint16_t)(m->id >> 16);
		p->method_id = (uint16_t)m->id;
		return amqp_fail(p, AMQP_COMMAND_INVALID,
		    "unknown method id {%u,%u}", p->class_id, p->method_id);
	}
	return read_args(p, &r, m);
}
