/*
 * group.c - the consumer-group commands of the Redis door (XGROUP,
 * XACK, XPENDING, XCLAIM, XAUTOCLAIM) and XINFO.
 *
 * Model: a Redis consumer group is a libmq group of the stream, shared
 * with every other process of the spool (mq-xreadgroup, mq-ack, ...);
 * server_group() keeps it open.  XREADGROUP is in stream.c with
 * XREAD.  Replies follow Redis 7.0's src/t_stream.c: XGROUP and XINFO
 * are container commands there, so an unknown subcommand and a wrong
 * number of arguments get the texts of its command table
 * ("unknown subcommand 'x'. Try XGROUP HELP.", "wrong number of
 * arguments for 'xgroup|create' command").
 *
 * Where libmq knows more than Redis: an entry handed back by mq-nack has
 * no owner until it is delivered again; XPENDING shows it with the
 * consumer "" and the summary leaves it out of the per-consumer counts.
 * Redis's radix tree does not exist here: XINFO STREAM's radix-tree-keys
 * counts the nodes Redis would have for small entries (100 a node, see
 * stream.c), and radix-tree-nodes is an estimate from them.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "resp.h"

#define NODE_ENTRIES	100	/* as in stream.c */

/* A container command's subcommand and its arity (name included). */
struct subcmd {
	const char	*name;
	int		 arity;
};

/*
 * Finds argv[1] in 'subs' and checks its arity as Redis 7.0 does for
 * container commands, replying to an error.  Returns the subcommand's
 * index, or -1.
 */
static int
subcommand(struct resp_client *c, size_t argc, const struct resp_arg *argv,
    const char *cmd, const struct subcmd *subs, size_t nsubs)
{
	char upper[16];
	size_t i, len;

	for (i = 0; i < nsubs; i++)
		if (resp_arg_is(&argv[1], subs[i].name))
			break;
	if (i == nsubs) {
		for (len = 0; cmd[len] != '\0' && len + 1 < sizeof(upper); len++)
			upper[len] = (char)(cmd[len] - 'a' + 'A');
		upper[len] = '\0';
		len = argv[1].len;
		if (memchr(argv[1].p, '\0', len) != NULL)
			len = strlen(argv[1].p);
		resp_reply_error(c,
		    "ERR unknown subcommand '%.*s'. Try %s HELP.",
		    (int)(len > 128 ? 128 : len), argv[1].p, upper);
		return -1;
	}
	if ((subs[i].arity > 0 && argc != (size_t)subs[i].arity) ||
	    (subs[i].arity < 0 && argc < (size_t)-subs[i].arity)) {
		resp_reply_error(c,
		    "ERR wrong number of arguments for '%s|%s' command",
		    cmd, subs[i].name);
		return -1;
	}
	return (int)i;
}

/* Redis's addReplySubcommandSyntaxError. */
static void
reply_subcommand_syntax(struct resp_client *c, const struct resp_arg *sub,
    const char *cmd)
{
	size_t len = sub->len;

	if (memchr(sub->p, '\0', len) != NULL)
		len = strlen(sub->p);
	resp_reply_error(c,
	    "ERR unknown subcommand or wrong number of arguments for "
	    "'%.*s'. Try %s HELP.", (int)(len > 128 ? 128 : len), sub->p, cmd);
}

/* Redis's addReplyHelp: the lines as status replies, then HELP's own. */
static void
reply_help(struct resp_client *c, const char *cmd, const char *const *lines)
{
	char head[128];
	size_t n;

	for (n = 0; lines[n] != NULL; n++)
		;
	resp_reply_array(c, n + 3);
	snprintf(head, sizeof(head), "%s <subcommand> [<arg> [value] [opt] ...]. "
	    "Subcommands are:", cmd);
	resp_reply_simple(c, head);
	for (n = 0; lines[n] != NULL; n++)
		resp_reply_simple(c, lines[n]);
	resp_reply_simple(c, "HELP");
	resp_reply_simple(c, "    Prints this help.");
}

/* "NOGROUP No such key 'k' or consumer group 'g'" */
static void
reply_nogroup(struct resp_client *c, const struct resp_arg *key,
    const struct resp_arg *group)
{
	resp_reply_error(c,
	    "NOGROUP No such key '%.*s' or consumer group '%.*s'",
	    (int)key->len, key->p, (int)group->len, group->p);
}

/* "NOGROUP No such consumer group 'g' for key name 'k'" */
static void
reply_nogroup_for(struct resp_client *c, const struct resp_arg *group,
    const struct resp_arg *key)
{
	resp_reply_error(c,
	    "NOGROUP No such consumer group '%.*s' for key name '%.*s'",
	    (int)group->len, group->p, (int)key->len, key->p);
}

/*
 * Opens stream 'key' and its group 'group' for XACK, XPENDING, XCLAIM
 * and XAUTOCLAIM.  Returns 1, 0 if either is missing (no reply), or -1
 * after an error reply.
 */
static int
stream_group(struct resp_client *c, const struct resp_arg *key,
    const struct resp_arg *group, mq_stream **s, mq_group **g)
{
	int rc;

	if ((rc = resp_xstream(c, key, s)) <= 0)
		return rc;
	return resp_xgroup_open(c, *s, group, g);
}

/*
 * A libmq outcome of a group operation as a reply.  A group destroyed
 * by another process is forgotten, so that a new one of that name is
 * opened next time.
 */
