/*
 * te-learn.c - bench/learn's driver (issue 16; not a test, not installed):
 * per-node anomaly models on synthetic vibration, against a baseline
 * detector in the same run.
 *
 *   te-learn [--nodes N] [--train N] [--test N] [--faulty N] [--snr DB]
 *            [--seed S] [--quantile Q] [--out DIR]
 *
 * For each node a machine of tools/vibsim.c: N training windows (healthy)
 * go through the spectral features with their defaults (3 axes x (5
 * statistics + 8 bands), as [learn:NAME] computes them) into the training
 * library (src/learn/ae.h) exactly as the module uses it: train, the
 * threshold at the quantile of the held-out errors, int8 quantization on
 * the same windows, the .tflite written by tflite_write_dense().  That
 * file is then loaded by our runtime (src/tflite/) and run as a node would
 * run it: the input quantized with the input tensor's scale and zero
 * point, the output dequantized with the output's, the error computed
 * from the metadata entry read back out of the file.
 *
 * Then fresh windows of the same machine: healthy ones (never trained on)
 * and each fault at severity 1 (the documented level) and 0.5.  Scores:
 * ours in float (the trained model), ours in int8 (the file), and the
 * baseline, an RMS z-score per node: |rms - mean| / sd of the window's
 * AC RMS (all axes, mean removed per axis) against the node's own
 * training windows.  AUC per node and fault (Mann-Whitney: the chance a
 * faulty window scores above a healthy one, ties half), then its mean and
 * minimum over the nodes; detection and false-alarm rates at the
 * thresholds (ours: the learned one; baseline: the same quantile of its
 * training z-scores).  Every window's scores go to DIR/scores.tsv for the
 * plot.  Everything follows from --seed.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "features/features.h"
#include "learn/ae.h"
#include "tflite/tflite.h"
#include "tflite/tflite_write.h"
#include "vibsim.h"

#define TL_SETS		7	/* healthy, 3 faults at 1, 3 faults at 0.5 */
#define TL_KINDS	3	/* float, int8, baseline */

/* The command line. */
struct tl_opts {
	int		 nodes, ntrain, ntest, nfaulty;
	double		 snr, quantile;
	uint64_t	 seed;
	const char	*out;
};

/* One set of test windows: features, baseline RMS, scores. */
struct tl_set {
	enum vibsim_fault fault;
	double		 sev;
	size_t		 n;
	float		*x;			/* n x dim features */
	double		*rms;
	double		*score[TL_KINDS];	/* float err, int8 err, z */
};

/* What one node gave. */
struct tl_node {
	double		 f0;
	double		 train_ms, quant_ms;	/* train; quantize + write */
	size_t		 model_bytes;
	int		 epochs;
	float		 thr, thr8;	/* float, int8 (in the file) */
	double		 base_thr;
	double		 auc[TL_SETS][TL_KINDS];
	double		 det[TL_SETS][TL_KINDS];	/* over threshold */
	double		 agree;		/* int8 and float decide alike */
};

static const double tl_sev[TL_SETS] = { 0, 1, 1, 1, 0.5, 0.5, 0.5 };
static const char *tl_kind[TL_KINDS] = { "ours float", "ours int8",
    "baseline" };

/* Print a failure and exit. */
static void __attribute__((noreturn))
tl_die(const char *what, char *cause)
{
	fprintf(stderr, "te-learn: %s: %s\n", what, cause ? cause : "failed");
	exit(1);
}

/* Allocate or die. */
static void *
tl_alloc(size_t n, size_t size)
{
	void	*p = calloc(n ? n : 1, size);

	if (p == NULL)
		tl_die("calloc", strerror(errno));
	return (p);
}

/* Monotonic milliseconds. */
static double
tl_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((double)ts.tv_sec * 1000 + (double)ts.tv_nsec / 1e6);
}

