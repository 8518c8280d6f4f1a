/*
 * test_qdecl.c - queue declarations: made, found, kept as declared on a
 * redeclare; passive; a stream that was there before; exclusive queues
 * and their holders; transient queues gone with their handle, with a
 * process killed (a lookup, a sweep), and not with a forked child's
 * handle; the list of queues; damaged files; the reject overflow of
 * the policy.
 */
#include <fcntl.h>

#include "helpers.h"
#include "internal.h"
#include "mq.h"
#include "stream.h"

static struct mq_queue
queue(const char *name, int flags, const char *holder, const char *args)
{
	struct mq_queue q;

	memset(&q, 0, sizeof(q));
	q.name = name;
	q.flags = flags;
	q.holder = holder;
	q.args = args;
	q.argslen = args != NULL ? strlen(args) : 0;
	return q;
}

static int
declare(mq_spool *sp, const char *name, int flags, const char *holder)
{
	struct mq_queue q = queue(name, flags, holder, NULL);

	return mq_queue_declare(sp, &q, 0, NULL, NULL);
}

static int
stream_exists(mq_spool *sp, const char *name)
{
	mq_stream *st;
	int rc;

	if ((rc = mq_stream_open(sp, name, 0, &st)) == MQ_OK)
		mq_stream_close(st);
	assert_true(rc == MQ_OK || rc == MQ_ENOSTREAM);
	return rc == MQ_OK;
}

static void
test_declare_and_redeclare(void **state)
{
	struct test_spool *f = *state;
	struct mq_queue q = queue("q", MQ_QDURABLE, NULL, "\x01\x02"), cur;
	int made;

	assert_int_equal(mq_queue_declare(f->sp, &q, 0, &cur, &made), MQ_OK);
	assert_int_equal(made, 1);
	assert_string_equal(cur.name, "q");
	assert_int_equal(cur.flags, MQ_QDURABLE);
	assert_int_equal(cur.declared, 1);
	assert_int_equal(cur.argslen, 2);
	assert_memory_equal(cur.args, "\x01\x02", 2);
	assert_true(stream_exists(f->sp, "q"));

	/* Another declare finds the first, as it was: the caller compares. */
	q = queue("q", MQ_QDURABLE | MQ_QAUTODELETE, NULL, "other");
	assert_int_equal(mq_queue_declare(f->sp, &q, 0, &cur, &made), MQ_OK);
	assert_int_equal(made, 0);
	assert_int_equal(cur.flags, MQ_QDURABLE);
	assert_int_equal(cur.argslen, 2);
	assert_memory_equal(cur.args, "\x01\x02", 2);

	/* Kept across handles. */
	mq_spool_close(f->sp);
	assert_int_equal(mq_spool_open(f->dir, 0, &f->sp), MQ_OK);
	assert_int_equal(mq_queue_lookup(f->sp, "q", &cur), MQ_OK);
	assert_int_equal(cur.flags, MQ_QDURABLE);
	assert_memory_equal(cur.args, "\x01\x02", 2);
}

static void
test_passive(void **state)
{
	struct test_spool *f = *state;
	struct mq_queue q = queue("p", MQ_QDURABLE, NULL, "a"), cur;

	assert_int_equal(mq_queue_declare(f->sp, &q, MQ_QPASSIVE, &cur, NULL),
	    MQ_ENOSTREAM);
	assert_false(stream_exists(f->sp, "p"));
	assert_int_equal(mq_queue_lookup(f->sp, "p", &cur), MQ_ENOSTREAM);
	assert_int_equal(declare(f->sp, "p", MQ_QDURABLE, NULL), MQ_OK);
	assert_int_equal(mq_queue_declare(f->sp, &q, MQ_QPASSIVE, &cur, NULL),
	    MQ_OK);
	assert_int_equal(cur.argslen, 0);
}

