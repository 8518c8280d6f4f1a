/*
 * mq-queue - show or set the queue policy of a stream.
 *
 * The policy lives with the stream and every process applies it: how
 * many deliveries an entry gets before it is dead-lettered, how long an
 * entry lives, how long the stream may grow and what happens at that
 * length, the largest message, where dead letters go, how long a
 * pipeline's consumer keeps its entries (the lease) and how long a
 * nacked entry waits before it comes again.  Setting reads
 * the policy, changes the fields named by options, and writes it back
 * (mq_policy_get, mq_policy_set), so the other fields keep their values.
 * Without options the policy is printed as "key value" lines in the forms
 * the options take.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <err.h>

#include "tool.h"

static const char usage[] =
"usage: mq-queue [-qVv] [--dead-letter STREAM] [--delivery-limit N]\n"
"                [--lease DURATION] [--max-age DURATION] [--max-bytes SIZE]\n"
"                [--max-len N] [--max-len-bytes SIZE] [--max-msg SIZE]\n"
"                [--overflow drop|dead-letter|reject]\n"
"                [--retry-delay DURATION] [--retry-max DURATION]\n"
"                [--ttl DURATION] [--fsync always|interval|never]\n"
"                [--spool DIR] [--] STREAM\n";

/* --help: a line on each option (tool.c adds the shared ones). */
static const char help[] =
"      --dead-letter STREAM    where dead letters go (empty: the default)\n"
"      --delivery-limit N      dead-letter an entry after N deliveries\n"
"      --lease DURATION        how long a pipeline's reader keeps entries\n"
"      --max-age DURATION      remove segments older than DURATION\n"
"      --max-bytes SIZE        keep the segments under SIZE bytes\n"
"      --max-len N             keep at most N entries (see --overflow)\n"
"      --max-len-bytes SIZE    keep at most SIZE bytes of bodies (--overflow)\n"
"      --max-msg SIZE          the largest message the stream takes\n"
"      --overflow POLICY       what the max-lens do: drop, dead-letter or reject\n"
"      --retry-delay DURATION  a nacked entry's wait, doubled per delivery\n"
"      --retry-max DURATION    the longest the retry delay grows to\n"
"      --ttl DURATION          dead-letter entries older than DURATION\n";

enum {
	OPT_DELIVERY_LIMIT = TOOL_OPT_FIRST, OPT_TTL, OPT_MAX_LEN,
	OPT_MAX_BYTES, OPT_MAX_AGE, OPT_OVERFLOW, OPT_MAX_MSG,
	OPT_DEAD_LETTER, OPT_LEASE, OPT_RETRY_DELAY, OPT_RETRY_MAX,
	OPT_MAX_LEN_BYTES
};

static const struct option longopts[] = {
	{ "delivery-limit", required_argument,	NULL, OPT_DELIVERY_LIMIT },
	{ "ttl",	required_argument,	NULL, OPT_TTL },
	{ "max-len",	required_argument,	NULL, OPT_MAX_LEN },
	{ "max-len-bytes", required_argument,	NULL, OPT_MAX_LEN_BYTES },
	{ "max-bytes",	required_argument,	NULL, OPT_MAX_BYTES },
	{ "max-age",	required_argument,	NULL, OPT_MAX_AGE },
	{ "overflow",	required_argument,	NULL, OPT_OVERFLOW },
	{ "max-msg",	required_argument,	NULL, OPT_MAX_MSG },
	{ "dead-letter", required_argument,	NULL, OPT_DEAD_LETTER },
	{ "lease",	required_argument,	NULL, OPT_LEASE },
	{ "retry-delay", required_argument,	NULL, OPT_RETRY_DELAY },
	{ "retry-max",	required_argument,	NULL, OPT_RETRY_MAX },
	TOOL_LONGOPTS,
	{ NULL, 0, NULL, 0 }
};

/* The fields to change, as parsed from the options. */
struct change {
	unsigned	 set;		/* bit (OPT_x - TOOL_OPT_FIRST) per field given */
	struct mq_policy p;
};

