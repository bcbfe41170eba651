/*
 * ae_train.c - float training of the autoencoder (SPEC section 11): a
 * seeded split into trained and held-out windows, per-feature mean and
 * std from the trained part, He/Glorot initialization, Adam on
 * mini-batches of the mean squared error in standardized space, early
 * stop on the held-out loss (the best epoch's weights are kept), then the
 * standardization is folded into the first layer and the held-out errors
 * are computed from raw windows as a node would.
 *
 * While training, the model works on standardized inputs z; each batch
 * standardizes its windows into a scratch row, so no copy of the data set
 * is made.  Single-threaded and deterministic for a given seed.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ae.h"
#include "ae_int.h"

#define AE_BETA1	0.9
#define AE_BETA2	0.999
#define AE_EPS		1e-8

/* Training state: flat parameter-sized arrays and per-window scratch. */
struct ae_trainer {
	struct ae	*ae;
	const float	*x;
	size_t		 np;		/* parameters in all */
	size_t		 off[AE_NLAYERS];	/* layer's weights, then biases */
	float		*g, *m, *v, *best;
	float		*act[AE_NLAYERS + 1];
	float		*delta, *prev;
	size_t		*idx;		/* trained part then held part */
	size_t		 ntrain, nheld;
	long		 t;		/* Adam steps */
};

/* Fill p with the defaults documented in ae.h. */
void
ae_params_default(struct ae_params *p)
{
	memset(p, 0, sizeof *p);
	p->max_epochs = 300;
	p->patience = 25;
	p->batch = 16;
	p->lr = 0.003f;
	p->holdout = 0.2f;
	p->std_floor = 1e-3f;
	p->seed = 1;
	p->kind = "raw";
}

/* Refuse shapes and settings out of range; resolve the default sizes. */
static int
ae_check(size_t n, uint32_t dim, const struct ae_params *p, uint32_t *hidden,
    uint32_t *code, char **cause)
{
	int	 h = p->hidden, c = p->code;

	if (dim == 0 || dim > AE_MAX_DIM)
		return (lu_fail(cause, "dim %u not in 1..%u", dim, AE_MAX_DIM));
	if (n < AE_MIN_N || n > AE_MAX_N)
		return (lu_fail(cause, "%zu windows, need %u..%u", n,
		    AE_MIN_N, AE_MAX_N));
	if (h == 0)
		h = dim / 2 < 8 ? 8 : (dim / 2 > 32 ? 32 : (int)dim / 2);
	if (c == 0)
		c = h / 3 < 4 ? 4 : (h / 3 > 16 ? 16 : h / 3);
	if (c > h)
		c = h;
	if (h < 1 || h > AE_MAX_HIDDEN || c < 1)
		return (lu_fail(cause, "hidden %d / code %d out of range", h, c));
	if (p->max_epochs < 1 || p->max_epochs > AE_MAX_EPOCHS ||
	    p->patience < 1 || p->batch < 1 || p->batch > 4096)
		return (lu_fail(cause, "bad epochs, patience or batch"));
	if (!(p->lr > 0 && p->lr < 1) || !(p->holdout > 0 &&
	    p->holdout <= 0.9f) || !(p->std_floor > 0 && p->std_floor < 1))
		return (lu_fail(cause, "bad lr, holdout or std_floor"));
	if (p->kind == NULL || !ae_kind_ok((const uint8_t *)p->kind,
	    strlen(p->kind)))
		return (lu_fail(cause, "bad feature kind name"));
	*hidden = (uint32_t)h;
	*code = (uint32_t)c;
	return (0);
}

/* Shuffle n indices with the seeded generator (Fisher-Yates). */
static void
ae_shuffle(size_t *v, size_t n, uint64_t *rng)
{
	size_t	 i, j, t;

	for (i = n; i > 1; i--) {
		j = (size_t)(ae_rand(rng) % i);
		t = v[i - 1];
		v[i - 1] = v[j];
		v[j] = t;
	}
}

/* Mean and floored std of each feature over the trained windows. */
static void
ae_stats(struct ae_trainer *tr, float std_floor)
{
	struct ae	*ae = tr->ae;
	uint32_t	 d, dim = ae->dim;
	size_t		 k;
	double		 s, ss, v, mx = 0, floor;
	const float	*row;

	for (d = 0; d < dim; d++) {
		s = ss = 0;
		for (k = 0; k < tr->ntrain; k++) {
			row = tr->x + tr->idx[k] * dim;
			s += row[d];
		}
		s /= (double)tr->ntrain;
		for (k = 0; k < tr->ntrain; k++) {
			v = tr->x[tr->idx[k] * dim + d] - s;
			ss += v * v;
		}
		ae->meta.mean[d] = (float)s;
		ae->meta.std[d] = (float)sqrt(ss / (double)tr->ntrain);
		if (ae->meta.std[d] > mx)
			mx = ae->meta.std[d];
	}
	/* relative floor: features of any scale, no division by ~0 */
	floor = mx > 0 ? mx * std_floor : 1;
	for (d = 0; d < dim; d++) {
		if (ae->meta.std[d] < floor)
			ae->meta.std[d] = (float)floor;
	}
}

