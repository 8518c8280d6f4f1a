/*
 * auth.c - password checks off the loop, for every door: one thread
 * runs crypt(3), a cache of successes answers a password seen before,
 * and a connection that gave a wrong one waits before its next check.
 *
 * A yescrypt check costs some 30 ms of CPU: run by the loop, it would
 * stall every client for that long, and a client sending wrong passwords
 * in a loop would stall the server.  So a door asks auth_check() and the
 * loop goes on with the other connections; the door runs nothing more of
 * the connection that asked until the answer comes (its input waits).
 * A request goes through these stages:
 *
 *   waiting   after a failure, the connection's next check begins only
 *             after a delay (a loop timer): AUTH_DELAY_FIRST_MS after one
 *             failure, twice that after two in a row, and so on up to
 *             AUTH_DELAY_MAX_MS (25 ms, 50 ms, ... 1.6 s, then 2 s); a
 *             success ends the run.  Only that connection waits.
 *   queued    the cache of successes is asked first: if it holds the
 *             keyed hash of the name and password (BLAKE2b keyed with
 *             random bytes drawn at start, libsodium's generichash), the
 *             answer is yes without crypt(3).  Otherwise the request
 *             joins the thread's queue, first come first served; a
 *             connection has one request at most, so the queue holds at
 *             most --maxclients.
 *   running   the thread checks it with users_verify() and moves it to
 *             the done list; an eventfd wakes the loop, which calls the
 *             door back (auth_ready), as syncer.c tells of a sync done.
 *
 * A success goes into the cache: AUTH_CACHE_SLOTS keyed hashes, each in
 * the slot its first bytes name (a newer one takes an older one's
 * place), emptied when SIGHUP loads the users file again.  An answer
 * found against a table that a reload has since replaced is not taken:
 * the request is checked again against the new one.  A connection
 * closed before its answer cancels its request (conn_close calls
 * auth_cancel): waiting, queued or answered, it is dropped at once;
 * running, it is dropped when the thread is done with it.  The door's
 * callback is never called for a closed connection.
 */
#include <sys/eventfd.h>

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "server.h"
#include "users.h"

#define AUTH_CACHE_SLOTS	4096	/* a power of 2: 128 KiB of hashes */
#define AUTH_MAC_SIZE		32	/* crypto_verify_32 compares them */
#define AUTH_DELAY_FIRST_MS	25
#define AUTH_DELAY_MAX_MS	2000

enum auth_stage { AUTH_WAITING, AUTH_QUEUED, AUTH_RUNNING, AUTH_DONE };

struct auth_req {
	TAILQ_ENTRY(auth_req) link;	/* in the queue, or the done list */
	enum auth_stage	 stage;		/* changed under the lock */
	struct conn	*conn;		/* NULL: cancelled while running */
	auth_done_fn	*done;
	void		*arg;
	uint64_t	 timer;		/* the delay's, while waiting */
	uint64_t	 gen;		/* the table it was checked against */
	int		 ok;
	unsigned char	 mac[AUTH_MAC_SIZE];	/* the cache's key for it */
	size_t		 ulen, plen;
	char		 buf[];		/* the name, then the password */
};
TAILQ_HEAD(auth_reqs, auth_req);

struct auth_slot {
	unsigned char	 mac[AUTH_MAC_SIZE];
	int		 used;
};

struct auth {
	pthread_t	 thread;
	pthread_mutex_t	 lock;		/* guards what the thread shares: */
	pthread_cond_t	 wake;
	struct auth_reqs queue;		/* for the thread, oldest first */
	struct auth_reqs done;		/* answered, for the loop */
	const struct users *users;	/* the table checks run against */
	struct users	*retired;	/* replaced while the thread used it */
	int		 busy;		/* the thread is in users_verify() */
	int		 stop;
	uint64_t	 gen;		/* counts the tables: 'users' is number gen */
	uint64_t	 checks;	/* run by the thread */
	size_t		 queued;
	/* The loop's alone. */
	int		 efd;		/* the thread tells the loop */
	unsigned char	 key[crypto_generichash_KEYBYTES];
	struct auth_slot *cache;	/* AUTH_CACHE_SLOTS of them */
	size_t		 cached;
	uint64_t	 hits, failures, delayed;
	size_t		 waiting;
};

