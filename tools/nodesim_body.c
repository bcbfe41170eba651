/*
 * nodesim_body.c - the traffic of tinyedge-nodesim: the body of each
 * message a simulated node sends, the same in CoAP and serial mode.
 *
 * Inferences carry labels from a keyword-spotting vocabulary and noisy
 * scores (now and then an unsure one).  With --windows-every K every
 * (K+1)th message of a node is a window instead: accelerometer JSON and
 * binary int16 in turn (JSON only under lines framing, which cannot carry
 * binary), or with --audio one second of 16 kHz audio.  Everything random
 * comes from nodesim_rand(), so the traffic follows from --seed.
 *
 * A node that applied settings (--observe) obeys them: an inference under
 * min_score is not sent, and when send_window is set its raw window goes
 * by that rule (nodesim_ctl_decide) right after the inference instead of
 * every K messages.  A pending heartbeat (nodesim_obs.c) goes first.
 *
 * With --vibration every message but heartbeats is a window of the node's
 * machine (tools/vibsim.c): 3 axes of int16 at 1 mm/s2 a step, sampled
 * at 1 kHz, healthy or with the --fault once it is on (nodesim_faulty).
 *
 * With --cbor every JSON body is sent as CBOR with the same keys
 * (content-format 60), encoded here from the JSON: the gateway decodes
 * with libcbor, so the simulator's own small encoder is a second,
 * independent reading of RFC 8949.  Numbers go as integers when whole,
 * else as single floats when those hold them to 1e-6 (what a node's
 * float32 would send), else as doubles.
 */
#include <cJSON.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nodesim.h"
#include "xmalloc.h"

static const char *sim_labels[] = {
	"yes", "no", "up", "down", "left", "right", "on", "off", "stop",
	"go", "_silence_", "_unknown_",
};

/* Wall-clock milliseconds since the epoch. */
static uint64_t
body_epoch_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ((uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000);
}

/* Put a little-endian 32-bit value. */
static void
body_le32(unsigned char *p, uint32_t v)
{
	p[0] = v & 0xff;
	p[1] = (v >> 8) & 0xff;
	p[2] = (v >> 16) & 0xff;
	p[3] = (v >> 24) & 0xff;
}

/* One second of 16 kHz int16 audio as a binary window: tone and noise. */
static unsigned char *
body_audio(struct sim_req *r, size_t *len, int *cf)
{
	const int	 n = 16000;
	unsigned char	*b;
	float		 scale = 1.0f / 32768;
	uint32_t	 bits;
	double		 hz = 300 + 100 * (r->seq % 16);
	int		 i;

	*len = 20 + (size_t)n * 2;
	b = xmalloc(*len);
	memcpy(b, "TW\x01\x02\x01\x00", 6);
	b[6] = n & 0xff;
	b[7] = (unsigned char)(n >> 8);
	body_le32(b + 8, r->seq);
	body_le32(b + 12, 62);		/* 1e6 / 16000, rounded down */
	memcpy(&bits, &scale, 4);
	body_le32(b + 16, bits);
	for (i = 0; i < n; i++) {
		int16_t x = (int16_t)(8000 * sin(2 * M_PI * hz * i / 16000) +
		    (double)(nodesim_rand() % 1000) - 500);

		b[20 + 2 * i] = x & 0xff;
		b[21 + 2 * i] = (x >> 8) & 0xff;
	}
	*cf = 42;
	return (b);
}

/* An accelerometer window of frames as binary int16, 3 axes. */
static unsigned char *
body_accel_binary(struct sim_req *r, int frames, size_t *len, int *cf)
{
	unsigned char	*b;
	float		 scale = 0.001f;
	uint32_t	 v[3] = { r->seq, 10000, 0 };
	int		 i;

	*len = 20 + (size_t)frames * 3 * 2;
	b = xmalloc(*len);
	memcpy(&v[2], &scale, 4);
	memcpy(b, "TW\x01\x02\x03\x00", 6);
	b[6] = frames & 0xff;
	b[7] = (unsigned char)(frames >> 8);
	for (i = 0; i < 3; i++) {
		b[8 + 4 * i] = v[i] & 0xff;
		b[9 + 4 * i] = (v[i] >> 8) & 0xff;
		b[10 + 4 * i] = (v[i] >> 16) & 0xff;
		b[11 + 4 * i] = (v[i] >> 24) & 0xff;
	}
	for (i = 0; i < frames * 3; i++) {
		int16_t x = (int16_t)(sin(i * 0.1) * 9810 +
		    (double)(nodesim_rand() % 200) - 100);
		b[20 + 2 * i] = x & 0xff;
		b[21 + 2 * i] = (x >> 8) & 0xff;
	}
	*cf = 42;
	return (b);
}

