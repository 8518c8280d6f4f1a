/*
 * connection.c - the AMQP connection: the handshake, connection.close
 * both ways, heartbeats, and connection.blocked.
 *
 * The handshake, as RabbitMQ runs it: after the protocol header the
 * server sends connection.start (its properties, the mechanisms PLAIN
 * and AMQPLAIN); the client answers start-ok with a user and password,
 * which auth.c checks off the loop against --users (without a users
 * file any name and password are taken, from loopback only unless
 * protected mode is off, as RabbitMQ takes guest); then tune (channel
 * max, frame max, heartbeat), the client's tune-ok, and open of the
 * virtual host "/", the only one.  A login refused gets connection.close
 * 403 before the socket closes, as clients that announce
 * authentication_failure_close (all of them) expect.
 *
 * Heartbeats: with an interval of H seconds agreed in tune-ok, a
 * connection that wrote nothing for H/2 seconds sends a heartbeat
 * frame, and one that received nothing for 2H seconds is closed.  One
 * timer of the door sweeps every second over the connections that have
 * heartbeats (or wait for a close-ok), not a timer per connection.
 *
 * connection.blocked: while the spool's disk is nearly full (the core
 * tells the door, core/disk.c), the connections that published and
 * announced the capability are sent connection.blocked "low on disk",
 * and unblocked once it has room; those that only consume are not.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "amqp.h"

/* ------------------------------------------------------------------
 * Errors.
 * ---------------------------------------------------------------- */

void
amqp_conn_error(struct amqp_client *c, uint16_t code, uint32_t method,
    const char *fmt, ...)
{
	char text[256];
	va_list ap;

	if (c->phase == AMQP_CLOSING)
		return;
	va_start(ap, fmt);
	amqp_reply_text(text, sizeof(text), code, fmt, ap);
	va_end(ap);
	amqp_send_close(c, 0, AMQP_CONNECTION_CLOSE, code, text, method);
	(void)snprintf(c->why, sizeof(c->why), "protocol error: %d %s", code,
	    text);
	server_log(c->conn->server, "conn id=%llu peer=%s proto=amqp "
	    "connection error: %s", (unsigned long long)c->conn->id,
	    c->conn->peer, text);
	c->phase = AMQP_CLOSING;
	c->closing_ms = loop_now_ms(c->conn->server->loop);
	amqp_heartbeat_watch(c);	/* for the wait for close-ok */
	/* Nothing more is delivered; what it holds goes back at the close. */
	amqp_chan_stop_all(c);
}

void
amqp_conn_parse_error(struct amqp_client *c)
{
	/* The parser's text starts with the "NAME - " amqp_conn_error adds. */
	const char *text = strstr(c->parser.error, " - ");

	amqp_conn_error(c, c->parser.code,
	    (uint32_t)c->parser.class_id << 16 | c->parser.method_id, "%s",
	    text != NULL ? text + 3 : c->parser.error);
}

/* ------------------------------------------------------------------
 * connection.start and start-ok.
 * ---------------------------------------------------------------- */

/* The server's properties, made once. */
static const struct amqp_buf *
server_properties(void)
{
	static struct amqp_buf b;
	size_t caps;

	if (b.len > 0)
		return &b;
	amqp_fput_key(&b, "product");
	amqp_fput_str(&b, "mq", 2);
	amqp_fput_key(&b, "version");
	amqp_fput_str(&b, MQ_VERSION, strlen(MQ_VERSION));
	amqp_fput_key(&b, "platform");
	amqp_fput_str(&b, "C", 1);
	amqp_fput_key(&b, "information");
	amqp_fput_str(&b, "mq-serve(8), the AMQP door of mq", 32);
	amqp_fput_key(&b, "capabilities");
	caps = amqp_fput_table_open(&b);
	/*
	 * Only what works: pika checks publisher_confirms and basic.nack
	 * (both, for confirms); consumer_cancel_notify says that a consumer
	 * of a queue deleted is told with basic.cancel.
	 */
	amqp_fput_key(&b, "publisher_confirms");
	amqp_fput_bool(&b, 1);
	amqp_fput_key(&b, "authentication_failure_close");
	amqp_fput_bool(&b, 1);
	amqp_fput_key(&b, "basic.nack");
	amqp_fput_bool(&b, 1);
	amqp_fput_key(&b, "consumer_cancel_notify");
	amqp_fput_bool(&b, 1);
	amqp_fput_key(&b, "connection.blocked");
	amqp_fput_bool(&b, 1);
	amqp_fput_key(&b, "per_consumer_qos");
	amqp_fput_bool(&b, 1);
	amqp_put_close(&b, caps);
	return &b;
}

