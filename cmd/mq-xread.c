/*
 * mq-xread - print the entries of a stream after an id, and follow it
 * (XREAD, or tail -f for a stream), without a consumer group.
 *
 * Nothing is delivered to anyone and nothing is written: the tool only
 * looks, so a spool it may only read is enough.  A reader (mq_reader)
 * stands after ID ('$', the default: after the last entry, so that only
 * what is appended from now on is printed; with -n N, before the last N),
 * and hands out what follows, in batches that are flushed before each
 * wait.  Waiting is as for every reader (mq(7)): without -f or -b one
 * pass over what is there; -b waits up to a time for the first entry,
 * -f for ever.  The stream must exist; -f and -b wait for it to appear.
 * If it is removed or renamed while followed, the run ends (66): what
 * comes under the name later is another stream.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <err.h>

#include "tool.h"

#define BATCH	1024	/* entries between two flushes, at most */

static const char usage[] =
"usage: mq-xread [-b DURATION | -f] [-c COUNT] [-n N] [-o text|json|raw]\n"
"                [--ready-fd FD] [--time-limit DURATION] [-qVv]\n"
"                [--spool DIR] [--] STREAM [ID]\n";

/* --help: a line on each option (tool.c adds the shared ones). */
static const char help[] =
"  -b, --block DURATION        wait up to DURATION for the first entry\n"
"  -f, --follow                wait for more entries, for ever\n"
"  -c, --count COUNT           print at most COUNT entries\n"
"  -n, --lines N               start before the last N entries\n"
"  -o, --output text|json|raw  how to print each entry\n"
"      --ready-fd FD           write a newline to FD once nothing is missed\n"
"      --time-limit DURATION   stop reading after DURATION\n";

enum { OPT_READY = TOOL_OPT_FIRST, OPT_TIME_LIMIT };

static const struct option longopts[] = {
	{ "block",	required_argument,	NULL, 'b' },
	{ "count",	required_argument,	NULL, 'c' },
	{ "follow",	no_argument,		NULL, 'f' },
	{ "lines",	required_argument,	NULL, 'n' },
	{ "output",	required_argument,	NULL, 'o' },
	{ "ready-fd",	required_argument,	NULL, OPT_READY },
	{ "time-limit",	required_argument,	NULL, OPT_TIME_LIMIT },
	TOOL_LONGOPTS,
	{ NULL, 0, NULL, 0 }
};

struct xread {
	mq_spool	*spool;
	mq_stream	*stream;
	mq_reader	*reader;
	mq_watch	*watch;
	const char	*name;
	const char	*id;		/* "$" or an id */
	uint64_t	 last;		/* -n, 0: not given */
	int		 tail;		/* -n was given */
	size_t		 count;		/* -c, 0: no limit */
	size_t		 total;		/* printed so far */
	int		 follow;	/* -f */
	int64_t		 block_ms;	/* -b, -1: not given, 0: no limit */
	int64_t		 block_until;	/* its deadline (monotonic), -1: none */
	int64_t		 stop_at;	/* --time-limit's (monotonic), -1: none */
	int		 ready;		/* --ready-fd, -1: none */
	int		 appeared;	/* the stream was made while we waited */
	enum tool_format format;	/* -o */
};

/* Whether the run may wait: -f, or -b while nothing came. */
static int
may_wait(const struct xread *x)
{
	return x->follow || (x->block_ms >= 0 && x->total == 0);
}

/* mq_range's callback: keeps the id of each entry, the last one last. */
static int
keep_id(const struct mq_msg *m, void *arg)
{
	*(mq_id *)arg = m->id;
	return 0;
}

/* Puts the reader where the run starts: after ID, or before the last N. */
static void
position(struct xread *x)
{
	mq_id id = { 0, 0 }, top = { UINT64_MAX, UINT64_MAX };
	int rc;

	if ((rc = mq_reader_open(x->stream, &x->reader)) != MQ_OK)
		tool_die(rc, "%s", x->name);
	if (x->tail) {
		/* The oldest of the last N, found from the newest back. */
		id = top;
		if ((rc = mq_range(x->stream, (mq_id){ 0, 0 }, top,
		    (size_t)x->last, 1, keep_id, &id)) != MQ_OK)
			tool_die(rc, "%s", x->name);
		rc = x->last == 0 || mq_id_cmp(id, top) == 0 ?
		    mq_reader_seek_end(x->reader) :
		    mq_reader_seek_id(x->reader, id);
	} else if (strcmp(x->id, "$") == 0)
		/* A stream made since the start holds only what came after. */
		rc = x->appeared ? mq_reader_seek_offset(x->reader, 0) :
		    mq_reader_seek_end(x->reader);
	else {
		if ((rc = mq_id_parse(x->id, strlen(x->id), 0, &id)) != MQ_OK)
			tool_die(rc, "%s", x->id);
		/* After ID, as XREAD: the entry ID itself is not printed. */
		rc = mq_id_incr(&id) != MQ_OK ? mq_reader_seek_end(x->reader) :
		    mq_reader_seek_id(x->reader, id);
	}
	if (rc != MQ_OK)
		tool_die(rc, "%s", x->name);
}

/*
 * Opens the stream; with -f or -b, waits for it to appear.  Returns 0,
 * or the exit status if it never came.
 */
