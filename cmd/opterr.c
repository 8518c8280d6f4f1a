/*
 * opterr.c - getopt_long(3)'s errors in words.
 *
 * getopt_long() with opterr 0 and a leading ':' says little: ':' for a
 * missing value and '?' for anything else, with the option's letter or
 * value in optopt (0 for a long option it did not recognise) and optind
 * past the argument that held a long option.  A missing value can only
 * be the last argument; a long option is written "--name" or
 * "--name=value", and a value given to one that takes none is the
 * "=value" form.  So the argument before optind tells a long option from
 * a short one.
 */
#include <stdio.h>
#include <string.h>

#include "opterr.h"

/*
 * How many of 'longopts' the "--name[=value]" argument 'arg' names: 1
 * for an exact name (its entry in '*found'), else the number it is a
 * prefix of (the one entry in '*found' if just one).
 */
static int
opterr_match(const struct option *longopts, const char *arg,
    const struct option **found)
{
	const struct option *o;
	size_t len = strcspn(arg + 2, "=");
	int n = 0;

	*found = NULL;
	for (o = longopts; o->name != NULL; o++) {
		if (strncmp(o->name, arg + 2, len) != 0)
			continue;
		if (o->name[len] == '\0') {
			*found = o;
			return 1;
		}
		*found = o;
		n++;
	}
	if (n != 1)
		*found = NULL;
	return n;
}

void
opterr_why(char *buf, size_t size, int ch, char *const argv[],
    const struct option *longopts)
{
	const struct option *o = NULL;
	const char *arg = optind > 0 ? argv[optind - 1] : "";
	char name[128];
	int n = 0;

	/* A long option by the name it matched ("--max-m": --max-msg). */
	if (strncmp(arg, "--", 2) == 0 && arg[2] != '\0') {
		n = opterr_match(longopts, arg, &o);
		if (o != NULL)
			snprintf(name, sizeof(name), "--%s", o->name);
		else
			snprintf(name, sizeof(name), "%.*s",
			    (int)strcspn(arg, "="), arg);
	} else
		snprintf(name, sizeof(name), "-%c", optopt);
	if (ch == ':')
		snprintf(buf, size, "option %s needs a value", name);
	else if (optopt == 0)
		snprintf(buf, size, n > 1 ? "option %s is ambiguous" :
		    "unknown option %s", name);
	else if (o != NULL && o->val == optopt && strchr(arg, '=') != NULL)
		snprintf(buf, size, "option %s takes no value", name);
	else
		snprintf(buf, size, "unknown option -%c", optopt);
}
