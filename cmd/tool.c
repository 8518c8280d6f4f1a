/*
 * tool.c - the parts every mq-* tool shares.
 *
 * Options: each tool's tool_getopt() loop handles its own letters and
 * hands the rest to tool_option(), which knows --spool, --fsync, -h, -V,
 * -q and -v and turns anything else into a usage error (exit 2).  A
 * usage error says why under the tool's name, then prints the synopsis;
 * --help prints the synopsis and a line on each option, the tool's own
 * first, then the shared ones, whose lines are kept here.
 *
 * Errors: libmq returns an enum mq_err and never prints; tool_status() is
 * the one place that turns an outcome into an exit status, and
 * tool_die()/tool_warn() print "mq-tool: what: why" through err(3).
 *
 * Input: stdin is read in large chunks into one buffer and cut into
 * records in place, so a tool can hand thousands of records to one libmq
 * call without copying them.  Ids are read from whatever form a reading
 * tool prints; a record without one is reported and passed over, never
 * the end of the run, so that one stray line costs no other id.
 *
 * Output: the three forms of a message (escaped text, JSON Lines, raw
 * NUL-terminated), written to a stdio stream the caller flushes.
 *
 * Pending entries: listed in batches of mq_group_pending, and counted by
 * owner for XPENDING's summary (mq-xinfo, mq-xpending).
 */
#include <errno.h>
#include <poll.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <err.h>
#include <sys/tree.h>
/* libbsd warns unless told which strnvis() to declare; none is used. */
#define LIBBSD_NETBSD_VIS
#include <vis.h>

#include "json_id.h"
#include "opterr.h"
#include "tool.h"
#include "utf8.h"

struct tool_opts topt = { NULL, 0, 0, MQ_FSYNC_INTERVAL, 1000 };

static const char *tool_name = "mq";
static const char *tool_usage_text = "";
static const char *tool_help_text = "";

/* ---------------------------------------------------------------------
 * Options
 * ------------------------------------------------------------------- */

/* --help's lines on the options of TOOL_LONGOPTS, after the tool's own. */
static const char tool_help_shared[] =
"  -q, --quiet                 print less; errors are still reported\n"
"  -v, --verbose               say more about what was done\n"
"      --fsync POLICY          when to fsync: always, interval[:MS] or never\n"
"      --spool DIR             use the spool DIR instead of MQ_SPOOL\n"
"  -h, --help                  print this help and exit\n"
"  -V, --version               print the name and version and exit\n";

void
tool_init(const char *name, const char *usage, const char *help)
{
	tool_name = name;
	tool_usage_text = usage;
	tool_help_text = help;
	/* err(3) prefixes this; keep it the tool's name whatever argv[0] was. */
	program_invocation_short_name = (char *)name;
	/*
	 * Into a pipe or a file, output goes in 64 KiB writes, not stdio's
	 * 4 KiB; the tools flush after each batch, so nothing waits long.
	 */
	if (!isatty(STDOUT_FILENO))
		setvbuf(stdout, NULL, _IOFBF, 1u << 16);
}

void
tool_usage(int status)
{
	/* After a usage error, the synopsis alone keeps stderr short. */
	if (status != 0) {
		fputs(tool_usage_text, stderr);
		exit(status);
	}
	printf("%s\n%s%s", tool_usage_text, tool_help_text,
	    tool_help_shared);
	exit(0);
}

void
tool_usage_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vwarnx(fmt, ap);
	va_end(ap);
	tool_usage(TOOL_USAGE);
}

int
tool_getopt(int argc, char *argv[], const char *shortopts,
    const struct option *longopts)
{
	char opts[128], why[256];
	int ch;

	/* ':' first tells a missing value (':') from an unknown option. */
	if ((size_t)snprintf(opts, sizeof(opts), ":%s", shortopts) >=
	    sizeof(opts))
		errx(EX_SOFTWARE, "option string too long");
	opterr = 0;
	ch = getopt_long(argc, argv, opts, longopts, NULL);
	if (ch == '?' || ch == ':') {
		opterr_why(why, sizeof(why), ch, argv, longopts);
		tool_usage_error("%s", why);
	}
	return ch;
}

void
tool_operands(int argc, char *argv[], int min, int max, const char *names)
{
	const char *p = names;
	int i;

	if (max >= 0 && argc > max)
		tool_usage_error("unexpected operand %s", argv[max]);
	if (argc >= min)
		return;
	/* Skip the names of the operands that are there. */
	for (i = 0; i < argc && p[strcspn(p, " ")] != '\0'; i++)
		p += strcspn(p, " ") + 1;
	tool_usage_error("missing %.*s", (int)strcspn(p, " "), p);
}

void
tool_option(int ch, const char *arg)
{
	int rc;

	switch (ch) {
	case TOOL_OPT_SPOOL:
		/* Not the default spool in disguise: say what was meant. */
		if (*arg == '\0')
			errx(TOOL_USAGE, "--spool: empty directory name");
		topt.spool = arg;
		break;
	case TOOL_OPT_FSYNC:
		rc = mq_fsync_parse(arg, &topt.fsync, &topt.fsync_ms);
		if (rc != MQ_OK)
			errx(TOOL_USAGE, "--fsync: %s: expected always, "
			    "interval[:MS] or never", arg);
		break;
	case 'h':
		tool_usage(0);
	case 'V':
		printf("%s %s\n", tool_name, MQ_VERSION);
		exit(0);
	case 'q':
		topt.quiet = 1;
		break;
	case 'v':
		topt.verbose++;
		break;
	default:
		tool_usage(TOOL_USAGE);
	}
}

