/*
 * mq-xrange - print the entries of a stream in a range of ids (XRANGE,
 * XREVRANGE).
 *
 * The range is START to END, both included, "-" and "+" by default; an
 * id written "(ID" leaves ID itself out, and "ms" without a sequence
 * number is ms-0 as a start and ms-18446744073709551615 as an end, as
 * XRANGE takes them.  With -r the operands keep their order (START is
 * still the low end) and the entries come newest first.
 *
 * It only looks: nothing is delivered, nothing becomes pending, and the
 * spool and the stream are never created.  The entries come from one
 * mq_range() whose callback writes each to the one buffered stdout in the
 * forms of mq-xreadgroup; a closed stdout ends the run quietly.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

#include <err.h>

#include "tool.h"

static const char usage[] =
"usage: mq-xrange [-r] [-c COUNT] [-o text|json|raw] [-qVv]\n"
"                 [--fsync always|interval|never] [--spool DIR]\n"
"                 [--] STREAM [START [END]]\n";

/* --help: a line on each option (tool.c adds the shared ones). */
static const char help[] =
"  -r, --reverse               print the newest entries first\n"
"  -c, --count COUNT           print at most COUNT entries\n"
"  -o, --output text|json|raw  how to print each entry\n";

static const struct option longopts[] = {
	{ "count",	required_argument,	NULL, 'c' },
	{ "output",	required_argument,	NULL, 'o' },
	{ "reverse",	no_argument,		NULL, 'r' },
	TOOL_LONGOPTS,
	{ NULL, 0, NULL, 0 }
};

struct range {
	const char	*stream_name;
	enum tool_format format;	/* -o */
	uint64_t	 total;		/* entries printed */
};

/* Writes one entry; a write error stops the range (tool_flush decides). */
static int
print(const struct mq_msg *msg, void *arg)
{
	struct range *r = arg;

	tool_write_msg(stdout, r->format, r->stream_name, msg);
	r->total++;
	if (ferror(stdout))
		tool_flush(stdout);
	return 0;
}

int
main(int argc, char *argv[])
{
	struct range r = { NULL, TOOL_TEXT, 0 };
	mq_spool *spool;
	mq_stream *stream;
	mq_id lo, hi;
	size_t count = 0;
	int ch, rc, fmt, reverse = 0;

	tool_init("mq-xrange", usage, help);
	while ((ch = tool_getopt(argc, argv, "c:o:r" TOOL_SHORTOPTS,
	    longopts)) != -1) {
		switch (ch) {
		case 'c':
			count = tool_number(optarg, 1, LLONG_MAX, "-c");
			break;
		case 'o':
			if ((fmt = tool_format_parse(optarg)) == -1)
				errx(TOOL_USAGE, "-o %s: expected text, json "
				    "or raw", optarg);
			r.format = fmt;
			break;
		case 'r':
			reverse = 1;
			break;
		default:
			tool_option(ch, optarg);
		}
	}
	argc -= optind;
	argv += optind;
	tool_operands(argc, argv, 1, 3, "STREAM");
	r.stream_name = argv[0];
	tool_range(argc - 1, argv + 1, &lo, &hi);

	/* A closed stdout is an EPIPE to handle, not a death. */
	signal(SIGPIPE, SIG_IGN);

	spool = tool_spool(0);
	stream = tool_stream(spool, r.stream_name, 0);
	/* An empty range (START above END) is no error: nothing is printed. */
	if ((rc = mq_range(stream, lo, hi, count, reverse, print, &r)) != MQ_OK)
		tool_die(rc, "%s", r.stream_name);

	tool_flush(stdout);
	if (topt.verbose)
		fprintf(stderr, "mq-xrange: %s: %llu entries\n",
		    r.stream_name, (unsigned long long)r.total);
	mq_stream_close(stream);
	tool_spool_close(spool);
	return 0;
}
