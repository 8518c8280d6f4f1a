/*
 * main.c - mq-serve-test: mq-serve's core with two doors, for tests
 * only.  The RESP door and the line door (linedoor.c) share one loop,
 * one spool and one server, so that tests/interop/doors.bats can show a
 * publish, an append, a refusal and a password check crossing from one
 * door to the other.  make tests builds it as $(O)/tests/mq-serve-test
 * from every object of mq-serve but its main.o; it is never installed.
 *
 *   mq-serve-test --spool DIR --resp [HOST:]PORT --line [HOST:]PORT
 *                 [--maxclients N] [--users FILE]
 *
 * Everything else is as mq-serve's defaults (and --protected-mode yes).
 * SIGTERM and SIGINT stop it as they stop mq-serve: the turn's replies
 * are written, the spool is synced and closed.
 */
#include <sys/signalfd.h>

#include <err.h>
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "linedoor.h"
#include "resp/resp.h"
#include "server.h"
#include "users.h"

static const char usage[] =
"usage: mq-serve-test --spool DIR --resp [HOST:]PORT --line [HOST:]PORT\n"
"                     [--maxclients N] [--users FILE]\n";

static const struct option longopts[] = {
	{ "spool",	required_argument, NULL, 's' },
	{ "resp",	required_argument, NULL, 'r' },
	{ "line",	required_argument, NULL, 'l' },
	{ "maxclients",	required_argument, NULL, 'm' },
	{ "users",	required_argument, NULL, 'u' },
	{ NULL, 0, NULL, 0 }
};

static void
on_signal(struct loop *loop, int fd, int events, void *arg)
{
	struct signalfd_siginfo si;

	while (read(fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		server_log(arg, "%s: shutting down",
		    strsignal((int)si.ssi_signo));
		loop_stop(loop);
	}
}

/* SIGTERM and SIGINT as loop events (a signalfd), as in mq-serve. */
static int
signals(void)
{
	sigset_t mask;
	int fd;

	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	if (sigprocmask(SIG_BLOCK, &mask, NULL) == -1 ||
	    (fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC)) == -1)
		err(EX_OSERR, "signalfd");
	return fd;
}

int
main(int argc, char *argv[])
{
	static struct server s;
	const char *line = NULL, *errstr;
	char why[512];
	int ch, rc, sfd;

	server_defaults(&s.cfg);
	s.cfg.resp = NULL;	/* no default: the test names its port */
	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (ch) {
		case 's':
			s.cfg.spool = optarg;
			break;
		case 'r':
			s.cfg.resp = optarg;
			break;
		case 'l':
			line = optarg;
			break;
		case 'm':
			s.cfg.max_clients = (size_t)strtonum(optarg, 1, 1000000,
			    &errstr);
			if (errstr != NULL)
				errx(2, "--maxclients %s: %s", optarg, errstr);
			break;
		case 'u':
			s.cfg.users = optarg;
			break;
		default:
			fputs(usage, stderr);
			return 2;
		}
	}
	if (optind != argc || s.cfg.spool == NULL || s.cfg.resp == NULL ||
	    line == NULL) {
		fputs(usage, stderr);
		return 2;
	}
	if (s.cfg.users != NULL &&
	    (s.users = users_load(s.cfg.users, why, sizeof(why))) == NULL)
		errx(EX_CONFIG, "%s", why);
	sfd = signals();
	if ((rc = server_init(&s)) != MQ_OK)
		errx(EX_UNAVAILABLE, "%s: %s", s.cfg.spool, mq_strerror(rc));
	fdlimit_init(&s);
	if (s.users != NULL && auth_start(&s) == -1)
		err(EX_OSERR, "password check thread");
	if (loop_add(s.loop, sfd, LOOP_READ, on_signal, &s) == -1)
		err(EX_OSERR, "loop");
	if (listener_open(&s, s.cfg.resp, &resp_proto) != 1 ||
	    listener_open(&s, line, &line_proto) != 1)
		errx(EX_UNAVAILABLE, "--resp %s, --line %s: cannot listen",
		    s.cfg.resp, line);
	server_log(&s, "mq-serve-test ready, spool %s", s.cfg.spool);
	if (loop_run(s.loop) == -1)
		server_log(&s, "epoll: %s", strerror(errno));
	server_shutdown(&s);
	users_free(s.users);
	return 0;
}
