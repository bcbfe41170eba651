/*
 * test_command.c - commands over MQTT (command.c, command_parse.c) on the
 * real store and loop.  This program defines control_patch, models_put,
 * tier2_replace, daemon_reload, uplink_publish_now and uplink_prefix; it
 * is linked with --allow-multiple-definition and its objects come first,
 * so these fakes take the place of the library's.  The fakes record their
 * calls; models_put and tier2_replace keep their callbacks for the test
 * to answer, as the pool would later.
 *
 * Checked: a table of malformed commands, each answered ok:false with its
 * error under its id or on results/_invalid (with the topic), and nothing
 * run; good commands run once, a repeated id gets the same result again
 * without running, an id still running is not started twice; at most
 * COMMAND_RUNNING_MAX run at once (the next is told "busy", not kept); a
 * command the uplink dropped in a burst is answered "busy", not run, not
 * kept; only the last COMMAND_KEEP results are kept, across a restart
 * too; while the store refuses writes a command gets its answer directly
 * and changes nothing.
 */
#include <sys/wait.h>

#include <cJSON.h>
#include <check.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "command.h"
#include "command_int.h"
#include "control.h"
#include "daemon.h"
#include "models.h"
#include "store.h"
#include "store_fixture.h"
#include "testutil.h"
#include "tier2.h"
#include "uplink.h"
#include "xmalloc.h"

#define NROWS	2048
#define C1	"{\"id\":\"c1\",\"set\":{\"min_score\":0.8}}"

/* The calls the fakes saw, and what they answer. */
static struct {
	int		 patches, puts, replaces, reloads, now;
	char		 glob[300];
	int		 reload_fails;
	models_put_cb	 put_cb;
	tier2_replace_cb replace_cb;
	void		*arg;
	size_t		 len;
	char		 now_topic[200], now_payload[400];
} fake;

/* The outbox rows the test has read so far. */
static struct {
	char	 topic[200];
	char	*payload;
} rows[NROWS];
static int	nrows;
static int64_t	seen;

/* Fake control.c: every glob but "fail*" matches nodes n1 and n2. */
int
control_patch(const char *glob, const cJSON *set, cJSON *nodes, char **cause)
{
	cJSON	*o;
	int	 i;

	fake.patches++;
	snprintf(fake.glob, sizeof fake.glob, "%s", glob);
	ck_assert(cJSON_IsObject(set));
	if (strncmp(glob, "fail", 4) == 0) {
		xasprintf(cause, "patch refused");
		return (-1);
	}
	for (i = 1; i <= 2; i++) {
		o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "node", i == 1 ? "n1" : "n2");
		cJSON_AddNumberToObject(o, "rev", 10 + i);
		cJSON_AddItemToArray(nodes, o);
	}
	return (0);
}

/* Fake models.c: keep the callback; the test answers it. */
int
models_put(const char *name, const char *version, const void *data,
    size_t len, models_put_cb cb, void *arg, char **cause)
{
	(void)data;
	(void)cause;
	ck_assert_str_eq(name, "m");
	ck_assert_str_eq(version, "1.0");
	fake.puts++;
	fake.put_cb = cb;
	fake.arg = arg;
	fake.len = len;
	return (0);
}

/* Fake tier2.c: "bad" fails at once, others wait for the test. */
int
tier2_replace(const char *section, const void *data, size_t len,
    tier2_replace_cb cb, void *arg, char **cause)
{
	(void)data;
	fake.replaces++;
	if (strcmp(section, "bad") == 0) {
		xasprintf(cause, "no section bad");
		return (-1);
	}
	fake.replace_cb = cb;
	fake.arg = arg;
	fake.len = len;
	return (0);
}

/* Fake daemon.c reload: counted; fails when told to. */
int
daemon_reload(char **cause)
{
	fake.reloads++;
	if (fake.reload_fails) {
		xasprintf(cause, "c.ini:3: unknown key");
		return (-1);
	}
	return (0);
}