/* A line of /proc/self/status in KB (VmHWM, VmRSS); -1 if missing. */
static long
tl_status_kb(const char *key)
{
	char	 line[256];
	FILE	*f;
	long	 v = -1;

	if ((f = fopen("/proc/self/status", "r")) == NULL)
		return (-1);
	while (fgets(line, sizeof line, f) != NULL)
		if (strncmp(line, key, strlen(key)) == 0 &&
		    line[strlen(key)] == ':')
			v = strtol(line + strlen(key) + 1, NULL, 10);
	fclose(f);
	return (v);
}

/* The AC RMS of a window: every axis with its own mean removed. */
static double
tl_rms(const float *w, size_t frames)
{
	double	mean[VIBSIM_AXES] = { 0 }, s = 0, d;
	size_t	i;
	int	k;

	for (i = 0; i < frames; i++)
		for (k = 0; k < VIBSIM_AXES; k++)
			mean[k] += w[i * VIBSIM_AXES + k] / (double)frames;
	for (i = 0; i < frames; i++)
		for (k = 0; k < VIBSIM_AXES; k++) {
			d = w[i * VIBSIM_AXES + k] - mean[k];
			s += d * d;
		}
	return (sqrt(s / (double)(frames * VIBSIM_AXES)));
}

/* Draw n windows of the machine into features x and baseline rms. */
static void
tl_draw(struct vibsim *m, struct features *fe, size_t dim,
    enum vibsim_fault fault, double sev, size_t n, float *x, double *rms)
{
	float	*w = tl_alloc(VIBSIM_FRAMES * VIBSIM_AXES, sizeof *w);
	char	*cause = NULL;
	size_t	 i;

	for (i = 0; i < n; i++) {
		if (vibsim_window(m, fault, sev, w, VIBSIM_FRAMES) != 0)
			tl_die("vibsim_window", NULL);
		if (features_compute(fe, w, VIBSIM_FRAMES, VIBSIM_AXES,
		    VIBSIM_INTERVAL_US, x + i * dim, dim, &cause) != 0)
			tl_die("features", cause);
		rms[i] = tl_rms(w, VIBSIM_FRAMES);
	}
	free(w);
}

/* Mann-Whitney AUC: P(pos > neg) + P(pos == neg) / 2. */
static double
tl_auc(const double *neg, size_t nn, const double *pos, size_t np)
{
	double	s = 0;
	size_t	i, j;

	for (i = 0; i < np; i++)
		for (j = 0; j < nn; j++)
			s += pos[i] > neg[j] ? 1 : pos[i] == neg[j] ? 0.5 : 0;
	return (s / ((double)nn * (double)np));
}

/* Open the written model as a node would: runtime plus metadata. */
static struct tflite_model *
tl_open(const uint8_t *buf, size_t len, uint32_t dim, struct ae_meta *meta)
{
	struct tflite_model	*tm;
	const void		*md;
	size_t			 mlen;
	char			*cause = NULL;

	if (tflite_model_load_mem(buf, len, "learned", &tm, &cause) != 0)
		tl_die("load", cause);
	if (tflite_write_metadata(buf, len, AE_META_NAME, &md, &mlen) != 0)
		tl_die("metadata", NULL);
	if (ae_meta_parse(md, mlen, meta, &cause) != 0)
		tl_die("metadata", cause);
	if (meta->dim != dim)
		tl_die("metadata", "wrong dim");
	return (tm);
}

/*
 * The int8 file's error on one raw feature vector, computed as
 * docs/learn.md tells a node to (by hand here, not with ae_input(), so
 * that the documented steps are what gets measured): standardize when the
 * metadata says the input is z, quantize with the input tensor's scale
 * and zero point, invoke, dequantize with the output's, then the error.
 */
