/*
 * mq-dlq - list, show, count, replay or purge the dead letters of a stream.
 *
 * The dead letters of STREAM are the entries of its dead-letter stream
 * (mq_dead_letter_name: the policy's dead-letter, "<stream>.dlq" by
 * default).  libmq writes each with the headers mq-origin, mq-origin-id,
 * mq-reason, mq-count and mq-time first, then the message's own headers,
 * key and body.
 *
 * Replay appends a copy of each dead letter to its origin stream (body,
 * key, own headers, and mq-replay-of: the dead letter's id), then deletes
 * the dead letters.  Being killed between the two must not replay twice,
 * so before appending, the origin is scanned from the time of the oldest
 * dead letter to be replayed, and a dead letter whose copy is already
 * there (an entry with its id in mq-replay-of) is only deleted.  A copy is
 * always appended after its dead letter was written, with an automatic
 * id, so its id is at or after that time; one mq_append per batch makes
 * the copies of a batch appear all at once or not at all.
 *
 * With -d, the dead letters of STREAM are those in another stream, one
 * that its dead-letter exchange routes to (a queue that takes the dead
 * letters of several), whose mq-origin is STREAM; the others there are
 * left alone by every command.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/tree.h>

#include <err.h>

#include "tool.h"

#define CHUNK	1024		/* dead letters replayed per mq_append */

static const char usage[] =
"usage: mq-dlq [-qVv] [-d DLSTREAM] [-o text|json|raw]\n"
"              [--fsync always|interval|never] [--spool DIR] [--]\n"
"              list|show|count|replay|purge STREAM [ID...]\n";

/* --help: a line on each option (tool.c adds the shared ones). */
static const char help[] =
"  -d, --dead-letters DLSTREAM the dead letters of STREAM in DLSTREAM\n"
"  -o, --output text|json|raw  how list and show print entries\n";

static const struct option longopts[] = {
	{ "dead-letters", required_argument,	NULL, 'd' },
	{ "output",	required_argument,	NULL, 'o' },
	TOOL_LONGOPTS,
	{ NULL, 0, NULL, 0 }
};

#define H_ORIGIN	"mq-origin"
#define H_ORIGIN_ID	"mq-origin-id"
#define H_REASON	"mq-reason"
#define H_COUNT		"mq-count"
#define H_TIME		"mq-time"
#define H_REPLAY_OF	"mq-replay-of"
#define H_VIA		MQ_DL_VIA	/* routed through a dead-letter exchange */
#define H_KEYWAS	MQ_DL_KEYWAS	/* ... and its key before */

struct dlq {
	mq_spool	*spool;
	mq_stream	*origin;	/* STREAM */
	mq_stream	*dlq;		/* its dead letters; NULL: none yet */
	char		 name[MQ_NAME_MAX + 1];	/* of the dead-letter stream */
	int		 format;	/* -o, or -1 */
	mq_id		*ids;		/* ID arguments, sorted; NULL: all */
	size_t		 nids;
	int		 status;	/* exit status so far */
	int		 shared;	/* -d: only those whose mq-origin is STREAM */
	/* walk()'s callback while filtering, and what it saw. */
	int		(*fn)(const struct mq_msg *, void *);
	void		*arg;
	size_t		 seen;
	mq_id		 last;
};

/* The header 'name' of 'm', or NULL. */
static const struct mq_header *
header(const struct mq_msg *m, const char *name)
{
	size_t i, len = strlen(name);

	for (i = 0; i < m->nheaders; i++)
		if (m->headers[i].namelen == len &&
		    memcmp(m->headers[i].name, name, len) == 0)
			return &m->headers[i];
	return NULL;
}

static int
idcmp(const void *a, const void *b)
{
	return mq_id_cmp(*(const mq_id *)a, *(const mq_id *)b);
}

/* ---------------------------------------------------------------------
 * Walking the dead letters
 * ------------------------------------------------------------------- */

