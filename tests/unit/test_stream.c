/*
 * test_stream.c - streams: appends and ids, reads and seeks, ranges,
 * deletes, trims, XSETID, segments and retention, policy, renames, many
 * writers, and waking a reader.
 */
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>

#include "helpers.h"
#include "mq.h"

struct fixture {
	char		*dir;
	mq_spool	*sp;
	mq_stream	*s;
};

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	f->dir = test_tmpdir();
	assert_int_equal(mq_spool_open(f->dir, MQ_CREATE, &f->sp), MQ_OK);
	assert_int_equal(mq_stream_open(f->sp, "orders", MQ_CREATE, &f->s), MQ_OK);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	mq_stream_close(f->s);
	mq_spool_close(f->sp);
	test_rmdir(f->dir);
	free(f);
	return 0;
}

static struct mq_msg
body(const char *text)
{
	struct mq_msg m;

	memset(&m, 0, sizeof(m));
	m.body = text;
	m.bodylen = strlen(text);
	return m;
}

static mq_id
id(uint64_t ms, uint64_t seq)
{
	mq_id i = { ms, seq };

	return i;
}

/* Appends "prefix-N" for N in [from, to) in batches of 'batch'. */
static void
append_n(mq_stream *s, const char *prefix, int from, int to, int batch)
{
	struct mq_msg m[64];
	char text[64][32];
	int i, k;

	assert_true(batch <= 64);
	for (i = from; i < to; ) {
		for (k = 0; k < batch && i < to; k++, i++) {
			snprintf(text[k], sizeof(text[k]), "%s-%d", prefix, i);
			m[k] = body(text[k]);
		}
		assert_int_equal(mq_append(s, m, (size_t)k, NULL, NULL), MQ_OK);
	}
}

static uint64_t
length(mq_stream *s)
{
	struct mq_stream_info info;

	assert_int_equal(mq_stream_info(s, &info), MQ_OK);
	return info.length;
}

static void
test_append_and_read_back(void **state)
{
	struct fixture *f = *state;
	struct mq_header h[2] = {
		{ "a", 1, "1", 1 },
		{ "bin", 3, "x\0y", 3 },
	};
	struct mq_msg in[3], out;
	mq_reader *r;
	mq_id ids[3];
	int i;

	memset(in, 0, sizeof(in));
	in[0] = body("hello");
	in[1].headers = h;
	in[1].nheaders = 2;
	in[2].body = "nul\0and\nnewline";
	in[2].bodylen = 15;
	in[2].key = "k";
	in[2].keylen = 1;
	assert_int_equal(mq_append(f->s, in, 3, NULL, ids), MQ_OK);
	assert_true(mq_id_cmp(ids[0], ids[1]) < 0);
	assert_true(mq_id_cmp(ids[1], ids[2]) < 0);

	assert_int_equal(mq_reader_open(f->s, &r), MQ_OK);
	for (i = 0; i < 3; i++) {
		assert_int_equal(mq_reader_next(r, &out), 1);
		assert_int_equal(out.offset, (uint64_t)i);
		assert_int_equal(mq_id_cmp(out.id, ids[i]), 0);
		assert_int_equal(out.bodylen, in[i].bodylen);
		if (in[i].bodylen > 0)
			assert_memory_equal(out.body, in[i].body, in[i].bodylen);
		assert_int_equal(out.nheaders, in[i].nheaders);
	}
	assert_null(in[0].key);
	assert_int_equal(out.keylen, 1);
	assert_memory_equal(out.key, "k", 1);
	assert_int_equal(mq_reader_next(r, &out), 0);
	assert_int_equal(mq_reader_get(r, ids[1], &out), 1);
	assert_int_equal(out.nheaders, 2);
	assert_memory_equal(out.headers[1].value, "x\0y", 3);
	mq_reader_close(r);
	assert_int_equal(length(f->s), 3);
}

static void
test_ids_follow_redis(void **state)
{
	struct fixture *f = *state;
	struct mq_idspec spec;
	struct mq_msg m = body("x"), two[2];
	mq_id got;

	spec.kind = MQ_ID_EXPLICIT;
	spec.id = id(0, 0);
	assert_int_equal(mq_append(f->s, &m, 1, &spec, &got), MQ_EIDZERO);
	spec.kind = MQ_ID_PARTIAL;
	spec.id = id(0, 0);
	assert_int_equal(mq_append(f->s, &m, 1, &spec, &got), MQ_OK);
	assert_int_equal(mq_id_cmp(got, id(0, 1)), 0);
	spec.kind = MQ_ID_EXPLICIT;
	spec.id = id(5, 3);
	assert_int_equal(mq_append(f->s, &m, 1, &spec, &got), MQ_OK);
	assert_int_equal(mq_append(f->s, &m, 1, &spec, &got), MQ_EIDSMALL);
	spec.id = id(5, 2);
	assert_int_equal(mq_append(f->s, &m, 1, &spec, &got), MQ_EIDSMALL);
	spec.kind = MQ_ID_PARTIAL;
	spec.id = id(5, 0);
	assert_int_equal(mq_append(f->s, &m, 1, &spec, &got), MQ_OK);
	assert_int_equal(mq_id_cmp(got, id(5, 4)), 0);
	spec.id = id(4, 0);
	assert_int_equal(mq_append(f->s, &m, 1, &spec, &got), MQ_EIDSMALL);

	/* A batch with one bad id appends nothing. */
	struct mq_idspec specs[2] = {
		{ MQ_ID_EXPLICIT, { 9, 0 } }, { MQ_ID_EXPLICIT, { 8, 0 } }
	};
	two[0] = two[1] = m;
	assert_int_equal(mq_append(f->s, two, 2, specs, NULL), MQ_EIDSMALL);
	assert_int_equal(length(f->s), 3);

	/* Automatic ids after an id from the future go on from it. */
	spec.kind = MQ_ID_EXPLICIT;
	spec.id = id(UINT64_MAX - 1, UINT64_MAX);
	assert_int_equal(mq_append(f->s, &m, 1, &spec, &got), MQ_OK);
	assert_int_equal(mq_append(f->s, &m, 1, NULL, &got), MQ_OK);
	assert_int_equal(mq_id_cmp(got, id(UINT64_MAX, 0)), 0);
}