/* He-uniform weights before ReLU, Glorot-uniform otherwise; zero bias. */
static void
ae_init(struct ae *ae, uint64_t *rng)
{
	struct ae_layer	*l;
	double		 a;
	size_t		 k, nw;
	int		 i;

	for (i = 0; i < AE_NLAYERS; i++) {
		l = &ae->l[i];
		a = l->relu ? sqrt(6.0 / l->in) : sqrt(6.0 / (l->in + l->out));
		nw = (size_t)l->in * l->out;
		for (k = 0; k < nw; k++)
			l->w[k] = (float)((2 * ae_rand01(rng) - 1) * a);
		memset(l->b, 0, l->out * sizeof *l->b);
	}
}

/* Standardize raw window i into z. */
static void
ae_standardize(const struct ae_trainer *tr, size_t i, float *z)
{
	const struct ae	*ae = tr->ae;
	const float	*row = tr->x + i * ae->dim;
	uint32_t	 d;

	for (d = 0; d < ae->dim; d++)
		z[d] = (row[d] - ae->meta.mean[d]) / ae->meta.std[d];
}

/* Forward window i (standardized) through act[]; returns its error. */
static double
ae_fwd(struct ae_trainer *tr, size_t i)
{
	struct ae	*ae = tr->ae;
	double		 s = 0, d;
	uint32_t	 k;
	int		 j;

	ae_standardize(tr, i, tr->act[0]);
	for (j = 0; j < AE_NLAYERS; j++)
		ae_layer_forward(&ae->l[j], tr->act[j], tr->act[j + 1]);
	for (k = 0; k < ae->dim; k++) {
		d = (double)tr->act[AE_NLAYERS][k] - tr->act[0][k];
		s += d * d;
	}
	return (s / ae->dim);
}

/* Accumulate the gradient of window i's error, scaled by 1/bs. */
static double
ae_backward(struct ae_trainer *tr, size_t i, size_t bs)
{
	struct ae	*ae = tr->ae;
	struct ae_layer	*l;
	double		 err = ae_fwd(tr, i);
	float		*gw, *gb, *t, sc = 2.0f / ((float)ae->dim * bs);
	uint32_t	 o, k;
	int		 j;

	for (k = 0; k < ae->dim; k++)
		tr->delta[k] = sc * (tr->act[AE_NLAYERS][k] - tr->act[0][k]);
	for (j = AE_NLAYERS - 1; j >= 0; j--) {
		l = &ae->l[j];
		gw = tr->g + tr->off[j];
		gb = gw + (size_t)l->in * l->out;
		if (j > 0)
			memset(tr->prev, 0, l->in * sizeof *tr->prev);
		for (o = 0; o < l->out; o++) {
			if (tr->delta[o] == 0)
				continue;
			gb[o] += tr->delta[o];
			for (k = 0; k < l->in; k++) {
				gw[(size_t)o * l->in + k] += tr->delta[o] *
				    tr->act[j][k];
				if (j > 0)
					tr->prev[k] += l->w[(size_t)o * l->in +
					    k] * tr->delta[o];
			}
		}
		if (j == 0)
			break;
		/* through the ReLU of the layer below: zero where it was off */
		if (ae->l[j - 1].relu) {
			for (k = 0; k < l->in; k++) {
				if (tr->act[j][k] <= 0)
					tr->prev[k] = 0;
			}
		}
		t = tr->delta;
		tr->delta = tr->prev;
		tr->prev = t;
	}
	return (err);
}

/* One Adam step over n parameters p with gradient g and moments m, v. */
static void
ae_adam(float *p, const float *g, float *m, float *v, size_t n, float lr,
    long t)
{
	double	 c1 = 1 - pow(AE_BETA1, (double)t);
	double	 c2 = 1 - pow(AE_BETA2, (double)t);
	size_t	 k;

	for (k = 0; k < n; k++) {
		m[k] = (float)(AE_BETA1 * m[k] + (1 - AE_BETA1) * g[k]);
		v[k] = (float)(AE_BETA2 * v[k] + (1 - AE_BETA2) * g[k] * g[k]);
		p[k] -= (float)(lr * (m[k] / c1) / (sqrt(v[k] / c2) + AE_EPS));
	}
}

