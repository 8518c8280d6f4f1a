/*
 * qargs.c - the arguments of queue.declare: checked as RabbitMQ checks
 * them, compared on a redeclaration, and turned into the stream's libmq
 * policy.
 *
 * Model: the arguments are kept as the client sent them (the field
 * table's bytes, in the queue's declaration, libmq/qdecl.c).  Only the
 * x-* arguments that RabbitMQ knows are checked and compared, each by
 * its kind; any other is taken and ignored, as RabbitMQ does.  The texts
 * of the 406 replies are RabbitMQ 3.10's, word for word, since clients
 * show them: "invalid arg 'x-message-ttl' for queue 'q' in vhost '/':
 * {value_negative,-1}", "inequivalent arg 'durable' for queue 'q' in
 * vhost '/': received 'false' but current is 'true'".
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "amqp.h"

enum kind {
	K_INT,		/* >= 0 */
	K_POSITIVE,	/* > 0 (x-expires) */
	K_PRIORITY,	/* 0 .. 255 */
	K_OVERFLOW,	/* drop-head, reject-publish, reject-publish-dlx */
	K_EXCHANGE,	/* a string, "invalid type" if not */
	K_BOOL,
	K_QTYPE,	/* "classic", "stream" */
	K_AGE		/* "7D": a stream's x-max-age (stream.c) */
};

static const struct known {
	const char	*key;
	enum kind	 kind;
} known[] = {
	{ "x-expires", K_POSITIVE },
	{ "x-message-ttl", K_INT },
	{ "x-dead-letter-exchange", K_EXCHANGE },
	{ "x-dead-letter-routing-key", K_EXCHANGE },
	{ "x-max-length", K_INT },
	{ "x-max-length-bytes", K_INT },
	{ "x-max-priority", K_PRIORITY },
	{ "x-overflow", K_OVERFLOW },
	{ "x-single-active-consumer", K_BOOL },
	{ "x-queue-type", K_QTYPE },
	{ "x-delivery-limit", K_INT },
	{ "x-max-age", K_AGE },
	{ "x-stream-max-segment-size-bytes", K_INT },
};
#define NKNOWN (sizeof(known) / sizeof(known[0]))

#define FOR_QUEUE "for queue '%s' in vhost '/'"

/* RabbitMQ's name of the type of a field of letter 'type'. */
static const char *
type_name(char type)
{
	switch (type) {
	case 't': return "bool";
	case 'b': return "byte";
	case 'B': return "unsignedbyte";
	case 's': return "short";
	case 'u': return "unsignedshort";
	case 'I': return "signedint";
	case 'i': return "unsignedint";
	case 'l': case 'L': return "long";
	case 'f': return "float";
	case 'd': return "double";
	case 'D': return "decimal";
	case 'S': return "longstr";
	case 'x': return "binary";
	case 'T': return "timestamp";
	case 'F': return "table";
	case 'A': return "array";
	case 'V': return "void";
	}
	return "unknown";
}

/*
 * Why RabbitMQ refuses value 'f' of a 'kind' argument, in 'why' (size
 * 'size'), or "" if it takes it.
 */
static void
invalid(enum kind kind, const struct amqp_field *f, char *why, size_t size)
{
	int64_t v;

	why[0] = '\0';
	switch (kind) {
	case K_INT:
	case K_POSITIVE:
	case K_PRIORITY:
		if (amqp_field_int(f, &v) == -1)
			(void)snprintf(why, size, "\"expected integer, got %s\"",
			    type_name(f->type));
		else if (v < 0)
			(void)snprintf(why, size, "{value_negative,%" PRId64 "}",
			    v);
		else if (v == 0 && kind == K_POSITIVE)
			(void)snprintf(why, size, "{value_zero,0}");
		else if (v > 255 && kind == K_PRIORITY)
			(void)snprintf(why, size, "{max_value_exceeded,%" PRId64
			    "}", v);
		break;
	case K_OVERFLOW:
		if (f->type != 'S')
			(void)snprintf(why, size, "{unacceptable_type,%s}",
			    type_name(f->type));
		else if (!amqp_field_is(f, "drop-head") &&
		    !amqp_field_is(f, "reject-publish") &&
		    !amqp_field_is(f, "reject-publish-dlx"))
			(void)snprintf(why, size, "invalid_overflow");
		break;
	case K_BOOL:
		if (f->type != 't')
			(void)snprintf(why, size, "{unacceptable_type,%s}",
			    type_name(f->type));
		break;
	case K_AGE:
		if (f->type != 'S')
			(void)snprintf(why, size, "{unacceptable_type,%s}",
			    type_name(f->type));
		else if (amqp_stream_age(f, &v) == -1)
			(void)snprintf(why, size, "invalid_max_age");
		break;
	case K_QTYPE:
		if (f->type != 'S')
			(void)snprintf(why, size, "{unacceptable_type,%s}",
			    type_name(f->type));
		else if (!amqp_field_is(f, "classic") && !amqp_field_is(f, "stream"))
			(void)snprintf(why, size,
			    "\"unsupported queue type '%.*s'\"", (int)f->v.len,
			    (const char *)f->v.p);
		break;
	case K_EXCHANGE:
		break;		/* its own wording: see amqp_qargs_check */
	}
}

