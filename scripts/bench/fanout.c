/*
 * fanout.c - the Pub/Sub fan-out rows of bench-serve.sh: how many
 * messages a server hands to its subscribers per second, which
 * redis-benchmark cannot count (it only times the PUBLISH replies).
 *
 *   fanout PORT SUBSCRIBERS MESSAGES PIPELINE SIZE
 *
 * Opens SUBSCRIBERS connections to 127.0.0.1:PORT, each sending
 * "SUBSCRIBE fanout" (a channel no other client of bench-serve.sh
 * hears), and waits until every one has its confirmation.  Then one more
 * connection, on a thread of its own as a publisher would be a process
 * of its own, publishes MESSAGES messages of SIZE bytes to "fanout",
 * PIPELINE at a time (it sends PIPELINE PUBLISHes, reads their replies,
 * sends the next PIPELINE), while the main thread counts the "message"
 * frames every subscriber reads.  Once all SUBSCRIBERS x MESSAGES have
 * arrived, prints the deliveries per second: the frames received by all
 * subscribers together, over the time from the first PUBLISH sent to the
 * last frame read.  A PUBLISH answered with another count than
 * SUBSCRIBERS, an error reply, a closed connection, or 30 s without a
 * byte is a failure (exit 1).
 *
 * The client must cost little beside the server: a PUBLISH is encoded
 * once, and a frame that starts as expected is skipped by its length
 * rather than parsed.  Speaks RESP2; the reply parser (resp-client.h)
 * knows only what these commands answer.
 */
#include <sys/socket.h>
#include <sys/time.h>

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "resp-client.h"

#define IDLE_MS	30000
#define CHANNEL	"fanout"

struct client {
	int		 fd;
	struct reqs	 out;
	char		*in;		/* replies not yet parsed */
	size_t		 inlen, incap;
	long		 got;	/* frames counted (messages, or replies) */
};

static long subscribers, messages, pipeline;
static size_t size, framelen;
static char *body;
static char frame[64];		/* how a "message" frame starts */

static void
fail(const char *why)
{
	fprintf(stderr, "fanout: %s\n", why);
	exit(1);
}

/* Keeps where the first bulk string of a push is (its kind). */
static void
kind_of(void *arg, int depth, const char *p, long n)
{
	const char **first = arg;

	if (depth == 1 && *first == NULL)
		*first = p;
}

/* The value at c->in[*pos]: resp_value, the kind of a push in '*first'. */
static int
parse(struct client *c, size_t *pos, const char **first, long *num)
{
	return resp_value(c->in, c->inlen, pos, 0, kind_of, first, num);
}

/* Reads what arrived into c->in. */
static void
fill(struct client *c)
{
	ssize_t n;

	if (c->incap - c->inlen < 65536) {
		c->incap *= 2;
		if ((c->in = realloc(c->in, c->incap)) == NULL)
			die("realloc");
	}
	n = read(c->fd, c->in + c->inlen, c->incap - c->inlen);
	if (n == 0)
		fail("the server closed a connection");
	if (n == -1) {
		if (errno == EAGAIN)
			fail("nothing arrived for 30 s");
		if (errno != EINTR)
			die("read");
		return;
	}
	c->inlen += (size_t)n;
}

/*
 * Reads what arrived and counts the whole frames: "message" pushes for
 * a subscriber, replies for the publisher (each must be SUBSCRIBERS).
 * Returns the frames counted by this call.
 */
static long
take(struct client *c, int publisher)
{
	size_t pos = 0, at;
	long counted = 0, num;
	const char *first;

	fill(c);
	for (;;) {
		/* The frame every subscriber expects: checked, not parsed. */
		if (!publisher && c->inlen - pos >= framelen &&
		    memcmp(c->in + pos, frame, framelen - size - 2) == 0 &&
		    memcmp(c->in + pos + framelen - 2, "\r\n", 2) == 0) {
			pos += framelen;
			counted++;
			continue;
		}
		at = pos;
		first = NULL;
		num = -1;
		if (!parse(c, &pos, &first, &num)) {
			pos = at;	/* again when the rest came */
			break;
		}
		if (publisher && num != subscribers)
			fail("a PUBLISH did not reach every subscriber");
		if (publisher || (first != NULL &&
		    strncmp(first, "message\r\n", 9) == 0))
			counted++;
	}
	memmove(c->in, c->in + pos, c->inlen - pos);
	c->inlen -= pos;
	c->got += counted;
	return counted;
}

