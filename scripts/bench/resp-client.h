/*
 * resp-client.h - what the RESP clients of bench-serve.sh (resp-consume.c,
 * fanout.c) share: a failed call ends the run, requests are RESP commands
 * gathered in a buffer until they are sent, connections go to 127.0.0.1
 * without Nagle's delay, replies are read by one small parser, time is
 * the monotonic clock.  Each client is one
 * file compiled alone, so these are static.
 */
#ifndef MQ_BENCH_RESP_CLIENT_H
#define MQ_BENCH_RESP_CLIENT_H

#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Requests not yet sent: p[pos .. len). */
struct reqs {
	char	*p;
	size_t	 len, pos, cap;
};

static inline void
die(const char *what)
{
	perror(what);
	exit(1);
}

static inline void
reqs_add(struct reqs *r, const void *p, size_t len)
{
	if (r->len + len > r->cap) {
		r->cap = (r->len + len) * 2;
		if ((r->p = realloc(r->p, r->cap)) == NULL)
			die("realloc");
	}
	memcpy(r->p + r->len, p, len);
	r->len += len;
}

/*
 * Appends a RESP command of 'argc' strings, of the lengths 'lens' (NULL:
 * C strings).
 */
static inline void
reqs_command(struct reqs *r, int argc, const char **argv, const size_t *lens)
{
	char buf[64];
	size_t len;
	int i, n;

	n = snprintf(buf, sizeof(buf), "*%d\r\n", argc);
	reqs_add(r, buf, (size_t)n);
	for (i = 0; i < argc; i++) {
		len = lens != NULL ? lens[i] : strlen(argv[i]);
		n = snprintf(buf, sizeof(buf), "$%zu\r\n", len);
		reqs_add(r, buf, (size_t)n);
		reqs_add(r, argv[i], len);
		reqs_add(r, "\r\n", 2);
	}
}

/* A connection to 127.0.0.1:'port', with TCP_NODELAY. */
static inline int
loopback_connect(int port)
{
	struct sockaddr_in sin;
	int fd, one = 1;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((unsigned short)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) == -1)
		die("socket");
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1)
		die("connect");
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

/*
 * The RESP2 value (or RESP3 push) at buf[*pos .. len): 1 if it is whole,
 * and then *pos is past it; 0 if more bytes are needed.  Each bulk
 * string is handed to 'bulk' with its depth (0: the value itself), an
 * integer goes to '*num'; an error reply ends the run.
 */
static inline int
resp_value(const char *buf, size_t len, size_t *pos, int depth,
    void (*bulk)(void *arg, int depth, const char *p, long n), void *arg,
    long *num)
{
	const char *p = buf + *pos, *end = buf + len, *nl;
	long n, i;

	if (p >= end || (nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
		return 0;
	n = strtol(p + 1, NULL, 10);
	switch (*p) {
	case '-':
		fprintf(stderr, "error reply: %.*s\n", (int)(nl - p), p);
		exit(1);
	case ':':
		*num = n;
		/* FALLTHROUGH */
	case '+':
		*pos = (size_t)(nl + 1 - buf);
		return 1;
	case '$':
		if (n < 0) {
			*pos = (size_t)(nl + 1 - buf);
			return 1;
		}
		if (nl + 1 + n + 2 > end)
			return 0;
		bulk(arg, depth, nl + 1, n);
		*pos = (size_t)(nl + 1 + n + 2 - buf);
		return 1;
	case '*':
	case '>':
		*pos = (size_t)(nl + 1 - buf);
		for (i = 0; i < n; i++)
			if (!resp_value(buf, len, pos, depth + 1, bulk, arg, num))
				return 0;
		return 1;
	}
	fprintf(stderr, "unexpected reply byte %c\n", *p);
	exit(1);
}

static inline long long
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

#endif /* MQ_BENCH_RESP_CLIENT_H */
