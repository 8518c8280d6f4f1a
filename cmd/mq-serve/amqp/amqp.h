/*
 * amqp.h - the AMQP 0-9-1 door: a connection's state and its channels,
 * and what the files of the door share.
 *
 * Model: a connection goes through the handshake of connection.c
 * (protocol header, start/start-ok with a password check, tune/tune-ok,
 * open/open-ok) and then carries channels (channel.c), each a sequence
 * of methods, and of content (a header frame and body frames) after a
 * method that has some.  An error of one channel closes that channel
 * with channel.close; an error of the connection (a frame the protocol
 * does not allow, a bad argument of a connection method) closes it with
 * connection.close, after which only close-ok is awaited.  Both carry
 * RabbitMQ's reply code and "NAME - text", since clients show those to
 * their users.  Every frame goes out through send.c, which counts when
 * the connection last wrote for the heartbeats.
 */
#ifndef MQ_SERVE_AMQP_H
#define MQ_SERVE_AMQP_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <bsd/sys/queue.h>

#include "encode.h"
#include "parse.h"
#include "server.h"
#include "users.h"

extern const struct proto amqp_proto;

/* What the server offers in connection.tune. */
#define AMQP_CHANNEL_MAX	2047
#define AMQP_FRAME_MAX		131072
#define AMQP_HEARTBEAT		60

/* How long a connection that was sent connection.close waits for close-ok. */
#define AMQP_CLOSE_WAIT_MS	3000

enum amqp_phase {
	AMQP_HEADER,		/* the protocol header is awaited */
	AMQP_START_OK,		/* connection.start was sent */
	AMQP_AUTH,		/* the password is being checked (auth.c) */
	AMQP_TUNE_OK,		/* connection.tune was sent */
	AMQP_OPEN,		/* connection.open is awaited */
	AMQP_RUNNING,		/* channels may be used */
	AMQP_CLOSING		/* connection.close was sent: close-ok awaited */
};

struct amqp_channel {
	uint16_t		 id;
};

/* The capabilities of the client's properties that change what we send. */
#define AMQP_CAP_CANCEL_NOTIFY	0x1	/* consumer_cancel_notify */
#define AMQP_CAP_AUTH_CLOSE	0x2	/* authentication_failure_close */

struct amqp_client {
	struct conn		*conn;
	struct amqp_parser	 parser;
	enum amqp_phase		 phase;
	int			 caps;		/* AMQP_CAP_... */
	int			 discard;	/* after a broken frame: input dropped */
	char			 user[USERS_NAME_MAX + 1];
	char			 mechanism[16];	/* of start-ok, for the log */
	uint16_t		 channel_max;	/* negotiated: 1 .. 2047 */
	uint16_t		 heartbeat;	/* seconds, 0: none */
	int64_t			 sent_ms;	/* when it last wrote a frame */
	int64_t			 closing_ms;	/* when connection.close went */
	char			 why[300];	/* what the log says of that close */
	/* Channels by number, grown as high as the client opens. */
	struct amqp_channel	**channels;
	size_t			 nchannels;	/* slots in 'channels' */
	struct amqp_buf		 out;		/* frames being made */
	TAILQ_ENTRY(amqp_client) hlink;		/* in the heartbeat sweep */
	int			 in_sweep;
};

/* ---- door.c */

/*
 * Handles the frames that arrived, from the protocol header on, until
 * one holds the connection (a password check).
 */
int	 amqp_input(struct conn *conn);

/* ---- connection.c: the handshake, connection.close, heartbeats. */

/* The protocol header was taken: sends connection.start. */
void	 amqp_conn_start(struct amqp_client *c);
/* A method of class connection (on channel 0). */
void	 amqp_conn_method(struct amqp_client *c, const struct amqp_method *m);
/*
 * Closes the connection with connection.close: 'code' and the text
 * (printf-style, after RabbitMQ's "NAME - " which this adds), naming the
 * method at fault (0, 0 for none).  Then only close-ok is awaited.
 */
void	 amqp_conn_error(struct amqp_client *c, uint16_t code,
	    uint32_t method, const char *fmt, ...)
	    __attribute__((format(printf, 4, 5)));
/* The parser refused a frame: closes with its code and text. */
void	 amqp_conn_parse_error(struct amqp_client *c);
/* Counts the client among those whose heartbeats are watched. */
void	 amqp_heartbeat_watch(struct amqp_client *c);
void	 amqp_heartbeat_unwatch(struct amqp_client *c);

/* ---- channel.c: channels and their methods. */

/* A method frame on channel 'ch' (not 0). */
void	 amqp_chan_method(struct amqp_client *c, uint16_t ch,
	    const struct amqp_method *m);
/* A content header or body frame on channel 'ch'. */
void	 amqp_chan_content(struct amqp_client *c, const struct amqp_frame *f);
/* Frees every channel (the connection closes). */
void	 amqp_chan_free_all(struct amqp_client *c);

/* ---- send.c: frames out. */

/*
 * Sends method 'id' with 'args' on channel 'ch' (args may be NULL for a
 * method without arguments).
 */
void	 amqp_send_method(struct amqp_client *c, uint16_t ch, uint32_t id,
	    const struct amqp_value *args);
/*
 * connection.close (on channel 0) or channel.close ('id'): the reply
 * 'code' and 'text', and the method at fault (class << 16 | method, or 0).
 */
void	 amqp_send_close(struct amqp_client *c, uint16_t ch, uint32_t id,
	    uint16_t code, const char *text, uint32_t method);
void	 amqp_send_heartbeat(struct amqp_client *c);
/* A string value for an argument array. */
struct amqp_value amqp_str(const char *s);
/*
 * The text of a close: RabbitMQ's "NAME - " for 'code' (see
 * amqp_reply_spec), then 'fmt', in 'buf' of 'size' bytes (a short
 * string holds 255).
 */
void	 amqp_reply_text(char *buf, size_t size, uint16_t code,
	    const char *fmt, va_list ap) __attribute__((format(printf, 4, 0)));

#endif /* MQ_SERVE_AMQP_H */
