/*
 * test_conn.c - what mq-serve's connections write, and when
 * (cmd/mq-serve/conn.c), over socket pairs: conn_write_replies writes at
 * once what a connection that subscribes to nothing has queued (the
 * replies a publisher waits for), leaves a subscriber's output to
 * conn_write_all, and writes nothing while replies wait for a sync.
 *
 * server_log and auth_cancel are stubs here: no log, no password checks.
 */
#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>

#include "helpers.h"

#include "server.h"

void
server_log(struct server *s, const char *fmt, ...)
{
}

void
auth_cancel(struct conn *c)
{
}

static const struct proto t_proto = { .name = "test" };

struct fixture {
	struct server	 s;
	struct conn	*replies, *sub;	/* a publisher's, a subscriber's */
	int		 peer[2];	/* their clients' ends */
};

/* A connection of the server, whose client's end is '*peer'. */
static struct conn *
connect_one(struct server *s, int *peer)
{
	int fds[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
	assert_int_equal(fcntl(fds[0], F_SETFL, O_NONBLOCK), 0);
	assert_int_equal(fcntl(fds[1], F_SETFL, O_NONBLOCK), 0);
	conn_accept(s, fds[0], "test", &t_proto);
	*peer = fds[1];
	return TAILQ_LAST(&s->conns, connlist);
}

static int
setup(void **state)
{
	struct fixture *f;

	assert_non_null(f = calloc(1, sizeof(*f)));
	TAILQ_INIT(&f->s.conns);
	TAILQ_INIT(&f->s.writes);
	TAILQ_INIT(&f->s.producers);
	TAILQ_INIT(&f->s.dead);
	TAILQ_INIT(&f->s.gated);
	f->s.cfg.max_clients = 10;
	f->s.cfg.output_limit = 1 << 20;
	assert_non_null(f->s.loop = loop_new());
	f->replies = connect_one(&f->s, &f->peer[0]);
	f->sub = connect_one(&f->s, &f->peer[1]);
	f->sub->subscriber = 1;
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;
	struct conn *c;

	while ((c = TAILQ_FIRST(&f->s.conns)) != NULL)
		conn_close(c, "test");
	conn_reap(&f->s);
	conn_free_buffers(&f->s);
	loop_free(f->s.loop);
	close(f->peer[0]);
	close(f->peer[1]);
	free(f);
	return 0;
}

/* What arrived at 'fd' so far, as a string in 'buf' ("" for nothing). */
static const char *
arrived(int fd, char *buf, size_t size)
{
	ssize_t n = read(fd, buf, size - 1);

	if (n == -1)
		assert_int_equal(errno, EAGAIN);
	buf[n > 0 ? n : 0] = '\0';
	return buf;
}

static void
test_replies_go_before_the_frames(void **state)
{
	struct fixture *f = *state;
	char buf[64];

	conn_write(f->replies, ":4\r\n", 4);
	conn_write(f->sub, "frames", 6);
	conn_write_replies(&f->s);
	assert_string_equal(arrived(f->peer[0], buf, sizeof(buf)), ":4\r\n");
	assert_string_equal(arrived(f->peer[1], buf, sizeof(buf)), "");
	/* The turn's writes: the subscriber's, and nothing twice. */
	conn_write_all(&f->s);
	assert_string_equal(arrived(f->peer[1], buf, sizeof(buf)), "frames");
	assert_string_equal(arrived(f->peer[0], buf, sizeof(buf)), "");
}

static void
test_not_while_replies_wait_for_a_sync(void **state)
{
	struct fixture *f = *state;
	char buf[64];

	f->s.gate_replies = 1;
	conn_write(f->replies, ":4\r\n", 4);
	conn_write_replies(&f->s);
	assert_string_equal(arrived(f->peer[0], buf, sizeof(buf)), "");
	f->s.gate_replies = 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_replies_go_before_the_frames, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_not_while_replies_wait_for_a_sync, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
