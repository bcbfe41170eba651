/*
 * fl_model.c - the head of a .tflite model: found, read out as float32 and
 * written back into a copy of the model.
 *
 * The head is the last FULLY_CONNECTED operator of subgraph 0: its weights
 * (rows outputs x cols inputs) and bias must be constant buffers.  The
 * flatbuffer is walked with the runtime's bounds-checked reader
 * (tflite/tflite_fb.h); the positions of the weight and bias bytes and of
 * their quantization vectors are kept, so that writing a new head is
 * patching those bytes in a copy: the layout of the file does not change,
 * and the copy is exactly as long as the original.
 *
 * int8 weights are symmetric per tensor or per output channel; a new head
 * gets its scales recomputed (max|w| / 127 per group), zero points 0,
 * values rounded and clamped to [-127, 127], and an int32 bias on the
 * input scale x the new weight scale, as TFLite's kernels expect.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tflite/tflite_fb.h"

#include "fl.h"
#include "fl_int.h"

/* Schema values used here. */
#define TT_FLOAT32	0
#define TT_INT32	2
#define TT_INT8		9
#define OP_FC		9

/* Where the head lives in the flatbuffer. */
struct fl_loc {
	uint32_t	 rows;
	uint32_t	 cols;
	uint8_t		 wtype;		/* TT_FLOAT32 or TT_INT8 */
	uint8_t		 btype;		/* TT_FLOAT32 or TT_INT32 */
	size_t		 wpos;		/* weight bytes */
	size_t		 bpos;		/* bias bytes */
	int32_t		 wbuf;		/* their buffer indices */
	int32_t		 bbuf;
	struct fb_vec	 wscale;	/* int8: 1 or rows float32 */
	struct fb_vec	 wzp;		/* int8: 0, 1 or rows int64 */
	struct fb_vec	 bscale;	/* int32 bias: 0, 1 or rows float32 */
	float		 in_scale;	/* int32 bias: the input's scale */
};

/* The builtin code of operator table ot (-1 if malformed). */
static int32_t
op_code(const struct fb *b, const struct fb_vec *codes,
    const struct fb_table *ot)
{
	struct fb_table	 ct;
	int32_t		 oc, bc;
	uint8_t		 dep;

	if (fb_i32(b, ot, 0, 0, &oc) == FB_BAD || oc < 0 ||
	    fb_vec_table(b, codes, (uint32_t)oc, &ct) != FB_OK ||
	    fb_u8(b, &ct, 0, 0, &dep) == FB_BAD ||
	    fb_i32(b, &ct, 3, 0, &bc) == FB_BAD)
		return (-1);
	/* Old files keep the code in the deprecated int8 field. */
	return ((int8_t)dep > bc ? (int8_t)dep : bc);
}

/* Tensor ti: its table, type and shape vector. */
static int
tensor(const struct fb *b, const struct fb_vec *tv, int32_t ti,
    const char *what, struct fb_table *tt, uint8_t *type, struct fb_vec *shape,
    char **cause)
{
	if (ti < 0 || fb_vec_table(b, tv, (uint32_t)ti, tt) != FB_OK ||
	    fb_u8(b, tt, 1, 0, type) == FB_BAD ||
	    fb_vector(b, tt, 0, 4, shape) != FB_OK)
		return (lu_fail(cause, "head %s tensor %d: malformed or "
		    "without a shape", what, (int)ti));
	return (0);
}

/*
 * The position of tensor tt's constant data, which must hold need bytes,
 * and its buffer index.
 */