/* The delay before the check that follows 'fails' failures in a row. */
static int64_t
auth_delay(unsigned fails)
{
	int64_t ms = AUTH_DELAY_FIRST_MS;

	if (fails == 0)
		return 0;
	while (--fails > 0 && ms < AUTH_DELAY_MAX_MS)
		ms *= 2;
	return ms < AUTH_DELAY_MAX_MS ? ms : AUTH_DELAY_MAX_MS;
}

/*
 * The cache's key of a name and password: a keyed hash of the name's
 * length, the name and the password, so that no other pair gives the
 * same input, and no one without the key can make a pair that collides.
 */
static void
auth_mac(const struct auth *a, const char *user, size_t ulen,
    const char *pass, size_t plen, unsigned char *out)
{
	crypto_generichash_state st;
	unsigned char len[8];
	size_t i;

	for (i = 0; i < sizeof(len); i++)
		len[i] = (unsigned char)((uint64_t)ulen >> (8 * i));
	crypto_generichash_init(&st, a->key, sizeof(a->key), AUTH_MAC_SIZE);
	crypto_generichash_update(&st, len, sizeof(len));
	crypto_generichash_update(&st, (const unsigned char *)user, ulen);
	crypto_generichash_update(&st, (const unsigned char *)pass, plen);
	crypto_generichash_final(&st, out, AUTH_MAC_SIZE);
	sodium_memzero(&st, sizeof(st));
}

static struct auth_slot *
cache_slot(const struct auth *a, const unsigned char *mac)
{
	uint32_t i = (uint32_t)mac[0] | (uint32_t)mac[1] << 8 |
	    (uint32_t)mac[2] << 16;

	return &a->cache[i & (AUTH_CACHE_SLOTS - 1)];
}

static int
cache_has(const struct auth *a, const unsigned char *mac)
{
	const struct auth_slot *sl = cache_slot(a, mac);

	return sl->used && crypto_verify_32(sl->mac, mac) == 0;
}

static void
cache_put(struct auth *a, const unsigned char *mac)
{
	struct auth_slot *sl = cache_slot(a, mac);

	if (!sl->used)
		a->cached++;
	memcpy(sl->mac, mac, AUTH_MAC_SIZE);
	sl->used = 1;
}

static void
req_free(struct auth_req *r)
{
	sodium_memzero(r->buf, r->ulen + r->plen);
	free(r);
}

static void
tell_loop(struct auth *a)
{
	uint64_t one = 1;

	/* The counter cannot overflow before the loop reads it. */
	(void)write(a->efd, &one, sizeof(one));
}

static void *
auth_main(void *arg)
{
	struct auth *a = arg;
	const struct users *u;
	struct users *old;
	struct auth_req *r;
	int ok;

	pthread_mutex_lock(&a->lock);
	for (;;) {
		while (TAILQ_EMPTY(&a->queue) && !a->stop)
			pthread_cond_wait(&a->wake, &a->lock);
		if (a->stop)
			break;
		r = TAILQ_FIRST(&a->queue);
		TAILQ_REMOVE(&a->queue, r, link);
		a->queued--;
		r->stage = AUTH_RUNNING;
		r->gen = a->gen;
		u = a->users;
		a->busy = 1;
		/* A running request is the thread's: no one frees it now. */
		pthread_mutex_unlock(&a->lock);
		ok = users_verify(u, r->buf, r->ulen, r->buf + r->ulen, r->plen);
		pthread_mutex_lock(&a->lock);
		a->busy = 0;
		a->checks++;
		old = a->retired;
		a->retired = NULL;
		r->ok = ok;
		r->stage = AUTH_DONE;
		TAILQ_INSERT_TAIL(&a->done, r, link);
		tell_loop(a);
		pthread_mutex_unlock(&a->lock);
		users_free(old);
		pthread_mutex_lock(&a->lock);
	}
	pthread_mutex_unlock(&a->lock);
	return NULL;
}

