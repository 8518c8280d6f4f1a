/*
 * amqp.h - the AMQP 0-9-1 door: a connection's state and its channels,
 * and what the files of the door share.
 *
 * Model: a connection goes through the handshake of connection.c
 * (protocol header, start/start-ok with a password check, tune/tune-ok,
 * open/open-ok) and then carries channels (channel.c), each a sequence
 * of methods, and of content (a header frame and body frames) after a
 * method that has some.  An error of one channel closes that channel
 * with channel.close; an error of the connection (a frame the protocol
 * does not allow, a bad argument of a connection method) closes it with
 * connection.close, after which only close-ok is awaited.  Both carry
 * RabbitMQ's reply code and "NAME - text", since clients show those to
 * their users.  Every frame goes out through send.c, which counts when
 * the connection last wrote for the heartbeats.
 *
 * Messages: an AMQP queue Q is the libmq stream Q read through its group
 * "queue" (queue.c), with libmq's declaration of it (mq_queue_declare:
 * flags and arguments, checked and compared in qargs.c; x-expires in
 * expire.c, a message's expiration in expiration.c).  basic.publish to the default exchange appends to
 * the stream named by the routing key (publish.c), through the core's
 * run of appends; to another exchange, to the queues libmq's registry
 * of exchanges and bindings routes it to (exchange.c, bind.c, route.c,
 * headers.c); message.c maps properties to headers and back.
 * Consumers (consume.c) are served from the group in turn, at most
 * prefetch_count unacknowledged a channel, and wait as waiters of the
 * core while the queue is empty; each channel is one libmq consumer of
 * the group, "amqp-<connection id>-<channel>", and its deliveries
 * waiting for an ack (ack.c) go back to the queue when it closes.  A
 * stream queue (stream.c) has no group: each of its consumers reads the
 * stream from an offset of its own, and an ack only gives room.
 */
#ifndef MQ_SERVE_AMQP_H
#define MQ_SERVE_AMQP_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <bsd/sys/queue.h>
#include <bsd/sys/tree.h>

#include "encode.h"
#include "message.h"
#include "parse.h"
#include "server.h"
#include "users.h"

extern const struct proto amqp_proto;

/* What the server offers in connection.tune. */
#define AMQP_CHANNEL_MAX	2047
#define AMQP_FRAME_MAX		131072
#define AMQP_HEARTBEAT		60

/* How long a connection that was sent connection.close waits for close-ok. */
#define AMQP_CLOSE_WAIT_MS	3000

enum amqp_phase {
	AMQP_HEADER,		/* the protocol header is awaited */
	AMQP_START_OK,		/* connection.start was sent */
	AMQP_AUTH,		/* the password is being checked (auth.c) */
	AMQP_TUNE_OK,		/* connection.tune was sent */
	AMQP_OPEN,		/* connection.open is awaited */
	AMQP_RUNNING,		/* channels may be used */
	AMQP_CLOSING		/* connection.close was sent: close-ok awaited */
};

struct amqp_client;
struct amqp_queue;

/* A delivery waiting for its ack, by delivery tag (ack.c). */
struct amqp_unacked {
	RB_ENTRY(amqp_unacked)	 node;
	uint64_t		 tag;
	mq_id			 id;		/* in the queue's stream */
	struct amqp_queue	*q;		/* holds a reference */
	/* The consumer it counts against while that lives (NULL: a get). */
	struct amqp_consumer	*cn;
	struct amqp_unacked	*spare;		/* settled: the next kept (ack.c) */
	int			 stream;	/* of a stream queue: an ack gives room */
};
RB_HEAD(amqp_unacked_tree, amqp_unacked);

/*
 * Ids of one queue settled one way with one libmq call (ack.c): a run
 * of basic.acks in a row on a connection is gathered so (the acks of a
 * read, most often), and settled before anything else of it runs.
 */
struct amqp_ackrun {
	struct amqp_queue	*q;		/* holds a reference; NULL: none */
	int			 how;		/* ack.c's enum settle */
	mq_id			*ids;
	size_t			 n, cap;
	int			 failed;	/* the first libmq error */
};

/* A basic.consume of a channel (consume.c). */
struct amqp_consumer {
	struct amqp_channel	*ch;
	struct amqp_queue	*q;		/* holds a reference */
	TAILQ_ENTRY(amqp_consumer) qlink;	/* the queue's, in turn order */
	TAILQ_ENTRY(amqp_consumer) clink;	/* the channel's */
	int			 no_ack;
	uint16_t		 prefetch;	/* its own basic.qos count, 0: none */
	size_t			 nunacked;	/* its deliveries waiting for an ack */
	int			 exclusive;	/* the queue's only consumer */
	int			 stream;	/* of a stream queue (stream.c) ... */
	uint64_t		 offset;	/* ... reading from this offset */
	uint64_t		 seq;		/* the door's count of consumes */
	int64_t			 priority;	/* x-priority, 0 by default */
	/* Passed over while its channel was at its (global) prefetch. */
	int			 blocked;
	TAILQ_ENTRY(amqp_consumer) blink;	/* the channel's 'blocked' */
	size_t			 taglen;
	char			 tag[256];	/* a short string, NUL added */
};
TAILQ_HEAD(amqp_consumer_list, amqp_consumer);

