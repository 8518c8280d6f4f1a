/*
 * auth.c - the password checks of AUTH and HELLO AUTH, made off the loop
 * by the core's auth.c, and how a command waits for them.
 *
 * Model: a command that needs a check it has no answer for asks for it
 * and stops without a reply; a copy of its arguments waits on the
 * client (its "authwait"), and the connection runs nothing more, its
 * input held as behind a blocked read.  When the answer comes, it is
 * kept as a verdict for that name and password, and the command runs
 * again from its start with the same arguments: this time the check is
 * answered at once, and the command goes on to its reply, or to the next
 * check it needs (HELLO may carry several AUTH options).  What a command
 * does before its check (HELLO's SETNAME) it does again, to the same
 * effect.  Then the verdicts go, and the requests pipelined behind run.
 *
 * EXEC runs its commands back to back, so they cannot stop: before it
 * runs any, EXEC asks for the checks of the AUTH and HELLO AUTH it
 * queued, one at a time, running again after each answer; when all are
 * answered it runs them, and they find their verdicts.
 *
 * Without a users file only "default" exists and takes any password:
 * that is answered here, at once.
 */
#include <stdlib.h>
#include <string.h>

#include "resp.h"

/* A name and password checked, and the answer. */
struct verdict {
	char	*user, *pass;
	size_t	 ulen, plen;
	int	 ok;		/* -1 while asked */
};

struct resp_authwait {
	struct resp_arg	*argv;		/* the command to run again */
	size_t		 argc;
	char		*data;		/* its arguments' bytes */
	struct verdict	*v;
	size_t		 nv;
	int		 asked;		/* a check is under way */
};

/* Logs a check, the name cut to 64 bytes, '?' for a byte not printable. */
static void
log_check(struct resp_client *c, const struct resp_arg *user, int ok)
{
	char shown[65];

	log_shown(shown, sizeof(shown), user->p, user->len);
	server_log(c->conn->server, "conn id=%llu peer=%s proto=resp auth "
	    "user=%s %s", (unsigned long long)c->conn->id, c->conn->peer,
	    shown, ok ? "ok" : "failed");
}

/*
 * The answer taken: the connection is that user, or the error is the
 * reply and it stays as it was.
 */
static int
settle(struct resp_client *c, const struct resp_arg *user, int ok)
{
	if (!ok) {
		resp_reply_error(c,
		    "WRONGPASS invalid username-password pair or "
		    "user is disabled.");
		return 0;
	}
	c->authenticated = 1;
	/* A name of the table or "default": it fits. */
	memcpy(c->user, user->p, user->len);
	c->user[user->len] = '\0';
	return 1;
}

static const struct verdict *
verdict_find(const struct resp_authwait *w, const struct resp_arg *user,
    const struct resp_arg *pass)
{
	size_t i;

	for (i = 0; w != NULL && i < w->nv; i++)
		if (w->v[i].ok != -1 && w->v[i].ulen == user->len &&
		    w->v[i].plen == pass->len &&
		    memcmp(w->v[i].user, user->p, user->len) == 0 &&
		    memcmp(w->v[i].pass, pass->p, pass->len) == 0)
			return &w->v[i];
	return NULL;
}

void
resp_auth_free(struct resp_client *c)
{
	struct resp_authwait *w = c->authwait;
	size_t i, len = 0;

	if (w == NULL)
		return;
	for (i = 0; i < w->nv; i++) {
		explicit_bzero(w->v[i].pass, w->v[i].plen);
		free(w->v[i].user);
		free(w->v[i].pass);
	}
	free(w->v);
	/* The arguments of AUTH and HELLO hold passwords too. */
	for (i = 0; i < w->argc; i++)
		len += w->argv[i].len;
	if (w->data != NULL)
		explicit_bzero(w->data, len);
	free(w->data);
	free(w->argv);
	free(w);
	c->authwait = NULL;
}

/*
 * The answer came: the command that waited runs again, as dispatch()
 * runs a command; unless it asks for another check, the requests
 * pipelined behind it run next.
 */
