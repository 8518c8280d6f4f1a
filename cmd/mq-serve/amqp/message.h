/*
 * message.h - an AMQP message as a libmq message and back (message.c):
 * the properties and the headers table of a content header as headers,
 * the routing key as the key.  Pure, as the codec is: it does no I/O and
 * knows nothing of the server, so that the unit test links it alone.
 */
#ifndef MQ_SERVE_AMQP_MESSAGE_H
#define MQ_SERVE_AMQP_MESSAGE_H

#include <stddef.h>

#include "mq.h"
#include "encode.h"
#include "parse.h"

/* "amqp-headers": the header that keeps a headers table whole. */
#define AMQP_HEADERS_HEADER	"amqp-headers"

/* What a message made from a publish points into, besides the frames. */
struct amqp_msg_in {
	struct mq_header	*h;		/* the headers, grown as needed */
	size_t			 cap;
	char			 num[AMQP_BASIC_NPROPS][24];	/* numbers as text */
	char			 deadline[24];	/* MQ_EXPIRES_AT's value */
};

/*
 * Makes 'm' from the content header 'props', the routing key (the
 * message's key, none if empty) and the body: each property present
 * becomes a header named as RabbitMQ's STOMP adapter names it (numbers
 * in decimal), and the headers table either a plain header per entry
 * (when every entry is a long string and no key is a property's header
 * or "amqp-headers"), or one header "amqp-headers" with its bytes.
 * 'm' points into 'in', 'props' and the arguments.  Returns 0, or -1 if
 * out of memory.
 */
int	 amqp_msg_from_content(struct amqp_msg_in *in,
	    const struct amqp_content_header *props, const void *key,
	    size_t keylen, const void *body, size_t bodylen, struct mq_msg *m);
void	 amqp_msg_in_free(struct amqp_msg_in *in);
/*
 * Adds to 'm', made by amqp_msg_from_content() with 'in', the header
 * MQ_EXPIRES_AT with deadline 'at' (milliseconds since the epoch), which
 * libmq's readers honour.  Returns 0, or -1 if out of memory.
 */
int	 amqp_msg_deadline(struct amqp_msg_in *in, struct mq_msg *m,
	    int64_t at);
/*
 * The reverse: the content header of message 'm' in 'props' (class
 * basic, body size included).  A header named as a property, with a
 * value the property can hold, is that property (the first one of a
 * name); "amqp-headers" holding a field table, the start of the headers
 * table; MQ_EXPIRES_AT, libmq's, nothing (the expiration property says
 * it to the client); every other header an entry of type S of it.  The table is
 * made in 'table' (emptied first); 'props' points into 'm' and 'table'.
 * Returns 0, or -1 if 'table' could not grow.
 */
int	 amqp_msg_to_content(const struct mq_msg *m, struct amqp_buf *table,
	    struct amqp_content_header *props);

/* ---- death.c: a dead letter's history as x-death. */

/*
 * The number of headers at the start of 'm' that are runs of libmq's
 * dead-letter headers (mq-origin ... mq-time, then mq-exchange and
 * mq-key if routed; one run per dead-lettering, newest first): 0 for a
 * message that is no dead letter.
 */
size_t	 amqp_death_prefix(const struct mq_msg *m);
/*
 * Adds to 'table' the entries x-death, x-first-death-exchange, -queue
 * and -reason of a message that starts with runs: 1 if so, 0 if it is
 * no dead letter, -1 if out of memory.
 */
int	 amqp_deaths_put(const struct mq_msg *m, struct amqp_buf *table);
/*
 * Sorts the entries of 'table' by key as RabbitMQ orders a dead letter's
 * headers: 0, or -1 if out of memory.
 */
int	 amqp_table_sort(struct amqp_buf *table);
/*
 * The exchange a delivery of 'm' names: the dead-letter exchange that
 * brought it, else "" (a message keeps no other).
 */
void	 amqp_death_exchange(const struct mq_msg *m, const void **p,
	    size_t *len);

#endif /* MQ_SERVE_AMQP_MESSAGE_H */
