/*
 * test_topic.c - AMQP topic matching: a table of cases, a check against a
 * plain recursive matcher on generated inputs, and patterns that would
 * take exponential time in a naive matcher.
 */
#include "helpers.h"

#include "mq.h"

static const struct {
	const char	*pattern;
	const char	*key;
	int		 match;
} cases[] = {
	/* Plain words. */
	{ "a", "a", 1 },
	{ "a", "b", 0 },
	{ "a.b", "a.b", 1 },
	{ "a.b", "a.c", 0 },
	{ "a.b", "a", 0 },
	{ "a", "a.b", 0 },
	{ "ab", "a", 0 },
	{ "a", "ab", 0 },
	{ "stock.usd.nyse", "stock.usd.nyse", 1 },
	/* '*': exactly one word. */
	{ "*", "a", 1 },
	{ "*", "a.b", 0 },
	{ "*", "", 0 },
	{ "*.b", "a.b", 1 },
	{ "a.*", "a.b", 1 },
	{ "a.*", "a", 0 },
	{ "a.*", "a.b.c", 0 },
	{ "*.*", "a.b", 1 },
	{ "*.*", "a", 0 },
	{ "a.*.c", "a.b.c", 1 },
	{ "a.*.c", "a.c", 0 },
	{ "*.orange.*", "quick.orange.rabbit", 1 },
	{ "*.orange.*", "quick.orange.male.rabbit", 0 },
	{ "*.*.rabbit", "lazy.orange.elephant", 0 },
	/* '#': zero or more words. */
	{ "#", "", 1 },
	{ "#", "a", 1 },
	{ "#", "a.b.c", 1 },
	{ "#", "..", 1 },
	{ "a.#", "a", 1 },
	{ "a.#", "a.b", 1 },
	{ "a.#", "a.b.c", 1 },
	{ "a.#", "b.a", 0 },
	{ "a.#", "", 0 },
	{ "#.b", "b", 1 },
	{ "#.b", "a.b", 1 },
	{ "#.b", "a.c.b", 1 },
	{ "#.b", "b.c", 0 },
	{ "a.#.b", "a.b", 1 },
	{ "a.#.b", "a.x.y.b", 1 },
	{ "a.#.b", "a.x.y.c", 0 },
	{ "#.#", "", 1 },
	{ "#.#", "a.b", 1 },
	{ "lazy.#", "lazy.orange.male.rabbit", 1 },
	{ "lazy.#", "quick.orange.male.rabbit", 0 },
	{ "#.*", "", 0 },
	{ "#.*", "a", 1 },
	{ "#.*", "a.b", 1 },
	{ "*.#", "a", 1 },
	{ "*.#", "", 0 },
	{ "#.*.*", "a", 0 },
	{ "#.*.*", "a.b", 1 },
	{ "#.a.#", "a", 1 },
	{ "#.a.#", "x.a.y", 1 },
	{ "#.a.#", "x.b.y", 0 },
	{ "#.a.b", "a.a.b", 1 },
	{ "#.a.b", "a.b.a.b", 1 },
	{ "#.a.b", "a.b.a", 0 },
	/* Empty words are words. */
	{ "", "", 1 },
	{ "", "a", 0 },
	{ "a", "", 0 },
	{ "a..b", "a..b", 1 },
	{ "a.*.b", "a..b", 1 },
	{ "a.b", "a..b", 0 },
	{ "a.#.b", "a..b", 1 },
	{ "*", ".", 0 },
	{ "*.*", ".", 1 },
	{ "a.*", "a.", 1 },
	{ "a.", "a.", 1 },
	{ "a.", "a", 0 },
	{ ".a", ".a", 1 },
	{ "*.a", ".a", 1 },
	/* '*' and '#' inside a word are plain characters. */
	{ "a*", "a*", 1 },
	{ "a*", "ab", 0 },
	{ "a#", "ab", 0 },
	{ "#a", "#a", 1 },
	{ "a.*", "a.*", 1 },
	{ "a.b", "a.*", 0 },
};

