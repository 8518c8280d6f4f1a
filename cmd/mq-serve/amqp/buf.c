/*
 * buf.c - the AMQP codec's output buffer and the wire's primitive types.
 *
 * Model: one growing array of bytes and a sticky error (encode.h).  Each
 * put makes room first; if the room cannot be had, or the value cannot
 * be said on the wire, the error is kept and every later put does
 * nothing, so that encoders need no error path of their own and a frame
 * is never sent half written.  Lengths that are known only at the end (a
 * frame's size, a table's) are reserved and written back (put_open,
 * put_close).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "wire.h"

#define BUF_MIN		256

void
amqp_buf_init(struct amqp_buf *b)
{
	memset(b, 0, sizeof(*b));
}

void
amqp_buf_reset(struct amqp_buf *b)
{
	b->len = 0;
	b->err = 0;
}

void
amqp_buf_free(struct amqp_buf *b)
{
	free(b->p);
	amqp_buf_init(b);
}

void
amqp_buf_fail(struct amqp_buf *b, int err)
{
	if (b->err == 0)
		b->err = err;
}

/* Makes room for 'n' more bytes: 1, or 0 with the error kept. */
static int
room(struct amqp_buf *b, size_t n)
{
	size_t cap;
	uint8_t *p;

	if (b->err != 0)
		return 0;
	if (n <= b->cap - b->len)
		return 1;
	if (n > SIZE_MAX / 2 - b->len) {
		amqp_buf_fail(b, ENOMEM);
		return 0;
	}
	cap = b->cap < BUF_MIN ? BUF_MIN : b->cap;
	while (cap - b->len < n)
		cap *= 2;
	if ((p = realloc(b->p, cap)) == NULL) {
		amqp_buf_fail(b, ENOMEM);
		return 0;
	}
	b->p = p;
	b->cap = cap;
	return 1;
}

void
amqp_put_bytes_slow(struct amqp_buf *b, const void *p, size_t len)
{
	if (len == 0 || !room(b, len))
		return;
	memcpy(b->p + b->len, p, len);
	b->len += len;
}

void
amqp_put_be_slow(struct amqp_buf *b, uint64_t v, size_t n)
{
	if (!room(b, n))
		return;
	amqp_store_be(b->p + b->len, v, n);
	b->len += n;
}

/* A length of 'n' bytes (1 or 4), then the bytes. */
static void
put_sized(struct amqp_buf *b, const void *p, size_t len, size_t n)
{
	if (len > (n == 1 ? UINT8_MAX : UINT32_MAX)) {
		amqp_buf_fail(b, EINVAL);
		return;
	}
	amqp_put_be(b, len, n);
	amqp_put_bytes(b, p, len);
}

void
amqp_put_shortstr(struct amqp_buf *b, const void *p, size_t len)
{
	put_sized(b, p, len, 1);
}

void
amqp_put_longstr(struct amqp_buf *b, const void *p, size_t len)
{
	put_sized(b, p, len, 4);
}

size_t
amqp_put_open(struct amqp_buf *b)
{
	size_t mark = b->len;

	amqp_put_u32(b, 0);
	return mark;
}

void
amqp_put_close(struct amqp_buf *b, size_t mark)
{
	size_t n;

	if (b->err != 0)
		return;
	n = b->len - mark - 4;
	if (n > UINT32_MAX) {
		amqp_buf_fail(b, EINVAL);
		return;
	}
	amqp_store_be(b->p + mark, n, 4);
}
