/*
 * test_control.c - unit tests of node settings (control.c, SPEC 9.1):
 * [node:GLOB] sections merged in file order with typed values, overrides
 * by merge patch and null clearing them, revs that stay for the same
 * document and grow for a changed one (also across a restart with the
 * same store, after a stop that was not clean, and for a node whose
 * record was dropped), model resolution, the document size bound, the
 * record bound, and RFC 7396 merge patches (the cases of the RFC's
 * appendix, written out here) with malformed and deep ones.
 *
 * The real store (store_fixture.c) and the real registry (nodes.c) run;
 * models_find() is defined here over a small table, so the test does not
 * need models.c: this definition wins over the library archive's.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include <cJSON.h>

#include "config.h"
#include "control.h"
#include "daemon.h"
#include "models.h"
#include "nodes.h"
#include "store_fixture.h"
#include "testutil.h"

/* The node models the test pretends to have; newest last per name. */
static struct models_info	tm_models[8];
static size_t			tm_nmodels;

/* Add a model version to the table. */
static void
tm_add(const char *name, const char *version, size_t size)
{
	struct models_info	*m = &tm_models[tm_nmodels++];

	memset(m, 0, sizeof *m);
	snprintf(m->name, sizeof m->name, "%s", name);
	snprintf(m->version, sizeof m->version, "%s", version);
	memset(m->sha256, 'a' + (int)tm_nmodels, 64);
	m->size = size;
}

/* models.h: what is stored of name@version (NULL: the newest). */
int
models_find(const char *name, const char *version, struct models_info *info)
{
	size_t	i, found = SIZE_MAX;

	for (i = 0; i < tm_nmodels; i++) {
		if (strcmp(tm_models[i].name, name) == 0 && (version == NULL ||
		    strcmp(tm_models[i].version, version) == 0))
			found = i;
	}
	if (found == SIZE_MAX)
		return (-1);
	*info = tm_models[found];
	return (0);
}

static char	tc_last[128];
static uint32_t	tc_last_rev;
static int	tc_nnotify;

/* The notify callback: remember the last change. */
static void
tc_notify(const char *node, uint32_t rev)
{
	snprintf(tc_last, sizeof tc_last, "%s", node);
	tc_last_rev = rev;
	tc_nnotify++;
}

/* Write the config: max_nodes and node sections; load it into *cf. */
static void
tc_config(const char *max_nodes, const char *nodes, struct config **cf)
{
	char	 path[128], *cause = NULL;
	FILE	*f;

	snprintf(path, sizeof path, "%s/c.ini", fx_dir);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fprintf(f, "[gateway]\nid = gw-unit\ndata_dir = %s\nmax_nodes = %s\n"
	    "[store]\ncommit_interval = 60s\n%s", fx_dir, max_nodes, nodes);
	fclose(f);
	if (config_load(path, cf, &cause) != 0)
		ck_abort_msg("config: %s", cause);
}

/* Start store, registry and control on a fresh loop. */
static void
tc_start_all(void)
{
	char	*cause = NULL;

	ck_assert_int_eq(uv_loop_init(daemon_loop()), 0);
	fx_start();
	fx_turn();
	if (nodes_start(fx_cf, &cause) != 0)
		ck_abort_msg("nodes_start: %s", cause);
	control_set_notify(tc_notify);
	if (control_start(fx_cf, &cause) != 0)
		ck_abort_msg("control_start: %s", cause);
}

