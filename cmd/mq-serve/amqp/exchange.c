/*
 * exchange.c - AMQP exchanges: exchange.declare and exchange.delete, and
 * how the other methods find an exchange.
 *
 * Model: exchanges are libmq's (libmq/exchange.c, docs/exchanges.md),
 * in the spool, so every process routes alike and amq.topic is the
 * topic exchange of mq-publish and Redis's PUBLISH.  The built-in ones
 * ("", amq.direct, amq.fanout, amq.topic, amq.headers, amq.match)
 * always exist.  A durable exchange is kept until deleted; a transient
 * one belongs to the server's spool handle, and goes when the server
 * does, however it ends.
 *
 * The door says what RabbitMQ says: a type it does not know is 503
 * COMMAND_INVALID, a connection error; the default exchange is 403 to
 * every method that names it; a new name starting "amq." is 403, and
 * deleting one is 403 too; a redeclaration that differs in type,
 * durable, auto_delete, internal or the alternate-exchange argument is
 * 406, naming the first that differs, and one that differs in other
 * arguments only is taken, as RabbitMQ compares no others.  A passive
 * declare asks only whether the exchange exists.  Deleting an exchange
 * that is not there is no error.
 */
#include <stdio.h>
#include <string.h>

#include "amqp.h"

#define VHOST		"in vhost '/'"
#define NO_EXCHANGE	"no exchange '%s' " VHOST
#define DEFAULT_X	"operation not permitted on the default exchange"

int
amqp_exchange_name(struct amqp_channel *ch, const struct amqp_method *m,
    const struct amqp_value *arg, char *name)
{
	if (arg->len == 0) {
		amqp_chan_error(ch, AMQP_ACCESS_REFUSED, m->id, DEFAULT_X);
		return -1;
	}
	return amqp_name_copy(ch, m, arg, "exchange", name);
}

void
amqp_exchange_fail(struct amqp_channel *ch, const struct amqp_method *m,
    const char *name, int rc)
{
	char what[MQ_NAME_MAX + 16];

	switch (rc) {
	case MQ_ENOEXCHANGE:
		amqp_chan_error(ch, AMQP_NOT_FOUND, m->id, NO_EXCHANGE, name);
		break;
	case MQ_ERESERVED:
		if (name[0] == '\0')
			amqp_chan_error(ch, AMQP_ACCESS_REFUSED, m->id,
			    DEFAULT_X);
		else
			amqp_chan_error(ch, AMQP_ACCESS_REFUSED, m->id,
			    "deletion of system exchange '%s' " VHOST
			    " not allowed", name);
		break;
	case MQ_EINUSE:
		amqp_chan_error(ch, AMQP_PRECONDITION_FAILED, m->id,
		    "exchange '%s' " VHOST " in use", name);
		break;
	case MQ_EBADNAME:
		amqp_chan_error(ch, AMQP_PRECONDITION_FAILED, m->id,
		    "exchange name or routing key cannot be used with '%s': %s",
		    name, mq_strerror(rc));
		break;
	default:
		(void)snprintf(what, sizeof(what), "exchange '%s'", name);
		amqp_fail_internal(ch->c, m, what, rc);
		break;
	}
}

int
amqp_exchange_find(struct amqp_channel *ch, const struct amqp_method *m,
    const char *name, struct mq_exchange *x)
{
	int rc;

	if ((rc = mq_exchange_lookup(ch->c->conn->server->spool, name, x)) ==
	    MQ_OK)
		return 0;
	amqp_exchange_fail(ch, m, name, rc);
	return -1;
}

/* ------------------------------------------------------------------
 * exchange.declare
 * ---------------------------------------------------------------- */

/*
 * The type a declare names, or -1 after RabbitMQ's 503 (a connection
 * error): "invalid" for the empty name, "unknown" for others.
 */
static int
declare_type(struct amqp_channel *ch, const struct amqp_method *m,
    enum mq_xtype *type)
{
	const struct amqp_value *t = &m->args[AMQP_EXCHANGE_DECLARE_TYPE];
	char name[256];

	memcpy(name, t->p, t->len);
	name[t->len] = '\0';
	if (strlen(name) == t->len && mq_xtype_parse(name, type) == MQ_OK)
		return 0;
	amqp_conn_error(ch->c, AMQP_COMMAND_INVALID, m->id,
	    "%s exchange type '%s'", t->len == 0 ? "invalid" : "unknown", name);
	return -1;
}

/* The flags a declare asks for, as libmq's. */
static int
declare_flags(const struct amqp_method *m)
{
	return (m->args[AMQP_EXCHANGE_DECLARE_DURABLE].n ? MQ_XDURABLE : 0) |
	    (m->args[AMQP_EXCHANGE_DECLARE_AUTO_DELETE].n ? MQ_XAUTODELETE :
	    0) | (m->args[AMQP_EXCHANGE_DECLARE_INTERNAL].n ? MQ_XINTERNAL : 0);
}

/* The alternate-exchange of a table, as RabbitMQ prints it in 'buf'. */
static void
print_ae(const uint8_t *args, size_t len, char *buf, size_t size)
{
	struct amqp_field f;

	if (args == NULL || amqp_table_find(args, len, "alternate-exchange",
	    &f) != 1)
		(void)snprintf(buf, size, "none");
	else if (f.type == 'S')
		(void)snprintf(buf, size, "the value '%.*s' of type 'longstr'",
		    (int)(f.v.len > 100 ? 100 : f.v.len), (const char *)f.v.p);
	else
		(void)snprintf(buf, size, "a value of type '%c'", f.type);
}

