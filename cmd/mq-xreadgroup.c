/*
 * mq-xreadgroup - read a stream as a consumer of a group (XREADGROUP),
 * and optionally run a command for each message.
 *
 * The stream must exist (a typo is not a new stream); with -f or -b the
 * reader waits for it to appear.  The group is created at 0-0 if it is
 * missing, so that nothing written before the first read is missed.
 * With ID '>' (the default) new entries are delivered: handed-back ones
 * first (once their retry delay has passed), then those after the
 * group's cursor; with any other ID, the consumer's own pending entries
 * after it.
 *
 * A reader that lives as long as its work (-x, -f) attaches its consumer
 * (mq_group_attach): if it dies, the next reader of the group takes its
 * pending entries at once.  If no live process had the consumer, its
 * pending entries were left by an earlier run: they are delivered first
 * (mq_group_history).  A pipeline's reader (neither -x nor -f) exits
 * before the acks come, so it neither attaches nor takes its own pending
 * entries back: a later run cannot tell them from entries a worker still
 * has; the stream's lease returns them.
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
 * may dead-letter it), with a retry delay, and says so on stderr.  With
 * -f it is handed back at once, and comes again after its delay, before
 * new entries; without -f, a run is one pass over what is there, so the
 * failures are handed back together at its end, not retried within it.
 *
 * Waiting: the stream is watched (mq_watch, inotify) before the first
 * read, so an append between a read that found nothing and the wait
 * still wakes it, and so does its removal or rename, which ends the run,
 * and the death of another attached reader of the group.  The wait is
 * one ppoll(2) on the watch descriptor that atomically unblocks SIGINT,
 * SIGTERM and SIGCHLD, whose handlers only set flags: no signal is lost
 * between testing a flag and sleeping, and nothing polls with sleeps.
 * Its timeout is the nearest of the -b and --time-limit deadlines and
 * the time a retry delay or a lease ends (mq_group_next_due).
 * SIGINT/SIGTERM and the time limit stop the reading; commands that run
 * are waited for and acknowledged or handed back.
 */
#include <sys/mman.h>
#include <sys/wait.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <err.h>

#include "tool.h"

#define BATCH		1024	/* messages per mq_group_read */
#define JOBS_MAX	1024
#define EXIT_FAILED	123	/* a command failed, as xargs(1) says it */

static const char usage[] =
"usage: mq-xreadgroup [-b DURATION | -f] [-c COUNT] [-o text|json|raw]\n"
"                     [-x CMD [-j N] [--delay DURATION]]\n"
"                     [--time-limit DURATION] [--noack] [-qVv]\n"
"                     [--fsync always|interval|never] [--spool DIR]\n"
"                     [--] GROUP CONSUMER STREAM [ID]\n";

/* --help: a line on each option (tool.c adds the shared ones). */
static const char help[] =
"  -b, --block DURATION        wait up to DURATION for the first entry\n"
"  -f, --follow                wait for more entries, for ever\n"
"  -c, --count COUNT           deliver at most COUNT entries\n"
"  -o, --output text|json|raw  how to print each entry\n"
"  -x, --exec CMD              run CMD for each entry; exit 0 acks it\n"
"  -j, --jobs N                with -x, run up to N commands at once\n"
"      --delay DURATION        with -x, retry failed entries after DURATION\n"
"      --time-limit DURATION   stop reading after DURATION\n"
"      --noack                 do not make delivered entries pending\n";

enum { OPT_NOACK = TOOL_OPT_FIRST, OPT_DELAY, OPT_TIME_LIMIT };

static const struct option longopts[] = {
	{ "block",	required_argument,	NULL, 'b' },
	{ "count",	required_argument,	NULL, 'c' },
	{ "follow",	no_argument,		NULL, 'f' },
	{ "jobs",	required_argument,	NULL, 'j' },
	{ "output",	required_argument,	NULL, 'o' },
	{ "exec",	required_argument,	NULL, 'x' },
	{ "noack",	no_argument,		NULL, OPT_NOACK },
	{ "delay",	required_argument,	NULL, OPT_DELAY },
	{ "time-limit",	required_argument,	NULL, OPT_TIME_LIMIT },
	TOOL_LONGOPTS,
	{ NULL, 0, NULL, 0 }
};

