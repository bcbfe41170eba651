/*
 * test_features.c - unit tests of the feature library (src/features/):
 * mfcc and its log-mel stage against numpy values computed during the run
 * by tests/unit/features_ref.py (default MLPerf KWS parameters and a
 * non-default set), peak normalisation making the features independent of
 * the input scale, a pure tone landing in the right mel band, spectral
 * statistics on hand-computable signals and against numpy, the Butterworth
 * filters' gains, raw copies and int8 quantisation (half away from zero,
 * clamping, zero point), a table of malformed parameters and windows, a
 * thread check and the mfcc time per 1 s window.
 *
 * Measured accuracies go to stderr as "# ..." lines (the TAP log).
 */
#include <check.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "features/features.h"
#include "testutil.h"

#define KWS_N	16000		/* 1 s at 16 kHz */

/* Seeded xorshift64*: the same test signal on every run. */
static uint64_t rng_state;

/* Next uniform double in [0, 1). */
static double
rng_uniform(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (double)((rng_state * 2685821657736338717ULL) >> 11) /
	    9007199254740992.0;
}

/* Standard normal by Box-Muller. */
static double
rng_normal(void)
{
	double	u = rng_uniform(), v = rng_uniform();

	return sqrt(-2.0 * log(u + 1e-300)) * cos(2.0 * M_PI * v);
}

/* A tone plus a second tone plus seeded Gaussian noise, in [-1, 1]-ish. */
static void
make_speechish(float *x, size_t n, double rate, uint64_t seed)
{
	size_t	i;

	rng_state = seed;
	for (i = 0; i < n; i++) {
		double	t = (double)i / rate;

		x[i] = (float)(0.4 * sin(2.0 * M_PI * 1000.0 * t) +
		    0.2 * sin(2.0 * M_PI * 440.0 * t + 0.3) +
		    0.05 * rng_normal());
	}
}

/*
 * Write x[n] to a temporary file, run the numpy reference on it and read
 * back exactly `want` values into ref[].  `args` are extra key=value words.
 */
static void
numpy_ref(const char *kind, const float *x, size_t n, const char *args,
    double *ref, size_t want)
{
	const char	*src = getenv("TE_SRCDIR");
	char		 path[] = "/tmp/te-features-XXXXXX";
	char		 cmd[2048];
	FILE		*fp;
	size_t		 got = 0;
	int		 fd;

	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, x, n * sizeof *x), (ssize_t)(n * sizeof *x));
	close(fd);
	snprintf(cmd, sizeof cmd, "/usr/bin/python3 %s/tests/unit/features_ref.py "
	    "%s %s %s", src != NULL ? src : ".", kind, path, args);
	fp = popen(cmd, "r");
	ck_assert_ptr_nonnull(fp);
	while (got < want && fscanf(fp, "%lf", &ref[got]) == 1)
		got++;
	ck_assert_msg(pclose(fp) == 0, "'%s' failed (python3-numpy missing?)",
	    cmd);
	unlink(path);
	ck_assert_msg(got == want, "numpy gave %zu values, want %zu", got,
	    want);
}

/* max |a - b| / max |b|: error relative to the largest reference value. */
static double
rel_to_max(const float *a, const double *b, size_t n)
{
	double	maxref = 0.0, maxerr = 0.0;
	size_t	i;

	for (i = 0; i < n; i++) {
		maxref = fmax(maxref, fabs(b[i]));
		maxerr = fmax(maxerr, fabs((double)a[i] - b[i]));
	}
	return maxerr / (maxref > 0.0 ? maxref : 1.0);
}

/* max |a - b| / |b| over elements with |b| >= floor. */
static double
rel_each(const float *a, const double *b, size_t n, double floor)
{
	double	e = 0.0;
	size_t	i;

	for (i = 0; i < n; i++)
		if (fabs(b[i]) >= floor)
			e = fmax(e, fabs((double)a[i] - b[i]) / fabs(b[i]));
	return e;
}

/* Build a state or fail the test with the cause. */
static struct features *
make(const struct features_params *p)
{
	struct features	*f;
	char		*cause = NULL;

	ck_assert_msg(features_new(p, &f, &cause) == 0, "features_new: %s",
	    cause != NULL ? cause : "?");
	ck_assert_ptr_null(cause);
	return f;
}

