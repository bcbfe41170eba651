/*
 * test_vibsim.c - unit tests of the vibration simulator (tools/vibsim.c):
 * fault names and a table of malformed ones, refused arguments, the same
 * windows from the same seed, and the documented signal: the SNR, the
 * imbalance factor on the 1x line, the bearing fault's energy above 105
 * Hz and looseness's half-harmonic, each measured on the windows (the
 * spectral features of the feature library, a Hann-windowed DFT).
 */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "features/features.h"
#include "testutil.h"
#include "vibsim.h"

#define FR	VIBSIM_FRAMES
#define NWIN	20

/* Fault names parse; a table of malformed ones is refused. */
START_TEST(test_names)
{
	static const char *bad[] = {
		"", "Bearing", "bearing ", " bearing", "imbal", "normalx",
		"loose", "BEARING", "bearing\n", "fault", "4", "-1",
	};
	enum vibsim_fault	f = VIBSIM_NORMAL;
	size_t			i;
	int			k;

	for (k = 0; k < VIBSIM_NFAULTS; k++) {
		ck_assert_ptr_nonnull(vibsim_fault_name(k));
		ck_assert_int_eq(vibsim_fault_parse(vibsim_fault_name(k), &f), 0);
		ck_assert_int_eq(f, k);
	}
	ck_assert_ptr_null(vibsim_fault_name(VIBSIM_NFAULTS));
	ck_assert_ptr_null(vibsim_fault_name((enum vibsim_fault)-1));
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		f = VIBSIM_LOOSENESS;
		ck_assert_msg(vibsim_fault_parse(bad[i], &f) == -1, "%s", bad[i]);
		ck_assert_int_eq(f, VIBSIM_LOOSENESS);
	}
	ck_assert_int_eq(vibsim_fault_parse(NULL, &f), -1);
}
END_TEST

/* Arguments out of range are refused. */
START_TEST(test_refused)
{
	struct vibsim	*a = vibsim_new(5, VIBSIM_SNR_DB);
	struct vibsim	*b = vibsim_new(5, VIBSIM_SNR_DB);
	float		*x = calloc(FR * VIBSIM_AXES, sizeof *x);
	float		*y = calloc(FR * VIBSIM_AXES, sizeof *y);

	ck_assert_ptr_nonnull(a);
	ck_assert_int_eq(vibsim_window(a, VIBSIM_NORMAL, 1, x, 0), -1);
	ck_assert_int_eq(vibsim_window(a, VIBSIM_NORMAL, 1, x,
	    VIBSIM_MAX_FRAMES + 1), -1);
	ck_assert_int_eq(vibsim_window(a, VIBSIM_BEARING, -0.1, x, FR), -1);
	ck_assert_int_eq(vibsim_window(a, VIBSIM_BEARING, NAN, x, FR), -1);
	ck_assert_int_eq(vibsim_window(a, VIBSIM_BEARING, INFINITY, x, FR),
	    -1);
	ck_assert_int_eq(vibsim_window(a, VIBSIM_NFAULTS, 1, x, FR), -1);
	/* Nothing was drawn by the refusals: a and b are still in step. */
	ck_assert_int_eq(vibsim_window(a, VIBSIM_NORMAL, 1, x, FR), 0);
	ck_assert_int_eq(vibsim_window(b, VIBSIM_NORMAL, 1, y, FR), 0);
	ck_assert_mem_eq(x, y, FR * VIBSIM_AXES * sizeof *x);
	vibsim_free(a);
	vibsim_free(b);
	vibsim_free(NULL);
	free(x);
	free(y);
}
END_TEST

/* The same seed gives the same machine and windows, another seed not. */
START_TEST(test_seed)
{
	struct vibsim	*a = vibsim_new(42, VIBSIM_SNR_DB);
	struct vibsim	*b = vibsim_new(42, VIBSIM_SNR_DB);
	struct vibsim	*c = vibsim_new(43, VIBSIM_SNR_DB);
	float		*x = calloc(FR * VIBSIM_AXES, sizeof *x);
	float		*y = calloc(FR * VIBSIM_AXES, sizeof *y);
	int		 k;

	ck_assert_double_eq(vibsim_rotation_hz(a), vibsim_rotation_hz(b));
	ck_assert_double_ne(vibsim_rotation_hz(a), vibsim_rotation_hz(c));
	for (k = 0; k < VIBSIM_NFAULTS; k++) {
		ck_assert_int_eq(vibsim_window(a, k, 1, x, FR), 0);
		ck_assert_int_eq(vibsim_window(b, k, 1, y, FR), 0);
		ck_assert_mem_eq(x, y, FR * VIBSIM_AXES * sizeof *x);
	}
	ck_assert_int_eq(vibsim_window(c, VIBSIM_NORMAL, 1, y, FR), 0);
	ck_assert_int_eq(memcmp(x, y, FR * VIBSIM_AXES * sizeof *x) != 0, 1);
	/* The documented ranges. */
	for (k = 0; k < 200; k++) {
		struct vibsim *m = vibsim_new((uint64_t)k * 7919, 10);

		ck_assert(vibsim_rotation_hz(m) >= 10 &&
		    vibsim_rotation_hz(m) < 40);
		vibsim_free(m);
	}
	vibsim_free(a);
	vibsim_free(b);
	vibsim_free(c);
	free(x);
	free(y);
}
END_TEST

