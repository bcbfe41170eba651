/*
 * tflite_build.c - in-place changes to written .tflite files (see
 * tflite_build.h).  Fields are found with the runtime's bounds-checked
 * reader, so a helper never writes outside the file; it changes only
 * fields the writer stores (it cannot add one).
 */
#include "tflite_build.h"

#include "tflite/tflite_fb.h"

/* Store a little-endian 32-bit value. */
static void
put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

/* Table i of the vector in field id of table t. */
static int
vec_table(const struct fb *b, const struct fb_table *t, int id, int i,
    struct fb_table *out)
{
	struct fb_vec	 v;

	if (i < 0 || fb_vector(b, t, id, 4, &v) != FB_OK ||
	    (uint32_t)i >= v.n)
		return (-1);
	return (fb_vec_table(b, &v, (uint32_t)i, out) == FB_OK ? 0 : -1);
}

/* Subgraph 0's table. */
static int
subgraph(const struct fb *b, struct fb_table *sg)
{
	struct fb_table	 root;

	if (fb_root(b, &root) != FB_OK)
		return (-1);
	return (vec_table(b, &root, 2, 0, sg));
}

/* Element k of the int32 vector in field id of table t: its position. */
static int
vec_elem(const struct fb *b, const struct fb_table *t, int id, int k,
    size_t *pos)
{
	struct fb_vec	 v;

	if (k < 0 || fb_vector(b, t, id, 4, &v) != FB_OK ||
	    (uint32_t)k >= v.n)
		return (-1);
	*pos = v.pos + 4 * (size_t)k;
	return (0);
}

/* Point tensor i at buffer v. */
int
tb_set_tensor_buffer(uint8_t *buf, size_t len, int i, uint32_t v)
{
	struct fb	 b = { buf, len };
	struct fb_table	 sg, t;
	size_t		 pos;

	if (subgraph(&b, &sg) == -1 || vec_table(&b, &sg, 0, i, &t) == -1 ||
	    fb_field(&b, &t, 2, 4, &pos) != FB_OK)
		return (-1);
	put32(buf + pos, v);
	return (0);
}

/* Set dimension d of tensor i to v. */
int
tb_set_tensor_dim(uint8_t *buf, size_t len, int i, int d, int32_t v)
{
	struct fb	 b = { buf, len };
	struct fb_table	 sg, t;
	size_t		 pos;

	if (subgraph(&b, &sg) == -1 || vec_table(&b, &sg, 0, i, &t) == -1 ||
	    vec_elem(&b, &t, 0, d, &pos) == -1)
		return (-1);
	put32(buf + pos, (uint32_t)v);
	return (0);
}

/* Set input k of operator i to tensor index v. */
int
tb_set_op_input(uint8_t *buf, size_t len, int i, int k, int32_t v)
{
	struct fb	 b = { buf, len };
	struct fb_table	 sg, op;
	size_t		 pos;

	if (subgraph(&b, &sg) == -1 || vec_table(&b, &sg, 3, i, &op) == -1 ||
	    vec_elem(&b, &op, 1, k, &pos) == -1)
		return (-1);
	put32(buf + pos, (uint32_t)v);
	return (0);
}

/* Set operator code entry i: deprecated_builtin_code and builtin_code. */
int
tb_set_opcode(uint8_t *buf, size_t len, int i, int deprecated,
    int32_t builtin)
{
	struct fb	 b = { buf, len };
	struct fb_table	 root, c;
	size_t		 dpos, bpos;

	if (fb_root(&b, &root) != FB_OK ||
	    vec_table(&b, &root, 1, i, &c) == -1 ||
	    fb_field(&b, &c, 0, 1, &dpos) != FB_OK ||
	    fb_field(&b, &c, 3, 4, &bpos) != FB_OK)
		return (-1);
	buf[dpos] = (uint8_t)deprecated;
	put32(buf + bpos, (uint32_t)builtin);
	return (0);
}
