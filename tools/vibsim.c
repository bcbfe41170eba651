/*
 * vibsim.c - synthetic vibration of rotating machines (see vibsim.h and
 * docs/learn.md, "The vibration simulator", which lists every number used
 * here).
 *
 * A machine: rotation frequency f0 uniform in [10, 40] Hz (600 to 2,400
 * rpm); the 1x line's amplitude a1 uniform in [1, 3] m/s2 and harmonics
 * 2x, 3x, 4x at fractions of it; axis gains (radial x 1, radial y in
 * quadrature, axial z weaker); a structural resonance in [180, 400] Hz and
 * a bearing defect rate of 3.05 to 5.2 times the rotation.  A window:
 * speed wander of 1 % (sd) and load wander of 5 % (sd, log-normal) drawn
 * per window, random phases, then the fault's lines, then Gaussian noise
 * whose power is the healthy x axis' power over 10^(SNR/10), then gravity
 * on z.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "vibsim.h"

#define VS_HARMONICS	4	/* 1x .. 4x in a healthy machine */
#define VS_GRAVITY	9.80665

/* A machine and its random generator. */
struct vibsim {
	uint64_t	 rng;
	double		 f0;			/* rotation, Hz */
	double		 amp[VS_HARMONICS];	/* 1x .. 4x, m/s2 */
	double		 gain[VIBSIM_AXES];	/* x, y, z */
	double		 zphase;		/* axial phase lag */
	double		 resonance;		/* Hz */
	double		 defect;		/* bearing defect rate / f0 */
	double		 noise_sd;
	int		 have_spare;		/* Box-Muller's second value */
	double		 spare;
};

/* One window's draw: speed, load and phases. */
struct vs_draw {
	double		 f;
	double		 load;
	double		 sev;
	enum vibsim_fault fault;
};

static const char *vs_names[VIBSIM_NFAULTS] = {
	"normal", "bearing", "imbalance", "looseness",
};

