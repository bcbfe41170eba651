/*
 * learn_rec.c - the learn module's store records and collection rules,
 * pure functions of their input (no store, no loop, no log) so the unit
 * test drives them alone.
 *
 * Keys: "learn/S/N/s" the node's status as JSON, "learn/S/N/w/IIIII" one
 * collected window's features (dim float32, little-endian), "learn/S/N/m"
 * the .tflite model (its metadata entry inside), "learn/S/sig"
 * the section's signature (features and their parameters, windows).  S
 * and N are section and node names, [A-Za-z0-9_.-], so '/' splits them.
 * The window count is not in the status: it is the number of window
 * records, which are written with the message that brought them.
 *
 * Collection (learn_take): a window is collected while the node collects
 * and has fewer than `windows`; its features must be finite and its shape
 * (feature count, frames, axes, sample interval) that of the node's first
 * window, else it is counted (shape, bad) and dropped; the memory of all
 * collected windows is bounded by LEARN_MEM_MAX (counted as full).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "learn_int.h"
#include "log.h"
#include "xmalloc.h"

static const char *const learn_state_names[] = {
	[LEARN_COLLECTING] = "collecting", [LEARN_TRAINING] = "training",
	[LEARN_READY] = "ready", [LEARN_FAILED] = "failed",
};

/* The state's name as P/learn says it. */
const char *
learn_state_name(enum learn_state st)
{
	if ((size_t)st >= sizeof learn_state_names /
	    sizeof learn_state_names[0])
		return ("?");
	return (learn_state_names[st]);
}

/* Is [s, s + len) 1..max of [A-Za-z0-9_.-]? */
static int
learn_name_ok(const char *s, size_t len, size_t max)
{
	size_t	i;

	if (len < 1 || len > max)
		return (0);
	for (i = 0; i < len; i++) {
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= 'A' && s[i] <= 'Z') ||
		    (s[i] >= '0' && s[i] <= '9') || s[i] == '_' ||
		    s[i] == '.' || s[i] == '-'))
			return (0);
	}
	return (1);
}

/* Build the key of a record (index only for windows). */
void
learn_key(char *buf, size_t len, const char *sect, const char *node,
    enum learn_rec_kind kind, uint32_t index)
{
	switch (kind) {
	case LEARN_REC_SIG:
		snprintf(buf, len, "learn/%s/sig", sect);
		break;
	case LEARN_REC_WINDOW:
		snprintf(buf, len, "learn/%s/%s/w/%05u", sect, node, index);
		break;
	default:
		snprintf(buf, len, "learn/%s/%s/%c", sect, node,
		    kind == LEARN_REC_STATE ? 's' : 'm');
		break;
	}
}

/* Take a key apart; -1 if it is not one of ours. */
int
learn_key_parse(const char *key, struct learn_key *k)
{
	const char	*s, *n, *t;
	char		*end;
	unsigned long	 v;

	memset(k, 0, sizeof *k);
	if (strncmp(key, "learn/", 6) != 0)
		return (-1);
	s = key + 6;
	if ((n = strchr(s, '/')) == NULL ||
	    !learn_name_ok(s, (size_t)(n - s), LEARN_NAME_MAX))
		return (-1);
	memcpy(k->sect, s, (size_t)(n - s));
	n++;
	if (strcmp(n, "sig") == 0) {
		k->kind = LEARN_REC_SIG;
		return (0);
	}
	if ((t = strchr(n, '/')) == NULL ||
	    !learn_name_ok(n, (size_t)(t - n), MESSAGE_NODE_MAX) ||
	    ((size_t)(t - n) <= 2 && n[0] == '.' && (t - n == 1 ||
	    n[1] == '.')))
		return (-1);
	memcpy(k->node, n, (size_t)(t - n));
	t++;
	if (strcmp(t, "s") == 0)
		k->kind = LEARN_REC_STATE;
	else if (strcmp(t, "m") == 0)
		k->kind = LEARN_REC_MODEL;
	else if (strncmp(t, "w/", 2) == 0 && strlen(t + 2) == 5 &&
	    strspn(t + 2, "0123456789") == 5) {
		v = strtoul(t + 2, &end, 10);
		if (*end != '\0' || v >= LEARN_WINDOWS_MAX)
			return (-1);
		k->kind = LEARN_REC_WINDOW;
		k->index = (uint32_t)v;
	} else
		return (-1);
	return (0);
}