static void
test_size_limit(void **state)
{
	struct fixture *f = *state;
	struct mq_policy p;
	struct mq_msg m;
	char *big = calloc(1, (2u << 20) + 1);

	memset(&m, 0, sizeof(m));
	m.body = big;
	m.bodylen = MQ_MSG_DEFAULT;
	assert_int_equal(mq_append(f->s, &m, 1, NULL, NULL), MQ_OK);
	m.bodylen = MQ_MSG_DEFAULT + 1;
	assert_int_equal(mq_append(f->s, &m, 1, NULL, NULL), MQ_ETOOBIG);
	assert_int_equal(mq_policy_get(f->s, &p), MQ_OK);
	p.max_msg = 2u << 20;
	assert_int_equal(mq_policy_set(f->s, &p), MQ_OK);
	m.bodylen = 2u << 20;
	assert_int_equal(mq_append(f->s, &m, 1, NULL, NULL), MQ_OK);
	p.max_msg = MQ_MSG_LIMIT + 1;
	assert_int_equal(mq_policy_set(f->s, &p), MQ_EINVAL);
	assert_int_equal(length(f->s), 2);
	free(big);
}

/* Many small segments: seeks by offset and id land right everywhere. */
static void
test_seek_across_segments(void **state)
{
	struct fixture *f = *state;
	struct mq_stream_info info;
	struct mq_policy p;
	struct mq_msg m;
	mq_stream *again;
	mq_reader *r;
	mq_id ids[3000];
	char want[32];
	int i;

	assert_int_equal(mq_policy_get(f->s, &p), MQ_OK);
	p.segment_bytes = 8192;
	assert_int_equal(mq_policy_set(f->s, &p), MQ_OK);
	for (i = 0; i < 3000; i += 3) {
		struct mq_msg b[3];
		char t[3][16];
		int k;

		for (k = 0; k < 3; k++) {
			snprintf(t[k], sizeof(t[k]), "m-%d", i + k);
			b[k] = body(t[k]);
		}
		assert_int_equal(mq_append(f->s, b, 3, NULL, ids + i), MQ_OK);
	}
	assert_int_equal(mq_stream_info(f->s, &info), MQ_OK);
	assert_true(info.segments > 10);
	assert_int_equal(info.length, 3000);

	/* A fresh open finds the tail without reading the whole stream. */
	assert_int_equal(mq_stream_open(f->sp, "orders", 0, &again), MQ_OK);
	assert_int_equal(mq_stream_info(again, &info), MQ_OK);
	assert_int_equal(info.next_offset, 3000);
	assert_int_equal(mq_id_cmp(info.last_id, ids[2999]), 0);
	assert_int_equal(mq_id_cmp(info.first_id, ids[0]), 0);

	assert_int_equal(mq_reader_open(again, &r), MQ_OK);
	for (i = 0; i < 3000; i += 37) {
		snprintf(want, sizeof(want), "m-%d", i);
		assert_int_equal(mq_reader_seek_offset(r, (uint64_t)i), MQ_OK);
		assert_int_equal(mq_reader_next(r, &m), 1);
		assert_int_equal(m.offset, (uint64_t)i);
		assert_memory_equal(m.body, want, strlen(want));
		assert_int_equal(mq_reader_seek_id(r, ids[i]), MQ_OK);
		assert_int_equal(mq_reader_next(r, &m), 1);
		assert_int_equal(m.offset, (uint64_t)i);
	}
	/* Reading on crosses every seal. */
	assert_int_equal(mq_reader_seek_offset(r, 0), MQ_OK);
	for (i = 0; i < 3000; i++) {
		assert_int_equal(mq_reader_next(r, &m), 1);
		assert_int_equal(m.offset, (uint64_t)i);
	}
	assert_int_equal(mq_reader_next(r, &m), 0);
	assert_int_equal(mq_reader_seek_end(r), MQ_OK);
	assert_int_equal(mq_reader_next(r, &m), 0);
	append_n(f->s, "late", 0, 1, 1);
	assert_int_equal(mq_reader_next(r, &m), 1);
	assert_int_equal(m.offset, 3000);
	mq_reader_close(r);
	mq_stream_close(again);
}

struct collect {
	mq_id	 ids[64];
	int	 n;
};

static int
collect_fn(const struct mq_msg *m, void *arg)
{
	struct collect *c = arg;

	c->ids[c->n++] = m->id;
	return 0;
}

static void
test_range_forward_and_back(void **state)
{
	struct fixture *f = *state;
	struct mq_idspec spec = { MQ_ID_EXPLICIT, { 0, 0 } };
	struct mq_msg m = body("x");
	struct collect c;
	size_t deleted;
	mq_id del[2];
	int i;

	for (i = 1; i <= 20; i++) {
		spec.id = id((uint64_t)i, 0);
		assert_int_equal(mq_append(f->s, &m, 1, &spec, NULL), MQ_OK);
	}
	del[0] = id(5, 0);
	del[1] = id(6, 0);
	assert_int_equal(mq_delete(f->s, del, 2, &deleted), MQ_OK);
	assert_int_equal(deleted, 2);

	memset(&c, 0, sizeof(c));
	assert_int_equal(mq_range(f->s, id(3, 0), id(8, 0), 0, 0, collect_fn, &c), MQ_OK);
	assert_int_equal(c.n, 4);	/* 3 4 7 8 */
	assert_int_equal(c.ids[2].ms, 7);

	memset(&c, 0, sizeof(c));
	assert_int_equal(mq_range(f->s, id(0, 0), MQ_ID_LAST, 3, 1, collect_fn, &c), MQ_OK);
	assert_int_equal(c.n, 3);
	assert_int_equal(c.ids[0].ms, 20);
	assert_int_equal(c.ids[2].ms, 18);

	memset(&c, 0, sizeof(c));
	assert_int_equal(mq_range(f->s, id(2, 0), id(8, 0), 0, 1, collect_fn, &c), MQ_OK);
	assert_int_equal(c.n, 5);	/* 8 7 4 3 2 */
	assert_int_equal(c.ids[0].ms, 8);
	assert_int_equal(c.ids[4].ms, 2);

	memset(&c, 0, sizeof(c));
	assert_int_equal(mq_range(f->s, id(9, 0), id(2, 0), 0, 0, collect_fn, &c), MQ_OK);
	assert_int_equal(c.n, 0);
}

