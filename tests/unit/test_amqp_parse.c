/*
 * test_amqp_parse.c - the AMQP 0-9-1 codec: the protocol header, frames
 * split at every byte, oversize frames and bad end octets with
 * RabbitMQ's text, every method of the spec encoded and decoded again,
 * bits packed, arguments cut short or too long, field tables of every
 * type letter, nested, and with lengths that lie, content headers with
 * continued property flags, heartbeats and body frames, PLAIN and
 * AMQPLAIN, and frames as pika 1.2 sends them.
 *
 * Input is copied into a buffer of exactly its size, so that ASan
 * catches a read past its end, and one test puts a frame against a page
 * that cannot be read.
 */
#include <errno.h>

#include "helpers.h"

#include "amqp/encode.h"
#include "amqp/parse.h"

/* Made by scripts/amqp-pika-fixtures.py with pika 1.2.0. */
/* connection.start-ok, PLAIN guest/guest */
static const uint8_t pika_start_ok[] = {
	0x01, 0x00, 0x00, 0x00, 0x00, 0x01, 0x22, 0x00, 0x0a, 0x00, 0x0b, 0x00,
	0x00, 0x00, 0xfe, 0x07, 0x70, 0x72, 0x6f, 0x64, 0x75, 0x63, 0x74, 0x53,
	0x00, 0x00, 0x00, 0x1a, 0x50, 0x69, 0x6b, 0x61, 0x20, 0x50, 0x79, 0x74,
	0x68, 0x6f, 0x6e, 0x20, 0x43, 0x6c, 0x69, 0x65, 0x6e, 0x74, 0x20, 0x4c,
	0x69, 0x62, 0x72, 0x61, 0x72, 0x79, 0x08, 0x70, 0x6c, 0x61, 0x74, 0x66,
	0x6f, 0x72, 0x6d, 0x53, 0x00, 0x00, 0x00, 0x0d, 0x50, 0x79, 0x74, 0x68,
	0x6f, 0x6e, 0x20, 0x33, 0x2e, 0x31, 0x31, 0x2e, 0x32, 0x0c, 0x63, 0x61,
	0x70, 0x61, 0x62, 0x69, 0x6c, 0x69, 0x74, 0x69, 0x65, 0x73, 0x46, 0x00,
	0x00, 0x00, 0x6f, 0x1c, 0x61, 0x75, 0x74, 0x68, 0x65, 0x6e, 0x74, 0x69,
	0x63, 0x61, 0x74, 0x69, 0x6f, 0x6e, 0x5f, 0x66, 0x61, 0x69, 0x6c, 0x75,
	0x72, 0x65, 0x5f, 0x63, 0x6c, 0x6f, 0x73, 0x65, 0x74, 0x01, 0x0a, 0x62,
	0x61, 0x73, 0x69, 0x63, 0x2e, 0x6e, 0x61, 0x63, 0x6b, 0x74, 0x01, 0x12,
	0x63, 0x6f, 0x6e, 0x6e, 0x65, 0x63, 0x74, 0x69, 0x6f, 0x6e, 0x2e, 0x62,
	0x6c, 0x6f, 0x63, 0x6b, 0x65, 0x64, 0x74, 0x01, 0x16, 0x63, 0x6f, 0x6e,
	0x73, 0x75, 0x6d, 0x65, 0x72, 0x5f, 0x63, 0x61, 0x6e, 0x63, 0x65, 0x6c,
	0x5f, 0x6e, 0x6f, 0x74, 0x69, 0x66, 0x79, 0x74, 0x01, 0x12, 0x70, 0x75,
	0x62, 0x6c, 0x69, 0x73, 0x68, 0x65, 0x72, 0x5f, 0x63, 0x6f, 0x6e, 0x66,
	0x69, 0x72, 0x6d, 0x73, 0x74, 0x01, 0x0b, 0x69, 0x6e, 0x66, 0x6f, 0x72,
	0x6d, 0x61, 0x74, 0x69, 0x6f, 0x6e, 0x53, 0x00, 0x00, 0x00, 0x18, 0x53,
	0x65, 0x65, 0x20, 0x68, 0x74, 0x74, 0x70, 0x3a, 0x2f, 0x2f, 0x70, 0x69,
	0x6b, 0x61, 0x2e, 0x72, 0x74, 0x66, 0x64, 0x2e, 0x6f, 0x72, 0x67, 0x07,
	0x76, 0x65, 0x72, 0x73, 0x69, 0x6f, 0x6e, 0x53, 0x00, 0x00, 0x00, 0x05,
	0x31, 0x2e, 0x32, 0x2e, 0x30, 0x05, 0x50, 0x4c, 0x41, 0x49, 0x4e, 0x00,
	0x00, 0x00, 0x0c, 0x00, 0x67, 0x75, 0x65, 0x73, 0x74, 0x00, 0x67, 0x75,
	0x65, 0x73, 0x74, 0x05, 0x65, 0x6e, 0x5f, 0x55, 0x53, 0xce,
};
/* connection.tune-ok 2047 131072 60 */
static const uint8_t pika_tune_ok[] = {
	0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0c, 0x00, 0x0a, 0x00, 0x1f, 0x07,
	0xff, 0x00, 0x02, 0x00, 0x00, 0x00, 0x3c, 0xce,
};
/* connection.open / with insist */
static const uint8_t pika_open[] = {
	0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x08, 0x00, 0x0a, 0x00, 0x28, 0x01,
	0x2f, 0x00, 0x01, 0xce,
};
/* queue.declare q, durable, x-message-ttl 1000, x-dead-letter-exchange dlx */
static const uint8_t pika_queue_declare[] = {
	0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x3f, 0x00, 0x32, 0x00, 0x0a, 0x00,
	0x00, 0x01, 0x71, 0x02, 0x00, 0x00, 0x00, 0x32, 0x0d, 0x78, 0x2d, 0x6d,
	0x65, 0x73, 0x73, 0x61, 0x67, 0x65, 0x2d, 0x74, 0x74, 0x6c, 0x49, 0x00,
	0x00, 0x03, 0xe8, 0x16, 0x78, 0x2d, 0x64, 0x65, 0x61, 0x64, 0x2d, 0x6c,
	0x65, 0x74, 0x74, 0x65, 0x72, 0x2d, 0x65, 0x78, 0x63, 0x68, 0x61, 0x6e,
	0x67, 0x65, 0x53, 0x00, 0x00, 0x00, 0x03, 0x64, 0x6c, 0x78, 0xce,
};
/* basic.publish '' q mandatory, its header and body */
static const uint8_t pika_publish[] = {
	0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x0a, 0x00, 0x3c, 0x00, 0x28, 0x00,
	0x00, 0x00, 0x01, 0x71, 0x01, 0xce, 0x02, 0x00, 0x01, 0x00, 0x00, 0x00,
	0x82, 0x00, 0x3c, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x05, 0xb1, 0x40, 0x0a, 0x74, 0x65, 0x78, 0x74, 0x2f, 0x70, 0x6c, 0x61,
	0x69, 0x6e, 0x00, 0x00, 0x00, 0x56, 0x01, 0x6e, 0x49, 0x00, 0x00, 0x00,
	0x07, 0x03, 0x62, 0x69, 0x67, 0x6c, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x01, 0x73, 0x53, 0x00, 0x00, 0x00, 0x01, 0x78, 0x02, 0x6f,
	0x6b, 0x74, 0x01, 0x04, 0x77, 0x68, 0x65, 0x6e, 0x54, 0x00, 0x00, 0x00,
	0x00, 0x65, 0x53, 0xf1, 0x00, 0x04, 0x6c, 0x69, 0x73, 0x74, 0x41, 0x00,
	0x00, 0x00, 0x0d, 0x49, 0x00, 0x00, 0x00, 0x01, 0x53, 0x00, 0x00, 0x00,
	0x03, 0x74, 0x77, 0x6f, 0x03, 0x73, 0x75, 0x62, 0x46, 0x00, 0x00, 0x00,
	0x07, 0x01, 0x6b, 0x49, 0xff, 0xff, 0xff, 0xff, 0x02, 0x05, 0x36, 0x30,
	0x30, 0x30, 0x30, 0x00, 0x00, 0x00, 0x00, 0x65, 0x53, 0xf1, 0x00, 0xce,
	0x03, 0x00, 0x01, 0x00, 0x00, 0x00, 0x05, 0x68, 0x65, 0x6c, 0x6c, 0x6f,
	0xce,
};

#define B(s)	(const uint8_t *)(s), sizeof(s) - 1

static uint8_t *
copy(const void *in, size_t len)
{
	return (uint8_t *)test_dup_bytes(in, len);
}

