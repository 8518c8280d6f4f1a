/*
 * xtable.c - the exchanges and bindings of SPOOL/exchanges, in memory.
 *
 * Model: the file is text, the line "version 1", then one line per
 * exchange that a user declared and per binding that is not one of
 * amq.topic's queue bindings without arguments (those are SPOOL/bindings,
 * route.c), in the order they were made:
 *
 *   exchange NAME TYPE FLAGS OWNER ARGS
 *   binding SOURCE queue|exchange DEST KEY ARGS
 *
 * Names are percent-encoded as stream names are, a key as a pattern of
 * SPOOL/bindings ("%" when empty), FLAGS "-" or a comma-separated list
 * of durable, auto-delete and internal, OWNER "-" for a durable exchange
 * or the name of its owner's file in SPOOL/owners, ARGS "-" or the bytes
 * in lower-case hex.  The built-in exchanges are never in the file.
 *
 * A table is the file parsed.  A change marks records gone and adds new
 * ones, and the same rules apply wherever a table changes, under the
 * file's lock (exchange.c) or in a process's copy (xroute.c): an
 * exchange takes its bindings with it, from it and to it; the transient
 * exchanges of a dead owner go; and an auto-delete exchange goes when
 * it lost its last binding as a source.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "stream.h"
#include "xtable.h"

#define XFILE_VERSION	"version 1"

const struct mq_xrec mq_xbuiltins[] = {
	{ "", MQ_XDIRECT, MQ_XDURABLE, "", NULL, 0, 0, 0 },
	{ "amq.direct", MQ_XDIRECT, MQ_XDURABLE, "", NULL, 0, 0, 0 },
	{ "amq.fanout", MQ_XFANOUT, MQ_XDURABLE, "", NULL, 0, 0, 0 },
	{ MQ_TOPIC_EXCHANGE, MQ_XTOPIC, MQ_XDURABLE, "", NULL, 0, 0, 0 },
	{ "amq.headers", MQ_XHEADERS, MQ_XDURABLE, "", NULL, 0, 0, 0 },
	{ "amq.match", MQ_XHEADERS, MQ_XDURABLE, "", NULL, 0, 0, 0 },
};
const size_t mq_nxbuiltins = sizeof(mq_xbuiltins) / sizeof(mq_xbuiltins[0]);

static const char *const type_names[] = {
	[MQ_XDIRECT] = "direct", [MQ_XFANOUT] = "fanout",
	[MQ_XTOPIC] = "topic", [MQ_XHEADERS] = "headers",
};

static const struct {
	int		 flag;
	const char	*name;
} flag_names[] = {
	{ MQ_XDURABLE, "durable" },
	{ MQ_XAUTODELETE, "auto-delete" },
	{ MQ_XINTERNAL, "internal" },
};

const char *
mq_xtype_name(enum mq_xtype type)
{
	if (type < MQ_XDIRECT || type > MQ_XHEADERS)
		return NULL;
	return type_names[type];
}

int
mq_xtype_parse(const char *s, enum mq_xtype *type)
{
	enum mq_xtype t;

	for (t = MQ_XDIRECT; t <= MQ_XHEADERS; t++)
		if (strcmp(s, type_names[t]) == 0) {
			*type = t;
			return MQ_OK;
		}
	return MQ_EINVAL;
}

const struct mq_xrec *
mq_xbuiltin(const char *name)
{
	size_t i;

	for (i = 0; i < mq_nxbuiltins; i++)
		if (strcmp(mq_xbuiltins[i].name, name) == 0)
			return &mq_xbuiltins[i];
	return NULL;
}

/* ------------------------------------------------------------------
 * Parsing: each field decoded into the arena, which the text's length
 * bounds (no field decodes to more bytes than it has).
 * ---------------------------------------------------------------- */

struct parse {
	char		*arena;
	size_t		 used, size;
};

/* A decoded field's room in the arena: the rest of it. */
static char *
room(struct parse *p, size_t *size)
{
	*size = p->size - p->used;
	return p->arena + p->used;
}

static const char *
field_name(struct parse *p, const char *enc)
{
	size_t size;
	char *buf = room(p, &size);
	int n;

	if ((n = mq_name_decode(enc, buf, size)) < 0)
		return NULL;
	p->used += (size_t)n + 1;
	return buf;
}

static const char *
field_key(struct parse *p, const char *enc)
{
	size_t size;
	char *buf = room(p, &size);

	if (mq_pattern_decode(enc, buf, size) != MQ_OK)
		return NULL;
	p->used += strlen(buf) + 1;
	return buf;
}

