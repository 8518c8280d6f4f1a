/*
 * amqp-load.c - a load generator for AMQP 0-9-1 brokers on librabbitmq
 * (rabbitmq-c), for scripts/bench-amqp.sh: the same client against
 * mq-serve and rabbitmq-server.
 *
 *   amqp-load publish -p PORT [-c CONNS] [-n MSGS] [-s SIZE] [-w WINDOW] [-q QUEUE] [-Q N]
 *   amqp-load consume -p PORT [-c CONNS] [-n MSGS] [-P PREFETCH] [-q QUEUE] [-Q N]
 *   amqp-load declare -p PORT [-c CONNS] [-q QUEUE] -Q N
 *   amqp-load hold    -p PORT [-c CONNS]
 *
 * publish: CONNS connections, a thread each, publish MSGS persistent
 * messages of SIZE bytes in all to the durable queue QUEUE (declared
 * first) in confirm mode, each keeping at most WINDOW unconfirmed; the
 * latency of each confirm is from its basic.publish to the basic.ack
 * that covers it.  consume: CONNS connections consume MSGS messages in
 * all from QUEUE with basic.qos PREFETCH and one basic.ack per message.
 * hold: opens CONNS connections with a channel each, prints "ready" and
 * keeps them until its standard input closes (to measure what idle
 * connections cost the server).
 *
 * With -Q N, N > 1, the queues are QUEUE.0 to QUEUE.N-1: declare
 * declares them (CONNS connections, each its share), publish sends its
 * messages to them in turn without declaring them, and consume starts a
 * consumer on each (connection i takes the queues i, i + CONNS, ...)
 * before it counts, PREFETCH then being the channel's (basic.qos
 * global), not each consumer's: N queues and N consumers on one server.
 *
 * Prints one line: the phase, messages, seconds, messages/s, and for
 * publish the median and p99 confirm latency in microseconds.  Not a
 * test: it measures, it does not judge.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <amqp.h>
#include <amqp_tcp_socket.h>

struct opts {
	const char	*phase;
	int		 port;
	int		 conns;
	long		 msgs;
	size_t		 size;
	int		 window;
	int		 prefetch;
	const char	*queue;
	long		 nqueues;	/* -Q: QUEUE.0 .. QUEUE.N-1 */
};

struct worker {
	const struct opts *o;
	pthread_t	 thread;
	long		 msgs;		/* its share */
	double		*lat;		/* publish: microseconds per confirm */
	long		 nlat;
	long		 nacks;
	int		 index;		/* of its connection */
};

static struct opts opts = { NULL, 0, 1, 100000, 100, 100, 100, "bench", 1 };
static atomic_long consumed;

static double
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static void
die(const char *what, const char *why)
{
	fprintf(stderr, "amqp-load: %s: %s\n", what, why);
	exit(1);
}

/* Dies unless the last RPC of 'c' went well. */
static void
check_rpc(amqp_connection_state_t c, const char *what)
{
	amqp_rpc_reply_t r = amqp_get_rpc_reply(c);

	if (r.reply_type == AMQP_RESPONSE_NORMAL)
		return;
	if (r.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION)
		die(what, amqp_error_string2(r.library_error));
	die(what, "refused by the server");
}

/* A connection with channel 1 open. */
static amqp_connection_state_t
connect_one(const struct opts *o)
{
	amqp_connection_state_t c = amqp_new_connection();
	amqp_socket_t *s = amqp_tcp_socket_new(c);

	if (s == NULL)
		die("socket", "out of memory");
	if (amqp_socket_open(s, "127.0.0.1", o->port) != AMQP_STATUS_OK)
		die("connect", strerror(errno));
	if (amqp_login(c, "/", 0, 131072, 0, AMQP_SASL_METHOD_PLAIN, "guest",
	    "guest").reply_type != AMQP_RESPONSE_NORMAL)
		die("login", "refused");
	amqp_channel_open(c, 1);
	check_rpc(c, "channel.open");
	return c;
}

/* The name of queue 'i' of the -Q queues, in 'buf'. */
static amqp_bytes_t
queue_name(const struct opts *o, long i, char *buf, size_t size)
{
	if (o->nqueues == 1)
		return amqp_cstring_bytes(o->queue);
	snprintf(buf, size, "%s.%ld", o->queue, i);
	return amqp_cstring_bytes(buf);
}

static void
declare_one(amqp_connection_state_t c, amqp_bytes_t name)
{
	amqp_queue_declare(c, 1, name, 0, 1, 0, 0, amqp_empty_table);
	check_rpc(c, "queue.declare");
}

static void
declare(amqp_connection_state_t c, const struct opts *o)
{
	declare_one(c, amqp_cstring_bytes(o->queue));
}