#define CHANGED(c, opt)	((c)->set & 1u << ((opt) - TOOL_OPT_FIRST))

/* Parses a SIZE ("1024", "64k", "1M") for option 'opt'. */
static uint64_t
size_arg(const char *s, const char *opt)
{
	int64_t n;

	if (dehumanize_number(s, &n) == -1 || n < 0)
		errx(TOOL_USAGE, "%s: %s: not a size", opt, s);
	return n;
}

/* Parses option 'ch' with 'arg' into 'c'. */
static void
parse(struct change *c, int ch, const char *arg)
{
	uint64_t n;

	switch (ch) {
	case OPT_DELIVERY_LIMIT:
		c->p.delivery_limit = tool_number(arg, 0, LLONG_MAX,
		    "--delivery-limit");
		break;
	case OPT_TTL:
		c->p.ttl_ms = tool_duration_arg(arg, "--ttl");
		break;
	case OPT_MAX_LEN:
		c->p.max_len = tool_number(arg, 0, LLONG_MAX, "--max-len");
		break;
	case OPT_MAX_BYTES:
		c->p.max_bytes = size_arg(arg, "--max-bytes");
		break;
	case OPT_MAX_LEN_BYTES:
		c->p.max_len_bytes = size_arg(arg, "--max-len-bytes");
		break;
	case OPT_MAX_AGE:
		c->p.max_age_ms = tool_duration_arg(arg, "--max-age");
		break;
	case OPT_OVERFLOW:
		if (strcmp(arg, "drop") == 0)
			c->p.overflow = MQ_OVERFLOW_DROP;
		else if (strcmp(arg, "dead-letter") == 0)
			c->p.overflow = MQ_OVERFLOW_DEADLETTER;
		else if (strcmp(arg, "reject") == 0)
			c->p.overflow = MQ_OVERFLOW_REJECT;
		else
			errx(TOOL_USAGE, "--overflow: %s: expected drop, "
			    "dead-letter or reject", arg);
		break;
	case OPT_MAX_MSG:
		n = size_arg(arg, "--max-msg");
		if (n > MQ_MSG_LIMIT)
			errx(EX_DATAERR, "--max-msg: %s: above the limit of "
			    "%u bytes (512M)", arg, MQ_MSG_LIMIT);
		/* "0 disables a limit": the largest one there is. */
		c->p.max_msg = n == 0 ? MQ_MSG_LIMIT : n;
		break;
	case OPT_DEAD_LETTER:
		if (strlcpy(c->p.dead_letter, arg, sizeof(c->p.dead_letter)) >=
		    sizeof(c->p.dead_letter))
			errx(EX_DATAERR, "--dead-letter: name longer than %d "
			    "bytes", MQ_NAME_MAX);
		break;
	case OPT_LEASE:
		c->p.lease_ms = tool_duration_arg(arg, "--lease");
		break;
	case OPT_RETRY_DELAY:
		c->p.retry_delay_ms = tool_duration_arg(arg, "--retry-delay");
		break;
	case OPT_RETRY_MAX:
		c->p.retry_max_ms = tool_duration_arg(arg, "--retry-max");
		break;
	default:
		tool_option(ch, arg);
		return;
	}
	c->set |= 1u << (ch - TOOL_OPT_FIRST);
}

