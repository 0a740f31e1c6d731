/* A minimal assert-and-count helper for the unit tests. Each CHECK that
 * fails prints its line; main returns non-zero if any failed. */
#ifndef VN_CHECK_H
#define VN_CHECK_H

#include <stdio.h>

static int check_run, check_failed;

#define CHECK(cond)                                                        \
	do {                                                               \
		check_run++;                                               \
		if (!(cond)) {                                             \
			check_failed++;                                    \
			fprintf(stderr, "%s:%d: CHECK(%s) failed\n",       \
				__FILE__, __LINE__, #cond);                \
		}                                                          \
	} while (0)

/* Print the tally in the form the test harness reads and return the
 * exit status. */
static inline int check_done(const char *name)
{
	printf("%s: %d passed, %d failed\n", name, check_run - check_failed,
	       check_failed);
	return check_failed ? 1 : 0;
}

#endif
