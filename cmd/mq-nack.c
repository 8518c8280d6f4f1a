/*
 * mq-nack - hand entries of a consumer group back, or dead-letter them.
 *
 * The ids come from the arguments, or else from stdin as mq-ack reads
 * them (lines or -0 records, first field or JSON "id", bad ones reported
 * and EX_DATAERR at the end), and the stream and group are opened when
 * the first of them arrive.  A handed-back entry is delivered again
 * before new ones, once its retry delay has passed (--delay, else the
 * stream's, growing with its deliveries); one whose delivery count has
 * reached the stream's delivery limit, or any with --reject, goes to the
 * dead-letter stream instead (libmq decides, in mq_group_nack).
 */
#include <stdio.h>
#include <stdlib.h>

#include <err.h>

#include "tool.h"

static const char usage[] =
"usage: mq-nack [-0qrVv] [--delay DURATION] [--reject]\n"
"               [--fsync always|interval|never] [--spool DIR]\n"
"               [--] STREAM GROUP [ID...]\n";

/* --help: a line on each option (tool.c adds the shared ones). */
static const char help[] =
"  -0, --null                  read NUL-terminated records, not lines\n"
"  -r, --reject                dead-letter them now instead of handing back\n"
"      --delay DURATION        retry after DURATION, not the stream's delay\n";

enum { OPT_DELAY = TOOL_OPT_FIRST };

static const struct option longopts[] = {
	{ "null",	no_argument,	NULL, '0' },
	{ "reject",	no_argument,	NULL, 'r' },
	{ "delay",	required_argument, NULL, OPT_DELAY },
	TOOL_LONGOPTS,
	{ NULL, 0, NULL, 0 }
};

struct nack {
	const char	*stream_name;
	const char	*group_name;
	mq_spool	*spool;		/* NULL until the first ids came */
	mq_stream	*stream;
	mq_group	*group;
	int		 reject;	/* --reject */
	int64_t		 delay_ms;	/* --delay, -1: the stream's */
	uint64_t	 done;		/* ids that were pending */
};

/* Hands back (or rejects) one batch of 'n' ids; exits on failure. */
static void
nack(const mq_id *ids, size_t n, void *arg)
{
	struct nack *k = arg;
	size_t done;
	int rc;

	if (k->spool == NULL) {
		k->spool = tool_spool(0);
		k->stream = tool_stream(k->spool, k->stream_name, 0);
		k->group = tool_group(k->stream, k->group_name, 0);
	}
	rc = mq_group_nack(k->group, ids, n, k->reject, k->delay_ms, &done);
	if (rc != MQ_OK)
		tool_die(rc, "%s: %s: nack", k->stream_name, k->group_name);
	k->done += done;
}

int
main(int argc, char *argv[])
{
	struct nack k = { NULL, NULL, NULL, NULL, NULL, 0, -1, 0 };
	int ch, delim = '\n', bad;

	tool_init("mq-nack", usage, help);
	while ((ch = tool_getopt(argc, argv, "0r" TOOL_SHORTOPTS,
	    longopts)) != -1) {
		switch (ch) {
		case '0':
			delim = '\0';
			break;
		case 'r':
			k.reject = 1;
			break;
		case OPT_DELAY:
			k.delay_ms = tool_duration_arg(optarg, "--delay");
			break;
		default:
			tool_option(ch, optarg);
		}
	}
	argc -= optind;
	argv += optind;
	tool_operands(argc, argv, 2, -1, "STREAM GROUP");
	k.stream_name = argv[0];
	k.group_name = argv[1];

	bad = tool_ids(argc - 2, argv + 2, delim, nack, &k);
	if (topt.verbose)
		printf("%llu\n", (unsigned long long)k.done);
	if (k.spool != NULL) {
		mq_group_close(k.group);
		mq_stream_close(k.stream);
		tool_spool_close(k.spool);
	}
	tool_flush(stdout);
	return bad ? EX_DATAERR : 0;
}
