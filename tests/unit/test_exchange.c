/*
 * test_exchange.c - exchanges and their bindings: declare, redeclare,
 * passive and delete; the built-in ones; routes of each type, through
 * other exchanges and the default exchange; amq.topic shared with
 * mq_bind(); two processes; transient exchanges of an owner that died.
 */
#include <sys/wait.h>

#include <errno.h>
#include <signal.h>
#include <time.h>

#include "helpers.h"
#include "mq.h"

static int
declare(mq_spool *sp, const char *name, enum mq_xtype type)
{
	return mq_exchange_declare(sp, name, type, MQ_XDURABLE, NULL, 0);
}

static struct mq_binding
binding(const char *source, enum mq_dest dkind, const char *dest,
    const char *key)
{
	struct mq_binding b;

	memset(&b, 0, sizeof(b));
	b.source = source;
	b.dkind = dkind;
	b.dest = dest;
	b.key = key;
	return b;
}

static int
bind_queue(mq_spool *sp, const char *source, const char *queue,
    const char *key)
{
	struct mq_binding b = binding(source, MQ_DEST_QUEUE, queue, key);

	return mq_exchange_bind(sp, &b);
}

static int
bind_exchange(mq_spool *sp, const char *source, const char *dest,
    const char *key)
{
	struct mq_binding b = binding(source, MQ_DEST_EXCHANGE, dest, key);

	return mq_exchange_bind(sp, &b);
}

static int
str_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/*
 * The queues of a route, sorted and joined with ',' into 'buf' ("" for
 * none), so that a test compares sets; each must come once.
 */
static const char *
route(mq_spool *sp, const char *exchange, const char *key,
    mq_xmatch_fn *match, void *ctx, char *buf, size_t size)
{
	const char *const *q;
	const char *sorted[64];
	size_t n, i;

	assert_int_equal(mq_exchange_route(sp, exchange, key, match, ctx, &q,
	    &n), MQ_OK);
	assert_true(n <= NELEM(sorted));
	memcpy(sorted, q, n * sizeof(*q));
	qsort(sorted, n, sizeof(*sorted), str_cmp);
	buf[0] = '\0';
	for (i = 0; i < n; i++) {
		assert_true(i == 0 || strcmp(sorted[i - 1], sorted[i]) != 0);
		if (i > 0)
			strlcat(buf, ",", size);
		strlcat(buf, sorted[i], size);
	}
	return buf;
}

#define ROUTE(sp, x, key) route(sp, x, key, NULL, NULL, buf, sizeof(buf))

static int
count_binding(const struct mq_binding *b, void *arg)
{
	(*(int *)arg)++;
	return 0;
}

static int
nbindings(mq_spool *sp, const char *source, enum mq_dest dkind,
    const char *dest)
{
	int n = 0;

	assert_int_equal(mq_exchange_bindings(sp, source, dkind, dest,
	    count_binding, &n), MQ_OK);
	return n;
}

static int
count_topic(const char *pattern, const char *queue, void *arg)
{
	(*(int *)arg)++;
	return 0;
}

/* Lines of SPOOL/bindings, as mq_bindings() sees them. */
static int
ntopic_lines(mq_spool *sp)
{
	int n = 0;

	assert_int_equal(mq_bindings(sp, count_topic, &n), MQ_OK);
	return n;
}

/* Whether SPOOL/exchanges holds 'text'. */
static int
file_has(const char *dir, const char *text)
{
	char path[4096], buf[65536];
	size_t n;
	FILE *fp;

	snprintf(path, sizeof(path), "%s/exchanges", dir);
	if ((fp = fopen(path, "r")) == NULL)
		return 0;
	n = fread(buf, 1, sizeof(buf) - 1, fp);
	fclose(fp);
	buf[n] = '\0';
	return strstr(buf, text) != NULL;
}

/* ------------------------------------------------------------------
 * Exchanges.
 * ---------------------------------------------------------------- */

static void
test_builtins(void **state)
{
	static const struct {
		const char	*name;
		enum mq_xtype	 type;
	} want[] = {
		{ "", MQ_XDIRECT }, { "amq.direct", MQ_XDIRECT },
		{ "amq.fanout", MQ_XFANOUT }, { "amq.topic", MQ_XTOPIC },
		{ "amq.headers", MQ_XHEADERS }, { "amq.match", MQ_XHEADERS },
	};
	struct test_spool *f = *state;
	struct mq_exchange x;
	size_t i;

	for (i = 0; i < NELEM(want); i++) {
		assert_int_equal(mq_exchange_lookup(f->sp, want[i].name, &x),
		    MQ_OK);
		assert_string_equal(x.name, want[i].name);
		assert_int_equal(x.type, want[i].type);
		assert_int_equal(x.flags, MQ_XDURABLE);
		assert_true(x.builtin);
	}
	/* Redeclared alike, or passively: fine; otherwise refused. */
	assert_int_equal(declare(f->sp, "amq.direct", MQ_XDIRECT), MQ_OK);
	assert_int_equal(mq_exchange_declare(f->sp, "amq.fanout", MQ_XDIRECT,
	    MQ_XPASSIVE, NULL, 0), MQ_OK);
	assert_int_equal(declare(f->sp, "amq.direct", MQ_XFANOUT), MQ_EEXIST);
	assert_int_equal(mq_exchange_declare(f->sp, "amq.topic", MQ_XTOPIC, 0,
	    NULL, 0), MQ_EEXIST);
	assert_int_equal(declare(f->sp, "", MQ_XDIRECT), MQ_ERESERVED);
	/* Never deleted. */
	assert_int_equal(mq_exchange_delete(f->sp, "amq.direct", 0),
	    MQ_ERESERVED);
	assert_int_equal(mq_exchange_delete(f->sp, "", 0), MQ_ERESERVED);
	assert_int_equal(mq_exchange_lookup(f->sp, "amq.direct", &x), MQ_OK);
}

