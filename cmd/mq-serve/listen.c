/*
 * listen.c - listening sockets: "[HOST:]PORT" to a non-blocking socket
 * whose new connections go to conn_accept() with their protocol.
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

static void
peer_name(const struct sockaddr_storage *ss, char *buf, size_t size)
{
	char host[INET6_ADDRSTRLEN] = "?";
	int port = 0;

	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *in = (const void *)ss;

		inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
		port = ntohs(in->sin_port);
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const void *)ss;

		inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
		port = ntohs(in6->sin6_port);
	}
	snprintf(buf, size, "%s:%d", host, port);
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
			if (errno != EAGAIN && errno != EWOULDBLOCK &&
			    errno != EINTR && errno != ECONNABORTED)
				server_log(l->server, "accept: %s", strerror(errno));
			return;
		}
		setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		peer_name(&ss, peer, sizeof(peer));
		conn_accept(l->server, cfd, peer, l->proto);
	}
}

/*
 * Listens on 'spec' ("PORT", "HOST:PORT" or "[V6]:PORT"); "0" and "off"
 * mean no listener (returns 0).  Returns 1 when listening, -1 on error
 * (logged).
 */
int
listener_open(struct server *s, const char *spec, int default_port,
    const struct proto *proto)
{
	struct addrinfo hints, *res = NULL, *ai;
	struct listener *l = NULL;
	char host[256] = "127.0.0.1", port[16];
	const char *colon;
	int fd = -1, one = 1, rc;

	if (spec == NULL || strcmp(spec, "off") == 0 || strcmp(spec, "0") == 0)
		return 0;
	if (spec[0] == '[' && (colon = strstr(spec, "]:")) != NULL) {
		snprintf(host, sizeof(host), "%.*s", (int)(colon - spec - 1), spec + 1);
		snprintf(port, sizeof(port), "%s", colon + 2);
	} else if ((colon = strrchr(spec, ':')) != NULL) {
		snprintf(host, sizeof(host), "%.*s", (int)(colon - spec), spec);
		snprintf(port, sizeof(port), "%s", colon + 1);
	} else if (spec[0] != '\0')
		snprintf(port, sizeof(port), "%s", spec);
	else
		snprintf(port, sizeof(port), "%d", default_port);
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	if ((rc = getaddrinfo(host, port, &hints, &res)) != 0) {
		server_log(s, "%s: %s", spec, gai_strerror(rc));
		return -1;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK |
		    SOCK_CLOEXEC, ai->ai_protocol);
		if (fd == -1)
			continue;
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 &&
		    listen(fd, 511) == 0)
			break;
		close(fd);
		fd = -1;
	}
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
	server_log(s, "listening on %s:%s (%s)", host, port, proto->name);
	return 1;
}
