/*
 * mq-serve - the spool of mq over the wire protocols of the brokers people
 * already use.  This file: options and the config file, signals, and the
 * start and end of the loop.
 *
 * Settings come from the command line, or from a config file (-c FILE)
 * of "key value" lines with the long options' names as keys; the command
 * line wins.  SIGTERM and SIGINT stop the loop (no new connections; the
 * replies of the turn are written; the spool is synced and closed);
 * SIGHUP reopens the log file and loads the users file again (a file
 * that fails to load leaves the users as they were).  Signals are turned
 * into loop events through a signalfd, so no handler runs inside the
 * loop.
 *
 * mq-serve --hash-password [NAME] only prints a line for the users file.
 */
#include <sys/signalfd.h>

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#define SYSLOG_NAMES	/* facilitynames[] */
#include <syslog.h>
#include <unistd.h>

#include "../opterr.h"
#include "amqp/amqp.h"
#include "resp/resp.h"
#include "server.h"
#include "users.h"

static const char usage[] =
"usage: mq-serve [-hV] [-c FILE] [--spool DIR] [--resp [HOST:]PORT]\n"
"                [--amqp [HOST:]PORT] [--mqtt off] [--stomp off] [--kafka off]\n"
"                [--fsync always|interval|never] [--log FILE]\n"
"                [--maxclients N] [--max-request BYTES]\n"
"                [--output-limit BYTES] [--pubsub-limit HARD[:SOFT:SECS]]\n"
"                [--timeout SECONDS]\n"
"                [--users FILE] [--protected-mode yes|no]\n"
"                [--syslog [FACILITY]] [--ready-fd FD]\n"
"       mq-serve --hash-password [NAME]\n";

/* -h: a line on each option, after the usage. */
static const char help[] =
"  -c, --config FILE            read settings from FILE\n"
"      --spool DIR              serve the spool DIR instead of MQ_SPOOL\n"
"      --resp [HOST:]PORT       where Redis clients connect (127.0.0.1:6379)\n"
"      --amqp [HOST:]PORT       where AMQP 0-9-1 clients connect (127.0.0.1:5672)\n"
"      --mqtt off               MQTT is not implemented yet\n"
"      --stomp off              STOMP is not implemented yet\n"
"      --kafka off              Kafka is not implemented yet\n"
"      --fsync POLICY           when to fsync: always, interval[:MS] or never\n"
"      --log FILE               log to FILE instead of standard error\n"
"      --maxclients N           refuse connections beyond N (10000)\n"
"      --max-request BYTES      the largest request (512 MiB)\n"
"      --output-limit BYTES     unread replies before a client is held (32 MiB)\n"
"      --pubsub-limit HARD[:SOFT:SECS]  unread bytes that close a subscriber\n"
"      --timeout SECONDS        close connections idle that long (0: never)\n"
"      --users FILE             clients authenticate as users of FILE\n"
"      --protected-mode yes|no  without --users, loopback clients only\n"
"      --syslog [FACILITY]      log with syslog(3), to daemon by default\n"
"      --ready-fd FD            write a newline to FD once listening\n"
"      --hash-password [NAME]   print a line of the users file, and exit\n"
"  -h, --help                   print this help and exit\n"
"  -V, --version                print the version and exit\n";

/* Not a setting (the config file has no such key): below OPT_SPOOL. */
#define OPT_READY	0x80

enum {
	OPT_SPOOL = 0x100, OPT_RESP, OPT_AMQP, OPT_MQTT, OPT_STOMP, OPT_KAFKA,
	OPT_FSYNC, OPT_LOG, OPT_MAXCLIENTS, OPT_MAXREQUEST, OPT_OUTPUTLIMIT,
	OPT_TIMEOUT, OPT_USERS, OPT_PROTECTED, OPT_SYSLOG, OPT_PUBSUBLIMIT
};