/* The node's status record as JSON (caller frees). */
char *
learn_state_encode(const struct learn_node *nd)
{
	cJSON	*o = cJSON_CreateObject();
	char	*s;

	cJSON_AddStringToObject(o, "state", learn_state_name(nd->state));
	cJSON_AddNumberToObject(o, "dim", nd->dim);
	cJSON_AddNumberToObject(o, "frames", nd->frames);
	cJSON_AddNumberToObject(o, "axes", nd->axes);
	cJSON_AddNumberToObject(o, "interval_us", (double)nd->interval_us);
	cJSON_AddNumberToObject(o, "rej_shape", (double)nd->rej_shape);
	cJSON_AddNumberToObject(o, "rej_bad", (double)nd->rej_bad);
	cJSON_AddNumberToObject(o, "rej_full", (double)nd->rej_full);
	cJSON_AddNumberToObject(o, "threshold", isfinite(nd->threshold) ?
	    nd->threshold : 0);
	cJSON_AddNumberToObject(o, "agreement", nd->agreement);
	cJSON_AddNumberToObject(o, "max_diff", nd->max_diff);
	cJSON_AddNumberToObject(o, "train_ms", (double)nd->train_ms);
	cJSON_AddNumberToObject(o, "trainings", nd->trainings);
	cJSON_AddStringToObject(o, "reason", nd->reason);
	cJSON_AddStringToObject(o, "sha256", nd->sha256);
	s = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	if (s == NULL)
		fatalx("learn: out of memory");
	return (s);
}

/* A number member in [0, max]; -1 if missing or out of range. */
static int
learn_num(const cJSON *o, const char *name, double max, double *v)
{
	const cJSON	*j = cJSON_GetObjectItemCaseSensitive(o, name);

	if (!cJSON_IsNumber(j) || !isfinite(j->valuedouble) ||
	    j->valuedouble < 0 || j->valuedouble > max)
		return (-1);
	*v = j->valuedouble;
	return (0);
}

/* A string member of at most max bytes, copied into buf; -1 if not. */
static int
learn_str(const cJSON *o, const char *name, char *buf, size_t max)
{
	const cJSON	*j = cJSON_GetObjectItemCaseSensitive(o, name);

	if (!cJSON_IsString(j) || strlen(j->valuestring) >= max)
		return (-1);
	memcpy(buf, j->valuestring, strlen(j->valuestring) + 1);
	return (0);
}

/* The numbers of a status record into nd; -1 naming the bad one. */
static int
learn_state_numbers(const cJSON *o, struct learn_node *nd, char **cause)
{
	static const char *const names[] = { "dim", "frames", "axes",
	    "interval_us", "rej_shape", "rej_bad", "rej_full", "threshold",
	    "agreement", "max_diff", "train_ms", "trainings" };
	static const double max[] = { LEARN_DIM_MAX, 65535,
	    MESSAGE_AXES_MAX, 4294967295.0, 9e15, 9e15, 9e15, 3e38, 1, 3e38,
	    9e15, 4294967295.0 };
	double	v[sizeof names / sizeof names[0]];
	size_t	i;

	for (i = 0; i < sizeof names / sizeof names[0]; i++) {
		if (learn_num(o, names[i], max[i], &v[i]) != 0) {
			xasprintf(cause, "\"%s\" missing or out of range",
			    names[i]);
			return (-1);
		}
	}
	nd->dim = (uint32_t)v[0];
	nd->frames = (uint32_t)v[1];
	nd->axes = (uint32_t)v[2];
	nd->interval_us = (uint64_t)v[3];
	nd->rej_shape = (uint64_t)v[4];
	nd->rej_bad = (uint64_t)v[5];
	nd->rej_full = (uint64_t)v[6];
	nd->threshold = (float)v[7];
	nd->agreement = v[8];
	nd->max_diff = v[9];
	nd->train_ms = (uint64_t)v[10];
	nd->trainings = (uint32_t)v[11];
	return (0);
}

/* Read a status record into nd (outside input: every field checked). */
int
learn_state_parse(const void *buf, size_t len, struct learn_node *nd,
    char **cause)
{
	cJSON	*o;
	char	 st[16];
	size_t	 i;
	int	 rc = -1;

	o = cJSON_ParseWithLength(buf, len);
	if (!cJSON_IsObject(o)) {
		xasprintf(cause, "not a JSON object");
		goto out;
	}
	if (learn_str(o, "state", st, sizeof st) != 0) {
		xasprintf(cause, "\"state\" missing");
		goto out;
	}
	for (i = 0; i <= LEARN_FAILED; i++) {
		if (strcmp(st, learn_state_names[i]) == 0)
			break;
	}
	if (i > LEARN_FAILED) {
		xasprintf(cause, "unknown state");
		goto out;
	}
	nd->state = (enum learn_state)i;
	if (learn_state_numbers(o, nd, cause) != 0)
		goto out;
	if (learn_str(o, "reason", nd->reason, sizeof nd->reason) != 0 ||
	    learn_str(o, "sha256", nd->sha256, sizeof nd->sha256) != 0 ||
	    (nd->sha256[0] != '\0' && (strlen(nd->sha256) != 64 ||
	    strspn(nd->sha256, "0123456789abcdef") != 64))) {
		xasprintf(cause, "\"reason\" or \"sha256\" missing or bad");
		goto out;
	}
	rc = 0;
out:
	cJSON_Delete(o);
	return (rc);
}