static double
tl_int8_error(struct tflite_model *tm, const struct ae_meta *meta,
    const float *x, float *y)
{
	struct tflite_tensor_info	 in, out;
	const int8_t			*o;
	char				*cause = NULL;
	uint32_t			 i;

	if (tflite_model_input_info(tm, 0, &in) != 0 ||
	    tflite_model_output_info(tm, 0, &out) != 0 ||
	    in.dtype != TFLITE_INT8 || out.dtype != TFLITE_INT8 ||
	    in.bytes != meta->dim || out.bytes != meta->dim)
		tl_die("model", "not int8 [1, dim] in and out");
	for (i = 0; i < meta->dim; i++)
		y[i] = meta->input == AE_INPUT_STD ? (x[i] - meta->mean[i]) /
		    meta->std[i] : x[i];
	if (features_quantize(y, meta->dim, in.scale, in.zero_point,
	    tflite_model_input(tm, 0)) < 0)
		tl_die("quantize", "bad input scale");
	if (tflite_model_invoke(tm, &cause) != 0)
		tl_die("invoke", cause);
	o = tflite_model_output(tm, 0);
	for (i = 0; i < meta->dim; i++)
		y[i] = out.scale * (float)(o[i] - out.zero_point);
	return (ae_error(meta, x, y));
}

/*
 * Train the node's model on x (n windows), set its threshold, quantize
 * and write it as the module does: the float threshold from the float
 * model's held-out errors, then the int8 model's own threshold from its
 * held-out errors (by the node's steps, tl_int8_error) written into its
 * metadata and the file written again.  Times and sizes go to r.
 */
static struct ae *
tl_train(const struct tl_opts *o, uint64_t seed, const float *x, size_t n,
    uint32_t dim, struct tl_node *r, uint8_t **buf, size_t *len)
{
	struct ae_params	 p;
	struct ae_report	 rep;
	struct ae_meta		 meta;
	struct ae		*ae;
	struct ae_quant		*q;
	struct tflite_model	*tm;
	char			*cause = NULL;
	float			*eq, *y = tl_alloc(dim, sizeof *y);
	double			 t0;
	size_t			 i;

	ae_params_default(&p);
	p.seed = seed;
	p.kind = "spectral";
	t0 = tl_ms();
	if (ae_train(x, n, dim, &p, &ae, &rep, &cause) != 0)
		tl_die("ae_train", cause);
	r->thr = ae_quantile(rep.held_errors, rep.nheld, o->quantile);
	ae_set_threshold(ae, r->thr);
	r->train_ms = tl_ms() - t0;
	r->epochs = rep.epochs;
	t0 = tl_ms();
	if (ae_quantize(ae, x, n, AE_INPUT_STD, &q, &cause) != 0)
		tl_die("ae_quantize", cause);
	if (tflite_write_dense(ae_quant_model(q), buf, len, &cause) != 0)
		tl_die("tflite_write_dense", cause);
	tm = tl_open(*buf, *len, dim, &meta);
	eq = tl_alloc(rep.nheld, sizeof *eq);
	for (i = 0; i < rep.nheld; i++)
		eq[i] = (float)tl_int8_error(tm, &meta, x + rep.held_index[i] *
		    dim, y);
	r->thr8 = ae_quantile(eq, rep.nheld, o->quantile);
	free(*buf);
	if (ae_quant_set_threshold(q, r->thr8, &cause) != 0 ||
	    tflite_write_dense(ae_quant_model(q), buf, len, &cause) != 0)
		tl_die("int8 threshold", cause);
	r->quant_ms = tl_ms() - t0;
	r->model_bytes = *len;
	tflite_model_free(tm);
	ae_meta_free(&meta);
	ae_report_free(&rep);
	ae_quant_free(q);
	free(eq);
	free(y);
	return (ae);
}

/* Score every window of a set in the three ways. */
static void
tl_score(struct tl_set *s, const struct ae *ae, struct tflite_model *tm,
    const struct ae_meta *meta, double mu, double sd)
{
	float	*y = tl_alloc(meta->dim, sizeof *y);
	size_t	 i;

	for (i = 0; i < s->n; i++) {
		s->score[0][i] = ae_model_error(ae, s->x + i * meta->dim);
		s->score[1][i] = tl_int8_error(tm, meta, s->x + i * meta->dim,
		    y);
		s->score[2][i] = fabs(s->rms[i] - mu) / sd;
	}
	free(y);
}

