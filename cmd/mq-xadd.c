/*
 * mq-xadd - append messages to a stream (XADD).
 *
 * Messages come from the arguments, or from stdin: one per line (the
 * newline is not part of it), one per NUL-terminated record (-0), or all
 * of stdin as one (-a).  Stdin is read in large chunks and cut in place;
 * the records of a chunk go to libmq in batches of up to BATCH_MSGS
 * messages or BATCH_BYTES bytes, one mq_append (one lock, one write) per
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

#define BATCH_MSGS	4096
#define BATCH_BYTES	(1u << 20)
#define INPUT_SIZE	(4u << 20)

static const char usage[] =
"usage: mq-xadd [-0 | -a] [-H NAME=VALUE]... [-i ID] [-k KEY] [-M MAXLEN]\n"
"               [-qVv] [--fsync always|interval|never] [--spool DIR]\n"
"               STREAM [MESSAGE...]\n";

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

/* What every message of this run shares, and the batch being built. */
struct xadd {
	mq_stream		*stream;
	struct mq_header	*headers;	/* from -H, for every message */
	size_t			 nheaders;
	const char		*key;		/* -k, or NULL */
	const struct mq_idspec	*spec;		/* -i, or NULL */
	uint64_t		 maxlen;	/* -M, or 0 */
	int			 trim;		/* -M given */
	struct mq_msg		 msgs[BATCH_MSGS];
	mq_id			 ids[BATCH_MSGS];
	size_t			 n;		/* messages in the batch */
	size_t			 bytes;		/* their bodies' bytes */
	uint64_t		 total;		/* appended so far */
};

/* Adds the message 'body'/'len' to the batch. */
static void
batch_add(struct xadd *x, const void *body, size_t len)
{
	struct mq_msg *m = &x->msgs[x->n++];

	memset(m, 0, sizeof(*m));
	m->key = x->key;
	m->keylen = x->key != NULL ? strlen(x->key) : 0;
	m->headers = x->headers;
	m->nheaders = x->nheaders;
	m->body = body;
	m->bodylen = len;
	x->bytes += len;
}

/*
 * Appends the batch in one mq_append, trims if -M was given, and prints
 * the ids.  Exits on failure: nothing of a failed batch was appended, and
 * the ids printed before are those of the batches that were.
 */
static void
batch_flush(struct xadd *x)
{
	char buf[MQ_ID_MAX + 1];
	uint64_t removed;
	size_t i;
	int rc, len;

	if (x->n == 0)
		return;
	rc = mq_append(x->stream, x->msgs, x->n, x->spec, x->ids);
	if (rc != MQ_OK)
		tool_die(rc, "%s", mq_stream_name(x->stream));
	x->total += x->n;
	if (x->trim) {
		rc = mq_trim_maxlen(x->stream, x->maxlen, &removed);
		if (rc != MQ_OK)
			tool_die(rc, "%s: trim", mq_stream_name(x->stream));
	}
	if (!topt.quiet) {
		for (i = 0; i < x->n; i++) {
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
	x->n = 0;
	x->bytes = 0;
}

/*
 * Appends each 'delim'-terminated record of stdin.  A batch never spans
 * two reads, because a read may move the buffer its records point into.
 */
static void
add_records(struct xadd *x, int delim)
{
	struct tool_input in;
	const char *rec;
	size_t len;
	int r;

	tool_input_init(&in, STDIN_FILENO, INPUT_SIZE);
	for (;;) {
		while ((r = tool_input_next(&in, delim, &rec, &len)) ==
		    TOOL_REC) {
			batch_add(x, rec, len);
			if (x->n == BATCH_MSGS || x->bytes >= BATCH_BYTES)
				batch_flush(x);
		}
		batch_flush(x);
		if (r == TOOL_EOF)
			break;
		tool_input_fill(&in);
	}
	tool_input_free(&in);
}

/* Parses -H NAME=VALUE into a header; the strings stay in argv. */
static void
add_header(struct xadd *x, char *arg)
{
	struct mq_header *h;
	char *eq;

	if ((eq = strchr(arg, '=')) == NULL || eq == arg)
		errx(TOOL_USAGE, "-H %s: expected NAME=VALUE", arg);
	h = reallocarray(x->headers, x->nheaders + 1, sizeof(*h));
	if (h == NULL)
		err(EX_TEMPFAIL, "reallocarray");
	x->headers = h;
	h += x->nheaders++;
	h->name = arg;
	h->namelen = eq - arg;
	h->value = eq + 1;
	h->valuelen = strlen(eq + 1);
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
	int ch, rc, delim = '\n', all = 0, i;

	tool_init("mq-xadd", usage);
	while ((ch = getopt_long(argc, argv, "0aH:i:k:M:" TOOL_SHORTOPTS,
	    longopts, NULL)) != -1) {
		switch (ch) {
		case '0':
			delim = '\0';
			break;
		case 'a':
			all = 1;
			break;
		case 'H':
			add_header(&x, optarg);
			break;
		case 'i':
			idarg = optarg;
			break;
		case 'k':
			x.key = optarg;
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
	if (argc < 1 || (all && delim == '\0'))
		tool_usage(TOOL_USAGE);
	if ((all || delim == '\0') && argc > 1)
		tool_usage(TOOL_USAGE);
	if (idarg != NULL) {
		rc = mq_idspec_parse(idarg, strlen(idarg), &spec);
		if (rc != MQ_OK)
			tool_die(rc, "-i %s", idarg);
		x.spec = &spec;
		if (argc > 2)
			errx(TOOL_USAGE, "-i: only one message at a time");
	}

	signal(SIGPIPE, SIG_IGN);
	spool = tool_spool(MQ_CREATE);
	x.stream = tool_stream(spool, argv[0], MQ_CREATE);

	if (argc > 1) {
		for (i = 1; i < argc; i++) {
			batch_add(&x, argv[i], strlen(argv[i]));
			if (x.n == BATCH_MSGS || x.bytes >= BATCH_BYTES)
				batch_flush(&x);
		}
		batch_flush(&x);
	} else if (all || x.spec != NULL) {
		/*
		 * One message: all of stdin, or (-i) its only record; an
		 * explicit id cannot go to more than one message.
		 */
		tool_input_init(&in, STDIN_FILENO, INPUT_SIZE);
		tool_input_all(&in, &rec, &len);
		if (!all && len > 0 && rec[len - 1] == delim)
			len--;
		if (!all && memchr(rec, delim, len) != NULL)
			errx(EX_DATAERR, "-i: only one message at a time");
		batch_add(&x, rec, len);
		batch_flush(&x);
		tool_input_free(&in);
	} else
		add_records(&x, delim);

	if (topt.verbose)
		fprintf(stderr, "mq-xadd: %s: %llu appended\n", argv[0],
		    (unsigned long long)x.total);
	mq_stream_close(x.stream);
	tool_spool_close(spool);
	free(x.headers);
	return 0;
}
