/* Replays fuzz inputs without libFuzzer: each file named on the command
 * line, or each file in a directory named there, goes once through
 * LLVMFuzzerTestOneInput. `make check` runs the corpus this way, so every
 * input kept there (seeds and past findings) is a regression test built by
 * the ordinary compiler, with or without sanitizers. */
#include "config.h"

#include <dirent.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int replayed;
static const char *current;

/* libFuzzer's -timeout, for the replay: an input that hangs fails. */
static void on_alarm(int sig)
{
	fprintf(stderr, "fuzz_replay: %s hangs\n", current);
	abort();
}

static int replay_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	static uint8_t buf[1 << 20];
	size_t n;

	if (!f) {
		perror(path);
		return -1;
	}
	n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	current = path;
	alarm(60);
	LLVMFuzzerTestOneInput(buf, n);
	alarm(0);
	replayed++;
	return 0;
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

static int replay(const char *path)
{
	struct dirent **list;
	struct stat st;
	char sub[4096];
	int i, n, err = 0;

	if (stat(path, &st) < 0) {
		perror(path);
		return -1;
	}
	if (!S_ISDIR(st.st_mode))
		return replay_file(path);
	n = scandir(path, &list, NULL, by_name);
	if (n < 0) {
		perror(path);
		return -1;
	}
	for (i = 0; i < n; i++) {
		if (list[i]->d_name[0] != '.') {
			snprintf(sub, sizeof(sub), "%s/%s", path,
				 list[i]->d_name);
			if (replay(sub) < 0)
				err = -1;
		}
		free(list[i]);
	}
	free(list);
	return err;
}

int main(int argc, char **argv)
{
	int i, err = 0;

	LLVMFuzzerInitialize(&argc, &argv);
	signal(SIGALRM, on_alarm);
	for (i = 1; i < argc; i++)
		if (replay(argv[i]) < 0)
			err = 1;
	/* An input that breaks a rule aborts the program before this. */
	printf("fuzz_replay: %d inputs replayed clean\n", replayed);
	return err || replayed == 0;
}
