/*
 * fanout.h - the live subscribers of every door (fanout.c).
 */
#ifndef MQ_SERVE_FANOUT_H
#define MQ_SERVE_FANOUT_H

#include "server.h"

/* Bytes that grow: what a door's encoder writes a frame into. */
struct fanout_buf {
	char	*p;
	size_t	 len, cap;
};

/*
 * A message published by this server to no log: its bytes are the
 * publisher's (the run of appends' copy), not copied again.
 */
struct fanout_msg {
	/*
	 * A topic given in a row is one pointer, the first one's: a
	 * subscriber that filters by topic asks again only when the
	 * pointer or the length changes.
	 */
	const char	*topic;
	size_t		 topiclen;
	const char	*body;
	size_t		 bodylen;
};

/*
 * The frames of every message of a run in one variant of one door, made
 * once and shared by its subscribers: one after another, so that the
 * frames of messages next to each other are next to each other.
 */
struct fanout_frames {
	const struct fanout_ops	*door;
	int			 variant;	/* the door's number */
	struct fanout_buf	 bytes;
	size_t			*end;		/* frame i ends at end[i] */
	size_t			 capend;
	int			 made;		/* for the run handed out */
};

/*
 * The publishes of one run of appends (core/appendq.c) that went to no
 * log, in the order published.  A push callback reads 'msgs' and 'n',
 * and asks fanout_frames() for the bytes; the rest is fanout.c's.
 */
struct fanout_run {
	struct fanout_msg	*msgs;
	size_t			 n, capmsgs;
	/* Each kept between runs, for its room, and never moved. */
	struct fanout_frames	**frames;
	size_t			 nframes, capframes;
};

struct fanout_ops {
	/*
	 * Hands the subscriber what its subscriptions read from the
	 * exchange's log (which changed).
	 */
	void	(*drain)(void *arg);
	/*
	 * Hands it 'run', published by this server to no log because every
	 * subscription those messages reach is this server's; the
	 * subscriber filters by what it subscribed to, and writes the frames
	 * of what it takes with fanout_out.
	 */
	void	(*push)(void *arg, struct fanout_run *run);
	/*
	 * Appends to 'b' the frame of 'm' in the door's 'variant' (see
	 * fanout_frames): 0, or -1 if out of memory.
	 */
	int	(*encode)(struct fanout_buf *b, int variant,
		    const struct fanout_msg *m);
};

/* A live subscriber: kept by its door, with its connection. */
struct fanout_sub {
	TAILQ_ENTRY(fanout_sub)	 link;
	struct conn		*conn;
	const struct fanout_ops	*ops;
	void			*arg;
	int			 joined;
};

/* Starts / stops handing 'sub' what is published (idempotent). */
void	 fanout_join(struct server *s, struct fanout_sub *sub);
void	 fanout_leave(struct server *s, struct fanout_sub *sub);
/* The exchange's log changed (any process): every subscriber drains. */
void	 fanout_drain(struct server *s);
/*
 * 'm' went to no log (every subscription it reaches is this server's;
 * 'm->key' is the topic): it joins the run that fanout_deliver_here
 * hands out at the end of the flush of appends under way (or at once,
 * outside a flush).  Its bytes are not copied: they must stay where
 * they are until then, as the run of appends' copies do until the end
 * of its flush, which ends with the hand-out.  MQ_OK, or MQ_ESYS if out
 * of memory: then no one gets it.
 */
int	 fanout_publish_here(struct server *s, const struct mq_msg *m);
/*
 * Hands the run to every subscriber of every door, after what the log
 * still holds for them, so that the order of publishes stays.
 */
void	 fanout_deliver_here(struct server *s);
/* Whether a run waits for fanout_deliver_here. */
int	 fanout_pending(const struct server *s);
void	 fanout_free(struct server *s);

/* Appends 'len' bytes to 'b' for the caller to fill: where, or NULL. */
char	*fanout_reserve(struct fanout_buf *b, size_t len);
/*
 * The frames of every message of 'run' in 'variant' of the door 'door'
 * (its ops), made by door->encode at the first ask of the run; NULL if
 * out of memory.
 */
const struct fanout_frames *fanout_frames(struct fanout_run *run,
	    const struct fanout_ops *door, int variant);

/*
 * Frames 'first' to 'end' (excluded) of 'f', one after another: their
 * bytes, and their length in '*len'.
 */
static inline const char *
fanout_span(const struct fanout_frames *f, size_t first, size_t end,
    size_t *len)
{
	size_t start = first > 0 ? f->end[first - 1] : 0;

	*len = f->end[end - 1] - start;
	return f->bytes.p + start;
}

/* Frame 'i' of 'f': its bytes, and their length in '*len'. */
static inline const char *
fanout_frame(const struct fanout_frames *f, size_t i, size_t *len)
{
	return fanout_span(f, i, i + 1, len);
}

/*
 * What a push writes to its connection: shared frames are held while
 * the next one follows them in memory, so that a run of frames is one
 * conn_write.
 */
struct fanout_out {
	struct conn	*conn;
	const char	*p;		/* shared bytes not written yet */
	size_t		 len;
};

void	 fanout_out_begin(struct fanout_out *o, struct conn *conn);
/* Bytes that stay where they are until fanout_out_end (frames). */
void	 fanout_out_shared(struct fanout_out *o, const char *p, size_t len);
/* Bytes that do not: written now, after what is held. */
void	 fanout_out_copy(struct fanout_out *o, const void *p, size_t len);
void	 fanout_out_end(struct fanout_out *o);

#endif /* MQ_SERVE_FANOUT_H */
