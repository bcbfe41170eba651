/*
 * test_tier2.c - unit tests of tier2_model: a [tier2:NAME] section turned
 * into a loaded model, checked against its features, run on windows.
 *
 * With the shared MLPerf Tiny models ($TE_MODELS): ad01_int8 and ad01_fp32
 * as autoencoders (output = anomaly) on a window carrying a reference
 * vector's dequantized input: the score is the MSE against the expected
 * output, computed here; kws_ref_model as a classifier on a raw 49 x 10
 * window: the label is the arg max of the expected output.  Shape
 * mismatches and wrong label counts are configuration errors naming both
 * sides.  The labels parser has a table of malformed files.
 *
 * One file, two programs: test_tier2 runs the tests that need no model
 * and always runs; test_tier2_models (built with -DTEST_WITH_MODELS) runs
 * the model tests and is skipped as a whole without the models (a failure
 * under TE_REQUIRE_MODELS=1, see testutil.c).
 */
#include <sys/stat.h>

#include <check.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "testutil.h"
#include "tier2_model.h"

static char		 tmpdir[] = "/tmp/te-tier2.XXXXXX";
static int		 tmpn;

/* Write text to a new temp file; returns its path (caller frees). */
static char *
write_tmp(const char *ext, const char *text)
{
	char	*path;
	FILE	*f;

	ck_assert_int_ne(asprintf(&path, "%s/f%d.%s", tmpdir, tmpn++, ext),
	    -1);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
	return (path);
}

/* Load a config of one [tier2:t] section with the given keys. */
static struct config *
section(const char *keys, char **err)
{
	struct config	*cf = NULL;
	char		*text, *path;

	ck_assert_int_ne(asprintf(&text, "[gateway]\nid = gw\n[tier2:t]\n%s",
	    keys), -1);
	path = write_tmp("ini", text);
	*err = NULL;
	/* The model check is the tier2 module's, run by the daemon after a load. */
	if (config_load(path, &cf, err) != 0 ||
	    tier2_model_check(cf, err) != 0) {
		config_free(cf);
		cf = NULL;
	}
	free(text);
	free(path);
	return (cf);
}

#ifndef TEST_WITH_MODELS
/* Labels files: good ones parse, bad ones name the line. */
START_TEST(test_labels)
{
	static const struct { const char *text; const char *err; } bad[] = {
		{ "", "no labels" },
		{ "\n  \n\r\n", "no labels" },
		{ "yes\nn\to\n", "line 2: control character" },
		{ "yes\nno\x01\n", "line 2: control character" },
		{ "a\nb\n"
		  "0123456789012345678901234567890123456789012345678901234567890"
		  "12345\n", "line 3: label longer than 64" },
	};
	char	**l, *cause;
	size_t	 n, i;
	char	 big[5000 * 3];

	ck_assert_int_eq(tier2_model_labels_parse("yes\r\n no \n\n_silence_",
	    20, &l, &n, &cause), 0);
	ck_assert_uint_eq(n, 3);
	ck_assert_str_eq(l[0], "yes");
	ck_assert_str_eq(l[1], "no");
	ck_assert_str_eq(l[2], "_silence_");
	tier2_model_labels_free(l, n);
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		cause = NULL;
		ck_assert_int_eq(tier2_model_labels_parse(bad[i].text,
		    strlen(bad[i].text), &l, &n, &cause), -1);
		ck_assert_msg(strstr(cause, bad[i].err) != NULL, "case %zu: %s",
		    i, cause);
		ck_assert_ptr_null(l);
		free(cause);
	}
	ck_assert_int_eq(tier2_model_labels_parse("a\0b", 3, &l, &n, &cause),
	    -1);
	ck_assert_msg(strstr(cause, "NUL") != NULL, "%s", cause);
	free(cause);
	for (i = 0; i < 5000; i++)
		memcpy(big + 3 * i, "ab\n", 3);
	ck_assert_int_eq(tier2_model_labels_parse(big, sizeof big, &l, &n,
	    &cause), -1);
	ck_assert_msg(strstr(cause, "line 4097: more than 4096") != NULL,
	    "%s", cause);
	free(cause);
}
END_TEST

/* Feature parameter errors name their key's line. */
START_TEST(test_feature_keys)
{
	struct config	*cf;
	char		*err;

	cf = section("model = /nonexistent.tflite\nfeatures = mfcc\n"
	    "mfcc_coefficients = 41\n", &err);
	ck_assert_ptr_null(cf);
	ck_assert_msg(strstr(err, ":6: [tier2:t] mfcc_coefficients") != NULL,
	    "%s", err);
	free(err);
	cf = section("model = /nonexistent.tflite\nmfcc_frames = x\n", &err);
	ck_assert_ptr_null(cf);
	ck_assert_msg(strstr(err, ":5: tier2.mfcc_frames:") != NULL, "%s",
	    err);
	free(err);
	/* An absent model file is for the daemon's start to report. */
	cf = section("model = /nonexistent.tflite\nfeatures = mfcc\n", &err);
	ck_assert_msg(cf != NULL, "%s", err);
	config_free(cf);
}
END_TEST

