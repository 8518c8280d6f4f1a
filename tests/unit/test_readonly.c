/*
 * test_readonly.c - a spool this process may read but not write: the
 * spool, its streams and groups open (with MQ_CREATE or without) and
 * read; every change fails with EACCES and writes nothing; a torn tail
 * is read up to its last whole batch and left for a writer to cut; and a
 * live subscription listens anonymously, uncounted, also before the
 * exchange exists.
 *
 * The spool is built by the test's user, then put out of the reader's
 * reach: as root, whom permissions do not stop, the reader is a child
 * that becomes nobody (the spool keeps libmq's modes, 755 and 644); as
 * another user, the tree loses its write bits and the reader is a child
 * of the same user.  The child runs plain checks (cmocka's assertions
 * belong to the parent), says which one failed on stderr, and exits 1.
 */
#include <sys/stat.h>

#include <errno.h>

#include "helpers.h"
#include "mq.h"

#define CHECK(e) do {							\
	if (!(e)) {							\
		fprintf(stderr, "%s:%d: failed: %s\n", __FILE__,	\
		    __LINE__, #e);					\
		return 1;						\
	}								\
} while (0)

struct fixture {
	char		*dir;
	mq_spool	*sp;
	int		 ready[2];	/* a subscribing reader says it listens */
};

/* "a" and "b" in stream s; b pending for consumer c of group g; a dead letter. */
static void
build(struct fixture *f)
{
	struct mq_msg m[2] = { test_body("a"), test_body("b") }, out[2];
	mq_stream *s;
	mq_group *g;
	mq_id ids[2];
	size_t n;

	assert_int_equal(mq_stream_open(f->sp, "s", MQ_CREATE, &s), MQ_OK);
	assert_int_equal(mq_append(s, m, 2, NULL, ids), MQ_OK);
	assert_int_equal(mq_group_create(s, "g", (mq_id){ 0, 0 }, 0), MQ_OK);
	assert_int_equal(mq_group_open(s, "g", &g), MQ_OK);
	assert_int_equal(mq_group_read(g, "c", 2, 0, out, &n), MQ_OK);
	assert_int_equal(n, 2);
	assert_int_equal(mq_group_nack(g, &ids[0], 1, 1, 0, &n), MQ_OK);
	mq_group_close(g);
	mq_stream_close(s);
}

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	f->dir = test_tmpdir_shared();
	assert_int_equal(mq_spool_open(f->dir, MQ_CREATE, &f->sp), MQ_OK);
	build(f);
	assert_int_equal(pipe(f->ready), 0);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	mq_spool_close(f->sp);
	test_seal(f->dir, 0);
	test_rmdir(f->dir);
	close(f->ready[0]);
	close(f->ready[1]);
	free(f);
	return 0;
}

/* Starts 'fn' as the reader, in a child; its pid. */
static pid_t
start_reader(struct fixture *f, int (*fn)(struct fixture *))
{
	pid_t pid;

	test_seal(f->dir, 1);
	fflush(stdout);
	fflush(stderr);
	assert_true((pid = fork()) != -1);
	if (pid == 0) {
		close(f->ready[0]);
		_exit(test_become_reader() == 0 ? fn(f) : 2);
	}
	close(f->ready[1]);
	f->ready[1] = -1;
	return pid;
}

static void
as_reader(struct fixture *f, int (*fn)(struct fixture *))
{
	test_wait_ok(start_reader(f, fn));
}

/* A change refused as a read-only handle refuses it. */
static int
refused(int rc)
{
	return rc == MQ_ESYS && strcmp(mq_strerror(rc), strerror(EACCES)) == 0;
}

/* ------------------------------------------------------------------
 * Looking
 * ---------------------------------------------------------------- */

static int
collect(const struct mq_msg *m, void *arg)
{
	char *s = arg;

	strncat(s, m->body, m->bodylen);
	return 0;
}

static int
count_consumer(const struct mq_consumer_info *c, void *arg)
{
	(*(int *)arg)++;
	return 0;
}

