/*
 * fuzz_resp_parse.c - libFuzzer target for the Redis request parser.
 *
 * The input is a client's byte stream, parsed request after request with
 * the real default limits, once as an authenticated client and once
 * before AUTH; then once more with tiny limits, so that short inputs
 * reach the "too big" paths too.  Whatever the bytes: a request uses no more than it was
 * given, its arguments lie inside the bytes it used, an error comes with
 * a message, and the answer does not depend on how the bytes were cut:
 * every shorter prefix of a request needs more, and the request alone
 * parses to the same arguments.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "resp/parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* An argument as an offset into the request, to compare two parses. */
struct span {
	size_t	 off, len;
};

static void
check(int cond)
{
	if (!cond)
		abort();
}

/*
 * Parses the stream 'in' ('size' bytes) request after request in 'buf',
 * a copy that the parser may decode in place.
 */
static void
run(struct resp_parser *p, const uint8_t *in, char *buf, size_t size)
{
	struct span *first = NULL;
	size_t off = 0, argc, argc2, i, k, rem;
	ssize_t n;

	memcpy(buf, in, size);
	while (off < size) {
		rem = size - off;
		n = resp_parse(p, buf + off, rem, &argc);
		if (n < 0) {
			check(n == -1 && p->error != NULL);
			break;
		}
		if (n == 0) {
			check(argc == 0);
			break;
		}
		check((size_t)n <= rem);
		check(argc == 0 || argc <= p->cap);
		free(first);
		first = calloc(argc + 1, sizeof(*first));
		check(first != NULL);
		for (i = 0; i < argc; i++) {
			const struct resp_arg *a = &p->args[i];

			check(a->p >= buf + off && a->p <= buf + off + n);
			check(a->len <= (size_t)(buf + off + n - a->p));
			first[i].off = (size_t)(a->p - (buf + off));
			first[i].len = a->len;
		}

		/*
		 * The same request, as it came (an inline one was decoded in
		 * place): shorter prefixes need more, and alone it parses the
		 * same.  Prefixes cost a pass each: try some only.
		 */
		memcpy(buf + off, in + off, (size_t)n);
		for (k = 0; k < (size_t)n; k += n <= 64 ? 1 : (size_t)n / 16 + 1)
			check(resp_parse(p, buf + off, k, &argc2) == 0);
		check(resp_parse(p, buf + off, (size_t)n - 1, &argc2) == 0);
		check(resp_parse(p, buf + off, (size_t)n, &argc2) == n);
		check(argc2 == argc);
		for (i = 0; i < argc; i++)
			check(p->args[i].p == buf + off + first[i].off &&
			    p->args[i].len == first[i].len);
		off += (size_t)n;
	}
	free(first);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct resp_parser p;
	char *buf;

	/* Exactly 'size' bytes, so that ASan sees a read past the end. */
	if ((buf = malloc(size > 0 ? size : 1)) == NULL)
		return 0;
	resp_parser_init(&p);
	p.authenticated = 1;
	run(&p, data, buf, size);
	p.authenticated = 0;
	run(&p, data, buf, size);
	p.max_args = 4;
	p.max_bulk = 32;
	p.max_inline = 16;
	run(&p, data, buf, size);
	resp_parser_free(&p);
	free(buf);
	return 0;
}