static void
group_error(struct resp_client *c, int rc, mq_stream *s,
    const struct resp_arg *key, const struct resp_arg *group, const char *cmd)
{
	char name[MQ_NAME_MAX + 1];

	if (rc == MQ_ENOGROUP) {
		if (resp_arg_str(group, name, sizeof(name)))
			server_group_forget(c->conn->server, s, name);
		reply_nogroup(c, key, group);
		return;
	}
	resp_reply_mq_error(c, rc, cmd);
}

/* ------------------------------------------------------------------
 * XGROUP
 * ---------------------------------------------------------------- */

enum { XG_CREATE, XG_SETID, XG_DESTROY, XG_CREATECONSUMER, XG_DELCONSUMER,
    XG_HELP };

static const struct subcmd xgroup_subs[] = {
	[XG_CREATE] = { "create", -5 },
	[XG_SETID] = { "setid", -5 },
	[XG_DESTROY] = { "destroy", 4 },
	[XG_CREATECONSUMER] = { "createconsumer", 5 },
	[XG_DELCONSUMER] = { "delconsumer", 5 },
	[XG_HELP] = { "help", 2 },
};

static const char *const xgroup_help[] = {
	"CREATE <key> <groupname> <id|$> [option]",
	"    Create a new consumer group. Options are:",
	"    * MKSTREAM",
	"      Create the empty stream if it does not exist.",
	"    * ENTRIESREAD entries_read",
	"      Set the group's entries_read counter (internal use).",
	"CREATECONSUMER <key> <groupname> <consumer>",
	"    Create a new consumer in the specified group.",
	"DELCONSUMER <key> <groupname> <consumer>",
	"    Remove the specified consumer.",
	"DESTROY <key> <groupname>",
	"    Remove the specified group.",
	"SETID <key> <groupname> <id|$> [ENTRIESREAD entries_read]",
	"    Set the current group ID and entries_read counter.",
	NULL
};

/* XGROUP CREATE key group id|$ [MKSTREAM] [ENTRIESREAD n], the key checked. */
static void
xgroup_create(struct resp_client *c, size_t argc, const struct resp_arg *argv,
    mq_stream *s, int64_t entries_read)
{
	char name[MQ_NAME_MAX + 1];
	mq_id id = { 0, 0 };
	int rc;

	if (argv[4].len == 1 && argv[4].p[0] == '$') {
		if (s != NULL)
			id = MQ_ID_LAST;	/* the top, resolved by libmq */
	} else if (resp_xarg_id(c, &argv[4], 0, 1, &id) == -1)
		return;
	if (!resp_arg_str(&argv[3], name, sizeof(name)) || name[0] == '\0') {
		resp_reply_mq_error(c, MQ_EBADNAME, "XGROUP");
		return;
	}
	if (s == NULL) {
		/* MKSTREAM, now that nothing else can fail first. */
		if ((rc = server_stream(c->conn->server, argv[2].p, argv[2].len,
		    1, &s)) != MQ_OK) {
			resp_reply_mq_error(c, rc, "XGROUP");
			return;
		}
		waiters_change(c->conn->server, mq_stream_name(s), NULL,
		    MQ_WATCH_MADE);
	}
	rc = mq_group_create(s, name, id, entries_read);
	if (rc == MQ_EEXIST)
		resp_reply_error(c,
		    "BUSYGROUP Consumer Group name already exists");
	else if (rc != MQ_OK)
		resp_reply_mq_error(c, rc, "XGROUP");
	else
		resp_reply_ok(c);
}

void
resp_cmd_xgroup(struct resp_client *c, size_t argc, const struct resp_arg *argv)
{
	char name[MQ_NAME_MAX + 1];
	long long er = -1;
	mq_stream *s = NULL;
	mq_group *g = NULL;
	uint64_t pending;
	mq_id id;
	size_t i;
	int sub, mkstream = 0, rc;

	if ((sub = subcommand(c, argc, argv, "xgroup", xgroup_subs,
	    sizeof(xgroup_subs) / sizeof(xgroup_subs[0]))) == -1)
		return;
	if (argc >= 4) {
		for (i = 5; i < argc; ) {
			if (sub == XG_CREATE && resp_arg_is(&argv[i],
			    "mkstream")) {
				mkstream = 1;
				i++;
			} else if ((sub == XG_CREATE || sub == XG_SETID) &&
			    resp_arg_is(&argv[i], "entriesread") &&
			    i + 1 < argc) {
				if (resp_xarg_ll(c, &argv[i + 1], NULL,
				    &er) == -1)
					return;
				if (er < 0 && er != -1) {
					resp_reply_error(c,
					    "ERR value for ENTRIESREAD "
					    "must be positive or -1");
					return;
				}
				i += 2;
			} else {
				reply_subcommand_syntax(c, &argv[1], "XGROUP");
				return;
			}
		}
		if ((rc = resp_xstream(c, &argv[2], &s)) < 0)
			return;
		if (rc == 0)
			s = NULL;
	}
	if (argc >= 4 && !mkstream) {
		if (s == NULL) {
			resp_reply_error(c,
			    "ERR The XGROUP subcommand requires the key "
			    "to exist. Note that for CREATE you may want to use "
			    "the MKSTREAM option to create an empty stream "
			    "automatically.");
			return;
		}
		if ((rc = resp_xgroup_open(c, s, &argv[3], &g)) < 0)
			return;
		if (rc == 0 && (sub == XG_SETID || sub == XG_CREATECONSUMER ||
		    sub == XG_DELCONSUMER)) {
			reply_nogroup_for(c, &argv[3], &argv[2]);
			return;
		}
	}

	switch (sub) {
	case XG_HELP:
		reply_help(c, "XGROUP", xgroup_help);
		return;
	case XG_CREATE:
		if (argc > 8)
			break;
		xgroup_create(c, argc, argv, s, er);
		return;
	case XG_SETID:
		if (argc != 5 && argc != 7)
			break;
		if (argv[4].len == 1 && argv[4].p[0] == '$')
			id = MQ_ID_LAST;
		else if (resp_xarg_id(c, &argv[4], 0, 0, &id) == -1)
			return;
		if ((rc = mq_group_setid(g, id, er)) != MQ_OK)
			group_error(c, rc, s, &argv[2], &argv[3], "XGROUP");
		else
			resp_reply_ok(c);
		return;
	case XG_DESTROY:
		if (g == NULL) {
			resp_reply_int(c, 0);
			return;
		}
		if (!resp_arg_str(&argv[3], name, sizeof(name))) {
			resp_reply_int(c, 0);
			return;
		}
		rc = mq_group_destroy(s, name);
		server_group_forget(c->conn->server, s, name);
		if (rc == MQ_ENOGROUP)
			resp_reply_int(c, 0);
		else if (rc != MQ_OK)
			resp_reply_mq_error(c, rc, "XGROUP");
		else {
			resp_reply_int(c, 1);
			/* Blocked XREADGROUPs of it get their NOGROUP. */
			waiters_change(c->conn->server, mq_stream_name(s), name,
			    MQ_WATCH_GROUP);
		}
		return;
	case XG_CREATECONSUMER:
		if (!resp_arg_str(&argv[4], name, sizeof(name))) {
			resp_reply_mq_error(c, MQ_EBADNAME, "XGROUP");
			return;
		}
		if ((rc = mq_group_consumer_create(g, name)) < 0)
			group_error(c, rc, s, &argv[2], &argv[3], "XGROUP");
		else
			resp_reply_int(c, rc);
		return;
	case XG_DELCONSUMER:
		if (!resp_arg_str(&argv[4], name, sizeof(name))) {
			resp_reply_int(c, 0);	/* no such consumer */
			return;
		}
		rc = mq_group_consumer_delete(g, name, &pending);
		if (rc == MQ_EBADNAME)
			resp_reply_int(c, 0);
		else if (rc != MQ_OK)
			group_error(c, rc, s, &argv[2], &argv[3], "XGROUP");
		else
			resp_reply_int(c, (long long)pending);
		return;
	}
	reply_subcommand_syntax(c, &argv[1], "XGROUP");
}

