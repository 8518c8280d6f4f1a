/*
 * grow.c - arrays that double as they fill: the core's queues (appendq.c,
 * fanout.c) keep theirs between turns, so that a busy server stops
 * allocating once they are as large as its runs.
 */
#include <stdlib.h>

#include "server.h"

int
array_grow(void *pp, size_t *cap, size_t need, size_t size)
{
	size_t ncap = *cap ? *cap : 16;
	void *np;

	if (need <= *cap)
		return 0;
	while (ncap < need)
		ncap *= 2;
	if ((np = reallocarray(*(void **)pp, ncap, size)) == NULL)
		return -1;
	*(void **)pp = np;
	*cap = ncap;
	return 0;
}