/* Whether entry 'm' is a dead letter of STREAM (always, without -d). */
static int
mine(const struct dlq *d, const struct mq_msg *m)
{
	const struct mq_header *h;
	const char *name = mq_stream_name(d->origin);

	if (!d->shared)
		return 1;
	return (h = header(m, H_ORIGIN)) != NULL &&
	    h->valuelen == strlen(name) && memcmp(h->value, name,
	    h->valuelen) == 0;
}

/* mq_range's callback while filtering: d->fn for STREAM's only. */
static int
filter(const struct mq_msg *m, void *arg)
{
	struct dlq *d = arg;

	d->seen++;
	d->last = m->id;
	return mine(d, m) ? d->fn(m, d->arg) : 0;
}

/*
 * Calls 'fn' with the dead letters among entries of the dead-letter
 * stream from 'from' on, at most 'count' entries looked at (0: all);
 * returns how many were looked at, the last of them in d->last.
 */
static size_t
range(struct dlq *d, mq_id from, size_t count,
    int (*fn)(const struct mq_msg *, void *), void *arg)
{
	static const mq_id last = { UINT64_MAX, UINT64_MAX };
	int rc;

	d->fn = fn;
	d->arg = arg;
	d->seen = 0;
	if ((rc = mq_range(d->dlq, from, last, count, 0, filter, d)) != MQ_OK)
		tool_die(rc, "%s", d->name);
	return d->seen;
}

/*
 * Calls 'fn' for each dead letter: those named by the ID arguments (an id
 * not there is skipped, and counted in '*missing' if not NULL), or all.
 */
static void
walk(struct dlq *d, int (*fn)(const struct mq_msg *, void *), void *arg,
    size_t *missing)
{
	static const mq_id first = { 0, 0 };
	struct mq_msg m;
	mq_reader *rd;
	size_t i;
	int rc;

	if (d->dlq == NULL) {
		if (missing != NULL)
			*missing += d->nids;
		return;
	}
	if (d->ids == NULL) {
		range(d, first, 0, fn, arg);
		return;
	}
	if ((rc = mq_reader_open(d->dlq, &rd)) != MQ_OK)
		tool_die(rc, "%s", d->name);
	for (i = 0; i < d->nids; i++) {
		if ((rc = mq_reader_get(rd, d->ids[i], &m)) < 0)
			tool_die(rc, "%s", d->name);
		if (rc == 0 || !mine(d, &m)) {
			if (missing != NULL)
				(*missing)++;
		} else if (fn(&m, arg) != 0)
			break;
	}
	mq_reader_close(rd);
}

/* ---------------------------------------------------------------------
 * list, show, count
 * ------------------------------------------------------------------- */

/* Writes the value of header 'name' of 'm' escaped, or "-". */
static void
put_header(const struct mq_msg *m, const char *name)
{
	const struct mq_header *h;

	if ((h = header(m, name)) != NULL)
		tool_write_escaped(stdout, h->value, h->valuelen);
	else
		putchar('-');
}

/* One line of list: ID, reason, origin id, count, body. */
static int
list_one(const struct mq_msg *m, void *arg)
{
	struct dlq *d = arg;
	char id[MQ_ID_MAX];

	if (d->format != -1) {
		tool_write_msg(stdout, d->format, d->name, m);
		return ferror(stdout);
	}
	fwrite(id, 1, mq_id_fmt(id, m->id), stdout);
	putchar('\t');
	put_header(m, H_REASON);
	putchar('\t');
	put_header(m, H_ORIGIN_ID);
	putchar('\t');
	put_header(m, H_COUNT);
	putchar('\t');
	tool_write_escaped(stdout, m->body, m->bodylen);
	putchar('\n');
	return ferror(stdout);
}

static void
cmd_list(struct dlq *d)
{
	walk(d, list_one, d, NULL);
}

static void
cmd_show(struct dlq *d)
{
	size_t missing = 0;

	if (d->format == -1)
		d->format = TOOL_JSON;
	walk(d, list_one, d, &missing);
	if (missing > 0) {
		if (!topt.quiet)
			warnx("%s: %zu of the ids not found", d->name,
			    missing);
		d->status = EX_NOINPUT;
	}
}