/* Every default, and the lengths and dims they give. */
START_TEST(test_defaults)
{
	struct features_params	 p;
	struct features		*f;
	size_t			 len, r, c;
	enum features_kind	 k;

	features_params_default(&p, FEATURES_MFCC);
	ck_assert_double_eq(p.mfcc_sample_rate, 16000.0);
	ck_assert_int_eq(p.mfcc_frame_length, 480);
	ck_assert_int_eq(p.mfcc_frame_step, 320);
	ck_assert_int_eq(p.mfcc_fft_length, 512);
	ck_assert_int_eq(p.mfcc_mel_bins, 40);
	ck_assert_double_eq(p.mfcc_lower_hz, 20.0);
	ck_assert_double_eq(p.mfcc_upper_hz, 4000.0);
	ck_assert_double_eq(p.mfcc_log_offset, 1e-6);
	ck_assert_int_eq(p.mfcc_coefficients, 10);
	ck_assert_int_eq(p.mfcc_frames, 49);
	ck_assert_int_eq(p.mfcc_normalize, 1);
	f = make(&p);
	ck_assert_uint_eq(features_fixed_len(f), 490);
	features_dims(f, &r, &c);
	ck_assert_uint_eq(r, 49);
	ck_assert_uint_eq(c, 10);
	/* 1 + (16000 - 480) / 320 = 49 frames; 15840..16159 samples do. */
	ck_assert_int_eq(features_output_len(f, KWS_N, 1, &len, NULL), 0);
	ck_assert_uint_eq(len, 490);
	ck_assert_int_eq(features_output_len(f, 15840, 1, &len, NULL), 0);
	ck_assert_int_eq(features_output_len(f, 16159, 1, &len, NULL), 0);
	features_free(f);

	features_params_default(&p, FEATURES_SPECTRAL);
	ck_assert_int_eq(p.spectral_axes, 3);
	ck_assert_int_eq(p.spectral_bands, 8);
	f = make(&p);
	ck_assert_uint_eq(features_fixed_len(f), 3 * 13);
	features_dims(f, &r, &c);
	ck_assert_uint_eq(r, 3);
	ck_assert_uint_eq(c, 13);
	features_free(f);

	features_params_default(&p, FEATURES_RAW);
	f = make(&p);
	ck_assert_uint_eq(features_fixed_len(f), 0);
	ck_assert_int_eq(features_output_len(f, 49, 10, &len, NULL), 0);
	ck_assert_uint_eq(len, 490);
	features_free(f);

	ck_assert_str_eq(features_kind_name(FEATURES_SPECTRAL), "spectral");
	ck_assert_ptr_null(features_kind_name((enum features_kind)7));
	ck_assert_int_eq(features_kind_parse("mfcc", &k), 0);
	ck_assert_int_eq(k, FEATURES_MFCC);
	ck_assert_int_eq(features_kind_parse("fft", &k), -1);
	features_free(NULL);
}
END_TEST

/* Setting parameters by key: numbers parsed, bad keys and text refused. */
START_TEST(test_params_set)
{
	struct features_params	 p;
	char			*cause = NULL;

	features_params_default(&p, FEATURES_MFCC);
	ck_assert_int_eq(features_params_set(&p, "mfcc_mel_bins", "32",
	    &cause), 0);
	ck_assert_int_eq(p.mfcc_mel_bins, 32);
	ck_assert_int_eq(features_params_set(&p, "mfcc_upper_hz", "7600.5",
	    &cause), 0);
	ck_assert_double_eq(p.mfcc_upper_hz, 7600.5);
	ck_assert_int_eq(features_params_set(&p, "spectral_lowpass_hz", "1e2",
	    &cause), 0);
	ck_assert_double_eq(p.spectral_lowpass_hz, 100.0);
	ck_assert_int_eq(features_params_set(&p, "mfcc_frames", "-3",
	    &cause), 0);
	ck_assert_int_eq(p.mfcc_frames, -3);	/* features_new rejects it */

	ck_assert_int_eq(features_params_set(&p, "mfcc_bins", "3", &cause), -1);
	ck_assert_str_eq(cause, "unknown feature parameter 'mfcc_bins'");
	free(cause);
	ck_assert_int_eq(features_params_set(&p, "mfcc_frames", "4x", &cause),
	    -1);
	ck_assert_str_eq(cause, "mfcc_frames: '4x' is not an integer");
	free(cause);
	ck_assert_int_eq(features_params_set(&p, "mfcc_frames", "", &cause),
	    -1);
	free(cause);
	ck_assert_int_eq(features_params_set(&p, "mfcc_frames", "99999999999",
	    &cause), -1);
	free(cause);
	ck_assert_int_eq(features_params_set(&p, "mfcc_lower_hz", "nan",
	    &cause), -1);
	ck_assert_str_eq(cause, "mfcc_lower_hz: 'nan' is not a finite number");
	free(cause);
	ck_assert_int_eq(features_params_set(&p, "mfcc_lower_hz", "inf",
	    NULL), -1);
}
END_TEST

/* One mfcc comparison: our mfcc and log-mel against numpy's. */
static void
mfcc_vs_numpy(const struct features_params *p, const float *x, size_t n,
    const char *args, const char *what)
{
	struct features	*f = make(p);
	size_t		 nc = (size_t)p->mfcc_frames * (size_t)p->mfcc_coefficients;
	size_t		 nm = (size_t)p->mfcc_frames * (size_t)p->mfcc_mel_bins;
	float		*out = calloc(nc, sizeof *out);
	float		*lm = calloc(nm, sizeof *lm);
	double		*ref = calloc(nm, sizeof *ref);
	char		*cause = NULL;
	double		 e_mfcc, e_each, e_lm;

	ck_assert_int_eq(features_compute(f, x, n, 1, 0, out, nc, &cause), 0);
	numpy_ref("mfcc", x, n, args, ref, nc);
	e_mfcc = rel_to_max(out, ref, nc);
	e_each = rel_each(out, ref, nc, 0.05);
	ck_assert_int_eq(features_log_mel(f, x, n, 1, lm, nm, &cause), 0);
	numpy_ref("logmel", x, n, args, ref, nm);
	e_lm = rel_each(lm, ref, nm, 0.05);
	fprintf(stderr, "# mfcc %s: max |err| / max |coef| = %.2e, max "
	    "per-coefficient rel err (|coef| >= 0.05) = %.2e, log-mel max rel "
	    "err (|value| >= 0.05) = %.2e\n", what, e_mfcc, e_each, e_lm);
	ck_assert_msg(e_mfcc <= 1e-3, "mfcc %s rel error %g", what, e_mfcc);
	ck_assert_msg(e_lm <= 1e-3, "log-mel %s rel error %g", what, e_lm);
	free(out);
	free(lm);
	free(ref);
	features_free(f);
}