/* Where a basic.publish is in its content (publish.c). */
enum amqp_pub_state {
	AMQP_PUB_NONE,		/* no publish under way */
	AMQP_PUB_HEADER,	/* the method came: its content header next */
	AMQP_PUB_BODY		/* body frames until the body size */
};

struct amqp_publish {
	enum amqp_pub_state	 state;
	int			 mandatory;
	size_t			 exlen, rklen;
	char			 exchange[256];
	char			 routing_key[256];
	int			 topic;		/* the exchange is amq.topic */
	/* The content header's payload, copied: 'props' point into it. */
	uint8_t			*header;
	size_t			 headerlen;
	struct amqp_content_header props;
	uint8_t			*body;		/* 'got' of props.body_size bytes */
	size_t			 got;
	uint64_t		 seq;		/* its confirm's number, 0: none */
	int64_t			 deadline;	/* of its expiration, 0: none */
};

/*
 * Publisher confirms of a channel in confirm mode (confirm.c): the
 * publishes not yet confirmed, in order, each with the appends it waits
 * for.
 */
struct amqp_confirm_rec {
	uint32_t		 pending;	/* appends not yet done, + 1 guard */
	int			 failed;	/* one failed: basic.nack */
};

struct amqp_confirms {
	uint64_t		 next;		/* the next publish's sequence number */
	uint64_t		 first;		/* the sequence number of recs[head] */
	struct amqp_confirm_rec	*recs;
	size_t			 head, n, cap;	/* recs[head .. head + n) */
};

/* What a channel in tx mode holds until tx.commit (tx.c). */
struct amqp_tx_ack {
	struct amqp_unacked	*u;		/* out of the channel's tree */
	int			 how;		/* ack.c's enum settle */
};

struct amqp_tx {
	struct amqp_publish	*pubs;		/* whole publishes, in order */
	size_t			 npubs, capp;
	struct amqp_tx_ack	*acks;		/* acks, nacks, rejects, in order */
	size_t			 nacks, capa;
	size_t			 bytes;		/* the bodies held */
};

struct amqp_channel {
	struct amqp_client	*c;
	uint16_t		 id;
	/*
	 * The server sent channel.close (a channel error): everything
	 * but close and close-ok is dropped until the client's close-ok.
	 */
	int			 closing;
	char			 consumer[48];	/* its libmq consumer's name */
	uint64_t		 tag;		/* the last delivery tag given */
	uint16_t		 prefetch;	/* basic.qos global prefetch_count */
	uint16_t		 consumer_prefetch; /* ... not global: new consumers' */
	size_t			 nunacked;
	/*
	 * Its consumers passed over for want of the channel's room, in
	 * that order: served first, one by one, when it has room again.
	 */
	struct amqp_consumer_list blocked;
	int			 refill;	/* in consume.c's list to serve */
	TAILQ_ENTRY(amqp_channel) rlink;
	struct amqp_unacked_tree unacked;
	struct amqp_consumer_list consumers;
	struct amqp_publish	 pub;
	/*
	 * amqp_publish_route is routing 'pub': an error that closes the
	 * channel meanwhile (a failure heard at a flush of the run of
	 * appends) leaves it to that function to forget, since the message
	 * being queued points into it.
	 */
	int			 routing;
	struct amqp_confirms	*confirms;	/* confirm mode, else NULL */
	struct amqp_tx		*tx;		/* tx mode, else NULL */
	/* The queue declared last, which "" names (nul-terminated). */
	char			 last_queue[256];
};

/* The capabilities of the client's properties that change what we send. */
#define AMQP_CAP_CANCEL_NOTIFY	0x1	/* consumer_cancel_notify */
#define AMQP_CAP_AUTH_CLOSE	0x2	/* authentication_failure_close */
#define AMQP_CAP_BLOCKED	0x4	/* connection.blocked */

