/*
 * test_msg.c - deep copies of messages: many in one buffer that moves as
 * it grows, each the message it was made from once mq_msg_at() places it.
 */
#include "helpers.h"

#include "internal.h"

/* 'a' and 'b' hold the same bytes, and the same NULLs. */
static void
assert_msg_equal(const struct mq_msg *a, const struct mq_msg *b)
{
	size_t i;

	assert_true(mq_id_cmp(a->id, b->id) == 0);
	assert_int_equal(a->offset, b->offset);
	assert_int_equal(a->time_ms, b->time_ms);
	assert_int_equal(a->key == NULL, b->key == NULL);
	assert_int_equal(a->keylen, b->keylen);
	if (a->key != NULL && a->keylen > 0)
		assert_memory_equal(a->key, b->key, a->keylen);
	assert_int_equal(a->body == NULL, b->body == NULL);
	assert_int_equal(a->bodylen, b->bodylen);
	if (a->body != NULL && a->bodylen > 0)
		assert_memory_equal(a->body, b->body, a->bodylen);
	assert_int_equal(a->nheaders, b->nheaders);
	for (i = 0; i < a->nheaders; i++) {
		assert_int_equal(a->headers[i].namelen, b->headers[i].namelen);
		assert_int_equal(a->headers[i].valuelen,
		    b->headers[i].valuelen);
		assert_memory_equal(a->headers[i].name, b->headers[i].name,
		    a->headers[i].namelen);
		assert_memory_equal(a->headers[i].value, b->headers[i].value,
		    a->headers[i].valuelen);
	}
}

/* Whether 'p' points into the 'len' bytes at 'buf'. */
static int
inside(const void *p, const unsigned char *buf, size_t len)
{
	return (const unsigned char *)p >= buf &&
	    (const unsigned char *)p <= buf + len;
}

static void
test_copies_in_one_buffer(void **state)
{
	enum { N = 500 };
	struct mq_header h[3] = {
		{ "a", 1, "1", 1 }, { "", 0, "", 0 }, { "name", 4, "v\0v", 3 },
	};
	static struct mq_msg src[N], got[N];
	static size_t offs[N];
	char body[64], *bodies[N];
	size_t blen[N];
	unsigned char *buf = NULL;
	size_t len = 0, cap = 0, i, k;

	(void)state;
	for (i = 0; i < N; i++) {
		/* Exactly its bytes, no NUL: ASan sees a read past them. */
		blen[i] = (size_t)snprintf(body, sizeof(body), "body %zu", i);
		bodies[i] = test_dup_bytes(body, blen[i]);
		memset(&src[i], 0, sizeof(src[i]));
		src[i].id.ms = i + 1;
		src[i].id.seq = i % 7;
		src[i].offset = i;
		src[i].time_ms = 1000 + (int64_t)i;
		src[i].headers = h;
		src[i].nheaders = i % 4;	/* 0 to all 3 of 'h' */
		src[i].body = i % 5 == 4 ? NULL : bodies[i];
		src[i].bodylen = i % 5 == 4 ? 0 : blen[i];
		src[i].key = i % 3 == 0 ? NULL : i % 3 == 1 ? "" : "key";
		src[i].keylen = i % 3 == 2 ? 3 : 0;
		assert_int_equal(mq_msg_copy(&src[i], &buf, &len, &cap,
		    &offs[i]), MQ_OK);
		assert_true(len <= cap);
	}
	/* Each copy is its message, and points into the buffer only. */
	for (i = 0; i < N; i++) {
		mq_msg_at(buf, offs[i], &got[i]);
		assert_msg_equal(&src[i], &got[i]);
		assert_true(inside(got[i].headers, buf, len));
		for (k = 0; k < got[i].nheaders; k++)
			assert_true(inside(got[i].headers[k].value, buf, len));
		if (got[i].body != NULL)
			assert_true(inside(got[i].body, buf, len));
		if (got[i].key != NULL)
			assert_true(inside(got[i].key, buf, len));
	}
	for (i = 0; i < N; i++)
		free(bodies[i]);
	free(buf);
}

/* A deleted entry, as a group hands it out: the id, NULL body, no key. */
static void
test_copy_of_nothing(void **state)
{
	struct mq_msg m, got;
	unsigned char *buf = NULL;
	size_t len = 0, cap = 0, off;

	(void)state;
	memset(&m, 0, sizeof(m));
	m.id.ms = 42;
	m.offset = UINT64_MAX;
	assert_int_equal(mq_msg_copy(&m, &buf, &len, &cap, &off), MQ_OK);
	assert_int_equal(off, 0);
	mq_msg_at(buf, off, &got);
	assert_msg_equal(&m, &got);
	assert_null(got.body);
	assert_null(got.key);
	free(buf);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_copies_in_one_buffer),
		cmocka_unit_test(test_copy_of_nothing),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
