/* test_tflite_malformed.c - hostile and broken model files.
 *
 * Every real model is truncated at many lengths and mutated with seeded
 * random byte flips; hand-built files carry a huge tensor shape, an
 * out-of-range buffer index, out-of-range tensor and opcode indices.  Each
 * load must either fail with a one-line message or succeed, and a model that
 * loads must invoke without crashing (the sanitizers watch for the rest).
 * The flip count per model is bounded to keep the test fast under ASan.
 *
 * One file, two programs: test_tflite_malformed runs the cases that need
 * no model file and always runs; test_tflite_mutated (built with
 * -DTEST_WITH_MODELS) truncates and flips the shared models, and is skipped
 * as a whole without them (a failure under TE_REQUIRE_MODELS=1, see
 * testutil.c).
 */
#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "tflite/tflite.h"
#include "tflite/tflite_write.h"
#include "tflite_build.h"

#define MAXM 64

/* Load from memory; check the failure message or invoke on success.
 * Returns 1 if the model loaded. */
static int try_load(const uint8_t *buf, size_t len, int invoke)
{
	struct tflite_model *m;
	char *cause = NULL;
	if (tflite_model_load_mem(buf, len, "fuzz.tflite", &m, &cause) < 0) {
		ck_assert_ptr_nonnull(cause);
		ck_assert_msg(strncmp(cause, "fuzz.tflite: ", 13) == 0, "%s", cause);
		ck_assert_ptr_null(strchr(cause, '\n'));
		ck_assert_uint_gt(strlen(cause), 13);
		free(cause);
		return 0;
	}
	ck_assert_ptr_null(cause);
	if (invoke) {
		for (int i = 0; i < tflite_model_ninputs(m); i++) {
			struct tflite_tensor_info ti;
			tflite_model_input_info(m, i, &ti);
			memset(tflite_model_input(m, i), 0x5a, ti.bytes);
		}
		ck_assert_int_eq(tflite_model_invoke(m, NULL), 0);
	}
	tflite_model_free(m);
	return 1;
}

#ifdef TEST_WITH_MODELS
static char *models[MAXM];
static int nmodels;

