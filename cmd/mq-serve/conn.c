/*
 * conn.c - one client connection: non-blocking reads into a bounded input
 * buffer, the protocol's handler, and replies gathered in an output
 * buffer that is written before the loop sleeps (server.c's hook).
 *
 * Bounds: a request larger than max_request is refused by the protocol's
 * parser (its limits) or, failing that, here, once that much of it is
 * unhandled in the input buffer.  A connection whose unwritten output
 * passes output_limit is not read, and the door runs no more of the
 * requests it has (conn_held), until the peer has taken it
 * (backpressure): its output is bounded by the limit and one reply, and
 * it is never closed for it, as Redis never closes a normal client.  A
 * subscriber is (a client that does not read would have its messages
 * pile up): past the pub/sub hard limit of unsent output, or past the
 * soft one for longer than its time, as Redis's pubsub class.
 * A closed connection is freed after the turn, never inside a handler
 * that still holds it.
 *
 * Large replies: a door hands the rest of a reply that would be large to
 * a producer (conn_produce), which writes it a part at a time as the
 * socket drains: before the loop sleeps, each connection whose unsent
 * output is below PRODUCE_LOW gets up to PRODUCE_TURN more, so a reply
 * of any size reaches a client that reads, in bounded memory, without
 * holding up the other clients.  Its parts are made before the turn's
 * sync (server.c's hook), so that under --fsync always they wait for it
 * as any reply of the turn does.  Meanwhile the door runs no more of
 * the connection's requests, and what others write to it (a
 * subscriber's messages, the replies behind it in a transaction) waits
 * in a buffer behind the reply.
 *
 * Memory: a connection with nothing in flight holds no buffer, so that
 * thousands of clients that wait cost little more than their structs.
 * Every read goes into the server's read buffer (one serves all: the
 * loop handles one read at a time) and the protocol consumes the whole
 * frames there.  What it leaves (a frame not complete yet, requests
 * pipelined behind a blocked one) is copied into a buffer of the
 * connection's own, of its size; later reads are appended to that one,
 * which goes once the protocol has consumed it all.  Replies gather in
 * a buffer that goes once they are written: freed, or, up to
 * OUT_SPARE_MAX, kept in the server for the next connection that writes
 * (64 of them at most), so that a turn of replies, or of a subscriber's
 * messages, allocates nothing.
 */
#include <sys/socket.h>

#include <netinet/in.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "server.h"

#define READ_SIZE	(128u << 10)	/* the server's read buffer */
#define OUT_MIN		512		/* the first size of an output buffer */
#define OUT_SPARE_MAX	(16u << 10)	/* kept once written, up to this size */
#define PRODUCE_LOW	(64u << 10)	/* a producer writes more below this */
#define PRODUCE_TURN	(256u << 10)	/* ... this much at most per turn */

static void conn_io(struct loop *loop, int fd, int events, void *arg);

static void
want_write(struct conn *c)
{
	if (!c->in_writes && !c->dead && !c->producing) {
		TAILQ_INSERT_TAIL(&c->server->writes, c, pending);
		c->in_writes = 1;
	}
}

/* Lets go of the output buffer: kept for another if not large. */
static void
out_release(struct conn *c)
{
	struct server *s = c->server;

	if (c->outcap > 0 && c->outcap <= OUT_SPARE_MAX && s->nout_spares <
	    sizeof(s->out_spares) / sizeof(s->out_spares[0])) {
		s->out_spares[s->nout_spares] = c->out;
		s->out_spare_caps[s->nout_spares++] = c->outcap;
	} else
		free(c->out);
	c->out = NULL;
	c->outpos = c->outlen = c->outcap = 0;
}

/*
 * Appends 'n' bytes at 'p' to the buffer '*buf' holding '*len' bytes of
 * '*cap', which grows by doubling.  Returns 0, or -1 if out of memory
 * (the buffer as it was).
 */
static int
buf_append(char **buf, size_t *len, size_t *cap, const void *p, size_t n)
{
	size_t want = *cap ? *cap : OUT_MIN;
	char *nb;

	if (*len + n > *cap) {
		while (want < *len + n)
			want *= 2;
		if ((nb = realloc(*buf, want)) == NULL)
			return -1;
		*buf = nb;
		*cap = want;
	}
	memcpy(*buf + *len, p, n);
	*len += n;
	return 0;
}