/* mfcc and log-mel against numpy, defaults and every parameter moved. */
START_TEST(test_mfcc_numpy)
{
	struct features_params	 p;
	float			*x = calloc(KWS_N, sizeof *x);

	/* MLPerf Tiny KWS defaults on a 1 s window. */
	features_params_default(&p, FEATURES_MFCC);
	make_speechish(x, KWS_N, 16000.0, 0x5eed);
	mfcc_vs_numpy(&p, x, KWS_N, "", "defaults");

	/* Every parameter moved: 8 kHz, odd frame length, 13 of 26, no
	 * peak normalisation. */
	p.mfcc_sample_rate = 8000.0;
	p.mfcc_frame_length = 200;
	p.mfcc_frame_step = 80;
	p.mfcc_fft_length = 256;
	p.mfcc_mel_bins = 26;
	p.mfcc_lower_hz = 125.0;
	p.mfcc_upper_hz = 3800.0;
	p.mfcc_log_offset = 1e-3;
	p.mfcc_coefficients = 13;
	p.mfcc_frames = 1 + (8000 - 200) / 80;
	p.mfcc_normalize = 0;
	make_speechish(x, 8000, 8000.0, 42);
	mfcc_vs_numpy(&p, x, 8000, "sample_rate=8000 frame_length=200 "
	    "frame_step=80 fft_length=256 mel_bins=26 lower_hz=125 "
	    "upper_hz=3800 log_offset=1e-3 coefficients=13 normalize=0",
	    "8k/26/13");
	free(x);
}
END_TEST

/* Peak normalisation: the same features for any input scale. */
START_TEST(test_mfcc_normalize)
{
	struct features_params	 p;
	struct features		*f;
	float			*x = calloc(KWS_N, sizeof *x);
	float			 a[490], b[490];
	size_t			 i;
	double			 e;

	/* Normalised: int16-scale samples give the [-1, 1] features. */
	features_params_default(&p, FEATURES_MFCC);
	f = make(&p);
	make_speechish(x, KWS_N, 16000.0, 3);
	ck_assert_int_eq(features_compute(f, x, KWS_N, 1, 0, a, 490, NULL), 0);
	for (i = 0; i < KWS_N; i++)
		x[i] *= 32767.0f;
	ck_assert_int_eq(features_compute(f, x, KWS_N, 1, 0, b, 490, NULL), 0);
	for (e = 0.0, i = 0; i < 490; i++)
		e = fmax(e, fabs(a[i] - b[i]));
	ck_assert_msg(e < 1e-3, "scale changed mfcc by %g", e);
	features_free(f);
	/* Without it the scale shows (log is not scale-invariant). */
	p.mfcc_normalize = 0;
	f = make(&p);
	ck_assert_int_eq(features_compute(f, x, KWS_N, 1, 0, b, 490, NULL), 0);
	ck_assert_float_gt(fabs(a[0] - b[0]), 1.0);
	features_free(f);
	free(x);
}
END_TEST

/* Centre frequency (Hz) of mel band b for the parameters in p. */
static double
mel_center_hz(const struct features_params *p, int b)
{
	double	lo = 1127.0 * log(1.0 + p->mfcc_lower_hz / 700.0);
	double	hi = 1127.0 * log(1.0 + p->mfcc_upper_hz / 700.0);
	double	m = lo + (hi - lo) * (b + 1) / (p->mfcc_mel_bins + 1);

	return 700.0 * (exp(m / 1127.0) - 1.0);
}

/* A pure tone peaks in the mel band nearest to it; silence is log(1e-6). */
START_TEST(test_mfcc_tone_bin)
{
	static const double	 tones[] = { 150.0, 500.0, 1000.0, 2500.0,
	    3700.0 };
	struct features_params	 p;
	struct features		*f;
	float			*x = calloc(KWS_N, sizeof *x);
	float			 lm[49 * 40];
	size_t			 i, t;

	features_params_default(&p, FEATURES_MFCC);
	f = make(&p);
	for (i = 0; i < sizeof tones / sizeof tones[0]; i++) {
		int	want = 0, b;
		size_t	n;

		for (n = 0; n < KWS_N; n++)
			x[n] = (float)(0.5 * sin(2.0 * M_PI * tones[i] *
			    (double)n / 16000.0));
		/* The band whose centre is nearest the tone. */
		for (b = 1; b < p.mfcc_mel_bins; b++)
			if (fabs(mel_center_hz(&p, b) - tones[i]) <
			    fabs(mel_center_hz(&p, want) - tones[i]))
				want = b;
		ck_assert_int_eq(features_log_mel(f, x, KWS_N, 1, lm, 49 * 40,
		    NULL), 0);
		for (t = 0; t < 49; t++) {
			int	best = 0;

			for (b = 1; b < 40; b++)
				if (lm[t * 40 + b] > lm[t * 40 + best])
					best = b;
			ck_assert_msg(best == want, "tone %g Hz frame %zu: "
			    "peak in band %d, want %d", tones[i], t, best,
			    want);
		}
	}
	/* Silence: every log-mel value is log(1e-6). */
	memset(x, 0, KWS_N * sizeof *x);
	ck_assert_int_eq(features_log_mel(f, x, KWS_N, 1, lm, 49 * 40, NULL),
	    0);
	for (t = 0; t < 49 * 40; t++)
		ck_assert_float_eq_tol(lm[t], log(1e-6), 1e-5);
	features_free(f);
	free(x);
}
END_TEST

/* Run spectral on v (frames x axes) at `interval_us`, all values out. */
static void
spectral_of(const struct features_params *p, const float *v, size_t frames,
    uint32_t interval_us, float *out)
{
	struct features	*f = make(p);
	char		*cause = NULL;
	size_t		 len;

	ck_assert_int_eq(features_output_len(f, frames,
	    (size_t)p->spectral_axes, &len, NULL), 0);
	ck_assert_msg(features_compute(f, v, frames, (size_t)p->spectral_axes,
	    interval_us, out, len, &cause) == 0, "%s", cause);
	features_free(f);
}