static void
test_declare_redeclare(void **state)
{
	struct test_spool *f = *state;
	static const char args[] = "\x01\0x-args";
	struct mq_exchange x;

	assert_int_equal(mq_exchange_lookup(f->sp, "orders", &x),
	    MQ_ENOEXCHANGE);
	assert_int_equal(mq_exchange_declare(f->sp, "orders", MQ_XTOPIC,
	    MQ_XDURABLE | MQ_XINTERNAL, args, sizeof(args)), MQ_OK);
	assert_int_equal(mq_exchange_lookup(f->sp, "orders", &x), MQ_OK);
	assert_string_equal(x.name, "orders");
	assert_int_equal(x.type, MQ_XTOPIC);
	assert_int_equal(x.flags, MQ_XDURABLE | MQ_XINTERNAL);
	assert_false(x.builtin);
	assert_int_equal(x.argslen, sizeof(args));
	assert_memory_equal(x.args, args, sizeof(args));

	/* The same again: fine.  Anything else: inequivalent. */
	assert_int_equal(mq_exchange_declare(f->sp, "orders", MQ_XTOPIC,
	    MQ_XDURABLE | MQ_XINTERNAL, args, sizeof(args)), MQ_OK);
	assert_int_equal(mq_exchange_declare(f->sp, "orders", MQ_XDIRECT,
	    MQ_XDURABLE | MQ_XINTERNAL, args, sizeof(args)), MQ_EEXIST);
	assert_int_equal(mq_exchange_declare(f->sp, "orders", MQ_XTOPIC,
	    MQ_XDURABLE, args, sizeof(args)), MQ_EEXIST);
	assert_int_equal(mq_exchange_declare(f->sp, "orders", MQ_XTOPIC,
	    MQ_XDURABLE | MQ_XINTERNAL | MQ_XAUTODELETE, args, sizeof(args)),
	    MQ_EEXIST);
	assert_int_equal(mq_exchange_declare(f->sp, "orders", MQ_XTOPIC,
	    MQ_XDURABLE | MQ_XINTERNAL, args, sizeof(args) - 1), MQ_EEXIST);
	assert_int_equal(mq_exchange_declare(f->sp, "orders", MQ_XTOPIC,
	    MQ_XDURABLE | MQ_XINTERNAL, "\x02\0x-args", sizeof(args)),
	    MQ_EEXIST);
	assert_int_equal(mq_exchange_declare(f->sp, "orders", MQ_XTOPIC,
	    MQ_XDURABLE | MQ_XINTERNAL, NULL, 0), MQ_EEXIST);

	/* Passive: whether it exists, whatever else is asked. */
	assert_int_equal(mq_exchange_declare(f->sp, "orders", MQ_XFANOUT,
	    MQ_XPASSIVE, NULL, 0), MQ_OK);
	assert_int_equal(mq_exchange_declare(f->sp, "nope", MQ_XFANOUT,
	    MQ_XPASSIVE, NULL, 0), MQ_ENOEXCHANGE);
	assert_int_equal(mq_exchange_lookup(f->sp, "nope", &x), MQ_ENOEXCHANGE);

	/* The reserved prefix, and what is out of range. */
	assert_int_equal(declare(f->sp, "amq.mine", MQ_XDIRECT), MQ_ERESERVED);
	assert_int_equal(mq_exchange_declare(f->sp, "amq.mine", MQ_XDIRECT,
	    MQ_XPASSIVE, NULL, 0), MQ_ENOEXCHANGE);
	assert_int_equal(declare(f->sp, "amq", MQ_XDIRECT), MQ_OK);
	assert_int_equal(declare(f->sp, "bad", (enum mq_xtype)9), MQ_EINVAL);
	assert_int_equal(mq_exchange_declare(f->sp, "bad", MQ_XDIRECT,
	    MQ_XDURABLE | 0x40, NULL, 0), MQ_EINVAL);
	assert_int_equal(mq_exchange_declare(f->sp, "bad", MQ_XDIRECT,
	    MQ_XDURABLE, NULL, 3), MQ_EINVAL);
	assert_int_equal(mq_exchange_declare(f->sp, "bad", MQ_XDIRECT,
	    MQ_XDURABLE, args, MQ_XARGS_MAX + 1), MQ_EINVAL);
	{
		char longname[MQ_NAME_MAX + 2];

		memset(longname, 'x', sizeof(longname) - 1);
		longname[sizeof(longname) - 1] = '\0';
		assert_int_equal(declare(f->sp, longname, MQ_XDIRECT),
		    MQ_EBADNAME);
	}
	assert_int_equal(mq_exchange_lookup(f->sp, "bad", &x), MQ_ENOEXCHANGE);
}

/* A durable exchange is in the file: another handle finds it, and it. */
static void
test_durable_reopen(void **state)
{
	struct test_spool *f = *state;
	struct mq_exchange x;
	mq_spool *sp2;

	assert_int_equal(mq_exchange_declare(f->sp, "a b/c", MQ_XHEADERS,
	    MQ_XDURABLE | MQ_XAUTODELETE, "\0\xff", 2), MQ_OK);
	mq_spool_close(f->sp);
	assert_int_equal(mq_spool_open(f->dir, 0, &sp2), MQ_OK);
	f->sp = sp2;
	assert_int_equal(mq_exchange_lookup(f->sp, "a b/c", &x), MQ_OK);
	assert_int_equal(x.type, MQ_XHEADERS);
	assert_int_equal(x.flags, MQ_XDURABLE | MQ_XAUTODELETE);
	assert_int_equal(x.argslen, 2);
	assert_memory_equal(x.args, "\0\xff", 2);
}

static int
count_exchange(const struct mq_exchange *x, void *arg)
{
	(*(int *)arg)++;
	return 0;
}

