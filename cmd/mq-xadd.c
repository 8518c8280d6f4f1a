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
 *
 * With -s each record is a stream's name, a tab and the message, so that
 * one process loads many streams.  The records of a run to one stream go
 * in batches as above; a record for another stream ends the batch.  The
 * streams stay open in a stream_cache, so a few streams written in turn
 * are opened once each and 100,000 streams cost a bounded number of
 * descriptors.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <err.h>

#include "stream_cache.h"
#include "tool.h"


static const char usage[] =
"usage: mq-xadd [-0 | -a] [-H NAME=VALUE]... [-i ID] [-k KEY] [-M MAXLEN]\n"
"               [-qVv] [--fsync always|interval|never] [--spool DIR]\n"
"               [--] STREAM [MESSAGE...]\n"
"       mq-xadd -s [-0] [-H NAME=VALUE]... [-k KEY] [-M MAXLEN] [-qVv]\n"
"               [--fsync always|interval|never] [--spool DIR]\n";

/* --help: a line on each option (tool.c adds the shared ones). */
static const char help[] =
"  -0, --null                  each NUL-terminated record is a message\n"
"  -a, --all                   all of standard input is one message\n"
"  -H, --header NAME=VALUE     add a header to every message (repeatable)\n"
"  -i, --id ID                 append with this id, not an automatic one\n"
"  -k, --key KEY               give every message the key KEY\n"
"  -M, --maxlen MAXLEN         then trim the stream to MAXLEN entries\n"
"  -s, --streams               each record is STREAM, a tab, the message\n";

static const struct option longopts[] = {
	{ "null",	no_argument,		NULL, '0' },
	{ "all",	no_argument,		NULL, 'a' },
	{ "header",	required_argument,	NULL, 'H' },
	{ "id",		required_argument,	NULL, 'i' },
	{ "key",	required_argument,	NULL, 'k' },
	{ "maxlen",	required_argument,	NULL, 'M' },
	{ "streams",	no_argument,		NULL, 's' },
	TOOL_LONGOPTS,
	{ NULL, 0, NULL, 0 }
};