/* Fake uplink: a direct publish, recorded. */
int
uplink_publish_now(const char *topic, const void *payload, size_t len,
    int qos, int retain)
{
	ck_assert_int_eq(qos, 1);
	ck_assert_int_eq(retain, 0);
	fake.now++;
	snprintf(fake.now_topic, sizeof fake.now_topic, "%s", topic);
	snprintf(fake.now_payload, sizeof fake.now_payload, "%.*s", (int)len,
	    (const char *)payload);
	return (0);
}

/* Fake uplink: the prefix. */
const char *
uplink_prefix(void)
{
	return ("te/gw");
}

/* store_outbox_fetch callback: keep a row. */
static void
row_cb(const struct store_row *r, void *arg)
{
	(void)arg;
	ck_assert_int_lt(nrows, NROWS);
	ck_assert_int_eq(r->retain, 0);
	snprintf(rows[nrows].topic, sizeof rows[nrows].topic, "%s", r->topic);
	rows[nrows].payload = xmalloc(r->len + 1);
	memcpy(rows[nrows].payload, r->payload, r->len);
	rows[nrows].payload[r->len] = '\0';
	nrows++;
	seen = r->id;
}

/* Read the outbox rows added since the last call; their number. */
static int
new_rows(void)
{
	int	before = nrows, i;

	/* Results wait for the commit of what they report (checkpoints). */
	for (i = 0; i < 2000; i++) {
		fx_flush();
		if (!store_uncommitted())
			break;
		usleep(1000);
	}
	command_check(0);
	store_outbox_fetch(seen, store_outbox_last_id(), NROWS, row_cb, NULL);
	return (nrows - before);
}

/* Send a command with a string payload. */
static void
cmd_send(const char *topic, const char *payload)
{
	command_handle(topic, payload, strlen(payload));
}

/* The one new result: its topic must be want; returns its JSON. */
static cJSON *
one_result(const char *want)
{
	cJSON	*o;

	ck_assert_int_eq(new_rows(), 1);
	ck_assert_str_eq(rows[nrows - 1].topic, want);
	o = cJSON_Parse(rows[nrows - 1].payload);
	ck_assert_ptr_nonnull(o);
	return (o);
}

/* The JSON string member of o, or "" if absent. */
static const char *
str(const cJSON *o, const char *k)
{
	const cJSON	*v = cJSON_GetObjectItemCaseSensitive(o, k);

	return (cJSON_IsString(v) ? v->valuestring : "");
}

/* Is o's "ok" true? */
static int
ok(const cJSON *o)
{
	return (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "ok")));
}

/* Forget the fakes' calls and the rows read (for CK_FORK=no runs). */
static void
reset(void)
{
	memset(&fake, 0, sizeof fake);
	while (nrows > 0)
		free(rows[--nrows].payload);
	seen = 0;
}

/* Store, then commands, on a fresh loop (command_max 1K). */
static void
start(void)
{
	char	*cause = NULL;

	reset();
	fx_setup("[mqtt]\ncommands = on\ncommand_max = 1K\n");
	fx_start();
	fx_turn();
	if (command_start(fx_cf, &cause) != 0)
		ck_abort_msg("command_start: %s", cause);
}

/* Stop commands and the store; remove the files. */
static void
stop(void)
{
	command_stop();
	fx_stop();
	fx_teardown();
}

/* One malformed command and how it must be answered. */
struct bad {
	const char	*topic;
	const char	*payload;	/* NULL: the over-limit marker */
	const char	*id;		/* results/ID, or _invalid */
	const char	*error;		/* a part of the error text */
};