static void
assert_bytes(const uint8_t *p, size_t len, const void *want, size_t wantlen)
{
	if (len != wantlen || (len > 0 && memcmp(p, want, len) != 0))
		fail_msg("got \"%.*s\" (%zu bytes), want \"%.*s\" (%zu)",
		    (int)len, (const char *)p, len, (int)wantlen,
		    (const char *)want, wantlen);
}

#define ASSERT_BYTES(p, len, s)	assert_bytes(p, len, s, sizeof(s) - 1)

static void
assert_inside(const uint8_t *p, size_t len, const uint8_t *buf, size_t size)
{
	assert_true(len == 0 || (p >= buf && p + len <= buf + size));
}

static void
assert_error(const struct amqp_parser *p, int code, const char *text)
{
	assert_int_equal(p->code, code);
	assert_non_null(p->error);
	assert_string_equal(p->error, text);
}

/*
 * Splits the one whole frame in 'in' ('len' bytes, copied to an
 * exact-size buffer returned in '*buf') into '*f'.
 */
static void
split_one(struct amqp_parser *p, const uint8_t *in, size_t len,
    struct amqp_frame *f, uint8_t **buf)
{
	ssize_t n;

	*buf = copy(in, len);
	n = amqp_frame_split(p, *buf, len, f);
	if (n != (ssize_t)len)
		fail_msg("split returned %zd (%s), want %zu", n,
		    n == -1 ? p->error : "no error", len);
	assert_inside(f->payload, f->size, *buf, len);
}

/* Decodes the method frame 'in' into 'm'; '*buf' holds its bytes. */
static void
decode_frame(struct amqp_parser *p, const uint8_t *in, size_t len,
    struct amqp_method *m, uint8_t **buf)
{
	struct amqp_frame f;

	split_one(p, in, len, &f, buf);
	assert_int_equal(f.type, AMQP_FRAME_METHOD);
	if (amqp_method_decode(p, f.payload, f.size, m) != 0)
		fail_msg("decode: %s", p->error);
}

/* The field 'key' of the table 'v', which must be there. */
static struct amqp_field
field(const struct amqp_value *v, const char *key)
{
	struct amqp_field f;

	if (amqp_table_find(v->p, v->len, key, &f) != 1)
		fail_msg("no field %s", key);
	return f;
}

static int64_t
field_int(const struct amqp_value *v, const char *key)
{
	struct amqp_field f = field(v, key);
	int64_t n;

	assert_int_equal(amqp_field_int(&f, &n), 0);
	return n;
}

static void
assert_field_str(const struct amqp_value *v, const char *key,
    const char *want)
{
	struct amqp_field f = field(v, key);
	const uint8_t *s;
	size_t len;

	assert_int_equal(amqp_field_str(&f, &s, &len), 0);
	assert_bytes(s, len, want, strlen(want));
}

/* ---- The protocol header. */

static void
test_proto_header(void **state)
{
	static const char *const bad[] = {
		"AMQP\0\0\x09\x02", "AMQP\1\1\x08\0", "AMQP\0\1\0\0",
		"GET / HT", "amqp\0\0\x09\x01", "AMQP\0\0\x08\x01",
	};
	uint8_t *buf;
	size_t i, k;

	for (k = 0; k <= 8; k++) {
		buf = copy(AMQP_PROTO_HEADER, k);
		assert_int_equal(amqp_proto_header(buf, k), k < 8 ? 0 : 8);
		free(buf);
		buf = copy("AMQP\1\1\0\x09", k);
		assert_int_equal(amqp_proto_header(buf, k), k < 8 ? 0 : 8);
		free(buf);
	}
	/* Frames may follow in the same read. */
	assert_int_equal(amqp_proto_header(B("AMQP\0\0\x09\x01\x01\0")), 8);
	for (i = 0; i < NELEM(bad); i++) {
		buf = copy(bad[i], 8);
		assert_int_equal(amqp_proto_header(buf, 8), -1);
		/* Even so, fewer than 8 bytes only need more. */
		assert_int_equal(amqp_proto_header(buf, 7), 0);
		free(buf);
	}
}

/* ---- Frames. */

static void
test_parser_init(void **state)
{
	struct amqp_parser p;

	amqp_parser_init(&p);
	assert_int_equal(p.frame_max, 4096);
	assert_null(p.error);
}

static void
test_split_every_byte(void **state)
{
	static const uint8_t *const in[] = {
		pika_tune_ok, pika_open, pika_start_ok,
	};
	static const size_t inlen[] = {
		sizeof(pika_tune_ok), sizeof(pika_open), sizeof(pika_start_ok),
	};
	struct amqp_parser p;
	struct amqp_frame f;
	uint8_t *buf;
	size_t i, k;

	amqp_parser_init(&p);
	for (i = 0; i < NELEM(in); i++) {
		for (k = 0; k < inlen[i]; k++) {
			buf = copy(in[i], k);
			if (amqp_frame_split(&p, buf, k, &f) != 0)
				fail_msg("frame %zu, prefix %zu: not 0", i, k);
			free(buf);
		}
		buf = copy(in[i], inlen[i]);
		assert_int_equal(amqp_frame_split(&p, buf, inlen[i], &f),
		    inlen[i]);
		assert_int_equal(f.type, AMQP_FRAME_METHOD);
		assert_int_equal(f.channel, 0);
		assert_int_equal(f.size, inlen[i] - 8);
		assert_ptr_equal(f.payload, buf + 7);
		free(buf);
	}
}

/* Two frames in one buffer: each split uses its own bytes only. */
static void
test_split_pipelined(void **state)
{
	struct amqp_parser p;
	struct amqp_frame f;
	uint8_t *buf;
	size_t len = sizeof(pika_publish), off = 0;
	ssize_t n;
	int count = 0;

	amqp_parser_init(&p);
	buf = copy(pika_publish, len);
	while ((n = amqp_frame_split(&p, buf + off, len - off, &f)) > 0) {
		assert_int_equal(f.channel, 1);
		assert_int_equal(f.type, count + 1);	/* method, header, body */
		off += (size_t)n;
		count++;
	}
	assert_int_equal(n, 0);
	assert_int_equal(off, len);
	assert_int_equal(count, 3);
	free(buf);
}

static void
test_split_bad_end(void **state)
{
	struct amqp_parser p;
	struct amqp_frame f;
	uint8_t *buf;
	size_t len = sizeof(pika_tune_ok);

	amqp_parser_init(&p);
	buf = copy(pika_tune_ok, len);
	buf[len - 1] = 0;
	assert_int_equal(amqp_frame_split(&p, buf, len, &f), -1);
	assert_error(&p, 501, "FRAME_ERROR - type 1, all octets = "
	    "<<0,10,0,31,7,255,0,2,0,0,0,60>>: {invalid_frame_end_marker,0}");
	/* Judged only once it is there. */
	assert_int_equal(amqp_frame_split(&p, buf, len - 1, &f), 0);
	free(buf);

	/* A longer payload is quoted by its first 16 bytes. */
	buf = copy(pika_start_ok, sizeof(pika_start_ok));
	buf[sizeof(pika_start_ok) - 1] = 'A';
	assert_int_equal(amqp_frame_split(&p, buf, sizeof(pika_start_ok), &f),
	    -1);
	assert_error(&p, 501, "FRAME_ERROR - type 1, first 16 octets = "
	    "<<0,10,0,11,0,0,0,254,7,112,114,111,100,117,99,116>>: "
	    "{invalid_frame_end_marker,65}");
	free(buf);

	/* The error does not outlive the next call. */
	buf = copy(pika_tune_ok, len);
	assert_int_equal(amqp_frame_split(&p, buf, len, &f), len);
	assert_null(p.error);
	assert_int_equal(p.code, 0);
	free(buf);
}

static void
test_split_too_large(void **state)
{
	struct amqp_parser p;
	struct amqp_frame f;
	uint8_t *buf;

	amqp_parser_init(&p);
	p.frame_max = 131072;
	/* RabbitMQ's text for a header frame of 200025 bytes. */
	buf = copy("\x02\0\x01\0\x03\x0d\x59", 7);
	assert_int_equal(amqp_frame_split(&p, buf, 7, &f), -1);
	assert_error(&p, 501, "FRAME_ERROR - type 2, all octets = <<>>: "
	    "{frame_too_large,200025,131064}");
	free(buf);
	/* Up to frame_max is taken, as RabbitMQ does. */
	buf = copy("\x03\0\x01\0\x02\0\0", 7);
	assert_int_equal(amqp_frame_split(&p, buf, 7, &f), 0);
	free(buf);
	buf = copy("\x03\0\x01\0\x02\0\x01", 7);
	assert_int_equal(amqp_frame_split(&p, buf, 7, &f), -1);
	assert_error(&p, 501, "FRAME_ERROR - type 3, all octets = <<>>: "
	    "{frame_too_large,131073,131064}");
	/* 0: no limit. */
	p.frame_max = 0;
	assert_int_equal(amqp_frame_split(&p, buf, 7, &f), 0);
	free(buf);
	/* Before tune-ok: 4096. */
	amqp_parser_init(&p);
	buf = copy("\x01\0\0\0\0\x10\x01", 7);
	assert_int_equal(amqp_frame_split(&p, buf, 7, &f), -1);
	assert_int_equal(p.code, 501);
	free(buf);
}

