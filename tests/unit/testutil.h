/*
 * testutil.h - what every unit test program shares: a whole file read into
 * memory, the shared TinyML models found or the program skipped honestly,
 * and a Check suite of one test case run to an exit status (in a temp
 * directory made first and removed after, if the tests want one).  One copy, so
 * the programs cannot drift apart in how they read files, skip or report.
 */
#ifndef TESTUTIL_H
#define TESTUTIL_H

#include <check.h>
#include <stddef.h>

/* One entry of a suite: a test, run loops times (_i = 0..) if loops > 0. */
struct testutil_case {
	const TTest	*test;
	int		 loops;
};

unsigned char	*testutil_slurp(const char *, size_t *);
unsigned char	*testutil_unhex(const char *, size_t *);
const char	*testutil_models(const char *);
int		 testutil_run(const char *, int, const struct testutil_case *,
		    size_t);
int		 testutil_run_in(char *, const char *, int,
		    const struct testutil_case *, size_t);

#endif
