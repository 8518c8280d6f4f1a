/*
 * headers.h - the match of a headers exchange (headers.c): a binding's
 * arguments against a message's headers table.  Pure, as the codec is,
 * so that the unit test links it alone.
 */
#ifndef MQ_SERVE_AMQP_HEADERS_H
#define MQ_SERVE_AMQP_HEADERS_H

#include <stddef.h>
#include <stdint.h>

/*
 * Checks the x-match argument of the binding arguments 'args' ('len'
 * bytes of a field table, without its length): 0 if it is missing or
 * one of all, any, all-with-x, any-with-x; else -1 with RabbitMQ's
 * text of the 406 in 'why' ('size' bytes).
 */
int	 amqp_headers_check(const uint8_t *args, size_t len, char *why,
	    size_t size);

/*
 * Whether a message whose headers table is the 'hlen' bytes at 'hdrs'
 * (none: 0 bytes) matches a binding of arguments 'args' ('len' bytes):
 * 1 or 0.  The signature is libmq's mq_xmatch_fn with the headers as a
 * struct amqp_headers.
 */
struct amqp_headers {
	const uint8_t	*p;
	size_t		 len;
};
int	 amqp_headers_match(const void *args, size_t len, void *hdrs);

#endif /* MQ_SERVE_AMQP_HEADERS_H */
