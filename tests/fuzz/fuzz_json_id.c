/*
 * fuzz_json_id.c - libFuzzer target for the JSON Lines id reader.
 *
 * The input is one line as mq-ack would hand it over.  Whatever the
 * bytes: the answer is 0 with no reason or -1 with one; it does not
 * depend on the room given for the id (what fits is the start of the
 * whole, and the whole length is told); an id never decodes longer than
 * the line, and is UTF-8.  A line that is taken stays taken with
 * whitespace after it, every prefix of it that stops before its last
 * byte is refused, and its id, written back as the only member of an
 * object, reads back the same.  The input is also tried inside the frame
 * of a record, where most of what the fuzzer makes is taken.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "json_id.h"
#include "utf8.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check(int cond)
{
	if (!cond)
		abort();
}

/* json_id() of 'len' bytes of 'in', from a copy of exactly that size. */
static int
parse(const uint8_t *in, size_t len, char *id, size_t size, size_t *idlen,
    const char **why)
{
	char *buf;
	int rc;

	if ((buf = malloc(len > 0 ? len : 1)) == NULL)
		abort();
	memcpy(buf, in, len);
	*why = NULL;
	rc = json_id(buf, len, id, size, idlen, why);
	check((rc == 0 && *why == NULL) || (rc == -1 && *why != NULL));
	free(buf);
	return rc;
}

/* Writes {"id":"ID"} for the 'len' bytes of 'id' into 'out'; its length. */
static size_t
object_of(const char *id, size_t len, uint8_t *out)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *s = (const unsigned char *)id;
	size_t i, n = 0;

	memcpy(out, "{\"id\":\"", 7);
	n = 7;
	for (i = 0; i < len; i++) {
		if (s[i] == '"' || s[i] == '\\') {
			out[n++] = '\\';
			out[n++] = s[i];
		} else if (s[i] < 0x20) {
			memcpy(out + n, "\\u00", 4);
			out[n + 4] = hex[s[i] >> 4];
			out[n + 5] = hex[s[i] & 15];
			n += 6;
		} else
			out[n++] = s[i];
	}
	memcpy(out + n, "\"}", 2);
	return n + 2;
}

/* The checks on a line that was taken, with its id 'id' ('idlen' bytes). */
static void
taken(const uint8_t *data, size_t size, const char *id, size_t idlen)
{
	char *id2;
	uint8_t *buf;
	const char *why;
	size_t idlen2, last, k;

	if ((id2 = malloc(size + 1)) == NULL ||
	    (buf = malloc(6 * idlen + 16)) == NULL)
		abort();

	/* It ends with the object's '}' and whitespace. */
	for (last = size; last > 0 && (data[last - 1] == ' ' ||
	    data[last - 1] == '\t' || data[last - 1] == '\r' ||
	    data[last - 1] == '\n'); last--)
		;
	check(last > 0 && data[last - 1] == '}');

	/* Shorter prefixes are refused: try some only on long lines. */
	for (k = 0; k < last; k += last <= 64 ? 1 : last / 16 + 1)
		check(parse(data, k, id2, size + 1, &idlen2, &why) == -1);
	check(parse(data, last - 1, id2, size + 1, &idlen2, &why) == -1);
	check(parse(data, last, id2, size + 1, &idlen2, &why) == 0);
	check(idlen2 == idlen && memcmp(id2, id, idlen) == 0);

	/* Written back alone, the id reads back the same. */
	k = object_of(id, idlen, buf);
	check(parse(buf, k, id2, size + 1, &idlen2, &why) == 0);
	check(idlen2 == idlen && memcmp(id2, id, idlen) == 0);
	free(buf);
	free(id2);
}

/* Every check on one line of 'size' bytes. */
static void
line(const uint8_t *data, size_t size)
{
	static const size_t small[] = { 0, 1, 5 };
	char *id, cut[8];
	const char *why, *why2;
	size_t idlen, idlen2, i;
	uint8_t *more;
	int rc;

	/* Room for the whole id: it is never longer than the line. */
	if ((id = malloc(size + 1)) == NULL)
		abort();
	rc = parse(data, size, id, size + 1, &idlen, &why);
	if (rc == 0)
		check(idlen <= size && utf8_valid(id, idlen));

	/* Less room: the same answer, and the start of the same id. */
	for (i = 0; i < sizeof(small) / sizeof(small[0]); i++) {
		check(parse(data, size, cut, small[i], &idlen2, &why2) == rc);
		if (rc == -1) {
			check(strcmp(why, why2) == 0);
			continue;
		}
		check(idlen2 == idlen);
		check(memcmp(cut, id, idlen < small[i] ? idlen : small[i]) ==
		    0);
	}

	if (rc == 0) {
		taken(data, size, id, idlen);
		if ((more = malloc(size + 4)) == NULL)
			abort();
		memcpy(more, data, size);
		memcpy(more + size, " \t\r\n", 4);
		check(parse(more, size + 4, cut, sizeof(cut), &idlen2,
		    &why2) == 0 && idlen2 == idlen);
		free(more);
	}
	free(id);
}

/* The line 'pre', the input, 'post'. */
static void
wrapped(const char *pre, const uint8_t *data, size_t size, const char *post)
{
	size_t a = strlen(pre), b = strlen(post);
	uint8_t *buf;

	if ((buf = malloc(a + size + b)) == NULL)
		abort();
	memcpy(buf, pre, a);
	memcpy(buf + a, data, size);
	memcpy(buf + a + size, post, b);
	line(buf, a + size + b);
	free(buf);
}

/*
 * The input as a line, and, so that the fuzzer need not find the frame
 * of a valid record first, as a value beside an "id" and as the
 * contents of the "id" string.
 */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	line(data, size);
	wrapped("{\"id\":\"1-1\",\"x\":", data, size, "}");
	wrapped("{\"id\":\"", data, size, "\"}");
	return 0;
}
