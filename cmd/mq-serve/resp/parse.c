/*
 * parse.c - the Redis request parser.
 *
 * Model: a request is one command, in one of two forms, told apart by
 * its first byte as Redis does (networking.c processInputBuffer):
 *
 *   multibulk  "*N\r\n" then N times "$LEN\r\n" LEN bytes "\r\n"
 *              (N <= 0: an empty request, skipped by the caller)
 *   inline     any other line, ended by "\n" or "\r\n", split into
 *              arguments as Redis's sdssplitargs() does: blanks
 *              separate, "..." takes \n \r \t \b \a \xHH and \<any>
 *              escapes, '...' takes \' only, and a closing quote must
 *              be followed by a blank or the end of the line
 *
 * The checks, their order and their messages are those of Redis 7.0's
 * processMultibulkBuffer() and processInlineBuffer(): a length line or
 * an inline line may not grow past 'max_inline' bytes without its end,
 * the count and the lengths are decimal as string2ll() reads them (no
 * sign but '-', no leading zero, no blanks), a count over 'max_args' or
 * a bulk length over 'max_bulk' is invalid, and before AUTH a count over
 * 10 or a length over 16384 is refused.  Like Redis, the byte after the
 * '\r' of a length line and the two bytes after a bulk are skipped
 * without looking at them.
 *
 * There is no state between calls: a request that is not complete yet
 * is parsed again from its start on the next call, so one call costs
 * the bytes of the request so far, and a buffer of pipelined requests
 * is parsed in one pass (each call stops at the end of its request).
 *
 * Where it departs from Redis, always so that the result depends on the
 * bytes only and not on how they were split into reads:
 * - A line that is longer than 'max_inline' is refused even if its end
 *   came in the same read (Redis looks for the end in all it has read,
 *   and refuses only once it holds more than 64 KiB without it).
 * - A NUL byte is an ordinary byte (Redis searches lines with strchr(),
 *   so a line holding a NUL waits for the 64 KiB limit); in an inline
 *   request it is part of an argument.
 * - Redis 7 accepts multibulk counts up to INT_MAX; 'max_args' caps
 *   them (1024 * 1024 by default, the limit of Redis 6).
 */
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parse.h"

#define E_MBULK_LEN	"Protocol error: invalid multibulk length"
#define E_MBULK_BIG	"Protocol error: too big mbulk count string"
#define E_MBULK_AUTH	"Protocol error: unauthenticated multibulk length"
#define E_BULK_LEN	"Protocol error: invalid bulk length"
#define E_BULK_BIG	"Protocol error: too big bulk count string"
#define E_BULK_AUTH	"Protocol error: unauthenticated bulk length"
#define E_INLINE_BIG	"Protocol error: too big inline request"
#define E_QUOTES	"Protocol error: unbalanced quotes in request"
#define E_NOMEM		"out of memory"

#define LINE_MORE	(-1)	/* line_end(): no end yet */
#define LINE_BIG	(-2)	/* line_end(): too long */

void
resp_parser_init(struct resp_parser *p)
{
	memset(p, 0, sizeof(*p));
	p->max_args = RESP_MAX_ARGS;
	p->max_bulk = RESP_MAX_BULK;
	p->max_inline = RESP_MAX_INLINE;
	p->authenticated = 0;
}

void
resp_parser_free(struct resp_parser *p)
{
	free(p->args);
	p->args = NULL;
	p->cap = 0;
}

static ssize_t
fail(struct resp_parser *p, const char *msg)
{
	p->error = msg;
	return -1;
}

/*
 * The error for a length line that does not start with '$'.  Redis
 * formats the byte with %c and then turns CR and LF into spaces (its
 * error replies are one line); a NUL ends the message there.
 */
static ssize_t
fail_dollar(struct resp_parser *p, char c)
{
	if (c == '\r' || c == '\n')
		c = ' ';
	(void)snprintf(p->errbuf, sizeof(p->errbuf),
	    "Protocol error: expected '$', got '%c'", c);
	return fail(p, p->errbuf);
}

/*
 * Reads the decimal in 's' ('n' bytes) into '*v' as Redis's string2ll()
 * does: "0", or an optional '-' then a digit 1-9 then digits, at most 20
 * bytes, within long long.  Returns 1, or 0 if it is not such a number.
 */
