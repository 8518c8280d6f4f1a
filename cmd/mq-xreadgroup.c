/*
 * mq-xreadgroup - read a stream as a consumer of a group (XREADGROUP),
 * and optionally run a command for each message.
 *
 * The group is created at 0-0 if it is missing, so that nothing written
 * before the first read is missed.  With ID '>' (the default) new entries
 * are delivered: handed-back ones first, then those after the group's
 * cursor; with any other ID, the consumer's own pending entries after it.
 *
 * Printing: each batch that mq_group_read hands out is written to the one
 * buffered stdout, which is flushed before the tool sleeps.  Nothing is
 * acknowledged: that is the job of mq-ack at the end of the pipeline, so
 * what was delivered but never reached the reader stays pending.
 *
 * Running (-x): each message is handed to 'sh -c CMD' (body on stdin, in
 * a memfd so that the parent never blocks on a slow child; id, stream,
 * headers in the environment), at most -j of them at once; a message is
 * read only when a slot is free.  Exit 0 acknowledges the message,
 * anything else hands it back with mq_group_nack (whose delivery limit
 * may dead-letter it).  With -f it is handed back at once, and comes
 * again before new entries; without -f, a run is one pass over what is
 * there, so the failures are handed back together at its end, not
 * retried within it.
 *
 * Waiting: the stream is watched (mq_watch, inotify) before the first
 * read, so an append between a read that found nothing and the wait
 * still wakes it, and so does its removal or rename, which ends the run.  The wait is one ppoll(2) on the watch descriptor that
 * atomically unblocks SIGINT, SIGTERM and SIGCHLD, whose handlers only
 * set flags: no signal is lost between testing a flag and sleeping, and
 * nothing polls with sleeps.  SIGINT/SIGTERM stop the reading; commands
 * that run are waited for and acknowledged or handed back.
 */
#include <sys/mman.h>
#include <sys/wait.h>

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <err.h>

#include "tool.h"

#define BATCH		1024	/* messages per mq_group_read */
#define JOBS_MAX	1024

static const char usage[] =
"usage: mq-xreadgroup [-b MS | -f] [-c COUNT] [-o text|json|raw]\n"
"                     [-x CMD [-j N]] [--noack] [-qVv]\n"
"                     [--fsync always|interval|never] [--spool DIR]\n"
"                     GROUP CONSUMER STREAM [ID]\n";

enum { OPT_NOACK = TOOL_OPT_FIRST };

static const struct option longopts[] = {
	{ "block",	required_argument,	NULL, 'b' },
	{ "count",	required_argument,	NULL, 'c' },
	{ "follow",	no_argument,		NULL, 'f' },
	{ "jobs",	required_argument,	NULL, 'j' },
	{ "output",	required_argument,	NULL, 'o' },
	{ "exec",	required_argument,	NULL, 'x' },
	{ "noack",	no_argument,		NULL, OPT_NOACK },
	TOOL_LONGOPTS,
	{ NULL, 0, NULL, 0 }
};

/* A command running for one message. */
struct job {
	pid_t		 pid;		/* 0: the slot is free */
	mq_id		 id;
	int		 bodyfd;	/* memfd holding the body, -1 when started */
	char		**env;		/* "NAME=VALUE" strings for the child */
	size_t		 nenv;
};

struct reader {
	mq_stream	*stream;
	mq_group	*group;
	mq_watch	*watch;
	const char	*spool_path;
	const char	*stream_name;
	const char	*group_name;
	const char	*consumer;
	int		 history;	/* ID given: read own pending entries */
	mq_id		 after;		/* history: read after this id */
	size_t		 count;		/* -c, 0: no limit */
	size_t		 total;		/* delivered so far */
	int		 follow;	/* -f */
	long long	 block_ms;	/* -b, -1: not given, 0: for ever */
	enum tool_format format;	/* -o */
	int		 noack;		/* --noack */
	const char	*cmd;		/* -x, or NULL */
	struct job	*jobs;		/* -j slots */
	size_t		 njobs;
	size_t		 running;
	uint64_t	 acked, nacked;
	mq_id		*failed;	/* to hand back at the end (no -f) */
	size_t		 nfailed;
	struct mq_msg	 msgs[BATCH];
};

static volatile sig_atomic_t stopping;	/* SIGINT or SIGTERM came */
static volatile sig_atomic_t reaped;	/* SIGCHLD came */