/* ------------------------------------------------------------------
 * XACK, XPENDING
 * ---------------------------------------------------------------- */

void
resp_cmd_xack(struct resp_client *c, size_t argc, const struct resp_arg *argv)
{
	mq_stream *s;
	mq_group *g;
	mq_id *ids;
	size_t n = argc - 3, i, acked;
	int rc;

	if ((rc = stream_group(c, &argv[1], &argv[2], &s, &g)) <= 0) {
		if (rc == 0)
			resp_reply_int(c, 0);
		return;
	}
	if ((ids = reallocarray(NULL, n, sizeof(*ids))) == NULL) {
		resp_reply_mq_error(c, MQ_ESYS, "XACK");
		return;
	}
	for (i = 0; i < n; i++)
		if (resp_xarg_id(c, &argv[3 + i], 0, 1, &ids[i]) == -1) {
			free(ids);
			return;
		}
	rc = mq_group_ack(g, ids, n, &acked);
	free(ids);
	if (rc == MQ_ENOGROUP)
		resp_reply_int(c, 0);
	else if (rc != MQ_OK)
		resp_reply_mq_error(c, rc, "XACK");
	else
		resp_reply_int(c, (long long)acked);
}

/* The consumers of a group, copied (mq_group_consumers' views are not). */
struct clist {
	struct cinfo {
		char		*name;
		uint64_t	 pending;
		int64_t		 seen_ms;
	}		*v;
	size_t		 n, cap;
	int		 failed;
};

static int
clist_add(const struct mq_consumer_info *ci, void *arg)
{
	struct clist *cl = arg;
	struct cinfo *nv;

	if (cl->n == cl->cap) {
		size_t ncap = cl->cap ? 2 * cl->cap : 8;

		if ((nv = reallocarray(cl->v, ncap, sizeof(*nv))) == NULL) {
			cl->failed = 1;
			return 1;
		}
		cl->v = nv;
		cl->cap = ncap;
	}
	if ((cl->v[cl->n].name = strdup(ci->name)) == NULL) {
		cl->failed = 1;
		return 1;
	}
	cl->v[cl->n].pending = ci->pending;
	cl->v[cl->n].seen_ms = ci->seen_ms;
	cl->n++;
	return 0;
}

static void
clist_free(struct clist *cl)
{
	size_t i;

	for (i = 0; i < cl->n; i++)
		free(cl->v[i].name);
	free(cl->v);
	memset(cl, 0, sizeof(*cl));
}

static int
clist_load(mq_group *g, struct clist *cl)
{
	int rc;

	memset(cl, 0, sizeof(*cl));
	if ((rc = mq_group_consumers(g, clist_add, cl)) == MQ_OK && cl->failed)
		rc = MQ_ESYS;
	if (rc != MQ_OK)
		clist_free(cl);
	return rc;
}

