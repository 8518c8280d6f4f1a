/*
 * parse.h - the AMQP 0-9-1 codec, reading side: bytes in, frames,
 * methods, content headers, field tables and SASL responses out.
 *
 * Pure functions of the bytes (no I/O, no global state, no allocation):
 * what they hand out points into the caller's buffer and is valid as
 * long as it is.  A parse that fails returns -1 and, where a parser is
 * given, leaves in it the reply code and text that the door puts in its
 * connection.close, as RabbitMQ words them ("FRAME_ERROR - ...").  The
 * limit on frames is a field of the parser, so that the fuzz target runs
 * with the real one.  spec.h, generated from the protocol's JSON, says
 * what each method carries; encode.h writes the same things back.
 */
#ifndef MQ_SERVE_AMQP_PARSE_H
#define MQ_SERVE_AMQP_PARSE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "spec.h"

/* The protocol header a client opens with, and a refused one gets back. */
#define AMQP_PROTO_HEADER	"AMQP\0\0\x09\x01"
#define AMQP_PROTO_HEADER_LEN	8

/* Frame type(1) channel(2) size(4), and the end octet after the payload. */
#define AMQP_FRAME_HEAD_LEN	7
#define AMQP_FRAME_OVERHEAD	8

/* Tables nested deeper than this are refused (x-death needs 3). */
#define AMQP_TABLE_DEPTH	32

struct amqp_parser {
	uint32_t	 frame_max;	/* largest payload taken; 0: any */
	/* After -1 (and cleared by the next call): */
	uint16_t	 code;		/* the reply code (501, 502, 503) */
	uint16_t	 class_id;	/* the method at fault, or 0 */
	uint16_t	 method_id;
	const char	*error;		/* the reply text */
	char		 errbuf[192];	/* holds 'error' */
};

/* A frame; 'payload' points into the buffer given to amqp_frame(). */
struct amqp_frame {
	uint8_t		 type;		/* AMQP_FRAME_METHOD, ... */
	uint16_t	 channel;
	uint32_t	 size;		/* of the payload */
	const uint8_t	*payload;
};

/*
 * A value of a method argument, a content property or a field.  Integers
 * (and bits, 0 or 1) are in 'n'; strings, tables and arrays are the
 * 'len' bytes at 'p' (a table or an array without its 4-byte length, so
 * that it can be walked, and copied on byte for byte).
 */
struct amqp_value {
	uint64_t	 n;
	const uint8_t	*p;
	size_t		 len;
};

/* A decoded method: args[AMQP_BASIC_PUBLISH_ROUTING_KEY] and so on. */
struct amqp_method {
	const struct amqp_method_spec *spec;
	uint32_t	 id;		/* enum amqp_method_id */
	struct amqp_value args[AMQP_MAX_ARGS];
};

/* A content header frame's payload. */
struct amqp_content_header {
	uint16_t	 class_id;
	uint16_t	 weight;	/* 0 in 0-9-1 */
	uint64_t	 body_size;
	uint32_t	 present;	/* bit i: property i is there */
	struct amqp_value props[AMQP_MAX_PROPS];	/* AMQP_BASIC_PROP_... */
};

/* One entry of a field table (key and type) or of an array (type). */
struct amqp_field {
	const uint8_t	*key;
	size_t		 keylen;
	char		 type;		/* 'S', 'I', 'F', ... */
	/*
	 * Integers sign- or zero-extended as their letter says; f and d
	 * their IEEE bits; D scale << 32 | value; t the octet; T the
	 * seconds.  S, x, F and A: their bytes (F and A without the
	 * length), which may be walked with struct amqp_iter.
	 */
	struct amqp_value v;
};

/* Walks the entries of one table or array (not into nested ones). */
struct amqp_iter {
	const uint8_t	*p;
	size_t		 len, pos;
	int		 array;		/* 1: entries have no keys */
};

/* ---- parse.c: the protocol header, frames, methods. */

/*
 * Checks the protocol header at 'buf'.  Returns 8 for "AMQP" 0 0 9 1, or
 * the older 1 1 0 9 that RabbitMQ takes for the same; 0 if fewer than 8
 * bytes are there; -1 for anything else (answer AMQP_PROTO_HEADER, then
 * close).
 */
ssize_t	 amqp_proto_header(const uint8_t *buf, size_t len);

