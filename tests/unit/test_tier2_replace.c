/*
 * test_tier2_replace.c - unit tests of tier2_replace() (P/cmd/tier2/SECTION)
 * with the real store and tier2 modules on the daemon's loop.
 *
 * Two sections: [tier2:t], an autoencoder (output = anomaly) whose file
 * starts as ad01_int8, and [tier2:c], a classifier on kws_ref_model with a
 * twelve-line labels file.  Which model runs is seen in what it stores:
 * a window goes through the store, tier2 runs it in the pool and stores
 * its MSE, which must be the score the file on disk gives when opened
 * directly (ad01_int8 and ad01_fp32 give different ones).  A good
 * replacement changes file and score; garbage, a model that does not fit
 * the anomaly section (kws: output is not the input's shape) and one that
 * does not fit the labels (ad01: 640 outputs for 12 labels) are refused
 * with a cause, the file and the running model unchanged, no temporary
 * file left.  Unknown sections, empty bytes and a second replacement in
 * flight are refused at once; a stop with a replacement in flight calls
 * nothing back and the loop closes.
 *
 * Needs the shared models: skipped as a whole without them (a failure
 * under TE_REQUIRE_MODELS=1, see testutil.c).
 */
#include <sys/stat.h>

#include <check.h>
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "config.h"
#include "daemon.h"
#include "store.h"
#include "store_fixture.h"
#include "testutil.h"
#include "tier2.h"
#include "tier2_model.h"

static const char	*models;
static char		 mpath[128], cpath[128];
static int		 ncb, nok;
static char		 lastcause[512];
static float		 x[640];

/* The replacement callback: count and keep the cause. */
static void
replace_cb(int ok, const char *cause, void *arg)
{
	ck_assert_ptr_eq(arg, &ncb);
	ncb++;
	nok += ok;
	snprintf(lastcause, sizeof lastcause, "%s", ok ? "" : cause);
}

/* Copy a shared model to path. */
static void
copy_model(const char *name, const char *path)
{
	unsigned char	*b;
	size_t		 len;
	char		 src[512];
	FILE		*f;

	snprintf(src, sizeof src, "%s/tflite/%s.tflite", models, name);
	ck_assert_ptr_nonnull(b = testutil_slurp(src, &len));
	ck_assert_ptr_nonnull(f = fopen(path, "w"));
	ck_assert_uint_eq(fwrite(b, 1, len, f), len);
	fclose(f);
	free(b);
}

