/*
 * message_binary.c - the binary window of content-format 42 (SPEC section 3
 * table): a 20-byte little-endian header ("TW", version 1, dtype, axes,
 * flags, frames, seq, interval_us, scale) and frames x axes samples of
 * int8, int16 or float32, which times scale are the values in real units.
 *
 * The body is stored as it came, so the stages after the store read it
 * back through the same parser (message_parse_stored()).  Every length is
 * checked against the header before a sample is read.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "message.h"
#include "message_int.h"
#include "xmalloc.h"

/* Read little-endian integers from a byte buffer. */
static uint32_t
message_binary_le32(const unsigned char *p)
{
	return ((uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24);
}

/* Bytes per sample of a binary window's dtype; 0 if not one of ours. */
static size_t
message_binary_width(unsigned int dtype)
{
	switch (dtype) {
	case MESSAGE_DTYPE_INT8:
		return (1);
	case MESSAGE_DTYPE_INT16:
		return (2);
	case MESSAGE_DTYPE_FLOAT32:
		return (4);
	}
	return (0);
}

/*
 * Check a binary window's 20-byte header against the length of what came
 * (SPEC section 3 table); 0 if it describes exactly len bytes.
 */
static int
message_binary_header(const unsigned char *p, size_t len, char **cause)
{
	uint32_t	 frames, axes, bits;
	size_t		 width, want;
	float		 scale;

	if (len < MESSAGE_BIN_HEADER)
		return (message_fail(cause, "binary window: %zu bytes, shorter "
		    "than the 20-byte header", len));
	if (memcmp(p, MESSAGE_BIN_MAGIC, 2) != 0)
		return (message_fail(cause, "binary window: bad magic (want "
		    "\"" MESSAGE_BIN_MAGIC "\")"));
	if (p[2] != 1)
		return (message_fail(cause, "binary window: version %u, want 1",
		    p[2]));
	if ((width = message_binary_width(p[3])) == 0)
		return (message_fail(cause, "binary window: dtype %u, want 1 "
		    "(int8), 2 (int16) or 3 (float32)", p[3]));
	axes = p[4];
	if (axes < 1 || axes > MESSAGE_AXES_MAX)
		return (message_fail(cause, "binary window: axes %u, want 1 to "
		    "%d", axes, MESSAGE_AXES_MAX));
	if (p[5] != 0)
		return (message_fail(cause, "binary window: flags must be 0"));
	frames = (uint32_t)p[6] | (uint32_t)p[7] << 8;
	if (frames == 0)
		return (message_fail(cause, "binary window: frames must be at "
		    "least 1"));
	want = MESSAGE_BIN_HEADER + (size_t)frames * axes * width;
	if (len != want)
		return (message_fail(cause, "binary window: %zu bytes, want "
		    "%zu for %u frames x %u axes", len, want, frames, axes));
	bits = message_binary_le32(p + 16);
	memcpy(&scale, &bits, sizeof scale);
	if (!isfinite(scale))
		return (message_fail(cause, "binary window: scale is not "
		    "finite"));
	if (message_binary_le32(p + 12) == 0)
		return (message_fail(cause, "binary window: interval_us must "
		    "be positive"));
	return (0);
}

/* Decode m's frames x axes samples s into real units (times scale). */
static int
message_binary_samples(struct message *m, const unsigned char *s, float scale,
    char **cause)
{
	uint32_t	i, n = m->frames * m->axes, bits;
	float		v;

	m->values = xcalloc(n, sizeof *m->values);
	for (i = 0; i < n; i++) {
		switch (m->dtype) {
		case MESSAGE_DTYPE_INT8:
			v = (float)(int8_t)s[i];
			break;
		case MESSAGE_DTYPE_INT16:
			v = (float)(int16_t)(s[2 * i] | s[2 * i + 1] << 8);
			break;
		default:
			bits = message_binary_le32(s + 4 * i);
			memcpy(&v, &bits, sizeof v);
			if (!isfinite(v))
				return (message_fail(cause, "binary window: "
				    "sample %u is not finite", i));
			break;
		}
		m->values[i] = v * scale;
	}
	return (0);
}

/* Parse a binary window (content-format 42) for node. */
int
message_parse_window_binary(const char *node, const void *buf, size_t len,
    struct message **mp, char **cause)
{
	const unsigned char	*p = buf;
	struct message		*m;
	uint32_t		 bits;
	float			 scale;

	*mp = NULL;
	if (!message_node_valid(node, strlen(node)))
		return (message_fail(cause, "node id must be 1 to 64 of "
		    "[A-Za-z0-9_.-]"));
	if (message_binary_header(p, len, cause) != 0)
		return (-1);

	m = xcalloc(1, sizeof *m);
	snprintf(m->node, sizeof m->node, "%s", node);
	m->type = MESSAGE_WINDOW;
	m->tier = 1;
	m->format = MESSAGE_WINDOW_BINARY;
	m->dtype = p[3];
	m->axes = p[4];
	m->frames = (uint32_t)p[6] | (uint32_t)p[7] << 8;
	m->seq = message_binary_le32(p + 8);
	m->has_seq = 1;
	m->interval_us = message_binary_le32(p + 12);
	m->latency_us = -1;
	m->window = -1;
	bits = message_binary_le32(p + 16);
	memcpy(&scale, &bits, sizeof scale);
	if (message_binary_samples(m, p + MESSAGE_BIN_HEADER, scale, cause) != 0) {
		message_free(m);
		return (-1);
	}
	m->body = xmalloc(len);
	memcpy(m->body, buf, len);
	m->body_len = len;
	*mp = m;
	return (0);
}
