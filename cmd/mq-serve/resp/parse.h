/*
 * parse.h - the Redis request parser: bytes in, one command out.
 *
 * A pure function of the bytes (no I/O, no global state): resp_parse()
 * reads the request at the start of a buffer and returns how many bytes
 * it used, 0 for "need more", or -1 for a protocol error, with the
 * arguments pointing into the buffer.  The limits are fields of the
 * parser so that the fuzz target runs with the real ones.  See
 * parse.c for the grammar and where it departs from Redis.
 */
#ifndef MQ_SERVE_RESP_PARSE_H
#define MQ_SERVE_RESP_PARSE_H

#include <stddef.h>
#include <sys/types.h>

/* Defaults set by resp_parser_init(). */
#define RESP_MAX_ARGS	(1024 * 1024)		/* arguments of one command */
#define RESP_MAX_BULK	(512UL * 1024 * 1024)	/* proto-max-bulk-len */
#define RESP_MAX_INLINE	(64 * 1024)		/* PROTO_INLINE_MAX_SIZE */

/* Redis's caps before AUTH (fixed, as in Redis). */
#define RESP_UNAUTH_ARGS	10
#define RESP_UNAUTH_BULK	16384

/* One argument: 'len' bytes at 'p', inside the buffer given to resp_parse(). */
struct resp_arg {
	const char	*p;
	size_t		 len;
};

struct resp_parser {
	size_t		 max_args;	/* multibulk count above it: invalid */
	size_t		 max_bulk;	/* bulk length above it: invalid */
	size_t		 max_inline;	/* longest inline line, or length line */
	int		 authenticated;	/* 0: Redis's pre-AUTH caps apply */
	const char	*error;		/* after -1: Redis's message text */
	struct resp_arg	*args;		/* the last command's arguments */
	size_t		 cap;		/* entries allocated in 'args' */
	char		 errbuf[48];	/* holds 'error' when it quotes a byte */
};

/*
 * Sets the default limits, authenticated to 0 (the handler sets it to 1
 * after AUTH, or at once when no password is configured) and an empty
 * argument array.
 */
void	 resp_parser_init(struct resp_parser *p);
/* Frees the argument array; the parser can be initialised again. */
void	 resp_parser_free(struct resp_parser *p);

/*
 * Parses the request at the start of 'buf' ('len' bytes).  Returns the
 * bytes it used (> 0) and sets '*argc' to the number of arguments, found
 * in p->args[0 .. *argc) and pointing into 'buf'; *argc is 0 for an
 * empty request ("*0", "*-1", a blank inline line), which the caller
 * skips.  Returns 0 if the request is not complete yet: call again with
 * the same start and more bytes.  Returns -1 on a protocol error, with
 * p->error set to Redis's reply text ("Protocol error: ..."; the caller
 * adds "-ERR " and closes the connection), or, with errno ENOMEM, to
 * "out of memory" when the argument array cannot grow.
 *
 * The bytes of a multibulk request are only read.  An inline request
 * whose arguments use quotes or escapes is decoded in place (a decoded
 * argument is never longer than its source), so 'buf' is not const;
 * this happens only when the request is complete and valid.
 */
ssize_t	 resp_parse(struct resp_parser *p, char *buf, size_t len,
	    size_t *argc);

#endif /* MQ_SERVE_RESP_PARSE_H */