/* Mean and sd of the training RMS; the baseline's threshold into r. */
static void
tl_baseline(const struct tl_opts *o, const double *rms, size_t n,
    double *mu, double *sd, struct tl_node *r)
{
	float	*z = tl_alloc(n, sizeof *z);
	double	 s = 0, s2 = 0;
	size_t	 i;

	for (i = 0; i < n; i++)
		s += rms[i] / (double)n;
	for (i = 0; i < n; i++)
		s2 += (rms[i] - s) * (rms[i] - s) / (double)n;
	*mu = s;
	*sd = sqrt(s2) > 0 ? sqrt(s2) : 1e-12;
	for (i = 0; i < n; i++)
		z[i] = (float)(fabs(rms[i] - s) / *sd);
	r->base_thr = ae_quantile(z, n, o->quantile);
	free(z);
}

/* AUCs, detection rates and agreement of a node's sets into r. */
static void
tl_judge(struct tl_set *sets, struct tl_node *r)
{
	double	thr[TL_KINDS] = { r->thr, r->thr8, r->base_thr };
	size_t	i, same = 0, all = 0;
	int	s, k;

	for (s = 0; s < TL_SETS; s++)
		for (k = 0; k < TL_KINDS; k++) {
			r->auc[s][k] = tl_auc(sets[0].score[k], sets[0].n,
			    sets[s].score[k], sets[s].n);
			r->det[s][k] = 0;
			for (i = 0; i < sets[s].n; i++)
				r->det[s][k] += sets[s].score[k][i] > thr[k];
			r->det[s][k] /= (double)sets[s].n;
			if (k == 1)
				for (i = 0; i < sets[s].n; i++, all++)
					same += (sets[s].score[0][i] > thr[0]) ==
					    (sets[s].score[1][i] > thr[1]);
		}
	r->agree = (double)same / (double)all;
}

/* Every window's scores of a node, normalized, into the TSV. */
static void
tl_dump(FILE *f, int node, const struct tl_set *sets, const struct tl_node *r)
{
	size_t	i;
	int	s;

	if (f == NULL)
		return;
	for (s = 0; s < TL_SETS; s++)
		for (i = 0; i < sets[s].n; i++)
			fprintf(f, "%s\t%.1f\t%d\t%.6g\t%.6g\t%.6g\n",
			    vibsim_fault_name(sets[s].fault), sets[s].sev, node,
			    sets[s].score[0][i] / r->thr,
			    sets[s].score[1][i] / r->thr8,
			    sets[s].score[2][i] / r->base_thr);
}

/* Free a node's sets. */
static void
tl_sets_free(struct tl_set *sets)
{
	int	s, k;

	for (s = 0; s < TL_SETS; s++) {
		free(sets[s].x);
		free(sets[s].rms);
		for (k = 0; k < TL_KINDS; k++)
			free(sets[s].score[k]);
	}
}

/* One node: draw, train, write, load, score, judge. */
static void
tl_node(const struct tl_opts *o, int node, struct features *fe, FILE *tsv,
    struct tl_node *r, long *hwm)
{
	struct tl_set		 sets[TL_SETS];
	struct ae_meta		 meta;
	struct vibsim		*m;
	struct ae		*ae;
	struct tflite_model	*tm;
	uint64_t		 seed = o->seed * 1000003 + (uint64_t)node;
	uint32_t		 dim = (uint32_t)features_fixed_len(fe);
	float			*x = tl_alloc((size_t)o->ntrain * dim, sizeof *x);
	double			*rms = tl_alloc(o->ntrain, sizeof *rms), mu, sd;
	uint8_t			*buf;
	size_t			 len;
	int			 s, k;