static void
on_signal(int sig)
{
	if (sig == SIGCHLD)
		reaped = 1;
	else
		stopping = 1;
}

/* Milliseconds on the monotonic clock. */
static int64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---------------------------------------------------------------------
 * Waiting
 * ------------------------------------------------------------------- */

/*
 * Sleeps until the stream changed (if 'stream'), a signal came, or the
 * monotonic time 'deadline' (-1: none) passed.  Returns 0 on timeout, 1
 * otherwise; the caller then looks at what happened.
 */
static int
wait_event(struct reader *r, int stream, int64_t deadline)
{
	struct timespec ts, *tsp = NULL;
	struct pollfd pfd;
	sigset_t set, old;
	int64_t left;
	int n, rc;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGCHLD);
	sigprocmask(SIG_BLOCK, &set, &old);
	if (stopping || reaped) {
		sigprocmask(SIG_SETMASK, &old, NULL);
		return 1;
	}
	if (deadline >= 0) {
		left = deadline - mono_ms();
		if (left < 0)
			left = 0;
		ts.tv_sec = left / 1000;
		ts.tv_nsec = left % 1000 * 1000000;
		tsp = &ts;
	}
	pfd.fd = mq_watch_fd(r->watch);
	pfd.events = POLLIN;
	tool_idle();
	n = ppoll(&pfd, stream ? 1 : 0, tsp, &old);
	sigprocmask(SIG_SETMASK, &old, NULL);
	if (n == -1 && errno != EINTR)
		err(EX_SOFTWARE, "ppoll");
	if (n > 0 && (rc = mq_watch_wait(r->watch, 0)) < 0 && errno != EINTR)
		tool_die(rc, "%s: watch", r->stream_name);
	return n != 0 || deadline < 0 || mono_ms() < deadline;
}

/* ---------------------------------------------------------------------
 * Running commands (-x)
 * ------------------------------------------------------------------- */

/* Adds "NAME=VALUE" (value of 'len' bytes) to the job's environment. */
static void
job_env(struct job *j, const char *name, const void *value, size_t len)
{
	char **env, *s;

	if (memchr(value, '\0', len) != NULL)
		return;			/* cannot be passed in the environment */
	env = reallocarray(j->env, j->nenv + 1, sizeof(*env));
	if (env == NULL)
		err(EX_TEMPFAIL, "reallocarray");
	j->env = env;
	if (asprintf(&s, "%s=%.*s", name, (int)len, (const char *)value) == -1)
		err(EX_TEMPFAIL, "asprintf");
	j->env[j->nenv++] = s;
}

/* Adds "MQ_HEADER_<NAME>=VALUE", the name upper-cased, [^A-Z0-9] as '_'. */
static void
job_header(struct job *j, const struct mq_header *h)
{
	char name[11 + MQ_NAME_MAX + 1] = "MQ_HEADER_";
	const unsigned char *p = h->name;
	size_t i, n = 10;

	if (h->namelen == 0 || h->namelen > MQ_NAME_MAX)
		return;
	for (i = 0; i < h->namelen; i++) {
		if (p[i] >= 'a' && p[i] <= 'z')
			name[n++] = p[i] - 'a' + 'A';
		else if ((p[i] >= 'A' && p[i] <= 'Z') ||
		    (p[i] >= '0' && p[i] <= '9'))
			name[n++] = p[i];
		else
			name[n++] = '_';
	}
	name[n] = '\0';
	job_env(j, name, h->value, h->valuelen);
}

static void
job_free(struct job *j)
{
	size_t i;

	for (i = 0; i < j->nenv; i++)
		free(j->env[i]);
	free(j->env);
	j->env = NULL;
	j->nenv = 0;
	if (j->bodyfd != -1)
		close(j->bodyfd);
	j->bodyfd = -1;
	j->pid = 0;
}

/*
 * Copies what the command of message 'm' needs into the free slot 'j':
 * the body into a memfd, the rest into environment strings.  The message
 * itself is only valid until the next call on the group.
 */