/* A temp dir, a config, everything started. */
static void
tc_setup(const char *max_nodes, const char *nodes)
{
	snprintf(fx_dir, sizeof fx_dir, "/tmp/te-control.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(fx_dir));
	tc_config(max_nodes, nodes, &fx_cf);
	tm_nmodels = 0;
	tc_nnotify = 0;
	tc_start_all();
}

/* Stop all (cleanly, or as a crash would leave it: no control_stop). */
static void
tc_stop_all(int clean)
{
	if (clean)
		control_stop();
	nodes_stop();
	fx_stop();
	if (!clean)
		control_stop();	/* frees only: the store is gone */
}

/* Make node known to the registry at time now. */
static void
tc_admit(const char *node, uint64_t now)
{
	ck_assert_int_eq(nodes_admit(node, "test", 1, now), NODES_ADMIT_OK);
	nodes_seen(node, now, NULL);
}

/* node's document, parsed; its rev in *rev. */
static cJSON *
tc_doc(const char *node, uint32_t *rev)
{
	char	*text;
	cJSON	*o;

	text = control_settings(node, rev);
	ck_assert_msg(text != NULL, "no settings for %s", node);
	ck_assert_uint_le(strlen(text), CONTROL_DOC_MAX);
	o = cJSON_Parse(text);
	ck_assert_ptr_nonnull(o);
	ck_assert_int_eq((int)cJSON_GetObjectItem(o, "rev")->valuedouble,
	    (int)*rev);
	free(text);
	return (o);
}

/* The document of node without rev, as compact text (static buffer). */
static const char *
tc_text(const char *node)
{
	static char	 buf[2048];
	uint32_t	 rev;
	cJSON		*o = tc_doc(node, &rev);
	char		*t;

	cJSON_DeleteItemFromObject(o, "rev");
	t = cJSON_PrintUnformatted(o);
	snprintf(buf, sizeof buf, "%s", t);
	free(t);
	cJSON_Delete(o);
	return (buf);
}

/* Apply a patch (JSON text) to glob; the result code, cause freed. */
static int
tc_patch(const char *glob, const char *json, cJSON **out, char **causep)
{
	cJSON	*p = cJSON_Parse(json), *list = cJSON_CreateArray();
	char	*cause = NULL;
	int	 rc;

	ck_assert_msg(p != NULL, "bad test JSON %s", json);
	rc = control_patch(glob, p, list, &cause);
	cJSON_Delete(p);
	if (out != NULL)
		*out = list;
	else
		cJSON_Delete(list);
	if (causep != NULL)
		*causep = cause;
	else
		free(cause);
	return (rc);
}

#define TC_SECTIONS \
	"[node:*]\nsend_window = unsure\nmin_score = 0.5\nlabel = x\n" \
	"[node:pump-?]\nmin_score = 0.8\nfast = true\nmodel = kws\n" \
	"[node:pump-[12]]\nmin_score = 1e3\nmodel =\n"

/* Sections merge in file order, later ones winning key by key. */
START_TEST(test_merge_order)
{
	tc_setup("16", TC_SECTIONS "[node:other]\nn = -3\ns = 0x10\n");
	tc_admit("pump-7", 1000);
	tc_admit("pump-1", 1000);
	tc_admit("valve", 1000);
	tc_admit("other", 1000);
	ck_assert_str_eq(tc_text("valve"),
	    "{\"send_window\":\"unsure\",\"min_score\":0.5,\"label\":\"x\"}");
	/* kws is not stored: no model key. */
	ck_assert_str_eq(tc_text("pump-7"), "{\"send_window\":\"unsure\","
	    "\"min_score\":0.8,\"label\":\"x\",\"fast\":true}");
	/* An empty model clears the earlier section's. */
	ck_assert_str_eq(tc_text("pump-1"), "{\"send_window\":\"unsure\","
	    "\"min_score\":1000,\"label\":\"x\",\"fast\":true}");
	ck_assert_str_eq(tc_text("other"), "{\"send_window\":\"unsure\","
	    "\"min_score\":0.5,\"label\":\"x\",\"n\":-3,\"s\":\"0x10\"}");
	tc_stop_all(1);
	fx_teardown();
}
END_TEST

/* Unknown node: NULL; nothing configured: {"rev":N}. */
START_TEST(test_unknown_and_empty)
{
	uint32_t	 rev = 7;
	char		*t, want[32];

	tc_setup("16", "[node:pump-*]\na = 1\n");
	ck_assert_ptr_null(control_settings("ghost", &rev));
	ck_assert_uint_eq(rev, 0);
	ck_assert_uint_eq(control_rev("ghost"), 0);
	tc_admit("lonely", 1000);
	t = control_settings("lonely", &rev);
	ck_assert_ptr_nonnull(t);
	ck_assert_uint_gt(rev, 0);
	snprintf(want, sizeof want, "{\"rev\":%u}", (unsigned)rev);
	ck_assert_str_eq(t, want);
	free(t);
	ck_assert_uint_eq(control_rev("lonely"), rev);
	ck_assert_int_eq(tc_nnotify, 1);
	ck_assert_str_eq(tc_last, "lonely");
	tc_stop_all(1);
	fx_teardown();
}
END_TEST

/* Same document, same rev; a change grows it and notifies; reload. */
START_TEST(test_rev_growth)
{
	struct config	*cf2;
	uint32_t	 r1, r2, rv1, rv2;
	cJSON		*o;

	tc_setup("16", TC_SECTIONS);
	tc_admit("pump-7", 1000);
	tc_admit("valve", 1000);
	cJSON_Delete(tc_doc("pump-7", &r1));
	cJSON_Delete(tc_doc("valve", &rv1));
	ck_assert_int_eq(tc_nnotify, 2);
	cJSON_Delete(tc_doc("pump-7", &r2));
	ck_assert_uint_eq(r1, r2);
	ck_assert_int_eq(tc_nnotify, 2);
	/* Reloading the same file changes nothing. */
	control_reload(fx_cf);
	ck_assert_uint_eq(control_rev("pump-7"), r1);
	ck_assert_int_eq(tc_nnotify, 2);
	/* A changed section: only the nodes it matches get a new rev. */
	tc_config("16", TC_SECTIONS "[node:pump-7]\nmin_score = 0.9\n", &cf2);
	control_reload(cf2);
	ck_assert_int_eq(tc_nnotify, 3);
	ck_assert_str_eq(tc_last, "pump-7");
	ck_assert_uint_gt(tc_last_rev, rv1);
	ck_assert_uint_gt(tc_last_rev, r1);
	o = tc_doc("pump-7", &r2);
	ck_assert_uint_eq(r2, tc_last_rev);
	ck_assert_double_eq(cJSON_GetObjectItem(o, "min_score")->valuedouble,
	    0.9);
	cJSON_Delete(o);
	cJSON_Delete(tc_doc("valve", &rv2));
	ck_assert_uint_eq(rv1, rv2);
	/* And back: a new rev again (revs never go back). */
	control_reload(fx_cf);
	ck_assert_uint_gt(control_rev("pump-7"), r2);
	tc_stop_all(1);
	config_free(cf2);
	fx_teardown();
}
END_TEST

/* A restart with the same store keeps revs and overrides. */
START_TEST(test_restart)
{
	uint32_t	 r1, r2, rv1, rv2;
	cJSON		*o;

	tc_setup("16", TC_SECTIONS);
	tc_admit("pump-7", 1000);
	tc_admit("valve", 1000);
	ck_assert_int_eq(tc_patch("pump-*", "{\"min_score\":0.25}", NULL,
	    NULL), 0);
	cJSON_Delete(tc_doc("pump-7", &r1));
	cJSON_Delete(tc_doc("valve", &rv1));
	tc_stop_all(1);
	tc_start_all();
	tc_admit("pump-7", 2000);
	tc_admit("valve", 2000);
	tc_nnotify = 0;
	o = tc_doc("pump-7", &r2);
	ck_assert_uint_eq(r1, r2);
	ck_assert_double_eq(cJSON_GetObjectItem(o, "min_score")->valuedouble,
	    0.25);
	cJSON_Delete(o);
	cJSON_Delete(tc_doc("valve", &rv2));
	ck_assert_uint_eq(rv1, rv2);
	ck_assert_int_eq(tc_nnotify, 0);
	/* A reload before a node is back keeps its overrides. */
	tc_stop_all(1);
	tc_start_all();
	control_reload(fx_cf);
	tc_admit("pump-7", 3000);
	o = tc_doc("pump-7", &r2);
	ck_assert_uint_eq(r1, r2);
	ck_assert_double_eq(cJSON_GetObjectItem(o, "min_score")->valuedouble,
	    0.25);
	cJSON_Delete(o);
	tc_stop_all(1);
	fx_teardown();
}
END_TEST

/*
 * A stop that was not clean: every node gets a rev larger than any given
 * out before; a dropped record too.
 */
START_TEST(test_unclean_and_dropped)
{
	uint32_t	r1, r2, rv1, rv2, max;

	tc_setup("16", TC_SECTIONS);
	tc_admit("pump-7", 1000);
	tc_admit("valve", 1000);
	cJSON_Delete(tc_doc("pump-7", &r1));
	cJSON_Delete(tc_doc("valve", &rv1));
	max = r1 > rv1 ? r1 : rv1;
	tc_stop_all(0);
	tc_start_all();
	tc_admit("pump-7", 2000);
	cJSON_Delete(tc_doc("pump-7", &r2));
	ck_assert_uint_gt(r2, max);
	max = r2;
	tc_stop_all(1);
	/* valve's record is lost; its new rev is still larger. */
	fx_exec_sql("DELETE FROM state WHERE key = 'ctl/n/valve'");
	tc_start_all();
	tc_admit("valve", 3000);
	cJSON_Delete(tc_doc("valve", &rv2));
	ck_assert_uint_gt(rv2, max);
	ck_assert_uint_gt(rv2, rv1);
	tc_stop_all(1);
	fx_teardown();
}
END_TEST

/* Overrides: set, typed as JSON, cleared by null; the result list. */
START_TEST(test_overrides)
{
	cJSON		*list, *o;
	uint32_t	 r1, r2;

	tc_setup("16", TC_SECTIONS);
	tm_add("kws", "1", 100);
	tc_admit("pump-7", 1000);
	tc_admit("pump-8", 1000);
	tc_admit("valve", 1000);
	cJSON_Delete(tc_doc("pump-7", &r1));
	ck_assert_int_eq(tc_patch("pump-[7]", "{\"min_score\":0.1,"
	    "\"extra\":{\"a\":[1,2]},\"label\":null}", &list, NULL), 0);
	ck_assert_int_eq(cJSON_GetArraySize(list), 1);
	o = cJSON_GetArrayItem(list, 0);
	ck_assert_str_eq(cJSON_GetObjectItem(o, "node")->valuestring,
	    "pump-7");
	r2 = (uint32_t)cJSON_GetObjectItem(o, "rev")->valuedouble;
	ck_assert_uint_gt(r2, r1);
	ck_assert_uint_eq(control_rev("pump-7"), r2);
	cJSON_Delete(list);
	/* label: null clears nothing that was not overridden. */
	ck_assert_str_eq(tc_text("pump-7"), "{\"send_window\":\"unsure\","
	    "\"min_score\":0.1,\"label\":\"x\",\"fast\":true,"
	    "\"extra\":{\"a\":[1,2]},\"model\":{\"name\":\"kws\","
	    "\"version\":\"1\",\"sha256\":\"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
	    "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\",\"size\":100,"
	    "\"uri\":\"/v1/models/kws?v=1\"}}");
	/* The same patches again: no new rev. */
	ck_assert_int_eq(tc_patch("pump-7", "{\"min_score\":0.1}", NULL,
	    NULL), 0);
	ck_assert_int_eq(tc_patch("pump-7", "{\"extra\":{\"a\":[1,2]},"
	    "\"min_score\":0.1}", NULL, NULL), 0);
	ck_assert_uint_eq(control_rev("pump-7"), r2);
	/* null takes the override away: the INI value is back. */
	ck_assert_int_eq(tc_patch("*", "{\"min_score\":null,\"extra\":null,"
	    "\"model\":null}", &list, NULL), 0);
	ck_assert_int_eq(cJSON_GetArraySize(list), 3);
	cJSON_Delete(list);
	ck_assert_str_eq(tc_text("pump-7"), "{\"send_window\":\"unsure\","
	    "\"min_score\":0.8,\"label\":\"x\",\"fast\":true,"
	    "\"model\":{\"name\":\"kws\",\"version\":\"1\",\"sha256\":"
	    "\"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\","
	    "\"size\":100,\"uri\":\"/v1/models/kws?v=1\"}}");
	ck_assert_uint_gt(control_rev("pump-7"), r2);
	/* A glob matching no node is no error. */
	ck_assert_int_eq(tc_patch("nothing-*", "{\"a\":1}", &list, NULL), 0);
	ck_assert_int_eq(cJSON_GetArraySize(list), 0);
	cJSON_Delete(list);
	tc_stop_all(1);
	fx_teardown();
}
END_TEST

/* Bad patches change nothing and say why. */
START_TEST(test_bad_patches)
{
	static const char *const bad[] = {
		"[1]", "\"x\"", "null", "3",
		"{\"a-b\":1}", "{\"\":1}", "{\"rev\":5}",
		"{\"k\xc3\xa9\":1}",
		"{\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		    "aaaa\":1}",
		"{\"model\":5}", "{\"model\":\"a@@b\"}", "{\"model\":\"\"}",
		"{\"model\":{\"name\":\"x\"}}", "{\"model\":\"a b\"}",
		"{\"a\":1,\"a\":2}", "{\"a\":{\"b\":1,\"b\":null}}",
		"{\"model\":\"kws@123456789012345678901234567890123\"}",
		"{\"a\":{\"b\":{\"c\":{\"d\":{\"e\":{\"f\":{\"g\":{\"h\":{\"i\":"
		    "{\"j\":{\"k\":{\"l\":{\"m\":{\"n\":{\"o\":{\"p\":{\"q\":1}"
		    "}}}}}}}}}}}}}}}}",
	};
	cJSON		*list;
	char		*cause;
	const char	*before;
	char		 saved[2048];
	uint32_t	 r1;
	size_t		 i;

	tc_setup("16", TC_SECTIONS);
	tc_admit("pump-7", 1000);
	r1 = control_rev("pump-7");
	before = tc_text("pump-7");
	snprintf(saved, sizeof saved, "%s", before);
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		ck_assert_msg(tc_patch("*", bad[i], &list, &cause) == -1,
		    "accepted %s", bad[i]);
		ck_assert_ptr_nonnull(cause);
		ck_assert_int_eq(cJSON_GetArraySize(list), 0);
		cJSON_Delete(list);
		free(cause);
	}
	ck_assert_str_eq(tc_text("pump-7"), saved);
	ck_assert_uint_eq(control_rev("pump-7"), r1);
	/* 16 levels deep is fine. */
	ck_assert_int_eq(tc_patch("*", "{\"a\":{\"b\":{\"c\":{\"d\":{\"e\":"
	    "{\"f\":{\"g\":{\"h\":{\"i\":{\"j\":{\"k\":{\"l\":{\"m\":{\"n\":"
	    "{\"o\":{\"p\":1}}}}}}}}}}}}}}}}", NULL, NULL), 0);
	tc_stop_all(1);
	fx_teardown();
}
END_TEST

