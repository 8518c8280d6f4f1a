/*
 * conn.c - one client connection: non-blocking reads into a bounded input
 * buffer, the protocol's handler, and replies gathered in an output
 * buffer that is written before the loop sleeps (server.c's hook).
 *
 * Bounds: a request larger than max_request is refused by the protocol's
 * parser (its limits) or, failing that, here, once that much of it is
 * unhandled in the input buffer; a connection whose unwritten
 * output passes output_limit stops being read until the peer has taken
 * it (backpressure), and one whose output passes four times the limit
 * (a subscriber that never reads) is closed, as Redis closes it.
 * A closed connection is freed after the turn, never inside a handler
 * that still holds it.
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

#define READ_CHUNK	(64u << 10)

static void conn_io(struct loop *loop, int fd, int events, void *arg);

static void
want_write(struct conn *c)
{
	if (!c->in_writes && !c->dead) {
		TAILQ_INSERT_TAIL(&c->server->writes, c, pending);
		c->in_writes = 1;
	}
}

void
conn_write(struct conn *c, const void *p, size_t len)
{
	if (c->dead || c->closing == 2)
		return;
	if (c->outlen + len > c->outcap) {
		size_t cap = c->outcap ? c->outcap : 16384;
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

void
conn_consume(struct conn *c, size_t len)
{
	if (len >= c->inlen) {
		c->inlen = 0;
		return;
	}
	memmove(c->in, c->in + len, c->inlen - len);
	c->inlen -= len;
}

void
conn_close_after_reply(struct conn *c)
{
	c->closing = 1;
	want_write(c);
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
		free(c->in);
		free(c->out);
		free(c);
	}
}

/*
 * Writes what is queued.  Returns 1 when all of it went, 0 when the
 * socket is full (the loop will say when it can take more).
 */
static int
conn_flush(struct conn *c)
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
			conn_close(c, errno == EPIPE || errno == ECONNRESET ?
			    "peer closed" : "write error");
			return 0;
		}
		c->outpos += (size_t)n;
		c->sent_total += (uint64_t)n;
	}
	c->outpos = c->outlen = 0;
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

/* Reads, then lets the protocol handle what arrived. */
static void
conn_read(struct conn *c)
{
	struct server *s = c->server;
	size_t want;
	ssize_t n;

	if (c->incap - c->inlen < READ_CHUNK) {
		size_t cap = c->incap ? c->incap * 2 : READ_CHUNK * 2;
		char *p;

		while (cap - c->inlen < READ_CHUNK)
			cap *= 2;
		if ((p = realloc(c->in, cap)) == NULL) {
			conn_close(c, "out of memory");
			return;
		}
		c->in = p;
		c->incap = cap;
	}
	/* One byte past the limit at most, so a larger request never completes. */
	want = c->incap - c->inlen;
	if (c->inlen + want > s->cfg.max_request + 1)
		want = c->inlen > s->cfg.max_request ? 0 :
		    s->cfg.max_request + 1 - c->inlen;
	if (want == 0) {
		conn_close(c, "request too large");
		return;
	}
	n = read(c->fd, c->in + c->inlen, want);
	if (n == 0) {
		conn_close(c, "peer closed");
		return;
	}
	if (n == -1) {
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
			conn_close(c, "read error");
		return;
	}
	c->inlen += (size_t)n;
	c->active_ms = loop_now_ms(s->loop);
	if (c->closing)
		return;		/* said goodbye: nothing more is handled */
	if (c->proto->input(c) == -1) {
		conn_close_after_reply(c);
		return;
	}
	/*
	 * What is left is a request not complete yet (or requests behind a
	 * blocked one): past the limit, closed without a reply, as Redis
	 * closes a client over its query buffer limit.
	 */
	if (!c->dead && !c->closing && c->inlen > s->cfg.max_request)
		conn_close(c, "request too large");
}

static void
conn_io(struct loop *loop, int fd, int events, void *arg)
{
	struct conn *c = arg;
	int flushed;

	if ((events & LOOP_WRITE) && !c->dead && (flushed = conn_flush(c)) &&
	    !c->dead) {
		if (flushed == 1 && c->closing) {
			conn_close(c, "quit");
			return;
		}
		/* All out, or the rest waits for a sync (conn_release). */
		c->paused = c->outlen - c->outpos > c->server->cfg.output_limit;
		loop_mod(loop, fd, c->paused ? 0 : LOOP_READ);
	}
	if ((events & LOOP_READ) && !c->dead && !c->paused)
		conn_read(c);
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
			conn_close(c, "out of memory");
			continue;
		}
		if ((flushed = conn_flush(c)) == 1) {
			if (c->closing)
				conn_close(c, "quit");
			else if (c->paused) {
				c->paused = 0;
				loop_mod(s->loop, c->fd, LOOP_READ);
			}
			continue;
		}
		if (c->dead)
			continue;
		if (c->outlen - c->outpos > 4 * s->cfg.output_limit) {
			conn_close(c, "output buffer limit");
			continue;
		}
		c->paused = c->outlen - c->outpos > s->cfg.output_limit;
		/* Held for a sync: conn_release writes it, not LOOP_WRITE. */
		loop_mod(s->loop, c->fd, (c->paused ? 0 : LOOP_READ) |
		    (flushed == 2 ? 0 : LOOP_WRITE));
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