static int
tensor_data(const struct fb *b, const struct fb_vec *bufs,
    const struct fb_table *tt, const char *what, size_t need, size_t *pos,
    int32_t *bufi, char **cause)
{
	struct fb_table	 bt;
	struct fb_vec	 dv;
	uint64_t	 off, size;
	int32_t		 bi;
	int		 r;

	if (fb_i32(b, tt, 2, 0, &bi) == FB_BAD || bi < 0 ||
	    (uint32_t)bi >= bufs->n)
		return (lu_fail(cause, "head %s: bad buffer index", what));
	*bufi = bi;
	if (bi == 0)
		return (lu_fail(cause, "head %s is not a constant buffer "
		    "(computed at run time)", what));
	if (fb_vec_table(b, bufs, (uint32_t)bi, &bt) != FB_OK ||
	    (r = fb_vector(b, &bt, 0, 1, &dv)) == FB_BAD ||
	    fb_u64(b, &bt, 1, 0, &off) == FB_BAD ||
	    fb_u64(b, &bt, 2, 0, &size) == FB_BAD)
		return (lu_fail(cause, "head %s: buffer %d malformed", what,
		    (int)bi));
	if (r == FB_OK && dv.n > 0) {
		if (dv.n < need)
			goto short_buf;
		*pos = dv.pos;
		return (0);
	}
	if (off > 1) {
		/* Large models keep buffers after the flatbuffer. */
		if (off > b->len || size > b->len - off)
			return (lu_fail(cause, "head %s: buffer %d out of "
			    "range", what, (int)bi));
		if (size < need)
			goto short_buf;
		*pos = (size_t)off;
		return (0);
	}
	return (lu_fail(cause, "head %s is not a constant buffer (buffer %d "
	    "is empty)", what, (int)bi));
short_buf:
	return (lu_fail(cause, "head %s: buffer %d too short for its shape",
	    what, (int)bi));
}

/* A tensor's quantization scales (n 0 if none) and zero points. */
static int
quant(const struct fb *b, const struct fb_table *tt, const char *what,
    struct fb_vec *scale, struct fb_vec *zp, char **cause)
{
	struct fb_table	 q;
	uint32_t	 i;
	float		 s;
	int		 r;

	scale->n = zp->n = 0;
	if ((r = fb_sub(b, tt, 4, &q)) == FB_ABSENT)
		return (0);
	if (r == FB_BAD || fb_vector(b, &q, 2, 4, scale) == FB_BAD ||
	    fb_vector(b, &q, 3, 8, zp) == FB_BAD)
		return (lu_fail(cause, "head %s: malformed quantization",
		    what));
	for (i = 0; i < scale->n; i++) {
		s = fb_vec_f32(b, scale, i);
		if (!isfinite(s) || s <= 0)
			return (lu_fail(cause, "head %s: scale %u is not "
			    "a positive number", what, i));
	}
	return (0);
}

/* Weights tensor wi: 2-D, float32 or int8, constant. */
static int
locate_weights(const struct fb *b, const struct fb_vec *tv,
    const struct fb_vec *bufs, int32_t wi, struct fl_loc *l, char **cause)
{
	struct fb_table	 tt;
	struct fb_vec	 sh, zp;
	int32_t		 r, c;

	if (tensor(b, tv, wi, "weights", &tt, &l->wtype, &sh, cause) < 0)
		return (-1);
	if (sh.n != 2)
		return (lu_fail(cause, "head weights are not 2-D"));
	r = fb_vec_i32(b, &sh, 0);
	c = fb_vec_i32(b, &sh, 1);
	if (r <= 0 || c <= 0 || (uint64_t)r * c + r > FL_MAX_VALUES)
		return (lu_fail(cause, "head weights: bad shape %dx%d",
		    (int)r, (int)c));
	l->rows = (uint32_t)r;
	l->cols = (uint32_t)c;
	if (l->wtype != TT_FLOAT32 && l->wtype != TT_INT8)
		return (lu_fail(cause, "head weights: type %u is neither "
		    "float32 nor int8", l->wtype));
	if (tensor_data(b, bufs, &tt, "weights", (size_t)r * c *
	    (l->wtype == TT_INT8 ? 1 : 4), &l->wpos, &l->wbuf, cause) < 0)
		return (-1);
	if (l->wtype == TT_FLOAT32)
		return (0);
	if (quant(b, &tt, "weights", &l->wscale, &zp, cause) < 0)
		return (-1);
	if (l->wscale.n != 1 && l->wscale.n != l->rows)
		return (lu_fail(cause, "head weights: %u scales for %u rows",
		    l->wscale.n, l->rows));
	if (zp.n != 0 && zp.n != 1 && zp.n != l->wscale.n)
		return (lu_fail(cause, "head weights: %u zero points for %u "
		    "scales", zp.n, l->wscale.n));
	l->wzp = zp;
	return (0);
}

