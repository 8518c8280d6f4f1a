/*
 * death.c - a dead letter's history as RabbitMQ shows it: the x-death
 * header, x-first-death-exchange, -queue and -reason.
 *
 * Model: libmq writes the history of a dead letter in its headers
 * (libmq/deadletter.c), a run of headers per dead-lettering, newest
 * first:
 *
 *	mq-origin, mq-origin-id, mq-reason, mq-count, mq-time
 *	[mq-exchange]	the dead-letter exchange it was routed through
 *	[mq-key]	its routing key before, when it had one
 *
 * and nothing of AMQP.  The door reads those runs back into what an AMQP
 * client of RabbitMQ 3.10 sees: x-death is an array of tables, one per
 * queue and reason, the most recently dead-lettered first; each holds
 * count (l), reason (rejected, expired, maxlen, delivery_limit), queue,
 * time (T, seconds), exchange (where the message was published before
 * it died there: the dead-letter exchange of the death before, else ""),
 * routing-keys (an array of its key then) and, in the oldest, the
 * message's expiration as original-expiration, which RabbitMQ takes off
 * the message's properties.  A second death of a queue and reason counts
 * up that entry, which keeps the fields of the first, moves to the front
 * and, as RabbitMQ rewrites it, has its keys in sorted order.  The runs
 * themselves are no header of the table.  RabbitMQ's dead letter has its
 * whole headers table sorted by key, as Erlang orders binaries (bytes,
 * then length), and so has the door's (amqp_table_sort).  A dead letter
 * that a client published again brings its own x-death, kept whole in
 * the message (message.c): that is older history, and goes after what
 * libmq wrote, as does RabbitMQ's; its x-first-death-* stay.  Pure, as
 * message.c is.
 */
#include <stdlib.h>
#include <string.h>

#include "message.h"

/* The names of a run, in libmq's order; the last two may be missing. */
static const char *const run_names[] = {
	"mq-origin", "mq-origin-id", "mq-reason", "mq-count", "mq-time",
	MQ_DL_VIA, MQ_DL_KEYWAS
};
#define RUN_MIN	5
#define RUN_MAX	7

/* One entry of x-death: a queue and reason, and its oldest death. */
struct death {
	const struct mq_header *queue, *reason, *time;
	const void	*exchange;	/* published to before: DLX or "" */
	size_t		 exlen;
	const void	*key;		/* routing key before it died */
	size_t		 keylen;
	uint64_t	 count;
	int		 oldest;	/* the first death of all */
};

static int
is(const struct mq_header *h, const char *name)
{
	return h->namelen == strlen(name) &&
	    memcmp(h->name, name, h->namelen) == 0;
}

/* The number of headers of the run at header 'k', or 0 if none starts there. */
static size_t
run_at(const struct mq_msg *m, size_t k)
{
	size_t n = 0;

	/* Every delivery asks: most messages fail here, at the length. */
	if (k >= m->nheaders ||
	    m->headers[k].namelen != sizeof("mq-origin") - 1)
		return 0;
	while (n < RUN_MAX && k + n < m->nheaders &&
	    is(&m->headers[k + n], run_names[n]))
		n++;
	return n >= RUN_MIN ? n : 0;
}

size_t
amqp_death_prefix(const struct mq_msg *m)
{
	size_t k = 0, len;

	while (k < m->nheaders && (len = run_at(m, k)) > 0)
		k += len;
	return k;
}

/* The header 'i' of the run at 'k' (run_names[i]), or NULL. */
static const struct mq_header *
field(const struct mq_msg *m, size_t k, size_t len, size_t i)
{
	return i < len ? &m->headers[k + i] : NULL;
}

/* The header 'name' of 'm' after the runs (from 'k'), or NULL. */
static const struct mq_header *
own_header(const struct mq_msg *m, size_t k, const char *name)
{
	for (; k < m->nheaders; k++)
		if (is(&m->headers[k], name))
			return &m->headers[k];
	return NULL;
}

/*
 * Reads the runs of 'm' into 'd' (room for one per header), merged by
 * queue and reason; returns the number of entries.
 */