static void
test_list(void **state)
{
	struct test_spool *f = *state;
	int n = 0;

	assert_int_equal(mq_exchanges(f->sp, count_exchange, &n), MQ_OK);
	assert_int_equal(n, 6);
	assert_int_equal(declare(f->sp, "one", MQ_XDIRECT), MQ_OK);
	assert_int_equal(declare(f->sp, "two", MQ_XFANOUT), MQ_OK);
	n = 0;
	assert_int_equal(mq_exchanges(f->sp, count_exchange, &n), MQ_OK);
	assert_int_equal(n, 8);
}

static void
test_delete_if_unused(void **state)
{
	struct test_spool *f = *state;
	struct mq_exchange x;
	char buf[256];

	assert_int_equal(declare(f->sp, "x", MQ_XFANOUT), MQ_OK);
	assert_int_equal(declare(f->sp, "up", MQ_XFANOUT), MQ_OK);
	assert_int_equal(bind_queue(f->sp, "x", "q", ""), MQ_OK);
	assert_int_equal(bind_exchange(f->sp, "up", "x", ""), MQ_OK);
	assert_int_equal(mq_exchange_delete(f->sp, "x", 1), MQ_EINUSE);
	assert_int_equal(mq_exchange_lookup(f->sp, "x", &x), MQ_OK);
	assert_string_equal(ROUTE(f->sp, "up", "k"), "q");

	/* Bound to as a destination only: unused. */
	{
		struct mq_binding b = binding("x", MQ_DEST_QUEUE, "q", "");

		assert_int_equal(mq_exchange_unbind(f->sp, &b), MQ_OK);
	}
	assert_int_equal(mq_exchange_delete(f->sp, "x", 1), MQ_OK);
	assert_int_equal(mq_exchange_lookup(f->sp, "x", &x), MQ_ENOEXCHANGE);
	assert_int_equal(mq_exchange_delete(f->sp, "x", 0), MQ_ENOEXCHANGE);
	/* The binding to it went with it. */
	assert_int_equal(nbindings(f->sp, "up", MQ_DEST_QUEUE, NULL), 0);

	/* Without if-unused, its bindings go with it. */
	assert_int_equal(declare(f->sp, "y", MQ_XDIRECT), MQ_OK);
	assert_int_equal(bind_queue(f->sp, "y", "q", "k"), MQ_OK);
	assert_int_equal(bind_exchange(f->sp, "up", "y", ""), MQ_OK);
	assert_int_equal(mq_exchange_delete(f->sp, "y", 0), MQ_OK);
	assert_int_equal(nbindings(f->sp, NULL, MQ_DEST_QUEUE, NULL), 0);
	assert_false(file_has(f->dir, "binding"));
	assert_int_equal(mq_exchange_delete(f->sp, "amq.nope", 0),
	    MQ_ERESERVED);
}

static void
test_auto_delete(void **state)
{
	struct test_spool *f = *state;
	struct mq_binding b = binding("ad", MQ_DEST_QUEUE, "q", "k");
	struct mq_exchange x;

	/* Declared without bindings, it stays. */
	assert_int_equal(mq_exchange_declare(f->sp, "ad", MQ_XDIRECT,
	    MQ_XDURABLE | MQ_XAUTODELETE, NULL, 0), MQ_OK);
	assert_int_equal(declare(f->sp, "other", MQ_XDIRECT), MQ_OK);
	assert_int_equal(mq_exchange_lookup(f->sp, "ad", &x), MQ_OK);
	assert_int_equal(mq_exchange_bind(f->sp, &b), MQ_OK);
	assert_int_equal(bind_queue(f->sp, "ad", "q2", "k"), MQ_OK);
	assert_int_equal(mq_exchange_unbind(f->sp, &b), MQ_OK);
	assert_int_equal(mq_exchange_lookup(f->sp, "ad", &x), MQ_OK);
	/* Its last binding as a source gone, it goes. */
	b.dest = "q2";
	assert_int_equal(mq_exchange_unbind(f->sp, &b), MQ_OK);
	assert_int_equal(mq_exchange_lookup(f->sp, "ad", &x), MQ_ENOEXCHANGE);

	/* And so when what it was bound to goes. */
	assert_int_equal(mq_exchange_declare(f->sp, "ad2", MQ_XFANOUT,
	    MQ_XDURABLE | MQ_XAUTODELETE, NULL, 0), MQ_OK);
	assert_int_equal(bind_exchange(f->sp, "ad2", "other", ""), MQ_OK);
	assert_int_equal(mq_exchange_delete(f->sp, "other", 0), MQ_OK);
	assert_int_equal(mq_exchange_lookup(f->sp, "ad2", &x), MQ_ENOEXCHANGE);
}

/* ------------------------------------------------------------------
 * Bindings.
 * ---------------------------------------------------------------- */

static void
test_bind_idempotent(void **state)
{
	struct test_spool *f = *state;
	struct mq_binding b = binding("x", MQ_DEST_QUEUE, "q", "k");
	char buf[256];

	assert_int_equal(mq_exchange_bind(f->sp, &b), MQ_ENOEXCHANGE);
	assert_int_equal(declare(f->sp, "x", MQ_XDIRECT), MQ_OK);
	assert_int_equal(mq_exchange_bind(f->sp, &b), MQ_OK);
	assert_int_equal(mq_exchange_bind(f->sp, &b), MQ_OK);
	assert_int_equal(nbindings(f->sp, "x", MQ_DEST_QUEUE, NULL), 1);
	/* Other arguments: another binding. */
	b.args = "a";
	b.argslen = 1;
	assert_int_equal(mq_exchange_bind(f->sp, &b), MQ_OK);
	assert_int_equal(nbindings(f->sp, "x", MQ_DEST_QUEUE, "q"), 2);
	assert_string_equal(ROUTE(f->sp, "x", "k"), "q");
	assert_int_equal(mq_exchange_unbind(f->sp, &b), MQ_OK);
	assert_int_equal(mq_exchange_unbind(f->sp, &b), MQ_OK);
	b.args = NULL;
	b.argslen = 0;
	assert_int_equal(nbindings(f->sp, "x", MQ_DEST_QUEUE, "q"), 1);
	assert_int_equal(mq_exchange_unbind(f->sp, &b), MQ_OK);
	assert_int_equal(nbindings(f->sp, "x", MQ_DEST_QUEUE, "q"), 0);
	assert_string_equal(ROUTE(f->sp, "x", "k"), "");

	/* What may not be bound. */
	b = binding("x", MQ_DEST_EXCHANGE, "nope", "");
	assert_int_equal(mq_exchange_bind(f->sp, &b), MQ_ENOEXCHANGE);
	b = binding("", MQ_DEST_QUEUE, "q", "q");
	assert_int_equal(mq_exchange_bind(f->sp, &b), MQ_ERESERVED);
	b = binding("x", MQ_DEST_EXCHANGE, "", "");
	assert_int_equal(mq_exchange_bind(f->sp, &b), MQ_ERESERVED);
	b = binding("nope", MQ_DEST_QUEUE, "q", "");
	assert_int_equal(mq_exchange_unbind(f->sp, &b), MQ_ENOEXCHANGE);
}

