/*
 * vibsim.h - synthetic vibration of rotating machines, for the node
 * simulator (tinyedge-nodesim --vibration) and bench/learn.
 *
 * A machine is drawn from a seed: its rotation frequency, the amplitudes
 * of its rotation line and harmonics, how each of three accelerometer
 * axes sees them, the structural resonance and bearing geometry that a
 * bearing fault excites.  Each call to vibsim_window() then gives one
 * window of VIBSIM_AXES axes (frame-major, axes interleaved, m/s2, gravity
 * on z) at VIBSIM_RATE_HZ, with a little speed and load wander from window
 * to window and Gaussian noise at the machine's SNR, healthy or with one
 * of three faults at a given severity.  The model and its numbers are
 * documented in docs/learn.md ("The vibration simulator").
 *
 * Pure: no I/O, no global state; everything random comes from the
 * machine's own generator, so a machine and its windows follow from the
 * seed.  A machine is used by one thread at a time.
 */
#ifndef TE_VIBSIM_H
#define TE_VIBSIM_H

#include <stddef.h>
#include <stdint.h>

#define VIBSIM_AXES		3
#define VIBSIM_RATE_HZ		1000		/* sampling rate */
#define VIBSIM_INTERVAL_US	1000		/* 1e6 / VIBSIM_RATE_HZ */
#define VIBSIM_FRAMES		1024		/* frames per window, default */
#define VIBSIM_SNR_DB		10.0		/* default SNR */
#define VIBSIM_MAX_FRAMES	65535		/* a binary window's limit */

/* What the machine suffers from. */
enum vibsim_fault {
	VIBSIM_NORMAL = 0,
	VIBSIM_BEARING,		/* resonance modulated at the defect rate */
	VIBSIM_IMBALANCE,	/* the 1x line grows */
	VIBSIM_LOOSENESS,	/* half-harmonics and high harmonics */
	VIBSIM_NFAULTS
};

struct vibsim;

/* A machine drawn from seed, with noise at snr_db; NULL if out of memory. */
struct vibsim	*vibsim_new(uint64_t seed, double snr_db);
void		 vibsim_free(struct vibsim *);

/* The machine's rotation frequency (Hz), before wander. */
double		 vibsim_rotation_hz(const struct vibsim *);

/* The standard deviation of the noise on each axis (m/s2). */
double		 vibsim_noise_sd(const struct vibsim *);

/*
 * One window of frames x VIBSIM_AXES floats into out; severity scales the
 * fault (1 = the documented level, 0 = healthy whatever the fault).
 * -1 if frames is 0 or over VIBSIM_MAX_FRAMES or severity is negative or
 * not finite (nothing written, nothing drawn).
 */
int		 vibsim_window(struct vibsim *, enum vibsim_fault, double,
		    float *, size_t);

/* "normal", "bearing", "imbalance", "looseness"; NULL if out of range. */
const char	*vibsim_fault_name(enum vibsim_fault);

/* A fault from its name (exact, lower case); -1 if unknown. */
int		 vibsim_fault_parse(const char *, enum vibsim_fault *);

#endif
