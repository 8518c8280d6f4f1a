/*
 * mq-xclaim - give pending entries of a consumer group to another
 * consumer (XCLAIM, XAUTOCLAIM).
 *
 * Two ways to choose the entries:
 *
 *	by id	the ids come from the arguments, or else from the first
 *		field of each line of stdin, as mq-ack reads them, so that
 *		the output of mq-xpending can be piped in; they are claimed
 *		in batches as they stream in (mq_group_claim).
 *	-a	every pending entry, in id order, through calls of
 *		mq_group_autoclaim from 0-0 until it says the end.
 *
 * Either way only entries idle for at least --idle are taken, and libmq
 * decides each under the group's lock: two processes that claim the same
 * entry at once cannot both get it, as long as --idle is above 0.  With
 * -c the run ends once that many were claimed, the rest of stdin unread.
 *
 * A claim is a delivery: it counts one (unless --justid or
 * --retrycount), and an entry whose count has reached the stream's
 * delivery limit is dead-lettered instead of claimed (libmq does that).
 * What was claimed is printed as mq-xreadgroup prints what it delivers,
 * each message fetched from the stream by id (mq_reader_get), so that the
 * output can feed a worker and then mq-ack; with --justid, only the ids.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <err.h>

#include "tool.h"

#define BATCH	4096		/* ids per libmq call */

static const char usage[] =
"usage: mq-xclaim [-a] [-c COUNT] [--idle DURATION] [--justid]\n"
"                 [--retrycount N] [--set-idle DURATION] [-o text|json|raw]\n"
"                 [-qVv] [--fsync always|interval|never] [--spool DIR]\n"
"                 [--] STREAM GROUP CONSUMER [ID...]\n";

/* --help: a line on each option (tool.c adds the shared ones). */
static const char help[] =
"  -a, --auto                  claim every entry idle long enough\n"
"  -c, --count COUNT           claim at most COUNT entries\n"
"      --idle DURATION         claim only entries idle that long or more\n"
"      --justid                print only the ids; count no delivery\n"
"      --retrycount N          set the delivery count to N\n"
"      --set-idle DURATION     make the entries look idle that long\n"
"  -o, --output text|json|raw  how to print each entry\n";

enum {
	OPT_IDLE = TOOL_OPT_FIRST,
	OPT_JUSTID,
	OPT_RETRYCOUNT,
	OPT_SETIDLE
};

static const struct option longopts[] = {
	{ "auto",	no_argument,		NULL, 'a' },
	{ "count",	required_argument,	NULL, 'c' },
	{ "idle",	required_argument,	NULL, OPT_IDLE },
	{ "justid",	no_argument,		NULL, OPT_JUSTID },
	{ "output",	required_argument,	NULL, 'o' },
	{ "retrycount",	required_argument,	NULL, OPT_RETRYCOUNT },
	{ "set-idle",	required_argument,	NULL, OPT_SETIDLE },
	TOOL_LONGOPTS,
	{ NULL, 0, NULL, 0 }
};

struct claim {
	const char	*stream_name;
	const char	*group_name;
	const char	*consumer;
	mq_spool	*spool;
	mq_stream	*stream;
	mq_group	*group;
	mq_reader	*reader;	/* fetches the claimed messages */
	int64_t		 min_idle;	/* --idle */
	int64_t		 set_idle;	/* --set-idle, -1: none */
	int64_t		 retrycount;	/* --retrycount, -1: none */
	int		 flags;		/* MQ_CLAIM_JUSTID */
	size_t		 count;		/* -c, 0: no limit */
	enum tool_format format;	/* -o */
	uint64_t	 total;		/* claimed so far */
	int		 bad;		/* some ids of stdin were malformed */
	mq_id		 out[BATCH];	/* the ids one call claimed */
	mq_id		 deleted[BATCH]; /* the ids one call dropped */
};

/* How many more may be claimed in one call: at most BATCH and -c. */
static size_t
room(const struct claim *c)
{
	if (c->count > 0 && c->count - c->total < BATCH)
		return c->count - c->total;
	return BATCH;
}

/* Writes the id alone, in the form of -o: a line, an object, a record. */
static void
print_id(const struct claim *c, mq_id id)
{
	char buf[MQ_ID_MAX];

	mq_id_fmt(buf, id);
	if (c->format == TOOL_JSON)
		printf("{\"id\":\"%s\"}\n", buf);
	else
		printf("%s%c", buf, c->format == TOOL_RAW ? '\0' : '\n');
}

/*
 * Prints the 'n' entries just claimed: each message as mq-xreadgroup
 * prints it, or only its id.  A message deleted since the claim is
 * printed as mq-xreadgroup prints a deleted pending entry (no body).
 */
static void
print_claimed(struct claim *c, const mq_id *ids, size_t n)
{
	struct mq_msg m;
	size_t i;
	int got;

	for (i = 0; i < n; i++) {
		if (c->flags & MQ_CLAIM_JUSTID) {
			print_id(c, ids[i]);
			continue;
		}
		if ((got = mq_reader_get(c->reader, ids[i], &m)) < 0)
			tool_die(got, "%s", c->stream_name);
		if (!got) {
			memset(&m, 0, sizeof(m));
			m.id = ids[i];
			m.offset = UINT64_MAX;
		}
		tool_write_msg(stdout, c->format, c->stream_name, &m);
	}
	c->total += n;
	if (ferror(stdout))
		tool_flush(stdout);
}

