/*
 * turn.h - what every door calls once per frame before it runs a
 * command (turn.c): the rules of the core that no door may forget.
 */
#ifndef MQ_SERVE_TURN_H
#define MQ_SERVE_TURN_H

#include "server.h"

enum cmd_kind {
	/*
	 * It joined the run of appends (appendq_add, appendq_add_logged):
	 * nothing else runs first, its reply waits for the flush.
	 */
	TURN_QUEUED,
	/*
	 * A group command that may keep the groups it opens held through a
	 * run of such commands (one lock and one write for the run).
	 */
	TURN_HOLDS,
	/* Anything else. */
	TURN_PLAIN
};

/*
 * Begins a command of 'c' of this kind: counts it (INFO, and the cache,
 * which keeps what a command was handed until the next begins); unless
 * it was queued, lets the run of appends finish first, so that it sees
 * them and its client's replies keep their order; and keeps held groups
 * held for a TURN_HOLDS, or writes and lets them go for any other (which
 * may lock a group another way).  Returns 0, or -1 if that closed or
 * aborted 'c' (a write of what was held failed): then its state is gone
 * or going, and the command must not run.
 */
int	 cmd_begin(struct conn *c, enum cmd_kind kind);

#endif /* MQ_SERVE_TURN_H */
