/*
 * pending.c - the pending entries of a consumer group in memory: one
 * array of slots in id order.
 *
 * Model: entries are nearly always created above every pending id (new
 * deliveries after the cursor) and acknowledged roughly in that order,
 * so a new entry is appended, and an acknowledged one becomes a dead
 * slot: the array starts and ends at a live slot (dead ones at either
 * end are dropped at once), and the dead slots inside are squeezed out
 * when they outnumber the live ones.  A dead slot keeps an id that keeps
 * the array in order, and may be reused by an entry that fits there.  A
 * lookup tries the first slot (an ack in order), then searches by id.
 * An entry below the top (after XGROUP SETID backwards, or a forced
 * claim) is put in a dead slot next to its place if there is one, else
 * the slots above its place move up, leaving a few dead slots behind it
 * for the next such entries (so a run of them costs no more than a
 * constant per entry).  Slots move, so nothing keeps a pointer or an
 * index into the array across a change: code that walks it while it
 * makes changes keeps the id and searches again.
 *
 * This file knows the slots and their order; what a pending entry means
 * -- its owner, the entries handed back, the counts of the group -- is
 * group.c's, which walks the array itself where it filters by owner.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define PL_MIN		64		/* slots of the smallest pending array */
#define PL_KEEP		256		/* an empty array larger is freed */
#define PL_GAP		16		/* an insertion that moves n slots
					   leaves n / PL_GAP as room */

/* Whether slot 'p' comes before ('id', 'side') in the order. */
static inline int
slot_before(const struct mq_pentry *p, mq_id id, int side)
{
	return mq_id_lt(p->id, id) || (mq_id_eq(p->id, id) && p->side < side);
}

/*
 * The first slot of 'pl' that does not come before ('id', 'side');
 * pl->len if there is none.  Side -1 finds the first slot of id 'id' or
 * above, side 2 the first slot above 'id'.
 */