static void
test_delete(void **state)
{
	struct fixture *f = *state;
	struct mq_stream_info info;
	struct mq_msg m;
	mq_reader *r;
	mq_id ids[5], del[3];
	size_t n;
	int i;

	for (i = 0; i < 5; i++) {
		m = body("x");
		assert_int_equal(mq_append(f->s, &m, 1, NULL, &ids[i]), MQ_OK);
	}
	del[0] = ids[1];
	del[1] = ids[4];
	del[2] = id(1, 1);	/* not there */
	assert_int_equal(mq_delete(f->s, del, 3, &n), MQ_OK);
	assert_int_equal(n, 2);
	assert_int_equal(mq_delete(f->s, del, 2, &n), MQ_OK);
	assert_int_equal(n, 0);
	assert_int_equal(mq_stream_info(f->s, &info), MQ_OK);
	assert_int_equal(info.length, 3);
	assert_int_equal(mq_id_cmp(info.last_id, ids[4]), 0);
	assert_int_equal(mq_id_cmp(info.max_deleted_id, ids[4]), 0);
	{
		mq_id top;

		assert_int_equal(mq_stream_top(f->s, &top), MQ_OK);
		assert_int_equal(mq_id_cmp(top, ids[4]), 0);
	}
	assert_int_equal(mq_reader_open(f->s, &r), MQ_OK);
	assert_int_equal(mq_reader_get(r, ids[1], &m), 0);
	assert_int_equal(mq_reader_seek_offset(r, 0), MQ_OK);
	for (i = 0; mq_reader_next(r, &m) == 1; i++)
		assert_true(m.offset == 0 || m.offset == 2 || m.offset == 3);
	assert_int_equal(i, 3);
	mq_reader_close(r);
}

static int
count_segments(const char *dir)
{
	char cmd[512];
	FILE *p;
	int n = -1;

	snprintf(cmd, sizeof(cmd), "ls %s/streams/orders/*.log | wc -l", dir);
	assert_non_null(p = popen(cmd, "r"));
	assert_int_equal(fscanf(p, "%d", &n), 1);
	pclose(p);
	return n;
}

static void
test_trim_and_retention(void **state)
{
	struct fixture *f = *state;
	struct mq_stream_info info;
	struct mq_policy p;
	uint64_t removed;
	mq_id ids[400];
	int i;

	assert_int_equal(mq_policy_get(f->s, &p), MQ_OK);
	p.segment_bytes = 4096;
	assert_int_equal(mq_policy_set(f->s, &p), MQ_OK);
	for (i = 0; i < 400; i++) {
		struct mq_msg m = body("some body of a message");

		assert_int_equal(mq_append(f->s, &m, 1, NULL, &ids[i]), MQ_OK);
	}
	assert_true(count_segments(f->dir) > 5);
	assert_int_equal(mq_trim_maxlen(f->s, 100, &removed), MQ_OK);
	assert_int_equal(removed, 300);
	assert_int_equal(mq_stream_info(f->s, &info), MQ_OK);
	assert_int_equal(info.length, 100);
	assert_int_equal(mq_id_cmp(info.first_id, ids[300]), 0);
	assert_true(count_segments(f->dir) <= 4);

	assert_int_equal(mq_trim_minid(f->s, ids[350], &removed), MQ_OK);
	assert_int_equal(removed, 50);
	assert_int_equal(length(f->s), 50);
	assert_int_equal(mq_trim_minid(f->s, ids[10], &removed), MQ_OK);
	assert_int_equal(removed, 0);

	/* The max-len policy trims after each append. */
	p.max_len = 10;
	assert_int_equal(mq_policy_set(f->s, &p), MQ_OK);
	append_n(f->s, "more", 0, 5, 1);
	assert_int_equal(length(f->s), 10);

	/* max-bytes drops whole old segments. */
	p.max_len = 0;
	p.max_bytes = 3 * 4096;
	assert_int_equal(mq_policy_set(f->s, &p), MQ_OK);
	append_n(f->s, "bytes", 0, 400, 1);
	assert_true(count_segments(f->dir) <= 5);
	assert_int_equal(mq_stream_info(f->s, &info), MQ_OK);
	assert_true(info.length < 400);
	assert_true(info.first_offset > 0);
}

/* The bodies of the entries of 's', first to last, joined by spaces. */
static void
bodies_of(mq_stream *s, char *out, size_t size)
{
	struct mq_msg m;
	mq_reader *r;
	size_t at = 0;

	out[0] = '\0';
	assert_int_equal(mq_reader_open(s, &r), MQ_OK);
	while (mq_reader_next(r, &m) == 1) {
		at += (size_t)snprintf(out + at, size - at, "%s%.*s",
		    at > 0 ? " " : "", (int)m.bodylen, (const char *)m.body);
		assert_true(at < size);
	}
	mq_reader_close(r);
}

/* Appends one message of 'text' to 's': its result. */
static int
append_one(mq_stream *s, const char *text)
{
	struct mq_msg m = body(text);

	return mq_append(s, &m, 1, NULL, NULL);
}

