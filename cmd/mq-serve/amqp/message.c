/*
 * message.c - an AMQP message as a libmq message, and back.
 *
 * Model (docs/mapping.md, "AMQP"): the body is the body and the routing
 * key the key.  Each basic property that is set becomes a header named
 * as RabbitMQ's STOMP adapter names it (content-type, ..., delivery-mode
 * and priority as decimal numbers, timestamp as decimal seconds), in the
 * order of the properties.  The headers table becomes plain headers,
 * "key: value" in its order, when that says all it holds: every entry a
 * long string (S) and no key one of the names above nor "amqp-headers".
 * Any other table (numbers, nested tables, arrays, an empty table) is
 * kept whole, its bytes as they came, in the one header "amqp-headers",
 * so that it goes back to an AMQP client byte for byte.
 *
 * The way back takes any message, one from Redis or mq-xadd included:
 * a header with a property's name and a value the property can hold
 * (a short string of at most 255 bytes, a number in range) is that
 * property, the first of a name only; "amqp-headers" holding a valid
 * table starts the headers table; every other header is an S entry of
 * it.  So a message published by AMQP comes back as it was published,
 * and `XADD q * content-type text/plain body hi` comes with content_type
 * text/plain.  A header whose name is over 255 bytes cannot be a table
 * key, and is left out.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "message.h"

/* The header of each basic property, by AMQP_BASIC_PROP_; NULL: the table. */
static const char *const prop_header[AMQP_BASIC_NPROPS] = {
	[AMQP_BASIC_PROP_CONTENT_TYPE] = "content-type",
	[AMQP_BASIC_PROP_CONTENT_ENCODING] = "content-encoding",
	[AMQP_BASIC_PROP_HEADERS] = NULL,
	[AMQP_BASIC_PROP_DELIVERY_MODE] = "delivery-mode",
	[AMQP_BASIC_PROP_PRIORITY] = "priority",
	[AMQP_BASIC_PROP_CORRELATION_ID] = "correlation-id",
	[AMQP_BASIC_PROP_REPLY_TO] = "reply-to",
	[AMQP_BASIC_PROP_EXPIRATION] = "expiration",
	[AMQP_BASIC_PROP_MESSAGE_ID] = "message-id",
	[AMQP_BASIC_PROP_TIMESTAMP] = "timestamp",
	[AMQP_BASIC_PROP_TYPE] = "type",
	[AMQP_BASIC_PROP_USER_ID] = "user-id",
	[AMQP_BASIC_PROP_APP_ID] = "app-id",
	[AMQP_BASIC_PROP_CLUSTER_ID] = "cluster-id",
};

/* The largest value of each numeric property; 0: a short string. */
static uint64_t
prop_max(int i)
{
	switch (i) {
	case AMQP_BASIC_PROP_DELIVERY_MODE:
	case AMQP_BASIC_PROP_PRIORITY:
		return UINT8_MAX;
	case AMQP_BASIC_PROP_TIMESTAMP:
		return UINT64_MAX;
	default:
		return 0;
	}
}

/* The property whose header is 'name' ('len' bytes), or -1. */
static int
prop_of(const void *name, size_t len)
{
	int i;

	for (i = 0; i < AMQP_BASIC_NPROPS; i++)
		if (prop_header[i] != NULL && strlen(prop_header[i]) == len &&
		    memcmp(prop_header[i], name, len) == 0)
			return i;
	return -1;
}

/* Whether 'name' is taken: a property's header or "amqp-headers". */
static int
reserved(const void *name, size_t len)
{
	return prop_of(name, len) >= 0 ||
	    (len == sizeof(AMQP_HEADERS_HEADER) - 1 &&
	    memcmp(name, AMQP_HEADERS_HEADER, len) == 0);
}

/* ------------------------------------------------------------------
 * AMQP to libmq.
 * ---------------------------------------------------------------- */

