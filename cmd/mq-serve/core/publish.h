/*
 * publish.h - a publish on the topic exchange through the run of
 * appends, for every door (publish.c): Redis's PUBLISH, and AMQP's
 * basic.publish to amq.topic, MQTT's PUBLISH and STOMP's SEND to come.
 */
#ifndef MQ_SERVE_PUBLISH_H
#define MQ_SERVE_PUBLISH_H

#include "server.h"

/*
 * Queues the publish of 'm' on its topic ('m->key', 'm->keylen' bytes
 * followed by a NUL) on the run of appends (core/appendq.c): one entry
 * for each stream it goes to, the exchange's log and the bound queues.
 * At the flush, 'part' is called with 'arg' for each entry but the last
 * (to note a failure), and 'done' for the last, with 'arg' and the
 * receivers as its cookie (live subscriptions plus queues, as the
 * spool counts them for every door and process).  When only this
 * server's subscribers hear it, the last entry has no stream and the
 * publish goes to no log: 'done', seeing the NULL stream, hands 'm' to
 * them with fanout_publish_here() (core/fanout.h) before it replies.
 * '*anonymous' is the door's answer, for the requests of the read being
 * handled, to whether a subscriber no count shows listens: -1 (not
 * asked yet) at the start of each read.
 *
 * Returns 1 if queued (the door begins the command as TURN_QUEUED);
 * 0 if not, and nothing was queued: no one hears it, or it goes to more
 * queues than a run takes at once, or the spool failed (the door
 * publishes it at once with mq_router_publish, which says why if it
 * cannot); -1 if only a part of it could be queued (out of memory):
 * the run was flushed, its 'part' calls made and 'done' not called, and
 * the door replies with the error.
 */
int	 publish_queue(struct server *s, const struct mq_msg *m,
	    int *anonymous, appendq_done_fn *part, appendq_done_fn *done,
	    void *arg);

#endif /* MQ_SERVE_PUBLISH_H */