/* declare -Q N: this connection's share of the queues. */
static void *
declarer(void *arg)
{
	struct worker *w = arg;
	const struct opts *o = w->o;
	amqp_connection_state_t c = connect_one(o);
	char name[256];
	long i;

	for (i = w->index; i < o->nqueues; i += o->conns) {
		declare_one(c, queue_name(o, i, name, sizeof(name)));
		amqp_maybe_release_buffers(c);
	}
	amqp_connection_close(c, AMQP_REPLY_SUCCESS);
	amqp_destroy_connection(c);
	return NULL;
}

/* Notes the confirms up to 'tag' (all since 'acked'), at time 't'. */
static uint64_t
confirmed(struct worker *w, const double *sent, uint64_t acked, uint64_t tag,
    int multiple, double t)
{
	uint64_t i, from = multiple ? acked + 1 : tag;

	for (i = from; i <= tag; i++)
		w->lat[w->nlat++] = t - sent[i - 1];
	return tag > acked ? tag : acked;
}

static void *
publisher(void *arg)
{
	struct worker *w = arg;
	const struct opts *o = w->o;
	amqp_connection_state_t c = connect_one(o);
	amqp_basic_properties_t props;
	amqp_bytes_t body;
	amqp_frame_t f;
	double *sent;
	uint64_t next = 1, acked = 0;
	char name[256];
	long q = w->index;

	if (o->nqueues == 1)
		declare(c, o);
	amqp_confirm_select(c, 1);
	check_rpc(c, "confirm.select");
	if ((body.bytes = malloc(o->size)) == NULL ||
	    (sent = calloc((size_t)w->msgs, sizeof(*sent))) == NULL ||
	    (w->lat = calloc((size_t)w->msgs, sizeof(*w->lat))) == NULL)
		die("malloc", strerror(errno));
	memset(body.bytes, 'x', o->size);
	body.len = o->size;
	memset(&props, 0, sizeof(props));
	props._flags = AMQP_BASIC_DELIVERY_MODE_FLAG;
	props.delivery_mode = 2;
	while (acked < (uint64_t)w->msgs) {
		while (next <= (uint64_t)w->msgs &&
		    next - acked <= (uint64_t)o->window) {
			sent[next - 1] = now_us();
			if (amqp_basic_publish(c, 1, amqp_empty_bytes,
			    queue_name(o, q, name, sizeof(name)), 0, 0,
			    &props, body) != AMQP_STATUS_OK)
				die("basic.publish", "failed");
			next++;
			q = (q + 1) % o->nqueues;
		}
		if (amqp_simple_wait_frame(c, &f) != AMQP_STATUS_OK)
			die("wait", "connection lost");
		if (f.frame_type != AMQP_FRAME_METHOD)
			continue;
		if (f.payload.method.id == AMQP_BASIC_ACK_METHOD) {
			amqp_basic_ack_t *a = f.payload.method.decoded;

			acked = confirmed(w, sent, acked, a->delivery_tag,
			    a->multiple, now_us());
		} else if (f.payload.method.id == AMQP_BASIC_NACK_METHOD) {
			amqp_basic_nack_t *n = f.payload.method.decoded;

			w->nacks++;
			acked = confirmed(w, sent, acked, n->delivery_tag,
			    n->multiple, now_us());
		} else
			die("publish", "unexpected method");
		amqp_maybe_release_buffers(c);
	}
	free(sent);
	free(body.bytes);
	amqp_connection_close(c, AMQP_REPLY_SUCCESS);
	amqp_destroy_connection(c);
	return NULL;
}