	if ((m = vibsim_new(seed, o->snr)) == NULL)
		tl_die("vibsim_new", NULL);
	memset(r, 0, sizeof *r);
	r->f0 = vibsim_rotation_hz(m);
	tl_draw(m, fe, dim, VIBSIM_NORMAL, 0, o->ntrain, x, rms);
	ae = tl_train(o, seed, x, o->ntrain, dim, r, &buf, &len);
	if (tl_status_kb("VmHWM") > *hwm)
		*hwm = tl_status_kb("VmHWM");
	tl_baseline(o, rms, o->ntrain, &mu, &sd, r);
	tm = tl_open(buf, len, dim, &meta);
	if (meta.threshold != r->thr8)
		tl_die("metadata", "the file's threshold is not the int8 one");
	for (s = 0; s < TL_SETS; s++) {
		sets[s].fault = s == 0 ? VIBSIM_NORMAL :
		    (enum vibsim_fault)(1 + (s - 1) % 3);
		sets[s].sev = tl_sev[s];
		sets[s].n = s == 0 ? o->ntest : o->nfaulty;
		sets[s].x = tl_alloc(sets[s].n * dim, sizeof *sets[s].x);
		sets[s].rms = tl_alloc(sets[s].n, sizeof *sets[s].rms);
		for (k = 0; k < TL_KINDS; k++)
			sets[s].score[k] = tl_alloc(sets[s].n, sizeof(double));
		tl_draw(m, fe, dim, sets[s].fault, sets[s].sev, sets[s].n,
		    sets[s].x, sets[s].rms);
		tl_score(&sets[s], ae, tm, &meta, mu, sd);
	}
	tl_judge(sets, r);
	tl_dump(tsv, node, sets, r);
	tl_sets_free(sets);
	ae_meta_free(&meta);
	tflite_model_free(tm);
	free(buf);
	ae_free(ae);
	vibsim_free(m);
	free(x);
	free(rms);
}

/* Mean and minimum over the nodes of one AUC or rate. */
static void
tl_stat(const struct tl_node *r, int n, int s, int k, int det, double *mean,
    double *min)
{
	double	v;
	int	i;

	*mean = 0;
	*min = 1;
	for (i = 0; i < n; i++) {
		v = det ? r[i].det[s][k] : r[i].auc[s][k];
		*mean += v / n;
		if (v < *min)
			*min = v;
	}
}

/* The per-node lines. */
static void
tl_print_nodes(const struct tl_node *r, int n)
{
	int	i;

	printf("%-5s %7s %6s %9s %9s %11s %10s %10s %10s %10s %7s\n",
	    "node", "rot_hz", "epochs", "train_ms", "quant_ms", "model_bytes",
	    "thr_float", "thr_int8", "false_int8", "false_base", "agree");
	for (i = 0; i < n; i++)
		printf("%-5d %7.2f %6d %9.1f %9.1f %11zu %10.4g %10.4g %10.3f "
		    "%10.3f %7.4f\n", i, r[i].f0, r[i].epochs, r[i].train_ms,
		    r[i].quant_ms, r[i].model_bytes, (double)r[i].thr,
		    (double)r[i].thr8, r[i].det[0][1], r[i].det[0][2],
		    r[i].agree);
	printf("\n");
}

/* The AUC table and the detection table. */
static void
tl_print_auc(const struct tl_node *r, int n)
{
	double	mean[TL_KINDS], min[TL_KINDS];
	int	s, k;

	printf("AUC, healthy test windows against each fault: mean over the "
	    "nodes (worst node)\n");
	printf("%-10s %8s", "fault", "severity");
	for (k = 0; k < TL_KINDS; k++)
		printf("  %-16s", tl_kind[k]);
	printf("  %s\n", "int8/baseline");
	for (s = 1; s < TL_SETS; s++) {
		printf("%-10s %8.1f", vibsim_fault_name((enum vibsim_fault)
		    (1 + (s - 1) % 3)), tl_sev[s]);
		for (k = 0; k < TL_KINDS; k++) {
			tl_stat(r, n, s, k, 0, &mean[k], &min[k]);
			printf("  %.4f (%.4f)  ", mean[k], min[k]);
		}
		printf("  %.3f\n", mean[1] / mean[2]);
	}
	printf("\nshare of windows over the threshold (healthy: false alarms), "
	    "mean over the nodes\n%-10s %8s  %-10s %-10s %-10s\n", "fault",
	    "severity", "ours float", "ours int8", "baseline");
	for (s = 0; s < TL_SETS; s++) {
		printf("%-10s %8.1f", s ? vibsim_fault_name((enum vibsim_fault)
		    (1 + (s - 1) % 3)) : "healthy", tl_sev[s]);
		for (k = 0; k < TL_KINDS; k++) {
			tl_stat(r, n, s, k, 1, &mean[k], &min[k]);
			printf("  %-10.4f", mean[k]);
		}
		printf("\n");
	}
	printf("\n");
}