/* A stream made otherwise is a durable queue until declared. */
static void
test_stream_before(void **state)
{
	struct test_spool *f = *state;
	struct mq_queue cur;
	mq_spool *other;
	mq_stream *st;
	int made;
	struct mq_queue q = queue("s", 0, NULL, NULL);

	assert_int_equal(mq_stream_open(f->sp, "s", MQ_CREATE, &st), MQ_OK);
	mq_stream_close(st);
	assert_int_equal(mq_queue_lookup(f->sp, "s", &cur), MQ_OK);
	assert_int_equal(cur.declared, 0);
	assert_int_equal(cur.flags, MQ_QDURABLE);

	/* Declared transient by a handle that goes: its stream stays. */
	assert_int_equal(mq_spool_open(f->dir, 0, &other), MQ_OK);
	assert_int_equal(mq_queue_declare(other, &q, 0, &cur, &made), MQ_OK);
	assert_int_equal(made, 1);
	assert_int_equal(cur.flags, 0);
	assert_int_equal(cur.mine, 1);
	mq_spool_close(other);
	assert_true(stream_exists(f->sp, "s"));
	assert_int_equal(mq_queue_lookup(f->sp, "s", &cur), MQ_OK);
	assert_int_equal(cur.declared, 0);
}

static void
test_exclusive(void **state)
{
	struct test_spool *f = *state;
	struct mq_queue q = queue("x", MQ_QEXCLUSIVE, "conn-1", NULL), cur;
	mq_spool *other;

	assert_int_equal(mq_queue_declare(f->sp, &q, 0, &cur, NULL), MQ_OK);
	assert_string_equal(cur.holder, "conn-1");
	assert_int_equal(cur.mine, 1);
	assert_int_equal(mq_queue_access(f->sp, "x", "conn-1"), MQ_OK);
	assert_int_equal(mq_queue_access(f->sp, "x", "conn-2"), MQ_ELOCKED);
	assert_int_equal(declare(f->sp, "x", MQ_QEXCLUSIVE, "conn-2"),
	    MQ_ELOCKED);
	assert_int_equal(mq_queue_declare(f->sp, &q, MQ_QPASSIVE, &cur, NULL),
	    MQ_OK);
	q.holder = "conn-2";
	assert_int_equal(mq_queue_declare(f->sp, &q, MQ_QPASSIVE, &cur, NULL),
	    MQ_ELOCKED);
	/* Its holder asking for it not exclusive is refused too. */
	assert_int_equal(declare(f->sp, "x", 0, "conn-1"), MQ_ELOCKED);
	/* And exclusive of a queue that is not. */
	assert_int_equal(declare(f->sp, "shared", MQ_QDURABLE, "conn-1"),
	    MQ_OK);
	assert_int_equal(declare(f->sp, "shared", MQ_QDURABLE | MQ_QEXCLUSIVE,
	    "conn-1"), MQ_ELOCKED);

	/* Another handle is another owner, whatever the holder's name. */
	assert_int_equal(mq_spool_open(f->dir, 0, &other), MQ_OK);
	assert_int_equal(mq_queue_access(other, "x", "conn-1"), MQ_ELOCKED);
	assert_int_equal(mq_queue_access(other, "shared", "conn-9"), MQ_OK);
	mq_spool_close(other);

	/* Deleted, it can be anyone's. */
	assert_int_equal(mq_queue_delete(f->sp, "x"), MQ_OK);
	assert_int_equal(declare(f->sp, "x", MQ_QEXCLUSIVE, "conn-2"), MQ_OK);
}

static void
test_transient_closed(void **state)
{
	struct test_spool *f = *state;
	mq_spool *other;

	assert_int_equal(mq_spool_open(f->dir, 0, &other), MQ_OK);
	assert_int_equal(declare(other, "t", 0, NULL), MQ_OK);
	assert_int_equal(declare(other, "d", MQ_QDURABLE, NULL), MQ_OK);
	assert_int_equal(declare(other, "e", MQ_QDURABLE | MQ_QEXCLUSIVE, "c"),
	    MQ_OK);
	/* Redeclared by another handle, it stays its first owner's. */
	assert_int_equal(declare(f->sp, "t", 0, NULL), MQ_OK);
	assert_true(stream_exists(f->sp, "t"));
	mq_spool_close(other);
	assert_false(stream_exists(f->sp, "t"));
	assert_false(stream_exists(f->sp, "e"));
	assert_true(stream_exists(f->sp, "d"));
}

/* In a child, on a handle of its own: two transient queues. */
static int
declare_two(void *dir)
{
	mq_spool *sp;

	return mq_spool_open(dir, 0, &sp) != MQ_OK ||
	    declare(sp, "t1", 0, NULL) != MQ_OK ||
	    declare(sp, "t2", MQ_QDURABLE | MQ_QEXCLUSIVE, "c") != MQ_OK;
}

