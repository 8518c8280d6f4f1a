/*
 * fdlimit.c - the limit on open files: raised at start, as redis-server
 * raises it, and shared between the clients and the cache of open
 * streams.
 *
 * A stream that the server keeps open holds about six descriptors, a
 * group four more (server.h), so a server that keeps every stream it
 * touched runs out of them after a few hundred under the usual soft
 * limit of 1024.  At start the soft limit goes up to the hard one, which
 * any process may do (a Debian service has 1024 and 524288), and what
 * it gets is shared out:
 *
 *   FD_RESERVE    the server's own: standard streams, log, epoll,
 *                 signalfd, inotify, eventfd, listeners, the spool's
 *                 directories, the topic exchange and the router, a
 *                 publish's bound queues, the users file at SIGHUP, and
 *                 what waits for the fsync (at most 4 sets of
 *                 MQ_DIRTY_FILES: the spool's, the turn's, the one handed
 *                 to the thread and the one it syncs);
 *   maxclients    one per connection;
 *   the rest      the cache of open streams, groups and sorted sets
 *                 (server.c): at least CACHE_MIN_STREAMS streams' worth,
 *                 so that the streams one command names fit.
 *
 * When the limit cannot hold all of maxclients, maxclients is lowered to
 * what fits and the log says so, as redis-server does; when it cannot
 * hold one client, the server does not start.  The cache's share is a
 * bound on an estimate: a subscribed client holds its subscriptions'
 * descriptors as well, and what waits for the fsync thread more, so the
 * cache also closes what it may when an open meets EMFILE (server.c).
 */
#include <sys/resource.h>

#include <err.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sysexits.h>

#include "server.h"

#define FD_RESERVE		64
#define CACHE_MIN_STREAMS	64
/* An unlimited hard limit: the kernel's own default bound (fs.nr_open). */
#define FD_UNLIMITED		((rlim_t)1 << 20)

/*
 * Raises the soft limit to the hard one.  Returns the limit it has, and
 * says in 'how' ('size' bytes) how it got it.
 */
static rlim_t
raise_limit(char *how, size_t size)
{
	struct rlimit rl;
	rlim_t want, was;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1) {
		snprintf(how, size, " (getrlimit: %s; 1024 assumed)",
		    strerror(errno));
		return 1024;
	}
	want = rl.rlim_max == RLIM_INFINITY ? FD_UNLIMITED : rl.rlim_max;
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur >= want) {
		snprintf(how, size, "%s", rl.rlim_cur == rl.rlim_max ?
		    " (the hard limit)" : "");
		return rl.rlim_cur;
	}
	if (rl.rlim_cur == RLIM_INFINITY) {
		*how = '\0';
		return FD_UNLIMITED;
	}
	was = rl.rlim_cur;
	rl.rlim_cur = want;
	if (setrlimit(RLIMIT_NOFILE, &rl) == -1) {
		snprintf(how, size, " (not raised to %llu: %s)",
		    (unsigned long long)want, strerror(errno));
		return was;
	}
	snprintf(how, size, " (raised from %llu)", (unsigned long long)was);
	return want;
}

void
fdlimit_init(struct server *s)
{
	char how[128];
	rlim_t limit;
	size_t least = FD_RESERVE + CACHE_MIN_STREAMS * STREAM_FDS, wanted;

	limit = raise_limit(how, sizeof(how));
	if (limit <= least)
		errx(EX_TEMPFAIL, "the limit on open files is %llu: mq-serve "
		    "needs %zu at least; raise it (ulimit -n)",
		    (unsigned long long)limit, least + 1);
	s->fd_limit = (size_t)limit;
	wanted = s->cfg.max_clients;
	if (s->fd_limit - least < wanted)
		s->cfg.max_clients = s->fd_limit - least;
	s->cache_fds_max = s->fd_limit - FD_RESERVE - s->cfg.max_clients;
	if (s->cfg.max_clients < wanted)
		server_log(s, "open files: %zu%s: --maxclients %zu needs %zu, "
		    "maxclients lowered to %zu (raise 'ulimit -n' for more); "
		    "%zu for open streams (%zu at most)", s->fd_limit, how,
		    wanted, wanted + least, s->cfg.max_clients,
		    s->cache_fds_max, s->cache_fds_max / STREAM_FDS);
	else
		server_log(s, "open files: %zu%s: %zu for clients, %zu for "
		    "open streams (%zu at most)", s->fd_limit, how,
		    s->cfg.max_clients, s->cache_fds_max,
		    s->cache_fds_max / STREAM_FDS);
}