/* A command running for one message. */
struct job {
	pid_t		 pid;		/* 0: the slot is free */
	mq_id		 id;
	uint64_t	 deliveries;	/* of its entry, 0: not known */
	int		 bodyfd;	/* memfd holding the body, -1 when started */
	char		**env;		/* "NAME=VALUE" strings for the child */
	size_t		 nenv;
};

struct reader {
	mq_spool	*spool;
	mq_stream	*stream;
	mq_group	*group;
	mq_watch	*watch;
	const char	*spool_path;
	const char	*stream_name;
	const char	*group_name;
	const char	*consumer;
	int		 history;	/* read own pending entries: ID given, */
	int		 own_first;	/* or, for now, left by an earlier run */
	mq_id		 after;		/* history: read after this id */
	size_t		 count;		/* -c, 0: no limit */
	size_t		 total;		/* delivered so far */
	int		 follow;	/* -f */
	int64_t		 block_ms;	/* -b, -1: not given, 0: for ever */
	int64_t		 block_until;	/* its deadline (monotonic), -1: none */
	int64_t		 stop_at;	/* --time-limit's (monotonic), -1: none */
	int64_t		 delay_ms;	/* --delay, -1: the stream's retry delay */
	uint64_t	 limit;		/* the stream's delivery limit, 0: none */
	enum tool_format format;	/* -o */
	int		 noack;		/* --noack */
	const char	*cmd;		/* -x, or NULL */
	struct job	*jobs;		/* -j slots */
	size_t		 njobs;
	size_t		 running;
	uint64_t	 acked, nacked, failures;
	mq_id		*failed;	/* to hand back at the end (no -f) */
	size_t		 nfailed;
	struct mq_msg	 msgs[BATCH];
};

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
	j->deliveries = 0;
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
		j->deliveries = p.count;
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

/*
 * Says on stderr why the command of job 'j' failed (exit 'status') and
 * what becomes of its entry, unless -q.
 */
static void
job_failed(struct reader *r, struct job *j, int status)
{
	char id[MQ_ID_MAX], how[32];

	r->failures++;
	if (topt.quiet)
		return;
	mq_id_fmt(id, j->id);
	if (WIFEXITED(status))
		snprintf(how, sizeof(how), "exit %d", WEXITSTATUS(status));
	else
		snprintf(how, sizeof(how), "killed by signal %d",
		    WTERMSIG(status));
	if (r->noack)
		warnx("%s: %s", id, how);
	else if (r->limit > 0 && j->deliveries >= r->limit)
		warnx("%s: %s: dead-lettered after %llu deliveries", id, how,
		    (unsigned long long)j->deliveries);
	else
		warnx("%s: %s: handed back%s", id, how,
		    r->follow ? "" : " at the end of the run");
}

/* Acknowledges (exit 0) or hands back the message of finished job 'j'. */
static void
job_done(struct reader *r, struct job *j, int status)
{
	char id[MQ_ID_MAX];
	size_t n;
	int rc = MQ_OK, ok;

	ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
	r->running--;
	if (!ok)
		job_failed(r, j, status);
	if (r->noack)
		;
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
	} else {
		rc = mq_group_nack(r->group, &j->id, 1, 0, r->delay_ms, &n);
		r->nacked++;
	}
	if (rc != MQ_OK) {
		mq_id_fmt(id, j->id);
		tool_die(rc, "%s: %s", id, ok ? "ack" : "nack");
	}
	if (topt.verbose > 1 && ok) {
		mq_id_fmt(id, j->id);
		warnx("%s: exit 0, %s", id, r->noack ? "not pending" : "acked");
	}
	job_free(j);
}