void
amqp_conn_start(struct amqp_client *c)
{
	const struct amqp_buf *props = server_properties();
	struct amqp_value args[AMQP_MAX_ARGS];

	if (props->err != 0) {
		conn_abort(c->conn, "out of memory");
		return;
	}
	memset(args, 0, sizeof(args));
	args[AMQP_CONNECTION_START_VERSION_MAJOR].n = 0;
	args[AMQP_CONNECTION_START_VERSION_MINOR].n = 9;
	args[AMQP_CONNECTION_START_SERVER_PROPERTIES].p = props->p;
	args[AMQP_CONNECTION_START_SERVER_PROPERTIES].len = props->len;
	args[AMQP_CONNECTION_START_MECHANISMS] = amqp_str("PLAIN AMQPLAIN");
	args[AMQP_CONNECTION_START_LOCALES] = amqp_str("en_US");
	amqp_send_method(c, 0, AMQP_CONNECTION_START, args);
	c->phase = AMQP_START_OK;
}

/* Whether the client's capabilities table says 'name' is true. */
static int
client_can(const struct amqp_value *props, const char *name)
{
	struct amqp_field caps, f;

	if (amqp_table_find(props->p, props->len, "capabilities", &caps) != 1 ||
	    caps.type != 'F' ||
	    amqp_table_find(caps.v.p, caps.v.len, name, &f) != 1)
		return 0;
	return f.type == 't' && f.v.n != 0;
}

/* Logs a login, the name cut to 64 bytes, '?' for a byte not printable. */
static void
log_login(struct amqp_client *c, const struct amqp_value *user, int ok)
{
	char shown[65];

	log_shown(shown, sizeof(shown), user->p, user->len);
	server_log(c->conn->server, "conn id=%llu peer=%s proto=amqp auth "
	    "mechanism=%s user=%s %s", (unsigned long long)c->conn->id,
	    c->conn->peer, c->mechanism, shown, ok ? "ok" : "failed");
}

/*
 * The login was refused: connection.close 403, and the socket once the
 * client's close-ok came (php-amqplib reports a broken pipe instead of
 * the refusal if its close-ok cannot be written).
 */
static void
refuse_login(struct amqp_client *c)
{
	amqp_conn_error(c, AMQP_ACCESS_REFUSED, 0, "Login was refused using "
	    "authentication mechanism %s. For details see the broker logfile.",
	    c->mechanism);
	(void)snprintf(c->why, sizeof(c->why), "login refused");
}

static void
send_tune(struct amqp_client *c)
{
	struct amqp_value args[AMQP_MAX_ARGS];

	memset(args, 0, sizeof(args));
	args[AMQP_CONNECTION_TUNE_CHANNEL_MAX].n = AMQP_CHANNEL_MAX;
	args[AMQP_CONNECTION_TUNE_FRAME_MAX].n = AMQP_FRAME_MAX;
	args[AMQP_CONNECTION_TUNE_HEARTBEAT].n = AMQP_HEARTBEAT;
	amqp_send_method(c, 0, AMQP_CONNECTION_TUNE, args);
	c->phase = AMQP_TUNE_OK;
}

/* auth.c's answer. */
static void
auth_done(struct conn *conn, void *arg, int ok)
{
	struct amqp_client *c = arg;
	struct amqp_value user = { 0, (const uint8_t *)c->user,
	    strlen(c->user) };

	log_login(c, &user, ok);
	if (!ok) {
		refuse_login(c);
		return;
	}
	send_tune(c);
	/* What the client sent behind start-ok waited for this. */
	if (conn->inlen > 0)
		(void)amqp_input(conn);
}

static void
start_ok(struct amqp_client *c, const struct amqp_method *m)
{
	const struct amqp_value *props =
	    &m->args[AMQP_CONNECTION_START_OK_CLIENT_PROPERTIES];
	const struct amqp_value *mech =
	    &m->args[AMQP_CONNECTION_START_OK_MECHANISM];
	const struct amqp_value *resp =
	    &m->args[AMQP_CONNECTION_START_OK_RESPONSE];
	struct server *s = c->conn->server;
	struct amqp_value user, pass;

	if (client_can(props, "consumer_cancel_notify"))
		c->caps |= AMQP_CAP_CANCEL_NOTIFY;
	if (client_can(props, "authentication_failure_close"))
		c->caps |= AMQP_CAP_AUTH_CLOSE;
	if (client_can(props, "connection.blocked"))
		c->caps |= AMQP_CAP_BLOCKED;
	(void)snprintf(c->mechanism, sizeof(c->mechanism), "%.*s",
	    (int)(mech->len < 15 ? mech->len : 15), (const char *)mech->p);
	if (amqp_sasl(mech->p, mech->len, resp->p, resp->len, &user,
	    &pass) == -1) {
		amqp_conn_error(c, AMQP_ACCESS_REFUSED, 0, "%s login refused: "
		    "unsupported mechanism or malformed response",
		    c->mechanism);
		(void)snprintf(c->why, sizeof(c->why), "login refused");
		return;
	}
	if (user.len > USERS_NAME_MAX || user.len == 0) {
		log_login(c, &user, 0);
		refuse_login(c);
		return;
	}
	memcpy(c->user, user.p, user.len);
	c->user[user.len] = '\0';
	if (s->users == NULL) {
		/* As RabbitMQ's guest: anyone, from loopback only. */
		if (s->cfg.protected_mode && !conn_is_local(c->conn)) {
			log_login(c, &user, 0);
			refuse_login(c);
			return;
		}
		send_tune(c);
		return;
	}
	c->phase = AMQP_AUTH;
	if (auth_check(c->conn, (const char *)user.p, user.len,
	    (const char *)pass.p, pass.len, auth_done, c) == -1)
		amqp_conn_error(c, AMQP_INTERNAL_ERROR, 0,
		    "the password check could not start");
}