void
conn_write(struct conn *c, const void *p, size_t len)
{
	struct server *s = c->server;

	if (c->dead || c->closing == 2)
		return;
	if (c->producer != NULL && !c->producing) {
		/* Behind the reply being produced. */
		if (buf_append(&c->after, &c->afterlen, &c->aftercap, p,
		    len) == -1)
			c->closing = 2;	/* conn_write_all closes it */
		want_write(c);
		return;
	}
	if (c->outcap == 0 && s->nout_spares > 0) {
		c->out = s->out_spares[--s->nout_spares];
		c->outcap = s->out_spare_caps[s->nout_spares];
	}
	if (c->outlen + len > c->outcap) {
		size_t cap = c->outcap ? c->outcap : OUT_MIN;
		char *n;

		while (cap < c->outlen + len)
			cap *= 2;
		if ((n = realloc(c->out, cap)) == NULL) {
			/*
			 * Not closed here: the command writing this reply
			 * still holds the connection.  Later writes are
			 * dropped, and conn_write_all() closes it.
			 */
			c->closing = 2;
			want_write(c);
			return;
		}
		c->out = n;
		c->outcap = cap;
	}
	memcpy(c->out + c->outlen, p, len);
	c->outlen += len;
	c->out_total += len;
	want_write(c);
}

void
conn_write_unsynced(struct conn *c, const void *p, size_t len)
{
	uint64_t before = c->out_total;
	int free_now = c->ngate == 0 && c->ok_total == before;

	conn_write(c, p, len);
	/* Nothing in front waits (ok_total is kept under "always" only). */
	if (free_now && c->out_total == before + len)
		c->ok_total = c->out_total;
}

void
conn_printf(struct conn *c, const char *fmt, ...)
{
	char buf[512], *big = NULL;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(buf)) {
		va_start(ap, fmt);
		n = vasprintf(&big, fmt, ap);
		va_end(ap);
		if (n < 0)
			return;
	}
	conn_write(c, big != NULL ? big : buf, (size_t)n);
	free(big);
}

/* Forgets what is left of the input, and frees its buffer if its own. */
static void
in_drop(struct conn *c)
{
	if (!c->in_shared)
		free(c->in);
	c->in = NULL;
	c->inlen = c->incap = 0;
	c->in_shared = 0;
}

void
conn_consume(struct conn *c, size_t len)
{
	char *p;

	if (len == 0)
		return;
	if (len >= c->inlen) {
		in_drop(c);
		return;
	}
	if (c->in_shared) {
		/* conn_keep() copies what is left when the read is handled. */
		c->in += len;
		c->inlen -= len;
		c->incap -= len;
		return;
	}
	memmove(c->in, c->in + len, c->inlen - len);
	c->inlen -= len;
	/* What a large request left behind it: keep no more than that. */
	if (c->incap / 2 > c->inlen && (p = realloc(c->in, c->inlen)) != NULL) {
		c->in = p;
		c->incap = c->inlen;
	}
}

/*
 * After the protocol handled a read in the server's buffer: what it left
 * goes into a buffer of the connection's own, of its size.  Returns 0,
 * or -1 if there is no memory for it (the connection is then closed).
 */
static int
conn_keep(struct conn *c)
{
	char *p;

	if (!c->in_shared)
		return 0;
	if (c->inlen == 0 || c->dead) {
		in_drop(c);
		return 0;
	}
	if ((p = malloc(c->inlen)) == NULL) {
		in_drop(c);
		conn_close(c, "out of memory");
		return -1;
	}
	memcpy(p, c->in, c->inlen);
	c->in = p;
	c->incap = c->inlen;
	c->in_shared = 0;
	return 0;
}

/* ------------------------------------------------------------------
 * Replies produced as the socket drains.
 * ---------------------------------------------------------------- */

/* The producer of 'c' goes, its reply done or its connection closed. */
static void
producer_drop(struct conn *c)
{
	TAILQ_REMOVE(&c->server->producers, c, plink);
	c->producer->free(c->cookie);
	c->producer = NULL;
	c->cookie = NULL;
}

/* The reply is whole: what was written behind it goes out now. */
static void
producer_end(struct conn *c)
{
	char *after = c->after;
	size_t len = c->afterlen;

	producer_drop(c);
	c->after = NULL;
	c->afterlen = c->aftercap = 0;
	if (len > 0)
		conn_write(c, after, len);
	free(after);
	/* What was pipelined behind it (conn_arm sees to it). */
	if (c->inlen > 0)
		c->input_held = 1;
}