/* Copy the parameters into (to != 0) or out of the flat array buf. */
static void
ae_params_copy(struct ae_trainer *tr, float *buf, int to)
{
	struct ae_layer	*l;
	size_t		 nw;
	int		 j;

	for (j = 0; j < AE_NLAYERS; j++) {
		l = &tr->ae->l[j];
		nw = (size_t)l->in * l->out;
		if (to) {
			memcpy(buf + tr->off[j], l->w, nw * sizeof(float));
			memcpy(buf + tr->off[j] + nw, l->b, l->out *
			    sizeof(float));
		} else {
			memcpy(l->w, buf + tr->off[j], nw * sizeof(float));
			memcpy(l->b, buf + tr->off[j] + nw, l->out *
			    sizeof(float));
		}
	}
}

/* One epoch of mini-batches over the shuffled trained part; mean error. */
static double
ae_epoch(struct ae_trainer *tr, const struct ae_params *p, uint64_t *rng)
{
	struct ae_layer	*l;
	size_t		 k, b, bs, nw;
	double		 sum = 0;
	int		 j;

	ae_shuffle(tr->idx, tr->ntrain, rng);
	for (k = 0; k < tr->ntrain; k += bs) {
		bs = tr->ntrain - k < (size_t)p->batch ? tr->ntrain - k :
		    (size_t)p->batch;
		memset(tr->g, 0, tr->np * sizeof *tr->g);
		for (b = 0; b < bs; b++)
			sum += ae_backward(tr, tr->idx[k + b], bs);
		tr->t++;
		for (j = 0; j < AE_NLAYERS; j++) {
			l = &tr->ae->l[j];
			nw = (size_t)l->in * l->out;
			ae_adam(l->w, tr->g + tr->off[j], tr->m + tr->off[j],
			    tr->v + tr->off[j], nw, p->lr, tr->t);
			ae_adam(l->b, tr->g + tr->off[j] + nw,
			    tr->m + tr->off[j] + nw, tr->v + tr->off[j] + nw,
			    l->out, p->lr, tr->t);
		}
	}
	return (sum / (double)tr->ntrain);
}

/* Mean error of the held-out windows under the current weights. */
static double
ae_held(struct ae_trainer *tr)
{
	double	 s = 0;
	size_t	 k;

	for (k = 0; k < tr->nheld; k++)
		s += ae_fwd(tr, tr->idx[tr->ntrain + k]);
	return (s / (double)tr->nheld);
}

/* Allocate the trainer's arrays for model ae; -1 when out of memory. */
static int
ae_trainer_init(struct ae_trainer *tr, struct ae *ae, const float *x,
    size_t n, const struct ae_params *p)
{
	size_t	 k, wmax = ae->dim > AE_MAX_HIDDEN ? ae->dim : AE_MAX_HIDDEN;
	int	 j;

	memset(tr, 0, sizeof *tr);
	tr->ae = ae;
	tr->x = x;
	for (j = 0; j < AE_NLAYERS; j++) {
		tr->off[j] = tr->np;
		tr->np += (size_t)ae->l[j].in * ae->l[j].out + ae->l[j].out;
	}
	tr->g = calloc(tr->np, sizeof(float));
	tr->m = calloc(tr->np, sizeof(float));
	tr->v = calloc(tr->np, sizeof(float));
	tr->best = calloc(tr->np, sizeof(float));
	tr->delta = calloc(wmax, sizeof(float));
	tr->prev = calloc(wmax, sizeof(float));
	tr->idx = calloc(n, sizeof *tr->idx);
	for (j = 0; j <= AE_NLAYERS; j++)
		tr->act[j] = calloc(wmax, sizeof(float));
	for (j = 0; j <= AE_NLAYERS; j++) {
		if (tr->act[j] == NULL)
			return (-1);
	}
	if (tr->g == NULL || tr->m == NULL || tr->v == NULL ||
	    tr->best == NULL || tr->delta == NULL || tr->prev == NULL ||
	    tr->idx == NULL)
		return (-1);
	for (k = 0; k < n; k++)
		tr->idx[k] = k;
	/* held part: a seeded fraction, at least 1, leaving 4 to train on */
	tr->nheld = (size_t)lround((double)n * p->holdout);
	if (tr->nheld < 1)
		tr->nheld = 1;
	if (tr->nheld > n - 4)
		tr->nheld = n - 4;
	tr->ntrain = n - tr->nheld;
	return (0);
}