struct amqp_client {
	struct conn		*conn;
	struct amqp_parser	 parser;
	enum amqp_phase		 phase;
	int			 caps;		/* AMQP_CAP_... */
	int			 discard;	/* after a broken frame: input dropped */
	char			 user[USERS_NAME_MAX + 1];
	char			 mechanism[16];	/* of start-ok, for the log */
	uint16_t		 channel_max;	/* negotiated: 1 .. 2047 */
	uint16_t		 heartbeat;	/* seconds, 0: none */
	int64_t			 sent_ms;	/* when it last wrote a frame */
	int64_t			 closing_ms;	/* when connection.close went */
	char			 why[300];	/* what the log says of that close */
	/* Channels by number, grown as high as the client opens. */
	struct amqp_channel	**channels;
	size_t			 nchannels;	/* slots in 'channels' */
	struct amqp_buf		 out;		/* frames being made */
	TAILQ_ENTRY(amqp_client) hlink;		/* in the heartbeat sweep */
	int			 in_sweep;
	/* Deliveries made and not yet handed to conn_write (send.c). */
	TAILQ_ENTRY(amqp_client) olink;
	int			 out_pending;
	/* Its consumers were passed over for its output limit (consume.c). */
	int			 drain_wait;
	/*
	 * The last frame of 'out' is a publisher confirm's basic.ack of
	 * channel 'ack_chan' ending at 'ack_end' (0: none), which the next
	 * ack may extend (confirm.c).
	 */
	size_t			 ack_end;
	uint16_t		 ack_chan;
	/*
	 * c->out up to here holds only deliveries to consumers, which wait
	 * for no sync (conn_write_unsynced): all of it, if it ends there.
	 */
	size_t			 unsynced_end;
	struct amqp_ackrun	 acks;		/* gathered, not yet settled */
	int			 published;	/* it has sent a basic.publish */
	int			 blocked;	/* it was sent connection.blocked */
	/* The exclusive queues it declared, deleted when it goes (queue.c). */
	char			**exclusive;
	size_t			 nexclusive;
};

/* ---- door.c */

/*
 * Handles the frames that arrived, from the protocol header on, until
 * one holds the connection (a password check); first, if its consumers
 * waited for its output to drain, serves them again.
 */
int	 amqp_input(struct conn *conn);

/* ---- connection.c: the handshake, connection.close, heartbeats. */

/* The protocol header was taken: sends connection.start. */
void	 amqp_conn_start(struct amqp_client *c);
/* A method of class connection (on channel 0). */
void	 amqp_conn_method(struct amqp_client *c, const struct amqp_method *m);
/*
 * Closes the connection with connection.close: 'code' and the text
 * (printf-style, after RabbitMQ's "NAME - " which this adds), naming the
 * method at fault (0, 0 for none).  Then only close-ok is awaited; the
 * consumers stop now, and what the channels hold goes back to the
 * queues when the connection closes.
 */
void	 amqp_conn_error(struct amqp_client *c, uint16_t code,
	    uint32_t method, const char *fmt, ...)
	    __attribute__((format(printf, 4, 5)));
/* The parser refused a frame: closes with its code and text. */
void	 amqp_conn_parse_error(struct amqp_client *c);
/*
 * The spool's disk is nearly full ('low') or has room again: the
 * clients that published and take connection.blocked are sent it, or
 * connection.unblocked.
 */
void	 amqp_disk_low(struct server *s, int low);
/* A client publishes: sent connection.blocked if the disk is nearly full. */
void	 amqp_conn_publishing(struct amqp_client *c);
/* Counts the client among those whose heartbeats are watched. */
void	 amqp_heartbeat_watch(struct amqp_client *c);
void	 amqp_heartbeat_unwatch(struct amqp_client *c);

/* ---- channel.c: channels, their methods, channel errors. */

/* A method frame on channel 'ch' (not 0). */
void	 amqp_chan_method(struct amqp_client *c, uint16_t ch,
	    const struct amqp_method *m);
/* A content header or body frame on channel 'ch'. */
void	 amqp_chan_content(struct amqp_client *c, const struct amqp_frame *f);
/*
 * An error of channel 'ch': 'code' (a channel error's: 403, 404, 406;
 * a connection error's goes to amqp_conn_error) and the text after
 * RabbitMQ's "NAME - ", naming the method at fault (0 for none).  Sends
 * channel.close, stops the channel's consumers and its publish under
 * way, and drops what comes on it until the client's close-ok.  Safe
 * anywhere: it touches no stream (the deliveries waiting for an ack go
 * back when the channel is freed).
 */
void	 amqp_chan_error(struct amqp_channel *ch, uint16_t code,
	    uint32_t method, const char *fmt, ...)
	    __attribute__((format(printf, 4, 5)));
/* The channel 'id' if it is open (closing or not), else NULL. */
struct amqp_channel *amqp_chan_get(struct amqp_client *c, uint16_t id);
/* Stops the consumers and publishes of every channel (a connection error). */
void	 amqp_chan_stop_all(struct amqp_client *c);
/* Frees every channel (the connection closes). */
void	 amqp_chan_free_all(struct amqp_client *c);

/* ---- queue.c: queue.declare, purge, delete; opening a queue. */

void	 amqp_queue_declare(struct amqp_channel *ch,
	    const struct amqp_method *m);
