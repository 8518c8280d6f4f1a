/*
 * glob.c - Redis's glob patterns, as PSUBSCRIBE and KEYS take them:
 * '*' any run of bytes, '?' one byte, '[abc]', '[a-z]', '[^x]' a class,
 * and '\' to take the next byte as it is.  Every token but '*' matches
 * exactly one byte, so on a mismatch it is enough to go back to the last
 * '*' and let it take one byte more: O(pattern x string), never
 * exponential.
 */
#include "internal.h"

/*
 * Matches the class that starts after '[' at 'p' against 'c'.  Sets
 * '*next' past the closing ']' (or to the end if there is none).
 */
static int
class_match(const char *p, const char *pend, unsigned char c, const char **next)
{
	int neg = 0, match = 0;

	if (p < pend && *p == '^') {
		neg = 1;
		p++;
	}
	for (; p < pend && *p != ']'; p++) {
		if (*p == '\\' && p + 1 < pend) {
			p++;
			if ((unsigned char)*p == c)
				match = 1;
		} else if (p + 2 < pend && p[1] == '-' && p[2] != ']') {
			unsigned char lo = (unsigned char)p[0], hi = (unsigned char)p[2];

			if (lo > hi) {
				unsigned char t = lo;

				lo = hi;
				hi = t;
			}
			if (c >= lo && c <= hi)
				match = 1;
			p += 2;
		} else if ((unsigned char)*p == c)
			match = 1;
	}
	*next = p < pend ? p + 1 : pend;
	return neg ? !match : match;
}

int
mq_glob_match(const char *pattern, size_t plen, const char *s, size_t slen)
{
	const char *p = pattern, *pend = pattern + plen, *send = s + slen;
	const char *star_p = NULL, *star_s = NULL, *next;

	while (s < send) {
		if (p < pend && *p == '*') {
			while (p < pend && *p == '*')
				p++;
			if (p == pend)
				return 1;
			star_p = p;
			star_s = s;
			continue;
		}
		if (p < pend) {
			int ok;

			switch (*p) {
			case '?':
				ok = 1;
				next = p + 1;
				break;
			case '[':
				ok = class_match(p + 1, pend, (unsigned char)*s, &next);
				break;
			case '\\':
				/* A lone '\' at the end stands for itself. */
				if (p + 1 < pend) {
					ok = p[1] == *s;
					next = p + 2;
				} else {
					ok = *p == *s;
					next = p + 1;
				}
				break;
			default:
				ok = *p == *s;
				next = p + 1;
				break;
			}
			if (ok) {
				p = next;
				s++;
				continue;
			}
		}
		if (star_p == NULL)
			return 0;
		p = star_p;
		s = ++star_s;
	}
	while (p < pend && *p == '*')
		p++;
	return p == pend;
}