static int
parse_ll(const char *s, size_t n, long long *v)
{
	unsigned long long u = 0, most;
	size_t i = 0;
	unsigned d;
	int neg = 0;

	if (n == 0 || n > 20)
		return 0;
	if (n == 1 && s[0] == '0') {
		*v = 0;
		return 1;
	}
	if (s[0] == '-') {
		neg = 1;
		i = 1;
	}
	if (i == n || s[i] < '1' || s[i] > '9')
		return 0;
	most = neg ? (unsigned long long)LLONG_MAX + 1 : LLONG_MAX;
	for (; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return 0;
		d = (unsigned)(s[i] - '0');
		if (u > (most - d) / 10)
			return 0;
		u = u * 10 + d;
	}
	if (!neg)
		*v = (long long)u;
	else if (u > LLONG_MAX)
		*v = LLONG_MIN;
	else
		*v = -(long long)u;
	return 1;
}

/*
 * Finds the end of the line at 'buf' ('len' bytes): the first 'c'.
 * Looks at no more than 'max' + 1 bytes, since a line is refused once
 * 'max' bytes of it are there without its end.  Returns the index of
 * the end, LINE_MORE if it has not arrived yet, or LINE_BIG.
 */
static ssize_t
line_end(const char *buf, size_t len, size_t max, int c)
{
	const char *e;

	e = memchr(buf, c, len > max ? max + 1 : len);
	if (e != NULL)
		return e - buf;
	return len > max ? LINE_BIG : LINE_MORE;
}

/*
 * Makes room for 'need' arguments in p->args, doubling the array but not
 * past 'most' (>= 'need'), the most this request can have.  Returns 0,
 * or -1 with errno ENOMEM.
 */
static int
reserve(struct resp_parser *p, size_t need, size_t most)
{
	struct resp_arg *a;
	size_t cap;

	if (need <= p->cap)
		return 0;
	cap = p->cap < 16 ? 16 : p->cap;
	while (cap < need && cap <= SIZE_MAX / 2)
		cap *= 2;
	if (cap > most || cap < need)
		cap = most;
	if ((a = reallocarray(p->args, cap, sizeof(*a))) == NULL)
		return -1;
	p->args = a;
	p->cap = cap;
	return 0;
}

/* ---- Multibulk: "*N\r\n" and N bulks. */

/*
 * The length line at 'buf' ('len' bytes) in its usual form, read without
 * a search for its end: 'type', 1 to 18 digits with no leading zero (or
 * "0"), then CR and a byte more, within 'max'.  Sets '*e' to the index
 * of the CR and '*v' to the number and returns 1; returns 0 for any
 * other form, a line cut short included, which the caller then reads
 * the long way (line_end, parse_ll).  Every request is made of these
 * lines, and what this one takes the long way takes alike.
 */
static int
length_fast(const char *buf, size_t len, size_t max, char type, ssize_t *e,
    long long *v)
{
	size_t i, end = len < 19 ? len : 19;
	long long n = 0;

	if (len < 4 || buf[0] != type)
		return 0;
	for (i = 1; i < end && buf[i] >= '0' && buf[i] <= '9'; i++)
		n = n * 10 + (buf[i] - '0');
	if (i == 1 || i == end || buf[i] != '\r' || i + 1 >= len ||
	    i > max || (buf[1] == '0' && i > 2))
		return 0;
	*e = (ssize_t)i;
	*v = n;
	return 1;
}

static ssize_t
parse_multibulk(struct resp_parser *p, const char *buf, size_t len,
    size_t *argc)
{
	long long count, ll;
	size_t pos, n;
	ssize_t e;

	if (!length_fast(buf, len, p->max_inline, '*', &e, &count)) {
		e = line_end(buf, len, p->max_inline, '\r');
		if (e == LINE_BIG)
			return fail(p, E_MBULK_BIG);
		if (e == LINE_MORE || (size_t)e + 1 >= len)
			return 0;	/* no CR yet, or nothing after it */
		if (!parse_ll(buf + 1, (size_t)e - 1, &count))
			return fail(p, E_MBULK_LEN);
	}
	if (count > 0 && (unsigned long long)count > p->max_args)
		return fail(p, E_MBULK_LEN);
	if (count > RESP_UNAUTH_ARGS && !p->authenticated)
		return fail(p, E_MBULK_AUTH);
	pos = (size_t)e + 2;
	if (count <= 0)
		return (ssize_t)pos;

	for (n = 0; n < (size_t)count; n++) {
		if (!length_fast(buf + pos, len - pos, p->max_inline, '$',
		    &e, &ll)) {
			e = line_end(buf + pos, len - pos, p->max_inline,
			    '\r');
			if (e == LINE_BIG)
				return fail(p, E_BULK_BIG);
			if (e == LINE_MORE || pos + (size_t)e + 1 >= len)
				return 0;
			if (buf[pos] != '$')
				return fail_dollar(p, buf[pos]);
			/* Here e >= 1: buf[pos] is '$', not the CR. */
			if (!parse_ll(buf + pos + 1, (size_t)e - 1, &ll))
				return fail(p, E_BULK_LEN);
		}
		if (ll < 0 || (unsigned long long)ll > p->max_bulk)
			return fail(p, E_BULK_LEN);
		if (ll > RESP_UNAUTH_BULK && !p->authenticated)
			return fail(p, E_BULK_AUTH);
		pos += (size_t)e + 2;
		if (len - pos < 2 || len - pos - 2 < (unsigned long long)ll)
			return 0;	/* the bulk and its CRLF are not all here */
		if (n >= p->cap && reserve(p, n + 1, (size_t)count) == -1)
			return fail(p, E_NOMEM);
		p->args[n].p = buf + pos;
		p->args[n].len = (size_t)ll;
		pos += (size_t)ll + 2;
	}
	*argc = n;
	return (ssize_t)pos;
}