static const struct option longopts[] = {
	{ "config",	 required_argument, NULL, 'c' },
	{ "spool",	 required_argument, NULL, OPT_SPOOL },
	{ "resp",	 required_argument, NULL, OPT_RESP },
	{ "amqp",	 required_argument, NULL, OPT_AMQP },
	{ "mqtt",	 required_argument, NULL, OPT_MQTT },
	{ "stomp",	 required_argument, NULL, OPT_STOMP },
	{ "kafka",	 required_argument, NULL, OPT_KAFKA },
	{ "fsync",	 required_argument, NULL, OPT_FSYNC },
	{ "log",	 required_argument, NULL, OPT_LOG },
	{ "maxclients",	 required_argument, NULL, OPT_MAXCLIENTS },
	{ "max-request", required_argument, NULL, OPT_MAXREQUEST },
	{ "output-limit", required_argument, NULL, OPT_OUTPUTLIMIT },
	{ "pubsub-limit", required_argument, NULL, OPT_PUBSUBLIMIT },
	{ "timeout",	 required_argument, NULL, OPT_TIMEOUT },
	{ "users",	 required_argument, NULL, OPT_USERS },
	{ "protected-mode", required_argument, NULL, OPT_PROTECTED },
	{ "syslog",	 optional_argument, NULL, OPT_SYSLOG },
	{ "ready-fd",	 required_argument, NULL, OPT_READY },
	{ "hash-password", no_argument,	    NULL, 'P' },
	{ "help",	 no_argument,	    NULL, 'h' },
	{ "version",	 no_argument,	    NULL, 'V' },
	{ NULL, 0, NULL, 0 }
};

/* The long name of option 'opt', as the config file spells it. */
static const char *
opt_name(int opt)
{
	const struct option *o;

	for (o = longopts; o->name != NULL; o++)
		if (o->val == opt)
			return o->name;
	return "?";
}

/*
 * A bad value 'arg' of option 'opt': exits 2 with "--NAME ARG: WHY", or
 * with "FILE:LINE: NAME ARG: WHY" for a line of the config file ('from').
 */
static void __attribute__((noreturn))
bad_value(const char *from, int opt, const char *arg, const char *why)
{
	const char *sep = *arg == '\0' ? "" : " ";

	if (from != NULL)
		errx(2, "%s: %s%s%s: %s", from, opt_name(opt), sep, arg, why);
	errx(2, "--%s%s%s: %s", opt_name(opt), sep, arg, why);
}

/* "mq-serve: REASON" and the usage on stderr, and exit 2. */
static void __attribute__((noreturn, format(printf, 1, 2)))
usage_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vwarnx(fmt, ap);
	va_end(ap);
	fputs(usage, stderr);
	exit(2);
}

/*
 * --ready-fd's value: an open descriptor, to which a newline is written
 * (then it is closed) once every listener is bound and the server serves,
 * so that a script that starts it in the background knows when to
 * connect (as s6's notification-fd).
 */
static int
ready_fd(const char *arg)
{
	const char *errstr;
	int fd;

	fd = (int)strtonum(arg, 0, INT_MAX, &errstr);
	if (errstr != NULL || fcntl(fd, F_GETFD) == -1)
		usage_error("--ready-fd %s: not an open descriptor", arg);
	return fd;
}

static long long
number(const char *from, int opt, const char *s, long long min,
    long long max)
{
	const char *errstr;
	long long v;

	v = strtonum(s, min, max, &errstr);
	if (errstr != NULL)
		bad_value(from, opt, s, errstr);
	return v;
}

/*
 * --pubsub-limit HARD[:SOFT:SECONDS]: a subscriber is closed with HARD
 * bytes unsent, or SOFT for longer than SECONDS (0 bytes: no such
 * limit), as Redis's client-output-buffer-limit pubsub.
 */
static void
pubsub_limit(struct server_config *cfg, const char *from, const char *arg)
{
	char buf[64], *soft, *secs = NULL;

	if (strlcpy(buf, arg, sizeof(buf)) >= sizeof(buf))
		bad_value(from, OPT_PUBSUBLIMIT, arg, "too long");
	if ((soft = strchr(buf, ':')) != NULL) {
		*soft++ = '\0';
		if ((secs = strchr(soft, ':')) == NULL)
			bad_value(from, OPT_PUBSUBLIMIT, arg,
			    "expected HARD or HARD:SOFT:SECONDS");
		*secs++ = '\0';
	}
	cfg->pubsub_hard = (size_t)number(from, OPT_PUBSUBLIMIT, buf, 0,
	    LLONG_MAX / 8);
	cfg->pubsub_soft = soft == NULL ? 0 : (size_t)number(from,
	    OPT_PUBSUBLIMIT, soft, 0, LLONG_MAX / 8);
	cfg->pubsub_soft_ms = secs == NULL ? 0 : number(from, OPT_PUBSUBLIMIT,
	    secs, 0, 86400 * 365) * 1000;
}

