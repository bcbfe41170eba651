/*
 * test_nodes.c - unit tests of the node registry's limits (findings 1 and
 * 5 of the hostile-nodes issue): a heartbeat replaces the previous fields,
 * message.c caps a heartbeat's fields and bytes, max_nodes forgets the
 * node offline the longest (and refuses when all are online), clears wait
 * while the uplink is down, new ids are rate-limited per source by a token
 * bucket that refills, the table of sources is bounded, DTLS identities
 * are exempt, and SIGHUP changes the limits.  The uplink is not started
 * and nothing flushes the changed set, so every status clear is left
 * pending, which is what is counted; test_changed_set flushes it into a
 * recorder, as the monitor does into the uplink.  test_config_pending
 * gives the registry a table of revs in place of control.c's.
 */
#include <check.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cJSON.h>

#include "config.h"
#include "daemon.h"
#include "message.h"
#include "nodes.h"
#include "testutil.h"

static char		 dir[64];
static struct config	*cf;

/* Load a config with the given [gateway] lines into *out. */
static void
load(const char *lines, struct config **out)
{
	char	 path[128], *cause = NULL;
	FILE	*f;

	snprintf(path, sizeof path, "%s/c.ini", dir);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fprintf(f, "[gateway]\nid = gw-unit\ndata_dir = %s\n%s\n", dir, lines);
	fclose(f);
	if (config_load(path, out, &cause) != 0)
		ck_abort_msg("config: %s", cause);
}