/* Bias tensor bi (rows values, float32 or int32) and the input's scale. */
static int
locate_bias(const struct fb *b, const struct fb_vec *tv,
    const struct fb_vec *bufs, int32_t bi, int32_t ii, struct fl_loc *l,
    char **cause)
{
	struct fb_table	 tt;
	struct fb_vec	 sh, s, zp;
	uint64_t	 n = 1;
	uint32_t	 i;
	uint8_t		 itype;

	if (bi < 0)
		return (lu_fail(cause, "head has no bias tensor"));
	if (tensor(b, tv, bi, "bias", &tt, &l->btype, &sh, cause) < 0)
		return (-1);
	for (i = 0; i < sh.n && n <= l->rows; i++)
		n *= (uint32_t)fb_vec_i32(b, &sh, i);
	if (n != l->rows)
		return (lu_fail(cause, "head bias: shape is not %u values",
		    l->rows));
	if (l->btype == TT_FLOAT32)
		return (tensor_data(b, bufs, &tt, "bias", (size_t)l->rows * 4,
		    &l->bpos, &l->bbuf, cause));
	if (l->btype != TT_INT32 || l->wtype != TT_INT8)
		return (lu_fail(cause, "head bias: type %u does not go with "
		    "weights of type %u", l->btype, l->wtype));
	if (tensor_data(b, bufs, &tt, "bias", (size_t)l->rows * 4, &l->bpos,
	    &l->bbuf, cause) < 0 || quant(b, &tt, "bias", &l->bscale, &zp, cause) < 0)
		return (-1);
	if (l->bscale.n > 1 && l->bscale.n != l->rows)
		return (lu_fail(cause, "head bias: %u scales for %u rows",
		    l->bscale.n, l->rows));
	/* An int32 bias is on input scale x weight scale. */
	if (tensor(b, tv, ii, "input", &tt, &itype, &sh, cause) < 0 ||
	    quant(b, &tt, "input", &s, &zp, cause) < 0)
		return (-1);
	if (s.n == 0)
		return (lu_fail(cause, "head input is not quantized"));
	l->in_scale = fb_vec_f32(b, &s, 0);
	return (0);
}

/*
 * Converters may let identical constants share a buffer (all-zero biases
 * of two layers, say): writing the head must not change another tensor.
 */
static int
check_shared(const struct fb *b, const struct fb_vec *tv, int32_t wi,
    int32_t bi, const struct fl_loc *l, char **cause)
{
	struct fb_table	 tt;
	uint32_t	 i;
	int32_t		 bufi;

	if (l->wbuf == l->bbuf)
		return (lu_fail(cause, "head weights and bias share buffer "
		    "%d", (int)l->wbuf));
	for (i = 0; i < tv->n; i++) {
		if ((int32_t)i == wi || (int32_t)i == bi)
			continue;
		if (fb_vec_table(b, tv, i, &tt) != FB_OK ||
		    fb_i32(b, &tt, 2, 0, &bufi) == FB_BAD)
			return (lu_fail(cause, "tensor %u: malformed", i));
		if (bufi == l->wbuf || bufi == l->bbuf)
			return (lu_fail(cause, "head buffer %d is shared with "
			    "tensor %u", (int)bufi, i));
	}
	return (0);
}