/* The document bound: a patch passing it is refused, one under it fits. */
START_TEST(test_size_bound)
{
	char		 json[2048], big[1024], *cause = NULL;
	char		 name[MODELS_NAME_MAX + 1], ver[MODELS_VERSION_MAX + 1];
	uint32_t	 r1, r2;
	cJSON		*o;

	tc_setup("16", "[node:n1]\na = 1\n");
	memset(name, 'm', MODELS_NAME_MAX);
	name[MODELS_NAME_MAX] = '\0';
	memset(ver, 'v', MODELS_VERSION_MAX);
	ver[MODELS_VERSION_MAX] = '\0';
	tm_add(name, ver, SIZE_MAX);
	tc_admit("n1", 1000);
	r1 = control_rev("n1");
	memset(big, 'x', sizeof big);
	big[CONFIG_NODE_SETTINGS_MAX] = '\0';
	snprintf(json, sizeof json, "{\"b\":\"%s\"}", big);
	ck_assert_int_eq(tc_patch("*", json, NULL, &cause), -1);
	ck_assert_msg(strstr(cause, "more than 640") != NULL, "%s", cause);
	free(cause);
	ck_assert_uint_eq(control_rev("n1"), r1);
	/* Just under the bound, with the largest model object: fits. */
	big[CONFIG_NODE_SETTINGS_MAX - 22] = '\0';
	snprintf(json, sizeof json, "{\"b\":\"%s\",\"model\":\"%s@%s\"}", big,
	    name, ver);
	ck_assert_int_eq(tc_patch("*", json, NULL, NULL), 0);
	o = tc_doc("n1", &r2);		/* checks <= CONTROL_DOC_MAX */
	ck_assert_uint_gt(r2, r1);
	ck_assert_ptr_nonnull(cJSON_GetObjectItem(o, "model"));
	cJSON_Delete(o);
	tc_stop_all(1);
	fx_teardown();
}
END_TEST

