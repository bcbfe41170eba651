/*
 * learn_train.c - a node's training (SPEC section 11), one at a time, in
 * the libuv pool: never on the loop.
 *
 * A node with all its windows is queued (FIFO, each node once).  The job
 * carries copies of the windows and settings, so the node may be
 * restarted or its section removed meanwhile: back on the loop the result
 * is used only if the node still exists with the same generation.  In the
 * pool: ae_train() (its held-out windows are never trained on), the
 * threshold at threshold_quantile of the held-out errors, int8
 * quantization calibrated on the node's windows, the .tflite written and
 * loaded with the runtime, and the int8 model checked against the float
 * one on the held-out windows: the fraction of equal anomaly decisions
 * ("agreement") and the largest difference of the errors are reported in
 * P/learn and the log.  A failure leaves the node "failed" with the
 * reason; P/cmd/learn restart starts it over.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uv.h>

#include "daemon.h"
#include "features/features.h"
#include "learn_int.h"
#include "log.h"
#include "models.h"
#include "store.h"
#include "tflite/tflite_write.h"
#include "xmalloc.h"

/* One training: copies in, results out. */
struct learn_job {
	uv_work_t		 req;
	uint64_t		 modgen;
	char			 sect[LEARN_NAME_MAX + 1];
	char			 node[MESSAGE_NODE_MAX + 1];
	uint64_t		 gen;
	float			*x;
	size_t			 n;
	uint32_t		 dim;
	double			 quantile;
	char			 kind[AE_KIND_MAX + 1];
	int			 rc;
	char			*cause;
	float			 threshold, threshold_f;
	double			 agreement, max_diff;
	uint64_t		 ms;
	int			 epochs;
	uint8_t			*model;
	size_t			 len;
	char			 sha256[65];
};

static struct {
	uint64_t		 gen;
	struct learn_node	*head, *tail;
	struct learn_job	*running;
} lt;

static void	learn_train_kick(void);

/* Write the int8 model, replacing an earlier write of the job. */
static int
learn_train_write(struct learn_job *j, const struct ae_quant *q, char **cause)
{
	free(j->model);
	j->model = NULL;
	return (tflite_write_dense(ae_quant_model(q), &j->model, &j->len,
	    cause));
}

/*
 * The int8 model as the node will run it (the runtime and its metadata
 * entry) on the held-out windows: its threshold is the quantile of its
 * own errors (they run over the float ones by the quantization noise),
 * put into the entry and written again; then the decisions of both
 * models against their thresholds are compared.
 */
static int
learn_train_check(struct learn_job *j, struct ae_quant *q, float thr_f,
    const struct ae_report *rep, char **cause)
{
	struct ae_runner	*run = NULL;
	float			*eq, ef;
	size_t			 i, agree = 0;
	int			 rc = -1;

	eq = xcalloc(rep->nheld, sizeof *eq);
	if (ae_runner_open(j->model, j->len, &run, cause) != 0)
		goto out;
	for (i = 0; i < rep->nheld; i++)
		eq[i] = ae_runner_error(run, j->x + rep->held_index[i] * j->dim);
	j->threshold = ae_quantile(eq, rep->nheld, j->quantile);
	if (!isfinite(j->threshold)) {
		xasprintf(cause, "the int8 model's held-out errors are not "
		    "finite");
		goto out;
	}
	j->max_diff = 0;
	for (i = 0; i < rep->nheld; i++) {
		ef = rep->held_errors[i];
		if ((ef > thr_f) == (eq[i] > j->threshold))
			agree++;
		if (fabs((double)eq[i] - ef) > j->max_diff)
			j->max_diff = fabs((double)eq[i] - ef);
	}
	j->agreement = (double)agree / (double)rep->nheld;
	if (ae_quant_set_threshold(q, j->threshold, cause) != 0 ||
	    learn_train_write(j, q, cause) != 0)
		goto out;
	rc = 0;
out:
	ae_runner_free(run);
	free(eq);
	return (rc);
}

/* Pool: train, threshold, quantize, write, load and check. */
static void
learn_train_work(uv_work_t *req)
{
	struct learn_job	*j = req->data;
	struct ae_params	 p;
	struct ae_report	 rep;
	struct ae		*ae = NULL;
	struct ae_quant		*q = NULL;
	uint64_t		 t0 = uv_hrtime();
	float			 thr_f;
	size_t			 h;

	memset(&rep, 0, sizeof rep);
	ae_params_default(&p);
	p.kind = j->kind;
	/* Deterministic per node: the same windows give the same model. */
	for (p.seed = 1469598103934665603ULL, h = 0; j->node[h] != '\0'; h++)
		p.seed = (p.seed ^ (uint8_t)j->node[h]) * 1099511628211ULL;
	j->rc = -1;
	if (ae_train(j->x, j->n, j->dim, &p, &ae, &rep, &j->cause) != 0)
		goto out;
	thr_f = ae_quantile(rep.held_errors, rep.nheld, j->quantile);
	if (!isfinite(thr_f) || rep.nheld == 0) {
		xasprintf(&j->cause, "no held-out errors for a threshold");
		goto out;
	}
	ae_set_threshold(ae, thr_f);
	if (ae_quantize(ae, j->x, j->n, AE_INPUT_STD, &q, &j->cause) != 0 ||
	    learn_train_write(j, q, &j->cause) != 0 ||
	    learn_train_check(j, q, thr_f, &rep, &j->cause) != 0)
		goto out;
	j->threshold_f = thr_f;
	j->epochs = rep.epochs;
	models_sha256(j->model, j->len, j->sha256);
	j->rc = 0;
out:
	j->ms = (uv_hrtime() - t0) / 1000000;
	ae_quant_free(q);
	ae_report_free(&rep);
	ae_free(ae);
}

