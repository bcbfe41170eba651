/*
 * test_fed.c - federated rounds (fed.c) with the real store and node
 * models on the daemon's loop, and a float FULLY_CONNECTED model built by
 * tflite_build: every answer of fed_post (accept, replace, 4.00, 4.03,
 * 4.04, 4.09, the bound), a close at target_clients with the new head
 * computed here, the timeout extension, a restart that continues the
 * round, the validation gate rejecting a round, and the routes of the
 * CoAP paths.
 */
#include <sys/stat.h>

#include <check.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include <cjson/cJSON.h>

#include "config.h"
#include "daemon.h"
#include "fed.h"
#include "ingest_coap_int.h"
#include "learn/fl.h"
#include "models.h"
#include "parse.h"
#include "store.h"
#include "testutil.h"
#include "tflite/tflite_write.h"

#define ROWS	3
#define COLS	4
#define NW	(ROWS * COLS + ROWS)

static char		 dir[64];
static struct config	*cf;
static const float	 WEIGHT0[ROWS * COLS] = {
	1, 0, 0, 0,
	0, 1, 0, 0,
	0, 0, 1, 0,
};
static const float	 BIAS0[ROWS] = { 0.1f, 0.2f, 0.3f };

/* Write the 3x4 float FC model to dir/m.tflite. */
static void
write_model(void)
{
	struct tflite_write_tensor	 t[4] = {
		{ .type = 0, .ndims = 2, .dims = { 1, COLS } },
		{ .type = 0, .ndims = 2, .dims = { ROWS, COLS }, .data = WEIGHT0,
		    .bytes = sizeof WEIGHT0 },
		{ .type = 0, .ndims = 1, .dims = { ROWS }, .data = BIAS0,
		    .bytes = sizeof BIAS0 },
		{ .type = 0, .ndims = 2, .dims = { 1, ROWS } },
	};
	int32_t			 in[3] = { 0, 1, 2 }, out[1] = { 3 };
	int32_t			 gin[1] = { 0 };
	struct tflite_write_op	 op = { .code = 9, .nin = 3, .nout = 1,
	    .in = in, .out = out };
	uint8_t			*m;
	size_t			 len;
	char			 path[128];
	FILE			*f;

	struct tflite_write_graph g = { .tensors = t, .ntensors = 4, .ops = &op,
	    .nops = 1, .inputs = gin, .ninputs = 1, .outputs = out,
	    .noutputs = 1 };

	ck_assert_int_eq(tflite_write(&g, &m, &len, NULL), 0);
	snprintf(path, sizeof path, "%s/m.tflite", dir);
	ck_assert_ptr_nonnull(f = fopen(path, "w"));
	ck_assert_uint_eq(fwrite(m, 1, len, f), len);
	fclose(f);
	free(m);
}

/* Load the config: [federated:m] with extra lines. */
static void
load_config(const char *extra)
{
	char	 path[128], *cause = NULL;
	FILE	*f;

	snprintf(path, sizeof path, "%s/c.ini", dir);
	ck_assert_ptr_nonnull(f = fopen(path, "w"));
	fprintf(f, "[gateway]\nid = gw\ndata_dir = %s\nmax_nodes = 4\n"
	    "[store]\ncommit_interval = 60s\n[federated:m]\n"
	    "model = %s/m.tflite\nnodes = n*\n%s\n", dir, dir, extra);
	fclose(f);
	config_free(cf);
	cf = NULL;
	if (config_load(path, &cf, &cause) != 0)
		ck_abort_msg("config: %s", cause);
}

/* Start store, models and fed on a fresh loop. */
static void
start(void)
{
	char	*cause = NULL;

	ck_assert_int_eq(uv_loop_init(daemon_loop()), 0);
	if (store_start(cf, &cause) != 0 || models_start(cf, &cause) != 0 ||
	    fed_start(cf, &cause) != 0)
		ck_abort_msg("start: %s", cause);
}

