/*
 * test_json_id.c - the "id" of a JSON Lines record: what mq-xreadgroup
 * -o json writes and what jq -c makes of it (members reordered, added,
 * nested), escapes in names and values, the whitespace RFC 8259 allows,
 * and every way a line is refused: malformed JSON of each kind, every
 * prefix of a valid line, nesting too deep, no "id", two, or one that is
 * not a string.
 *
 * Every input is copied into a buffer of exactly its size, so that ASan
 * catches a read past its end, and one test puts it against a page that
 * cannot be read.
 */
#include "helpers.h"

#include "json_id.h"

#define ID_SIZE	42	/* as mq-ack passes it: MQ_ID_MAX */

/* Parses 'len' bytes of 'in' from an exact-size copy; returns its result. */
static int
parse(const char *in, size_t len, char *id, size_t size, size_t *idlen,
    const char **why)
{
	char *buf;
	int rc;

	buf = test_dup_bytes(in, len);
	*why = NULL;
	rc = json_id(buf, len, id, size, idlen, why);
	free(buf);
	return rc;
}

/*
 * Checks that 'in' has the id 'want' ('wantlen' bytes), and that each
 * shorter prefix of it, up to its last byte that is not whitespace, is
 * refused: a line cut short is never read as a whole one.
 */
static void
expect_id(const char *in, size_t len, const char *want, size_t wantlen)
{
	char id[ID_SIZE];
	const char *why;
	size_t idlen, k, last;

	if (parse(in, len, id, sizeof(id), &idlen, &why) != 0)
		fail_msg("\"%.*s\": %s", (int)len, in, why);
	assert_null(why);
	if (idlen != wantlen || memcmp(id, want, wantlen) != 0)
		fail_msg("\"%.*s\": got \"%.*s\", want \"%.*s\"", (int)len, in,
		    (int)(idlen < sizeof(id) ? idlen : sizeof(id)), id,
		    (int)wantlen, want);
	for (last = len; last > 0 && strchr(" \t\r\n", in[last - 1]); last--)
		;
	for (k = 0; k < last; k++)
		if (parse(in, k, id, sizeof(id), &idlen, &why) != -1)
			fail_msg("prefix of %zu bytes of \"%.*s\" was taken",
			    k, (int)len, in);
}

#define EXPECT_ID(in, want)	expect_id(IN(in), IN(want))

/* Checks that 'in' is refused, and why. */
static void
expect_err(const char *in, size_t len, const char *want)
{
	char id[ID_SIZE];
	const char *why;
	size_t idlen;

	if (parse(in, len, id, sizeof(id), &idlen, &why) != -1)
		fail_msg("\"%.*s\" was taken (%s)", (int)len, in, want);
	assert_non_null(why);
	if (strcmp(why, want) != 0)
		fail_msg("\"%.*s\": got \"%s\", want \"%s\"", (int)len, in,
		    why, want);
}

#define EXPECT_ERR(in, want)	expect_err(IN(in), want)

#define E_SYNTAX(s)	"malformed JSON: " s

/* ---- What mq-xreadgroup and jq write. */

static void
test_xreadgroup_json(void **state)
{
	EXPECT_ID("{\"id\":\"1764087154123-0\",\"stream\":\"orders\","
	    "\"offset\":0,\"time\":1764087154123,\"key\":null,"
	    "\"headers\":{},\"body\":\"order 1\"}", "1764087154123-0");
	EXPECT_ID("{\"id\":\"1-2\",\"stream\":\"s\","
	    "\"offset\":18446744073709551615,\"time\":1,\"key\":\"k\","
	    "\"headers\":{\"id\":\"h\",\"x\":\"\"},"
	    "\"body_base64\":\"/w==\"}", "1-2");
	EXPECT_ID("{\"id\":\"1-3\",\"stream\":\"s\",\"offset\":2,\"time\":1,"
	    "\"key\":null,\"headers_base64\":[[\"aWQ=\",\"/w==\"]],"
	    "\"body\":null}", "1-3");
}

