/*
 * json_id.c - the member "id" of a JSON object, read strictly.
 *
 * Model: a recursive descent over the grammar of RFC 8259 with a cursor
 * that never passes the end.  Every value is checked, the skipped ones
 * too (nested objects and arrays, numbers, literals, strings with their
 * escapes and UTF-8), so that a line that is not JSON is never taken for
 * one that is: a truncated line, or two objects on one line, is refused
 * rather than half read.  Strings are decoded only where their bytes
 * matter: the names of the top-level members, to compare with "id" (so
 * "\u0069d" is "id", as it is for jq), and the value of "id", into the
 * caller's buffer.  Nothing is allocated; the recursion is bounded by
 * JSON_ID_DEPTH.
 *
 * Two members "id" are refused: RFC 8259 leaves their meaning to each
 * reader, and an entry acknowledged on a guess is worse than a line
 * reported.
 */
#include <stdint.h>
#include <string.h>

#include "json_id.h"
#include "utf8.h"

#define MALFORMED	"malformed JSON: "

struct cur {
	const unsigned char	*p;	/* the next byte */
	const unsigned char	*end;	/* past the last byte */
	const char		*why;	/* after -1: what is wrong */
};

/* The top-level member "id", as far as the parse has gone. */
struct member_id {
	char		*buf;		/* the caller's, for the value */
	size_t		 size;		/* of buf */
	size_t		 len;		/* the value's whole decoded length */
	int		 seen;		/* members "id" so far */
	int		 string;	/* whether the last one was a string */
};

static int	value(struct cur *c, int depth);

static int
fail(struct cur *c, const char *why)
{
	c->why = why;
	return -1;
}

/* Passes over JSON whitespace. */
static void
ws(struct cur *c)
{
	while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' ||
	    *c->p == '\n' || *c->p == '\r'))
		c->p++;
}

/* Passes over the byte 'ch' if it is next; returns whether it was. */
static int
eat(struct cur *c, int ch)
{
	if (c->p == c->end || *c->p != ch)
		return 0;
	c->p++;
	return 1;
}

/* Appends 'n' bytes to a decoded string, as far as 'size' has room. */
static void
put(char *out, size_t size, size_t *len, const void *p, size_t n)
{
	if (*len < size)
		memcpy(out + *len, p, n < size - *len ? n : size - *len);
	*len += n;
}

/* Reads the four hex digits of a \u escape into '*u'. */
static int
hex4(struct cur *c, uint32_t *u)
{
	int i, d;

	if (c->end - c->p < 4)
		return fail(c, MALFORMED "bad \\u escape");
	*u = 0;
	for (i = 0; i < 4; i++) {
		d = c->p[i];
		if (d >= '0' && d <= '9')
			d -= '0';
		else if (d >= 'a' && d <= 'f')
			d -= 'a' - 10;
		else if (d >= 'A' && d <= 'F')
			d -= 'A' - 10;
		else
			return fail(c, MALFORMED "bad \\u escape");
		*u = *u << 4 | d;
	}
	c->p += 4;
	return 0;
}

/*
 * Decodes the escape after a backslash into the code point '*cp'.  A
 * surrogate must come as a pair, high then low, the way UTF-16 writes a
 * code point above U+FFFF; alone, it is no character at all.
 */
static int
escape(struct cur *c, uint32_t *cp)
{
	static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
	const char *e;
	uint32_t lo;

	if (c->p == c->end)
		return fail(c, MALFORMED "unterminated string");
	if (*c->p != 'u') {
		e = memchr(from, *c->p, sizeof(from) - 1);
		if (e == NULL)
			return fail(c, MALFORMED "bad escape");
		*cp = (unsigned char)to[e - from];
		c->p++;
		return 0;
	}
	c->p++;
	if (hex4(c, cp) == -1)
		return -1;
	if (*cp >= 0xdc00 && *cp <= 0xdfff)
		return fail(c, MALFORMED "lone surrogate");
	if (*cp < 0xd800 || *cp > 0xdbff)
		return 0;
	if (c->end - c->p < 2 || c->p[0] != '\\' || c->p[1] != 'u')
		return fail(c, MALFORMED "lone surrogate");
	c->p += 2;
	if (hex4(c, &lo) == -1)
		return -1;
	if (lo < 0xdc00 || lo > 0xdfff)
		return fail(c, MALFORMED "lone surrogate");
	*cp = 0x10000 + ((*cp - 0xd800) << 10) + (lo - 0xdc00);
	return 0;
}

/*
 * Reads the string that starts at the cursor (at its quote) and decodes
 * it into what room 'out' has ('size' bytes; NULL and 0 to only check
 * it); '*len', if not NULL, is set to its whole decoded length.
 */
static int
string(struct cur *c, char *out, size_t size, size_t *len)
{
	const unsigned char *run;
	unsigned char u[UTF8_MAX];
	size_t n = 0;
	uint32_t cp;

	c->p++;
	for (;;) {
		/*
		 * A run of plain bytes.  No byte of a multi-byte UTF-8
		 * sequence is a quote, a backslash or a control byte, so a
		 * run never cuts one in two and can be checked whole.
		 */
		for (run = c->p; c->p < c->end && *c->p >= 0x20 &&
		    *c->p != '"' && *c->p != '\\'; c->p++)
			;
		if (!utf8_valid(run, c->p - run))
			return fail(c, MALFORMED "not UTF-8");
		put(out, size, &n, run, c->p - run);
		if (c->p == c->end)
			return fail(c, MALFORMED "unterminated string");
		if (*c->p == '"')
			break;
		if (*c->p != '\\')
			return fail(c, MALFORMED "control byte in a string");
		c->p++;
		if (escape(c, &cp) == -1)
			return -1;
		put(out, size, &n, u, utf8_encode(cp, u));
	}
	c->p++;
	if (len != NULL)
		*len = n;
	return 0;
}