static void
test_max_len_bytes(void **state)
{
	struct fixture *f = *state;
	struct mq_policy p, q;
	mq_stream *other;
	char out[256];
	mq_id ids[1];
	size_t deleted;

	/* Drop: the oldest go until the bodies fit, the new one too. */
	assert_int_equal(mq_policy_get(f->s, &p), MQ_OK);
	p.max_len_bytes = 10;
	assert_int_equal(mq_policy_set(f->s, &p), MQ_OK);
	assert_int_equal(mq_policy_get(f->s, &q), MQ_OK);
	assert_int_equal(q.max_len_bytes, 10);
	assert_int_equal(append_one(f->s, "aaaa"), MQ_OK);
	assert_int_equal(append_one(f->s, "bbbb"), MQ_OK);
	assert_int_equal(append_one(f->s, "cccc"), MQ_OK);
	bodies_of(f->s, out, sizeof(out));
	assert_string_equal(out, "bbbb cccc");
	assert_int_equal(append_one(f->s, "dd"), MQ_OK);
	bodies_of(f->s, out, sizeof(out));
	assert_string_equal(out, "bbbb cccc dd");
	assert_int_equal(append_one(f->s, "eeeeeeeeeeee"), MQ_OK);
	bodies_of(f->s, out, sizeof(out));
	assert_string_equal(out, "");
	assert_int_equal(append_one(f->s, "ff"), MQ_OK);

	/* What another handle appends is counted by this one. */
	assert_int_equal(mq_stream_open(f->sp, "orders", 0, &other), MQ_OK);
	assert_int_equal(append_one(other, "gggg"), MQ_OK);
	assert_int_equal(append_one(f->s, "hhhh"), MQ_OK);
	bodies_of(f->s, out, sizeof(out));
	assert_string_equal(out, "ff gggg hhhh");

	/* Reject: refused when the bodies would pass the limit with it. */
	p.overflow = MQ_OVERFLOW_REJECT;
	assert_int_equal(mq_policy_set(f->s, &p), MQ_OK);
	assert_int_equal(append_one(f->s, "iii"), MQ_EFULL);
	assert_int_equal(append_one(other, "i"), MQ_EFULL);
	assert_int_equal(append_one(f->s, ""), MQ_OK);
	/* A delete by the other handle makes room, and is seen. */
	{
		struct mq_msg m;
		mq_reader *r;

		assert_int_equal(mq_reader_open(other, &r), MQ_OK);
		assert_int_equal(mq_reader_next(r, &m), 1);
		ids[0] = m.id;
		mq_reader_close(r);
	}
	assert_int_equal(mq_delete(other, ids, 1, &deleted), MQ_OK);
	assert_int_equal(deleted, 1);
	assert_int_equal(append_one(f->s, "jjj"), MQ_EFULL);
	assert_int_equal(append_one(f->s, "jj"), MQ_OK);
	bodies_of(f->s, out, sizeof(out));
	assert_string_equal(out, "gggg hhhh  jj");
	mq_stream_close(other);
}

static void
test_setid(void **state)
{
	struct fixture *f = *state;
	struct mq_stream_info info;
	struct mq_msg m = body("x");
	mq_id got;

	append_n(f->s, "a", 0, 3, 3);
	assert_int_equal(mq_stream_setid(f->s, id(1, 0), UINT64_MAX, id(0, 0)),
	    MQ_EIDSMALL);
	assert_int_equal(mq_stream_setid(f->s, id(UINT64_MAX / 2, 7), 1, id(0, 0)),
	    MQ_EINVAL);
	assert_int_equal(mq_stream_setid(f->s, id(UINT64_MAX / 2, 7), 10, id(0, 0)),
	    MQ_OK);
	assert_int_equal(mq_stream_info(f->s, &info), MQ_OK);
	assert_int_equal(info.entries_added, 10);
	assert_int_equal(mq_id_cmp(info.last_id, id(UINT64_MAX / 2, 7)), 0);
	/* mq_stream_top: the same top, set or appended. */
	assert_int_equal(mq_stream_top(f->s, &got), MQ_OK);
	assert_int_equal(mq_id_cmp(got, id(UINT64_MAX / 2, 7)), 0);
	assert_int_equal(mq_append(f->s, &m, 1, NULL, &got), MQ_OK);
	assert_int_equal(mq_id_cmp(got, id(UINT64_MAX / 2, 8)), 0);
	assert_int_equal(mq_stream_info(f->s, &info), MQ_OK);
	assert_int_equal(info.entries_added, 11);
}

/*
 * The last batch cut at every byte: a fresh open keeps the batches before
 * it, a reader never sees the torn one, and the next append cuts it off.
 */
static void
test_torn_tail_at_every_offset(void **state)
{
	struct fixture *f = *state;
	char path[1024];
	struct stat st;
	off_t good, full, cut;
	int fd;

	append_n(f->s, "keep", 0, 10, 5);
	snprintf(path, sizeof(path), "%s/streams/orders/00000000000000000000.log",
	    f->dir);
	assert_int_equal(stat(path, &st), 0);
	good = st.st_size;
	append_n(f->s, "torn", 0, 3, 3);
	assert_int_equal(stat(path, &st), 0);
	full = st.st_size;
	mq_stream_close(f->s);
	f->s = NULL;

	for (cut = good; cut < full; cut++) {
		unsigned char *copy = malloc((size_t)full);
		mq_stream *s;
		mq_reader *r;
		struct mq_msg m;
		int n = 0;

		/* Keep the whole file, cut it, test, and put it back. */
		assert_non_null(copy);
		assert_true((fd = open(path, O_RDWR)) != -1);
		assert_int_equal(pread(fd, copy, (size_t)full, 0), full);
		assert_int_equal(ftruncate(fd, cut), 0);
		assert_int_equal(mq_stream_open(f->sp, "orders", 0, &s), MQ_OK);
		assert_int_equal(length(s), 10);
		assert_int_equal(mq_reader_open(s, &r), MQ_OK);
		while (mq_reader_next(r, &m) == 1) {
			assert_memory_equal(m.body, "keep-", 5);
			n++;
		}
		assert_int_equal(n, 10);
		append_n(s, "after", 0, 1, 1);
		assert_int_equal(length(s), 11);
		assert_int_equal(mq_reader_next(r, &m), 1);
		assert_memory_equal(m.body, "after-0", 7);
		assert_int_equal(m.offset, 10);
		assert_int_equal(fstat(fd, &st), 0);
		assert_true(st.st_size < full + 64);
		mq_reader_close(r);
		mq_stream_close(s);
		assert_int_equal(ftruncate(fd, 0), 0);
		assert_int_equal(pwrite(fd, copy, (size_t)full, 0), full);
		close(fd);
		free(copy);
	}
}

/*
 * A segment that lost its seal (and its last batch) with the page cache
 * does not stop readers: they go on with the next segment.
 */
