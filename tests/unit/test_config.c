/*
 * test_config.c - unit tests of the configuration table: defaults, every
 * value type, repeatable sections, derived keys, error collection with
 * FILE:LINE, config_diff for reload, [node:GLOB] sections (globs, typed
 * free keys, their bounds), and that every key in the table is
 * documented in conf/tinyedge.ini and the tinyedge.ini(5) man page.
 */
#include <sys/stat.h>
#include <netinet/in.h>

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "testutil.h"

static char	tmpdir[] = "/tmp/te-config.XXXXXX";
static int	tmpn;

/* Write text to a new temp file and return its path (static buffer). */
static const char *
write_tmp(const char *text)
{
	static char	 path[256];
	FILE		*f;

	snprintf(path, sizeof path, "%s/c%d.ini", tmpdir, tmpn++);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
	return (path);
}

/* Load text; expect success. */
static struct config *
load_ok(const char *text)
{
	struct config	*cf = NULL;
	char		*cause = NULL;

	if (config_load(write_tmp(text), &cf, &cause) != 0)
		ck_abort_msg("config rejected: %s", cause);
	return (cf);
}

/* Load text; expect failure and return the error text. */
static char *
load_bad(const char *text)
{
	struct config	*cf = NULL;
	char		*cause = NULL;

	ck_assert_int_eq(config_load(write_tmp(text), &cf, &cause), -1);
	ck_assert_ptr_null(cf);
	ck_assert_ptr_nonnull(cause);
	return (cause);
}

START_TEST(test_defaults)
{
	struct config	*cf = load_ok("[gateway]\nid = gw-01\n");
	char *const	*l;
	size_t		 n;

	ck_assert_str_eq(config_str(cf, "gateway", "id"), "gw-01");
	ck_assert_str_eq(config_str(cf, "gateway", "data_dir"),
	    "/var/lib/tinyedge");
	ck_assert_uint_eq(config_ms(cf, "gateway", "node_timeout"), 300000);
	ck_assert_uint_eq(config_bytes(cf, "store", "max_bytes"),
	    64 * 1024 * 1024);
	ck_assert_uint_eq(config_ms(cf, "store", "max_age"), 7 * 86400000ULL);
	ck_assert_int_eq(config_int(cf, "mqtt", "qos"), 1);
	ck_assert_int_eq(config_int(cf, "mqtt", "max_inflight"), 64);
	ck_assert_int_eq(config_bool(cf, "coap", "require_dtls"), 0);
	ck_assert_double_eq_tol(config_double(cf, "summary",
	    "event_min_score"), 0.8, 1e-12);
	ck_assert_str_eq(config_str(cf, "mqtt", "client_id"),
	    "tinyedge-gw-01");
	ck_assert_str_eq(config_str(cf, "mqtt", "topic_prefix"),
	    "tinyedge/gw-01");
	ck_assert_ptr_nonnull(config_addr(cf, "coap", "listen"));
	ck_assert_ptr_null(config_addr(cf, "coap", "dtls_listen"));
	l = config_list(cf, "summary", "ignore_labels", &n);
	ck_assert_uint_eq(n, 4);
	ck_assert_str_eq(l[0], "_silence_");
	ck_assert_str_eq(l[3], "idle");
	config_sections(cf, "serial", &n);
	ck_assert_uint_eq(n, 0);
	config_free(cf);
}
END_TEST

