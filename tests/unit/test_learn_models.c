/*
 * test_learn_models.c - node models learned at the gateway (SPEC 11) have
 * a name bound of their own in models.c: with the operator's 64 names
 * taken, learn-* names are still stored, and they never make room for a
 * 65th operator name; a restart rescans both classes.  models_delete()
 * (a learned node started over) takes every version of a name out at
 * once and its files in the pool, also a put still in flight.
 */
#include <sys/stat.h>

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "config.h"
#include "daemon.h"
#include "models.h"
#include "xmalloc.h"
#include "testutil.h"

static char		 tmpdir[] = "/tmp/te-learnmodels.XXXXXX";
static struct config	*cf;
static int		 ncb, nok, want_fail;
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

/* Run the loop until the pool's jobs are done (bounded). */
static void
drain(void)
{
	int	i;

	for (i = 0; i < 1000 && uv_run(daemon_loop(), UV_RUN_NOWAIT) != 0; i++)
		usleep(1000);
}

/* Does data_dir/models/name/version exist? */
static int
stored(const char *name, const char *version)
{
	struct stat	 sb;
	char		*p;
	int		 rc;

	xasprintf(&p, "%s/models/%s/%s", tmpdir, name, version);
	rc = stat(p, &sb) == 0;
	free(p);
	return (rc);
}

/* models_delete: every version goes, at once from the index, and stays gone. */
START_TEST(test_delete)
{
	char	*cause = NULL;

	start();
	ck_assert(put("learn-s-a"));
	ck_assert_int_eq(models_put("learn-s-a", "w", "yy", 2, put_cb, NULL,
	    &cause), 0);
	drain();
	ck_assert(put("learn-s-b"));
	ck_assert(stored("learn-s-a", "v") && stored("learn-s-a", "w"));
	models_delete("learn-s-a");
	/* Not served from now on, though the files go in the pool. */
	ck_assert_int_ne(models_find("learn-s-a", NULL, NULL), 0);
	ck_assert_ptr_null(models_data("learn-s-a", "v", NULL));
	models_delete("learn-s-none");		/* unknown: nothing */
	drain();
	ck_assert(!stored("learn-s-a", "v") && !stored("learn-s-a", "w"));
	ck_assert_int_eq(models_find("learn-s-b", NULL, NULL), 0);
	/* A put in flight when its name is deleted never lands. */
	want_fail = ncb + 1;
	ck_assert_int_eq(models_put("learn-s-c", "v", "z", 1, put_cb, NULL,
	    &cause), 0);
	models_delete("learn-s-c");
	drain();
	ck_assert_int_eq(ncb, want_fail);
	ck_assert_str_eq(lastcause, "deleted while being stored");
	ck_assert_int_ne(models_find("learn-s-c", NULL, NULL), 0);
	ck_assert(!stored("learn-s-c", "v"));
	/* A new version of a deleted name is stored again. */
	ck_assert(put("learn-s-a"));
	stop();
	start();
	ck_assert_int_eq(models_find("learn-s-a", "v", NULL), 0);
	ck_assert_int_ne(models_find("learn-s-a", "w", NULL), 0);
	ck_assert_int_ne(models_find("learn-s-c", NULL, NULL), 0);
	ck_assert_int_eq(models_find("learn-s-b", NULL, NULL), 0);
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
		{ test_delete, 0 },
	};

	return (testutil_run_in(tmpdir, "learn_models", 60, cases,
	    sizeof cases / sizeof cases[0]));
}