void	 amqp_queue_purge(struct amqp_channel *ch, const struct amqp_method *m);
void	 amqp_queue_delete(struct amqp_channel *ch,
	    const struct amqp_method *m);
/*
 * The queue a method names in 'arg' into 'name' (AMQP_NAME_SIZE bytes):
 * "" is the channel's last declared queue.  Returns 0, or -1 after a
 * channel error (none declared: 404; a name libmq cannot keep: 406).
 */
#define AMQP_NAME_SIZE	(MQ_NAME_MAX + 1)
int	 amqp_queue_name(struct amqp_channel *ch, const struct amqp_method *m,
	    const struct amqp_value *arg, char *name);
/*
 * Copies the name in 'arg' into 'name' (AMQP_NAME_SIZE bytes): 0, or
 * -1 after 406 "'what' name 'x' cannot be used" for one libmq cannot
 * keep (over MQ_NAME_MAX bytes, a NUL).
 */
int	 amqp_name_copy(struct amqp_channel *ch, const struct amqp_method *m,
	    const struct amqp_value *arg, const char *what, char *name);
/*
 * Writes to 'buf' ('size' bytes) a name the server gives: 'prefix', '-'
 * and 22 random characters of base64url ("amq.gen-...", "amq.ctag-...").
 */
void	 amqp_server_name(char *buf, size_t size, const char *prefix);
/*
 * Opens queue 'name': its stream and its group "queue", which is made
 * (from the start) if the stream has none.  MQ_ENOSTREAM if there is no
 * such queue (the topic exchange's log is none), or another libmq
 * outcome.
 */
#define AMQP_GROUP	"queue"
int	 amqp_queue_open(struct server *s, const char *name, mq_stream **st,
	    mq_group **g);
/*
 * The same, with the queue's absence a channel error (404 "no queue 'q'
 * in vhost '/'", naming 'm') and another failure a connection error:
 * 0, or -1 after the error.
 */
int	 amqp_queue_open_or_fail(struct amqp_channel *ch,
	    const struct amqp_method *m, const char *name, mq_stream **st,
	    mq_group **g);
/*
 * The messages of group 'g' ready for delivery: entries it has not
 * delivered, and those handed back (nacked) that no consumer holds.
 */
int	 amqp_queue_ready(mq_stream *st, mq_group *g, uint64_t *count);
/*
 * The ready messages of queue 'name' ('st' and 'g' its own), its
 * priority levels' with them, and the highest level above 0 that has one
 * in '*top' (0: none).
 */
int	 amqp_queue_count(struct server *s, const char *name, mq_stream *st,
	    mq_group *g, uint64_t *count, int *top);
/*
 * Deletes queue 'name': its stream and declaration, this server's
 * consumers of it (cancelled).  MQ_OK, MQ_ENOSTREAM, or another outcome.
 */
int	 amqp_queue_remove(struct server *s, const char *name);
/* The client goes: its exclusive queues are deleted. */
void	 amqp_queue_close(struct amqp_client *c);
/* The last consumer of queue 'name' on this server went: auto-delete. */
void	 amqp_queue_unused(struct server *s, const char *name);

/* ---- expire.c: x-expires. */

/* Queue 'name' was declared with x-expires 'ms': used now, its timer set. */
void	 amqp_expire_note(struct server *s, const char *name, int64_t ms);
/* Queue 'name' was used (a get, its last consumer's end), if it expires. */
void	 amqp_expire_use(struct server *s, const char *name);
/* Queue 'name' was deleted: its record and timer go. */
void	 amqp_expire_forget(const char *name);
/* The server starts: the declared queues with x-expires get their timers. */
void	 amqp_expire_start(struct server *s);

/* ---- ttl.c: messages expired on time, read or not. */

/* Queue 'name' has x-message-ttl 'ms': what it holds is looked at now. */
void	 amqp_ttl_queue(struct server *s, const char *name, int64_t ms);
/*
 * A message was queued for queue 'name' ('len' bytes), with the deadline
 * 'deadline' (ms since the epoch; 0: none): its queue's timer is set for
 * when it expires, if it will.
 */
void	 amqp_ttl_published(struct server *s, const char *name, size_t len,
	    int64_t deadline);

/* ---- refused.c: x-overflow reject-publish-dlx. */

/*
 * An append of 'm' to 'st' was refused at the queue's max-length: it is
 * dead-lettered if the queue was declared with reject-publish-dlx.
 */
void	 amqp_refused(struct server *s, mq_stream *st, const struct mq_msg *m);

/* ---- qargs.c: the arguments of queue.declare. */

/*
 * Checks the arguments 'args' ('len' bytes) of a declare of queue
 * 'name' as RabbitMQ does: 0, or -1 after a 406 on 'ch'.
 */