/* Free a job. */
static void
learn_job_free(struct learn_job *j)
{
	free(j->x);
	free(j->cause);
	free(j->model);
	free(j);
}

/* A node's training failed: say why. */
static void
learn_train_failed(struct learn_node *nd, const char *why)
{
	nd->state = LEARN_FAILED;
	snprintf(nd->reason, sizeof nd->reason, "%s", why);
	log_warnx("learn %s: %s: training failed: %s", nd->s->name, nd->node,
	    why);
	learn_save(nd);
	learn_publish(nd);
}

/* A node's training succeeded: keep, load and serve the model. */
static void
learn_train_ready(struct learn_node *nd, struct learn_job *j)
{
	char	 key[LEARN_KEY_MAX], *cause = NULL;

	free(nd->model);
	nd->model = j->model;
	nd->model_len = j->len;
	j->model = NULL;
	nd->agreement = j->agreement;
	nd->max_diff = j->max_diff;
	nd->train_ms = j->ms;
	memcpy(nd->sha256, j->sha256, sizeof nd->sha256);
	if (learn_load_model(nd, &cause) != 0) {
		learn_train_failed(nd, cause);
		free(cause);
		return;
	}
	nd->state = LEARN_READY;
	nd->reason[0] = '\0';
	learn_key(key, sizeof key, nd->s->name, nd->node, LEARN_REC_MODEL, 0);
	store_state_set(key, nd->model, nd->model_len);
	learn_save(nd);
	learn_serve(nd);
	learn_publish(nd);
	log_info("learn %s: %s: ready in %" PRIu64 " ms (%d epochs): %zu byte "
	    "int8 model, threshold %.6g (float %.6g), int8 agrees with float "
	    "on %.1f%% of held-out windows (max error difference %.3g)",
	    nd->s->name, nd->node, nd->train_ms, j->epochs, nd->model_len,
	    nd->threshold, j->threshold_f, 100 * nd->agreement, nd->max_diff);
}

/* Loop: a training returned. */
static void
learn_train_done(uv_work_t *req, int status)
{
	struct learn_job	*j = req->data;
	struct learn_node	*nd;

	if (j->modgen != lt.gen) {
		learn_job_free(j);	/* stopped meanwhile */
		return;
	}
	lt.running = NULL;
	/* After a rollback the node is rebuilt: its generation changes. */
	learn_fresh();
	nd = learn_node_find(j->sect, j->node);
	if (nd != NULL && nd->gen == j->gen && nd->state == LEARN_TRAINING) {
		nd->trainings++;
		if (status != 0)
			learn_train_failed(nd, uv_strerror(status));
		else if (j->rc != 0)
			learn_train_failed(nd, j->cause != NULL ? j->cause :
			    "failed");
		else
			learn_train_ready(nd, j);
	}
	learn_job_free(j);
	learn_train_kick();
}

/* Start the next queued training if none runs. */
static void
learn_train_kick(void)
{
	struct learn_node	*nd;
	struct learn_job	*j;
	int			 rv;

	while (lt.running == NULL && (nd = lt.head) != NULL) {
		if ((lt.head = nd->qnext) == NULL)
			lt.tail = NULL;
		nd->qnext = NULL;
		nd->queued = 0;
		j = xcalloc(1, sizeof *j);
		j->modgen = lt.gen;
		snprintf(j->sect, sizeof j->sect, "%s", nd->s->name);
		snprintf(j->node, sizeof j->node, "%s", nd->node);
		snprintf(j->kind, sizeof j->kind, "%s",
		    features_kind_name(nd->s->kind));
		j->gen = nd->gen;
		j->n = nd->n;
		j->dim = nd->dim;
		j->quantile = nd->s->quantile;
		j->x = xreallocarray(NULL, nd->n, (size_t)nd->dim *
		    sizeof *j->x);
		memcpy(j->x, nd->x, nd->n * nd->dim * sizeof *j->x);
		j->req.data = j;
		if ((rv = uv_queue_work(daemon_loop(), &j->req,
		    learn_train_work, learn_train_done)) != 0) {
			learn_train_failed(nd, uv_strerror(rv));
			learn_job_free(j);
			continue;
		}
		lt.running = j;
		log_info("learn %s: %s: training on %zu windows of %u features",
		    nd->s->name, nd->node, nd->n, nd->dim);
	}
}

/* Queue a node (in state training) for training. */
void
learn_train_queue(struct learn_node *nd)
{
	if (nd->queued)
		return;
	nd->queued = 1;
	nd->qnext = NULL;
	if (lt.tail != NULL)
		lt.tail->qnext = nd;
	else
		lt.head = nd;
	lt.tail = nd;
	learn_train_kick();
}

/* A node goes away or starts over: out of the queue. */
void
learn_train_forget(struct learn_node *nd)
{
	struct learn_node	**pp, *prev = NULL;

	if (!nd->queued)
		return;
	for (pp = &lt.head; *pp != NULL; prev = *pp, pp = &(*pp)->qnext) {
		if (*pp == nd) {
			*pp = nd->qnext;
			if (lt.tail == nd)
				lt.tail = prev;
			break;
		}
	}
	nd->queued = 0;
	nd->qnext = NULL;
}

/* Stop: the queue is emptied, a running training is dropped at return. */
void
learn_train_stop(void)
{
	struct learn_node	*nd;

	while ((nd = lt.head) != NULL) {
		lt.head = nd->qnext;
		nd->queued = 0;
		nd->qnext = NULL;
	}
	lt.tail = NULL;
	lt.running = NULL;
	lt.gen++;
}

/* Is a training running? */
int
learn_train_busy(void)
{
	return (lt.running != NULL);
}
