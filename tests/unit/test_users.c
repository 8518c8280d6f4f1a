/*
 * test_users.c - mq-serve's users file (cmd/mq-serve/users.c): what a
 * file may hold (comments, blank lines, CRLF), each bad line refused with
 * its file:line, password checks against yescrypt and SHA-512 hashes
 * (right, wrong, unknown user, NUL, too long), and users_hash() output
 * that the loader takes and verifies.
 *
 * The two fixed hashes are of "sesame", made with Python's crypt module
 * (libxcrypt), so that the check does not depend on users_hash().
 */
#include "helpers.h"

#include "users.h"

#define SHA512_SESAME	"$6$mqtestsalt$/uKERq5YRH9GKcQOO3RCkuY4RR3/" \
	"rUCj2Lpgy5py5RJGjhK6Skr4ShHJSgqymtsriyFALWV2cm1YatiF5bVGi."
#define YESCRYPT_SESAME	"$y$j9T$mqtestsaltmqtestsalt$" \
	"acKB8cMpb5j8v6tav0GPS0uVZqDKcf8aHsTZpCOUGL9"

struct fixture {
	char	*dir;
	char	 path[4096];
	char	 err[512];
};

static int
setup(void **state)
{
	struct fixture *f;

	assert_non_null(f = calloc(1, sizeof(*f)));
	f->dir = test_tmpdir();
	snprintf(f->path, sizeof(f->path), "%s/users", f->dir);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	test_rmdir(f->dir);
	free(f);
	return 0;
}

/* Writes 'text' as the users file and loads it. */
static struct users *
load(struct fixture *f, const char *text)
{
	FILE *fp;

	assert_non_null(fp = fopen(f->path, "w"));
	assert_int_equal(fputs(text, fp) >= 0, 1);
	assert_int_equal(fclose(fp), 0);
	f->err[0] = '\0';
	return users_load(f->path, f->err, sizeof(f->err));
}

static int
verify(const struct users *u, const char *name, const char *pass)
{
	return users_verify(u, name, strlen(name), pass, strlen(pass));
}

/* The load fails, and the message is "path:LINE: ..." holding 'why'. */
static void
refused(struct fixture *f, const char *text, int line, const char *why)
{
	char want[4200];

	assert_null(load(f, text));
	snprintf(want, sizeof(want), "%s:%d: ", f->path, line);
	if (strncmp(f->err, want, strlen(want)) != 0 ||
	    strstr(f->err, why) == NULL)
		fail_msg("got \"%s\", want \"%s...%s...\"", f->err, want, why);
}

static void
test_load_and_verify(void **state)
{
	struct fixture *f = *state;
	struct users *u;

	u = load(f, "# users of mq-serve\n"
	    "\n"
	    "   \t\n"
	    "  # an indented comment\n"
	    "alice:" YESCRYPT_SESAME "\n"
	    "bob:" SHA512_SESAME "\r\n"
	    "carol:" SHA512_SESAME "  ");
	assert_non_null(u);
	assert_string_equal(f->err, "");
	assert_int_equal(users_count(u), 3);
	assert_true(verify(u, "alice", "sesame"));
	assert_true(verify(u, "bob", "sesame"));
	assert_true(verify(u, "carol", "sesame"));
	assert_false(verify(u, "alice", "Sesame"));
	assert_false(verify(u, "alice", "sesame "));
	assert_false(verify(u, "alice", ""));
	assert_false(verify(u, "bob", "sesam"));
	/* Names are case-sensitive; an unknown one never passes. */
	assert_false(verify(u, "Alice", "sesame"));
	assert_false(verify(u, "dave", "sesame"));
	assert_false(verify(u, "", "sesame"));
	/* The name is exactly 'namelen' bytes: no prefix, no NUL games. */
	assert_false(users_verify(u, "alicex", 6, "sesame", 6));
	assert_true(users_verify(u, "alicex", 5, "sesame", 6));
	assert_false(users_verify(u, "alice", 5, "sesame\0x", 8));
	users_free(u);
}

static void
test_long_passwords(void **state)
{
	struct fixture *f = *state;
	char pass[USERS_PASS_MAX + 2], line[512];
	struct users *u;
	char *hash;

	memset(pass, 'p', sizeof(pass));
	pass[USERS_PASS_MAX] = '\0';
	assert_non_null(hash = users_hash(pass));
	snprintf(line, sizeof(line), "long:%s\n", hash);
	free(hash);
	assert_non_null(u = load(f, line));
	assert_true(verify(u, "long", pass));
	/* One byte more is refused, by the hash and by the check. */
	pass[USERS_PASS_MAX] = 'p';
	pass[USERS_PASS_MAX + 1] = '\0';
	assert_false(verify(u, "long", pass));
	assert_null(users_hash(pass));
	users_free(u);
}

