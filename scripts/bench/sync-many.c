/*
 * sync-many.c - what making N files durable costs: one fdatasync(2) per
 * file against one syncfs(2) for the filesystem.
 *
 *   cc -O2 -o sync-many scripts/bench/sync-many.c
 *   ./sync-many DIR FILES ROUNDS
 *
 * Each round appends 1 KiB to each of FILES files in DIR, then makes
 * them durable both ways in turn (fdatasync of each, then syncfs), and
 * prints the mean wall time per round of each, and of the appends.
 * The figures chose the spool's sync (docs/spool-scaling.md).
 */
#define _GNU_SOURCE
#include <err.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void
append_all(const int *fds, int n)
{
	char buf[1024];
	int i;

	memset(buf, 'x', sizeof(buf));
	for (i = 0; i < n; i++)
		if (write(fds[i], buf, sizeof(buf)) != (ssize_t)sizeof(buf))
			err(1, "write");
}

int
main(int argc, char **argv)
{
	double t0, wr = 0, each = 0, fs = 0;
	char name[64];
	int *fds, dirfd, n, rounds, r, i;

	if (argc != 4)
		errx(2, "usage: sync-many DIR FILES ROUNDS");
	n = atoi(argv[2]);
	rounds = atoi(argv[3]);
	if ((dirfd = open(argv[1], O_RDONLY | O_DIRECTORY)) == -1)
		err(1, "%s", argv[1]);
	if ((fds = calloc((size_t)n, sizeof(*fds))) == NULL)
		err(1, NULL);
	for (i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "f%d", i);
		fds[i] = openat(dirfd, name, O_WRONLY | O_CREAT | O_APPEND, 0644);
		if (fds[i] == -1)
			err(1, "%s", name);
	}
	syncfs(dirfd);
	for (r = 0; r < rounds; r++) {
		t0 = now_ms();
		append_all(fds, n);
		wr += now_ms() - t0;
		t0 = now_ms();
		for (i = 0; i < n; i++)
			if (fdatasync(fds[i]) == -1)
				err(1, "fdatasync");
		each += now_ms() - t0;
		append_all(fds, n);
		t0 = now_ms();
		if (syncfs(dirfd) == -1)
			err(1, "syncfs");
		fs += now_ms() - t0;
	}
	printf("files %d: append %.3f ms, fdatasync each %.3f ms, syncfs %.3f ms\n",
	    n, wr / rounds, each / rounds, fs / rounds);
	return 0;
}