static void
test_bindings_listed(void **state)
{
	struct test_spool *f = *state;

	assert_int_equal(declare(f->sp, "x", MQ_XTOPIC), MQ_OK);
	assert_int_equal(bind_queue(f->sp, "x", "q1", "a"), MQ_OK);
	assert_int_equal(bind_queue(f->sp, "x", "q2", "b"), MQ_OK);
	assert_int_equal(bind_queue(f->sp, "amq.direct", "q1", "c"), MQ_OK);
	assert_int_equal(bind_queue(f->sp, "amq.topic", "q1", "d"), MQ_OK);
	assert_int_equal(bind_exchange(f->sp, "amq.fanout", "x", ""), MQ_OK);
	assert_int_equal(nbindings(f->sp, "x", MQ_DEST_QUEUE, NULL), 2);
	assert_int_equal(nbindings(f->sp, NULL, MQ_DEST_QUEUE, "q1"), 3);
	assert_int_equal(nbindings(f->sp, NULL, MQ_DEST_EXCHANGE, "x"), 1);
	assert_int_equal(nbindings(f->sp, "amq.fanout", MQ_DEST_QUEUE, "x"), 0);
	assert_int_equal(nbindings(f->sp, NULL, MQ_DEST_QUEUE, NULL), 5);
}

/* Deleting a queue: its bindings go, from every exchange and file. */
static void
test_unbind_queue(void **state)
{
	struct test_spool *f = *state;
	char buf[256];

	assert_int_equal(declare(f->sp, "x", MQ_XFANOUT), MQ_OK);
	assert_int_equal(bind_queue(f->sp, "x", "q", ""), MQ_OK);
	assert_int_equal(bind_queue(f->sp, "x", "keep", ""), MQ_OK);
	assert_int_equal(bind_queue(f->sp, "amq.direct", "q", "k"), MQ_OK);
	assert_int_equal(mq_bind(f->sp, "a.#", "q"), MQ_OK);
	assert_int_equal(mq_bind(f->sp, "a.#", "keep"), MQ_OK);
	assert_int_equal(nbindings(f->sp, NULL, MQ_DEST_QUEUE, "q"), 3);
	assert_int_equal(mq_exchange_unbind_queue(f->sp, "q"), MQ_OK);
	assert_int_equal(nbindings(f->sp, NULL, MQ_DEST_QUEUE, "q"), 0);
	assert_int_equal(ntopic_lines(f->sp), 1);
	assert_string_equal(ROUTE(f->sp, "x", ""), "keep");
	assert_string_equal(ROUTE(f->sp, "amq.topic", "a.b"), "keep");
}

/* ------------------------------------------------------------------
 * Routes.
 * ---------------------------------------------------------------- */

static void
test_route_direct(void **state)
{
	struct test_spool *f = *state;
	char buf[256], key[32], q[32];
	int i;

	assert_int_equal(bind_queue(f->sp, "amq.direct", "q1", "a"), MQ_OK);
	assert_int_equal(bind_queue(f->sp, "amq.direct", "q2", "a"), MQ_OK);
	assert_int_equal(bind_queue(f->sp, "amq.direct", "q3", "b"), MQ_OK);
	assert_int_equal(bind_queue(f->sp, "amq.direct", "q1", "c"), MQ_OK);
	assert_int_equal(bind_queue(f->sp, "amq.direct", "q4", ""), MQ_OK);
	assert_string_equal(ROUTE(f->sp, "amq.direct", "a"), "q1,q2");
	assert_string_equal(ROUTE(f->sp, "amq.direct", "b"), "q3");
	assert_string_equal(ROUTE(f->sp, "amq.direct", "c"), "q1");
	assert_string_equal(ROUTE(f->sp, "amq.direct", ""), "q4");
	assert_string_equal(ROUTE(f->sp, "amq.direct", "z"), "");
	assert_string_equal(ROUTE(f->sp, "amq.direct", "a.b"), "");

	/* One of many: another direct exchange with the same keys. */
	assert_int_equal(declare(f->sp, "many", MQ_XDIRECT), MQ_OK);
	for (i = 0; i < 100; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		snprintf(q, sizeof(q), "m%d", i);
		assert_int_equal(bind_queue(f->sp, "many", q, key), MQ_OK);
	}
	assert_int_equal(bind_queue(f->sp, "many", "q1", "a"), MQ_OK);
	assert_string_equal(ROUTE(f->sp, "many", "k42"), "m42");
	assert_string_equal(ROUTE(f->sp, "many", "a"), "q1");
	assert_string_equal(ROUTE(f->sp, "amq.direct", "k42"), "");
	{
		const char *const *qs;
		size_t n;

		assert_int_equal(mq_exchange_route(f->sp, "nope", "a", NULL,
		    NULL, &qs, &n), MQ_ENOEXCHANGE);
	}
}