void
conn_produce(struct conn *c, const struct conn_producer *ops, void *cookie)
{
	if (c->dead) {
		ops->free(cookie);
		return;
	}
	if (c->producer != NULL) {
		/* Behind another reply: made whole now, to wait behind it. */
		while (!c->dead && c->closing != 2 &&
		    ops->more(c, cookie, SIZE_MAX) == 1)
			;
		ops->free(cookie);
		return;
	}
	c->producer = ops;
	c->cookie = cookie;
	TAILQ_INSERT_TAIL(&c->server->producers, c, plink);
	want_write(c);
}

static int conn_flush(struct conn *c);

/*
 * Asks the producer of 'c' for more while less than PRODUCE_LOW is
 * unsent, writing as it goes, PRODUCE_TURN bytes at most, so that a
 * large reply never holds up the loop for long.
 */
static void
conn_pump(struct conn *c)
{
	uint64_t start = c->out_total;
	int rc = 1;

	for (;;) {
		if (c->outlen - c->outpos >= PRODUCE_LOW)
			(void)conn_flush(c);
		if (c->dead || c->outlen - c->outpos >= PRODUCE_LOW ||
		    c->out_total - start >= PRODUCE_TURN)
			break;
		c->producing = 1;
		rc = c->producer->more(c, c->cookie, PRODUCE_LOW);
		c->producing = 0;
		if (rc != 1 || c->dead || c->closing == 2)
			break;
	}
	if (c->dead) {
		/* Closed by its 'more', which conn_close left it to us. */
		if (c->producer != NULL)
			producer_drop(c);
		return;
	}
	want_write(c);
	if (rc != 1)
		producer_end(c);
}

/*
 * Before the turn's writes (and its sync under --fsync always): each
 * producer whose connection has less than PRODUCE_LOW unsent writes
 * more; one that is done lets out what waited behind its reply.
 */
void
conn_produce_all(struct server *s)
{
	struct conn *c, *next;

	for (c = TAILQ_FIRST(&s->producers); c != NULL; c = next) {
		next = TAILQ_NEXT(c, plink);
		if (c->closing != 2)
			conn_pump(c);
	}
}

void
conn_close_after(struct conn *c, const char *why)
{
	if (c->closing == 0 && why != NULL)
		c->why = strdup(why);	/* NULL: logged as "quit" */
	if (c->closing == 0)
		c->closing = 1;
	want_write(c);
}

void
conn_close_after_reply(struct conn *c)
{
	conn_close_after(c, NULL);
}

void
conn_abort(struct conn *c, const char *why)
{
	if (c->closing != 2) {
		free(c->why);
		c->why = strdup(why);	/* NULL: logged as "out of memory" */
		c->closing = 2;
	}
	want_write(c);
}

/* Closes a connection whose goodbye is written, with the reason it gave. */
static void
conn_close_written(struct conn *c)
{
	conn_close(c, c->why != NULL ? c->why : "quit");
}

void
conn_close(struct conn *c, const char *why)
{
	struct server *s = c->server;

	if (c->dead)
		return;
	c->dead = 1;
	server_log(s, "conn id=%llu peer=%s proto=%s closed reason=%s",
	    (unsigned long long)c->id, c->peer, c->proto->name, why);
	auth_cancel(c);		/* its door hears no answer */
	if (c->proto->close != NULL)
		c->proto->close(c);
	if (c->producer != NULL && !c->producing)
		producer_drop(c);	/* else conn_pump, once it returns */
	loop_del(s->loop, c->fd);
	close(c->fd);
	c->fd = -1;
	TAILQ_REMOVE(&s->conns, c, all);
	if (c->in_writes) {
		TAILQ_REMOVE(&s->writes, c, pending);
		c->in_writes = 0;
	}
	if (c->ngate > 0) {
		TAILQ_REMOVE(&s->gated, c, glink);
		c->ngate = 0;
	}
	TAILQ_INSERT_TAIL(&s->dead, c, all);
	s->nconns--;
}

void
conn_input_when_drained(struct conn *c)
{
	/* As held requests are: conn_io hands them over once it drained. */
	c->input_held = 1;
}