/* frame_max = AMQP_FRAME_MIN_SIZE, what is allowed before tune-ok. */
void	 amqp_parser_init(struct amqp_parser *p);

/*
 * Splits the frame at the start of 'buf'.  Returns the bytes it used,
 * with '*f' pointing into 'buf'; 0 if it is not all there yet; -1 with
 * 501 FRAME_ERROR for a size over p->frame_max (known from the first 7
 * bytes), a wrong end octet, an unknown type or a heartbeat with a
 * payload.  Nothing after the frame is read.
 */
ssize_t	 amqp_frame_split(struct amqp_parser *p, const uint8_t *buf,
	    size_t len, struct amqp_frame *f);

/*
 * Decodes a method frame's payload.  Returns 0, or -1 with 503
 * COMMAND_INVALID for an unknown class and method id, 502 SYNTAX_ERROR
 * for arguments that are cut short, run past the end, or hold a field
 * table that does not walk, and 501 FRAME_ERROR for a payload shorter
 * than the ids.
 */
int	 amqp_method_decode(struct amqp_parser *p, const uint8_t *payload,
	    size_t len, struct amqp_method *m);

/* The spec of a method, class or reply code, or NULL. */
const struct amqp_method_spec	*amqp_method_spec(uint32_t id);
const struct amqp_class_spec	*amqp_class_spec(uint16_t id);
const struct amqp_reply_spec	*amqp_reply_spec(uint16_t code);

/* ---- props.c: content header frames. */

/*
 * Decodes a content header frame's payload: the class, weight, body
 * size, property flags (16-bit words, each with 15 flags and a
 * continuation bit) and the properties they announce.  Returns 0, or -1
 * with 501 FRAME_ERROR for fewer than 14 bytes, or 502 SYNTAX_ERROR for
 * an unknown class, a flag without a property, properties cut short or
 * bytes after them.
 */
int	 amqp_content_header_decode(struct amqp_parser *p,
	    const uint8_t *payload, size_t len, struct amqp_content_header *h);

/* ---- table.c: field tables and arrays. */

/*
 * Walks the table (or array) of 'len' bytes at 'p', without its 4-byte
 * length, and every table and array in it.  Returns 0 if every entry
 * has a known type letter and lies inside its parent, -1 if not or if
 * it nests deeper than AMQP_TABLE_DEPTH.
 */
int	 amqp_table_check(const uint8_t *p, size_t len);
int	 amqp_array_check(const uint8_t *p, size_t len);

void	 amqp_iter_table(struct amqp_iter *it, const uint8_t *p, size_t len);
void	 amqp_iter_array(struct amqp_iter *it, const uint8_t *p, size_t len);
/* Reads the next entry: 1, 0 at the end, -1 if it does not fit. */
int	 amqp_iter_next(struct amqp_iter *it, struct amqp_field *f);

/* Finds the first entry named 'key': 1, 0 if none, -1 for a bad table. */
int	 amqp_table_find(const uint8_t *p, size_t len, const char *key,
	    struct amqp_field *f);
/* A field of any integer type (b B s u I i l L) as one: 0, or -1. */
int	 amqp_field_int(const struct amqp_field *f, int64_t *v);
/* A long string field (S): 0, or -1. */
int	 amqp_field_str(const struct amqp_field *f, const uint8_t **s,
	    size_t *len);
/* Whether 'f' is the long string 's'. */
int	 amqp_field_is(const struct amqp_field *f, const char *s);

/* ---- sasl.c: the response of connection.start-ok. */

/*
 * PLAIN: "[authzid] \0 user \0 password".  AMQPLAIN: the entries of a
 * field table (without its length) with LOGIN and PASSWORD of type S.
 * Each sets the user and password to point into 'resp' and returns 0,
 * or -1 if the response is not of that form.  amqp_sasl() picks by
 * mechanism name, and returns -1 for one it does not know.
 */
int	 amqp_sasl_plain(const uint8_t *resp, size_t len,
	    struct amqp_value *user, struct amqp_value *pass);
int	 amqp_sasl_amqplain(const uint8_t *resp, size_t len,
	    struct amqp_value *user, struct amqp_value *pass);
int	 amqp_sasl(const uint8_t *mech, size_t mechlen, const uint8_t *resp,
	    size_t len, struct amqp_value *user, struct amqp_value *pass);

#endif /* MQ_SERVE_AMQP_PARSE_H */
