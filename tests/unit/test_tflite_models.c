/* test_tflite_models.c - the runtime against the shared reference models.
 *
 * For every directory in $TE_MODELS/vectors, loads tflite/<dir>.tflite, runs
 * every input_NN.bin and compares with expected_NN.bin: int8 outputs must be
 * bit-exact, float outputs within 1e-4 * max|expected|.  Also checks that
 * every model in tflite/ and extra/ loads (or fails with one clean
 * "unsupported operator" line), describes itself and invokes.  The models
 * are read in place.  Every test here needs them: without them the program
 * is skipped as a whole (or fails under TE_REQUIRE_MODELS=1, see
 * testutil.c), and a models directory without its vectors is a failure.
 */
#include <check.h>
#include <dirent.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "tflite/tflite.h"

#define MAXM 64

static const char *models_dir;
static char *vec_models[MAXM];
static int nvec;
static char *all_models[MAXM];
static int nall;

/* Ascending string order for qsort. */
static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Collect entries of dir (optionally only *.tflite) as "prefix/name". */
static void list_dir(const char *sub, int tflite_only, char **out, int *n)
{
	char path[1200];
	snprintf(path, sizeof path, "%s/%s", models_dir, sub);
	DIR *d = opendir(path);
	if (!d)
		return;
	struct dirent *de;
	while ((de = readdir(d)) && *n < MAXM) {
		size_t l = strlen(de->d_name);
		if (de->d_name[0] == '.')
			continue;
		if (tflite_only && (l < 7 || strcmp(de->d_name + l - 7, ".tflite")))
			continue;
		char buf[1300];
		snprintf(buf, sizeof buf, "%s%s%s", tflite_only ? sub : "",
			 tflite_only ? "/" : "", de->d_name);
		out[(*n)++] = strdup(buf);
	}
	closedir(d);
	qsort(out, (size_t)*n, sizeof *out, cmp_str);
}

START_TEST(vectors)
{
	ck_assert_msg(nvec > 0, "no reference vectors under %s", models_dir);
	const char *name = vec_models[_i];
	char path[1400];
	snprintf(path, sizeof path, "%s/tflite/%s.tflite", models_dir, name);
	struct tflite_model *m;
	char *cause = NULL;
	if (tflite_model_load_file(path, &m, &cause) < 0) {
		ck_abort_msg("%s", cause);
		free(cause);
		return;
	}
	struct tflite_tensor_info ii, oi;
	tflite_model_input_info(m, 0, &ii);
	tflite_model_output_info(m, 0, &oi);
	int runs = 0;
	for (int k = 0; k < 100; k++) {
		size_t il, el;
		snprintf(path, sizeof path, "%s/vectors/%s/input_%02d.bin",
			 models_dir, name, k);
		uint8_t *in = testutil_slurp(path, &il);
		if (!in)
			break;
		snprintf(path, sizeof path, "%s/vectors/%s/expected_%02d.bin",
			 models_dir, name, k);
		uint8_t *exp = testutil_slurp(path, &el);
		ck_assert_ptr_nonnull(exp);
		ck_assert_uint_eq(il, ii.bytes);
		ck_assert_uint_eq(el, oi.bytes);
		memcpy(tflite_model_input(m, 0), in, il);
		ck_assert_int_eq(tflite_model_invoke(m, NULL), 0);
		const uint8_t *got = tflite_model_output(m, 0);
		if (oi.dtype == TFLITE_FLOAT32) {
			const float *g = (const float *)(const void *)got;
			float e[4096];
			size_t n = el / 4;
			ck_assert_uint_le(n, 4096);
			memcpy(e, exp, el);
			float mx = 0;
			for (size_t i = 0; i < n; i++)
				mx = fabsf(e[i]) > mx ? fabsf(e[i]) : mx;
			for (size_t i = 0; i < n; i++)
				ck_assert_msg(fabsf(g[i] - e[i]) <= 1e-4f * mx,
					      "%s vector %d element %zu: %g vs %g",
					      name, k, i, (double)g[i], (double)e[i]);
		} else {
			for (size_t i = 0; i < el; i++)
				ck_assert_msg(got[i] == exp[i],
					      "%s vector %d byte %zu: %d vs %d", name,
					      k, i, (int8_t)got[i], (int8_t)exp[i]);
		}
		free(in);
		free(exp);
		runs++;
	}
	ck_assert_int_gt(runs, 0);
	printf("# %s: %d vectors match\n", name, runs);
	tflite_model_free(m);
}
END_TEST

