/*
 * mq-subscribe - receive what is published to topics matching patterns
 * (SUBSCRIBE/PSUBSCRIBE), live or through a durable queue.
 *
 * Live (the default): a subscription registered in the spool
 * (mq_sub_open) tails the topic exchange from its end, so it gets what is
 * published while it runs and misses what was published before, as a
 * Redis SUBSCRIBE or an MQTT QoS 0 subscription does.  Each message is
 * printed as "TOPIC<TAB>BODY".
 *
 * Durable (-Q QUEUE): the queue, a stream of that name, is bound to each
 * pattern (mq_bind; the bindings stay when the tool exits), and read as
 * consumer CONSUMER of group GROUP, as mq-xreadgroup reads, so what was
 * published while no one was reading waits in the queue.  The consumer's
 * own pending entries (delivered by an earlier run that died before
 * acknowledging them) come first.  Each batch is printed as
 * mq-xreadgroup prints it, "ID<TAB>BODY", flushed, and only then
 * acknowledged: what never reached the reader of stdout stays pending.
 *
 * Waiting: what is read is watched (mq_watch, inotify) before the first
 * read, so a publish between a read that found nothing and the wait still
 * wakes it.  The wait is one ppoll(2) on the watch descriptor (and on
 * stdout when it is a pipe, to notice a reader that went away) that
 * atomically unblocks SIGINT and SIGTERM, whose handler only sets a flag:
 * no signal is lost between testing the flag and sleeping, and nothing
 * polls with sleeps.  A signal, or a closed pipe on stdout, ends the run
 * with status 0.
 */
#include <sys/stat.h>

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <err.h>

#include "tool.h"

#define BATCH		1024	/* messages per read, at most */

static const char usage[] =
"usage: mq-subscribe [-c COUNT] [-b MS] [-o text|json|raw] [--glob] [-qVv]\n"
"                    [--fsync always|interval|never] [--spool DIR]\n"
"                    PATTERN...\n"
"       mq-subscribe -Q QUEUE [-g GROUP] [-C CONSUMER] [-c COUNT] [-b MS]\n"
"                    [-o text|json|raw] [--unbind] [-qVv]\n"
"                    [--fsync always|interval|never] [--spool DIR]\n"
"                    PATTERN...\n";

enum { OPT_GLOB = TOOL_OPT_FIRST, OPT_UNBIND };

static const struct option longopts[] = {
	{ "block",	required_argument,	NULL, 'b' },
	{ "count",	required_argument,	NULL, 'c' },
	{ "consumer",	required_argument,	NULL, 'C' },
	{ "group",	required_argument,	NULL, 'g' },
	{ "output",	required_argument,	NULL, 'o' },
	{ "queue",	required_argument,	NULL, 'Q' },
	{ "glob",	no_argument,		NULL, OPT_GLOB },
	{ "unbind",	no_argument,		NULL, OPT_UNBIND },
	TOOL_LONGOPTS,
	{ NULL, 0, NULL, 0 }
};

struct subscriber {
	mq_spool	*spool;
	mq_watch	*watch;
	mq_sub		*sub;		/* live: the subscription */
	const char	*queue_name;	/* -Q, or NULL */
	mq_stream	*queue;		/* -Q: the queue and its group */
	mq_group	*group;
	const char	*group_name;
	const char	*consumer;
	int		 history;	/* -Q: own pending entries come first */
	mq_id		 after;		/* history: read after this id */
	size_t		 count;		/* -c, 0: no limit */
	size_t		 total;		/* printed so far */
	long long	 block_ms;	/* -b, 0: no limit */
	enum tool_format format;	/* -o */
	int		 pipe_out;	/* stdout is a pipe: watch for its reader */
	FILE		*json;		/* memory stream for JSON objects */
	char		*jbuf;		/* its buffer */
	size_t		 jsize;
	mq_id		 ids[BATCH];	/* -Q: the batch to acknowledge */
	struct mq_msg	 msgs[BATCH];
};

static volatile sig_atomic_t stopping;	/* SIGINT or SIGTERM came */

