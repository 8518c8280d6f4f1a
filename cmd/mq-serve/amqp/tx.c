/*
 * tx.c - transactions: tx.select, tx.commit, tx.rollback.
 *
 * Model: a channel in tx mode keeps its publishes (whole, header and
 * body, as they came) and its acks, nacks and rejects (the deliveries
 * they took, out of the channel's tree, still counted against its
 * prefetch) until tx.commit, which routes the publishes in order as if
 * they came then, lets the run of appends finish so that they are
 * written, settles the deliveries in order, and answers commit-ok; the
 * basic.returns of mandatory publishes that no queue takes come before
 * it.  tx.rollback forgets the publishes and puts the deliveries back,
 * unsettled.  A channel that closes rolls back.  RabbitMQ's
 * transactions are no more atomic than this: a commit whose append
 * fails part way closes the channel with what was written written.
 *
 * What a transaction holds (bodies, content headers and the record of
 * each publish) is bounded by --max-request, the size of the largest
 * message: past it the channel is closed with 406.
 */
#include <stdlib.h>
#include <string.h>

#include "amqp.h"
#include "core/turn.h"

static void
tx_select(struct amqp_channel *ch, const struct amqp_method *m)
{
	if (ch->confirms != NULL) {
		amqp_chan_error(ch, AMQP_PRECONDITION_FAILED, m->id,
		    "cannot switch from confirm to tx mode");
		return;
	}
	if (ch->tx == NULL && (ch->tx = calloc(1, sizeof(*ch->tx))) == NULL) {
		amqp_conn_error(ch->c, AMQP_RESOURCE_ERROR, m->id,
		    "out of memory");
		return;
	}
	amqp_send_method(ch->c, ch->id, AMQP_TX_SELECT_OK, NULL);
}

/* Frees the publishes the transaction holds. */
static void
drop_publishes(struct amqp_tx *tx)
{
	size_t i;

	for (i = 0; i < tx->npubs; i++) {
		free(tx->pubs[i].header);
		free(tx->pubs[i].body);
	}
	tx->npubs = 0;
	tx->bytes = 0;
}

/* Puts the deliveries the transaction took back in the channel's tree. */
static void
restore_acks(struct amqp_channel *ch)
{
	struct amqp_tx *tx = ch->tx;
	size_t i;

	for (i = 0; i < tx->nacks; i++)
		amqp_unacked_restore(ch, tx->acks[i].u);
	tx->nacks = 0;
}

/*
 * Routes the publishes held, in order.  Returns 0, or -1 if the
 * connection is gone (then 'ch' is too).
 */
static int
replay_publishes(struct amqp_channel *ch)
{
	struct amqp_tx *tx = ch->tx;
	size_t i;

	for (i = 0; i < tx->npubs && !ch->closing; i++) {
		ch->pub = tx->pubs[i];
		memset(&tx->pubs[i], 0, sizeof(tx->pubs[i]));
		if (amqp_publish_route(ch) == -1)
			return -1;
		tx = ch->tx;
	}
	drop_publishes(tx);	/* what a channel error left */
	return 0;
}

static void
tx_commit(struct amqp_channel *ch, const struct amqp_method *m)
{
	struct amqp_client *c = ch->c;
	int rc;

	if (replay_publishes(ch) == -1)
		return;
	/* Written before the settling and the reply. */
	if (cmd_begin(c->conn, TURN_HOLDS) == -1)
		return;		/* closed: 'ch' is gone */
	if (ch->closing || c->phase != AMQP_RUNNING)
		return;
	rc = amqp_unacked_settle(ch, ch->tx->acks, ch->tx->nacks);
	ch->tx->nacks = 0;
	if (rc != MQ_OK) {
		amqp_fail_internal(c, m, "settling deliveries", rc);
		return;
	}
	amqp_send_method(c, ch->id, AMQP_TX_COMMIT_OK, NULL);
}

void
amqp_tx_method(struct amqp_channel *ch, const struct amqp_method *m)
{
	if (m->id == AMQP_TX_SELECT) {
		tx_select(ch, m);
		return;
	}
	if (ch->tx == NULL) {
		amqp_chan_error(ch, AMQP_PRECONDITION_FAILED, m->id,
		    "channel is not transactional");
		return;
	}
	if (m->id == AMQP_TX_COMMIT) {
		tx_commit(ch, m);
		return;
	}
	drop_publishes(ch->tx);
	restore_acks(ch);
	amqp_send_method(ch->c, ch->id, AMQP_TX_ROLLBACK_OK, NULL);
}

void
amqp_tx_publish(struct amqp_channel *ch)
{
	struct amqp_tx *tx = ch->tx;
	size_t max = ch->c->conn->server->cfg.max_request;
	size_t cost = ch->pub.got + ch->pub.headerlen + sizeof(ch->pub);

	if (tx->bytes + cost > max) {
		amqp_chan_error(ch, AMQP_PRECONDITION_FAILED,
		    AMQP_BASIC_PUBLISH, "transaction of more than the "
		    "configured max size %zu", max);
		return;
	}
	if (array_grow(&tx->pubs, &tx->capp, tx->npubs + 1,
	    sizeof(*tx->pubs)) == -1) {
		amqp_conn_error(ch->c, AMQP_RESOURCE_ERROR, AMQP_BASIC_PUBLISH,
		    "out of memory");
		return;
	}
	tx->pubs[tx->npubs++] = ch->pub;
	tx->bytes += cost;
	memset(&ch->pub, 0, sizeof(ch->pub));	/* the transaction's now */
}

int
amqp_tx_ack(struct amqp_channel *ch, struct amqp_unacked *u, int how)
{
	struct amqp_tx *tx = ch->tx;

	if (array_grow(&tx->acks, &tx->capa, tx->nacks + 1,
	    sizeof(*tx->acks)) == -1)
		return -1;
	tx->acks[tx->nacks].u = u;
	tx->acks[tx->nacks].how = how;
	tx->nacks++;
	return 0;
}

void
amqp_tx_free(struct amqp_channel *ch)
{
	if (ch->tx == NULL)
		return;
	drop_publishes(ch->tx);
	restore_acks(ch);
	free(ch->tx->pubs);
	free(ch->tx->acks);
	free(ch->tx);
	ch->tx = NULL;
}