/* Small deterministic PRNG (xorshift32). */
static uint32_t rnd(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

START_TEST(truncations)
{
	ck_assert_msg(nmodels > 0, "no .tflite files in the models directory");
	size_t len;
	uint8_t *buf = testutil_slurp(models[_i], &len);
	ck_assert_ptr_nonnull(buf);
	int loaded = 0, tries = 0;
	/* 48 evenly spread lengths plus the first and last few bytes */
	for (int k = 0; k < 48 + 32; k++) {
		size_t l = k < 48 ? len * (size_t)k / 48 :
			   k < 64 ? (size_t)(k - 48) : len - (size_t)(k - 63);
		if (l >= len)
			continue;
		loaded += try_load(buf, l, loaded < 3);
		tries++;
	}
	printf("# %s: %d truncations, %d loaded\n", models[_i], tries, loaded);
	free(buf);
}
END_TEST

START_TEST(byte_flips)
{
	ck_assert_msg(nmodels > 0, "no .tflite files in the models directory");
	size_t len;
	uint8_t *orig = testutil_slurp(models[_i], &len);
	ck_assert_ptr_nonnull(orig);
	uint8_t *buf = malloc(len);
	ck_assert_ptr_nonnull(buf);
	uint32_t seed = 0x9e3779b9u ^ (uint32_t)len;
	int loaded = 0, invoked = 0;
	/* bigger models get fewer rounds: loads copy and prepare everything */
	int rounds = len > 600000 ? 40 : len > 200000 ? 100 : 250;
	for (int r = 0; r < rounds; r++) {
		memcpy(buf, orig, len);
		int nflip = 1 + (int)(rnd(&seed) % 8);
		for (int f = 0; f < nflip; f++) {
			/* half the flips hit the first 4 KB (tables, vtables) */
			size_t pos = rnd(&seed) % 2 ? rnd(&seed) % len :
				     rnd(&seed) % (len < 4096 ? len : 4096);
			buf[pos] ^= (uint8_t)(1 + rnd(&seed) % 255);
		}
		int inv = invoked < (len > 600000 ? 3 : 15);
		int ok = try_load(buf, len, inv);
		loaded += ok;
		invoked += ok && inv;
	}
	printf("# %s: %d flipped copies, %d loaded\n", models[_i], rounds, loaded);
	free(buf);
	free(orig);
}
END_TEST

/* Find the models (tflite/ and extra/) under $TE_MODELS, or skip. */
static void find_models(void)
{
	const char *models_dir = testutil_models("tflite");
	static const char *const subs[] = { "tflite", "extra" };
	for (int s = 0; s < 2; s++) {
		char path[1200];
		snprintf(path, sizeof path, "%s/%s", models_dir, subs[s]);
		DIR *d = opendir(path);
		if (!d)
			continue;
		struct dirent *de;
		while ((de = readdir(d)) && nmodels < MAXM) {
			size_t l = strlen(de->d_name);
			if (l < 7 || strcmp(de->d_name + l - 7, ".tflite"))
				continue;
			char full[1500];
			snprintf(full, sizeof full, "%s/%s", path, de->d_name);
			models[nmodels++] = strdup(full);
		}
		closedir(d);
	}
}

/* Truncate and flip every shared model. */
int main(void)
{
	find_models();
	struct testutil_case cases[] = {
		{ truncations, nmodels ? nmodels : 1 },
		{ byte_flips, nmodels ? nmodels : 1 },
	};
	int rc = testutil_run("tflite_mutated", 120, cases,
			      sizeof cases / sizeof cases[0]);
	for (int i = 0; i < nmodels; i++)
		free(models[i]);
	return rc;
}

#else /* !TEST_WITH_MODELS */

START_TEST(empty_and_tiny_files)
{
	static const uint8_t zeros[64];
	for (size_t l = 0; l < sizeof zeros; l += 4)
		ck_assert_int_eq(try_load(zeros, l, 0), 0);
	struct tflite_model *m;
	char *cause = NULL;
	ck_assert_int_eq(tflite_model_load_mem(zeros, 0, "empty.tflite", &m, &cause), -1);
	ck_assert_str_eq(cause, "empty.tflite: empty file");
	free(cause);
	FILE *f = fopen("tflite_empty.tflite", "wb");
	ck_assert_ptr_nonnull(f);
	fclose(f);
	ck_assert_int_eq(tflite_model_load_file("tflite_empty.tflite", &m, &cause), -1);
	ck_assert_str_eq(cause, "tflite_empty.tflite: empty file");
	free(cause);
	remove("tflite_empty.tflite");
	ck_assert_int_eq(tflite_model_load_file("/nonexistent/x.tflite", &m, &cause), -1);
	ck_assert_ptr_nonnull(strstr(cause, "/nonexistent/x.tflite: "));
	free(cause);
}
END_TEST

/*
 * Write a two-tensor RESHAPE model, then give it the hostile fields the
 * writer refuses (tensor 0's dims, tensor 1's buffer, the operator's input,
 * its code); load it and return the failure message (malloc'd) or NULL if
 * it loaded.
 */
static char *hand_built(const int32_t *dims0, int nd0, uint32_t buf1,
			int32_t bad_in, int code)
{
	static const float one[] = { 1.0f };
	static const int64_t zero[] = { 0 };
	struct tflite_write_tensor t[2] = {
		{ .type = 9, .ndims = nd0, .nq = 1, .scales = one,
		  .zero_points = zero },
		{ .type = 9, .ndims = 1, .dims = { 4 }, .nq = 1, .scales = one,
		  .zero_points = zero },
	};
	int32_t in = 0, out = 1, gin = 0;
	struct tflite_write_op op = { .code = 22, .nin = 1, .nout = 1,
				      .in = &in, .out = &out };
	struct tflite_write_graph g = { .tensors = t, .ntensors = 2,
					.ops = &op, .nops = 1, .inputs = &gin,
					.ninputs = 1, .outputs = &out,
					.noutputs = 1 };
	uint8_t *b;
	size_t len;
	for (int d = 0; d < nd0; d++)
		t[0].dims[d] = 1;
	ck_assert_int_eq(tflite_write(&g, &b, &len, NULL), 0);
	for (int d = 0; d < nd0; d++)
		ck_assert_int_eq(tb_set_tensor_dim(b, len, 0, d, dims0[d]), 0);
	if (buf1)
		ck_assert_int_eq(tb_set_tensor_buffer(b, len, 1, buf1), 0);
	if (bad_in)
		ck_assert_int_eq(tb_set_op_input(b, len, 0, 0, bad_in), 0);
	if (code)
		ck_assert_int_eq(tb_set_opcode(b, len, 0, code < 127 ? code :
					       127, code), 0);
	struct tflite_model *m;
	char *cause = NULL;
	if (tflite_model_load_mem(b, len, "hand.tflite", &m, &cause) == 0) {
		ck_assert_int_eq(tflite_model_invoke(m, NULL), 0);
		tflite_model_free(m);
	}
	free(b);
	return cause;
}

START_TEST(hostile_hand_built)
{
	static const int32_t ok[] = { 2, 2 }, huge[] = { 1 << 30, 1 << 30 };
	static const int32_t neg[] = { 2, -1 };
	static const int32_t huge2[] = { 65536, 65536, 65536 };
	char *c = hand_built(ok, 2, 0, 0, 0);
	ck_assert_msg(c == NULL, "%s", c);
	c = hand_built(huge, 2, 0, 0, 0);
	ck_assert_ptr_nonnull(c);
	ck_assert_str_eq(c, "hand.tflite: tensor 0: shape too large");
	free(c);
	c = hand_built(huge2, 3, 0, 0, 0);
	ck_assert_str_eq(c, "hand.tflite: tensor 0: shape too large");
	free(c);
	c = hand_built(neg, 2, 0, 0, 0);
	ck_assert_str_eq(c, "hand.tflite: tensor 0: dimension 1 is -1");
	free(c);
	c = hand_built(ok, 2, 40, 0, 0);
	ck_assert_str_eq(c, "hand.tflite: tensor 1: buffer 40 out of range");
	free(c);
	c = hand_built(ok, 2, 0, 7, 0);
	ck_assert_str_eq(c, "hand.tflite: operator 0: tensor index 7 out of range");
	free(c);
	c = hand_built(ok, 2, 0, 0, 200);
	ck_assert_str_eq(c, "hand.tflite: operator 0: unsupported operator UNKNOWN");
	free(c);
	c = hand_built(ok, 2, 0, 0, 32);
	ck_assert_str_eq(c, "hand.tflite: operator 0: unsupported operator CUSTOM");
	free(c);
}
END_TEST

/* The cases that need no model file. */
int main(void)
{
	struct testutil_case cases[] = {
		{ empty_and_tiny_files, 0 },
		{ hostile_hand_built, 0 },
	};
	return testutil_run("tflite_malformed", 120, cases,
			    sizeof cases / sizeof cases[0]);
}

#endif /* TEST_WITH_MODELS */
