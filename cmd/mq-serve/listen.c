/*
 * listen.c - listening sockets: "[HOST:]PORT" to a non-blocking socket
 * whose new connections go to conn_accept() with their protocol.
 *
 * An address is read twice: by listen_parse() when the option is read,
 * so that a malformed one is a usage error that names the option (or the
 * line of the config file) before anything starts; and by
 * listener_open(), which resolves and binds it and logs the address the
 * kernel bound, which is not the one asked for when the port was 0.
 */
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "server.h"

struct listener {
	struct server		*server;
	const struct proto	*proto;
	int			 fd;
};

/* "HOST:PORT" of 'ss'; an IPv6 HOST in brackets if 'bracket6'. */
static void
addr_name(const struct sockaddr_storage *ss, int bracket6, char *buf,
    size_t size)
{
	char host[INET6_ADDRSTRLEN] = "?";
	int port = 0, v6 = 0;

	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *in = (const void *)ss;

		inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
		port = ntohs(in->sin_port);
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const void *)ss;

		inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
		port = ntohs(in6->sin6_port);
		v6 = bracket6;
	}
	snprintf(buf, size, v6 ? "[%s]:%d" : "%s:%d", host, port);
}

static void
listener_accept(struct loop *loop, int fd, int events, void *arg)
{
	struct listener *l = arg;
	struct sockaddr_storage ss;
	socklen_t len;
	char peer[64];
	int cfd, one = 1, i;

	/* A few at a time, so that one busy listener cannot starve the rest. */
	for (i = 0; i < 64; i++) {
		len = sizeof(ss);
		cfd = accept4(fd, (struct sockaddr *)&ss, &len,
		    SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (cfd == -1) {
			/* Out of descriptors: the cache's spare ones first. */
			if ((errno == EMFILE || errno == ENFILE) &&
			    server_cache_relieve(l->server) > 0)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK &&
			    errno != EINTR && errno != ECONNABORTED)
				server_log(l->server, "accept: %s", strerror(errno));
			return;
		}
		setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		addr_name(&ss, 0, peer, sizeof(peer));
		conn_accept(l->server, cfd, peer, l->proto);
	}
}

/* A port: decimal, 0 to 65535; the caller decides what 0 means. */
static int
parse_port(const char *s, int *port, const char **why)
{
	const char *errstr;

	if (*s == '\0') {
		*why = "no port";
		return -1;
	}
	if (s[strspn(s, "0123456789")] != '\0') {
		*why = "the port is not a number";
		return -1;
	}
	*port = (int)strtonum(s, 0, 65535, &errstr);
	if (errstr != NULL) {
		*why = "port out of range (1-65535)";
		return -1;
	}
	return 0;
}

/* The HOST of "HOST:PORT": an IPv4 address or a host name. */
static int
parse_host(const char *h, const char **why)
{
	struct in_addr a;

	if (*h == '\0') {
		*why = "no host before ':'";
		return -1;
	}
	/* All digits and dots: an IPv4 address, whole (not inet_aton's "10.1"). */
	if (h[strspn(h, "0123456789.")] == '\0') {
		if (inet_pton(AF_INET, h, &a) != 1) {
			*why = "not an IPv4 address";
			return -1;
		}
		return 0;
	}
	if (h[strspn(h, "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_")] != '\0') {
		*why = "not an IPv4 address or a host name";
		return -1;
	}
	return 0;
}

/* "[IPV6]:PORT" */
static int
parse_bracketed(const char *spec, char *host, int *port, const char **why)
{
	struct in6_addr a;
	const char *end;

	if ((end = strchr(spec, ']')) == NULL) {
		*why = "no ']' after the IPv6 address";
		return -1;
	}
	if ((size_t)(end - spec - 1) >= LISTEN_HOST_MAX) {
		*why = "not an IPv6 address";
		return -1;
	}
	memcpy(host, spec + 1, end - spec - 1);
	host[end - spec - 1] = '\0';
	if (inet_pton(AF_INET6, host, &a) != 1) {
		*why = "not an IPv6 address";
		return -1;
	}
	if (end[1] != ':') {
		*why = "expected [ADDRESS]:PORT";
		return -1;
	}
	return parse_port(end + 2, port, why);
}

