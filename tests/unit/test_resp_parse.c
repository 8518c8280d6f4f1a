/*
 * test_resp_parse.c - the Redis request parser: multibulk and inline
 * requests, every byte boundary of each, pipelining, binary bulks,
 * sdssplitargs() quoting, every protocol error with Redis's text, the
 * limits and the caps before AUTH.
 *
 * Every input is copied into a buffer of exactly its size, so that ASan
 * catches a read past its end, and every argument must point into it.
 */
#include <limits.h>

#include "helpers.h"

#include "resp/parse.h"

struct want {
	const char	*s;
	size_t		 len;
};
#define W(s)	{ s, sizeof(s) - 1 }

static int
setup(void **state)
{
	struct resp_parser *p;

	assert_non_null(p = malloc(sizeof(*p)));
	resp_parser_init(p);
	p->authenticated = 1;
	*state = p;
	return 0;
}

static int
teardown(void **state)
{
	resp_parser_free(*state);
	free(*state);
	return 0;
}

/* Checks the arguments of a request that used 'used' bytes of 'buf'. */
static void
check_args(const struct resp_parser *p, const char *buf, ssize_t used,
    size_t argc, const struct want *want, size_t nwant)
{
	const struct resp_arg *a;
	size_t i;

	assert_int_equal(argc, nwant);
	for (i = 0; i < argc; i++) {
		a = &p->args[i];
		if (a->p < buf || a->p > buf + used ||
		    a->len > (size_t)(buf + used - a->p))
			fail_msg("arg %zu lies outside the request", i);
		if (a->len != want[i].len ||
		    memcmp(a->p, want[i].s, a->len) != 0)
			fail_msg("arg %zu: got \"%.*s\" (%zu), want \"%.*s\" "
			    "(%zu)", i, (int)a->len, a->p, a->len,
			    (int)want[i].len, want[i].s, want[i].len);
	}
}

/*
 * Parses the whole request 'in' ('len' bytes) and checks its arguments;
 * then that each shorter prefix needs more and is left as it was, and
 * that bytes following the request change nothing.
 */
static void
expect_ok(struct resp_parser *p, const char *in, size_t len,
    const struct want *want, size_t nwant)
{
	static const char next[] = "*1\r\n$4\r\nPING\r\n";
	size_t argc, k, step;
	ssize_t n;
	char *buf;

	buf = test_dup_bytes(in, len);
	n = resp_parse(p, buf, len, &argc);
	if (n != (ssize_t)len)
		fail_msg("parse returned %zd (%s), want %zu", n,
		    p->error ? p->error : "no error", len);
	assert_null(p->error);
	check_args(p, buf, n, argc, want, nwant);
	free(buf);

	/* Long requests: some prefixes only. */
	step = len <= 4096 ? 1 : len / 7;
	for (k = 0; k < len; k += step) {
		buf = test_dup_bytes(in, k);
		n = resp_parse(p, buf, k, &argc);
		if (n != 0)
			fail_msg("prefix of %zu bytes: %zd (%s), want 0", k, n,
			    p->error ? p->error : "no error");
		assert_int_equal(argc, 0);
		assert_memory_equal(buf, in, k);
		free(buf);
	}
	buf = test_dup_bytes(in, len - 1);
	assert_int_equal(resp_parse(p, buf, len - 1, &argc), 0);
	free(buf);

	assert_non_null(buf = malloc(len + sizeof(next)));
	memcpy(buf, in, len);
	memcpy(buf + len, next, sizeof(next));
	n = resp_parse(p, buf, len + sizeof(next), &argc);
	assert_int_equal(n, len);
	check_args(p, buf, n, argc, want, nwant);
	free(buf);
}

#define EXPECT_OK(p, in, ...) do {					\
	static const struct want w_[] = { __VA_ARGS__ };		\
	expect_ok(p, IN(in), w_, NELEM(w_));				\
} while (0)
#define EXPECT_EMPTY(p, in)	expect_ok(p, IN(in), NULL, 0)

/* Parses 'in' and checks the error 'msg'; the bytes are left as they were. */
static void
expect_err(struct resp_parser *p, const char *in, size_t len,
    const char *msg)
{
	size_t argc;
	ssize_t n;
	char *buf;

	buf = test_dup_bytes(in, len);
	n = resp_parse(p, buf, len, &argc);
	if (n != -1)
		fail_msg("parse of \"%.*s\" returned %zd, want -1 (%s)",
		    (int)(len < 60 ? len : 60), in, n, msg);
	assert_non_null(p->error);
	assert_string_equal(p->error, msg);
	assert_memory_equal(buf, in, len);
	free(buf);
}

