/*
 * tool.h - what every mq-* tool shares: the common options, opening the
 * spool, the one mapping from enum mq_err to an exit status, reading
 * records from stdin in large chunks, and the output forms of a message
 * (text, JSON Lines, raw).
 *
 * A tool's main() stays thin: tool_init(), a tool_getopt() loop that
 * hands the shared options to tool_option(), tool_spool(), one libmq call per
 * item, tool_write_*() and exit.  Helpers that fail print the reason with
 * errx(3) and exit with the status of the failure, so callers only handle
 * what they want to handle differently.
 */
#ifndef MQ_TOOL_H
#define MQ_TOOL_H

#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <sysexits.h>

#include "mq.h"

/* Exit statuses besides the sysexits(3) ones: see EXIT STATUS in the pages. */
#define TOOL_TIMEOUT	1	/* nothing arrived before the timeout */
#define TOOL_USAGE	2	/* bad usage */

/* Long-only option codes of the shared options. */
#define TOOL_OPT_SPOOL	0x100
#define TOOL_OPT_FSYNC	0x101
#define TOOL_OPT_FIRST	0x110	/* tools number their own long-only options from here */

/*
 * Put these in each tool's option table and short-option string; tool.c
 * has their lines of --help.
 */
#define TOOL_LONGOPTS \
	{ "spool",	required_argument,	NULL, TOOL_OPT_SPOOL }, \
	{ "fsync",	required_argument,	NULL, TOOL_OPT_FSYNC }, \
	{ "help",	no_argument,		NULL, 'h' }, \
	{ "version",	no_argument,		NULL, 'V' }, \
	{ "quiet",	no_argument,		NULL, 'q' }, \
	{ "verbose",	no_argument,		NULL, 'v' }
#define TOOL_SHORTOPTS	"hqVv"

/* The shared options, as tool_option() left them. */
struct tool_opts {
	const char	*spool;		/* --spool DIR, or NULL */
	int		 quiet;		/* -q */
	int		 verbose;	/* -v, counted */
	enum mq_fsync	 fsync;		/* --fsync; MQ_FSYNC_INTERVAL by default */
	int		 fsync_ms;
};
extern struct tool_opts topt;

/*
 * Names the tool ('name' prefixes every error) and keeps its 'usage',
 * the synopsis, and its 'help': a line on each option of its own,
 * "  -c, --count COUNT" padded to 30 columns, then a phrase; --help
 * prints them after the synopsis and a blank line, before the lines on
 * the shared options.
 */
void	 tool_init(const char *name, const char *usage, const char *help);
/*
 * For 'status' 0 (-h) prints the synopsis, a blank line and the option
 * lines to stdout and exits 0; else only the synopsis, to stderr.
 */
void	 tool_usage(int status) __attribute__((noreturn));
/* Prints "mq-tool: REASON" and the usage on stderr, and exits 2. */
void	 tool_usage_error(const char *fmt, ...)
	    __attribute__((noreturn, format(printf, 1, 2)));
/*
 * getopt_long(3) for a tool's option loop ('shortopts' ends with
 * TOOL_SHORTOPTS), except that an unknown option or a missing value is
 * a usage error that names it ("unknown option -z", "option -c needs a
 * value"), not getopt's message under the path the tool was run by.
 */
int	 tool_getopt(int argc, char *argv[], const char *shortopts,
	    const struct option *longopts);
/*
 * Checks the operands left after the options: at least 'min' and at
 * most 'max' (-1: any number) of the 'argc' in 'argv'.  Too few is the
 * usage error "missing NAME", naming the first missing one of 'names'
 * (the required operands, separated by spaces); too many is
 * "unexpected operand X".
 */
void	 tool_operands(int argc, char *argv[], int min, int max,
	    const char *names);
/*
 * Handles a shared option 'ch' with argument 'arg' (-h and -V exit here);
 * any other 'ch' is a usage error.
 */
void	 tool_option(int ch, const char *arg);

/*
 * The messages of a writing tool (mq-xadd, mq-publish), gathered into
 * batches so that libmq is called once per batch, never per message.
 * Every message shares the -H headers and the key; 'flush' is called with
 * a full batch and at the end, and tool_batch_flush() empties it after.
 */
#define TOOL_BATCH_MSGS		4096
#define TOOL_BATCH_BYTES	(1u << 20)
#define TOOL_INPUT_SIZE		(4u << 20)

/* Where the messages of a run come from, to say where one is. */
enum tool_from {
	TOOL_FROM_ARG = 0,	/* MESSAGE operands: "argument N" */
	TOOL_FROM_LINE,		/* lines of stdin: "line N" */
	TOOL_FROM_RECORD,	/* NUL-terminated records (-0): "record N" */
	TOOL_FROM_STDIN		/* all of stdin (-a): "standard input" */
};

