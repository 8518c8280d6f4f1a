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
 *
 * With -s the streams are named by the lines of stdin, and each is
 * opened, printed and closed in turn, so that one process dumps any
 * number of streams with the descriptors of one open at a time.
 * Each entry then starts with its stream's name and a tab (text, raw);
 * JSON has it already.  A line that names no stream is reported and
 * passed over, as mq-ack passes over a line that is no id: the other
 * streams of a dump are worth having, and the status tells.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <err.h>

#include "tool.h"

static const char usage[] =
"usage: mq-xrange [-r] [-c COUNT] [-o text|json|raw] [-qVv]\n"
"                 [--fsync always|interval|never] [--spool DIR]\n"
"                 [--] STREAM [START [END]]\n"
"       mq-xrange -s [-r] [-c COUNT] [-o text|json|raw] [-qVv]\n"
"                 [--fsync always|interval|never] [--spool DIR]\n"
"                 [--] [START [END]]\n";

/* --help: a line on each option (tool.c adds the shared ones). */
static const char help[] =
"  -r, --reverse               print the newest entries first\n"
"  -c, --count COUNT           print at most COUNT entries\n"
"  -o, --output text|json|raw  how to print each entry\n"
"  -s, --streams               print each stream named by a line of stdin\n";

static const struct option longopts[] = {
	{ "count",	required_argument,	NULL, 'c' },
	{ "output",	required_argument,	NULL, 'o' },
	{ "reverse",	no_argument,		NULL, 'r' },
	{ "streams",	no_argument,		NULL, 's' },
	TOOL_LONGOPTS,
	{ NULL, 0, NULL, 0 }
};

struct range {
	const char	*stream_name;
	enum tool_format format;	/* -o */
	int		 named;		/* -s: each entry starts with the name */
	mq_id		 lo, hi;	/* START, END */
	size_t		 count;		/* -c, or 0 */
	int		 reverse;	/* -r */
	uint64_t	 total;		/* entries printed */
	uint64_t	 streams;	/* streams printed */
};

/* Writes one entry; a write error stops the range (tool_flush decides). */
static int
print(const struct mq_msg *msg, void *arg)
{
	struct range *r = arg;

	/* JSON has the stream's name in its member "stream". */
	if (r->named && r->format == TOOL_TEXT) {
		tool_write_escaped(stdout, r->stream_name,
		    strlen(r->stream_name));
		putc('\t', stdout);
	} else if (r->named && r->format == TOOL_RAW)
		fprintf(stdout, "%s\t", r->stream_name);
	tool_write_msg(stdout, r->format, r->stream_name, msg);
	r->total++;
	if (ferror(stdout))
		tool_flush(stdout);
	return 0;
}

/* Prints the range of the open 'stream'; exits on failure. */
static void
range(mq_stream *stream, struct range *r)
{
	int rc;

	/* An empty range (START above END) is no error: nothing is printed. */
	rc = mq_range(stream, r->lo, r->hi, r->count, r->reverse, print, r);
	if (rc != MQ_OK)
		tool_die(rc, "%s", r->stream_name);
	r->streams++;
}

/*
 * -s: prints the range of the stream named by line 'nr' of stdin, 'len'
 * bytes at 'line'.  Returns 0, or the status of a line that names no
 * stream, which is reported; exits on any other failure.
 */
static int
range_line(mq_spool *spool, struct range *r, const char *line, size_t len,
    uint64_t nr)
{
	char name[MQ_NAME_MAX + 1];
	mq_stream *stream;
	int rc;

	if ((rc = tool_name_copy(name, line, len)) == MQ_OK)
		rc = mq_stream_open(spool, name, 0, &stream);
	if (rc == MQ_EBADNAME)
		return tool_warn(rc, "line %llu", (unsigned long long)nr);
	if (rc == MQ_ENOSTREAM || rc == MQ_EWRONGTYPE)
		return tool_warn(rc, "line %llu: %s", (unsigned long long)nr,
		    name);
	if (rc != MQ_OK)
		tool_die(rc, "line %llu: %s", (unsigned long long)nr, name);
	r->stream_name = name;
	range(stream, r);
	r->stream_name = NULL;
	mq_stream_close(stream);
	return 0;
}

/*
 * -s: prints the range of each stream named by a line of stdin, in
 * turn.  Returns 0, or the status of the first line that named no
 * stream.
 */
static int
range_lines(mq_spool *spool, struct range *r)
{
	struct tool_input in;
	const char *line;
	size_t len;
	int next, rc, status = 0;

	tool_input_init(&in, STDIN_FILENO, 1 << 16);
	for (;;) {
		while ((next = tool_input_next(&in, '\n', &line, &len)) ==
		    TOOL_REC) {
			rc = range_line(spool, r, line, len, in.nrec);
			if (status == 0)
				status = rc;
		}
		if (next == TOOL_EOF)
			break;
		tool_input_fill(&in);
	}
	tool_input_free(&in);
	return status;
}

int
main(int argc, char *argv[])
{
	struct range r = { .format = TOOL_TEXT };
	mq_spool *spool;
	mq_stream *stream;
	int ch, fmt, status = 0;

	tool_init("mq-xrange", usage, help);
	while ((ch = tool_getopt(argc, argv, "c:o:rs" TOOL_SHORTOPTS,
	    longopts)) != -1) {
		switch (ch) {
		case 'c':
			r.count = tool_number(optarg, 1, LLONG_MAX, "-c");
			break;
		case 'o':
			if ((fmt = tool_format_parse(optarg)) == -1)
				errx(TOOL_USAGE, "-o %s: expected text, json "
				    "or raw", optarg);
			r.format = fmt;
			break;
		case 'r':
			r.reverse = 1;
			break;
		case 's':
			r.named = 1;
			break;
		default:
			tool_option(ch, optarg);
		}
	}
	argc -= optind;
	argv += optind;
	if (r.named)
		tool_operands(argc, argv, 0, 2, "");
	else {
		tool_operands(argc, argv, 1, 3, "STREAM");
		r.stream_name = argv[0];
		argc--;
		argv++;
	}
	tool_range(argc, argv, &r.lo, &r.hi);

	/* A closed stdout is an EPIPE to handle, not a death. */
	signal(SIGPIPE, SIG_IGN);

	spool = tool_spool(0);
	if (r.named)
		status = range_lines(spool, &r);
	else {
		stream = tool_stream(spool, r.stream_name, 0);
		range(stream, &r);
		mq_stream_close(stream);
	}

	tool_flush(stdout);
	if (topt.verbose && r.named)
		fprintf(stderr, "mq-xrange: %llu entries of %llu streams\n",
		    (unsigned long long)r.total,
		    (unsigned long long)r.streams);
	else if (topt.verbose)
		fprintf(stderr, "mq-xrange: %s: %llu entries\n",
		    r.stream_name, (unsigned long long)r.total);
	tool_spool_close(spool);
	return status;
}