static int
read_all(struct fixture *f)
{
	static const mq_id first = { 0, 0 }, last = { UINT64_MAX, UINT64_MAX };
	struct mq_stream_info si;
	struct mq_group_info gi;
	struct mq_pending p[4];
	struct mq_policy pol;
	char text[16] = "";
	mq_spool *sp;
	mq_stream *s, *dlq;
	mq_group *g;
	size_t n;
	int consumers = 0;

	CHECK(mq_spool_open(f->dir, MQ_CREATE, &sp) == MQ_OK);
	mq_spool_close(sp);
	CHECK(mq_spool_open(f->dir, 0, &sp) == MQ_OK);
	CHECK(mq_stream_open(sp, "s", MQ_CREATE, &s) == MQ_OK);
	mq_stream_close(s);
	CHECK(mq_stream_open(sp, "s", 0, &s) == MQ_OK);
	CHECK(mq_range(s, first, last, 0, 0, collect, text) == MQ_OK);
	CHECK(strcmp(text, "ab") == 0);
	CHECK(mq_stream_info(s, &si) == MQ_OK);
	CHECK(si.length == 2 && si.groups == 1);
	CHECK(mq_policy_get(s, &pol) == MQ_OK);

	CHECK(mq_group_open(s, "g", &g) == MQ_OK);
	CHECK(mq_group_info(g, &gi) == MQ_OK);
	CHECK(gi.pending == 1 && gi.consumers == 1);
	CHECK(mq_group_pending(g, first, last, 4, NULL, 0, p, &n) == MQ_OK);
	CHECK(n == 1 && strcmp(p[0].consumer, "c") == 0);
	CHECK(mq_group_consumers(g, count_consumer, &consumers) == MQ_OK);
	CHECK(consumers == 1);
	mq_group_close(g);

	CHECK(mq_stream_open(sp, "s.dlq", 0, &dlq) == MQ_OK);
	CHECK(mq_stream_info(dlq, &si) == MQ_OK);
	CHECK(si.length == 1);
	mq_stream_close(dlq);

	/* What is missing cannot be made. */
	CHECK(refused(mq_stream_open(sp, "new", MQ_CREATE, &dlq)));
	CHECK(refused(mq_group_create(s, "new", first, 0)));
	mq_stream_close(s);
	mq_spool_close(sp);
	return 0;
}

/* The spool, a stream and a group open and read, MQ_CREATE or not. */
static void
test_looks(void **state)
{
	as_reader(*state, read_all);
}

/* ------------------------------------------------------------------
 * Changing
 * ---------------------------------------------------------------- */

static int
change_all(struct fixture *f)
{
	static const mq_id first = { 0, 0 };
	struct mq_msg m = test_body("x"), out[2];
	struct mq_policy pol;
	mq_spool *sp;
	mq_stream *s;
	mq_group *g;
	mq_id id = { 1, 0 };
	uint64_t removed;
	size_t n;

	CHECK(mq_spool_open(f->dir, MQ_CREATE, &sp) == MQ_OK);
	CHECK(mq_stream_open(sp, "s", MQ_CREATE, &s) == MQ_OK);
	CHECK(refused(mq_append(s, &m, 1, NULL, NULL)));
	CHECK(refused(mq_delete(s, &id, 1, &n)));
	CHECK(refused(mq_trim_maxlen(s, 0, &removed)));
	CHECK(refused(mq_trim_minid(s, id, &removed)));
	CHECK(refused(mq_stream_setid(s, (mq_id){ UINT64_MAX, 0 }, UINT64_MAX,
	    first)));
	CHECK(mq_policy_get(s, &pol) == MQ_OK);
	CHECK(refused(mq_policy_set(s, &pol)));

	CHECK(mq_group_open(s, "g", &g) == MQ_OK);
	CHECK(refused(mq_group_read(g, "c", 2, 0, out, &n)));
	CHECK(refused(mq_group_history(g, "c", first, 2, out, &n)));
	CHECK(refused(mq_group_ack(g, &id, 1, &n)));
	CHECK(refused(mq_group_nack(g, &id, 1, 1, 0, &n)));
	CHECK(refused(mq_group_setid(g, first, 0)));
	CHECK(refused(mq_group_consumer_create(g, "d")));
	CHECK(mq_group_hold(g) < 0);
	mq_group_close(g);
	mq_stream_close(s);
	mq_spool_close(sp);
	return 0;
}

/* Adds up the bytes of the files under 'dir', and counts them. */
static uint64_t tree_bytes, tree_files;

static int
add_file(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	tree_bytes += (uint64_t)st->st_size;
	tree_files++;
	return 0;
}

static void
tree_measure(const char *dir, uint64_t *bytes, uint64_t *files)
{
	tree_bytes = tree_files = 0;
	assert_int_equal(nftw(dir, add_file, 16, FTW_PHYS), 0);
	*bytes = tree_bytes;
	*files = tree_files;
}