#define EXPECT_ERR(p, in, msg)	expect_err(p, IN(in), msg)

/* Parses 'in' and checks that it needs more bytes. */
static void
expect_more(struct resp_parser *p, const char *in, size_t len)
{
	size_t argc;
	ssize_t n;
	char *buf;

	buf = test_dup_bytes(in, len);
	n = resp_parse(p, buf, len, &argc);
	if (n != 0)
		fail_msg("parse of \"%.*s\" returned %zd (%s), want 0",
		    (int)(len < 60 ? len : 60), in, n,
		    p->error ? p->error : "no error");
	free(buf);
}

#define EXPECT_MORE(p, in)	expect_more(p, IN(in))

#define E_MBULK_LEN	"Protocol error: invalid multibulk length"
#define E_MBULK_BIG	"Protocol error: too big mbulk count string"
#define E_MBULK_AUTH	"Protocol error: unauthenticated multibulk length"
#define E_BULK_LEN	"Protocol error: invalid bulk length"
#define E_BULK_BIG	"Protocol error: too big bulk count string"
#define E_BULK_AUTH	"Protocol error: unauthenticated bulk length"
#define E_INLINE_BIG	"Protocol error: too big inline request"
#define E_QUOTES	"Protocol error: unbalanced quotes in request"

/* ---- Valid requests. */

static void
test_init_defaults(void **state)
{
	struct resp_parser p;

	resp_parser_init(&p);
	assert_int_equal(p.max_args, 1024 * 1024);
	assert_int_equal(p.max_bulk, 512UL * 1024 * 1024);
	assert_int_equal(p.max_inline, 64 * 1024);
	assert_int_equal(p.authenticated, 0);
	assert_null(p.args);
	assert_int_equal(p.cap, 0);
	resp_parser_free(&p);
	resp_parser_free(&p);	/* twice is harmless */
}

static void
test_multibulk(void **state)
{
	struct resp_parser *p = *state;

	EXPECT_OK(p, "*1\r\n$4\r\nPING\r\n", W("PING"));
	EXPECT_OK(p, "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nhello\r\n",
	    W("SET"), W("k"), W("hello"));
	EXPECT_OK(p, "*2\r\n$4\r\nECHO\r\n$0\r\n\r\n", W("ECHO"), W(""));
	EXPECT_OK(p, "*4\r\n$4\r\nXADD\r\n$1\r\ns\r\n$1\r\n*\r\n"
	    "$10\r\n0123456789\r\n", W("XADD"), W("s"), W("*"),
	    W("0123456789"));
	/* What redis-py sends for XREADGROUP. */
	EXPECT_OK(p, "*11\r\n$10\r\nXREADGROUP\r\n$5\r\nGROUP\r\n$1\r\ng\r\n"
	    "$2\r\nc1\r\n$5\r\nCOUNT\r\n$2\r\n10\r\n$5\r\nBLOCK\r\n$3\r\n100\r\n"
	    "$7\r\nSTREAMS\r\n$2\r\ns2\r\n$1\r\n>\r\n",
	    W("XREADGROUP"), W("GROUP"), W("g"), W("c1"), W("COUNT"), W("10"),
	    W("BLOCK"), W("100"), W("STREAMS"), W("s2"), W(">"));
}

static void
test_binary_bulks(void **state)
{
	struct resp_parser *p = *state;

	/* NUL, CR, LF and CRLF inside bulks are data. */
	EXPECT_OK(p, "*3\r\n$3\r\nSET\r\n$3\r\na\0b\r\n$8\r\n\r\n$1\r\n*\0\r\n",
	    W("SET"), W("a\0b"), W("\r\n$1\r\n*\0"));
	EXPECT_OK(p, "*1\r\n$2\r\n\r\n\r\n", W("\r\n"));
	EXPECT_OK(p, "*2\r\n$1\r\n\0\r\n$3\r\n\xff\xfe\x80\r\n", W("\0"),
	    W("\xff\xfe\x80"));
	/* Symfony's PHP-serialized values. */
	EXPECT_OK(p, "*5\r\n$4\r\nXADD\r\n$8\r\nmessages\r\n$1\r\n*\r\n"
	    "$7\r\nmessage\r\n$21\r\ns:14:\"{\"a\":\"b\\r\\n\"}\";\r\n",
	    W("XADD"), W("messages"), W("*"), W("message"),
	    W("s:14:\"{\"a\":\"b\\r\\n\"}\";"));
}

