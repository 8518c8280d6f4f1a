/*
 * produce.c - the Redis door's large replies, written a part at a time
 * as the client reads them (conn_produce, conn.c): the entries of
 * XRANGE, XREVRANGE and XREAD, and the names of KEYS and SCAN.
 *
 * Model: a command whose reply would be large (more entries or names
 * than a small reply holds) writes nothing of it, or only what comes
 * before the large part, and hands the rest to a producer here: the
 * entries through libmq cursors (mq_cursor_open), which were counted
 * and pinned when the command ran, so that RESP's lengths are known
 * before the first entry and the entries are those of that moment,
 * whatever other clients and processes do to the streams meanwhile;
 * the names from the listing the command made.  Each call writes about
 * 'room' bytes, then waits for the socket to take them.
 *
 * Everything a producer needs is allocated before the reply's first
 * byte, so that a failure is an error reply; a cursor that fails half
 * way (an I/O error, a corrupt segment) leaves a reply that cannot be
 * finished: the connection is closed, and the log says "reply failed".
 */
#include <stdlib.h>
#include <string.h>

#include "resp.h"

/* ------------------------------------------------------------------
 * Entries of streams.
 * ---------------------------------------------------------------- */

struct entries_out {
	struct resp_client	*c;
	struct resp_part	*parts;
	size_t			 nparts, i;	/* parts[i] is being written */
	int			 begun;		/* its key and length are out */
	int			 keyed;		/* XREAD's map (or array) first */
};

void
resp_parts_free(struct resp_part *parts, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		mq_cursor_close(parts[i].cursor);
		free(parts[i].key);
	}
	free(parts);
}

static void
entries_free(void *cookie)
{
	struct entries_out *eo = cookie;

	resp_parts_free(eo->parts, eo->nparts);
	free(eo);
}

/* What comes before a part's entries: XREAD's key, and their count. */
static void
part_head(struct resp_client *c, const struct resp_part *p)
{
	if (p->key != NULL) {
		if (c->proto != 3)
			resp_reply_array(c, 2);
		resp_reply_bulk(c, p->key, p->keylen);
	}
	resp_reply_array(c, (size_t)p->n);
}

static int
entries_more(struct conn *conn, void *cookie, size_t room)
{
	struct entries_out *eo = cookie;
	struct resp_client *c = eo->c;
	uint64_t start = conn->out_total;
	struct mq_msg m;
	int rc;

	if (eo->keyed) {
		if (c->proto == 3)
			resp_reply_map(c, eo->nparts);
		else
			resp_reply_array(c, eo->nparts);
		eo->keyed = 0;
	}
	for (; eo->i < eo->nparts; eo->i++, eo->begun = 0) {
		struct resp_part *p = &eo->parts[eo->i];

		if (!eo->begun) {
			part_head(c, p);
			eo->begun = 1;
		}
		while ((rc = mq_cursor_next(p->cursor, &m)) == 1) {
			resp_reply_entry(c, &m);
			if (conn->out_total - start >= room)
				return 1;
		}
		if (rc < 0) {
			server_log(conn->server, "conn id=%llu: %s: %s",
			    (unsigned long long)conn->id, c->last_cmd,
			    mq_strerror(rc));
			conn_abort(conn, "reply failed");
			return -1;
		}
		mq_cursor_close(p->cursor);
		p->cursor = NULL;
	}
	return 0;
}

static const struct conn_producer entries_producer = {
	.more = entries_more,
	.free = entries_free,
};

int
resp_produce_entries(struct resp_client *c, struct resp_part *parts,
    size_t nparts, int keyed)
{
	struct entries_out *eo;

	if ((eo = calloc(1, sizeof(*eo))) == NULL) {
		resp_parts_free(parts, nparts);
		return MQ_ESYS;
	}
	eo->c = c;
	eo->parts = parts;
	eo->nparts = nparts;
	eo->keyed = keyed;
	conn_produce(c->conn, &entries_producer, eo);
	return MQ_OK;
}

/* ------------------------------------------------------------------
 * Names of keys.
 * ---------------------------------------------------------------- */

struct names_out {
	struct resp_client	*c;
	char			*head;		/* written first, or NULL */
	size_t			 headlen;
	char			**names;
	size_t			 n, i;
	int			 begun;		/* the array's length is out */
};

static void
names_free(void *cookie)
{
	struct names_out *no = cookie;

	while (no->i < no->n)
		free(no->names[no->i++]);
	free(no->names);
	free(no->head);
	free(no);
}

static int
names_more(struct conn *conn, void *cookie, size_t room)
{
	struct names_out *no = cookie;
	uint64_t start = conn->out_total;

	if (!no->begun) {
		if (no->head != NULL)
			conn_write(conn, no->head, no->headlen);
		resp_reply_array(no->c, no->n);
		no->begun = 1;
	}
	while (no->i < no->n && conn->out_total - start < room) {
		resp_reply_bulk_str(no->c, no->names[no->i]);
		free(no->names[no->i++]);
	}
	return no->i < no->n;
}

static const struct conn_producer names_producer = {
	.more = names_more,
	.free = names_free,
};

int
resp_produce_names(struct resp_client *c, const void *head, size_t headlen,
    char **names, size_t n)
{
	struct names_out *no;

	if ((no = calloc(1, sizeof(*no))) == NULL ||
	    (headlen > 0 && (no->head = malloc(headlen)) == NULL)) {
		free(no);
		while (n > 0)
			free(names[--n]);
		free(names);
		return MQ_ESYS;
	}
	if (headlen > 0)
		memcpy(no->head, head, headlen);
	no->headlen = headlen;
	no->c = c;
	no->names = names;
	no->n = n;
	conn_produce(c->conn, &names_producer, no);
	return MQ_OK;
}
