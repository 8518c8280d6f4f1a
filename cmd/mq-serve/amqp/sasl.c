/*
 * sasl.c - the credentials in a connection.start-ok's response.
 *
 * Model: two mechanisms, the ones RabbitMQ offers by default and that
 * the clients use.  PLAIN (RFC 4616) is "authzid \0 user \0 password"
 * with an empty authzid from every client seen (RabbitMQ 3.x accepts
 * only that; a given one is skipped here, as the RFC allows).  AMQPLAIN,
 * php-amqplib's default, is a field table without its 4-byte length,
 * whose entries LOGIN and PASSWORD are long strings; like RabbitMQ, the
 * first entry of each name counts and other entries are ignored.
 */
#include <string.h>

#include "parse.h"

static void
set(struct amqp_value *v, const uint8_t *p, size_t len)
{
	v->n = 0;
	v->p = p;
	v->len = len;
}

int
amqp_sasl_plain(const uint8_t *resp, size_t len, struct amqp_value *user,
    struct amqp_value *pass)
{
	const uint8_t *u, *pw, *end = resp + len;

	if (len == 0 || (u = memchr(resp, '\0', len)) == NULL)
		return -1;
	u++;
	if ((pw = memchr(u, '\0', (size_t)(end - u))) == NULL)
		return -1;
	pw++;
	if (memchr(pw, '\0', (size_t)(end - pw)) != NULL)
		return -1;
	set(user, u, (size_t)(pw - 1 - u));
	set(pass, pw, (size_t)(end - pw));
	return 0;
}

/* The long string 'key' of the table 'p': 0, or -1 if it has none. */
static int
login_field(const uint8_t *p, size_t len, const char *key,
    struct amqp_value *v)
{
	struct amqp_field f;
	const uint8_t *s;
	size_t n;

	if (amqp_table_find(p, len, key, &f) != 1 ||
	    amqp_field_str(&f, &s, &n) == -1)
		return -1;
	set(v, s, n);
	return 0;
}

int
amqp_sasl_amqplain(const uint8_t *resp, size_t len, struct amqp_value *user,
    struct amqp_value *pass)
{
	if (amqp_table_check(resp, len) == -1 ||
	    login_field(resp, len, "LOGIN", user) == -1 ||
	    login_field(resp, len, "PASSWORD", pass) == -1)
		return -1;
	return 0;
}

static int
is(const uint8_t *s, size_t len, const char *name)
{
	return len == strlen(name) && memcmp(s, name, len) == 0;
}

int
amqp_sasl(const uint8_t *mech, size_t mechlen, const uint8_t *resp,
    size_t len, struct amqp_value *user, struct amqp_value *pass)
{
	if (is(mech, mechlen, "PLAIN"))
		return amqp_sasl_plain(resp, len, user, pass);
	if (is(mech, mechlen, "AMQPLAIN"))
		return amqp_sasl_amqplain(resp, len, user, pass);
	return -1;
}