/* What every message of this run shares beyond its batch. */
struct xadd {
	struct tool_batch	 batch;
	mq_stream		*stream;	/* of the batch */
	size_t			 namelen;	/* of its name */
	struct stream_cache	*cache;		/* -s */
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

/* What the records of stdin are called in errors: "line" or "record" (-0). */
static const char *
record_unit(const struct tool_batch *b)
{
	return b->from == TOOL_FROM_RECORD ? "record" : "line";
}

/*
 * Exits with EX_DATAERR: record number 'nr' of the batch 'b' is bad,
 * for 'why'.  The records before it are appended first, so that the
 * ids printed tell where to start again.
 */
static void __attribute__((noreturn))
bad_record(struct tool_batch *b, uint64_t nr, const char *why)
{
	tool_batch_flush(b);
	errx(EX_DATAERR, "%s %llu: %s", record_unit(b), (unsigned long long)nr,
	    why);
}

/*
 * Makes the stream of the 'len' bytes 'name', of record number 'nr',
 * the stream of the batches to come.  Exits if it is not a name or the
 * stream cannot be opened.
 */
static void
use_stream(struct xadd *x, const char *name, size_t len, uint64_t nr)
{
	char buf[MQ_NAME_MAX + 1];
	int rc;

	if ((rc = tool_name_copy(buf, name, len)) == MQ_OK)
		rc = stream_cache_get(x->cache, buf, &x->stream);
	if (rc == MQ_EBADNAME)
		bad_record(&x->batch, nr, mq_strerror(rc));
	if (rc != MQ_OK)
		tool_die(rc, "%s %llu: %s", record_unit(&x->batch),
		    (unsigned long long)nr, buf);
	x->namelen = len;
}

/*
 * -s: the record 'rec' of 'len' bytes is a stream's name, a tab and the
 * message.  A record for another stream than the batch's ends the batch.
 */
static void
stream_record(struct tool_batch *b, const char *rec, size_t len, void *arg)
{
	struct xadd *x = arg;
	const char *tab;
	size_t namelen;
	/* Each record is a message: its number is that of the message. */
	uint64_t nr = b->before + b->n + 1;

	if ((tab = memchr(rec, '\t', len)) == NULL)
		bad_record(b, nr, "no tab after the stream name");
	namelen = tab - rec;
	if (x->stream == NULL || namelen != x->namelen ||
	    memcmp(rec, mq_stream_name(x->stream), namelen) != 0) {
		tool_batch_flush(b);
		use_stream(x, rec, namelen, nr);
	}
	tool_batch_add(b, tab + 1, len - namelen - 1);
}

/* -s: appends each record of stdin to the stream it names. */
static void
append_streams(struct xadd *x, mq_spool *spool, int delim)
{
	x->cache = stream_cache_new(spool, MQ_CREATE, topt.verbose);
	x->batch.record = stream_record;
	tool_progress_start(&x->progress, "streams", "appended");
	tool_batch_input(&x->batch, 0, NULL, delim);
	tool_progress_end(&x->progress);
	if (topt.verbose)
		fprintf(stderr, "mq-xadd: %llu appended to %llu streams\n",
		    (unsigned long long)x->total,
		    (unsigned long long)stream_cache_names(x->cache));
	stream_cache_free(x->cache);
}

/*
 * Appends the messages of 'argc' of 'argv', or of stdin (all of it with
 * 'all', else each 'delim'-terminated record) to 'name'.
 */
static void
append_one(struct xadd *x, mq_spool *spool, const char *name, int argc,
    char **argv, int all, int delim)
{
	struct tool_input in;
	const char *rec;
	size_t len;

	x->stream = tool_stream(spool, name, MQ_CREATE);
	tool_progress_start(&x->progress, name, "appended");
	if (argc == 0 && !all && x->spec != NULL) {
		/* -i: stdin's only record; an id cannot go to two messages. */
		tool_input_init(&in, STDIN_FILENO, TOOL_INPUT_SIZE);
		tool_input_all(&in, &rec, &len);
		if (len > 0 && rec[len - 1] == delim)
			len--;
		if (memchr(rec, delim, len) != NULL)
			errx(EX_DATAERR, "-i: only one message at a time");
		x->batch.from = TOOL_FROM_STDIN;
		tool_batch_add(&x->batch, rec, len);
		tool_batch_flush(&x->batch);
		tool_input_free(&in);
	} else
		tool_batch_input(&x->batch, argc, argv, all ? -1 : delim);

	tool_progress_end(&x->progress);
	if (topt.verbose)
		fprintf(stderr, "mq-xadd: %s: %llu appended\n", name,
		    (unsigned long long)x->total);
	mq_stream_close(x->stream);
}

int
main(int argc, char *argv[])
{
	static struct xadd x;
	struct mq_idspec spec;
	mq_spool *spool;
	const char *idarg = NULL;
	int ch, rc, delim = '\n', all = 0, streams = 0;

	tool_init("mq-xadd", usage, help);
	while ((ch = tool_getopt(argc, argv, "0aH:i:k:M:s" TOOL_SHORTOPTS,
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
		case 's':
			streams = 1;
			break;
		default:
			tool_option(ch, optarg);
		}
	}
	argc -= optind;
	argv += optind;
	if (streams) {
		/* The streams and the messages are all in the records. */
		if (all || idarg != NULL)
			tool_usage_error("%s and -s: one or the other",
			    all ? "-a" : "-i");
		tool_operands(argc, argv, 0, 0, "");
	} else {
		tool_operands(argc, argv, 1, -1, "STREAM");
		tool_batch_modes(all, delim, argc - 1);
	}
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
	x.batch.flush = batch_flush;
	x.batch.arg = &x;
	if (streams)
		append_streams(&x, spool, delim);
	else
		append_one(&x, spool, argv[0], argc - 1, argv + 1, all, delim);
	tool_spool_close(spool);
	tool_batch_free(&x.batch);
	return 0;
}