int
amqp_qargs_check(struct amqp_channel *ch, const struct amqp_method *m,
    const char *name, const uint8_t *args, size_t len)
{
	struct amqp_field f, dlx;
	char why[300];
	size_t i;

	for (i = 0; i < NKNOWN; i++) {
		if (amqp_table_find(args, len, known[i].key, &f) != 1)
			continue;
		if (known[i].kind == K_EXCHANGE && f.type != 'S') {
			amqp_chan_error(ch, AMQP_PRECONDITION_FAILED, m->id,
			    "invalid type '%s' for arg '%s' in queue '%s' in "
			    "vhost '/'", type_name(f.type), known[i].key, name);
			return -1;
		}
		invalid(known[i].kind, &f, why, sizeof(why));
		if (why[0] == '\0' &&
		    strcmp(known[i].key, "x-dead-letter-routing-key") == 0 &&
		    amqp_table_find(args, len, "x-dead-letter-exchange",
		    &dlx) != 1)
			(void)strlcpy(why, "routing_key_but_no_dlx_defined",
			    sizeof(why));
		if (why[0] != '\0') {
			amqp_chan_error(ch, AMQP_PRECONDITION_FAILED, m->id,
			    "invalid arg '%s' " FOR_QUEUE ": %s", known[i].key,
			    name, why);
			return -1;
		}
	}
	return 0;
}

/* The value of 'f' as RabbitMQ prints it in an inequivalence. */
static void
value_text(const struct amqp_field *f, char *buf, size_t size)
{
	int64_t v;

	if (amqp_field_int(f, &v) == 0)
		(void)snprintf(buf, size, "%" PRId64, v);
	else if (f->type == 't')
		(void)snprintf(buf, size, "%s", f->v.n ? "true" : "false");
	else if (f->type == 'S')
		(void)snprintf(buf, size, "%.*s", (int)f->v.len,
		    (const char *)f->v.p);
	else
		(void)snprintf(buf, size, "%s", type_name(f->type));
}

/* Whether two fields are the same value: integers of any letter alike. */
static int
same(const struct amqp_field *a, const struct amqp_field *b)
{
	int64_t x, y;

	if (amqp_field_int(a, &x) == 0 && amqp_field_int(b, &y) == 0)
		return x == y;
	return a->type == b->type && a->v.n == b->v.n && a->v.len == b->v.len &&
	    (a->v.len == 0 || memcmp(a->v.p, b->v.p, a->v.len) == 0);
}

/* "'1000'", or "none" / "the value '1000' of type 'signedint'". */
static void
side_text(const struct amqp_field *f, int present, int both, char *buf,
    size_t size)
{
	char v[200];

	if (!present) {
		(void)strlcpy(buf, "none", size);
		return;
	}
	value_text(f, v, sizeof(v));
	if (both)
		(void)snprintf(buf, size, "'%s'", v);
	else
		(void)snprintf(buf, size, "the value '%s' of type '%s'", v,
		    type_name(f->type));
}

static void
inequivalent(struct amqp_channel *ch, const struct amqp_method *m,
    const char *name, const char *key, const char *received,
    const char *current)
{
	amqp_chan_error(ch, AMQP_PRECONDITION_FAILED, m->id,
	    "inequivalent arg '%s' " FOR_QUEUE ": received %s but current is "
	    "%s", key, name, received, current);
}

/* A flag of queue.declare that must match: 0, or -1 after the 406. */
static int
flag_equal(struct amqp_channel *ch, const struct amqp_method *m,
    const char *name, const char *key, int received, int current)
{
	char r[16], c[16];

	if (!received == !current)
		return 0;
	(void)snprintf(r, sizeof(r), "'%s'", received ? "true" : "false");
	(void)snprintf(c, sizeof(c), "'%s'", current ? "true" : "false");
	inequivalent(ch, m, name, key, r, c);
	return -1;
}