static void
test_split_types(void **state)
{
	struct amqp_parser p;
	struct amqp_frame f;
	uint8_t *buf;

	amqp_parser_init(&p);
	buf = copy(AMQP_HEARTBEAT_BYTES, 8);
	assert_int_equal(amqp_frame_split(&p, buf, 8, &f), 8);
	assert_int_equal(f.type, AMQP_FRAME_HEARTBEAT);
	assert_int_equal(f.size, 0);
	free(buf);

	buf = copy("\x08\0\0\0\0\0\x01x\xce", 9);
	assert_int_equal(amqp_frame_split(&p, buf, 9, &f), -1);
	assert_error(&p, 501,
	    "FRAME_ERROR - type 8, all octets = <<120>>: unknown_frame");
	free(buf);

	buf = copy("\x04\0\x01\0\0\0\0\xce", 8);
	assert_int_equal(amqp_frame_split(&p, buf, 8, &f), -1);
	assert_error(&p, 501,
	    "FRAME_ERROR - type 4, all octets = <<>>: unknown_frame");
	free(buf);

	/* An empty body frame is a frame. */
	buf = copy("\x03\0\x05\0\0\0\0\xce", 8);
	assert_int_equal(amqp_frame_split(&p, buf, 8, &f), 8);
	assert_int_equal(f.channel, 5);
	free(buf);
}

/*
 * The frame ends exactly at an unreadable page while 'len' claims a page
 * more: a split or decode that read one byte past it would fault.
 */
static void
test_reads_nothing_past_frame(void **state)
{
	size_t pg = (size_t)sysconf(_SC_PAGESIZE), len = sizeof(pika_start_ok);
	struct amqp_parser p;
	struct amqp_method m;
	struct amqp_frame f;
	uint8_t *buf;
	char *end;

	amqp_parser_init(&p);
	end = test_guard_page();
	buf = (uint8_t *)end - len;
	memcpy(buf, pika_start_ok, len);
	assert_int_equal(amqp_frame_split(&p, buf, len + pg, &f), len);
	assert_int_equal(amqp_method_decode(&p, f.payload, f.size, &m), 0);
	test_guard_free(end);
}

/* ---- Methods. */

static void
test_spec_tables(void **state)
{
	const struct amqp_method_spec *m;
	const struct amqp_reply_spec *r;
	size_t i;

	assert_non_null(m = amqp_method_spec(AMQP_BASIC_PUBLISH));
	assert_string_equal(m->name, "basic.publish");
	assert_int_equal(m->content, 1);
	assert_int_equal(m->synchronous, 0);
	assert_int_equal(m->nargs, 5);
	assert_string_equal(m->args[AMQP_BASIC_PUBLISH_ROUTING_KEY].name,
	    "routing-key");
	assert_int_equal(m->args[AMQP_BASIC_PUBLISH_MANDATORY].type,
	    AMQP_T_BIT);
	assert_non_null(m = amqp_method_spec(AMQP_QUEUE_DECLARE));
	assert_int_equal(m->synchronous, 1);
	assert_int_equal(m->content, 0);
	/* exchange.unbind-ok is 40.51, not 40.41. */
	assert_int_equal(AMQP_EXCHANGE_UNBIND_OK, 40 << 16 | 51);
	assert_null(amqp_method_spec(40 << 16 | 41));
	assert_null(amqp_method_spec(0));
	assert_null(amqp_method_spec(UINT32_MAX));
	for (i = 0; i < amqp_nmethods; i++)
		assert_ptr_equal(amqp_method_spec(amqp_methods[i].id),
		    &amqp_methods[i]);

	assert_int_equal(amqp_class_spec(AMQP_CLASS_BASIC)->nprops, 14);
	assert_string_equal(amqp_class_spec(AMQP_CLASS_BASIC)->props[
	    AMQP_BASIC_PROP_DELIVERY_MODE].name, "delivery-mode");
	assert_null(amqp_class_spec(61));

	assert_non_null(r = amqp_reply_spec(AMQP_NOT_FOUND));
	assert_string_equal(r->name, "NOT_FOUND");
	assert_int_equal(r->hard, 0);
	assert_non_null(r = amqp_reply_spec(501));
	assert_string_equal(r->name, "FRAME_ERROR");
	assert_int_equal(r->hard, 1);
	assert_string_equal(amqp_reply_spec(200)->name, "REPLY_SUCCESS");
	assert_null(amqp_reply_spec(999));
	assert_int_equal(AMQP_FRAME_END, 0xce);
}

/* A table with an entry of every type letter, and nested ones. */
static void
put_every_type(struct amqp_buf *b)
{
	size_t t, a, a2;

	amqp_fput_key(b, "t"); amqp_fput_bool(b, 1);
	amqp_fput_key(b, "b"); amqp_fput_i8(b, -2);
	amqp_fput_key(b, "B"); amqp_fput_u8(b, 250);
	amqp_fput_key(b, "s"); amqp_fput_i16(b, -300);
	amqp_fput_key(b, "u"); amqp_fput_u16(b, 65000);
	amqp_fput_key(b, "I"); amqp_fput_i32(b, -70000);
	amqp_fput_key(b, "i"); amqp_fput_u32(b, 4000000000u);
	amqp_fput_key(b, "l"); amqp_fput_i64(b, -5000000000);
	amqp_fput_key(b, "f"); amqp_fput_float(b, 1.5f);
	amqp_fput_key(b, "d"); amqp_fput_double(b, -2.25);
	amqp_fput_key(b, "D"); amqp_fput_decimal(b, 2, 12345);
	amqp_fput_key(b, "S"); amqp_fput_str(b, "str\0ing", 7);
	amqp_fput_key(b, "x"); amqp_fput_bytes(b, "\xff\0", 2);
	amqp_fput_key(b, "T"); amqp_fput_timestamp(b, 1700000000);
	amqp_fput_key(b, "V"); amqp_fput_void(b);
	amqp_fput_key(b, "F");
	t = amqp_fput_table_open(b);
	amqp_fput_key(b, "inner");
	amqp_fput_str(b, "v", 1);
	amqp_put_close(b, t);
	amqp_fput_key(b, "A");
	a = amqp_fput_array_open(b);
	amqp_fput_i32(b, 1);
	t = amqp_fput_table_open(b);
	amqp_fput_key(b, "k");
	amqp_fput_i64(b, 2);
	amqp_put_close(b, t);
	a2 = amqp_fput_array_open(b);
	amqp_fput_void(b);
	amqp_put_close(b, a2);
	amqp_put_close(b, a);
}

/*
 * Values for every argument of 's': each integer fills its width, bits
 * follow 'seed', strings hold a NUL, tables are 'table'.
 */
static void
fill_args(const struct amqp_method_spec *s, struct amqp_value *args,
    const struct amqp_buf *table, unsigned seed)
{
	static uint8_t longstr[300];
	static const char shortstr[] = "short\0string";
	uint8_t j;

	memset(longstr, 'L', sizeof(longstr));
	longstr[7] = 0;
	for (j = 0; j < s->nargs; j++) {
		memset(&args[j], 0, sizeof(args[j]));
		switch (s->args[j].type) {
		case AMQP_T_OCTET:
			args[j].n = 0xa5 ^ j;
			break;
		case AMQP_T_SHORT:
			args[j].n = 0xbeef - j;
			break;
		case AMQP_T_LONG:
			args[j].n = 0xdeadbeef - j;
			break;
		case AMQP_T_LONGLONG:
		case AMQP_T_TIMESTAMP:
			args[j].n = 0x0123456789abcdefULL + j;
			break;
		case AMQP_T_BIT:
			args[j].n = (seed + j) % 2;
			break;
		case AMQP_T_SHORTSTR:
			args[j].p = (const uint8_t *)shortstr;
			args[j].len = (j + seed) % sizeof(shortstr);
			break;
		case AMQP_T_LONGSTR:
			args[j].p = longstr;
			args[j].len = sizeof(longstr) - j;
			break;
		case AMQP_T_TABLE:
			args[j].p = table->p;
			args[j].len = seed ? table->len : 0;
			break;
		}
	}
}

