/*
 * test_amqp_message.c - an AMQP message as a libmq message and back
 * (cmd/mq-serve/amqp/message.c, docs/mapping.md): every basic property
 * as its header and back, a headers table of long strings as plain
 * headers, any other table (numbers, nested, empty, a key taken) kept
 * whole and written back byte for byte, and messages that no AMQP
 * client made (Redis's fields, values a property cannot hold, a table
 * header that is no table, names too long for a table key); a deadline;
 * a dead letter's libmq headers as x-death, and an x-death that a client
 * published kept whole and then followed by libmq's (death.c).
 */
#include "helpers.h"

#include "amqp/message.h"

/* Header 'i' of 'm' is 'name' with 'value' (C strings). */
static void
assert_header(const struct mq_msg *m, size_t i, const char *name,
    const char *value)
{
	assert_true(i < m->nheaders);
	assert_int_equal(m->headers[i].namelen, strlen(name));
	assert_memory_equal(m->headers[i].name, name, strlen(name));
	assert_int_equal(m->headers[i].valuelen, strlen(value));
	if (strlen(value) > 0)
		assert_memory_equal(m->headers[i].value, value, strlen(value));
}

/* Sets short string property 'i' of 'h'. */
static void
set_str(struct amqp_content_header *h, int i, const char *s)
{
	h->present |= 1u << i;
	h->props[i].p = (const uint8_t *)s;
	h->props[i].len = strlen(s);
}

static void
set_num(struct amqp_content_header *h, int i, uint64_t n)
{
	h->present |= 1u << i;
	h->props[i].n = n;
}

static void
set_table(struct amqp_content_header *h, const struct amqp_buf *t)
{
	h->present |= 1u << AMQP_BASIC_PROP_HEADERS;
	h->props[AMQP_BASIC_PROP_HEADERS].p = t->p;
	h->props[AMQP_BASIC_PROP_HEADERS].len = t->len;
}

/* The content header frame of 'h', as bytes, in 'out'. */
static void
encode(const struct amqp_content_header *h, struct amqp_buf *out)
{
	amqp_buf_reset(out);
	amqp_put_content_header(out, 1, h);
	assert_int_equal(out->err, 0);
}

/*
 * 'h' to a message and back: the content header written from the
 * message is the same bytes as the one written from 'h'.  Returns the
 * message's header count.
 */
static size_t
round_trip(struct amqp_content_header *h, struct amqp_msg_in *in,
    struct mq_msg *m)
{
	struct amqp_buf a, b, table;
	struct amqp_content_header back;

	amqp_buf_init(&a);
	amqp_buf_init(&b);
	amqp_buf_init(&table);
	h->class_id = AMQP_CLASS_BASIC;
	h->body_size = 4;
	assert_int_equal(amqp_msg_from_content(in, h, "q", 1, "body", 4, m),
	    0);
	assert_int_equal(amqp_msg_to_content(m, &table, &back), 0);
	encode(h, &a);
	encode(&back, &b);
	assert_int_equal(a.len, b.len);
	assert_memory_equal(a.p, b.p, a.len);
	amqp_buf_free(&a);
	amqp_buf_free(&b);
	amqp_buf_free(&table);
	return m->nheaders;
}

