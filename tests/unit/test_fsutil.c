/*
 * test_fsutil.c - the checked file helpers, and the error strings of
 * err.c that their failures are reported with.
 */
#include <sys/file.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <time.h>

#include "helpers.h"

#include "internal.h"

static int
setup(void **state)
{
	*state = test_tmpdir();
	return 0;
}

static int
teardown(void **state)
{
	test_rmdir(*state);
	return 0;
}

/* "dir/name" into a static buffer (one at a time). */
static const char *
path(void **state, const char *name)
{
	static char buf[4096];

	snprintf(buf, sizeof(buf), "%s/%s", (const char *)*state, name);
	return buf;
}

static int
exists(const char *p)
{
	struct stat st;

	return lstat(p, &st) == 0;
}

static void
write_file(const char *p, const char *s)
{
	int fd;

	assert_true((fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644)) != -1);
	assert_int_equal(mq_write_all(fd, s, strlen(s)), MQ_OK);
	assert_int_equal(close(fd), 0);
}

static void
assert_file(const char *p, const char *want)
{
	size_t len;
	char *buf;

	assert_int_equal(mq_read_file(p, &buf, &len), MQ_OK);
	assert_int_equal(len, strlen(want));
	assert_string_equal(buf, want);
	free(buf);
}

static void
test_write_pread(void **state)
{
	char buf[64];
	int fd;

	assert_true((fd = open(path(state, "f"), O_RDWR | O_CREAT, 0644)) != -1);
	assert_int_equal(mq_write_all(fd, "hello world", 11), MQ_OK);
	assert_int_equal(mq_pwrite_all(fd, "W", 1, 6), MQ_OK);
	assert_int_equal(mq_pwrite_all(fd, "!!", 2, 11), MQ_OK);
	assert_int_equal(mq_write_all(fd, "", 0), MQ_OK);

	assert_int_equal(mq_pread_all(fd, buf, 13, 0), 13);
	assert_memory_equal(buf, "hello World!!", 13);
	/* Short only at end of file. */
	assert_int_equal(mq_pread_all(fd, buf, sizeof(buf), 6), 7);
	assert_memory_equal(buf, "World!!", 7);
	assert_int_equal(mq_pread_all(fd, buf, sizeof(buf), 100), 0);
	close(fd);

	errno = 0;
	assert_int_equal(mq_pread_all(fd, buf, 1, 0), -1);
	assert_int_equal(errno, EBADF);
	assert_int_equal(mq_write_all(fd, "x", 1), MQ_ESYS);
	assert_int_equal(errno, EBADF);
	assert_int_equal(mq_pwrite_all(fd, "x", 1, 0), MQ_ESYS);
}

static void
test_replace_file(void **state)
{
	char p[4096], tmp[4096 + 8], got[8];
	int fd;

	snprintf(p, sizeof(p), "%s", path(state, "meta"));
	snprintf(tmp, sizeof(tmp), "%s.tmp", p);

	assert_int_equal(mq_replace_file(p, "one\n", 4), MQ_OK);
	assert_file(p, "one\n");
	assert_false(exists(tmp));
	assert_int_equal(mq_replace_file(p, "two, longer\n", 12), MQ_OK);
	assert_file(p, "two, longer\n");
	assert_false(exists(tmp));
	assert_int_equal(mq_replace_file(p, "", 0), MQ_OK);
	assert_file(p, "");

	/*
	 * A stale tmp that is a hard link to the live file: it must be
	 * removed, not written through, so the old inode keeps its bytes.
	 */
	assert_int_equal(mq_replace_file(p, "old", 3), MQ_OK);
	assert_true((fd = open(p, O_RDONLY)) != -1);
	assert_int_equal(link(p, tmp), 0);
	assert_int_equal(mq_replace_file(p, "new", 3), MQ_OK);
	assert_file(p, "new");
	assert_false(exists(tmp));
	assert_int_equal(mq_pread_all(fd, got, sizeof(got), 0), 3);
	assert_memory_equal(got, "old", 3);
	close(fd);

	/* A plain stale tmp is replaced too. */
	write_file(tmp, "garbage");
	assert_int_equal(mq_replace_file(p, "fresh", 5), MQ_OK);
	assert_file(p, "fresh");
	assert_false(exists(tmp));
}

static void
test_replace_file_fails(void **state)
{
	char p[4096], tmp[4096 + 8];

	/* The rename fails (a non-empty directory is in the way): no tmp left. */
	snprintf(p, sizeof(p), "%s", path(state, "d"));
	snprintf(tmp, sizeof(tmp), "%s.tmp", p);
	assert_int_equal(mkdir(p, 0755), 0);
	write_file(path(state, "d/x"), "x");
	assert_int_equal(mq_replace_file(p, "data", 4), MQ_ESYS);
	assert_false(exists(tmp));
	assert_file(path(state, "d/x"), "x");

	/* The directory is missing. */
	assert_int_equal(mq_replace_file(path(state, "no/such"), "x", 1),
	    MQ_ESYS);
	assert_int_equal(errno, ENOENT);
	assert_string_equal(mq_strerror(MQ_ESYS), strerror(ENOENT));
}

