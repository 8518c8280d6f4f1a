/*
 * reply.c - writing replies: the RESP2 and RESP3 types, a stream
 * entry, and the one translation of libmq's outcomes into Redis's errors.
 *
 * A RESP3 type asked of a RESP2 client falls back as Redis does: a null
 * is $-1 (or *-1 for a missing array), a map an array of twice its
 * length, a set or a push an array, a double a bulk string.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "resp.h"

size_t
resp_header(char *buf, char type, int neg, unsigned long long n)
{
	unsigned long long t;
	size_t nd, len = 0, i;

	/*
	 * Every reply and frame has some, mostly of a few digits: those
	 * counted by comparing, then put from the last.
	 */
	if (n < 10)
		nd = 1;
	else if (n < 100)
		nd = 2;
	else if (n < 1000)
		nd = 3;
	else
		for (nd = 4, t = n / 10000; t > 0; t /= 10)
			nd++;
	buf[len++] = type;
	if (neg)
		buf[len++] = '-';
	for (i = nd; i > 0; i--, n /= 10)
		buf[len + i - 1] = (char)('0' + n % 10);
	len += nd;
	buf[len++] = '\r';
	buf[len++] = '\n';
	return len;
}

static void
reply_header(struct resp_client *c, char type, int neg, unsigned long long n)
{
	char buf[RESP_HEADER_MAX];

	conn_write(c->conn, buf, resp_header(buf, type, neg, n));
}

void
resp_reply_simple(struct resp_client *c, const char *s)
{
	conn_printf(c->conn, "+%s\r\n", s);
}

void
resp_reply_ok(struct resp_client *c)
{
	conn_write(c->conn, "+OK\r\n", 5);
}

void
resp_reply_error(struct resp_client *c, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	size_t i;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(buf))
		n = sizeof(buf) - 1;
	/* An error is one line: newlines in what it quotes become spaces. */
	for (i = 0; i < (size_t)n; i++)
		if (buf[i] == '\r' || buf[i] == '\n')
			buf[i] = ' ';
	conn_write(c->conn, "-", 1);
	conn_write(c->conn, buf, (size_t)n);
	conn_write(c->conn, "\r\n", 2);
}

void
resp_reply_int(struct resp_client *c, long long v)
{
	reply_header(c, ':', v < 0, v < 0 ? 0ULL - (unsigned long long)v :
	    (unsigned long long)v);
}

void
resp_reply_bulk(struct resp_client *c, const void *p, size_t len)
{
	reply_header(c, '$', 0, len);
	conn_write(c->conn, p, len);
	conn_write(c->conn, "\r\n", 2);
}

void
resp_reply_bulk_str(struct resp_client *c, const char *s)
{
	resp_reply_bulk(c, s, strlen(s));
}

void
resp_reply_id(struct resp_client *c, mq_id id)
{
	char buf[MQ_ID_MAX];
	int n = mq_id_fmt(buf, id);

	resp_reply_bulk(c, buf, (size_t)n);
}

void
resp_reply_null(struct resp_client *c)
{
	if (c->proto == 3)
		conn_write(c->conn, "_\r\n", 3);
	else
		conn_write(c->conn, "$-1\r\n", 5);
}

void
resp_reply_null_array(struct resp_client *c)
{
	if (c->proto == 3)
		conn_write(c->conn, "_\r\n", 3);
	else
		conn_write(c->conn, "*-1\r\n", 5);
}

static void
aggregate(struct resp_client *c, char type, size_t n)
{
	reply_header(c, type, 0, n);
}

void
resp_reply_array(struct resp_client *c, size_t n)
{
	aggregate(c, '*', n);
}

void
resp_reply_map(struct resp_client *c, size_t n)
{
	if (c->proto == 3)
		aggregate(c, '%', n);
	else
		aggregate(c, '*', 2 * n);
}

void
resp_reply_set(struct resp_client *c, size_t n)
{
	aggregate(c, c->proto == 3 ? '~' : '*', n);
}

void
resp_reply_push(struct resp_client *c, size_t n)
{
	aggregate(c, c->proto == 3 ? '>' : '*', n);
}

void
resp_reply_double(struct resp_client *c, double v)
{
	char buf[64];
	int n = snprintf(buf, sizeof(buf), "%.17g", v);

	if (c->proto == 3)
		conn_printf(c->conn, ",%s\r\n", buf);
	else
		resp_reply_bulk(c, buf, (size_t)n);
}

/*
 * A stream entry as Redis shows it: [id, [field, value, ...]].  The
 * message's headers are the fields, in order; its body is the field
 * "body", last -- left out when it is empty and there are headers, so
 * that XADD s * a 1 reads back as [a, 1] (see docs/mapping.md).
 */
void
resp_reply_entry(struct resp_client *c, const struct mq_msg *m)
{
	size_t i, n = m->nheaders;
	int body = m->bodylen > 0 || m->nheaders == 0;

	resp_reply_array(c, 2);
	resp_reply_id(c, m->id);
	if (m->body == NULL && m->nheaders == 0) {
		/* Deleted: XREADGROUP history shows the id with a null. */
		resp_reply_null_array(c);
		return;
	}
	resp_reply_array(c, 2 * (n + (size_t)body));
	for (i = 0; i < n; i++) {
		resp_reply_bulk(c, m->headers[i].name, m->headers[i].namelen);
		resp_reply_bulk(c, m->headers[i].value, m->headers[i].valuelen);
	}
	if (body) {
		resp_reply_bulk(c, "body", 4);
		resp_reply_bulk(c, m->body, m->bodylen);
	}
}

void
resp_reply_mq_error(struct resp_client *c, int err, const char *context)
{
	switch (err) {
	case MQ_EIDSMALL:
		resp_reply_error(c,
		    "ERR The ID specified in %s is equal or smaller "
		    "than the target stream top item", context);
		break;
	case MQ_EIDZERO:
		resp_reply_error(c,
		    "ERR The ID specified in %s must be greater than 0-0",
		    context);
		break;
	case MQ_EBADID:
		resp_reply_error(c,
		    "ERR Invalid stream ID specified as stream command "
		    "argument");
		break;
	case MQ_EEXIST:
		resp_reply_error(c,
		    "BUSYGROUP Consumer Group name already exists");
		break;
	case MQ_ENOGROUP:
		resp_reply_error(c,
		    "NOGROUP No such consumer group for key name "
		    "in %s", context);
		break;
	case MQ_ENOSTREAM:
		resp_reply_error(c, "ERR no such key");
		break;
	case MQ_ETOOBIG:
		resp_reply_error(c,
		    "ERR message too large for the stream's max-msg "
		    "(see mq-queue --max-msg)");
		break;
	case MQ_ENOSPC:
		/* Whatever path the append took: the core logs it once. */
		server_appended(c->conn->server, err);
		resp_reply_error(c,
		    "MISCONF Errors writing to the spool: No space "
		    "left on device");
		break;
	case MQ_EBADNAME:
		resp_reply_error(c,
		    "ERR invalid key name for mq (empty, NUL byte, "
		    "or too long)");
		break;
	case MQ_EINVAL:
		resp_reply_error(c, "ERR value out of range");
		break;
	case MQ_EWRONGTYPE:
		resp_reply_error(c,
		    "WRONGTYPE Operation against a key holding the "
		    "wrong kind of value");
		break;
	case MQ_OK:
	case MQ_ECORRUPT:
	case MQ_EVERSION:
	case MQ_ENOMSG:
	case MQ_ESYS:
	default:
		resp_reply_error(c, "ERR %s: %s", context, mq_strerror(err));
		break;
	}
}