static void
test_lost_seal(void **state)
{
	struct fixture *f = *state;
	struct mq_policy p;
	struct mq_msg m;
	char path[1024];
	struct stat st;
	mq_stream *s;
	mq_reader *r;
	int n = 0;

	assert_int_equal(mq_policy_get(f->s, &p), MQ_OK);
	p.segment_bytes = 1024;
	assert_int_equal(mq_policy_set(f->s, &p), MQ_OK);
	append_n(f->s, "x", 0, 40, 1);
	snprintf(path, sizeof(path), "%s/streams/orders/00000000000000000000.log",
	    f->dir);
	assert_int_equal(stat(path, &st), 0);
	/* Cut the seal and a little of the batch before it. */
	assert_int_equal(truncate(path, st.st_size - 64 - 10), 0);
	assert_int_equal(mq_stream_open(f->sp, "orders", 0, &s), MQ_OK);
	assert_int_equal(mq_reader_open(s, &r), MQ_OK);
	while (mq_reader_next(r, &m) == 1)
		n++;
	assert_true(n > 30 && n < 40);
	mq_reader_close(r);
	mq_stream_close(s);
}

static int
is_log(const struct dirent *d)
{
	size_t n = strlen(d->d_name);

	return n > 4 && strcmp(d->d_name + n - 4, ".log") == 0;
}

/*
 * Empties the newest segment of "orders", as a writer killed right after
 * sealing the one before leaves it; with 'cut_seal', that seal is gone
 * too, as after a power loss.  Returns the id of the last entry left.
 */
static mq_id
empty_newest_segment(struct fixture *f, int cut_seal)
{
	struct dirent **logs;
	char path[1024], dir[512];
	struct stat st;
	struct mq_msg m;
	mq_stream *s;
	mq_reader *r;
	mq_id last = { 0, 0 };
	int n, i;

	snprintf(dir, sizeof(dir), "%s/streams/orders", f->dir);
	n = scandir(dir, &logs, is_log, alphasort);
	assert_true(n >= 3);
	snprintf(path, sizeof(path), "%s/%s", dir, logs[n - 1]->d_name);
	assert_int_equal(truncate(path, 0), 0);
	/* Its index, if it grew one (a segment under 4 KiB has none). */
	strcpy(path + strlen(path) - 3, "idx");
	assert_true(truncate(path, 0) == 0 || errno == ENOENT);
	if (cut_seal) {
		snprintf(path, sizeof(path), "%s/%s", dir, logs[n - 2]->d_name);
		assert_int_equal(stat(path, &st), 0);
		assert_int_equal(truncate(path, st.st_size - 64), 0);
	}
	for (i = 0; i < n; i++)
		free(logs[i]);
	free(logs);
	assert_int_equal(mq_stream_open(f->sp, "orders", 0, &s), MQ_OK);
	assert_int_equal(mq_reader_open(s, &r), MQ_OK);
	while (mq_reader_next(r, &m) == 1)
		last = m.id;
	mq_reader_close(r);
	mq_stream_close(s);
	return last;
}

/* An empty newest segment: the last id comes from the one before. */
static void
test_empty_newest_segment(void **state)
{
	struct fixture *f = *state;
	struct mq_stream_info info;
	struct mq_policy p;
	mq_stream *s;
	mq_id last;
	int cut;

	assert_int_equal(mq_policy_get(f->s, &p), MQ_OK);
	p.segment_bytes = 1024;
	assert_int_equal(mq_policy_set(f->s, &p), MQ_OK);
	for (cut = 0; cut <= 1; cut++) {
		append_n(f->s, "x", 0, 60, 1);
		last = empty_newest_segment(f, cut);
		assert_true(last.ms != 0);
		assert_int_equal(mq_stream_open(f->sp, "orders", 0, &s), MQ_OK);
		assert_int_equal(mq_stream_info(s, &info), MQ_OK);
		assert_int_equal(mq_id_cmp(info.last_id, last), 0);
		mq_stream_close(s);
		/* The writer's own handle goes on from what it appended. */
		mq_stream_close(f->s);
		assert_int_equal(mq_stream_open(f->sp, "orders", 0, &f->s),
		    MQ_OK);
	}
}

/* A flipped byte in the last batch makes it torn, not data. */
static void
test_corrupt_tail(void **state)
{
	struct fixture *f = *state;
	char path[1024];
	struct stat st;
	mq_stream *s;
	int fd;

	append_n(f->s, "x", 0, 4, 2);
	snprintf(path, sizeof(path), "%s/streams/orders/00000000000000000000.log",
	    f->dir);
	assert_int_equal(stat(path, &st), 0);
	assert_true((fd = open(path, O_RDWR)) != -1);
	assert_int_equal(pwrite(fd, "Z", 1, st.st_size - 2), 1);
	close(fd);
	assert_int_equal(mq_stream_open(f->sp, "orders", 0, &s), MQ_OK);
	assert_int_equal(length(s), 2);
	mq_stream_close(s);
}

static void
test_policy_persists(void **state)
{
	struct fixture *f = *state;
	struct mq_policy p, q;
	mq_stream *s;

	assert_int_equal(mq_policy_get(f->s, &p), MQ_OK);
	assert_int_equal(p.max_msg, MQ_MSG_DEFAULT);
	p.delivery_limit = 3;
	p.ttl_ms = 60000;
	p.max_len = 1000;
	p.overflow = MQ_OVERFLOW_DEADLETTER;
	strlcpy(p.dead_letter, "dead letters/../x", sizeof(p.dead_letter));
	assert_int_equal(mq_policy_set(f->s, &p), MQ_OK);
	assert_int_equal(mq_stream_open(f->sp, "orders", 0, &s), MQ_OK);
	assert_int_equal(mq_policy_get(s, &q), MQ_OK);
	assert_int_equal(q.delivery_limit, 3);
	assert_int_equal(q.ttl_ms, 60000);
	assert_int_equal(q.max_len, 1000);
	assert_int_equal(q.overflow, MQ_OVERFLOW_DEADLETTER);
	assert_string_equal(q.dead_letter, "dead letters/../x");
	/* What could not be read back is not written. */
	q.ttl_ms = -1;
	assert_int_equal(mq_policy_set(s, &q), MQ_EINVAL);
	q.ttl_ms = 0;
	q.max_len = UINT64_MAX;
	assert_int_equal(mq_policy_set(s, &q), MQ_EINVAL);
	mq_stream_close(s);
	assert_int_equal(mq_stream_open(f->sp, "orders", 0, &s), MQ_OK);
	mq_stream_close(s);
}