/* One goal line: figure, ours, reference, ratio, target, met. */
static int
tl_goal(const char *fig, double ours, const char *ref, double ratio,
    const char *target, int met)
{
	char	r[32];

	if (isnan(ratio))
		snprintf(r, sizeof r, "-");
	else
		snprintf(r, sizeof r, "%.3f", ratio);
	printf("%-44s %10.6g  %-22s %7s  %-24s %s\n", fig, ours, ref, r, target,
	    met ? "met" : "MISSED");
	return (met);
}

/* The goals of the issue against what was measured; 0 if all met. */
static int
tl_print_goals(const struct tl_node *r, int n, long hwm0, long hwm)
{
	double	mean[TL_KINDS], min, worst = 0, ms = 0, mean_ms = 0;
	double	all[TL_KINDS] = { 0 };
	size_t	bytes = 0;
	char	ref[64], fig[64];
	int	s, k, i, ok = 1;

	printf("%-44s %10s  %-22s %7s  %-24s %s\n", "figure", "ours",
	    "reference", "ratio", "target", "goal");
	for (s = 1; s <= 3; s++) {
		for (k = 0; k < TL_KINDS; k++)
			tl_stat(r, n, s, k, 0, &mean[k], &min);
		snprintf(fig, sizeof fig, "AUC %s (int8, severity 1)",
		    vibsim_fault_name((enum vibsim_fault)s));
		snprintf(ref, sizeof ref, "%.6f (baseline)", mean[2]);
		/* A perfect baseline (1.0) cannot be passed: equal is met. */
		ok &= tl_goal(fig, mean[1], ref, mean[1] / mean[2],
		    ">= 0.95, >= baseline", mean[1] >= 0.95 &&
		    mean[1] >= mean[2]);
		if (fabs(mean[1] - mean[0]) > worst)
			worst = fabs(mean[1] - mean[0]);
		for (k = 0; k < TL_KINDS; k++)
			all[k] += mean[k] / 3;
	}
	snprintf(ref, sizeof ref, "%.6f (baseline)", all[2]);
	ok &= tl_goal("AUC, mean of the 3 faults (int8, severity 1)",
	    all[1], ref, all[1] / all[2], "> baseline", all[1] > all[2]);
	for (i = 0; i < n; i++) {
		if (r[i].model_bytes > bytes)
			bytes = r[i].model_bytes;
		if (r[i].train_ms + r[i].quant_ms > ms)
			ms = r[i].train_ms + r[i].quant_ms;
		mean_ms += (r[i].train_ms + r[i].quant_ms) / n;
	}
	ok &= tl_goal("AUC int8 - AUC float, worst fault (abs.)", worst,
	    "-", NAN, "<= 0.01", worst <= 0.01);
	ok &= tl_goal("model size, largest (bytes)", (double)bytes,
	    "20480 (20 KB)", (double)bytes / 20480, "<= 20 KB", bytes <= 20480);
	snprintf(ref, sizeof ref, "5000 (mean %.0f)", mean_ms);
	ok &= tl_goal("training per node, slowest (ms)", ms, ref, ms / 5000,
	    "<= 5 s", ms <= 5000);
	snprintf(ref, sizeof ref, "%ld (before training)", hwm0);
	tl_goal("bench peak RSS, VmHWM (KB)", (double)hwm, ref,
	    (double)hwm / (double)hwm0, "stated", 1);
	return (ok ? 0 : 3);
}

