/*
 * helpers.h - what every cmocka unit test of libmq shares: the headers
 * cmocka needs, a fresh temporary directory per test, and messages.
 */
#ifndef MQ_TEST_HELPERS_H
#define MQ_TEST_HELPERS_H

#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "mq.h"

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

#endif /* MQ_TEST_HELPERS_H */