int
conn_is_local(const struct conn *c)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (getpeername(c->fd, (struct sockaddr *)&ss, &len) == -1)
		return 0;
	if (ss.ss_family == AF_INET) {
		const struct sockaddr_in *in = (const void *)&ss;

		return ntohl(in->sin_addr.s_addr) == INADDR_LOOPBACK;
	}
	if (ss.ss_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const void *)&ss;
		const uint8_t *a = in6->sin6_addr.s6_addr;
		static const uint8_t mapped[12] = { [10] = 0xff, [11] = 0xff };

		return IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr) ||
		    (memcmp(a, mapped, 12) == 0 && a[12] == 127 &&
		    a[13] == 0 && a[14] == 0 && a[15] == 1);
	}
	return 0;
}

/* Frees the connections closed during the turn. */
void
conn_reap(struct server *s)
{
	struct conn *c;

	while ((c = TAILQ_FIRST(&s->dead)) != NULL) {
		TAILQ_REMOVE(&s->dead, c, all);
		in_drop(c);
		out_release(c);
		free(c->after);
		free(c->why);
		free(c);
	}
}

void
conn_free_buffers(struct server *s)
{
	free(s->rbuf);
	s->rbuf = NULL;
	while (s->nout_spares > 0)
		free(s->out_spares[--s->nout_spares]);
}

/*
 * Writes what is queued as far as the socket takes it.  Returns 1 when
 * all of it went, 0 when the socket is full, 2 when the rest waits for
 * its sync, or -1 on an error (errno says which).
 */
static int
conn_send(struct conn *c)
{
	size_t want;
	ssize_t n;

	while (c->outpos < c->outlen) {
		want = c->outlen - c->outpos;
		if (c->server->gate_replies) {
			if (c->ok_total == c->sent_total)
				return 2;	/* the rest waits for its sync */
			if (want > c->ok_total - c->sent_total)
				want = (size_t)(c->ok_total - c->sent_total);
		}
		n = write(c->fd, c->out + c->outpos, want);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 0;
			return -1;
		}
		c->outpos += (size_t)n;
		c->sent_total += (uint64_t)n;
	}
	return 1;
}

/*
 * Writes what is queued.  Returns 1 when all of it went, 0 when the
 * socket is full (the loop will say when it can take more), 2 when the
 * rest waits for its sync; an error closes the connection (0).
 */
static int
conn_flush(struct conn *c)
{
	int rc;

	if ((rc = conn_send(c)) == -1) {
		conn_close(c, errno == EPIPE || errno == ECONNRESET ?
		    "peer closed" : "write error");
		return 0;
	}
	if (rc != 1)
		return rc;
	/*
	 * All written: an idle connection keeps no output buffer; one whose
	 * reply is being produced keeps it for the next part.
	 */
	if (c->producer != NULL)
		c->outpos = c->outlen = 0;
	else
		out_release(c);
	return 1;
}

void
conn_gate(struct server *s, uint64_t gen)
{
	struct conn *c;

	TAILQ_FOREACH(c, &s->writes, pending) {
		if (c->dead || c->out_total == c->ok_total)
			continue;
		if (gen == 0 && c->ngate == 0) {
			c->ok_total = c->out_total;	/* acknowledges nothing unsynced */
			continue;
		}
		if (gen == 0 || (c->ngate > 0 && c->gate[c->ngate - 1].gen == gen)) {
			/* Behind bytes that wait already: the same wait. */
			c->gate[c->ngate - 1].upto = c->out_total;
			continue;
		}
		if (c->ngate == 0)
			TAILQ_INSERT_TAIL(&s->gated, c, glink);
		if (c->ngate == 2)
			c->ngate = 1;	/* merged into the later sync */
		c->gate[c->ngate].gen = gen;
		c->gate[c->ngate].upto = c->out_total;
		c->ngate++;
	}
}

/* Whether a connection has bytes written this turn that wait for a sync. */
int
conn_replies_waiting(struct server *s)
{
	struct conn *c;

	TAILQ_FOREACH(c, &s->writes, pending)
		if (!c->dead && c->out_total != c->ok_total &&
		    (c->ngate == 0 || c->gate[c->ngate - 1].upto != c->out_total))
			return 1;
	return 0;
}