/* An owner's name: "-" for none, else digits, a-f and dashes. */
static const char *
field_owner(struct parse *p, const char *s)
{
	size_t size, n = strlen(s);
	char *buf = room(p, &size);

	if (strcmp(s, "-") == 0)
		n = 0;
	else if (n == 0 || strspn(s, "0123456789abcdef-") != n)
		return NULL;
	memcpy(buf, s, n);
	buf[n] = '\0';
	p->used += n + 1;
	return buf;
}

/* Arguments: "-" for none, else pairs of lower-case hex digits. */
static int
field_args(struct parse *p, const char *s, const void **args, size_t *len)
{
	size_t size, i, n = strlen(s);
	unsigned char *buf = (unsigned char *)room(p, &size);
	int hi, lo;

	*args = NULL;
	*len = 0;
	if (strcmp(s, "-") == 0)
		return MQ_OK;
	if (n == 0 || n % 2 != 0 || n / 2 > MQ_XARGS_MAX)
		return MQ_ECORRUPT;
	for (i = 0; i < n / 2; i++) {
		hi = mq_hexval(s[2 * i]);
		lo = mq_hexval(s[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return MQ_ECORRUPT;
		buf[i] = (unsigned char)(hi << 4 | lo);
	}
	p->used += n / 2;
	*args = buf;
	*len = n / 2;
	return MQ_OK;
}

static int
field_flags(const char *s, int *flags)
{
	char copy[64], *w, *save = NULL;
	size_t i;

	*flags = 0;
	if (strcmp(s, "-") == 0)
		return MQ_OK;
	if (strlcpy(copy, s, sizeof(copy)) >= sizeof(copy))
		return MQ_ECORRUPT;
	for (w = strtok_r(copy, ",", &save); w != NULL;
	    w = strtok_r(NULL, ",", &save)) {
		for (i = 0; i < sizeof(flag_names) / sizeof(flag_names[0]); i++)
			if (strcmp(w, flag_names[i].name) == 0)
				break;
		if (i == sizeof(flag_names) / sizeof(flag_names[0]))
			return MQ_ECORRUPT;
		*flags |= flag_names[i].flag;
	}
	return MQ_OK;
}

/* Splits 'line' on single spaces into exactly 'n' fields. */
static int
split(char *line, char **f, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if ((f[i] = strsep(&line, " ")) == NULL || f[i][0] == '\0')
			return MQ_ECORRUPT;
	}
	return line == NULL ? MQ_OK : MQ_ECORRUPT;
}

static int
parse_exchange(struct mq_xtable *t, struct parse *p, char **f)
{
	struct mq_xrec r;

	memset(&r, 0, sizeof(r));
	if ((r.name = field_name(p, f[0])) == NULL ||
	    mq_xtype_parse(f[1], &r.type) != MQ_OK ||
	    field_flags(f[2], &r.flags) != MQ_OK ||
	    (r.owner = field_owner(p, f[3])) == NULL ||
	    field_args(p, f[4], &r.args, &r.argslen) != MQ_OK)
		return MQ_ECORRUPT;
	return mq_xtable_add(t, &r);
}

static int
parse_binding(struct mq_xtable *t, struct parse *p, char **f)
{
	struct mq_brec b;

	memset(&b, 0, sizeof(b));
	if (strcmp(f[1], "queue") == 0)
		b.dkind = MQ_DEST_QUEUE;
	else if (strcmp(f[1], "exchange") == 0)
		b.dkind = MQ_DEST_EXCHANGE;
	else
		return MQ_ECORRUPT;
	if ((b.source = field_name(p, f[0])) == NULL ||
	    (b.dest = field_name(p, f[2])) == NULL ||
	    (b.key = field_key(p, f[3])) == NULL ||
	    field_args(p, f[4], &b.args, &b.argslen) != MQ_OK)
		return MQ_ECORRUPT;
	return mq_xtable_add_binding(t, &b);
}

/* Parses the lines after the version, of the text 'text' ('len' bytes). */
static int
parse(struct mq_xtable *t, char *text, size_t len)
{
	struct parse p = { NULL, 0, len + 1 };
	char *line, *save = NULL, *f[6];
	int rc = MQ_OK;

	if ((p.arena = t->arena = malloc(p.size)) == NULL)
		return mq_sys();
	line = strtok_r(text, "\n", &save);
	if (line == NULL || strncmp(line, "version ", 8) != 0)
		return MQ_ECORRUPT;
	if (strcmp(line, XFILE_VERSION) != 0)
		return MQ_EVERSION;
	while (rc == MQ_OK && (line = strtok_r(NULL, "\n", &save)) != NULL) {
		if ((rc = split(line, f, 6)) != MQ_OK)
			break;
		if (strcmp(f[0], "exchange") == 0)
			rc = parse_exchange(t, &p, f + 1);
		else if (strcmp(f[0], "binding") == 0)
			rc = parse_binding(t, &p, f + 1);
		else
			rc = MQ_ECORRUPT;
	}
	return rc;
}

int
mq_xtable_read(mq_spool *sp, struct mq_xtable *t)
{
	char path[PATH_MAX], *text;
	size_t len;
	int rc;

	memset(t, 0, sizeof(*t));
	snprintf(path, sizeof(path), "%s/exchanges", sp->path);
	if ((rc = mq_read_file(path, &text, &len)) != MQ_OK)
		return rc == MQ_ESYS && errno == ENOENT ? MQ_OK : rc;
	rc = parse(t, text, len);
	free(text);
	if (rc != MQ_OK)
		mq_xtable_free(t);
	t->changes = 0;		/* read, not changed */
	return rc;
}

void
mq_xtable_free(struct mq_xtable *t)
{
	free(t->x);
	free(t->b);
	free(t->arena);
	memset(t, 0, sizeof(*t));
}

/* ------------------------------------------------------------------
 * Formatting.
 * ---------------------------------------------------------------- */

struct out {
	char		*buf;
	size_t		 len, cap;
	int		 rc;
};

static void
put(struct out *o, const char *s, size_t n)
{
	if (o->rc != MQ_OK)
		return;
	if ((o->rc = mq_grow(&o->buf, &o->cap, o->len + n + 1, 1)) != MQ_OK)
		return;
	memcpy(o->buf + o->len, s, n);
	o->len += n;
	o->buf[o->len] = '\0';
}

static void
put_str(struct out *o, const char *s)
{
	put(o, s, strlen(s));
}

/* ' ' and a name, or a key when 'key' is set. */
static void
put_name(struct out *o, const char *name, int key)
{
	char enc[MQ_ENCNAME_MAX];

	if (o->rc != MQ_OK)
		return;
	if (key)
		o->rc = mq_pattern_encode(name, enc, sizeof(enc));
	else if (mq_name_encode(name, enc, sizeof(enc)) < 0)
		o->rc = MQ_EBADNAME;
	put_str(o, " ");
	put_str(o, enc);
}

static void
put_args(struct out *o, const void *args, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *a = args;
	char pair[2];
	size_t i;

	if (len == 0) {
		put_str(o, " -");
		return;
	}
	put_str(o, " ");
	for (i = 0; i < len; i++) {
		pair[0] = hex[a[i] >> 4];
		pair[1] = hex[a[i] & 0xf];
		put(o, pair, 2);
	}
}

static void
put_flags(struct out *o, int flags)
{
	const char *sep = " ";
	size_t i;

	for (i = 0; i < sizeof(flag_names) / sizeof(flag_names[0]); i++)
		if (flags & flag_names[i].flag) {
			put_str(o, sep);
			put_str(o, flag_names[i].name);
			sep = ",";
		}
	if (*sep == ' ')
		put_str(o, " -");
}

int
mq_xtable_format(const struct mq_xtable *t, char **buf, size_t *len)
{
	struct out o = { NULL, 0, 0, MQ_OK };
	size_t i;

	put_str(&o, XFILE_VERSION "\n");
	for (i = 0; i < t->nx; i++) {
		const struct mq_xrec *r = &t->x[i];

		if (r->gone)
			continue;
		put_str(&o, "exchange");
		put_name(&o, r->name, 0);
		put_str(&o, " ");
		put_str(&o, mq_xtype_name(r->type));
		put_flags(&o, r->flags);
		put_str(&o, " ");
		put_str(&o, r->owner[0] != '\0' ? r->owner : "-");
		put_args(&o, r->args, r->argslen);
		put_str(&o, "\n");
	}
	for (i = 0; i < t->nb; i++) {
		const struct mq_brec *b = &t->b[i];

		if (b->gone)
			continue;
		put_str(&o, "binding");
		put_name(&o, b->source, 0);
		put_str(&o, b->dkind == MQ_DEST_QUEUE ? " queue" : " exchange");
		put_name(&o, b->dest, 0);
		put_name(&o, b->key, 1);
		put_args(&o, b->args, b->argslen);
		put_str(&o, "\n");
	}
	if (o.rc != MQ_OK) {
		free(o.buf);
		return o.rc;
	}
	*buf = o.buf;
	*len = o.len;
	return MQ_OK;
}

/* ------------------------------------------------------------------
 * Changes.
 * ---------------------------------------------------------------- */

struct mq_xrec *
mq_xtable_find(struct mq_xtable *t, const char *name)
{
	size_t i;

	for (i = 0; i < t->nx; i++)
		if (!t->x[i].gone && strcmp(t->x[i].name, name) == 0)
			return &t->x[i];
	return NULL;
}

static int
args_eq(const void *a, size_t alen, const void *b, size_t blen)
{
	return alen == blen && (alen == 0 || memcmp(a, b, alen) == 0);
}

struct mq_brec *
mq_xtable_find_binding(struct mq_xtable *t, const struct mq_brec *want)
{
	struct mq_brec *b;
	size_t i;

	for (i = 0; i < t->nb; i++) {
		b = &t->b[i];
		if (!b->gone && b->dkind == want->dkind &&
		    strcmp(b->source, want->source) == 0 &&
		    strcmp(b->dest, want->dest) == 0 &&
		    strcmp(b->key, want->key) == 0 &&
		    args_eq(b->args, b->argslen, want->args, want->argslen))
			return b;
	}
	return NULL;
}

size_t
mq_xtable_sources(const struct mq_xtable *t, const char *name)
{
	size_t i, n = 0;

	for (i = 0; i < t->nb; i++)
		n += !t->b[i].gone && strcmp(t->b[i].source, name) == 0;
	return n;
}

int
mq_xtable_add(struct mq_xtable *t, const struct mq_xrec *r)
{
	int rc;

	if ((rc = mq_grow(&t->x, &t->capx, t->nx + 1, sizeof(*t->x))) != MQ_OK)
		return rc;
	t->x[t->nx] = *r;
	t->x[t->nx].gone = 0;
	t->x[t->nx++].had_sources = 0;
	t->changes++;
	return MQ_OK;
}

int
mq_xtable_add_binding(struct mq_xtable *t, const struct mq_brec *b)
{
	int rc;

	if ((rc = mq_grow(&t->b, &t->capb, t->nb + 1, sizeof(*t->b))) != MQ_OK)
		return rc;
	t->b[t->nb] = *b;
	t->b[t->nb++].gone = 0;
	t->changes++;
	return MQ_OK;
}

void
mq_xtable_remove_binding(struct mq_xtable *t, struct mq_brec *b)
{
	if (!b->gone) {
		b->gone = 1;
		t->changes++;
	}
}

void
mq_xtable_remove(struct mq_xtable *t, struct mq_xrec *r)
{
	struct mq_brec *b;
	size_t i;

	r->gone = 1;
	t->changes++;
	for (i = 0; i < t->nb; i++) {
		b = &t->b[i];
		if (strcmp(b->source, r->name) == 0 ||
		    (b->dkind == MQ_DEST_EXCHANGE &&
		    strcmp(b->dest, r->name) == 0))
			mq_xtable_remove_binding(t, b);
	}
}

void
mq_xtable_begin(struct mq_xtable *t)
{
	size_t i;

	for (i = 0; i < t->nx; i++)
		t->x[i].had_sources = (t->x[i].flags & MQ_XAUTODELETE) &&
		    mq_xtable_sources(t, t->x[i].name) > 0;
}

void
mq_xtable_drop_dead(struct mq_xtable *t,
    int (*alive)(const char *owner, void *arg), void *arg)
{
	size_t i;

	for (i = 0; i < t->nx; i++)
		if (!t->x[i].gone && t->x[i].owner[0] != '\0' &&
		    !alive(t->x[i].owner, arg))
			mq_xtable_remove(t, &t->x[i]);
}

void
mq_xtable_settle(struct mq_xtable *t)
{
	size_t i;
	int again;

	/* Each round removes one exchange at least, or ends. */
	do {
		again = 0;
		for (i = 0; i < t->nx; i++)
			if (!t->x[i].gone && t->x[i].had_sources &&
			    mq_xtable_sources(t, t->x[i].name) == 0) {
				mq_xtable_remove(t, &t->x[i]);
				again = 1;
			}
	} while (again);
}