static void
checked(struct conn *conn, void *arg, int ok)
{
	struct resp_client *c = arg;
	struct resp_authwait *w = c->authwait;
	struct verdict *v = &w->v[w->nv - 1];
	struct resp_arg user = { v->user, v->ulen };
	struct server *s = conn->server;

	v->ok = ok;
	w->asked = 0;
	log_check(c, &user, ok);
	appendq_flush(s);
	server_release_groups(s);
	s->hold_groups = 0;
	if (conn->dead)
		return;		/* closed for a group's write, 'c' with it */
	resp_execute(c, resp_lookup(w->argv[0].p, w->argv[0].len), w->argc,
	    w->argv);
	if (conn->dead || c->authwait->asked)
		return;
	resp_auth_free(c);
	resp_resume(c);
}

/*
 * Asks for the check of 'user' and 'pass' for the command 'argv' (copied
 * unless it is the copy that waits already).  Returns 0, or -1 with the
 * error as the reply: then the command does not wait (the copy goes,
 * unless the command is the copy, run again: checked() frees it).
 */
static int
ask(struct resp_client *c, size_t argc, const struct resp_arg *argv,
    const struct resp_arg *user, const struct resp_arg *pass)
{
	struct resp_authwait *w = c->authwait;
	struct verdict *v;

	if (w == NULL) {
		if ((w = calloc(1, sizeof(*w))) == NULL)
			goto nomem;
		c->authwait = w;
		if (resp_args_copy(argc, argv, &w->argv, &w->data) == -1)
			goto nomem;
		w->argc = argc;
	}
	if ((v = reallocarray(w->v, w->nv + 1, sizeof(*v))) == NULL)
		goto nomem;
	w->v = v;
	v += w->nv;
	memset(v, 0, sizeof(*v));
	v->ok = -1;
	if ((v->user = malloc(user->len + 1)) == NULL ||
	    (v->pass = malloc(pass->len + 1)) == NULL) {
		free(v->user);
		goto nomem;
	}
	w->nv++;
	memcpy(v->user, user->p, v->ulen = user->len);
	memcpy(v->pass, pass->p, v->plen = pass->len);
	if (auth_check(c->conn, user->p, user->len, pass->p, pass->len,
	    checked, c) == -1)
		goto nomem;
	w->asked = 1;
	return 0;
nomem:
	if (w != NULL && w->argv != argv)
		resp_auth_free(c);
	resp_reply_error(c, "ERR out of memory");
	return -1;
}

int
resp_auth(struct resp_client *c, size_t argc, const struct resp_arg *argv,
    const struct resp_arg *user, const struct resp_arg *pass)
{
	const struct verdict *v;
	int ok;

	/* User names are case-sensitive. */
	if (c->conn->server->users == NULL) {
		ok = user->len == 7 && memcmp(user->p, "default", 7) == 0;
		log_check(c, user, ok);
		return settle(c, user, ok);
	}
	if ((v = verdict_find(c->authwait, user, pass)) != NULL)
		return settle(c, user, v->ok);
	/* EXEC's commands do not wait: their checks were asked before. */
	if (c->in_exec)
		return settle(c, user, 0);
	return ask(c, argc, argv, user, pass) == 0 ? -1 : 0;
}

/* Asks for the check of a pair without a verdict: see resp_auth_exec. */
static int
exec_ask(struct resp_client *c, size_t argc, const struct resp_arg *argv,
    const struct resp_arg *user, const struct resp_arg *pass)
{
	if (verdict_find(c->authwait, user, pass) != NULL)
		return 0;
	return ask(c, argc, argv, user, pass) == 0 ? 1 : -1;
}

int
resp_auth_exec(struct resp_client *c, size_t argc,
    const struct resp_arg *argv, const struct resp_command *cmd,
    size_t qargc, const struct resp_arg *q)
{
	static const struct resp_arg def = { "default", 7 };
	size_t i;
	int rc = 0;

	if (c->conn->server->users == NULL)
		return 0;
	/* The pairs that resp_cmd_auth and resp_cmd_hello check. */
	if (cmd->fn == resp_cmd_auth && (qargc == 2 || qargc == 3))
		return exec_ask(c, argc, argv, qargc == 2 ? &def : &q[1],
		    &q[qargc - 1]);
	if (cmd->fn != resp_cmd_hello)
		return 0;
	for (i = 2; i < qargc && rc == 0; i++) {
		if (resp_arg_is(&q[i], "auth") && i + 2 < qargc) {
			rc = exec_ask(c, argc, argv, &q[i + 1], &q[i + 2]);
			i += 2;
		} else if (resp_arg_is(&q[i], "setname") && i + 1 < qargc)
			i++;
		else
			break;
	}
	return rc;
}