static const struct bad bad[] = {
	/* The payload's JSON. */
	{ "cmd/reload", "{\"id\":\"a\"", "_invalid", "bad JSON" },
	{ "cmd/reload", "", "_invalid", "empty payload" },
	{ "cmd/reload", "[1,2]", "_invalid", "JSON object" },
	{ "cmd/reload", "\"id\"", "_invalid", "JSON object" },
	{ "cmd/reload", "{\"id\":\"a\"} x", "_invalid", "after the object" },
	{ "cmd/config/n*", "{} {}", "_invalid", "after the object" },
	/* The id. */
	{ "cmd/reload", "{}", "_invalid", "missing \"id\"" },
	{ "cmd/reload", "{\"id\":\"\"}", "_invalid", "bad \"id\"" },
	{ "cmd/reload", "{\"id\":7}", "_invalid", "bad \"id\"" },
	{ "cmd/reload", "{\"id\":null}", "_invalid", "bad \"id\"" },
	{ "cmd/reload", "{\"id\":\"a/b\"}", "_invalid", "bad \"id\"" },
	{ "cmd/reload", "{\"id\":\"a b\"}", "_invalid", "bad \"id\"" },
	{ "cmd/reload", "{\"id\":\"a#\"}", "_invalid", "bad \"id\"" },
	{ "cmd/reload", "{\"id\":\"\\u00e9\"}", "_invalid", "bad \"id\"" },
	{ "cmd/reload", "{\"id\":\"x12345678901234567890123456789012345678901"
	    "23456789012345678901234\"}", "_invalid", "bad \"id\"" },
	{ "cmd/config/n*", "{\"id\":[\"a\"],\"set\":{}}", "_invalid",
	    "bad \"id\"" },
	/* Verbs and path segments. */
	{ "cmd/frobnicate", "{\"id\":\"u1\"}", "u1", "unknown command" },
	{ "cmd/", "{\"id\":\"u2\"}", "u2", "unknown command" },
	{ "cmd/Reload", "{\"id\":\"u3\"}", "u3", "unknown command" },
	{ "cmd/frobnicate", "nonsense", "_invalid", "unknown command" },
	{ "cmd/reload/now", "{\"id\":\"s1\"}", "s1", "want cmd/reload" },
	{ "cmd/config/a/b", "{\"id\":\"s2\",\"set\":{}}", "s2",
	    "want cmd/config/GLOB" },
	{ "cmd/model/m", "x", "_invalid", "want cmd/model/NAME/VERSION" },
	{ "cmd/model/m/1/2", "x", "_invalid", "NAME/VERSION" },
	{ "cmd/tier2/a/b", "x", "_invalid", "want cmd/tier2/SECTION" },
	{ "cmd/tier2", "x", "_invalid", "want cmd/tier2/SECTION" },
	/* Names, versions, globs. */
	{ "cmd/model/a b/1", "x", "_invalid", "bad model name" },
	{ "cmd/model//1", "x", "_invalid", "bad model name" },
	{ "cmd/model/m/", "x", "_invalid", "bad model version" },
	{ "cmd/model/m/123456789012345678901234567890123", "x", "_invalid",
	    "bad model version" },
	{ "cmd/tier2/s+", "x", "_invalid", "bad section" },
	{ "cmd/model/m/1", "", "model:m:1", "empty payload" },
	{ "cmd/config/", "{\"id\":\"g1\",\"set\":{}}", "g1", "empty glob" },
	{ "cmd/config", "{\"id\":\"g2\",\"set\":{}}", "g2", "empty glob" },
	{ "cmd/config/a\x01", "{\"id\":\"g3\",\"set\":{}}", "g3",
	    "bad glob" },
	{ "cmd/config/a b", "{\"id\":\"g4\",\"set\":{}}", "g4",
	    "bad glob" },
	{ "cmd/config/n+", "{\"id\":\"g5\",\"set\":{}}", "g5",
	    "bad glob" },
	{ "cmd/config/n\xc3\xa9", "{\"id\":\"g6\",\"set\":{}}", "g6",
	    "bad glob" },
	/* "set" and the other keys. */
	{ "cmd/config/n*", "{\"id\":\"t1\"}", "t1", "missing \"set\"" },
	{ "cmd/config/n*", "{\"id\":\"t2\",\"set\":[]}", "t2",
	    "must be a JSON object" },
	{ "cmd/config/n*", "{\"id\":\"t3\",\"set\":null}", "t3",
	    "must be a JSON object" },
	{ "cmd/config/n*", "{\"id\":\"t4\",\"set\":\"x\"}", "t4",
	    "must be a JSON object" },
	{ "cmd/config/n*", "{\"id\":\"t5\",\"set\":{},\"x\":1}", "t5",
	    "unknown key \"x\"" },
	{ "cmd/reload", "{\"id\":\"t6\",\"set\":{}}", "t6",
	    "unknown key \"set\"" },
	{ "cmd/reload", "{\"id\":\"t7\",\"id\":\"t8\"}", "t7",
	    "given twice" },
	{ "cmd/config/n*", "{\"id\":\"t9\",\"set\":{},\"\\n\":1}", "t9",
	    "unknown key \"?\"" },
	/* Over command_max (1K): the uplink's marker, or the bytes. */
	{ "cmd/model/m/2", NULL, "model:m:2", "too large (command_max 1024)" },
	{ "cmd/tier2/s", NULL, "_invalid", "too large (command_max 1024)" },
	{ "cmd/reload", NULL, "_invalid", "too large (command_max 1024)" },
	{ "cmd/config/n*", NULL, "_invalid", "too large" },
};