static int
count_one(const struct mq_msg *m, void *arg)
{
	(void)m;
	(*(uint64_t *)arg)++;
	return 0;
}

static void
cmd_count(struct dlq *d)
{
	struct mq_stream_info info;
	int rc;

	info.length = 0;
	if (d->shared)
		walk(d, count_one, &info.length, NULL);
	else if (d->dlq != NULL &&
	    (rc = mq_stream_info(d->dlq, &info)) != MQ_OK)
		tool_die(rc, "%s", d->name);
	printf("%llu\n", (unsigned long long)info.length);
}

/* ---------------------------------------------------------------------
 * purge
 * ------------------------------------------------------------------- */

/* Notes the id of dead letter 'm' in the growing array 'arg'. */
static int
note_id(const struct mq_msg *m, void *arg)
{
	struct dlq *d = arg;
	mq_id *ids;

	if ((d->nids & (d->nids + 1)) == 0) {	/* 0, 1, 3, 7, ...: full */
		ids = reallocarray(d->ids, 2 * d->nids + 2, sizeof(*ids));
		if (ids == NULL)
			err(EX_TEMPFAIL, "reallocarray");
		d->ids = ids;
	}
	d->ids[d->nids++] = m->id;
	return 0;
}

static void
cmd_purge(struct dlq *d)
{
	uint64_t removed = 0;
	size_t i, n, deleted;
	int rc;

	/* Not all of the stream: the ids of STREAM's, then those. */
	if (d->shared && d->ids == NULL && d->dlq != NULL) {
		walk(d, note_id, d, NULL);
		if (d->ids == NULL)
			return;
	}
	if (d->dlq == NULL)
		;
	else if (d->ids == NULL) {
		if ((rc = mq_trim_maxlen(d->dlq, 0, &removed)) != MQ_OK)
			tool_die(rc, "%s", d->name);
	} else {
		for (i = 0; i < d->nids; i += n) {
			n = d->nids - i < CHUNK ? d->nids - i : CHUNK;
			rc = mq_delete(d->dlq, d->ids + i, n, &deleted);
			if (rc != MQ_OK)
				tool_die(rc, "%s", d->name);
			removed += deleted;
		}
	}
	if (topt.verbose)
		printf("%llu\n", (unsigned long long)removed);
}

/* ---------------------------------------------------------------------
 * replay
 * ------------------------------------------------------------------- */

/* An id of a dead letter whose copy is in an origin stream. */
struct copied {
	RB_ENTRY(copied) entry;
	mq_id		 id;
};
RB_HEAD(copied_tree, copied);

static int
copied_cmp(struct copied *a, struct copied *b)
{
	return mq_id_cmp(a->id, b->id);
}
/* RB_GENERATE_STATIC of libbsd needs BSD's __unused, which glibc lacks. */
RB_GENERATE_INTERNAL(copied_tree, copied, entry, copied_cmp,
    __attribute__((unused)) static)

/* An origin stream that dead letters go back to. */
struct origin {
	struct origin	*next;
	char		 name[MQ_NAME_MAX + 1];
	mq_stream	*stream;	/* NULL: it is gone */
	struct copied_tree copied;	/* mq-replay-of ids found in it */
};

/* A dead letter, copied out of the dead-letter stream. */
struct letter {
	mq_id		 id;
	struct origin	*origin;
	struct mq_msg	 copy;		/* what goes back, headers and all */
	struct mq_header *headers;	/* its headers */
	unsigned char	*block;		/* what they point into (mq_msg_copy) */
	char		 idstr[MQ_ID_MAX];
};

struct replay {
	struct dlq	*d;
	struct origin	*origins;
	int64_t		 since;		/* time of the oldest dead letter */
	struct letter	 letters[CHUNK];
	size_t		 n;
	mq_id		 last;		/* of the last letter read */
	uint64_t	 replayed, skipped;
};

