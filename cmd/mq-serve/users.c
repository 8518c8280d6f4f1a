/*
 * users.c - the users file and password checks with crypt(3) (libxcrypt).
 *
 * The file holds one "name:hash" per line, the hash being what crypt(3)
 * makes (yescrypt "$y$...", SHA-512 "$6$...", or another method that
 * libcrypt takes and does not call legacy).  The whole file loads or
 * nothing does: the first bad line fails the load with its line number,
 * so that a typo never leaves a server with fewer users than meant.
 * Hashes are not tried at load time (that would cost one crypt per
 * user); their method is checked with crypt_checksalt(3) and their shape
 * by hand.
 */
#include <crypt.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "users.h"

struct user {
	char	*name;
	char	*hash;		/* crypt(3) output: method, salt and hash */
	int	 line;		/* where it was defined, for duplicates */
};

struct users {
	struct user	*v;
	size_t		 n, cap;
};

_Static_assert(USERS_PASS_MAX + 1 == CRYPT_MAX_PASSPHRASE_SIZE,
    "USERS_PASS_MAX is libcrypt's limit");

/*
 * crypt_r's scratch space (about 32 kB): the server checks passwords on
 * one thread, auth.c's.
 */
static struct crypt_data cdata;

int
users_name_ok(const char *name, size_t len)
{
	size_t i;

	if (len == 0 || len > USERS_NAME_MAX)
		return 0;
	for (i = 0; i < len; i++)
		if (name[i] <= ' ' || name[i] > '~' || name[i] == ':')
			return 0;
	return 1;
}

/*
 * Why 'hash' cannot be a crypt(3) hash to check passwords against, or
 * NULL if it can: '$', a method, a non-empty hash of crypt's alphabet
 * after the last '$' (so no DES, no plain password), and a method that
 * libcrypt knows and allows.
 */