static void
test_empty_requests(void **state)
{
	struct resp_parser *p = *state;

	EXPECT_EMPTY(p, "*0\r\n");
	EXPECT_EMPTY(p, "*-1\r\n");
	/* Redis takes any negative count as empty. */
	EXPECT_EMPTY(p, "*-5\r\n");
	EXPECT_EMPTY(p, "*-9223372036854775808\r\n");
	/* Blank inline lines. */
	EXPECT_EMPTY(p, "\n");
	EXPECT_EMPTY(p, "\r\n");
	EXPECT_EMPTY(p, "   \t \r\n");
	EXPECT_EMPTY(p, "\v\f \n");
	EXPECT_EMPTY(p, "\r\r\n");
}

static void
test_inline(void **state)
{
	struct resp_parser *p = *state;

	EXPECT_OK(p, "PING\r\n", W("PING"));
	EXPECT_OK(p, "PING\n", W("PING"));
	EXPECT_OK(p, "set k v\r\n", W("set"), W("k"), W("v"));
	EXPECT_OK(p, "  set\t\tk   v  \r\n", W("set"), W("k"), W("v"));
	/* A CR inside the line separates; only the one before LF ends it. */
	EXPECT_OK(p, "a\rb\n", W("a"), W("b"));
	EXPECT_OK(p, "a\r\r\n", W("a"));
	/* \v and \f are blanks between words but not inside one. */
	EXPECT_OK(p, "a\vb\n", W("a\vb"));
	EXPECT_OK(p, "\fa\f b\n", W("a\f"), W("b"));
	/* Backslashes outside quotes are plain bytes. */
	EXPECT_OK(p, "a\\nb c\\\n", W("a\\nb"), W("c\\"));
	/* A NUL is an ordinary byte (Redis never gets that far). */
	EXPECT_OK(p, "a\0b c\n", W("a\0b"), W("c"));
	/* High bytes are not blanks. */
	EXPECT_OK(p, "\xa0x \xff\n", W("\xa0x"), W("\xff"));
}

static void
test_inline_quotes(void **state)
{
	struct resp_parser *p = *state;

	EXPECT_OK(p, "set \"foo bar\" 'baz qux'\n", W("set"), W("foo bar"),
	    W("baz qux"));
	EXPECT_OK(p, "\"\\x41\\x4a\\x7e\\x00z\\xfF\"\n", W("AJ~\0z\xff"));
	EXPECT_OK(p, "\"\\n\\r\\t\\b\\a\\\\\\\"\\q\\'\"\r\n",
	    W("\n\r\t\b\a\\\"q'"));
	/* \x without two hex digits is the letter x. */
	EXPECT_OK(p, "\"\\xZZ\" \"\\x4\" \"\\x\" \"\\x4g\"\n", W("xZZ"),
	    W("x4"), W("x"), W("x4g"));
	/* Single quotes: only \' is an escape. */
	EXPECT_OK(p, "'a\\'b' 'c\\nd' '\\x41' 'e\\\\f'\n", W("a'b"),
	    W("c\\nd"), W("\\x41"), W("e\\\\f"));
	EXPECT_OK(p, "'\"' \"'\"\n", W("\""), W("'"));
	/* A quote may open in the middle of a word. */
	EXPECT_OK(p, "foo\"bar baz\"\n", W("foobar baz"));
	EXPECT_OK(p, "a'b c' d\n", W("ab c"), W("d"));
	/* Empty quotes are an empty argument. */
	EXPECT_OK(p, "\"\" ''\n", W(""), W(""));
	EXPECT_OK(p, "x \"\"\r\n", W("x"), W(""));
	/* A closing quote followed by any blank, or by the end. */
	EXPECT_OK(p, "\"a\"\tb\n", W("a"), W("b"));
	EXPECT_OK(p, "\"a\"\vb\n", W("a"), W("b"));
	EXPECT_OK(p, "\"a\"\rb\n", W("a"), W("b"));
	EXPECT_OK(p, "'a'\n", W("a"));
	EXPECT_OK(p, "\"a\"\r\n", W("a"));
	/* Inside quotes, blanks and CRs are data. */
	EXPECT_OK(p, "\"a\r \tb\" c\r\n", W("a\r \tb"), W("c"));
	EXPECT_OK(p, "\"a\0b\"\n", W("a\0b"));
}