/* XPENDING key group: [count, min, max, [[consumer, "count"], ...]] */
static void
xpending_summary(struct resp_client *c, mq_group *g,
    const struct mq_group_info *gi)
{
	struct clist cl;
	char num[24];
	size_t i, k = 0;
	int rc;

	if (gi->pending == 0) {
		resp_reply_array(c, 4);
		resp_reply_int(c, 0);
		resp_reply_null(c);
		resp_reply_null(c);
		resp_reply_null_array(c);
		return;
	}
	if ((rc = clist_load(g, &cl)) != MQ_OK) {
		resp_reply_mq_error(c, rc, "XPENDING");
		return;
	}
	for (i = 0; i < cl.n; i++)
		if (cl.v[i].pending > 0)
			k++;
	resp_reply_array(c, 4);
	resp_reply_int(c, (long long)gi->pending);
	resp_reply_id(c, gi->pending_min);
	resp_reply_id(c, gi->pending_max);
	resp_reply_array(c, k);
	for (i = 0; i < cl.n; i++) {
		if (cl.v[i].pending == 0)
			continue;
		resp_reply_array(c, 2);
		resp_reply_bulk_str(c, cl.v[i].name);
		snprintf(num, sizeof(num), "%llu",
		    (unsigned long long)cl.v[i].pending);
		resp_reply_bulk_str(c, num);
	}
	clist_free(&cl);
}

/* XPENDING key group [[IDLE min-idle] start end count [consumer]] */
void
resp_cmd_xpending(struct resp_client *c, size_t argc,
    const struct resp_arg *argv)
{
	char cname[MQ_NAME_MAX + 1];
	struct mq_group_info gi;
	struct mq_pending *out;
	long long count = 0, minidle = 0;
	const struct resp_arg *consumer = NULL;
	mq_id start, end;
	mq_stream *s;
	mq_group *g;
	size_t si = 3, n, room, i;
	int64_t now, idle;
	int rc;

	if (argc != 3 && (argc < 6 || argc > 9)) {
		resp_reply_syntax_error(c);
		return;
	}
	if (argc >= 6) {
		if (resp_arg_is(&argv[3], "idle")) {
			if (resp_xarg_ll(c, &argv[4], NULL, &minidle) == -1)
				return;
			if (argc < 8) {
				resp_reply_syntax_error(c);
				return;
			}
			si += 2;
		}
		if (resp_xarg_ll(c, &argv[si + 2], NULL, &count) == -1)
			return;
		if (count < 0)
			count = 0;
		if (resp_xarg_interval(c, &argv[si], 0, &start) == -1 ||
		    resp_xarg_interval(c, &argv[si + 1], 1, &end) == -1)
			return;
		if (si + 3 < argc)
			consumer = &argv[si + 3];
	}
	if ((rc = stream_group(c, &argv[1], &argv[2], &s, &g)) <= 0) {
		if (rc == 0)
			reply_nogroup(c, &argv[1], &argv[2]);
		return;
	}
	if ((rc = mq_group_info(g, &gi)) != MQ_OK) {
		group_error(c, rc, s, &argv[1], &argv[2], "XPENDING");
		return;
	}
	if (argc == 3) {
		xpending_summary(c, g, &gi);
		return;
	}
	if (consumer != NULL && !resp_arg_str(consumer, cname, sizeof(cname))) {
		resp_reply_array(c, 0);	/* a name no consumer can have */
		return;
	}
	room = gi.pending < (uint64_t)count ? (size_t)gi.pending : (size_t)count;
	if (room == 0) {
		resp_reply_array(c, 0);
		return;
	}
	if ((out = reallocarray(NULL, room, sizeof(*out))) == NULL) {
		resp_reply_mq_error(c, MQ_ESYS, "XPENDING");
		return;
	}
	rc = mq_group_pending(g, start, end, room,
	    consumer != NULL ? cname : NULL, minidle, out, &n);
	if (rc != MQ_OK) {
		free(out);
		group_error(c, rc, s, &argv[1], &argv[2], "XPENDING");
		return;
	}
	now = resp_xnow_ms();
	resp_reply_array(c, n);
	for (i = 0; i < n; i++) {
		resp_reply_array(c, 4);
		resp_reply_id(c, out[i].id);
		resp_reply_bulk_str(c, out[i].consumer);
		idle = now - out[i].delivered_ms;
		resp_reply_int(c, idle < 0 ? 0 : idle);
		resp_reply_int(c, (long long)out[i].count);
	}
	free(out);
}

/* ------------------------------------------------------------------
 * XCLAIM, XAUTOCLAIM
 * ---------------------------------------------------------------- */

/* XCLAIM key group consumer min-idle id... [IDLE ms] [TIME ms]
 *     [RETRYCOUNT n] [FORCE] [JUSTID] [LASTID id] */