/* Parse the command line into o. */
static void
tl_parse(int argc, char **argv, struct tl_opts *o)
{
	static const struct option opts[] = {
		{ "nodes", required_argument, NULL, 'n' },
		{ "train", required_argument, NULL, 't' },
		{ "test", required_argument, NULL, 'T' },
		{ "faulty", required_argument, NULL, 'f' },
		{ "snr", required_argument, NULL, 's' },
		{ "seed", required_argument, NULL, 'S' },
		{ "quantile", required_argument, NULL, 'q' },
		{ "out", required_argument, NULL, 'o' },
		{ NULL, 0, NULL, 0 },
	};
	int	ch;

	o->nodes = 20;
	o->ntrain = 200;
	o->ntest = 200;
	o->nfaulty = 100;
	o->snr = VIBSIM_SNR_DB;
	o->quantile = 0.995;
	o->seed = 1;
	o->out = NULL;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'n': o->nodes = atoi(optarg); break;
		case 't': o->ntrain = atoi(optarg); break;
		case 'T': o->ntest = atoi(optarg); break;
		case 'f': o->nfaulty = atoi(optarg); break;
		case 's': o->snr = atof(optarg); break;
		case 'S': o->seed = strtoull(optarg, NULL, 10); break;
		case 'q': o->quantile = atof(optarg); break;
		case 'o': o->out = optarg; break;
		default: goto usage;
		}
	}
	if (optind == argc && o->nodes >= 1 && o->nodes <= 1000 &&
	    o->ntrain >= AE_MIN_N && o->ntrain <= 100000 && o->ntest >= 1 &&
	    o->ntest <= 100000 && o->nfaulty >= 1 && o->nfaulty <= 100000 &&
	    isfinite(o->snr) && o->quantile > 0 && o->quantile <= 1)
		return;
usage:
	fprintf(stderr, "usage: te-learn [--nodes N] [--train N] [--test N] "
	    "[--faulty N] [--snr DB]\n                [--seed S] [--quantile Q] "
	    "[--out DIR]\n");
	exit(2);
}

/* Run every node, print the tables; exit 3 if a goal was missed. */
int
main(int argc, char **argv)
{
	struct features_params	 p;
	struct features		*fe;
	struct tl_opts		 o;
	struct tl_node		*r;
	FILE			*tsv = NULL;
	char			*cause = NULL, *path;
	long			 hwm0, hwm;
	int			 i;

	tl_parse(argc, argv, &o);
	features_params_default(&p, FEATURES_SPECTRAL);
	if (features_new(&p, &fe, &cause) != 0)
		tl_die("features", cause);
	if (o.out != NULL) {
		if (asprintf(&path, "%s/scores.tsv", o.out) < 0 ||
		    (tsv = fopen(path, "w")) == NULL)
			tl_die(o.out, strerror(errno));
		fprintf(tsv, "# fault\tseverity\tnode\tfloat/thr\tint8/thr\t"
		    "baseline/thr\n");
		free(path);
	}
	printf("te-learn: %d nodes; per node %d training windows, %d healthy "
	    "test windows, %d per fault and severity; %d frames x %d axes at "
	    "%d Hz; SNR %g dB; spectral features (%zu values); threshold "
	    "quantile %g; seed %llu\n\n", o.nodes, o.ntrain, o.ntest,
	    o.nfaulty, VIBSIM_FRAMES, VIBSIM_AXES, VIBSIM_RATE_HZ, o.snr,
	    features_fixed_len(fe), o.quantile, (unsigned long long)o.seed);
	r = tl_alloc(o.nodes, sizeof *r);
	hwm0 = hwm = tl_status_kb("VmHWM");
	for (i = 0; i < o.nodes; i++)
		tl_node(&o, i, fe, tsv, &r[i], &hwm);
	if (tsv != NULL)
		fclose(tsv);
	tl_print_nodes(r, o.nodes);
	tl_print_auc(r, o.nodes);
	i = tl_print_goals(r, o.nodes, hwm0, hwm);
	features_free(fe);
	free(r);
	return (i);
}