struct tool_batch {
	struct mq_header	*headers;	/* from -H, for every message */
	size_t			 nheaders;
	const char		*key;		/* or NULL */
	struct mq_msg		 msgs[TOOL_BATCH_MSGS];
	size_t			 n;		/* messages in the batch */
	size_t			 bytes;		/* their bodies' bytes */
	enum tool_from		 from;		/* set by tool_batch_input() */
	uint64_t		 before;	/* messages of the batches before */
	void			(*flush)(struct tool_batch *b, void *arg);
	void			*arg;
	/*
	 * If set, each record of stdin goes here instead of to
	 * tool_batch_add(), which it calls as it sees fit (mq-xadd -s).
	 */
	void			(*record)(struct tool_batch *b, const char *rec,
				    size_t len, void *arg);
};

/*
 * Checks the input options: -a ('all') and -0 ('delim' NUL) read stdin,
 * so they go neither together nor with MESSAGE operands ('nargs' of
 * them).  A usage error if they do.
 */
void	 tool_batch_modes(int all, int delim, int nargs);
/* Adds -H NAME=VALUE (the strings stay in argv); exits 2 if malformed. */
void	 tool_batch_header(struct tool_batch *b, char *arg);
/* Adds one message, flushing first if the batch is full. */
void	 tool_batch_add(struct tool_batch *b, const void *body, size_t len);
void	 tool_batch_flush(struct tool_batch *b);
/*
 * Adds the messages of a run and flushes: each of the 'argc' arguments,
 * else all of stdin as one message ('delim' -1), else each
 * 'delim'-terminated record of stdin.  A batch never spans two reads of
 * stdin, because a read may move the buffer its records point into.
 */
void	 tool_batch_input(struct tool_batch *b, int argc, char **argv,
	    int delim);
void	 tool_batch_free(struct tool_batch *b);
/*
 * For a batch that a stream refused with MQ_ETOOBIG: finds the first
 * message of 'b' over 'max_msg' bytes, counting its headers and key and
 * 'extra' bytes more (a key the stream adds), and exits with EX_DATAERR
 * and "WHAT: line N: message of S bytes is over the limit of M bytes
 * (raise it with: mq-queue QUEUE --max-msg S)".  Returns if none is
 * over: the limit was raised since.
 */
void	 tool_batch_toobig(const struct tool_batch *b, const char *what,
	    const char *queue, uint32_t max_msg, size_t extra);

/*
 * Writes the JSON member "NAME":"..." for the bytes 'p'/'len' when they
 * are UTF-8, else "NAME_base64":"..."; 'p' NULL writes "NAME":null.
 */
void	 tool_json_member(FILE *fp, const char *name, const void *p, size_t len);

/* The exit status for the libmq outcome 'err' (the one switch). */
int	 tool_status(int err);
/* errx(3) with "FMT: <mq_strerror(err)>" and the status of 'err'. */
void	 tool_die(int err, const char *fmt, ...)
	    __attribute__((noreturn, format(printf, 2, 3)));
/* warnx(3) with "FMT: <mq_strerror(err)>"; returns tool_status(err). */
int	 tool_warn(int err, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));

/*
 * Opens the spool named by --spool, else $MQ_SPOOL, else
 * mq_spool_default(), with 'flags' (MQ_CREATE for tools that write), and
 * applies --fsync.  Exits on failure.
 */
mq_spool *tool_spool(int flags);
/* Closes the spool that tool_spool() opened, making its writes durable. */
void	 tool_spool_close(mq_spool *spool);
/*
 * Makes this run's writes durable now: called before the tool blocks
 * (waiting for input or for messages), so that the interval fsync policy
 * never leaves a write behind while the tool sleeps.
 */
void	 tool_idle(void);
/*
 * Copies the 'len' bytes at 'p', a name read from stdin, into 'buf'
 * (MQ_NAME_MAX + 1 bytes) as a string.  Returns MQ_OK, or MQ_EBADNAME
 * if they are empty, too long or hold a NUL byte.
 */
int	 tool_name_copy(char *buf, const void *p, size_t len);
/* Opens stream 'name' with 'flags'; exits on failure ("NAME: no such stream"). */
mq_stream *tool_stream(mq_spool *spool, const char *name, int flags);
/*
 * Opens group 'name' of 'stream'; with 'create', a missing group is
 * created with its cursor at 0-0 first.  Exits on failure.
 */
mq_group *tool_group(mq_stream *stream, const char *name, int create);