/* Handles every command that has exited; with 'all', waits for all. */
static void
reap(struct reader *r, int all)
{
	size_t i;
	pid_t pid;
	int status;

	tool_reaped = 0;
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

	if (r->history || r->own_first) {
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
 * When to stop waiting (monotonic, -1: no limit): the -b deadline while
 * nothing came, the time limit, and the time a retry delay or a lease
 * of the group ends.
 */
static int64_t
wait_deadline(struct reader *r)
{
	int64_t deadline = r->stop_at;

	if (!r->follow && r->total == 0)
		deadline = tool_earlier(deadline, r->block_until);
	if (r->group != NULL && !r->noack)
		deadline = tool_group_due(r->group, deadline);
	return deadline;
}

/*
 * Opens the stream; with -f or -b, waits for it to appear (any process
 * may create it).  Returns 0, or the exit status if it never came.
 */
static int
open_stream(struct reader *r)
{
	int rc;

	if ((r->follow || r->block_ms >= 0) &&
	    (rc = mq_watch_spool(r->watch, r->spool)) != MQ_OK)
		tool_die(rc, "watch");
	while ((rc = mq_stream_open(r->spool, r->stream_name, 0,
	    &r->stream)) == MQ_ENOSTREAM && (r->follow || r->block_ms >= 0)) {
		if (tool_stopping || tool_passed(r->stop_at))
			return 0;
		if (tool_passed(r->block_until))
			return TOOL_TIMEOUT;
		tool_wait(r->watch, tool_earlier(r->stop_at, r->block_until), 0);
	}
	if (rc != MQ_OK)
		tool_die(rc, "%s", r->stream_name);
	return 0;
}

/*
 * Delivers until the count is reached, nothing more is there (without -f
 * and -b), the -b timeout or the time limit passed, or a signal asked to
 * stop.  Returns the exit status.
 */
static int
loop(struct reader *r)
{
	size_t want, n;
	int rc, gone = 0;

	for (;;) {
		if (r->cmd != NULL && tool_reaped)
			reap(r, 0);
		if (tool_stopping || tool_passed(r->stop_at) ||
		    (r->count > 0 && r->total >= r->count))
			break;
		want = BATCH;
		if (r->count > 0 && r->count - r->total < want)
			want = r->count - r->total;
		if (r->cmd != NULL && r->njobs - r->running < want)
			want = r->njobs - r->running;
		if (want == 0) {
			/* Every slot busy: read more only when one frees. */
			tool_wait(NULL, r->stop_at, 0);
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
		if (r->own_first) {
			r->own_first = 0;	/* now the new ones */
			continue;
		}
		if (r->history || !(r->follow || (r->block_ms >= 0 &&
		    r->total == 0)))
			break;
		if (!r->follow && tool_passed(r->block_until))
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
		tool_wait(r->watch, wait_deadline(r), 0);
	}
	if (r->cmd != NULL)
		reap(r, 1);
	if (r->nfailed > 0) {
		if ((rc = mq_group_nack(r->group, r->failed, r->nfailed, 0,
		    r->delay_ms, &n)) != MQ_OK)
			tool_die(rc, "%s: nack", r->group_name);
		r->nacked += r->nfailed;
	}
	if (gone)
		return EX_NOINPUT;
	if (r->failures > 0)
		return EXIT_FAILED;
	/* A signal or the time limit ends a wait: neither is a timeout. */
	return r->block_ms >= 0 && r->total == 0 && !tool_stopping &&
	    !tool_passed(r->stop_at) ? TOOL_TIMEOUT : 0;
}

/* Reads the options into 'r'; returns the index of the first operand. */
static int
options(struct reader *r, int argc, char *argv[])
{
	int ch, fmt, delay = 0;

	while ((ch = tool_getopt(argc, argv, "b:c:fj:o:x:" TOOL_SHORTOPTS,
	    longopts)) != -1) {
		switch (ch) {
		case 'b':
			r->block_ms = tool_duration_arg(optarg, "-b");
			break;
		case 'c':
			r->count = tool_number(optarg, 1, LLONG_MAX, "-c");
			break;
		case 'f':
			r->follow = 1;
			break;
		case 'j':
			r->njobs = tool_number(optarg, 1, JOBS_MAX, "-j");
			break;
		case 'o':
			if ((fmt = tool_format_parse(optarg)) == -1)
				errx(TOOL_USAGE, "-o %s: expected text, json "
				    "or raw", optarg);
			r->format = fmt;
			break;
		case 'x':
			r->cmd = optarg;
			break;
		case OPT_NOACK:
			r->noack = 1;
			break;
		case OPT_DELAY:
			r->delay_ms = tool_duration_arg(optarg, "--delay");
			delay = 1;
			break;
		case OPT_TIME_LIMIT:
			r->stop_at = tool_duration_arg(optarg, "--time-limit");
			break;
		default:
			tool_option(ch, optarg);
		}
	}
	if (r->follow && r->block_ms >= 0)
		tool_usage_error("-b and -f cannot be used together: -b waits "
		    "for the first entry, -f for ever");
	if (r->njobs > 1 && r->cmd == NULL)
		tool_usage_error("-j needs -x");
	if (delay && r->cmd == NULL)
		tool_usage_error("--delay needs -x");
	tool_operands(argc - optind, argv + optind, 3, 4,
	    "GROUP CONSUMER STREAM");
	return optind;
}

/*
 * Opens the group and, for a reader that lives as long as its work,
 * attaches the consumer; own pending entries come first if no live
 * process had it.
 */
static void
open_group(struct reader *r)
{
	struct mq_policy pol;
	int rc;

	r->group = tool_group(r->stream, r->group_name, 1);
	if ((rc = mq_policy_get(r->stream, &pol)) != MQ_OK)
		tool_die(rc, "%s: policy", r->stream_name);
	r->limit = pol.delivery_limit;
	if ((r->cmd == NULL && !r->follow) || r->noack)
		return;
	if ((rc = mq_group_attach(r->group, r->consumer)) < 0)
		tool_die(rc, "%s: %s: attach %s", r->stream_name,
		    r->group_name, r->consumer);
	r->own_first = rc == 1 && !r->history;
}

int
main(int argc, char *argv[])
{
	static struct reader r;
	const char *id = ">";
	size_t i;
	int rc, status;

	r.block_ms = r.block_until = r.stop_at = r.delay_ms = -1;
	r.njobs = 1;
	tool_init("mq-xreadgroup", usage, help);
	i = options(&r, argc, argv);
	argc -= i;
	argv += i;
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
	if (r.block_ms > 0)
		r.block_until = tool_mono_ms() + r.block_ms;
	if (r.stop_at >= 0)
		r.stop_at += tool_mono_ms();
	tool_signals(r.cmd != NULL);
	if (r.cmd != NULL) {
		if ((r.jobs = calloc(r.njobs, sizeof(*r.jobs))) == NULL)
			err(EX_TEMPFAIL, "calloc");
		for (i = 0; i < r.njobs; i++)
			r.jobs[i].bodyfd = -1;
	}

	/* A reader that waits may wait for the spool and stream to appear. */
	r.spool = tool_spool(r.follow || r.block_ms >= 0 ? MQ_CREATE : 0);
	r.spool_path = mq_spool_path(r.spool);
	if ((rc = mq_watch_open(&r.watch)) != MQ_OK)
		tool_die(rc, "watch");
	if ((status = open_stream(&r)) != 0 || r.stream == NULL)
		goto done;
	open_group(&r);
	/* Watch before the first read: no append falls between the two. */
	if ((rc = mq_watch_add(r.watch, r.stream)) != MQ_OK)
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
done:
	mq_watch_close(r.watch);
	mq_group_close(r.group);
	mq_stream_close(r.stream);
	tool_spool_close(r.spool);
	free(r.jobs);
	free(r.failed);
	return status;
}
