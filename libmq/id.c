/*
 * id.c - stream ids: "ms-seq", two unsigned 64-bit decimals.
 *
 * Model: ids order by ms, then by seq, as in Redis streams.  The text
 * forms are those Redis 7 accepts: digits only in each part (leading
 * zeros allowed; no sign, no space, no empty part, no overflow), at most
 * 127 bytes in all; "-" and "+" are the smallest and largest ids where a
 * range bound is read, and a bare "ms" takes a seq chosen by the caller.
 */
#include <stdint.h>
#include <string.h>

#include "mq.h"

#define ID_TEXT_MAX 127		/* Redis reads ids into a 128-byte buffer */

const mq_id MQ_ID_LAST = { UINT64_MAX, UINT64_MAX };

int
mq_id_cmp(mq_id a, mq_id b)
{
	if (a.ms != b.ms)
		return a.ms < b.ms ? -1 : 1;
	if (a.seq != b.seq)
		return a.seq < b.seq ? -1 : 1;
	return 0;
}

/* Writes 'v' in decimal at 'p' (no NUL); returns the number of digits. */
static int
u64_fmt(char *p, uint64_t v)
{
	char tmp[20];
	int n = 0, i;

	do {
		tmp[n++] = '0' + v % 10;
		v /= 10;
	} while (v != 0);
	for (i = 0; i < n; i++)
		p[i] = tmp[n - 1 - i];
	return n;
}

/* Writes "ms-seq" and a NUL into 'buf' of MQ_ID_MAX bytes; returns its length. */
int
mq_id_fmt(char *buf, mq_id id)
{
	int n;

	n = u64_fmt(buf, id.ms);
	buf[n++] = '-';
	n += u64_fmt(buf + n, id.seq);
	buf[n] = '\0';
	return n;
}

/*
 * Parses the 'len' bytes at 's' as an unsigned 64-bit decimal into 'v'.
 * Returns 0, or -1 if empty, not all digits, or over UINT64_MAX.
 */
static int
u64_parse(const char *s, size_t len, uint64_t *v)
{
	uint64_t r = 0;
	unsigned d;
	size_t i;

	if (len == 0)
		return -1;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		d = s[i] - '0';
		if (r > (UINT64_MAX - d) / 10)
			return -1;
		r = r * 10 + d;
	}
	*v = r;
	return 0;
}

/*
 * Parses "ms-seq" or "ms" in the 'len' bytes at 's' into 'id'.  A missing
 * seq is 'missing_seq'; "-" is 0-0 and "+" the largest id.  Returns MQ_OK
 * or MQ_EBADID ('id' untouched).
 */
int
mq_id_parse(const char *s, size_t len, uint64_t missing_seq, mq_id *id)
{
	const char *dash;
	mq_id r;

	if (len > ID_TEXT_MAX)
		return MQ_EBADID;
	if (len == 1 && s[0] == '-') {
		id->ms = id->seq = 0;
		return MQ_OK;
	}
	if (len == 1 && s[0] == '+') {
		*id = MQ_ID_LAST;
		return MQ_OK;
	}
	if ((dash = memchr(s, '-', len)) == NULL) {
		if (u64_parse(s, len, &r.ms) == -1)
			return MQ_EBADID;
		r.seq = missing_seq;
	} else {
		if (u64_parse(s, dash - s, &r.ms) == -1 ||
		    u64_parse(dash + 1, len - (dash - s) - 1, &r.seq) == -1)
			return MQ_EBADID;
	}
	*id = r;
	return MQ_OK;
}

/* Advances 'id' to the next id; MQ_EBADID (unchanged) at the largest. */
int
mq_id_incr(mq_id *id)
{
	if (id->seq == UINT64_MAX) {
		if (id->ms == UINT64_MAX)
			return MQ_EBADID;
		id->ms++;
		id->seq = 0;
	} else
		id->seq++;
	return MQ_OK;
}

/* Moves 'id' to the previous id; MQ_EBADID (unchanged) at 0-0. */
int
mq_id_decr(mq_id *id)
{
	if (id->seq == 0) {
		if (id->ms == 0)
			return MQ_EBADID;
		id->ms--;
		id->seq = UINT64_MAX;
	} else
		id->seq--;
	return MQ_OK;
}

/*
 * Parses the id argument of XADD in the 'len' bytes at 's': "*" (AUTO),
 * "ms-*" (PARTIAL), "ms-seq" or "ms" (EXPLICIT, seq 0).  "-" and "+" are
 * refused as Redis does.  Returns MQ_OK or MQ_EBADID.
 */
int
mq_idspec_parse(const char *s, size_t len, struct mq_idspec *spec)
{
	struct mq_idspec r;

	if (len == 1 && s[0] == '*') {
		spec->kind = MQ_ID_AUTO;
		spec->id.ms = spec->id.seq = 0;
		return MQ_OK;
	}
	if (len == 1 && (s[0] == '-' || s[0] == '+'))
		return MQ_EBADID;
	if (len > ID_TEXT_MAX)
		return MQ_EBADID;
	if (len >= 3 && s[len - 1] == '*' && s[len - 2] == '-') {
		r.kind = MQ_ID_PARTIAL;
		r.id.seq = 0;
		if (u64_parse(s, len - 2, &r.id.ms) == -1)
			return MQ_EBADID;
	} else {
		r.kind = MQ_ID_EXPLICIT;
		if (mq_id_parse(s, len, 0, &r.id) != MQ_OK)
			return MQ_EBADID;
	}
	*spec = r;
	return MQ_OK;
}
