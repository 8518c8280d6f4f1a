/*
 * opterr.h - getopt_long(3)'s errors in words, for programs that print
 * their own (the tools, through tool_getopt(), and mq-serve): glibc's
 * messages start with argv[0], the path the program was run by, and
 * are worded differently for short and long options.
 */
#ifndef MQ_OPTERR_H
#define MQ_OPTERR_H

#include <getopt.h>
#include <stddef.h>

/*
 * Writes into 'buf' (of 'size' bytes) why getopt_long() just returned
 * 'ch' for 'argv' and 'longopts', when it was called with opterr 0 and
 * ':' first in its option string, so that 'ch' is ':' for a missing
 * value and '?' for the rest: "unknown option -z", "unknown option
 * --foo", "option --max is ambiguous", "option -c needs a value",
 * "option --help takes no value".
 */
void	 opterr_why(char *buf, size_t size, int ch, char *const argv[],
	    const struct option *longopts);

#endif /* MQ_OPTERR_H */