static int
list_fn(const char *name, void *arg)
{
	int *found = arg;

	if (strcmp(name, "../x") == 0)
		(*found)++;
	return 0;
}

static void
test_names_and_removal(void **state)
{
	struct fixture *f = *state;
	mq_stream *s;
	int found = 0;

	assert_int_equal(mq_stream_open(f->sp, "nope", 0, &s), MQ_ENOSTREAM);
	assert_int_equal(mq_stream_open(f->sp, "../x", MQ_CREATE, &s), MQ_OK);
	append_n(s, "n", 0, 2, 2);
	mq_stream_close(s);
	assert_int_equal(mq_spool_streams(f->sp, list_fn, &found), MQ_OK);
	assert_int_equal(found, 1);
	assert_int_equal(mq_stream_remove(f->sp, "../x"), MQ_OK);
	assert_int_equal(mq_stream_open(f->sp, "../x", 0, &s), MQ_ENOSTREAM);
	assert_int_equal(mq_stream_remove(f->sp, "../x"), MQ_ENOSTREAM);
	assert_int_equal(mq_stream_open(f->sp, "", MQ_CREATE, &s), MQ_EBADNAME);
}

static int
count_fn(const char *name, void *arg)
{
	(*(int *)arg)++;
	return 0;
}

static uint64_t
length_of(mq_spool *sp, const char *name)
{
	struct mq_stream_info info;
	mq_stream *s;

	assert_int_equal(mq_stream_open(sp, name, 0, &s), MQ_OK);
	assert_int_equal(mq_stream_info(s, &info), MQ_OK);
	mq_stream_close(s);
	return info.length;
}

/*
 * A rename moves entries, groups with their pending entries and the
 * policy; handles opened on the old name, and on a replaced target,
 * see themselves removed.
 */
static void
test_rename(void **state)
{
	struct fixture *f = *state;
	struct mq_pending pend[8];
	struct mq_group_info gi;
	struct mq_policy pol;
	struct mq_msg msgs[8];
	mq_stream *old2, *s, *other;
	mq_group *g;
	mq_id ids[5];
	char dl[MQ_NAME_MAX + 1];
	size_t n;
	int i, count = 0;

	for (i = 0; i < 5; i++) {
		msgs[0] = body("entry");
		assert_int_equal(mq_append(f->s, msgs, 1, NULL, &ids[i]), MQ_OK);
	}
	assert_int_equal(mq_policy_get(f->s, &pol), MQ_OK);
	pol.delivery_limit = 7;
	assert_int_equal(mq_policy_set(f->s, &pol), MQ_OK);
	assert_int_equal(mq_group_create(f->s, "g", id(0, 0), 0), MQ_OK);
	assert_int_equal(mq_group_open(f->s, "g", &g), MQ_OK);
	assert_int_equal(mq_group_read(g, "c", 3, 0, msgs, &n), MQ_OK);
	assert_int_equal(n, 3);
	assert_int_equal(mq_group_ack(g, &ids[0], 1, &n), MQ_OK);
	mq_group_close(g);
	assert_int_equal(mq_stream_open(f->sp, "orders", 0, &old2), MQ_OK);
	assert_false(mq_stream_removed(f->s));

	assert_int_equal(mq_stream_rename(f->sp, "orders", "invoices", 0), MQ_OK);
	assert_true(mq_stream_removed(f->s));
	assert_true(mq_stream_removed(old2));
	mq_stream_close(old2);
	assert_int_equal(mq_stream_open(f->sp, "orders", 0, &s), MQ_ENOSTREAM);
	assert_int_equal(mq_stream_open(f->sp, "invoices", 0, &s), MQ_OK);
	assert_false(mq_stream_removed(s));
	assert_int_equal(length_of(f->sp, "invoices"), 5);
	assert_int_equal(mq_policy_get(s, &pol), MQ_OK);
	assert_int_equal(pol.delivery_limit, 7);
	assert_int_equal(mq_dead_letter_name(s, dl), MQ_OK);
	assert_string_equal(dl, "invoices.dlq");
	assert_int_equal(mq_group_open(s, "g", &g), MQ_OK);
	assert_int_equal(mq_group_info(g, &gi), MQ_OK);
	assert_int_equal(gi.pending, 2);
	assert_int_equal(mq_id_cmp(gi.last_delivered, ids[2]), 0);
	assert_int_equal(mq_group_pending(g, id(0, 0), id(UINT64_MAX, UINT64_MAX),
	    8, NULL, 0, pend, &n), MQ_OK);
	assert_int_equal(n, 2);
	assert_int_equal(mq_id_cmp(pend[0].id, ids[1]), 0);
	assert_string_equal(pend[0].consumer, "c");
	assert_int_equal(mq_id_cmp(pend[1].id, ids[2]), 0);
	/* The group goes on where it was. */
	assert_int_equal(mq_group_read(g, "c", 8, 0, msgs, &n), MQ_OK);
	assert_int_equal(n, 2);
	assert_int_equal(mq_id_cmp(msgs[0].id, ids[3]), 0);
	mq_group_close(g);

	/* Missing source, same name, bad names. */
	assert_int_equal(mq_stream_rename(f->sp, "orders", "x", 1), MQ_ENOSTREAM);
	assert_int_equal(mq_stream_rename(f->sp, "invoices", "invoices", 1), MQ_OK);
	assert_int_equal(mq_stream_rename(f->sp, "invoices", "invoices", 0),
	    MQ_EEXIST);
	assert_int_equal(mq_stream_rename(f->sp, "invoices", "", 1), MQ_EBADNAME);
	assert_false(mq_stream_removed(s));

	/* An existing target: refused, or replaced. */
	assert_int_equal(mq_stream_open(f->sp, "other", MQ_CREATE, &other), MQ_OK);
	append_n(other, "o", 0, 2, 2);
	assert_int_equal(mq_stream_rename(f->sp, "invoices", "other", 0),
	    MQ_EEXIST);
	assert_false(mq_stream_removed(s));
	assert_false(mq_stream_removed(other));
	assert_int_equal(length_of(f->sp, "other"), 2);
	assert_int_equal(mq_stream_rename(f->sp, "invoices", "other", 1), MQ_OK);
	assert_true(mq_stream_removed(s));
	assert_true(mq_stream_removed(other));
	assert_int_equal(length_of(f->sp, "other"), 5);
	assert_int_equal(mq_spool_streams(f->sp, count_fn, &count), MQ_OK);
	assert_int_equal(count, 1);
	mq_stream_close(other);
	mq_stream_close(s);

	/* Removed, then made anew under the same name: still removed. */
	assert_int_equal(mq_stream_open(f->sp, "other", 0, &s), MQ_OK);
	assert_int_equal(mq_stream_remove(f->sp, "other"), MQ_OK);
	assert_true(mq_stream_removed(s));
	assert_int_equal(mq_stream_open(f->sp, "other", MQ_CREATE, &other), MQ_OK);
	assert_true(mq_stream_removed(s));
	assert_false(mq_stream_removed(other));
	mq_stream_close(other);
	mq_stream_close(s);
}

