/*
 * name.c - stream, group and consumer names made safe as file names.
 *
 * Model: a name is 1 to MQ_NAME_MAX bytes (any but NUL).  Its encoding
 * keeps the bytes [A-Za-z0-9_-] and every '.' but a leading one, and
 * writes each other byte as '%' and two upper-case hex digits.  So the
 * encoding never holds '/', never starts with '.', and "." and ".." are
 * only names.  Each name has exactly one encoding, and decoding refuses
 * any string that is not the encoding of some name.
 */
#include <stddef.h>
#include <string.h>

#include "internal.h"

static const char hexdig[] = "0123456789ABCDEF";

/* Whether byte 'c' at position 'pos' of a name is kept as it is. */
static int
name_plain(unsigned char c, size_t pos)
{
	if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    (c >= '0' && c <= '9') || c == '_' || c == '-')
		return 1;
	return c == '.' && pos > 0;
}

/* The value of upper-case hex digit 'c', or -1. */
static int
hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * Encodes 'name' into 'buf' of 'size' bytes, NUL-terminated.  Returns the
 * length of the encoding, MQ_EBADNAME for an empty or over-long name, or
 * MQ_EINVAL if 'buf' is too small.  An encoding over MQ_ENCNAME_LIMIT
 * bytes is refused too (MQ_EBADNAME): with the prefix of a temporary
 * name it must still fit the 255 bytes a file name may have.
 */
int
mq_name_encode(const char *name, char *buf, size_t size)
{
	const unsigned char *s = (const unsigned char *)name;
	size_t i, n, len;

	len = strnlen(name, MQ_NAME_MAX + 1);
	if (len == 0 || len > MQ_NAME_MAX)
		return MQ_EBADNAME;
	for (i = n = 0; i < len; i++) {
		if (name_plain(s[i], i)) {
			if (n + 1 >= size)
				return MQ_EINVAL;
			buf[n++] = s[i];
		} else {
			if (n + 3 >= size)
				return MQ_EINVAL;
			buf[n++] = '%';
			buf[n++] = hexdig[s[i] >> 4];
			buf[n++] = hexdig[s[i] & 0xf];
		}
	}
	buf[n] = '\0';
	if (n > MQ_ENCNAME_LIMIT)
		return MQ_EBADNAME;
	return (int)n;
}

/*
 * Decodes 'enc' into 'buf' of 'size' bytes, NUL-terminated.  Returns the
 * length of the name, MQ_EBADNAME if 'enc' is not an encoding that
 * mq_name_encode makes (a byte that should be encoded, a '%' escape of a
 * byte that should not, lower-case hex, an escaped NUL, a name out of
 * length), or MQ_EINVAL if 'buf' is too small.
 */
int
mq_name_decode(const char *enc, char *buf, size_t size)
{
	const unsigned char *s = (const unsigned char *)enc;
	size_t n;
	int hi, lo, c;

	for (n = 0; *s != '\0'; n++) {
		if (n >= MQ_NAME_MAX)
			return MQ_EBADNAME;
		if (*s == '%') {
			if ((hi = hexval(s[1])) < 0 || (lo = hexval(s[2])) < 0)
				return MQ_EBADNAME;
			c = hi << 4 | lo;
			if (c == 0 || name_plain(c, n))
				return MQ_EBADNAME;
			s += 3;
		} else {
			c = *s++;
			if (!name_plain(c, n))
				return MQ_EBADNAME;
		}
		if (n + 1 >= size)
			return MQ_EINVAL;
		buf[n] = c;
	}
	if (n == 0)
		return MQ_EBADNAME;
	buf[n] = '\0';
	return (int)n;
}

/*
 * A binding's key or pattern, which unlike a name may be empty: "%",
 * which no name encodes to, stands for "".  Otherwise as a name.
 */
int
mq_pattern_encode(const char *pattern, char *buf, size_t size)
{
	if (pattern[0] == '\0')
		return strlcpy(buf, "%", size) < size ? MQ_OK : MQ_EINVAL;
	return mq_name_encode(pattern, buf, size) < 0 ? MQ_EBADNAME : MQ_OK;
}

int
mq_pattern_decode(const char *enc, char *buf, size_t size)
{
	if (strcmp(enc, "%") == 0) {
		if (size == 0)
			return MQ_EINVAL;
		buf[0] = '\0';
		return MQ_OK;
	}
	return mq_name_decode(enc, buf, size) < 0 ? MQ_ECORRUPT : MQ_OK;
}