/* Stop them and close the loop. */
static void
stop(void)
{
	fed_stop();
	models_stop();
	store_stop();
	uv_run(daemon_loop(), UV_RUN_DEFAULT);
	ck_assert_int_eq(uv_loop_close(daemon_loop()), 0);
}

static void
setup(void)
{
	snprintf(dir, sizeof dir, "/tmp/te-fed.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	write_model();
}

static void
teardown(void)
{
	char	cmd[128];

	config_free(cf);
	cf = NULL;
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	ck_assert_int_eq(system(cmd), 0);
}

/* The raw base of m now. */
static void
base_of(uint8_t base[32])
{
	const uint8_t	*h;
	uint8_t		 etag[FED_ETAG_LEN];
	size_t		 len, n;
	char		 hex[65];

	ck_assert_ptr_nonnull(h = fed_head("m", &len, etag));
	ck_assert_uint_eq(len, NW * 4);
	models_sha256(h, len, hex);
	ck_assert_int_eq(parse_hex(hex, base, 32, &n), 0);
	ck_assert_int_eq(memcmp(base, etag, FED_ETAG_LEN), 0);
}

/* Put a u32 little-endian. */
static void
le32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

/* An update for round with every delta d, samples s; into buf. */
static size_t
update(uint8_t *buf, uint32_t round, const uint8_t base[32], uint32_t s,
    float d)
{
	uint32_t	u;
	size_t		i;

	memcpy(buf, "FL\1\3", 4);
	le32(buf + 4, round);
	memcpy(buf + 8, base, 32);
	le32(buf + 40, s);
	for (i = 0; i < NW; i++) {
		memcpy(&u, &d, 4);
		le32(buf + FL_UPDATE_HEADER + 4 * i, u);
	}
	return (FL_UPDATE_HEADER + 4 * NW);
}

/* Post an update; the result, with the cause freed. */
static enum fed_result
post(const char *name, const char *node, const uint8_t *buf, size_t len)
{
	char		*cause = NULL;
	enum fed_result	 rv;

	rv = fed_post(name, node, buf, len, &cause);
	if (rv != FED_OK)
		ck_assert_ptr_nonnull(cause);
	free(cause);
	return (rv);
}

/* A number of m's P/metrics object. */
static double
metric(const char *key)
{
	cJSON	*o = cJSON_CreateObject(), *v;
	double	 d;

	fed_metrics(o);
	v = cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(o,
	    "fl"), "m"), key);
	ck_assert_ptr_nonnull(v);
	d = v->valuedouble;
	cJSON_Delete(o);
	return (d);
}

/* A number of m's round document. */
static double
doc(const char *key)
{
	char	*s;
	cJSON	*o, *v;
	double	 d;

	ck_assert_ptr_nonnull(s = fed_doc("m"));
	ck_assert_ptr_nonnull(o = cJSON_Parse(s));
	ck_assert_ptr_nonnull(v = cJSON_GetObjectItem(o, key));
	d = v->valuedouble;
	cJSON_Delete(o);
	free(s);
	return (d);
}

/* Turn the loop until m's round is want (a close writes in the pool). */
static void
wait_round(uint32_t want)
{
	int	i;

	for (i = 0; i < 500 && fed_round("m") != want; i++) {
		uv_run(daemon_loop(), UV_RUN_NOWAIT);
		usleep(10000);
	}
	ck_assert_uint_eq(fed_round("m"), want);
}

/* The last P/fl/m row of the outbox, parsed (caller deletes). */
static cJSON *last_fl;
static void
fl_row_cb(const struct store_row *r, void *arg)
{
	(void)arg;
	if (strcmp(r->topic, "fl/m") != 0)
		return;
	ck_assert_int_eq(r->retain, 1);
	cJSON_Delete(last_fl);
	last_fl = cJSON_ParseWithLength(r->payload, r->len);
}

static cJSON *
fl_message(void)
{
	last_fl = NULL;
	store_outbox_fetch(0, INT64_MAX, 1000, fl_row_cb, NULL);
	ck_assert_ptr_nonnull(last_fl);
	return (last_fl);
}

