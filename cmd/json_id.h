/*
 * json_id.h - the id of a JSON Lines record: the string value of the
 * top-level member "id" of one JSON object, as mq-xreadgroup -o json
 * writes them and as jq -c passes them on (members in any order, others
 * added or removed).
 *
 * A pure function of the bytes: no allocation, no I/O, no global state,
 * nothing read past the length it is given, so that mq-ack and mq-nack
 * hand it each line in place and the fuzz target calls it on anything.
 */
#ifndef MQ_JSON_ID_H
#define MQ_JSON_ID_H

#include <stddef.h>

/* Nesting deeper than this is refused; the record's own object is 1. */
#define JSON_ID_DEPTH	64

/*
 * Parses the 'len' bytes at 's' as one JSON text (RFC 8259) that is an
 * object, with optional whitespace around it, and finds its top-level
 * member "id" (the name compared after unescaping).  Its value, a
 * string, is unescaped into 'id': its first 'size' bytes, with no NUL
 * added; '*idlen' is its whole length, which may be more than 'size'.
 *
 * Returns 0, or -1 with '*why' saying what is wrong: malformed JSON
 * (bad syntax, a truncated text, more after the object, bytes that are
 * not UTF-8 in a string, an escaped lone surrogate), nesting deeper than
 * JSON_ID_DEPTH, not an object, no member "id", two of them, or an "id"
 * that is not a string.  On -1, 'id' and '*idlen' are unspecified.
 */
int	 json_id(const char *s, size_t len, char *id, size_t size,
	    size_t *idlen, const char **why);

#endif /* MQ_JSON_ID_H */