static void
test_every_property(void **state)
{
	struct amqp_content_header h;
	struct amqp_msg_in in = { 0 };
	struct mq_msg m;

	(void)state;
	memset(&h, 0, sizeof(h));
	set_str(&h, AMQP_BASIC_PROP_CONTENT_TYPE, "text/plain");
	set_str(&h, AMQP_BASIC_PROP_CONTENT_ENCODING, "gzip");
	set_num(&h, AMQP_BASIC_PROP_DELIVERY_MODE, 2);
	set_num(&h, AMQP_BASIC_PROP_PRIORITY, 255);
	set_str(&h, AMQP_BASIC_PROP_CORRELATION_ID, "c1");
	set_str(&h, AMQP_BASIC_PROP_REPLY_TO, "amq.gen-x");
	set_str(&h, AMQP_BASIC_PROP_EXPIRATION, "60000");
	set_str(&h, AMQP_BASIC_PROP_MESSAGE_ID, "m1");
	set_num(&h, AMQP_BASIC_PROP_TIMESTAMP, UINT64_MAX);
	set_str(&h, AMQP_BASIC_PROP_TYPE, "order");
	set_str(&h, AMQP_BASIC_PROP_USER_ID, "guest");
	set_str(&h, AMQP_BASIC_PROP_APP_ID, "shop");
	set_str(&h, AMQP_BASIC_PROP_CLUSTER_ID, "");
	assert_int_equal(round_trip(&h, &in, &m), 13);
	assert_header(&m, 0, "content-type", "text/plain");
	assert_header(&m, 1, "content-encoding", "gzip");
	assert_header(&m, 2, "delivery-mode", "2");
	assert_header(&m, 3, "priority", "255");
	assert_header(&m, 4, "correlation-id", "c1");
	assert_header(&m, 5, "reply-to", "amq.gen-x");
	assert_header(&m, 6, "expiration", "60000");
	assert_header(&m, 7, "message-id", "m1");
	assert_header(&m, 8, "timestamp", "18446744073709551615");
	assert_header(&m, 9, "type", "order");
	assert_header(&m, 10, "user-id", "guest");
	assert_header(&m, 11, "app-id", "shop");
	assert_header(&m, 12, "cluster-id", "");
	/* The routing key is the key, the body the body. */
	assert_int_equal(m.keylen, 1);
	assert_memory_equal(m.key, "q", 1);
	assert_int_equal(m.bodylen, 4);
	amqp_msg_in_free(&in);
}

static void
test_no_properties(void **state)
{
	struct amqp_content_header h;
	struct amqp_msg_in in = { 0 };
	struct mq_msg m;

	(void)state;
	memset(&h, 0, sizeof(h));
	assert_int_equal(round_trip(&h, &in, &m), 0);
	/* An empty routing key is no key. */
	assert_int_equal(amqp_msg_from_content(&in, &h, "", 0, "", 0, &m), 0);
	assert_null(m.key);
	amqp_msg_in_free(&in);
}

static void
test_plain_table(void **state)
{
	struct amqp_content_header h;
	struct amqp_msg_in in = { 0 };
	struct amqp_buf t;
	struct mq_msg m;

	(void)state;
	amqp_buf_init(&t);
	amqp_fput_key(&t, "tenant");
	amqp_fput_str(&t, "acme", 4);
	amqp_fput_key(&t, "trace");
	amqp_fput_str(&t, "", 0);
	amqp_fput_key(&t, "tenant");	/* a name may repeat */
	amqp_fput_str(&t, "two", 3);
	memset(&h, 0, sizeof(h));
	set_str(&h, AMQP_BASIC_PROP_CONTENT_TYPE, "application/json");
	set_table(&h, &t);
	assert_int_equal(round_trip(&h, &in, &m), 4);
	assert_header(&m, 0, "content-type", "application/json");
	assert_header(&m, 1, "tenant", "acme");
	assert_header(&m, 2, "trace", "");
	assert_header(&m, 3, "tenant", "two");
	amqp_msg_in_free(&in);
	amqp_buf_free(&t);
}

/* A table of 'key' S "v" plus, with 'more', an entry that is not S. */
static void
one_entry(struct amqp_buf *t, const char *key, int more)
{
	amqp_buf_reset(t);
	amqp_fput_key(t, key);
	amqp_fput_str(t, "v", 1);
	if (more) {
		amqp_fput_key(t, "n");
		amqp_fput_i32(t, -7);
	}
}