static size_t
read_deaths(const struct mq_msg *m, struct death *d)
{
	const struct mq_header *via, *was;
	const void *after = m->key != NULL ? m->key : "";
	size_t afterlen = m->key != NULL ? m->keylen : 0, k, len, n = 0, i;
	struct death *prev = NULL, *e;

	for (k = 0; k < m->nheaders && (len = run_at(m, k)) > 0; k += len) {
		via = field(m, k, len, 5);
		was = field(m, k, len, 6);
		/* The newer death's queue got it through this exchange. */
		if (prev != NULL && via != NULL) {
			prev->exchange = via->value;
			prev->exlen = via->valuelen;
		}
		for (i = 0; i < n; i++)
			if (d[i].queue->valuelen == m->headers[k].valuelen &&
			    memcmp(d[i].queue->value, m->headers[k].value,
			    m->headers[k].valuelen) == 0 &&
			    d[i].reason->valuelen == m->headers[k + 2].valuelen &&
			    memcmp(d[i].reason->value, m->headers[k + 2].value,
			    m->headers[k + 2].valuelen) == 0)
				break;
		e = &d[i];
		if (i == n) {
			n++;
			e->count = 0;
		}
		e->count++;
		/* Older than what the entry had: its fields now. */
		e->queue = &m->headers[k];
		e->reason = &m->headers[k + 2];
		e->time = &m->headers[k + 4];
		e->exchange = "";
		e->exlen = 0;
		/* Routed: its key before is mq-key; else the same as after. */
		if (via != NULL) {
			after = was != NULL ? was->value : "";
			afterlen = was != NULL ? was->valuelen : 0;
		}
		e->key = after;
		e->keylen = afterlen;
		prev = e;
	}
	for (i = 0; i < n; i++)
		d[i].oldest = &d[i] == prev;
	return n;
}

static void
put_reason(struct amqp_buf *b, const struct mq_header *r)
{
	/* libmq's word for the delivery limit has a hyphen. */
	if (r->valuelen == 14 && memcmp(r->value, "delivery-limit", 14) == 0)
		amqp_fput_str(b, "delivery_limit", 14);
	else
		amqp_fput_str(b, r->value, r->valuelen);
}

/* mq-time, in milliseconds, as a timestamp in seconds. */
static uint64_t
seconds(const struct mq_header *h)
{
	uint64_t ms = 0;
	size_t i;

	for (i = 0; i < h->valuelen; i++) {
		unsigned d = ((const unsigned char *)h->value)[i] - '0';

		if (d > 9)
			break;
		ms = ms * 10 + d;
	}
	return ms / 1000;
}

/* One table of x-death, keys as RabbitMQ first writes them, or sorted. */
static void
put_death(struct amqp_buf *b, const struct death *d,
    const struct mq_header *expiration)
{
	size_t t = amqp_fput_table_open(b), a;
	const char *const first[] = { "count", "reason", "queue", "time",
	    "exchange", "routing-keys", "original-expiration" };
	const char *const sorted[] = { "count", "exchange",
	    "original-expiration", "queue", "reason", "routing-keys", "time" };
	const char *const *keys = d->count > 1 ? sorted : first;
	size_t i;

	for (i = 0; i < 7; i++) {
		const char *k = keys[i];

		if (strcmp(k, "original-expiration") == 0 &&
		    (expiration == NULL || !d->oldest))
			continue;
		amqp_fput_key(b, k);
		if (strcmp(k, "count") == 0)
			amqp_fput_i64(b, (int64_t)d->count);
		else if (strcmp(k, "reason") == 0)
			put_reason(b, d->reason);
		else if (strcmp(k, "queue") == 0)
			amqp_fput_str(b, d->queue->value, d->queue->valuelen);
		else if (strcmp(k, "time") == 0)
			amqp_fput_timestamp(b, seconds(d->time));
		else if (strcmp(k, "exchange") == 0)
			amqp_fput_str(b, d->exchange, d->exlen);
		else if (strcmp(k, "routing-keys") == 0) {
			a = amqp_fput_array_open(b);
			amqp_fput_str(b, d->key, d->keylen);
			amqp_put_close(b, a);
		} else
			amqp_fput_str(b, expiration->value,
			    expiration->valuelen);
	}
	amqp_put_close(b, t);
}

/*
 * Takes the entry x-death out of 'table', if it is an array: its
 * elements' bytes in '*old' ('*oldlen'; NULL if none), which the caller
 * frees.  0, or -1 if out of memory.
 */