static void
test_inline_in_place(void **state)
{
	struct resp_parser *p = *state;
	static const char in[] = "ECHO \"a\\x42c\" 'd\\'e' f\r\nrest";
	char buf[sizeof(in)];
	size_t argc;

	memcpy(buf, in, sizeof(in));
	assert_int_equal(resp_parse(p, buf, sizeof(in) - 1, &argc), 24);
	assert_int_equal(argc, 4);
	/* Decoded at the start of each argument's source. */
	assert_ptr_equal(p->args[0].p, buf);
	assert_ptr_equal(p->args[1].p, buf + 5);
	assert_ptr_equal(p->args[2].p, buf + 14);
	assert_ptr_equal(p->args[3].p, buf + 21);
	assert_memory_equal(p->args[1].p, "aBc", 3);
	assert_int_equal(p->args[1].len, 3);
	assert_memory_equal(p->args[2].p, "d'e", 3);
	assert_int_equal(p->args[2].len, 3);
	/* Nothing after the line is touched. */
	assert_memory_equal(buf + 24, "rest", 5);
}

static void
test_lax_like_redis(void **state)
{
	struct resp_parser *p = *state;

	/* Redis skips the byte after a length line's CR ... */
	EXPECT_OK(p, "*1\rX$3\rYfoo\r\n", W("foo"));
	/* ... and the two bytes after a bulk without looking at them. */
	EXPECT_OK(p, "*2\r\n$1\r\naXY$1\r\nb..", W("a"), W("b"));
	/* A count line ended by LF only runs into the next CR. */
	EXPECT_ERR(p, "*1\n$3\r\nfoo\r\n", E_MBULK_LEN);
}

static void
test_big_bulk_not_copied(void **state)
{
	struct resp_parser *p = *state;
	static const char head[] = "*2\r\n$4\r\nECHO\r\n$1048576\r\n";
	size_t hlen = sizeof(head) - 1, big = 1048576, len, argc;
	char *buf;

	len = hlen + big + 2;
	assert_non_null(buf = malloc(len));
	memcpy(buf, head, hlen);
	memset(buf + hlen, 'x', big);
	memcpy(buf + hlen + big, "\r\n", 2);

	assert_int_equal(resp_parse(p, buf, hlen, &argc), 0);
	assert_int_equal(resp_parse(p, buf, len - 1, &argc), 0);
	assert_int_equal(resp_parse(p, buf, len, &argc), len);
	assert_int_equal(argc, 2);
	assert_ptr_equal(p->args[1].p, buf + hlen);
	assert_int_equal(p->args[1].len, big);
	free(buf);
}

/*
 * The request ends exactly at an unreadable page while 'len' claims a
 * page more: a parser that read one byte past its request would fault.
 * This is what makes a pipelined buffer cost one pass.
 */
static void
test_reads_nothing_past_request(void **state)
{
	static const char *const reqs[] = {
		"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nhello\r\n",
		"*0\r\n",
		"*-1\r\n",
		"PING\r\n",
		"set \"a b\" 'c'\n",
		"\n",
	};
	struct resp_parser *p = *state;
	size_t pg = (size_t)sysconf(_SC_PAGESIZE), i, len, argc;
	char *end, *buf;

	end = test_guard_page();
	for (i = 0; i < NELEM(reqs); i++) {
		len = strlen(reqs[i]);
		buf = end - len;
		memcpy(buf, reqs[i], len);
		assert_int_equal(resp_parse(p, buf, len + pg, &argc), len);
	}
	test_guard_free(end);
}