/* An accelerometer window of frames as JSON. */
static unsigned char *
body_accel_json(struct sim_node *nd, struct sim_req *r, int frames,
    size_t *len, int *cf)
{
	char	*s, *rows, *t;
	int	 i;

	rows = xstrdup("");
	for (i = 0; i < frames; i++) {
		xasprintf(&t, "%s%s[%.3f,%.3f,%.3f]", rows, i ? "," : "",
		    sin(i * 0.1) + 0.01 * nodesim_uniform(),
		    cos(i * 0.1), 9.81 + 0.05 * nodesim_uniform());
		free(rows);
		rows = t;
	}
	xasprintf(&s, "{\"seq\":%u,\"boot\":%u,\"interval_ms\":10,"
	    "\"sensors\":[{\"name\":\"accX\",\"units\":\"m/s2\"},"
	    "{\"name\":\"accY\",\"units\":\"m/s2\"},{\"name\":\"accZ\","
	    "\"units\":\"m/s2\"}],\"values\":[%s],\"model\":\"wave-v2\","
	    "\"label\":\"idle\",\"score\":%.3f}", r->seq, nd->boot, rows,
	    r->score);
	free(rows);
	*len = strlen(s);
	*cf = 50;
	return ((unsigned char *)s);
}

/* FNV-1a of a node id: each node's machine differs, from one --seed. */
static uint64_t
body_hash(const char *s)
{
	uint64_t	h = 0xcbf29ce484222325ULL;

	while (*s != '\0')
		h = (h ^ (unsigned char)*s++) * 0x100000001b3ULL;
	return (h);
}

/* Clamp and round to int16. */
static int16_t
body_int16(double v)
{
	v = round(v);
	return ((int16_t)(v > 32767 ? 32767 : v < -32768 ? -32768 : v));
}

/* A vibration window of the node's machine as binary int16 (--vibration). */
static unsigned char *
body_vibration(struct sim_node *nd, struct sim_req *r, size_t *len, int *cf)
{
	enum vibsim_fault	 f = VIBSIM_NORMAL;
	unsigned char		*b;
	float			*w, scale = 0.001f;
	uint32_t		 bits;
	size_t			 i, n = (size_t)nodesim.frames * VIBSIM_AXES;

	if (nd->vib == NULL) {
		nd->vib = vibsim_new(nodesim.seed ^ body_hash(nd->id),
		    nodesim.snr);
		if (nd->vib == NULL) {
			fprintf(stderr, "tinyedge-nodesim: out of memory\n");
			exit(1);
		}
	}
	if (nodesim.vib_t0 == 0)
		nodesim.vib_t0 = nodesim_now_ms();
	if (nodesim_faulty())
		f = nodesim.fault;
	w = xcalloc(n, sizeof *w);
	(void)vibsim_window(nd->vib, f, nodesim.severity, w,
	    (size_t)nodesim.frames);
	*len = 20 + n * 2;
	b = xmalloc(*len);
	memcpy(b, "TW\x01\x02\x03\x00", 6);
	b[6] = nodesim.frames & 0xff;
	b[7] = (unsigned char)(nodesim.frames >> 8);
	body_le32(b + 8, r->seq);
	body_le32(b + 12, VIBSIM_INTERVAL_US);
	memcpy(&bits, &scale, 4);
	body_le32(b + 16, bits);
	for (i = 0; i < n; i++) {
		int16_t x = body_int16(w[i] / scale);

		b[20 + 2 * i] = x & 0xff;
		b[21 + 2 * i] = (x >> 8) & 0xff;
	}
	free(w);
	r->type = 2;
	r->score = 0;
	snprintf(r->label, sizeof r->label, "%s", vibsim_fault_name(f));
	*cf = 42;
	return (b);
}

/*
 * A window: audio, or accelerometer data in binary or JSON; score < 0
 * draws the node's own score for it.
 */