int
listen_parse(const char *spec, char *host, int *port, const char **why)
{
	const char *colon;
	size_t len;

	if (strcmp(spec, "off") == 0)
		return 0;
	if (spec[0] == '[') {
		if (parse_bracketed(spec, host, port, why) == -1)
			return -1;
	} else if ((colon = strchr(spec, ':')) == NULL) {
		/* PORT alone: on the loopback; 0 is "off", as Redis's port 0. */
		strlcpy(host, "127.0.0.1", LISTEN_HOST_MAX);
		if (parse_port(spec, port, why) == -1)
			return -1;
		if (*port == 0)
			return 0;
	} else {
		len = colon - spec;
		if (strchr(colon + 1, ':') != NULL) {
			*why = "an IPv6 address goes in brackets, as in [::1]:6379";
			return -1;
		}
		if (len >= LISTEN_HOST_MAX) {
			*why = "host name too long";
			return -1;
		}
		memcpy(host, spec, len);
		host[len] = '\0';
		if (parse_host(host, why) == -1 ||
		    parse_port(colon + 1, port, why) == -1)
			return -1;
	}
	return 1;
}

/*
 * Binds a socket to the first address of 'res' that takes it and
 * listens; returns it, or -1 with errno of the last failure.
 */
static int
bind_first(const struct addrinfo *res)
{
	const struct addrinfo *ai;
	int fd, one = 1;

	errno = EADDRNOTAVAIL;
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK |
		    SOCK_CLOEXEC, ai->ai_protocol);
		if (fd == -1)
			continue;
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 &&
		    listen(fd, 511) == 0)
			return fd;
		close(fd);
	}
	return -1;
}

void
listeners_turn_end(struct server *s)
{
	struct listener *l;
	size_t i;

	for (i = 0; i < s->nlisteners; i++) {
		l = s->listeners[i];
		if (l->proto->turn_end != NULL)
			l->proto->turn_end(s);
	}
}

void
listeners_disk_low(struct server *s, int low)
{
	struct listener *l;
	size_t i;

	for (i = 0; i < s->nlisteners; i++) {
		l = s->listeners[i];
		if (l->proto->disk_low != NULL)
			l->proto->disk_low(s, low);
	}
}

/*
 * Listens on 'spec' (see listen_parse(); "off" means no listener, and
 * returns 0).  Returns 1 when listening, -1 on error (logged).
 */
int
listener_open(struct server *s, const char *spec, const struct proto *proto)
{
	struct addrinfo hints, *res = NULL;
	struct sockaddr_storage ss;
	struct listener *l = NULL;
	socklen_t sslen = sizeof(ss);
	char host[LISTEN_HOST_MAX], port[8], bound[LISTEN_HOST_MAX + 16];
	const char *why;
	int fd, rc, portnum;

	if ((rc = listen_parse(spec, host, &portnum, &why)) <= 0) {
		if (rc == -1)
			server_log(s, "%s: %s", spec, why);
		return rc;
	}
	snprintf(port, sizeof(port), "%d", portnum);
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	if ((rc = getaddrinfo(host, port, &hints, &res)) != 0) {
		server_log(s, "%s: %s", spec, gai_strerror(rc));
		return -1;
	}
	fd = bind_first(res);
	freeaddrinfo(res);
	if (fd == -1) {
		server_log(s, "%s: cannot listen: %s", spec, strerror(errno));
		return -1;
	}
	if (s->nlisteners == sizeof(s->listeners) / sizeof(s->listeners[0]) ||
	    (l = calloc(1, sizeof(*l))) == NULL ||
	    loop_add(s->loop, fd, LOOP_READ, listener_accept, l) == -1) {
		free(l);
		close(fd);
		return -1;
	}
	l->server = s;
	l->proto = proto;
	l->fd = fd;
	s->listeners[s->nlisteners++] = l;
	/* What the kernel bound: the port it chose for a port of 0. */
	if (getsockname(fd, (struct sockaddr *)&ss, &sslen) == 0)
		addr_name(&ss, 1, bound, sizeof(bound));
	else
		snprintf(bound, sizeof(bound), "%s", spec);
	server_log(s, "listening on %s (%s)", bound, proto->name);
	return 1;
}