/* Ends the run: what was printed is flushed, what was claimed synced. */
static void __attribute__((noreturn))
finish(struct claim *c)
{
	tool_flush(stdout);
	if (topt.verbose)
		fprintf(stderr, "mq-xclaim: %s: %s: %llu claimed by %s\n",
		    c->stream_name, c->group_name,
		    (unsigned long long)c->total, c->consumer);
	mq_reader_close(c->reader);
	mq_group_close(c->group);
	mq_stream_close(c->stream);
	tool_spool_close(c->spool);
	exit(c->bad ? EX_DATAERR : 0);
}

/*
 * Claims one batch of 'n' ids (a tool_ids() callback); exits on failure,
 * and once -c entries were claimed, leaving the rest of the input unread.
 */
static void
claim_ids(const mq_id *ids, size_t n, void *arg)
{
	struct claim *c = arg;
	int64_t time = -1;
	size_t k, claimed;
	int rc;

	while (n > 0 && (k = room(c)) > 0) {
		if (k > n)
			k = n;
		/* Delivered --set-idle ago, as seen now; libmq caps it at now. */
		if (c->set_idle >= 0 && (time = tool_now_ms() - c->set_idle) < 0)
			time = 0;
		rc = mq_group_claim(c->group, c->consumer, c->min_idle, ids, k,
		    time, c->retrycount, c->flags, c->out, &claimed);
		if (rc != MQ_OK)
			tool_die(rc, "%s: %s: claim", c->stream_name,
			    c->group_name);
		print_claimed(c, c->out, claimed);
		ids += k;
		n -= k;
	}
	if (room(c) == 0)
		finish(c);
}

/* Claims every pending entry idle long enough, up to -c of them. */
static void
claim_auto(struct claim *c)
{
	mq_id start = { 0, 0 }, next;
	char id[MQ_ID_MAX];
	size_t k, i, claimed, ndeleted;
	int rc;

	while ((k = room(c)) > 0) {
		rc = mq_group_autoclaim(c->group, c->consumer, c->min_idle,
		    start, k, c->flags, c->out, &claimed, &next, c->deleted,
		    &ndeleted);
		if (rc != MQ_OK)
			tool_die(rc, "%s: %s: claim", c->stream_name,
			    c->group_name);
		print_claimed(c, c->out, claimed);
		for (i = 0; i < ndeleted && !topt.quiet; i++) {
			mq_id_fmt(id, c->deleted[i]);
			warnx("%s: %s: deleted from the stream; no longer "
			    "pending", c->stream_name, id);
		}
		/* 0-0: the scan reached the end of the pending entries. */
		if (next.ms == 0 && next.seq == 0)
			break;
		start = next;
	}
}

int
main(int argc, char *argv[])
{
	static struct claim c;
	int ch, rc, fmt, all = 0;

	c.set_idle = c.retrycount = -1;
	tool_init("mq-xclaim", usage, help);
	while ((ch = tool_getopt(argc, argv, "ac:o:" TOOL_SHORTOPTS,
	    longopts)) != -1) {
		switch (ch) {
		case 'a':
			all = 1;
			break;
		case 'c':
			c.count = tool_number(optarg, 1, LLONG_MAX, "-c");
			break;
		case OPT_IDLE:
			c.min_idle = tool_duration_arg(optarg, "--idle");
			break;
		case OPT_JUSTID:
			c.flags |= MQ_CLAIM_JUSTID;
			break;
		case 'o':
			if ((fmt = tool_format_parse(optarg)) == -1)
				errx(TOOL_USAGE, "-o %s: expected text, json "
				    "or raw", optarg);
			c.format = fmt;
			break;
		case OPT_RETRYCOUNT:
			c.retrycount = tool_number(optarg, 0, INT64_MAX,
			    "--retrycount");
			break;
		case OPT_SETIDLE:
			c.set_idle = tool_duration_arg(optarg, "--set-idle");
			break;
		default:
			tool_option(ch, optarg);
		}
	}
	argc -= optind;
	argv += optind;
	tool_operands(argc, argv, 3, all ? 3 : -1, "STREAM GROUP CONSUMER");
	/* XAUTOCLAIM sets neither: claimed entries are delivered now. */
	if (all && (c.retrycount >= 0 || c.set_idle >= 0))
		tool_usage_error("-a takes neither --retrycount nor "
		    "--set-idle");
	c.stream_name = argv[0];
	c.group_name = argv[1];
	c.consumer = argv[2];
	if (*c.consumer == '\0' || strlen(c.consumer) > MQ_NAME_MAX)
		tool_die(MQ_EBADNAME, "consumer '%s'", c.consumer);

	/* A closed stdout is an EPIPE to handle, not a death. */
	signal(SIGPIPE, SIG_IGN);

	c.spool = tool_spool(0);
	c.stream = tool_stream(c.spool, c.stream_name, 0);
	c.group = tool_group(c.stream, c.group_name, 0);
	if ((rc = mq_reader_open(c.stream, &c.reader)) != MQ_OK)
		tool_die(rc, "%s", c.stream_name);

	if (all)
		claim_auto(&c);
	else
		c.bad = tool_ids(argc - 3, argv + 3, '\n', claim_ids, &c);
	finish(&c);
}