/* Band index of frequency hz with the edges the library documents. */
static int
band_of(const struct features_params *p, double hz, double nyq)
{
	int	b;

	for (b = p->spectral_bands - 1; b > 0; b--)
		if (hz >= p->spectral_low_hz * pow(nyq / p->spectral_low_hz,
		    (double)b / p->spectral_bands))
			break;
	return b;
}

/* spectral on constant axes and whole-period sines, by hand. */
START_TEST(test_spectral_hand)
{
	struct features_params	 p;
	static float		 v[200 * 3];
	float			 out[3 * 13];
	double			 total;
	size_t			 i;
	int			 b, want;

	/* Constant axes: mean = value, RMS = |value|, the rest 0. */
	features_params_default(&p, FEATURES_SPECTRAL);
	for (i = 0; i < 200; i++) {
		v[i * 3] = 1.5f;
		v[i * 3 + 1] = -9.81f;
		v[i * 3 + 2] = 0.0f;
	}
	spectral_of(&p, v, 200, 10000, out);
	ck_assert_float_eq(out[0], 1.5f);
	ck_assert_float_eq(out[13], -9.81f);
	ck_assert_float_eq(out[26], 0.0f);
	ck_assert_float_eq_tol(out[1], 1.5f, 1e-6);
	ck_assert_float_eq_tol(out[14], 9.81f, 1e-5);
	for (i = 0; i < 3; i++) {
		ck_assert_float_eq(out[i * 13 + 2], 0.0f);	/* std */
		ck_assert_float_eq(out[i * 13 + 3], 0.0f);	/* skew */
		ck_assert_float_eq(out[i * 13 + 4], 0.0f);	/* kurtosis */
		for (b = 0; b < 8; b++)
			ck_assert_float_eq(out[i * 13 + 5 + b], 0.0f);
	}

	/* Sines of amplitude 2 at 5 and 20 Hz, 100 Hz sampling, whole
	 * periods: RMS = std = A/sqrt(2), mean 0, skewness 0, excess
	 * kurtosis -1.5, power A^2/2 in the band holding the frequency. */
	for (i = 0; i < 200; i++) {
		v[i * 3] = (float)(2.0 * sin(2.0 * M_PI * 5.0 * i / 100.0));
		v[i * 3 + 1] = (float)(2.0 * sin(2.0 * M_PI * 20.0 * i /
		    100.0));
		v[i * 3 + 2] = (float)(3.0 + 2.0 * sin(2.0 * M_PI * 5.0 * i /
		    100.0));
	}
	spectral_of(&p, v, 200, 10000, out);
	for (i = 0; i < 3; i++) {
		const float	*o = out + i * 13;

		ck_assert_float_eq_tol(o[0], i == 2 ? 3.0 : 0.0, 1e-5);
		ck_assert_float_eq_tol(o[1], i == 2 ? sqrt(9.0 + 2.0) :
		    2.0 / sqrt(2.0), 1e-5);
		ck_assert_float_eq_tol(o[2], 2.0 / sqrt(2.0), 1e-5);
		ck_assert_float_eq_tol(o[3], 0.0, 1e-4);
		ck_assert_float_eq_tol(o[4], -1.5, 1e-4);
		want = band_of(&p, i == 1 ? 20.0 : 5.0, 50.0);
		total = 0.0;
		for (b = 0; b < 8; b++)
			total += o[5 + b];
		ck_assert_msg(fabs(total - 2.0) < 0.02, "axis %zu total "
		    "power %g, want 2", i, total);
		ck_assert_msg(o[5 + want] > 0.95 * total, "axis %zu band %d "
		    "holds %g of %g", i, want, o[5 + want], total);
	}
	ck_assert_int_ne(band_of(&p, 5.0, 50.0), band_of(&p, 20.0, 50.0));
}
END_TEST

/* spectral against numpy, through several window lengths. */
START_TEST(test_spectral_numpy)
{
	static const size_t	 lens[] = { 256, 300, 1000, 300 };
	struct features_params	 p;
	struct features		*f;
	static float		 v[1000 * 3];
	float			 out[3 * 13];
	double			 ref[3 * 13], e_stat = 0.0, e_band = 0.0;
	char			*cause = NULL;
	size_t			 i, k, a;

	features_params_default(&p, FEATURES_SPECTRAL);
	f = make(&p);
	rng_state = 7;
	/* The same state through several lengths: the FFT is resized. */
	for (k = 0; k < sizeof lens / sizeof lens[0]; k++) {
		size_t	n = lens[k];

		for (i = 0; i < n; i++) {
			double	t = i / 100.0;

			v[i * 3] = (float)(0.3 * rng_normal() +
			    sin(2.0 * M_PI * 3.0 * t));
			/* Skewed: squared noise plus gravity. */
			v[i * 3 + 1] = (float)(9.81 + pow(rng_normal(), 2.0));
			v[i * 3 + 2] = (float)(0.5 * sin(2.0 * M_PI * 31.0 * t) +
			    0.1 * rng_normal());
		}
		ck_assert_msg(features_compute(f, v, n, 3, 10000, out, 39,
		    &cause) == 0, "%s", cause);
		numpy_ref("spectral", v, n * 3, "", ref, 39);
		for (a = 0; a < 3; a++) {
			double	bmax = 0.0;

			for (i = 0; i < 5; i++) {
				double	r = ref[a * 13 + i];
				double	d = fabs(out[a * 13 + i] - r);

				e_stat = fmax(e_stat, d / fmax(fabs(r), 1e-2));
			}
			/*
			 * Comparisons, not fmax(): gcc 12.2 for aarch64
			 * crashes vectorizing these fmax reductions.
			 */
			for (i = 5; i < 13; i++)
				if (ref[a * 13 + i] > bmax)
					bmax = ref[a * 13 + i];
			for (i = 5; i < 13; i++) {
				double	d = fabs(out[a * 13 + i] -
				    ref[a * 13 + i]) / bmax;

				if (d > e_band)
					e_band = d;
			}
		}
	}
	fprintf(stderr, "# spectral vs numpy: statistics max rel err %.2e, "
	    "band powers max err / max band %.2e\n", e_stat, e_band);
	ck_assert_msg(e_stat <= 1e-5, "statistics rel error %g", e_stat);
	ck_assert_msg(e_band <= 1e-4, "band rel error %g", e_band);
	features_free(f);
}
END_TEST