void
resp_cmd_xclaim(struct resp_client *c, size_t argc, const struct resp_arg *argv)
{
	char cname[MQ_NAME_MAX + 1];
	struct mq_group_info gi;
	long long minidle, retry = -1, v;
	int64_t when = -1, now;
	mq_id *ids = NULL, *out = NULL, lastid = { 0, 0 };
	mq_stream *s;
	mq_group *g;
	size_t j, nids, claimed, i;
	int rc, flags = 0;

	if ((rc = stream_group(c, &argv[1], &argv[2], &s, &g)) <= 0) {
		if (rc == 0)
			reply_nogroup(c, &argv[1], &argv[2]);
		return;
	}
	if (resp_xarg_ll(c, &argv[4],
	    "Invalid min-idle-time argument for XCLAIM", &minidle) == -1)
		return;
	if (minidle < 0)
		minidle = 0;
	if ((ids = reallocarray(NULL, argc - 5, sizeof(*ids))) == NULL ||
	    (out = reallocarray(NULL, argc - 5, sizeof(*out))) == NULL) {
		resp_reply_mq_error(c, MQ_ESYS, "XCLAIM");
		goto done;
	}
	/* The ids, up to the first argument that is not one: the options. */
	for (j = 5, nids = 0; j < argc; j++, nids++)
		if (resp_xarg_id(NULL, &argv[j], 0, 1, &ids[nids]) == -1)
			break;
	now = resp_xnow_ms();
	for (; j < argc; j++) {
		int more = j + 1 < argc;

		if (resp_arg_is(&argv[j], "force"))
			flags |= MQ_CLAIM_FORCE;
		else if (resp_arg_is(&argv[j], "justid"))
			flags |= MQ_CLAIM_JUSTID;
		else if (resp_arg_is(&argv[j], "idle") && more) {
			if (resp_xarg_ll(c, &argv[++j],
			    "Invalid IDLE option argument "
			    "for XCLAIM", &v) == -1)
				goto done;
			when = now - v;
		} else if (resp_arg_is(&argv[j], "time") && more) {
			if (resp_xarg_ll(c, &argv[++j],
			    "Invalid TIME option argument "
			    "for XCLAIM", &v) == -1)
				goto done;
			when = v;
		} else if (resp_arg_is(&argv[j], "retrycount") && more) {
			if (resp_xarg_ll(c, &argv[++j],
			    "Invalid RETRYCOUNT option "
			    "argument for XCLAIM", &retry) == -1)
				goto done;
		} else if (resp_arg_is(&argv[j], "lastid") && more) {
			if (resp_xarg_id(c, &argv[++j], 0, 1, &lastid) == -1)
				goto done;
		} else {
			resp_reply_error(c,
			    "ERR Unrecognized XCLAIM option '%.*s'",
			    (int)argv[j].len, argv[j].p);
			goto done;
		}
	}
	if (lastid.ms != 0 || lastid.seq != 0) {
		/* LASTID moves the group's cursor forward, never back. */
		if ((rc = mq_group_info(g, &gi)) == MQ_OK &&
		    mq_id_cmp(lastid, gi.last_delivered) > 0)
			rc = mq_group_setid(g, lastid, gi.entries_read);
		if (rc != MQ_OK) {
			group_error(c, rc, s, &argv[1], &argv[2], "XCLAIM");
			goto done;
		}
	}
	if (when != -1 && (when < 0 || when > now))
		when = now;
	if (!resp_arg_str(&argv[3], cname, sizeof(cname))) {
		resp_reply_mq_error(c, MQ_EBADNAME, "XCLAIM");
		goto done;
	}
	if ((rc = mq_group_claim(g, cname, minidle, ids, nids, when,
	    retry < 0 ? -1 : retry, flags, out, &claimed)) != MQ_OK) {
		group_error(c, rc, s, &argv[1], &argv[2], "XCLAIM");
		goto done;
	}
	resp_reply_array(c, claimed);
	for (i = 0; i < claimed; i++) {
		if (flags & MQ_CLAIM_JUSTID)
			resp_reply_id(c, out[i]);
		else if ((rc = resp_xreply_one(c, s, out[i])) != MQ_OK) {
			/* The array is begun: the entry shows as gone. */
			resp_reply_array(c, 2);
			resp_reply_id(c, out[i]);
			resp_reply_null_array(c);
		}
	}
done:
	free(ids);
	free(out);
}

/* XAUTOCLAIM key group consumer min-idle start [COUNT n] [JUSTID] */
void
resp_cmd_xautoclaim(struct resp_client *c, size_t argc,
    const struct resp_arg *argv)
{
	char cname[MQ_NAME_MAX + 1];
	struct mq_group_info gi;
	long long minidle, count = 100;
	mq_id start, next, *out = NULL, *deleted = NULL;
	mq_stream *s;
	mq_group *g;
	size_t j, room, claimed, ndeleted, i;
	int rc, flags = 0;

	if (resp_xarg_ll(c, &argv[4],
	    "Invalid min-idle-time argument for XAUTOCLAIM", &minidle) == -1)
		return;
	if (minidle < 0)
		minidle = 0;
	if (resp_xarg_interval(c, &argv[5], 0, &start) == -1)
		return;
	for (j = 6; j < argc; j++) {
		if (resp_arg_is(&argv[j], "count") && j + 1 < argc) {
			if (resp_xarg_ll(c, &argv[j + 1], "COUNT must be > 0",
			    &count) == -1)
				return;
			if (count < 1 || count > LLONG_MAX / 16) {
				resp_reply_error(c, "ERR COUNT must be > 0");
				return;
			}
			j++;
		} else if (resp_arg_is(&argv[j], "justid"))
			flags |= MQ_CLAIM_JUSTID;
		else {
			resp_reply_syntax_error(c);
			return;
		}
	}
	if ((rc = stream_group(c, &argv[1], &argv[2], &s, &g)) <= 0) {
		if (rc == 0)
			reply_nogroup(c, &argv[1], &argv[2]);
		return;
	}
	if (!resp_arg_str(&argv[3], cname, sizeof(cname))) {
		resp_reply_mq_error(c, MQ_EBADNAME, "XAUTOCLAIM");
		return;
	}
	/*
	 * No more than the pending entries can be claimed or dropped: that
	 * bounds the arrays, and the scan (COUNT * 10 entries) still looks
	 * at every pending entry.
	 */
	if ((rc = mq_group_info(g, &gi)) != MQ_OK) {
		group_error(c, rc, s, &argv[1], &argv[2], "XAUTOCLAIM");
		return;
	}
	room = (uint64_t)count < gi.pending ? (size_t)count :
	    gi.pending > 0 ? (size_t)gi.pending : 1;
	if ((out = reallocarray(NULL, room, sizeof(*out))) == NULL ||
	    (deleted = reallocarray(NULL, room, sizeof(*deleted))) == NULL) {
		resp_reply_mq_error(c, MQ_ESYS, "XAUTOCLAIM");
		goto done;
	}
	if ((rc = mq_group_autoclaim(g, cname, minidle, start, room, flags, out,
	    &claimed, &next, deleted, &ndeleted)) != MQ_OK) {
		group_error(c, rc, s, &argv[1], &argv[2], "XAUTOCLAIM");
		goto done;
	}
	resp_reply_array(c, 3);
	resp_reply_id(c, next);
	resp_reply_array(c, claimed);
	for (i = 0; i < claimed; i++) {
		if (flags & MQ_CLAIM_JUSTID)
			resp_reply_id(c, out[i]);
		else if (resp_xreply_one(c, s, out[i]) != MQ_OK) {
			resp_reply_array(c, 2);
			resp_reply_id(c, out[i]);
			resp_reply_null_array(c);
		}
	}
	resp_reply_array(c, ndeleted);
	for (i = 0; i < ndeleted; i++)
		resp_reply_id(c, deleted[i]);
done:
	free(out);
	free(deleted);
}

