/*
 * ae_meta.c - the autoencoder's metadata entry in its .tflite file: what
 * scoring needs besides the model's output (dim, threshold, feature kind,
 * per-feature mean and std), in the little-endian layout documented in
 * ae.h.  The parser reads outside input (a model file served to and from
 * nodes, or read back after a restart): every length and value is
 * checked before use.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ae.h"
#include "ae_int.h"

#define AE_META_FIXED	24	/* bytes before the kind name */

/* A kind name is 1..AE_KIND_MAX of [a-z0-9_-]. */
int
ae_kind_ok(const uint8_t *k, size_t len)
{
	size_t	 i;

	if (len == 0 || len > AE_KIND_MAX)
		return (0);
	for (i = 0; i < len; i++) {
		if (!((k[i] >= 'a' && k[i] <= 'z') ||
		    (k[i] >= '0' && k[i] <= '9') || k[i] == '_' || k[i] == '-'))
			return (0);
	}
	return (1);
}

/* Check the fields an entry may hold (both directions). */
static int
ae_meta_check(const struct ae_meta *m, char **cause)
{
	uint32_t	 i;

	if (m->dim == 0 || m->dim > AE_MAX_DIM)
		return (lu_fail(cause, "metadata dim %u not in 1..%u", m->dim,
		    AE_MAX_DIM));
	if (!isfinite(m->threshold) || m->threshold < 0)
		return (lu_fail(cause, "metadata threshold not set or not a "
		    "finite value >= 0"));
	if (m->input != AE_INPUT_STD && m->input != AE_INPUT_RAW)
		return (lu_fail(cause, "metadata input %u unknown", m->input));
	if (!ae_kind_ok((const uint8_t *)m->kind, strlen(m->kind)))
		return (lu_fail(cause, "metadata feature kind is not a name"));
	for (i = 0; i < m->dim; i++) {
		if (!isfinite(m->mean[i]))
			return (lu_fail(cause, "metadata mean %u not finite", i));
		if (!isfinite(m->std[i]) || !(m->std[i] > 0))
			return (lu_fail(cause, "metadata std %u not a finite "
			    "value > 0", i));
	}
	return (0);
}

/* Encode m into a malloc'd buffer. */
int
ae_meta_encode(const struct ae_meta *m, uint8_t **buf, size_t *len,
    char **cause)
{
	size_t		 k, off;
	uint8_t		*b;
	uint32_t	 i;

	*buf = NULL;
	*len = 0;
	if (ae_meta_check(m, cause) != 0)
		return (-1);
	k = strlen(m->kind);
	*len = AE_META_FIXED + k + 8 * (size_t)m->dim;
	if ((b = malloc(*len)) == NULL)
		return (lu_fail(cause, "out of memory"));
	memcpy(b, "TEAE", 4);
	lu_wr32(b + 4, AE_META_VERSION);
	lu_wr32(b + 8, m->dim);
	lu_wrf(b + 12, m->threshold);
	lu_wr32(b + 16, m->input);
	lu_wr32(b + 20, (uint32_t)k);
	memcpy(b + AE_META_FIXED, m->kind, k);
	off = AE_META_FIXED + k;
	for (i = 0; i < m->dim; i++) {
		lu_wrf(b + off + 4 * i, m->mean[i]);
		lu_wrf(b + off + 4 * ((size_t)m->dim + i), m->std[i]);
	}
	*buf = b;
	return (0);
}

/* Parse an entry of len bytes into m (arrays malloc'd). */
int
ae_meta_parse(const void *data, size_t len, struct ae_meta *m, char **cause)
{
	const uint8_t	*b = data;
	uint32_t	 k, i;
	size_t		 off;

	memset(m, 0, sizeof *m);
	if (len < AE_META_FIXED)
		return (lu_fail(cause, "metadata is %zu bytes, too short", len));
	if (memcmp(b, "TEAE", 4) != 0)
		return (lu_fail(cause, "metadata has no TEAE magic"));
	if (lu_rd32(b + 4) != AE_META_VERSION)
		return (lu_fail(cause, "metadata version %u unknown",
		    lu_rd32(b + 4)));
	m->dim = lu_rd32(b + 8);
	m->threshold = lu_rdf(b + 12);
	m->input = lu_rd32(b + 16);
	k = lu_rd32(b + 20);
	if (m->dim == 0 || m->dim > AE_MAX_DIM)
		return (lu_fail(cause, "metadata dim %u not in 1..%u", m->dim,
		    AE_MAX_DIM));
	if (k == 0 || k > AE_KIND_MAX)
		return (lu_fail(cause, "metadata kind length %u", k));
	/* both bounded above, so this cannot overflow */
	if (len != AE_META_FIXED + k + 8 * (size_t)m->dim)
		return (lu_fail(cause, "metadata is %zu bytes, dim %u and kind "
		    "%u need %zu", len, m->dim, k,
		    AE_META_FIXED + k + 8 * (size_t)m->dim));
	if (!ae_kind_ok(b + AE_META_FIXED, k))
		return (lu_fail(cause, "metadata feature kind is not a name"));
	memcpy(m->kind, b + AE_META_FIXED, k);
	m->kind[k] = '\0';
	m->mean = calloc(m->dim, sizeof *m->mean);
	m->std = calloc(m->dim, sizeof *m->std);
	if (m->mean == NULL || m->std == NULL) {
		ae_meta_free(m);
		return (lu_fail(cause, "out of memory"));
	}
	off = AE_META_FIXED + k;
	for (i = 0; i < m->dim; i++) {
		m->mean[i] = lu_rdf(b + off + 4 * i);
		m->std[i] = lu_rdf(b + off + 4 * ((size_t)m->dim + i));
	}
	if (ae_meta_check(m, cause) != 0) {
		ae_meta_free(m);
		return (-1);
	}
	return (0);
}

/* Free what a parsed entry holds (not the struct itself). */
void
ae_meta_free(struct ae_meta *m)
{
	if (m == NULL)
		return;
	free(m->mean);
	free(m->std);
	m->mean = m->std = NULL;
}