/*
 * Gain of a digital (bilinear, pre-warped) Butterworth-2 at f for cutoff
 * fc: 1 / sqrt(1 + r^4), r = tan(pi f / fs) / tan(pi fc / fs), inverted
 * for a high-pass.
 */
static double
butter_gain(double f, double fc, double fs, int highpass)
{
	double	r = tan(M_PI * f / fs) / tan(M_PI * fc / fs);

	if (highpass)
		r = 1.0 / r;
	return 1.0 / sqrt(1.0 + pow(r, 4.0));
}

/* RMS (output 1) of a one-axis spectral run with the given filters. */
static double
filtered_rms(double lowpass, double highpass, const float *x, size_t n,
    float *mean)
{
	struct features_params	p;
	float			out[13];

	features_params_default(&p, FEATURES_SPECTRAL);
	p.spectral_axes = 1;
	p.spectral_lowpass_hz = lowpass;
	p.spectral_highpass_hz = highpass;
	spectral_of(&p, x, n, 1000, out);
	if (mean != NULL)
		*mean = out[0];
	return out[1];
}

/* The Butterworth filters: gains at and beyond the cutoff, offsets. */
START_TEST(test_spectral_filter)
{
	static float	x[4000];
	float		mean;
	size_t		i;
	double		r, want;

	/* At the cutoff a Butterworth-2 passes 1/sqrt(2): RMS 0.5 of a unit
	 * sine (1/sqrt(2) unfiltered). */
	for (i = 0; i < 4000; i++)
		x[i] = (float)sin(2.0 * M_PI * 50.0 * i / 1000.0);
	r = filtered_rms(50.0, 0.0, x, 4000, NULL);
	ck_assert_msg(fabs(r - 0.5) < 0.005, "low-pass at cutoff: RMS %g", r);
	r = filtered_rms(0.0, 50.0, x, 4000, NULL);
	ck_assert_msg(fabs(r - 0.5) < 0.005, "high-pass at cutoff: RMS %g", r);

	/* 10 Hz + 200 Hz, low-pass 50: each sine scaled by the digital
	 * Butterworth gain. */
	for (i = 0; i < 4000; i++)
		x[i] = (float)(sin(2.0 * M_PI * 10.0 * i / 1000.0) +
		    sin(2.0 * M_PI * 200.0 * i / 1000.0));
	r = filtered_rms(50.0, 0.0, x, 4000, NULL);
	want = sqrt(0.5 * pow(butter_gain(10, 50, 1000, 0), 2) +
	    0.5 * pow(butter_gain(200, 50, 1000, 0), 2));
	fprintf(stderr, "# low-pass 50 Hz on 10 + 200 Hz: RMS %.5f, "
	    "Butterworth response gives %.5f\n", r, want);
	ck_assert_msg(fabs(r - want) < 0.005, "low-pass: RMS %g want %g", r,
	    want);
	/* Band-pass 100..300 keeps (most of) the 200 Hz sine only. */
	r = filtered_rms(300.0, 100.0, x, 4000, NULL);
	want = sqrt(0.5) * butter_gain(200, 300, 1000, 0) *
	    butter_gain(200, 100, 1000, 1);
	ck_assert_msg(fabs(r - want) < 0.005, "band-pass: RMS %g want %g", r,
	    want);

	/* Gravity plus vibration, high-pass 20 Hz: the offset is gone from
	 * the first sample on (no start-up transient). */
	for (i = 0; i < 4000; i++)
		x[i] = (float)(9.81 + sin(2.0 * M_PI * 200.0 * i / 1000.0));
	r = filtered_rms(0.0, 20.0, x, 4000, &mean);
	ck_assert_msg(fabs(mean) < 1e-3, "high-pass mean %g", (double)mean);
	ck_assert_msg(fabs(r - sqrt(0.5) * butter_gain(200, 20, 1000, 1)) <
	    0.005, "high-pass RMS %g", r);
	/* ...and a low-pass keeps it exactly. */
	r = filtered_rms(5.0, 0.0, x, 4000, &mean);
	ck_assert_msg(fabs(mean - 9.81) < 1e-3, "low-pass mean %g",
	    (double)mean);
}
END_TEST

