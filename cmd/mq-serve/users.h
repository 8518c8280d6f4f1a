/*
 * users.h - the users of mq-serve: a table of names and crypt(3) hashes
 * loaded from a text file, and the check of a password against it.
 *
 * Nothing here knows a protocol: every door (Redis's AUTH and HELLO, and
 * later AMQP's PLAIN, MQTT's CONNECT, STOMP's login) asks auth.c, whose
 * thread calls users_verify() off the event loop.  The file has one "name:hash" per line;
 * blank lines and lines whose first non-blank is '#' are skipped.  A
 * table is never changed once loaded: a reload (SIGHUP) loads a new one
 * and frees the old one if the new one loaded.
 */
#ifndef MQ_SERVE_USERS_H
#define MQ_SERVE_USERS_H

#include <stddef.h>

/* The longest user name, in bytes. */
#define USERS_NAME_MAX	127
/* The longest password: libcrypt's CRYPT_MAX_PASSPHRASE_SIZE, less its NUL. */
#define USERS_PASS_MAX	511

struct users;

/*
 * Loads the users file 'path'.  Returns the table (users_free() frees
 * it), or NULL with a message in 'err' ("path:line: why", or "path: why"
 * when the file cannot be read, or out of memory).
 */
struct users	*users_load(const char *path, char *err, size_t errsize);
void		 users_free(struct users *u);
size_t		 users_count(const struct users *u);
/*
 * Whether 'pass' ('passlen' bytes) is the password of the user 'name'
 * ('namelen' bytes): 1 or 0.  An unknown user is checked against the
 * first user's hash, so that it takes about as long as a known one, and
 * hashes are compared in constant time.  Each call runs crypt(3) once:
 * some tens of milliseconds for yescrypt.  A password has at most
 * USERS_PASS_MAX bytes and no NUL.
 */
int		 users_verify(const struct users *u, const char *name,
		    size_t namelen, const char *pass, size_t passlen);
/*
 * Whether the file can hold 'name': 1 to USERS_NAME_MAX printable ASCII
 * characters, no space and no ':'.
 */
int		 users_name_ok(const char *name, size_t len);
/*
 * Hashes 'pass' for a users file: yescrypt with a new random salt, or
 * SHA-512 where libcrypt has no yescrypt.  Returns a malloc'd string, or
 * NULL with errno set.
 */
char		*users_hash(const char *pass);

/*
 * mq-serve --hash-password [NAME] (hashpw.c): reads a password, prints
 * "NAME:HASH" for the users file.  Returns the exit status.
 */
int		 users_hash_cmd(const char *name);

#endif /* MQ_SERVE_USERS_H */
