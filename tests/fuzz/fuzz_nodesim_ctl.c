/*
 * fuzz_nodesim_ctl.c - libFuzzer target for what tinyedge-nodesim reads
 * from a node's settings document (tools/nodesim_ctl.c): a parse either
 * succeeds with values in their ranges (scores in 0..1, a model with a
 * 64-hex sha256, a size within SIM_CTL_MODEL_MAX and a uri starting with
 * "/") or fails with a cause and leaves the document alone; the decision
 * for any score is 0 or 1 both ways; nothing may crash or leak.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nodesim_ctl.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* Parse data as a settings document and check what comes out. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sim_doc	d, before;
	char		*cause = NULL;
	int		 inf, win;

	memset(&d, 0x5a, sizeof d);
	before = d;
	if (nodesim_ctl_parse((const char *)data, size, &d, &cause) != 0) {
		if (cause == NULL || memcmp(&d, &before, sizeof d) != 0)
			abort();
		free(cause);
		return (0);
	}
	if (!(d.min_score >= 0 && d.min_score <= 1) ||
	    !(d.unsure_below >= 0 && d.unsure_below <= 1))
		abort();
	if (d.model.present && (strlen(d.model.sha256) != 64 ||
	    d.model.size == 0 || d.model.size > SIM_CTL_MODEL_MAX ||
	    d.model.uri[0] != '/' || d.model.name[0] == '\0'))
		abort();
	nodesim_ctl_decide(&d, size > 0 ? data[0] / 255.0 : 0.5, &inf, &win);
	if ((inf != 0 && inf != 1) || (win != 0 && win != 1))
		abort();
	return (0);
}