static int
open_stream(struct xread *x)
{
	int rc;

	if (may_wait(x) && (rc = mq_watch_spool(x->watch, x->spool)) != MQ_OK)
		tool_die(rc, "watch");
	while ((rc = mq_stream_open(x->spool, x->name, 0, &x->stream)) ==
	    MQ_ENOSTREAM && may_wait(x)) {
		/* Until it exists, nothing is missed: say so already. */
		tool_ready(&x->ready);
		if (tool_stopping || tool_passed(x->stop_at))
			return 0;
		if (tool_passed(x->block_until))
			return TOOL_TIMEOUT;
		tool_wait(x->watch, tool_earlier(x->stop_at, x->block_until),
		    TOOL_WAIT_OUT);
		x->appeared = 1;
	}
	if (rc != MQ_OK)
		tool_die(rc, "%s", x->name);
	return 0;
}

/* Prints what follows now, up to a batch and the count; how many. */
static size_t
print_batch(struct xread *x)
{
	struct mq_msg m;
	size_t n = 0;
	int rc;

	while (n < BATCH && (x->count == 0 || x->total < x->count)) {
		if ((rc = mq_reader_next(x->reader, &m)) < 0)
			tool_die(rc, "%s", x->name);
		if (rc == 0)
			break;
		tool_write_msg(stdout, x->format, x->name, &m);
		x->total++;
		n++;
	}
	if (n > 0)
		tool_flush(stdout);
	return n;
}

/* Prints until the count, the pass, -b or the time limit ends the run. */
static int
loop(struct xread *x)
{
	for (;;) {
		if (tool_stopping || tool_passed(x->stop_at) ||
		    (x->count > 0 && x->total >= x->count))
			break;
		if (print_batch(x) > 0)
			continue;
		if (!may_wait(x) || (!x->follow && tool_passed(x->block_until)))
			break;
		if (mq_stream_removed(x->stream)) {
			warnx("%s: the stream was removed or renamed", x->name);
			return EX_NOINPUT;
		}
		tool_wait(x->watch, x->follow ? x->stop_at :
		    tool_earlier(x->stop_at, x->block_until), TOOL_WAIT_OUT);
	}
	return x->block_ms >= 0 && x->total == 0 && !tool_stopping &&
	    !tool_passed(x->stop_at) ? TOOL_TIMEOUT : 0;
}

/* Reads the options into 'x'; returns the index of the first operand. */
static int
options(struct xread *x, int argc, char *argv[])
{
	int ch, fmt;

	while ((ch = tool_getopt(argc, argv, "b:c:fn:o:" TOOL_SHORTOPTS,
	    longopts)) != -1) {
		switch (ch) {
		case 'b':
			x->block_ms = tool_duration_arg(optarg, "-b");
			break;
		case 'c':
			x->count = tool_number(optarg, 1, LLONG_MAX, "-c");
			break;
		case 'f':
			x->follow = 1;
			break;
		case 'n':
			x->last = tool_number(optarg, 0, LLONG_MAX, "-n");
			x->tail = 1;
			break;
		case 'o':
			if ((fmt = tool_format_parse(optarg)) == -1)
				errx(TOOL_USAGE, "-o %s: expected text, json "
				    "or raw", optarg);
			x->format = fmt;
			break;
		case OPT_READY:
			x->ready = tool_ready_fd(optarg);
			break;
		case OPT_TIME_LIMIT:
			x->stop_at = tool_duration_arg(optarg, "--time-limit");
			break;
		default:
			tool_option(ch, optarg);
		}
	}
	tool_operands(argc - optind, argv + optind, 1, 2, "STREAM");
	if (x->follow && x->block_ms >= 0)
		tool_usage_error("-b and -f cannot be used together: -b waits "
		    "for the first entry, -f for ever");
	if (x->tail && argc - optind == 2)
		tool_usage_error("-n and ID cannot be used together: -n starts "
		    "before the last N entries");
	return optind;
}

int
main(int argc, char *argv[])
{
	static struct xread x;
	int i, rc, status;

	x.block_ms = x.block_until = x.stop_at = -1;
	x.ready = -1;
	x.id = "$";
	tool_init("mq-xread", usage, help);
	i = options(&x, argc, argv);
	x.name = argv[i];
	if (argc - i == 2)
		x.id = argv[i + 1];
	if (x.block_ms > 0)
		x.block_until = tool_mono_ms() + x.block_ms;
	if (x.stop_at >= 0)
		x.stop_at += tool_mono_ms();
	tool_signals(0);

	/* It only looks; to wait for a stream, the spool must be there. */
	x.spool = tool_spool(may_wait(&x) ? MQ_CREATE : 0);
	if ((rc = mq_watch_open(&x.watch)) != MQ_OK)
		tool_die(rc, "watch");
	if ((status = open_stream(&x)) != 0 || x.stream == NULL)
		goto done;
	/* Watch before positioning: no append falls between the two. */
	if ((rc = mq_watch_add(x.watch, x.stream)) != MQ_OK)
		tool_die(rc, "%s: watch", x.name);
	position(&x);
	tool_ready(&x.ready);

	status = loop(&x);

	tool_flush(stdout);
	if (topt.verbose)
		fprintf(stderr, "mq-xread: %s: %zu printed\n", x.name, x.total);
done:
	mq_reader_close(x.reader);
	mq_stream_close(x.stream);
	mq_watch_close(x.watch);
	tool_spool_close(x.spool);
	return status;
}