/*
 * Offer one window's features (dim values of a frames x axes window
 * sampled every interval_us) to a collecting node that wants windows in
 * all; *mem counts the bytes collected by every node.
 */
enum learn_take
learn_take(struct learn_node *nd, const float *f, uint32_t dim,
    uint32_t frames, uint32_t axes, uint64_t interval_us, size_t windows,
    size_t *mem)
{
	size_t	i, bytes = (size_t)dim * sizeof *f;

	if (nd->state != LEARN_COLLECTING || nd->n >= windows)
		return (LEARN_DONE);
	for (i = 0; i < dim; i++) {
		if (!isfinite(f[i]))
			break;
	}
	if (dim == 0 || dim > LEARN_DIM_MAX || i < dim) {
		nd->rej_bad++;
		return (LEARN_BAD);
	}
	if (nd->n > 0 && (dim != nd->dim || frames != nd->frames ||
	    axes != nd->axes || interval_us != nd->interval_us)) {
		nd->rej_shape++;
		return (LEARN_SHAPE);
	}
	if (*mem + bytes > LEARN_MEM_MAX) {
		nd->rej_full++;
		return (LEARN_FULL);
	}
	if (nd->n == nd->cap) {
		nd->cap = nd->cap ? nd->cap * 2 : 16;
		if (nd->cap > windows)
			nd->cap = windows;
		nd->x = xreallocarray(nd->x, nd->cap, bytes);
	}
	nd->dim = dim;
	nd->frames = frames;
	nd->axes = axes;
	nd->interval_us = interval_us;
	memcpy(nd->x + nd->n * dim, f, bytes);
	nd->n++;
	*mem += bytes;
	return (LEARN_TAKEN);
}

/* Forget a node's windows and model: it collects again from nothing. */
void
learn_node_drop(struct learn_node *nd, size_t *mem)
{
	*mem -= nd->n * nd->dim * sizeof *nd->x;
	free(nd->x);
	nd->x = NULL;
	nd->n = nd->cap = 0;
	nd->dim = nd->frames = nd->axes = 0;
	nd->interval_us = 0;
	nd->rej_shape = nd->rej_bad = nd->rej_full = 0;
	nd->scored = nd->anomalies = nd->score_us = 0;
	nd->threshold = 0;
	nd->agreement = nd->max_diff = 0;
	nd->train_ms = 0;
	nd->reason[0] = nd->sha256[0] = '\0';
	free(nd->model);
	nd->model = NULL;
	nd->model_len = 0;
	ae_runner_free(nd->run);
	nd->run = NULL;
	nd->serve = 0;
	nd->state = LEARN_COLLECTING;
}

/* dim floats to little-endian float32 bytes (4 * dim). */
void
learn_window_encode(const float *f, uint32_t dim, uint8_t *out)
{
	uint32_t	i, b;

	for (i = 0; i < dim; i++) {
		memcpy(&b, &f[i], sizeof b);
		out[4 * i] = b & 0xff;
		out[4 * i + 1] = (b >> 8) & 0xff;
		out[4 * i + 2] = (b >> 16) & 0xff;
		out[4 * i + 3] = (b >> 24) & 0xff;
	}
}

/* A window record back to dim floats; -1 for a wrong length or NaN. */
int
learn_window_decode(const void *buf, size_t len, uint32_t dim, float *f)
{
	const uint8_t	*p = buf;
	uint32_t	 i, b;

	if (dim == 0 || len != (size_t)dim * 4)
		return (-1);
	for (i = 0; i < dim; i++) {
		b = (uint32_t)p[4 * i] | (uint32_t)p[4 * i + 1] << 8 |
		    (uint32_t)p[4 * i + 2] << 16 | (uint32_t)p[4 * i + 3] << 24;
		memcpy(&f[i], &b, sizeof b);
		if (!isfinite(f[i]))
			return (-1);
	}
	return (0);
}