static void
assert_args_equal(const struct amqp_method_spec *s,
    const struct amqp_value *got, const struct amqp_value *want,
    const uint8_t *buf, size_t len)
{
	uint8_t j;

	for (j = 0; j < s->nargs; j++) {
		if (got[j].n != want[j].n || got[j].len != want[j].len ||
		    (want[j].len > 0 &&
		    memcmp(got[j].p, want[j].p, want[j].len) != 0))
			fail_msg("%s: argument %s differs", s->name,
			    s->args[j].name);
		assert_inside(got[j].p, got[j].len, buf, len);
	}
}

/* Every method of the spec, encoded, split at every byte and decoded. */
static void
test_every_method_round_trip(void **state)
{
	struct amqp_value args[AMQP_MAX_ARGS];
	const struct amqp_method_spec *s;
	struct amqp_buf b, table;
	struct amqp_parser p;
	struct amqp_method m;
	struct amqp_frame f;
	uint8_t *buf;
	unsigned seed;
	size_t i, k;

	amqp_parser_init(&p);
	p.frame_max = 131072;
	amqp_buf_init(&b);
	amqp_buf_init(&table);
	put_every_type(&table);
	assert_int_equal(table.err, 0);
	for (i = 0; i < amqp_nmethods; i++)
		for (seed = 0; seed < 2; seed++) {
			s = &amqp_methods[i];
			fill_args(s, args, &table, seed);
			amqp_buf_reset(&b);
			amqp_put_method(&b, 7, s->id, args);
			assert_int_equal(b.err, 0);
			for (k = 0; k < b.len; k += seed ? 1 : 13) {
				buf = copy(b.p, k);
				assert_int_equal(amqp_frame_split(&p, buf, k,
				    &f), 0);
				free(buf);
			}
			buf = copy(b.p, b.len);
			assert_int_equal(amqp_frame_split(&p, buf, b.len, &f),
			    b.len);
			assert_int_equal(f.type, AMQP_FRAME_METHOD);
			assert_int_equal(f.channel, 7);
			if (amqp_method_decode(&p, f.payload, f.size, &m) != 0)
				fail_msg("%s: %s", s->name, p.error);
			assert_ptr_equal(m.spec, s);
			assert_int_equal(m.id, s->id);
			assert_args_equal(s, m.args, args, buf, b.len);
			free(buf);
		}
	amqp_buf_free(&b);
	amqp_buf_free(&table);
}

static void
test_bits_packed(void **state)
{
	struct amqp_value args[AMQP_MAX_ARGS];
	struct amqp_parser p;
	struct amqp_method m;
	struct amqp_buf b;
	uint8_t *buf;

	memset(args, 0, sizeof(args));
	args[AMQP_QUEUE_DECLARE_QUEUE].p = (const uint8_t *)"q";
	args[AMQP_QUEUE_DECLARE_QUEUE].len = 1;
	args[AMQP_QUEUE_DECLARE_PASSIVE].n = 1;
	args[AMQP_QUEUE_DECLARE_EXCLUSIVE].n = 1;
	args[AMQP_QUEUE_DECLARE_NOWAIT].n = 1;
	amqp_buf_init(&b);
	amqp_put_method(&b, 1, AMQP_QUEUE_DECLARE, args);
	/* passive..nowait in one octet from bit 0: 1 0 1 0 1. */
	ASSERT_BYTES(b.p, b.len, "\x01\0\x01\0\0\0\x0d"
	    "\0\x32\0\x0a" "\0\0" "\x01q" "\x15" "\0\0\0\0" "\xce");

	/* Decoding reads the same bits, and ignores the octet's top three. */
	amqp_parser_init(&p);
	buf = copy(B("\0\x32\0\x0a\0\0\x01q\xea\0\0\0\0"));
	assert_int_equal(amqp_method_decode(&p, buf, 13, &m), 0);
	assert_int_equal(m.args[AMQP_QUEUE_DECLARE_PASSIVE].n, 0);
	assert_int_equal(m.args[AMQP_QUEUE_DECLARE_DURABLE].n, 1);
	assert_int_equal(m.args[AMQP_QUEUE_DECLARE_EXCLUSIVE].n, 0);
	assert_int_equal(m.args[AMQP_QUEUE_DECLARE_AUTO_DELETE].n, 1);
	assert_int_equal(m.args[AMQP_QUEUE_DECLARE_NOWAIT].n, 0);
	free(buf);

	/* Bits around other arguments: basic.nack's two share an octet. */
	memset(args, 0, sizeof(args));
	args[AMQP_BASIC_NACK_DELIVERY_TAG].n = 9;
	args[AMQP_BASIC_NACK_REQUEUE].n = 1;
	amqp_buf_reset(&b);
	amqp_put_method(&b, 1, AMQP_BASIC_NACK, args);
	ASSERT_BYTES(b.p, b.len, "\x01\0\x01\0\0\0\x0d"
	    "\0\x3c\0\x78" "\0\0\0\0\0\0\0\x09" "\x02" "\xce");
	/* basic.deliver: a bit between strings is an octet of its own. */
	memset(args, 0, sizeof(args));
	args[AMQP_BASIC_DELIVER_REDELIVERED].n = 1;
	amqp_buf_reset(&b);
	amqp_put_method(&b, 1, AMQP_BASIC_DELIVER, args);
	ASSERT_BYTES(b.p, b.len, "\x01\0\x01\0\0\0\x10"
	    "\0\x3c\0\x3c" "\0" "\0\0\0\0\0\0\0\0" "\x01" "\0" "\0" "\xce");
	amqp_buf_free(&b);
}

/* A decoder of a frame's payload that keeps nothing but the error. */
typedef int decode_fn(struct amqp_parser *, const uint8_t *, size_t);

static int
decode_method(struct amqp_parser *p, const uint8_t *buf, size_t len)
{
	struct amqp_method m;

	return amqp_method_decode(p, buf, len, &m);
}

static int
decode_header(struct amqp_parser *p, const uint8_t *buf, size_t len)
{
	struct amqp_content_header h;

	return amqp_content_header_decode(p, buf, len, &h);
}

static void
expect_decode_error(decode_fn *decode, const uint8_t *in, size_t len,
    int code, const char *text)
{
	struct amqp_parser p;
	uint8_t *buf;

	amqp_parser_init(&p);
	buf = copy(in, len);
	if (decode(&p, buf, len) != -1)
		fail_msg("decoded, want %s", text);
	assert_error(&p, code, text);
	free(buf);
}

#define EXPECT_METHOD_ERROR(in, code, text)	\
	expect_decode_error(decode_method, B(in), code, text)
#define EXPECT_HEADER_ERROR(in, code, text)	\
	expect_decode_error(decode_header, B(in), code, text)

static void
test_method_errors(void **state)
{
	struct amqp_parser p;
	struct amqp_method m;
	size_t len = sizeof(pika_queue_declare) - 8, k;
	uint8_t *buf;

	EXPECT_METHOD_ERROR("\0\x3c\0\x63", 503,
	    "COMMAND_INVALID - unknown method id {60,99}");
	EXPECT_METHOD_ERROR("\0\x0c\0\x0a\0\0", 503,
	    "COMMAND_INVALID - unknown method id {12,10}");
	EXPECT_METHOD_ERROR("\0\x3c\0", 501,
	    "FRAME_ERROR - type 1, all octets = <<0,60,0>>: unknown_frame");
	EXPECT_METHOD_ERROR("", 501,
	    "FRAME_ERROR - type 1, all octets = <<>>: unknown_frame");
	/* basic.ack: a delivery tag and a bit. */
	EXPECT_METHOD_ERROR("\0\x3c\0\x50\0\0\0\0\0\0\0\x01", 502,
	    "SYNTAX_ERROR - cannot decode basic.ack: cut short at multiple");
	EXPECT_METHOD_ERROR("\0\x3c\0\x50\0\0\0\0\0\0\x01", 502,
	    "SYNTAX_ERROR - cannot decode basic.ack: cut short at "
	    "delivery-tag");
	EXPECT_METHOD_ERROR("\0\x3c\0\x50\0\0\0\0\0\0\0\x01\x01\0", 502,
	    "SYNTAX_ERROR - cannot decode basic.ack: bytes after the last "
	    "argument");
	/* A short string that runs past the end. */
	EXPECT_METHOD_ERROR("\0\x0a\0\x28\x05/\0\0", 502,
	    "SYNTAX_ERROR - cannot decode connection.open: cut short at "
	    "virtual-host");
	/* queue.declare whose arguments' entry says 5 bytes and has 4. */
	EXPECT_METHOD_ERROR("\0\x32\0\x0a\0\0\x01q\0\0\0\0\x0b"
	    "\x01" "xS\0\0\0\x05" "abcd", 502,
	    "SYNTAX_ERROR - cannot decode queue.declare: malformed field "
	    "table in arguments");
	/* The table's own length says more than the frame holds. */
	EXPECT_METHOD_ERROR("\0\x32\0\x0a\0\0\x01q\0\0\0\0\x0c"
	    "\x01" "xS\0\0\0\x01" "a", 502,
	    "SYNTAX_ERROR - cannot decode queue.declare: cut short at "
	    "arguments");

	/* Every cut of a real one is refused; the error names the method. */
	amqp_parser_init(&p);
	for (k = 0; k < len; k++) {
		buf = copy(pika_queue_declare + 7, k);
		assert_int_equal(amqp_method_decode(&p, buf, k, &m), -1);
		assert_int_equal(p.code, k < 4 ? 501 : 502);
		if (k >= 4) {
			assert_int_equal(p.class_id, 50);
			assert_int_equal(p.method_id, 10);
		}
		free(buf);
	}
}