long long
tool_number(const char *s, long long min, long long max, const char *opt)
{
	const char *errstr;
	long long n;

	n = strtonum(s, min, max, &errstr);
	if (errstr != NULL)
		errx(TOOL_USAGE, "%s: %s: %s", opt, s, errstr);
	return n;
}

/* ---------------------------------------------------------------------
 * Outcomes and exit statuses
 * ------------------------------------------------------------------- */

/* The status of a system error, by 'e' (errno). */
static int
tool_errno_status(int e)
{
	switch (e) {
	case ENOSPC:
	case EDQUOT:
	case EAGAIN:
	case EINTR:
	case ENOMEM:
	case EMFILE:
	case ENFILE:
		return EX_TEMPFAIL;
	case ENOENT:
	case ENOTDIR:
		return EX_NOINPUT;
	case EACCES:
	case EPERM:
	case EROFS:
		return EX_NOPERM;
	default:
		return EX_IOERR;
	}
}

int
tool_status(int err)
{
	switch ((enum mq_err)err) {
	case MQ_OK:
		return 0;
	case MQ_ENOSTREAM:
	case MQ_ENOGROUP:
	case MQ_ENOMSG:
	case MQ_ENOEXCHANGE:
		return EX_NOINPUT;
	case MQ_EIDSMALL:
	case MQ_EIDZERO:
	case MQ_EBADID:
	case MQ_ETOOBIG:
	case MQ_EBADNAME:
	case MQ_EINVAL:
	case MQ_EWRONGTYPE:
	case MQ_ERESERVED:
	case MQ_EINUSE:
	case MQ_ELOCKED:
		return EX_DATAERR;
	case MQ_ENOSPC:
	case MQ_EFULL:
		return EX_TEMPFAIL;
	case MQ_ESYS:
		return tool_errno_status(errno);
	case MQ_EEXIST:
	case MQ_ECORRUPT:
	case MQ_EVERSION:
		return EX_SOFTWARE;
	}
	return EX_SOFTWARE;
}

void
tool_die(int err, const char *fmt, ...)
{
	char what[1024];
	va_list ap;
	int status, saved = errno;

	status = tool_status(err);
	errno = saved;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	errno = saved;
	errx(status, "%s: %s", what, mq_strerror(err));
}

int
tool_warn(int err, const char *fmt, ...)
{
	char what[1024];
	va_list ap;
	int status, saved = errno;

	status = tool_status(err);
	errno = saved;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	errno = saved;
	warnx("%s: %s", what, mq_strerror(err));
	return status;
}

/* ---------------------------------------------------------------------
 * Spool, streams, groups, ids
 * ------------------------------------------------------------------- */

/* The spool of this run, synced at exit and before the tool goes idle. */
static mq_spool *tool_the_spool;

static void
tool_sync_at_exit(void)
{
	if (tool_the_spool != NULL)
		mq_spool_sync(tool_the_spool);
}

void
tool_idle(void)
{
	if (tool_the_spool != NULL)
		mq_spool_sync(tool_the_spool);
}

void
tool_spool_close(mq_spool *spool)
{
	if (spool == tool_the_spool)
		tool_the_spool = NULL;
	mq_spool_close(spool);
}

mq_spool *
tool_spool(int flags)
{
	const char *dir;
	mq_spool *spool;
	int rc;

	/* mq_spool_default() takes MQ_SPOOL, an empty one as unset. */
	dir = topt.spool != NULL ? topt.spool : mq_spool_default();
	rc = mq_spool_open(dir, flags, &spool);
	/* libmq's "no such stream" is the spool's here: say which. */
	if (rc == MQ_ENOSTREAM)
		errx(tool_status(rc), "%s: no such spool", dir);
	if (rc != MQ_OK)
		tool_die(rc, "%s", dir);
	mq_spool_set_fsync(spool, topt.fsync, topt.fsync_ms);
	/*
	 * What was appended is made durable however the tool ends: at
	 * exit(3) after an error too, not only at tool_spool_close().
	 */
	if (tool_the_spool == NULL && atexit(tool_sync_at_exit) != 0)
		errx(EX_OSERR, "atexit");
	tool_the_spool = spool;
	return spool;
}

int
tool_name_copy(char *buf, const void *p, size_t len)
{
	/* A NUL would end the name early: another stream than the one meant. */
	if (len == 0 || len > MQ_NAME_MAX || memchr(p, '\0', len) != NULL)
		return MQ_EBADNAME;
	memcpy(buf, p, len);
	buf[len] = '\0';
	return MQ_OK;
}

mq_stream *
tool_stream(mq_spool *spool, const char *name, int flags)
{
	mq_stream *stream;
	int rc;

	rc = mq_stream_open(spool, name, flags, &stream);
	if (rc != MQ_OK)
		tool_die(rc, "%s", name);
	return stream;
}

