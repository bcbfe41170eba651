/*
 * learn_stat.c - what the learn module (SPEC 11) tells about itself: its
 * part of systemd's STATUS= line (nodes per state) and the "learn" object
 * of P/metrics (memory, drops, per section: nodes, states, windows
 * scored, anomalies, mean scoring time, windows rejected).
 */
#include <stdio.h>
#include <string.h>

#include <cJSON.h>

#include "learn.h"
#include "learn_int.h"

/* STATUS= part: nodes per state. */
size_t
learn_status(char *buf, size_t len)
{
	struct learn_sect *const	*s;
	size_t				 c[LEARN_FAILED + 1] = { 0 }, i, k, ns;
	int				 w;

	s = learn_sects(&ns);
	if (ns == 0)
		return (0);
	for (i = 0; i < ns; i++) {
		for (k = 0; k < s[i]->nn; k++)
			c[s[i]->n[k]->state]++;
	}
	w = snprintf(buf, len, "learn %zu collecting, %zu training, %zu "
	    "ready, %zu failed", c[0], c[1], c[2], c[3]);
	return (w < 0 ? 0 : (size_t)w < len ? (size_t)w : len - 1);
}

/* P/metrics: "learn": per section, counts and scoring time. */
void
learn_metrics(cJSON *o)
{
	struct learn_sect *const *ss;
	cJSON		*all, *j;
	uint64_t	 scored, anomalies, us, rej;
	size_t		 i, k, c[LEARN_FAILED + 1], ns;

	ss = learn_sects(&ns);
	all = cJSON_AddObjectToObject(o, "learn");
	cJSON_AddNumberToObject(all, "bytes", (double)*learn_mem());
	cJSON_AddNumberToObject(all, "emit_dropped",
	    (double)learn_emit_dropped());
	cJSON_AddNumberToObject(all, "training", learn_train_busy());
	for (i = 0; i < ns; i++) {
		const struct learn_sect *s = ss[i];

		scored = anomalies = us = rej = 0;
		memset(c, 0, sizeof c);
		for (k = 0; k < s->nn; k++) {
			c[s->n[k]->state]++;
			scored += s->n[k]->scored;
			anomalies += s->n[k]->anomalies;
			us += s->n[k]->score_us;
			rej += s->n[k]->rej_shape + s->n[k]->rej_bad +
			    s->n[k]->rej_full;
		}
		j = cJSON_AddObjectToObject(all, s->name);
		cJSON_AddNumberToObject(j, "nodes", (double)s->nn);
		cJSON_AddNumberToObject(j, "nodes_refused", (double)s->refused);
		cJSON_AddNumberToObject(j, "collecting", (double)c[0]);
		cJSON_AddNumberToObject(j, "ready", (double)c[2]);
		cJSON_AddNumberToObject(j, "failed", (double)c[3]);
		cJSON_AddNumberToObject(j, "scored", (double)scored);
		cJSON_AddNumberToObject(j, "anomalies", (double)anomalies);
		cJSON_AddNumberToObject(j, "score_us", scored ?
		    (double)(us / scored) : 0);
		cJSON_AddNumberToObject(j, "rejected", (double)rej);
	}
}