/* Every malformed command: ok:false, its error, nothing run. */
START_TEST(test_malformed)
{
	static char		 big[2048];
	const struct bad	*b;
	char			 want[200], glob[400];
	cJSON			*o;
	size_t			 i;

	start();
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		b = &bad[i];
		if (b->payload == NULL)
			command_handle(b->topic, NULL,
			    UPLINK_MSG_TOO_LARGE);
		else
			cmd_send(b->topic, b->payload);
		snprintf(want, sizeof want, "results/%s", b->id);
		o = one_result(want);
		ck_assert_msg(!ok(o), "case %zu ok", i);
		ck_assert_msg(strstr(str(o, "error"), b->error) != NULL,
		    "case %zu: error \"%s\", want \"%s\"", i, str(o, "error"),
		    b->error);
		ck_assert_str_eq(str(o, "id"), b->id);
		snprintf(want, sizeof want, "te/gw/%s", b->topic);
		if (strcmp(b->id, "_invalid") == 0)
			ck_assert_str_eq(str(o, "topic"), want);
		else
			ck_assert_ptr_null(cJSON_GetObjectItem(o, "topic"));
		cJSON_Delete(o);
	}
	/* A glob over the bound, bytes over the limit (not the marker). */
	memset(glob, 'n', sizeof glob);
	memcpy(glob, "cmd/config/", 11);
	glob[4 + 7 + COMMAND_GLOB_MAX + 1] = '\0';
	cmd_send(glob, "{\"id\":\"h1\",\"set\":{}}");
	o = one_result("results/h1");
	ck_assert_ptr_nonnull(strstr(str(o, "error"), "glob longer"));
	cJSON_Delete(o);
	glob[4 + 7 + COMMAND_GLOB_MAX] = '\0';
	cmd_send(glob, "{\"id\":\"h2\",\"set\":{}}");
	o = one_result("results/h2");
	ck_assert(ok(o));
	cJSON_Delete(o);
	memset(big, 'm', sizeof big);
	command_handle("cmd/model/m/1.0", big, 1025);
	o = one_result("results/model:m:1.0");
	ck_assert_str_eq(str(o, "error"), "too large (command_max 1024)");
	cJSON_Delete(o);
	/* Nothing ran but the one good config. */
	ck_assert_int_eq(fake.patches, 1);
	ck_assert_int_eq(fake.puts + fake.replaces + fake.reloads, 0);
	ck_assert_int_eq(fake.now, 0);
	stop();
}
END_TEST