static int
take_old(struct amqp_buf *table, uint8_t **old, size_t *oldlen)
{
	struct amqp_buf rest;
	struct amqp_iter it;
	struct amqp_field f;
	size_t start = 0;

	*old = NULL;
	*oldlen = 0;
	if (amqp_table_find(table->p, table->len, "x-death", &f) != 1 ||
	    f.type != 'A')
		return 0;
	amqp_buf_init(&rest);
	amqp_iter_table(&it, table->p, table->len);
	while (amqp_iter_next(&it, &f) == 1) {
		if (*old == NULL && f.keylen == 7 &&
		    memcmp(f.key, "x-death", 7) == 0) {
			if ((*old = malloc(f.v.len + 1)) == NULL)
				break;
			memcpy(*old, f.v.p, f.v.len);
			*oldlen = f.v.len;
		} else
			amqp_put_bytes(&rest, table->p + start,
			    it.pos - start);
		start = it.pos;
	}
	if (*old == NULL || rest.err != 0) {
		free(*old);
		amqp_buf_free(&rest);
		return -1;
	}
	amqp_buf_free(table);
	*table = rest;
	return 0;
}

int
amqp_deaths_put(const struct mq_msg *m, struct amqp_buf *table)
{
	const struct mq_header *expiration;
	struct death *d, *first = NULL;
	struct amqp_field f;
	uint8_t *old;
	size_t n, i, a, oldlen, k;

	if ((k = amqp_death_prefix(m)) == 0)
		return 0;
	/*
	 * A dead letter published again by a client came with its x-death:
	 * the older history, after libmq's; its first death stays first.
	 */
	if (take_old(table, &old, &oldlen) == -1)
		return -1;
	if ((d = calloc(m->nheaders, sizeof(*d))) == NULL) {
		free(old);
		return -1;
	}
	n = read_deaths(m, d);
	expiration = own_header(m, k, "expiration");
	amqp_fput_key(table, "x-death");
	a = amqp_fput_array_open(table);
	for (i = 0; i < n; i++) {
		put_death(table, &d[i], expiration);
		if (d[i].oldest)
			first = &d[i];
	}
	if (old != NULL)
		amqp_put_bytes(table, old, oldlen);
	amqp_put_close(table, a);
	if (amqp_table_find(table->p, table->len, "x-first-death-queue",
	    &f) != 1) {
		amqp_fput_key(table, "x-first-death-exchange");
		amqp_fput_str(table, first->exchange, first->exlen);
		amqp_fput_key(table, "x-first-death-queue");
		amqp_fput_str(table, first->queue->value,
		    first->queue->valuelen);
		amqp_fput_key(table, "x-first-death-reason");
		put_reason(table, first->reason);
	}
	free(old);
	free(d);
	return 1;
}

void
amqp_death_exchange(const struct mq_msg *m, const void **p, size_t *len)
{
	size_t n = run_at(m, 0);

	*p = "";
	*len = 0;
	if (n > RUN_MIN && m->headers[RUN_MIN].valuelen <= 255) {
		*p = m->headers[RUN_MIN].value;
		*len = m->headers[RUN_MIN].valuelen;
	}
}

/* An entry of a table being sorted: where its bytes are. */
struct entry {
	const uint8_t	*key;
	size_t		 keylen, off, len;
};

static int
entry_cmp(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;
	size_t n = x->keylen < y->keylen ? x->keylen : y->keylen;
	int c;

	if ((c = memcmp(x->key, y->key, n)) != 0)
		return c;
	if (x->keylen != y->keylen)
		return x->keylen < y->keylen ? -1 : 1;
	/* Equal keys keep their order: qsort is not stable. */
	return x->off < y->off ? -1 : x->off > y->off;
}

int
amqp_table_sort(struct amqp_buf *table)
{
	struct amqp_buf sorted;
	struct amqp_iter it;
	struct amqp_field f;
	struct entry *e;
	size_t n = 0, cap = 16, start = 0, i;

	if ((e = calloc(cap, sizeof(*e))) == NULL)
		return -1;
	amqp_iter_table(&it, table->p, table->len);
	while (amqp_iter_next(&it, &f) == 1) {
		if (n == cap) {
			struct entry *ne = reallocarray(e, cap * 2,
			    sizeof(*e));

			if (ne == NULL) {
				free(e);
				return -1;
			}
			e = ne;
			cap *= 2;
		}
		e[n].key = f.key;
		e[n].keylen = f.keylen;
		e[n].off = start;
		e[n].len = it.pos - start;
		start = it.pos;
		n++;
	}
	qsort(e, n, sizeof(*e), entry_cmp);
	amqp_buf_init(&sorted);
	for (i = 0; i < n; i++)
		amqp_put_bytes(&sorted, table->p + e[i].off, e[i].len);
	free(e);
	if (sorted.err != 0) {
		amqp_buf_free(&sorted);
		return -1;
	}
	amqp_buf_free(table);
	*table = sorted;
	return 0;
}
