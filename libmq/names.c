/*
 * names.c - which names the spool surely has no key of, without a look
 * per name.
 *
 * A writer that logs to a stream not made yet (mq_wal_note_new) must
 * know that no stream and no sorted set has the name: two fstatat(2)
 * that miss, each a slow path lookup and a new negative dentry in the
 * kernel, a third of mq-serve's time when 100,000 new streams are
 * appended to (docs/spool-scaling.md).  Instead a process may list
 * SPOOL/streams and SPOOL/zsets once and keep the hashes of the names
 * it found: a name whose hash is not among them is absent, as long as
 * no key was made since the listing.
 *
 * Whoever makes a key (a stream's directory renamed into place, a
 * sorted set's file linked, either renamed to a new name) bumps the
 * counter MQ_ROUTES_NAMES of SPOOL/routes after the name is taken
 * (mq_names_taken): a listing taken after reading the counter holds
 * every name taken before, and a counter that moved since says the
 * listing may miss one.  A process that took the name itself keeps its
 * listing current by adding the name, if nobody else bumped meanwhile.
 *
 * The answer is only ever "absent" or "look": a hash that collides, a
 * key removed since, a stale listing or a counter that cannot be mapped
 * all send the caller to look as before.  A stale listing is taken
 * again once enough looks were paid for to cover its cost.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"
#include "stream.h"

/* Looks answered before the first listing, and added per name listed. */
#define NAMES_FIRST	256
#define NAMES_PER_LOOK	8	/* a listed name costs about an eighth of one */

struct mq_names {
	uint64_t	 seen;		/* MQ_ROUTES_NAMES the listing is of */
	int		 valid;		/* a listing was taken */
	uint64_t	*set;		/* open addressing; 0 is empty */
	size_t		 cap, n;	/* cap a power of two, n < cap / 2 */
	size_t		 looks;		/* sent to look since the listing */
};

/* 0 marks an empty slot: no name hashes to it. */
static uint64_t
names_hash(const char *enc)
{
	uint64_t h = mq_hash64(enc);

	return h == 0 ? 1 : h;
}

static int
names_has(const struct mq_names *nm, uint64_t h)
{
	size_t i;

	if (nm->cap == 0)
		return 0;
	for (i = h & (nm->cap - 1); nm->set[i] != 0; i = (i + 1) & (nm->cap - 1))
		if (nm->set[i] == h)
			return 1;
	return 0;
}

static int
names_grow(struct mq_names *nm)
{
	size_t ncap = nm->cap ? nm->cap * 2 : 1024, i, j;
	uint64_t *set = calloc(ncap, sizeof(*set));

	if (set == NULL)
		return -1;
	for (i = 0; i < nm->cap; i++) {
		if (nm->set[i] == 0)
			continue;
		for (j = nm->set[i] & (ncap - 1); set[j] != 0; j = (j + 1) & (ncap - 1))
			;
		set[j] = nm->set[i];
	}
	free(nm->set);
	nm->set = set;
	nm->cap = ncap;
	return 0;
}

static int
names_add(struct mq_names *nm, uint64_t h)
{
	size_t i;

	if (names_has(nm, h))
		return 0;
	if ((nm->n + 1) * 2 > nm->cap && names_grow(nm) == -1)
		return -1;
	for (i = h & (nm->cap - 1); nm->set[i] != 0; i = (i + 1) & (nm->cap - 1))
		;
	nm->set[i] = h;
	nm->n++;
	return 0;
}

/* mq_dir_each()'s callback: every entry, temporaries too, is a name. */
static int
listed_one(int dirfd, const char *entry, void *arg)
{
	struct mq_names *nm = arg;

	(void)dirfd;
	if (names_add(nm, names_hash(entry)) == -1) {
		nm->valid = 0;
		return 1;
	}
	return 0;
}

/*
 * Lists the names of the spool's keys into 'nm', as of the counter's
 * value 'seen' read before; nm->valid tells whether it could.
 */
static void
names_list(mq_spool *sp, struct mq_names *nm, uint64_t seen)
{
	int zfd;

	nm->n = 0;
	if (nm->cap > 0)
		memset(nm->set, 0, nm->cap * sizeof(*nm->set));
	nm->looks = 0;
	nm->seen = seen;
	nm->valid = 1;
	if (mq_dir_each(sp->streamsfd, listed_one, nm) != MQ_OK)
		nm->valid = 0;
	if (!nm->valid)
		return;
	if (mq_zsets_dir_open(sp, 0, &zfd) != MQ_OK) {
		nm->valid = 0;
		return;
	}
	if (zfd == -1)
		return;		/* no sorted set yet */
	if (mq_dir_each(zfd, listed_one, nm) != MQ_OK)
		nm->valid = 0;
	close(zfd);
}

int
mq_names_absent(mq_spool *sp, const char *enc)
{
	struct mq_names *nm = sp->names;
	uint64_t *r, now;

	if (sp->routes_failed || (r = mq_routes_map(sp)) == NULL)
		return 0;
	if (nm == NULL) {
		if ((nm = calloc(1, sizeof(*nm))) == NULL)
			return 0;
		sp->names = nm;
	}
	/* Acquire: a name taken before the bump is seen after. */
	now = __atomic_load_n(&r[MQ_ROUTES_NAMES], __ATOMIC_ACQUIRE);
	if (nm->valid && now == nm->seen)
		return !names_has(nm, names_hash(enc));
	/* Look, until enough looks were paid for to pay for a listing. */
	if (++nm->looks < NAMES_FIRST + nm->n / NAMES_PER_LOOK)
		return 0;
	names_list(sp, nm, now);
	return nm->valid && !names_has(nm, names_hash(enc));
}

void
mq_names_taken(mq_spool *sp, const char *enc)
{
	struct mq_names *nm = sp->names;
	uint64_t *r, was;

	if ((r = mq_routes_map(sp)) == NULL)
		return;
	/* Release: the name is taken before anyone sees the count. */
	was = __atomic_fetch_add(&r[MQ_ROUTES_NAMES], 1, __ATOMIC_RELEASE);
	/* Nobody else took a name since the listing: it stays whole. */
	if (nm != NULL && nm->valid && was == nm->seen) {
		if (names_add(nm, names_hash(enc)) == -1)
			nm->valid = 0;
		else
			nm->seen = was + 1;
	}
}

void
mq_names_free(mq_spool *sp)
{
	if (sp->names != NULL) {
		free(sp->names->set);
		free(sp->names);
		sp->names = NULL;
	}
}
