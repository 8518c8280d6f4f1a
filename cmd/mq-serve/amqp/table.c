/*
 * table.c - AMQP field tables and arrays: walking, checking, finding,
 * and writing their entries.
 *
 * Model: a table is a 4-byte length and entries of key (a short string),
 * type letter and value; an array is a 4-byte length and entries of type
 * letter and value.  The letters are those of RabbitMQ's errata, which
 * corrects the 0-9-1 PDF:
 *
 *   t bool (1)   b int8   B uint8   s int16   u uint16   I int32
 *   i uint32     l int64  f float   d double  D decimal: scale(1) value(4)
 *   T timestamp (uint64)  V void (no bytes)
 *   S long string, x byte array, F table, A array: a 4-byte length, bytes
 *
 * and 'L', which RabbitMQ reads as an int64 like 'l'.  Tables are kept as
 * their bytes: nothing is decoded until asked, so that a publish's
 * headers go on to consumers byte for byte.  A table from a client is
 * checked once, through every nested table and array (amqp_table_check);
 * the iterator checks each entry it reads against its parent's length
 * all the same, so walking a table that was never checked is safe too.
 */
#include <string.h>

#include "wire.h"

/* The letters of fixed size: their size, and how to widen them. */
static const struct fixed {
	char	 letter;
	uint8_t	 size;
	uint8_t	 sign;		/* 1: sign-extend to 64 bits */
	uint8_t	 integer;	/* 1: amqp_field_int() takes it */
} fixed[] = {
	{ 't', 1, 0, 0 }, { 'b', 1, 1, 1 }, { 'B', 1, 0, 1 },
	{ 's', 2, 1, 1 }, { 'u', 2, 0, 1 }, { 'I', 4, 1, 1 },
	{ 'i', 4, 0, 1 }, { 'l', 8, 1, 1 }, { 'L', 8, 1, 1 },
	{ 'f', 4, 0, 0 }, { 'd', 8, 0, 0 }, { 'T', 8, 0, 0 },
};