mq_group *
tool_group(mq_stream *stream, const char *name, int create)
{
	mq_group *group;
	int rc;

	rc = mq_group_open(stream, name, &group);
	if (rc == MQ_ENOGROUP && create) {
		/* 0-0: nothing written before the first read is missed. */
		rc = mq_group_create(stream, name, (mq_id){ 0, 0 }, 0);
		if (rc != MQ_OK && rc != MQ_EEXIST)
			tool_die(rc, "%s: %s", mq_stream_name(stream), name);
		rc = mq_group_open(stream, name, &group);
	}
	if (rc != MQ_OK)
		tool_die(rc, "%s: %s", mq_stream_name(stream), name);
	return group;
}

int
tool_parse_id(const char *s, size_t len, mq_id *id)
{
	size_t i, dash = 0;

	/* Only the full form: "-", "+" and a bare "ms" are not ids here. */
	for (i = 0; i < len; i++) {
		if (s[i] == '-' && dash == 0 && i > 0)
			dash = i;
		else if (s[i] < '0' || s[i] > '9')
			return MQ_EBADID;
	}
	if (dash == 0 || dash == len - 1)
		return MQ_EBADID;
	return mq_id_parse(s, len, 0, id);
}

/*
 * Parses the bound 's' of a range, the start or (with 'end') the end.
 * Returns MQ_OK, or MQ_EBADID for a malformed id or one that has no id
 * beyond it.
 */
static int
tool_range_bound(const char *s, int end, mq_id *id)
{
	size_t len = strlen(s);
	int rc, excl = 0;

	if (len > 0 && s[0] == '(') {
		excl = 1;
		s++;
		len--;
		/* "(-" and "(+" are refused, as XRANGE refuses them. */
		if (len == 1 && (s[0] == '-' || s[0] == '+'))
			return MQ_EBADID;
	}
	if (len == 0)
		return MQ_EBADID;
	rc = mq_id_parse(s, len, end ? UINT64_MAX : 0, id);
	if (rc != MQ_OK || !excl)
		return rc;
	/* Leaving an id out moves the bound one id inwards. */
	return end ? mq_id_decr(id) : mq_id_incr(id);
}

void
tool_range(int argc, char *argv[], mq_id *start, mq_id *end)
{
	const char *lo = argc > 0 ? argv[0] : "-";
	const char *hi = argc > 1 ? argv[1] : "+";
	int rc;

	if ((rc = tool_range_bound(lo, 0, start)) != MQ_OK)
		tool_die(rc, "start %s", lo);
	if ((rc = tool_range_bound(hi, 1, end)) != MQ_OK)
		tool_die(rc, "end %s", hi);
}

/* ---------------------------------------------------------------------
 * Input
 * ------------------------------------------------------------------- */

/* The length of the first field of 'len' bytes: up to a tab, space or CR. */
static size_t
tool_field_len(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (s[i] == '\t' || s[i] == ' ' || s[i] == '\r')
			break;
	return i;
}

/* The longest record kept: a message over the largest allowed max size
 * cannot be appended anyway. */
#define TOOL_REC_MAX	((size_t)MQ_MSG_LIMIT + 1)

void
tool_input_init(struct tool_input *in, int fd, size_t size)
{
	in->fd = fd;
	in->size = size;
	in->start = in->end = in->scanned = 0;
	in->eof = 0;
	in->delim = '\n';
	in->nrec = 0;
	if ((in->buf = malloc(size)) == NULL)
		err(EX_TEMPFAIL, "malloc");
}

void
tool_input_free(struct tool_input *in)
{
	free(in->buf);
	in->buf = NULL;
}

int
tool_input_next(struct tool_input *in, int delim, const char **rec,
    size_t *len)
{
	char *p, *nl;

	in->delim = delim;
	if (in->start == in->end)
		return in->eof ? TOOL_EOF : TOOL_MORE;
	p = in->buf + in->start;
	/*
	 * A long record comes in many reads: look only at what the last
	 * look did not, or each read would scan all of it again.
	 */
	nl = memchr(p + in->scanned, delim, in->end - in->start - in->scanned);
	if (nl == NULL) {
		in->scanned = in->end - in->start;
		if (!in->eof)
			return TOOL_MORE;
		*rec = p;
		*len = in->end - in->start;
		in->start = in->end;
	} else {
		*rec = p;
		*len = nl - p;
		in->start += *len + 1;
	}
	in->scanned = 0;
	in->nrec++;
	return TOOL_REC;
}

/*
 * Exits: the record after the 'in->nrec' handed out, or all of the
 * input, is longer than any stream takes.
 */
static void __attribute__((noreturn))
tool_input_toolong(const struct tool_input *in)
{
	if (in->delim == -1)
		errx(EX_DATAERR, "standard input: longer than %u bytes, the "
		    "largest message there can be", MQ_MSG_LIMIT);
	errx(EX_DATAERR, "standard input: %s %llu: longer than %u bytes, "
	    "the largest message there can be",
	    in->delim == '\n' ? "line" : "record",
	    (unsigned long long)in->nrec + 1, MQ_MSG_LIMIT);
}