/* Parses a full id "ms-seq" of 'len' bytes: MQ_OK or MQ_EBADID. */
int	 tool_parse_id(const char *s, size_t len, mq_id *id);
/*
 * Parses the optional operands START and END of a range of ids ('argc'
 * of 'argv', at most two; "-" and "+" when missing) into 'start' and
 * 'end': ids as mq_id_parse takes them ("-", "+", "ms" and "ms-seq"), or
 * "(" and an id to leave that id out, as XRANGE and XPENDING take them.
 * Exits with EX_DATAERR on a malformed id or one with no id beyond it.
 */
void	 tool_range(int argc, char *argv[], mq_id *start, mq_id *end);
/* Parses a decimal count in [min, max] for option 'opt'; usage error if bad. */
long long tool_number(const char *s, long long min, long long max,
	    const char *opt);

/* ---- Reading stdin in large chunks. */

struct tool_input {
	int	 fd;
	char	*buf;
	size_t	 size;		/* of buf */
	size_t	 start;		/* first byte not yet handed out */
	size_t	 end;		/* end of what was read */
	int	 eof;
	size_t	 scanned;	/* bytes from start known to hold no delimiter */
	int	 delim;		/* of the records asked for; -1: all of it */
	uint64_t nrec;		/* records handed out, to number the next */
};

#define TOOL_REC	1	/* a record was handed out */
#define TOOL_MORE	0	/* no whole record in the buffer: tool_input_fill() */
#define TOOL_EOF	(-1)	/* nothing left, ever */

void	 tool_input_init(struct tool_input *in, int fd, size_t size);
void	 tool_input_free(struct tool_input *in);
/*
 * Hands out the next record that ends with 'delim' (the delimiter is not
 * part of it) from what is buffered, or the unterminated rest at end of
 * input.  '*rec' points into the buffer until the next tool_input_fill().
 * Returns TOOL_REC, TOOL_MORE or TOOL_EOF.
 */
int	 tool_input_next(struct tool_input *in, int delim, const char **rec,
	    size_t *len);
/*
 * Moves the unread rest to the front (records handed out before become
 * invalid), grows the buffer if one record fills it, and reads once:
 * what a pipe has now, not more, so that streamed input is handled as it
 * comes.  Exits on a read error, or on a record over MQ_MSG_LIMIT bytes
 * with its number ("standard input: line N: longer than ...").
 */
void	 tool_input_fill(struct tool_input *in);
/* Reads all of the input into one record (for -a); exits if too large. */
void	 tool_input_all(struct tool_input *in, const char **rec, size_t *len);

/*
 * Calls 'fn' with batches of ids: those of 'argv' (argc of them), or if
 * there are none, one from each 'delim'-terminated record of stdin
 * ('\n' for lines, '\0' for -0), batched by what each read brought, so
 * that ids streamed through a pipe are handled as they come.  A record
 * whose first byte after blanks is '{' is a JSON object (json_id.h),
 * any other the first field (up to a tab, space or CR); blank ones are
 * skipped.  A bad argument or record (not an id, not JSON with a string
 * "id", a line with a NUL byte) is reported with its number and a quote
 * of it, and the others are still handed to 'fn'.  Returns 1 if any was
 * bad, else 0.
 */
int	 tool_ids(int argc, char *argv[], int delim,
	    void (*fn)(const mq_id *ids, size_t n, void *arg), void *arg);

/* ---- Writing messages.  All write to 'fp' and leave errors to ferror(). */

enum tool_format { TOOL_TEXT = 0, TOOL_JSON, TOOL_RAW };

/* Parses "text", "json" or "raw"; -1 if none. */
int	 tool_format_parse(const char *s);
/* Writes 'len' bytes with newline, tab, backslash and NUL as \n, \t, \\, \0. */
void	 tool_write_escaped(FILE *fp, const void *p, size_t len);
/*
 * Writes 'msg' of stream 'stream' in 'format': "ID\tBODY\n" with the body
 * escaped (text), one JSON object and a newline (json), or "ID\tBODY\0"
 * (raw).  A message whose body is NULL (a deleted pending entry) has an
 * empty body in text and raw, "body":null in JSON.
 */
void	 tool_write_msg(FILE *fp, enum tool_format format, const char *stream,
	    const struct mq_msg *msg);
/*
 * Finishes writing: exits quietly with 0 if the reader of 'fp' went away
 * (EPIPE), with EX_IOERR on another error.  Returns if all went well.
 */
void	 tool_flush(FILE *fp);

/* ---- Pending entries of a group. */

/*
 * Calls 'fn' with each pending entry of 'group' with 'start' <= id <=
 * 'end', owned by 'consumer' (NULL: by anyone; "": by no one, handed
 * back), idle at least 'min_idle_ms', in id order, at most 'count' of
 * them (0: all), until 'fn' returns non-zero.  They are read in batches,
 * each a look of its own at a group that others may change meanwhile;
 * the entry and its consumer name are valid during the call only.
 * Exits on failure, naming 'what'.
 */
