/*
 * resp-consume.c - the consumer-group row of bench-serve.sh, which
 * redis-benchmark cannot do: it would have to ack the ids it was given.
 *
 *   resp-consume PORT STREAM GROUP CLIENTS PIPELINE TOTAL
 *
 * Opens CLIENTS connections to 127.0.0.1:PORT.  Each, in turns, sends
 * PIPELINE commands "XREADGROUP GROUP GROUP cK COUNT 1 STREAMS STREAM >",
 * reads their replies, then sends one "XACK STREAM GROUP id" per entry it
 * was given and reads those replies; until TOTAL entries were acked in
 * all, or the stream has no more.  Prints the entries acked per second.
 * The stream must hold the entries and the group exist (bench-serve.sh
 * fills it with redis-benchmark).  Speaks RESP2; the reply parser knows
 * only what these two commands answer.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "resp-client.h"

struct client {
	int	 fd;
	char	 name[16];
	struct reqs out;	/* requests not yet sent */
	char	*in;		/* replies not yet parsed */
	size_t	 inlen, incap;
	int	 acking;	/* 0: waiting for reads, 1: for acks */
	int	 waiting;	/* replies still due */
	char	 (*ids)[48];	/* ids given by this round's reads */
	int	 nids;
};

static const char *stream, *group;
static int pipeline;

static void
send_reads(struct client *c)
{
	const char *argv[] = { "XREADGROUP", "GROUP", group, c->name,
	    "COUNT", "1", "STREAMS", stream, ">" };
	int i;

	for (i = 0; i < pipeline; i++)
		reqs_command(&c->out, 9, argv, NULL);
	c->acking = 0;
	c->waiting = pipeline;
	c->nids = 0;
}

static void
send_acks(struct client *c)
{
	const char *argv[] = { "XACK", stream, group, NULL };
	int i;

	for (i = 0; i < c->nids; i++) {
		argv[3] = c->ids[i];
		reqs_command(&c->out, 4, argv, NULL);
	}
	c->acking = 1;
	c->waiting = c->nids;
}

/*
 * A bulk string of a reply: those at depth 4 are the entry ids of an
 * XREADGROUP reply (streams, stream, entries, entry), kept.
 */
static void
keep_id(void *arg, int depth, const char *p, long n)
{
	struct client *c = arg;

	if (depth == 4 && c->nids < pipeline && n < 48) {
		memcpy(c->ids[c->nids], p, (size_t)n);
		c->ids[c->nids++][n] = '\0';
	}
}

int
main(int argc, char *argv[])
{
	struct client *cl;
	struct pollfd *pfd;
	long total, acked = 0;
	int nclients, i, empty = 0;
	long long t0;

	if (argc != 7) {
		fprintf(stderr, "usage: resp-consume port stream group clients "
		    "pipeline total\n");
		return 2;
	}
	stream = argv[2];
	group = argv[3];
	nclients = atoi(argv[4]);
	pipeline = atoi(argv[5]);
	total = atol(argv[6]);
	if (nclients < 1 || pipeline < 1 || total < 1) {
		fprintf(stderr, "resp-consume: clients, pipeline and total must "
		    "be positive\n");
		return 2;
	}
	cl = calloc((size_t)nclients, sizeof(*cl));
	pfd = calloc((size_t)nclients, sizeof(*pfd));
	for (i = 0; i < nclients; i++) {
		struct client *c = &cl[i];

		c->fd = loopback_connect(atoi(argv[1]));
		snprintf(c->name, sizeof(c->name), "c%d", i);
		if ((c->ids = calloc((size_t)pipeline, sizeof(*c->ids))) == NULL)
			die("calloc");
		c->incap = 1 << 16;
		if ((c->in = malloc(c->incap)) == NULL)
			die("malloc");
		send_reads(c);
	}
	t0 = now_ns();
	while (acked < total && empty < nclients) {
		for (i = 0; i < nclients; i++) {
			pfd[i].fd = cl[i].fd;
			pfd[i].events = cl[i].out.pos < cl[i].out.len ? POLLOUT :
			    POLLIN;
		}
		if (poll(pfd, (nfds_t)nclients, -1) == -1 && errno != EINTR)
			die("poll");
		for (i = 0; i < nclients; i++) {
			struct client *c = &cl[i];
			ssize_t n;
			size_t pos = 0;
			long num;

			if (pfd[i].revents & POLLOUT) {
				n = write(c->fd, c->out.p + c->out.pos,
				    c->out.len - c->out.pos);
				if (n == -1)
					die("write");
				c->out.pos += (size_t)n;
				if (c->out.pos == c->out.len)
					c->out.pos = c->out.len = 0;
				continue;
			}
			if (!(pfd[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			if (c->inlen == c->incap &&
			    (c->in = realloc(c->in, c->incap *= 2)) == NULL)
				die("realloc");
			n = read(c->fd, c->in + c->inlen, c->incap - c->inlen);
			if (n <= 0) {
				fprintf(stderr, "resp-consume: server closed\n");
				return 1;
			}
			c->inlen += (size_t)n;
			while (c->waiting > 0) {
				size_t at = pos;
				int nids = c->nids;

				if (!resp_value(c->in, c->inlen, &pos, 0, keep_id, c,
				    &num)) {
					pos = at;	/* again when the rest came */
					c->nids = nids;
					break;
				}
				c->waiting--;
			}
			memmove(c->in, c->in + pos, c->inlen - pos);
			c->inlen -= pos;
			if (c->waiting > 0)
				continue;
			if (c->acking) {
				acked += c->nids;
				send_reads(c);
			} else if (c->nids == 0) {
				empty++;	/* drained: this one stops */
				c->waiting = -1;
			} else
				send_acks(c);
		}
	}
	printf("%.0f\n", acked / ((now_ns() - t0) / 1e9));
	return 0;
}