static unsigned char *
body_window(struct sim_node *nd, struct sim_req *r, double score,
    size_t *len, int *cf)
{
	int	frames;

	r->type = 2;
	r->score = score >= 0 ? score : 0.4 + 0.2 * nodesim_uniform();
	snprintf(r->label, sizeof r->label, "idle");
	if (nodesim.audio && !nodesim.no_binary)
		return (body_audio(r, len, cf));
	frames = 20 + (int)(nodesim_rand() % 120);
	if (!nodesim.no_binary && nd->seq % 2 == 0)
		return (body_accel_binary(r, frames, len, cf));
	return (body_accel_json(nd, r, frames, len, cf));
}

/* Draw an inference: a label, mostly confident, sometimes unsure. */
static void
body_draw(struct sim_req *r)
{
	int	 i;
	double	 score;

	r->type = 1;
	i = (int)(nodesim_rand() % (sizeof sim_labels / sizeof sim_labels[0]));
	snprintf(r->label, sizeof r->label, "%s", sim_labels[i]);
	score = nodesim_uniform() < 0.15 ? 0.3 + 0.4 * nodesim_uniform() :
	    0.8 + 0.2 * nodesim_uniform();
	r->score = floor(score * 10000) / 10000;
}

/* The body of a drawn inference. */
static unsigned char *
body_inference(struct sim_node *nd, struct sim_req *r, size_t *len, int *cf)
{
	char	*s;

	xasprintf(&s, "{\"seq\":%u,\"boot\":%u,\"ts\":%llu,\"model\":"
	    "\"kws-dscnn-v1\",\"label\":\"%s\",\"score\":%.4f,\"scores\":"
	    "{\"%s\":%.4f},\"latency_us\":%u}", r->seq, nd->boot,
	    (unsigned long long)body_epoch_ms(), r->label, r->score, r->label,
	    r->score, 2000 + (unsigned)(nodesim_rand() % 800));
	*len = strlen(s);
	*cf = 50;
	nd->count++;
	return ((unsigned char *)s);
}

/*
 * The next message of a node that follows its settings: the window an
 * inference left due, or the next inference if its settings let it go
 * (and its window after it, or only its window); NULL if neither goes.
 */
static unsigned char *
body_ruled(struct sim_node *nd, struct sim_req *r, size_t *len, int *cf)
{
	struct sim_ctl	*c = &nd->ctl;
	int		 inference, window;

	if (c->window_due) {
		c->window_due = 0;
		return (body_window(nd, r, c->window_score, len, cf));
	}
	body_draw(r);
	nodesim_ctl_decide(&c->doc, r->score, &inference, &window);
	if (c->doc.send_window == SIM_WINDOW_UNSET && inference &&
	    nodesim.windows_every > 0 && nd->count %
	    (uint64_t)(nodesim.windows_every + 1) ==
	    (uint64_t)nodesim.windows_every)
		return (body_window(nd, r, -1, len, cf));
	if (!inference)
		nodesim.suppressed++;
	if (inference && window) {
		c->window_due = 1;
		c->window_score = r->score;
	}
	if (inference)
		return (body_inference(nd, r, len, cf));
	if (window)
		return (body_window(nd, r, r->score, len, cf));
	nd->seq--;	/* nothing went: the seq stays free */
	return (NULL);
}

/* A growing CBOR output buffer. */
struct body_cbor {
	unsigned char	*p;
	size_t		 len;
	size_t		 cap;
};

/* Append n bytes. */
static void
body_cbor_put(struct body_cbor *b, const void *data, size_t n)
{
	if (b->len + n > b->cap) {
		b->cap = (b->len + n) * 2;
		b->p = xreallocarray(b->p, b->cap, 1);
	}
	memcpy(b->p + b->len, data, n);
	b->len += n;
}

/* A head: major type mt with argument v, in the shortest form. */
static void
body_cbor_head(struct body_cbor *b, unsigned mt, uint64_t v)
{
	unsigned char	h[9];
	size_t		n, i;

	if (v < 24) {
		h[0] = (unsigned char)(mt << 5 | v);
		body_cbor_put(b, h, 1);
		return;
	}
	n = v <= 0xff ? 1 : v <= 0xffff ? 2 : v <= 0xffffffff ? 4 : 8;
	h[0] = (unsigned char)(mt << 5 | (n == 1 ? 24 : n == 2 ? 25 : n == 4 ?
	    26 : 27));
	for (i = 0; i < n; i++)
		h[1 + i] = (unsigned char)(v >> (8 * (n - 1 - i)));
	body_cbor_put(b, h, 1 + n);
}