START_TEST(test_rejections)
{
	uint8_t	base[32], bad[32], buf[256];
	size_t	len;
	float	nan = NAN;

	setup();
	load_config("min_clients = 2\n");
	start();
	ck_assert_uint_eq(fed_round("m"), 1);
	ck_assert_double_eq(doc("rows"), ROWS);
	ck_assert_double_eq(doc("cols"), COLS);
	base_of(base);
	len = update(buf, 1, base, 10, 0.5f);
	ck_assert_int_eq(post("x", "n1", buf, len), FED_UNKNOWN);
	ck_assert_int_eq(post("m", "other", buf, len), FED_FORBIDDEN);
	ck_assert_int_eq(post("m", "n1", buf, len - 4), FED_BAD);
	ck_assert_int_eq(post("m", "n1", buf, len + 0), FED_OK);
	ck_assert_int_eq(post("m", "n1", buf, 10), FED_BAD);
	len = update(buf, 1, base, 0, 0.5f);
	ck_assert_int_eq(post("m", "n1", buf, len), FED_BAD);
	len = update(buf, 1, base, 1, nan);
	ck_assert_int_eq(post("m", "n1", buf, len), FED_BAD);
	len = update(buf, 2, base, 1, 0.5f);
	ck_assert_int_eq(post("m", "n1", buf, len), FED_STALE);
	memcpy(bad, base, 32);
	bad[31] ^= 1;
	len = update(buf, 1, bad, 1, 0.5f);
	ck_assert_int_eq(post("m", "n1", buf, len), FED_STALE);
	/* A second update of n1 replaces its first. */
	len = update(buf, 1, base, 20, 0.25f);
	ck_assert_int_eq(post("m", "n1", buf, len), FED_OK);
	ck_assert_double_eq(metric("clients"), 1);
	ck_assert_double_eq(metric("updates"), 2);
	ck_assert_double_eq(metric("rejects"), 7);
	/* The bound: gateway.max_nodes (4) nodes per round. */
	ck_assert_int_eq(post("m", "n2", buf, len), FED_OK);
	ck_assert_int_eq(post("m", "n3", buf, len), FED_OK);
	ck_assert_int_eq(post("m", "n4", buf, len), FED_OK);
	ck_assert_int_eq(post("m", "n5", buf, len), FED_BUSY);
	ck_assert_int_eq(post("m", "n4", buf, len), FED_OK);
	ck_assert_double_eq(metric("clients"), 4);
	stop();
	teardown();
}
END_TEST