/* splitmix64 on the machine's own state. */
static uint64_t
vs_rand(struct vibsim *vs)
{
	uint64_t	z = (vs->rng += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return (z ^ (z >> 31));
}

/* Uniform in [lo, hi). */
static double
vs_uniform(struct vibsim *vs, double lo, double hi)
{
	return (lo + (hi - lo) * (double)(vs_rand(vs) >> 11) /
	    9007199254740992.0);
}

/* Standard normal (Box-Muller, both values used). */
static double
vs_normal(struct vibsim *vs)
{
	double	u, v, r;

	if (vs->have_spare) {
		vs->have_spare = 0;
		return (vs->spare);
	}
	/* u in (0, 1]: log(u) stays finite. */
	u = 1.0 - vs_uniform(vs, 0, 1);
	v = vs_uniform(vs, 0, 1);
	r = sqrt(-2 * log(u));
	vs->spare = r * sin(2 * M_PI * v);
	vs->have_spare = 1;
	return (r * cos(2 * M_PI * v));
}

/* Draw a machine from seed. */
struct vibsim *
vibsim_new(uint64_t seed, double snr_db)
{
	struct vibsim	*vs;
	double		 power;
	int		 h;

	if ((vs = calloc(1, sizeof *vs)) == NULL)
		return (NULL);
	vs->rng = seed;
	vs->f0 = vs_uniform(vs, 10, 40);
	vs->amp[0] = vs_uniform(vs, 1, 3);
	vs->amp[1] = vs->amp[0] * vs_uniform(vs, 0.2, 0.5);
	vs->amp[2] = vs->amp[0] * vs_uniform(vs, 0.05, 0.2);
	vs->amp[3] = vs->amp[0] * vs_uniform(vs, 0.02, 0.1);
	vs->gain[0] = 1;
	vs->gain[1] = vs_uniform(vs, 0.6, 1);
	vs->gain[2] = vs_uniform(vs, 0.2, 0.5);
	vs->zphase = vs_uniform(vs, 0, 2 * M_PI);
	vs->resonance = vs_uniform(vs, 180, 400);
	vs->defect = vs_uniform(vs, 3.05, 5.2);
	/* The healthy x axis' mean power: the sum of its lines' A^2 / 2. */
	power = 0;
	for (h = 0; h < VS_HARMONICS; h++)
		power += vs->amp[h] * vs->amp[h] / 2;
	vs->noise_sd = sqrt(power / pow(10, snr_db / 10));
	return (vs);
}

/* Free a machine (NULL is fine). */
void
vibsim_free(struct vibsim *vs)
{
	free(vs);
}

/* The rotation frequency before wander. */
double
vibsim_rotation_hz(const struct vibsim *vs)
{
	return (vs->f0);
}

/* The noise's standard deviation on each axis. */
double
vibsim_noise_sd(const struct vibsim *vs)
{
	return (vs->noise_sd);
}

/*
 * Add a line of amplitude a at frequency hz to every axis, with the
 * machine's axis gains times g[] and a random phase; y lags x by a
 * quarter turn (a rotating force seen by two radial sensors), z by the
 * machine's axial lag.
 */
static void
vs_line(struct vibsim *vs, float *out, size_t frames, double hz, double a,
    const double g[VIBSIM_AXES])
{
	double	ph = vs_uniform(vs, 0, 2 * M_PI), w = 2 * M_PI * hz /
		    VIBSIM_RATE_HZ, lag[VIBSIM_AXES], amp[VIBSIM_AXES];
	size_t	i;
	int	k;

	lag[0] = 0;
	lag[1] = M_PI / 2;
	lag[2] = vs->zphase;
	for (k = 0; k < VIBSIM_AXES; k++)
		amp[k] = a * vs->gain[k] * g[k];
	if (hz >= VIBSIM_RATE_HZ / 2.0)
		return;		/* above Nyquist: an anti-alias filter's job */
	for (i = 0; i < frames; i++)
		for (k = 0; k < VIBSIM_AXES; k++)
			out[i * VIBSIM_AXES + k] += (float)(amp[k] *
			    sin(w * (double)i + ph - lag[k]));
}

/*
 * The bearing fault: the structural resonance, amplitude-modulated by a
 * peaky envelope cos^8 at the defect rate (impacts as a rolling element
 * passes the defect), 0.5 * a1 at its peak at severity 1, radial mostly.
 */
static void
vs_bearing(struct vibsim *vs, const struct vs_draw *d, float *out,
    size_t frames)
{
	static const double g[VIBSIM_AXES] = { 1, 1, 0.3 };
	double	a = 0.5 * vs->amp[0] * d->load * d->sev, fr = vs->resonance,
		    fd = vs->defect * d->f, pc, pe, e, c;
	size_t	i;
	int	k;

	pc = vs_uniform(vs, 0, 2 * M_PI);
	pe = vs_uniform(vs, 0, M_PI);
	for (i = 0; i < frames; i++) {
		double t = (double)i / VIBSIM_RATE_HZ;

		c = cos(M_PI * fd * t + pe);
		c *= c;
		e = c * c * c * c;	/* cos^8 */
		for (k = 0; k < VIBSIM_AXES; k++)
			out[i * VIBSIM_AXES + k] += (float)(a * g[k] * e *
			    sin(2 * M_PI * fr * t + pc + k));
	}
}

/*
 * Looseness: half-harmonics 0.5x .. 3.5x at 0.15 * a1 and harmonics 5x ..
 * 10x at 0.1 * a1 (severity 1), strongest on the vertical radial axis.
 */
static void
vs_looseness(struct vibsim *vs, const struct vs_draw *d, float *out,
    size_t frames)
{
	static const double g[VIBSIM_AXES] = { 0.5, 1, 0.3 };
	double	a1 = vs->amp[0] * d->load * d->sev;
	int	h;

	for (h = 0; h < 4; h++)
		vs_line(vs, out, frames, (h + 0.5) * d->f, 0.15 * a1, g);
	for (h = 5; h <= 10; h++)
		vs_line(vs, out, frames, h * d->f, 0.1 * a1, g);
}

/* One window of a machine, healthy or faulty (see vibsim.h). */
int
vibsim_window(struct vibsim *vs, enum vibsim_fault fault, double sev,
    float *out, size_t frames)
{
	static const double one[VIBSIM_AXES] = { 1, 1, 1 };
	struct vs_draw	d;
	double		a;
	size_t		i;
	int		h, k;

	if (frames == 0 || frames > VIBSIM_MAX_FRAMES || !isfinite(sev) ||
	    sev < 0 || (int)fault < 0 || fault >= VIBSIM_NFAULTS)
		return (-1);
	d.f = vs->f0 * (1 + 0.01 * vs_normal(vs));
	d.load = exp(0.05 * vs_normal(vs));
	d.sev = fault == VIBSIM_NORMAL ? 0 : sev;
	d.fault = fault;
	memset(out, 0, frames * VIBSIM_AXES * sizeof *out);
	for (h = 0; h < VS_HARMONICS; h++) {
		a = vs->amp[h] * d.load;
		/* Imbalance: the 1x line 1.5 times as strong at severity 1. */
		if (h == 0 && fault == VIBSIM_IMBALANCE)
			a *= 1 + 0.5 * d.sev;
		vs_line(vs, out, frames, (h + 1) * d.f, a, one);
	}
	if (fault == VIBSIM_BEARING && d.sev > 0)
		vs_bearing(vs, &d, out, frames);
	if (fault == VIBSIM_LOOSENESS && d.sev > 0)
		vs_looseness(vs, &d, out, frames);
	for (i = 0; i < frames; i++)
		for (k = 0; k < VIBSIM_AXES; k++)
			out[i * VIBSIM_AXES + k] += (float)(vs->noise_sd *
			    vs_normal(vs) + (k == 2 ? VS_GRAVITY : 0));
	return (0);
}

/* The name of a fault. */
const char *
vibsim_fault_name(enum vibsim_fault f)
{
	if ((int)f < 0 || f >= VIBSIM_NFAULTS)
		return (NULL);
	return (vs_names[f]);
}

/* A fault from its name. */
int
vibsim_fault_parse(const char *s, enum vibsim_fault *f)
{
	int	i;

	if (s == NULL)
		return (-1);
	for (i = 0; i < VIBSIM_NFAULTS; i++)
		if (strcmp(s, vs_names[i]) == 0) {
			*f = (enum vibsim_fault)i;
			return (0);
		}
	return (-1);
}