/* Thousands of small requests of both forms in one buffer. */
static void
test_pipelined(void **state)
{
	struct resp_parser *p = *state;
	size_t n = 20000, i, len = 0, size = 128 * n, argc, off;
	char *buf, key[32], val[32];
	ssize_t used;
	int kl, vl;

	assert_non_null(buf = malloc(size));
	for (i = 0; i < n; i++) {
		kl = snprintf(key, sizeof(key), "key%zu", i);
		vl = snprintf(val, sizeof(val), "v\r\n%zu", i);
		switch (i % 4) {
		case 0:
			len += (size_t)snprintf(buf + len, size - len,
			    "*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n",
			    kl, key, vl, val);
			break;
		case 1:
			len += (size_t)snprintf(buf + len, size - len,
			    "GET %s\r\n", key);
			break;
		case 2:
			len += (size_t)snprintf(buf + len, size - len,
			    "ECHO \"v\\r\\n%zu\"\n", i);
			break;
		default:
			len += (size_t)snprintf(buf + len, size - len, "*0\r\n");
			break;
		}
	}
	memcpy(buf + len, "*2\r\n$3\r\nGET", 11);	/* a partial one */

	for (i = 0, off = 0; i < n; i++) {
		kl = snprintf(key, sizeof(key), "key%zu", i);
		vl = snprintf(val, sizeof(val), "v\r\n%zu", i);
		used = resp_parse(p, buf + off, len + 11 - off, &argc);
		if (used <= 0)
			fail_msg("request %zu: %zd (%s)", i, used,
			    p->error ? p->error : "no error");
		switch (i % 4) {
		case 0:
			assert_int_equal(argc, 3);
			assert_memory_equal(p->args[0].p, "SET", 3);
			assert_int_equal(p->args[1].len, kl);
			assert_memory_equal(p->args[1].p, key, (size_t)kl);
			assert_int_equal(p->args[2].len, vl);
			assert_memory_equal(p->args[2].p, val, (size_t)vl);
			break;
		case 1:
			assert_int_equal(argc, 2);
			assert_int_equal(p->args[1].len, kl);
			assert_memory_equal(p->args[1].p, key, (size_t)kl);
			break;
		case 2:
			assert_int_equal(argc, 2);
			assert_int_equal(p->args[1].len, vl);
			assert_memory_equal(p->args[1].p, val, (size_t)vl);
			break;
		default:
			assert_int_equal(argc, 0);
			break;
		}
		assert_true(p->args == NULL || argc == 0 ||
		    (p->args[0].p >= buf + off &&
		    p->args[argc - 1].p < buf + off + used));
		off += (size_t)used;
	}
	assert_int_equal(off, len);
	assert_int_equal(resp_parse(p, buf + off, 11, &argc), 0);
	free(buf);
}

/* The argument array grows once and is reused. */
static void
test_args_reused(void **state)
{
	struct resp_parser *p = *state;
	size_t n = 5000, i, len = 0, size = 16 * n + 16, argc;
	struct resp_arg *args;
	char *buf, small[] = "*2\r\n$1\r\na\r\n$1\r\nb\r\n";

	assert_non_null(buf = malloc(size));
	len = (size_t)snprintf(buf, size, "*%zu\r\n", n);
	for (i = 0; i < n; i++)
		len += (size_t)snprintf(buf + len, size - len, "$%zu\r\n%zu\r\n",
		    i < 10 ? (size_t)1 : i < 100 ? (size_t)2 :
		    i < 1000 ? (size_t)3 : (size_t)4, i);
	assert_int_equal(resp_parse(p, buf, len, &argc), len);
	assert_int_equal(argc, n);
	assert_true(p->cap >= n);
	for (i = 0; i < n; i += 997) {
		char want[16];

		snprintf(want, sizeof(want), "%zu", i);
		assert_int_equal(p->args[i].len, strlen(want));
		assert_memory_equal(p->args[i].p, want, strlen(want));
	}
	args = p->args;
	assert_int_equal(resp_parse(p, small, sizeof(small) - 1, &argc),
	    sizeof(small) - 1);
	assert_int_equal(argc, 2);
	assert_ptr_equal(p->args, args);
	free(buf);
}

/* ---- Errors. */