START_TEST(test_close_at_target)
{
	uint8_t		 base[32], buf[256];
	const uint8_t	*h;
	uint8_t		 etag[FED_ETAG_LEN];
	float		 v[NW];
	size_t		 len, i;
	double		 want;
	struct models_info info;
	char		 path[128], rec[160];
	struct stat	 sb;
	cJSON		*o;

	setup();
	load_config("min_clients = 2\ntarget_clients = 3\nclip_norm = 1\n"
	    "max_weight = 30\n");
	start();
	base_of(base);
	/* n1: 10 samples, +0.1; n2: 50 (capped to 30), -0.1; n3 clipped. */
	len = update(buf, 1, base, 10, 0.1f);
	ck_assert_int_eq(post("m", "n1", buf, len), FED_OK);
	len = update(buf, 1, base, 50, -0.1f);
	ck_assert_int_eq(post("m", "n2", buf, len), FED_OK);
	/* A restart continues the round with both updates. */
	stop();
	start();
	ck_assert_uint_eq(fed_round("m"), 1);
	ck_assert_double_eq(metric("clients"), 2);
	len = update(buf, 1, base, 10, 10.0f);
	ck_assert_int_eq(post("m", "n3", buf, len), FED_OK);
	wait_round(2);
	/*
	 * Each delta has 15 equal entries: norm |d|*sqrt(15).  n1 and n2
	 * are under 1; n3's 10*sqrt(15) is clipped to 1, so d = 1/sqrt(15).
	 */
	want = (10 * 0.1 + 30 * -0.1 + 10 * (1 / sqrt(15.0))) / 50;
	ck_assert_ptr_nonnull(h = fed_head("m", &len, etag));
	memcpy(v, h, sizeof v);
	for (i = 0; i < NW; i++) {
		double w0 = i < ROWS * COLS ? WEIGHT0[i] : BIAS0[i - ROWS * COLS];

		ck_assert_msg(fabs(v[i] - (w0 + want)) < 1e-5,
		    "head[%zu] %g, want %g", i, v[i], w0 + want);
	}
	ck_assert_int_ne(memcmp(etag, base, FED_ETAG_LEN), 0);
	/* The old round's updates are stale now. */
	ck_assert_int_eq(post("m", "n1", buf, FL_UPDATE_HEADER + 4 * NW),
	    FED_STALE);
	snprintf(path, sizeof path, "%s/fl/m.tflite", dir);
	ck_assert_int_eq(stat(path, &sb), 0);
	o = fl_message();
	ck_assert_double_eq(cJSON_GetObjectItem(o, "round")->valuedouble, 2);
	ck_assert_double_eq(cJSON_GetObjectItem(o, "clients")->valuedouble, 3);
	ck_assert_double_eq(cJSON_GetObjectItem(o, "samples")->valuedouble,
	    70);
	ck_assert_str_eq(cJSON_GetObjectItem(o, "outcome")->valuestring,
	    "applied");
	ck_assert(cJSON_IsNull(cJSON_GetObjectItem(o, "val_acc_before")));
	ck_assert_ptr_nonnull(cJSON_GetObjectItem(o, "id"));
	cJSON_Delete(o);
	for (i = 0; i < 500 && models_find("m", "r2", &info) != 0; i++) {
		uv_run(daemon_loop(), UV_RUN_NOWAIT);
		usleep(10000);
	}
	ck_assert_int_eq(models_find("m", "r2", &info), 0);
	/* A restart starts from data_dir/fl/m.tflite, round 2. */
	stop();
	start();
	ck_assert_uint_eq(fed_round("m"), 2);
	ck_assert_ptr_nonnull(h = fed_head("m", &len, etag));
	memcpy(v, h, sizeof v);
	ck_assert(fabs(v[0] - (1 + want)) < 1e-5);
	/*
	 * A crash after the rename, before the commit: the state still says
	 * round 1 on the old base with an update.  The start finishes the
	 * close: round 2 on the file's head, the stale update gone.
	 */
	snprintf(rec, sizeof rec, "1 %llu 3 0 ", 4000000000000ULL);
	for (i = 0; i < 32; i++)
		snprintf(rec + strlen(rec), 3, "%02x", base[i]);
	ck_assert_int_eq(store_state_set("fed/m/state", rec, strlen(rec)), 0);
	ck_assert_int_eq(store_state_set("fed/m/u/n9", "x", 1), 0);
	store_flush();
	stop();
	start();
	ck_assert_uint_eq(fed_round("m"), 2);
	ck_assert_double_eq(metric("clients"), 0);
	/* P/fl says so: round 2, the interrupted round's counts. */
	o = fl_message();
	ck_assert_double_eq(cJSON_GetObjectItem(o, "round")->valuedouble, 2);
	ck_assert_double_eq(cJSON_GetObjectItem(o, "samples")->valuedouble, 0);
	ck_assert_double_eq(cJSON_GetObjectItem(o, "clients")->valuedouble, 1);
	ck_assert_double_eq(cJSON_GetObjectItem(o, "accepted")->valuedouble,
	    3);
	cJSON_Delete(o);
	ck_assert_ptr_nonnull(h = fed_head("m", &len, etag));
	memcpy(v, h, sizeof v);
	ck_assert(fabs(v[0] - (1 + want)) < 1e-5);
	stop();
	start();
	ck_assert_uint_eq(fed_round("m"), 2);
	ck_assert_double_eq(metric("clients"), 0);
	stop();
	teardown();
}
END_TEST