int	 amqp_qargs_check(struct amqp_channel *ch, const struct amqp_method *m,
	    const char *name, const uint8_t *args, size_t len);
/*
 * Whether a redeclaration with 'flags' (MQ_QDURABLE, MQ_QAUTODELETE)
 * and 'args' matches the declaration 'cur': 0, or -1 after RabbitMQ's
 * 406 "inequivalent arg ..." on 'ch'.
 */
int	 amqp_qargs_equivalent(struct amqp_channel *ch,
	    const struct amqp_method *m, const struct mq_queue *cur, int flags,
	    const uint8_t *args, size_t len);
/*
 * Sets in 'p' what the arguments ask of the stream's policy (ttl,
 * max-len, overflow, delivery limit); 1 if they ask anything.
 */
int	 amqp_qargs_policy(const uint8_t *args, size_t len,
	    struct mq_policy *p);
/* x-expires in milliseconds, 0 if none. */
int64_t	 amqp_qargs_expires(const uint8_t *args, size_t len);
/* x-max-priority, 0 if none. */
int	 amqp_qargs_priority(const uint8_t *args, size_t len);
/* Whether x-single-active-consumer is true. */
int	 amqp_qargs_single_active(const uint8_t *args, size_t len);
/* RabbitMQ's name of the type of a field of letter 'type' ("longstr"). */
const char *amqp_qargs_type_name(char type);
/* x-message-ttl in milliseconds, 0 if none. */
int64_t	 amqp_qargs_ttl(const uint8_t *args, size_t len);

/* A libmq failure that is the server's: connection.close 541, naming 'm'. */
void	 amqp_fail_internal(struct amqp_client *c, const struct amqp_method *m,
	    const char *what, int rc);

/* ---- exchange.c: exchange.declare, delete; finding an exchange. */

void	 amqp_exchange_declare(struct amqp_channel *ch,
	    const struct amqp_method *m);
void	 amqp_exchange_delete(struct amqp_channel *ch,
	    const struct amqp_method *m);
/*
 * The exchange a method names in 'arg' into 'name' (AMQP_NAME_SIZE
 * bytes).  Returns 0, or -1 after a channel error: "" (the default
 * exchange) is 403, a name libmq cannot keep 406.
 */
int	 amqp_exchange_name(struct amqp_channel *ch,
	    const struct amqp_method *m, const struct amqp_value *arg,
	    char *name);
/*
 * Looks exchange 'name' up into 'x' (see mq_exchange_lookup): 0, or -1
 * after 404 "no exchange 'x' in vhost '/'" or a connection error.
 */
int	 amqp_exchange_find(struct amqp_channel *ch,
	    const struct amqp_method *m, const char *name,
	    struct mq_exchange *x);
/* A libmq outcome 'rc' of a method on exchange 'name', as RabbitMQ's error. */
void	 amqp_exchange_fail(struct amqp_channel *ch,
	    const struct amqp_method *m, const char *name, int rc);

/* ---- bind.c: queue.bind, unbind; exchange.bind, unbind. */

void	 amqp_queue_bind(struct amqp_channel *ch, const struct amqp_method *m);
void	 amqp_queue_unbind(struct amqp_channel *ch,
	    const struct amqp_method *m);
void	 amqp_exchange_bind(struct amqp_channel *ch,
	    const struct amqp_method *m);
void	 amqp_exchange_unbind(struct amqp_channel *ch,
	    const struct amqp_method *m);

/* ---- publish.c: basic.publish and its content, basic.return. */

void	 amqp_publish_method(struct amqp_channel *ch,
	    const struct amqp_method *m);
/*
 * Routes the whole publish in ch->pub, as it came or as a transaction
 * commits it, and forgets it.  Returns 0, or -1 if that closed the
 * connection (then 'ch' is gone).
 */
int	 amqp_publish_route(struct amqp_channel *ch);
/* A content frame on 'ch' (header or body). */
void	 amqp_publish_content(struct amqp_channel *ch,
	    const struct amqp_frame *f);
/*
 * A method came on 'ch' while its publish waits for content: 505
 * UNEXPECTED_FRAME, in RabbitMQ's words for what was expected.
 */
void	 amqp_publish_unexpected(struct amqp_channel *ch);
/* Forgets the publish under way (the channel closes). */
void	 amqp_publish_reset(struct amqp_channel *ch);
/* The client goes: what it queued is appended, without telling it. */
void	 amqp_publish_close(struct amqp_client *c);

/*
 * Queues message 'm' for queue 'name' ('len' bytes, NUL-terminated) if
 * that stream exists: 1 if queued, 0 if not.
 */
int	 amqp_publish_to(struct amqp_channel *ch, const char *name,
	    size_t len, const struct mq_msg *m);

/* ---- route.c: a publish to a named exchange. */