/* ------------------------------------------------------------------
 * XINFO
 * ---------------------------------------------------------------- */

enum { XI_CONSUMERS, XI_GROUPS, XI_STREAM, XI_HELP };

static const struct subcmd xinfo_subs[] = {
	[XI_CONSUMERS] = { "consumers", 4 },
	[XI_GROUPS] = { "groups", 3 },
	[XI_STREAM] = { "stream", -3 },
	[XI_HELP] = { "help", 2 },
};

static const char *const xinfo_help[] = {
	"CONSUMERS <key> <groupname>",
	"    Show consumers of <groupname>.",
	"GROUPS <key>",
	"    Show the stream consumer groups.",
	"STREAM <key> [FULL [COUNT <count>]",
	"    Show information about the stream.",
	NULL
};

/* A group of a stream, as XINFO shows it. */
struct ginfo {
	char			*name;
	mq_group		*g;
	struct mq_group_info	 info;
};

struct glist {
	struct ginfo	*v;
	size_t		 n, cap;
	int		 failed;
};

static int
glist_add(const char *name, void *arg)
{
	struct glist *gl = arg;
	struct ginfo *nv;

	if (gl->n == gl->cap) {
		size_t ncap = gl->cap ? 2 * gl->cap : 8;

		if ((nv = reallocarray(gl->v, ncap, sizeof(*nv))) == NULL) {
			gl->failed = 1;
			return 1;
		}
		gl->v = nv;
		gl->cap = ncap;
	}
	memset(&gl->v[gl->n], 0, sizeof(gl->v[gl->n]));
	if ((gl->v[gl->n].name = strdup(name)) == NULL) {
		gl->failed = 1;
		return 1;
	}
	gl->n++;
	return 0;
}

static void
glist_free(struct glist *gl)
{
	size_t i;

	for (i = 0; i < gl->n; i++)
		free(gl->v[i].name);
	free(gl->v);
	memset(gl, 0, sizeof(*gl));
}

/*
 * The groups of 's' in name order, open and described.  One that
 * vanished in between is left out.
 */
static int
glist_load(struct resp_client *c, mq_stream *s, struct glist *gl)
{
	size_t i, k = 0;
	int rc;

	memset(gl, 0, sizeof(*gl));
	if ((rc = mq_stream_groups(s, glist_add, gl)) == MQ_OK && gl->failed)
		rc = MQ_ESYS;
	for (i = 0; rc == MQ_OK && i < gl->n; i++) {
		rc = server_group(c->conn->server, s, gl->v[i].name,
		    strlen(gl->v[i].name), &gl->v[i].g);
		if (rc == MQ_OK)
			rc = mq_group_info(gl->v[i].g, &gl->v[i].info);
		if (rc == MQ_ENOGROUP) {
			server_group_forget(c->conn->server, s, gl->v[i].name);
			free(gl->v[i].name);
			rc = MQ_OK;
			continue;
		}
		gl->v[k++] = gl->v[i];
	}
	gl->n = k;
	if (rc != MQ_OK)
		glist_free(gl);
	return rc;
}

/* An int64 that libmq gives as -1 for "unknown": Redis's null. */
static void
reply_int_or_null(struct resp_client *c, int64_t v)
{
	if (v < 0)
		resp_reply_null(c);
	else
		resp_reply_int(c, v);
}

static void
xinfo_groups(struct resp_client *c, mq_stream *s)
{
	struct glist gl;
	size_t i;
	int rc;

	if ((rc = glist_load(c, s, &gl)) != MQ_OK) {
		resp_reply_mq_error(c, rc, "XINFO");
		return;
	}
	resp_reply_array(c, gl.n);
	for (i = 0; i < gl.n; i++) {
		const struct mq_group_info *gi = &gl.v[i].info;

		resp_reply_map(c, 6);
		resp_reply_bulk_str(c, "name");
		resp_reply_bulk_str(c, gl.v[i].name);
		resp_reply_bulk_str(c, "consumers");
		resp_reply_int(c, (long long)gi->consumers);
		resp_reply_bulk_str(c, "pending");
		resp_reply_int(c, (long long)gi->pending);
		resp_reply_bulk_str(c, "last-delivered-id");
		resp_reply_id(c, gi->last_delivered);
		resp_reply_bulk_str(c, "entries-read");
		reply_int_or_null(c, gi->entries_read);
		resp_reply_bulk_str(c, "lag");
		reply_int_or_null(c, gi->lag);
	}
	glist_free(&gl);
}

