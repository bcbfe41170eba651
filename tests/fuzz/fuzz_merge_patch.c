/*
 * fuzz_merge_patch.c - libFuzzer target for the JSON merge patch of node
 * settings (control_merge.c, RFC 7396), which MQTT commands drive.
 *
 * The input is two JSON texts, target and patch, split at the first
 * newline.  A patch that is refused (nested too deep) must leave the
 * target exactly as it was; an accepted one must leave no key that the
 * patch set to null, must give an object whenever the patch is one, and
 * applying it a second time must change nothing, member order included
 * (a merge patch is idempotent; with a key repeated in the patch only up
 * to order, so those are not checked: control_patch() refuses them).
 * Nothing may crash or leak.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "control.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* Is every key whose last value in an object patch is null gone? */
static int
fz_nulls_gone(const cJSON *result, const cJSON *patch)
{
	const cJSON	*p, *q;

	if (!cJSON_IsObject(patch))
		return (1);
	if (!cJSON_IsObject(result))
		return (0);
	cJSON_ArrayForEach(p, patch) {
		if (!cJSON_IsNull(p))
			continue;
		for (q = p->next; q != NULL; q = q->next) {
			if (strcmp(q->string, p->string) == 0)
				break;
		}
		if (q == NULL &&
		    cJSON_GetObjectItemCaseSensitive(result, p->string) != NULL)
			return (0);
	}
	return (1);
}

/*
 * Are a and b the same, member order included?  Not cJSON_Compare(): it
 * looks members up by name, so an object with a repeated key (cJSON keeps
 * both) would differ from itself.
 */
static int
fz_same(const cJSON *a, const cJSON *b)
{
	char	*ta = cJSON_PrintUnformatted(a), *tb = cJSON_PrintUnformatted(b);
	int	 same;

	if (ta == NULL || tb == NULL)
		abort();
	same = strcmp(ta, tb) == 0;
	free(ta);
	free(tb);
	return (same);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t	*nl = memchr(data, '\n', size);
	cJSON		*target, *patch, *before, *again;
	size_t		 tlen;

	if (nl == NULL)
		return (0);
	tlen = (size_t)(nl - data);
	target = cJSON_ParseWithLength((const char *)data, tlen);
	patch = cJSON_ParseWithLength((const char *)nl + 1, size - tlen - 1);
	if (target == NULL || patch == NULL)
		goto out;
	before = cJSON_Duplicate(target, 1);
	if (control_merge_patch(&target, patch) != 0) {
		if (!fz_same(before, target))
			abort();
		cJSON_Delete(before);
		goto out;
	}
	cJSON_Delete(before);
	if (target == NULL || (cJSON_IsObject(patch) &&
	    !cJSON_IsObject(target)) || !fz_nulls_gone(target, patch))
		abort();
	/* With a repeated key the order of the result may differ. */
	if (control_merge_repeats(patch))
		goto out;
	again = cJSON_Duplicate(target, 1);
	if (control_merge_patch(&again, patch) != 0 ||
	    !fz_same(again, target))
		abort();
	cJSON_Delete(again);
out:
	cJSON_Delete(target);
	cJSON_Delete(patch);
	return (0);
}