#else /* TEST_WITH_MODELS */
static const char	*models;

/* Read a reference vector file; a missing one fails the test. */
static unsigned char *
vector(const char *path, size_t *len)
{
	unsigned char	*b = testutil_slurp(path, len);

	ck_assert_msg(b != NULL, "%s", path);
	return (b);
}

/* Run an autoencoder on vector 0 and compare with the MSE from expected. */
static void
anomaly_case(const char *name, int int8)
{
	struct tier2_model		*m;
	struct tier2_model_result	 r;
	struct config			*cf;
	unsigned char			*in, *ex;
	char				 keys[600], p[512], *err, *cause = NULL;
	size_t				 nin, nex, i;
	float				 x[640];
	double				 want = 0, d, y;
	int				 line;
	/* MANIFEST.json quantization of ad01_int8. */
	const double			 si = 0.3910152316093445, so =
					    0.36449846625328064;
	const int			 zi = 89, zo = 96;

	snprintf(keys, sizeof keys, "model = %s/tflite/%s.tflite\n"
	    "output = anomaly\nanomaly_threshold = 5\nwhen = always\n",
	    models, name);
	cf = section(keys, &err);
	ck_assert_msg(cf != NULL, "%s", err);
	ck_assert_int_eq(tier2_model_open(cf, "tier2:t", &m, &line, &cause),
	    0);
	snprintf(p, sizeof p, "%s/vectors/%s/input_00.bin", models, name);
	in = vector(p, &nin);
	snprintf(p, sizeof p, "%s/vectors/%s/expected_00.bin", models, name);
	ex = vector(p, &nex);
	ck_assert_uint_eq(nin, int8 ? 640 : 640 * 4);
	for (i = 0; i < 640; i++) {
		if (int8)
			x[i] = (float)(((int8_t)in[i] - zi) * si);
		else
			memcpy(&x[i], in + 4 * i, 4);
	}
	for (i = 0; i < 640; i++) {
		if (int8)
			y = ((int8_t)ex[i] - zo) * so;
		else {
			float f;

			memcpy(&f, ex + 4 * i, 4);
			y = f;
		}
		d = (double)x[i] - y;
		want += d * d;
	}
	want /= 640;
	ck_assert_int_eq(tier2_model_run(m, x, 640, 1, 62, &r, &cause), 0);
	printf("# %s: MSE %.9g, want %.9g, features %llu us, invoke %llu "
	    "us\n", name, r.score, want, (unsigned long long)r.features_us,
	    (unsigned long long)r.invoke_us);
	/* float outputs may differ from the reference by 1e-4 of the max. */
	ck_assert_msg(fabs(r.score - want) <= (int8 ? 1e-6 : 1e-3) * want,
	    "%s: %.9g vs %.9g", name, r.score, want);
	ck_assert_str_eq(r.label, r.score >= 5 ? "anomaly" : "normal");
	/* A window of the wrong size is refused, naming the shape. */
	ck_assert_int_eq(tier2_model_run(m, x, 100, 1, 62, &r, &cause), -1);
	ck_assert_msg(strstr(cause, "model input is [1,640] (640)") != NULL,
	    "%s", cause);
	free(cause);
	tier2_model_free(m);
	free(in);
	free(ex);
	config_free(cf);
}

/* ad01 int8 and float as autoencoders. */
START_TEST(test_anomaly)
{
	anomaly_case("ad01_int8", 1);
	anomaly_case("ad01_fp32", 0);
}
END_TEST

/* kws_ref_model on a raw 49 x 10 window: arg max of expected, labels. */
START_TEST(test_classes)
{
	struct tier2_model		*m;
	struct tier2_model_result	 r;
	struct config			*cf;
	unsigned char			*in, *ex;
	char				 keys[800], p[512], *err, *lab, *cause;
	size_t				 nin, nex, i, best = 0;
	float				 x[490];
	int				 line;
	const double			 si = 0.5847029089927673;
	const int			 zi = 83;
	static const char		*names = "down\ngo\nleft\nno\noff\non\n"
					    "right\nstop\nup\nyes\n_silence_\n"
					    "_unknown_\n";
	static const char		*nm[] = { "down", "go", "left", "no",
					    "off", "on", "right", "stop",
					    "up", "yes", "_silence_",
					    "_unknown_" };

	lab = write_tmp("txt", names);
	snprintf(keys, sizeof keys, "model = %s/tflite/kws_ref_model.tflite\n"
	    "labels = %s\nwhen = always\n", models, lab);
	cf = section(keys, &err);
	ck_assert_msg(cf != NULL, "%s", err);
	cause = NULL;
	ck_assert_int_eq(tier2_model_open(cf, "tier2:t", &m, &line, &cause),
	    0);
	snprintf(p, sizeof p, "%s/vectors/kws_ref_model/input_01.bin", models);
	in = vector(p, &nin);
	snprintf(p, sizeof p, "%s/vectors/kws_ref_model/expected_01.bin",
	    models);
	ex = vector(p, &nex);
	ck_assert_uint_eq(nin, 490);
	ck_assert_uint_eq(nex, 12);
	for (i = 0; i < 490; i++)
		x[i] = (float)(((int8_t)in[i] - zi) * si);
	for (i = 1; i < 12; i++) {
		if ((int8_t)ex[i] > (int8_t)ex[best])
			best = i;
	}
	ck_assert_int_eq(tier2_model_run(m, x, 49, 10, 1000, &r, &cause), 0);
	ck_assert_str_eq(r.label, nm[best]);
	ck_assert_double_eq_tol(r.score, ((int8_t)ex[best] + 128) / 256.0,
	    1e-12);
	tier2_model_free(m);
	config_free(cf);
	free(in);
	free(ex);

	/* Eleven labels for twelve outputs: a configuration error. */
	free(lab);
	lab = write_tmp("txt", "a\nb\nc\nd\ne\nf\ng\nh\ni\nj\nk\n");
	snprintf(keys, sizeof keys, "model = %s/tflite/kws_ref_model.tflite\n"
	    "labels = %s\n", models, lab);
	cf = section(keys, &err);
	ck_assert_ptr_null(cf);
	ck_assert_msg(strstr(err, ":5: [tier2:t] labels ") != NULL &&
	    strstr(err, "11 labels, model output has 12 values") != NULL,
	    "%s", err);
	free(err);
	free(lab);
}
END_TEST

