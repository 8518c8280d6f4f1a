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
#include <sys/socket.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct client {
	int	 fd;
	char	 name[16];
	char	*out;		/* requests not yet sent */
	size_t	 outlen, outpos, outcap;
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
die(const char *what)
{
	perror(what);
	exit(1);
}

static void
out_add(struct client *c, const char *p, size_t len)
{
	if (c->outlen + len > c->outcap) {
		c->outcap = (c->outlen + len) * 2;
		if ((c->out = realloc(c->out, c->outcap)) == NULL)
			die("realloc");
	}
	memcpy(c->out + c->outlen, p, len);
	c->outlen += len;
}

/* Appends a RESP command of 'argc' strings. */
static void
command(struct client *c, int argc, const char **argv)
{
	char buf[64];
	int i, n;

	n = snprintf(buf, sizeof(buf), "*%d\r\n", argc);
	out_add(c, buf, (size_t)n);
	for (i = 0; i < argc; i++) {
		n = snprintf(buf, sizeof(buf), "$%zu\r\n", strlen(argv[i]));
		out_add(c, buf, (size_t)n);
		out_add(c, argv[i], strlen(argv[i]));
		out_add(c, "\r\n", 2);
	}
}

static void
send_reads(struct client *c)
{
	const char *argv[] = { "XREADGROUP", "GROUP", group, c->name,
	    "COUNT", "1", "STREAMS", stream, ">" };
	int i;

	for (i = 0; i < pipeline; i++)
		command(c, 9, argv);
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
		command(c, 4, argv);
	}
	c->acking = 1;
	c->waiting = c->nids;
}

/*
 * Parses one value at in[*pos]; returns 1 if whole (and moves *pos), 0
 * if more bytes are needed.  The bulk strings at nesting depth 4 are the
 * entry ids of an XREADGROUP reply (streams, stream, entries, entry): kept.
 */
static int
parse(struct client *c, size_t *pos, int depth)
{
	char *p = c->in + *pos, *end = c->in + c->inlen, *nl;
	long n, i;

	if (p >= end || (nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
		return 0;
	n = strtol(p + 1, NULL, 10);
	switch (*p) {
	case '+': case '-': case ':':
		if (*p == '-') {
			fprintf(stderr, "error reply: %.*s\n", (int)(nl - p), p);
			exit(1);
		}
		*pos = (size_t)(nl + 1 - c->in);
		return 1;
	case '$':
		if (n < 0) {
			*pos = (size_t)(nl + 1 - c->in);
			return 1;
		}
		if (nl + 1 + n + 2 > end)
			return 0;
		if (depth == 4 && c->nids < pipeline && n < 48) {
			memcpy(c->ids[c->nids], nl + 1, (size_t)n);
			c->ids[c->nids++][n] = '\0';
		}
		*pos = (size_t)(nl + 1 + n + 2 - c->in);
		return 1;
	case '*':
		*pos = (size_t)(nl + 1 - c->in);
		for (i = 0; i < n; i++)
			if (!parse(c, pos, depth + 1))
				return 0;
		return 1;
	}
	fprintf(stderr, "unexpected reply byte %c\n", *p);
	exit(1);
}

static long long
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int
main(int argc, char *argv[])
{
	struct sockaddr_in sin;
	struct client *cl;
	struct pollfd *pfd;
	long total, acked = 0;
	int nclients, i, one = 1, empty = 0;
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
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((unsigned short)atoi(argv[1]));
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	for (i = 0; i < nclients; i++) {
		struct client *c = &cl[i];

		if ((c->fd = socket(AF_INET, SOCK_STREAM, 0)) == -1)
			die("socket");
		if (connect(c->fd, (struct sockaddr *)&sin, sizeof(sin)) == -1)
			die("connect");
		setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
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
			pfd[i].events = cl[i].outpos < cl[i].outlen ? POLLOUT : POLLIN;
		}
		if (poll(pfd, (nfds_t)nclients, -1) == -1 && errno != EINTR)
			die("poll");
		for (i = 0; i < nclients; i++) {
			struct client *c = &cl[i];
			ssize_t n;
			size_t pos = 0;

			if (pfd[i].revents & POLLOUT) {
				n = write(c->fd, c->out + c->outpos,
				    c->outlen - c->outpos);
				if (n == -1)
					die("write");
				c->outpos += (size_t)n;
				if (c->outpos == c->outlen)
					c->outpos = c->outlen = 0;
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

				if (!parse(c, &pos, 0)) {
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