static void
job_prepare(struct reader *r, struct job *j, const struct mq_msg *m)
{
	char buf[MQ_ID_MAX + 32];
	const char *p = m->body;
	size_t i, left = m->bodylen;
	ssize_t w;
	int len;

	j->id = m->id;
	if ((j->bodyfd = memfd_create("mq-body", MFD_CLOEXEC)) == -1)
		err(EX_SOFTWARE, "memfd_create");
	while (left > 0) {
		if ((w = write(j->bodyfd, p, left)) == -1) {
			if (errno == EINTR)
				continue;
			err(EX_TEMPFAIL, "write to memfd");
		}
		p += w;
		left -= w;
	}
	if (lseek(j->bodyfd, 0, SEEK_SET) == -1)
		err(EX_SOFTWARE, "lseek");

	len = mq_id_fmt(buf, m->id);
	job_env(j, "MQ_ID", buf, len);
	job_env(j, "MQ_STREAM", r->stream_name, strlen(r->stream_name));
	job_env(j, "MQ_GROUP", r->group_name, strlen(r->group_name));
	job_env(j, "MQ_CONSUMER", r->consumer, strlen(r->consumer));
	job_env(j, "MQ_SPOOL", r->spool_path, strlen(r->spool_path));
	len = snprintf(buf, sizeof(buf), "%llu",
	    (unsigned long long)m->offset);
	job_env(j, "MQ_OFFSET", buf, len);
	if (m->key != NULL)
		job_env(j, "MQ_KEY", m->key, m->keylen);
	for (i = 0; i < m->nheaders; i++)
		job_header(j, &m->headers[i]);
}

/* Adds MQ_DELIVERIES: the delivery count of the job's pending entry. */
static void
job_deliveries(struct reader *r, struct job *j)
{
	struct mq_pending p;
	char buf[32];
	size_t n;
	int rc, len;

	if (r->noack)
		return;
	rc = mq_group_pending(r->group, j->id, j->id, 1, r->consumer, 0, &p,
	    &n);
	if (rc != MQ_OK)
		tool_die(rc, "%s: pending", r->group_name);
	if (n == 1) {
		len = snprintf(buf, sizeof(buf), "%llu",
		    (unsigned long long)p.count);
		job_env(j, "MQ_DELIVERIES", buf, len);
	}
}

/* Starts 'sh -c CMD' for the prepared job 'j'. */
static void
job_start(struct reader *r, struct job *j)
{
	sigset_t none;
	size_t i;
	pid_t pid;

	fflush(stdout);
	if ((pid = fork()) == -1)
		err(EX_TEMPFAIL, "fork");
	if (pid == 0) {
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		signal(SIGPIPE, SIG_DFL);
		if (dup2(j->bodyfd, STDIN_FILENO) == -1)
			_exit(126);
		for (i = 0; i < j->nenv; i++)
			putenv(j->env[i]);
		execl("/bin/sh", "sh", "-c", r->cmd, (char *)NULL);
		_exit(127);
	}
	close(j->bodyfd);
	j->bodyfd = -1;
	j->pid = pid;
	r->running++;
}

/* Acknowledges (exit 0) or hands back the message of finished job 'j'. */
static void
job_done(struct reader *r, struct job *j, int status)
{
	char id[MQ_ID_MAX];
	size_t n;
	int rc, ok;

	ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
	mq_id_fmt(id, j->id);
	r->running--;
	if (r->noack)
		rc = MQ_OK;
	else if (ok) {
		rc = mq_group_ack(r->group, &j->id, 1, &n);
		r->acked++;
	} else if (!r->follow) {
		/* Handed back at the end, so that this pass does not retry it. */
		r->failed = reallocarray(r->failed, r->nfailed + 1,
		    sizeof(*r->failed));
		if (r->failed == NULL)
			err(EX_TEMPFAIL, "reallocarray");
		r->failed[r->nfailed++] = j->id;
		rc = MQ_OK;
	} else {
		rc = mq_group_nack(r->group, &j->id, 1, 0, &n);
		r->nacked++;
	}
	if (rc != MQ_OK)
		tool_die(rc, "%s: %s", id, ok ? "ack" : "nack");
	if (topt.verbose > 1 || (topt.verbose && !ok))
		warnx("%s: %s %d, %s", id,
		    WIFEXITED(status) ? "exit" : "signal",
		    WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status),
		    r->noack ? "not pending" : ok ? "acked" : "handed back");
	job_free(j);
}

