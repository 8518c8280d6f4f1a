/*
 * wait.c - how a reading tool waits: for a change of what it watches, a
 * signal, the reader of its output going away, or a deadline, in one
 * ppoll(2), and never by polling.
 *
 * Signals: SIGINT and SIGTERM set tool_stopping, SIGCHLD (for a tool that
 * runs commands) sets tool_reaped; the handlers do nothing else.  The
 * three are blocked except inside ppoll, which unblocks them atomically,
 * so no signal is lost between testing a flag and sleeping.  SA_RESTART
 * keeps libmq's calls going through a signal.  SIGPIPE is ignored: a
 * closed standard output is an EPIPE to handle, not a death.
 *
 * Readiness: a tool that starts listening in the background can say when
 * it listens by writing a newline to a descriptor it was given and
 * closing it (--ready-fd, as s6's notification-fd), so that a script
 * knows from when on nothing published is missed.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <err.h>

#include "tool.h"

volatile sig_atomic_t tool_stopping;
volatile sig_atomic_t tool_reaped;

static void
tool_on_signal(int sig)
{
	if (sig == SIGCHLD)
		tool_reaped = 1;
	else
		tool_stopping = 1;
}

void
tool_signals(int children)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = tool_on_signal;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	if (children) {
		sa.sa_flags |= SA_NOCLDSTOP;
		sigaction(SIGCHLD, &sa, NULL);
	}
	signal(SIGPIPE, SIG_IGN);
}

/* Milliseconds on 'clock'. */
static int64_t
tool_clock_ms(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t
tool_mono_ms(void)
{
	return tool_clock_ms(CLOCK_MONOTONIC);
}

int64_t
tool_now_ms(void)
{
	return tool_clock_ms(CLOCK_REALTIME);
}

int
tool_passed(int64_t when)
{
	return when >= 0 && tool_mono_ms() >= when;
}

int64_t
tool_earlier(int64_t a, int64_t b)
{
	return a < 0 || (b >= 0 && b < a) ? b : a;
}

int64_t
tool_group_due(mq_group *group, int64_t deadline)
{
	int64_t due, now;
	int rc;

	if ((rc = mq_group_next_due(group, &due)) != MQ_OK)
		tool_die(rc, "retry delays and leases");
	if (due < 0)
		return deadline;
	now = tool_now_ms();
	/* The due time is on the wall clock, deadlines on the monotonic. */
	return tool_earlier(deadline, tool_mono_ms() +
	    (due > now ? due - now : 0));
}

/* Whether standard output is a pipe, whose reader may go away. */
static int
tool_out_is_pipe(void)
{
	static int known = -1;
	struct stat st;

	if (known == -1)
		known = fstat(STDOUT_FILENO, &st) == 0 && S_ISFIFO(st.st_mode);
	return known;
}

int
tool_wait(mq_watch *watch, int64_t deadline, int flags)
{
	struct timespec ts, *tsp = NULL;
	struct pollfd pfd[2];
	sigset_t set, old;
	int64_t left;
	nfds_t n = 0;
	int rc, out = -1;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGCHLD);
	sigprocmask(SIG_BLOCK, &set, &old);
	if (tool_stopping || tool_reaped) {
		sigprocmask(SIG_SETMASK, &old, NULL);
		return 1;
	}
	if (deadline >= 0) {
		if ((left = deadline - tool_mono_ms()) < 0)
			left = 0;
		ts.tv_sec = left / 1000;
		ts.tv_nsec = left % 1000 * 1000000;
		tsp = &ts;
	}
	if (watch != NULL) {
		pfd[n].fd = mq_watch_fd(watch);
		pfd[n].events = POLLIN;
		pfd[n++].revents = 0;
	}
	if ((flags & TOOL_WAIT_OUT) && tool_out_is_pipe()) {
		/* Events 0: POLLERR only, once the pipe's reader closed it. */
		out = (int)n;
		pfd[n].fd = STDOUT_FILENO;
		pfd[n].events = 0;
		pfd[n++].revents = 0;
	}
	tool_idle();
	rc = ppoll(pfd, n, tsp, &old);
	sigprocmask(SIG_SETMASK, &old, NULL);
	if (rc == -1 && errno != EINTR)
		err(EX_OSERR, "ppoll");
	if (rc > 0 && out >= 0 && pfd[out].revents != 0)
		tool_stopping = 1;
	if (rc > 0 && watch != NULL && pfd[0].revents != 0 &&
	    (rc = mq_watch_wait(watch, 0)) < 0 && errno != EINTR)
		tool_die(rc, "watch");
	return deadline < 0 || tool_mono_ms() < deadline;
}

int
tool_ready_fd(const char *arg)
{
	int fd;

	fd = (int)tool_number(arg, 0, INT_MAX, "--ready-fd");
	if (fcntl(fd, F_GETFD) == -1)
		errx(TOOL_USAGE, "--ready-fd %d: not an open descriptor", fd);
	return fd;
}

void
tool_ready(int *fd)
{
	if (*fd < 0)
		return;
	/* A reader that went away does not care: nothing to report. */
	(void)write(*fd, "\n", 1);
	close(*fd);
	*fd = -1;
}