/* ---- Field tables. */

struct want_field {
	const char	*key;
	char		 type;
	uint64_t	 n;
	size_t		 len;
};

static void
test_table_every_type(void **state)
{
	static const struct want_field want[] = {
		{ "t", 't', 1, 0 },
		{ "b", 'b', (uint64_t)-2, 0 },
		{ "B", 'B', 250, 0 },
		{ "s", 's', (uint64_t)-300, 0 },
		{ "u", 'u', 65000, 0 },
		{ "I", 'I', (uint64_t)-70000, 0 },
		{ "i", 'i', 4000000000u, 0 },
		{ "l", 'l', (uint64_t)-5000000000, 0 },
		{ "f", 'f', 0x3fc00000, 0 },		/* 1.5f */
		{ "d", 'd', 0xc002000000000000, 0 },	/* -2.25 */
		{ "D", 'D', 2ULL << 32 | 12345, 0 },
		{ "S", 'S', 0, 7 },
		{ "x", 'x', 0, 2 },
		{ "T", 'T', 1700000000, 0 },
		{ "V", 'V', 0, 0 },
		{ "F", 'F', 0, 12 },
		{ "A", 'A', 0, 27 },
	};
	struct amqp_field f, g;
	struct amqp_iter it, it2;
	struct amqp_buf b;
	const uint8_t *s;
	size_t i, len;
	int64_t v;

	amqp_buf_init(&b);
	put_every_type(&b);
	assert_int_equal(b.err, 0);
	assert_int_equal(amqp_table_check(b.p, b.len), 0);
	amqp_iter_table(&it, b.p, b.len);
	for (i = 0; i < NELEM(want); i++) {
		assert_int_equal(amqp_iter_next(&it, &f), 1);
		assert_bytes(f.key, f.keylen, want[i].key, 1);
		assert_int_equal(f.type, want[i].type);
		assert_int_equal(f.v.n, want[i].n);
		assert_int_equal(f.v.len, want[i].len);
		/* Integers of any letter read as one. */
		assert_int_equal(amqp_field_int(&f, &v),
		    strchr("bBsuIil", f.type) != NULL ? 0 : -1);
		if (strchr("bBsuIil", f.type) != NULL)
			assert_int_equal(v, (int64_t)want[i].n);
	}
	assert_int_equal(amqp_iter_next(&it, &f), 0);

	f = field(&(struct amqp_value){ 0, b.p, b.len }, "S");
	assert_int_equal(amqp_field_str(&f, &s, &len), 0);
	ASSERT_BYTES(s, len, "str\0ing");
	f = field(&(struct amqp_value){ 0, b.p, b.len }, "x");
	assert_int_equal(amqp_field_str(&f, &s, &len), -1);
	/* The nested table, and the array: I, F, A (with V). */
	f = field(&(struct amqp_value){ 0, b.p, b.len }, "F");
	assert_field_str(&f.v, "inner", "v");
	f = field(&(struct amqp_value){ 0, b.p, b.len }, "A");
	assert_int_equal(amqp_array_check(f.v.p, f.v.len), 0);
	amqp_iter_array(&it, f.v.p, f.v.len);
	assert_int_equal(amqp_iter_next(&it, &g), 1);
	assert_null(g.key);
	assert_int_equal(g.type, 'I');
	assert_int_equal(g.v.n, 1);
	assert_int_equal(amqp_iter_next(&it, &g), 1);
	assert_int_equal(g.type, 'F');
	assert_int_equal(field_int(&g.v, "k"), 2);
	assert_int_equal(amqp_iter_next(&it, &g), 1);
	assert_int_equal(g.type, 'A');
	amqp_iter_array(&it2, g.v.p, g.v.len);
	assert_int_equal(amqp_iter_next(&it2, &f), 1);
	assert_int_equal(f.type, 'V');
	assert_int_equal(amqp_iter_next(&it2, &f), 0);
	assert_int_equal(amqp_iter_next(&it, &g), 0);
	assert_int_equal(amqp_table_find(b.p, b.len, "none", &f), 0);
	amqp_buf_free(&b);
}

/* The bytes of each writer, as the errata spells them. */
static void
test_table_encoding(void **state)
{
	struct amqp_buf b;
	size_t t;

	amqp_buf_init(&b);
	amqp_fput_key(&b, "a");
	amqp_fput_i32(&b, 1000);
	amqp_fput_key(&b, "b");
	amqp_fput_i64(&b, -1);
	amqp_fput_key(&b, "c");
	t = amqp_fput_table_open(&b);
	amqp_fput_key(&b, "d");
	amqp_fput_bool(&b, 7);
	amqp_put_close(&b, t);
	amqp_fput_key(&b, "e");
	amqp_fput_decimal(&b, 3, 5);
	ASSERT_BYTES(b.p, b.len, "\x01" "aI\0\0\x03\xe8"
	    "\x01" "bl\xff\xff\xff\xff\xff\xff\xff\xff"
	    "\x01" "cF\0\0\0\x04" "\x01" "dt\x01"
	    "\x01" "eD\x03\0\0\0\x05");
	/* A table given whole is copied as it is. */
	amqp_buf_reset(&b);
	amqp_fput_table(&b, "\x01" "aV", 3);
	ASSERT_BYTES(b.p, b.len, "F\0\0\0\x03\x01" "aV");
	amqp_buf_free(&b);
}

static void
expect_bad_table(const uint8_t *in, size_t len)
{
	uint8_t *buf = copy(in, len);

	if (amqp_table_check(buf, len) != -1)
		fail_msg("table of %zu bytes passed", len);
	free(buf);
}

#define EXPECT_BAD_TABLE(in)	expect_bad_table(B(in))

#define TOP_LIE		"\x01" "aV" "\x01" "bS\xff\xff\xff\xff"
#define NESTED_LIE	"\x01" "aF\0\0\0\x01" "\x05"

static void
test_table_lies(void **state)
{
	struct amqp_field f;
	uint8_t *buf;

	EXPECT_BAD_TABLE("\x01" "aS\0\0\0\x05" "abc");	/* string past end */
	EXPECT_BAD_TABLE("\x05" "ab");			/* key past end */
	EXPECT_BAD_TABLE("\x01" "a");			/* no type */
	EXPECT_BAD_TABLE("\x01" "aZ");			/* unknown letter */
	EXPECT_BAD_TABLE("\x01" "al\0\0\0\0");		/* int64 cut */
	EXPECT_BAD_TABLE("\x01" "aD\x02\0\0\0");	/* decimal cut */
	EXPECT_BAD_TABLE("\x01" "aF\0\0\0");		/* length cut */
	/* A nested table whose entry lies, though it fits its parent. */
	EXPECT_BAD_TABLE("\x01" "aF\0\0\0\x03" "\x01" "bI" "\0\0\0\x01");
	/* An array entry that lies, and one without a letter it knows. */
	EXPECT_BAD_TABLE("\x01" "aA\0\0\0\x02" "I\0");
	EXPECT_BAD_TABLE("\x01" "aA\0\0\0\x01" "?");
	/* An array inside a table inside an array. */
	EXPECT_BAD_TABLE("\x01" "aA\0\0\0\x0c" "F\0\0\0\x07"
	    "\x01" "bA\0\0\0\x01" "Z");
	/* A good entry, then a bad one. */
	EXPECT_BAD_TABLE(TOP_LIE);
	EXPECT_BAD_TABLE(NESTED_LIE);
	/* The empty table is a table. */
	assert_int_equal(amqp_table_check(NULL, 0), 0);

	/*
	 * Looking up a name walks the top level only: it stops at a lie
	 * there, and does not see one inside a nested table.
	 */
	buf = copy(B(TOP_LIE));
	assert_int_equal(amqp_table_find(buf, sizeof(TOP_LIE) - 1, "a", &f),
	    1);
	assert_int_equal(amqp_table_find(buf, sizeof(TOP_LIE) - 1, "zz", &f),
	    -1);
	free(buf);
	buf = copy(B(NESTED_LIE));
	assert_int_equal(amqp_table_find(buf, sizeof(NESTED_LIE) - 1, "zz",
	    &f), 0);
	free(buf);
}

