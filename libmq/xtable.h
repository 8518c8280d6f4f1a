/*
 * xtable.h - the exchanges and bindings of SPOOL/exchanges in memory
 * (xtable.c), shared by the changes (exchange.c) and the cache that each
 * process routes with (xroute.c).
 */
#ifndef MQ_XTABLE_H
#define MQ_XTABLE_H

#include <sys/types.h>

#include <stddef.h>

#include "mq.h"

/* An exchange a user declared, or a built-in one (never in the file). */
struct mq_xrec {
	const char	*name;
	enum mq_xtype	 type;
	int		 flags;		/* MQ_XDURABLE, ... */
	const char	*owner;		/* if transient, its owner; else "" */
	const void	*args;		/* NULL when there are none */
	size_t		 argslen;
	int		 gone;		/* removed: not written, not routed */
	int		 had_sources;	/* auto-delete, was a source before */
};

/* A binding that is not one of amq.topic's SPOOL/bindings. */
struct mq_brec {
	const char	*source;
	enum mq_dest	 dkind;
	const char	*dest;
	const char	*key;
	const void	*args;		/* NULL when there are none */
	size_t		 argslen;
	int		 gone;
};

/*
 * The file, parsed: the strings of its records point into 'arena' (or,
 * for records added since, to the caller's own, which must outlive the
 * table).  'changes' counts what was added or removed since.
 */
struct mq_xtable {
	struct mq_xrec	*x;
	size_t		 nx, capx;
	struct mq_brec	*b;
	size_t		 nb, capb;
	char		*arena;
	size_t		 changes;
};

/* The built-in exchanges: "" first, then amq.direct ... amq.match. */
extern const struct mq_xrec mq_xbuiltins[];
extern const size_t mq_nxbuiltins;
const struct mq_xrec *mq_xbuiltin(const char *name);

/*
 * Reads SPOOL/exchanges into 't' (empty if there is none): MQ_OK,
 * MQ_ECORRUPT, MQ_EVERSION or mq_sys().  mq_xtable_free() frees it.
 */
int	 mq_xtable_read(mq_spool *sp, struct mq_xtable *t);
void	 mq_xtable_free(struct mq_xtable *t);
/* Writes the records not gone as the file's text, a malloc'd '*buf'. */
int	 mq_xtable_format(const struct mq_xtable *t, char **buf, size_t *len);

/* The exchange 'name' if it is in the table and not gone, else NULL. */
struct mq_xrec *mq_xtable_find(struct mq_xtable *t, const char *name);
/* The binding equal to 'b' (all but 'gone') not gone, else NULL. */
struct mq_brec *mq_xtable_find_binding(struct mq_xtable *t,
	    const struct mq_brec *b);
/* Bindings not gone whose source is 'name'. */
size_t	 mq_xtable_sources(const struct mq_xtable *t, const char *name);
/* Adds a copy of 'r' / 'b' (not of their strings): MQ_OK or MQ_ESYS. */
int	 mq_xtable_add(struct mq_xtable *t, const struct mq_xrec *r);
int	 mq_xtable_add_binding(struct mq_xtable *t, const struct mq_brec *b);
/* Removes exchange 'r' and every binding from it or to it. */
void	 mq_xtable_remove(struct mq_xtable *t, struct mq_xrec *r);
void	 mq_xtable_remove_binding(struct mq_xtable *t, struct mq_brec *b);

/*
 * A change of the table: mq_xtable_begin() notes which exchanges have
 * bindings as a source, mq_xtable_drop_dead() removes the transient
 * exchanges of owners for which 'alive' returns 0, and after the change
 * mq_xtable_settle() removes the auto-delete exchanges that lost their
 * last binding as a source (and so on, as their removal removes
 * bindings to them).
 */
void	 mq_xtable_begin(struct mq_xtable *t);
void	 mq_xtable_drop_dead(struct mq_xtable *t,
	    int (*alive)(const char *owner, void *arg), void *arg);
void	 mq_xtable_settle(struct mq_xtable *t);

/* ---- exchange.c: owners of transient exchanges. */

/* What a spool handle keeps of exchanges (sp->xstate). */
struct mq_xstate {
	int		 ownersfd;	/* SPOOL/owners, or -1 */
	int		 ownerfd;	/* the owner file it holds, or -1 */
	pid_t		 ownerpid;	/* the process that made it */
	char		 owner[40];	/* its name; "" until it is made */
	struct mq_xcache *cache;	/* xroute.c's copy of the exchanges */
};

/* The handle's, made at the first call; NULL (errno set) if it cannot be. */
struct mq_xstate *mq_xstate(mq_spool *sp);

/*
 * The handle's owner name in '*owner' (valid while the handle is open),
 * the handle made an owner if it is not one yet; MQ_OK or mq_sys().
 * Transient queues (qdecl.c) share it with transient exchanges.
 */
int	 mq_owner_take(mq_spool *sp, const char **owner);
/* Whether 'owner' lives (1) or is gone (0); '*mine': it is this handle. */
int	 mq_owner_alive(mq_spool *sp, const char *owner, int *mine);

/* The owners of a table's transient exchanges, and which live. */
struct mq_xowner {
	const char	*name;		/* the table's string */
	int		 alive;
	int		 mine;		/* this handle's */
};
struct mq_xowners {
	mq_spool	*spool;
	struct mq_xowner *o;
	size_t		 n, cap;
};
/*
 * Looks at each owner of the transient exchanges of 't' once: whether
 * it holds its file.  A look that fails counts as alive: an exchange is
 * never taken for dead by mistake.  MQ_OK or MQ_ESYS (out of memory).
 */
int	 mq_xowners_probe(mq_spool *sp, const struct mq_xtable *t,
	    struct mq_xowners *o);
/* mq_xtable_drop_dead()'s 'alive', of the owners probed into 'arg'. */
int	 mq_xowners_alive(const char *owner, void *arg);
/* Looks again at the owners that lived: 1 if one died since. */
int	 mq_xowners_died(struct mq_xowners *o);
void	 mq_xowners_free(struct mq_xowners *o);

/* ---- xroute.c */

void	 mq_xcache_free(struct mq_xcache *c);

#endif /* MQ_XTABLE_H */