/* int8 quantisation (half away from zero, clamp, zero point) and raw. */
START_TEST(test_raw_quantize)
{
	/* Scale 0.5: scaled values 2.5, -2.5, 1.5, -1.5, 0.4, -0.4, 0.5,
	 * -0.5, 300, -300, 127.4, -128.4. */
	static const float	in[] = { 1.25f, -1.25f, 0.75f, -0.75f, 0.2f,
	    -0.2f, 0.25f, -0.25f, 150.0f, -150.0f, 63.7f, -64.2f };
	static const int8_t	zp0[] = { 3, -3, 2, -2, 0, 0, 1, -1, 127, -128,
	    127, -128 };
	static const int8_t	zp10[] = { 13, 7, 12, 8, 10, 10, 11, 9, 127,
	    -128, 127, -118 };
	struct features_params	 p;
	struct features		*f;
	float			 raw[12];
	int8_t			 q[12];
	size_t			 len;
	float			 bad[2] = { 1.0f, NAN };

	ck_assert_int_eq(features_quantize(in, 12, 0.5f, 0, q), 2);
	ck_assert_mem_eq(q, zp0, sizeof zp0);
	ck_assert_int_eq(features_quantize(in, 12, 0.5f, 10, q), 3);
	ck_assert_mem_eq(q, zp10, sizeof zp10);
	ck_assert_int_eq(features_quantize(in, 1, 0.5f, -128, q), 0);
	ck_assert_int_eq(q[0], -125);
	ck_assert_int_eq(features_quantize(in, 0, 0.5f, 0, q), 0);
	ck_assert_int_eq(features_quantize(in, 12, 0.0f, 0, q), -1);
	ck_assert_int_eq(features_quantize(in, 12, -1.0f, 0, q), -1);
	ck_assert_int_eq(features_quantize(in, 12, NAN, 0, q), -1);
	ck_assert_int_eq(features_quantize(bad, 2, 1.0f, 0, q), -1);

	/* raw: the window in row order, 4 frames x 3 axes. */
	features_params_default(&p, FEATURES_RAW);
	f = make(&p);
	ck_assert_int_eq(features_output_len(f, 4, 3, &len, NULL), 0);
	ck_assert_uint_eq(len, 12);
	ck_assert_int_eq(features_compute(f, in, 4, 3, 0, raw, 12, NULL), 0);
	ck_assert_mem_eq(raw, in, sizeof in);
	features_free(f);
}
END_TEST

/* A parameter that features_new must refuse, and a word of the cause. */
struct bad_param {
	enum features_kind	 kind;
	const char		*key;
	const char		*value;
	const char		*cause_has;
};

/* A table of refused parameters, each with its message. */
START_TEST(test_bad_params)
{
	static const struct bad_param	rows[] = {
		{ FEATURES_MFCC, "mfcc_sample_rate", "0", "mfcc_sample_rate" },
		{ FEATURES_MFCC, "mfcc_sample_rate", "-16000", "out of range" },
		{ FEATURES_MFCC, "mfcc_frame_length", "0", "mfcc_frame_length" },
		{ FEATURES_MFCC, "mfcc_frame_length", "-480", "out of range" },
		{ FEATURES_MFCC, "mfcc_frame_step", "0", "mfcc_frame_step" },
		{ FEATURES_MFCC, "mfcc_fft_length", "256", "shorter than" },
		{ FEATURES_MFCC, "mfcc_fft_length", "513", "even" },
		{ FEATURES_MFCC, "mfcc_fft_length", "1000000", "out of range" },
		{ FEATURES_MFCC, "mfcc_mel_bins", "0", "mfcc_mel_bins" },
		{ FEATURES_MFCC, "mfcc_mel_bins", "5", "mfcc_coefficients" },
		{ FEATURES_MFCC, "mfcc_coefficients", "0", "mfcc_coefficients" },
		{ FEATURES_MFCC, "mfcc_coefficients", "41", "mfcc_coefficients" },
		{ FEATURES_MFCC, "mfcc_frames", "0", "mfcc_frames" },
		{ FEATURES_MFCC, "mfcc_frames", "-1", "mfcc_frames" },
		{ FEATURES_MFCC, "mfcc_normalize", "2", "mfcc_normalize" },
		{ FEATURES_MFCC, "mfcc_normalize", "-1", "mfcc_normalize" },
		{ FEATURES_MFCC, "mfcc_log_offset", "0", "mfcc_log_offset" },
		{ FEATURES_MFCC, "mfcc_log_offset", "-1e-6", "mfcc_log_offset" },
		{ FEATURES_MFCC, "mfcc_lower_hz", "-20", "mfcc_lower_hz" },
		{ FEATURES_MFCC, "mfcc_lower_hz", "4000", "not below" },
		{ FEATURES_MFCC, "mfcc_upper_hz", "8001", "mfcc_upper_hz" },
		{ FEATURES_SPECTRAL, "spectral_axes", "0", "spectral_axes" },
		{ FEATURES_SPECTRAL, "spectral_axes", "-3", "spectral_axes" },
		{ FEATURES_SPECTRAL, "spectral_bands", "0", "spectral_bands" },
		{ FEATURES_SPECTRAL, "spectral_bands", "5000", "spectral_bands" },
		{ FEATURES_SPECTRAL, "spectral_low_hz", "0", "spectral_low_hz" },
		{ FEATURES_SPECTRAL, "spectral_low_hz", "-1", "spectral_low_hz" },
		{ FEATURES_SPECTRAL, "spectral_lowpass_hz", "-5",
		    "spectral_lowpass_hz" },
		{ FEATURES_SPECTRAL, "spectral_highpass_hz", "-5",
		    "spectral_highpass_hz" },
	};
	struct features_params	 p;
	struct features		*f;
	char			*cause;
	size_t			 i;

	for (i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		features_params_default(&p, rows[i].kind);
		cause = NULL;
		ck_assert_int_eq(features_params_set(&p, rows[i].key,
		    rows[i].value, &cause), 0);
		f = (struct features *)&p;	/* must be reset to NULL */
		ck_assert_msg(features_new(&p, &f, &cause) == -1, "row %zu "
		    "(%s = %s) accepted", i, rows[i].key, rows[i].value);
		ck_assert_ptr_null(f);
		ck_assert_ptr_nonnull(cause);
		ck_assert_msg(strstr(cause, rows[i].cause_has) != NULL,
		    "row %zu: '%s' lacks '%s'", i, cause, rows[i].cause_has);
		ck_assert_ptr_null(strchr(cause, '\n'));
		free(cause);
	}
	/* Both filters, high-pass above low-pass. */
	features_params_default(&p, FEATURES_SPECTRAL);
	p.spectral_lowpass_hz = 10.0;
	p.spectral_highpass_hz = 20.0;
	ck_assert_int_eq(features_new(&p, &f, &cause), -1);
	ck_assert_str_eq(cause, "spectral_highpass_hz = 20 is not below "
	    "spectral_lowpass_hz = 10");
	free(cause);
	/* Unknown kind; a NULL cause pointer is fine. */
	features_params_default(&p, (enum features_kind)9);
	ck_assert_int_eq(features_new(&p, &f, &cause), -1);
	ck_assert_str_eq(cause, "unknown feature kind 9");
	free(cause);
	ck_assert_int_eq(features_new(&p, &f, NULL), -1);
}
END_TEST