static void
flush_out(struct client *c)
{
	ssize_t n;

	n = write(c->fd, c->out.p + c->out.pos, c->out.len - c->out.pos);
	if (n == -1) {
		if (errno != EINTR)
			die("write");
		return;
	}
	c->out.pos += (size_t)n;
	if (c->out.pos == c->out.len)
		c->out.pos = c->out.len = 0;
}

static void
client_open(struct client *c, int port)
{
	struct timeval idle = { .tv_sec = IDLE_MS / 1000 };

	c->fd = loopback_connect(port);
	setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &idle, sizeof(idle));
	c->incap = 1 << 18;
	if ((c->in = malloc(c->incap)) == NULL)
		die("malloc");
}

/* Appends the next round of up to 'pipeline' PUBLISHes; returns how many. */
static long
publish_round(struct client *pub, long left)
{
	static struct reqs one;
	const char *argv[] = { "PUBLISH", CHANNEL, body };
	size_t lens[] = { 7, sizeof(CHANNEL) - 1, size };
	long i, n = left < pipeline ? left : pipeline;

	if (one.len == 0)
		reqs_command(&one, 3, argv, lens);
	for (i = 0; i < n; i++)
		reqs_add(&pub->out, one.p, one.len);
	return n;
}

/*
 * The publisher, on a thread of its own as it would be a process of its
 * own: sends a round, waits for its replies, sends the next.
 */
static void *
publisher(void *arg)
{
	struct client *pub = arg;
	long sent = 0, due;

	while (sent < messages) {
		due = publish_round(pub, messages - sent);
		sent += due;
		while (pub->out.len > 0)
			flush_out(pub);
		pub->got = 0;
		while (pub->got < due)
			take(pub, 1);
	}
	return NULL;
}

int
main(int argc, char *argv[])
{
	struct client *cl;
	struct pollfd *pfd;
	pthread_t thread;
	long delivered = 0, want, i;
	long long t0;
	int n;

	if (argc != 6) {
		fprintf(stderr, "usage: fanout port subscribers messages "
		    "pipeline size\n");
		return 2;
	}
	subscribers = atol(argv[2]);
	messages = atol(argv[3]);
	pipeline = atol(argv[4]);
	size = (size_t)atol(argv[5]);
	if (subscribers < 1 || messages < 1 || pipeline < 1) {
		fprintf(stderr, "fanout: subscribers, messages and pipeline "
		    "must be positive\n");
		return 2;
	}
	if ((body = malloc(size + 1)) == NULL)
		die("malloc");
	memset(body, 'x', size);
	framelen = (size_t)snprintf(frame, sizeof(frame),
	    "*3\r\n$7\r\nmessage\r\n$%zu\r\n%s\r\n$%zu\r\n",
	    sizeof(CHANNEL) - 1, CHANNEL, size) + size + 2;
	cl = calloc((size_t)subscribers + 1, sizeof(*cl));
	pfd = calloc((size_t)subscribers, sizeof(*pfd));
	if (cl == NULL || pfd == NULL)
		die("calloc");

	/* The subscribers, each confirmed: nothing published is missed. */
	for (i = 0; i <= subscribers; i++)
		client_open(&cl[i], atoi(argv[1]));
	for (i = 0; i < subscribers; i++) {
		const char *sub[] = { "SUBSCRIBE", CHANNEL };

		reqs_command(&cl[i].out, 2, sub, NULL);
		while (cl[i].out.len > 0)
			flush_out(&cl[i]);
	}
	for (i = 0; i < subscribers; i++) {
		size_t pos = 0;
		const char *first = NULL;
		long num = -1;

		while (!parse(&cl[i], &pos, &first, &num))
			fill(&cl[i]);
		if (num != 1)
			fail("SUBSCRIBE was not confirmed");
		memmove(cl[i].in, cl[i].in + pos, cl[i].inlen - pos);
		cl[i].inlen -= pos;
		pfd[i].fd = cl[i].fd;
		pfd[i].events = POLLIN;
	}

	want = subscribers * messages;
	t0 = now_ns();
	if ((errno = pthread_create(&thread, NULL, publisher,
	    &cl[subscribers])) != 0)
		die("pthread_create");
	while (delivered < want) {
		if ((n = poll(pfd, (nfds_t)subscribers, IDLE_MS)) == -1) {
			if (errno == EINTR)
				continue;
			die("poll");
		}
		if (n == 0)
			fail("nothing arrived for 30 s");
		for (i = 0; i < subscribers; i++)
			if (pfd[i].revents & (POLLIN | POLLHUP | POLLERR))
				delivered += take(&cl[i], 0);
	}
	printf("%.0f\n", delivered / ((now_ns() - t0) / 1e9));
	pthread_join(thread, NULL);
	return 0;
}
