/*
 * testutil.c - helpers every unit test program shares.
 *
 * The test programs print TAP (Check with CK_TAP_LOG_FILE_NAME=-, read by
 * automake's tap-driver, which ignores exit statuses).  Check has no skip
 * of its own, so a program whose every test needs the shared TinyML models
 * skips as a whole before Check runs: "1..0 # SKIP reason", which the
 * driver counts as SKIP, and exit status 77, which says the same to anyone
 * running the program by hand.  With TE_REQUIRE_MODELS=1 (scripts/test
 * sets it when it has the models, so CI does) the missing models are a
 * failing test point instead: the suite cannot pass with them skipped.
 * Tests that need no model live in programs of their own and always run.
 */
#include <sys/stat.h>

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

/* Read a whole file, NUL-terminated; NULL if it cannot be read. */
unsigned char *
testutil_slurp(const char *path, size_t *len)
{
	FILE		*f;
	unsigned char	*b;
	long		 n;

	if ((f = fopen(path, "rb")) == NULL)
		return (NULL);
	if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 ||
	    fseek(f, 0, SEEK_SET) != 0) {
		fclose(f);
		return (NULL);
	}
	if ((b = malloc((size_t)n + 1)) == NULL ||
	    fread(b, 1, (size_t)n, f) != (size_t)n) {
		free(b);
		fclose(f);
		return (NULL);
	}
	fclose(f);
	b[n] = '\0';
	*len = (size_t)n;
	return (b);
}

/*
 * The shared models directory ($TE_MODELS, else the tree's neighbour
 * ../shared/models) if it holds probe; otherwise the program ends here,
 * skipped, or failed under TE_REQUIRE_MODELS=1.
 */
const char *
testutil_models(const char *probe)
{
	static char	 dir[1024];
	char		 path[1400];
	const char	*e = getenv("TE_MODELS"), *src = getenv("TE_SRCDIR");
	const char	*req = getenv("TE_REQUIRE_MODELS");
	struct stat	 sb;

	if (e != NULL && *e != '\0')
		snprintf(dir, sizeof dir, "%s", e);
	else if (src != NULL && *src != '\0')
		snprintf(dir, sizeof dir, "%s/../shared/models", src);
	else
		snprintf(dir, sizeof dir, "../shared/models");
	snprintf(path, sizeof path, "%s/%s", dir, probe);
	if (stat(path, &sb) == 0)
		return (dir);
	if (req != NULL && strcmp(req, "1") == 0) {
		printf("1..1\nnot ok 1 - models: %s not found, and "
		    "TE_REQUIRE_MODELS=1 makes that a failure\n", path);
		exit(EXIT_FAILURE);
	}
	printf("1..0 # SKIP %s not found (set TE_MODELS)\n", path);
	exit(77);
}

/*
 * Run a suite of one test case, "core", with the given tests in order
 * (timeout in seconds, 0: Check's default); the exit status for main()
 * tells whether all passed.
 */
int
testutil_run(const char *name, int timeout, const struct testutil_case *cases,
    size_t n)
{
	Suite	*s = suite_create(name);
	TCase	*tc = tcase_create("core");
	SRunner	*sr;
	size_t	 i;
	int	 failed;

	for (i = 0; i < n; i++) {
		if (cases[i].loops > 0)
			tcase_add_loop_test(tc, cases[i].test, 0,
			    cases[i].loops);
		else
			tcase_add_test(tc, cases[i].test);
	}
	if (timeout > 0)
		tcase_set_timeout(tc, timeout);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return (failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE);
}

/*
 * testutil_run() with a temp directory: tmpdir (a mkdtemp() template,
 * filled in) is made first, so every test, forked by Check, sees it, and
 * removed with everything in it after.
 */
int
testutil_run_in(char *tmpdir, const char *name, int timeout,
    const struct testutil_case *cases, size_t n)
{
	char	 cmd[300];
	int	 rc;

	if (mkdtemp(tmpdir) == NULL) {
		perror(tmpdir);
		return (EXIT_FAILURE);
	}
	rc = testutil_run(name, timeout, cases, n);
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		return (EXIT_FAILURE);
	return (rc);
}

/*
 * Decode hex ("" gives an empty buffer) into a new buffer, for the caller
 * to free; its length in *len.  Bad hex fails the test.
 */
unsigned char *
testutil_unhex(const char *hex, size_t *len)
{
	unsigned char	*b;
	size_t		 i;
	unsigned	 v;

	*len = strlen(hex) / 2;
	b = malloc(*len + 1);
	ck_assert_ptr_nonnull(b);
	for (i = 0; i < *len; i++) {
		ck_assert(sscanf(hex + 2 * i, "%2x", &v) == 1);
		b[i] = (unsigned char)v;
	}
	return (b);
}