START_TEST(test_all_types)
{
	struct config		*cf;
	const struct sockaddr	*sa;
	const char *const	*names;
	char *const		*l;
	char			 text[2048], psk[64];
	size_t			 n;

	/* psk_file must name a file we can read. */
	snprintf(psk, sizeof psk, "%s/psk", tmpdir);
	fclose(fopen(psk, "w"));
	snprintf(text, sizeof text,
	    "; comment\n"
	    "# another\n"
	    "[gateway]\n"
	    "  id = gw_2 ; inline comment\n"
	    "node_timeout = 90s\n"
	    "log_level = debug\n"
	    "[coap]\n"
	    "listen = [::]:5699\n"
	    "dtls_listen = 127.0.0.1:5684\n"
	    "psk_file = %s\n"
	    "require_dtls = yes\n"
	    "max_body = 128K\n"
	    "[ serial:usb0 ]\n"
	    "device = /dev/ttyACM0\n"
	    "framing = cobs\n"
	    "baud = 921600\n"
	    "node = n.1\n"
	    "[serial:ble]\n"
	    "device = /dev/rfcomm0\n"
	    "[mqtt]\n"
	    "uri = ssl://broker.example:8883\n"
	    "topic_prefix = site/a\n"
	    "client_id = me\n"
	    "qos = 0\n"
	    "[summary]\n"
	    "ignore_labels = a,b\n"
	    "debounce = 0\n"
	    "[tier2:kws]\n"
	    "model = /m.tflite\n"
	    "threshold = 0.5\n"
	    "when = always\n", psk);
	cf = load_ok(text);
	ck_assert_str_eq(config_str(cf, "gateway", "id"), "gw_2");
	ck_assert_uint_eq(config_ms(cf, "gateway", "node_timeout"), 90000);
	sa = config_addr(cf, "coap", "listen");
	ck_assert_ptr_nonnull(sa);
	ck_assert_int_eq(sa->sa_family, AF_INET6);
	ck_assert_int_eq(ntohs(((const struct sockaddr_in6 *)sa)->sin6_port),
	    5699);
	ck_assert_int_eq(config_bool(cf, "coap", "require_dtls"), 1);
	ck_assert_uint_eq(config_bytes(cf, "coap", "max_body"), 131072);
	names = config_sections(cf, "serial", &n);
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(names[0], "serial:usb0");
	ck_assert_str_eq(names[1], "serial:ble");
	ck_assert_str_eq(config_str(cf, "serial:usb0", "framing"), "cobs");
	ck_assert_int_eq(config_int(cf, "serial:usb0", "baud"), 921600);
	ck_assert_int_eq(config_int(cf, "serial:ble", "baud"), 115200);
	ck_assert_str_eq(config_str(cf, "serial:ble", "framing"), "lines");
	ck_assert_str_eq(config_str(cf, "mqtt", "topic_prefix"), "site/a");
	ck_assert_str_eq(config_str(cf, "mqtt", "client_id"), "me");
	ck_assert_int_eq(config_int(cf, "mqtt", "qos"), 0);
	l = config_list(cf, "summary", "ignore_labels", &n);
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(l[1], "b");
	ck_assert_uint_eq(config_ms(cf, "summary", "debounce"), 0);
	names = config_sections(cf, "tier2", &n);
	ck_assert_uint_eq(n, 1);
	ck_assert_double_eq_tol(config_double(cf, "tier2:kws", "threshold"),
	    0.5, 1e-12);
	ck_assert_str_eq(config_str(cf, "tier2:kws", "nodes"), "*");
	ck_assert_int_eq(config_line(cf, "mqtt", "qos"), 24);
	config_free(cf);
}
END_TEST

/* config_enum(): the index of each name, defaults included. */
START_TEST(test_enum)
{
	static const struct {
		const char	*sect, *key;
		int		 def, set;	/* default; in the second file */
	} rows[] = {
		{ "serial:a", "framing", CONFIG_FRAMING_LINES,
		  CONFIG_FRAMING_COBS },
		{ "store", "sync", CONFIG_SYNC_NORMAL, CONFIG_SYNC_FULL },
		{ "mqtt", "protocol", CONFIG_PROTOCOL_311, CONFIG_PROTOCOL_5 },
		{ "tier2:t", "when", CONFIG_WHEN_LOW_CONFIDENCE,
		  CONFIG_WHEN_ALWAYS },
		{ "tier2:t", "features", CONFIG_FEATURES_RAW,
		  CONFIG_FEATURES_SPECTRAL },
		{ "tier2:u", "features", CONFIG_FEATURES_RAW,
		  CONFIG_FEATURES_MFCC },
		{ "tier2:t", "output", CONFIG_OUTPUT_CLASSES,
		  CONFIG_OUTPUT_ANOMALY },
	};
	struct config	*def, *set;
	size_t		 i;

	def = load_ok("[gateway]\nid = g\n[serial:a]\ndevice = /dev/x\n"
	    "[tier2:t]\nmodel = /m\n[tier2:u]\nmodel = /m\n");
	set = load_ok("[gateway]\nid = g\n[serial:a]\ndevice = /dev/x\n"
	    "framing = cobs\n[store]\nsync = full\n[mqtt]\nprotocol = 5\n"
	    "[tier2:t]\nmodel = /m\nwhen = always\nfeatures = spectral\n"
	    "output = anomaly\n[tier2:u]\nmodel = /m\nfeatures = mfcc\n");
	for (i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		ck_assert_int_eq(config_enum(def, rows[i].sect, rows[i].key),
		    rows[i].def);
		ck_assert_int_eq(config_enum(set, rows[i].sect, rows[i].key),
		    rows[i].set);
	}
	config_free(def);
	config_free(set);
}
END_TEST

