/*
 * mq-publish - publish messages to a topic (PUBLISH).
 *
 * A publish goes through the topic exchange: the live subscribers whose
 * pattern matches the topic receive it, and every queue bound with a
 * matching pattern gets a copy (mq_publish); with no one listening it
 * goes nowhere, as in Redis.
 *
 * Messages come from the arguments, or from stdin as mq-xadd takes them:
 * one per line, one per NUL-terminated record (-0), or all of stdin as one
 * (-a).  Stdin is read in large chunks and cut in place; the records of a
 * chunk go to libmq in batches of up to BATCH_MSGS messages or
 * BATCH_BYTES bytes, one mq_publish (one look at the subscribers and
 * bindings, one append per receiving stream) per batch.  After each batch
 * the number of receivers is printed once per message, as redis-cli
 * prints PUBLISH's reply, and flushed, so that streamed input ("tail -f
 * |") is published and acknowledged as it comes.
 */
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
"usage: mq-publish [-0 | -a] [-H NAME=VALUE]... [-qVv]\n"
"                  [--fsync always|interval|never] [--spool DIR]\n"
"                  TOPIC [MESSAGE...]\n";

static const struct option longopts[] = {
	{ "null",	no_argument,		NULL, '0' },
	{ "all",	no_argument,		NULL, 'a' },
	{ "header",	required_argument,	NULL, 'H' },
	TOOL_LONGOPTS,
	{ NULL, 0, NULL, 0 }
};

/* What every message of this run shares, and the batch being built. */
struct pub {
	mq_spool		*spool;
	const char		*topic;
	struct mq_header	*headers;	/* from -H, for every message */
	size_t			 nheaders;
	struct mq_msg		 msgs[BATCH_MSGS];
	size_t			 n;		/* messages in the batch */
	size_t			 bytes;		/* their bodies' bytes */
	uint64_t		 total;		/* published so far */
	uint64_t		 received;	/* deliveries counted so far */
};

/* Adds the message 'body'/'len' to the batch. */
static void
batch_add(struct pub *p, const void *body, size_t len)
{
	struct mq_msg *m = &p->msgs[p->n++];

	memset(m, 0, sizeof(*m));
	m->headers = p->headers;
	m->nheaders = p->nheaders;
	m->body = body;
	m->bodylen = len;
	p->bytes += len;
}

/*
 * Writes the line "'receivers'\n" 'n' times: every message of a batch
 * went to the same receivers.
 */
static void
print_receivers(size_t receivers, size_t n)
{
	char line[32], buf[8192];
	size_t len, fill = 0;

	len = snprintf(line, sizeof(line), "%zu\n", receivers);
	while (n > 0) {
		if (fill + len > sizeof(buf)) {
			fwrite(buf, 1, fill, stdout);
			fill = 0;
		}
		memcpy(buf + fill, line, len);
		fill += len;
		n--;
	}
	fwrite(buf, 1, fill, stdout);
}

/*
 * Publishes the batch in one mq_publish and prints its receivers.  Exits
 * on failure; the counts printed before are those of the batches that
 * were published.
 */
static void
batch_flush(struct pub *p)
{
	size_t receivers;
	int rc;

	if (p->n == 0)
		return;
	rc = mq_publish(p->spool, p->topic, p->msgs, p->n, &receivers);
	if (rc != MQ_OK)
		tool_die(rc, "%s", p->topic);
	p->total += p->n;
	p->received += (uint64_t)receivers * p->n;
	if (!topt.quiet) {
		print_receivers(receivers, p->n);
		tool_flush(stdout);
	}
	p->n = 0;
	p->bytes = 0;
}

/*
 * Publishes each 'delim'-terminated record of stdin.  A batch never spans
 * two reads, because a read may move the buffer its records point into.
 */
static void
add_records(struct pub *p, int delim)
{
	struct tool_input in;
	const char *rec;
	size_t len;
	int r;

	tool_input_init(&in, STDIN_FILENO, INPUT_SIZE);
	for (;;) {
		while ((r = tool_input_next(&in, delim, &rec, &len)) ==
		    TOOL_REC) {
			batch_add(p, rec, len);
			if (p->n == BATCH_MSGS || p->bytes >= BATCH_BYTES)
				batch_flush(p);
		}
		batch_flush(p);
		if (r == TOOL_EOF)
			break;
		tool_input_fill(&in);
	}
	tool_input_free(&in);
}

/* Parses -H NAME=VALUE into a header; the strings stay in argv. */
static void
add_header(struct pub *p, char *arg)
{
	struct mq_header *h;
	char *eq;

	if ((eq = strchr(arg, '=')) == NULL || eq == arg)
		errx(TOOL_USAGE, "-H %s: expected NAME=VALUE", arg);
	h = reallocarray(p->headers, p->nheaders + 1, sizeof(*h));
	if (h == NULL)
		err(EX_TEMPFAIL, "reallocarray");
	p->headers = h;
	h += p->nheaders++;
	h->name = arg;
	h->namelen = eq - arg;
	h->value = eq + 1;
	h->valuelen = strlen(eq + 1);
}

int
main(int argc, char *argv[])
{
	static struct pub p;
	struct tool_input in;
	const char *rec;
	size_t len;
	int ch, delim = '\n', all = 0, i;

	tool_init("mq-publish", usage);
	while ((ch = getopt_long(argc, argv, "0aH:" TOOL_SHORTOPTS,
	    longopts, NULL)) != -1) {
		switch (ch) {
		case '0':
			delim = '\0';
			break;
		case 'a':
			all = 1;
			break;
		case 'H':
			add_header(&p, optarg);
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
	p.topic = argv[0];

	p.spool = tool_spool(MQ_CREATE);
	if (argc > 1) {
		for (i = 1; i < argc; i++) {
			batch_add(&p, argv[i], strlen(argv[i]));
			if (p.n == BATCH_MSGS || p.bytes >= BATCH_BYTES)
				batch_flush(&p);
		}
		batch_flush(&p);
	} else if (all) {
		tool_input_init(&in, STDIN_FILENO, INPUT_SIZE);
		tool_input_all(&in, &rec, &len);
		batch_add(&p, rec, len);
		batch_flush(&p);
		tool_input_free(&in);
	} else
		add_records(&p, delim);

	if (topt.verbose)
		fprintf(stderr, "mq-publish: %s: %llu published, %llu "
		    "received\n", p.topic, (unsigned long long)p.total,
		    (unsigned long long)p.received);
	tool_spool_close(p.spool);
	free(p.headers);
	tool_flush(stdout);
	return 0;
}