/* ------------------------------------------------------------------
 * tune-ok, open, close.
 * ---------------------------------------------------------------- */

static void
tune_ok(struct amqp_client *c, const struct amqp_method *m)
{
	uint64_t chmax = m->args[AMQP_CONNECTION_TUNE_OK_CHANNEL_MAX].n;
	uint64_t fmax = m->args[AMQP_CONNECTION_TUNE_OK_FRAME_MAX].n;
	uint64_t hb = m->args[AMQP_CONNECTION_TUNE_OK_HEARTBEAT].n;

	/* 0: no limit of the client's; the server's stands. */
	if (fmax == 0)
		fmax = AMQP_FRAME_MAX;
	if (fmax < AMQP_FRAME_MIN_SIZE) {
		amqp_conn_error(c, AMQP_NOT_ALLOWED, m->id,
		    "frame_max=%llu < %d min size", (unsigned long long)fmax,
		    AMQP_FRAME_MIN_SIZE);
		return;
	}
	if (fmax > AMQP_FRAME_MAX) {
		amqp_conn_error(c, AMQP_NOT_ALLOWED, m->id,
		    "frame_max=%llu > %d max size", (unsigned long long)fmax,
		    AMQP_FRAME_MAX);
		return;
	}
	if (chmax == 0 || chmax > AMQP_CHANNEL_MAX)
		chmax = AMQP_CHANNEL_MAX;
	c->channel_max = (uint16_t)chmax;
	c->parser.frame_max = (uint32_t)fmax;
	c->heartbeat = (uint16_t)hb;
	c->phase = AMQP_OPEN;
	if (c->heartbeat > 0)
		amqp_heartbeat_watch(c);
}

static void
conn_open(struct amqp_client *c, const struct amqp_method *m)
{
	const struct amqp_value *vhost =
	    &m->args[AMQP_CONNECTION_OPEN_VIRTUAL_HOST];
	struct amqp_value args[AMQP_MAX_ARGS];

	if (vhost->len != 1 || vhost->p[0] != '/') {
		amqp_conn_error(c, AMQP_NOT_ALLOWED, m->id,
		    "vhost %.*s not found", (int)vhost->len,
		    (const char *)vhost->p);
		return;
	}
	memset(args, 0, sizeof(args));
	args[AMQP_CONNECTION_OPEN_OK_KNOWN_HOSTS] = amqp_str("");
	amqp_send_method(c, 0, AMQP_CONNECTION_OPEN_OK, args);
	c->phase = AMQP_RUNNING;
}

/* The client closes: close-ok, and the socket once it is written. */
static void
peer_close(struct amqp_client *c)
{
	amqp_send_method(c, 0, AMQP_CONNECTION_CLOSE_OK, NULL);
	conn_close_after_reply(c->conn);
}

/* The method each phase of the handshake waits for. */
static uint32_t
expected(enum amqp_phase phase)
{
	switch (phase) {
	case AMQP_START_OK:
		return AMQP_CONNECTION_START_OK;
	case AMQP_TUNE_OK:
		return AMQP_CONNECTION_TUNE_OK;
	case AMQP_OPEN:
		return AMQP_CONNECTION_OPEN;
	default:
		return 0;
	}
}