/* The origin of 'm': its mq-origin header, else STREAM. */
static struct origin *
origin_of(struct replay *rp, const struct mq_msg *m)
{
	const struct mq_header *h;
	struct origin *o;
	char name[MQ_NAME_MAX + 1];
	int rc;

	if ((h = header(m, H_ORIGIN)) != NULL && h->valuelen > 0 &&
	    h->valuelen <= MQ_NAME_MAX && memchr(h->value, 0, h->valuelen) ==
	    NULL) {
		memcpy(name, h->value, h->valuelen);
		name[h->valuelen] = '\0';
	} else
		strlcpy(name, mq_stream_name(rp->d->origin), sizeof(name));
	for (o = rp->origins; o != NULL; o = o->next)
		if (strcmp(o->name, name) == 0)
			return o;
	if ((o = calloc(1, sizeof(*o))) == NULL)
		err(EX_TEMPFAIL, "calloc");
	strlcpy(o->name, name, sizeof(o->name));
	RB_INIT(&o->copied);
	rc = mq_stream_open(rp->d->spool, name, 0, &o->stream);
	if (rc != MQ_OK) {
		rp->d->status = tool_warn(rc, "%s", name);
		o->stream = NULL;
	}
	o->next = rp->origins;
	rp->origins = o;
	return o;
}

/* Notes the dead letter that origin entry 'm' is a copy of, if any. */
static int
scan_one(const struct mq_msg *m, void *arg)
{
	struct origin *o = arg;
	const struct mq_header *h;
	struct copied *c;
	mq_id id;

	if ((h = header(m, H_REPLAY_OF)) == NULL ||
	    tool_parse_id(h->value, h->valuelen, &id) != MQ_OK)
		return 0;
	if ((c = malloc(sizeof(*c))) == NULL)
		err(EX_TEMPFAIL, "malloc");
	c->id = id;
	if (RB_INSERT(copied_tree, &o->copied, c) != NULL)
		free(c);
	return 0;
}

/*
 * Finds the copies already in each origin, from the time of the oldest
 * dead letter on: the copies of a replay that was killed before it
 * deleted the dead letters.
 */
static void
scan_origins(struct replay *rp)
{
	static const mq_id last = { UINT64_MAX, UINT64_MAX };
	struct origin *o;
	mq_id since = { (uint64_t)rp->since, 0 };
	int rc;

	for (o = rp->origins; o != NULL; o = o->next) {
		if (o->stream == NULL)
			continue;
		rc = mq_range(o->stream, since, last, 0, 0, scan_one, o);
		if (rc != MQ_OK)
			tool_die(rc, "%s", o->name);
	}
}

/* First pass: the origins and the time of the oldest dead letter. */
static int
survey_one(const struct mq_msg *m, void *arg)
{
	struct replay *rp = arg;

	origin_of(rp, m);
	if (m->time_ms < rp->since)
		rp->since = m->time_ms < 0 ? 0 : m->time_ms;
	return 0;
}

/* Whether header 'h' is one libmq or a replay added. */
static int
added_header(const struct mq_header *h)
{
	static const char *const names[] = {
		H_ORIGIN, H_ORIGIN_ID, H_REASON, H_COUNT, H_TIME, H_VIA,
		H_KEYWAS, H_REPLAY_OF
	};
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (h->namelen == strlen(names[i]) &&
		    memcmp(h->name, names[i], h->namelen) == 0)
			return 1;
	return 0;
}

/*
 * Copies dead letter 'm' into the chunk as the message to append: the
 * headers the dead-lettering added are left out, mq-replay-of is added;
 * one routed through a dead-letter exchange gets its key back.
 */