static void *
consumer(void *arg)
{
	struct worker *w = arg;
	const struct opts *o = w->o;
	amqp_connection_state_t c = connect_one(o);
	struct timeval tv = { 0, 200000 };
	amqp_envelope_t env;
	amqp_rpc_reply_t r;
	char name[256];
	long i;

	if (o->nqueues == 1)
		declare(c, o);
	/* Over many queues, PREFETCH for the channel (global), not each. */
	amqp_basic_qos(c, 1, 0, (uint16_t)o->prefetch, o->nqueues > 1);
	check_rpc(c, "basic.qos");
	for (i = w->index; i < o->nqueues; i += o->conns) {
		amqp_basic_consume(c, 1, queue_name(o, i, name, sizeof(name)),
		    amqp_empty_bytes, 0, 0, 0, amqp_empty_table);
		check_rpc(c, "basic.consume");
		amqp_maybe_release_buffers(c);
	}
	while (atomic_load(&consumed) < o->msgs) {
		amqp_maybe_release_buffers(c);
		r = amqp_consume_message(c, &env, &tv, 0);
		if (r.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION &&
		    r.library_error == AMQP_STATUS_TIMEOUT)
			continue;	/* the others took the rest */
		if (r.reply_type != AMQP_RESPONSE_NORMAL)
			die("consume", "failed");
		if (amqp_basic_ack(c, 1, env.delivery_tag, 0) != 0)
			die("basic.ack", "failed");
		amqp_destroy_envelope(&env);
		atomic_fetch_add(&consumed, 1);
	}
	amqp_connection_close(c, AMQP_REPLY_SUCCESS);
	amqp_destroy_connection(c);
	return NULL;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Prints the phase's line: rate and, for publish, confirm latencies. */
static void
report(struct worker *w, int n, double secs)
{
	long i, k, total = 0, nacks = 0;
	double *all;
	int j;

	if (strcmp(opts.phase, "declare") == 0) {
		printf("declare queues=%ld secs=%.3f rate=%.0f\n",
		    opts.nqueues, secs, opts.nqueues / secs);
		return;
	}
	if (strcmp(opts.phase, "consume") == 0) {
		printf("consume msgs=%ld secs=%.3f rate=%.0f\n",
		    (long)atomic_load(&consumed), secs,
		    atomic_load(&consumed) / secs);
		return;
	}
	for (j = 0; j < n; j++) {
		total += w[j].nlat;
		nacks += w[j].nacks;
	}
	if ((all = malloc((size_t)total * sizeof(*all))) == NULL)
		die("malloc", strerror(errno));
	for (j = 0, k = 0; j < n; j++)
		for (i = 0; i < w[j].nlat; i++)
			all[k++] = w[j].lat[i];
	qsort(all, (size_t)total, sizeof(*all), cmp_double);
	printf("publish msgs=%ld secs=%.3f rate=%.0f p50_us=%.0f "
	    "p99_us=%.0f max_us=%.0f nacks=%ld\n", total, secs, total / secs,
	    all[total / 2], all[total * 99 / 100], all[total - 1], nacks);
	free(all);
}

static void
hold(const struct opts *o)
{
	amqp_connection_state_t *cs;
	char buf[64];
	int i;

	if ((cs = calloc((size_t)o->conns, sizeof(*cs))) == NULL)
		die("malloc", strerror(errno));
	for (i = 0; i < o->conns; i++)
		cs[i] = connect_one(o);
	printf("ready\n");
	fflush(stdout);
	while (read(0, buf, sizeof(buf)) > 0)
		;
	for (i = 0; i < o->conns; i++)
		amqp_destroy_connection(cs[i]);
	free(cs);
}

static void
usage(void)
{
	fprintf(stderr, "usage: amqp-load publish|consume|declare|hold -p PORT "
	    "[-c CONNS] [-n MSGS] [-s SIZE] [-w WINDOW] [-P PREFETCH] "
	    "[-q QUEUE] [-Q NQUEUES]\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	struct worker *w;
	double t0;
	void *(*run)(void *);
	int ch, i;

	if (argc < 2)
		usage();
	opts.phase = argv[1];
	optind = 2;
	while ((ch = getopt(argc, argv, "c:n:p:P:q:Q:s:w:")) != -1) {
		switch (ch) {
		case 'c': opts.conns = atoi(optarg); break;
		case 'n': opts.msgs = atol(optarg); break;
		case 'p': opts.port = atoi(optarg); break;
		case 'P': opts.prefetch = atoi(optarg); break;
		case 'q': opts.queue = optarg; break;
		case 'Q': opts.nqueues = atol(optarg); break;
		case 's': opts.size = (size_t)atol(optarg); break;
		case 'w': opts.window = atoi(optarg); break;
		default: usage();
		}
	}
	if (opts.port <= 0 || opts.conns <= 0 || opts.msgs <= 0 ||
	    opts.window <= 0 || opts.prefetch <= 0 || opts.prefetch > 65535 ||
	    opts.nqueues <= 0)
		usage();
	if (strcmp(opts.phase, "hold") == 0) {
		hold(&opts);
		return 0;
	}
	if (strcmp(opts.phase, "publish") == 0)
		run = publisher;
	else if (strcmp(opts.phase, "consume") == 0)
		run = consumer;
	else if (strcmp(opts.phase, "declare") == 0 && opts.nqueues > 1)
		run = declarer;
	else
		usage();
	if ((w = calloc((size_t)opts.conns, sizeof(*w))) == NULL)
		die("malloc", strerror(errno));
	t0 = now_us();
	for (i = 0; i < opts.conns; i++) {
		w[i].o = &opts;
		w[i].index = i;
		w[i].msgs = opts.msgs / opts.conns +
		    (i < opts.msgs % opts.conns);
		if (pthread_create(&w[i].thread, NULL, run, &w[i]) != 0)
			die("pthread_create", strerror(errno));
	}
	for (i = 0; i < opts.conns; i++)
		pthread_join(w[i].thread, NULL);
	report(w, opts.conns, (now_us() - t0) / 1e6);
	for (i = 0; i < opts.conns; i++)
		free(w[i].lat);
	free(w);
	return 0;
}