static void
test_err_multibulk_length(void **state)
{
	struct resp_parser *p = *state;

	EXPECT_ERR(p, "*x\r\n", E_MBULK_LEN);
	EXPECT_ERR(p, "*\r\n", E_MBULK_LEN);
	EXPECT_ERR(p, "*01\r\n", E_MBULK_LEN);
	EXPECT_ERR(p, "*+1\r\n", E_MBULK_LEN);
	EXPECT_ERR(p, "* 1\r\n", E_MBULK_LEN);
	EXPECT_ERR(p, "*1 \r\n", E_MBULK_LEN);
	EXPECT_ERR(p, "*-\r\n", E_MBULK_LEN);
	EXPECT_ERR(p, "*-0\r\n", E_MBULK_LEN);
	EXPECT_ERR(p, "*1\0\r\n", E_MBULK_LEN);
	EXPECT_ERR(p, "*99999999999999999999\r\n", E_MBULK_LEN);
	EXPECT_ERR(p, "*-9223372036854775809\r\n", E_MBULK_LEN);
	EXPECT_ERR(p, "*000000000000000000001\r\n", E_MBULK_LEN);
	/* Over max_args (1024 * 1024 by default). */
	EXPECT_MORE(p, "*1048576\r\n");
	EXPECT_ERR(p, "*1048577\r\n", E_MBULK_LEN);
	/* Redis checks the line once its CR and one more byte are there. */
	EXPECT_MORE(p, "*x");
	EXPECT_MORE(p, "*x\r");
	EXPECT_ERR(p, "*x\r\n", E_MBULK_LEN);
}

static void
test_err_expected_dollar(void **state)
{
	struct resp_parser *p = *state;

	EXPECT_ERR(p, "*1\r\nx3\r\nfoo\r\n",
	    "Protocol error: expected '$', got 'x'");
	EXPECT_ERR(p, "*2\r\n$1\r\na\r\n:1\r\n",
	    "Protocol error: expected '$', got ':'");
	EXPECT_ERR(p, "*1\r\n*1\r\n", "Protocol error: expected '$', got '*'");
	/* Redis turns CR and LF into spaces, and a NUL ends its message. */
	EXPECT_ERR(p, "*1\r\n\r\n", "Protocol error: expected '$', got ' '");
	EXPECT_ERR(p, "*1\r\n\n\r\n", "Protocol error: expected '$', got ' '");
	EXPECT_ERR(p, "*1\r\n\0\r\n", "Protocol error: expected '$', got '");
	EXPECT_ERR(p, "*1\r\n\xe9\r\n",
	    "Protocol error: expected '$', got '\xe9'");
	/* The first byte is only judged once the whole line is there. */
	EXPECT_MORE(p, "*1\r\nx3");
	EXPECT_MORE(p, "*1\r\nx3\r");
}

static void
test_err_bulk_length(void **state)
{
	struct resp_parser *p = *state;

	EXPECT_ERR(p, "*1\r\n$-1\r\n", E_BULK_LEN);
	EXPECT_ERR(p, "*1\r\n$\r\n", E_BULK_LEN);
	EXPECT_ERR(p, "*1\r\n$x\r\n", E_BULK_LEN);
	EXPECT_ERR(p, "*1\r\n$01\r\n", E_BULK_LEN);
	EXPECT_ERR(p, "*1\r\n$1x\r\n", E_BULK_LEN);
	EXPECT_ERR(p, "*1\r\n$-0\r\n", E_BULK_LEN);
	EXPECT_ERR(p, "*1\r\n$ 1\r\n", E_BULK_LEN);
	EXPECT_ERR(p, "*1\r\n$9223372036854775807\r\n", E_BULK_LEN);
	EXPECT_ERR(p, "*1\r\n$9223372036854775808\r\n", E_BULK_LEN);
	/* Over max_bulk (512 MiB by default). */
	EXPECT_MORE(p, "*1\r\n$536870912\r\n");
	EXPECT_ERR(p, "*1\r\n$536870913\r\n", E_BULK_LEN);
	/* In a later argument. */
	EXPECT_ERR(p, "*3\r\n$1\r\na\r\n$1\r\nb\r\n$-5\r\n", E_BULK_LEN);
}

