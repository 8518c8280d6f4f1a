/*
 * topic.c - AMQP topic-exchange matching of routing keys.
 *
 * Model: a routing key and a binding pattern are lists of words split on
 * '.'.  As in AMQP 0-9-1, "" is the empty list, and otherwise every '.'
 * separates two words, empty ones included ("a..b" is three words, "a."
 * two).  A pattern word "*" matches exactly one key word, "#" zero or
 * more, any other word only itself.
 *
 * Matching is the classic wildcard walk with one backtrack point: on a
 * mismatch, the last '#' seen takes one more key word and matching
 * resumes after it.  Only the last '#' needs remembering, since what it
 * may absorb includes all an earlier one could, so the walk takes at
 * most (pattern words x key words) steps, never exponential time.
 */
#include "mq.h"

/*
 * A position in a word list is a pointer to the start of a word, or NULL
 * past the last word.
 */

/* The first word of 's': NULL for the empty list. */
static const char *
first_word(const char *s)
{
	return *s == '\0' ? NULL : s;
}

/*
 * The word after the one at 'w', or NULL if 'w' is the last.  Words are
 * short: a loop over their bytes costs less than a call of strchr(3) or
 * strcspn(3), which routes make a hundred times per publish.
 */
static const char *
next_word(const char *w)
{
	while (*w != '.' && *w != '\0')
		w++;
	return *w == '.' ? w + 1 : NULL;
}

/* Whether the word at 'w' is exactly the one-byte word 'c'. */
static int
word_is(const char *w, char c)
{
	return w[0] == c && (w[1] == '.' || w[1] == '\0');
}

/* Whether the words at 'a' and 'b' are equal. */
static int
word_eq(const char *a, const char *b)
{
	while (*a == *b && *a != '.' && *a != '\0') {
		a++;
		b++;
	}
	return (*a == '.' || *a == '\0') && (*b == '.' || *b == '\0');
}

/* Returns 1 if routing key 'key' matches binding pattern 'pattern', else 0. */
int
mq_topic_match(const char *pattern, const char *key)
{
	const char *p, *k, *star_p = NULL, *star_k = NULL;
	int star = 0;

	p = first_word(pattern);
	k = first_word(key);
	while (k != NULL) {
		if (p != NULL && word_is(p, '#')) {
			/* Let '#' match nothing first; remember where. */
			star = 1;
			star_p = p = next_word(p);
			star_k = k;
		} else if (p != NULL && (word_is(p, '*') || word_eq(p, k))) {
			p = next_word(p);
			k = next_word(k);
		} else if (star) {
			/* Let the last '#' take one more word. */
			star_k = next_word(star_k);
			k = star_k;
			p = star_p;
		} else
			return 0;
	}
	/* The key is used up: only '#' words may be left. */
	while (p != NULL && word_is(p, '#'))
		p = next_word(p);
	return p == NULL;
}