/* A window that features_compute must refuse, and a word of the cause. */
struct bad_window {
	enum features_kind	 kind;
	size_t			 frames;
	size_t			 axes;
	uint32_t		 interval_us;
	long			 nan_at;	/* -1: none */
	long			 len_delta;	/* added to the right length */
	double			 lowpass_hz;
	const char		*cause_has;
};

/* A table of refused windows and output sizes, each with its message. */
START_TEST(test_bad_windows)
{
	static const struct bad_window	rows[] = {
		{ FEATURES_MFCC, 16000, 2, 0, -1, 0, 0, "single-axis" },
		{ FEATURES_MFCC, 8000, 1, 0, -1, 0, 0,
		    "needs 15840..16159 samples" },
		{ FEATURES_MFCC, 479, 1, 0, -1, 0, 0, "the window has 479" },
		{ FEATURES_MFCC, 16160, 1, 0, -1, 0, 0, "the window has 16160" },
		{ FEATURES_MFCC, 0, 1, 0, -1, 0, 0, "empty window" },
		{ FEATURES_MFCC, 16000, 1, 0, 1234, 0, 0,
		    "frame 1234 axis 0 is not finite" },
		{ FEATURES_MFCC, 16000, 1, 0, 15999, 0, 0, "not finite" },
		{ FEATURES_MFCC, 16000, 1, 0, -1, -1, 0,
		    "produce 490 values, the output buffer holds 489" },
		{ FEATURES_MFCC, 16000, 1, 0, -1, 1, 0, "holds 491" },
		{ FEATURES_SPECTRAL, 100, 2, 10000, -1, 0, 0,
		    "expects 3 axes" },
		{ FEATURES_SPECTRAL, 1, 3, 10000, -1, 0, 0, "at least 2 frames" },
		{ FEATURES_SPECTRAL, 0, 3, 10000, -1, 0, 0, "empty window" },
		{ FEATURES_SPECTRAL, 100, 3, 0, -1, 0, 0, "interval" },
		{ FEATURES_SPECTRAL, 100, 3, 10000, 7, 0, 0,
		    "frame 2 axis 1 is not finite" },
		{ FEATURES_SPECTRAL, 100, 3, 10000, -1, 0, 60, "Nyquist" },
		{ FEATURES_SPECTRAL, 100, 3, 1000000, -1, 0, 0,
		    "spectral_low_hz = 1 is not below the Nyquist" },
		{ FEATURES_SPECTRAL, 100, 3, 10000, -1, 5, 0, "holds 44" },
		{ FEATURES_RAW, 0, 3, 0, -1, 0, 0, "empty window" },
		{ FEATURES_RAW, 4, 0, 0, -1, 0, 0, "empty window" },
		{ FEATURES_RAW, 4, 3, 0, 11, 0, 0, "frame 3 axis 2" },
		{ FEATURES_RAW, 4, 3, 0, -1, -2, 0, "holds 10" },
	};
	static float		 v[16160 * 2];
	static float		 out[600];
	struct features_params	 p;
	struct features		*f;
	char			*cause;
	size_t			 i, j, len, fl;
	float			 lm[49 * 40];

	for (i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		const struct bad_window	*r = &rows[i];

		for (j = 0; j < sizeof v / sizeof v[0]; j++)
			v[j] = (float)sin((double)j * 0.1);
		if (r->nan_at >= 0)
			v[r->nan_at] = i % 2 ? NAN : -INFINITY;
		features_params_default(&p, r->kind);
		p.spectral_lowpass_hz = r->lowpass_hz;
		f = make(&p);
		fl = features_fixed_len(f);
		len = (size_t)((long)(fl != 0 ? fl : r->frames * r->axes) +
		    r->len_delta);
		cause = NULL;
		ck_assert_msg(features_compute(f, v, r->frames, r->axes,
		    r->interval_us, out, len, &cause) == -1, "row %zu "
		    "accepted", i);
		ck_assert_ptr_nonnull(cause);
		ck_assert_msg(strstr(cause, r->cause_has) != NULL,
		    "row %zu: '%s' lacks '%s'", i, cause, r->cause_has);
		ck_assert_ptr_null(strchr(cause, '\n'));
		free(cause);
		/* The same again without a cause pointer. */
		ck_assert_int_eq(features_compute(f, v, r->frames, r->axes,
		    r->interval_us, out, len, NULL), -1);
		features_free(f);
	}
	/* Finite but huge values overflow inside: refused, not passed on. */
	features_params_default(&p, FEATURES_SPECTRAL);
	f = make(&p);
	for (j = 0; j < 300; j++)
		v[j] = j % 2 ? 3e38f : -3e38f;
	ck_assert_int_eq(features_compute(f, v, 100, 3, 10000, out, 39,
	    &cause), -1);
	ck_assert_msg(strstr(cause, "too large") != NULL, "%s", cause);
	free(cause);
	features_free(f);
	features_params_default(&p, FEATURES_MFCC);
	p.mfcc_normalize = 0;
	f = make(&p);
	for (j = 0; j < 16000; j++)
		v[j] = j % 2 ? 3e38f : -3e38f;
	ck_assert_int_eq(features_compute(f, v, 16000, 1, 0, out, 490,
	    &cause), -1);
	ck_assert_msg(strstr(cause, "too large") != NULL, "%s", cause);
	free(cause);
	features_free(f);

	/* The log-mel hook checks too, and only works for mfcc. */
	features_params_default(&p, FEATURES_MFCC);
	f = make(&p);
	ck_assert_int_eq(features_log_mel(f, v, 16000, 1, lm, 49 * 39,
	    &cause), -1);
	ck_assert_str_eq(cause, "log-mel gives 1960 values, the output buffer "
	    "holds 1911");
	free(cause);
	ck_assert_int_eq(features_log_mel(f, v, 16000, 3, lm, 49 * 40,
	    &cause), -1);
	free(cause);
	features_free(f);
	features_params_default(&p, FEATURES_RAW);
	f = make(&p);
	ck_assert_int_eq(features_log_mel(f, v, 16000, 1, lm, 49 * 40,
	    &cause), -1);
	ck_assert_str_eq(cause, "log-mel energies need mfcc features, these "
	    "are raw");
	free(cause);
	features_free(f);
}
END_TEST