/* Sections that pass the bound together: an "error", still bounded. */
START_TEST(test_sections_too_large)
{
	char	sections[4096], v[101];
	int	i, n = 0;

	memset(v, 'y', 100);
	v[100] = '\0';
	for (i = 0; i < 2; i++)
		n += snprintf(sections + n, sizeof sections - (size_t)n,
		    "[node:%s]\nk%d = %s\nl%d = %s\nm%d = %s\nn%d = %s\n",
		    i ? "big" : "*", i, v, i, v, i, v, i, v);
	tc_setup("16", sections);
	tc_admit("big", 1000);
	tc_admit("small", 1000);
	ck_assert_str_eq(tc_text("big"), "{\"error\":\"settings too large\"}");
	ck_assert_ptr_nonnull(strstr(tc_text("small"), "\"k0\""));
	tc_stop_all(1);
	fx_teardown();
}
END_TEST

/* Models: newest or pinned, unknown left out, a new version notifies. */
START_TEST(test_models)
{
	cJSON		*o, *m;
	uint32_t	 r1, r2, rv;

	tc_setup("16", "[node:a]\nmodel = kws\n[node:b]\nmodel = kws@1\n"
	    "[node:c]\nmodel = nope@2\n");
	tm_add("kws", "1", 10);
	tc_admit("a", 1000);
	tc_admit("b", 1000);
	tc_admit("c", 1000);
	o = tc_doc("a", &r1);
	m = cJSON_GetObjectItem(o, "model");
	ck_assert_str_eq(cJSON_GetObjectItem(m, "version")->valuestring, "1");
	ck_assert_str_eq(cJSON_GetObjectItem(m, "uri")->valuestring,
	    "/v1/models/kws?v=1");
	cJSON_Delete(o);
	cJSON_Delete(tc_doc("b", &rv));
	ck_assert_str_eq(tc_text("c"), "{}");
	ck_assert_int_eq(control_model_in_use("kws", "1"), 1);
	ck_assert_int_eq(control_model_in_use("kws", "2"), 0);
	/* nope@2 is named by a section: in use before it exists. */
	ck_assert_int_eq(control_model_in_use("nope", "2"), 1);
	/* kws@2 arrives: a (newest) changes, b (pinned) does not. */
	tm_add("kws", "2", 20);
	tc_nnotify = 0;
	control_models_changed("kws");
	ck_assert_int_eq(tc_nnotify, 1);
	ck_assert_str_eq(tc_last, "a");
	o = tc_doc("a", &r2);
	ck_assert_uint_gt(r2, r1);
	m = cJSON_GetObjectItem(o, "model");
	ck_assert_str_eq(cJSON_GetObjectItem(m, "version")->valuestring, "2");
	ck_assert_int_eq((int)cJSON_GetObjectItem(m, "size")->valuedouble, 20);
	cJSON_Delete(o);
	ck_assert_uint_eq(control_rev("b"), rv);
	ck_assert_int_eq(control_model_in_use("kws", "2"), 1);
	/* nope@2 arrives: c gets it. */
	tm_add("nope", "2", 5);
	control_models_changed("nope");
	ck_assert_int_eq(tc_nnotify, 2);
	ck_assert_str_eq(tc_last, "c");
	/* An override pins a model; in use from then on. */
	ck_assert_int_eq(tc_patch("a", "{\"model\":\"kws@1\"}", NULL, NULL),
	    0);
	ck_assert_int_eq(control_model_in_use("kws", "2"), 0);
	tc_stop_all(1);
	fx_teardown();
}
END_TEST