static void
test_route_fanout(void **state)
{
	struct test_spool *f = *state;
	char buf[256];

	assert_string_equal(ROUTE(f->sp, "amq.fanout", "any"), "");
	assert_int_equal(bind_queue(f->sp, "amq.fanout", "q1", "x"), MQ_OK);
	assert_int_equal(bind_queue(f->sp, "amq.fanout", "q1", "y"), MQ_OK);
	assert_int_equal(bind_queue(f->sp, "amq.fanout", "q2", ""), MQ_OK);
	assert_string_equal(ROUTE(f->sp, "amq.fanout", "any"), "q1,q2");
	assert_string_equal(ROUTE(f->sp, "amq.fanout", ""), "q1,q2");
}

static void
test_route_topic(void **state)
{
	struct test_spool *f = *state;
	char buf[256];

	assert_int_equal(declare(f->sp, "animals", MQ_XTOPIC), MQ_OK);
	assert_int_equal(bind_queue(f->sp, "animals", "q1", "*.orange.*"),
	    MQ_OK);
	assert_int_equal(bind_queue(f->sp, "animals", "q2", "*.*.rabbit"),
	    MQ_OK);
	assert_int_equal(bind_queue(f->sp, "animals", "q2", "lazy.#"), MQ_OK);
	assert_int_equal(bind_queue(f->sp, "animals", "q3", "#"), MQ_OK);
	assert_string_equal(ROUTE(f->sp, "animals", "quick.orange.rabbit"),
	    "q1,q2,q3");
	assert_string_equal(ROUTE(f->sp, "animals", "lazy.orange.elephant"),
	    "q1,q2,q3");
	assert_string_equal(ROUTE(f->sp, "animals", "quick.orange.fox"),
	    "q1,q3");
	assert_string_equal(ROUTE(f->sp, "animals", "lazy.pink.rabbit"),
	    "q2,q3");
	assert_string_equal(ROUTE(f->sp, "animals", "lazy"), "q2,q3");
	assert_string_equal(ROUTE(f->sp, "animals", "quick.orange"), "q3");
	assert_string_equal(ROUTE(f->sp, "animals", "orange"), "q3");
	assert_string_equal(ROUTE(f->sp, "animals", ""), "q3");

	/* Words at the ends, empty ones too, decide alone or not at all. */
	assert_int_equal(bind_queue(f->sp, "animals", "q4",
	    "quick.orange.rabbit"), MQ_OK);
	assert_int_equal(bind_queue(f->sp, "animals", "q5", ".x"), MQ_OK);
	assert_int_equal(bind_queue(f->sp, "animals", "q6", "a..b"), MQ_OK);
	assert_int_equal(bind_queue(f->sp, "animals", "q7", "a.*.b"), MQ_OK);
	assert_int_equal(bind_queue(f->sp, "animals", "q8", "a"), MQ_OK);
	assert_string_equal(ROUTE(f->sp, "animals", "quick.orange.rabbit"),
	    "q1,q2,q3,q4");
	assert_string_equal(ROUTE(f->sp, "animals", ".x"), "q3,q5");
	assert_string_equal(ROUTE(f->sp, "animals", "x"), "q3");
	assert_string_equal(ROUTE(f->sp, "animals", "a..b"), "q3,q6,q7");
	assert_string_equal(ROUTE(f->sp, "animals", "a.c.b"), "q3,q7");
	assert_string_equal(ROUTE(f->sp, "animals", "a.b"), "q3");
	assert_string_equal(ROUTE(f->sp, "animals", "a"), "q3,q8");
	assert_string_equal(ROUTE(f->sp, "animals", "a.a"), "q3");
}

/*
 * A headers matcher as a door would write one, on a made-up encoding:
 * a binding's arguments are "all:" or "any:" then "name=value;" pairs,
 * the message's headers (ctx) one such string.
 */
static int
headers_match(const void *args, size_t len, void *ctx)
{
	char want[256], *pair, *save = NULL;
	int all, hits = 0, pairs = 0;

	assert_true(len < sizeof(want));
	memcpy(want, args, len);
	want[len] = '\0';
	all = strncmp(want, "all:", 4) == 0;
	for (pair = strtok_r(want + 4, ";", &save); pair != NULL;
	    pair = strtok_r(NULL, ";", &save)) {
		char needle[260];

		snprintf(needle, sizeof(needle), "%s;", pair);
		pairs++;
		hits += strstr(ctx, needle) != NULL;
	}
	return all ? hits == pairs : hits > 0;
}

static void
test_route_headers(void **state)
{
	struct test_spool *f = *state;
	struct mq_binding b = binding("amq.match", MQ_DEST_QUEUE, "q1", "");
	char buf[256];

	b.args = "all:format=pdf;type=report;";
	b.argslen = strlen(b.args);
	assert_int_equal(mq_exchange_bind(f->sp, &b), MQ_OK);
	b.dest = "q2";
	b.args = "any:format=pdf;type=log;";
	b.argslen = strlen(b.args);
	assert_int_equal(mq_exchange_bind(f->sp, &b), MQ_OK);
	assert_string_equal(route(f->sp, "amq.match", "ignored", headers_match,
	    "format=pdf;type=report;", buf, sizeof(buf)), "q1,q2");
	assert_string_equal(route(f->sp, "amq.match", "", headers_match,
	    "format=pdf;", buf, sizeof(buf)), "q2");
	assert_string_equal(route(f->sp, "amq.match", "", headers_match,
	    "format=zip;type=log;", buf, sizeof(buf)), "q2");
	assert_string_equal(route(f->sp, "amq.match", "", headers_match,
	    "format=zip;", buf, sizeof(buf)), "");
	/* Without a matcher, nothing matches. */
	assert_string_equal(ROUTE(f->sp, "amq.match", ""), "");
	/* Another headers exchange has bindings of its own. */
	assert_string_equal(route(f->sp, "amq.headers", "", headers_match,
	    "format=pdf;type=report;", buf, sizeof(buf)), "");
}

