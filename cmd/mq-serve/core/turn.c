/*
 * turn.c - a command's turn, the same for every door.
 *
 * Model: the core batches what clients ask across commands: a run of
 * appends becomes one write per stream or one write of the log
 * (appendq.c), a run of group commands keeps the groups it opens locked
 * and writes each once (mq_group_hold, core/cache.c), and under
 * --fsync always the turn's replies wait for one sync (syncer.c).  Each
 * batch is sound only if every command outside it ends it first; a door
 * says what its command is with cmd_begin() and the core keeps the rule.
 */
#include "turn.h"

int
cmd_begin(struct conn *c, enum cmd_kind kind)
{
	struct server *s = c->server;

	s->total_commands++;
	s->command_seq++;
	if (kind == TURN_QUEUED)
		return 0;
	appendq_flush(s);
	if (kind == TURN_HOLDS) {
		s->hold_groups = 1;
		c->group_turn = s->turn;
	} else {
		server_release_groups(s);
		s->hold_groups = 0;
	}
	/* A failed write of what was held ends who changed it: maybe 'c'. */
	return c->dead || c->closing == 2 ? -1 : 0;
}