/* Count the node records committed in the store. */
static int64_t
tc_records(void)
{
	fx_flush();
	return (fx_count_sql("SELECT count(*) FROM state WHERE key LIKE "
	    "'ctl/n/%'"));
}

/* Is there a committed record of node? */
static int64_t
tc_has_record(const char *node)
{
	char	sql[128];

	fx_flush();
	snprintf(sql, sizeof sql, "SELECT count(*) FROM state WHERE key = "
	    "'ctl/n/%s'", node);
	return (fx_count_sql(sql));
}

/* Records: only for known nodes, at most max_nodes, unknown ones first. */
START_TEST(test_record_bound)
{
	char		 id[16];
	uint32_t	 r, max = 0;
	uint64_t	 now;
	int		 i;

	tc_setup("3", "[node:*]\na = 1\n");
	for (i = 0; i < 40; i++) {
		/* Everyone goes offline; a new id makes one be forgotten. */
		now = 1000 + (uint64_t)i * 3600000;
		nodes_check(now);
		snprintf(id, sizeof id, "n%d", i);
		tc_admit(id, now);
		r = control_rev(id);
		ck_assert_uint_gt(r, max);
		max = r;
		ck_assert_int_le(tc_records(), 3);
	}
	ck_assert_int_eq(tc_records(), 3);
	/* A node that comes back gets a larger rev than ever given. */
	nodes_check(1000 + 50ULL * 3600000);
	tc_admit("n0", 1000 + 50ULL * 3600000);
	ck_assert_uint_gt(control_rev("n0"), max);
	ck_assert_int_eq(tc_records(), 3);
	/* An unknown node's overrides outlive records without any. */
	ck_assert_int_eq(tc_patch("n39", "{\"b\":2}", NULL, NULL), 0);
	tc_stop_all(1);
	tc_start_all();			/* the registry is empty now */
	ck_assert_int_eq(tc_records(), 3);
	tc_admit("x1", 1000);
	ck_assert_uint_gt(control_rev("x1"), 0);
	tc_admit("x2", 1000);
	ck_assert_uint_gt(control_rev("x2"), 0);
	ck_assert_int_eq(tc_has_record("n39"), 1);
	ck_assert_int_eq(tc_has_record("n0"), 0);
	tc_admit("x3", 1000);
	ck_assert_uint_gt(control_rev("x3"), 0);
	ck_assert_int_eq(tc_has_record("n39"), 0);
	ck_assert_int_eq(tc_records(), 3);
	/* A node unknown to the registry gets no record. */
	ck_assert_uint_eq(control_rev("x4"), 0);
	ck_assert_int_eq(tc_has_record("x4"), 0);
	tc_stop_all(1);
	fx_teardown();
}
END_TEST

