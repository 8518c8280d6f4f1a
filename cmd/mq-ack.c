/*
 * mq-ack - acknowledge entries of a consumer group (XACK).
 *
 * The ids come from the arguments, or else from stdin, one per line (or
 * per NUL-terminated record with -0): the first field, or the "id" of a
 * JSON object, so that whatever mq-xreadgroup prints (text, -o json,
 * -o raw with -0), or a worker passes on, can be piped in.  Ids are
 * acknowledged in batches, one mq_group_ack per read of stdin, as they
 * stream in.  A bad line is reported and passed over, and the run ends
 * with EX_DATAERR so that a script knows; the valid ids around it are
 * acknowledged all the same.  An id that is not pending is not an
 * error: it may have been acknowledged by someone else already.
 *
 * The stream and group are opened when the first ids arrive: all the
 * commands of a pipeline start at once, and the mq-xreadgroup at its head
 * may only be creating them.
 */
#include <stdio.h>
#include <stdlib.h>

#include <err.h>

#include "tool.h"

static const char usage[] =
"usage: mq-ack [-0qVv] [--fsync always|interval|never] [--spool DIR]\n"
"              [--] STREAM GROUP [ID...]\n";

/* --help: a line on each option (tool.c adds the shared ones). */
static const char help[] =
"  -0, --null                  read NUL-terminated records, not lines\n";

static const struct option longopts[] = {
	{ "null",	no_argument,	NULL, '0' },
	TOOL_LONGOPTS,
	{ NULL, 0, NULL, 0 }
};

struct ack {
	const char	*stream_name;
	const char	*group_name;
	mq_spool	*spool;		/* NULL until the first ids came */
	mq_stream	*stream;
	mq_group	*group;
	uint64_t	 acked;		/* ids that were pending */
};

/* Acknowledges one batch of 'n' ids; exits on failure. */
static void
ack(const mq_id *ids, size_t n, void *arg)
{
	struct ack *a = arg;
	size_t acked;
	int rc;

	if (a->spool == NULL) {
		a->spool = tool_spool(0);
		a->stream = tool_stream(a->spool, a->stream_name, 0);
		a->group = tool_group(a->stream, a->group_name, 0);
	}
	rc = mq_group_ack(a->group, ids, n, &acked);
	if (rc != MQ_OK)
		tool_die(rc, "%s: %s: ack", a->stream_name, a->group_name);
	a->acked += acked;
}

int
main(int argc, char *argv[])
{
	struct ack a = { NULL, NULL, NULL, NULL, NULL, 0 };
	int ch, delim = '\n', bad;

	tool_init("mq-ack", usage, help);
	while ((ch = tool_getopt(argc, argv, "0" TOOL_SHORTOPTS,
	    longopts)) != -1) {
		switch (ch) {
		case '0':
			delim = '\0';
			break;
		default:
			tool_option(ch, optarg);
		}
	}
	argc -= optind;
	argv += optind;
	tool_operands(argc, argv, 2, -1, "STREAM GROUP");
	a.stream_name = argv[0];
	a.group_name = argv[1];

	bad = tool_ids(argc - 2, argv + 2, delim, ack, &a);
	if (topt.verbose)
		printf("%llu\n", (unsigned long long)a.acked);
	if (a.spool != NULL) {
		mq_group_close(a.group);
		mq_stream_close(a.stream);
		tool_spool_close(a.spool);
	}
	tool_flush(stdout);
	return bad ? EX_DATAERR : 0;
}