/* A protocol that is not built yet may only be turned off. */
static void
not_yet(const char *from, int opt, const char *arg)
{
	if (strcmp(arg, "off") != 0 && strcmp(arg, "0") != 0)
		bad_value(from, opt, arg, "that protocol is not implemented yet");
}

/* --syslog's argument: yes (daemon), no, or a facility name. */
static int
facility(const char *from, const char *arg)
{
	const CODE *c;

	if (arg == NULL || strcmp(arg, "yes") == 0)
		return LOG_DAEMON;
	if (strcmp(arg, "no") == 0)
		return -1;
	for (c = facilitynames; c->c_name != NULL; c++)
		if (strcmp(c->c_name, arg) == 0 && strcmp(arg, "mark") != 0)
			return c->c_val;
	bad_value(from, OPT_SYSLOG, arg, "expected yes, no or a facility "
	    "(daemon, local0 ... local7, user, ...)");
}

/*
 * Applies one setting; 'from' says where it came from for errors: NULL
 * for the command line, "FILE:LINE" for the config file.
 */
static void
setting(struct server_config *cfg, int opt, const char *arg,
    const char *from)
{
	char host[LISTEN_HOST_MAX];
	const char *why;
	int port;

	switch (opt) {
	case OPT_SPOOL:
		/* Not the default spool in disguise: say what was meant. */
		if (*arg == '\0')
			bad_value(from, opt, arg, "empty directory name");
		cfg->spool = arg;
		break;
	case OPT_RESP:
		if (listen_parse(arg, host, &port, &why) == -1)
			bad_value(from, opt, arg, why);
		cfg->resp = arg;
		break;
	case OPT_AMQP:
		if (listen_parse(arg, host, &port, &why) == -1)
			bad_value(from, opt, arg, why);
		cfg->amqp = arg;
		break;
	case OPT_MQTT:
	case OPT_STOMP:
	case OPT_KAFKA:
		not_yet(from, opt, arg);
		break;
	case OPT_FSYNC:
		if (mq_fsync_parse(arg, &cfg->fsync, &cfg->fsync_ms) != MQ_OK)
			bad_value(from, opt, arg,
			    "expected always, interval[:MS] or never");
		break;
	case OPT_LOG:
		cfg->log = arg;
		break;
	case OPT_MAXCLIENTS:
		cfg->max_clients = (size_t)number(from, opt, arg, 1, 1000000);
		break;
	case OPT_MAXREQUEST:
		cfg->max_request = (size_t)number(from, opt, arg, 1024,
		    (long long)MQ_MSG_LIMIT * 2);
		break;
	case OPT_OUTPUTLIMIT:
		cfg->output_limit = (size_t)number(from, opt, arg, 1024,
		    LLONG_MAX / 8);
		break;
	case OPT_PUBSUBLIMIT:
		pubsub_limit(cfg, from, arg);
		break;
	case OPT_TIMEOUT:
		cfg->idle_timeout_ms = number(from, opt, arg, 0,
		    86400 * 365) * 1000;
		break;
	case OPT_USERS:
		cfg->users = arg;
		break;
	case OPT_PROTECTED:
		if (strcmp(arg, "yes") != 0 && strcmp(arg, "no") != 0)
			bad_value(from, opt, arg, "expected yes or no");
		cfg->protected_mode = strcmp(arg, "yes") == 0;
		break;
	case OPT_SYSLOG:
		cfg->syslog = facility(from, arg);
		break;
	}
}

/* Reads "key value" lines; '#' starts a comment. */
static void
read_config(struct server_config *cfg, const char *path)
{
	char *line = NULL, *key, *val, *end, from[PATH_MAX + 16];
	size_t cap = 0;
	int lineno = 0;
	FILE *fp;

	if ((fp = fopen(path, "r")) == NULL)
		err(EX_NOINPUT, "%s", path);
	while (getline(&line, &cap, fp) != -1) {
		const struct option *o;

		lineno++;
		if ((end = strchr(line, '#')) != NULL)
			*end = '\0';
		key = line + strspn(line, " \t");
		end = key + strcspn(key, " \t\r\n");
		if (key == end)
			continue;
		val = end + strspn(end, " \t");
		*end = '\0';
		/* "resp 6380   # comment": the blanks are not the value's. */
		end = val + strlen(val);
		while (end > val && strchr(" \t\r\n", end[-1]) != NULL)
			*--end = '\0';
		for (o = longopts; o->name != NULL; o++)
			if (strcmp(o->name, key) == 0 && o->val >= OPT_SPOOL)
				break;
		if (o->name == NULL || *val == '\0')
			errx(2, "%s:%d: unknown setting or no value: %s",
			    path, lineno, key);
		snprintf(from, sizeof(from), "%s:%d", path, lineno);
		/* Kept for the life of the process, like argv. */
		if ((val = strdup(val)) == NULL)
			err(EX_OSERR, "strdup");
		setting(cfg, o->val, val, from);
	}
	free(line);
	fclose(fp);
}