static void
test_jq_reordered_and_added(void **state)
{
	/* jq -c '{body, id}', '. + {worker: ...}', '{ok: true} + .' */
	EXPECT_ID("{\"body\":\"b\",\"id\":\"5-6\"}", "5-6");
	EXPECT_ID("{\"id\":\"5-6\",\"worker\":{\"id\":\"w1\",\"n\":[1,2]}}",
	    "5-6");
	EXPECT_ID("{\"ok\":true,\"err\":false,\"x\":null,\"id\":\"7-0\"}",
	    "7-0");
	/* "id" in nested objects and arrays is not the record's. */
	EXPECT_ID("{\"a\":{\"id\":\"9-9\"},\"b\":[{\"id\":\"8-8\"}],"
	    "\"id\":\"1-1\",\"c\":[[[{\"id\":[]}]]]}", "1-1");
	/* Names that only start or end like "id". */
	EXPECT_ID("{\"i\":1,\"idx\":2,\"xid\":3,\"ID\":4,\"id\":\"2-2\"}",
	    "2-2");
}

static void
test_whitespace(void **state)
{
	EXPECT_ID(" \t{ \"id\" : \"1-1\" , \"x\" : [ 1 , { } , [ ] ] }\r\n",
	    "1-1");
	EXPECT_ID("{\n\"id\":\n\"1-1\"\n}", "1-1");
	EXPECT_ID("{\"id\":\"1-1\"}\r", "1-1");
}

static void
test_numbers_and_literals(void **state)
{
	EXPECT_ID("{\"n\":[0,-0,1,-1,10,0.5,-0.5,1e3,1E+3,1e-3,-12.25e10,"
	    "123456789012345678901234567890],\"id\":\"1-1\"}", "1-1");
	EXPECT_ID("{\"l\":[true,false,null],\"id\":\"1-1\"}", "1-1");
}

/* ---- Escapes and UTF-8. */

static void
test_escapes(void **state)
{
	/* In the value: decoded. */
	EXPECT_ID("{\"id\":\"\\u0031-\\u0030\"}", "1-0");
	EXPECT_ID("{\"id\":\"a\\\"b\\\\c\\/d\\be\\ff\\ng\\rh\\ti\"}",
	    "a\"b\\c/d\be\ff\ng\rh\ti");
	EXPECT_ID("{\"id\":\"\\u00e9\\u20AC\\ud83d\\ude00\"}",
	    "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80");
	EXPECT_ID("{\"id\":\"\\u0000\"}", "\0");
	/* In the name: compared decoded, as jq does. */
	EXPECT_ID("{\"\\u0069d\":\"1-1\"}", "1-1");
	EXPECT_ID("{\"i\\u0064\":\"1-1\",\"\\u0069\":\"x\"}", "1-1");
	/* Elsewhere: checked, not used. */
	EXPECT_ID("{\"s\":\"\\\" } { \\\\\",\"\\\"id\\\"\":1,\"id\":\"1-1\"}",
	    "1-1");
}

static void
test_utf8(void **state)
{
	EXPECT_ID("{\"b\":\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\","
	    "\"id\":\"1-1\"}", "1-1");
	EXPECT_ERR("{\"b\":\"\xff\",\"id\":\"1-1\"}", E_SYNTAX("not UTF-8"));
	EXPECT_ERR("{\"b\":\"\xc3\",\"id\":\"1-1\"}", E_SYNTAX("not UTF-8"));
	EXPECT_ERR("{\"b\":\"\xc0\xaf\",\"id\":\"1-1\"}",
	    E_SYNTAX("not UTF-8"));
	EXPECT_ERR("{\"b\":\"\xed\xa0\x80\",\"id\":\"1-1\"}",
	    E_SYNTAX("not UTF-8"));
	EXPECT_ERR("{\"id\":\"1-1\xe2\x82\"}", E_SYNTAX("not UTF-8"));
	/* A byte above 0x7f outside a string is no JSON at all. */
	EXPECT_ERR("{\"id\":\"1-1\",\"n\":\xc3\xa9}",
	    E_SYNTAX("unexpected byte"));
}