/*
 * An update that is finite but would push the head past float32 is
 * refused: in the round it could never be applied, and the round would
 * never close.
 */
START_TEST(test_overflow_refused)
{
	uint8_t	base[32], buf[256];
	size_t	len;

	setup();
	load_config("min_clients = 1\ntarget_clients = 1\n");
	start();
	base_of(base);
	/* Head ~ FLT_MAX after round 1 (each entry 0.x + FLT_MAX). */
	len = update(buf, 1, base, 1, FLT_MAX);
	ck_assert_int_eq(post("m", "n1", buf, len), FED_OK);
	wait_round(2);
	base_of(base);
	len = update(buf, 2, base, 1, FLT_MAX);
	ck_assert_int_eq(post("m", "n1", buf, len), FED_BAD);
	len = update(buf, 2, base, 1, -FLT_MAX);
	ck_assert_int_eq(post("m", "n1", buf, len), FED_OK);
	wait_round(3);
	stop();
}
END_TEST

START_TEST(test_timeout_extends)
{
	uint8_t	base[32], buf[256];
	size_t	len;
	double	d0;
	int	i;

	setup();
	load_config("min_clients = 2\nround_timeout = 1s\n");
	start();
	base_of(base);
	len = update(buf, 1, base, 5, 0.5f);
	ck_assert_int_eq(post("m", "n1", buf, len), FED_OK);
	d0 = doc("deadline");
	usleep(1100000);
	fed_check(0);
	ck_assert_uint_eq(fed_round("m"), 1);
	ck_assert(doc("deadline") > d0);
	ck_assert_int_eq(post("m", "n2", buf, len), FED_OK);
	ck_assert_uint_eq(fed_round("m"), 1);
	for (i = 0; i < 30 && fed_round("m") == 1; i++) {
		usleep(100000);
		fed_check(0);
		uv_run(daemon_loop(), UV_RUN_NOWAIT);
	}
	wait_round(2);
	stop();
	teardown();
}
END_TEST

/* Write a validation file: the inputs e_k with label k (k < ROWS). */
static void
write_val(void)
{
	uint8_t	 buf[12 + ROWS * (4 + 4 * COLS)], *p = buf + 12;
	float	 one = 1;
	uint32_t u;
	char	 path[128];
	FILE	*f;
	int	 k;

	memset(buf, 0, sizeof buf);
	memcpy(buf, "FV\1\3", 4);
	le32(buf + 4, COLS);
	le32(buf + 8, ROWS);
	memcpy(&u, &one, 4);
	for (k = 0; k < ROWS; k++, p += 4 + 4 * COLS) {
		le32(p, (uint32_t)k);
		le32(p + 4 + 4 * k, u);
	}
	snprintf(path, sizeof path, "%s/val", dir);
	ck_assert_ptr_nonnull(f = fopen(path, "w"));
	ck_assert_uint_eq(fwrite(buf, 1, sizeof buf, f), sizeof buf);
	fclose(f);
}

START_TEST(test_gate_rejects)
{
	uint8_t		 base[32], after[32], buf[256];
	size_t		 len;
	char		 extra[256];
	cJSON		*o;
	float		 d[NW];
	uint32_t	 u;
	int		 i;

	setup();
	write_val();
	snprintf(extra, sizeof extra, "min_clients = 1\ntarget_clients = 1\n"
	    "validation = %s/val\n", dir);
	load_config(extra);
	start();
	base_of(base);
	/* An update that makes row 2 win every example: accuracy 1 -> 1/3. */
	len = update(buf, 1, base, 5, 0);
	memset(d, 0, sizeof d);
	d[ROWS * COLS + 2] = 100;
	for (i = 0; i < NW; i++) {
		memcpy(&u, &d[i], 4);
		le32(buf + FL_UPDATE_HEADER + 4 * i, u);
	}
	ck_assert_int_eq(post("m", "n1", buf, len), FED_OK);
	wait_round(2);
	base_of(after);
	ck_assert_int_eq(memcmp(base, after, 32), 0);
	o = fl_message();
	ck_assert_str_eq(cJSON_GetObjectItem(o, "outcome")->valuestring,
	    "rejected");
	ck_assert(fabs(cJSON_GetObjectItem(o, "val_acc_before")->valuedouble -
	    1) < 1e-9);
	ck_assert(fabs(cJSON_GetObjectItem(o, "val_acc_after")->valuedouble -
	    1.0 / 3) < 1e-9);
	cJSON_Delete(o);
	stop();
	teardown();
}
END_TEST