START_TEST(test_errors_collected)
{
	char	*e;

	e = load_bad(
	    "[gateway]\n"			/* 1 */
	    "id = bad id\n"			/* 2 */
	    "[mqtt]\n"				/* 3 */
	    "qos = 3\n"				/* 4 */
	    "uri = http://x:1\n"		/* 5 */
	    "nope = 1\n"			/* 6 */
	    "[bogus]\n"				/* 7 */
	    "a = b\n"				/* 8 */
	    "[store]\n"				/* 9 */
	    "max_age = soon\n"			/* 10 */
	    "max_age = 1d\n"			/* 11 */
	    "junk\n"				/* 12 */
	    "[tier2]\n");			/* 13 */
	ck_assert_msg(strstr(e, ":2: gateway.id:") != NULL, "%s", e);
	ck_assert_msg(strstr(e, ":4: mqtt.qos: 3 is out of range (0 .. 2)")
	    != NULL, "%s", e);
	ck_assert_msg(strstr(e, ":5: mqtt.uri:") != NULL, "%s", e);
	ck_assert_msg(strstr(e, ":6: unknown key \"nope\" in [mqtt]") != NULL,
	    "%s", e);
	ck_assert_msg(strstr(e, ":7: unknown section [bogus]") != NULL,
	    "%s", e);
	ck_assert_msg(strstr(e, ":8:") == NULL, "keys of a bad section "
	    "reported: %s", e);
	ck_assert_msg(strstr(e, ":10: store.max_age:") != NULL, "%s", e);
	ck_assert_msg(strstr(e, ":11: duplicate key \"max_age\"") != NULL,
	    "%s", e);
	ck_assert_msg(strstr(e, ":12: expected") != NULL, "%s", e);
	ck_assert_msg(strstr(e, ":13: section [tier2] needs a name") != NULL,
	    "%s", e);
	free(e);

	e = load_bad("[mqtt]\nqos = 1\n");
	ck_assert_msg(strstr(e, "[gateway] needs \"id\"") != NULL, "%s", e);
	free(e);

	e = load_bad("[gateway]\nid = a\n[tier2:x]\n");
	ck_assert_msg(strstr(e, ":3: [tier2:x] needs \"model\"") != NULL,
	    "%s", e);
	free(e);
}
END_TEST

/*
 * Secrets and TLS files must be readable when the file is loaded, each
 * failure as FILE:LINE: cannot read PATH: reason, with the other errors.
 */
START_TEST(test_files_readable)
{
	char	 text[2048], key[64], dir[64], *e;
	FILE	*f;

	snprintf(key, sizeof key, "%s/key.pem", tmpdir);
	f = fopen(key, "w");
	ck_assert_ptr_nonnull(f);
	fputs("key\n", f);
	fclose(f);
	snprintf(dir, sizeof dir, "%s/adir", tmpdir);
	ck_assert_int_eq(mkdir(dir, 0700), 0);

	snprintf(text, sizeof text,
	    "[gateway]\n"				/* 1 */
	    "id = a\n"					/* 2 */
	    "[coap]\n"					/* 3 */
	    "dtls_listen = 127.0.0.1:5684\n"		/* 4 */
	    "psk_file = %s/missing\n"			/* 5 */
	    "[mqtt]\n"					/* 6 */
	    "uri = ssl://127.0.0.1:8883\n"		/* 7 */
	    "ca_file = %s\n"				/* 8 */
	    "cert_file = %s\n"				/* 9 */
	    "key_file = %s\n"				/* 10 */
	    "password_file = %s/nope\n"			/* 11 */
	    "qos = 7\n",				/* 12 */
	    tmpdir, dir, key, key, tmpdir);
	e = load_bad(text);
	ck_assert_msg(strstr(e, ":5: cannot read ") != NULL &&
	    strstr(e, "/missing: No such file or directory") != NULL, "%s", e);
	ck_assert_msg(strstr(e, ":8: cannot read ") != NULL &&
	    strstr(e, "/adir: Is a directory") != NULL, "%s", e);
	ck_assert_msg(strstr(e, ":11: cannot read ") != NULL &&
	    strstr(e, "/nope: No such file or directory") != NULL, "%s", e);
	ck_assert_msg(strstr(e, ":9:") == NULL && strstr(e, ":10:") == NULL,
	    "a readable file reported: %s", e);
	ck_assert_msg(strstr(e, ":12: mqtt.qos:") != NULL, "%s", e);
	free(e);

	/* The same keys with readable files load. */
	snprintf(text, sizeof text, "[gateway]\nid = a\n[coap]\n"
	    "dtls_listen = 127.0.0.1:5684\npsk_file = %s\n[mqtt]\n"
	    "uri = ssl://127.0.0.1:8883\nca_file = %s\ncert_file = %s\n"
	    "key_file = %s\npassword_file = %s\n", key, key, key, key, key);
	config_free(load_ok(text));

	/* A serial node id may not be "." or "..". */
	e = load_bad("[gateway]\nid = a\n[serial:s]\ndevice = /dev/x\n"
	    "node = ..\n");
	ck_assert_msg(strstr(e, ":5: serial.node: \"..\" is not a node id")
	    != NULL, "%s", e);
	free(e);
}
END_TEST