static void
on_signal(int sig)
{
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
 * Output
 *
 * The JSON form is mq-xreadgroup's object with a "topic" member added
 * (tool_json_member: a string if it is UTF-8, else "topic_base64").
 * ------------------------------------------------------------------- */

/*
 * Writes 'msg' of stream 'stream' as one JSON object: tool_write_msg's,
 * written into a memory stream, with the topic (the message's key) added
 * before its closing brace.
 */
static void
write_json(struct subscriber *s, const char *stream, const struct mq_msg *msg)
{
	off_t len;

	if (fseeko(s->json, 0, SEEK_SET) == -1)
		err(EX_SOFTWARE, "fseeko");
	tool_write_msg(s->json, TOOL_JSON, stream, msg);
	if (fflush(s->json) == EOF || (len = ftello(s->json)) < 2)
		err(EX_TEMPFAIL, "open_memstream");
	fwrite(s->jbuf, 1, len - 2, stdout);	/* without "}\n" */
	putc(',', stdout);
	tool_json_member(stdout, "topic", msg->key, msg->keylen);
	fputs("}\n", stdout);
}

/*
 * Writes a message received live: "TOPIC\tBODY\n" with both escaped,
 * "TOPIC\tBODY\0" as they are, or JSON.
 */
static void
write_live(struct subscriber *s, const struct mq_msg *msg)
{
	switch (s->format) {
	case TOOL_TEXT:
		tool_write_escaped(stdout, msg->key, msg->keylen);
		putc('\t', stdout);
		tool_write_escaped(stdout, msg->body, msg->bodylen);
		putc('\n', stdout);
		break;
	case TOOL_RAW:
		fwrite(msg->key, 1, msg->keylen, stdout);
		putc('\t', stdout);
		fwrite(msg->body, 1, msg->bodylen, stdout);
		putc('\0', stdout);
		break;
	case TOOL_JSON:
		write_json(s, MQ_TOPIC_EXCHANGE, msg);
		break;
	}
}

/* Writes a message read from the queue, as mq-xreadgroup does. */
static void
write_queued(struct subscriber *s, const struct mq_msg *msg)
{
	if (s->format == TOOL_JSON)
		write_json(s, s->queue_name, msg);
	else
		tool_write_msg(stdout, s->format, s->queue_name, msg);
}

/* ---------------------------------------------------------------------
 * Reading
 * ------------------------------------------------------------------- */

/* How many more messages may be printed (BATCH at most). */
static size_t
room(const struct subscriber *s)
{
	size_t want = BATCH;

	if (s->count > 0 && s->count - s->total < want)
		want = s->count - s->total;
	return want;
}

/*
 * Prints what the live subscription has now, up to the count, and
 * flushes.  Returns how many were printed.
 */
static size_t
drain_live(struct subscriber *s)
{
	struct mq_msg msg;
	size_t n = 0;
	int rc;

	while (!stopping && room(s) > 0) {
		if ((rc = mq_sub_next(s->sub, &msg)) < 0)
			tool_die(rc, "subscription");
		if (rc == 0)
			break;
		write_live(s, &msg);
		s->total++;
		n++;
	}
	if (n > 0)
		tool_flush(stdout);
	return n;
}

/*
 * Prints what the queue has for this consumer now, up to the count: its
 * own pending entries first, then new ones.  Each batch is flushed, then
 * acknowledged; a failed write exits before the acknowledgement, so the
 * batch stays pending.  Returns how many were printed.
 */
static size_t
drain_queue(struct subscriber *s)
{
	size_t n, i, k, acked, printed = 0, want;
	int rc;

	while (!stopping && (want = room(s)) > 0) {
		if (s->history) {
			rc = mq_group_history(s->group, s->consumer, s->after,
			    want, s->msgs, &n);
			if (rc == MQ_OK && n == 0) {
				s->history = 0;
				continue;
			}
			if (rc == MQ_OK)
				s->after = s->msgs[n - 1].id;
		} else
			rc = mq_group_read(s->group, s->consumer, want, 0,
			    s->msgs, &n);
		if (rc != MQ_OK)
			tool_die(rc, "%s: %s", s->queue_name, s->group_name);
		if (n == 0)
			break;
		for (i = k = 0; i < n; i++) {
			/*
			 * A pending entry deleted from the queue has nothing
			 * left to deliver: it is only acknowledged.
			 */
			if (s->msgs[i].body != NULL) {
				write_queued(s, &s->msgs[i]);
				s->total++;
				printed++;
			}
			s->ids[k++] = s->msgs[i].id;
		}
		tool_flush(stdout);
		rc = mq_group_ack(s->group, s->ids, k, &acked);
		if (rc != MQ_OK)
			tool_die(rc, "%s: %s: ack", s->queue_name,
			    s->group_name);
	}
	return printed;
}

/*
 * Sleeps until what is read changed, a signal came, the reader of a
 * piped stdout went away, or the monotonic time 'deadline' (-1: none)
 * passed.  Returns 0 once the deadline passed, 1 otherwise; the caller
 * then looks at what happened.
 */
static int
wait_event(struct subscriber *s, int64_t deadline)
{
	struct timespec ts, *tsp = NULL;
	struct pollfd pfd[2];
	sigset_t set, old;
	int64_t left;
	int n, rc;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigprocmask(SIG_BLOCK, &set, &old);
	if (stopping) {
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
	pfd[0].fd = mq_watch_fd(s->watch);
	pfd[0].events = POLLIN;
	pfd[0].revents = 0;
	/* Events 0: only POLLERR, which a pipe reports once its reader closed. */
	pfd[1].fd = STDOUT_FILENO;
	pfd[1].events = 0;
	pfd[1].revents = 0;
	tool_idle();
	n = ppoll(pfd, s->pipe_out ? 2 : 1, tsp, &old);
	sigprocmask(SIG_SETMASK, &old, NULL);
	if (n == -1 && errno != EINTR)
		err(EX_OSERR, "ppoll");
	if (n > 0 && pfd[1].revents != 0)
		stopping = 1;
	if (n > 0 && pfd[0].revents != 0 &&
	    (rc = mq_watch_wait(s->watch, 0)) < 0 && errno != EINTR)
		tool_die(rc, "watch");
	/* The deadline holds however often the watch wakes. */
	return deadline < 0 || mono_ms() < deadline;
}

/*
 * Prints messages until the count is reached, -b passed without one, or
 * a signal (or a closed pipe) asked to stop.  Returns the exit status.
 */
static int
loop(struct subscriber *s)
{
	int64_t deadline = -1;
	size_t n;

	if (s->block_ms > 0)
		deadline = mono_ms() + s->block_ms;
	for (;;) {
		n = s->sub != NULL ? drain_live(s) : drain_queue(s);
		if (stopping || (s->count > 0 && s->total >= s->count))
			break;
		/* After a message, -b is how long to wait for the next. */
		if (n > 0 && s->block_ms > 0)
			deadline = mono_ms() + s->block_ms;
		if (!wait_event(s, deadline))
			break;
	}
	return s->block_ms > 0 && s->total == 0 && !stopping ?
	    TOOL_TIMEOUT : 0;
}

/* ---------------------------------------------------------------------
 * Setting up
 * ------------------------------------------------------------------- */

/* The default consumer name: "HOSTNAME-PID". */
static const char *
default_consumer(void)
{
	static char name[MQ_NAME_MAX + 1];
	char host[HOST_NAME_MAX + 1];

	if (gethostname(host, sizeof(host)) == -1)
		strlcpy(host, "localhost", sizeof(host));
	host[sizeof(host) - 1] = '\0';
	snprintf(name, sizeof(name), "%s-%ld", host, (long)getpid());
	return name;
}

/*
 * Binds (or with 'unbind', unbinds) queue 's->queue_name' to each of the
 * 'n' 'patterns'.  Exits on failure.
 */
static void
bind_all(struct subscriber *s, char **patterns, int n, int unbind)
{
	int i, rc;

	for (i = 0; i < n; i++) {
		rc = unbind ? mq_unbind(s->spool, patterns[i], s->queue_name) :
		    mq_bind(s->spool, patterns[i], s->queue_name);
		if (rc != MQ_OK)
			tool_die(rc, "%s: %s %s", s->queue_name,
			    unbind ? "unbind" : "bind", patterns[i]);
		if (topt.verbose)
			fprintf(stderr, "mq-subscribe: %s: %s %s\n",
			    s->queue_name, unbind ? "unbound from" :
			    "bound to", patterns[i]);
	}
}

int
main(int argc, char *argv[])
{
	static struct subscriber s;
	struct sigaction sa;
	struct stat st;
	int ch, rc, fmt, flags = 0, unbind = 0, status = 0;

	tool_init("mq-subscribe", usage);
	while ((ch = getopt_long(argc, argv, "b:c:C:g:o:Q:" TOOL_SHORTOPTS,
	    longopts, NULL)) != -1) {
		switch (ch) {
		case 'b':
			s.block_ms = tool_number(optarg, 0, INT64_MAX / 2,
			    "-b");
			break;
		case 'c':
			s.count = tool_number(optarg, 1, LLONG_MAX, "-c");
			break;
		case 'C':
			s.consumer = optarg;
			break;
		case 'g':
			s.group_name = optarg;
			break;
		case 'o':
			if ((fmt = tool_format_parse(optarg)) == -1)
				errx(TOOL_USAGE, "-o %s: expected text, json "
				    "or raw", optarg);
			s.format = fmt;
			break;
		case 'Q':
			s.queue_name = optarg;
			break;
		case OPT_GLOB:
			flags |= MQ_SUB_GLOB;
			break;
		case OPT_UNBIND:
			unbind = 1;
			break;
		default:
			tool_option(ch, optarg);
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1)
		tool_usage(TOOL_USAGE);
	if (s.queue_name == NULL && (s.group_name != NULL ||
	    s.consumer != NULL || unbind))
		errx(TOOL_USAGE, "-g, -C and --unbind need -Q");
	if (s.queue_name != NULL && (flags & MQ_SUB_GLOB))
		errx(TOOL_USAGE, "--glob: queues are bound with topic "
		    "patterns only");
	if (s.group_name == NULL)
		s.group_name = "queue";
	if (s.consumer == NULL)
		s.consumer = default_consumer();
	else
		s.history = 1;	/* a named consumer may have entries pending */
	if (*s.consumer == '\0' || strlen(s.consumer) > MQ_NAME_MAX)
		tool_die(MQ_EBADNAME, "consumer '%s'", s.consumer);

	/* The handler only sets a flag; SA_RESTART keeps libmq's calls going. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	/* A closed stdout is an EPIPE to handle, not a death. */
	signal(SIGPIPE, SIG_IGN);
	s.pipe_out = fstat(STDOUT_FILENO, &st) == 0 && S_ISFIFO(st.st_mode);
	if (s.format == TOOL_JSON &&
	    (s.json = open_memstream(&s.jbuf, &s.jsize)) == NULL)
		err(EX_TEMPFAIL, "open_memstream");

	s.spool = tool_spool(MQ_CREATE);
	if ((rc = mq_watch_open(&s.watch)) != MQ_OK)
		tool_die(rc, "watch");
	if (s.queue_name != NULL) {
		/* The stream first: it checks the queue's name. */
		s.queue = tool_stream(s.spool, s.queue_name, MQ_CREATE);
		bind_all(&s, argv, argc, unbind);
		if (unbind)
			goto done;
		s.group = tool_group(s.queue, s.group_name, 1);
		/* Watch before the first read: no publish falls between. */
		if ((rc = mq_watch_add(s.watch, s.queue)) != MQ_OK)
			tool_die(rc, "%s: watch", s.queue_name);
	} else {
		rc = mq_sub_open(s.spool, (const char *const *)argv, argc,
		    flags, &s.sub);
		if (rc != MQ_OK)
			tool_die(rc, "subscribe");
		if ((rc = mq_sub_watch(s.sub, s.watch)) != MQ_OK)
			tool_die(rc, "subscribe: watch");
	}

	status = loop(&s);

	tool_flush(stdout);
	if (topt.verbose)
		fprintf(stderr, "mq-subscribe: %zu received\n", s.total);
done:
	mq_sub_close(s.sub);
	if (s.group != NULL)
		mq_group_close(s.group);
	if (s.queue != NULL)
		mq_stream_close(s.queue);
	mq_watch_close(s.watch);
	tool_spool_close(s.spool);
	if (s.json != NULL)
		fclose(s.json);
	free(s.jbuf);
	return unbind ? 0 : status;
}