static int
collect_one(const struct mq_msg *m, void *arg)
{
	struct replay *rp = arg;
	struct letter *l = &rp->letters[rp->n++];
	const struct mq_header *kw;
	struct mq_header *h;
	size_t i, k = 0, len = 0, cap = 0, off;

	memset(l, 0, sizeof(*l));
	l->id = m->id;
	l->origin = origin_of(rp, m);
	mq_id_fmt(l->idstr, m->id);
	if (mq_msg_copy(m, &l->block, &len, &cap, &off) != MQ_OK)
		err(EX_TEMPFAIL, "malloc");
	mq_msg_at(l->block, off, &l->copy);
	if (header(&l->copy, H_VIA) != NULL) {
		kw = header(&l->copy, H_KEYWAS);
		l->copy.key = kw != NULL ? kw->value : NULL;
		l->copy.keylen = kw != NULL ? kw->valuelen : 0;
	}
	l->headers = calloc(m->nheaders + 1, sizeof(*l->headers));
	if (l->headers == NULL)
		err(EX_TEMPFAIL, "calloc");
	for (i = 0; i < l->copy.nheaders; i++)
		if (!added_header(&l->copy.headers[i]))
			l->headers[k++] = l->copy.headers[i];
	h = &l->headers[k++];
	h->name = H_REPLAY_OF;
	h->namelen = strlen(H_REPLAY_OF);
	h->value = l->idstr;
	h->valuelen = strlen(l->idstr);
	l->copy.headers = l->headers;
	l->copy.nheaders = k;
	if (l->copy.body == NULL)
		l->copy.body = "";
	rp->last = m->id;
	return rp->n == CHUNK;
}

static void
letter_free(struct letter *l)
{
	free(l->headers);
	free(l->block);
}

/*
 * Replays the chunk: appends, per origin and in one batch, the copies of
 * dead letters not copied before, then deletes the dead letters.  Those
 * whose origin is gone stay.
 */
static void
replay_chunk(struct replay *rp)
{
	static struct mq_msg msgs[CHUNK];
	static mq_id done[CHUNK];
	struct copied key;
	struct origin *o;
	size_t i, n, ndone = 0, deleted;
	int rc;

	for (o = rp->origins; o != NULL; o = o->next) {
		if (o->stream == NULL)
			continue;
		for (i = 0, n = 0; i < rp->n; i++) {
			if (rp->letters[i].origin != o)
				continue;
			done[ndone++] = rp->letters[i].id;
			key.id = rp->letters[i].id;
			if (RB_FIND(copied_tree, &o->copied, &key) != NULL) {
				rp->skipped++;
				continue;
			}
			msgs[n++] = rp->letters[i].copy;
		}
		if (n > 0 && (rc = mq_append(o->stream, msgs, n, NULL,
		    NULL)) != MQ_OK)
			tool_die(rc, "%s", o->name);
		rp->replayed += n;
	}
	if (ndone > 1)
		qsort(done, ndone, sizeof(done[0]), idcmp);
	if (ndone > 0 && (rc = mq_delete(rp->d->dlq, done, ndone,
	    &deleted)) != MQ_OK)
		tool_die(rc, "%s", rp->d->name);
	for (i = 0; i < rp->n; i++)
		letter_free(&rp->letters[i]);
	rp->n = 0;
}

static void
cmd_replay(struct dlq *d)
{
	static struct replay rp;
	struct origin *o, *next;
	struct copied *c, *cn;
	mq_id from = { 0, 0 };
	size_t i;

	rp.d = d;
	rp.since = INT64_MAX;
	walk(d, survey_one, &rp, NULL);
	scan_origins(&rp);
	if (d->ids != NULL) {
		/* The named ones, CHUNK at a time. */
		for (i = 0; i < d->nids; i += CHUNK) {
			struct dlq part = *d;

			part.ids = d->ids + i;
			part.nids = d->nids - i < CHUNK ? d->nids - i : CHUNK;
			walk(&part, collect_one, &rp, NULL);
			replay_chunk(&rp);
		}
	} else if (d->dlq != NULL) {
		/* All of them, CHUNK entries at a time, each after the last. */
		while (range(d, from, CHUNK, collect_one, &rp) > 0) {
			from = d->last;
			replay_chunk(&rp);
			if (mq_id_incr(&from) != MQ_OK)
				break;
		}
	}
	if (topt.verbose)
		printf("%llu\n", (unsigned long long)rp.replayed);
	if (topt.verbose > 1 && rp.skipped > 0)
		warnx("%llu already replayed before", (unsigned long long)
		    rp.skipped);
	for (o = rp.origins; o != NULL; o = next) {
		next = o->next;
		RB_FOREACH_SAFE(c, copied_tree, &o->copied, cn) {
			RB_REMOVE(copied_tree, &o->copied, c);
			free(c);
		}
		if (o->stream != NULL)
			mq_stream_close(o->stream);
		free(o);
	}
}