/* config and reload run once; a repeated id gets the same result. */
START_TEST(test_config_reload_once)
{
	char	*first;
	cJSON	*o, *n;

	start();
	cmd_send("cmd/config/n*", C1);
	o = one_result("results/c1");
	ck_assert(ok(o));
	ck_assert_str_eq(fake.glob, "n*");
	n = cJSON_GetObjectItem(o, "nodes");
	ck_assert_int_eq(cJSON_GetArraySize(n), 2);
	ck_assert_str_eq(str(cJSON_GetArrayItem(n, 1), "node"), "n2");
	cJSON_Delete(o);
	first = xstrdup(rows[nrows - 1].payload);
	/* Again (a redelivery): the same bytes, not run. */
	cmd_send("cmd/config/n*", C1);
	ck_assert_int_eq(new_rows(), 1);
	ck_assert_str_eq(rows[nrows - 1].payload, first);
	/* The same id on another command: still the stored result. */
	cmd_send("cmd/reload", "{\"id\":\"c1\"}");
	ck_assert_int_eq(new_rows(), 1);
	ck_assert_str_eq(rows[nrows - 1].payload, first);
	ck_assert_int_eq(fake.patches, 1);
	ck_assert_int_eq(fake.reloads, 0);
	free(first);
	/* Every glob character the INI allows. */
	cmd_send("cmd/config/[!n]^-_.?*", "{\"id\":\"c3\",\"set\":{}}");
	o = one_result("results/c3");
	ck_assert(ok(o));
	ck_assert_str_eq(fake.glob, "[!n]^-_.?*");
	cJSON_Delete(o);
	/* A failing patch is a result too, kept like the others. */
	cmd_send("cmd/config/fail*", "{\"id\":\"c2\",\"set\":{}}");
	o = one_result("results/c2");
	ck_assert_str_eq(str(o, "error"), "patch refused");
	cJSON_Delete(o);
	/* Reload: ok, and its errors when it fails. */
	cmd_send("cmd/reload", "{\"id\":\"r1\"}");
	o = one_result("results/r1");
	ck_assert(ok(o));
	cJSON_Delete(o);
	fake.reload_fails = 1;
	cmd_send("cmd/reload", "{\"id\":\"r2\"}");
	o = one_result("results/r2");
	ck_assert(!ok(o));
	ck_assert_str_eq(str(o, "error"), "c.ini:3: unknown key");
	cJSON_Delete(o);
	cmd_send("cmd/reload", "{\"id\":\"r2\"}");
	ck_assert_int_eq(new_rows(), 1);
	ck_assert_int_eq(fake.reloads, 2);
	ck_assert_int_eq(fake.patches, 3);
	/* Invalid ones are not kept: each gets its own answer again. */
	cmd_send("cmd/reload", "{}");
	cmd_send("cmd/reload", "{}");
	ck_assert_int_eq(new_rows(), 2);
	stop();
}
END_TEST

/* model and tier2 answer later; not started twice while running. */
START_TEST(test_async_once)
{
	static const char	 bytes[] = "tflite bytes";
	char			 sha[65], want[128];
	struct models_info	 mi;
	cJSON			*o;

	start();
	cmd_send("cmd/model/m/1.0", "model bytes");
	ck_assert_int_eq(fake.puts, 1);
	ck_assert_int_eq(fake.len, 11);
	ck_assert_int_eq(new_rows(), 0);
	/* Redelivered while it runs: no second run, no result yet. */
	cmd_send("cmd/model/m/1.0", "model bytes");
	ck_assert_int_eq(fake.puts, 1);
	ck_assert_int_eq(new_rows(), 0);
	memset(&mi, 0, sizeof mi);
	snprintf(mi.sha256, sizeof mi.sha256, "%064d", 7);
	mi.size = 11;
	fake.put_cb(1, &mi, NULL, fake.arg);
	o = one_result("results/model:m:1.0");
	ck_assert(ok(o));
	ck_assert_str_eq(str(o, "sha256"), mi.sha256);
	ck_assert_int_eq(cJSON_GetObjectItem(o, "size")->valueint, 11);
	cJSON_Delete(o);
	/* Done: the kept result again, not run again. */
	cmd_send("cmd/model/m/1.0", "model bytes");
	ck_assert_int_eq(new_rows(), 1);
	ck_assert_int_eq(fake.puts, 1);
	/* tier2: the id carries 16 hex of the file's sha256. */
	models_sha256(bytes, sizeof bytes - 1, sha);
	snprintf(want, sizeof want, "results/tier2:s1:%.16s", sha);
	cmd_send("cmd/tier2/s1", bytes);
	ck_assert_int_eq(fake.replaces, 1);
	cmd_send("cmd/tier2/s1", bytes);
	ck_assert_int_eq(fake.replaces, 1);
	ck_assert_int_eq(new_rows(), 0);
	fake.replace_cb(0, "labels differ", fake.arg);
	o = one_result(want);
	ck_assert(!ok(o));
	ck_assert_str_eq(str(o, "error"), "labels differ");
	cJSON_Delete(o);
	/* A failure at once is answered at once. */
	cmd_send("cmd/tier2/bad", bytes);
	snprintf(want, sizeof want, "results/tier2:bad:%.16s", sha);
	o = one_result(want);
	ck_assert_str_eq(str(o, "error"), "no section bad");
	cJSON_Delete(o);
	/* Stopped while running: a late callback finds nothing to answer. */
	cmd_send("cmd/tier2/s2", bytes);
	ck_assert_int_eq(fake.replaces, 3);
	command_stop();
	fake.replace_cb(1, NULL, fake.arg);
	ck_assert_int_eq(new_rows(), 0);
	fx_stop();
	fx_teardown();
}
END_TEST