static int	tc_reentered, tc_depth;

/* A notify callback that asks for settings, as the CoAP side will. */
static void
tc_notify_reenter(const char *node, uint32_t rev)
{
	char		 id[16];
	uint32_t	 r;
	char		*t;

	tc_notify(node, rev);
	if (tc_depth > 0)
		return;		/* the change of a late node: just note it */
	tc_depth++;
	t = control_settings(node, &r);
	ck_assert_ptr_nonnull(t);
	ck_assert_uint_eq(r, rev);
	free(t);
	/* A node without a record: one is made, maybe evicting another. */
	snprintf(id, sizeof id, "late%d", tc_reentered++ % 4);
	(void)control_rev(id);
	tc_depth--;
}

/* Settings asked from inside the notify callback, during a reload. */
START_TEST(test_notify_reentry)
{
	struct config	*cf2;
	char		 id[16];
	int		 i;

	tc_setup("6", "[node:*]\na = 1\n");
	for (i = 0; i < 4; i++) {
		snprintf(id, sizeof id, "late%d", i);
		tc_admit(id, 1000);
	}
	tc_admit("n1", 1000);
	tc_admit("n2", 1000);
	ck_assert_uint_gt(control_rev("n1"), 0);
	ck_assert_uint_gt(control_rev("n2"), 0);
	control_set_notify(tc_notify_reenter);
	/* Fewer records than known nodes: each new one evicts another. */
	tc_config("2", "[node:*]\na = 2\n", &cf2);
	tc_nnotify = 0;
	control_reload(cf2);
	ck_assert_int_ge(tc_nnotify, 2);
	ck_assert_int_le(tc_records(), 2);
	ck_assert_str_eq(tc_text("n1"), "{\"a\":2}");
	tc_stop_all(1);
	config_free(cf2);
	fx_teardown();
}
END_TEST

