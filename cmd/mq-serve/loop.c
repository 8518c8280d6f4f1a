/*
 * loop.c - the event loop of mq-serve: epoll for descriptors, timers in
 * a binary heap (the earliest first, those due at the same millisecond
 * in the order they were added) with a tree to find one by its id, and
 * hooks run before each sleep.  A heap, not a sorted list: an AMQP queue
 * waiting for a lease to run out has a timer, and with thousands of them
 * a list cost a walk per add and per delete.
 *
 * One turn: run the hooks (they flush replies and fsync), wait in
 * epoll_wait until the nearest timer, call the handlers of the ready
 * descriptors, then the timers that are due.  Level-triggered, so a
 * handler that leaves data unread is simply called again.
 */
#include <sys/epoll.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "server.h"

struct io {
	int		 fd;
	int		 events;
	loop_io_fn	*fn;
	void		*arg;
};

struct timer {
	uint64_t	 id;
	int64_t		 when;		/* monotonic ms */
	loop_timer_fn	*fn;
	void		*arg;
	size_t		 slot;		/* in the heap */
	RB_ENTRY(timer)	 byid;
};

static int
timer_id_cmp(const struct timer *a, const struct timer *b)
{
	return a->id < b->id ? -1 : a->id > b->id;
}

RB_HEAD(timertree, timer);
/* libbsd's RB_GENERATE_STATIC wants BSD's __unused; say it plainly. */
#define RB_ATTR __attribute__((__unused__)) static
RB_GENERATE_INTERNAL(timertree, timer, byid, timer_id_cmp, RB_ATTR)

struct hook {
	loop_hook_fn	*fn;
	void		*arg;
};

struct loop {
	int		 ep;
	struct io	**ios;		/* by fd */
	size_t		 nios;
	struct timer	**heap;		/* heap[0] is due first */
	size_t		 ntimers, capheap;
	struct timertree byid;
	uint64_t	 next_timer;
	struct hook	 hooks[8];
	size_t		 nhooks;
	int		 stop;
	int64_t		 now;
};

static int64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Whether timer 'a' is due before 'b': earlier, or as early and older. */
static int
timer_before(const struct timer *a, const struct timer *b)
{
	return a->when < b->when || (a->when == b->when && a->id < b->id);
}

static void
heap_set(struct loop *l, size_t i, struct timer *t)
{
	l->heap[i] = t;
	t->slot = i;
}

/* Moves the timer at 'i' up to its place. */
static void
heap_up(struct loop *l, size_t i)
{
	struct timer *t = l->heap[i];

	while (i > 0 && timer_before(t, l->heap[(i - 1) / 2])) {
		heap_set(l, i, l->heap[(i - 1) / 2]);
		i = (i - 1) / 2;
	}
	heap_set(l, i, t);
}

/* Moves the timer at 'i' down to its place. */
static void
heap_down(struct loop *l, size_t i)
{
	struct timer *t = l->heap[i];
	size_t child;

	while ((child = 2 * i + 1) < l->ntimers) {
		if (child + 1 < l->ntimers &&
		    timer_before(l->heap[child + 1], l->heap[child]))
			child++;
		if (!timer_before(l->heap[child], t))
			break;
		heap_set(l, i, l->heap[child]);
		i = child;
	}
	heap_set(l, i, t);
}

/* Takes the timer at 'i' out of the heap (it is not freed). */
static void
heap_remove(struct loop *l, size_t i)
{
	struct timer *last = l->heap[--l->ntimers];

	if (i == l->ntimers)
		return;
	heap_set(l, i, last);
	heap_down(l, i);
	heap_up(l, last->slot);
}

struct loop *
loop_new(void)
{
	struct loop *l;

	if ((l = calloc(1, sizeof(*l))) == NULL)
		return NULL;
	if ((l->ep = epoll_create1(EPOLL_CLOEXEC)) == -1) {
		free(l);
		return NULL;
	}
	RB_INIT(&l->byid);
	l->now = mono_ms();
	return l;
}

void
loop_free(struct loop *l)
{
	struct timer *t;
	size_t i;

	if (l == NULL)
		return;
	while (l->ntimers > 0) {
		t = l->heap[0];
		heap_remove(l, 0);
		RB_REMOVE(timertree, &l->byid, t);
		free(t);
	}
	free(l->heap);
	for (i = 0; i < l->nios; i++)
		free(l->ios[i]);
	free(l->ios);
	close(l->ep);
	free(l);
}

static uint32_t
ep_events(int events)
{
	return (events & LOOP_READ ? EPOLLIN : 0) |
	    (events & LOOP_WRITE ? EPOLLOUT : 0);
}