/*
 * Checks the exchange a basic.publish names ('name', not ""): 0, or -1
 * after 404 (missing) or 403 (internal).  Notes in ch->pub whether it
 * is amq.topic.
 */
int	 amqp_route_check(struct amqp_channel *ch, const struct amqp_method *m,
	    const char *name);
/*
 * Routes the publish of 'ch' ('m' its message) through its exchange: 1
 * if any queue (or a live subscriber of amq.topic) took it, 0 if none.
 * 'again' is the try after the run of appends was let finish: then a
 * publish to amq.topic is made at once.
 */
int	 amqp_route(struct amqp_channel *ch, const struct mq_msg *m, int again);

/* ---- confirm.c: publisher confirms. */

void	 amqp_confirm_select(struct amqp_channel *ch,
	    const struct amqp_method *m);
/*
 * A whole publish on 'ch': its sequence number, with a record held by a
 * guard until amqp_confirm_done(ch, seq, 1) after routing; 0 if the
 * channel is not in confirm mode.
 */
uint64_t amqp_confirm_begin(struct amqp_channel *ch);
/* Publish 'seq' waits for one more append. */
void	 amqp_confirm_add(struct amqp_channel *ch, uint64_t seq);
/*
 * An append of publish 'seq' is done ('ok'), or failed; or its routing
 * is done.  Once all are, it is confirmed (after those before it).
 */
void	 amqp_confirm_done(struct amqp_channel *ch, uint64_t seq, int ok);
void	 amqp_confirm_free(struct amqp_channel *ch);

/* ---- tx.c: transactions. */

/* tx.select, tx.commit, tx.rollback. */
void	 amqp_tx_method(struct amqp_channel *ch, const struct amqp_method *m);
/* A whole publish on a channel in tx mode: kept until the commit. */
void	 amqp_tx_publish(struct amqp_channel *ch);
/*
 * Delivery 'u', taken out of the channel's tree by an ack, nack or
 * reject ('how': ack.c's) in tx mode: kept until the commit.  0, or -1
 * if out of memory ('u' is the caller's again).
 */
int	 amqp_tx_ack(struct amqp_channel *ch, struct amqp_unacked *u, int how);
/* Forgets what the transaction holds (its deliveries go back to the tree). */
void	 amqp_tx_free(struct amqp_channel *ch);
/* ---- expiration.c: the expiration property. */

/*
 * The deadline of a publish's content header 'h' in '*at' (milliseconds
 * since the epoch; 0 without an expiration): 0, or -1 after RabbitMQ's
 * 406 "invalid expiration ..." on 'ch'.
 */
int	 amqp_expiration(struct amqp_channel *ch,
	    const struct amqp_content_header *h, int64_t *at);

/* ---- prio.c: priority queues (x-max-priority), a stream per level. */

/* The most levels above 0 a queue has: priorities above 9 count as 9. */
#define AMQP_PRIO_MAX	9
/* The levels above 0 that x-max-priority 'max' asks for. */
int	 amqp_prio_of_max(int64_t max);
/*
 * The levels above 0 of queue 'name' (0: no priorities, or no queue),
 * from its declaration, remembered until this server declares or
 * deletes the queue.
 */
int	 amqp_prio_levels(struct server *s, const char *name);
/*
 * The stream of level 'lv' of queue 'name' into 'buf' (AMQP_NAME_SIZE):
 * the queue's own for 0, else "name#lv".  0, or -1 if too long.
 */
int	 amqp_prio_stream(const char *name, int lv, char *buf);
/*
 * Makes the stream of level 'lv' of queue 'name' if missing: declared
 * with the queue's flags and holder, the queue's policy with the
 * queue's dead letters.  MQ_OK, or a libmq error.
 */
int	 amqp_prio_make(struct server *s, const char *name, int lv);
/* Queue 'name' was declared with 'levels': makes their streams. */
int	 amqp_prio_declare(struct server *s, const char *name, int levels);
/*
 * The level of a message with content header 'h' for queue 'name', its
 * stream's name in 'buf' (AMQP_NAME_SIZE): 1 to AMQP_PRIO_MAX, or 0 for
 * the queue's own (no priority, or no levels).
 */
int	 amqp_prio_route(struct server *s, const char *name,
	    const struct amqp_content_header *h, char *buf);
/*
 * The ready messages of the levels above 0 of queue 'name' in '*count',
 * and the highest level that has one in '*top' (0: none).  MQ_OK, or a
 * libmq error.
 */
int	 amqp_prio_count(struct server *s, const char *name, uint64_t *count,
	    int *top);
/* Removes the streams of the levels of queue 'name' (it is deleted). */
void	 amqp_prio_remove(struct server *s, const char *name);

/* ---- consume.c: basic.qos, consume, cancel; serving the consumers. */