/* Find the head of model b: the last FULLY_CONNECTED of subgraph 0. */
static int
locate(const struct fb *b, struct fl_loc *l, char **cause)
{
	struct fb_table	 root, sg, ot, opt;
	struct fb_vec	 codes, sgs, bufs, tv, ov, in;
	uint32_t	 i;
	uint8_t		 fmt;
	int32_t		 wi, bi;
	int		 r;

	memset(l, 0, sizeof *l);
	if (fb_root(b, &root) != FB_OK ||
	    fb_vector(b, &root, 1, 4, &codes) != FB_OK ||
	    fb_vector(b, &root, 2, 4, &sgs) != FB_OK || sgs.n < 1 ||
	    fb_vector(b, &root, 4, 4, &bufs) != FB_OK ||
	    fb_vec_table(b, &sgs, 0, &sg) != FB_OK ||
	    fb_vector(b, &sg, 0, 4, &tv) != FB_OK ||
	    fb_vector(b, &sg, 3, 4, &ov) == FB_BAD)
		return (lu_fail(cause, "not a valid .tflite model"));
	if (fb_field(b, &sg, 3, 4, &(size_t){0}) == FB_ABSENT)
		ov.n = 0;
	for (i = ov.n; i > 0; i--) {
		if (fb_vec_table(b, &ov, i - 1, &ot) != FB_OK)
			return (lu_fail(cause, "operator %u: malformed",
			    i - 1));
		if ((r = op_code(b, &codes, &ot)) < 0)
			return (lu_fail(cause, "operator %u: bad operator "
			    "code", i - 1));
		if (r == OP_FC)
			break;
	}
	if (i == 0)
		return (lu_fail(cause, "the model has no FULLY_CONNECTED "
		    "operator"));
	if (fb_vector(b, &ot, 1, 4, &in) != FB_OK || in.n < 2)
		return (lu_fail(cause, "head operator %u: bad inputs", i - 1));
	/* A shuffled weights format would need a different layout. */
	if ((r = fb_sub(b, &ot, 4, &opt)) == FB_BAD ||
	    (r == FB_OK && fb_u8(b, &opt, 1, 0, &fmt) == FB_BAD))
		return (lu_fail(cause, "head operator %u: bad options", i - 1));
	if (r == FB_OK && fmt != 0)
		return (lu_fail(cause, "head operator %u: weights format %u "
		    "is not the default", i - 1, fmt));
	wi = fb_vec_i32(b, &in, 1);
	bi = in.n > 2 ? fb_vec_i32(b, &in, 2) : -1;
	if (locate_weights(b, &tv, &bufs, wi, l, cause) < 0 ||
	    locate_bias(b, &tv, &bufs, bi, fb_vec_i32(b, &in, 0), l,
	    cause) < 0)
		return (-1);
	return (check_shared(b, &tv, wi, bi, l, cause));
}

/* Scale of row r's weights (per tensor or per channel). */
static float
row_scale(const struct fb *b, const struct fl_loc *l, uint32_t r)
{
	return (fb_vec_f32(b, &l->wscale, l->wscale.n == 1 ? 0 : r));
}

/* Read the head out of model buf as float32. */
int
fl_head_extract(const uint8_t *buf, size_t len, struct fl_head *h,
    char **cause)
{
	struct fb	 b = { buf, len };
	struct fl_loc	 l;
	uint32_t	 r, c;
	int64_t		 zp;
	float		 s;

	memset(h, 0, sizeof *h);
	if (locate(&b, &l, cause) < 0)
		return (-1);
	h->w = malloc((size_t)l.rows * l.cols * sizeof *h->w);
	h->b = malloc((size_t)l.rows * sizeof *h->b);
	if (h->w == NULL || h->b == NULL) {
		fl_head_free(h);
		return (lu_fail(cause, "out of memory for the head"));
	}
	h->rows = l.rows;
	h->cols = l.cols;
	for (r = 0; r < l.rows; r++) {
		s = l.wtype == TT_INT8 ? row_scale(&b, &l, r) : 1;
		zp = l.wzp.n == 0 ? 0 : fb_vec_i64(&b, &l.wzp,
		    l.wzp.n == 1 ? 0 : r);
		for (c = 0; c < l.cols; c++) {
			size_t	i = (size_t)r * l.cols + c;

			if (l.wtype == TT_INT8)
				h->w[i] = (float)(((int8_t)buf[l.wpos + i] -
				    zp) * (double)s);
			else
				h->w[i] = lu_rdf(buf + l.wpos + 4 * i);
		}
		if (l.btype == TT_INT32)
			h->b[r] = (float)((int32_t)lu_rd32(buf + l.bpos +
			    4 * r) * (double)l.in_scale * s);
		else
			h->b[r] = lu_rdf(buf + l.bpos + 4 * r);
	}
	return (0);
}

/*
 * The new scale of rows [r0, r1): max|w| / 127, raised if needed so that
 * the int32 bias cannot overflow; any positive value for an all-zero group.
 */