static void
xinfo_consumers(struct resp_client *c, const struct resp_arg *argv,
    mq_stream *s)
{
	struct clist cl;
	mq_group *g;
	int64_t now, idle;
	size_t i;
	int rc;

	if ((rc = resp_xgroup_open(c, s, &argv[3], &g)) <= 0) {
		if (rc == 0)
			reply_nogroup_for(c, &argv[3], &argv[2]);
		return;
	}
	if ((rc = clist_load(g, &cl)) != MQ_OK) {
		if (rc == MQ_ENOGROUP)
			reply_nogroup_for(c, &argv[3], &argv[2]);
		else
			resp_reply_mq_error(c, rc, "XINFO");
		return;
	}
	now = resp_xnow_ms();
	resp_reply_array(c, cl.n);
	for (i = 0; i < cl.n; i++) {
		idle = now - cl.v[i].seen_ms;
		resp_reply_map(c, 3);
		resp_reply_bulk_str(c, "name");
		resp_reply_bulk_str(c, cl.v[i].name);
		resp_reply_bulk_str(c, "pending");
		resp_reply_int(c, (long long)cl.v[i].pending);
		resp_reply_bulk_str(c, "idle");
		resp_reply_int(c, idle < 0 ? 0 : idle);
	}
	clist_free(&cl);
}

/* The first or last entry: its offset, and whether there is one. */
struct edge {
	struct resp_client	*c;	/* not NULL: write the entry */
	uint64_t		 offset;
	int			 found;
};

static int
edge_fn(const struct mq_msg *m, void *arg)
{
	struct edge *e = arg;

	e->found = 1;
	e->offset = m->offset;
	if (e->c != NULL)
		resp_reply_entry(e->c, m);
	return 1;
}

/* Writes the first (or with 'rev' the last) entry, or a null. */
static int
reply_edge(struct resp_client *c, mq_stream *s, int rev)
{
	struct edge e = { c, 0, 0 };
	mq_id zero = { 0, 0 };
	int rc;

	if ((rc = mq_range(s, zero, MQ_ID_LAST, 1, rev, edge_fn, &e)) != MQ_OK)
		return rc;
	if (!e.found)
		resp_reply_null(c);
	return MQ_OK;
}

/*
 * Redis's radix-tree-keys and radix-tree-nodes, estimated: one key per
 * node of NODE_ENTRIES offsets between the first and the last entry.
 */
static int
radix_estimate(mq_stream *s, uint64_t length, long long *keys,
    long long *nodes)
{
	struct edge first = { NULL, 0, 0 }, last = { NULL, 0, 0 };
	mq_id zero = { 0, 0 };
	int rc;

	*keys = 0;
	if (length > 0) {
		if ((rc = mq_range(s, zero, MQ_ID_LAST, 1, 0, edge_fn,
		    &first)) != MQ_OK ||
		    (rc = mq_range(s, zero, MQ_ID_LAST, 1, 1, edge_fn,
		    &last)) != MQ_OK)
			return rc;
		if (first.found && last.found)
			*keys = (long long)(last.offset / NODE_ENTRIES -
			    first.offset / NODE_ENTRIES + 1);
	}
	/* 1 for an empty tree, 2 for one key, about 2.5 a key after. */
	*nodes = *keys <= 1 ? *keys + 1 : (5 * *keys + 2) / 2;
	return MQ_OK;
}

/* The fields both forms of XINFO STREAM start with. */
static int
xinfo_stream_head(struct resp_client *c, mq_stream *s,
    const struct mq_stream_info *si, int full)
{
	long long keys, nodes;
	int rc;

	if ((rc = radix_estimate(s, si->length, &keys, &nodes)) != MQ_OK)
		return rc;
	resp_reply_map(c, full ? 9 : 10);
	resp_reply_bulk_str(c, "length");
	resp_reply_int(c, (long long)si->length);
	resp_reply_bulk_str(c, "radix-tree-keys");
	resp_reply_int(c, keys);
	resp_reply_bulk_str(c, "radix-tree-nodes");
	resp_reply_int(c, nodes);
	resp_reply_bulk_str(c, "last-generated-id");
	resp_reply_id(c, si->last_id);
	resp_reply_bulk_str(c, "max-deleted-entry-id");
	resp_reply_id(c, si->max_deleted_id);
	resp_reply_bulk_str(c, "entries-added");
	resp_reply_int(c, (long long)si->entries_added);
	resp_reply_bulk_str(c, "recorded-first-entry-id");
	resp_reply_id(c, si->first_id);
	return MQ_OK;
}

/* The pending entries of a group (of 'consumer' if not NULL), up to 'count'. */
static int
pending_list(mq_group *g, uint64_t total, long long count,
    const char *consumer, struct mq_pending **out, size_t *n)
{
	mq_id zero = { 0, 0 };
	size_t room;

	*out = NULL;
	*n = 0;
	room = count == 0 || (uint64_t)count > total ? (size_t)total :
	    (size_t)count;
	if (room == 0)
		return MQ_OK;
	if ((*out = reallocarray(NULL, room, sizeof(**out))) == NULL)
		return MQ_ESYS;
	return mq_group_pending(g, zero, MQ_ID_LAST, room, consumer, 0, *out, n);
}