void
conn_release(struct server *s, uint64_t done, int failed)
{
	struct conn *c, *next;

	for (c = TAILQ_FIRST(&s->gated); c != NULL; c = next) {
		next = TAILQ_NEXT(c, glink);
		if (c->gate[0].gen > done)
			continue;
		if (failed) {
			conn_close(c, "fsync failed");
			continue;
		}
		while (c->ngate > 0 && c->gate[0].gen <= done) {
			c->ok_total = c->gate[0].upto;
			c->gate[0] = c->gate[1];
			c->ngate--;
		}
		if (c->ngate == 0)
			TAILQ_REMOVE(&s->gated, c, glink);
		want_write(c);
	}
}

/*
 * Lets the protocol handle what waits in c->in, and keeps what it
 * leaves: a request not complete yet, or requests it holds for now
 * (behind a blocked one, or while conn_held), which are handed to it
 * again once that ends.
 */
static void
conn_input(struct conn *c)
{
	int rc;

	rc = c->proto->input(c);
	if (conn_keep(c) == -1)
		return;
	if (rc == -1) {
		conn_close_after(c, "protocol error");
		return;
	}
	/*
	 * What is left is a request not complete yet (or requests behind a
	 * blocked one): past the limit, closed without a reply, as Redis
	 * closes a client over its query buffer limit.
	 */
	if (!c->dead && !c->closing && c->inlen > c->server->cfg.max_request)
		conn_close(c, "request too large");
	c->input_held = !c->dead && c->inlen > 0 && conn_held(c);
}

/*
 * Reads into the server's buffer, then lets the protocol handle what
 * arrived: there if nothing was left from before, else appended to what
 * was.
 */
static void
conn_read(struct conn *c)
{
	struct server *s = c->server;
	size_t want = READ_SIZE;
	ssize_t n;

	if (s->rbuf == NULL && (s->rbuf = malloc(READ_SIZE)) == NULL) {
		conn_close(c, "out of memory");
		return;
	}
	/* One byte past the limit at most, so a larger request never completes. */
	if (c->inlen + want > s->cfg.max_request + 1)
		want = c->inlen > s->cfg.max_request ? 0 :
		    s->cfg.max_request + 1 - c->inlen;
	if (want == 0) {
		conn_close(c, "request too large");
		return;
	}
	n = read(c->fd, s->rbuf, want);
	if (n == 0) {
		conn_close(c, "peer closed");
		return;
	}
	if (n == -1) {
		if (errno == ECONNRESET)
			conn_close(c, "peer closed");
		else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
			conn_close(c, "read error");
		return;
	}
	c->active_ms = loop_now_ms(s->loop);
	if (c->closing)
		return;		/* said goodbye: nothing more is handled */
	if (c->inlen == 0) {
		c->in = s->rbuf;
		c->inlen = (size_t)n;
		c->incap = READ_SIZE;
		c->in_shared = 1;
	} else if (buf_append(&c->in, &c->inlen, &c->incap, s->rbuf,
	    (size_t)n) == -1) {
		conn_close(c, "out of memory");
		return;
	}
	conn_input(c);
}

/*
 * What the loop watches 'c' for, after a flush that returned 'flushed':
 * reads, unless its output is over the limit; writability while the
 * socket is full (not while the rest waits for a sync: conn_release
 * writes it), while a producer has more to write, and once more when
 * the door may have the requests it held.
 */
static void
conn_arm(struct conn *c, int flushed)
{
	int events;

	/* Held, whoever ran the door last (a blocked read's wake-up too). */
	if (c->inlen > 0 && conn_held(c))
		c->input_held = 1;
	c->paused = c->outlen - c->outpos > c->server->cfg.output_limit;
	events = c->paused ? 0 : LOOP_READ;
	if (flushed != 2 && (c->outpos < c->outlen || c->producer != NULL ||
	    (c->input_held && !conn_held(c))))
		events |= LOOP_WRITE;
	loop_mod(c->server->loop, c->fd, events);
}

static void
conn_io(struct loop *loop, int fd, int events, void *arg)
{
	struct conn *c = arg;
	int flushed;

	if ((events & LOOP_WRITE) && !c->dead && (flushed = conn_flush(c)) &&
	    !c->dead) {
		if (flushed == 1 && c->closing && c->producer == NULL) {
			conn_close_written(c);
			return;
		}
		/* All out, or the rest waits for a sync (conn_release). */
		conn_arm(c, flushed);
	}
	if (!c->dead && c->input_held && !conn_held(c))
		conn_input(c);
	if ((events & LOOP_READ) && !c->dead && !c->paused)
		conn_read(c);
}