/* A temp dir, a config with these [gateway] lines, a started registry. */
static void
start(const char *lines)
{
	char	*cause = NULL;

	snprintf(dir, sizeof dir, "/tmp/te-nodes.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	load(lines, &cf);
	if (nodes_start(cf, &cause) != 0)
		ck_abort_msg("nodes_start: %s", cause);
}

/* Stop the registry, free the config, remove the dir. */
static void
stop(void)
{
	char	cmd[128];

	nodes_stop();
	config_free(cf);
	cf = NULL;
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	ck_assert_int_eq(system(cmd), 0);
}

/* Admit and store one message of node from source at now. */
static enum nodes_admit
arrive(const char *node, const char *source, int auth, uint64_t now)
{
	enum nodes_admit	a = nodes_admit(node, source, auth, now);

	if (a == NODES_ADMIT_OK)
		nodes_seen(node, now, NULL);
	return (a);
}

/* Is node known (has a status)? */
static int
known(const char *node)
{
	char	*s = nodes_status(node);

	free(s);
	return (s != NULL);
}

/* The registry's counters. */
static struct nodes_stats
stats(void)
{
	struct nodes_stats	st;

	nodes_stats(&st);
	return (st);
}

/* Send node a heartbeat given as JSON text. */
static void
heartbeat(const char *node, const char *json, uint64_t now)
{
	cJSON	*hb = cJSON_Parse(json);

	ck_assert_ptr_nonnull(hb);
	nodes_seen(node, now, hb);
	cJSON_Delete(hb);
}

/* A node's status as parsed JSON (caller deletes). */
static cJSON *
status(const char *node)
{
	char	*s = nodes_status(node);
	cJSON	*o;

	ck_assert_ptr_nonnull(s);
	o = cJSON_Parse(s);
	free(s);
	ck_assert_ptr_nonnull(o);
	return (o);
}

START_TEST(test_heartbeat_replaces)
{
	uint64_t	 now = daemon_now_ms();
	cJSON		*o;
	char		 json[1024], *s;
	int		 i, j, n;

	start("");
	heartbeat("n1", "{\"battery_mv\":3700,\"fw\":\"1.0\",\"seq\":3}", now);
	heartbeat("n1", "{\"rssi\":-70,\"ts\":5}", now);
	o = status("n1");
	ck_assert_ptr_null(cJSON_GetObjectItem(o, "battery_mv"));
	ck_assert_ptr_null(cJSON_GetObjectItem(o, "fw"));
	ck_assert_ptr_null(cJSON_GetObjectItem(o, "ts"));
	ck_assert_int_eq(cJSON_GetObjectItem(o, "rssi")->valueint, -70);
	ck_assert_str_eq(cJSON_GetObjectItem(o, "state")->valuestring,
	    "online");
	cJSON_Delete(o);

	/* Repeated names kept once (the first); ours cannot be forged. */
	heartbeat("n1", "{\"a\":1,\"b\":2,\"a\":3,\"state\":\"bogus\","
	    "\"last_seen\":1,\"id\":\"x\",\"b\":4}", now);
	s = nodes_status("n1");
	ck_assert_ptr_nonnull(s);
	ck_assert_ptr_nonnull(strstr(s, "\"state\":\"online\""));
	ck_assert_ptr_nonnull(strstr(s, "\"a\":1,\"b\":2}"));
	ck_assert_ptr_null(strstr(s, "bogus"));
	ck_assert_ptr_null(strstr(s, "\"a\":3"));
	free(s);

	/* 500 heartbeats of 32 new keys each: the status stays one's size. */
	for (i = 0; i < 500; i++) {
		n = snprintf(json, sizeof json, "{");
		for (j = 0; j < 32; j++)
			n += snprintf(json + n, sizeof json - n,
			    "%s\"k%d_%d\":%d", j ? "," : "", i, j, j);
		snprintf(json + n, sizeof json - n, "}");
		heartbeat("n1", json, now);
	}
	o = status("n1");
	ck_assert_int_eq(cJSON_GetArraySize(o), 3 + 32);
	ck_assert_ptr_nonnull(cJSON_GetObjectItem(o, "k499_31"));
	ck_assert_ptr_null(cJSON_GetObjectItem(o, "k498_31"));
	cJSON_Delete(o);

	/* A non-heartbeat message leaves the fields alone. */
	nodes_seen("n1", now, NULL);
	o = status("n1");
	ck_assert_int_eq(cJSON_GetArraySize(o), 3 + 32);
	cJSON_Delete(o);
	stop();
}
END_TEST

/* Parse a heartbeat body for n1; returns the rc, *cause set on error. */
static int
parse_hb(const char *body, char **cause)
{
	struct message	*m = NULL;
	int		 rc;

	*cause = NULL;
	rc = message_parse_json(MESSAGE_HEARTBEAT, "n1", body, strlen(body),
	    &m, cause);
	message_free(m);
	return (rc);
}

/* A heartbeat of n numeric fields k0..k{n-1}, into buf. */
static void
hb_fields(char *buf, size_t len, int n, const char *head)
{
	size_t	off;
	int	i;

	off = (size_t)snprintf(buf, len, "{%s", head);
	for (i = 0; i < n; i++)
		off += (size_t)snprintf(buf + off, len - off, "%s\"k%d\":%d",
		    i || *head ? "," : "", i, i);
	snprintf(buf + off, len - off, "}");
}

START_TEST(test_heartbeat_caps)
{
	static char	 buf[65536];
	struct message	*m = NULL;
	char		*cause;
	int		 i, n;

	hb_fields(buf, sizeof buf, MESSAGE_HEARTBEAT_FIELDS_MAX, "");
	ck_assert_int_eq(parse_hb(buf, &cause), 0);
	hb_fields(buf, sizeof buf, MESSAGE_HEARTBEAT_FIELDS_MAX + 1, "");
	ck_assert_int_eq(parse_hb(buf, &cause), -1);
	ck_assert_str_eq(cause, "heartbeat: more than 32 fields");
	free(cause);
	hb_fields(buf, sizeof buf, 30000 / 12, "");
	ck_assert_int_eq(parse_hb(buf, &cause), -1);
	free(cause);

	/* Bytes: one long string just at the cap, one just over it. */
	snprintf(buf, sizeof buf, "{\"note\":\"%0*d\"}", 2037, 0);
	ck_assert_int_eq(parse_hb(buf, &cause), 0);
	snprintf(buf, sizeof buf, "{\"note\":\"%0*d\"}", 2038, 0);
	ck_assert_int_eq(parse_hb(buf, &cause), -1);
	ck_assert_str_eq(cause, "heartbeat: 2049 bytes, more than 2048");
	free(cause);
	/* One field holding a big nested value counts by its bytes. */
	n = snprintf(buf, sizeof buf, "{\"a\":{\"b\":[0");
	for (i = 0; i < 1100; i++)
		n += snprintf(buf + n, sizeof buf - n, ",0");
	snprintf(buf + n, sizeof buf - n, "]}}");
	ck_assert_int_eq(parse_hb(buf, &cause), -1);
	ck_assert_ptr_nonnull(strstr(cause, "more than 2048"));
	free(cause);
	/* Bytes are counted after compaction: whitespace is free. */
	snprintf(buf, sizeof buf, "{\"x\": %*d}", 5000, 1);
	ck_assert_int_eq(parse_hb(buf, &cause), 0);
	hb_fields(buf, sizeof buf, 31, "\"seq\":1");
	ck_assert_int_eq(parse_hb(buf, &cause), 0);

	/* A serial line: "node" and "type" are not fields. */
	hb_fields(buf, sizeof buf, MESSAGE_HEARTBEAT_FIELDS_MAX,
	    "\"node\":\"n1\",\"type\":\"heartbeat\"");
	ck_assert_int_eq(message_parse_line(buf, strlen(buf), NULL, &m,
	    &cause), 0);
	message_free(m);
	hb_fields(buf, sizeof buf, MESSAGE_HEARTBEAT_FIELDS_MAX + 1,
	    "\"node\":\"n1\",\"type\":\"heartbeat\"");
	ck_assert_int_eq(message_parse_line(buf, strlen(buf), NULL, &m,
	    &cause), -1);
	ck_assert_str_eq(cause, "heartbeat: more than 32 fields");
	free(cause);
	/* Other types are not held to the heartbeat caps. */
	hb_fields(buf, sizeof buf, 40, "\"seq\":1,\"model\":\"m\","
	    "\"label\":\"l\",\"score\":0.5");
	ck_assert_int_eq(message_parse_json(MESSAGE_INFERENCE, "n1", buf,
	    strlen(buf), &m, &cause), 0);
	message_free(m);
}
END_TEST

START_TEST(test_evict_longest_offline)
{
	uint64_t		now = daemon_now_ms();
	struct nodes_stats	st;
	uint64_t		k, on;

	start("node_timeout = 1s\nmax_nodes = 3\nnew_nodes_per_minute = 0");
	/* b went silent first, then a, then c (b spoke before a). */
	ck_assert_int_eq(arrive("b", "s", 0, now - 90000), NODES_ADMIT_OK);
	ck_assert_int_eq(arrive("a", "s", 0, now - 50000), NODES_ADMIT_OK);
	ck_assert_int_eq(arrive("c", "s", 0, now - 10000), NODES_ADMIT_OK);
	nodes_check(0);
	nodes_counts(&k, &on);
	ck_assert_uint_eq(k, 3);
	ck_assert_uint_eq(on, 0);

	ck_assert_int_eq(arrive("d", "s", 0, now), NODES_ADMIT_OK);
	ck_assert(!known("b") && known("a") && known("c") && known("d"));
	ck_assert_int_eq(arrive("e", "s", 0, now), NODES_ADMIT_OK);
	ck_assert(!known("a") && known("c"));
	ck_assert_int_eq(arrive("f", "s", 0, now), NODES_ADMIT_OK);
	ck_assert(!known("c"));
	st = stats();
	ck_assert_uint_eq(st.forgotten, 3);
	/* The uplink is down: three clears wait for a connect. */
	ck_assert_uint_eq(st.clears_pending, 3);

	/* Now d, e, f are online: a new id is refused, known ones are not. */
	ck_assert_int_eq(arrive("g", "s", 0, now), NODES_ADMIT_FULL);
	ck_assert(!known("g"));
	ck_assert_int_eq(arrive("d", "s", 0, now + 1), NODES_ADMIT_OK);
	ck_assert_uint_eq(stats().refused_full, 1);
	nodes_counts(&k, &on);
	ck_assert_uint_eq(k, 3);
	ck_assert_uint_eq(on, 3);
	stop();
}
END_TEST

START_TEST(test_evict_timed_out_unchecked)
{
	uint64_t	now = daemon_now_ms();

	/* Online but past node_timeout (the check did not run): evictable. */
	start("node_timeout = 1s\nmax_nodes = 2\nnew_nodes_per_minute = 0");
	ck_assert_int_eq(arrive("a", "s", 0, now - 5000), NODES_ADMIT_OK);
	ck_assert_int_eq(arrive("b", "s", 0, now - 100), NODES_ADMIT_OK);
	ck_assert_int_eq(arrive("c", "s", 0, now), NODES_ADMIT_OK);
	ck_assert(!known("a") && known("b") && known("c"));
	ck_assert_int_eq(arrive("d", "s", 0, now), NODES_ADMIT_FULL);
	stop();
}
END_TEST

START_TEST(test_forgotten_comes_back)
{
	uint64_t	now = daemon_now_ms();
	uint64_t	k, on;

	start("node_timeout = 1s\nmax_nodes = 1\nnew_nodes_per_minute = 0");
	ck_assert_int_eq(arrive("a", "s", 0, now - 5000), NODES_ADMIT_OK);
	nodes_check(0);
	ck_assert_int_eq(arrive("b", "s", 0, now - 4000), NODES_ADMIT_OK);
	ck_assert_uint_eq(stats().clears_pending, 1);
	nodes_check(0);
	/* a returns before its clear went: the clear is no longer needed. */
	ck_assert_int_eq(arrive("a", "s", 0, now), NODES_ADMIT_OK);
	ck_assert(known("a") && !known("b"));
	ck_assert_uint_eq(stats().clears_pending, 1);	/* b's now */
	nodes_counts(&k, &on);
	ck_assert_uint_eq(k, 1);
	ck_assert_uint_eq(on, 1);
	stop();
}
END_TEST

START_TEST(test_clears_bounded)
{
	uint64_t	t = daemon_now_ms() - 20000000;
	char		id[16];
	int		i;

	/* max_nodes 1: each new node forgets the last; the uplink is down. */
	start("node_timeout = 1s\nmax_nodes = 1\nnew_nodes_per_minute = 0");
	for (i = 0; i < 4100; i++) {
		snprintf(id, sizeof id, "n%d", i);
		ck_assert_int_eq(arrive(id, "s", 0, t + 2000 * (uint64_t)i),
		    NODES_ADMIT_OK);
	}
	ck_assert_uint_eq(stats().forgotten, 4099);
	ck_assert_uint_eq(stats().clears_pending, 4096);
	ck_assert_uint_eq(stats().clears_lost, 3);
	/* The oldest still waiting comes back while the list is full. */
	ck_assert_int_eq(arrive("n3", "s", 0, t + 2000 * 4100),
	    NODES_ADMIT_OK);
	ck_assert(known("n3") && !known("n4099"));
	ck_assert_uint_eq(stats().clears_pending, 4096);
	ck_assert_uint_eq(stats().clears_lost, 3);
	stop();
}
END_TEST

START_TEST(test_admitted_never_stored)
{
	uint64_t	now = daemon_now_ms();
	uint64_t	k, on;

	/* Admitted, then the store refused it: no status, dropped later. */
	start("node_timeout = 1s\nmax_nodes = 10\nnew_nodes_per_minute = 0");
	ck_assert_int_eq(nodes_admit("x", "s", 0, now - 5000), NODES_ADMIT_OK);
	nodes_check(0);
	nodes_counts(&k, &on);
	ck_assert_uint_eq(k, 0);
	ck_assert_uint_eq(on, 0);
	ck_assert_uint_eq(stats().clears_pending, 0);
	stop();
}
END_TEST

START_TEST(test_rate_bucket)
{
	uint64_t	t = daemon_now_ms();

	start("max_nodes = 1000\nnew_nodes_per_minute = 3");
	ck_assert_int_eq(arrive("n1", "10.0.0.1", 0, t), NODES_ADMIT_OK);
	ck_assert_int_eq(arrive("n2", "10.0.0.1", 0, t), NODES_ADMIT_OK);
	ck_assert_int_eq(arrive("n3", "10.0.0.1", 0, t), NODES_ADMIT_OK);
	ck_assert_int_eq(arrive("n4", "10.0.0.1", 0, t), NODES_ADMIT_RATE);
	ck_assert(!known("n4"));
	/* Known ids are not new: always in. */
	ck_assert_int_eq(arrive("n1", "10.0.0.1", 0, t), NODES_ADMIT_OK);
	/* Another source has its own bucket. */
	ck_assert_int_eq(arrive("m1", "10.0.0.2", 0, t), NODES_ADMIT_OK);
	/* 3 per minute: one token every 20 s. */
	ck_assert_int_eq(arrive("n4", "10.0.0.1", 0, t + 19000),
	    NODES_ADMIT_RATE);
	ck_assert_int_eq(arrive("n4", "10.0.0.1", 0, t + 20000),
	    NODES_ADMIT_OK);
	ck_assert_int_eq(arrive("n5", "10.0.0.1", 0, t + 20000),
	    NODES_ADMIT_RATE);
	/* A long pause refills to the burst, not beyond. */
	ck_assert_int_eq(arrive("p1", "10.0.0.1", 0, t + 3600000),
	    NODES_ADMIT_OK);
	ck_assert_int_eq(arrive("p2", "10.0.0.1", 0, t + 3600000),
	    NODES_ADMIT_OK);
	ck_assert_int_eq(arrive("p3", "10.0.0.1", 0, t + 3600000),
	    NODES_ADMIT_OK);
	ck_assert_int_eq(arrive("p4", "10.0.0.1", 0, t + 3600000),
	    NODES_ADMIT_RATE);
	ck_assert_uint_eq(stats().refused_rate, 4);
	stop();
}
END_TEST

START_TEST(test_rate_authenticated)
{
	uint64_t	t = daemon_now_ms();
	char		id[16];
	int		i;

	start("max_nodes = 1000\nnew_nodes_per_minute = 1");
	ck_assert_int_eq(arrive("a1", "10.0.0.1", 0, t), NODES_ADMIT_OK);
	ck_assert_int_eq(arrive("a2", "10.0.0.1", 0, t), NODES_ADMIT_RATE);
	/* A DTLS identity: not limited, however many. */
	for (i = 0; i < 20; i++) {
		snprintf(id, sizeof id, "d%d", i);
		ck_assert_int_eq(arrive(id, "10.0.0.1", 1, t),
		    NODES_ADMIT_OK);
	}
	ck_assert_uint_eq(stats().refused_rate, 1);
	stop();
}
END_TEST

START_TEST(test_rate_sources_bounded)
{
	uint64_t	t = daemon_now_ms();
	char		id[16], src[32];
	int		i;

	start("max_nodes = 10000\nnew_nodes_per_minute = 1");
	for (i = 0; i < 300; i++) {
		snprintf(id, sizeof id, "n%d", i);
		snprintf(src, sizeof src, "10.0.%d.%d", i / 256, i % 256);
		ck_assert_int_eq(arrive(id, src, 0, t + (uint64_t)i),
		    NODES_ADMIT_OK);
	}
	ck_assert_uint_eq(stats().sources, NODES_RATE_SOURCES);
	/* The most recent source is still tracked and empty... */
	ck_assert_int_eq(arrive("x1", "10.0.1.43", 0, t + 300),
	    NODES_ADMIT_RATE);
	/* ...the oldest was replaced, so it starts over with a full bucket. */
	ck_assert_int_eq(arrive("x2", "10.0.0.0", 0, t + 300), NODES_ADMIT_OK);
	ck_assert_uint_eq(stats().sources, NODES_RATE_SOURCES);
	stop();
}
END_TEST

START_TEST(test_rate_unlimited)
{
	uint64_t	t = daemon_now_ms();
	char		id[16];
	int		i;

	start("max_nodes = 1000\nnew_nodes_per_minute = 0");
	for (i = 0; i < 500; i++) {
		snprintf(id, sizeof id, "n%d", i);
		ck_assert_int_eq(arrive(id, "10.0.0.1", 0, t), NODES_ADMIT_OK);
	}
	ck_assert_uint_eq(stats().sources, 0);
	stop();
}
END_TEST

START_TEST(test_reload_limits)
{
	uint64_t		 t = daemon_now_ms();
	struct config		*cf2;
	uint64_t		 k, on;
	char			 id[16];
	int			 i;

	start("node_timeout = 1s\nmax_nodes = 10\nnew_nodes_per_minute = 0");
	for (i = 0; i < 10; i++) {
		snprintf(id, sizeof id, "n%d", i);
		ck_assert_int_eq(arrive(id, "s", 0, t - 60000 + i),
		    NODES_ADMIT_OK);
	}
	nodes_check(0);
	/* Lower max_nodes: the longest offline go at once. */
	load("node_timeout = 1s\nmax_nodes = 4\nnew_nodes_per_minute = 2",
	    &cf2);
	nodes_reload(cf2);
	nodes_counts(&k, &on);
	ck_assert_uint_eq(k, 4);
	ck_assert(!known("n5") && known("n6") && known("n9"));
	ck_assert_uint_eq(stats().forgotten, 6);
	/* And the new rate applies. */
	ck_assert_int_eq(arrive("r1", "s2", 0, t), NODES_ADMIT_OK);
	ck_assert_int_eq(arrive("r2", "s2", 0, t), NODES_ADMIT_OK);
	ck_assert_int_eq(arrive("r3", "s2", 0, t), NODES_ADMIT_RATE);
	config_free(cf2);
	stop();
}
END_TEST

/* The TE_TIME_SCALE factor of wall-clock bounds (1 unless set, >= 1). */
static double
time_scale(void)
{
	const char	*e = getenv("TE_TIME_SCALE");
	double		 f = e != NULL ? strtod(e, NULL) : 1;

	return (f >= 1 ? f : 1);
}

START_TEST(test_many_fields_fast)
{
	uint64_t	 now = daemon_now_ms();
	struct timespec	 a, b;
	cJSON		*hb;
	char		 name[16];
	double		 s;
	int		 i;

	/* nodes_seen itself (if fed past message.c) is not quadratic. */
	start("");
	hb = cJSON_CreateObject();
	for (i = 0; i < 30000; i++) {
		snprintf(name, sizeof name, "k%d", i);
		cJSON_AddNumberToObject(hb, name, i);
	}
	cJSON_AddNumberToObject(hb, "k7", 1);	/* one repeat */
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (i = 0; i < 5; i++) {
		cJSON_GetObjectItem(hb, "k0")->valuedouble = i;
		nodes_seen("n1", now, hb);
	}
	clock_gettime(CLOCK_MONOTONIC, &b);
	s = (double)(b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9;
	/*
	 * Quadratic (the old merge) took seconds per heartbeat here.  Under
	 * an emulator (scripts/qemu-test) TE_TIME_SCALE stretches the bound.
	 */
	ck_assert_msg(s < 2.0 * time_scale(), "5 heartbeats of 30000 fields "
	    "took %.2f s", s);
	cJSON_Delete(hb);
	hb = status("n1");
	ck_assert_int_eq(cJSON_GetArraySize(hb), 3 + 30000);
	ck_assert_int_eq(cJSON_GetObjectItem(hb, "k7")->valueint, 7);
	cJSON_Delete(hb);
	stop();
}
END_TEST

/* What the registry handed to the monitor: sends, and whether clears fail. */
static struct {
	int	 n;
	int	 fail_clears;
	char	 id[8][16];
	char	 body[8][512];	/* "" for a clear */
} sent;

/* nodes_send_cb that records, and fails clears when told to. */
static int
record(const char *id, const char *body)
{
	if (sent.n < 8) {
		snprintf(sent.id[sent.n], sizeof sent.id[0], "%s", id);
		snprintf(sent.body[sent.n], sizeof sent.body[0], "%s",
		    body != NULL ? body : "");
	}
	sent.n++;
	return (body == NULL && sent.fail_clears ? -1 : 0);
}

/* Flush the changed set into the recorder; the number of sends. */
static int
flush(int fail_clears)
{
	memset(&sent, 0, sizeof sent);
	sent.fail_clears = fail_clears;
	nodes_flush_changed(record);
	return (sent.n);
}

START_TEST(test_changed_set)
{
	uint64_t	now = daemon_now_ms();

	/* The registry publishes nothing; the monitor flushes its changes. */
	start("node_timeout = 1s\nmax_nodes = 1\nnew_nodes_per_minute = 0");
	ck_assert_int_eq(flush(0), 0);
	ck_assert_int_eq(arrive("a", "s", 0, now - 5000), NODES_ADMIT_OK);
	ck_assert_int_eq(flush(0), 1);
	ck_assert_str_eq(sent.id[0], "a");
	ck_assert_ptr_nonnull(strstr(sent.body[0], "\"state\":\"online\""));
	/* Sent once; another message without new fields is no change. */
	ck_assert_int_eq(flush(0), 0);
	nodes_seen("a", now - 4900, NULL);
	ck_assert_int_eq(flush(0), 0);
	nodes_check(0);
	ck_assert_int_eq(flush(0), 1);
	ck_assert_ptr_nonnull(strstr(sent.body[0], "\"state\":\"offline\""));
	/* b forgets a: a failed clear stays pending, b's status still goes. */
	ck_assert_int_eq(arrive("b", "s", 0, now - 4000), NODES_ADMIT_OK);
	ck_assert_int_eq(flush(1), 2);
	ck_assert_str_eq(sent.id[0], "a");
	ck_assert_str_eq(sent.body[0], "");
	ck_assert_str_eq(sent.id[1], "b");
	ck_assert_uint_eq(stats().clears_pending, 1);
	ck_assert_int_eq(flush(0), 1);
	ck_assert_str_eq(sent.id[0], "a");
	ck_assert_str_eq(sent.body[0], "");
	ck_assert_uint_eq(stats().clears_pending, 0);
	/* After a reconnect every known node goes again, and only those. */
	memset(&sent, 0, sizeof sent);
	nodes_flush_all(record);
	ck_assert_int_eq(sent.n, 1);
	ck_assert_str_eq(sent.id[0], "b");
	/* Admitted but never stored: nothing to send. */
	stop();
	start("node_timeout = 1s\nmax_nodes = 4\nnew_nodes_per_minute = 0");
	ck_assert_int_eq(nodes_admit("x", "s", 0, now), NODES_ADMIT_OK);
	ck_assert_int_eq(flush(0), 0);
	memset(&sent, 0, sizeof sent);
	nodes_flush_all(record);
	ck_assert_int_eq(sent.n, 0);
	stop();
}
END_TEST

/* The gateway's revs for test_config_pending, in place of control_rev. */
static struct {
	const char	*node;
	uint32_t	 rev;
} revs[2];

/* The rev in revs[] of node, 0 (no settings record) if none. */
static uint32_t
fake_rev(const char *node)
{
	size_t	i;

	for (i = 0; i < sizeof revs / sizeof revs[0]; i++)
		if (revs[i].node != NULL && strcmp(revs[i].node, node) == 0)
			return (revs[i].rev);
	return (0);
}

/* Has node's status "config_pending": true? */
static int
pending(const char *node)
{
	cJSON	*o = status(node);
	int	 p = cJSON_IsTrue(cJSON_GetObjectItem(o, "config_pending"));

	cJSON_Delete(o);
	return (p);
}

START_TEST(test_config_pending)
{
	uint64_t	now = daemon_now_ms();
	cJSON		*o;

	start("node_timeout = 1m\nmax_nodes = 8\nnew_nodes_per_minute = 0");
	nodes_set_rev(fake_rev);
	memset(revs, 0, sizeof revs);
	revs[0].node = "a";
	revs[0].rev = 5;
	ck_assert_int_eq(arrive("a", "s", 0, now), NODES_ADMIT_OK);
	ck_assert_int_eq(arrive("b", "s", 0, now), NODES_ADMIT_OK);
	(void)flush(0);
	/* No config_rev in the heartbeat: not a node that follows settings. */
	ck_assert_int_eq(pending("a"), 0);
	heartbeat("a", "{\"config_rev\":4,\"model\":\"m@1\","
	    "\"model_state\":\"downloading\",\"model_result\":\"\"}", now);
	ck_assert_int_eq(flush(0), 1);
	ck_assert_ptr_nonnull(strstr(sent.body[0], "\"config_pending\":true"));
	o = status("a");
	ck_assert_str_eq(cJSON_GetObjectItem(o, "model_state")->valuestring,
	    "downloading");
	ck_assert_int_eq(cJSON_GetObjectItem(o, "config_rev")->valueint, 4);
	cJSON_Delete(o);
	/* Caught up: the key goes. */
	heartbeat("a", "{\"config_rev\":5}", now);
	ck_assert_int_eq(flush(0), 1);
	ck_assert_ptr_null(strstr(sent.body[0], "config_pending"));
	/* The gateway's rev grows: republished once, pending. */
	revs[0].rev = 6;
	nodes_settings_changed("a");
	ck_assert_int_eq(flush(0), 1);
	ck_assert_str_eq(sent.id[0], "a");
	ck_assert_int_eq(pending("a"), 1);
	/* Already pending: another change sends nothing new. */
	revs[0].rev = 7;
	nodes_settings_changed("a");
	ck_assert_int_eq(flush(0), 0);
	/* No settings record (rev 0), a string rev, unknown nodes: never. */
	heartbeat("b", "{\"config_rev\":0}", now);
	ck_assert_int_eq(pending("b"), 0);
	nodes_settings_changed("b");
	nodes_settings_changed("nobody");
	ck_assert_int_eq(flush(0), 1);
	revs[1].node = "b";
	revs[1].rev = 2;
	heartbeat("b", "{\"config_rev\":\"1\"}", now);
	ck_assert_int_eq(pending("b"), 0);
	/* A node cannot set the key itself. */
	heartbeat("b", "{\"config_rev\":2,\"config_pending\":true}", now);
	ck_assert_int_eq(pending("b"), 0);
	heartbeat("b", "{\"config_rev\":1,\"config_pending\":false}", now);
	ck_assert_int_eq(pending("b"), 1);
	o = status("b");
	ck_assert_int_eq(cJSON_GetArraySize(o), 5);	/* id state last_seen */
	cJSON_Delete(o);
	nodes_set_rev(NULL);
	stop();
}
END_TEST


/* Run the suite. */
int
main(void)
{
	struct testutil_case	 cases[] = {
		{ test_heartbeat_replaces, 0 },
		{ test_heartbeat_caps, 0 },
		{ test_evict_longest_offline, 0 },
		{ test_evict_timed_out_unchecked, 0 },
		{ test_forgotten_comes_back, 0 },
		{ test_clears_bounded, 0 },
		{ test_admitted_never_stored, 0 },
		{ test_rate_bucket, 0 },
		{ test_rate_authenticated, 0 },
		{ test_rate_sources_bounded, 0 },
		{ test_rate_unlimited, 0 },
		{ test_reload_limits, 0 },
		{ test_many_fields_fast, 0 },
		{ test_changed_set, 0 },
		{ test_config_pending, 0 },
	};

	return (testutil_run("nodes", 30, cases,
	    sizeof cases / sizeof cases[0]));
}