/* A table that plain headers cannot say is kept whole, byte for byte. */
static void
test_table_kept_whole(void **state)
{
	static const char *const taken[] = { "content-type", "timestamp",
	    "amqp-headers" };
	struct amqp_content_header h;
	struct amqp_msg_in in = { 0 };
	struct amqp_buf t;
	struct mq_msg m;
	size_t i, mark, arr;

	(void)state;
	amqp_buf_init(&t);
	/* Numbers. */
	one_entry(&t, "s", 1);
	memset(&h, 0, sizeof(h));
	set_table(&h, &t);
	assert_int_equal(round_trip(&h, &in, &m), 1);
	assert_int_equal(m.headers[0].valuelen, t.len);
	assert_memory_equal(m.headers[0].value, t.p, t.len);
	assert_memory_equal(m.headers[0].name, "amqp-headers", 12);
	/* Keys that other headers have. */
	for (i = 0; i < NELEM(taken); i++) {
		one_entry(&t, taken[i], 0);
		memset(&h, 0, sizeof(h));
		set_table(&h, &t);
		assert_int_equal(round_trip(&h, &in, &m), 1);
		assert_memory_equal(m.headers[0].name, "amqp-headers", 12);
	}
	/* Every letter, nested tables and arrays. */
	amqp_buf_reset(&t);
	amqp_fput_key(&t, "t");
	amqp_fput_bool(&t, 1);
	amqp_fput_key(&t, "b");
	amqp_fput_i8(&t, -1);
	amqp_fput_key(&t, "B");
	amqp_fput_u8(&t, 200);
	amqp_fput_key(&t, "s");
	amqp_fput_i16(&t, -300);
	amqp_fput_key(&t, "u");
	amqp_fput_u16(&t, 60000);
	amqp_fput_key(&t, "l");
	amqp_fput_i64(&t, INT64_MIN);
	amqp_fput_key(&t, "f");
	amqp_fput_float(&t, 1.5f);
	amqp_fput_key(&t, "d");
	amqp_fput_double(&t, -2.25);
	amqp_fput_key(&t, "D");
	amqp_fput_decimal(&t, 2, 12345);
	amqp_fput_key(&t, "x");
	amqp_fput_bytes(&t, "\0\1\2", 3);
	amqp_fput_key(&t, "T");
	amqp_fput_timestamp(&t, 1700000000);
	amqp_fput_key(&t, "V");
	amqp_fput_void(&t);
	amqp_fput_key(&t, "F");
	mark = amqp_fput_table_open(&t);
	amqp_fput_key(&t, "inner");
	arr = amqp_fput_array_open(&t);
	amqp_fput_str(&t, "a", 1);
	amqp_fput_i32(&t, 1);
	amqp_put_close(&t, arr);
	amqp_put_close(&t, mark);
	memset(&h, 0, sizeof(h));
	set_table(&h, &t);
	set_num(&h, AMQP_BASIC_PROP_PRIORITY, 0);
	/* In the properties' order: the table (2) before priority (4). */
	assert_int_equal(round_trip(&h, &in, &m), 2);
	assert_int_equal(m.headers[0].valuelen, t.len);
	assert_memory_equal(m.headers[0].value, t.p, t.len);
	assert_header(&m, 1, "priority", "0");
	/* An empty table stays a table, there but empty. */
	amqp_buf_reset(&t);
	memset(&h, 0, sizeof(h));
	set_table(&h, &t);
	assert_int_equal(round_trip(&h, &in, &m), 1);
	assert_header(&m, 0, "amqp-headers", "");
	amqp_msg_in_free(&in);
	amqp_buf_free(&t);
}

/* A message's headers as the test writes them: name, value, ... */
static void
make_msg(struct mq_msg *m, struct mq_header *h, const char *const *nv,
    size_t n)
{
	size_t i;

	memset(m, 0, sizeof(*m));
	for (i = 0; i < n; i++) {
		h[i].name = nv[2 * i];
		h[i].namelen = strlen(nv[2 * i]);
		h[i].value = nv[2 * i + 1];
		h[i].valuelen = strlen(nv[2 * i + 1]);
	}
	m->headers = h;
	m->nheaders = n;
	m->body = "hi";
	m->bodylen = 2;
}

