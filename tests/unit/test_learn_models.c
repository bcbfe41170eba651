/*
 * test_learn_models.c - node models learned at the gateway (SPEC 11) have
 * a name bound of their own in models.c: with the operator's 64 names
 * taken, learn-* names are still stored, and they never make room for a
 * 65th operator name; a restart rescans both classes.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "config.h"
#include "daemon.h"
#include "models.h"
#include "testutil.h"

static char		 tmpdir[] = "/tmp/te-learnmodels.XXXXXX";
static struct config	*cf;
static int		 ncb, nok;
static char		 lastcause[256];

/* The put callback: count, keep the cause. */
static void
put_cb(int ok, const struct models_info *info, const char *cause, void *arg)
{
	(void)info;
	(void)arg;
	ncb++;
	nok += ok;
	snprintf(lastcause, sizeof lastcause, "%s", ok ? "" : cause);
}

/* Start models on a fresh loop with data_dir under tmpdir. */
static void
start(void)
{
	char	 path[300], *cause = NULL;
	FILE	*f;

	if (cf == NULL) {
		snprintf(path, sizeof path, "%s/c.ini", tmpdir);
		f = fopen(path, "w");
		ck_assert_ptr_nonnull(f);
		fprintf(f, "[gateway]\nid = gw\ndata_dir = %s\n", tmpdir);
		fclose(f);
		if (config_load(path, &cf, &cause) != 0)
			ck_abort_msg("config: %s", cause);
	}
	ck_assert_int_eq(uv_loop_init(daemon_loop()), 0);
	if (models_start(cf, &cause) != 0)
		ck_abort_msg("models_start: %s", cause);
}

/* Stop and close the loop. */
static void
stop(void)
{
	models_stop();
	uv_run(daemon_loop(), UV_RUN_DEFAULT);
	ck_assert_int_eq(uv_loop_close(daemon_loop()), 0);
}

/* Put one byte as name@v and wait (bounded); 1 if stored. */
static int
put(const char *name)
{
	char	*cause = NULL;
	int	 before = nok, want = ncb + 1, i;

	if (models_put(name, "v", "x", 1, put_cb, NULL, &cause) != 0) {
		snprintf(lastcause, sizeof lastcause, "%s", cause);
		free(cause);
		return (0);
	}
	for (i = 0; i < 1000 && ncb < want; i++)
		uv_run(daemon_loop(), UV_RUN_ONCE);
	ck_assert_int_eq(ncb, want);
	return (nok > before);
}

/* The two classes of names and their bounds. */
START_TEST(test_classes)
{
	char	name[MODELS_NAME_MAX + 1];
	int	i;

	start();
	for (i = 0; i < 64; i++) {
		snprintf(name, sizeof name, "op%d", i);
		ck_assert_msg(put(name), "%s: %s", name, lastcause);
	}
	ck_assert(!put("op64"));
	ck_assert_str_eq(lastcause, "too many model names (64)");
	for (i = 0; i < 100; i++) {
		snprintf(name, sizeof name, "learn-vib-node%d", i);
		ck_assert_msg(put(name), "%s: %s", name, lastcause);
	}
	/* Learned names never give the operator's class more room. */
	ck_assert(!put("op64"));
	ck_assert_str_eq(lastcause, "too many model names (64)");
	stop();
	start();
	ck_assert_int_eq(models_find("op63", NULL, NULL), 0);
	ck_assert_int_eq(models_find("learn-vib-node99", NULL, NULL), 0);
	ck_assert(!put("op64"));
	ck_assert(put("learn-vib-node100"));
	stop();
	config_free(cf);
	cf = NULL;
}
END_TEST

/* Run the test. */
int
main(void)
{
	struct testutil_case	 cases[] = {
		{ test_classes, 0 },
	};

	return (testutil_run_in(tmpdir, "learn_models", 60, cases,
	    sizeof cases / sizeof cases[0]));
}