static void
test_bad_escapes(void **state)
{
	EXPECT_ERR("{\"id\":\"\\x41\"}", E_SYNTAX("bad escape"));
	EXPECT_ERR("{\"id\":\"\\'\"}", E_SYNTAX("bad escape"));
	EXPECT_ERR("{\"id\":\"\\\0\"}", E_SYNTAX("bad escape"));
	EXPECT_ERR("{\"id\":\"\\u12\"}", E_SYNTAX("bad \\u escape"));
	EXPECT_ERR("{\"id\":\"\\u12g4\"}", E_SYNTAX("bad \\u escape"));
	EXPECT_ERR("{\"id\":\"\\U0041\"}", E_SYNTAX("bad escape"));
	/* Surrogates come in pairs, high then low. */
	EXPECT_ERR("{\"id\":\"\\ud83d\"}", E_SYNTAX("lone surrogate"));
	EXPECT_ERR("{\"id\":\"\\ud83dx\"}", E_SYNTAX("lone surrogate"));
	EXPECT_ERR("{\"id\":\"\\ude00\\ud83d\"}", E_SYNTAX("lone surrogate"));
	EXPECT_ERR("{\"id\":\"\\ud83d\\u0041\"}", E_SYNTAX("lone surrogate"));
	EXPECT_ERR("{\"id\":\"\\ud83d\\ud83d\"}", E_SYNTAX("lone surrogate"));
	EXPECT_ERR("{\"x\":\"\\udfff\",\"id\":\"1-1\"}",
	    E_SYNTAX("lone surrogate"));
	/* A raw control byte must be escaped. */
	EXPECT_ERR("{\"id\":\"1\t-1\"}", E_SYNTAX("control byte in a string"));
	EXPECT_ERR("{\"id\":\"1-1\0\"}",
	    E_SYNTAX("control byte in a string"));
	EXPECT_ERR("{\"id\":\"1-1\n\"}", E_SYNTAX("control byte in a string"));
}

/* ---- Malformed JSON. */

static void
test_bad_syntax(void **state)
{
	EXPECT_ERR("{\"id\":\"1-1\",}", E_SYNTAX("expected a member name"));
	EXPECT_ERR("{,\"id\":\"1-1\"}", E_SYNTAX("expected a member name"));
	EXPECT_ERR("{id:\"1-1\"}", E_SYNTAX("expected a member name"));
	EXPECT_ERR("{'id':'1-1'}", E_SYNTAX("expected a member name"));
	EXPECT_ERR("{\"id\" \"1-1\"}", E_SYNTAX("expected ':'"));
	EXPECT_ERR("{\"id\":\"1-1\" \"x\":1}", E_SYNTAX("expected ',' or '}'"));
	EXPECT_ERR("{\"id\":\"1-1\",\"a\":[1,]}", E_SYNTAX("unexpected byte"));
	EXPECT_ERR("{\"id\":\"1-1\",\"a\":[1 2]}",
	    E_SYNTAX("expected ',' or ']'"));
	EXPECT_ERR("{\"id\":\"1-1\",\"a\":[,]}", E_SYNTAX("unexpected byte"));
	EXPECT_ERR("{\"id\":\"1-1\",\"a\":}", E_SYNTAX("unexpected byte"));
	EXPECT_ERR("{\"id\":}", E_SYNTAX("unexpected byte"));
	EXPECT_ERR("{\"id\":\"1-1\"}}", E_SYNTAX("more after the object"));
	EXPECT_ERR("{\"id\":\"1-1\"} {\"id\":\"2-2\"}",
	    E_SYNTAX("more after the object"));
	EXPECT_ERR("{\"id\":\"1-1\"}\tx", E_SYNTAX("more after the object"));
	EXPECT_ERR("{\"id\":\"1-1\"}\0", E_SYNTAX("more after the object"));
	EXPECT_ERR("{\"id\":\"1-1\"\f}", E_SYNTAX("expected ',' or '}'"));
	EXPECT_ERR("{\"id\":\"1-1\",\"a\":tru}", E_SYNTAX("unexpected byte"));
	EXPECT_ERR("{\"id\":\"1-1\",\"a\":True}", E_SYNTAX("unexpected byte"));
	EXPECT_ERR("{\"id\":\"1-1\",\"a\":nulls}",
	    E_SYNTAX("expected ',' or '}'"));
}