/* Entry 'i' of a table is key 'key' of type S with 'value'. */
static void
assert_entry(const struct amqp_value *t, size_t i, const char *key,
    const char *value)
{
	struct amqp_iter it;
	struct amqp_field f;
	size_t k;

	amqp_iter_table(&it, t->p, t->len);
	for (k = 0; k <= i; k++)
		assert_int_equal(amqp_iter_next(&it, &f), 1);
	assert_int_equal(f.keylen, strlen(key));
	assert_memory_equal(f.key, key, f.keylen);
	assert_int_equal(f.type, 'S');
	assert_int_equal(f.v.len, strlen(value));
	assert_memory_equal(f.v.p, value, f.v.len);
}

static size_t
table_entries(const struct amqp_value *t)
{
	struct amqp_iter it;
	struct amqp_field f;
	size_t n = 0;

	amqp_iter_table(&it, t->p, t->len);
	while (amqp_iter_next(&it, &f) == 1)
		n++;
	return n;
}

/* What Redis's XADD or mq-xadd -H made: properties where they fit. */
static void
test_from_other_doors(void **state)
{
	static const char *const nv[] = {
		"content-type", "text/plain",
		"tenant", "acme",
		"delivery-mode", "persistent",	/* not a number */
		"priority", "256",		/* over an octet */
		"content-type", "text/html",	/* the second one */
		"timestamp", "0017",		/* not as we write numbers */
		"message-id", "42",
	};
	struct mq_header hs[7];
	struct amqp_content_header p;
	const struct amqp_value *t = &p.props[AMQP_BASIC_PROP_HEADERS];
	struct amqp_buf table;
	struct mq_msg m;

	(void)state;
	amqp_buf_init(&table);
	make_msg(&m, hs, nv, 7);
	assert_int_equal(amqp_msg_to_content(&m, &table, &p), 0);
	assert_int_equal(p.class_id, AMQP_CLASS_BASIC);
	assert_int_equal(p.body_size, 2);
	assert_int_equal(p.present, 1u << AMQP_BASIC_PROP_CONTENT_TYPE |
	    1u << AMQP_BASIC_PROP_MESSAGE_ID | 1u << AMQP_BASIC_PROP_HEADERS);
	assert_int_equal(p.props[AMQP_BASIC_PROP_CONTENT_TYPE].len, 10);
	assert_memory_equal(p.props[AMQP_BASIC_PROP_CONTENT_TYPE].p,
	    "text/plain", 10);
	assert_int_equal(table_entries(t), 5);
	assert_entry(t, 0, "tenant", "acme");
	assert_entry(t, 1, "delivery-mode", "persistent");
	assert_entry(t, 2, "priority", "256");
	assert_entry(t, 3, "content-type", "text/html");
	assert_entry(t, 4, "timestamp", "0017");
	assert_int_equal(amqp_table_check(t->p, t->len), 0);
	amqp_buf_free(&table);
}

/*
 * A deadline is one more header for libmq, which the way back leaves
 * out: the expiration property says it to the client.
 */
