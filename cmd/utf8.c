/*
 * utf8.c - UTF-8 (RFC 3629): what is well-formed, and how a code point
 * is written.  A well-formed sequence is a lead byte that says how many
 * continuation bytes (10xxxxxx) follow, holding a code point that needs
 * that many bytes (no overlong forms), outside the UTF-16 surrogates and
 * at most U+10FFFF.
 */
#include "utf8.h"

int
utf8_valid(const void *p, size_t len)
{
	const unsigned char *s = p, *end = s + len;
	unsigned c, n, i;
	uint32_t cp;

	while (s < end) {
		c = *s++;
		if (c < 0x80)
			continue;
		if (c >= 0xc2 && c <= 0xdf)
			n = 1, cp = c & 0x1f;
		else if (c >= 0xe0 && c <= 0xef)
			n = 2, cp = c & 0x0f;
		else if (c >= 0xf0 && c <= 0xf4)
			n = 3, cp = c & 0x07;
		else
			return 0;
		if ((size_t)(end - s) < n)
			return 0;
		for (i = 0; i < n; i++) {
			if ((s[i] & 0xc0) != 0x80)
				return 0;
			cp = cp << 6 | (s[i] & 0x3f);
		}
		s += n;
		if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
		    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
			return 0;
	}
	return 1;
}

size_t
utf8_encode(uint32_t cp, unsigned char buf[UTF8_MAX])
{
	if (cp < 0x80) {
		buf[0] = cp;
		return 1;
	}
	if (cp < 0x800) {
		buf[0] = 0xc0 | cp >> 6;
		buf[1] = 0x80 | (cp & 0x3f);
		return 2;
	}
	if (cp < 0x10000) {
		buf[0] = 0xe0 | cp >> 12;
		buf[1] = 0x80 | (cp >> 6 & 0x3f);
		buf[2] = 0x80 | (cp & 0x3f);
		return 3;
	}
	buf[0] = 0xf0 | cp >> 18;
	buf[1] = 0x80 | (cp >> 12 & 0x3f);
	buf[2] = 0x80 | (cp >> 6 & 0x3f);
	buf[3] = 0x80 | (cp & 0x3f);
	return 4;
}