static void
test_bad_numbers(void **state)
{
	static const char *const bad[] = {
		"{\"n\":01,\"id\":\"1-1\"}",
		"{\"n\":-01,\"id\":\"1-1\"}",
		"{\"n\":+1,\"id\":\"1-1\"}",
		"{\"n\":.5,\"id\":\"1-1\"}",
		"{\"n\":1.,\"id\":\"1-1\"}",
		"{\"n\":-,\"id\":\"1-1\"}",
		"{\"n\":1e,\"id\":\"1-1\"}",
		"{\"n\":1e+,\"id\":\"1-1\"}",
		"{\"n\":1.e3,\"id\":\"1-1\"}",
		"{\"n\":0x10,\"id\":\"1-1\"}",
		"{\"n\":NaN,\"id\":\"1-1\"}",
		"{\"n\":-Infinity,\"id\":\"1-1\"}",
	};
	char id[ID_SIZE];
	const char *why;
	size_t i, idlen;

	for (i = 0; i < NELEM(bad); i++)
		if (parse(bad[i], strlen(bad[i]), id, sizeof(id), &idlen,
		    &why) != -1 || strncmp(why, "malformed JSON: ", 16) != 0)
			fail_msg("%s was taken", bad[i]);
}

static void
test_truncated(void **state)
{
	EXPECT_ERR("{", E_SYNTAX("expected a member name"));
	EXPECT_ERR("{\"id\":\"1-1", E_SYNTAX("unterminated string"));
	EXPECT_ERR("{\"id\":\"1-1\\", E_SYNTAX("unterminated string"));
	EXPECT_ERR("{\"id\":\"\\u00", E_SYNTAX("bad \\u escape"));
	EXPECT_ERR("{\"id\":\"1-1\"", E_SYNTAX("expected ',' or '}'"));
	EXPECT_ERR("{\"id\":\"1-1\",\"a\":[", E_SYNTAX("unexpected end"));
	EXPECT_ERR("{\"id\":\"1-1\",\"a\":-", E_SYNTAX("bad number"));
	EXPECT_ERR("{\"id\":", E_SYNTAX("unexpected end"));
}

/* ---- Not a record with an id. */

static void
test_not_an_object(void **state)
{
	EXPECT_ERR("", "not a JSON object");
	EXPECT_ERR(" \t\r\n", "not a JSON object");
	EXPECT_ERR("[{\"id\":\"1-1\"}]", "not a JSON object");
	EXPECT_ERR("\"1-1\"", "not a JSON object");
	EXPECT_ERR("1", "not a JSON object");
	EXPECT_ERR("null", "not a JSON object");
	EXPECT_ERR("1-1\t{\"id\":\"1-1\"}", "not a JSON object");
	/* A byte order mark is not whitespace (RFC 8259 8.1). */
	EXPECT_ERR("\xef\xbb\xbf{\"id\":\"1-1\"}", "not a JSON object");
}

static void
test_id_member(void **state)
{
	EXPECT_ERR("{}", "no \"id\" member");
	EXPECT_ERR("{\"ID\":\"1-1\",\"x\":{\"id\":\"1-1\"}}",
	    "no \"id\" member");
	EXPECT_ERR("{\"id\":\"1-1\",\"id\":\"1-1\"}", "two \"id\" members");
	EXPECT_ERR("{\"id\":\"1-1\",\"\\u0069d\":\"2-2\"}",
	    "two \"id\" members");
	EXPECT_ERR("{\"id\":null,\"id\":\"1-1\"}", "two \"id\" members");
	EXPECT_ERR("{\"id\":1}", "\"id\" is not a string");
	EXPECT_ERR("{\"id\":null}", "\"id\" is not a string");
	EXPECT_ERR("{\"id\":[\"1-1\"]}", "\"id\" is not a string");
	EXPECT_ERR("{\"id\":{\"id\":\"1-1\"}}", "\"id\" is not a string");
	EXPECT_ERR("{\"id\":true}", "\"id\" is not a string");
	/* The JSON is judged first, then the member. */
	EXPECT_ERR("{\"id\":1,\"x\":}", E_SYNTAX("unexpected byte"));
	EXPECT_ERR("{\"x\":1", E_SYNTAX("expected ',' or '}'"));
	/* An empty string is a string: the caller decides it is no id. */
	EXPECT_ID("{\"id\":\"\"}", "");
}

/* ---- Limits. */