/* Passes over one or more digits; returns whether there was one. */
static int
digits(struct cur *c)
{
	const unsigned char *start = c->p;

	while (c->p < c->end && *c->p >= '0' && *c->p <= '9')
		c->p++;
	return c->p > start;
}

/* -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)? */
static int
number(struct cur *c)
{
	eat(c, '-');
	if (!eat(c, '0') && !digits(c))
		return fail(c, MALFORMED "bad number");
	if (eat(c, '.') && !digits(c))
		return fail(c, MALFORMED "bad number");
	if (eat(c, 'e') || eat(c, 'E')) {
		if (!eat(c, '+'))
			eat(c, '-');
		if (!digits(c))
			return fail(c, MALFORMED "bad number");
	}
	return 0;
}

/* true, false or null: 'word'. */
static int
literal(struct cur *c, const char *word)
{
	size_t n = strlen(word);

	if ((size_t)(c->end - c->p) < n || memcmp(c->p, word, n) != 0)
		return fail(c, MALFORMED "unexpected byte");
	c->p += n;
	return 0;
}

/*
 * Reads the value of a top-level member "id": decoded into the caller's
 * buffer if it is a string, else only checked.
 */
static int
member_id(struct cur *c, struct member_id *m)
{
	m->seen++;
	m->string = c->p < c->end && *c->p == '"';
	if (!m->string)
		return value(c, 1);
	return string(c, m->buf, m->size, &m->len);
}

/*
 * Reads the object at the cursor (at its '{'), nested 'depth' deep; for
 * the top-level one, 'm' collects its member "id" (else NULL).
 */
static int
object(struct cur *c, int depth, struct member_id *m)
{
	char name[3];
	size_t namelen;

	c->p++;
	ws(c);
	if (eat(c, '}'))
		return 0;
	for (;;) {
		if (c->p == c->end || *c->p != '"')
			return fail(c, MALFORMED "expected a member name");
		/* Only "id" matters: a longer name needs no more room. */
		if (string(c, name, sizeof(name), &namelen) == -1)
			return -1;
		ws(c);
		if (!eat(c, ':'))
			return fail(c, MALFORMED "expected ':'");
		ws(c);
		if (m != NULL && namelen == 2 && memcmp(name, "id", 2) == 0) {
			if (member_id(c, m) == -1)
				return -1;
		} else if (value(c, depth) == -1)
			return -1;
		ws(c);
		if (eat(c, '}'))
			return 0;
		if (!eat(c, ','))
			return fail(c, MALFORMED "expected ',' or '}'");
		ws(c);
	}
}

/* Reads the array at the cursor (at its '['), nested 'depth' deep. */
static int
array(struct cur *c, int depth)
{
	c->p++;
	ws(c);
	if (eat(c, ']'))
		return 0;
	for (;;) {
		if (value(c, depth) == -1)
			return -1;
		ws(c);
		if (eat(c, ']'))
			return 0;
		if (!eat(c, ','))
			return fail(c, MALFORMED "expected ',' or ']'");
		ws(c);
	}
}

/* Reads any value inside a container nested 'depth' deep. */
static int
value(struct cur *c, int depth)
{
	if (c->p == c->end)
		return fail(c, MALFORMED "unexpected end");
	switch (*c->p) {
	case '{':
	case '[':
		if (depth >= JSON_ID_DEPTH)
			return fail(c, "JSON nested too deep");
		if (*c->p == '{')
			return object(c, depth + 1, NULL);
		return array(c, depth + 1);
	case '"':
		return string(c, NULL, 0, NULL);
	case 't':
		return literal(c, "true");
	case 'f':
		return literal(c, "false");
	case 'n':
		return literal(c, "null");
	case '-':
		return number(c);
	default:
		if (*c->p >= '0' && *c->p <= '9')
			return number(c);
		return fail(c, MALFORMED "unexpected byte");
	}
}

int
json_id(const char *s, size_t len, char *id, size_t size, size_t *idlen,
    const char **why)
{
	struct cur c = { (const unsigned char *)s,
	    (const unsigned char *)s + len, NULL };
	struct member_id m = { id, size, 0, 0, 0 };

	ws(&c);
	if (c.p == c.end || *c.p != '{')
		c.why = "not a JSON object";
	else if (object(&c, 1, &m) == 0) {
		ws(&c);
		if (c.p != c.end)
			c.why = MALFORMED "more after the object";
		else if (m.seen == 0)
			c.why = "no \"id\" member";
		else if (m.seen > 1)
			c.why = "two \"id\" members";
		else if (!m.string)
			c.why = "\"id\" is not a string";
	}
	*why = c.why;
	if (c.why != NULL)
		return -1;
	*idlen = m.len;
	return 0;
}