void	 amqp_basic_qos(struct amqp_channel *ch, const struct amqp_method *m);
void	 amqp_basic_consume(struct amqp_channel *ch,
	    const struct amqp_method *m);
void	 amqp_basic_cancel(struct amqp_channel *ch,
	    const struct amqp_method *m);
/* Ends the consumers of 'ch', without a word to the client. */
void	 amqp_consumers_stop(struct amqp_channel *ch);
/*
 * The queue 'name' as this server's consumers and deliveries know it,
 * with a reference taken (made if needed), or NULL if out of memory;
 * amqp_queue_unref() lets it go.
 */
struct amqp_queue *amqp_queue_ref(struct server *s, const char *name);
/* One more reference to 'q'. */
void	 amqp_queue_hold(struct amqp_queue *q);
void	 amqp_queue_unref(struct amqp_queue *q);
const char *amqp_queue_qname(const struct amqp_queue *q);
/* How many consumers of this server the queue 'name' has. */
size_t	 amqp_queue_consumers(const char *name);
/*
 * Serves the consumers of 'q' at the next turn: something was handed
 * back, or a consumer has room again.
 */
void	 amqp_queue_kick(struct amqp_queue *q);
/*
 * The channel, at its global prefetch, has room again: its blocked
 * consumers are served in turn, at the end of the turn, while it has.
 */
void	 amqp_chan_refill(struct amqp_channel *ch);
/* Whether the channel is at its global prefetch count. */
int	 amqp_chan_full(const struct amqp_channel *ch);
/* Serves again the consumers of 'c' that waited for its output to drain. */
void	 amqp_consumers_drained(struct amqp_client *c);
/*
 * Queue 'name' was deleted by this server: its consumers are cancelled
 * (basic.cancel to the clients that take it).
 */
void	 amqp_queue_gone(struct server *s, const char *name);

/* ---- deliver.c: a message to the client; basic.get. */

/*
 * Writes message 'm' as basic.deliver (with consumer 'ctag' of 'ctaglen'
 * bytes) or, with ctag NULL, basic.get-ok (with 'count' messages left),
 * then its content, with an x-delivery-count header of 'retries' if it is
 * not 0; the frames wait for amqp_out_flush() or amqp_out_flush_all().
 * Returns 0, or -1 if out of memory making the headers table (the caller
 * closes the connection).
 */
int	 amqp_deliver(struct amqp_channel *ch, const char *ctag, size_t ctaglen,
	    uint64_t tag, int redelivered, uint64_t retries, uint64_t count,
	    const struct mq_msg *m);
/*
 * The deliveries before this one of entry 'id' just read from group 'g'
 * of stream 'st', for its x-delivery-count header: 0 unless the queue
 * has a delivery limit (x-delivery-limit, as RabbitMQ's quorum queues)
 * and holds the entry pending.
 */
uint64_t amqp_retries(mq_stream *st, mq_group *g, mq_id id);
void	 amqp_basic_get(struct amqp_channel *ch, const struct amqp_method *m);

/*
 * basic.deliver of entry 'm' of a stream queue, with its offset in the
 * header x-stream-offset; as amqp_deliver() otherwise.
 */
int	 amqp_deliver_offset(struct amqp_channel *ch, const char *ctag,
	    size_t ctaglen, uint64_t tag, const struct mq_msg *m);

/* ---- stream.c: stream queues (x-queue-type "stream"). */

/* Whether the arguments 'args' ('len' bytes) declare a stream queue. */
int	 amqp_stream_args(const uint8_t *args, size_t len);
/* Whether queue 'name' was declared a stream queue. */
int	 amqp_stream_is(struct server *s, const char *name);
/*
 * What RabbitMQ refuses in a declare 'm' (with libmq 'flags') of stream
 * queue 'name': a server name, a classic queue's arguments, transient,
 * exclusive or auto-delete.  0 (also for a classic queue), or -1 after
 * the 406.
 */
int	 amqp_stream_declare_check(struct amqp_channel *ch,
	    const struct amqp_method *m, const char *name, int flags);
/* x-max-age ("7D", "12h", ...) in milliseconds: 0, or -1 if invalid. */
int	 amqp_stream_age(const struct amqp_field *f, int64_t *ms);
/*
 * Sets in 'p' the retention a stream queue's arguments ask (x-max-age,
 * x-max-length-bytes, x-stream-max-segment-size-bytes); 1 if any.
 */
int	 amqp_stream_policy(const uint8_t *args, size_t len,
	    struct mq_policy *p);
/*
 * Method 'm' (named 'what', "basic.get") on queue 'name': if it is a
 * stream queue, 540 "... not supported by stream queues" and -1; else 0.
 */
int	 amqp_stream_refuse(struct amqp_channel *ch, const struct amqp_method *m,
	    const char *name, const char *what);
/* The entries of the stream queue 'name' (its message-count). */
int	 amqp_stream_length(struct server *s, const char *name,
	    uint64_t *count);