/* Every change fails with EACCES, and the spool is as it was. */
static void
test_changes_refused(void **state)
{
	struct fixture *f = *state;
	uint64_t bytes, files, bytes2, files2;

	tree_measure(f->dir, &bytes, &files);
	as_reader(f, change_all);
	tree_measure(f->dir, &bytes2, &files2);
	assert_int_equal(bytes2, bytes);
	assert_int_equal(files2, files);
}

/* ------------------------------------------------------------------
 * A torn tail
 * ---------------------------------------------------------------- */

/* Appends 'len' bytes of junk to the file 'name' under the spool. */
static off_t
tear(struct fixture *f, const char *name, size_t len)
{
	char path[1024], junk[64];
	struct stat st;
	FILE *fp;

	assert_true(len <= sizeof(junk));
	memset(junk, 0x5a, len);
	snprintf(path, sizeof(path), "%s/streams/%s", f->dir, name);
	assert_non_null(fp = fopen(path, "a"));
	assert_int_equal(fwrite(junk, 1, len, fp), len);
	assert_int_equal(fclose(fp), 0);
	assert_int_equal(stat(path, &st), 0);
	return st.st_size;
}

static off_t
file_size(struct fixture *f, const char *name)
{
	char path[1024];
	struct stat st;

	snprintf(path, sizeof(path), "%s/streams/%s", f->dir, name);
	assert_int_equal(stat(path, &st), 0);
	return st.st_size;
}

static int
read_torn(struct fixture *f)
{
	static const mq_id first = { 0, 0 }, last = { UINT64_MAX, UINT64_MAX };
	struct mq_stream_info si;
	struct mq_group_info gi;
	struct mq_msg m = test_body("x");
	char text[16] = "";
	mq_spool *sp;
	mq_stream *s;
	mq_group *g;

	CHECK(mq_spool_open(f->dir, 0, &sp) == MQ_OK);
	CHECK(mq_stream_open(sp, "s", 0, &s) == MQ_OK);
	CHECK(mq_range(s, first, last, 0, 0, collect, text) == MQ_OK);
	CHECK(strcmp(text, "ab") == 0);
	CHECK(mq_stream_info(s, &si) == MQ_OK);
	CHECK(si.length == 2);
	CHECK(refused(mq_append(s, &m, 1, NULL, NULL)));
	CHECK(mq_group_open(s, "g", &g) == MQ_OK);
	CHECK(mq_group_info(g, &gi) == MQ_OK);
	CHECK(gi.pending == 1);
	mq_group_close(g);
	mq_stream_close(s);
	mq_spool_close(sp);
	return 0;
}

/*
 * Junk after the last whole batch, mark and journal record: the reader
 * reads what is whole and cuts nothing; the next writer does.
 */
static void
test_torn_tail_left_alone(void **state)
{
	static const mq_id first = { 0, 0 }, last = { UINT64_MAX, UINT64_MAX };
	struct fixture *f = *state;
	const char *seg = "s/00000000000000000000.log";
	struct mq_msg m = test_body("c");
	off_t torn, marks, journal;
	char text[16] = "";
	mq_stream *s;

	torn = tear(f, seg, 10);
	marks = tear(f, "s/marks", 20);
	journal = tear(f, "s/groups/g", 12);
	as_reader(f, read_torn);
	assert_int_equal(file_size(f, seg), torn);
	assert_int_equal(file_size(f, "s/marks"), marks);
	assert_int_equal(file_size(f, "s/groups/g"), journal);

	/*
	 * Junk it was: the owner's next append cuts it and writes after
	 * the last whole batch, where readers find it.
	 */
	test_seal(f->dir, 0);
	assert_int_equal(mq_stream_open(f->sp, "s", 0, &s), MQ_OK);
	assert_int_equal(mq_append(s, &m, 1, NULL, NULL), MQ_OK);
	assert_int_equal(mq_range(s, first, last, 0, 0, collect, text), MQ_OK);
	assert_string_equal(text, "abc");
	mq_stream_close(s);
}

/* ------------------------------------------------------------------
 * Live subscriptions
 * ---------------------------------------------------------------- */

/*
 * Subscribes to "t.*", says so on the pipe, then waits (at most about
 * 30 s, so that a broken library cannot hang the run) for one message,
 * which must be "new" on "t.new".
 */
