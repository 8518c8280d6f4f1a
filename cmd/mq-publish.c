/*
 * mq-publish - publish messages to a topic (PUBLISH).
 *
 * A publish goes through the topic exchange: the live subscribers whose
 * pattern matches the topic receive it, and every queue bound with a
 * matching pattern gets a copy (libmq's router); with no one listening
 * it goes nowhere, as in Redis.
 *
 * Messages come from the arguments, or from stdin as mq-xadd takes them:
 * one per line, one per NUL-terminated record (-0), or all of stdin as one
 * (-a).  Stdin is read in large chunks and cut in place; the records of a
 * chunk go to libmq in batches of up to TOOL_BATCH_MSGS messages or
 * TOOL_BATCH_BYTES bytes, one mq_router_publish (one append per
 * receiving stream) per batch; the router reads the subscribers and the
 * bindings again only when they change.  After each batch
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

static const char usage[] =
"usage: mq-publish [-0 | -a] [-H NAME=VALUE]... [-qVv]\n"
"                  [--fsync always|interval|never] [--spool DIR]\n"
"                  [--] TOPIC [MESSAGE...]\n";

/* --help: a line on each option (tool.c adds the shared ones). */
static const char help[] =
"  -0, --null                  each NUL-terminated record is a message\n"
"  -a, --all                   all of standard input is one message\n"
"  -H, --header NAME=VALUE     add a header to every message (repeatable)\n";

static const struct option longopts[] = {
	{ "null",	no_argument,		NULL, '0' },
	{ "all",	no_argument,		NULL, 'a' },
	{ "header",	required_argument,	NULL, 'H' },
	TOOL_LONGOPTS,
	{ NULL, 0, NULL, 0 }
};

/* What every message of this run shares beyond its batch. */
struct pub {
	struct tool_batch	 batch;
	mq_spool		*spool;
	mq_router		*router;
	const char		*topic;
	uint64_t		 total;		/* published so far */
	uint64_t		 received;	/* deliveries counted so far */
	struct tool_progress	 progress;	/* -v on a terminal */
};

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
 * For a batch refused with MQ_ETOOBIG: exits naming the queue whose
 * max-msg a message is over, and the message (the topic is its key
 * there); returns if none is found.
 */
static void
toobig(struct pub *p, struct tool_batch *b)
{
	const char *const *queues;
	struct mq_policy pol;
	mq_stream *s;
	size_t live, mine, nq, i;
	char what[2 * MQ_NAME_MAX + 16];

	if (mq_router_route(p->router, p->topic, &live, &mine, &queues, &nq) !=
	    MQ_OK)
		return;
	for (i = 0; i < nq; i++) {
		if (mq_stream_open(p->spool, queues[i], 0, &s) != MQ_OK)
			continue;
		if (mq_policy_get(s, &pol) == MQ_OK) {
			snprintf(what, sizeof(what), "%s: queue %s", p->topic,
			    queues[i]);
			tool_batch_toobig(b, what, queues[i], pol.max_msg,
			    strlen(p->topic));
		}
		mq_stream_close(s);
	}
}

/*
 * Publishes the batch in one mq_router_publish and prints its receivers.  Exits
 * on failure; the counts printed before are those of the batches that
 * were published.
 */
static void
batch_flush(struct tool_batch *b, void *arg)
{
	struct pub *p = arg;
	size_t receivers;
	int rc;

	rc = mq_router_publish(p->router, p->topic, b->msgs, b->n, &receivers);
	if (rc == MQ_ETOOBIG)
		toobig(p, b);
	if (rc != MQ_OK)
		tool_die(rc, "%s", p->topic);
	p->total += b->n;
	p->received += (uint64_t)receivers * b->n;
	tool_progress(&p->progress, p->total);
	if (!topt.quiet) {
		print_receivers(receivers, b->n);
		tool_flush(stdout);
	}
}

int
main(int argc, char *argv[])
{
	static struct pub p;
	int ch, rc, delim = '\n', all = 0;

	tool_init("mq-publish", usage, help);
	while ((ch = tool_getopt(argc, argv, "0aH:" TOOL_SHORTOPTS,
	    longopts)) != -1) {
		switch (ch) {
		case '0':
			delim = '\0';
			break;
		case 'a':
			all = 1;
			break;
		case 'H':
			tool_batch_header(&p.batch, optarg);
			break;
		default:
			tool_option(ch, optarg);
		}
	}
	argc -= optind;
	argv += optind;
	tool_operands(argc, argv, 1, -1, "TOPIC");
	tool_batch_modes(all, delim, argc - 1);
	p.topic = argv[0];

	p.spool = tool_spool(MQ_CREATE);
	if ((rc = mq_router_open(p.spool, &p.router)) != MQ_OK)
		tool_die(rc, "%s", p.topic);
	p.batch.flush = batch_flush;
	p.batch.arg = &p;
	tool_progress_start(&p.progress, p.topic, "published");
	tool_batch_input(&p.batch, argc - 1, argv + 1, all ? -1 : delim);

	tool_progress_end(&p.progress);
	if (topt.verbose)
		fprintf(stderr, "mq-publish: %s: %llu published, %llu "
		    "received\n", p.topic, (unsigned long long)p.total,
		    (unsigned long long)p.received);
	mq_router_close(p.router);
	tool_spool_close(p.spool);
	tool_batch_free(&p.batch);
	tool_flush(stdout);
	return 0;
}