int
loop_add(struct loop *l, int fd, int events, loop_io_fn *fn, void *arg)
{
	struct epoll_event ev;
	struct io *io;

	if ((size_t)fd >= l->nios) {
		size_t n = (size_t)fd + 64;
		struct io **v = reallocarray(l->ios, n, sizeof(*v));

		if (v == NULL)
			return -1;
		memset(v + l->nios, 0, (n - l->nios) * sizeof(*v));
		l->ios = v;
		l->nios = n;
	}
	if ((io = calloc(1, sizeof(*io))) == NULL)
		return -1;
	io->fd = fd;
	io->events = events;
	io->fn = fn;
	io->arg = arg;
	memset(&ev, 0, sizeof(ev));
	ev.events = ep_events(events);
	ev.data.fd = fd;
	if (epoll_ctl(l->ep, EPOLL_CTL_ADD, fd, &ev) == -1) {
		free(io);
		return -1;
	}
	l->ios[fd] = io;
	return 0;
}

int
loop_mod(struct loop *l, int fd, int events)
{
	struct epoll_event ev;
	struct io *io;

	if ((size_t)fd >= l->nios || (io = l->ios[fd]) == NULL) {
		errno = EBADF;
		return -1;
	}
	if (io->events == events)
		return 0;
	memset(&ev, 0, sizeof(ev));
	ev.events = ep_events(events);
	ev.data.fd = fd;
	if (epoll_ctl(l->ep, EPOLL_CTL_MOD, fd, &ev) == -1)
		return -1;
	io->events = events;
	return 0;
}

void
loop_del(struct loop *l, int fd)
{
	if ((size_t)fd >= l->nios || l->ios[fd] == NULL)
		return;
	epoll_ctl(l->ep, EPOLL_CTL_DEL, fd, NULL);
	free(l->ios[fd]);
	l->ios[fd] = NULL;
}

uint64_t
loop_timer_add(struct loop *l, int64_t ms, loop_timer_fn *fn, void *arg)
{
	struct timer *t;

	if (array_grow(&l->heap, &l->capheap, l->ntimers + 1,
	    sizeof(*l->heap)) == -1 || (t = calloc(1, sizeof(*t))) == NULL)
		return 0;
	t->id = ++l->next_timer;
	t->when = mono_ms() + (ms > 0 ? ms : 0);
	t->fn = fn;
	t->arg = arg;
	t->slot = l->ntimers++;
	l->heap[t->slot] = t;
	heap_up(l, t->slot);
	RB_INSERT(timertree, &l->byid, t);
	return t->id;
}

void
loop_timer_del(struct loop *l, uint64_t id)
{
	struct timer key, *t;

	key.id = id;
	if ((t = RB_FIND(timertree, &l->byid, &key)) == NULL)
		return;
	RB_REMOVE(timertree, &l->byid, t);
	heap_remove(l, t->slot);
	free(t);
}

void
loop_before_sleep(struct loop *l, loop_hook_fn *fn, void *arg)
{
	if (l->nhooks < sizeof(l->hooks) / sizeof(l->hooks[0])) {
		l->hooks[l->nhooks].fn = fn;
		l->hooks[l->nhooks].arg = arg;
		l->nhooks++;
	}
}

void
loop_stop(struct loop *l)
{
	l->stop = 1;
}

int64_t
loop_now_ms(const struct loop *l)
{
	return l->now;
}

int64_t
loop_wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Calls the timers that are due; a timer may add or delete timers. */
static void
run_timers(struct loop *l)
{
	struct timer *t;

	l->now = mono_ms();
	while (l->ntimers > 0 && (t = l->heap[0])->when <= l->now) {
		heap_remove(l, 0);
		RB_REMOVE(timertree, &l->byid, t);
		t->fn(l, t->arg);
		free(t);
	}
}

int
loop_run(struct loop *l)
{
	struct epoll_event evs[256];
	size_t i;
	int n, timeout;

	while (!l->stop) {
		for (i = 0; i < l->nhooks; i++)
			l->hooks[i].fn(l, l->hooks[i].arg);
		if (l->stop)
			break;
		timeout = -1;
		if (l->ntimers > 0) {
			int64_t d = l->heap[0]->when - mono_ms();

			timeout = d < 0 ? 0 : d > 60000 ? 60000 : (int)d;
		}
		n = epoll_wait(l->ep, evs, 256, timeout);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		l->now = mono_ms();
		for (i = 0; i < (size_t)n; i++) {
			int fd = evs[i].data.fd, events = 0;
			struct io *io;

			if (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR))
				events |= LOOP_READ;
			if (evs[i].events & (EPOLLOUT | EPOLLERR))
				events |= LOOP_WRITE;
			/*
			 * Looked up by fd: an earlier handler of this turn may
			 * have removed it (loop_del), or even reused the fd, in
			 * which case the new owner sees a spurious event.
			 */
			if ((size_t)fd >= l->nios || (io = l->ios[fd]) == NULL)
				continue;
			io->fn(l, fd, events, io->arg);
		}
		run_timers(l);
	}
	l->stop = 0;	/* a later loop_run runs again (the unit tests) */
	return 0;
}
