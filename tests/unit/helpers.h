/*
 * helpers.h - what every cmocka unit test of libmq shares: the headers
 * cmocka needs, inputs for the parsers' tests, a fresh temporary
 * directory per test, messages, and a reader that may only read.
 */
#ifndef MQ_TEST_HELPERS_H
#define MQ_TEST_HELPERS_H

#include <ftw.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <grp.h>
#include <pwd.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "mq.h"

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))
/* Input from a string literal, which may hold NULs: its bytes, its length. */
#define IN(s)	s, sizeof(s) - 1

/*
 * A malloc'd copy of 'len' bytes of 's' in a buffer of exactly that size,
 * so that ASan catches a parser reading past the end of its input.
 */
static inline char *
test_dup_bytes(const char *s, size_t len)
{
	char *b;

	assert_non_null(b = malloc(len > 0 ? len : 1));
	memcpy(b, s, len);
	return b;
}

/*
 * Maps a readable page followed by an unreadable one and returns the end
 * of the first: input copied to just before it cannot be read past
 * without a fault.  test_guard_free() unmaps both.
 */
static inline char *
test_guard_page(void)
{
	size_t pg = (size_t)sysconf(_SC_PAGESIZE);
	char *map;

	map = mmap(NULL, 2 * pg, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(map != MAP_FAILED);
	assert_int_equal(mprotect(map + pg, pg, PROT_NONE), 0);
	return map + pg;
}

static inline void
test_guard_free(char *end)
{
	size_t pg = (size_t)sysconf(_SC_PAGESIZE);

	munmap(end - pg, 2 * pg);
}

/*
 * Makes a new empty directory under $TMPDIR (or /tmp) and returns its
 * malloc'd path; fails the test if it cannot.
 */
static inline char *
test_tmpdir(void)
{
	const char *base = getenv("TMPDIR");
	char *path;

	if (base == NULL || *base == '\0')
		base = "/tmp";
	assert_true(asprintf(&path, "%s/mq-test.XXXXXX", base) != -1);
	assert_non_null(mkdtemp(path));
	return path;
}

static inline int
test_rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

/* Removes the tree 'path' (links not followed) and frees 'path'. */
static inline void
test_rmdir(char *path)
{
	if (path == NULL)
		return;
	assert_int_equal(nftw(path, test_rm_one, 16, FTW_DEPTH | FTW_PHYS), 0);
	free(path);
}

/*
 * A fresh spool in a temporary directory per test: cmocka's setup and
 * teardown of a 'struct test_spool' state.
 */
struct test_spool {
	char		*dir;
	mq_spool	*sp;
};

static inline int
test_spool_setup(void **state)
{
	struct test_spool *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->dir = test_tmpdir();
	assert_int_equal(mq_spool_open(f->dir, MQ_CREATE, &f->sp), MQ_OK);
	*state = f;
	return 0;
}

static inline int
test_spool_teardown(void **state)
{
	struct test_spool *f = *state;

	mq_spool_close(f->sp);
	test_rmdir(f->dir);
	free(f);
	return 0;
}

/* A test of a spool of its own, in a cmocka test list. */
#define TEST_ON_SPOOL(fn) \
	cmocka_unit_test_setup_teardown(fn, test_spool_setup, \
	    test_spool_teardown)

/* A message with the body 'text' (not copied) and nothing else. */
static inline struct mq_msg
test_body(const char *text)
{
	struct mq_msg m;

	memset(&m, 0, sizeof(m));
	m.body = text;
	m.bodylen = strlen(text);
	return m;
}

/* Writes 'text' as file 'name' of directory 'dir' (made or replaced). */
static inline void
test_write_file(const char *dir, const char *name, const char *text)
{
	char path[4096];
	FILE *fp;

	assert_true(snprintf(path, sizeof(path), "%s/%s", dir, name) <
	    (int)sizeof(path));
	assert_non_null(fp = fopen(path, "w"));
	fputs(text, fp);
	assert_int_equal(fclose(fp), 0);
}

/* Waits for child 'pid', which must have exited 0 (passed its checks). */
static inline void
test_wait_ok(pid_t pid)
{
	int status;

	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

/*
 * Forks a child that runs 'fn' with 'arg', which must return 0, says so,
 * and waits to be killed.  '*hold' keeps it waiting: were the test to
 * fail before it kills it, it goes with the test's process.
 */
static inline pid_t
test_fork_waiting(int (*fn)(void *), void *arg, int *hold)
{
	int ready[2], wait[2];
	pid_t pid;
	char c;

	assert_int_equal(pipe(ready), 0);
	assert_int_equal(pipe(wait), 0);
	assert_true((pid = fork()) != -1);
	if (pid == 0) {
		close(ready[0]);
		close(wait[1]);
		if (fn(arg) != 0 || write(ready[1], "y", 1) != 1)
			_exit(1);
		(void)read(wait[0], &c, 1);
		_exit(0);
	}
	close(ready[1]);
	close(wait[0]);
	*hold = wait[1];
	assert_int_equal(read(ready[0], &c, 1), 1);
	close(ready[0]);
	return pid;
}

/* Kills child 'pid' of test_fork_waiting() and lets go of its 'hold'. */
static inline void
test_kill_child(pid_t pid, int hold)
{
	int status;

	assert_int_equal(kill(pid, SIGKILL), 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status));
	close(hold);
}

/*
 * A reader that may only read the spool: as root, whom modes do not
 * stop, it is a child that becomes nobody (test_become_reader), and the
 * spool, made where nobody reaches it (test_tmpdir_shared), keeps
 * libmq's modes (755 and 644); as another user, the spool's tree loses
 * its write bits while the reader runs (test_seal), and the reader is a
 * child of the same user.
 */
static inline char *
test_tmpdir_shared(void)
{
	char *path;

	if (geteuid() != 0)
		return test_tmpdir();
	/* $TMPDIR may be private. */
	assert_non_null(path = strdup("/tmp/mq-test.XXXXXX"));
	assert_non_null(mkdtemp(path));
	assert_int_equal(chmod(path, 0755), 0);
	return path;
}

static inline int
test_no_write(const char *path, const struct stat *st, int flag,
    struct FTW *ftw)
{
	return chmod(path, st->st_mode & 07777 & ~0222);
}

static inline int
test_owner_writes(const char *path, const struct stat *st, int flag,
    struct FTW *ftw)
{
	return chmod(path, (st->st_mode & 07777) | 0200);
}

/* Takes the write bits away from the tree 'dir' ('sealed'), or gives the owner's back. */
static inline void
test_seal(const char *dir, int sealed)
{
	if (geteuid() != 0)
		assert_int_equal(nftw(dir, sealed ? test_no_write :
		    test_owner_writes, 16, FTW_PHYS), 0);
}

/* In the reader's child: becomes nobody if root; 0, or -1. */
static inline int
test_become_reader(void)
{
	struct passwd *pw;

	if (geteuid() != 0)
		return 0;
	if ((pw = getpwnam("nobody")) == NULL || setgroups(0, NULL) == -1 ||
	    setgid(pw->pw_gid) == -1 || setuid(pw->pw_uid) == -1)
		return -1;
	return 0;
}

#endif /* MQ_TEST_HELPERS_H */