static void
test_spool_version(void **state)
{
	char *dir = test_tmpdir(), path[1024];
	mq_spool *sp;
	FILE *fp;

	assert_int_equal(mq_spool_open(dir, 0, &sp), MQ_ENOSTREAM);
	assert_int_equal(mq_spool_open(dir, MQ_CREATE, &sp), MQ_OK);
	mq_spool_close(sp);
	snprintf(path, sizeof(path), "%s/VERSION", dir);
	assert_non_null(fp = fopen(path, "w"));
	fputs("mq-spool 99\n", fp);
	fclose(fp);
	assert_int_equal(mq_spool_open(dir, MQ_CREATE, &sp), MQ_EVERSION);
	test_rmdir(dir);
}

/* The names in directory 'path', sorted, one per line, into 'buf'. */
static void
names_of(const char *path, char *buf, size_t size)
{
	struct dirent **list;
	int i, n;

	assert_true((n = scandir(path, &list, NULL, alphasort)) >= 0);
	buf[0] = '\0';
	for (i = 0; i < n; i++) {
		strlcat(buf, list[i]->d_name, size);
		strlcat(buf, "\n", size);
		free(list[i]);
	}
	free(list);
}

/* The check leaves nothing, reuses a stale probe, never follows a link. */
static void
test_spool_writable(void **state)
{
	char *dir = test_tmpdir(), streams[1024], probe[1100], target[1100];
	char before[2][4096], after[4096];
	mq_spool *sp;
	struct stat st;
	FILE *fp;

	assert_int_equal(mq_spool_open(dir, MQ_CREATE, &sp), MQ_OK);
	snprintf(streams, sizeof(streams), "%s/streams", dir);
	names_of(dir, before[0], sizeof(before[0]));
	names_of(streams, before[1], sizeof(before[1]));
	assert_int_equal(mq_spool_writable(sp), MQ_OK);
	names_of(dir, after, sizeof(after));
	assert_string_equal(after, before[0]);
	names_of(streams, after, sizeof(after));
	assert_string_equal(after, before[1]);

	/* A dead process of this pid left its probe: reused and removed. */
	snprintf(probe, sizeof(probe), "%s/.probe.%ld", streams, (long)getpid());
	assert_non_null(fp = fopen(probe, "w"));
	fclose(fp);
	assert_int_equal(mq_spool_writable(sp), MQ_OK);
	assert_int_equal(access(probe, F_OK), -1);

	/* A link in its place is not followed out of the spool. */
	snprintf(target, sizeof(target), "%s.target", dir);
	assert_int_equal(symlink(target, probe), 0);
	assert_int_equal(mq_spool_writable(sp), MQ_ESYS);
	assert_int_equal(errno, ELOOP);
	assert_int_equal(lstat(target, &st), -1);
	assert_int_equal(unlink(probe), 0);
	mq_spool_close(sp);
	test_rmdir(dir);
}

/*
 * A spool whose streams/ this user may not write: EACCES.  Root ignores
 * modes, so as root the check runs in a child that became nobody.
 */
/* The free space is the filesystem's, as statvfs(3) has it. */
static void
test_spool_avail(void **state)
{
	char *dir = test_tmpdir();
	uint64_t avail, reserve;
	struct statvfs sv;
	mq_spool *sp;

	assert_int_equal(mq_spool_open(dir, MQ_CREATE, &sp), MQ_OK);
	assert_int_equal(mq_spool_avail(sp, &avail, &reserve), MQ_OK);
	assert_int_equal(statvfs(dir, &sv), 0);
	assert_true(avail > 0);
	/* Others may write meanwhile: within 64 MiB of the figure. */
	assert_true(avail / 1048576 + 64 >=
	    (uint64_t)sv.f_bavail * sv.f_frsize / 1048576);
	assert_true(avail / 1048576 <=
	    (uint64_t)sv.f_bavail * sv.f_frsize / 1048576 + 64);
	assert_int_equal(reserve, 16u << 20);
	mq_spool_close(sp);
	test_rmdir(dir);
}