/* Free the trainer's arrays. */
static void
ae_trainer_free(struct ae_trainer *tr)
{
	int	 j;

	free(tr->g);
	free(tr->m);
	free(tr->v);
	free(tr->best);
	free(tr->delta);
	free(tr->prev);
	free(tr->idx);
	for (j = 0; j <= AE_NLAYERS; j++)
		free(tr->act[j]);
}

/* Fill the report's held-out part from the folded model. */
static int
ae_report_held(struct ae_trainer *tr, struct ae_report *rep)
{
	size_t	 k;

	rep->nheld = tr->nheld;
	rep->held_index = calloc(tr->nheld, sizeof *rep->held_index);
	rep->held_errors = calloc(tr->nheld, sizeof *rep->held_errors);
	if (rep->held_index == NULL || rep->held_errors == NULL)
		return (-1);
	for (k = 0; k < tr->nheld; k++) {
		rep->held_index[k] = tr->idx[tr->ntrain + k];
		rep->held_errors[k] = ae_model_error(tr->ae, tr->x +
		    rep->held_index[k] * tr->ae->dim);
	}
	return (0);
}

/* Epochs until max_epochs or patience runs out; keeps the best weights. */
static void
ae_run(struct ae_trainer *tr, const struct ae_params *p, uint64_t *rng,
    struct ae_report *rep)
{
	double	 held, best = INFINITY;
	int	 e, since = 0;

	for (e = 0; e < p->max_epochs; e++) {
		rep->train_loss[e] = (float)ae_epoch(tr, p, rng);
		held = ae_held(tr);
		rep->held_loss[e] = (float)held;
		rep->epochs = e + 1;
		if (held < best) {
			best = held;
			rep->best_epoch = e + 1;
			ae_params_copy(tr, tr->best, 1);
			since = 0;
		} else if (++since >= p->patience)
			break;
	}
	ae_params_copy(tr, tr->best, 0);
}

/*
 * Refuse windows that are all the same (a stuck sensor, a constant
 * signal): the autoencoder would learn one point, every held-out error
 * would be 0 and so would the threshold, and every later window that
 * differs at all would be an anomaly.
 */
static int
ae_check_varies(const float *x, size_t n, uint32_t dim, char **cause)
{
	size_t	i;

	for (i = 1; i < n; i++) {
		if (memcmp(x, x + i * dim, dim * sizeof *x) != 0)
			return (0);
	}
	return (lu_fail(cause, "the %zu windows are all the same: nothing to "
	    "learn from (a stuck sensor?)", n));
}

/* Train a model on n raw windows of dim features; see ae.h. */
int
ae_train(const float *x, size_t n, uint32_t dim, const struct ae_params *p,
    struct ae **out, struct ae_report *rep, char **cause)
{
	struct ae_trainer	 tr;
	struct ae		*ae;
	uint32_t		 hidden = 0, code = 0;
	uint64_t		 rng = p->seed;

	*out = NULL;
	memset(rep, 0, sizeof *rep);
	memset(&tr, 0, sizeof tr);
	if (ae_check(n, dim, p, &hidden, &code, cause) != 0)
		return (-1);
	if (ae_check_finite(x, n, dim, cause) != 0 ||
	    ae_check_varies(x, n, dim, cause) != 0)
		return (-1);
	if ((ae = ae_alloc(dim, hidden, code)) == NULL)
		return (lu_fail(cause, "out of memory"));
	snprintf(ae->meta.kind, sizeof ae->meta.kind, "%s", p->kind);
	rep->hidden = hidden;
	rep->code = code;
	rep->train_loss = calloc(p->max_epochs, sizeof *rep->train_loss);
	rep->held_loss = calloc(p->max_epochs, sizeof *rep->held_loss);
	if (rep->train_loss == NULL || rep->held_loss == NULL ||
	    ae_trainer_init(&tr, ae, x, n, p) != 0)
		goto oom;
	ae_shuffle(tr.idx, n, &rng);
	ae_stats(&tr, p->std_floor);
	ae_init(ae, &rng);
	ae_run(&tr, p, &rng, rep);
	ae_fold(ae);
	if (ae_report_held(&tr, rep) != 0)
		goto oom;
	ae_trainer_free(&tr);
	*out = ae;
	return (0);
oom:
	ae_trainer_free(&tr);
	ae_report_free(rep);
	ae_free(ae);
	return (lu_fail(cause, "out of memory"));
}

/* Free a report's arrays. */
void
ae_report_free(struct ae_report *rep)
{
	if (rep == NULL)
		return;
	free(rep->train_loss);
	free(rep->held_loss);
	free(rep->held_index);
	free(rep->held_errors);
	memset(rep, 0, sizeof *rep);
}