static void
test_hash_roundtrip(void **state)
{
	struct fixture *f = *state;
	char *h1, *h2, text[1024];
	struct users *u;

	assert_non_null(h1 = users_hash("open sesame"));
	assert_non_null(h2 = users_hash("open sesame"));
	/* yescrypt where libcrypt has it (Debian's does), else SHA-512. */
	assert_true(strncmp(h1, "$y$", 3) == 0 || strncmp(h1, "$6$", 3) == 0);
	/* A new salt each time. */
	assert_string_not_equal(h1, h2);
	snprintf(text, sizeof(text), "default:%s\nother:%s\n", h1, h2);
	assert_non_null(u = load(f, text));
	assert_true(verify(u, "default", "open sesame"));
	assert_true(verify(u, "other", "open sesame"));
	assert_false(verify(u, "default", "open  sesame"));
	users_free(u);
	free(h1);
	free(h2);
}

static void
test_empty_file(void **state)
{
	struct fixture *f = *state;
	struct users *u;

	/* Loads, and nobody can log in. */
	assert_non_null(u = load(f, "# nobody yet\n"));
	assert_int_equal(users_count(u), 0);
	assert_false(verify(u, "default", ""));
	assert_false(verify(u, "default", "sesame"));
	users_free(u);
	assert_non_null(u = load(f, ""));
	assert_int_equal(users_count(u), 0);
	users_free(u);
}

static void
test_bad_lines(void **state)
{
	struct fixture *f = *state;

	refused(f, "alice " SHA512_SESAME "\n", 1, "expected name:hash");
	refused(f, "# ok\nalice:" SHA512_SESAME "\nbob\n", 3,
	    "expected name:hash");
	refused(f, ":" SHA512_SESAME "\n", 1, "bad user name");
	refused(f, "al ice:" SHA512_SESAME "\n", 1, "bad user name");
	refused(f, "al\001ice:" SHA512_SESAME "\n", 1, "bad user name");
	refused(f, "alice:sesame\n", 1, "not a crypt(3) hash");
	refused(f, "alice:\n", 1, "not a crypt(3) hash");
	refused(f, "alice:$6$mqtestsalt$\n", 1, "not a crypt(3) hash");
	refused(f, "alice:$6$mqtestsalt$abc:def\n", 1, "not a crypt(3) hash");
	refused(f, "alice:" SHA512_SESAME " # comment\n", 1,
	    "not a crypt(3) hash");
	refused(f, "alice:$y$j9T$!!!!\n", 1, "not a crypt(3) hash");
	/* DES and MD5: libcrypt knows them, mq takes neither. */
	refused(f, "alice:abnqrLigH.z/s\n", 1, "not a crypt(3) hash");
	refused(f, "alice:$1$abc$sKfFU11LnpAPFKwjSiE7b1\n", 1,
	    "legacy hash method");
	refused(f, "alice:" SHA512_SESAME "\nbob:" SHA512_SESAME "\n"
	    "alice:" YESCRYPT_SESAME "\n", 3, "duplicate user (first on line 1)");
}

static void
test_name_limits(void **state)
{
	struct fixture *f = *state;
	char name[USERS_NAME_MAX + 2], text[1024];
	struct users *u;

	memset(name, 'n', sizeof(name));
	name[USERS_NAME_MAX] = '\0';
	assert_true(users_name_ok(name, strlen(name)));
	snprintf(text, sizeof(text), "%s:%s\n", name, SHA512_SESAME);
	assert_non_null(u = load(f, text));
	assert_true(verify(u, name, "sesame"));
	users_free(u);
	name[USERS_NAME_MAX] = 'n';
	name[USERS_NAME_MAX + 1] = '\0';
	assert_false(users_name_ok(name, strlen(name)));
	snprintf(text, sizeof(text), "%s:%s\n", name, SHA512_SESAME);
	refused(f, text, 1, "bad user name");
	assert_true(users_name_ok("a", 1));
	assert_true(users_name_ok("app-1.prod@eu_west", 18));
	assert_false(users_name_ok("", 0));
	assert_false(users_name_ok("a:b", 3));
	assert_false(users_name_ok("a\tb", 3));
	assert_false(users_name_ok("caf\xc3\xa9", 5));
}

static void
test_missing_file(void **state)
{
	struct fixture *f = *state;
	char want[4200];

	assert_null(users_load(f->path, f->err, sizeof(f->err)));
	snprintf(want, sizeof(want), "%s: No such file or directory", f->path);
	assert_string_equal(f->err, want);
	assert_int_equal(users_count(NULL), 0);
	assert_false(users_verify(NULL, "a", 1, "b", 1));
	users_free(NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_load_and_verify, setup, teardown),
		cmocka_unit_test_setup_teardown(test_long_passwords, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hash_roundtrip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_empty_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_lines, setup, teardown),
		cmocka_unit_test_setup_teardown(test_name_limits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_missing_file, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