/*
 * Whether the exchange 'x' is what a declare of 'type', 'flags' and
 * arguments 'args' asks for: 0, or -1 after RabbitMQ's 406 naming the
 * first thing that differs.
 */
static int
equivalent(struct amqp_channel *ch, const struct amqp_method *m,
    const struct mq_exchange *x, enum mq_xtype type, int flags,
    const struct amqp_value *args)
{
	static const struct {
		int		 flag;
		const char	*arg;
	} bits[] = {
		{ MQ_XDURABLE, "durable" },
		{ MQ_XAUTODELETE, "auto_delete" },
		{ MQ_XINTERNAL, "internal" },
	};
	char got[160], cur[160];
	size_t i;

	if (x->type != type) {
		amqp_chan_error(ch, AMQP_PRECONDITION_FAILED, m->id,
		    "inequivalent arg 'type' for exchange '%s' " VHOST ": "
		    "received '%s' but current is '%s'", x->name,
		    mq_xtype_name(type), mq_xtype_name(x->type));
		return -1;
	}
	for (i = 0; i < sizeof(bits) / sizeof(bits[0]); i++)
		if ((x->flags & bits[i].flag) != (flags & bits[i].flag)) {
			amqp_chan_error(ch, AMQP_PRECONDITION_FAILED, m->id,
			    "inequivalent arg '%s' for exchange '%s' " VHOST
			    ": received '%s' but current is '%s'", bits[i].arg,
			    x->name, flags & bits[i].flag ? "true" : "false",
			    x->flags & bits[i].flag ? "true" : "false");
			return -1;
		}
	print_ae(args->p, args->len, got, sizeof(got));
	print_ae(x->args, x->argslen, cur, sizeof(cur));
	if (strcmp(got, cur) != 0) {
		amqp_chan_error(ch, AMQP_PRECONDITION_FAILED, m->id,
		    "inequivalent arg 'alternate-exchange' for exchange '%s' "
		    VHOST ": received %s but current is %s", x->name, got, cur);
		return -1;
	}
	return 0;
}

void
amqp_exchange_declare(struct amqp_channel *ch, const struct amqp_method *m)
{
	const struct amqp_value *args =
	    &m->args[AMQP_EXCHANGE_DECLARE_ARGUMENTS];
	struct server *s = ch->c->conn->server;
	char name[AMQP_NAME_SIZE];
	struct mq_exchange x;
	enum mq_xtype type = MQ_XDIRECT;
	int passive = m->args[AMQP_EXCHANGE_DECLARE_PASSIVE].n != 0;
	int flags = declare_flags(m), rc;

	/* As RabbitMQ: the type first, then the name (a passive: neither). */
	if (!passive && declare_type(ch, m, &type) == -1)
		return;
	if (amqp_exchange_name(ch, m, &m->args[AMQP_EXCHANGE_DECLARE_EXCHANGE],
	    name) == -1)
		return;
	rc = mq_exchange_lookup(s->spool, name, &x);
	if (rc == MQ_OK && !passive &&
	    equivalent(ch, m, &x, type, flags, args) == -1)
		return;
	if (rc == MQ_ENOEXCHANGE && !passive) {
		if (strncmp(name, "amq.", 4) == 0) {
			amqp_chan_error(ch, AMQP_ACCESS_REFUSED, m->id,
			    "exchange name '%s' contains reserved prefix "
			    "'amq.*'", name);
			return;
		}
		rc = mq_exchange_declare(s->spool, name, type, flags, args->p,
		    args->len);
		/* Made by another meanwhile, and otherwise: compare. */
		if (rc == MQ_EEXIST && (rc = mq_exchange_lookup(s->spool, name,
		    &x)) == MQ_OK && equivalent(ch, m, &x, type, flags,
		    args) == -1)
			return;
	}
	if (rc != MQ_OK) {
		amqp_exchange_fail(ch, m, name, rc);
		return;
	}
	if (!m->args[AMQP_EXCHANGE_DECLARE_NOWAIT].n)
		amqp_send_method(ch->c, ch->id, AMQP_EXCHANGE_DECLARE_OK, NULL);
}

/* ------------------------------------------------------------------
 * exchange.delete
 * ---------------------------------------------------------------- */

void
amqp_exchange_delete(struct amqp_channel *ch, const struct amqp_method *m)
{
	struct server *s = ch->c->conn->server;
	char name[AMQP_NAME_SIZE];
	int rc;

	if (amqp_exchange_name(ch, m, &m->args[AMQP_EXCHANGE_DELETE_EXCHANGE],
	    name) == -1)
		return;
	rc = mq_exchange_delete(s->spool, name,
	    m->args[AMQP_EXCHANGE_DELETE_IF_UNUSED].n != 0);
	/* As RabbitMQ: deleting what is not there is no error. */
	if (rc != MQ_OK && rc != MQ_ENOEXCHANGE) {
		amqp_exchange_fail(ch, m, name, rc);
		return;
	}
	if (!m->args[AMQP_EXCHANGE_DELETE_NOWAIT].n)
		amqp_send_method(ch->c, ch->id, AMQP_EXCHANGE_DELETE_OK, NULL);
}