static void
test_route_exchange_to_exchange(void **state)
{
	struct test_spool *f = *state;
	char buf[256];

	/* A walk that did not end would be killed, and the test failed. */
	alarm(30);
	assert_int_equal(declare(f->sp, "front", MQ_XDIRECT), MQ_OK);
	assert_int_equal(declare(f->sp, "fan", MQ_XFANOUT), MQ_OK);
	assert_int_equal(declare(f->sp, "topics", MQ_XTOPIC), MQ_OK);
	assert_int_equal(bind_exchange(f->sp, "front", "fan", "k"), MQ_OK);
	assert_int_equal(bind_exchange(f->sp, "fan", "topics", ""), MQ_OK);
	assert_int_equal(bind_queue(f->sp, "fan", "all", ""), MQ_OK);
	assert_int_equal(bind_queue(f->sp, "topics", "ks", "k"), MQ_OK);
	assert_int_equal(bind_queue(f->sp, "topics", "all", "#"), MQ_OK);
	assert_int_equal(bind_queue(f->sp, "front", "direct", "k"), MQ_OK);
	/* Each binding by its own exchange's type, each queue once. */
	assert_string_equal(ROUTE(f->sp, "front", "k"), "all,direct,ks");
	assert_string_equal(ROUTE(f->sp, "front", "j"), "");
	assert_string_equal(ROUTE(f->sp, "fan", "j"), "all");

	/* A cycle, and a loop on itself: the walk ends. */
	assert_int_equal(bind_exchange(f->sp, "topics", "front", "#"), MQ_OK);
	assert_int_equal(bind_exchange(f->sp, "fan", "fan", ""), MQ_OK);
	assert_string_equal(ROUTE(f->sp, "front", "k"), "all,direct,ks");
	assert_string_equal(ROUTE(f->sp, "topics", "k"), "all,direct,ks");
	assert_string_equal(ROUTE(f->sp, "fan", "j"), "all");
	alarm(0);
}

static void
test_default_exchange(void **state)
{
	struct test_spool *f = *state;
	mq_stream *s;
	char buf[256];

	assert_string_equal(ROUTE(f->sp, "", "orders"), "");
	assert_int_equal(mq_stream_open(f->sp, "orders", MQ_CREATE, &s), MQ_OK);
	mq_stream_close(s);
	assert_string_equal(ROUTE(f->sp, "", "orders"), "orders");
	assert_string_equal(ROUTE(f->sp, "", "orders"), "orders");
	/* Known to exist until a stream is removed. */
	assert_int_equal(mq_stream_remove(f->sp, "orders"), MQ_OK);
	assert_string_equal(ROUTE(f->sp, "", "orders"), "");
	/* amq.topic's log is no queue. */
	assert_int_equal(mq_stream_open(f->sp, MQ_TOPIC_EXCHANGE, MQ_CREATE,
	    &s), MQ_OK);
	mq_stream_close(s);
	assert_string_equal(ROUTE(f->sp, "", MQ_TOPIC_EXCHANGE), "");
	assert_string_equal(ROUTE(f->sp, "", ""), "");
}

/* amq.topic's queue bindings are SPOOL/bindings, both ways. */
static void
test_amq_topic_is_mq_bind(void **state)
{
	struct test_spool *f = *state;
	struct mq_binding b = binding(MQ_TOPIC_EXCHANGE, MQ_DEST_QUEUE, "q2",
	    "b.#");
	struct mq_msg m = test_body("hi");
	struct mq_stream_info info;
	mq_stream *s;
	size_t receivers;
	char buf[256];

	assert_int_equal(mq_bind(f->sp, "a.*", "q1"), MQ_OK);
	assert_int_equal(nbindings(f->sp, MQ_TOPIC_EXCHANGE, MQ_DEST_QUEUE,
	    "q1"), 1);
	assert_string_equal(ROUTE(f->sp, MQ_TOPIC_EXCHANGE, "a.x"), "q1");

	assert_int_equal(mq_exchange_bind(f->sp, &b), MQ_OK);
	assert_int_equal(ntopic_lines(f->sp), 2);
	assert_false(file_has(f->dir, "q2"));
	assert_string_equal(ROUTE(f->sp, MQ_TOPIC_EXCHANGE, "b.c.d"), "q2");
	assert_int_equal(mq_exchange_unbind(f->sp, &b), MQ_OK);
	assert_int_equal(ntopic_lines(f->sp), 1);
	assert_int_equal(mq_unbind(f->sp, "a.*", "q1"), MQ_OK);
	assert_string_equal(ROUTE(f->sp, MQ_TOPIC_EXCHANGE, "a.x"), "");

	/* With arguments, or to an exchange: the other file, one exchange. */
	b.args = "x";
	b.argslen = 1;
	assert_int_equal(mq_exchange_bind(f->sp, &b), MQ_OK);
	assert_int_equal(ntopic_lines(f->sp), 0);
	assert_true(file_has(f->dir, "q2"));
	assert_int_equal(declare(f->sp, "fan", MQ_XFANOUT), MQ_OK);
	assert_int_equal(bind_exchange(f->sp, MQ_TOPIC_EXCHANGE, "fan", "b.*"),
	    MQ_OK);
	assert_int_equal(bind_queue(f->sp, "fan", "q3", ""), MQ_OK);
	assert_string_equal(ROUTE(f->sp, MQ_TOPIC_EXCHANGE, "b.c"), "q2,q3");

	/* mq_publish (mq-publish, Redis's PUBLISH) routes through it all. */
	assert_int_equal(mq_publish(f->sp, "b.c", &m, 1, &receivers), MQ_OK);
	assert_int_equal(receivers, 2);
	assert_int_equal(mq_stream_open(f->sp, "q3", 0, &s), MQ_OK);
	assert_int_equal(mq_stream_info(s, &info), MQ_OK);
	assert_int_equal(info.length, 1);
	mq_stream_close(s);
}