/* Apply patch text to target text; the result text or NULL for -1. */
static char *
tc_merge(const char *target, const char *patch)
{
	cJSON	*t = cJSON_Parse(target), *p = cJSON_Parse(patch);
	char	*out = NULL;

	ck_assert_ptr_nonnull(t);
	ck_assert_ptr_nonnull(p);
	if (control_merge_patch(&t, p) == 0)
		out = cJSON_PrintUnformatted(t);
	cJSON_Delete(t);
	cJSON_Delete(p);
	return (out);
}

/* RFC 7396 appendix A's cases, and some of our own. */
START_TEST(test_merge_patch)
{
	static const char *const cases[][3] = {
		{ "{\"a\":\"b\"}", "{\"a\":\"c\"}", "{\"a\":\"c\"}" },
		{ "{\"a\":\"b\"}", "{\"b\":\"c\"}", "{\"a\":\"b\",\"b\":\"c\"}" },
		{ "{\"a\":\"b\"}", "{\"a\":null}", "{}" },
		{ "{\"a\":\"b\",\"b\":\"c\"}", "{\"a\":null}", "{\"b\":\"c\"}" },
		{ "{\"a\":[\"b\"]}", "{\"a\":\"c\"}", "{\"a\":\"c\"}" },
		{ "{\"a\":\"c\"}", "{\"a\":[\"b\"]}", "{\"a\":[\"b\"]}" },
		{ "{\"a\":{\"b\":\"c\"}}", "{\"a\":{\"b\":\"d\",\"c\":null}}",
		  "{\"a\":{\"b\":\"d\"}}" },
		{ "{\"a\":[{\"b\":\"c\"}]}", "{\"a\":[1]}", "{\"a\":[1]}" },
		{ "[\"a\",\"b\"]", "[\"c\",\"d\"]", "[\"c\",\"d\"]" },
		{ "{\"a\":\"b\"}", "[\"c\"]", "[\"c\"]" },
		{ "{\"a\":\"foo\"}", "null", "null" },
		{ "{\"a\":\"foo\"}", "\"bar\"", "\"bar\"" },
		{ "{\"e\":null}", "{\"a\":1}", "{\"e\":null,\"a\":1}" },
		{ "[1,2]", "{\"a\":\"b\",\"c\":null}", "{\"a\":\"b\"}" },
		{ "{}", "{\"a\":{\"bb\":{\"ccc\":null}}}",
		  "{\"a\":{\"bb\":{}}}" },
		/* Ours: nested merge keeps siblings, key order kept. */
		{ "{\"x\":1,\"y\":{\"p\":1,\"q\":2}}", "{\"y\":{\"q\":3}}",
		  "{\"x\":1,\"y\":{\"p\":1,\"q\":3}}" },
		{ "{\"y\":{\"p\":1},\"x\":1}", "{\"y\":{\"p\":2}}",
		  "{\"y\":{\"p\":2},\"x\":1}" },
		{ "{\"x\":1}", "{}", "{\"x\":1}" },
		{ "{\"x\":1}", "{\"x\":{\"y\":null}}", "{\"x\":{}}" },
		{ "5", "{\"a\":1}", "{\"a\":1}" },
		{ "{\"a\":1}", "{\"a\":1,\"a\":null}", "{}" },
	};
	char	*got, deep[256];
	size_t	 i, n = 0;
	cJSON	*t, *p;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		got = tc_merge(cases[i][0], cases[i][1]);
		ck_assert_msg(got != NULL && strcmp(got, cases[i][2]) == 0,
		    "%s + %s: %s, not %s", cases[i][0], cases[i][1],
		    got ? got : "(null)", cases[i][2]);
		free(got);
	}
	/* NULL target is absent. */
	t = NULL;
	p = cJSON_Parse("{\"a\":1,\"b\":null}");
	ck_assert_int_eq(control_merge_patch(&t, p), 0);
	cJSON_Delete(p);
	got = cJSON_PrintUnformatted(t);
	ck_assert_str_eq(got, "{\"a\":1}");
	free(got);
	cJSON_Delete(t);
	/* Too deep: -1, target untouched; arrays count as levels too. */
	for (i = 0; i < 17; i++)
		n += (size_t)snprintf(deep + n, sizeof deep - n, "{\"a\":");
	n += (size_t)snprintf(deep + n, sizeof deep - n, "1");
	for (i = 0; i < 17; i++)
		n += (size_t)snprintf(deep + n, sizeof deep - n, "}");
	ck_assert_ptr_null(tc_merge("{\"k\":1}", deep));
	ck_assert_ptr_null(tc_merge("{}", "{\"a\":[[[[[[[[[[[[[[[[[1]]]]]]]]]"
	    "]]]]]]]]}"));
	got = tc_merge("{}", "{\"a\":[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]}");
	ck_assert_ptr_nonnull(got);
	free(got);
}
END_TEST

/* Run the suite; the exit status tells whether all passed. */
int
main(void)
{
	struct testutil_case	 cases[] = {
		{ test_merge_order, 0 },
		{ test_unknown_and_empty, 0 },
		{ test_rev_growth, 0 },
		{ test_restart, 0 },
		{ test_unclean_and_dropped, 0 },
		{ test_overrides, 0 },
		{ test_bad_patches, 0 },
		{ test_size_bound, 0 },
		{ test_sections_too_large, 0 },
		{ test_models, 0 },
		{ test_record_bound, 0 },
		{ test_notify_reentry, 0 },
		{ test_merge_patch, 0 },
	};

	return (testutil_run("control", 60, cases,
	    sizeof cases / sizeof cases[0]));
}
