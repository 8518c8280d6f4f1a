/*
 * hashpw.c - mq-serve --hash-password [NAME]: a line for the users file.
 *
 * The password is one line of standard input, so that
 *	echo "$pw" | mq-serve --hash-password alice >> users
 * works in scripts.  From a terminal it is asked for twice, without
 * echo, and the terminal is put back as it was even if a signal ends
 * the program meanwhile.  The line printed is "NAME:HASH", the hash
 * made by users_hash() (yescrypt, or SHA-512).
 */
#include <err.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "users.h"

#define PASS_SIZE	(USERS_PASS_MAX + 1)

/* The terminal as it was, while echo is off. */
static struct termios saved;
static const int signals[] = { SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGTSTP };

static void
restore(int sig)
{
	tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved);
	signal(sig, SIG_DFL);
	raise(sig);
}

/*
 * Reads one line of standard input into 'pass' (PASS_SIZE bytes), without
 * its line end.  Returns NULL, or why it could not.
 */
static const char *
read_line(char *pass)
{
	const char *why = NULL;
	char *line = NULL;
	size_t cap = 0, len;
	ssize_t n;

	if ((n = getline(&line, &cap, stdin)) == -1) {
		free(line);
		return "no password on standard input";
	}
	len = (size_t)n;
	if (len > 0 && line[len - 1] == '\n')
		len--;
	if (len > 0 && line[len - 1] == '\r')
		len--;
	if (len >= PASS_SIZE || memchr(line, '\0', len) != NULL)
		why = "password too long (511 bytes at most) or with a NUL";
	else {
		memcpy(pass, line, len);
		pass[len] = '\0';
	}
	explicit_bzero(line, (size_t)n);
	free(line);
	return why;
}

/* Asks for a line on the terminal of standard input, echo off. */
static const char *
ask(const char *prompt, char *pass)
{
	struct termios t;
	const char *why;
	size_t i;

	if (tcgetattr(STDIN_FILENO, &saved) == -1)
		return "cannot read the terminal's settings";
	t = saved;
	t.c_lflag &= ~(tcflag_t)ECHO;
	for (i = 0; i < sizeof(signals) / sizeof(signals[0]); i++)
		signal(signals[i], restore);
	/* Echo off before the prompt: what is typed after it never shows. */
	if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &t) == -1)
		why = "cannot turn echo off";
	else {
		fputs(prompt, stderr);
		why = read_line(pass);
	}
	tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved);
	for (i = 0; i < sizeof(signals) / sizeof(signals[0]); i++)
		signal(signals[i], SIG_DFL);
	fputc('\n', stderr);
	return why;
}

int
users_hash_cmd(const char *name)
{
	char pass[PASS_SIZE], again[PASS_SIZE], *hash;
	const char *why;
	int same;

	if (!users_name_ok(name, strlen(name)))
		errx(2, "%s: bad user name (1 to %d printable characters, no "
		    "space or ':')", name, USERS_NAME_MAX);
	if (isatty(STDIN_FILENO)) {
		if ((why = ask("Password: ", pass)) != NULL ||
		    (why = ask("Again: ", again)) != NULL)
			errx(1, "%s", why);
		same = strcmp(pass, again) == 0;
		explicit_bzero(again, sizeof(again));
		if (!same)
			errx(1, "the passwords differ");
	} else if ((why = read_line(pass)) != NULL)
		errx(1, "%s", why);
	if (pass[0] == '\0')
		errx(1, "empty password");
	hash = users_hash(pass);
	explicit_bzero(pass, sizeof(pass));
	if (hash == NULL)
		err(1, "crypt");
	printf("%s:%s\n", name, hash);
	free(hash);
	return fflush(stdout) == 0 && !ferror(stdout) ? 0 : 1;
}