/* ------------------------------------------------------------------
 * Processes.
 * ---------------------------------------------------------------- */

/* Runs 'fn' in a child with a spool handle of its own; it must pass. */
static void
in_child(const char *dir, void (*fn)(mq_spool *sp))
{
	mq_spool *sp;
	pid_t pid;

	assert_true((pid = fork()) != -1);
	if (pid == 0) {
		if (mq_spool_open(dir, 0, &sp) != MQ_OK)
			_exit(1);
		fn(sp);
		mq_spool_close(sp);
		_exit(0);
	}
	test_wait_ok(pid);
}

static void
child_changes(mq_spool *sp)
{
	if (declare(sp, "theirs", MQ_XFANOUT) != MQ_OK ||
	    bind_queue(sp, "theirs", "q", "") != MQ_OK ||
	    bind_queue(sp, "amq.direct", "q2", "k") != MQ_OK ||
	    mq_bind(sp, "t.#", "q3") != MQ_OK)
		_exit(1);
}

static void
child_deletes(mq_spool *sp)
{
	if (mq_exchange_delete(sp, "theirs", 0) != MQ_OK)
		_exit(1);
}

/* Only SPOOL/bindings changes, and only its counter moves. */
static void
child_binds(mq_spool *sp)
{
	if (mq_bind(sp, "v.#", "q4") != MQ_OK)
		_exit(1);
}

/* A copy made before another process changed things is read again. */
static void
test_two_processes(void **state)
{
	struct test_spool *f = *state;
	struct mq_exchange x;
	char buf[256];

	/* Copies made, of nothing. */
	assert_int_equal(mq_exchange_lookup(f->sp, "theirs", &x),
	    MQ_ENOEXCHANGE);
	assert_string_equal(ROUTE(f->sp, "amq.direct", "k"), "");
	assert_string_equal(ROUTE(f->sp, MQ_TOPIC_EXCHANGE, "t.u"), "");

	in_child(f->dir, child_changes);
	assert_int_equal(mq_exchange_lookup(f->sp, "theirs", &x), MQ_OK);
	assert_string_equal(ROUTE(f->sp, "theirs", ""), "q");
	assert_string_equal(ROUTE(f->sp, "amq.direct", "k"), "q2");
	assert_string_equal(ROUTE(f->sp, MQ_TOPIC_EXCHANGE, "t.u"), "q3");

	in_child(f->dir, child_deletes);
	assert_int_equal(mq_exchange_lookup(f->sp, "theirs", &x),
	    MQ_ENOEXCHANGE);

	assert_string_equal(ROUTE(f->sp, MQ_TOPIC_EXCHANGE, "v.w"), "");
	in_child(f->dir, child_binds);
	assert_string_equal(ROUTE(f->sp, MQ_TOPIC_EXCHANGE, "v.w"), "q4");
}

/* In a child, on a handle of its own: a transient exchange bound both ways. */
static int
declare_tmp(void *dir)
{
	mq_spool *sp;

	return mq_spool_open(dir, 0, &sp) != MQ_OK ||
	    mq_exchange_declare(sp, "tmp", MQ_XFANOUT, 0, NULL, 0) != MQ_OK ||
	    bind_queue(sp, "tmp", "q", "") != MQ_OK ||
	    bind_exchange(sp, "durable", "tmp", "") != MQ_OK;
}

static pid_t
transient_owner(const char *dir, int *hold)
{
	return test_fork_waiting(declare_tmp, (void *)dir, hold);
}

static void
test_transient_swept(void **state)
{
	struct test_spool *f = *state;
	struct mq_exchange x;
	size_t removed;
	char buf[256];
	pid_t pid;
	int hold;

	assert_int_equal(declare(f->sp, "durable", MQ_XFANOUT), MQ_OK);
	pid = transient_owner(f->dir, &hold);
	assert_int_equal(mq_exchange_lookup(f->sp, "tmp", &x), MQ_OK);
	assert_int_equal(x.flags, 0);
	assert_string_equal(ROUTE(f->sp, "durable", ""), "q");
	/* Its owner lives: it stays. */
	assert_int_equal(mq_exchange_sweep(f->sp, &removed), MQ_OK);
	assert_int_equal(removed, 0);
	assert_true(file_has(f->dir, "tmp"));

	test_kill_child(pid, hold);
	assert_int_equal(mq_exchange_sweep(f->sp, &removed), MQ_OK);
	assert_int_equal(removed, 1);
	assert_false(file_has(f->dir, "tmp"));
	assert_int_equal(mq_exchange_lookup(f->sp, "tmp", &x), MQ_ENOEXCHANGE);
	assert_string_equal(ROUTE(f->sp, "durable", ""), "");
	assert_int_equal(nbindings(f->sp, NULL, MQ_DEST_QUEUE, NULL), 0);
	assert_int_equal(mq_exchange_lookup(f->sp, "durable", &x), MQ_OK);
}

/* Without a sweep, a copy stops seeing a dead owner's exchange. */
static void
test_transient_dead_unseen(void **state)
{
	struct test_spool *f = *state;
	struct mq_exchange x;
	struct timespec ts = { 0, 20 * 1000 * 1000 };
	char buf[256];
	pid_t pid;
	int i, hold;

	assert_int_equal(declare(f->sp, "durable", MQ_XFANOUT), MQ_OK);
	pid = transient_owner(f->dir, &hold);
	assert_string_equal(ROUTE(f->sp, "durable", ""), "q");
	test_kill_child(pid, hold);
	/* Looked at again within a second or so; ten at most. */
	for (i = 0; i < 500; i++) {
		if (mq_exchange_lookup(f->sp, "tmp", &x) == MQ_ENOEXCHANGE)
			break;
		nanosleep(&ts, NULL);
	}
	assert_int_equal(mq_exchange_lookup(f->sp, "tmp", &x), MQ_ENOEXCHANGE);
	assert_string_equal(ROUTE(f->sp, "durable", ""), "");
	/* Still in the file, until a change or a sweep. */
	assert_true(file_has(f->dir, "tmp"));
	assert_int_equal(declare(f->sp, "other", MQ_XDIRECT), MQ_OK);
	assert_false(file_has(f->dir, "tmp"));
}