/*
 * What basic.consume 'm' of stream queue 'name' must have: a consumer
 * prefetch count, manual acks, a valid x-stream-offset, which gives the
 * offset to start from in '*offset'.  0, or -1 after the error.
 */
int	 amqp_stream_consume_check(struct amqp_channel *ch,
	    const struct amqp_method *m, const char *name, uint64_t *offset);
/*
 * Delivers to stream consumer 'cn' up to 'want' entries from its offset.
 * Returns 1 if it reached the end of the stream first (then '*after' is
 * an id that everything it has not seen comes after), 0 if not, or a
 * libmq error (< 0; MQ_ENOSTREAM: the queue is gone).
 */
int	 amqp_stream_serve(struct server *s, struct amqp_consumer *cn,
	    size_t want, mq_id *after);

/* ---- ack.c: deliveries waiting for their ack. */

/*
 * Notes delivery 'tag' of entry 'id' of 'q' on 'ch', by consumer 'cn'
 * (NULL for basic.get).  Returns 0, or -1 if out of memory.
 */
int	 amqp_unacked_add(struct amqp_channel *ch, uint64_t tag, mq_id id,
	    struct amqp_queue *q, struct amqp_consumer *cn);
/* Consumer 'cn' of 'ch' ends: its deliveries count against it no more. */
void	 amqp_unacked_orphan(struct amqp_channel *ch, struct amqp_consumer *cn);
/*
 * basic.ack, basic.nack, basic.reject: checked now, and settled in libmq
 * with those that follow in a row (amqp_acks_flush).
 */
void	 amqp_basic_ack(struct amqp_channel *ch, const struct amqp_method *m);
/*
 * Settles what the client's acks gathered: before any other method of
 * the client, at the end of its input, when it goes.
 */
void	 amqp_acks_flush(struct amqp_client *c);
/* Frees the gathering's memory (the client goes, after the flush). */
void	 amqp_acks_free(struct amqp_client *c);
/* basic.recover (and recover-async): what waits for an ack goes back. */
void	 amqp_basic_recover(struct amqp_channel *ch,
	    const struct amqp_method *m);
/*
 * Hands every delivery of 'ch' waiting for an ack back to its queue, at
 * once, to be delivered again marked redelivered (the channel closes).
 */
void	 amqp_unacked_requeue(struct amqp_channel *ch);
/* Puts delivery 'u' back in the tree of 'ch' (a transaction rolled back). */
void	 amqp_unacked_restore(struct amqp_channel *ch, struct amqp_unacked *u);
/*
 * Settles the 'n' deliveries a transaction took, in order (a commit),
 * and frees them.  Returns MQ_OK, or the first libmq error.
 */
int	 amqp_unacked_settle(struct amqp_channel *ch,
	    const struct amqp_tx_ack *acks, size_t n);

/* ---- send.c: frames out. */

/*
 * Sends method 'id' with 'args' on channel 'ch' (args may be NULL for a
 * method without arguments).
 */
void	 amqp_send_method(struct amqp_client *c, uint16_t ch, uint32_t id,
	    const struct amqp_value *args);
/*
 * connection.close (on channel 0) or channel.close ('id'): the reply
 * 'code' and 'text', and the method at fault (class << 16 | method, or 0).
 */
void	 amqp_send_close(struct amqp_client *c, uint16_t ch, uint32_t id,
	    uint16_t code, const char *text, uint32_t method);
void	 amqp_send_heartbeat(struct amqp_client *c);
/*
 * Frames made in c->out without being sent (deliveries): they go to
 * conn_write, with whatever is sent next, or by amqp_out_flush_all().
 */
void	 amqp_out_defer(struct amqp_client *c);
/* The end of the core's turn: the deferred frames go (amqp_out_flush_all). */
void	 amqp_turn_end(struct server *s);
/* Hands the frames made in c->out to conn_write now. */
void	 amqp_out_flush(struct amqp_client *c);
/* Hands the deferred frames of every client to conn_write, one write each. */
void	 amqp_out_flush_all(void);
/* The client goes: its deferred frames with it. */
void	 amqp_out_forget(struct amqp_client *c);
/* A string value for an argument array. */
struct amqp_value amqp_str(const char *s);
/* The 'len' bytes at 'p' as a value. */
struct amqp_value amqp_bytes(const void *p, size_t len);
/*
 * The text of a close: RabbitMQ's "NAME - " for 'code' (see
 * amqp_reply_spec), then 'fmt', in 'buf' of 'size' bytes (a short
 * string holds 255).
 */
void	 amqp_reply_text(char *buf, size_t size, uint16_t code,
	    const char *fmt, va_list ap) __attribute__((format(printf, 4, 0)));

#endif /* MQ_SERVE_AMQP_H */