void	 tool_pending(mq_group *group, const char *what, mq_id start,
	    mq_id end, const char *consumer, int64_t min_idle_ms, size_t count,
	    int (*fn)(const struct mq_pending *p, void *arg), void *arg);

/* XPENDING's summary of pending entries, added in id order. */
struct tool_owners;
struct tool_summary {
	uint64_t		 count;		/* entries */
	mq_id			 min, max;	/* their ids, 0-0 if none */
	struct tool_owners	*owners;	/* the count of each owner */
};

void	 tool_summary_init(struct tool_summary *s);
/* Counts the entry 'p' in the summary 'arg' (a tool_pending() 'fn'). */
int	 tool_summary_add(const struct mq_pending *p, void *arg);
/* Calls 'fn' with each owner ("": handed back) and its count, by name. */
void	 tool_summary_each(const struct tool_summary *s,
	    void (*fn)(const char *consumer, uint64_t count, void *arg),
	    void *arg);
void	 tool_summary_free(struct tool_summary *s);

/* ---- Progress of a long run (progress.c). */

struct tool_progress {
	const char	*what;		/* the stream or topic */
	const char	*verb;		/* "appended", "published" */
	int		 on;		/* -v, and the terminal is ours alone */
	int		 shown;		/* the line is on screen */
	int64_t		 start_ms;	/* of the run, CLOCK_MONOTONIC */
	int64_t		 shown_ms;	/* when the line was last written */
	char		*saved_name;	/* program_invocation_short_name */
	char		 name[64];	/* the same, erasing the line first */
};

/*
 * Starts showing the progress of writing to 'what': only with -v, when
 * stderr is a terminal and neither stdin nor the tool's output (unless
 * -q) is.
 */
void	 tool_progress_start(struct tool_progress *p, const char *what,
	    const char *verb);
/*
 * Called after each batch with the messages 'done' so far: rewrites the
 * line "TOOL: WHAT: DONE VERB, RATE/s" if the last write is a while ago.
 */
void	 tool_progress(struct tool_progress *p, uint64_t done);
/* Erases the line, before the tool prints its summary. */
void	 tool_progress_end(struct tool_progress *p);

/* ---- Waiting (wait.c). */

#include <signal.h>

extern volatile sig_atomic_t tool_stopping;	/* SIGINT or SIGTERM came */
extern volatile sig_atomic_t tool_reaped;	/* SIGCHLD came */

/*
 * Installs the handlers that set tool_stopping (SIGINT, SIGTERM) and,
 * with 'children', tool_reaped (SIGCHLD); ignores SIGPIPE.
 */
void	 tool_signals(int children);
/* Milliseconds on the monotonic clock, the clock of deadlines. */
int64_t	 tool_mono_ms(void);
/* Wall-clock milliseconds since the epoch, the clock of libmq's times. */
int64_t	 tool_now_ms(void);
/* Whether the monotonic deadline 'when' (-1: none) has passed. */
int	 tool_passed(int64_t when);
/* The earlier of two monotonic deadlines (-1: none). */
int64_t	 tool_earlier(int64_t a, int64_t b);
/*
 * The earlier of 'deadline' and the time a retry delay or a lease of
 * 'group' ends (mq_group_next_due), as a monotonic deadline.
 */
int64_t	 tool_group_due(mq_group *group, int64_t deadline);

#define TOOL_WAIT_OUT	0x1	/* wake when stdout's pipe has no reader left
				   (tool_stopping is then set) */
/*
 * Makes this run's writes durable (tool_idle), then sleeps until
 * 'watch' (if not NULL) saw a change, a signal came, or the monotonic
 * time 'deadline' (-1: none) passed.  Returns 0 once the deadline
 * passed, 1 otherwise; the caller then looks at what happened.
 */
int	 tool_wait(mq_watch *watch, int64_t deadline, int flags);
/* Parses --ready-fd's value: an open descriptor, or a usage error. */
int	 tool_ready_fd(const char *arg);
/* Writes a newline to '*fd' and closes it, once (-1: nothing to do). */
void	 tool_ready(int *fd);

/* ---- Values of options. */

/* "500ms", "30s", "5m", "2h", "1d" or seconds: milliseconds, or -1. */
int64_t	 tool_duration(const char *s);
/* tool_duration() of the value 's' of option 'opt'; usage error if bad. */
int64_t	 tool_duration_arg(const char *s, const char *opt);
/* Writes 'ms' in the largest unit that holds it exactly ("0" for 0). */
void	 tool_fmt_duration(char *buf, size_t size, int64_t ms);
/* The name of a policy's overflow, as mq-queue --overflow takes it. */
const char *tool_overflow_name(enum mq_overflow o);

#endif /* MQ_TOOL_H */