/* Features that do not fit the model input: both shapes in the error. */
START_TEST(test_shape_mismatch)
{
	struct config	*cf;
	char		 keys[600], *err;

	snprintf(keys, sizeof keys, "model = %s/tflite/ad01_int8.tflite\n"
	    "features = mfcc\n", models);
	cf = section(keys, &err);
	ck_assert_ptr_null(cf);
	ck_assert_msg(strstr(err, ":5: [tier2:t] mfcc features produce 490 "
	    "values (49 x 10), model input is [1,640] (640)") != NULL, "%s",
	    err);
	free(err);
	snprintf(keys, sizeof keys, "model = %s/tflite/kws_ref_model.tflite\n"
	    "features = spectral\n", models);
	cf = section(keys, &err);
	ck_assert_ptr_null(cf);
	ck_assert_msg(strstr(err, "spectral features produce 39 values "
	    "(3 x 13), model input is [1,49,10,1] (490)") != NULL, "%s", err);
	free(err);
	snprintf(keys, sizeof keys, "model = %s/tflite/kws_ref_model.tflite\n"
	    "output = anomaly\n", models);
	cf = section(keys, &err);
	ck_assert_ptr_null(cf);
	ck_assert_msg(strstr(err, ":5: [tier2:t] output = anomaly needs") !=
	    NULL, "%s", err);
	free(err);
	/* mfcc on kws fits. */
	snprintf(keys, sizeof keys, "model = %s/tflite/kws_ref_model.tflite\n"
	    "features = mfcc\n", models);
	cf = section(keys, &err);
	ck_assert_msg(cf != NULL, "%s", err);
	config_free(cf);
}
END_TEST

/* MFCC + kws through tier2_model_run on a 1 s tone. */
START_TEST(test_mfcc_run)
{
	struct tier2_model		*m;
	struct tier2_model_result	 r;
	struct config			*cf;
	char				 keys[600], *err, *cause = NULL;
	static float			 x[16000];
	size_t				 i;
	int				 line;

	snprintf(keys, sizeof keys, "model = %s/tflite/kws_ref_model.tflite\n"
	    "features = mfcc\n", models);
	cf = section(keys, &err);
	ck_assert_msg(cf != NULL, "%s", err);
	ck_assert_int_eq(tier2_model_open(cf, "tier2:t", &m, &line, &cause),
	    0);
	for (i = 0; i < 16000; i++)
		x[i] = (float)(0.25 * sin(2 * M_PI * 1000 * (double)i / 16000));
	ck_assert_int_eq(tier2_model_run(m, x, 16000, 1, 62, &r, &cause), 0);
	/* No labels file: the label is the class index. */
	ck_assert_msg(strncmp(r.label, "class_", 6) == 0, "%s", r.label);
	ck_assert(r.score >= 0 && r.score <= 1);
	tier2_model_free(m);
	config_free(cf);
}
END_TEST

#endif /* TEST_WITH_MODELS */

#ifdef TEST_WITH_MODELS
/* The model tests, or a skip without the models. */
int
main(void)
{
	struct testutil_case	 cases[] = {
		{ test_anomaly, 0 },
		{ test_classes, 0 },
		{ test_shape_mismatch, 0 },
		{ test_mfcc_run, 0 },
	};

	models = testutil_models("tflite/ad01_int8.tflite");
	return (testutil_run_in(tmpdir, "tier2_models", 60, cases,
	    sizeof cases / sizeof cases[0]));
}
#else
/* The tests that need no model. */
int
main(void)
{
	struct testutil_case	 cases[] = {
		{ test_labels, 0 },
		{ test_feature_keys, 0 },
	};

	return (testutil_run_in(tmpdir, "tier2", 60, cases,
	    sizeof cases / sizeof cases[0]));
}
#endif /* TEST_WITH_MODELS */
