/*
 * mq-xinfo - show a stream, its queue policy and its groups, or a group,
 * its consumers and its pending entries (XINFO STREAM, XINFO GROUPS,
 * XINFO CONSUMERS, XPENDING's summary); without a stream, list the
 * streams of the spool, one line each.
 *
 * The output is one document of sections and tables, written by one set
 * of writers in either form:
 *
 *	text	a section is "key value" lines; a table is a header line,
 *		'#' and the column names joined by tabs, then one line per
 *		row with its cells joined by tabs.  Names are escaped as
 *		message bodies are (\n, \t, \\), so a row is one line.
 *	json	one object: each section an object member, each table an
 *		array member of row objects, with the same names as the text
 *		keys and columns.  A name that is not UTF-8 becomes the
 *		member NAME_base64, as in mq-xreadgroup's JSON.
 *
 * The list of the streams is rows without a table: one line per stream,
 * in the byte order of their names, in text with no header (an empty
 * spool prints nothing) and in JSON one object per line.
 *
 * A value that cannot be told (the entries-read and lag of a group, the
 * inactive time of a consumer that never got anything) is "-" in text
 * and null in JSON; an id that does not exist is 0-0, which no entry has.
 *
 * It only looks: the spool, the stream and the group are opened without
 * MQ_CREATE and nothing is written.  Each figure comes from one libmq
 * call, so while others work on the stream the figures of one run may
 * differ by what happened between the calls.  The list opens one stream
 * at a time, so that it needs a few descriptors for any number of them.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <err.h>

#include "tool.h"

static const char usage[] =
"usage: mq-xinfo [-o text|json] [-qVv] [--fsync always|interval|never]\n"
"                [--spool DIR] [--] [STREAM [GROUP]]\n";

/* --help: a line on each option (tool.c adds the shared ones). */
static const char help[] =
"  -o, --output text|json      the form of the output\n";

static const struct option longopts[] = {
	{ "output",	required_argument,	NULL, 'o' },
	TOOL_LONGOPTS,
	{ NULL, 0, NULL, 0 }
};

/* ---------------------------------------------------------------------
 * Writing sections and tables, as text or JSON
 * ------------------------------------------------------------------- */

struct out {
	enum tool_format format;	/* TOOL_TEXT or TOOL_JSON */
	int		 row;		/* in a table row: cells, not lines */
	int		 lines;		/* rows stand alone: JSON Lines */
	size_t		 top;		/* members of the document so far */
	size_t		 n;		/* members of the object or row so far */
	size_t		 rows;		/* rows of the table so far */
};

/*
 * Starts the field 'key' whose value follows: a JSON member (with
 * 'suffix' after the name), a cell of a text row, or a "key " line.
 */
static void
field(struct out *o, const char *key, const char *suffix)
{
	if (o->format == TOOL_JSON) {
		if (o->n++ > 0)
			putc(',', stdout);
		printf("\"%s%s\":", key, suffix);
	} else if (o->row) {
		if (o->n++ > 0)
			putc('\t', stdout);
	} else
		printf("%s ", key);
}

/* Ends a field: a text "key value" line ends with a newline. */
static void
field_end(struct out *o)
{
	if (o->format == TOOL_TEXT && !o->row)
		putc('\n', stdout);
}

static void
out_u64(struct out *o, const char *key, uint64_t v)
{
	field(o, key, "");
	printf("%llu", (unsigned long long)v);
	field_end(o);
}

/* A number that may be unknown ('v' < 0): "-" in text, null in JSON. */
static void
out_i64(struct out *o, const char *key, int64_t v)
{
	field(o, key, "");
	if (v >= 0)
		printf("%lld", (long long)v);
	else
		fputs(o->format == TOOL_JSON ? "null" : "-", stdout);
	field_end(o);
}

static void
out_id(struct out *o, const char *key, mq_id id)
{
	char buf[MQ_ID_MAX];

	mq_id_fmt(buf, id);
	field(o, key, "");
	printf(o->format == TOOL_JSON ? "\"%s\"" : "%s", buf);
	field_end(o);
}

/* A name or other string; NULL is unknown, as in out_i64(). */
static void
out_str(struct out *o, const char *key, const char *s)
{
	if (o->format == TOOL_TEXT) {
		field(o, key, "");
		if (s == NULL)
			putc('-', stdout);
		else
			tool_write_escaped(stdout, s, strlen(s));
	} else {
		/* A string if UTF-8, else "KEY_base64"; null when unknown. */
		if (o->n++ > 0)
			putc(',', stdout);
		tool_json_member(stdout, key, s, s != NULL ? strlen(s) : 0);
	}
	field_end(o);
}