START_TEST(every_model_loads_and_runs)
{
	ck_assert_msg(nall > 0, "no models under %s", models_dir);
	const char *name = all_models[_i];
	char path[1400];
	snprintf(path, sizeof path, "%s/%s", models_dir, name);
	struct tflite_model *m;
	char *cause = NULL;
	if (tflite_model_load_file(path, &m, &cause) < 0) {
		/* the only acceptable failure is a named unsupported operator */
		ck_assert_ptr_nonnull(cause);
		ck_assert_msg(strstr(cause, "unsupported operator ") != NULL, "%s",
			      cause);
		ck_assert_ptr_null(strchr(cause, '\n'));
		printf("# %s: %s\n", name, cause);
		free(cause);
		return;
	}
	/* --info style description */
	struct tflite_tensor_info ti;
	ck_assert_int_ge(tflite_model_ninputs(m), 1);
	ck_assert_int_ge(tflite_model_noutputs(m), 1);
	for (int i = 0; i < tflite_model_ninputs(m); i++) {
		ck_assert_int_eq(tflite_model_input_info(m, i, &ti), 0);
		ck_assert_int_ge(ti.ndims, 0);
		ck_assert_uint_gt(ti.bytes, 0);
		ck_assert_ptr_nonnull(ti.name);
		memset(tflite_model_input(m, i), 0, ti.bytes);
	}
	for (int i = 0; i < tflite_model_noutputs(m); i++)
		ck_assert_int_eq(tflite_model_output_info(m, i, &ti), 0);
	ck_assert_int_eq(tflite_model_input_info(m, 99, &ti), -1);
	ck_assert_ptr_null(tflite_model_input(m, 99));
	for (int i = 0; i < tflite_model_nops(m); i++)
		ck_assert_ptr_nonnull(tflite_model_op_name(m, i));
	ck_assert_uint_gt(tflite_model_arena_bytes(m), 0);
	ck_assert_int_eq(tflite_model_invoke(m, NULL), 0);
	printf("# %s: %d operators, arena %zu bytes\n", name,
	       tflite_model_nops(m), tflite_model_arena_bytes(m));
	tflite_model_free(m);
}
END_TEST

START_TEST(two_models_at_once)
{
	ck_assert_msg(nvec >= 2, "fewer than two vector models in %s",
		      models_dir);
	/* two models loaded together keep separate arenas and results */
	char p1[1400], p2[1400];
	snprintf(p1, sizeof p1, "%s/tflite/%s.tflite", models_dir, vec_models[0]);
	snprintf(p2, sizeof p2, "%s/tflite/%s.tflite", models_dir, vec_models[1]);
	struct tflite_model *a, *b, *c;
	ck_assert_int_eq(tflite_model_load_file(p1, &a, NULL), 0);
	ck_assert_int_eq(tflite_model_load_file(p2, &b, NULL), 0);
	ck_assert_int_eq(tflite_model_load_file(p1, &c, NULL), 0);
	struct tflite_tensor_info ai, ao;
	tflite_model_input_info(a, 0, &ai);
	tflite_model_output_info(a, 0, &ao);
	memset(tflite_model_input(a, 0), 1, ai.bytes);
	memset(tflite_model_input(c, 0), 1, ai.bytes);
	tflite_model_invoke(a, NULL);
	tflite_model_invoke(b, NULL);
	tflite_model_invoke(c, NULL);
	ck_assert(memcmp(tflite_model_output(a, 0), tflite_model_output(c, 0),
			 ao.bytes) == 0);
	tflite_model_free(a);
	tflite_model_free(b);
	tflite_model_free(c);
}
END_TEST

/* One thread's work: its own model instance, many invokes, last output. */
struct worker {
	const char *path;
	uint8_t out[64];
	int ok;
};

/* Thread body for models_in_parallel. */
static void *work(void *arg)
{
	struct worker *w = arg;
	struct tflite_model *m;
	if (tflite_model_load_file(w->path, &m, NULL) < 0)
		return NULL;
	struct tflite_tensor_info ii, oi;
	tflite_model_input_info(m, 0, &ii);
	tflite_model_output_info(m, 0, &oi);
	for (int r = 0; r < 20; r++) {
		memset(tflite_model_input(m, 0), 3, ii.bytes);
		tflite_model_invoke(m, NULL);
	}
	memcpy(w->out, tflite_model_output(m, 0), oi.bytes < 64 ? oi.bytes : 64);
	w->ok = 1;
	tflite_model_free(m);
	return NULL;
}

START_TEST(models_in_parallel)
{
	/* the runtime has no shared mutable state: instances of the same model
	 * run on several threads at once give identical results */
	char path[1400];
	snprintf(path, sizeof path, "%s/tflite/kws_ref_model.tflite", models_dir);
	FILE *f = fopen(path, "rb");
	ck_assert_msg(f != NULL, "%s not found", path);
	fclose(f);
	struct worker w[3] = { { .path = path }, { .path = path }, { .path = path } };
	pthread_t th[3];
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(pthread_create(&th[i], NULL, work, &w[i]), 0);
	for (int i = 0; i < 3; i++)
		pthread_join(th[i], NULL);
	for (int i = 0; i < 3; i++)
		ck_assert(w[i].ok);
	ck_assert(memcmp(w[0].out, w[1].out, sizeof w[0].out) == 0);
	ck_assert(memcmp(w[0].out, w[2].out, sizeof w[0].out) == 0);
}
END_TEST

/* Find the models (or skip), list them, run the suite. */
int main(void)
{
	models_dir = testutil_models("tflite");
	list_dir("vectors", 0, vec_models, &nvec);
	list_dir("tflite", 1, all_models, &nall);
	list_dir("extra", 1, all_models, &nall);
	struct testutil_case cases[] = {
		{ vectors, nvec ? nvec : 1 },
		{ every_model_loads_and_runs, nall ? nall : 1 },
		{ two_models_at_once, 0 },
		{ models_in_parallel, 0 },
	};
	int rc = testutil_run("tflite_models", 120, cases,
			      sizeof cases / sizeof cases[0]);
	for (int i = 0; i < nvec; i++)
		free(vec_models[i]);
	for (int i = 0; i < nall; i++)
		free(all_models[i]);
	return rc;
}