static size_t
slot_search(const struct mq_plist *pl, mq_id id, int side)
{
	size_t lo = pl->head, hi = pl->len, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (slot_before(&pl->e[mid], id, side))
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* The first live slot at or after slot 'i'; pl->len if none. */
static size_t
live_from(const struct mq_plist *pl, size_t i)
{
	while (i < pl->len && !pl->e[i].live)
		i++;
	return i;
}

size_t
mq_plist_seek(const struct mq_plist *pl, mq_id id, int above)
{
	return live_from(pl, slot_search(pl, id, above ? 2 : -1));
}

/*
 * mq_plist_find() past its first looks: a search, for an 'id' within the
 * slots.  Out of line, so that the common lookups that need none (an ack
 * in order, a new entry above all) cost a few instructions and no saved
 * registers; insert_slow() is out of line for the same reason.
 */
static __attribute__((__noinline__)) struct mq_pentry *
find_slow(struct mq_plist *pl, mq_id id)
{
	struct mq_pentry *p;

	p = &pl->e[slot_search(pl, id, 0)];	/* < len: e[len - 1].id >= id */
	return p->live && mq_id_eq(p->id, id) ? p : NULL;
}

struct mq_pentry *
mq_plist_find(struct mq_plist *pl, mq_id id)
{
	struct mq_pentry *p;

	if (pl->head == pl->len)
		return NULL;
	p = &pl->e[pl->head];
	if (mq_id_eq(p->id, id))
		return p;		/* the common ack, in order */
	if (mq_id_lt(id, p->id) || mq_id_lt(pl->e[pl->len - 1].id, id))
		return NULL;
	return find_slow(pl, id);
}

/* Moves the live slots of 'pl' to the front of the array, in order. */
static void
plist_squeeze(struct mq_plist *pl)
{
	size_t i, n = 0;

	for (i = pl->head; i < pl->len; i++)
		if (pl->e[i].live)
			pl->e[n++] = pl->e[i];
	pl->head = 0;
	pl->len = n;
	pl->ndead = 0;
}

/* Makes the array hold at least 'n' more slots after pl->len. */
static int
plist_grow(struct mq_plist *pl, size_t n)
{
	struct mq_pentry *e;
	size_t cap = pl->cap ? pl->cap : PL_MIN;

	while (cap - pl->len < n)
		cap *= 2;
	if (cap == pl->cap)
		return MQ_OK;
	if ((e = reallocarray(pl->e, cap, sizeof(*e))) == NULL)
		return mq_sys();
	pl->e = e;
	pl->cap = cap;
	return MQ_OK;
}

void
mq_plist_tidy(struct mq_plist *pl, uint64_t live)
{
	while (pl->head < pl->len && !pl->e[pl->head].live) {
		pl->head++;
		pl->ndead--;
	}
	while (pl->len > pl->head && !pl->e[pl->len - 1].live) {
		pl->len--;
		pl->ndead--;
	}
	if (pl->head == pl->len) {
		pl->head = pl->len = 0;
		if (pl->cap > PL_KEEP) {
			free(pl->e);
			pl->e = NULL;
			pl->cap = 0;
		}
	} else if (pl->ndead > live)
		plist_squeeze(pl);
}

/*
 * Opens room at slot 'i' of 'pl', whose slots before and from 'i' are
 * live: the slots from 'i' on move up, and those in between become
 * room, a number in proportion to the slots moved.  The new entry goes
 * in the middle one (returned).  The room below it goes with the slot
 * below (dead, side 1; or, at the front, free slots before pl->head),
 * the room above it with the slot above (dead, side -1), so that entries
 * that come later on either side of the new one take it without moving
 * anything.  Returns NULL with errno set if out of memory.
 */
static struct mq_pentry *
plist_open(struct mq_plist *pl, size_t i)
{
	size_t gap = 1 + (pl->len - i) / PL_GAP, mid = i + gap / 2, k;

	if (plist_grow(pl, gap) != MQ_OK)
		return NULL;
	memmove(&pl->e[i + gap], &pl->e[i], (pl->len - i) * sizeof(*pl->e));
	pl->len += gap;
	if (i == pl->head)
		pl->head = mid;
	else
		for (k = i; k < mid; k++) {
			pl->e[k].id = pl->e[i - 1].id;
			pl->e[k].side = 1;
			pl->e[k].live = 0;
			pl->ndead++;
		}
	for (k = mid + 1; k < i + gap; k++) {
		pl->e[k].id = pl->e[i + gap].id;
		pl->e[k].side = -1;
		pl->e[k].live = 0;
		pl->ndead++;
	}
	return &pl->e[mid];
}

/* Makes slot 'p' (NULL: none) the live slot of 'id'; returns it. */
static inline struct mq_pentry *
slot_take(struct mq_pentry *p, mq_id id)
{
	if (p != NULL) {
		p->id = id;
		p->side = 0;
		p->live = 1;
	}
	return p;
}

/*
 * mq_plist_insert() in the rare cases: among the other slots, or above
 * them in a full array.  Out of line, as find_slow() is.
 */
static __attribute__((__noinline__)) struct mq_pentry *
insert_slow(struct mq_plist *pl, mq_id id, uint64_t live)
{
	size_t i;

	if (pl->head == pl->len || mq_id_lt(pl->e[pl->len - 1].id, id)) {
		if (live < pl->cap / 2)
			plist_squeeze(pl);
		else if (plist_grow(pl, 1) != MQ_OK)
			return NULL;
		return slot_take(&pl->e[pl->len++], id);
	}
	if (pl->ndead > live)
		plist_squeeze(pl);
	/*
	 * Slot 'i' is where (id, 0) goes (there is one: the last slot is
	 * live and above).  A dead slot there or just below takes the
	 * entry; else room is made.
	 */
	i = slot_search(pl, id, 0);
	if (!pl->e[i].live) {
		pl->ndead--;
		return slot_take(&pl->e[i], id);
	}
	if (i > pl->head && !pl->e[i - 1].live) {
		pl->ndead--;
		return slot_take(&pl->e[i - 1], id);
	}
	if (i == pl->head && pl->head > 0)
		return slot_take(&pl->e[--pl->head], id);
	return slot_take(plist_open(pl, i), id);
}

struct mq_pentry *
mq_plist_insert(struct mq_plist *pl, mq_id id, uint64_t live)
{
	/* Above every pending id, with room: the common case. */
	if ((pl->head == pl->len || mq_id_lt(pl->e[pl->len - 1].id, id)) &&
	    pl->len < pl->cap)
		return slot_take(&pl->e[pl->len++], id);
	return insert_slow(pl, id, live);
}