/* At most COMMAND_RUNNING_MAX runs at once; the next is told, not kept. */
START_TEST(test_running_bound)
{
	char	 topic[32];
	cJSON	*o;
	int	 i;

	start();
	for (i = 0; i < COMMAND_RUNNING_MAX; i++) {
		snprintf(topic, sizeof topic, "cmd/tier2/s%d", i);
		cmd_send(topic, "bytes");
	}
	ck_assert_int_eq(fake.replaces, COMMAND_RUNNING_MAX);
	ck_assert_int_eq(new_rows(), 0);
	cmd_send("cmd/tier2/late", "bytes");
	ck_assert_int_eq(fake.replaces, COMMAND_RUNNING_MAX);
	ck_assert_int_eq(new_rows(), 1);
	ck_assert_ptr_nonnull(strstr(rows[nrows - 1].topic,
	    "results/tier2:late:"));
	o = cJSON_Parse(rows[nrows - 1].payload);
	ck_assert_ptr_nonnull(strstr(str(o, "error"), "busy"));
	cJSON_Delete(o);
	/* One ends: the late one, sent again, runs (busy was not kept). */
	fake.replace_cb(1, NULL, fake.arg);
	ck_assert_int_eq(new_rows(), 1);
	cmd_send("cmd/tier2/late", "bytes");
	ck_assert_int_eq(fake.replaces, COMMAND_RUNNING_MAX + 1);
	ck_assert_int_eq(new_rows(), 0);
	stop();
}
END_TEST

/* Dropped in a burst (the uplink's marker): "busy", not kept, not run. */
START_TEST(test_dropped_marker)
{
	cJSON	*o;

	start();
	command_handle("cmd/model/m/1.0", NULL, UPLINK_MSG_DROPPED);
	o = one_result("results/model:m:1.0");
	ck_assert_ptr_nonnull(strstr(str(o, "error"), "busy"));
	cJSON_Delete(o);
	command_handle("cmd/reload", NULL, UPLINK_MSG_DROPPED);
	o = one_result("results/_invalid");
	ck_assert_ptr_nonnull(strstr(str(o, "error"), "busy"));
	ck_assert_str_eq(str(o, "topic"), "te/gw/cmd/reload");
	cJSON_Delete(o);
	ck_assert_int_eq(fake.puts + fake.reloads, 0);
	/* Sent again with its bytes: it runs. */
	cmd_send("cmd/model/m/1.0", "model bytes");
	ck_assert_int_eq(fake.puts, 1);
	stop();
}
END_TEST