/* A data_dir with the two sections, the store and tier2 started. */
static void
setup(void)
{
	char	 path[128], lab[128], *cause = NULL;
	FILE	*f;
	size_t	 i;

	snprintf(fx_dir, sizeof fx_dir, "/tmp/te-t2r.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(fx_dir));
	snprintf(mpath, sizeof mpath, "%s/ad.tflite", fx_dir);
	snprintf(cpath, sizeof cpath, "%s/kws.tflite", fx_dir);
	snprintf(lab, sizeof lab, "%s/kws.txt", fx_dir);
	copy_model("ad01_int8", mpath);
	copy_model("kws_ref_model", cpath);
	ck_assert_ptr_nonnull(f = fopen(lab, "w"));
	fputs("a\nb\nc\nd\ne\nf\ng\nh\ni\nj\nk\nl\n", f);
	fclose(f);
	snprintf(path, sizeof path, "%s/c.ini", fx_dir);
	ck_assert_ptr_nonnull(f = fopen(path, "w"));
	fprintf(f, "[gateway]\nid = gw-unit\ndata_dir = %s\n[store]\n"
	    "commit_interval = 60s\n[tier2:t]\nmodel = %s\nnodes = n*\n"
	    "when = always\noutput = anomaly\n[tier2:c]\nmodel = %s\n"
	    "labels = %s\nnodes = none\nwhen = always\n", fx_dir, mpath,
	    cpath, lab);
	fclose(f);
	if (config_load(path, &fx_cf, &cause) != 0)
		ck_abort_msg("config: %s", cause);
	ck_assert_int_eq(uv_loop_init(daemon_loop()), 0);
	fx_start();
	fx_turn();
	if (tier2_start(fx_cf, &cause) != 0)
		ck_abort_msg("tier2_start: %s", cause);
	for (i = 0; i < 640; i++) {
		/* What "%.9g" in the window's JSON reads back as. */
		snprintf(path, sizeof path, "%.9g", 3 * sin((double)i / 7));
		x[i] = strtof(path, NULL);
	}
}

/* Stop both modules; the loop must close. */
static void
teardown(void)
{
	tier2_stop();
	fx_stop();
	fx_teardown();
}

/* The MSE the model file at the section's path gives for the window. */
static double
file_score(void)
{
	struct tier2_model		*m;
	struct tier2_model_result	 r;
	char				*cause = NULL;
	int				 line;

	if (tier2_model_open(fx_cf, "tier2:t", &m, &line, &cause) != 0)
		ck_abort_msg("open: %s", cause);
	ck_assert_int_eq(tier2_model_run(m, x, 640, 1, 1000, &r, &cause), 0);
	tier2_model_free(m);
	return (r.score);
}

/* Put window seq; wait until the running model stored its score. */
static double
run_window(int seq)
{
	struct store_msg	 sm;
	char			*body, sql[256];
	size_t			 i, n = 0, cap = 640 * 24 + 256;
	int			 k;

	body = malloc(cap);
	ck_assert_ptr_nonnull(body);
	n += snprintf(body + n, cap - n, "{\"seq\":%d,\"boot\":3,"
	    "\"interval_ms\":1,\"sensors\":[{\"name\":\"s\"}],\"values\":[",
	    seq);
	for (i = 0; i < 640; i++)
		n += snprintf(body + n, cap - n, "%s[%.9g]", i ? "," : "",
		    (double)x[i]);
	n += snprintf(body + n, cap - n, "]}");
	memset(&sm, 0, sizeof sm);
	sm.node = "n1";
	sm.boot = 3;
	sm.seq = seq;
	sm.kind = STORE_KIND_WINDOW;
	sm.rx_ms = daemon_now_ms();
	sm.body = body;
	sm.len = n;
	ck_assert_int_ne(store_put_message(&sm, fx_done_cb, NULL),
	    STORE_REFUSED);
	free(body);
	snprintf(sql, sizeof sql, "SELECT count(*) FROM msg WHERE kind = %d "
	    "AND json_extract(body, '$.window') = %d", STORE_KIND_TIER2, seq);
	for (k = 0; k < 2500 && fx_count_sql(sql) == 0; k++) {
		usleep(2000);
		fx_flush();
	}
	ck_assert_int_eq(fx_count_sql(sql), 1);
	/* The fixture reads integers: the score in millionths. */
	snprintf(sql, sizeof sql, "SELECT CAST(json_extract(body, '$.score') "
	    "* 1000000 AS INTEGER) FROM msg WHERE kind = %d AND "
	    "json_extract(body, '$.window') = %d", STORE_KIND_TIER2, seq);
	return ((double)fx_count_sql(sql) / 1000000);
}

/* Run the loop until n callbacks came (bounded). */
static void
wait_cb(int n)
{
	int	i;

	for (i = 0; i < 2500 && ncb < n; i++) {
		uv_run(daemon_loop(), UV_RUN_NOWAIT);
		if (ncb < n)
			usleep(2000);
	}
	ck_assert_int_eq(ncb, n);
}

/* Replace a section's model with a shared one (or bytes); 1 if ok. */
static int
replace(const char *sect, const void *data, size_t len)
{
	char	*cause = NULL;
	int	 before = nok;

	if (tier2_replace(sect, data, len, replace_cb, &ncb, &cause) != 0) {
		snprintf(lastcause, sizeof lastcause, "%s", cause);
		free(cause);
		return (0);
	}
	wait_cb(ncb + 1);
	return (nok > before);
}

/* Replace with a shared model's bytes. */
static int
replace_with(const char *sect, const char *name)
{
	unsigned char	*b;
	size_t		 len;
	char		 src[512];
	int		 ok;

	snprintf(src, sizeof src, "%s/tflite/%s.tflite", models, name);
	ck_assert_ptr_nonnull(b = testutil_slurp(src, &len));
	ok = replace(sect, b, len);
	free(b);
	return (ok);
}

/* Does path hold exactly the shared model name? */
static int
same_as(const char *path, const char *name)
{
	unsigned char	*a, *b;
	size_t		 na, nb;
	char		 src[512];
	int		 same;

	snprintf(src, sizeof src, "%s/tflite/%s.tflite", models, name);
	ck_assert_ptr_nonnull(a = testutil_slurp(path, &na));
	ck_assert_ptr_nonnull(b = testutil_slurp(src, &nb));
	same = na == nb && memcmp(a, b, na) == 0;
	free(a);
	free(b);
	return (same);
}

/* No temporary file left in the data_dir. */
static void
no_leftovers(void)
{
	struct dirent	*de;
	DIR		*d;

	ck_assert_ptr_nonnull(d = opendir(fx_dir));
	while ((de = readdir(d)) != NULL)
		ck_assert_msg(strstr(de->d_name, "tmp~") == NULL, "%s",
		    de->d_name);
	closedir(d);
}

/* A model that fits: the file and the running model change. */
START_TEST(test_replace_good)
{
	double	int8, fp32;

	setup();
	int8 = file_score();
	ck_assert_double_eq_tol(run_window(1), int8, 2e-6);
	ck_assert_msg(replace_with("t", "ad01_fp32"), "%s", lastcause);
	ck_assert(same_as(mpath, "ad01_fp32"));
	no_leftovers();
	fp32 = file_score();
	ck_assert_msg(fabs(int8 - fp32) > 1e-3, "%g %g", int8, fp32);
	ck_assert_double_eq_tol(run_window(2), fp32, 2e-6);
	/* A SIGHUP finds the file it loaded: nothing changes. */
	tier2_reload(fx_cf);
	ck_assert_double_eq_tol(run_window(3), fp32, 2e-6);
	teardown();
}
END_TEST

/* Models that do not load or fit: refused, old file and model kept. */
START_TEST(test_replace_refused)
{
	double	int8;

	setup();
	int8 = file_score();
	ck_assert(!replace("t", "this is no model", 16));
	ck_assert_msg(strstr(lastcause, "[tier2:t] the new model: ") != NULL,
	    "%s", lastcause);
	ck_assert(same_as(mpath, "ad01_int8"));
	/* kws: 12 outputs, no reconstruction of a 490-value input. */
	ck_assert(!replace_with("t", "kws_ref_model"));
	ck_assert_msg(strstr(lastcause, "output = anomaly needs") != NULL,
	    "%s", lastcause);
	ck_assert(same_as(mpath, "ad01_int8"));
	/* ad01: 640 outputs for 12 labels. */
	ck_assert(!replace_with("c", "ad01_int8"));
	ck_assert_msg(strstr(lastcause, "12 labels, model output has 640 "
	    "values") != NULL, "%s", lastcause);
	ck_assert(same_as(cpath, "kws_ref_model"));
	no_leftovers();
	ck_assert_double_eq_tol(run_window(1), int8, 2e-6);
	teardown();
}
END_TEST

/* Refused at once: unknown section, no bytes, one already in flight. */
START_TEST(test_replace_at_once)
{
	char	*cause = NULL;

	setup();
	ck_assert(!replace("nope", "x", 1));
	ck_assert_msg(strstr(lastcause, "no [tier2:nope]") != NULL, "%s",
	    lastcause);
	ck_assert(!replace("tier2:t", "x", 1));
	ck_assert(!replace("t", "", 0));
	ck_assert_msg(strstr(lastcause, "empty") != NULL, "%s", lastcause);
	ck_assert_int_eq(tier2_replace("t", "junk", 4, replace_cb, &ncb,
	    &cause), 0);
	ck_assert_int_eq(tier2_replace("t", "junk", 4, replace_cb, &ncb,
	    &cause), -1);
	ck_assert_msg(strstr(cause, "in progress") != NULL, "%s", cause);
	free(cause);
	wait_cb(1);
	ck_assert_int_eq(nok, 0);
	ck_assert(same_as(mpath, "ad01_int8"));
	teardown();
}
END_TEST

/* A stop with a replacement in flight: no callback, the loop closes. */
START_TEST(test_replace_stop)
{
	char		*cause = NULL, src[512];
	unsigned char	*b;
	size_t		 len;

	setup();
	snprintf(src, sizeof src, "%s/tflite/ad01_fp32.tflite", models);
	ck_assert_ptr_nonnull(b = testutil_slurp(src, &len));
	ck_assert_int_eq(tier2_replace("t", b, len, replace_cb, &ncb,
	    &cause), 0);
	free(b);
	teardown();
	ck_assert_int_eq(ncb, 0);
}
END_TEST

/* The tests, or a skip without the models. */
int
main(void)
{
	const TTest	*tests[] = {
		test_replace_good,
		test_replace_refused,
		test_replace_at_once,
		test_replace_stop,
	};

	models = testutil_models("tflite/ad01_int8.tflite");
	return (fx_run_tests("tier2_replace", 60, tests,
	    sizeof tests / sizeof tests[0]));
}
