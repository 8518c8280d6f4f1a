/*
 * expiration.c - a publish's expiration property: the message's own
 * time to live, checked as RabbitMQ checks it and made a deadline.
 *
 * Model: the property is a string of milliseconds from the publish.  It
 * is kept as the header "expiration" (message.c), and its deadline, the
 * time of the publish plus that, as libmq's header MQ_EXPIRES_AT, which
 * every reader of a group honours: past it the entry is dead-lettered as
 * expired instead of delivered, as by the queue's x-message-ttl.  What
 * RabbitMQ refuses is refused with its words (406, "invalid expiration
 * 'abc': no_integer"), Erlang's string:to_integer/1 read of the string
 * and its limit of 2^32-1 milliseconds included.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "amqp.h"

/* The largest expiration RabbitMQ takes (its timers' limit). */
#define EXPIRATION_MAX	4294967295LL

/* Why 's' ('len' bytes) is no expiration, into 'why'; "" if it is one. */
static void
invalid(const char *s, size_t len, int64_t *ms, char *why, size_t size)
{
	size_t i = 0, digits;
	int neg = 0;
	int64_t v = 0;

	why[0] = '\0';
	if (i < len && (s[i] == '+' || s[i] == '-'))
		neg = s[i++] == '-';
	for (digits = i; i < len && s[i] >= '0' && s[i] <= '9'; i++)
		if (v <= EXPIRATION_MAX)
			v = v * 10 + (s[i] - '0');
	if (i == digits) {
		(void)snprintf(why, size, "no_integer");
		return;
	}
	if (i < len) {
		(void)snprintf(why, size, "{leftover_string,\"%.*s\"}",
		    (int)(len - i), s + i);
		return;
	}
	if (neg && v != 0)
		(void)snprintf(why, size, "{value_negative,%.*s}", (int)len, s);
	else if (v > EXPIRATION_MAX)
		(void)snprintf(why, size, "{value_too_large,%.*s}",
		    (int)(len - digits), s + digits);
	*ms = v;
}

int
amqp_expiration(struct amqp_channel *ch, const struct amqp_content_header *h,
    int64_t *at)
{
	const struct amqp_value *v = &h->props[AMQP_BASIC_PROP_EXPIRATION];
	char why[300];
	int64_t ms = 0;

	*at = 0;
	if (!(h->present & 1u << AMQP_BASIC_PROP_EXPIRATION))
		return 0;
	invalid((const char *)v->p, v->len, &ms, why, sizeof(why));
	if (why[0] != '\0') {
		amqp_chan_error(ch, AMQP_PRECONDITION_FAILED, AMQP_BASIC_PUBLISH,
		    "invalid expiration '%.*s': %s", (int)v->len,
		    (const char *)v->p, why);
		return -1;
	}
	*at = loop_wall_ms() + ms;
	return 0;
}
