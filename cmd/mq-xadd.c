/*
 * mq-xadd - append messages to a stream (XADD).
 *
 * Messages come from the arguments, or from stdin: one per line (the
 * newline is not part of it), one per NUL-terminated record (-0), or all
 * of stdin as one (-a).  Stdin is read in large chunks and cut in place;
 * the records of a chunk go to libmq in batches of up to TOOL_BATCH_MSGS
 * messages or TOOL_BATCH_BYTES bytes, one mq_append (one lock, one write) per
 * batch.  After each batch its ids are printed, one per line, through the
 * one buffered stdout, and flushed, so that streamed input ("tail -f |")
 * is appended and acknowledged as it comes.  Appending is the job, the
 * ids are a report: when the reader of stdout goes away, the ids stop and
 * the appends go on.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <err.h>

#include "tool.h"


static const char usage[] =
"usage: mq-xadd [-0 | -a] [-H NAME=VALUE]... [-i ID] [-k KEY] [-M MAXLEN]\n"
"               [-qVv] [--fsync always|interval|never] [--spool DIR]\n"
"               [--] STREAM [MESSAGE...]\n";

/* --help: a line on each option (tool.c adds the shared ones). */
static const char help[] =
"  -0, --null                  each NUL-terminated record is a message\n"
"  -a, --all                   all of standard input is one message\n"
"  -H, --header NAME=VALUE     add a header to every message (repeatable)\n"
"  -i, --id ID                 append with this id, not an automatic one\n"
"  -k, --key KEY               give every message the key KEY\n"
"  -M, --maxlen MAXLEN         then trim the stream to MAXLEN entries\n";

static const struct option longopts[] = {
	{ "null",	no_argument,		NULL, '0' },
	{ "all",	no_argument,		NULL, 'a' },
	{ "header",	required_argument,	NULL, 'H' },
	{ "id",		required_argument,	NULL, 'i' },
	{ "key",	required_argument,	NULL, 'k' },
	{ "maxlen",	required_argument,	NULL, 'M' },
	TOOL_LONGOPTS,
	{ NULL, 0, NULL, 0 }
};

/* What every message of this run shares beyond its batch. */
struct xadd {
	struct tool_batch	 batch;
	mq_stream		*stream;
	const struct mq_idspec	*spec;		/* -i, or NULL */
	uint64_t		 maxlen;	/* -M, or 0 */
	int			 trim;		/* -M given */
	mq_id			 ids[TOOL_BATCH_MSGS];
	uint64_t		 total;		/* appended so far */
	struct tool_progress	 progress;	/* -v on a terminal */
};

/*
 * Appends the batch in one mq_append, trims if -M was given, and prints
 * the ids.  Exits on failure: nothing of a failed batch was appended, and
 * the ids printed before are those of the batches that were.  A message
 * over the stream's max-msg is named, with the way to raise it.
 */
static void
batch_flush(struct tool_batch *b, void *arg)
{
	struct xadd *x = arg;
	struct mq_policy p;
	const char *name = mq_stream_name(x->stream);
	char buf[MQ_ID_MAX + 1];
	uint64_t removed;
	size_t i;
	int rc, len;

	rc = mq_append(x->stream, b->msgs, b->n, x->spec, x->ids);
	if (rc == MQ_ETOOBIG && mq_policy_get(x->stream, &p) == MQ_OK)
		tool_batch_toobig(b, name, name, p.max_msg, 0);
	if (rc != MQ_OK)
		tool_die(rc, "%s", name);
	x->total += b->n;
	tool_progress(&x->progress, x->total);
	if (x->trim) {
		rc = mq_trim_maxlen(x->stream, x->maxlen, &removed);
		if (rc != MQ_OK)
			tool_die(rc, "%s: trim", name);
	}
	if (!topt.quiet) {
		for (i = 0; i < b->n; i++) {
			len = mq_id_fmt(buf, x->ids[i]);
			buf[len++] = '\n';
			fwrite(buf, 1, len, stdout);
		}
		if (fflush(stdout) == EOF || ferror(stdout)) {
			if (errno != EPIPE)
				err(EX_IOERR, "stdout");
			topt.quiet = 1;	/* no one reads the ids any more */
		}
	}
}

int
main(int argc, char *argv[])
{
	static struct xadd x;
	struct tool_input in;
	struct mq_idspec spec;
	mq_spool *spool;
	const char *idarg = NULL, *rec;
	size_t len;
	int ch, rc, delim = '\n', all = 0;

	tool_init("mq-xadd", usage, help);
	while ((ch = tool_getopt(argc, argv, "0aH:i:k:M:" TOOL_SHORTOPTS,
	    longopts)) != -1) {
		switch (ch) {
		case '0':
			delim = '\0';
			break;
		case 'a':
			all = 1;
			break;
		case 'H':
			tool_batch_header(&x.batch, optarg);
			break;
		case 'i':
			idarg = optarg;
			break;
		case 'k':
			x.batch.key = optarg;
			break;
		case 'M':
			x.maxlen = tool_number(optarg, 0, LLONG_MAX, "-M");
			x.trim = 1;
			break;
		default:
			tool_option(ch, optarg);
		}
	}
	argc -= optind;
	argv += optind;
	tool_operands(argc, argv, 1, -1, "STREAM");
	tool_batch_modes(all, delim, argc - 1);
	if (idarg != NULL) {
		rc = mq_idspec_parse(idarg, strlen(idarg), &spec);
		if (rc != MQ_OK)
			tool_die(rc, "-i %s", idarg);
		x.spec = &spec;
		if (argc > 2)
			tool_usage_error("-i: only one message at a time");
	}

	signal(SIGPIPE, SIG_IGN);
	spool = tool_spool(MQ_CREATE);
	x.stream = tool_stream(spool, argv[0], MQ_CREATE);

	x.batch.flush = batch_flush;
	x.batch.arg = &x;
	tool_progress_start(&x.progress, argv[0], "appended");
	if (argc == 1 && !all && x.spec != NULL) {
		/* -i: stdin's only record; an id cannot go to two messages. */
		tool_input_init(&in, STDIN_FILENO, TOOL_INPUT_SIZE);
		tool_input_all(&in, &rec, &len);
		if (len > 0 && rec[len - 1] == delim)
			len--;
		if (memchr(rec, delim, len) != NULL)
			errx(EX_DATAERR, "-i: only one message at a time");
		x.batch.from = TOOL_FROM_STDIN;
		tool_batch_add(&x.batch, rec, len);
		tool_batch_flush(&x.batch);
		tool_input_free(&in);
	} else
		tool_batch_input(&x.batch, argc - 1, argv + 1, all ? -1 : delim);

	tool_progress_end(&x.progress);
	if (topt.verbose)
		fprintf(stderr, "mq-xadd: %s: %llu appended\n", argv[0],
		    (unsigned long long)x.total);
	mq_stream_close(x.stream);
	tool_spool_close(spool);
	tool_batch_free(&x.batch);
	return 0;
}