START_TEST(test_long_line)
{
	char	buf[600], *e;

	snprintf(buf, sizeof buf, "[gateway]\nid = a\ndata_dir = /%0300d\n"
	    "log_level = loud\n", 0);
	e = load_bad(buf);
	ck_assert_msg(strstr(e, ":3: line too long") != NULL, "%s", e);
	ck_assert_msg(strstr(e, ":4: gateway.log_level:") != NULL, "%s", e);
	free(e);
}
END_TEST

/* Record config_diff callbacks. */
static void
diff_cb(const char *sect, const char *key, int reloadable, void *arg)
{
	char	*out = arg;
	char	 line[128];

	snprintf(line, sizeof line, "%s.%s:%d;", sect, key ? key : "*",
	    reloadable);
	strcat(out, line);
}

START_TEST(test_diff)
{
	struct config	*a, *b;
	char		 out[1024] = "";
	int		 restart;

	a = load_ok("[gateway]\nid = a\n[serial:x]\ndevice = /dev/null\n");
	b = load_ok("[gateway]\nid = a\nlog_level = debug\n[mqtt]\n"
	    "qos = 0\n");
	restart = config_diff(a, b, diff_cb, out);
	ck_assert_msg(strstr(out, "gateway.log_level:1;") != NULL, "%s", out);
	ck_assert_msg(strstr(out, "mqtt.qos:0;") != NULL, "%s", out);
	ck_assert_msg(strstr(out, "serial:x.*:0;") != NULL, "%s", out);
	ck_assert_int_eq(restart, 2);
	config_free(a);
	config_free(b);
}
END_TEST

/* config_diff: node sections come, go and change without a restart. */
START_TEST(test_diff_nodes)
{
	struct config	*a, *b;
	char		 out[1024] = "";

	a = load_ok("[gateway]\nid = a\n[node:*]\nx = 1\n[node:p-?]\n"
	    "model = m\ny = 2\n[node:gone]\nz = 1\n");
	b = load_ok("[gateway]\nid = a\n[node:*]\nx = 2\n[node:p-?]\n"
	    "model = m@1\ny = 2\n[node:new]\nz = 1\n");
	ck_assert_int_eq(config_diff(a, b, diff_cb, out), 0);
	ck_assert_msg(strstr(out, "node:*.x:1;") != NULL, "%s", out);
	ck_assert_msg(strstr(out, "node:p-?.model:1;") != NULL, "%s", out);
	ck_assert_msg(strstr(out, "node:new.*:1;") != NULL, "%s", out);
	ck_assert_msg(strstr(out, "node:gone.*:1;") != NULL, "%s", out);
	ck_assert_msg(strstr(out, "node:p-?.y") == NULL, "%s", out);
	config_free(a);
	config_free(b);
}
END_TEST