/*
 * SIGHUP: the users file again.  Connections keep what they were
 * authenticated as; a file that does not load changes nothing.  The
 * cache of passwords checked (auth.c) is emptied.
 */
static void
reload_users(struct server *s)
{
	struct users *u;
	char why[512];

	if (s->cfg.users == NULL)
		return;
	if ((u = users_load(s->cfg.users, why, sizeof(why))) == NULL) {
		server_log(s, "SIGHUP: %s; the %zu users loaded before stay",
		    why, users_count(s->users));
		return;
	}
	auth_reload(s, u);
	server_log(s, "SIGHUP: %zu users loaded from %s", users_count(u),
	    s->cfg.users);
}

static void
on_signal(struct loop *loop, int fd, int events, void *arg)
{
	struct server *s = arg;
	struct signalfd_siginfo si;

	while (read(fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		if (si.ssi_signo == SIGHUP) {
			if (s->cfg.syslog == -1) {
				if (server_log_open(s->cfg.log) == -1)
					server_log(s, "%s: %s", s->cfg.log,
					    strerror(errno));
				server_log(s, "SIGHUP: log reopened");
			}
			reload_users(s);
			continue;
		}
		server_log(s, "%s: shutting down", strsignal((int)si.ssi_signo));
		loop_stop(loop);
	}
}

/*
 * The exit status for the spool's outcome 'rc': EX_NOPERM for a lack of
 * permission or a read-only file system, as for the tools.
 */
static int
spool_status(int rc)
{
	if (rc == MQ_EVERSION)
		return EX_DATAERR;
	if (rc == MQ_ESYS && (errno == EACCES || errno == EPERM ||
	    errno == EROFS))
		return EX_NOPERM;
	return EX_UNAVAILABLE;
}

/*
 * A spool that this process cannot write ends the start, rather than
 * every write command later.  A full disk does not: it may have room
 * again soon, and reads work meanwhile.
 */
static void
spool_check(struct server *s)
{
	int rc;

	if ((rc = mq_spool_writable(s->spool)) == MQ_OK)
		return;
	if (rc == MQ_ESYS && (errno == ENOSPC || errno == EDQUOT)) {
		server_log(s, "%s: %s: writes fail until there is room",
		    s->cfg.spool, mq_strerror(rc));
		return;
	}
	errx(spool_status(rc), "%s: spool not writable: %s", s->cfg.spool,
	    mq_strerror(rc));
}

int
main(int argc, char *argv[])
{
	static struct server s;
	struct server_config cl;
	int seen[64] = { 0 };
	const char *config = NULL;
	sigset_t mask;
	int ch, sfd, rc, i, hashpw = 0, ready = -1;
	char why[512];

	server_defaults(&s.cfg);
	cl = s.cfg;
	/*
	 * The command line wins over the file: remember what it set.  Its
	 * errors are ours to word (':' first, opterr 0), under our name.
	 */
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":c:hV", longopts, NULL)) != -1) {
		switch (ch) {
		case '?':
		case ':':
			opterr_why(why, sizeof(why), ch, argv, longopts);
			usage_error("%s", why);
		case 'c':
			config = optarg;
			break;
		case 'h':
			printf("%s\n%s", usage, help);
			return 0;
		case 'V':
			printf("mq-serve %s\n", MQ_VERSION);
			return 0;
		case 'P':
			hashpw = 1;
			break;
		case OPT_READY:
			ready = ready_fd(optarg);
			break;
		case OPT_SYSLOG:
			/* "--syslog local0" as well as "--syslog=local0". */
			if (optarg == NULL && optind < argc &&
			    argv[optind][0] != '-')
				optarg = argv[optind++];
			/* FALLTHROUGH */
		default:
			if (ch < OPT_SPOOL) {
				fputs(usage, stderr);
				return 2;
			}
			setting(&cl, ch, optarg, NULL);
			seen[ch - OPT_SPOOL] = 1;
		}
	}
	if (hashpw && optind + 1 >= argc)
		return users_hash_cmd(optind < argc ? argv[optind] : "default");
	if (optind != argc)
		usage_error("unexpected operand %s", argv[optind]);
	if (config != NULL)
		read_config(&s.cfg, config);
	/* Apply the command line over the file, option by option. */
	for (i = 0; i < 64; i++) {
		if (!seen[i])
			continue;
		switch (i + OPT_SPOOL) {
		case OPT_SPOOL: s.cfg.spool = cl.spool; break;
		case OPT_RESP: s.cfg.resp = cl.resp; break;
		case OPT_AMQP: s.cfg.amqp = cl.amqp; break;
		case OPT_FSYNC: s.cfg.fsync = cl.fsync; s.cfg.fsync_ms = cl.fsync_ms; break;
		case OPT_LOG: s.cfg.log = cl.log; break;
		case OPT_MAXCLIENTS: s.cfg.max_clients = cl.max_clients; break;
		case OPT_MAXREQUEST: s.cfg.max_request = cl.max_request; break;
		case OPT_OUTPUTLIMIT: s.cfg.output_limit = cl.output_limit; break;
		case OPT_PUBSUBLIMIT:
			s.cfg.pubsub_hard = cl.pubsub_hard;
			s.cfg.pubsub_soft = cl.pubsub_soft;
			s.cfg.pubsub_soft_ms = cl.pubsub_soft_ms;
			break;
		case OPT_TIMEOUT: s.cfg.idle_timeout_ms = cl.idle_timeout_ms; break;
		case OPT_USERS: s.cfg.users = cl.users; break;
		case OPT_PROTECTED: s.cfg.protected_mode = cl.protected_mode; break;
		case OPT_SYSLOG: s.cfg.syslog = cl.syslog; break;
		}
	}
	if (s.cfg.spool == NULL)
		s.cfg.spool = mq_spool_default();
	if (s.cfg.log != NULL && s.cfg.syslog != -1)
		errx(2, "--log and --syslog: one or the other");
	if (s.cfg.users != NULL &&
	    (s.users = users_load(s.cfg.users, why, sizeof(why))) == NULL)
		errx(EX_CONFIG, "%s", why);
	if (server_log_open(s.cfg.log) == -1)
		err(EX_CANTCREAT, "%s", s.cfg.log);
	if (s.cfg.syslog != -1)
		server_log_syslog(s.cfg.syslog);

	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &mask, NULL) == -1 ||
	    (sfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC)) == -1)
		err(EX_OSERR, "signalfd");
	if ((rc = server_init(&s)) != MQ_OK)
		errx(spool_status(rc), "%s: %s", s.cfg.spool, mq_strerror(rc));
	spool_check(&s);
	fdlimit_init(&s);
	/* Password checks never run on the loop: no thread, no start. */
	if (s.users != NULL && auth_start(&s) == -1)
		err(EX_OSERR, "password check thread");
	if (loop_add(s.loop, sfd, LOOP_READ, on_signal, &s) == -1)
		err(EX_OSERR, "loop");
	if (listener_open(&s, s.cfg.resp, &resp_proto) == -1)
		errx(EX_UNAVAILABLE, "--resp %s: cannot listen", s.cfg.resp);
	if (listener_open(&s, s.cfg.amqp, &amqp_proto) == -1)
		errx(EX_UNAVAILABLE, "--amqp %s: cannot listen", s.cfg.amqp);
	if (strcmp(s.cfg.amqp, "off") != 0)
		amqp_expire_start(&s);
	if (s.users != NULL)
		server_log(&s, "%zu users loaded from %s: clients must "
		    "authenticate", users_count(s.users), s.cfg.users);
	else
		server_log(&s, "no users file: no authentication, %s",
		    s.cfg.protected_mode ? "loopback clients only "
		    "(protected mode)" : "any client (protected mode off)");
	server_log(&s, "mq-serve %s ready, spool %s", MQ_VERSION, s.cfg.spool);
	if (ready != -1) {
		/* A starter that went away does not care. */
		(void)write(ready, "\n", 1);
		close(ready);
	}
	if (loop_run(s.loop) == -1)
		server_log(&s, "epoll: %s", strerror(errno));
	server_shutdown(&s);
	users_free(s.users);
	return 0;
}