/* ---------------------------------------------------------------------
 * main
 * ------------------------------------------------------------------- */

static const struct {
	const char	*name;
	void		(*fn)(struct dlq *);
	int		 ids;		/* takes ID arguments */
} cmds[] = {
	{ "list",	cmd_list,	0 },
	{ "show",	cmd_show,	1 },
	{ "count",	cmd_count,	0 },
	{ "replay",	cmd_replay,	1 },
	{ "purge",	cmd_purge,	1 },
};

int
main(int argc, char *argv[])
{
	struct dlq d;
	size_t c, i;
	int ch, rc;

	memset(&d, 0, sizeof(d));
	d.format = -1;
	tool_init("mq-dlq", usage, help);
	while ((ch = tool_getopt(argc, argv, "d:o:" TOOL_SHORTOPTS, longopts)) !=
	    -1) {
		switch (ch) {
		case 'd':
			d.shared = 1;
			if (strlcpy(d.name, optarg, sizeof(d.name)) >=
			    sizeof(d.name))
				errx(TOOL_USAGE, "-d %s: name too long", optarg);
			break;
		case 'o':
			if ((d.format = tool_format_parse(optarg)) == -1)
				errx(TOOL_USAGE, "-o %s: expected text, json "
				    "or raw", optarg);
			break;
		default:
			tool_option(ch, optarg);
		}
	}
	argc -= optind;
	argv += optind;
	if (argc == 0)
		tool_usage_error("missing command: list, show, count, replay "
		    "or purge");
	tool_operands(argc, argv, 2, -1, "COMMAND STREAM");
	for (c = 0; c < sizeof(cmds) / sizeof(cmds[0]); c++)
		if (strcmp(argv[0], cmds[c].name) == 0)
			break;
	if (c == sizeof(cmds) / sizeof(cmds[0]))
		tool_usage_error("unknown command %s", argv[0]);
	if (argc > 2 && !cmds[c].ids)
		tool_usage_error("%s takes no IDs", argv[0]);
	if (argc > 2) {
		d.nids = argc - 2;
		if ((d.ids = calloc(d.nids, sizeof(*d.ids))) == NULL)
			err(EX_TEMPFAIL, "calloc");
		for (i = 0; i < d.nids; i++)
			if (tool_parse_id(argv[i + 2], strlen(argv[i + 2]),
			    &d.ids[i]) != MQ_OK)
				errx(EX_DATAERR, "%s: not a stream id",
				    argv[i + 2]);
		qsort(d.ids, d.nids, sizeof(*d.ids), idcmp);
	}

	d.spool = tool_spool(0);
	d.origin = tool_stream(d.spool, argv[1], 0);
	if (!d.shared && (rc = mq_dead_letter_name(d.origin, d.name)) != MQ_OK)
		tool_die(rc, "%s", argv[1]);
	rc = mq_stream_open(d.spool, d.name, 0, &d.dlq);
	if (rc == MQ_ENOSTREAM)
		d.dlq = NULL;		/* nothing was dead-lettered yet */
	else if (rc != MQ_OK)
		tool_die(rc, "%s", d.name);

	cmds[c].fn(&d);

	tool_flush(stdout);
	if (d.dlq != NULL)
		mq_stream_close(d.dlq);
	mq_stream_close(d.origin);
	tool_spool_close(d.spool);
	free(d.ids);
	return d.status;
}