/* In a child, on its parent's handle. */
static int
declare_childs(void *sp)
{
	return mq_exchange_declare(sp, "child's", MQ_XDIRECT, 0, NULL, 0);
}

/*
 * A child forked with a handle that owns transient exchanges owns what
 * it declares itself: its death takes those, not its parent's.
 */
static void
test_transient_forked(void **state)
{
	struct test_spool *f = *state;
	struct mq_exchange x;
	size_t removed;
	pid_t pid;
	int hold;

	assert_int_equal(mq_exchange_declare(f->sp, "parent's", MQ_XDIRECT, 0,
	    NULL, 0), MQ_OK);
	pid = test_fork_waiting(declare_childs, f->sp, &hold);
	assert_int_equal(mq_exchange_lookup(f->sp, "child's", &x), MQ_OK);
	test_kill_child(pid, hold);
	assert_int_equal(mq_exchange_sweep(f->sp, &removed), MQ_OK);
	assert_int_equal(removed, 1);
	assert_int_equal(mq_exchange_lookup(f->sp, "child's", &x),
	    MQ_ENOEXCHANGE);
	assert_int_equal(mq_exchange_lookup(f->sp, "parent's", &x), MQ_OK);
}

/* A handle's transient exchanges go when it is closed. */
static void
test_transient_closed(void **state)
{
	struct test_spool *f = *state;
	struct mq_exchange x;
	mq_spool *sp2;

	assert_int_equal(mq_spool_open(f->dir, 0, &sp2), MQ_OK);
	assert_int_equal(mq_exchange_declare(sp2, "tmp", MQ_XDIRECT, 0, NULL,
	    0), MQ_OK);
	assert_int_equal(mq_exchange_lookup(f->sp, "tmp", &x), MQ_OK);
	/* Redeclared by another handle, it stays its first owner's. */
	assert_int_equal(mq_exchange_declare(f->sp, "tmp", MQ_XDIRECT, 0,
	    NULL, 0), MQ_OK);
	mq_spool_close(sp2);
	assert_false(file_has(f->dir, "tmp"));
	assert_int_equal(mq_exchange_lookup(f->sp, "tmp", &x), MQ_ENOEXCHANGE);
}

/* ------------------------------------------------------------------
 * The file.
 * ---------------------------------------------------------------- */


static void
test_file_checked(void **state)
{
	struct test_spool *f = *state;
	struct mq_exchange x;

	test_write_file(f->dir, "exchanges", "version 1\n"
	    "exchange a%2Fb direct durable,internal - 00ff\n"
	    "binding a%2Fb queue q % -\n");
	assert_int_equal(mq_exchange_lookup(f->sp, "a/b", &x), MQ_OK);
	assert_int_equal(x.flags, MQ_XDURABLE | MQ_XINTERNAL);
	assert_int_equal(x.argslen, 2);
	assert_int_equal(nbindings(f->sp, "a/b", MQ_DEST_QUEUE, "q"), 1);
	/* A stale temporary is no trouble to the next change. */
	test_write_file(f->dir, "exchanges.tmp", "garbage");
	assert_int_equal(declare(f->sp, "c", MQ_XFANOUT), MQ_OK);
	assert_int_equal(mq_exchange_lookup(f->sp, "a/b", &x), MQ_OK);
	assert_int_equal(mq_exchange_lookup(f->sp, "c", &x), MQ_OK);

	/* Written behind the library's back: no counter moved. */
	test_write_file(f->dir, "exchanges", "version 2\n");
	assert_int_equal(mq_exchange_declare(f->sp, "d", MQ_XFANOUT,
	    MQ_XDURABLE, NULL, 0), MQ_EVERSION);
	test_write_file(f->dir, "exchanges", "version 1\nexchange x nosuch - - -\n");
	assert_int_equal(mq_exchange_declare(f->sp, "d", MQ_XFANOUT,
	    MQ_XDURABLE, NULL, 0), MQ_ECORRUPT);
	test_write_file(f->dir, "exchanges", "version 1\nexchange x direct - - 0\n");
	assert_int_equal(mq_exchange_sweep(f->sp, NULL), MQ_ECORRUPT);
}


int
main(void)
{
	const struct CMUnitTest tests[] = {
		TEST_ON_SPOOL(test_builtins),
		TEST_ON_SPOOL(test_declare_redeclare),
		TEST_ON_SPOOL(test_durable_reopen),
		TEST_ON_SPOOL(test_list),
		TEST_ON_SPOOL(test_delete_if_unused),
		TEST_ON_SPOOL(test_auto_delete),
		TEST_ON_SPOOL(test_bind_idempotent),
		TEST_ON_SPOOL(test_bindings_listed),
		TEST_ON_SPOOL(test_unbind_queue),
		TEST_ON_SPOOL(test_route_direct),
		TEST_ON_SPOOL(test_route_fanout),
		TEST_ON_SPOOL(test_route_topic),
		TEST_ON_SPOOL(test_route_headers),
		TEST_ON_SPOOL(test_route_exchange_to_exchange),
		TEST_ON_SPOOL(test_default_exchange),
		TEST_ON_SPOOL(test_amq_topic_is_mq_bind),
		TEST_ON_SPOOL(test_two_processes),
		TEST_ON_SPOOL(test_transient_swept),
		TEST_ON_SPOOL(test_transient_dead_unseen),
		TEST_ON_SPOOL(test_transient_forked),
		TEST_ON_SPOOL(test_transient_closed),
		TEST_ON_SPOOL(test_file_checked),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