/* Depth: AMQP_TABLE_DEPTH levels pass, one more does not. */
static void
test_table_depth(void **state)
{
	size_t marks[AMQP_TABLE_DEPTH + 1];
	struct amqp_buf b;
	int levels, i;

	amqp_buf_init(&b);
	for (levels = AMQP_TABLE_DEPTH - 1; levels <= AMQP_TABLE_DEPTH;
	    levels++) {
		amqp_buf_reset(&b);
		amqp_fput_key(&b, "a");
		for (i = 0; i < levels; i++)
			marks[i] = amqp_fput_array_open(&b);
		while (i-- > 0)
			amqp_put_close(&b, marks[i]);
		assert_int_equal(amqp_table_check(b.p, b.len),
		    levels < AMQP_TABLE_DEPTH ? 0 : -1);
	}
	amqp_buf_free(&b);
}

/* x-message-ttl as pika sends it (I) and as rabbitmq-c does (l). */
static void
test_table_int_any_letter(void **state)
{
	struct amqp_parser p;
	struct amqp_method m;
	struct amqp_buf b;
	struct amqp_value *args;
	uint8_t *buf;

	amqp_parser_init(&p);
	decode_frame(&p, pika_queue_declare, sizeof(pika_queue_declare), &m,
	    &buf);
	args = m.args;
	ASSERT_BYTES(args[AMQP_QUEUE_DECLARE_QUEUE].p,
	    args[AMQP_QUEUE_DECLARE_QUEUE].len, "q");
	assert_int_equal(args[AMQP_QUEUE_DECLARE_DURABLE].n, 1);
	assert_int_equal(args[AMQP_QUEUE_DECLARE_PASSIVE].n, 0);
	assert_int_equal(field(&args[AMQP_QUEUE_DECLARE_ARGUMENTS],
	    "x-message-ttl").type, 'I');
	assert_int_equal(field_int(&args[AMQP_QUEUE_DECLARE_ARGUMENTS],
	    "x-message-ttl"), 1000);
	assert_field_str(&args[AMQP_QUEUE_DECLARE_ARGUMENTS],
	    "x-dead-letter-exchange", "dlx");
	free(buf);

	amqp_buf_init(&b);
	amqp_fput_key(&b, "x-message-ttl");
	amqp_fput_i64(&b, 1000);
	assert_int_equal(field_int(&(struct amqp_value){ 0, b.p, b.len },
	    "x-message-ttl"), 1000);
	/* And 'L', which RabbitMQ reads as 'l'. */
	buf = copy(B("\x01" "aL\xff\xff\xff\xff\xff\xff\xff\xfe"));
	assert_int_equal(amqp_table_check(buf, 11), 0);
	assert_int_equal(field_int(&(struct amqp_value){ 0, buf, 11 }, "a"),
	    -2);
	free(buf);
	amqp_buf_free(&b);
}

/* ---- Content headers. */

#define HEAD60	"\0\x3c\0\0\0\0\0\0\0\0\0\x03"	/* class 60, 3 bytes */
/* content-type, with a continuation word that sets nothing. */
#define CONTINUED	HEAD60 "\x80\x01" "\0\0" "\x01" "a"
/* Every property: the first word is all flags but the last two. */
#define ALL_PROPS	HEAD60 "\xff\xfc" "\x01" "a" "\x01" "b" "\0\0\0\0" \
	"\x02" "\x05" "\x01" "c" "\x01" "d" "\x01" "e" "\x01" "f" \
	"\0\0\0\0\0\0\0\x09" "\x01" "g" "\x01" "h" "\x01" "i" "\x01" "j"

static void
test_header_flags(void **state)
{
	struct amqp_content_header h;
	struct amqp_parser p;
	uint8_t *buf;

	amqp_parser_init(&p);
	buf = copy(B(CONTINUED));
	assert_int_equal(amqp_content_header_decode(&p, buf,
	    sizeof(CONTINUED) - 1, &h), 0);
	assert_int_equal(h.class_id, 60);
	assert_int_equal(h.body_size, 3);
	assert_int_equal(h.present, 1u << AMQP_BASIC_PROP_CONTENT_TYPE);
	ASSERT_BYTES(h.props[0].p, h.props[0].len, "a");
	free(buf);
	buf = copy(B(ALL_PROPS));
	assert_int_equal(amqp_content_header_decode(&p, buf,
	    sizeof(ALL_PROPS) - 1, &h), 0);
	assert_int_equal(h.present, 0x3fff);
	assert_int_equal(h.props[AMQP_BASIC_PROP_DELIVERY_MODE].n, 2);
	assert_int_equal(h.props[AMQP_BASIC_PROP_PRIORITY].n, 5);
	assert_int_equal(h.props[AMQP_BASIC_PROP_TIMESTAMP].n, 9);
	ASSERT_BYTES(h.props[AMQP_BASIC_PROP_CLUSTER_ID].p,
	    h.props[AMQP_BASIC_PROP_CLUSTER_ID].len, "j");
	free(buf);

	EXPECT_HEADER_ERROR(HEAD60 "\0\x02", 502, "SYNTAX_ERROR - cannot "
	    "decode the content header: a flag for no property");
	EXPECT_HEADER_ERROR(HEAD60 "\0\x01" "\x40\0", 502, "SYNTAX_ERROR - "
	    "cannot decode the content header: a flag for no property");
	EXPECT_HEADER_ERROR(HEAD60 "\x80\x01", 502, "SYNTAX_ERROR - cannot "
	    "decode the content header: property flags cut short");
	EXPECT_HEADER_ERROR(HEAD60 "\x80\0" "\x02" "a", 502, "SYNTAX_ERROR - "
	    "cannot decode the content header: cut short at content-type");
	EXPECT_HEADER_ERROR(HEAD60 "\x20\0" "\0\0\0\x02" "\x01" "a", 502,
	    "SYNTAX_ERROR - cannot decode the content header: malformed "
	    "field table in headers");
	EXPECT_HEADER_ERROR(HEAD60 "\0\0" "x", 502, "SYNTAX_ERROR - cannot "
	    "decode the content header: bytes after the properties");
	EXPECT_HEADER_ERROR("\0\x3d\0\0\0\0\0\0\0\0\0\0\0\0", 502,
	    "SYNTAX_ERROR - cannot decode the content header: unknown class");
	EXPECT_HEADER_ERROR("\0\x3c\0\0\0\0\0\0\0\0\0\0\0", 501,
	    "FRAME_ERROR - type 2, all octets = <<0,60,0,0,0,0,0,0,0,0,0,0,0>>"
	    ": unknown_frame");
}

static void
test_header_encode(void **state)
{
	struct amqp_content_header h;
	struct amqp_buf b;

	memset(&h, 0, sizeof(h));
	h.class_id = AMQP_CLASS_BASIC;
	h.body_size = 0x0102030405060708ULL;
	h.present = 1u << AMQP_BASIC_PROP_DELIVERY_MODE |
	    1u << AMQP_BASIC_PROP_APP_ID;
	h.props[AMQP_BASIC_PROP_DELIVERY_MODE].n = 2;
	h.props[AMQP_BASIC_PROP_APP_ID].p = (const uint8_t *)"mq";
	h.props[AMQP_BASIC_PROP_APP_ID].len = 2;
	/* Not written: a property whose flag is not set. */
	h.props[AMQP_BASIC_PROP_PRIORITY].n = 9;
	amqp_buf_init(&b);
	amqp_put_content_header(&b, 3, &h);
	ASSERT_BYTES(b.p, b.len, "\x02\0\x03\0\0\0\x12"
	    "\0\x3c\0\0\x01\x02\x03\x04\x05\x06\x07\x08" "\x10\x08"
	    "\x02" "\x02" "mq" "\xce");
	/* None: one word of no flags. */
	h.present = 0;
	amqp_buf_reset(&b);
	amqp_put_content_header(&b, 3, &h);
	ASSERT_BYTES(b.p, b.len, "\x02\0\x03\0\0\0\x0e"
	    "\0\x3c\0\0\x01\x02\x03\x04\x05\x06\x07\x08" "\0\0" "\xce");
	/* What the class lacks cannot be written. */
	h.present = 1u << 14;
	amqp_buf_reset(&b);
	amqp_put_content_header(&b, 3, &h);
	assert_int_equal(b.err, EINVAL);
	h.present = 0;
	h.class_id = 61;
	amqp_buf_reset(&b);
	amqp_put_content_header(&b, 3, &h);
	assert_int_equal(b.err, EINVAL);
	amqp_buf_free(&b);
}