static void
test_transient_killed(void **state)
{
	struct test_spool *f = *state;
	struct mq_queue cur;
	size_t removed;
	pid_t pid;
	int hold;

	assert_int_equal(declare(f->sp, "durable", MQ_QDURABLE, NULL), MQ_OK);
	pid = test_fork_waiting(declare_two, f->dir, &hold);
	assert_int_equal(mq_queue_sweep(f->sp, &removed), MQ_OK);
	assert_int_equal(removed, 0);
	assert_int_equal(mq_queue_lookup(f->sp, "t1", &cur), MQ_OK);
	assert_int_equal(cur.mine, 0);
	assert_int_equal(mq_queue_access(f->sp, "t2", "c"), MQ_ELOCKED);

	test_kill_child(pid, hold);
	/* A lookup finds the owner gone and removes the queue... */
	assert_int_equal(mq_queue_lookup(f->sp, "t1", &cur), MQ_ENOSTREAM);
	assert_false(stream_exists(f->sp, "t1"));
	/* ... and so does the sweep, without a lookup. */
	assert_true(stream_exists(f->sp, "t2"));
	assert_int_equal(mq_queue_sweep(f->sp, &removed), MQ_OK);
	assert_int_equal(removed, 1);
	assert_false(stream_exists(f->sp, "t2"));
	assert_true(stream_exists(f->sp, "durable"));
}

/* A dead owner's exclusive queue is free to declare, made anew. */
static void
test_redeclare_orphan(void **state)
{
	struct test_spool *f = *state;
	struct mq_queue q = queue("t2", MQ_QEXCLUSIVE, "mine", "new"), cur;
	pid_t pid;
	int hold, made;

	pid = test_fork_waiting(declare_two, f->dir, &hold);
	assert_int_equal(mq_queue_declare(f->sp, &q, 0, &cur, &made),
	    MQ_ELOCKED);
	test_kill_child(pid, hold);
	assert_int_equal(mq_queue_declare(f->sp, &q, 0, &cur, &made), MQ_OK);
	assert_int_equal(made, 1);
	assert_string_equal(cur.holder, "mine");
	assert_int_equal(cur.argslen, 3);
}

/*
 * Races with another process, made to happen at a chosen moment: the
 * test wraps three of libmq's calls (-Wl,--wrap, in the Makefile), so
 * that 'when_gone' runs at the next answer that an owner is gone,
 * 'before_lock' before the next stream lock a declare takes, and
 * 'when_missing' after the next look for a stream that found none, once
 * each.
 */
static void (*when_gone)(void);
static void (*before_lock)(void);
static void (*when_missing)(void);
static const char *race_dir;
static pid_t race_pid;
static int race_hold;

int	__real_mq_owner_alive(mq_spool *sp, const char *owner, int *mine);
int	__wrap_mq_owner_alive(mq_spool *sp, const char *owner, int *mine);
int	__real_mq_stream_lock(mq_stream *st);
int	__wrap_mq_stream_lock(mq_stream *st);
int	__real_mq_stream_exists_enc(mq_spool *sp, const char *enc);
int	__wrap_mq_stream_exists_enc(mq_spool *sp, const char *enc);

int
__wrap_mq_owner_alive(mq_spool *sp, const char *owner, int *mine)
{
	int alive = __real_mq_owner_alive(sp, owner, mine);
	void (*fn)(void) = when_gone;

	if (!alive && fn != NULL) {
		when_gone = NULL;
		fn();
	}
	return alive;
}

int
__wrap_mq_stream_lock(mq_stream *st)
{
	void (*fn)(void) = before_lock;

	if (fn != NULL) {
		before_lock = NULL;
		fn();
	}
	return __real_mq_stream_lock(st);
}

int
__wrap_mq_stream_exists_enc(mq_spool *sp, const char *enc)
{
	int exists = __real_mq_stream_exists_enc(sp, enc);
	void (*fn)(void) = when_missing;

	if (!exists && fn != NULL) {
		when_missing = NULL;
		fn();
	}
	return exists;
}