/* Handles every command that has exited; with 'all', waits for all. */
static void
reap(struct reader *r, int all)
{
	size_t i;
	pid_t pid;
	int status;

	reaped = 0;
	while (r->running > 0) {
		pid = waitpid(-1, &status, all ? 0 : WNOHANG);
		if (pid == -1 && errno == EINTR)
			continue;
		if (pid == -1)
			err(EX_SOFTWARE, "waitpid");
		if (pid == 0)
			break;
		for (i = 0; i < r->njobs; i++)
			if (r->jobs[i].pid == pid)
				job_done(r, &r->jobs[i], status);
	}
}

/* Hands the 'n' messages just read to commands in free slots. */
static void
run(struct reader *r, size_t n)
{
	struct job *slot[BATCH];
	char id[MQ_ID_MAX];
	size_t i, k, m = 0;

	for (i = 0, k = 0; i < n; i++) {
		if (r->msgs[i].body == NULL) {
			/* Nothing to hand over: it stays pending. */
			mq_id_fmt(id, r->msgs[i].id);
			if (!topt.quiet)
				warnx("%s: %s: deleted from the stream; "
				    "skipped", r->stream_name, id);
			continue;
		}
		while (r->jobs[k].pid != 0 || r->jobs[k].nenv != 0)
			k++;
		slot[m] = &r->jobs[k];
		job_prepare(r, slot[m++], &r->msgs[i]);
	}
	/* From here on the messages are gone: each job has its copy. */
	for (i = 0; i < m; i++) {
		job_deliveries(r, slot[i]);
		job_start(r, slot[i]);
	}
}

/* ---------------------------------------------------------------------
 * Reading
 * ------------------------------------------------------------------- */

/* Reads up to 'want' messages into r->msgs; returns how many came. */
static size_t
fetch(struct reader *r, size_t want)
{
	size_t n;
	int rc;

	if (r->history) {
		rc = mq_group_history(r->group, r->consumer, r->after, want,
		    r->msgs, &n);
		if (rc == MQ_OK && n > 0)
			r->after = r->msgs[n - 1].id;
	} else
		rc = mq_group_read(r->group, r->consumer, want, r->noack,
		    r->msgs, &n);
	if (rc != MQ_OK)
		tool_die(rc, "%s: %s", r->stream_name, r->group_name);
	return n;
}

/* Prints the 'n' messages just read; a closed stdout stops the reading. */
static void
print(struct reader *r, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		tool_write_msg(stdout, r->format, r->stream_name, &r->msgs[i]);
	if (ferror(stdout))
		tool_flush(stdout);
}

/*
 * Delivers until the count is reached, nothing more is there (without -f
 * and -b), the -b timeout passed, or a signal asked to stop.  Returns
 * the exit status.
 */
static int
loop(struct reader *r)
{
	int64_t deadline = -1;
	size_t want, n;
	int rc, gone = 0;

	if (r->block_ms > 0)
		deadline = mono_ms() + r->block_ms;
	for (;;) {
		if (r->cmd != NULL && reaped)
			reap(r, 0);
		if (stopping || (r->count > 0 && r->total >= r->count))
			break;
		want = BATCH;
		if (r->count > 0 && r->count - r->total < want)
			want = r->count - r->total;
		if (r->cmd != NULL && r->njobs - r->running < want)
			want = r->njobs - r->running;
		if (want == 0) {
			/* Every slot busy: read more only when one frees. */
			wait_event(r, 0, -1);
			continue;
		}
		if ((n = fetch(r, want)) > 0) {
			r->total += n;
			if (r->cmd != NULL)
				run(r, n);
			else
				print(r, n);
			continue;
		}
		if (r->history || !(r->follow || (r->block_ms >= 0 &&
		    r->total == 0)))
			break;
		if (deadline >= 0 && mono_ms() >= deadline)
			break;
		/*
		 * Removed or renamed by another process: what comes under the
		 * name is another stream, for a new run to open.
		 */
		if (mq_stream_removed(r->stream)) {
			warnx("%s: the stream was removed or renamed",
			    r->stream_name);
			gone = 1;
			break;
		}
		if (r->cmd == NULL)
			tool_flush(stdout);
		if (!wait_event(r, 1, r->follow ? -1 : deadline))
			break;
	}
	if (r->cmd != NULL)
		reap(r, 1);
	if (r->nfailed > 0) {
		if ((rc = mq_group_nack(r->group, r->failed, r->nfailed, 0,
		    &n)) != MQ_OK)
			tool_die(rc, "%s: nack", r->group_name);
		r->nacked += r->nfailed;
	}
	if (gone)
		return EX_NOINPUT;
	/* A signal is the way to end a wait: it is not a timeout. */
	return r->block_ms >= 0 && r->total == 0 && !stopping ?
	    TOOL_TIMEOUT : 0;
}