/* config_nodes(): file order, globs, models, typed values. */
START_TEST(test_nodes)
{
	static const struct {
		const char		*text;
		enum config_node_type	 type;
		double			 number;
	} vals[] = {
		{ "0.8", CONFIG_NODE_NUMBER, 0.8 },
		{ "-3", CONFIG_NODE_NUMBER, -3 },
		{ "+1e3", CONFIG_NODE_NUMBER, 1000 },
		{ ".5", CONFIG_NODE_NUMBER, 0.5 },
		{ "7.", CONFIG_NODE_NUMBER, 7 },
		{ "2E-2", CONFIG_NODE_NUMBER, 0.02 },
		{ "true", CONFIG_NODE_BOOL, 1 },
		{ "false", CONFIG_NODE_BOOL, 0 },
		{ "True", CONFIG_NODE_STRING, 0 },
		{ "on", CONFIG_NODE_STRING, 0 },
		{ "0x10", CONFIG_NODE_STRING, 0 },
		{ "inf", CONFIG_NODE_STRING, 0 },
		{ "nan", CONFIG_NODE_STRING, 0 },
		{ "1e999", CONFIG_NODE_STRING, 0 },
		{ "1.2.3", CONFIG_NODE_STRING, 0 },
		{ "1e", CONFIG_NODE_STRING, 0 },
		{ "-", CONFIG_NODE_STRING, 0 },
		{ ".", CONFIG_NODE_STRING, 0 },
		{ "", CONFIG_NODE_STRING, 0 },
		{ "5 5", CONFIG_NODE_STRING, 0 },
		{ "unsure", CONFIG_NODE_STRING, 0 },
	};
	const struct config_node	*n;
	struct config			*cf;
	char				 text[4096];
	size_t				 i, nn, len;

	len = (size_t)snprintf(text, sizeof text, "[gateway]\nid = a\n"
	    "[node:line[12]-*] ; comment with ] in it\nmodel = kws@3\n"
	    "[node:*]\n");
	for (i = 0; i < sizeof vals / sizeof vals[0]; i++)
		len += (size_t)snprintf(text + len, sizeof text - len,
		    "k%zu = %s\n", i, vals[i].text);
	snprintf(text + len, sizeof text - len, "[node:p?]\nmodel =\n");
	cf = load_ok(text);
	n = config_nodes(cf, &nn);
	ck_assert_uint_eq(nn, 3);
	ck_assert_str_eq(n[0].glob, "line[12]-*");
	ck_assert_str_eq(n[0].model, "kws@3");
	ck_assert_uint_eq(n[0].nsettings, 0);
	ck_assert_int_eq(n[0].line, 3);
	ck_assert_str_eq(n[1].glob, "*");
	ck_assert_ptr_null(n[1].model);
	ck_assert_str_eq(n[2].model, "");
	ck_assert_uint_eq(n[1].nsettings, sizeof vals / sizeof vals[0]);
	for (i = 0; i < n[1].nsettings; i++) {
		ck_assert_str_eq(n[1].settings[i].text, vals[i].text);
		ck_assert_msg(n[1].settings[i].type == vals[i].type, "%s",
		    vals[i].text);
		if (vals[i].type == CONFIG_NODE_NUMBER)
			ck_assert_double_eq_tol(n[1].settings[i].number,
			    vals[i].number, 1e-12);
		if (vals[i].type == CONFIG_NODE_BOOL)
			ck_assert_int_eq(n[1].settings[i].boolean,
			    (int)vals[i].number);
	}
	config_free(cf);
	cf = load_ok("[gateway]\nid = a\n");
	ck_assert_ptr_null(config_nodes(cf, &nn));
	ck_assert_uint_eq(nn, 0);
	config_free(cf);
}
END_TEST