/* Copies the changed fields of 'c' into 'p'. */
static void
apply(const struct change *c, struct mq_policy *p)
{
	if (CHANGED(c, OPT_DELIVERY_LIMIT))
		p->delivery_limit = c->p.delivery_limit;
	if (CHANGED(c, OPT_TTL))
		p->ttl_ms = c->p.ttl_ms;
	if (CHANGED(c, OPT_MAX_LEN))
		p->max_len = c->p.max_len;
	if (CHANGED(c, OPT_MAX_BYTES))
		p->max_bytes = c->p.max_bytes;
	if (CHANGED(c, OPT_MAX_LEN_BYTES))
		p->max_len_bytes = c->p.max_len_bytes;
	if (CHANGED(c, OPT_MAX_AGE))
		p->max_age_ms = c->p.max_age_ms;
	if (CHANGED(c, OPT_OVERFLOW))
		p->overflow = c->p.overflow;
	if (CHANGED(c, OPT_MAX_MSG))
		p->max_msg = c->p.max_msg;
	if (CHANGED(c, OPT_DEAD_LETTER))
		memcpy(p->dead_letter, c->p.dead_letter,
		    sizeof(p->dead_letter));
	if (CHANGED(c, OPT_LEASE))
		p->lease_ms = c->p.lease_ms;
	if (CHANGED(c, OPT_RETRY_DELAY))
		p->retry_delay_ms = c->p.retry_delay_ms;
	if (CHANGED(c, OPT_RETRY_MAX))
		p->retry_max_ms = c->p.retry_max_ms;
}

/* Prints the policy of 'stream' as "key value" lines. */
static void
show(mq_stream *stream, const struct mq_policy *p)
{
	char ttl[32], age[32], lease[32], delay[32], max[32];
	char dlq[MQ_NAME_MAX + 1];
	int rc;

	if ((rc = mq_dead_letter_name(stream, dlq)) != MQ_OK)
		tool_die(rc, "%s", mq_stream_name(stream));
	tool_fmt_duration(ttl, sizeof(ttl), p->ttl_ms);
	tool_fmt_duration(age, sizeof(age), p->max_age_ms);
	tool_fmt_duration(lease, sizeof(lease), p->lease_ms);
	tool_fmt_duration(delay, sizeof(delay), p->retry_delay_ms);
	tool_fmt_duration(max, sizeof(max), p->retry_max_ms);
	printf("delivery-limit %llu\n", (unsigned long long)p->delivery_limit);
	printf("ttl %s\n", ttl);
	printf("max-len %llu\n", (unsigned long long)p->max_len);
	printf("max-len-bytes %llu\n", (unsigned long long)p->max_len_bytes);
	printf("max-bytes %llu\n", (unsigned long long)p->max_bytes);
	printf("max-age %s\n", age);
	printf("overflow %s\n", tool_overflow_name(p->overflow));
	printf("max-msg %lu\n", (unsigned long)p->max_msg);
	printf("dead-letter %s\n", dlq);
	printf("lease %s\n", lease);
	printf("retry-delay %s\n", delay);
	printf("retry-max %s\n", max);
}

int
main(int argc, char *argv[])
{
	struct change c;
	struct mq_policy p;
	mq_spool *spool;
	mq_stream *stream;
	int ch, rc, flags;

	memset(&c, 0, sizeof(c));
	tool_init("mq-queue", usage, help);
	while ((ch = tool_getopt(argc, argv, TOOL_SHORTOPTS, longopts)) != -1)
		parse(&c, ch, optarg);
	argc -= optind;
	argv += optind;
	tool_operands(argc, argv, 1, 1, "STREAM");

	/* Showing creates nothing; setting creates what is missing. */
	flags = c.set != 0 ? MQ_CREATE : 0;
	spool = tool_spool(flags);
	stream = tool_stream(spool, argv[0], flags);
	if ((rc = mq_policy_get(stream, &p)) != MQ_OK)
		tool_die(rc, "%s", argv[0]);
	if (c.set != 0) {
		apply(&c, &p);
		if ((rc = mq_policy_set(stream, &p)) != MQ_OK)
			tool_die(rc, "%s", argv[0]);
		/* -v shows what was stored, not what was asked for. */
		if (topt.verbose && (rc = mq_policy_get(stream, &p)) != MQ_OK)
			tool_die(rc, "%s", argv[0]);
	}
	if (c.set == 0 || topt.verbose)
		show(stream, &p);
	mq_stream_close(stream);
	tool_spool_close(spool);
	tool_flush(stdout);
	return 0;
}
