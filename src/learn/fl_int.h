/*
 * fl_int.h - what the files of the federated-learning library share: the
 * bounds of heads and validation files (the cause helper and the
 * little-endian loads and stores come from lu.h).
 */
#ifndef TE_FL_INT_H
#define TE_FL_INT_H

#include <stdint.h>
#include <string.h>

#include "lu.h"

/* Bounds on what a head may hold: the flatbuffer reader allows more. */
#define FL_MAX_VALUES	(1u << 24)	/* rows * cols + rows */

/* The validation file (docs/federated.md) and its bounds. */
#define FL_VAL_HEADER		12
#define FL_VAL_MAX_N		100000u		/* examples */
#define FL_VAL_MAX_VALUES	(1u << 24)	/* examples x inputs */

#endif
