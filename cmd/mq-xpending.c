/*
 * mq-xpending - list the pending entries of a consumer group, or sum them
 * up (XPENDING).
 *
 * A pending entry was delivered to a consumer and not acknowledged yet,
 * or was handed back by a nack and waits to be delivered again (libmq
 * names its consumer "").  Each is one line, its id first, so that the
 * listing can be piped into mq-ack or mq-xclaim as it is:
 *
 *	ID <TAB> CONSUMER <TAB> IDLE-MS <TAB> DELIVERIES
 *
 * the consumer escaped as a message body is (\n, \t, \\), and empty for a
 * handed-back entry: no consumer has an empty name, so nothing else can
 * be mistaken for it.  With -o json each entry is one JSON object.
 *
 * The summary (-s) counts the entries the listing would print: how many,
 * the smallest and largest id, and how many each owner holds.  Without
 * filters it is XPENDING's summary; with them it answers questions such
 * as "who holds entries idle for an hour".
 *
 * It only looks: nothing is created or written, and no entry is
 * delivered.  The entries are read in batches (tool_pending), each a
 * look of its own, so while others work on the group one run may see it
 * at several moments.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <err.h>

#include "tool.h"

static const char usage[] =
"usage: mq-xpending [-s] [-C CONSUMER] [-c COUNT] [--idle DURATION]\n"
"                   [-o text|json] [-qVv] [--fsync always|interval|never]\n"
"                   [--spool DIR] [--] STREAM GROUP [START [END]]\n";

/* --help: a line on each option (tool.c adds the shared ones). */
static const char help[] =
"  -s, --summary               count the entries of each consumer\n"
"  -C, --consumer CONSUMER     only the entries that CONSUMER holds\n"
"  -c, --count COUNT           list at most COUNT entries\n"
"      --idle DURATION         only the entries idle that long or more\n"
"  -o, --output text|json      how to print each entry\n";

enum { OPT_IDLE = TOOL_OPT_FIRST };

static const struct option longopts[] = {
	{ "consumer",	required_argument,	NULL, 'C' },
	{ "count",	required_argument,	NULL, 'c' },
	{ "idle",	required_argument,	NULL, OPT_IDLE },
	{ "output",	required_argument,	NULL, 'o' },
	{ "summary",	no_argument,		NULL, 's' },
	TOOL_LONGOPTS,
	{ NULL, 0, NULL, 0 }
};

struct listing {
	enum tool_format format;	/* TOOL_TEXT or TOOL_JSON */
	uint64_t	 total;		/* entries listed */
	size_t		 owners;	/* owners of the summary written */
};

/* Writes one pending entry; a write error stops the listing. */
static int
print_entry(const struct mq_pending *p, void *arg)
{
	struct listing *l = arg;
	char id[MQ_ID_MAX];
	int64_t idle;

	mq_id_fmt(id, p->id);
	/* Another host's clock, or a step of this one: never negative. */
	if ((idle = tool_now_ms() - p->delivered_ms) < 0)
		idle = 0;
	if (l->format == TOOL_JSON) {
		printf("{\"id\":\"%s\",", id);
		tool_json_member(stdout, "consumer", p->consumer,
		    strlen(p->consumer));
		printf(",\"idle\":%lld,\"deliveries\":%llu}\n", (long long)idle,
		    (unsigned long long)p->count);
	} else {
		printf("%s\t", id);
		tool_write_escaped(stdout, p->consumer, strlen(p->consumer));
		printf("\t%lld\t%llu\n", (long long)idle,
		    (unsigned long long)p->count);
	}
	l->total++;
	if (ferror(stdout))
		tool_flush(stdout);
	return 0;
}

/* Writes the row of one owner in the summary. */
static void
print_owner(const char *consumer, uint64_t count, void *arg)
{
	struct listing *l = arg;

	if (l->format == TOOL_JSON) {
		fputs(l->owners++ > 0 ? ",{" : "{", stdout);
		tool_json_member(stdout, "consumer", consumer,
		    strlen(consumer));
		printf(",\"count\":%llu}", (unsigned long long)count);
		return;
	}
	tool_write_escaped(stdout, consumer, strlen(consumer));
	printf("\t%llu\n", (unsigned long long)count);
}

/*
 * Writes the summary 's': "key value" lines, then the table of owners
 * after its header line, as mq-xinfo writes a group; or one JSON object.
 */
static void
print_summary(struct listing *l, const struct tool_summary *s)
{
	char min[MQ_ID_MAX], max[MQ_ID_MAX];

	mq_id_fmt(min, s->min);
	mq_id_fmt(max, s->max);
	if (l->format == TOOL_JSON) {
		printf("{\"pending\":%llu,\"pending-min-id\":\"%s\","
		    "\"pending-max-id\":\"%s\",\"consumers\":[",
		    (unsigned long long)s->count, min, max);
		tool_summary_each(s, print_owner, l);
		fputs("]}\n", stdout);
	} else {
		printf("pending %llu\npending-min-id %s\npending-max-id %s\n"
		    "#consumer\tcount\n", (unsigned long long)s->count, min,
		    max);
		tool_summary_each(s, print_owner, l);
	}
	l->total = s->count;
}

int
main(int argc, char *argv[])
{
	struct listing l = { TOOL_TEXT, 0, 0 };
	struct tool_summary s;
	const char *consumer = NULL;
	mq_spool *spool;
	mq_stream *stream;
	mq_group *group;
	mq_id lo, hi;
	int64_t min_idle = 0;
	size_t count = 0;
	int ch, fmt, summary = 0;

	tool_init("mq-xpending", usage, help);
	while ((ch = tool_getopt(argc, argv, "C:c:o:s" TOOL_SHORTOPTS,
	    longopts)) != -1) {
		switch (ch) {
		case 'C':
			consumer = optarg;
			break;
		case 'c':
			count = tool_number(optarg, 1, LLONG_MAX, "-c");
			break;
		case OPT_IDLE:
			min_idle = tool_duration_arg(optarg, "--idle");
			break;
		case 'o':
			fmt = tool_format_parse(optarg);
			if (fmt != TOOL_TEXT && fmt != TOOL_JSON)
				errx(TOOL_USAGE, "-o %s: expected text or json",
				    optarg);
			l.format = fmt;
			break;
		case 's':
			summary = 1;
			break;
		default:
			tool_option(ch, optarg);
		}
	}
	argc -= optind;
	argv += optind;
	tool_operands(argc, argv, 2, 4, "STREAM GROUP");
	tool_range(argc - 2, argv + 2, &lo, &hi);

	/* A closed stdout is an EPIPE to handle, not a death. */
	signal(SIGPIPE, SIG_IGN);

	spool = tool_spool(0);
	stream = tool_stream(spool, argv[0], 0);
	group = tool_group(stream, argv[1], 0);
	if (summary) {
		tool_summary_init(&s);
		tool_pending(group, argv[1], lo, hi, consumer, min_idle, count,
		    tool_summary_add, &s);
		print_summary(&l, &s);
		tool_summary_free(&s);
	} else
		tool_pending(group, argv[1], lo, hi, consumer, min_idle, count,
		    print_entry, &l);

	tool_flush(stdout);
	if (topt.verbose)
		fprintf(stderr, "mq-xpending: %s: %s: %llu pending entries\n",
		    argv[0], argv[1], (unsigned long long)l.total);
	mq_group_close(group);
	mq_stream_close(stream);
	tool_spool_close(spool);
	return 0;
}
