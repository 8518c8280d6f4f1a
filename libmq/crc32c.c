/*
 * crc32c.c - CRC-32C (Castagnoli), the checksum of every batch and mark.
 *
 * Model: the reflected polynomial 0x82F63B78 with the register preset to
 * all ones and inverted at the end, so mq_crc32c(0, "123456789", 9) is
 * 0xE3069283 and a CRC can be continued: passing the CRC of 'a' as 'crc'
 * with buffer 'b' gives the CRC of 'a' followed by 'b'.
 *
 * Two implementations compute the same function.  On x86_64 CPUs with
 * SSE4.2 the crc32 instruction takes 8 bytes a step; everywhere else a
 * slicing-by-8 table does.  Which one runs is decided once, at the first
 * call, together with building the tables (computed, not stored).
 */
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "internal.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define CRC_HW 1
#include <nmmintrin.h>
#endif

#define CRC_POLY 0x82F63B78u

/* crc_tab[0] is the byte-wise table; crc_tab[k] advances k more zero bytes. */
static uint32_t crc_tab[8][256];

/* The raw (uninverted) register update chosen at first use. */
static uint32_t (*crc_update)(uint32_t, const unsigned char *, size_t);
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;

/* Slicing-by-8: eight table lookups per 8 input bytes. */
static uint32_t
crc_sw(uint32_t crc, const unsigned char *p, size_t len)
{
	uint64_t w;

	while (len >= 8) {
		w = mq_get64(p) ^ crc;
		crc = crc_tab[7][w & 0xff] ^
		    crc_tab[6][(w >> 8) & 0xff] ^
		    crc_tab[5][(w >> 16) & 0xff] ^
		    crc_tab[4][(w >> 24) & 0xff] ^
		    crc_tab[3][(w >> 32) & 0xff] ^
		    crc_tab[2][(w >> 40) & 0xff] ^
		    crc_tab[1][(w >> 48) & 0xff] ^
		    crc_tab[0][w >> 56];
		p += 8;
		len -= 8;
	}
	while (len-- > 0)
		crc = crc_tab[0][(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return crc;
}

#ifdef CRC_HW
/* The SSE4.2 crc32 instruction: 8 bytes a step, then the tail byte-wise. */
__attribute__((target("sse4.2")))
static uint32_t
crc_hw(uint32_t crc, const unsigned char *p, size_t len)
{
	uint64_t c = crc, w;

	while (len >= 8) {
		memcpy(&w, p, 8);	/* unaligned load */
		c = _mm_crc32_u64(c, w);
		p += 8;
		len -= 8;
	}
	crc = (uint32_t)c;
	while (len-- > 0)
		crc = _mm_crc32_u8(crc, *p++);
	return crc;
}
#endif

static void
crc_init(void)
{
	uint32_t c;
	int i, k;

	for (i = 0; i < 256; i++) {
		c = i;
		for (k = 0; k < 8; k++)
			c = (c >> 1) ^ (CRC_POLY & (0u - (c & 1)));
		crc_tab[0][i] = c;
	}
	for (i = 0; i < 256; i++)
		for (k = 1; k < 8; k++)
			crc_tab[k][i] = (crc_tab[k - 1][i] >> 8) ^
			    crc_tab[0][crc_tab[k - 1][i] & 0xff];

	crc_update = crc_sw;
#ifdef CRC_HW
	__builtin_cpu_init();
	if (__builtin_cpu_supports("sse4.2"))
		crc_update = crc_hw;
#endif
}

/*
 * Returns the CRC-32C of 'len' bytes at 'buf' continuing from 'crc' (0 to
 * start), using the fastest implementation this CPU has.
 */
uint32_t
mq_crc32c(uint32_t crc, const void *buf, size_t len)
{
	pthread_once(&crc_once, crc_init);
	return ~crc_update(~crc, buf, len);
}

/* The same with the table implementation always (for tests). */
uint32_t
mq_crc32c_sw(uint32_t crc, const void *buf, size_t len)
{
	pthread_once(&crc_once, crc_init);
	return ~crc_sw(~crc, buf, len);
}