/* Adds a header; -1 if out of memory. */
static int
add_header(struct amqp_msg_in *in, size_t *n, const void *name,
    size_t namelen, const void *value, size_t valuelen)
{
	struct mq_header *h;

	if (*n == in->cap) {
		size_t ncap = in->cap ? 2 * in->cap : 16;

		if ((h = reallocarray(in->h, ncap, sizeof(*h))) == NULL)
			return -1;
		in->h = h;
		in->cap = ncap;
	}
	h = &in->h[(*n)++];
	h->name = name;
	h->namelen = namelen;
	h->value = value;
	h->valuelen = valuelen;
	return 0;
}

/*
 * Whether the headers table ('len' bytes at 'p') says all it holds as
 * plain headers: every entry S, no key taken by another header.  An
 * empty table is kept whole, so that it comes back as a table.
 */
static int
table_plain(const uint8_t *p, size_t len)
{
	struct amqp_iter it;
	struct amqp_field f;
	int rc, n = 0;

	amqp_iter_table(&it, p, len);
	while ((rc = amqp_iter_next(&it, &f)) == 1) {
		if (f.type != 'S' || reserved(f.key, f.keylen))
			return 0;
		n++;
	}
	return rc == 0 && n > 0;
}

/* The entries of a plain headers table as headers. */
static int
add_table_entries(struct amqp_msg_in *in, size_t *n, const uint8_t *p,
    size_t len)
{
	struct amqp_iter it;
	struct amqp_field f;

	amqp_iter_table(&it, p, len);
	while (amqp_iter_next(&it, &f) == 1)
		if (add_header(in, n, f.key, f.keylen, f.v.p, f.v.len) == -1)
			return -1;
	return 0;
}

int
amqp_msg_from_content(struct amqp_msg_in *in,
    const struct amqp_content_header *props, const void *key, size_t keylen,
    const void *body, size_t bodylen, struct mq_msg *m)
{
	const struct amqp_value *v;
	size_t n = 0;
	int i;

	for (i = 0; i < AMQP_BASIC_NPROPS; i++) {
		if ((props->present >> i & 1) == 0)
			continue;
		v = &props->props[i];
		if (i == AMQP_BASIC_PROP_HEADERS) {
			if (table_plain(v->p, v->len)) {
				if (add_table_entries(in, &n, v->p,
				    v->len) == -1)
					return -1;
				continue;
			}
			if (add_header(in, &n, AMQP_HEADERS_HEADER,
			    sizeof(AMQP_HEADERS_HEADER) - 1, v->p,
			    v->len) == -1)
				return -1;
			continue;
		}
		if (prop_max(i) != 0) {
			int len = snprintf(in->num[i], sizeof(in->num[i]),
			    "%" PRIu64, v->n);

			if (add_header(in, &n, prop_header[i],
			    strlen(prop_header[i]), in->num[i],
			    (size_t)len) == -1)
				return -1;
			continue;
		}
		if (add_header(in, &n, prop_header[i], strlen(prop_header[i]),
		    v->p, v->len) == -1)
			return -1;
	}
	memset(m, 0, sizeof(*m));
	m->key = keylen > 0 ? key : NULL;
	m->keylen = keylen;
	m->headers = in->h;
	m->nheaders = n;
	m->body = body;
	m->bodylen = bodylen;
	return 0;
}

int
amqp_msg_deadline(struct amqp_msg_in *in, struct mq_msg *m, int64_t at)
{
	size_t n = m->nheaders;
	int len;

	len = snprintf(in->deadline, sizeof(in->deadline), "%" PRId64, at);
	if (add_header(in, &n, MQ_EXPIRES_AT, sizeof(MQ_EXPIRES_AT) - 1,
	    in->deadline, (size_t)len) == -1)
		return -1;
	m->headers = in->h;
	m->nheaders = n;
	return 0;
}

void
amqp_msg_in_free(struct amqp_msg_in *in)
{
	free(in->h);
	in->h = NULL;
	in->cap = 0;
}

/* ------------------------------------------------------------------
 * libmq to AMQP.
 * ---------------------------------------------------------------- */