/* Makes room at the end of the buffer: compacts, then grows if full. */
static void
tool_input_room(struct tool_input *in)
{
	size_t size;
	char *p;

	if (in->start > 0) {
		memmove(in->buf, in->buf + in->start, in->end - in->start);
		in->end -= in->start;
		in->start = 0;
	}
	if (in->end < in->size)
		return;
	if (in->size >= TOOL_REC_MAX)
		tool_input_toolong(in);
	size = in->size * 2;
	if (size > TOOL_REC_MAX)
		size = TOOL_REC_MAX;
	if ((p = realloc(in->buf, size)) == NULL)
		err(EX_TEMPFAIL, "realloc");
	in->buf = p;
	in->size = size;
}

void
tool_input_fill(struct tool_input *in)
{
	ssize_t n;

	if (in->eof)
		return;
	tool_input_room(in);
	/*
	 * About to wait for input: if none comes within the fsync interval,
	 * what this run wrote goes to disk before the wait goes on, so the
	 * interval policy holds while the tool sleeps.  (Not at every
	 * momentary pause of a pipe: that would be an fsync per pause.)
	 */
	{
		struct pollfd pfd = { .fd = in->fd, .events = POLLIN };

		if (poll(&pfd, 1, topt.fsync_ms > 0 ? topt.fsync_ms : 1000) == 0)
			tool_idle();
	}
	do
		n = read(in->fd, in->buf + in->end, in->size - in->end);
	while (n == -1 && errno == EINTR);
	if (n == -1)
		err(EX_IOERR, "read");
	if (n == 0)
		in->eof = 1;
	in->end += n;
}

void
tool_input_all(struct tool_input *in, const char **rec, size_t *len)
{
	in->delim = -1;
	while (!in->eof)
		tool_input_fill(in);
	*rec = in->buf + in->start;
	*len = in->end - in->start;
	if (*len > MQ_MSG_LIMIT)
		tool_input_toolong(in);
	in->start = in->end;
	in->scanned = 0;
	in->nrec++;
}

/* ------------------------------------------------------------------
 * Batches of messages to write.
 * ---------------------------------------------------------------- */

void
tool_batch_modes(int all, int delim, int nargs)
{
	if (all && delim == '\0')
		tool_usage_error("-0 and -a: one or the other");
	if ((all || delim == '\0') && nargs > 0)
		tool_usage_error("%s reads standard input, not MESSAGE operands",
		    all ? "-a" : "-0");
}

void
tool_batch_header(struct tool_batch *b, char *arg)
{
	struct mq_header *h;
	char *eq;

	if ((eq = strchr(arg, '=')) == NULL || eq == arg)
		errx(TOOL_USAGE, "-H %s: expected NAME=VALUE", arg);
	h = reallocarray(b->headers, b->nheaders + 1, sizeof(*h));
	if (h == NULL)
		err(EX_TEMPFAIL, "reallocarray");
	b->headers = h;
	h += b->nheaders++;
	h->name = arg;
	h->namelen = eq - arg;
	h->value = eq + 1;
	h->valuelen = strlen(eq + 1);
}

void
tool_batch_flush(struct tool_batch *b)
{
	if (b->n == 0)
		return;
	b->flush(b, b->arg);
	b->before += b->n;
	b->n = 0;
	b->bytes = 0;
}

void
tool_batch_add(struct tool_batch *b, const void *body, size_t len)
{
	struct mq_msg *m;

	if (b->n == TOOL_BATCH_MSGS || b->bytes >= TOOL_BATCH_BYTES)
		tool_batch_flush(b);
	m = &b->msgs[b->n++];
	memset(m, 0, sizeof(*m));
	m->key = b->key;
	m->keylen = b->key != NULL ? strlen(b->key) : 0;
	m->headers = b->headers;
	m->nheaders = b->nheaders;
	m->body = body;
	m->bodylen = len;
	b->bytes += len;
}

void
tool_batch_input(struct tool_batch *b, int argc, char **argv, int delim)
{
	struct tool_input in;
	const char *rec;
	size_t len;
	int i, r;

	if (argc > 0) {
		b->from = TOOL_FROM_ARG;
		for (i = 0; i < argc; i++)
			tool_batch_add(b, argv[i], strlen(argv[i]));
		tool_batch_flush(b);
		return;
	}
	b->from = delim == -1 ? TOOL_FROM_STDIN :
	    delim == '\n' ? TOOL_FROM_LINE : TOOL_FROM_RECORD;
	tool_input_init(&in, STDIN_FILENO, TOOL_INPUT_SIZE);
	if (delim == -1) {
		tool_input_all(&in, &rec, &len);
		tool_batch_add(b, rec, len);
		tool_batch_flush(b);
		tool_input_free(&in);
		return;
	}
	for (;;) {
		while ((r = tool_input_next(&in, delim, &rec, &len)) == TOOL_REC) {
			if (b->record != NULL)
				b->record(b, rec, len, b->arg);
			else
				tool_batch_add(b, rec, len);
		}
		tool_batch_flush(b);
		if (r == TOOL_EOF)
			break;
		tool_input_fill(&in);
	}
	tool_input_free(&in);
}