/* A duration in milliseconds, written as mq-queue takes it ("30s"). */
static void
out_duration(struct out *o, const char *key, int64_t ms)
{
	char buf[32];

	tool_fmt_duration(buf, sizeof(buf), ms);
	out_str(o, key, buf);
}

static void
doc_begin(struct out *o)
{
	if (o->format == TOOL_JSON)
		putc('{', stdout);
}

static void
doc_end(struct out *o)
{
	if (o->format == TOOL_JSON)
		fputs("}\n", stdout);
}

/* Starts the section 'name': "key value" lines, or a JSON object. */
static void
section_begin(struct out *o, const char *name)
{
	if (o->format == TOOL_JSON)
		printf("%s\"%s\":{", o->top++ > 0 ? "," : "", name);
	o->n = 0;
}

static void
section_end(struct out *o)
{
	if (o->format == TOOL_JSON)
		putc('}', stdout);
}

/*
 * Starts the table 'name' whose text header is 'header' (the column
 * names, which the rows' fields repeat, tab-separated after a '#').
 */
static void
table_begin(struct out *o, const char *name, const char *header)
{
	if (o->format == TOOL_JSON)
		printf("%s\"%s\":[", o->top++ > 0 ? "," : "", name);
	else
		printf("#%s\n", header);
	o->rows = 0;
}

static void
table_end(struct out *o)
{
	if (o->format == TOOL_JSON)
		putc(']', stdout);
}

static void
row_begin(struct out *o)
{
	if (o->format == TOOL_JSON)
		fputs(o->rows > 0 && !o->lines ? ",{" : "{", stdout);
	o->rows++;
	o->row = 1;
	o->n = 0;
}

static void
row_end(struct out *o)
{
	if (o->format == TOOL_JSON)
		fputs(o->lines ? "}\n" : "}", stdout);
	else
		putc('\n', stdout);
	o->row = 0;
	if (ferror(stdout))
		tool_flush(stdout);
}

/* ---------------------------------------------------------------------
 * The stream, its policy and its groups
 * ------------------------------------------------------------------- */

struct groups {
	struct out	*o;
	mq_stream	*stream;
};

/* Writes the row of group 'name'; one that went away meanwhile is left out. */
static int
group_row(const char *name, void *arg)
{
	struct groups *gs = arg;
	struct mq_group_info gi;
	mq_group *g;
	int rc;

	rc = mq_group_open(gs->stream, name, &g);
	if (rc == MQ_ENOGROUP)
		return 0;
	if (rc != MQ_OK)
		tool_die(rc, "%s: %s", mq_stream_name(gs->stream), name);
	if ((rc = mq_group_info(g, &gi)) != MQ_OK)
		tool_die(rc, "%s: %s", mq_stream_name(gs->stream), name);
	row_begin(gs->o);
	out_str(gs->o, "name", name);
	out_u64(gs->o, "consumers", gi.consumers);
	out_u64(gs->o, "pending", gi.pending);
	out_id(gs->o, "last-delivered-id", gi.last_delivered);
	out_i64(gs->o, "entries-read", gi.entries_read);
	out_i64(gs->o, "lag", gi.lag);
	row_end(gs->o);
	mq_group_close(g);
	return 0;
}