static void
test_err_too_big_lines(void **state)
{
	struct resp_parser *p = *state;
	size_t max = 64 * 1024, argc;
	char *buf;

	assert_non_null(buf = malloc(max + 16));

	/* Inline: at most 64 KiB before the LF (CR included). */
	memset(buf, 'a', max + 16);
	assert_int_equal(resp_parse(p, buf, max, &argc), 0);
	assert_int_equal(resp_parse(p, buf, max + 1, &argc), -1);
	assert_string_equal(p->error, E_INLINE_BIG);
	buf[max] = '\n';
	assert_int_equal(resp_parse(p, buf, max + 1, &argc), max + 1);
	assert_int_equal(argc, 1);
	assert_int_equal(p->args[0].len, max);
	memset(buf, 'a', max + 16);
	buf[max - 1] = '\r';
	buf[max] = '\n';
	assert_int_equal(resp_parse(p, buf, max + 1, &argc), max + 1);
	assert_int_equal(p->args[0].len, max - 1);
	memset(buf, 'a', max + 16);
	buf[max] = '\r';
	buf[max + 1] = '\n';
	assert_int_equal(resp_parse(p, buf, max + 2, &argc), -1);
	assert_string_equal(p->error, E_INLINE_BIG);

	/* The multibulk count line. */
	memset(buf, '1', max + 16);
	buf[0] = '*';
	assert_int_equal(resp_parse(p, buf, max, &argc), 0);
	assert_int_equal(resp_parse(p, buf, max + 1, &argc), -1);
	assert_string_equal(p->error, E_MBULK_BIG);
	buf[max] = '\r';	/* ends in time, but is no number */
	assert_int_equal(resp_parse(p, buf, max + 2, &argc), -1);
	assert_string_equal(p->error, E_MBULK_LEN);

	/* A bulk length line. */
	memcpy(buf, "*1\r\n$", 5);
	memset(buf + 5, '1', max + 11);
	assert_int_equal(resp_parse(p, buf, 4 + max, &argc), 0);
	assert_int_equal(resp_parse(p, buf, 4 + max + 1, &argc), -1);
	assert_string_equal(p->error, E_BULK_BIG);
	/* Not a '$': still "too big" while the line has no end. */
	buf[4] = 'x';
	assert_int_equal(resp_parse(p, buf, 4 + max + 1, &argc), -1);
	assert_string_equal(p->error, E_BULK_BIG);
	free(buf);
}

static void
test_limits_are_fields(void **state)
{
	struct resp_parser *p = *state;
	size_t argc;

	p->max_args = 3;
	p->max_bulk = 5;
	p->max_inline = 8;
	EXPECT_OK(p, "*3\r\n$5\r\nhello\r\n$1\r\na\r\n$0\r\n\r\n",
	    W("hello"), W("a"), W(""));
	EXPECT_ERR(p, "*4\r\n", E_MBULK_LEN);
	EXPECT_ERR(p, "*1\r\n$6\r\n", E_BULK_LEN);
	/* 'max_inline' bounds lines, not bulks. */
	p->max_bulk = 100;
	EXPECT_OK(p, "*1\r\n$12\r\nhello world!\r\n", W("hello world!"));
	EXPECT_OK(p, "1234567\n", W("1234567"));
	EXPECT_OK(p, "1234567\r\n", W("1234567"));
	EXPECT_OK(p, "12345678\n", W("12345678"));
	EXPECT_MORE(p, "12345678");
	EXPECT_ERR(p, "123456789", E_INLINE_BIG);
	EXPECT_ERR(p, "123456789\n", E_INLINE_BIG);
	EXPECT_ERR(p, "12345678\r\n", E_INLINE_BIG);
	EXPECT_ERR(p, "*12345678", E_MBULK_BIG);
	EXPECT_MORE(p, "*1234567");
	EXPECT_ERR(p, "*1\r\n$12345678", E_BULK_BIG);
	/* The error does not outlive the next call. */
	assert_int_equal(resp_parse(p, (char[]){ "x\n" }, 2, &argc), 2);
	assert_null(p->error);
}

/*
 * Length lines are read two ways (parse.c's length_fast, and the long
 * way for any other form): at the edges of the short way, the same
 * outcomes.
 */
static void
test_length_lines_at_the_edges(void **state)
{
	struct resp_parser *p = *state;

	/* 18 digits go the short way, 19 the long one: both are read. */
	p->max_bulk = (size_t)LLONG_MAX;
	EXPECT_MORE(p, "*1\r\n$123456789012345678\r\n");
	EXPECT_MORE(p, "*1\r\n$1234567890123456789\r\n");
	EXPECT_ERR(p, "*1\r\n$012345678901234567\r\n", E_BULK_LEN);
	EXPECT_ERR(p, "*123456789012345678\r\n", E_MBULK_LEN);
	/* "0" alone, and no more than a CR and a byte after it. */
	EXPECT_OK(p, "*1\r\n$0\r\n\r\n", W(""));
	EXPECT_ERR(p, "*1\r\n$00\r\n", E_BULK_LEN);
	EXPECT_MORE(p, "*1\r\n$0\r");
	EXPECT_MORE(p, "*1\r");
	/* A line whose end came, but past 'max_inline', is too big. */
	p->max_inline = 3;
	EXPECT_OK(p, "*1\r\n$10\r\n0123456789\r\n", W("0123456789"));
	EXPECT_ERR(p, "*1\r\n$100\r\n", E_BULK_BIG);
	EXPECT_ERR(p, "*100\r\n", E_MBULK_BIG);
	p->max_inline = 4;
	EXPECT_MORE(p, "*1\r\n$100\r\n");
}