/*
 * mq_put_file's ways: linked only if the name is free, the new file kept
 * open and locked before it is in place, read-only if asked, and no
 * temporary left by a failure.
 */
static void
test_put_file(void **state)
{
	struct stat st;
	char got[8];
	int dirfd, fd, other;

	assert_true((dirfd = open(*state, O_RDONLY | O_DIRECTORY)) != -1);

	/* MQ_PUT_EXCL: the first one wins, the second changes nothing. */
	assert_int_equal(mq_put_file(dirfd, "t", "f", "one", 3, MQ_PUT_EXCL,
	    NULL), MQ_OK);
	assert_int_equal(mq_put_file(dirfd, "t", "f", "two", 3, MQ_PUT_EXCL,
	    NULL), MQ_EEXIST);
	assert_file(path(state, "f"), "one");
	assert_false(exists(path(state, "t")));

	/* Kept open, for reading and writing, and locked when in place. */
	assert_int_equal(mq_put_file(dirfd, "t", "f", "three", 5,
	    MQ_PUT_LOCK_EX, &fd), MQ_OK);
	assert_file(path(state, "f"), "three");
	assert_false(exists(path(state, "t")));
	assert_true((other = open(path(state, "f"), O_RDONLY)) != -1);
	assert_int_equal(flock(other, LOCK_SH | LOCK_NB), -1);
	assert_int_equal(errno, EWOULDBLOCK);
	assert_int_equal(mq_pwrite_all(fd, "T", 1, 0), MQ_OK);
	assert_int_equal(mq_pread_all(other, got, sizeof(got), 0), 5);
	assert_memory_equal(got, "Three", 5);
	close(fd);
	assert_int_equal(flock(other, LOCK_EX | LOCK_NB), 0);
	close(other);

	/* Shared, read-only, empty: another holder may share it. */
	assert_int_equal(mq_put_file(dirfd, "t", "f", NULL, 0,
	    MQ_PUT_RDONLY | MQ_PUT_LOCK_SH | MQ_PUT_NOSYNC, &fd), MQ_OK);
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal(st.st_size, 0);
	assert_int_equal(write(fd, "x", 1), -1);
	assert_true((other = open(path(state, "f"), O_RDONLY)) != -1);
	assert_int_equal(flock(other, LOCK_SH | LOCK_NB), 0);
	assert_int_equal(flock(other, LOCK_EX | LOCK_NB), -1);
	close(other);
	close(fd);

	/* A failed rename (a non-empty directory in the way): '*fd' -1. */
	assert_int_equal(mkdirat(dirfd, "d", 0755), 0);
	write_file(path(state, "d/x"), "x");
	fd = 7;
	assert_int_equal(mq_put_file(dirfd, "t", "d", "data", 4,
	    MQ_PUT_LOCK_EX, &fd), MQ_ESYS);
	assert_int_equal(fd, -1);
	assert_false(exists(path(state, "t")));
	close(dirfd);
}

static void
test_read_file(void **state)
{
	unsigned char data[100000];
	size_t i, len = 7;
	char *buf = (char *)&len;

	for (i = 0; i < sizeof(data); i++)
		data[i] = i * 7 + (i >> 8);
	assert_int_equal(mq_replace_file(path(state, "big"), data,
	    sizeof(data)), MQ_OK);
	assert_int_equal(mq_read_file(path(state, "big"), &buf, &len), MQ_OK);
	assert_int_equal(len, sizeof(data));
	assert_memory_equal(buf, data, sizeof(data));
	assert_int_equal(buf[len], '\0');
	free(buf);

	/* Embedded NULs are kept; the length is optional. */
	assert_int_equal(mq_replace_file(path(state, "nul"), "a\0b", 3), MQ_OK);
	assert_int_equal(mq_read_file(path(state, "nul"), &buf, &len), MQ_OK);
	assert_int_equal(len, 3);
	assert_memory_equal(buf, "a\0b", 4);
	free(buf);
	assert_int_equal(mq_read_file(path(state, "nul"), &buf, NULL), MQ_OK);
	free(buf);

	/* A file of /proc reports size 0 but has contents. */
	assert_int_equal(mq_read_file("/proc/self/status", &buf, &len), MQ_OK);
	assert_true(len > 0);
	assert_int_equal(strlen(buf), len);
	free(buf);

	buf = NULL;
	assert_int_equal(mq_read_file(path(state, "missing"), &buf, &len),
	    MQ_ESYS);
	assert_int_equal(errno, ENOENT);
	assert_null(buf);
}