static int
subscribe_one(struct fixture *f)
{
	const char *pat[] = { "t.*" };
	char path[1024];
	struct mq_msg m;
	struct stat st;
	mq_spool *sp;
	mq_sub *sub;
	mq_watch *w;
	int i, rc = 0;

	CHECK(mq_spool_open(f->dir, MQ_CREATE, &sp) == MQ_OK);
	CHECK(mq_watch_open(&w) == MQ_OK);
	CHECK(mq_sub_open(sp, pat, 1, 0, &sub) == MQ_OK);
	CHECK(mq_sub_watch(sub, w) == MQ_OK);
	/* Not registered: nothing written. */
	snprintf(path, sizeof(path), "%s/subscribers", f->dir);
	CHECK(stat(path, &st) == -1 && errno == ENOENT);
	CHECK(write(f->ready[1], "", 1) == 1);
	for (i = 0; i < 30 && (rc = mq_sub_next(sub, &m)) == 0; i++)
		CHECK(mq_watch_wait(w, 1000) >= 0);
	CHECK(rc == 1);
	CHECK(m.bodylen == 3 && memcmp(m.body, "new", 3) == 0);
	CHECK(m.keylen == 5 && memcmp(m.key, "t.new", 5) == 0);
	mq_sub_close(sub);
	mq_watch_close(w);
	mq_spool_close(sp);
	return 0;
}

/*
 * Publishes, once the reader listens, what it must skip (another
 * topic) and what it must get; the reader is not counted, and takes its
 * lock with it.
 */
static void
publish_to_reader(struct fixture *f)
{
	struct mq_msg skip = test_body("skip"), m = test_body("new");
	mq_router *r;
	size_t receivers;
	pid_t pid;
	char c;

	pid = start_reader(f, subscribe_one);
	assert_int_equal(read(f->ready[0], &c, 1), 1);
	test_seal(f->dir, 0);
	assert_int_equal(mq_router_open(f->sp, &r), MQ_OK);
	assert_int_equal(mq_router_anonymous(r), 1);
	assert_int_equal(mq_router_publish(r, "u.x", &skip, 1, &receivers),
	    MQ_OK);
	assert_int_equal(mq_router_publish(r, "t.new", &m, 1, &receivers),
	    MQ_OK);
	assert_int_equal(receivers, 0);
	test_wait_ok(pid);
	assert_int_equal(mq_router_anonymous(r), 0);
	mq_router_close(r);
}

/* The exchange exists: the reader starts at its end. */
static void
test_anonymous_subscriber(void **state)
{
	struct fixture *f = *state;
	struct mq_msg old = test_body("old");
	mq_stream *x;

	old.key = "t.old";
	old.keylen = 5;
	assert_int_equal(mq_stream_open(f->sp, MQ_TOPIC_EXCHANGE, MQ_CREATE,
	    &x), MQ_OK);
	assert_int_equal(mq_append(x, &old, 1, NULL, NULL), MQ_OK);
	mq_stream_close(x);
	publish_to_reader(f);
}

/* No exchange yet: the reader waits for the publisher to make it. */
static void
test_anonymous_subscriber_waits_for_exchange(void **state)
{
	char path[1024];
	struct stat st;

	snprintf(path, sizeof(path), "%s/streams/%s", ((struct fixture *)
	    *state)->dir, MQ_TOPIC_EXCHANGE);
	assert_int_equal(stat(path, &st), -1);
	publish_to_reader(*state);
	assert_int_equal(stat(path, &st), 0);
}

/* With no one listening, a publish leaves no log behind. */
static void
test_no_listener_no_log(void **state)
{
	struct fixture *f = *state;
	struct mq_msg m = test_body("x");
	char path[1024];
	struct stat st;
	mq_router *r;
	size_t receivers;

	assert_int_equal(mq_router_open(f->sp, &r), MQ_OK);
	assert_int_equal(mq_router_anonymous(r), 0);
	assert_int_equal(mq_router_publish(r, "t.x", &m, 1, &receivers), MQ_OK);
	mq_router_close(r);
	snprintf(path, sizeof(path), "%s/streams/%s", f->dir,
	    MQ_TOPIC_EXCHANGE);
	assert_int_equal(stat(path, &st), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_looks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_changes_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_torn_tail_left_alone, setup, teardown),
		cmocka_unit_test_setup_teardown(test_anonymous_subscriber, setup, teardown),
		cmocka_unit_test_setup_teardown(test_anonymous_subscriber_waits_for_exchange, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_listener_no_log, setup, teardown),
	};

	/* The reader must be able to read what the owner makes. */
	umask(022);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