static void
test_unauthenticated(void **state)
{
	struct resp_parser *p = *state;

	p->authenticated = 0;
	EXPECT_OK(p, "*2\r\n$4\r\nAUTH\r\n$2\r\npw\r\n", W("AUTH"), W("pw"));
	EXPECT_OK(p, "*10\r\n$1\r\na\r\n$1\r\na\r\n$1\r\na\r\n$1\r\na\r\n"
	    "$1\r\na\r\n$1\r\na\r\n$1\r\na\r\n$1\r\na\r\n$1\r\na\r\n"
	    "$1\r\na\r\n", W("a"), W("a"), W("a"), W("a"), W("a"), W("a"),
	    W("a"), W("a"), W("a"), W("a"));
	EXPECT_ERR(p, "*11\r\n", E_MBULK_AUTH);
	EXPECT_MORE(p, "*1\r\n$16384\r\n");
	EXPECT_ERR(p, "*1\r\n$16385\r\n", E_BULK_AUTH);
	EXPECT_ERR(p, "*2\r\n$1\r\na\r\n$100000\r\n", E_BULK_AUTH);
	/* An invalid count or length says so first. */
	EXPECT_ERR(p, "*1048577\r\n", E_MBULK_LEN);
	EXPECT_ERR(p, "*1\r\n$536870913\r\n", E_BULK_LEN);
	/* Empty requests and inline ones are not capped (as in Redis). */
	EXPECT_EMPTY(p, "*-1\r\n");
	EXPECT_OK(p, "a b c d e f g h i j k l\n", W("a"), W("b"), W("c"),
	    W("d"), W("e"), W("f"), W("g"), W("h"), W("i"), W("j"), W("k"),
	    W("l"));

	p->authenticated = 1;
	EXPECT_MORE(p, "*11\r\n");
	EXPECT_MORE(p, "*1\r\n$16385\r\n");
}

static void
test_err_unbalanced_quotes(void **state)
{
	struct resp_parser *p = *state;

	EXPECT_ERR(p, "set \"a\n", E_QUOTES);
	EXPECT_ERR(p, "set 'a\r\n", E_QUOTES);
	EXPECT_ERR(p, "\"a\"b\n", E_QUOTES);
	EXPECT_ERR(p, "'a'b\n", E_QUOTES);
	EXPECT_ERR(p, "\"a\"\"b\"\n", E_QUOTES);
	EXPECT_ERR(p, "foo\"bar\n", E_QUOTES);
	EXPECT_ERR(p, "\"a\\\"\n", E_QUOTES);		/* "a\" */
	EXPECT_ERR(p, "'a\\'\n", E_QUOTES);		/* 'a\' */
	EXPECT_ERR(p, "\"a\\\n", E_QUOTES);		/* "a\ */
	EXPECT_ERR(p, "\"\n", E_QUOTES);
	/* A line refused is left as it came, decoded words included. */
	EXPECT_ERR(p, "\"\\x41\" 'b\\'c' \"d\n", E_QUOTES);
	/* The CR of the CRLF is not inside the quotes. */
	EXPECT_ERR(p, "\"a\r\n", E_QUOTES);
	/* The line is judged only once its end has come. */
	EXPECT_MORE(p, "set \"a");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_init_defaults),
		cmocka_unit_test_setup_teardown(test_multibulk, setup, teardown),
		cmocka_unit_test_setup_teardown(test_binary_bulks, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_empty_requests, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_inline, setup, teardown),
		cmocka_unit_test_setup_teardown(test_inline_quotes, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_inline_in_place, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_lax_like_redis, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_big_bulk_not_copied, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_reads_nothing_past_request,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_pipelined, setup, teardown),
		cmocka_unit_test_setup_teardown(test_args_reused, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_err_multibulk_length, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_err_expected_dollar, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_err_bulk_length, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_err_too_big_lines, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_limits_are_fields, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_length_lines_at_the_edges,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_unauthenticated, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_err_unbalanced_quotes,
		    setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