/* What the config table cannot check: the name, target vs min. */
START_TEST(test_config_check)
{
	char	*cause = NULL;

	setup();
	load_config("min_clients = 3\ntarget_clients = 3\n");
	ck_assert_int_eq(fed_config_check(cf, &cause), 0);
	load_config("min_clients = 3\ntarget_clients = 0\n");
	ck_assert_int_eq(fed_config_check(cf, &cause), 0);
	load_config("min_clients = 3\ntarget_clients = 2\n");
	ck_assert_int_eq(fed_config_check(cf, &cause), -1);
	ck_assert_ptr_nonnull(strstr(cause, "target_clients"));
	free(cause);
	cause = NULL;
	load_config("[federated:..]\nmodel = /dev/null\n");
	ck_assert_int_eq(fed_config_check(cf, &cause), -1);
	ck_assert_ptr_nonnull(strstr(cause, "the name"));
	free(cause);
	teardown();
}
END_TEST

/* The CoAP routes of SPEC 10, malformed ones included. */
START_TEST(test_routes)
{
	static const struct {
		const char		*path;
		enum coap_target	 target;
		const char		*node, *name;
	} cases[] = {
		{ "v1/fl/kws", COAP_TARGET_FL, "", "kws" },
		{ "v1/fl/kws/head", COAP_TARGET_FL_HEAD, "", "kws" },
		{ "v1/fl/kws/heads", COAP_TARGET_NONE, "", "" },
		{ "v1/fl/kws/head/x", COAP_TARGET_NONE, "", "" },
		{ "v1/fl/", COAP_TARGET_NONE, "", "" },
		{ "v1/fl/..", COAP_TARGET_FL, "", "" },
		{ "v1/fl/a b", COAP_TARGET_FL, "", "" },
		{ "v1/n/n1/fl/kws", COAP_TARGET_FL_POST, "n1", "kws" },
		{ "v1/n/n1/fl/", COAP_TARGET_NONE, "n1", "" },
		{ "v1/n/n1/fl/a/b", COAP_TARGET_NONE, "", "" },
		{ "v1/n/n 1/fl/kws", COAP_TARGET_FL_POST, "", "kws" },
		{ "v1/n/n1/fl/a%b", COAP_TARGET_FL_POST, "n1", "" },
		{ "v1/n/n1/flx", COAP_TARGET_NONE, "", "" },
	};
	struct coap_route	r;
	size_t			i;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		ingest_coap_path_route((const uint8_t *)cases[i].path,
		    strlen(cases[i].path), &r);
		ck_assert_msg(r.target == cases[i].target, "%s: target %d",
		    cases[i].path, r.target);
		if (r.target == COAP_TARGET_NONE)
			continue;
		ck_assert_str_eq(r.node, cases[i].node);
		ck_assert_str_eq(r.model, cases[i].name);
	}
}
END_TEST

int
main(void)
{
	struct testutil_case	 cases[] = {
		{ test_rejections, 0 },
		{ test_close_at_target, 0 },
		{ test_overflow_refused, 0 },
		{ test_timeout_extends, 0 },
		{ test_gate_rejects, 0 },
		{ test_routes, 0 },
		{ test_config_check, 0 },
	};

	return (testutil_run("fed", 60, cases, sizeof cases / sizeof cases[0]));
}