/* The bounds of node sections and their errors. */
START_TEST(test_nodes_bad)
{
	static const struct {
		const char	*text, *err;
	} bad[] = {
		{ "[node:a b]\n", ":3: section [node:a b]: name" },
		{ "[node:]\n", ":3: section [node:]: name" },
		{ "[node:a/b]\n", ":3: section [node:a/b]: name" },
		{ "[node:*]\nmin-score = 1\n", ":4: [node:*]: \"min-score\"" },
		{ "[node:*]\nrev = 1\n", ":4: [node:*]: \"rev\" is" },
		{ "[node:*]\nmodel = a@\n", ":4: node.model: \"a@\"" },
		{ "[node:*]\nmodel = @1\n", ":4: node.model: \"@1\"" },
		{ "[node:*]\nmodel = a b\n", ":4: node.model: \"a b\"" },
		{ "[node:*]\na = 1\na = 2\n", ":5: [node:*]: duplicate key" },
		{ "[node:*]\nk\xc3\xa9 = 1\n", ":4: [node:*]: \"k" },
	};
	char	 text[8192], *cause;
	size_t	 i, len;

	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		snprintf(text, sizeof text, "[gateway]\nid = a\n%s",
		    bad[i].text);
		cause = load_bad(text);
		ck_assert_msg(strstr(cause, bad[i].err) != NULL, "%s: %s",
		    bad[i].text, cause);
		free(cause);
	}
	/* 256 sections are fine, 257 are not. */
	len = (size_t)snprintf(text, sizeof text, "[gateway]\nid = a\n");
	for (i = 0; i < CONFIG_NODES_MAX; i++)
		len += (size_t)snprintf(text + len, sizeof text - len,
		    "[node:n%zu]\n", i);
	config_free(load_ok(text));
	snprintf(text + len, sizeof text - len, "[node:last]\n");
	cause = load_bad(text);
	ck_assert_msg(strstr(cause, ":259: more than 256 [node:...] "
	    "sections") != NULL, "%s", cause);
	free(cause);
	/* A glob of 128 characters is fine, 129 are not. */
	len = (size_t)snprintf(text, sizeof text, "[gateway]\nid = a\n"
	    "[node:");
	memset(text + len, '*', CONFIG_NODE_GLOB_MAX);
	snprintf(text + len + CONFIG_NODE_GLOB_MAX, sizeof text - len -
	    CONFIG_NODE_GLOB_MAX, "]\n");
	config_free(load_ok(text));
	memset(text + len, '*', CONFIG_NODE_GLOB_MAX + 1);
	snprintf(text + len + CONFIG_NODE_GLOB_MAX + 1, sizeof text - len -
	    CONFIG_NODE_GLOB_MAX - 1, "]\n");
	cause = load_bad(text);
	ck_assert_msg(strstr(cause, "must be 1 to 128") != NULL, "%s", cause);
	free(cause);
}
END_TEST

/* Does file contain text? */
static int
file_has(const char *path, const char *text)
{
	static char	 buf[256 * 1024];
	FILE		*f = fopen(path, "r");
	size_t		 n;

	if (f == NULL)
		return (-1);
	n = fread(buf, 1, sizeof buf - 1, f);
	buf[n] = '\0';
	fclose(f);
	return (strstr(buf, text) != NULL);
}

START_TEST(test_keys_documented)
{
	const char	*srcdir = getenv("TE_SRCDIR"), *sect, *name, *def, *help;
	char		 conf[512], man[512], needle[128];
	size_t		 i;

	if (srcdir == NULL)
		srcdir = ".";
	snprintf(conf, sizeof conf, "%s/conf/tinyedge.ini", srcdir);
	snprintf(man, sizeof man, "%s/man/tinyedge.ini.5", srcdir);
	for (i = 0; config_key_info(i, &sect, &name, &def, &help) == 0; i++) {
		snprintf(needle, sizeof needle, "\n%s =", name);
		ck_assert_msg(file_has(conf, needle) == 1 ||
		    (snprintf(needle, sizeof needle, "\n;%s =", name),
		    file_has(conf, needle) == 1),
		    "%s.%s not in conf/tinyedge.ini", sect, name);
		snprintf(needle, sizeof needle, ".B %s\n", name);
		ck_assert_msg(file_has(man, needle) == 1,
		    "%s.%s not in man/tinyedge.ini.5", sect, name);
	}
	/* And conf/tinyedge.ini itself is valid. */
	{
		struct config	*cf = NULL;
		char		*cause = NULL;

		if (config_load(conf, &cf, &cause) != 0)
			ck_abort_msg("conf/tinyedge.ini: %s", cause);
		config_free(cf);
	}
}
END_TEST

/* Run the suite; the exit status tells whether all passed. */
int
main(void)
{
	struct testutil_case	 cases[] = {
		{ test_defaults, 0 },
		{ test_all_types, 0 },
		{ test_enum, 0 },
		{ test_errors_collected, 0 },
		{ test_files_readable, 0 },
		{ test_long_line, 0 },
		{ test_diff, 0 },
		{ test_diff_nodes, 0 },
		{ test_nodes, 0 },
		{ test_nodes_bad, 0 },
		{ test_keys_documented, 0 },
	};

	return (testutil_run_in(tmpdir, "config", 0, cases,
	    sizeof cases / sizeof cases[0]));
}