static const struct fixed *
fixed_type(char letter)
{
	size_t i;

	for (i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		if (fixed[i].letter == letter)
			return &fixed[i];
	return NULL;
}

/* Reads a type letter and its value into 'f': 0, or -1. */
static int
read_field(struct amqp_rd *r, struct amqp_field *f)
{
	const struct fixed *fx;
	uint64_t t;

	memset(&f->v, 0, sizeof(f->v));
	if (rd_uint(r, 1, &t) == -1)
		return -1;
	f->type = (char)t;
	if ((fx = fixed_type(f->type)) != NULL) {
		if (rd_uint(r, fx->size, &f->v.n) == -1)
			return -1;
		if (fx->sign && fx->size < 8 &&
		    (f->v.n >> (fx->size * 8 - 1) & 1))
			f->v.n |= UINT64_MAX << (fx->size * 8);
		return 0;
	}
	switch (f->type) {
	case 'S':
	case 'x':
	case 'F':
	case 'A':
		return rd_sized(r, 4, &f->v.p, &f->v.len);
	case 'D':
		if (rd_left(r) < 5)
			return -1;
		f->v.n = (uint64_t)r->p[r->pos] << 32 |
		    amqp_be32(r->p + r->pos + 1);
		r->pos += 5;
		return 0;
	case 'V':
		return 0;
	default:
		return -1;
	}
}

/* ---- Reading. */

static void
iter_init(struct amqp_iter *it, const uint8_t *p, size_t len, int array)
{
	it->p = p;
	it->len = len;
	it->pos = 0;
	it->array = array;
}

void
amqp_iter_table(struct amqp_iter *it, const uint8_t *p, size_t len)
{
	iter_init(it, p, len, 0);
}

void
amqp_iter_array(struct amqp_iter *it, const uint8_t *p, size_t len)
{
	iter_init(it, p, len, 1);
}

int
amqp_iter_next(struct amqp_iter *it, struct amqp_field *f)
{
	struct amqp_rd r = { it->p, it->len, it->pos };

	if (rd_left(&r) == 0)
		return 0;
	f->key = NULL;
	f->keylen = 0;
	if (!it->array && rd_sized(&r, 1, &f->key, &f->keylen) == -1)
		return -1;
	if (read_field(&r, f) == -1)
		return -1;
	it->pos = r.pos;
	return 1;
}

static int
check(const uint8_t *p, size_t len, int array, int depth)
{
	struct amqp_iter it;
	struct amqp_field f;
	int rc;

	if (depth > AMQP_TABLE_DEPTH)
		return -1;
	iter_init(&it, p, len, array);
	while ((rc = amqp_iter_next(&it, &f)) == 1)
		if ((f.type == 'F' || f.type == 'A') &&
		    check(f.v.p, f.v.len, f.type == 'A', depth + 1) == -1)
			return -1;
	return rc;
}

int
amqp_table_check(const uint8_t *p, size_t len)
{
	return check(p, len, 0, 1);
}

int
amqp_array_check(const uint8_t *p, size_t len)
{
	return check(p, len, 1, 1);
}

int
amqp_table_find(const uint8_t *p, size_t len, const char *key,
    struct amqp_field *f)
{
	struct amqp_iter it;
	size_t klen = strlen(key);
	int rc;

	amqp_iter_table(&it, p, len);
	while ((rc = amqp_iter_next(&it, f)) == 1)
		if (f->keylen == klen && memcmp(f->key, key, klen) == 0)
			return 1;
	return rc;
}

int
amqp_field_int(const struct amqp_field *f, int64_t *v)
{
	const struct fixed *fx = fixed_type(f->type);

	if (fx == NULL || !fx->integer)
		return -1;
	*v = (int64_t)f->v.n;
	return 0;
}

int
amqp_field_str(const struct amqp_field *f, const uint8_t **s, size_t *len)
{
	if (f->type != 'S')
		return -1;
	*s = f->v.p;
	*len = f->v.len;
	return 0;
}

int
amqp_field_is(const struct amqp_field *f, const char *s)
{
	return f->type == 'S' && f->v.len == strlen(s) &&
	    memcmp(f->v.p, s, f->v.len) == 0;
}

/* ---- Writing. */

void
amqp_fput_key(struct amqp_buf *b, const char *key)
{
	amqp_put_shortstr(b, key, strlen(key));
}

/* A letter and 'n' bytes of 'v'. */
static void
fput_fixed(struct amqp_buf *b, char letter, uint64_t v, size_t n)
{
	amqp_put_u8(b, (uint8_t)letter);
	amqp_put_be(b, v, n);
}

void
amqp_fput_bool(struct amqp_buf *b, int v)
{
	fput_fixed(b, 't', v != 0, 1);
}

void
amqp_fput_i8(struct amqp_buf *b, int8_t v)
{
	fput_fixed(b, 'b', (uint64_t)v, 1);
}

void
amqp_fput_u8(struct amqp_buf *b, uint8_t v)
{
	fput_fixed(b, 'B', v, 1);
}

void
amqp_fput_i16(struct amqp_buf *b, int16_t v)
{
	fput_fixed(b, 's', (uint64_t)v, 2);
}

void
amqp_fput_u16(struct amqp_buf *b, uint16_t v)
{
	fput_fixed(b, 'u', v, 2);
}

void
amqp_fput_i32(struct amqp_buf *b, int32_t v)
{
	fput_fixed(b, 'I', (uint64_t)v, 4);
}

void
amqp_fput_u32(struct amqp_buf *b, uint32_t v)
{
	fput_fixed(b, 'i', v, 4);
}

void
amqp_fput_i64(struct amqp_buf *b, int64_t v)
{
	fput_fixed(b, 'l', (uint64_t)v, 8);
}

void
amqp_fput_float(struct amqp_buf *b, float v)
{
	uint32_t bits;

	memcpy(&bits, &v, sizeof(bits));
	fput_fixed(b, 'f', bits, 4);
}

void
amqp_fput_double(struct amqp_buf *b, double v)
{
	uint64_t bits;

	memcpy(&bits, &v, sizeof(bits));
	fput_fixed(b, 'd', bits, 8);
}

void
amqp_fput_decimal(struct amqp_buf *b, uint8_t scale, uint32_t v)
{
	fput_fixed(b, 'D', scale, 1);
	amqp_put_u32(b, v);
}

void
amqp_fput_timestamp(struct amqp_buf *b, uint64_t v)
{
	fput_fixed(b, 'T', v, 8);
}

void
amqp_fput_void(struct amqp_buf *b)
{
	amqp_put_u8(b, 'V');
}

/* A letter, a 4-byte length and the bytes. */
static void
fput_sized(struct amqp_buf *b, char letter, const void *p, size_t len)
{
	amqp_put_u8(b, (uint8_t)letter);
	amqp_put_longstr(b, p, len);
}

void
amqp_fput_str(struct amqp_buf *b, const void *p, size_t len)
{
	fput_sized(b, 'S', p, len);
}

void
amqp_fput_bytes(struct amqp_buf *b, const void *p, size_t len)
{
	fput_sized(b, 'x', p, len);
}

void
amqp_fput_table(struct amqp_buf *b, const void *p, size_t len)
{
	fput_sized(b, 'F', p, len);
}

/* A letter and a 4-byte length to be written by amqp_put_close(). */
static size_t
fput_open(struct amqp_buf *b, char letter)
{
	amqp_put_u8(b, (uint8_t)letter);
	return amqp_put_open(b);
}

size_t
amqp_fput_table_open(struct amqp_buf *b)
{
	return fput_open(b, 'F');
}

size_t
amqp_fput_array_open(struct amqp_buf *b)
{
	return fput_open(b, 'A');
}