/* ---- pika's frames. */

static void
test_pika_start_ok(void **state)
{
	struct amqp_value user, pass, *a;
	struct amqp_parser p;
	struct amqp_method m;
	struct amqp_field f;
	struct amqp_buf b;
	uint8_t *buf;

	amqp_parser_init(&p);
	decode_frame(&p, pika_start_ok, sizeof(pika_start_ok), &m, &buf);
	assert_int_equal(m.id, AMQP_CONNECTION_START_OK);
	a = m.args;
	assert_field_str(&a[AMQP_CONNECTION_START_OK_CLIENT_PROPERTIES],
	    "product", "Pika Python Client Library");
	assert_field_str(&a[AMQP_CONNECTION_START_OK_CLIENT_PROPERTIES],
	    "version", "1.2.0");
	f = field(&a[AMQP_CONNECTION_START_OK_CLIENT_PROPERTIES],
	    "capabilities");
	assert_int_equal(f.type, 'F');
	assert_int_equal(field(&f.v, "basic.nack").type, 't');
	assert_int_equal(field(&f.v, "basic.nack").v.n, 1);
	assert_int_equal(field(&f.v, "publisher_confirms").v.n, 1);
	assert_int_equal(field(&f.v, "consumer_cancel_notify").v.n, 1);
	ASSERT_BYTES(a[AMQP_CONNECTION_START_OK_MECHANISM].p,
	    a[AMQP_CONNECTION_START_OK_MECHANISM].len, "PLAIN");
	ASSERT_BYTES(a[AMQP_CONNECTION_START_OK_LOCALE].p,
	    a[AMQP_CONNECTION_START_OK_LOCALE].len, "en_US");
	assert_int_equal(amqp_sasl(a[AMQP_CONNECTION_START_OK_MECHANISM].p,
	    a[AMQP_CONNECTION_START_OK_MECHANISM].len,
	    a[AMQP_CONNECTION_START_OK_RESPONSE].p,
	    a[AMQP_CONNECTION_START_OK_RESPONSE].len, &user, &pass), 0);
	ASSERT_BYTES(user.p, user.len, "guest");
	ASSERT_BYTES(pass.p, pass.len, "guest");

	/* Encoding what was decoded gives pika's bytes back. */
	amqp_buf_init(&b);
	amqp_put_method(&b, 0, m.id, m.args);
	assert_bytes(b.p, b.len, pika_start_ok, sizeof(pika_start_ok));
	amqp_buf_free(&b);
	free(buf);
}

static void
test_pika_handshake(void **state)
{
	struct amqp_parser p;
	struct amqp_method m;
	struct amqp_buf b;
	uint8_t *buf;

	amqp_parser_init(&p);
	amqp_buf_init(&b);
	decode_frame(&p, pika_tune_ok, sizeof(pika_tune_ok), &m, &buf);
	assert_int_equal(m.id, AMQP_CONNECTION_TUNE_OK);
	assert_int_equal(m.args[AMQP_CONNECTION_TUNE_OK_CHANNEL_MAX].n, 2047);
	assert_int_equal(m.args[AMQP_CONNECTION_TUNE_OK_FRAME_MAX].n, 131072);
	assert_int_equal(m.args[AMQP_CONNECTION_TUNE_OK_HEARTBEAT].n, 60);
	amqp_put_method(&b, 0, m.id, m.args);
	assert_bytes(b.p, b.len, pika_tune_ok, sizeof(pika_tune_ok));
	free(buf);

	decode_frame(&p, pika_open, sizeof(pika_open), &m, &buf);
	assert_int_equal(m.id, AMQP_CONNECTION_OPEN);
	ASSERT_BYTES(m.args[AMQP_CONNECTION_OPEN_VIRTUAL_HOST].p,
	    m.args[AMQP_CONNECTION_OPEN_VIRTUAL_HOST].len, "/");
	assert_int_equal(m.args[AMQP_CONNECTION_OPEN_INSIST].n, 1);
	amqp_buf_reset(&b);
	amqp_put_method(&b, 0, m.id, m.args);
	assert_bytes(b.p, b.len, pika_open, sizeof(pika_open));
	free(buf);
	amqp_buf_free(&b);
}

static void
test_pika_publish(void **state)
{
	size_t len = sizeof(pika_publish), off = 0;
	struct amqp_content_header h;
	struct amqp_frame f[3], g;
	struct amqp_parser p;
	struct amqp_method m;
	struct amqp_buf b;
	struct amqp_field sub;
	struct amqp_value *hd;
	struct amqp_iter it;
	uint8_t *buf;
	ssize_t n;
	int i;

	amqp_parser_init(&p);
	buf = copy(pika_publish, len);
	for (i = 0; i < 3; i++) {
		n = amqp_frame_split(&p, buf + off, len - off, &f[i]);
		assert_true(n > 0);
		off += (size_t)n;
	}
	assert_int_equal(amqp_method_decode(&p, f[0].payload, f[0].size, &m),
	    0);
	assert_int_equal(m.id, AMQP_BASIC_PUBLISH);
	assert_int_equal(m.args[AMQP_BASIC_PUBLISH_EXCHANGE].len, 0);
	ASSERT_BYTES(m.args[AMQP_BASIC_PUBLISH_ROUTING_KEY].p,
	    m.args[AMQP_BASIC_PUBLISH_ROUTING_KEY].len, "q");
	assert_int_equal(m.args[AMQP_BASIC_PUBLISH_MANDATORY].n, 1);
	assert_int_equal(m.args[AMQP_BASIC_PUBLISH_IMMEDIATE].n, 0);

	assert_int_equal(f[1].type, AMQP_FRAME_HEADER);
	assert_int_equal(amqp_content_header_decode(&p, f[1].payload,
	    f[1].size, &h), 0);
	assert_int_equal(h.class_id, 60);
	assert_int_equal(h.weight, 0);
	assert_int_equal(h.body_size, 5);
	ASSERT_BYTES(h.props[AMQP_BASIC_PROP_CONTENT_TYPE].p,
	    h.props[AMQP_BASIC_PROP_CONTENT_TYPE].len, "text/plain");
	assert_int_equal(h.props[AMQP_BASIC_PROP_DELIVERY_MODE].n, 2);
	ASSERT_BYTES(h.props[AMQP_BASIC_PROP_EXPIRATION].p,
	    h.props[AMQP_BASIC_PROP_EXPIRATION].len, "60000");
	assert_int_equal(h.props[AMQP_BASIC_PROP_TIMESTAMP].n, 1700000000);
	assert_int_equal(h.present, 1u << AMQP_BASIC_PROP_CONTENT_TYPE |
	    1u << AMQP_BASIC_PROP_HEADERS | 1u << AMQP_BASIC_PROP_DELIVERY_MODE |
	    1u << AMQP_BASIC_PROP_EXPIRATION | 1u << AMQP_BASIC_PROP_TIMESTAMP);
	hd = &h.props[AMQP_BASIC_PROP_HEADERS];
	assert_int_equal(field_int(hd, "n"), 7);
	assert_int_equal(field(hd, "n").type, 'I');
	assert_int_equal(field_int(hd, "big"), 1LL << 40);
	assert_int_equal(field(hd, "big").type, 'l');
	assert_field_str(hd, "s", "x");
	assert_int_equal(field(hd, "ok").type, 't');
	assert_int_equal(field(hd, "when").type, 'T');
	assert_int_equal(field(hd, "when").v.n, 1700000000);
	sub = field(hd, "sub");
	assert_int_equal(field_int(&sub.v, "k"), -1);
	amqp_iter_array(&it, field(hd, "list").v.p, field(hd, "list").v.len);
	assert_int_equal(amqp_iter_next(&it, &(struct amqp_field){ 0 }), 1);
	assert_int_equal(amqp_iter_next(&it, &(struct amqp_field){ 0 }), 1);
	assert_int_equal(amqp_iter_next(&it, &(struct amqp_field){ 0 }), 0);

	/* The header written back is pika's, headers byte for byte. */
	amqp_buf_init(&b);
	amqp_put_content_header(&b, 1, &h);
	assert_bytes(b.p, b.len, pika_publish + (f[1].payload - 7 - buf),
	    f[1].size + 8);
	assert_int_equal(f[2].type, AMQP_FRAME_BODY);
	ASSERT_BYTES(f[2].payload, f[2].size, "hello");
	/* So are the method frame and the body frame. */
	amqp_buf_reset(&b);
	amqp_put_method(&b, 1, m.id, m.args);
	amqp_put_body(&b, 1, "hello", 5, 131072);
	assert_int_equal(amqp_frame_split(&p, b.p, b.len, &g),
	    f[0].size + 8);
	assert_memory_equal(b.p, pika_publish, f[0].size + 8);
	assert_memory_equal(b.p + f[0].size + 8,
	    pika_publish + len - (f[2].size + 8), f[2].size + 8);
	amqp_buf_free(&b);
	free(buf);
}

