/*
 * headers.c - the match of a headers exchange: a binding's arguments
 * against a message's headers table, as RabbitMQ's headers exchange
 * decides it.
 *
 * Model: x-match in the binding says how its other entries combine:
 * "all" (the default) needs every one, "any" one of them.  An entry
 * whose key starts "x-" takes no part, unless x-match is "all-with-x"
 * or "any-with-x" (x-match itself never does).  An entry matches when
 * the message has a header of its key (the first of that name) with an
 * equal value; one of type void (V) only asks that the header be there.
 * Values are equal as Erlang's == says for the terms RabbitMQ decodes
 * them to: numbers by value whatever their letters (1 as I, as l and as
 * 1.0 in d are one number), a long string and a byte array by their
 * bytes, booleans alike, decimals, tables and arrays by their encoding.
 * So a binding of "all" with no entry that takes part matches every
 * message, and one of "any" none.  Nothing is decoded ahead: both
 * tables are walked as they came (table.c), which costs a walk of the
 * headers per binding entry, fine for the few entries a binding has.
 */
#include <stdio.h>
#include <string.h>

#include "headers.h"
#include "parse.h"

enum xmatch { X_ALL, X_ANY, X_ALL_X, X_ANY_X, X_BAD };

static const char *const xmatch_names[] = {
	"all", "any", "all-with-x", "any-with-x"
};

/* The x-match of 'args' (missing: all), or X_BAD for any other value. */
static enum xmatch
xmatch_of(const uint8_t *args, size_t len, struct amqp_field *f)
{
	size_t i;

	if (amqp_table_find(args, len, "x-match", f) != 1)
		return X_ALL;
	if (f->type != 'S')
		return X_BAD;
	for (i = 0; i < X_BAD; i++)
		if (f->v.len == strlen(xmatch_names[i]) &&
		    memcmp(f->v.p, xmatch_names[i], f->v.len) == 0)
			return (enum xmatch)i;
	return X_BAD;
}

/* RabbitMQ's name of a field type, as its errors print it. */
static const char *
type_name(char letter)
{
	static const struct {
		char		 letter;
		const char	*name;
	} names[] = {
		{ 't', "bool" }, { 'b', "byte" }, { 'B', "unsignedbyte" },
		{ 's', "short" }, { 'u', "unsignedshort" },
		{ 'I', "signedint" }, { 'i', "unsignedint" }, { 'l', "long" },
		{ 'L', "long" }, { 'f', "float" }, { 'd', "double" },
		{ 'D', "decimal" }, { 'T', "timestamp" }, { 'V', "void" },
		{ 'x', "binary" }, { 'F', "table" }, { 'A', "array" },
	};
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (names[i].letter == letter)
			return names[i].name;
	return "unknown";
}

int
amqp_headers_check(const uint8_t *args, size_t len, char *why, size_t size)
{
	struct amqp_field f;
	int64_t n;

	if (xmatch_of(args, len, &f) != X_BAD)
		return 0;
	if (f.type == 'S')
		(void)snprintf(why, size, "Invalid x-match field value "
		    "<<\"%.*s\">>; expected all, any, all-with-x, or "
		    "any-with-x", (int)(f.v.len > 100 ? 100 : f.v.len),
		    (const char *)f.v.p);
	else if (amqp_field_int(&f, &n) == 0)
		(void)snprintf(why, size, "Invalid x-match field type %s "
		    "(value %lld); expected longstr", type_name(f.type),
		    (long long)n);
	else
		(void)snprintf(why, size, "Invalid x-match field type %s; "
		    "expected longstr", type_name(f.type));
	return -1;
}

/* A field that is a number: 1 with its value in '*i' or '*d' ('*isd'). */
static int
number(const struct amqp_field *f, int64_t *i, double *d, int *isd)
{
	union {
		uint32_t	 u;
		float		 f;
	} f32;
	union {
		uint64_t	 u;
		double		 d;
	} f64;

	*isd = 0;
	if (amqp_field_int(f, i) == 0)
		return 1;
	switch (f->type) {
	case 'T':
		*i = (int64_t)f->v.n;
		return 1;
	case 'f':
		f32.u = (uint32_t)f->v.n;
		*d = f32.f;
		return *isd = 1;
	case 'd':
		f64.u = f->v.n;
		*d = f64.d;
		return *isd = 1;
	default:
		return 0;
	}
}

/* Whether the values of 'a' and 'b' are equal (see the top). */
static int
equal(const struct amqp_field *a, const struct amqp_field *b)
{
	int64_t ia, ib;
	double da, db;
	int fa, fb;

	if (number(a, &ia, &da, &fa) && number(b, &ib, &db, &fb)) {
		if (!fa && !fb)
			return ia == ib;
		return (fa ? da : (double)ia) == (fb ? db : (double)ib);
	}
	if ((a->type == 'S' || a->type == 'x') &&
	    (b->type == 'S' || b->type == 'x'))
		return a->v.len == b->v.len &&
		    memcmp(a->v.p, b->v.p, a->v.len) == 0;
	if (a->type != b->type)
		return 0;
	switch (a->type) {
	case 't':
		return (a->v.n != 0) == (b->v.n != 0);
	case 'D':
	case 'V':
		return a->v.n == b->v.n;
	default:	/* F and A: their bytes */
		return a->v.len == b->v.len &&
		    memcmp(a->v.p, b->v.p, a->v.len) == 0;
	}
}

/* Whether the headers have an entry that binding entry 'e' takes. */
static int
entry_matches(const struct amqp_field *e, const struct amqp_headers *h)
{
	struct amqp_iter it;
	struct amqp_field f;

	amqp_iter_table(&it, h->p, h->len);
	while (amqp_iter_next(&it, &f) == 1)
		if (f.keylen == e->keylen &&
		    memcmp(f.key, e->key, f.keylen) == 0)
			return e->type == 'V' || equal(e, &f);
	return 0;
}

int
amqp_headers_match(const void *args, size_t len, void *hdrs)
{
	const struct amqp_headers *h = hdrs;
	struct amqp_iter it;
	struct amqp_field e;
	enum xmatch x = xmatch_of(args, len, &e);
	int any = x == X_ANY || x == X_ANY_X;
	int with_x = x == X_ALL_X || x == X_ANY_X;

	if (x == X_BAD)
		return 0;	/* refused at the bind: not from a client */
	amqp_iter_table(&it, args, len);
	while (amqp_iter_next(&it, &e) == 1) {
		if (e.keylen >= 2 && memcmp(e.key, "x-", 2) == 0 &&
		    (!with_x || (e.keylen == 7 &&
		    memcmp(e.key, "x-match", 7) == 0)))
			continue;
		if (entry_matches(&e, h) == any)
			return any;
	}
	return !any;
}