/* Takes "t1", an orphan, as a new queue of its own holding one entry. */
static int
take_orphan(void *dir)
{
	struct mq_msg m = { .body = "kept", .bodylen = 4 };
	mq_spool *sp;
	mq_stream *st;
	int rc;

	if (mq_spool_open(dir, 0, &sp) != MQ_OK ||
	    declare(sp, "t1", 0, NULL) != MQ_OK ||
	    mq_stream_open(sp, "t1", 0, &st) != MQ_OK)
		return 1;
	rc = mq_append(st, &m, 1, NULL, NULL);
	mq_stream_close(st);
	return rc != MQ_OK;
}

static void
orphan_taken(void)
{
	race_pid = test_fork_waiting(take_orphan, (void *)race_dir,
	    &race_hold);
}

/*
 * A handle that found "t1" an orphan and another process that removes
 * it and declares it anew, in between: the new queue is not an orphan,
 * and stays with its entry.
 */
static void
test_orphan_taken_meanwhile(void **state)
{
	struct test_spool *f = *state;
	struct mq_queue cur;
	mq_stream *st;
	pid_t pid;
	int hold;

	pid = test_fork_waiting(declare_two, f->dir, &hold);
	test_kill_child(pid, hold);
	race_dir = f->dir;
	when_gone = orphan_taken;
	assert_int_equal(mq_queue_lookup(f->sp, "t1", &cur), MQ_OK);
	assert_null(when_gone);
	assert_int_equal(cur.mine, 0);
	assert_int_equal(mq_stream_open(f->sp, "t1", 0, &st), MQ_OK);
	assert_int_equal(mq_stream_length(st), 1);
	mq_stream_close(st);
	/* The sweep takes it once its new owner is gone too. */
	test_kill_child(race_pid, race_hold);
	assert_int_equal(mq_queue_lookup(f->sp, "t1", &cur), MQ_ENOSTREAM);
}

/*
 * Runs 'fn' in a child on a handle of its own to spool 'dir', as another
 * process would, and waits for it to succeed; bounded by an alarm, so
 * that a child that hangs dies of it, and the test fails.
 */
static void
bounded(const char *dir, int (*fn)(mq_spool *sp))
{
	mq_spool *sp;
	pid_t pid;

	assert_true((pid = fork()) != -1);
	if (pid == 0) {
		alarm(10);
		_exit(mq_spool_open(dir, 0, &sp) != MQ_OK || fn(sp) != 0);
	}
	test_wait_ok(pid);
}

static int
delete_q(mq_spool *sp)
{
	return mq_queue_delete(sp, "q") != MQ_OK;
}

/* Removes the stream "q" (another process's queue.delete). */
static void
q_removed(void)
{
	bounded(race_dir, delete_q);
}

/*
 * A declare that opened the stream, then found it removed once it had
 * its lock: what it would write there is lost, so it makes the queue
 * anew.
 */
static void
test_declare_after_removal(void **state)
{
	struct test_spool *f = *state;
	struct mq_queue cur;
	mq_stream *st;

	assert_int_equal(mq_stream_open(f->sp, "q", MQ_CREATE, &st), MQ_OK);
	mq_stream_close(st);
	race_dir = f->dir;
	before_lock = q_removed;
	assert_int_equal(declare(f->sp, "q", MQ_QDURABLE, NULL), MQ_OK);
	assert_null(before_lock);
	assert_int_equal(mq_queue_lookup(f->sp, "q", &cur), MQ_OK);
	assert_int_equal(cur.declared, 1);
	assert_true(stream_exists(f->sp, "q"));
}

/* A child forked with the handle closes it: the parent's queues stay. */
static int
close_forked(void *sp)
{
	mq_spool_close(sp);
	return 0;
}

static void
test_forked_child(void **state)
{
	struct test_spool *f = *state;
	pid_t pid;
	int hold;

	assert_int_equal(declare(f->sp, "t", 0, NULL), MQ_OK);
	pid = test_fork_waiting(close_forked, f->sp, &hold);
	test_kill_child(pid, hold);
	assert_true(stream_exists(f->sp, "t"));
	assert_int_equal(mq_queue_access(f->sp, "t", ""), MQ_OK);
}

/* mq_queues()'s callback: counts the queues and their flags. */
static int
count_queue(const struct mq_queue *q, void *arg)
{
	int *n = arg;

	n[0]++;
	n[1] |= q->flags;
	assert_true(strcmp(q->name, "a") == 0 || strcmp(q->name, "b") == 0);
	return 0;
}