/* One thread: its own state, 20 windows, all equal to `expect`. */
struct worker {
	const float	*x;
	const float	*expect;
	int		 ok;
};

/* Thread body for test_threads. */
static void *
worker_run(void *arg)
{
	struct worker		*w = arg;
	struct features_params	 p;
	struct features		*f;
	float			 out[490];
	int			 i;

	features_params_default(&p, FEATURES_MFCC);
	w->ok = features_new(&p, &f, NULL) == 0;
	for (i = 0; w->ok && i < 20; i++)
		w->ok = features_compute(f, w->x, KWS_N, 1, 0, out, 490,
		    NULL) == 0 && memcmp(out, w->expect, sizeof out) == 0;
	features_free(f);
	return NULL;
}

/* Four threads with their own states agree with one. */
START_TEST(test_threads)
{
	struct features_params	 p;
	struct features		*f;
	float			*x = calloc(KWS_N, sizeof *x);
	float			 expect[490];
	struct worker		 w[4];
	pthread_t		 th[4];
	int			 i;

	make_speechish(x, KWS_N, 16000.0, 99);
	features_params_default(&p, FEATURES_MFCC);
	f = make(&p);
	ck_assert_int_eq(features_compute(f, x, KWS_N, 1, 0, expect, 490,
	    NULL), 0);
	features_free(f);
	for (i = 0; i < 4; i++) {
		w[i].x = x;
		w[i].expect = expect;
		ck_assert_int_eq(pthread_create(&th[i], NULL, worker_run,
		    &w[i]), 0);
	}
	for (i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		ck_assert(w[i].ok);
	}
	free(x);
}
END_TEST

/* Microseconds between two clock readings. */
static double
elapsed_us(const struct timespec *a, const struct timespec *b)
{
	return (double)(b->tv_sec - a->tv_sec) * 1e6 +
	    (double)(b->tv_nsec - a->tv_nsec) / 1e3;
}

/* CPU time of one 1 s mfcc window (printed, loosely bounded). */
START_TEST(test_mfcc_time)
{
	struct features_params	 p;
	struct features		*f;
	float			*x = calloc(KWS_N, sizeof *x);
	float			 out[490];
	struct timespec		 t0, t1;
	double			 us;
	int			 i, n = 200;

	make_speechish(x, KWS_N, 16000.0, 1);
	features_params_default(&p, FEATURES_MFCC);
	f = make(&p);
	ck_assert_int_eq(features_compute(f, x, KWS_N, 1, 0, out, 490, NULL),
	    0);
	/* CPU time of this thread: less sensitive to a loaded host. */
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t0);
	for (i = 0; i < n; i++)
		features_compute(f, x, KWS_N, 1, 0, out, 490, NULL);
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t1);
	us = elapsed_us(&t0, &t1) / n;
	fprintf(stderr, "# mfcc: %.1f us of CPU per 1 s window (49x10)\n", us);
	/* Generous: sanitizers and a loaded CI host. */
	ck_assert_msg(us < 50000.0, "mfcc takes %g us", us);
	features_free(f);
	free(x);
}
END_TEST

/* Run the suite; the exit status tells whether all passed. */
int
main(void)
{
	struct testutil_case	 cases[] = {
		{ test_defaults, 0 },
		{ test_params_set, 0 },
		{ test_mfcc_numpy, 0 },
		{ test_mfcc_normalize, 0 },
		{ test_mfcc_tone_bin, 0 },
		{ test_spectral_hand, 0 },
		{ test_spectral_numpy, 0 },
		{ test_spectral_filter, 0 },
		{ test_raw_quantize, 0 },
		{ test_bad_params, 0 },
		{ test_bad_windows, 0 },
		{ test_threads, 0 },
		{ test_mfcc_time, 0 },
	};

	return (testutil_run("features", 60, cases,
	    sizeof cases / sizeof cases[0]));
}