/* 'depth' nested arrays (or objects) as the value of "x". */
static char *
nested(int depth, int objects, size_t *len)
{
	size_t size = 32 + 8 * (size_t)depth, n;
	char *s;
	int i;

	assert_non_null(s = malloc(size));
	n = (size_t)snprintf(s, size, "{\"id\":\"1-1\",\"x\":");
	for (i = 0; i < depth; i++)
		n += (size_t)snprintf(s + n, size - n, "%s",
		    objects ? "{\"a\":" : "[");
	n += (size_t)snprintf(s + n, size - n, "0");
	for (i = 0; i < depth; i++)
		n += (size_t)snprintf(s + n, size - n, "%s",
		    objects ? "}" : "]");
	n += (size_t)snprintf(s + n, size - n, "}");
	*len = n;
	return s;
}

static void
test_depth(void **state)
{
	char id[ID_SIZE], *s;
	const char *why;
	size_t len, idlen;
	int objects;

	/* The record is one level: JSON_ID_DEPTH - 1 more may nest in it. */
	for (objects = 0; objects <= 1; objects++) {
		s = nested(JSON_ID_DEPTH - 1, objects, &len);
		if (parse(s, len, id, sizeof(id), &idlen, &why) != 0)
			fail_msg("depth %d: %s", JSON_ID_DEPTH, why);
		assert_int_equal(idlen, 3);
		free(s);
		s = nested(JSON_ID_DEPTH, objects, &len);
		assert_int_equal(parse(s, len, id, sizeof(id), &idlen, &why),
		    -1);
		assert_string_equal(why, "JSON nested too deep");
		free(s);
	}
	/* Far deeper: refused, not a stack overflow. */
	s = nested(1000000, 0, &len);
	assert_int_equal(parse(s, len, id, sizeof(id), &idlen, &why), -1);
	assert_string_equal(why, "JSON nested too deep");
	free(s);
}

static void
test_long_id(void **state)
{
	static const char in[] = "{\"id\":\"0123456789abcdef\",\"x\":1}";
	char id[8];
	const char *why;
	size_t idlen;

	/* The whole length is told; only what fits is written. */
	memset(id, '#', sizeof(id));
	assert_int_equal(parse(IN(in), id, 4, &idlen, &why), 0);
	assert_int_equal(idlen, 16);
	assert_memory_equal(id, "0123####", 8);
	assert_int_equal(parse(IN(in), NULL, 0, &idlen, &why), 0);
	assert_int_equal(idlen, 16);
	/* An escape that does not fit whole is cut too. */
	assert_int_equal(parse(IN("{\"id\":\"ab\\u20ac\"}"), id, 3, &idlen,
	    &why), 0);
	assert_int_equal(idlen, 5);
	assert_memory_equal(id, "ab\xe2", 3);
}

static void
test_reads_nothing_past_len(void **state)
{
	static const char *const lines[] = {
		"{\"id\":\"1-1\"}",
		"{\"id\":\"1-1\"",
		"{\"id\":\"1-1",
		"{\"id\":\"\\u00",
		"{\"id\":\"\\ud83d\\",
		"{\"id\":\"1-1\",\"n\":-1.5e",
		"{\"id\":\"1-1\",\"t\":tr",
		"{\"id\":\"1-1\",\"a\":[[",
		"{\"id\":\"\xe2\x82",
		" ",
	};
	char *end, *buf, id[ID_SIZE];
	size_t i, len, idlen;
	const char *why;

	end = test_guard_page();
	for (i = 0; i < NELEM(lines); i++) {
		len = strlen(lines[i]);
		buf = end - len;
		memcpy(buf, lines[i], len);
		assert_int_equal(json_id(buf, len, id, sizeof(id), &idlen,
		    &why), i == 0 ? 0 : -1);
	}
	test_guard_free(end);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_xreadgroup_json),
		cmocka_unit_test(test_jq_reordered_and_added),
		cmocka_unit_test(test_whitespace),
		cmocka_unit_test(test_numbers_and_literals),
		cmocka_unit_test(test_escapes),
		cmocka_unit_test(test_utf8),
		cmocka_unit_test(test_bad_escapes),
		cmocka_unit_test(test_bad_syntax),
		cmocka_unit_test(test_bad_numbers),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_not_an_object),
		cmocka_unit_test(test_id_member),
		cmocka_unit_test(test_depth),
		cmocka_unit_test(test_long_id),
		cmocka_unit_test(test_reads_nothing_past_len),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