static void
test_list(void **state)
{
	struct test_spool *f = *state;
	mq_stream *st;
	int n[2] = { 0, 0 };

	assert_int_equal(mq_stream_open(f->sp, "plain", MQ_CREATE, &st), MQ_OK);
	mq_stream_close(st);
	assert_int_equal(declare(f->sp, "a", MQ_QDURABLE, NULL), MQ_OK);
	assert_int_equal(declare(f->sp, "b", MQ_QAUTODELETE, NULL), MQ_OK);
	assert_int_equal(mq_queues(f->sp, count_queue, n), MQ_OK);
	assert_int_equal(n[0], 2);
	assert_int_equal(n[1], MQ_QDURABLE | MQ_QAUTODELETE);
}

/*
 * The listing reads the index of queues: a queue whose stream another
 * door removed is not listed, and its marker goes; a stream that was
 * never declared has none.
 */
static void
test_index(void **state)
{
	struct test_spool *f = *state;
	mq_stream *st;
	char path[4096];
	int n[2] = { 0, 0 };

	assert_int_equal(mq_stream_open(f->sp, "plain", MQ_CREATE, &st), MQ_OK);
	mq_stream_close(st);
	assert_int_equal(declare(f->sp, "a", MQ_QDURABLE, NULL), MQ_OK);
	assert_int_equal(declare(f->sp, "gone", MQ_QDURABLE, NULL), MQ_OK);
	snprintf(path, sizeof(path), "%s/queues/gone", f->dir);
	assert_int_equal(access(path, F_OK), 0);
	snprintf(path, sizeof(path), "%s/queues/plain", f->dir);
	assert_int_equal(access(path, F_OK), -1);
	/* Redis's DEL: the stream goes, the marker stays until a listing. */
	assert_int_equal(mq_stream_remove(f->sp, "gone"), MQ_OK);
	assert_int_equal(mq_queues(f->sp, count_queue, n), MQ_OK);
	assert_int_equal(n[0], 1);
	snprintf(path, sizeof(path), "%s/queues/gone", f->dir);
	assert_int_equal(access(path, F_OK), -1);
	/* mq_queue_delete takes the marker along. */
	assert_int_equal(mq_queue_delete(f->sp, "a"), MQ_OK);
	snprintf(path, sizeof(path), "%s/queues/a", f->dir);
	assert_int_equal(access(path, F_OK), -1);
}

/* mq_queues()'s callback: counts the queues. */
static int
count_any(const struct mq_queue *q, void *arg)
{
	(void)q;
	(*(int *)arg)++;
	return 0;
}

static int
declare_gone(mq_spool *sp)
{
	return declare(sp, "gone", MQ_QDURABLE, NULL) != MQ_OK;
}

/* Declares "gone" (another process's queue.declare). */
static void
gone_declared(void)
{
	bounded(race_dir, declare_gone);
}

/*
 * A listing that found a marker stale and a declare of its name by
 * another process, in between: the marker stays for the new queue.
 */
static void
test_index_declared_meanwhile(void **state)
{
	struct test_spool *f = *state;
	int n = 0;

	assert_int_equal(declare(f->sp, "a", MQ_QDURABLE, NULL), MQ_OK);
	assert_int_equal(declare(f->sp, "gone", MQ_QDURABLE, NULL), MQ_OK);
	assert_int_equal(mq_stream_remove(f->sp, "gone"), MQ_OK);
	race_dir = f->dir;
	when_missing = gone_declared;
	assert_int_equal(mq_queues(f->sp, count_any, &n), MQ_OK);
	assert_null(when_missing);
	n = 0;
	assert_int_equal(mq_queues(f->sp, count_any, &n), MQ_OK);
	assert_int_equal(n, 2);
}

static void
write_decl(const char *dir, const char *name, const char *text)
{
	char path[4096];

	snprintf(path, sizeof(path), "streams/%s/decl", name);
	test_write_file(dir, path, text);
}

/*
 * mq_queue_lookup of 'name' by a handle of its own: a handle gives the
 * declaration it read last again until libmq changes one, and these
 * files are changed behind its back.  The handle is left in '*sp'.
 */
static int
lookup_fresh(const char *dir, const char *name, mq_spool **sp,
    struct mq_queue *cur)
{
	assert_int_equal(mq_spool_open(dir, 0, sp), MQ_OK);
	return mq_queue_lookup(*sp, name, cur);
}