/* ---- Inline: one line split as sdssplitargs() does. */

/* isspace() in the C locale, the one Redis runs in. */
static int
is_space(char c)
{
	return c == ' ' || (c >= '\t' && c <= '\r');
}

static int
hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* The byte that "\'c'" stands for inside double quotes. */
static char
unescape(char c)
{
	switch (c) {
	case 'n':
		return '\n';
	case 'r':
		return '\r';
	case 't':
		return '\t';
	case 'b':
		return '\b';
	case 'a':
		return '\a';
	default:
		return c;
	}
}

/*
 * Splits the line 's' ('n' bytes, without its line end) into arguments.
 * With 'args' NULL, only counts them and checks the quotes, writing
 * nothing; otherwise decodes each argument in place (the decoded bytes
 * never overtake the ones still to read) and fills args[].  Returns the
 * number of arguments, or -1 if the quotes are unbalanced.
 */
static long
split(char *s, size_t n, struct resp_arg *args)
{
	size_t i = 0, start, w;
	long argc = 0;
	char c, q;

	for (;;) {
		while (i < n && is_space(s[i]))
			i++;
		if (i == n)
			return argc;
		start = w = i;
		q = 0;		/* the open quote, if any */
		for (;;) {
			if (q == 0) {
				if (i == n)
					break;
				c = s[i];
				/* Only these end a word; \v and \f do not. */
				if (c == ' ' || c == '\t' || c == '\n' ||
				    c == '\r')
					break;
				i++;
				if (c == '"' || c == '\'') {
					q = c;
					continue;
				}
			} else if (i == n) {
				return -1;	/* the quote is never closed */
			} else if (s[i] == q) {
				if (i + 1 < n && !is_space(s[i + 1]))
					return -1;	/* "a"b */
				i++;
				break;
			} else if (q == '"' && s[i] == '\\' && i + 3 < n &&
			    s[i + 1] == 'x' && hex_value(s[i + 2]) != -1 &&
			    hex_value(s[i + 3]) != -1) {
				c = (char)(hex_value(s[i + 2]) * 16 +
				    hex_value(s[i + 3]));
				i += 4;
			} else if (q == '"' && s[i] == '\\' && i + 1 < n) {
				c = unescape(s[i + 1]);
				i += 2;
			} else if (q == '\'' && s[i] == '\\' && i + 1 < n &&
			    s[i + 1] == '\'') {
				c = '\'';
				i += 2;
			} else
				c = s[i++];
			if (args != NULL)
				s[w] = c;
			w++;
		}
		if (args != NULL) {
			args[argc].p = s + start;
			args[argc].len = w - start;
		}
		argc++;
	}
}

static ssize_t
parse_inline(struct resp_parser *p, char *buf, size_t len, size_t *argc)
{
	size_t n;
	ssize_t e;
	long count;

	e = line_end(buf, len, p->max_inline, '\n');
	if (e == LINE_BIG)
		return fail(p, E_INLINE_BIG);
	if (e == LINE_MORE)
		return 0;
	n = (size_t)e;
	if (n > 0 && buf[n - 1] == '\r')
		n--;
	/* Check first, so that a refused line is left as it came. */
	if ((count = split(buf, n, NULL)) == -1)
		return fail(p, E_QUOTES);
	if (reserve(p, (size_t)count, (size_t)count) == -1)
		return fail(p, E_NOMEM);
	(void)split(buf, n, p->args);
	*argc = (size_t)count;
	return e + 1;
}

ssize_t
resp_parse(struct resp_parser *p, char *buf, size_t len, size_t *argc)
{
	*argc = 0;
	p->error = NULL;
	if (len == 0)
		return 0;
	if (buf[0] == '*')
		return parse_multibulk(p, buf, len, argc);
	return parse_inline(p, buf, len, argc);
}