/* The amplitude of the strongest line within 3 % of hz on axis k. */
static double
line(const float *x, int k, double hz)
{
	double	best = 0, f, re, im, w, sw, ph;
	size_t	i;

	for (f = hz * 0.97; f <= hz * 1.03; f += hz * 0.002) {
		re = im = sw = 0;
		for (i = 0; i < FR; i++) {
			w = 0.5 - 0.5 * cos(2 * M_PI * (double)i / FR);
			ph = 2 * M_PI * f * (double)i / VIBSIM_RATE_HZ;
			re += w * x[i * VIBSIM_AXES + k] * cos(ph);
			im -= w * x[i * VIBSIM_AXES + k] * sin(ph);
			sw += w;
		}
		if (2 * hypot(re, im) / sw > best)
			best = 2 * hypot(re, im) / sw;
	}
	return (best);
}

/* Variance of axis k. */
static double
variance(const float *x, int k)
{
	double	s = 0, s2 = 0;
	size_t	i;

	for (i = 0; i < FR; i++) {
		s += x[i * VIBSIM_AXES + k];
		s2 += (double)x[i * VIBSIM_AXES + k] * x[i * VIBSIM_AXES + k];
	}
	return (s2 / FR - (s / FR) * (s / FR));
}

/* The mean over NWIN windows of m's fault of: x axis variance, 1x, 0.5x,
 * and the spectral band energy of x from 105 Hz up. */
static void
measure(uint64_t seed, double snr, enum vibsim_fault fault, double r[4])
{
	struct features_params	 p;
	struct features		*fe;
	struct vibsim		*m = vibsim_new(seed, snr);
	float			*x = calloc(FR * VIBSIM_AXES, sizeof *x), f[39];
	double			 f0 = vibsim_rotation_hz(m);
	int			 n;

	features_params_default(&p, FEATURES_SPECTRAL);
	ck_assert_int_eq(features_new(&p, &fe, NULL), 0);
	memset(r, 0, 4 * sizeof *r);
	for (n = 0; n < NWIN; n++) {
		ck_assert_int_eq(vibsim_window(m, fault, 1, x, FR), 0);
		r[0] += variance(x, 0) / NWIN;
		r[1] += line(x, 0, f0) / NWIN;
		r[2] += line(x, 1, f0 / 2) / NWIN;
		ck_assert_int_eq(features_compute(fe, x, FR, VIBSIM_AXES,
		    VIBSIM_INTERVAL_US, f, 39, NULL), 0);
		/* Bands 6 and 7 of 1 .. 500 Hz: 105 .. 500 Hz. */
		r[3] += (f[5 + 6] + f[5 + 7]) / NWIN;
	}
	features_free(fe);
	vibsim_free(m);
	free(x);
}

/* The documented signal: SNR, imbalance, bearing and looseness. */
START_TEST(test_signal)
{
	double		 n[4], b[4], im[4], lo[4], quiet[4], sd;
	uint64_t	 seed = 1000 + (uint64_t)_i;
	struct vibsim	*m = vibsim_new(seed, VIBSIM_SNR_DB);

	sd = vibsim_noise_sd(m);
	vibsim_free(m);
	measure(seed, VIBSIM_SNR_DB, VIBSIM_NORMAL, n);
	/* Variance = signal + noise = noise * (1 + 10^(SNR/10)), within the
	 * load wander. */
	ck_assert_msg(fabs(n[0] / (sd * sd) / 11 - 1) < 0.15, "%g",
	    n[0] / (sd * sd));
	measure(seed, VIBSIM_SNR_DB, VIBSIM_IMBALANCE, im);
	ck_assert_msg(fabs(im[1] / n[1] - 1.5) < 0.15, "1x ratio %g",
	    im[1] / n[1]);
	measure(seed, VIBSIM_SNR_DB, VIBSIM_BEARING, b);
	ck_assert_msg(b[3] > 1.2 * n[3], "bearing %g normal %g", b[3], n[3]);
	ck_assert_msg(fabs(b[1] / n[1] - 1) < 0.1, "1x ratio %g", b[1] / n[1]);
	measure(seed, VIBSIM_SNR_DB, VIBSIM_LOOSENESS, lo);
	ck_assert_msg(lo[2] > 2 * n[2], "0.5x %g normal %g", lo[2], n[2]);
	/* More SNR, less noise: the noise floor at 0.5x drops. */
	measure(seed, 30, VIBSIM_NORMAL, quiet);
	ck_assert_msg(quiet[2] < 0.5 * n[2], "%g %g", quiet[2], n[2]);
}
END_TEST

/* Run the suite. */
int
main(void)
{
	const struct testutil_case cases[] = {
		{ test_names, 0 },
		{ test_refused, 0 },
		{ test_seed, 0 },
		{ test_signal, 4 },
	};

	return (testutil_run("vibsim", 60, cases, sizeof cases /
	    sizeof cases[0]));
}