static void
test_file_checked(void **state)
{
	static const struct {
		const char	*text;
		int		 rc;
	} files[] = {
		{ "version 2\n", MQ_EVERSION },
		{ "flags 1\n", MQ_ECORRUPT },
		{ "version 1\nargs 0g\n", MQ_ECORRUPT },
		{ "version 1\nflags 99\n", MQ_ECORRUPT },
	};
	struct test_spool *f = *state;
	struct mq_queue cur;
	mq_spool *sp;
	size_t i;

	assert_int_equal(declare(f->sp, "q", MQ_QDURABLE, NULL), MQ_OK);
	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		write_decl(f->dir, "q", files[i].text);
		assert_int_equal(lookup_fresh(f->dir, "q", &sp, &cur),
		    files[i].rc);
		mq_spool_close(sp);
	}
	write_decl(f->dir, "q", "version 1\nflags 5\nargs 6869\nnewer x\n");
	assert_int_equal(lookup_fresh(f->dir, "q", &sp, &cur), MQ_OK);
	assert_int_equal(cur.flags, 5);
	assert_memory_equal(cur.args, "hi", 2);
	mq_spool_close(sp);
}

/* A handle's lookups see what another handle declared or removed. */
static void
test_lookup_sees_others(void **state)
{
	struct test_spool *f = *state;
	struct mq_queue cur;
	mq_spool *other;

	assert_int_equal(declare(f->sp, "q", MQ_QDURABLE, NULL), MQ_OK);
	assert_int_equal(mq_queue_lookup(f->sp, "q", &cur), MQ_OK);
	assert_int_equal(cur.flags, MQ_QDURABLE);
	assert_int_equal(mq_queue_lookup(f->sp, "q", &cur), MQ_OK);
	assert_int_equal(mq_spool_open(f->dir, 0, &other), MQ_OK);
	assert_int_equal(mq_stream_remove(other, "q"), MQ_OK);
	assert_int_equal(mq_queue_lookup(f->sp, "q", &cur), MQ_ENOSTREAM);
	assert_int_equal(declare(other, "q", MQ_QDURABLE | MQ_QAUTODELETE,
	    NULL), MQ_OK);
	assert_int_equal(mq_queue_lookup(f->sp, "q", &cur), MQ_OK);
	assert_int_equal(cur.flags, MQ_QDURABLE | MQ_QAUTODELETE);
	mq_spool_close(other);
}

static void
test_bad_arguments(void **state)
{
	struct test_spool *f = *state;
	char holder[MQ_QHOLDER_MAX + 1];
	struct mq_queue q = queue("q", 0x40, NULL, NULL);

	assert_int_equal(mq_queue_declare(f->sp, &q, 0, NULL, NULL), MQ_EINVAL);
	q = queue("q", 0, NULL, NULL);
	assert_int_equal(mq_queue_declare(f->sp, &q, 0x2, NULL, NULL),
	    MQ_EINVAL);
	memset(holder, 'h', sizeof(holder) - 1);
	holder[sizeof(holder) - 1] = '\0';
	q.holder = holder;
	assert_int_equal(mq_queue_declare(f->sp, &q, 0, NULL, NULL), MQ_EINVAL);
	q = queue("", 0, NULL, NULL);
	assert_int_equal(mq_queue_declare(f->sp, &q, 0, NULL, NULL),
	    MQ_EBADNAME);
}

/* The reject overflow: an append past max-len is refused, whole. */
static void
test_overflow_reject(void **state)
{
	struct test_spool *f = *state;
	struct mq_msg m[2] = { test_body("a"), test_body("b") };
	struct mq_stream_info si;
	struct mq_policy p;
	mq_stream *st;

	assert_int_equal(mq_stream_open(f->sp, "r", MQ_CREATE, &st), MQ_OK);
	assert_int_equal(mq_policy_get(st, &p), MQ_OK);
	p.max_len = 3;
	p.overflow = MQ_OVERFLOW_REJECT;
	assert_int_equal(mq_policy_set(st, &p), MQ_OK);
	assert_int_equal(mq_append(st, m, 2, NULL, NULL), MQ_OK);
	assert_int_equal(mq_append(st, m, 2, NULL, NULL), MQ_EFULL);
	assert_int_equal(mq_append(st, m, 1, NULL, NULL), MQ_OK);
	assert_int_equal(mq_append(st, m, 1, NULL, NULL), MQ_EFULL);
	assert_int_equal(mq_stream_info(st, &si), MQ_OK);
	assert_int_equal(si.length, 3);
	mq_stream_close(st);
	/* Kept in the meta file. */
	assert_int_equal(mq_stream_open(f->sp, "r", 0, &st), MQ_OK);
	assert_int_equal(mq_policy_get(st, &p), MQ_OK);
	assert_int_equal(p.overflow, MQ_OVERFLOW_REJECT);
	p.overflow = 7;
	assert_int_equal(mq_policy_set(st, &p), MQ_EINVAL);
	mq_stream_close(st);
}

