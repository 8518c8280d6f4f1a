/*
 * utf8.h - UTF-8 (RFC 3629) for the tools: checking bytes, encoding a
 * code point.  Pure functions, shared by the JSON writer in tool.c and
 * the JSON reader in json_id.c, so that both agree on what is UTF-8.
 */
#ifndef MQ_UTF8_H
#define MQ_UTF8_H

#include <stddef.h>
#include <stdint.h>

/* The most bytes one code point takes. */
#define UTF8_MAX	4

/*
 * Whether the 'len' bytes at 'p' are well-formed UTF-8: no overlong
 * forms, surrogates or code points above U+10FFFF.
 */
int	 utf8_valid(const void *p, size_t len);
/*
 * Writes code point 'cp' (at most U+10FFFF, not a surrogate) into 'buf';
 * returns the number of bytes written, 1 to UTF8_MAX.
 */
size_t	 utf8_encode(uint32_t cp, unsigned char buf[UTF8_MAX]);

#endif /* MQ_UTF8_H */