static void
test_mkdir_fsync_dir(void **state)
{
	struct stat st;

	assert_int_equal(mq_mkdir(path(state, "a")), MQ_OK);
	assert_int_equal(stat(path(state, "a"), &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(mq_mkdir(path(state, "a")), MQ_OK);	/* exists */
	assert_int_equal(mq_mkdir(path(state, "a/b/")), MQ_OK);
	assert_true(exists(path(state, "a/b")));

	write_file(path(state, "file"), "x");
	assert_int_equal(mq_mkdir(path(state, "file")), MQ_ESYS);
	assert_int_equal(errno, ENOTDIR);
	assert_int_equal(mq_mkdir(path(state, "no/such")), MQ_ESYS);
	assert_int_equal(errno, ENOENT);

	assert_int_equal(mq_fsync_dir(*state), MQ_OK);
	assert_int_equal(mq_fsync_dir(path(state, "missing")), MQ_ESYS);
	assert_int_equal(mq_fsync_dir(path(state, "file")), MQ_ESYS);
	assert_int_equal(errno, ENOTDIR);
}

static void
test_rmtree(void **state)
{
	char top[4096];

	snprintf(top, sizeof(top), "%s", path(state, "t"));
	assert_int_equal(mkdir(top, 0755), 0);
	assert_int_equal(mkdir(path(state, "t/a"), 0755), 0);
	assert_int_equal(mkdir(path(state, "t/a/b"), 0755), 0);
	assert_int_equal(mkdir(path(state, "t/a/b/c"), 0755), 0);
	assert_int_equal(mkdir(path(state, "t/empty"), 0755), 0);
	write_file(path(state, "t/f"), "1");
	write_file(path(state, "t/a/f"), "2");
	write_file(path(state, "t/a/b/c/f"), "3");
	write_file(path(state, "t/.hidden"), "4");
	assert_int_equal(chmod(path(state, "t/a/f"), 0), 0);

	/* Links out of the tree: removed, their targets kept. */
	assert_int_equal(mkdir(path(state, "keep"), 0755), 0);
	write_file(path(state, "keep/precious"), "p");
	assert_int_equal(symlink("../keep", path(state, "t/dirlink")), 0);
	assert_int_equal(symlink("../../keep/precious",
	    path(state, "t/a/filelink")), 0);
	assert_int_equal(symlink("nowhere", path(state, "t/a/b/dangling")), 0);

	assert_int_equal(mq_rmtree(top), MQ_OK);
	assert_false(exists(top));
	assert_file(path(state, "keep/precious"), "p");

	/* Missing: ENOENT. */
	assert_int_equal(mq_rmtree(top), MQ_ESYS);
	assert_int_equal(errno, ENOENT);

	/* A symbolic link to a directory: only the link goes. */
	assert_int_equal(symlink("keep", path(state, "link")), 0);
	assert_int_equal(mq_rmtree(path(state, "link")), MQ_OK);
	assert_false(exists(path(state, "link")));
	assert_file(path(state, "keep/precious"), "p");

	/* A plain file. */
	assert_int_equal(mq_rmtree(path(state, "keep/precious")), MQ_OK);
	assert_false(exists(path(state, "keep/precious")));
	assert_int_equal(mq_rmtree(path(state, "keep")), MQ_OK);
	assert_false(exists(path(state, "keep")));
}

/* The same relative to a directory descriptor, as stream removal does. */
static void
test_rmtree_at(void **state)
{
	int dfd;

	assert_true((dfd = open(*state, O_RDONLY | O_DIRECTORY)) != -1);
	assert_int_equal(mkdir(path(state, "s"), 0755), 0);
	assert_int_equal(mkdir(path(state, "s/groups"), 0755), 0);
	write_file(path(state, "s/00000000000000000000.log"), "log");
	write_file(path(state, "s/groups/g"), "g");
	write_file(path(state, "other"), "o");

	assert_int_equal(mq_rmtree_at(dfd, "s"), MQ_OK);
	assert_false(exists(path(state, "s")));
	assert_true(exists(path(state, "other")));
	assert_int_equal(mq_rmtree_at(dfd, "s"), MQ_ESYS);
	assert_int_equal(errno, ENOENT);
	assert_int_equal(mq_rmtree_at(dfd, "other"), MQ_OK);
	assert_false(exists(path(state, "other")));

	assert_int_equal(mq_fsync_dir_fd(dfd), MQ_OK);
	close(dfd);
	assert_int_equal(mq_fsync_dir_fd(dfd), MQ_ESYS);
	assert_int_equal(errno, EBADF);
}

static void
test_check_space(void **state)
{
	int fd;

	assert_true((fd = open(*state, O_RDONLY | O_DIRECTORY)) != -1);
	assert_int_equal(mq_check_space(fd, 0, 0), MQ_OK);
	assert_int_equal(mq_check_space(fd, 4096, 0), MQ_OK);
	assert_int_equal(mq_check_space(fd, 0, UINT64_MAX), MQ_ENOSPC);
	assert_int_equal(mq_check_space(fd, UINT64_MAX, 0), MQ_ENOSPC);
	/* len + reserve would wrap around: still too much. */
	assert_int_equal(mq_check_space(fd, UINT64_MAX / 2 + 2,
	    UINT64_MAX / 2 + 2), MQ_ENOSPC);
	assert_int_equal(mq_check_space(fd, 1, UINT64_MAX), MQ_ENOSPC);
	close(fd);
	assert_int_equal(mq_check_space(fd, 0, 0), MQ_ESYS);
	assert_int_equal(errno, EBADF);
	assert_string_equal(mq_strerror(MQ_ENOSPC), "not enough free disk space");
}

static int64_t
clock_now(clockid_t c)
{
	struct timespec ts;

	clock_gettime(c, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The clocks are read as clock_gettime(2) reads them, in milliseconds. */
static void
test_clocks(void **state)
{
	int64_t before, t, after;

	before = clock_now(CLOCK_REALTIME);
	t = mq_now_ms();
	after = clock_now(CLOCK_REALTIME);
	assert_true(before <= t && t <= after);
	assert_true(t > 1500000000000);		/* after 2017 */

	before = clock_now(CLOCK_MONOTONIC);
	t = mq_mono_ms();
	after = clock_now(CLOCK_MONOTONIC);
	assert_true(before <= t && t <= after);
	assert_true(mq_mono_ms() >= t);
}

/* ---- err.c */

static void
test_strerror(void **state)
{
	static const int codes[] = {
		MQ_OK, MQ_ENOSTREAM, MQ_ENOGROUP, MQ_EEXIST, MQ_EIDSMALL,
		MQ_EIDZERO, MQ_EBADID, MQ_ETOOBIG, MQ_ECORRUPT, MQ_ENOSPC,
		MQ_EBADNAME, MQ_EINVAL, MQ_EVERSION, MQ_ENOMSG, MQ_EWRONGTYPE,
		MQ_ENOEXCHANGE, MQ_ERESERVED, MQ_EINUSE, MQ_ELOCKED, MQ_EFULL,
	};
	size_t i, j;
	const char *s;

	assert_string_equal(mq_strerror(MQ_ENOSTREAM), "no such stream");
	assert_string_equal(mq_strerror(MQ_ENOGROUP), "no such consumer group");
	assert_string_equal(mq_strerror(MQ_EIDSMALL),
	    "the id is equal or smaller than the stream's top item");
	assert_string_equal(mq_strerror(MQ_EIDZERO),
	    "the id must be greater than 0-0");
	assert_string_equal(mq_strerror(MQ_ETOOBIG), "message too large");
	assert_string_equal(mq_strerror(1), "unknown error");
	assert_string_equal(mq_strerror(MQ_EFULL - 1), "unknown error");
	for (i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
		s = mq_strerror(codes[i]);
		assert_true(s[0] >= 'a' && s[0] <= 'z');
		assert_string_not_equal(s, "unknown error");
		for (j = 0; j < i; j++)
			assert_string_not_equal(s, mq_strerror(codes[j]));
	}
}

static void *
other_thread(void *arg)
{
	errno = EACCES;
	if (mq_sys() != MQ_ESYS)
		return "bad return";
	if (strcmp(mq_strerror(MQ_ESYS), strerror(EACCES)) != 0)
		return "bad message";
	return NULL;
}

/* mq_sys keeps errno, and the saved errno is per thread. */
static void
test_sys(void **state)
{
	pthread_t t;
	void *res;

	errno = ENOENT;
	assert_int_equal(mq_sys(), MQ_ESYS);
	assert_int_equal(errno, ENOENT);
	errno = 0;
	assert_string_equal(mq_strerror(MQ_ESYS), strerror(ENOENT));

	assert_int_equal(pthread_create(&t, NULL, other_thread, NULL), 0);
	assert_int_equal(pthread_join(t, &res), 0);
	if (res != NULL)
		fail_msg("other thread: %s", (char *)res);
	assert_string_equal(mq_strerror(MQ_ESYS), strerror(ENOENT));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_write_pread, setup, teardown),
		cmocka_unit_test_setup_teardown(test_replace_file, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_replace_file_fails, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_put_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_read_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mkdir_fsync_dir, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_rmtree, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rmtree_at, setup, teardown),
		cmocka_unit_test_setup_teardown(test_check_space, setup,
		    teardown),
		cmocka_unit_test(test_clocks),
		cmocka_unit_test(test_strerror),
		cmocka_unit_test(test_sys),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