/*
 * Logs one message to transient queue 'name' of 'sp', declared there:
 * a server's publish, through the write-ahead log, not applied yet.
 */
static int
declare_logged(mq_spool *sp, const char *name)
{
	struct mq_msg m = { .body = "logged", .bodylen = 6 };
	mq_stream *st;
	int rc;

	if (declare(sp, name, 0, NULL) != MQ_OK ||
	    mq_stream_open(sp, name, 0, &st) != MQ_OK)
		return 1;
	rc = mq_wal_note(st);
	mq_stream_close(st);
	if (rc != MQ_OK || mq_wal_begin(sp) != MQ_OK)
		return 1;
	rc = mq_wal_append(sp, name, &m, 1, NULL);
	return (mq_wal_commit(sp) != MQ_OK || rc != MQ_OK);
}

static int
declare_logged_t1(void *dir)
{
	mq_spool *sp;

	return mq_spool_open(dir, 0, &sp) != MQ_OK ||
	    declare_logged(sp, "t1") != 0;
}

static int
lookup_t1_gone(mq_spool *sp)
{
	return mq_queue_lookup(sp, "t1", NULL) != MQ_ENOSTREAM;
}

static int
sweep_one_gone(mq_spool *sp)
{
	size_t removed;

	return mq_queue_sweep(sp, &removed) != MQ_OK || removed != 1;
}

static int
close_logged(mq_spool *sp)
{
	if (declare_logged(sp, "t3") != 0)
		return 1;
	mq_spool_close(sp);
	return 0;
}

/*
 * An orphan made by its declare, with batches in the write-ahead log:
 * its removal gives it them first (mq_stream_remove), which takes the
 * stream's lock; the removal must not hold that lock already.  Found
 * by a lookup, by a sweep, and the handle's own queue at its close.
 */
static void
test_orphan_logged(void **state)
{
	struct test_spool *f = *state;
	pid_t pid;
	int hold;

	pid = test_fork_waiting(declare_logged_t1, f->dir, &hold);
	test_kill_child(pid, hold);
	bounded(f->dir, lookup_t1_gone);
	assert_false(stream_exists(f->sp, "t1"));

	pid = test_fork_waiting(declare_logged_t1, f->dir, &hold);
	test_kill_child(pid, hold);
	bounded(f->dir, sweep_one_gone);
	assert_false(stream_exists(f->sp, "t1"));

	bounded(f->dir, close_logged);
	assert_false(stream_exists(f->sp, "t3"));
}


int
main(void)
{
	const struct CMUnitTest tests[] = {
		TEST_ON_SPOOL(test_declare_and_redeclare),
		TEST_ON_SPOOL(test_passive),
		TEST_ON_SPOOL(test_stream_before),
		TEST_ON_SPOOL(test_exclusive),
		TEST_ON_SPOOL(test_transient_closed),
		TEST_ON_SPOOL(test_transient_killed),
		TEST_ON_SPOOL(test_redeclare_orphan),
		TEST_ON_SPOOL(test_orphan_taken_meanwhile),
		TEST_ON_SPOOL(test_declare_after_removal),
		TEST_ON_SPOOL(test_orphan_logged),
		TEST_ON_SPOOL(test_forked_child),
		TEST_ON_SPOOL(test_list),
		TEST_ON_SPOOL(test_index),
		TEST_ON_SPOOL(test_index_declared_meanwhile),
		TEST_ON_SPOOL(test_lookup_sees_others),
		TEST_ON_SPOOL(test_file_checked),
		TEST_ON_SPOOL(test_bad_arguments),
		TEST_ON_SPOOL(test_overflow_reject),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