static void
show_stream(struct out *o, mq_stream *stream)
{
	const char *name = mq_stream_name(stream);
	char dlq[MQ_NAME_MAX + 1];
	struct mq_stream_info si;
	struct mq_policy p;
	struct groups gs = { o, stream };
	int rc;

	if ((rc = mq_stream_info(stream, &si)) != MQ_OK)
		tool_die(rc, "%s", name);
	if ((rc = mq_policy_get(stream, &p)) != MQ_OK)
		tool_die(rc, "%s: policy", name);
	/* A name too long to take ".dlq" has none to show (mq-queue fails). */
	if ((rc = mq_dead_letter_name(stream, dlq)) != MQ_OK &&
	    rc != MQ_EBADNAME)
		tool_die(rc, "%s: dead-letter stream", name);

	section_begin(o, "stream");
	out_str(o, "name", name);
	out_u64(o, "length", si.length);
	out_id(o, "first-entry-id", si.first_id);
	out_id(o, "last-generated-id", si.last_id);
	out_id(o, "max-deleted-entry-id", si.max_deleted_id);
	out_u64(o, "entries-added", si.entries_added);
	out_u64(o, "first-offset", si.first_offset);
	out_u64(o, "next-offset", si.next_offset);
	out_u64(o, "segments", si.segments);
	out_u64(o, "bytes", si.bytes);
	out_u64(o, "groups", si.groups);
	section_end(o);

	section_begin(o, "policy");
	out_u64(o, "delivery-limit", p.delivery_limit);
	out_duration(o, "ttl", p.ttl_ms);
	out_u64(o, "max-len", p.max_len);
	out_u64(o, "max-len-bytes", p.max_len_bytes);
	out_u64(o, "max-bytes", p.max_bytes);
	out_duration(o, "max-age", p.max_age_ms);
	out_str(o, "overflow", tool_overflow_name(p.overflow));
	out_u64(o, "max-msg", p.max_msg);
	out_str(o, "dead-letter", rc == MQ_OK ? dlq : NULL);
	out_duration(o, "lease", p.lease_ms);
	out_duration(o, "retry-delay", p.retry_delay_ms);
	out_duration(o, "retry-max", p.retry_max_ms);
	section_end(o);

	table_begin(o, "groups",
	    "name\tconsumers\tpending\tlast-delivered-id\tentries-read\tlag");
	if ((rc = mq_stream_groups(stream, group_row, &gs)) != MQ_OK)
		tool_die(rc, "%s: groups", name);
	table_end(o);
}

/* ---------------------------------------------------------------------
 * A group, its consumers and its pending entries
 * ------------------------------------------------------------------- */

struct consumers {
	struct out	*o;
	int64_t		 now;
};

/* Writes the row of one consumer. */
static int
consumer_row(const struct mq_consumer_info *c, void *arg)
{
	struct consumers *cs = arg;
	int64_t idle, inactive = -1;

	/* Another host's clock, or a step of this one: never negative. */
	if ((idle = cs->now - c->seen_ms) < 0)
		idle = 0;
	if (c->active_ms >= 0 && (inactive = cs->now - c->active_ms) < 0)
		inactive = 0;
	row_begin(cs->o);
	out_str(cs->o, "name", c->name);
	out_u64(cs->o, "pending", c->pending);
	out_i64(cs->o, "idle", idle);
	out_i64(cs->o, "inactive", inactive);
	row_end(cs->o);
	return 0;
}

/* Writes the row of one owner of pending entries, in the summary. */
static void
owner_row(const char *consumer, uint64_t count, void *arg)
{
	struct out *o = arg;

	row_begin(o);
	out_str(o, "consumer", consumer);
	out_u64(o, "count", count);
	row_end(o);
}

static void
show_group(struct out *o, mq_stream *stream, mq_group *g, const char *group)
{
	const char *name = mq_stream_name(stream);
	mq_id start = { 0, 0 }, end = { UINT64_MAX, UINT64_MAX };
	struct mq_group_info gi;
	struct tool_summary s;
	struct consumers cs = { o, 0 };
	int rc;

	if ((rc = mq_group_info(g, &gi)) != MQ_OK)
		tool_die(rc, "%s: %s", name, group);
	tool_summary_init(&s);
	tool_pending(g, group, start, end, NULL, 0, 0, tool_summary_add, &s);

	section_begin(o, "group");
	out_str(o, "stream", name);
	out_str(o, "name", group);
	out_u64(o, "consumers", gi.consumers);
	out_u64(o, "pending", s.count);
	out_id(o, "last-delivered-id", gi.last_delivered);
	out_i64(o, "entries-read", gi.entries_read);
	out_i64(o, "lag", gi.lag);
	out_id(o, "pending-min-id", s.min);
	out_id(o, "pending-max-id", s.max);
	section_end(o);

	table_begin(o, "consumers", "name\tpending\tidle\tinactive");
	cs.now = tool_now_ms();
	if ((rc = mq_group_consumers(g, consumer_row, &cs)) != MQ_OK)
		tool_die(rc, "%s: %s: consumers", name, group);
	table_end(o);

	table_begin(o, "pending", "consumer\tcount");
	tool_summary_each(&s, owner_row, o);
	table_end(o);
	tool_summary_free(&s);
}

/* ---------------------------------------------------------------------
 * The streams of the spool
 * ------------------------------------------------------------------- */

/* The names of the streams, all read before any is opened, to sort. */
struct names {
	char	**v;
	size_t	  n, cap;
};

