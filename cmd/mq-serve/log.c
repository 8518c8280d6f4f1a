/*
 * log.c - the server's log: one line per event, to standard error, to
 * the --log file (reopened on SIGHUP, for rotation), or to syslog(3) as
 * "mq-serve".  Each line leaves in one write(2), so that another writer
 * of the same file cannot split it.  The sync thread logs too
 * (syncer.c), hence the lock.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "server.h"

static FILE *logfp;
/* SIGHUP replaces logfp while the sync thread may be writing. */
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static int use_syslog;

/* A longer line is cut (names and ids are bounded well below it). */
#define LOG_LINE_MAX	2048

/*
 * log_write: the whole line in one write(2), so that a line is never
 * split by another writer of the same file or terminal (a tool whose
 * output shares the server's standard error, another server's log).
 */
static void
log_write(const char *line, size_t len)
{
	FILE *fp;

	pthread_mutex_lock(&log_lock);
	fp = logfp != NULL ? logfp : stderr;
	(void)write(fileno(fp), line, len);
	pthread_mutex_unlock(&log_lock);
}

void
server_log(struct server *s, const char *fmt, ...)
{
	char line[LOG_LINE_MAX];
	struct tm tm;
	time_t now = time(NULL);
	va_list ap;
	size_t len;
	int n;

	(void)s;
	if (use_syslog) {
		va_start(ap, fmt);
		vsyslog(LOG_INFO, fmt, ap);
		va_end(ap);
		return;
	}
	localtime_r(&now, &tm);
	len = strftime(line, sizeof(line), "%Y-%m-%d %H:%M:%S", &tm);
	n = snprintf(line + len, sizeof(line) - len, " mq-serve[%ld]: ",
	    (long)getpid());
	len += (size_t)n;
	va_start(ap, fmt);
	n = vsnprintf(line + len, sizeof(line) - len, fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	len += (size_t)n;
	if (len > sizeof(line) - 2)
		len = sizeof(line) - 2;		/* cut, but keep the newline */
	line[len++] = '\n';
	log_write(line, len);
}

int
server_log_open(const char *path)
{
	FILE *fp;

	if (path == NULL)
		return 0;
	if ((fp = fopen(path, "a")) == NULL)
		return -1;
	pthread_mutex_lock(&log_lock);
	if (logfp != NULL)
		fclose(logfp);
	logfp = fp;
	pthread_mutex_unlock(&log_lock);
	return 0;
}

void
server_log_syslog(int facility)
{
	openlog("mq-serve", LOG_PID | LOG_NDELAY, facility);
	use_syslog = 1;
}

void
server_log_close(void)
{
	if (logfp != NULL)
		fclose(logfp);
	logfp = NULL;
	if (use_syslog)
		closelog();
	use_syslog = 0;
}

void
log_shown(char *buf, size_t size, const void *p, size_t len)
{
	const unsigned char *u = p;
	size_t i;

	if (size == 0)
		return;
	for (i = 0; i < len && i < size - 1; i++)
		buf[i] = u[i] > ' ' && u[i] <= '~' ? (char)u[i] : '?';
	buf[i] = '\0';
}