/* Only the last COMMAND_KEEP results are kept, across a restart too. */
START_TEST(test_keep_bound)
{
	char	 id[32], payload[64], *cause = NULL;
	int	 i;

	start();
	for (i = 0; i < COMMAND_KEEP + 5; i++) {
		snprintf(payload, sizeof payload, "{\"id\":\"k%d\"}", i);
		cmd_send("cmd/reload", payload);
	}
	ck_assert_int_eq(new_rows(), COMMAND_KEEP + 5);
	ck_assert_int_eq(fake.reloads, COMMAND_KEEP + 5);
	fx_flush();
	ck_assert_int_eq(fx_count_sql("SELECT count(*) FROM state WHERE "
	    "key LIKE 'cmd/r/%'"), COMMAND_KEEP);
	ck_assert_int_eq(fx_count_sql("SELECT count(*) FROM state WHERE "
	    "key LIKE 'cmd/o/%'"), COMMAND_KEEP);
	ck_assert_int_eq(fx_count_sql("SELECT count(*) FROM state WHERE "
	    "key IN ('cmd/r/k0', 'cmd/r/k4')"), 0);
	/* After a restart the same ids are known, in the same order. */
	command_stop();
	fx_restart();
	if (command_start(fx_cf, &cause) != 0)
		ck_abort_msg("command_start: %s", cause);
	seen = store_outbox_last_id();
	cmd_send("cmd/reload", "{\"id\":\"k5\"}");
	cmd_send("cmd/reload", "{\"id\":\"k1004\"}");
	ck_assert_int_eq(new_rows(), 2);
	ck_assert_int_eq(fake.reloads, COMMAND_KEEP + 5);
	/*
	 * A forgotten id runs again and pushes out the oldest kept (k5),
	 * which then runs again too (pushing out k6); k7 is still kept.
	 */
	cmd_send("cmd/reload", "{\"id\":\"k0\"}");
	ck_assert_int_eq(fake.reloads, COMMAND_KEEP + 6);
	cmd_send("cmd/reload", "{\"id\":\"k5\"}");
	ck_assert_int_eq(fake.reloads, COMMAND_KEEP + 7);
	for (i = 7; i < 10; i++) {
		snprintf(id, sizeof id, "k%d", i);
		snprintf(payload, sizeof payload, "{\"id\":\"%s\"}", id);
		cmd_send("cmd/reload", payload);
	}
	ck_assert_int_eq(fake.reloads, COMMAND_KEEP + 7);
	cmd_send("cmd/reload", "{\"id\":\"k6\"}");
	ck_assert_int_eq(fake.reloads, COMMAND_KEEP + 8);
	fx_flush();
	ck_assert_int_eq(fx_count_sql("SELECT count(*) FROM state WHERE "
	    "key LIKE 'cmd/r/%'"), COMMAND_KEEP);
	stop();
}
END_TEST

/* While the store refuses writes: answered directly, nothing changes. */
START_TEST(test_store_refusing)
{
	char	*cause = NULL;
	pid_t	 pid;
	int	 status;

	reset();
	fx_setup("[mqtt]\ncommands = on\ncommand_max = 1K\n");
	/* A child journals a reading and dies before SQLite has it. */
	pid = fork();
	ck_assert_int_ne(pid, -1);
	if (pid == 0) {
		fx_start();
		fx_turn();
		if (fx_put_msg("n1", 1, 1, STORE_KIND_INFERENCE, 40) ==
		    STORE_REFUSED)
			_exit(3);
		raise(SIGKILL);
		_exit(4);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFSIGNALED(status));
	/* Until its first turn replays the journal, the store refuses. */
	fx_start();
	ck_assert_int_eq(store_accepting(), 0);
	if (command_start(fx_cf, &cause) != 0)
		ck_abort_msg("command_start: %s", cause);
	cmd_send("cmd/config/n*", "{\"id\":\"f1\",\"set\":{}}");
	ck_assert_int_eq(fake.now, 1);
	ck_assert_str_eq(fake.now_topic, "te/gw/results/f1");
	ck_assert_ptr_nonnull(strstr(fake.now_payload,
	    "\"error\":\"store refuses writes\""));
	cmd_send("cmd/reload", "nonsense");
	ck_assert_int_eq(fake.now, 2);
	ck_assert_str_eq(fake.now_topic, "te/gw/results/_invalid");
	ck_assert_int_eq(fake.patches + fake.reloads, 0);
	/* Once it takes writes again, the same id runs (nothing was kept). */
	fx_wait_accepting();
	ck_assert_int_eq(new_rows(), 0);
	cmd_send("cmd/config/n*", "{\"id\":\"f1\",\"set\":{}}");
	ck_assert_int_eq(fake.patches, 1);
	ck_assert_int_eq(new_rows(), 1);
	ck_assert_int_eq(fake.now, 2);
	stop();
}
END_TEST

int
main(void)
{
	struct testutil_case	cases[] = {
		{ test_malformed, 0 },
		{ test_config_reload_once, 0 },
		{ test_async_once, 0 },
		{ test_keep_bound, 0 },
		{ test_running_bound, 0 },
		{ test_dropped_marker, 0 },
		{ test_store_refusing, 0 },
	};

	return (testutil_run("command", 60, cases,
	    sizeof cases / sizeof cases[0]));
}