/* One group of XINFO STREAM FULL. */
static int
xinfo_full_group(struct resp_client *c, const struct ginfo *gv,
    long long count)
{
	struct mq_pending *pl, *cp;
	struct clist cl;
	size_t n, i, k, j;
	int rc;

	if ((rc = pending_list(gv->g, gv->info.pending, count, NULL, &pl,
	    &n)) != MQ_OK) {
		free(pl);
		return rc;
	}
	if ((rc = clist_load(gv->g, &cl)) != MQ_OK) {
		free(pl);
		return rc;
	}
	resp_reply_map(c, 7);
	resp_reply_bulk_str(c, "name");
	resp_reply_bulk_str(c, gv->name);
	resp_reply_bulk_str(c, "last-delivered-id");
	resp_reply_id(c, gv->info.last_delivered);
	resp_reply_bulk_str(c, "entries-read");
	reply_int_or_null(c, gv->info.entries_read);
	resp_reply_bulk_str(c, "lag");
	reply_int_or_null(c, gv->info.lag);
	resp_reply_bulk_str(c, "pel-count");
	resp_reply_int(c, (long long)gv->info.pending);
	resp_reply_bulk_str(c, "pending");
	resp_reply_array(c, n);
	for (i = 0; i < n; i++) {
		resp_reply_array(c, 4);
		resp_reply_id(c, pl[i].id);
		resp_reply_bulk_str(c, pl[i].consumer);
		resp_reply_int(c, pl[i].delivered_ms);
		resp_reply_int(c, (long long)pl[i].count);
	}
	free(pl);
	resp_reply_bulk_str(c, "consumers");
	resp_reply_array(c, cl.n);
	for (j = 0; j < cl.n; j++) {
		resp_reply_map(c, 4);
		resp_reply_bulk_str(c, "name");
		resp_reply_bulk_str(c, cl.v[j].name);
		resp_reply_bulk_str(c, "seen-time");
		resp_reply_int(c, cl.v[j].seen_ms);
		resp_reply_bulk_str(c, "pel-count");
		resp_reply_int(c, (long long)cl.v[j].pending);
		resp_reply_bulk_str(c, "pending");
		if (pending_list(gv->g, cl.v[j].pending, count, cl.v[j].name,
		    &cp, &k) != MQ_OK)
			k = 0;	/* the map is begun: show none */
		resp_reply_array(c, k);
		for (i = 0; i < k; i++) {
			resp_reply_array(c, 3);
			resp_reply_id(c, cp[i].id);
			resp_reply_int(c, cp[i].delivered_ms);
			resp_reply_int(c, (long long)cp[i].count);
		}
		free(cp);
	}
	clist_free(&cl);
	return MQ_OK;
}

/* XINFO STREAM key [FULL [COUNT n]] */
static void
xinfo_stream(struct resp_client *c, size_t argc, const struct resp_arg *argv,
    mq_stream *s)
{
	struct mq_stream_info si;
	struct glist gl;
	long long count = 10;
	mq_id zero = { 0, 0 };
	size_t optc = argc - 3, i;
	int full = optc > 0, rc;

	if (full) {
		if ((optc != 1 && optc != 3) || !resp_arg_is(&argv[3],
		    "full") || (optc == 3 && !resp_arg_is(&argv[4], "count"))) {
			reply_subcommand_syntax(c, &argv[1], "XINFO");
			return;
		}
		if (optc == 3) {
			if (resp_xarg_ll(c, &argv[5], NULL, &count) == -1)
				return;
			if (count < 0)
				count = 10;
		}
	}
	if ((rc = mq_stream_info(s, &si)) != MQ_OK) {
		resp_reply_mq_error(c, rc, "XINFO");
		return;
	}
	if (!full) {
		if ((rc = xinfo_stream_head(c, s, &si, 0)) != MQ_OK) {
			resp_reply_mq_error(c, rc, "XINFO");
			return;
		}
		resp_reply_bulk_str(c, "groups");
		resp_reply_int(c, (long long)si.groups);
		resp_reply_bulk_str(c, "first-entry");
		if (reply_edge(c, s, 0) != MQ_OK)
			resp_reply_null(c);
		resp_reply_bulk_str(c, "last-entry");
		if (reply_edge(c, s, 1) != MQ_OK)
			resp_reply_null(c);
		return;
	}
	/* Everything that can fail, before the reply begins. */
	if ((rc = glist_load(c, s, &gl)) != MQ_OK) {
		resp_reply_mq_error(c, rc, "XINFO");
		return;
	}
	if ((rc = xinfo_stream_head(c, s, &si, 1)) != MQ_OK) {
		glist_free(&gl);
		resp_reply_mq_error(c, rc, "XINFO");
		return;
	}
	resp_reply_bulk_str(c, "entries");
	if (resp_xreply_range(c, s, zero, MQ_ID_LAST, (size_t)count,
	    0) != MQ_OK)
		resp_reply_array(c, 0);
	resp_reply_bulk_str(c, "groups");
	resp_reply_array(c, gl.n);
	for (i = 0; i < gl.n; i++)
		if (xinfo_full_group(c, &gl.v[i], count) != MQ_OK) {
			/* The array is begun: an empty group stands in. */
			resp_reply_map(c, 0);
		}
	glist_free(&gl);
}

void
resp_cmd_xinfo(struct resp_client *c, size_t argc, const struct resp_arg *argv)
{
	mq_stream *s;
	int sub, rc;

	if ((sub = subcommand(c, argc, argv, "xinfo", xinfo_subs,
	    sizeof(xinfo_subs) / sizeof(xinfo_subs[0]))) == -1)
		return;
	if (sub == XI_HELP) {
		reply_help(c, "XINFO", xinfo_help);
		return;
	}
	if ((rc = resp_xstream(c, &argv[2], &s)) <= 0) {
		if (rc == 0)
			resp_reply_error(c, "ERR no such key");
		return;
	}
	switch (sub) {
	case XI_CONSUMERS:
		xinfo_consumers(c, argv, s);
		break;
	case XI_GROUPS:
		xinfo_groups(c, s);
		break;
	case XI_STREAM:
		xinfo_stream(c, argc, argv, s);
		break;
	}
}