/* Adds stream 'name' to the names 'arg' (an mq_spool_streams() 'fn'). */
static int
name_add(const char *name, void *arg)
{
	struct names *ns = arg;
	char **v;

	if (ns->n == ns->cap) {
		ns->cap = ns->cap > 0 ? ns->cap * 2 : 256;
		if ((v = reallocarray(ns->v, ns->cap, sizeof(*v))) == NULL)
			err(EX_TEMPFAIL, "malloc");
		ns->v = v;
	}
	if ((ns->v[ns->n] = strdup(name)) == NULL)
		err(EX_TEMPFAIL, "malloc");
	ns->n++;
	return 0;
}

/* strcmp(3) compares bytes as unsigned char: the bytewise order. */
static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * Writes the line of stream 'name': opened without MQ_CREATE, looked at,
 * closed.  A stream removed since the spool was listed is left out.
 * Returns 0, or the exit status of a failure, which is reported and lets
 * the listing go on; but one that says to try again later (no memory, no
 * descriptors) stops it, as the streams after would fail the same way.
 */
static int
list_stream(struct out *o, mq_spool *spool, const char *name)
{
	struct mq_stream_info si;
	mq_stream *stream;
	int rc, status = 0;

	if ((rc = mq_stream_open(spool, name, 0, &stream)) == MQ_OK)
		rc = mq_stream_info(stream, &si);
	switch (rc) {
	case MQ_OK:
		row_begin(o);
		out_str(o, "name", name);
		out_u64(o, "length", si.length);
		out_id(o, "last-generated-id", si.last_id);
		out_u64(o, "groups", si.groups);
		row_end(o);
		break;
	case MQ_ENOSTREAM:	/* removed since the spool was listed */
	case MQ_EWRONGTYPE:	/* ... and a sorted set took its name */
		break;
	default:
		if (tool_status(rc) == EX_TEMPFAIL)
			tool_die(rc, "%s", name);
		status = tool_warn(rc, "%s", name);
	}
	mq_stream_close(stream);
	return status;
}

/*
 * Writes one line for each stream of 'spool', in the bytewise order of
 * their names.  Returns 0, or the exit status of the first stream that
 * failed.
 */
static int
list_spool(struct out *o, mq_spool *spool)
{
	struct names ns = { NULL, 0, 0 };
	size_t i;
	int rc, status = 0;

	if ((rc = mq_spool_streams(spool, name_add, &ns)) != MQ_OK)
		tool_die(rc, "%s", mq_spool_path(spool));
	if (ns.n > 1)
		qsort(ns.v, ns.n, sizeof(*ns.v), name_cmp);
	o->lines = 1;
	for (i = 0; i < ns.n; i++) {
		if ((rc = list_stream(o, spool, ns.v[i])) != 0 && status == 0)
			status = rc;
		free(ns.v[i]);
	}
	free(ns.v);
	return status;
}

int
main(int argc, char *argv[])
{
	struct out o;
	mq_spool *spool;
	mq_stream *stream;
	mq_group *group = NULL;
	int ch, fmt, status;

	memset(&o, 0, sizeof(o));
	tool_init("mq-xinfo", usage, help);
	while ((ch = tool_getopt(argc, argv, "o:" TOOL_SHORTOPTS, longopts)) !=
	    -1) {
		switch (ch) {
		case 'o':
			fmt = tool_format_parse(optarg);
			if (fmt != TOOL_TEXT && fmt != TOOL_JSON)
				errx(TOOL_USAGE, "-o %s: expected text or json",
				    optarg);
			o.format = fmt;
			break;
		default:
			tool_option(ch, optarg);
		}
	}
	argc -= optind;
	argv += optind;
	tool_operands(argc, argv, 0, 2, "STREAM");

	/* A closed stdout is an EPIPE to handle, not a death. */
	signal(SIGPIPE, SIG_IGN);

	spool = tool_spool(0);
	if (argc == 0) {
		status = list_spool(&o, spool);
		tool_flush(stdout);
		tool_spool_close(spool);
		return status;
	}
	stream = tool_stream(spool, argv[0], 0);
	if (argc == 2)
		group = tool_group(stream, argv[1], 0);
	doc_begin(&o);
	if (group != NULL)
		show_group(&o, stream, group, argv[1]);
	else
		show_stream(&o, stream);
	doc_end(&o);
	tool_flush(stdout);
	mq_group_close(group);
	mq_stream_close(stream);
	tool_spool_close(spool);
	return 0;
}