static void
test_deadline(void **state)
{
	struct amqp_content_header h, back;
	struct amqp_msg_in in = { 0 };
	struct amqp_buf table;
	struct mq_msg m;
	int64_t at;

	(void)state;
	amqp_buf_init(&table);
	memset(&h, 0, sizeof(h));
	h.class_id = AMQP_CLASS_BASIC;
	set_str(&h, AMQP_BASIC_PROP_EXPIRATION, "5000");
	assert_int_equal(amqp_msg_from_content(&in, &h, "q", 1, "b", 1, &m), 0);
	assert_int_equal(mq_msg_deadline(&m, &at), 0);
	assert_int_equal(amqp_msg_deadline(&in, &m, 1700000005000), 0);
	assert_int_equal(m.nheaders, 2);
	assert_header(&m, 0, "expiration", "5000");
	assert_header(&m, 1, MQ_EXPIRES_AT, "1700000005000");
	assert_int_equal(mq_msg_deadline(&m, &at), 1);
	assert_true(at == 1700000005000);
	assert_int_equal(amqp_msg_to_content(&m, &table, &back), 0);
	assert_int_equal(back.present, 1u << AMQP_BASIC_PROP_EXPIRATION);
	amqp_msg_in_free(&in);
	amqp_buf_free(&table);
}

/*
 * "amqp-headers" with a table starts the table, whatever comes before;
 * one that holds no table, a second one, a value over a short string,
 * are entries; a name over 255 bytes cannot be a key and is left out.
 */
