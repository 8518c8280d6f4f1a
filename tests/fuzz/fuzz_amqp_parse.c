/*
 * fuzz_amqp_parse.c - libFuzzer target for the AMQP 0-9-1 codec.
 *
 * The input is a client's byte stream after the protocol header, split
 * frame after frame three times: with frame_max 4096 (before tune-ok),
 * with no limit, and with a tiny one.  Each method frame is decoded, its
 * tables walked and looked up, a start-ok's response read as PLAIN and
 * AMQPLAIN; each content header is decoded and its headers walked.
 * Whatever the bytes: a frame uses no more than it was given and its
 * payload lies inside it, one byte less needs more, an error comes with
 * a reply code the codec gives and its text, every string and table
 * handed out lies inside the payload, a checked table walks to its end,
 * and what was decoded, encoded again, decodes to the same values (a
 * method to a payload of the same size).  The whole input is also taken
 * as a field table, an array and a SASL response of each kind; each
 * table, as a headers exchange's binding and headers too.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "amqp/encode.h"
#include "amqp/headers.h"
#include "amqp/parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check(int cond)
{
	if (!cond)
		abort();
}

static void
check_inside(const struct amqp_value *v, const uint8_t *p, size_t len)
{
	check(v->len == 0 || (v->p >= p && v->len <= len &&
	    v->p - p <= (ptrdiff_t)(len - v->len)));
}

static int
same_value(const struct amqp_value *a, const struct amqp_value *b)
{
	return a->n == b->n && a->len == b->len &&
	    (a->len == 0 || memcmp(a->p, b->p, a->len) == 0);
}

/* Walks a table that passed amqp_table_check(), and everything in it. */
static void
walk(const uint8_t *p, size_t len, int array)
{
	struct amqp_field f;
	struct amqp_iter it;
	int64_t v;
	int rc;

	if (array)
		amqp_iter_array(&it, p, len);
	else
		amqp_iter_table(&it, p, len);
	while ((rc = amqp_iter_next(&it, &f)) == 1) {
		check_inside(&f.v, p, len);
		if (f.type == 'F' || f.type == 'A')
			walk(f.v.p, f.v.len, f.type == 'A');
		(void)amqp_field_int(&f, &v);
	}
	check(rc == 0);
}

static void
table(const struct amqp_value *t)
{
	struct amqp_headers h = { t->p, t->len };
	struct amqp_field f;
	char why[256];
	const uint8_t *s;
	size_t len;
	int64_t v;

	check(amqp_table_check(t->p, t->len) == 0);
	walk(t->p, t->len, 0);
	if (amqp_table_find(t->p, t->len, "x-message-ttl", &f) == 1)
		(void)amqp_field_int(&f, &v);
	if (amqp_table_find(t->p, t->len, "x-dead-letter-exchange", &f) == 1 &&
	    amqp_field_str(&f, &s, &len) == 0)
		check(s >= t->p && s + len <= t->p + t->len);
	/* As a headers exchange's binding, against itself as headers. */
	(void)amqp_headers_check(t->p, t->len, why, sizeof(why));
	(void)amqp_headers_match(t->p, t->len, &h);
}

static void
sasl(const uint8_t *mech, size_t mechlen, const uint8_t *resp, size_t len)
{
	struct amqp_value user, pass;

	if (amqp_sasl(mech, mechlen, resp, len, &user, &pass) == 0) {
		check_inside(&user, resp, len);
		check_inside(&pass, resp, len);
	}
	if (amqp_sasl_plain(resp, len, &user, &pass) == 0)
		check_inside(&pass, resp, len);
	if (amqp_sasl_amqplain(resp, len, &user, &pass) == 0)
		check_inside(&user, resp, len);
}

/* Decodes the one frame in 'b' and returns its payload in '*f'. */
static void
split_again(const struct amqp_buf *b, struct amqp_frame *f)
{
	struct amqp_parser p;

	amqp_parser_init(&p);
	p.frame_max = 0;
	check(b->err == 0);
	check(amqp_frame_split(&p, b->p, b->len, f) == (ssize_t)b->len);
}

