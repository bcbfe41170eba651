/*
 * control_merge.c - JSON merge patch (RFC 7396) for node settings.
 *
 * Debian 12's libcjson-dev ships no cJSON_Utils, so the algorithm of the
 * RFC's section 2 is written here: a patch that is an object merges key
 * by key into the target (made an object first if it is not one), a null
 * removes the key, any other value replaces it (recursively for objects);
 * a patch that is not an object replaces the target whole.  Patches come
 * from MQTT commands, so their nesting is bounded (CONTROL_MERGE_DEPTH)
 * and checked before anything changes.  It is a file of its own so the
 * fuzz target links it without the rest of control.c.
 */
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "control.h"

/* Is v nested at most max levels deep (a scalar is 0)? */
static int
control_merge_depth_ok(const cJSON *v, int max)
{
	const cJSON	*c;

	if (!cJSON_IsObject(v) && !cJSON_IsArray(v))
		return (1);
	if (max == 0)
		return (0);
	cJSON_ArrayForEach(c, v) {
		if (!control_merge_depth_ok(c, max - 1))
			return (0);
	}
	return (1);
}

/* A copy of v; cJSON fails only when out of memory. */
static cJSON *
control_merge_dup(const cJSON *v)
{
	cJSON	*d = cJSON_Duplicate(v, 1);

	if (d == NULL)
		abort();
	return (d);
}

/* Merge object patch into *target, which it makes an object first. */
static void
control_merge_object(cJSON **target, const cJSON *patch)
{
	const cJSON	*p;
	cJSON		*t, *sub;

	if (*target == NULL || !cJSON_IsObject(*target)) {
		cJSON_Delete(*target);
		if ((*target = cJSON_CreateObject()) == NULL)
			abort();
	}
	t = *target;
	cJSON_ArrayForEach(p, patch) {
		if (p->string == NULL)
			continue;
		if (cJSON_IsNull(p)) {
			while (cJSON_GetObjectItemCaseSensitive(t, p->string))
				cJSON_DeleteItemFromObjectCaseSensitive(t,
				    p->string);
			continue;
		}
		sub = cJSON_GetObjectItemCaseSensitive(t, p->string);
		if (cJSON_IsObject(p) && cJSON_IsObject(sub)) {
			/* In place: the key keeps its position. */
			control_merge_object(&sub, p);
			continue;
		}
		if (cJSON_IsObject(p)) {
			sub = NULL;
			control_merge_object(&sub, p);
		} else
			sub = control_merge_dup(p);
		if (cJSON_GetObjectItemCaseSensitive(t, p->string) != NULL)
			cJSON_ReplaceItemInObjectCaseSensitive(t, p->string,
			    sub);
		else
			cJSON_AddItemToObject(t, p->string, sub);
	}
}

/*
 * Apply merge patch to *target (which may be replaced; NULL is taken as
 * absent).  -1, with *target untouched, when the patch is nested deeper
 * than CONTROL_MERGE_DEPTH.
 */
int
control_merge_patch(cJSON **target, const cJSON *patch)
{
	if (!control_merge_depth_ok(patch, CONTROL_MERGE_DEPTH))
		return (-1);
	if (!cJSON_IsObject(patch)) {
		cJSON_Delete(*target);
		*target = control_merge_dup(patch);
		return (0);
	}
	control_merge_object(target, patch);
	return (0);
}

/*
 * Does an object in v, at any depth, repeat a key?  A merge patch with
 * one applies both values in turn, so its result depends on member order.
 */
int
control_merge_repeats(const cJSON *v)
{
	const cJSON	*c, *d;

	cJSON_ArrayForEach(c, v) {
		if (control_merge_repeats(c))
			return (1);
		if (!cJSON_IsObject(v))
			continue;
		for (d = c->next; d != NULL; d = d->next) {
			if (strcmp(c->string, d->string) == 0)
				return (1);
		}
	}
	return (0);
}