static void
test_table(void **state)
{
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (mq_topic_match(cases[i].pattern, cases[i].key) !=
		    cases[i].match)
			fail_msg("pattern \"%s\" key \"%s\": want %d",
			    cases[i].pattern, cases[i].key, cases[i].match);
}

/*
 * The definition as a recursion over word lists (exponential in the worst
 * case; fine for the short inputs below).  'p' and 'k' hold 'np' and 'nk'
 * words of one letter each.
 */
static int
ref_match(const char *p, size_t np, const char *k, size_t nk)
{
	size_t i;

	if (np == 0)
		return nk == 0;
	if (p[0] == '#') {
		for (i = 0; i <= nk; i++)
			if (ref_match(p + 1, np - 1, k + i, nk - i))
				return 1;
		return 0;
	}
	if (nk == 0)
		return 0;
	if (p[0] == '*' || p[0] == k[0])
		return ref_match(p + 1, np - 1, k + 1, nk - 1);
	return 0;
}

/* Joins the one-letter words of 's' with dots into 'out'. */
static void
dotted(const char *s, size_t n, char *out)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (i > 0)
			*out++ = '.';
		*out++ = s[i];
	}
	*out = '\0';
}

/* Every pattern of up to 5 words over {a, b, *, #} against keys over {a, b}. */
static void
test_against_reference(void **state)
{
	static const char pw[] = "ab*#", kw[] = "ab";
	char p[6], k[6], ps[16], ks[16];
	size_t np, nk, i, pc, kc, pmax, kmax;

	for (np = 0; np <= 5; np++) {
		for (pmax = 1, i = 0; i < np; i++)
			pmax *= 4;
		for (pc = 0; pc < pmax; pc++) {
			for (i = 0, kc = pc; i < np; i++, kc /= 4)
				p[i] = pw[kc % 4];
			dotted(p, np, ps);
			for (nk = 0; nk <= 5; nk++) {
				for (kmax = 1, i = 0; i < nk; i++)
					kmax *= 2;
				for (kc = 0; kc < kmax; kc++) {
					for (i = 0; i < nk; i++)
						k[i] = kw[(kc >> i) & 1];
					dotted(k, nk, ks);
					if (mq_topic_match(ps, ks) !=
					    ref_match(p, np, k, nk))
						fail_msg("pattern \"%s\" key "
						    "\"%s\"", ps, ks);
				}
			}
		}
	}
}

/*
 * Many '#' and a last word that never matches: a naive backtracking
 * matcher tries every way to share the key among the '#'s.  This test
 * finishes at once when matching is polynomial.
 */
static void
test_no_blowup(void **state)
{
	char pattern[4096], key[8192];
	size_t i, n;

	for (n = 0, i = 0; i < 100; i++)
		n += snprintf(pattern + n, sizeof(pattern) - n, "#.");
	snprintf(pattern + n, sizeof(pattern) - n, "x");
	for (n = 0, i = 0; i < 2000; i++)
		n += snprintf(key + n, sizeof(key) - n, "%sa", i ? "." : "");
	assert_int_equal(mq_topic_match(pattern, key), 0);
	assert_int_equal(mq_topic_match("#.#.#.#.#.#.x",
	    "a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.y"),
	    0);
	memcpy(key + n - 1, "x", 2);
	assert_int_equal(mq_topic_match(pattern, key), 1);

	/* Alternating '#' and '*' as well. */
	for (n = 0, i = 0; i < 100; i++)
		n += snprintf(pattern + n, sizeof(pattern) - n, "#.*.");
	snprintf(pattern + n, sizeof(pattern) - n, "x");
	key[strlen(key) - 1] = 'y';
	assert_int_equal(mq_topic_match(pattern, key), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_against_reference),
		cmocka_unit_test(test_no_blowup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
