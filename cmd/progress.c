/*
 * progress.c - the progress of a long run, on a terminal.
 *
 * With -v, a writing tool whose standard error is a terminal shows one
 * line, "mq-xadd: orders: 1200000 appended, 2400000/s", rewritten in place
 * with a carriage return, and erased at the end, where the tool prints
 * its summary as it does anywhere else.  Only when nothing else writes to
 * that terminal: standard input and the ids on standard output (unless
 * -q) go elsewhere.  Into a pipe or a file nothing of this is written.
 *
 * Cost: the tool calls tool_progress() once per batch, which reads the
 * clock (the vDSO, no system call) and writes at most every
 * TOOL_PROGRESS_MS; nothing is done per message.
 *
 * An error exits through err(3) while the line is shown; its message
 * would land after the line's text, so while the line is on screen the
 * name that err(3) prints first (program_invocation_short_name) begins
 * with a carriage return and an erase to the end of the line.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tool.h"

#define TOOL_PROGRESS_MS	250	/* between two writes of the line */
#define ERASE			"\r\033[K"	/* to the start, erase the line */

static int64_t
progress_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void
tool_progress_start(struct tool_progress *p, const char *what,
    const char *verb)
{
	memset(p, 0, sizeof(*p));
	p->what = what;
	p->verb = verb;
	p->on = topt.verbose && isatty(STDERR_FILENO) &&
	    !isatty(STDIN_FILENO) && (topt.quiet || !isatty(STDOUT_FILENO));
	if (p->on)
		p->start_ms = progress_now_ms();
}

void
tool_progress(struct tool_progress *p, uint64_t done)
{
	char line[512];
	int64_t now, ms;
	int n;

	if (!p->on)
		return;
	now = progress_now_ms();
	if (p->shown && now - p->shown_ms < TOOL_PROGRESS_MS)
		return;
	if (!p->shown) {
		snprintf(p->name, sizeof(p->name), ERASE "%s",
		    program_invocation_short_name);
		p->saved_name = program_invocation_short_name;
		program_invocation_short_name = p->name;
	}
	ms = now - p->start_ms;
	n = snprintf(line, sizeof(line), ERASE "%s: %s: %llu %s",
	    p->saved_name, p->what, (unsigned long long)done, p->verb);
	if (ms > 0 && n > 0 && (size_t)n < sizeof(line))
		snprintf(line + n, sizeof(line) - n, ", %llu/s",
		    (unsigned long long)(done * 1000 / (uint64_t)ms));
	fputs(line, stderr);
	p->shown = 1;
	p->shown_ms = now;
}

void
tool_progress_end(struct tool_progress *p)
{
	if (!p->shown)
		return;
	fputs(ERASE, stderr);
	program_invocation_short_name = p->saved_name;
	p->shown = 0;
}