void
amqp_conn_method(struct amqp_client *c, const struct amqp_method *m)
{
	uint32_t want = expected(c->phase);

	if (c->phase == AMQP_CLOSING) {
		/* Only the end of the close matters now. */
		if (m->id == AMQP_CONNECTION_CLOSE_OK)
			conn_close_after(c->conn, c->why);
		else if (m->id == AMQP_CONNECTION_CLOSE)
			peer_close(c);
		return;
	}
	if (m->id == AMQP_CONNECTION_CLOSE) {
		peer_close(c);
		return;
	}
	if (want != 0 && m->id != want) {
		amqp_conn_error(c, AMQP_COMMAND_INVALID, m->id,
		    "expected '%s', got '%s'", amqp_method_spec(want)->name,
		    m->spec->name);
		return;
	}
	switch (m->id) {
	case AMQP_CONNECTION_START_OK:
		start_ok(c, m);
		break;
	case AMQP_CONNECTION_TUNE_OK:
		tune_ok(c, m);
		break;
	case AMQP_CONNECTION_OPEN:
		conn_open(c, m);
		break;
	default:
		amqp_conn_error(c, AMQP_COMMAND_INVALID, m->id,
		    "unexpected method '%s' on channel 0", m->spec->name);
		break;
	}
}

/* ------------------------------------------------------------------
 * Heartbeats, and the wait for close-ok.
 * ---------------------------------------------------------------- */

static TAILQ_HEAD(, amqp_client) watched = TAILQ_HEAD_INITIALIZER(watched);
static uint64_t sweep_timer;

static void sweep(struct loop *loop, void *arg);

/* What the sweep does for one client; 0, or -1 if it closed it. */
static int
sweep_one(struct amqp_client *c, int64_t now)
{
	struct conn *conn = c->conn;
	int64_t hb = (int64_t)c->heartbeat * 1000;

	if (c->phase == AMQP_CLOSING) {
		if (now - c->closing_ms >= AMQP_CLOSE_WAIT_MS) {
			conn_close(conn, c->why);
			return -1;
		}
		return 0;
	}
	if (hb == 0)
		return 0;
	if (now - conn->active_ms >= 2 * hb) {
		conn_close(conn, "missed heartbeats from client");
		return -1;
	}
	if (now - c->sent_ms >= hb / 2)
		amqp_send_heartbeat(c);
	return 0;
}

static void
sweep(struct loop *loop, void *arg)
{
	struct amqp_client *c, *next;
	int64_t now = loop_now_ms(loop);

	sweep_timer = 0;
	TAILQ_FOREACH_SAFE(c, &watched, hlink, next)
		(void)sweep_one(c, now);	/* a close unwatches it */
	if (!TAILQ_EMPTY(&watched))
		sweep_timer = loop_timer_add(loop, 1000, sweep, arg);
}

void
amqp_heartbeat_watch(struct amqp_client *c)
{
	if (c->in_sweep)
		return;
	TAILQ_INSERT_TAIL(&watched, c, hlink);
	c->in_sweep = 1;
	if (sweep_timer == 0)
		sweep_timer = loop_timer_add(c->conn->server->loop, 1000, sweep,
		    NULL);
}

void
amqp_heartbeat_unwatch(struct amqp_client *c)
{
	if (!c->in_sweep)
		return;
	TAILQ_REMOVE(&watched, c, hlink);
	c->in_sweep = 0;
	if (TAILQ_EMPTY(&watched) && sweep_timer != 0) {
		loop_timer_del(c->conn->server->loop, sweep_timer);
		sweep_timer = 0;
	}
}

/* ------------------------------------------------------------------
 * connection.blocked: the spool's disk nearly full (core/disk.c).
 * ---------------------------------------------------------------- */

/* Sends connection.blocked or unblocked to 'c' if it is to hear it. */
static void
tell_blocked(struct amqp_client *c, int low)
{
	struct amqp_value args[AMQP_MAX_ARGS];

	if (!(c->caps & AMQP_CAP_BLOCKED) || c->phase != AMQP_RUNNING ||
	    c->blocked == low)
		return;
	c->blocked = low;
	if (!low) {
		amqp_send_method(c, 0, AMQP_CONNECTION_UNBLOCKED, NULL);
		return;
	}
	memset(args, 0, sizeof(args));
	args[AMQP_CONNECTION_BLOCKED_REASON] = amqp_str("low on disk");
	amqp_send_method(c, 0, AMQP_CONNECTION_BLOCKED, args);
}

void
amqp_disk_low(struct server *s, int low)
{
	struct conn *conn;
	struct amqp_client *c;

	TAILQ_FOREACH(conn, &s->conns, all) {
		if (conn->proto != &amqp_proto || conn->dead ||
		    (c = conn->state) == NULL)
			continue;
		/* Only publishers are blocked: consumers drain the queues. */
		if (c->published || !low)
			tell_blocked(c, low);
	}
}

void
amqp_conn_publishing(struct amqp_client *c)
{
	c->published = 1;
	if (c->conn->server->disk_low)
		tell_blocked(c, 1);
}