void
tool_batch_free(struct tool_batch *b)
{
	free(b->headers);
	b->headers = NULL;
	b->nheaders = 0;
}

/* The bytes of 'm' that count against a stream's max-msg, as in libmq. */
static size_t
tool_msg_bytes(const struct mq_msg *m)
{
	size_t n = m->bodylen + m->keylen, i;

	for (i = 0; i < m->nheaders; i++)
		n += m->headers[i].namelen + m->headers[i].valuelen;
	return n;
}

/*
 * Writes the command that sets the max-msg of stream 'name' to 'size'
 * into 'buf', the name quoted for sh(1) unless it needs no quotes.
 */
static void
tool_raise_cmd(char *buf, size_t bufsize, const char *name, size_t size)
{
	char word[4 * MQ_NAME_MAX + 3], *w = word;
	const char *s;

	if (name[strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789._-")] == '\0')
		strlcpy(word, name, sizeof(word));
	else {
		/* In single quotes, a quote is written '\''. */
		*w++ = '\'';
		for (s = name; *s != '\0' && w < word + sizeof(word) - 6; s++) {
			if (*s == '\'') {
				memcpy(w, "'\\''", 4);
				w += 4;
			} else
				*w++ = *s;
		}
		*w++ = '\'';
		*w = '\0';
	}
	/* A name that looks like an option goes after "--", options first. */
	if (name[0] == '-')
		snprintf(buf, bufsize, "mq-queue --max-msg %zu -- %s", size, word);
	else
		snprintf(buf, bufsize, "mq-queue %s --max-msg %zu", word, size);
}

void
tool_batch_toobig(const struct tool_batch *b, const char *what,
    const char *queue, uint32_t max_msg, size_t extra)
{
	static const char *const from[] = { "argument", "line", "record" };
	char where[64], cmd[4 * MQ_NAME_MAX + 64];
	size_t i, len = 0;

	for (i = 0; i < b->n; i++)
		if ((len = tool_msg_bytes(&b->msgs[i]) + extra) > max_msg)
			break;
	if (i == b->n)
		return;
	if (b->from == TOOL_FROM_STDIN)
		strlcpy(where, "standard input", sizeof(where));
	else
		snprintf(where, sizeof(where), "%s %llu", from[b->from],
		    (unsigned long long)(b->before + i + 1));
	if (len > MQ_MSG_LIMIT)
		errx(EX_DATAERR, "%s: %s: message of %zu bytes is over the "
		    "largest limit there can be, %u bytes", what, where, len,
		    MQ_MSG_LIMIT);
	tool_raise_cmd(cmd, sizeof(cmd), queue, len);
	errx(EX_DATAERR, "%s: %s: message of %zu bytes is over the limit of "
	    "%lu bytes (raise it with: %s)", what, where, len,
	    (unsigned long)max_msg, cmd);
}

#define TOOL_IDS_BATCH	4096
#define TOOL_QUOTE_MAX	40	/* bytes of a bad record quoted in its report */

/* Hands the batch to 'fn' and empties it. */
static void
tool_ids_flush(mq_id *ids, size_t *n,
    void (*fn)(const mq_id *, size_t, void *), void *arg)
{
	if (*n > 0)
		fn(ids, *n, arg);
	*n = 0;
}

/*
 * Reports the bad record 'rec' ('len' bytes), number 'nr' of 'unit'
 * ("line", "record"; NULL for an argument), and 'why' it is bad: its
 * first bytes quoted, with what would not print made visible (vis(3)),
 * and "..." if it was cut short.
 */
static void
tool_bad_record(const char *unit, uintmax_t nr, const char *rec, size_t len,
    const char *why)
{
	char quote[4 * TOOL_QUOTE_MAX + 1];
	size_t n = len > TOOL_QUOTE_MAX ? TOOL_QUOTE_MAX : len;
	const char *more = n < len ? "..." : "";

	strnvisx(quote, sizeof(quote), rec, n,
	    VIS_CSTYLE | VIS_OCTAL | VIS_TAB | VIS_NL | VIS_DQ);
	if (unit == NULL)
		warnx("\"%s\"%s: %s", quote, more, why);
	else
		warnx("%s %ju: \"%s\"%s: %s", unit, nr, quote, more, why);
}

/*
 * The id of one record of stdin that ended with 'delim': the "id" of a
 * JSON object if the record starts (after blanks) with '{', else its
 * first field.  With 'nul', a NUL byte in a line makes it bad.  Returns
 * 1 with '*id' set, 0 for a blank record, or -1 with '*why' saying what
 * is wrong.
 */
static int
tool_record_id(const char *rec, size_t len, int delim, int nul, mq_id *id,
    const char **why)
{
	char buf[MQ_ID_MAX];
	size_t n;

	/*
	 * NUL-terminated records (-o raw) read as lines: the first id would
	 * be taken and the others, in the same "line", lost without a word.
	 */
	if (nul && memchr(rec, '\0', len) != NULL) {
		*why = "a NUL byte: NUL-terminated records need -0";
		return -1;
	}
	for (; len > 0 && (*rec == ' ' || *rec == '\t'); rec++, len--)
		;
	if (len > 0 && *rec == '{') {
		if (json_id(rec, len, buf, sizeof(buf), &n, why) == -1)
			return -1;
		if (n <= sizeof(buf) && tool_parse_id(buf, n, id) == MQ_OK)
			return 1;
		*why = "\"id\" is not a stream id";
		return -1;
	}
	if ((len = tool_field_len(rec, len)) == 0)
		return 0;
	if (tool_parse_id(rec, len, id) == MQ_OK)
		return 1;
	/* The mirror mistake: lines read as one NUL-terminated record. */
	if (delim == '\0' && memchr(rec, '\n', len) != NULL)
		*why = "not a stream id (lines are read without -0)";
	else
		*why = "not a stream id";
	return -1;
}

int
tool_ids(int argc, char *argv[], int delim,
    void (*fn)(const mq_id *ids, size_t n, void *arg), void *arg)
{
	static mq_id ids[TOOL_IDS_BATCH];
	const char *unit = delim == '\0' ? "record" : "line";
	struct tool_input in;
	const char *rec, *why;
	uintmax_t nr = 0;
	size_t n = 0, len;
	int i, r, rc, nul, bad = 0;

	for (i = 0; i < argc; i++) {
		len = strlen(argv[i]);
		if (tool_parse_id(argv[i], len, &ids[n]) != MQ_OK) {
			tool_bad_record(NULL, 0, argv[i], len,
			    "not a stream id");
			bad = 1;
		} else if (++n == TOOL_IDS_BATCH)
			tool_ids_flush(ids, &n, fn, arg);
	}
	if (argc > 0) {
		tool_ids_flush(ids, &n, fn, arg);
		return bad;
	}
	tool_input_init(&in, STDIN_FILENO, 1 << 16);
	for (;;) {
		/*
		 * Lines are looked at one by one for a NUL only when what this
		 * read brought has one: one memchr(3) a read, not one a line.
		 */
		nul = delim != '\0' && memchr(in.buf + in.start, '\0',
		    in.end - in.start) != NULL;
		while ((r = tool_input_next(&in, delim, &rec, &len)) == TOOL_REC) {
			rc = tool_record_id(rec, len, delim, nul, &ids[n], &why);
			nr++;
			if (rc == -1) {
				tool_bad_record(unit, nr, rec, len, why);
				bad = 1;
			} else if (rc == 1 && ++n == TOOL_IDS_BATCH)
				tool_ids_flush(ids, &n, fn, arg);
		}
		tool_ids_flush(ids, &n, fn, arg);
		if (r == TOOL_EOF)
			break;
		tool_input_fill(&in);
	}
	tool_input_free(&in);
	return bad;
}

/* ---------------------------------------------------------------------
 * Output: text, JSON Lines, raw
 * ------------------------------------------------------------------- */

int
tool_format_parse(const char *s)
{
	if (strcmp(s, "text") == 0)
		return TOOL_TEXT;
	if (strcmp(s, "json") == 0)
		return TOOL_JSON;
	if (strcmp(s, "raw") == 0)
		return TOOL_RAW;
	return -1;
}

void
tool_write_escaped(FILE *fp, const void *p, size_t len)
{
	const unsigned char *s = p, *run = p, *end = s + len;

	/* Most bodies have nothing to escape: memchr()s beat a byte loop. */
	if (memchr(p, '\n', len) == NULL && memchr(p, '\t', len) == NULL &&
	    memchr(p, '\\', len) == NULL && memchr(p, '\0', len) == NULL) {
		fwrite(p, 1, len, fp);
		return;
	}
	for (; s < end; s++) {
		if (*s != '\n' && *s != '\t' && *s != '\\' && *s != '\0')
			continue;
		fwrite(run, 1, s - run, fp);
		putc('\\', fp);
		putc(*s == '\n' ? 'n' : *s == '\t' ? 't' : *s == '\0' ? '0' :
		    '\\', fp);
		run = s + 1;
	}
	fwrite(run, 1, end - run, fp);
}

/* Writes 'len' bytes (valid UTF-8) as a quoted JSON string. */
static void
tool_json_string(FILE *fp, const void *p, size_t len)
{
	const unsigned char *s = p, *run = p, *end = s + len;

	putc('"', fp);
	for (; s < end; s++) {
		if (*s >= 0x20 && *s != '"' && *s != '\\')
			continue;
		fwrite(run, 1, s - run, fp);
		run = s + 1;
		switch (*s) {
		case '"':	fputs("\\\"", fp); break;
		case '\\':	fputs("\\\\", fp); break;
		case '\n':	fputs("\\n", fp); break;
		case '\t':	fputs("\\t", fp); break;
		case '\r':	fputs("\\r", fp); break;
		case '\b':	fputs("\\b", fp); break;
		case '\f':	fputs("\\f", fp); break;
		default:	fprintf(fp, "\\u%04x", *s); break;
		}
	}
	fwrite(run, 1, end - run, fp);
	putc('"', fp);
}

/* Writes 'len' bytes as a quoted base64 (RFC 4648, padded) string. */
static void
tool_base64(FILE *fp, const void *p, size_t len)
{
	static const char tab[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const unsigned char *s = p;
	uint32_t v;
	size_t i;

	putc('"', fp);
	for (i = 0; i + 3 <= len; i += 3) {
		v = (uint32_t)s[i] << 16 | (uint32_t)s[i + 1] << 8 | s[i + 2];
		putc(tab[v >> 18], fp);
		putc(tab[v >> 12 & 63], fp);
		putc(tab[v >> 6 & 63], fp);
		putc(tab[v & 63], fp);
	}
	if (len - i == 1) {
		v = (uint32_t)s[i] << 16;
		putc(tab[v >> 18], fp);
		putc(tab[v >> 12 & 63], fp);
		fputs("==", fp);
	} else if (len - i == 2) {
		v = (uint32_t)s[i] << 16 | (uint32_t)s[i + 1] << 8;
		putc(tab[v >> 18], fp);
		putc(tab[v >> 12 & 63], fp);
		putc(tab[v >> 6 & 63], fp);
		putc('=', fp);
	}
	putc('"', fp);
}

/*
 * Writes the member 'name' with the bytes 'p'/'len' as its value: a JSON
 * string if they are UTF-8, else member "name_base64" with their base64.
 * 'p' NULL writes null.
 */
void
tool_json_member(FILE *fp, const char *name, const void *p, size_t len)
{
	if (p == NULL)
		fprintf(fp, "\"%s\":null", name);
	else if (utf8_valid(p, len)) {
		fprintf(fp, "\"%s\":", name);
		tool_json_string(fp, p, len);
	} else {
		fprintf(fp, "\"%s_base64\":", name);
		tool_base64(fp, p, len);
	}
}

/*
 * Whether the headers fit a JSON object without loss: all names and
 * values UTF-8 and no name twice.
 */
static int
tool_headers_plain(const struct mq_header *h, size_t n)
{
	size_t i, j;

	for (i = 0; i < n; i++) {
		if (!utf8_valid(h[i].name, h[i].namelen) ||
		    !utf8_valid(h[i].value, h[i].valuelen))
			return 0;
		for (j = 0; j < i; j++)
			if (h[j].namelen == h[i].namelen &&
			    memcmp(h[j].name, h[i].name, h[i].namelen) == 0)
				return 0;
	}
	return 1;
}

/*
 * Writes the headers: "headers":{"name":"value",...} in order when that
 * is lossless, else "headers_base64":[["NAME64","VALUE64"],...].
 */
static void
tool_json_headers(FILE *fp, const struct mq_header *h, size_t n)
{
	size_t i;

	if (tool_headers_plain(h, n)) {
		fputs("\"headers\":{", fp);
		for (i = 0; i < n; i++) {
			if (i > 0)
				putc(',', fp);
			tool_json_string(fp, h[i].name, h[i].namelen);
			putc(':', fp);
			tool_json_string(fp, h[i].value, h[i].valuelen);
		}
		putc('}', fp);
		return;
	}
	fputs("\"headers_base64\":[", fp);
	for (i = 0; i < n; i++) {
		if (i > 0)
			putc(',', fp);
		putc('[', fp);
		tool_base64(fp, h[i].name, h[i].namelen);
		putc(',', fp);
		tool_base64(fp, h[i].value, h[i].valuelen);
		putc(']', fp);
	}
	putc(']', fp);
}

void
tool_write_msg(FILE *fp, enum tool_format format, const char *stream,
    const struct mq_msg *msg)
{
	char id[MQ_ID_MAX];
	int idlen;

	idlen = mq_id_fmt(id, msg->id);
	switch (format) {
	case TOOL_TEXT:
		fwrite(id, 1, idlen, fp);
		putc('\t', fp);
		if (msg->body != NULL)
			tool_write_escaped(fp, msg->body, msg->bodylen);
		putc('\n', fp);
		break;
	case TOOL_RAW:
		fwrite(id, 1, idlen, fp);
		putc('\t', fp);
		if (msg->body != NULL)
			fwrite(msg->body, 1, msg->bodylen, fp);
		putc('\0', fp);
		break;
	case TOOL_JSON:
		fprintf(fp, "{\"id\":\"%s\",", id);
		tool_json_member(fp, "stream", stream, strlen(stream));
		fprintf(fp, ",\"offset\":%llu,\"time\":%lld,",
		    (unsigned long long)msg->offset, (long long)msg->time_ms);
		tool_json_member(fp, "key", msg->key, msg->keylen);
		putc(',', fp);
		tool_json_headers(fp, msg->headers,
		    msg->body != NULL ? msg->nheaders : 0);
		putc(',', fp);
		tool_json_member(fp, "body", msg->body, msg->bodylen);
		fputs("}\n", fp);
		break;
	}
}

void
tool_flush(FILE *fp)
{
	if (fflush(fp) == 0 && !ferror(fp))
		return;
	if (errno == EPIPE)
		exit(0);
	err(EX_IOERR, "write");
}

/* ---------------------------------------------------------------------
 * Pending entries: listing them in batches, and their summary
 * ------------------------------------------------------------------- */

#define TOOL_PENDING_BATCH	4096

void
tool_pending(mq_group *group, const char *what, mq_id start, mq_id end,
    const char *consumer, int64_t min_idle_ms, size_t count,
    int (*fn)(const struct mq_pending *p, void *arg), void *arg)
{
	static struct mq_pending batch[TOOL_PENDING_BATCH];
	const char *owner = consumer;
	size_t i, n, done = 0;
	int rc;

	/* No consumer is named "": libmq lists all, the handed-back are kept. */
	if (consumer != NULL && *consumer == '\0')
		owner = NULL;
	do {
		rc = mq_group_pending(group, start, end, TOOL_PENDING_BATCH,
		    owner, min_idle_ms, batch, &n);
		if (rc != MQ_OK)
			tool_die(rc, "%s: pending", what);
		for (i = 0; i < n; i++) {
			if (owner != consumer && *batch[i].consumer != '\0')
				continue;
			if (fn(&batch[i], arg) != 0 ||
			    (count > 0 && ++done == count))
				return;
		}
		/* The next batch starts after this one: views die with it. */
		if (n > 0)
			start = batch[n - 1].id;
	} while (n == TOOL_PENDING_BATCH && mq_id_incr(&start) == MQ_OK);
}

/* The pending entries of one owner, in a summary. */
struct tool_owner {
	RB_ENTRY(tool_owner)	 link;
	char			*name;		/* "": handed back, no owner */
	uint64_t		 count;
};

static int
tool_owner_cmp(const struct tool_owner *a, const struct tool_owner *b)
{
	return strcmp(a->name, b->name);
}

RB_HEAD(tool_owners, tool_owner);
/* RB_GENERATE_STATIC of libbsd needs BSD's __unused, which glibc lacks. */
RB_GENERATE_INTERNAL(tool_owners, tool_owner, link, tool_owner_cmp,
    __attribute__((__unused__)) static)

void
tool_summary_init(struct tool_summary *s)
{
	memset(s, 0, sizeof(*s));
	if ((s->owners = malloc(sizeof(*s->owners))) == NULL)
		err(EX_TEMPFAIL, "malloc");
	RB_INIT(s->owners);
}

int
tool_summary_add(const struct mq_pending *p, void *arg)
{
	struct tool_summary *s = arg;
	struct tool_owner key, *w;

	key.name = (char *)p->consumer;
	if ((w = RB_FIND(tool_owners, s->owners, &key)) == NULL) {
		if ((w = calloc(1, sizeof(*w))) == NULL ||
		    (w->name = strdup(p->consumer)) == NULL)
			err(EX_TEMPFAIL, "malloc");
		RB_INSERT(tool_owners, s->owners, w);
	}
	w->count++;
	if (s->count++ == 0)
		s->min = p->id;
	s->max = p->id;
	return 0;
}

void
tool_summary_each(const struct tool_summary *s,
    void (*fn)(const char *consumer, uint64_t count, void *arg), void *arg)
{
	struct tool_owner *w;

	RB_FOREACH(w, tool_owners, s->owners)
		fn(w->name, w->count, arg);
}

void
tool_summary_free(struct tool_summary *s)
{
	struct tool_owner *w, *next;

	RB_FOREACH_SAFE(w, tool_owners, s->owners, next) {
		RB_REMOVE(tool_owners, s->owners, w);
		free(w->name);
		free(w);
	}
	free(s->owners);
	s->owners = NULL;
}

/* ---------------------------------------------------------------------
 * Durations
 * ------------------------------------------------------------------- */

static const struct {
	const char	*suffix;
	int64_t		 ms;
} tool_units[] = {
	{ "d", 86400000 }, { "h", 3600000 }, { "m", 60000 }, { "s", 1000 },
	{ "ms", 1 }, { "", 1000 }
};

int64_t
tool_duration(const char *s)
{
	const char *p;
	uint64_t n = 0;
	size_t i;

	for (p = s; *p >= '0' && *p <= '9'; p++) {
		if (n > (INT64_MAX - 9) / 10)
			return -1;
		n = n * 10 + (*p - '0');
	}
	if (p == s)
		return -1;
	for (i = 0; i < sizeof(tool_units) / sizeof(tool_units[0]); i++) {
		if (strcmp(p, tool_units[i].suffix) != 0)
			continue;
		if (n > (uint64_t)INT64_MAX / tool_units[i].ms)
			return -1;
		return (int64_t)n * tool_units[i].ms;
	}
	return -1;
}

int64_t
tool_duration_arg(const char *s, const char *opt)
{
	int64_t ms;

	if ((ms = tool_duration(s)) < 0)
		errx(TOOL_USAGE, "%s: %s: not a duration", opt, s);
	return ms;
}

void
tool_fmt_duration(char *buf, size_t size, int64_t ms)
{
	size_t i;

	if (ms == 0) {
		strlcpy(buf, "0", size);
		return;
	}
	for (i = 0; tool_units[i].ms > 1; i++)
		if (ms % tool_units[i].ms == 0)
			break;
	snprintf(buf, size, "%lld%s", (long long)(ms / tool_units[i].ms),
	    tool_units[i].suffix);
}

const char *
tool_overflow_name(enum mq_overflow o)
{
	switch (o) {
	case MQ_OVERFLOW_DEADLETTER:
		return "dead-letter";
	case MQ_OVERFLOW_REJECT:
		return "reject";
	default:
		return "drop";
	}
}