/*
 * Whether subscriber 'c' passed the pub/sub limits on its unsent output
 * (a reply being produced aside: only what waits behind it counts): the
 * hard one, or the soft one for longer than its time.
 */
static int
over_pubsub_limit(struct conn *c)
{
	const struct server_config *cfg = &c->server->cfg;
	size_t unsent = c->producer != NULL ? c->afterlen :
	    c->outlen - c->outpos;
	int64_t now;

	if (!c->subscriber || cfg->pubsub_soft == 0 ||
	    unsent <= cfg->pubsub_soft)
		c->soft_since_ms = -1;
	if (!c->subscriber)
		return 0;
	if (cfg->pubsub_hard > 0 && unsent > cfg->pubsub_hard)
		return 1;
	if (cfg->pubsub_soft == 0 || unsent <= cfg->pubsub_soft)
		return 0;
	now = loop_now_ms(c->server->loop);
	if (c->soft_since_ms < 0)
		c->soft_since_ms = now;
	return now - c->soft_since_ms > cfg->pubsub_soft_ms;
}

void
conn_write_replies(struct server *s)
{
	struct conn *c;

	if (s->gate_replies)
		return;
	/* What the socket does not take, and any error, conn_write_all's. */
	TAILQ_FOREACH(c, &s->writes, pending)
		if (!c->subscriber && !c->closing && !c->dead &&
		    c->producer == NULL)
			(void)conn_send(c);
}

/*
 * Before sleeping: writes the replies of the turn.  A connection whose
 * socket is full waits for LOOP_WRITE, and is not read meanwhile if its
 * output passed the limit.
 */
void
conn_write_all(struct server *s)
{
	struct conn *c;
	int flushed;

	while ((c = TAILQ_FIRST(&s->writes)) != NULL) {
		TAILQ_REMOVE(&s->writes, c, pending);
		c->in_writes = 0;
		if (c->closing == 2) {
			conn_close(c, c->why != NULL ? c->why : "out of memory");
			continue;
		}
		flushed = conn_flush(c);
		if (c->dead)
			continue;
		if (flushed == 1 && c->producer == NULL) {
			if (c->closing) {
				conn_close_written(c);
				continue;
			}
			/* The usual: all out, and read as before. */
			if (!c->paused && !c->input_held && !c->subscriber)
				continue;
		}
		if (over_pubsub_limit(c)) {
			conn_close(c, "output buffer limit");
			continue;
		}
		conn_arm(c, flushed);
	}
}

/* A new connection on 'fd' (non-blocking already) for 'proto'. */
void
conn_accept(struct server *s, int fd, const char *peer,
    const struct proto *proto)
{
	struct conn *c;

	if (s->nconns >= s->cfg.max_clients) {
		if (proto->refuse != NULL)
			proto->refuse(fd);
		close(fd);
		s->rejected_conns++;
		server_log(s, "conn peer=%s proto=%s refused reason=max clients",
		    peer, proto->name);
		return;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		close(fd);
		return;
	}
	c->server = s;
	c->proto = proto;
	c->fd = fd;
	c->id = ++s->next_id;
	strlcpy(c->peer, peer, sizeof(c->peer));
	c->created_ms = c->active_ms = loop_now_ms(s->loop);
	c->soft_since_ms = -1;
	if (loop_add(s->loop, fd, LOOP_READ, conn_io, c) == -1 ||
	    (proto->open != NULL && proto->open(c) == -1)) {
		loop_del(s->loop, fd);
		close(fd);
		free(c);
		return;
	}
	TAILQ_INSERT_TAIL(&s->conns, c, all);
	s->nconns++;
	s->total_conns++;
	server_log(s, "conn id=%llu peer=%s proto=%s accepted",
	    (unsigned long long)c->id, peer, proto->name);
}

/* Closes connections idle for longer than the timeout (a timer). */
void
conn_expire_idle(struct server *s)
{
	struct conn *c, *next;
	int64_t now = loop_now_ms(s->loop);

	if (s->cfg.idle_timeout_ms <= 0)
		return;
	for (c = TAILQ_FIRST(&s->conns); c != NULL; c = next) {
		next = TAILQ_NEXT(c, all);
		if (now - c->active_ms > s->cfg.idle_timeout_ms)
			conn_close(c, "idle timeout");
	}
}