static float
new_scale(const struct fl_head *h, const struct fl_loc *l, uint32_t r0,
    uint32_t r1)
{
	double		 mw = 0, mb = 0, s;
	size_t		 i;
	uint32_t	 r;

	for (r = r0; r < r1; r++) {
		for (i = (size_t)r * h->cols; i < (size_t)(r + 1) * h->cols;
		    i++)
			mw = fmax(mw, fabs(h->w[i]));
		mb = fmax(mb, fabs(h->b[r]));
	}
	s = mw / 127;
	if (l->btype == TT_INT32)
		s = fmax(s, mb / ((double)l->in_scale * 2147483000.0));
	if (!(s > 0) || (float)s <= 0 || !isfinite((float)s))
		s = s > 1 ? 3e38 : 1e-30;
	return ((float)s);
}

/* Requantize rows [r0, r1) of h into the copy out with scale s. */
static void
put_int8(uint8_t *out, const struct fl_head *h, const struct fl_loc *l,
    uint32_t r0, uint32_t r1, float s)
{
	double	 q;
	size_t	 i;
	uint32_t r;

	for (r = r0; r < r1; r++) {
		for (i = (size_t)r * h->cols; i < (size_t)(r + 1) * h->cols;
		    i++) {
			q = fmin(127, fmax(-127, round(h->w[i] / (double)s)));
			out[l->wpos + i] = (uint8_t)(int8_t)q;
		}
		if (l->btype == TT_FLOAT32) {
			lu_wrf(out + l->bpos + 4 * r, h->b[r]);
			continue;
		}
		q = round(h->b[r] / ((double)l->in_scale * s));
		q = fmin(2147483647.0, fmax(-2147483647.0, q));
		lu_wr32(out + l->bpos + 4 * r, (uint32_t)(int32_t)q);
		/* The bias tensor's own scale follows the weights'. */
		if (l->bscale.n == l->rows || (l->bscale.n == 1 && r == 0))
			lu_wrf(out + l->bscale.pos + 4 * (l->bscale.n == 1 ?
			    0 : r), l->in_scale * s);
	}
}

/* Write the int8 head h into the copy out (layout from l). */
static void
write_int8(uint8_t *out, const struct fl_head *h, const struct fl_loc *l)
{
	uint32_t	 r;
	float		 s;

	/* Symmetric weights: every zero point becomes 0. */
	memset(out + l->wzp.pos, 0, (size_t)l->wzp.n * 8);
	if (l->wscale.n == 1) {
		s = new_scale(h, l, 0, h->rows);
		lu_wrf(out + l->wscale.pos, s);
		put_int8(out, h, l, 0, h->rows, s);
		return;
	}
	for (r = 0; r < h->rows; r++) {
		s = new_scale(h, l, r, r + 1);
		lu_wrf(out + l->wscale.pos + 4 * r, s);
		put_int8(out, h, l, r, r + 1, s);
	}
}

/* A copy of model buf (len bytes) with its head replaced by h. */
int
fl_head_write(const uint8_t *buf, size_t len, const struct fl_head *h,
    uint8_t **out, size_t *outlen, char **cause)
{
	struct fb	 b = { buf, len };
	struct fl_loc	 l;
	size_t		 i, n;
	uint8_t		*o;

	*out = NULL;
	*outlen = 0;
	if (locate(&b, &l, cause) < 0)
		return (-1);
	if (h->rows != l.rows || h->cols != l.cols)
		return (lu_fail(cause, "head is %ux%u, the model's is %ux%u",
		    h->rows, h->cols, l.rows, l.cols));
	n = (size_t)h->rows * h->cols;
	for (i = 0; i < n + h->rows; i++)
		if (!isfinite(i < n ? h->w[i] : h->b[i - n]))
			return (lu_fail(cause, "head value %zu is not finite",
			    i));
	if ((o = malloc(len)) == NULL)
		return (lu_fail(cause, "out of memory for the model copy"));
	memcpy(o, buf, len);
	if (l.wtype == TT_INT8)
		write_int8(o, h, &l);
	else {
		for (i = 0; i < n; i++)
			lu_wrf(o + l.wpos + 4 * i, h->w[i]);
		for (i = 0; i < h->rows; i++)
			lu_wrf(o + l.bpos + 4 * i, h->b[i]);
	}
	*out = o;
	*outlen = len;
	return (0);
}