/* A number: integer, single or double float (see the top). */
static void
body_cbor_number(struct body_cbor *b, double d)
{
	unsigned char	h[9];
	uint64_t	u;
	uint32_t	w;
	float		f = (float)d;
	int		i;

	if (floor(d) == d && fabs(d) < 9007199254740992.0) {
		if (d >= 0)
			body_cbor_head(b, 0, (uint64_t)d);
		else
			body_cbor_head(b, 1, (uint64_t)(-1 - d));
		return;
	}
	if (fabs((double)f - d) <= 1e-6 * fabs(d)) {
		memcpy(&w, &f, 4);
		h[0] = 0xfa;
		for (i = 0; i < 4; i++)
			h[1 + i] = (unsigned char)(w >> (24 - 8 * i));
		body_cbor_put(b, h, 5);
		return;
	}
	memcpy(&u, &d, 8);
	h[0] = 0xfb;
	for (i = 0; i < 8; i++)
		h[1 + i] = (unsigned char)(u >> (56 - 8 * i));
	body_cbor_put(b, h, 9);
}

/* One JSON value as CBOR. */
static void
body_cbor_item(struct body_cbor *b, const cJSON *v)
{
	const cJSON	*e;
	unsigned char	 c;

	if (cJSON_IsObject(v) || cJSON_IsArray(v)) {
		body_cbor_head(b, cJSON_IsObject(v) ? 5 : 4,
		    (uint64_t)cJSON_GetArraySize(v));
		cJSON_ArrayForEach(e, v) {
			if (cJSON_IsObject(v)) {
				body_cbor_head(b, 3, strlen(e->string));
				body_cbor_put(b, e->string, strlen(e->string));
			}
			body_cbor_item(b, e);
		}
	} else if (cJSON_IsString(v)) {
		body_cbor_head(b, 3, strlen(v->valuestring));
		body_cbor_put(b, v->valuestring, strlen(v->valuestring));
	} else if (cJSON_IsNumber(v))
		body_cbor_number(b, v->valuedouble);
	else {
		c = cJSON_IsTrue(v) ? 0xf5 : cJSON_IsFalse(v) ? 0xf4 : 0xf6;
		body_cbor_put(b, &c, 1);
	}
}

/* --cbor: a JSON body (cf 50) becomes CBOR (cf 60) with the same keys. */
static unsigned char *
body_to_cbor(unsigned char *json, size_t *len, int *cf)
{
	struct body_cbor	 b;
	cJSON			*o;

	if (json == NULL || !nodesim.cbor || *cf != 50)
		return (json);
	if ((o = cJSON_ParseWithLength((char *)json, *len)) == NULL)
		return (json);
	memset(&b, 0, sizeof b);
	body_cbor_item(&b, o);
	cJSON_Delete(o);
	free(json);
	*len = b.len;
	*cf = 60;
	return (b.p);
}

/* The next message body of a node, as JSON or binary. */
static unsigned char *
body_next(struct sim_node *nd, struct sim_req *r, size_t *len, int *cf)
{
	r->seq = ++nd->seq;
	if (nd->ctl.hb_due) {
		nd->ctl.hb_due = 0;
		r->type = 3;
		r->score = 0;
		snprintf(r->label, sizeof r->label, "-");
		*cf = 50;
		return (nodesim_obs_heartbeat(nd, len));
	}
	if (nodesim.vibration)
		return (body_vibration(nd, r, len, cf));
	if (nd->ctl.have_doc)
		return (body_ruled(nd, r, len, cf));
	if (nodesim.windows_only || (nodesim.windows_every > 0 &&
	    nd->count % (uint64_t)(nodesim.windows_every + 1) ==
	    (uint64_t)nodesim.windows_every))
		return (body_window(nd, r, -1, len, cf));
	body_draw(r);
	return (body_inference(nd, r, len, cf));
}

/*
 * Build the next message body for a node (r->type 1 inference, 2 window,
 * 3 heartbeat; *cf 50, 60 or 42), or NULL when its settings keep this one
 * back.
 */
unsigned char *
nodesim_body(struct sim_node *nd, struct sim_req *r, size_t *len, int *cf)
{
	unsigned char	*b = body_next(nd, r, len, cf);

	return (body_to_cbor(b, len, cf));
}