static void
test_table_header_and_others(void **state)
{
	char longname[300], longvalue[300];
	const char *nv[12];
	struct mq_header hs[6];
	struct amqp_content_header p;
	const struct amqp_value *t = &p.props[AMQP_BASIC_PROP_HEADERS];
	struct amqp_buf table, whole;
	struct mq_msg m;

	(void)state;
	memset(longname, 'k', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	memset(longvalue, 'v', sizeof(longvalue) - 1);
	longvalue[sizeof(longvalue) - 1] = '\0';
	amqp_buf_init(&table);
	amqp_buf_init(&whole);
	amqp_fput_key(&whole, "n");
	amqp_fput_i64(&whole, 5);
	/* A NUL after its bytes, for make_msg's strlen (its length is set). */
	amqp_put_u8(&whole, 0);
	whole.len--;
	nv[0] = "before"; nv[1] = "1";
	nv[2] = "amqp-headers"; nv[3] = (const char *)whole.p;
	nv[4] = "amqp-headers"; nv[5] = "no table";
	nv[6] = longname; nv[7] = "x";
	nv[8] = "reply-to"; nv[9] = longvalue;
	nv[10] = "after"; nv[11] = "2";
	make_msg(&m, hs, nv, 6);
	hs[1].valuelen = whole.len;
	assert_int_equal(amqp_msg_to_content(&m, &table, &p), 0);
	assert_int_equal(p.present, 1u << AMQP_BASIC_PROP_HEADERS);
	assert_int_equal(table_entries(t), 5);
	/* The kept table first, its entry untouched. */
	assert_memory_equal(t->p, whole.p, whole.len);
	assert_entry(t, 1, "before", "1");
	assert_entry(t, 2, "amqp-headers", "no table");
	assert_entry(t, 3, "reply-to", longvalue);
	assert_entry(t, 4, "after", "2");
	amqp_buf_free(&table);
	amqp_buf_free(&whole);
}

/* Writes one x-death table as RabbitMQ's first death writes it. */
static void
put_death(struct amqp_buf *t, int64_t count, const char *reason,
    const char *queue, uint64_t time, const char *exchange, const char *key,
    const char *expiration)
{
	size_t mark = amqp_fput_table_open(t), arr;

	amqp_fput_key(t, "count");
	amqp_fput_i64(t, count);
	amqp_fput_key(t, "reason");
	amqp_fput_str(t, reason, strlen(reason));
	amqp_fput_key(t, "queue");
	amqp_fput_str(t, queue, strlen(queue));
	amqp_fput_key(t, "time");
	amqp_fput_timestamp(t, time);
	amqp_fput_key(t, "exchange");
	amqp_fput_str(t, exchange, strlen(exchange));
	amqp_fput_key(t, "routing-keys");
	arr = amqp_fput_array_open(t);
	amqp_fput_str(t, key, strlen(key));
	amqp_put_close(t, arr);
	if (expiration != NULL) {
		amqp_fput_key(t, "original-expiration");
		amqp_fput_str(t, expiration, strlen(expiration));
	}
	amqp_put_close(t, mark);
}

/* Writes a long string entry. */
static void
put_str(struct amqp_buf *t, const char *key, const char *value)
{
	amqp_fput_key(t, key);
	amqp_fput_str(t, value, strlen(value));
}

/* The x-first-death-* entries of a death in 'queue' for 'reason'. */
static void
put_first_death(struct amqp_buf *t, const char *queue, const char *reason)
{
	put_str(t, "x-first-death-exchange", "");
	put_str(t, "x-first-death-queue", queue);
	put_str(t, "x-first-death-reason", reason);
}

/* The headers table of 'm' for an AMQP client is 'want'. */
static void
assert_table(const struct mq_msg *m, const struct amqp_buf *want)
{
	struct amqp_content_header back;
	struct amqp_buf table;

	amqp_buf_init(&table);
	assert_int_equal(amqp_msg_to_content(m, &table, &back), 0);
	assert_int_equal(want->err, 0);
	assert_true(back.present & 1u << AMQP_BASIC_PROP_HEADERS);
	assert_false(back.present & 1u << AMQP_BASIC_PROP_EXPIRATION);
	assert_int_equal(back.props[AMQP_BASIC_PROP_HEADERS].len, want->len);
	assert_memory_equal(back.props[AMQP_BASIC_PROP_HEADERS].p, want->p,
	    want->len);
	amqp_buf_free(&table);
}

/*
 * Three dead-letterings, newest first as libmq writes them: rejected
 * twice from "work" (a cycle through "dlx"), after the delivery limit
 * of "limited", which sent it through "dlx2".
 */
static void
test_x_death(void **state)
{
	static const char *const nv[] = {
		"mq-origin", "work", "mq-origin-id", "1-0",
		"mq-reason", "rejected", "mq-count", "2",
		"mq-time", "1700000005000", "mq-exchange", "dlx",
		"mq-key", "dead-key",
		"mq-origin", "work", "mq-origin-id", "1-0",
		"mq-reason", "rejected", "mq-count", "1",
		"mq-time", "1700000001999", "mq-exchange", "dlx",
		"mq-key", "work",
		"mq-origin", "limited", "mq-origin-id", "7-0",
		"mq-reason", "delivery-limit", "mq-count", "3",
		"mq-time", "1700000000000", "mq-exchange", "dlx2",
		"mq-key", "orig",
		"expiration", "5000", "b", "2", "a", "1",
	};
	static const char *const own_first[] = {
		"a", "1", "mq-origin", "work", "mq-origin-id", "1-0",
		"mq-reason", "rejected", "mq-count", "1", "mq-time", "1",
	};
	struct mq_header h[24];
	struct amqp_buf want;
	struct mq_msg m;
	const void *x;
	size_t len, mark, arr;

	(void)state;
	make_msg(&m, h, nv, 24);
	m.key = "dead-key";
	m.keylen = 8;
	assert_int_equal(amqp_death_prefix(&m), 21);
	amqp_death_exchange(&m, &x, &len);
	assert_int_equal(len, 3);
	assert_memory_equal(x, "dlx", 3);

	/* Sorted: a, b, x-death, x-first-death-*; no expiration property. */
	amqp_buf_init(&want);
	put_str(&want, "a", "1");
	put_str(&want, "b", "2");
	amqp_fput_key(&want, "x-death");
	mark = amqp_fput_array_open(&want);
	/* Counted up: the first death's fields, keys in order. */
	arr = amqp_fput_table_open(&want);
	amqp_fput_key(&want, "count");
	amqp_fput_i64(&want, 2);
	put_str(&want, "exchange", "dlx2");
	put_str(&want, "queue", "work");
	put_str(&want, "reason", "rejected");
	amqp_fput_key(&want, "routing-keys");
	len = amqp_fput_array_open(&want);
	amqp_fput_str(&want, "work", 4);
	amqp_put_close(&want, len);
	amqp_fput_key(&want, "time");
	amqp_fput_timestamp(&want, 1700000001);
	amqp_put_close(&want, arr);
	put_death(&want, 1, "delivery_limit", "limited", 1700000000, "",
	    "orig", "5000");
	amqp_put_close(&want, mark);
	put_first_death(&want, "limited", "delivery_limit");
	assert_table(&m, &want);

	/* Runs after a header of the message's own are no history. */
	make_msg(&m, h, own_first, 6);
	assert_int_equal(amqp_death_prefix(&m), 0);
	make_msg(&m, h, nv, 24);
	m.headers = h + 7;
	m.nheaders = 17;
	assert_int_equal(amqp_death_prefix(&m), 14);

	/* A copy in the dead-letter stream, not routed: its own key. */
	make_msg(&m, h, nv, 5);
	m.key = "k";
	m.keylen = 1;
	amqp_death_exchange(&m, &x, &len);
	assert_int_equal(len, 0);
	amqp_buf_reset(&want);
	amqp_fput_key(&want, "x-death");
	mark = amqp_fput_array_open(&want);
	put_death(&want, 1, "rejected", "work", 1700000005, "", "k", NULL);
	amqp_put_close(&want, mark);
	put_first_death(&want, "work", "rejected");
	assert_table(&m, &want);
	amqp_buf_free(&want);
}

/*
 * A client publishes a dead letter again (its x-death is a table of
 * RabbitMQ's): kept whole, it comes back byte for byte; dead-lettered
 * here, libmq's death comes before it and its first death stays.
 */
static void
test_x_death_published(void **state)
{
	static const char *const nv[] = {
		"mq-origin", "retry", "mq-origin-id", "9-0",
		"mq-reason", "expired", "mq-count", "0",
		"mq-time", "1700000009000",
	};
	struct amqp_content_header hd;
	struct amqp_msg_in in = { 0 };
	struct mq_header h[6];
	struct amqp_buf t, want;
	struct mq_msg m, pub;
	size_t mark;

	(void)state;
	amqp_buf_init(&t);
	amqp_fput_key(&t, "x-death");
	mark = amqp_fput_array_open(&t);
	put_death(&t, 1, "rejected", "old", 1600000000, "", "old", NULL);
	amqp_put_close(&t, mark);
	put_first_death(&t, "old", "rejected");
	memset(&hd, 0, sizeof(hd));
	set_table(&hd, &t);
	assert_int_equal(round_trip(&hd, &in, &pub), 1);
	assert_int_equal(pub.headers[0].namelen, 12);
	assert_memory_equal(pub.headers[0].name, "amqp-headers", 12);

	make_msg(&m, h, nv, 5);
	h[5] = pub.headers[0];
	m.nheaders = 6;
	m.key = "retry";
	m.keylen = 5;
	amqp_buf_init(&want);
	amqp_fput_key(&want, "x-death");
	mark = amqp_fput_array_open(&want);
	put_death(&want, 1, "expired", "retry", 1700000009, "", "retry",
	    NULL);
	put_death(&want, 1, "rejected", "old", 1600000000, "", "old", NULL);
	amqp_put_close(&want, mark);
	put_first_death(&want, "old", "rejected");
	assert_table(&m, &want);
	amqp_msg_in_free(&in);
	amqp_buf_free(&t);
	amqp_buf_free(&want);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_property),
		cmocka_unit_test(test_no_properties),
		cmocka_unit_test(test_plain_table),
		cmocka_unit_test(test_table_kept_whole),
		cmocka_unit_test(test_from_other_doors),
		cmocka_unit_test(test_table_header_and_others),
		cmocka_unit_test(test_deadline),
		cmocka_unit_test(test_x_death),
		cmocka_unit_test(test_x_death_published),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