static void
method(struct amqp_parser *p, const struct amqp_frame *f, struct amqp_buf *b)
{
	struct amqp_method m, m2;
	struct amqp_frame g;
	uint8_t i;

	if (amqp_method_decode(p, f->payload, f->size, &m) != 0) {
		check(p->error != NULL && (p->code == 501 || p->code == 502 ||
		    p->code == 503));
		return;
	}
	check(m.spec != NULL && m.spec->id == m.id);
	for (i = 0; i < m.spec->nargs; i++) {
		check_inside(&m.args[i], f->payload, f->size);
		if (m.spec->args[i].type == AMQP_T_TABLE)
			table(&m.args[i]);
	}
	if (m.id == AMQP_CONNECTION_START_OK)
		sasl(m.args[AMQP_CONNECTION_START_OK_MECHANISM].p,
		    m.args[AMQP_CONNECTION_START_OK_MECHANISM].len,
		    m.args[AMQP_CONNECTION_START_OK_RESPONSE].p,
		    m.args[AMQP_CONNECTION_START_OK_RESPONSE].len);

	amqp_buf_reset(b);
	amqp_put_method(b, f->channel, m.id, m.args);
	split_again(b, &g);
	check(g.size == f->size);
	check(amqp_method_decode(p, g.payload, g.size, &m2) == 0);
	check(m2.id == m.id);
	for (i = 0; i < m.spec->nargs; i++)
		check(same_value(&m.args[i], &m2.args[i]));
}

static void
header(struct amqp_parser *p, const struct amqp_frame *f, struct amqp_buf *b)
{
	struct amqp_content_header h, h2;
	struct amqp_frame g;
	size_t i;

	if (amqp_content_header_decode(p, f->payload, f->size, &h) != 0) {
		check(p->error != NULL && (p->code == 501 || p->code == 502));
		return;
	}
	for (i = 0; i < AMQP_MAX_PROPS; i++)
		check_inside(&h.props[i], f->payload, f->size);
	if (h.present >> AMQP_BASIC_PROP_HEADERS & 1)
		table(&h.props[AMQP_BASIC_PROP_HEADERS]);

	amqp_buf_reset(b);
	amqp_put_content_header(b, f->channel, &h);
	split_again(b, &g);
	check(g.size <= f->size);
	check(amqp_content_header_decode(p, g.payload, g.size, &h2) == 0);
	check(h2.class_id == h.class_id && h2.weight == h.weight &&
	    h2.body_size == h.body_size && h2.present == h.present);
	for (i = 0; i < AMQP_MAX_PROPS; i++)
		check(same_value(&h.props[i], &h2.props[i]));
}

/* Splits the stream 'buf' frame after frame, and decodes each. */
static void
run(struct amqp_parser *p, const uint8_t *buf, size_t size,
    struct amqp_buf *b)
{
	struct amqp_frame f, g;
	size_t off = 0, rem;
	ssize_t n;

	while (off < size) {
		rem = size - off;
		n = amqp_frame_split(p, buf + off, rem, &f);
		if (n < 0) {
			check(n == -1 && p->error != NULL && p->code == 501);
			break;
		}
		if (n == 0)
			break;
		check((size_t)n <= rem && (size_t)n == f.size + 8u);
		check(f.payload == buf + off + 7);
		check(amqp_frame_split(p, buf + off, (size_t)n - 1, &g) == 0);
		if (f.type == AMQP_FRAME_METHOD)
			method(p, &f, b);
		else if (f.type == AMQP_FRAME_HEADER)
			header(p, &f, b);
		off += (size_t)n;
	}
}

static void
whole(const uint8_t *buf, size_t size)
{
	struct amqp_value t = { 0, buf, size };

	(void)amqp_proto_header(buf, size);
	if (amqp_table_check(buf, size) == 0)
		table(&t);
	if (amqp_array_check(buf, size) == 0)
		walk(buf, size, 1);
	sasl((const uint8_t *)"AMQPLAIN", 8, buf, size);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct amqp_parser p;
	struct amqp_buf b;
	uint8_t *buf;

	/* Exactly 'size' bytes, so that ASan sees a read past the end. */
	if ((buf = malloc(size > 0 ? size : 1)) == NULL)
		return 0;
	memcpy(buf, data, size);
	amqp_buf_init(&b);
	amqp_parser_init(&p);
	run(&p, buf, size, &b);
	p.frame_max = 0;
	run(&p, buf, size, &b);
	p.frame_max = 24;
	run(&p, buf, size, &b);
	whole(buf, size);
	amqp_buf_free(&b);
	free(buf);
	return 0;
}