static const char *
hash_problem(const char *hash)
{
	const char *last;

	if (hash[0] != '$' || (last = strrchr(hash, '$')) == hash ||
	    last[1] == '\0' || strspn(last + 1, "./0123456789"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz") !=
	    strlen(last + 1))
		return "not a crypt(3) hash";
	switch (crypt_checksalt(hash)) {
	case CRYPT_SALT_OK:
	case CRYPT_SALT_TOO_CHEAP:
		return NULL;
	case CRYPT_SALT_METHOD_LEGACY:
		return "legacy hash method: use yescrypt or SHA-512 "
		    "(mq-serve --hash-password)";
	case CRYPT_SALT_METHOD_DISABLED:
		return "hash method disabled in libcrypt";
	default:
		return "not a crypt(3) hash";
	}
}

static const struct user *
find(const struct users *u, const char *name, size_t len)
{
	size_t i;

	for (i = 0; i < u->n; i++)
		if (strlen(u->v[i].name) == len &&
		    memcmp(u->v[i].name, name, len) == 0)
			return &u->v[i];
	return NULL;
}

/*
 * Adds the line 'line' (number 'lineno', its newline gone) to 'u';
 * blank lines and comments add nothing.  Returns 0, or -1 with the reason
 * in 'why' and, for a duplicate, the line of the first one in 'first'.
 */
static int
add_line(struct users *u, char *line, int lineno, const char **why,
    int *first)
{
	const struct user *dup;
	struct user *nu;
	char *colon, *end;

	line += strspn(line, " \t");
	end = line + strlen(line);
	while (end > line && (end[-1] == ' ' || end[-1] == '\t' ||
	    end[-1] == '\r'))
		*--end = '\0';
	if (*line == '\0' || *line == '#')
		return 0;
	if ((colon = strchr(line, ':')) == NULL) {
		*why = "expected name:hash";
		return -1;
	}
	if (!users_name_ok(line, (size_t)(colon - line))) {
		*why = "bad user name (1 to 127 printable characters, "
		    "no space or ':')";
		return -1;
	}
	if ((*why = hash_problem(colon + 1)) != NULL)
		return -1;
	if ((dup = find(u, line, (size_t)(colon - line))) != NULL) {
		*why = "duplicate user";
		*first = dup->line;
		return -1;
	}
	if (u->n == u->cap) {
		size_t cap = u->cap ? u->cap * 2 : 8;

		if ((nu = reallocarray(u->v, cap, sizeof(*nu))) == NULL)
			goto nomem;
		u->v = nu;
		u->cap = cap;
	}
	nu = &u->v[u->n];
	*colon = '\0';
	if ((nu->name = strdup(line)) == NULL)
		goto nomem;
	if ((nu->hash = strdup(colon + 1)) == NULL) {
		free(nu->name);
		goto nomem;
	}
	nu->line = lineno;
	u->n++;
	return 0;
nomem:
	*why = strerror(ENOMEM);
	return -1;
}

struct users *
users_load(const char *path, char *err, size_t errsize)
{
	struct users *u;
	char *line = NULL;
	const char *why;
	size_t cap = 0;
	int lineno = 0, first = 0;
	FILE *fp;

	if ((u = calloc(1, sizeof(*u))) == NULL) {
		snprintf(err, errsize, "%s: %s", path, strerror(errno));
		return NULL;
	}
	if ((fp = fopen(path, "r")) == NULL) {
		snprintf(err, errsize, "%s: %s", path, strerror(errno));
		free(u);
		return NULL;
	}
	while (getline(&line, &cap, fp) != -1) {
		lineno++;
		line[strcspn(line, "\n")] = '\0';
		if (add_line(u, line, lineno, &why, &first) == -1) {
			if (first > 0)
				snprintf(err, errsize, "%s:%d: %s (first on "
				    "line %d)", path, lineno, why, first);
			else
				snprintf(err, errsize, "%s:%d: %s", path,
				    lineno, why);
			goto fail;
		}
	}
	if (ferror(fp)) {
		snprintf(err, errsize, "%s: %s", path, strerror(errno));
		goto fail;
	}
	free(line);
	fclose(fp);
	return u;
fail:
	free(line);
	fclose(fp);
	users_free(u);
	return NULL;
}

void
users_free(struct users *u)
{
	size_t i;

	if (u == NULL)
		return;
	for (i = 0; i < u->n; i++) {
		free(u->v[i].name);
		free(u->v[i].hash);
	}
	free(u->v);
	free(u);
}

size_t
users_count(const struct users *u)
{
	return u != NULL ? u->n : 0;
}

/* Whether strings 'a' and 'b' are equal, in a time set by their lengths. */
static int
same(const char *a, const char *b)
{
	size_t len = strlen(a), i;
	unsigned char d = 0;

	if (strlen(b) != len)
		return 0;
	for (i = 0; i < len; i++)
		d |= (unsigned char)(a[i] ^ b[i]);
	return d == 0;
}

int
users_verify(const struct users *u, const char *name, size_t namelen,
    const char *pass, size_t passlen)
{
	const struct user *user;
	char buf[USERS_PASS_MAX + 1];
	const char *hash, *out;
	int ok;

	if (u == NULL || u->n == 0)
		return 0;
	/*
	 * An unknown user is checked against another user's hash, so that
	 * the time taken does not tell which names exist.
	 */
	user = find(u, name, namelen);
	hash = user != NULL ? user->hash : u->v[0].hash;
	if (passlen > USERS_PASS_MAX ||
	    memchr(pass, '\0', passlen) != NULL)
		return 0;
	memcpy(buf, pass, passlen);
	buf[passlen] = '\0';
	out = crypt_r(buf, hash, &cdata);
	ok = out != NULL && out[0] != '*' && same(out, hash);
	explicit_bzero(buf, sizeof(buf));
	explicit_bzero(&cdata, sizeof(cdata));
	return ok && user != NULL;
}

char *
users_hash(const char *pass)
{
	char *setting, *hash = NULL;
	const char *out;

	if (strlen(pass) > USERS_PASS_MAX) {
		errno = EINVAL;
		return NULL;
	}
	/* NULL random bytes: libcrypt takes them from the kernel. */
	if ((setting = crypt_gensalt_ra("$y$", 0, NULL, 0)) == NULL &&
	    (setting = crypt_gensalt_ra("$6$", 0, NULL, 0)) == NULL)
		return NULL;
	out = crypt_r(pass, setting, &cdata);
	free(setting);
	if (out == NULL || out[0] == '*')
		errno = EINVAL;
	else
		hash = strdup(out);
	explicit_bzero(&cdata, sizeof(cdata));
	return hash;
}
