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
 * published while no one was reading waits in the queue.  The consumer
 * is attached to this process (mq_group_attach): if the process dies,
 * the next reader of the group takes what it held, and if no live
 * process had the consumer, its own pending entries (left by an earlier
 * run that died before acknowledging them) come first.  Each batch is
 * printed as mq-xreadgroup prints it, "ID<TAB>BODY", flushed, and only
 * then acknowledged: what never reached the reader of stdout stays
 * pending.
 *
 * Waiting, as for every reader (mq(7)): a live subscription has nothing
 * to read when it starts, so it follows (-f) unless -b says how long to
 * wait for the first message; a queue is read once unless -f or -b.
 * What is read is watched (mq_watch, inotify) before the first read, so
 * a publish between a read that found nothing and the wait still wakes
 * it; tool_wait() sleeps in one ppoll(2), also on stdout when it is a
 * pipe, to notice a reader that went away.  A signal, the time limit or
 * a closed pipe on stdout ends the run with status 0.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <err.h>

#include "tool.h"

#define BATCH		1024	/* messages per read, at most */

static const char usage[] =
"usage: mq-subscribe [-b DURATION | -f] [-c COUNT] [-o text|json|raw]\n"
"                    [--glob] [--ready-fd FD] [--time-limit DURATION] [-qVv]\n"
"                    [--fsync always|interval|never] [--spool DIR]\n"
"                    [--] PATTERN...\n"
"       mq-subscribe -Q QUEUE [-g GROUP] [-C CONSUMER] [-b DURATION | -f]\n"
"                    [-c COUNT] [-o text|json|raw] [--ready-fd FD]\n"
"                    [--time-limit DURATION] [--unbind] [-qVv]\n"
"                    [--fsync always|interval|never] [--spool DIR]\n"
"                    [--] PATTERN...\n";

/* --help: a line on each option (tool.c adds the shared ones). */
static const char help[] =
"  -b, --block DURATION        wait up to DURATION for the first message\n"
"  -f, --follow                wait for more, for ever\n"
"  -c, --count COUNT           exit after COUNT messages\n"
"  -o, --output text|json|raw  how to print each message\n"
"      --glob                  the patterns are Redis globs, not topics\n"
"      --ready-fd FD           write a newline to FD once subscribed\n"
"      --time-limit DURATION   stop reading after DURATION\n"
"  -Q, --queue QUEUE           subscribe durably through QUEUE\n"
"  -g, --group GROUP           with -Q, read as a consumer of GROUP\n"
"  -C, --consumer CONSUMER     with -Q, read as CONSUMER\n"
"      --unbind                with -Q, remove the bindings and exit\n";

enum { OPT_GLOB = TOOL_OPT_FIRST, OPT_UNBIND, OPT_READY, OPT_TIME_LIMIT };