/* Parses the decimal 'len' bytes at 'p', at most 'max': 0, or -1. */
static int
decimal(const uint8_t *p, size_t len, uint64_t max, uint64_t *v)
{
	uint64_t r = 0;
	size_t i;

	/* Only what amqp_msg_from_content writes: no sign, no leading zero. */
	if (len == 0 || len > 20 || (len > 1 && p[0] == '0'))
		return -1;
	for (i = 0; i < len; i++) {
		unsigned d = (unsigned)p[i] - '0';

		if (d > 9 || r > (max - d) / 10)
			return -1;
		r = r * 10 + d;
	}
	*v = r;
	return 0;
}

/*
 * Makes header 'h' property 'i' if the property is not set yet and the
 * value fits it: 1 if so, 0 if not.
 */
static int
set_prop(struct amqp_content_header *props, int i, const struct mq_header *h)
{
	struct amqp_value *v = &props->props[i];
	uint64_t max = prop_max(i);

	if (props->present >> i & 1)
		return 0;
	if (max != 0) {
		if (decimal(h->value, h->valuelen, max, &v->n) == -1)
			return 0;
	} else {
		if (h->valuelen > 255)
			return 0;
		v->p = h->value;
		v->len = h->valuelen;
	}
	props->present |= 1u << i;
	return 1;
}

/* Whether 'h' is a table kept whole, and the first one. */
static int
whole_table(const struct mq_header *h, int have)
{
	return !have && h->namelen == sizeof(AMQP_HEADERS_HEADER) - 1 &&
	    memcmp(h->name, AMQP_HEADERS_HEADER, h->namelen) == 0 &&
	    amqp_table_check(h->value, h->valuelen) == 0;
}

int
amqp_msg_to_content(const struct mq_msg *m, struct amqp_buf *table,
    struct amqp_content_header *props)
{
	const struct mq_header *h;
	int have_table = 0, entries = 0, dead, i;
	size_t k;

	memset(props, 0, sizeof(*props));
	props->class_id = AMQP_CLASS_BASIC;
	props->body_size = m->bodylen;
	amqp_buf_reset(table);
	/* A dead letter's history, its first headers, is x-death (death.c). */
	k = amqp_death_prefix(m);
	dead = k > 0;
	for (; k < m->nheaders; k++) {
		h = &m->headers[k];
		/* And its expiration, x-death's original-expiration. */
		if ((i = prop_of(h->name, h->namelen)) >= 0 && dead &&
		    i == AMQP_BASIC_PROP_EXPIRATION)
			continue;
		if (i >= 0 && set_prop(props, i, h))
			continue;
		if (whole_table(h, have_table)) {
			/* First, so the entries after it keep their order. */
			if (table->len > 0) {
				struct amqp_buf rest = *table;

				amqp_buf_init(table);
				amqp_put_bytes(table, h->value, h->valuelen);
				amqp_put_bytes(table, rest.p, rest.len);
				amqp_buf_free(&rest);
			} else
				amqp_put_bytes(table, h->value, h->valuelen);
			have_table = 1;
			continue;
		}
		if (h->namelen > 255 ||
		    (h->namelen == sizeof(MQ_EXPIRES_AT) - 1 &&
		    memcmp(h->name, MQ_EXPIRES_AT, h->namelen) == 0))
			continue;	/* no table key can say it; libmq's */
		amqp_put_shortstr(table, h->name, h->namelen);
		amqp_fput_str(table, h->value, h->valuelen);
		entries = 1;
	}
	if (dead && (amqp_deaths_put(m, table) == -1 ||
	    amqp_table_sort(table) == -1))
		return -1;
	entries |= dead;
	if (table->err != 0)
		return -1;
	if (have_table || entries) {
		props->present |= 1u << AMQP_BASIC_PROP_HEADERS;
		props->props[AMQP_BASIC_PROP_HEADERS].p = table->p;
		props->props[AMQP_BASIC_PROP_HEADERS].len = table->len;
	}
	return 0;
}