/*
 * After its delay: the request is answered from the cache (through the
 * done list, so that the door hears of it as of any other) or queued for
 * the thread.
 */
static void
begin(struct auth *a, struct auth_req *r)
{
	int hit = cache_has(a, r->mac);

	pthread_mutex_lock(&a->lock);
	if (hit) {
		r->stage = AUTH_DONE;
		r->ok = 1;
		r->gen = a->gen;
		TAILQ_INSERT_TAIL(&a->done, r, link);
		a->hits++;
		tell_loop(a);
	} else {
		r->stage = AUTH_QUEUED;
		TAILQ_INSERT_TAIL(&a->queue, r, link);
		a->queued++;
		pthread_cond_signal(&a->wake);
	}
	pthread_mutex_unlock(&a->lock);
}

static void
delay_over(struct loop *loop, void *arg)
{
	struct auth_req *r = arg;
	struct auth *a = r->conn->server->auth;

	r->timer = 0;
	a->waiting--;
	begin(a, r);
}

/*
 * Gives the answer of 'r' to its door: counts the connection's failures
 * in a row, and calls back once 'r' is gone from the connection, so that
 * the callback may ask again.
 */
static void
answer(struct auth *a, struct auth_req *r)
{
	struct conn *c = r->conn;
	auth_done_fn *done = r->done;
	void *arg = r->arg;
	int ok = r->ok;

	if (ok) {
		cache_put(a, r->mac);
		c->auth_fails = 0;
	} else {
		c->auth_fails++;
		a->failures++;
	}
	c->auth = NULL;
	req_free(r);
	done(c, arg, ok);
}

/*
 * The thread answered: each answer in turn, taken from the list one at a
 * time, since a callback may close another connection whose answer is
 * still there (auth_cancel takes it out).
 */
static void
auth_ready(struct loop *loop, int fd, int events, void *arg)
{
	struct auth *a = arg;
	struct auth_req *r;
	uint64_t count;

	(void)read(fd, &count, sizeof(count));
	for (;;) {
		pthread_mutex_lock(&a->lock);
		if ((r = TAILQ_FIRST(&a->done)) != NULL)
			TAILQ_REMOVE(&a->done, r, link);
		pthread_mutex_unlock(&a->lock);
		if (r == NULL)
			break;
		if (r->conn == NULL)
			req_free(r);		/* closed while it ran */
		else if (r->gen != a->gen)
			begin(a, r);		/* the users changed meanwhile */
		else
			answer(a, r);
	}
}

int
auth_start(struct server *s)
{
	struct auth *a;
	int e;

	if (sodium_init() == -1) {
		errno = ENOSYS;
		return -1;
	}
	if ((a = calloc(1, sizeof(*a))) == NULL ||
	    (a->cache = calloc(AUTH_CACHE_SLOTS, sizeof(*a->cache))) == NULL)
		goto fail;
	TAILQ_INIT(&a->queue);
	TAILQ_INIT(&a->done);
	a->users = s->users;
	randombytes_buf(a->key, sizeof(a->key));
	if ((a->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) == -1)
		goto fail;
	if (loop_add(s->loop, a->efd, LOOP_READ, auth_ready, a) == -1) {
		close(a->efd);
		goto fail;
	}
	pthread_mutex_init(&a->lock, NULL);
	pthread_cond_init(&a->wake, NULL);
	if ((errno = pthread_create(&a->thread, NULL, auth_main, a)) != 0) {
		e = errno;
		pthread_mutex_destroy(&a->lock);
		pthread_cond_destroy(&a->wake);
		loop_del(s->loop, a->efd);
		close(a->efd);
		errno = e;
		goto fail;
	}
	s->auth = a;
	return 0;
fail:
	e = errno;
	if (a != NULL)
		free(a->cache);
	free(a);
	errno = e;
	return -1;
}