static void
test_spool_writable_denied(void **state)
{
	char *dir = test_tmpdir(), streams[1024];
	mq_spool *sp;
	pid_t pid;
	int status, rc;

	assert_int_equal(mq_spool_open(dir, MQ_CREATE, &sp), MQ_OK);
	mq_spool_close(sp);
	snprintf(streams, sizeof(streams), "%s/streams", dir);
	assert_int_equal(chmod(dir, 0755), 0);
	assert_int_equal(chmod(streams, 0555), 0);
	if ((pid = fork()) == 0) {
		if (geteuid() == 0 && (setgroups(0, NULL) == -1 ||
		    setgid(65534) == -1 || setuid(65534) == -1))
			_exit(2);
		if (mq_spool_open(dir, 0, &sp) != MQ_OK)
			_exit(3);
		rc = mq_spool_writable(sp);
		_exit(rc == MQ_ESYS && errno == EACCES ? 0 : 1);
	}
	assert_true(pid > 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_int_equal(chmod(streams, 0755), 0);
	test_rmdir(dir);
}

/* Four processes append at once: nothing lost, nothing interleaved. */
static void
test_concurrent_writers(void **state)
{
	struct fixture *f = *state;
	int next[4] = { 0, 0, 0, 0 }, w, n, status, total = 0;
	struct mq_msg m;
	mq_reader *r;
	mq_id prev = { 0, 0 };
	pid_t pid[4];

	for (w = 0; w < 4; w++) {
		if ((pid[w] = fork()) == 0) {
			mq_spool *sp;
			mq_stream *s;
			char prefix[8];

			if (mq_spool_open(f->dir, 0, &sp) != MQ_OK ||
			    mq_stream_open(sp, "orders", 0, &s) != MQ_OK)
				_exit(1);
			snprintf(prefix, sizeof(prefix), "%d", w);
			append_n(s, prefix, 0, 2000, 1 + w * 7);
			mq_stream_close(s);
			mq_spool_close(sp);
			_exit(0);
		}
	}
	for (w = 0; w < 4; w++) {
		assert_int_equal(waitpid(pid[w], &status, 0), pid[w]);
		assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	assert_int_equal(mq_reader_open(f->s, &r), MQ_OK);
	while (mq_reader_next(r, &m) == 1) {
		char text[32];

		assert_true(mq_id_cmp(prev, m.id) < 0);
		prev = m.id;
		assert_true(m.bodylen < sizeof(text));
		memcpy(text, m.body, m.bodylen);
		text[m.bodylen] = '\0';
		assert_int_equal(sscanf(text, "%d-%d", &w, &n), 2);
		assert_int_equal(n, next[w]);
		next[w]++;
		total++;
	}
	mq_reader_close(r);
	assert_int_equal(total, 8000);
}

/* A watch wakes on another process's append; no sleeping involved. */
static void
test_watch_wakes_on_append(void **state)
{
	struct fixture *f = *state;
	struct mq_msg m;
	mq_watch *w;
	mq_reader *r;
	int status, rc;
	pid_t pid;

	assert_int_equal(mq_watch_open(&w), MQ_OK);
	assert_int_equal(mq_watch_add(w, f->s), MQ_OK);
	assert_int_equal(mq_reader_open(f->s, &r), MQ_OK);
	assert_int_equal(mq_reader_next(r, &m), 0);
	assert_int_equal(mq_watch_wait(w, 0), 0);
	if ((pid = fork()) == 0) {
		mq_spool *sp;
		mq_stream *s;

		if (mq_spool_open(f->dir, 0, &sp) != MQ_OK ||
		    mq_stream_open(sp, "orders", 0, &s) != MQ_OK)
			_exit(1);
		append_n(s, "wake", 0, 1, 1);
		_exit(0);
	}
	while ((rc = mq_reader_next(r, &m)) == 0)
		assert_int_equal(mq_watch_wait(w, -1), 1);
	assert_int_equal(rc, 1);
	assert_memory_equal(m.body, "wake-0", 6);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	mq_reader_close(r);
	mq_watch_close(w);
}

/*
 * A removed watch is no longer woken, by appends nor by group changes,
 * and its removal is no change either; the watch is the directory's, so
 * removing it through one handle ends it for another handle too, and
 * adding it again works.
 */
static void
test_watch_remove(void **state)
{
	struct fixture *f = *state;
	mq_stream *other;
	mq_watch *w;

	assert_int_equal(mq_group_create(f->s, "g", (mq_id){ 0, 0 }, 0), MQ_OK);
	assert_int_equal(mq_stream_open(f->sp, "orders", 0, &other), MQ_OK);
	assert_int_equal(mq_watch_open(&w), MQ_OK);
	assert_int_equal(mq_watch_add(w, other), MQ_OK);
	append_n(f->s, "seen", 0, 1, 1);
	assert_int_equal(mq_watch_wait(w, 0), 1);

	assert_int_equal(mq_watch_remove(w, f->s), MQ_OK);
	assert_int_equal(mq_watch_wait(w, 0), 0);
	append_n(f->s, "unseen", 0, 1, 1);
	assert_int_equal(mq_group_create(f->s, "h", (mq_id){ 0, 0 }, 0), MQ_OK);
	assert_int_equal(mq_watch_wait(w, 0), 0);

	assert_int_equal(mq_watch_add(w, f->s), MQ_OK);
	append_n(f->s, "seen again", 0, 1, 1);
	assert_int_equal(mq_watch_wait(w, 0), 1);
	mq_watch_close(w);
	mq_stream_close(other);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_append_and_read_back, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ids_follow_redis, setup, teardown),
		cmocka_unit_test_setup_teardown(test_size_limit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_seek_across_segments, setup, teardown),
		cmocka_unit_test_setup_teardown(test_range_forward_and_back, setup, teardown),
		cmocka_unit_test_setup_teardown(test_delete, setup, teardown),
		cmocka_unit_test_setup_teardown(test_trim_and_retention, setup, teardown),
		cmocka_unit_test_setup_teardown(test_max_len_bytes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_setid, setup, teardown),
		cmocka_unit_test_setup_teardown(test_torn_tail_at_every_offset, setup, teardown),
		cmocka_unit_test_setup_teardown(test_corrupt_tail, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lost_seal, setup, teardown),
		cmocka_unit_test_setup_teardown(test_empty_newest_segment, setup, teardown),
		cmocka_unit_test_setup_teardown(test_policy_persists, setup, teardown),
		cmocka_unit_test_setup_teardown(test_names_and_removal, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rename, setup, teardown),
		cmocka_unit_test(test_spool_version),
		cmocka_unit_test(test_spool_writable),
		cmocka_unit_test(test_spool_avail),
		cmocka_unit_test(test_spool_writable_denied),
		cmocka_unit_test_setup_teardown(test_concurrent_writers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_watch_wakes_on_append, setup, teardown),
		cmocka_unit_test_setup_teardown(test_watch_remove, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