int
main(int argc, char *argv[])
{
	static struct reader r;
	struct sigaction sa;
	const char *id = ">";
	mq_spool *spool;
	size_t i;
	int ch, rc, fmt, status;

	r.block_ms = -1;
	r.njobs = 1;
	tool_init("mq-xreadgroup", usage);
	while ((ch = getopt_long(argc, argv, "b:c:fj:o:x:" TOOL_SHORTOPTS,
	    longopts, NULL)) != -1) {
		switch (ch) {
		case 'b':
			r.block_ms = tool_number(optarg, 0, INT64_MAX / 2, "-b");
			break;
		case 'c':
			r.count = tool_number(optarg, 1, LLONG_MAX, "-c");
			break;
		case 'f':
			r.follow = 1;
			break;
		case 'j':
			r.njobs = tool_number(optarg, 1, JOBS_MAX, "-j");
			break;
		case 'o':
			if ((fmt = tool_format_parse(optarg)) == -1)
				errx(TOOL_USAGE, "-o %s: expected text, json "
				    "or raw", optarg);
			r.format = fmt;
			break;
		case 'x':
			r.cmd = optarg;
			break;
		case OPT_NOACK:
			r.noack = 1;
			break;
		default:
			tool_option(ch, optarg);
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 3 || argc > 4 || (r.follow && r.block_ms >= 0))
		tool_usage(TOOL_USAGE);
	if (r.njobs > 1 && r.cmd == NULL)
		errx(TOOL_USAGE, "-j needs -x");
	r.group_name = argv[0];
	r.consumer = argv[1];
	r.stream_name = argv[2];
	if (argc == 4)
		id = argv[3];
	if (strcmp(id, ">") != 0) {
		rc = mq_id_parse(id, strlen(id), 0, &r.after);
		if (rc != MQ_OK)
			tool_die(rc, "%s", id);
		r.history = 1;
	}
	if (*r.consumer == '\0' || strlen(r.consumer) > MQ_NAME_MAX)
		tool_die(MQ_EBADNAME, "consumer '%s'", r.consumer);

	/* Handlers only set flags; SA_RESTART keeps libmq's calls going. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	if (r.cmd != NULL) {
		sa.sa_flags |= SA_NOCLDSTOP;
		sigaction(SIGCHLD, &sa, NULL);
		if ((r.jobs = calloc(r.njobs, sizeof(*r.jobs))) == NULL)
			err(EX_TEMPFAIL, "calloc");
		for (i = 0; i < r.njobs; i++)
			r.jobs[i].bodyfd = -1;
	}
	/* A closed stdout is an EPIPE to handle, not a death. */
	signal(SIGPIPE, SIG_IGN);

	spool = tool_spool(MQ_CREATE);
	r.spool_path = mq_spool_path(spool);
	r.stream = tool_stream(spool, r.stream_name, MQ_CREATE);
	r.group = tool_group(r.stream, r.group_name, 1);
	/* Watch before the first read: no append falls between the two. */
	if ((rc = mq_watch_open(&r.watch)) != MQ_OK ||
	    (rc = mq_watch_add(r.watch, r.stream)) != MQ_OK)
		tool_die(rc, "%s: watch", r.stream_name);

	status = loop(&r);

	tool_flush(stdout);
	if (topt.verbose)
		fprintf(stderr, "mq-xreadgroup: %s: %zu delivered\n",
		    r.stream_name, r.total);
	if (topt.verbose && r.cmd != NULL)
		fprintf(stderr, "mq-xreadgroup: %llu acked, %llu handed "
		    "back\n", (unsigned long long)r.acked,
		    (unsigned long long)r.nacked);
	mq_watch_close(r.watch);
	mq_group_close(r.group);
	mq_stream_close(r.stream);
	tool_spool_close(spool);
	free(r.jobs);
	free(r.failed);
	return status;
}