int
auth_check(struct conn *c, const char *user, size_t ulen, const char *pass,
    size_t plen, auth_done_fn *done, void *arg)
{
	struct auth *a = c->server->auth;
	struct auth_req *r;
	int64_t ms;

	if (a == NULL || c->auth != NULL) {
		errno = a == NULL ? ENOENT : EBUSY;
		return -1;
	}
	if ((r = calloc(1, sizeof(*r) + ulen + plen)) == NULL)
		return -1;
	r->conn = c;
	r->done = done;
	r->arg = arg;
	r->ulen = ulen;
	r->plen = plen;
	memcpy(r->buf, user, ulen);
	memcpy(r->buf + ulen, pass, plen);
	auth_mac(a, user, ulen, pass, plen, r->mac);
	c->auth = r;
	/* Without memory for a timer, no delay: better than no answer. */
	if ((ms = auth_delay(c->auth_fails)) > 0 &&
	    (r->timer = loop_timer_add(c->server->loop, ms, delay_over,
	    r)) != 0) {
		r->stage = AUTH_WAITING;
		a->waiting++;
		a->delayed++;
		return 0;
	}
	begin(a, r);
	return 0;
}

void
auth_cancel(struct conn *c)
{
	struct auth *a = c->server->auth;
	struct auth_req *r = c->auth;

	if (r == NULL)
		return;
	c->auth = NULL;
	pthread_mutex_lock(&a->lock);
	switch (r->stage) {
	case AUTH_WAITING:
		loop_timer_del(c->server->loop, r->timer);
		a->waiting--;
		break;
	case AUTH_QUEUED:
		TAILQ_REMOVE(&a->queue, r, link);
		a->queued--;
		break;
	case AUTH_DONE:
		TAILQ_REMOVE(&a->done, r, link);
		break;
	case AUTH_RUNNING:
		r->conn = NULL;		/* auth_ready frees it */
		r = NULL;
		break;
	}
	pthread_mutex_unlock(&a->lock);
	if (r != NULL)
		req_free(r);
}

void
auth_reload(struct server *s, struct users *u)
{
	struct auth *a = s->auth;
	struct users *old = s->users;

	s->users = u;
	if (a == NULL) {
		users_free(old);
		return;
	}
	pthread_mutex_lock(&a->lock);
	a->users = u;
	a->gen++;
	/*
	 * The thread checks against the table that was current when it took
	 * its request: if that is 'old', it frees it when done.  (A second
	 * reload meanwhile replaces a table the thread never had.)
	 */
	if (a->busy && a->retired == NULL) {
		a->retired = old;
		old = NULL;
	}
	pthread_mutex_unlock(&a->lock);
	users_free(old);
	sodium_memzero(a->cache, AUTH_CACHE_SLOTS * sizeof(*a->cache));
	a->cached = 0;
}

void
auth_stats(struct server *s, struct auth_stats *st)
{
	struct auth *a = s->auth;

	memset(st, 0, sizeof(*st));
	if (a == NULL)
		return;
	pthread_mutex_lock(&a->lock);
	st->checks = a->checks;
	st->queued = a->queued;
	st->running = a->busy;
	pthread_mutex_unlock(&a->lock);
	st->cache_hits = a->hits;
	st->cached = a->cached;
	st->failures = a->failures;
	st->delayed = a->delayed;
	st->waiting = a->waiting;
}

void
auth_stop(struct server *s)
{
	struct auth *a = s->auth;
	struct auth_req *r;

	if (a == NULL)
		return;
	pthread_mutex_lock(&a->lock);
	a->stop = 1;
	pthread_cond_signal(&a->wake);
	pthread_mutex_unlock(&a->lock);
	pthread_join(a->thread, NULL);
	/* Every connection is closed: what is left was cancelled. */
	while ((r = TAILQ_FIRST(&a->queue)) != NULL) {
		TAILQ_REMOVE(&a->queue, r, link);
		req_free(r);
	}
	while ((r = TAILQ_FIRST(&a->done)) != NULL) {
		TAILQ_REMOVE(&a->done, r, link);
		req_free(r);
	}
	users_free(a->retired);
	pthread_mutex_destroy(&a->lock);
	pthread_cond_destroy(&a->wake);
	loop_del(s->loop, a->efd);
	close(a->efd);
	sodium_memzero(a->key, sizeof(a->key));
	free(a->cache);
	free(a);
	s->auth = NULL;
}