static const struct option longopts[] = {
	{ "block",	required_argument,	NULL, 'b' },
	{ "count",	required_argument,	NULL, 'c' },
	{ "consumer",	required_argument,	NULL, 'C' },
	{ "follow",	no_argument,		NULL, 'f' },
	{ "group",	required_argument,	NULL, 'g' },
	{ "output",	required_argument,	NULL, 'o' },
	{ "queue",	required_argument,	NULL, 'Q' },
	{ "glob",	no_argument,		NULL, OPT_GLOB },
	{ "unbind",	no_argument,		NULL, OPT_UNBIND },
	{ "ready-fd",	required_argument,	NULL, OPT_READY },
	{ "time-limit",	required_argument,	NULL, OPT_TIME_LIMIT },
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
	int		 named;		/* -C: the consumer is not this run's */
	int		 history;	/* -Q: own pending entries come first */
	mq_id		 after;		/* history: read after this id */
	size_t		 count;		/* -c, 0: no limit */
	size_t		 total;		/* printed so far */
	int		 follow;	/* -f, or live without -b */
	int64_t		 block_ms;	/* -b, -1: not given, 0: no limit */
	int64_t		 block_until;	/* its deadline (monotonic), -1: none */
	int64_t		 stop_at;	/* --time-limit's (monotonic), -1: none */
	int		 ready;		/* --ready-fd, -1: none */
	enum tool_format format;	/* -o */
	FILE		*json;		/* memory stream for JSON objects */
	char		*jbuf;		/* its buffer */
	size_t		 jsize;
	mq_id		 ids[BATCH];	/* -Q: the batch to acknowledge */
	struct mq_msg	 msgs[BATCH];
};

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

	while (!tool_stopping && room(s) > 0) {
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

	while (!tool_stopping && (want = room(s)) > 0) {
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
 * When to stop waiting (monotonic, -1: no limit): the -b deadline while
 * nothing came, the time limit, and for a queue the time a lease of its
 * group ends.
 */
static int64_t
wait_deadline(struct subscriber *s)
{
	int64_t deadline = s->stop_at;

	if (!s->follow)
		deadline = tool_earlier(deadline, s->block_until);
	if (s->group != NULL)
		deadline = tool_group_due(s->group, deadline);
	return deadline;
}

/*
 * Prints messages until the count is reached, the pass or the -b wait is
 * over, the time limit passed, or a signal (or a closed pipe) asked to
 * stop.  Returns the exit status.
 */
static int
loop(struct subscriber *s)
{
	for (;;) {
		if (s->sub != NULL)
			drain_live(s);
		else
			drain_queue(s);
		if (tool_stopping || tool_passed(s->stop_at) ||
		    (s->count > 0 && s->total >= s->count))
			break;
		/* -b: what was there once something came; no -f: one pass. */
		if (!s->follow && (s->block_ms < 0 || s->total > 0 ||
		    tool_passed(s->block_until)))
			break;
		tool_wait(s->watch, wait_deadline(s), TOOL_WAIT_OUT);
	}
	/* A signal or the time limit ends a wait: neither is a timeout. */
	return s->block_ms >= 0 && s->total == 0 && !tool_stopping &&
	    !tool_passed(s->stop_at) ? TOOL_TIMEOUT : 0;
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

/* Reads the options into 's'; returns the index of the first operand. */
static int
options(struct subscriber *s, int argc, char *argv[], int *flags,
    int *unbind)
{
	int ch, fmt;

	while ((ch = tool_getopt(argc, argv, "b:c:C:fg:o:Q:" TOOL_SHORTOPTS,
	    longopts)) != -1) {
		switch (ch) {
		case 'b':
			s->block_ms = tool_duration_arg(optarg, "-b");
			break;
		case 'c':
			s->count = tool_number(optarg, 1, LLONG_MAX, "-c");
			break;
		case 'C':
			s->consumer = optarg;
			s->named = 1;
			break;
		case 'f':
			s->follow = 1;
			break;
		case 'g':
			s->group_name = optarg;
			break;
		case 'o':
			if ((fmt = tool_format_parse(optarg)) == -1)
				errx(TOOL_USAGE, "-o %s: expected text, json "
				    "or raw", optarg);
			s->format = fmt;
			break;
		case 'Q':
			s->queue_name = optarg;
			break;
		case OPT_GLOB:
			*flags |= MQ_SUB_GLOB;
			break;
		case OPT_UNBIND:
			*unbind = 1;
			break;
		case OPT_READY:
			s->ready = tool_ready_fd(optarg);
			break;
		case OPT_TIME_LIMIT:
			s->stop_at = tool_duration_arg(optarg, "--time-limit");
			break;
		default:
			tool_option(ch, optarg);
		}
	}
	tool_operands(argc - optind, argv + optind, 1, -1, "PATTERN");
	if (s->follow && s->block_ms >= 0)
		tool_usage_error("-b and -f cannot be used together: -b waits "
		    "for the first message, -f for ever");
	if (s->queue_name == NULL && (s->group_name != NULL ||
	    s->consumer != NULL || *unbind))
		tool_usage_error("-g, -C and --unbind need -Q");
	if (s->queue_name != NULL && (*flags & MQ_SUB_GLOB))
		tool_usage_error("--glob: queues are bound with topic "
		    "patterns only");
	return optind;
}

/*
 * Opens the queue: binds it, opens its group and attaches the consumer
 * to this process, whose own pending entries come first if no live
 * process had it.  Returns 0, or 1 if it only unbound.
 */
static int
open_queue(struct subscriber *s, char **patterns, int n, int unbind)
{
	int rc;

	/* The stream first: it checks the queue's name. */
	s->queue = tool_stream(s->spool, s->queue_name, MQ_CREATE);
	bind_all(s, patterns, n, unbind);
	if (unbind)
		return 1;
	s->group = tool_group(s->queue, s->group_name, 1);
	if ((rc = mq_group_attach(s->group, s->consumer)) < 0)
		tool_die(rc, "%s: %s: attach %s", s->queue_name,
		    s->group_name, s->consumer);
	s->history = rc == 1;
	/* Watch before the first read: no publish falls between. */
	if ((rc = mq_watch_add(s->watch, s->queue)) != MQ_OK)
		tool_die(rc, "%s: watch", s->queue_name);
	return 0;
}

/*
 * A consumer named for this run only ("HOSTNAME-PID") is of no use once
 * the run is over: it goes, unless it still has entries pending.
 */
static void
forget_consumer(struct subscriber *s)
{
	struct mq_pending p;
	uint64_t left;
	size_t n;

	if (s->named || s->group == NULL ||
	    mq_group_pending(s->group, (mq_id){ 0, 0 },
	    (mq_id){ UINT64_MAX, UINT64_MAX }, 1, s->consumer, 0, &p,
	    &n) != MQ_OK || n > 0)
		return;
	(void)mq_group_consumer_delete(s->group, s->consumer, &left);
}

int
main(int argc, char *argv[])
{
	static struct subscriber s;
	int i, rc, flags = 0, unbind = 0, status = 0;

	s.block_ms = s.block_until = s.stop_at = -1;
	s.ready = -1;
	tool_init("mq-subscribe", usage, help);
	i = options(&s, argc, argv, &flags, &unbind);
	argc -= i;
	argv += i;
	if (s.group_name == NULL)
		s.group_name = "queue";
	if (s.consumer == NULL)
		s.consumer = default_consumer();
	if (*s.consumer == '\0' || strlen(s.consumer) > MQ_NAME_MAX)
		tool_die(MQ_EBADNAME, "consumer '%s'", s.consumer);
	/* A live subscription has nothing to read yet: it follows. */
	if (s.queue_name == NULL && s.block_ms < 0)
		s.follow = 1;
	if (s.block_ms > 0)
		s.block_until = tool_mono_ms() + s.block_ms;
	if (s.stop_at >= 0)
		s.stop_at += tool_mono_ms();
	tool_signals(0);
	if (s.format == TOOL_JSON &&
	    (s.json = open_memstream(&s.jbuf, &s.jsize)) == NULL)
		err(EX_TEMPFAIL, "open_memstream");

	s.spool = tool_spool(MQ_CREATE);
	if ((rc = mq_watch_open(&s.watch)) != MQ_OK)
		tool_die(rc, "watch");
	if (s.queue_name != NULL) {
		if (open_queue(&s, argv, argc, unbind))
			goto done;
	} else {
		rc = mq_sub_open(s.spool, (const char *const *)argv, argc,
		    flags, &s.sub);
		if (rc != MQ_OK)
			tool_die(rc, "subscribe");
		if ((rc = mq_sub_watch(s.sub, s.watch)) != MQ_OK)
			tool_die(rc, "subscribe: watch");
	}
	/* From now on nothing published to the patterns is missed. */
	if (topt.verbose)
		fprintf(stderr, "mq-subscribe: subscribed\n");
	tool_ready(&s.ready);

	status = loop(&s);

	tool_flush(stdout);
	if (topt.verbose)
		fprintf(stderr, "mq-subscribe: %zu received\n", s.total);
	forget_consumer(&s);
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