int
amqp_qargs_equivalent(struct amqp_channel *ch, const struct amqp_method *m,
    const struct mq_queue *cur, int flags, const uint8_t *args, size_t len)
{
	struct amqp_field rf, cf;
	char r[300], c[300];
	size_t i;
	int rin, cin;

	if (flag_equal(ch, m, cur->name, "durable", flags & MQ_QDURABLE,
	    cur->flags & MQ_QDURABLE) == -1 ||
	    flag_equal(ch, m, cur->name, "auto_delete", flags & MQ_QAUTODELETE,
	    cur->flags & MQ_QAUTODELETE) == -1)
		return -1;
	for (i = 0; i < NKNOWN; i++) {
		rin = amqp_table_find(args, len, known[i].key, &rf) == 1;
		cin = amqp_table_find(cur->args, cur->argslen, known[i].key,
		    &cf) == 1;
		if ((!rin && !cin) || (rin && cin && same(&rf, &cf)) ||
		    (known[i].kind == K_QTYPE && !(rin && cin) &&
		    amqp_field_is(rin ? &rf : &cf, "classic")))
			continue;	/* none is classic */
		side_text(&rf, rin, rin && cin, r, sizeof(r));
		side_text(&cf, cin, rin && cin, c, sizeof(c));
		inequivalent(ch, m, cur->name, known[i].key, r, c);
		return -1;
	}
	return 0;
}

/* The integer argument 'key' of 'args', or 0 if it is not there. */
static int64_t
int_arg(const uint8_t *args, size_t len, const char *key)
{
	struct amqp_field f;
	int64_t v;

	if (amqp_table_find(args, len, key, &f) != 1 ||
	    amqp_field_int(&f, &v) == -1)
		return 0;
	return v;
}

/* A long string 'f' as a NUL-terminated name in 'buf': 0, or -1. */
static int
dl_name(const struct amqp_field *f, char *buf, size_t size)
{
	if (f->type != 'S' || f->v.len >= size ||
	    memchr(f->v.p, '\0', f->v.len) != NULL)
		return -1;
	memcpy(buf, f->v.p, f->v.len);
	buf[f->v.len] = '\0';
	return 0;
}

int
amqp_qargs_policy(const uint8_t *args, size_t len, struct mq_policy *p)
{
	struct amqp_field f;

	p->ttl_ms = amqp_qargs_ttl(args, len);
	p->max_len = (uint64_t)int_arg(args, len, "x-max-length");
	/* A stream queue's is its retention (amqp_stream_policy). */
	p->max_len_bytes = amqp_stream_args(args, len) ? 0 :
	    (uint64_t)int_arg(args, len, "x-max-length-bytes");
	p->delivery_limit = (uint64_t)int_arg(args, len, "x-delivery-limit");
	p->overflow = MQ_OVERFLOW_DROP;
	p->dl_route = 0;
	if (amqp_table_find(args, len, "x-dead-letter-exchange", &f) == 1 &&
	    dl_name(&f, p->dl_exchange, sizeof(p->dl_exchange)) == 0) {
		p->dl_route = MQ_DL_EXCHANGE;
		/* drop-head dead-letters what it drops, to the exchange. */
		p->overflow = MQ_OVERFLOW_DEADLETTER;
		if (amqp_table_find(args, len, "x-dead-letter-routing-key",
		    &f) == 1 && dl_name(&f, p->dl_key, sizeof(p->dl_key)) == 0)
			p->dl_route |= MQ_DL_KEY;
	}
	if (amqp_table_find(args, len, "x-overflow", &f) == 1 &&
	    !amqp_field_is(&f, "drop-head"))
		p->overflow = MQ_OVERFLOW_REJECT;
	return amqp_stream_policy(args, len, p) || p->ttl_ms != 0 ||
	    p->max_len != 0 || p->max_len_bytes != 0 ||
	    p->delivery_limit != 0 || p->dl_route != 0;
}

int64_t
amqp_qargs_expires(const uint8_t *args, size_t len)
{
	return int_arg(args, len, "x-expires");
}

int
amqp_qargs_priority(const uint8_t *args, size_t len)
{
	return (int)int_arg(args, len, "x-max-priority");
}

int
amqp_qargs_single_active(const uint8_t *args, size_t len)
{
	struct amqp_field f;

	return amqp_table_find(args, len, "x-single-active-consumer",
	    &f) == 1 && f.type == 't' && f.v.n != 0;
}

const char *
amqp_qargs_type_name(char type)
{
	return type_name(type);
}

int64_t
amqp_qargs_ttl(const uint8_t *args, size_t len)
{
	return int_arg(args, len, "x-message-ttl");
}