/* ---- Bodies and heartbeats. */

static void
test_body_frames(void **state)
{
	static const char body[] = "0123456789abcdefghij";
	struct amqp_parser p;
	struct amqp_frame f;
	struct amqp_buf b;
	size_t off = 0, got = 0;
	uint8_t head[7];
	ssize_t n;
	int frames = 0;

	amqp_parser_init(&p);
	amqp_buf_init(&b);
	/* frame_max 16: 8 bytes of body per frame. */
	amqp_put_body(&b, 2, body, 20, 16);
	assert_int_equal(b.len, 20 + 3 * 8);
	while ((n = amqp_frame_split(&p, b.p + off, b.len - off, &f)) > 0) {
		assert_int_equal(f.type, AMQP_FRAME_BODY);
		assert_int_equal(f.channel, 2);
		assert_int_equal(f.size, frames < 2 ? 8 : 4);
		assert_memory_equal(f.payload, body + got, f.size);
		got += f.size;
		off += (size_t)n;
		frames++;
	}
	assert_int_equal(frames, 3);
	assert_int_equal(got, 20);
	/* An empty body has no frame; no limit, one frame. */
	amqp_buf_reset(&b);
	amqp_put_body(&b, 2, body, 0, 16);
	assert_int_equal(b.len, 0);
	amqp_put_body(&b, 2, body, 20, 0);
	assert_int_equal(b.len, 28);
	amqp_put_body(&b, 2, body, 20, 8);
	assert_int_equal(b.err, EINVAL);
	/* The head of a frame written in place. */
	amqp_frame_head(head, AMQP_FRAME_BODY, 0x0102, 0x03040506);
	assert_memory_equal(head, "\x03\x01\x02\x03\x04\x05\x06", 7);
	amqp_buf_reset(&b);
	amqp_put_heartbeat(&b);
	ASSERT_BYTES(b.p, b.len, "\x08\0\0\0\0\0\0\xce");
	amqp_buf_free(&b);
}

static void
test_buf(void **state)
{
	struct amqp_buf b;
	uint8_t *p;
	size_t i;
	char big[256];

	amqp_buf_init(&b);
	for (i = 0; i < 100000; i++)
		amqp_put_u32(&b, (uint32_t)i);
	assert_int_equal(b.err, 0);
	assert_int_equal(b.len, 400000);
	assert_memory_equal(b.p + 4 * 99999, "\0\x01\x86\x9f", 4);
	/* Reset keeps the memory. */
	p = b.p;
	amqp_buf_reset(&b);
	amqp_put_u8(&b, 1);
	assert_ptr_equal(b.p, p);
	/* A short string of 256 bytes is an error, kept, and stops writes. */
	memset(big, 'x', sizeof(big));
	amqp_put_shortstr(&b, big, 255);
	assert_int_equal(b.len, 257);
	amqp_put_shortstr(&b, big, 256);
	assert_int_equal(b.err, EINVAL);
	amqp_put_u8(&b, 1);
	assert_int_equal(b.len, 257);
	amqp_buf_reset(&b);
	amqp_put_method(&b, 0, 60 << 16 | 99, NULL);
	assert_int_equal(b.err, EINVAL);
	amqp_buf_free(&b);
	amqp_buf_free(&b);	/* twice is harmless */
}

/* ---- SASL. */

typedef int sasl_fn(const uint8_t *, size_t, struct amqp_value *,
    struct amqp_value *);

/* Checks that 'in' gives 'user' and 'pass', or is refused if NULL. */
static void
expect_sasl(sasl_fn *sasl, const uint8_t *in, size_t len, const char *user,
    const char *pass)
{
	struct amqp_value u, p;
	uint8_t *buf = copy(in, len);

	if (user == NULL) {
		assert_int_equal(sasl(buf, len, &u, &p), -1);
	} else {
		assert_int_equal(sasl(buf, len, &u, &p), 0);
		assert_bytes(u.p, u.len, user, strlen(user));
		assert_bytes(p.p, p.len, pass, strlen(pass));
	}
	free(buf);
}

#define EXPECT_PLAIN(in, user, pass)	\
	expect_sasl(amqp_sasl_plain, B(in), user, pass)
#define EXPECT_AMQPLAIN(in, user, pass)	\
	expect_sasl(amqp_sasl_amqplain, B(in), user, pass)

static void
test_sasl_plain(void **state)
{
	EXPECT_PLAIN("\0guest\0guest", "guest", "guest");
	EXPECT_PLAIN("admin\0guest\0pw", "guest", "pw");
	EXPECT_PLAIN("\0guest\0", "guest", "");
	EXPECT_PLAIN("\0\0", "", "");
	EXPECT_PLAIN("", NULL, NULL);
	EXPECT_PLAIN("guest", NULL, NULL);
	EXPECT_PLAIN("\0guest", NULL, NULL);
	EXPECT_PLAIN("\0a\0b\0c", NULL, NULL);
}

#define LOGIN_GUEST	"\x05" "LOGINS\0\0\0\x05" "guest"
#define PASSWORD_GUEST	"\x08" "PASSWORDS\0\0\0\x05" "guest"

static void
test_sasl_amqplain(void **state)
{
	struct amqp_value u, p;

	/* php-amqplib's guest/guest: 35 bytes. */
	assert_int_equal(sizeof(LOGIN_GUEST PASSWORD_GUEST) - 1, 35);
	EXPECT_AMQPLAIN(LOGIN_GUEST PASSWORD_GUEST, "guest", "guest");
	EXPECT_AMQPLAIN(PASSWORD_GUEST "\x01" "aV" LOGIN_GUEST, "guest",
	    "guest");
	EXPECT_AMQPLAIN("\x05" "LOGINS\0\0\0\0" "\x08" "PASSWORDS\0\0\0\x03"
	    "p w", "", "p w");
	EXPECT_AMQPLAIN(LOGIN_GUEST, NULL, NULL);
	EXPECT_AMQPLAIN("\x05" "LOGINx\0\0\0\x05" "guest" PASSWORD_GUEST,
	    NULL, NULL);
	/* With the table's length in front, as a field table would have. */
	EXPECT_AMQPLAIN("\0\0\0\x23" LOGIN_GUEST PASSWORD_GUEST, NULL, NULL);
	EXPECT_AMQPLAIN(LOGIN_GUEST PASSWORD_GUEST "\x01", NULL, NULL);

	assert_int_equal(amqp_sasl(B("AMQPLAIN"),
	    B(LOGIN_GUEST PASSWORD_GUEST), &u, &p), 0);
	assert_int_equal(amqp_sasl(B("PLAIN"), B("\0a\0b"), &u, &p), 0);
	ASSERT_BYTES(u.p, u.len, "a");
	assert_int_equal(amqp_sasl(B("EXTERNAL"), B(""), &u, &p), -1);
	assert_int_equal(amqp_sasl(B("PLAIN "), B("\0a\0b"), &u, &p), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_proto_header),
		cmocka_unit_test(test_parser_init),
		cmocka_unit_test(test_split_every_byte),
		cmocka_unit_test(test_split_pipelined),
		cmocka_unit_test(test_split_bad_end),
		cmocka_unit_test(test_split_too_large),
		cmocka_unit_test(test_split_types),
		cmocka_unit_test(test_reads_nothing_past_frame),
		cmocka_unit_test(test_spec_tables),
		cmocka_unit_test(test_every_method_round_trip),
		cmocka_unit_test(test_bits_packed),
		cmocka_unit_test(test_method_errors),
		cmocka_unit_test(test_table_every_type),
		cmocka_unit_test(test_table_encoding),
		cmocka_unit_test(test_table_lies),
		cmocka_unit_test(test_table_depth),
		cmocka_unit_test(test_table_int_any_letter),
		cmocka_unit_test(test_header_flags),
		cmocka_unit_test(test_header_encode),
		cmocka_unit_test(test_pika_start_ok),
		cmocka_unit_test(test_pika_handshake),
		cmocka_unit_test(test_pika_publish),
		cmocka_unit_test(test_body_frames),
		cmocka_unit_test(test_buf),
		cmocka_unit_test(test_sasl_plain),
		cmocka_unit_test(test_sasl_amqplain),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
