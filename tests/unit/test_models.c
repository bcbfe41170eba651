/*
 * test_models.c - unit tests of models.c: node model versions stored
 * under data_dir/models on the daemon's loop.
 *
 * Each test gets its own data_dir and a fresh loop; puts are written in
 * the libuv pool and the test runs the loop (bounded) until the callback
 * came.  Covered: put, find and data; an idempotent put and one with other
 * bytes; malformed names, versions and sizes; the bounds on names and
 * versions (with the GC making room); the GC with a fake in-use callback;
 * the memory bound on cached bytes (least recently used dropped, a miss
 * read back from the pool); a restart that rescans and deletes leftover
 * temporary files; a put that cannot be written leaving nothing visible;
 * a stop with a put in flight.
 */
#include <sys/stat.h>

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "config.h"
#include "daemon.h"
#include "models.h"
#include "testutil.h"

static char		 tmpdir[] = "/tmp/te-models.XXXXXX";
static char		 dir[128];
static struct config	*cf;
static int		 ncb, nok;
static char		 lastcause[256];
static struct models_info lastinfo;
static char		 notified[16][MODELS_NAME_MAX + 1];
static int		 nnotify;
static int		 in_use_all;
static const char	*in_use_one;

/* The put callback: count and keep what came. */
static void
put_cb(int ok, const struct models_info *info, const char *cause, void *arg)
{
	ck_assert_ptr_eq(arg, &ncb);
	ncb++;
	nok += ok;
	if (ok)
		lastinfo = *info;
	snprintf(lastcause, sizeof lastcause, "%s", ok ? "" : cause);
}

/* The change callback: note the name. */
static void
notify_cb(const char *name)
{
	snprintf(notified[nnotify++ % 16], sizeof notified[0], "%s", name);
}

/* The fake in-use callback. */
static int
in_use_cb(const char *name, const char *version)
{
	(void)name;
	return (in_use_all || (in_use_one != NULL &&
	    strcmp(version, in_use_one) == 0));
}

/* A data_dir of this test, a config for it, a fresh loop, started. */
static void
setup(const char *max)
{
	char	 path[256], *cause = NULL;
	FILE	*f;

	snprintf(dir, sizeof dir, "%s/t.XXXXXX", tmpdir);
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof path, "%s/c.ini", dir);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fprintf(f, "[gateway]\nid = gw\ndata_dir = %s\n[mqtt]\n"
	    "command_max = %s\n", dir, max);
	fclose(f);
	if (config_load(path, &cf, &cause) != 0)
		ck_abort_msg("config: %s", cause);
	ck_assert_int_eq(uv_loop_init(daemon_loop()), 0);
	models_set_notify(notify_cb);
	models_set_in_use(in_use_cb);
	if (models_start(cf, &cause) != 0)
		ck_abort_msg("models_start: %s", cause);
}

/* Stop, run the loop to its end and check it closes. */
static void
stop_loop(void)
{
	models_stop();
	uv_run(daemon_loop(), UV_RUN_DEFAULT);
	ck_assert_int_eq(uv_loop_close(daemon_loop()), 0);
}

/* Stop at the end of a test. */
static void
stop(void)
{
	stop_loop();
	config_free(cf);
	cf = NULL;
}

/* Stop and start again on a fresh loop (a restart). */
static void
restart(void)
{
	char	*cause = NULL;

	stop_loop();
	ck_assert_int_eq(uv_loop_init(daemon_loop()), 0);
	if (models_start(cf, &cause) != 0)
		ck_abort_msg("models_start: %s", cause);
}

/* Run the loop until n callbacks came (bounded). */
static void
wait_cb(int n)
{
	int	i;

	for (i = 0; i < 1000 && ncb < n; i++)
		uv_run(daemon_loop(), UV_RUN_ONCE);
	ck_assert_int_eq(ncb, n);
}

/* Put and wait; returns ok (0 also when refused at once). */
static int
put(const char *name, const char *version, const void *data, size_t len)
{
	char	*cause = NULL;
	int	 before = nok;

	if (models_put(name, version, data, len, put_cb, &ncb, &cause) != 0) {
		snprintf(lastcause, sizeof lastcause, "%s", cause);
		free(cause);
		return (0);
	}
	wait_cb(ncb + 1);
	return (nok > before);
}

/* Put a short text and expect it stored. */
static void
put_ok(const char *name, const char *version, const char *text)
{
	ck_assert_msg(put(name, version, text, strlen(text)), "%s@%s: %s",
	    name, version, lastcause);
}

/* Does data_dir/models/rel exist? */
static int
exists(const char *rel)
{
	char		path[300];
	struct stat	sb;

	snprintf(path, sizeof path, "%s/models/%s", dir, rel);
	return (stat(path, &sb) == 0);
}

/* Run the loop until nothing is in flight. */
static void
drain(void)
{
	uv_run(daemon_loop(), UV_RUN_DEFAULT);
}

/* Put, find, data and the file on disk. */
START_TEST(test_put_find)
{
	struct models_info	 info;
	const uint8_t		*d;
	char			 sha[65], path[300], buf[64];
	FILE			*f;
	size_t			 n;

	setup("4K");
	ck_assert_int_eq(models_find("kws", NULL, &info), -1);
	ck_assert_ptr_null(models_data("kws", NULL, &info));
	put_ok("kws", "1.0", "first model");
	models_sha256("first model", 11, sha);
	ck_assert_str_eq(lastinfo.sha256, sha);
	ck_assert_str_eq(lastinfo.name, "kws");
	ck_assert_str_eq(lastinfo.version, "1.0");
	ck_assert_uint_eq(lastinfo.size, 11);
	ck_assert_int_eq(nnotify, 1);
	ck_assert_str_eq(notified[0], "kws");
	snprintf(path, sizeof path, "%s/models/kws/1.0", dir);
	f = fopen(path, "r");
	ck_assert_ptr_nonnull(f);
	n = fread(buf, 1, sizeof buf, f);
	fclose(f);
	ck_assert_uint_eq(n, 11);
	ck_assert_int_eq(memcmp(buf, "first model", 11), 0);
	put_ok("kws", "1.1", "second model");
	ck_assert_int_eq(models_find("kws", NULL, &info), 0);
	ck_assert_str_eq(info.version, "1.1");
	ck_assert_int_eq(models_find("kws", "1.0", &info), 0);
	ck_assert_str_eq(info.sha256, sha);
	ck_assert_int_eq(models_find("kws", "2.0", &info), -1);
	ck_assert_int_eq(models_find("other", NULL, &info), -1);
	d = models_data("kws", "1.0", &info);
	ck_assert_ptr_nonnull(d);
	ck_assert_int_eq(memcmp(d, "first model", 11), 0);
	d = models_data("kws", NULL, &info);
	ck_assert_ptr_nonnull(d);
	ck_assert_uint_eq(info.size, 12);
	ck_assert_int_eq(memcmp(d, "second model", 12), 0);
	ck_assert_int_eq(nnotify, 2);
	stop();
}
END_TEST

/* The same bytes again: ok, nothing written; other bytes: refused. */
START_TEST(test_idempotent)
{
	struct stat	 a, b;
	char		 path[300];

	setup("4K");
	put_ok("m", "v1", "bytes");
	snprintf(path, sizeof path, "%s/models/m/v1", dir);
	ck_assert_int_eq(stat(path, &a), 0);
	usleep(20000);
	put_ok("m", "v1", "bytes");
	ck_assert_int_eq(stat(path, &b), 0);
	ck_assert_int_eq(a.st_ino, b.st_ino);
	ck_assert_int_eq(a.st_mtim.tv_nsec, b.st_mtim.tv_nsec);
	ck_assert_int_eq(nnotify, 1);
	ck_assert(!put("m", "v1", "BYTES", 5));
	ck_assert_str_eq(lastcause, "m@v1 exists with other content");
	ck_assert(!put("m", "v1", "bytes!", 6));
	ck_assert_str_eq(lastcause, "m@v1 exists with other content");
	stop();
}
END_TEST

/* Malformed names, versions and sizes: refused at once, nothing stored. */
START_TEST(test_malformed)
{
	static char	 big[5000];
	char		 n65[66], v33[34], *cause;
	size_t		 i;
	struct {
		const char	*name, *version;
		size_t		 len;
		const char	*why;
	} bad[] = {
		{ "", "v", 1, "bad model name" },
		{ ".", "v", 1, "bad model name" },
		{ "..", "v", 1, "bad model name" },
		{ "a/b", "v", 1, "bad model name" },
		{ "a b", "v", 1, "bad model name" },
		{ "a\n", "v", 1, "bad model name" },
		{ "a\xc3\xa9", "v", 1, "bad model name" },
		{ n65, "v", 1, "bad model name" },
		{ "a", "", 1, "bad model name" },
		{ "a", "..", 1, "bad model name" },
		{ "a", "1/2", 1, "bad model name" },
		{ "a", "tmp~1", 1, "bad model name" },
		{ "a", v33, 1, "bad model name" },
		{ NULL, "v", 1, "bad model name" },
		{ "a", NULL, 1, "bad model name" },
		{ "a", "v", 0, "0 bytes, must be 1 to 4096" },
		{ "a", "v", 4097, "4097 bytes, must be 1 to 4096" },
	};

	memset(n65, 'n', 65);
	n65[65] = '\0';
	memset(v33, 'v', 33);
	v33[33] = '\0';
	setup("4K");
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		cause = NULL;
		ck_assert_int_eq(models_put(bad[i].name, bad[i].version, big,
		    bad[i].len, put_cb, &ncb, &cause), -1);
		ck_assert_msg(strstr(cause, bad[i].why) != NULL, "%zu: %s", i,
		    cause);
		free(cause);
	}
	/* The longest valid ones are fine. */
	n65[64] = '\0';
	v33[32] = '\0';
	ck_assert(models_valid_name(n65) && models_valid_version(v33));
	ck_assert(models_valid_name(".a") && models_valid_version("1.0-rc_2"));
	put_ok(n65, v33, "x");
	ck_assert_int_eq(ncb, 1);
	drain();
	ck_assert_int_eq(models_find("a", NULL, NULL), -1);
	stop();
}
END_TEST

/* At most 64 names and 16 versions per name; the GC makes room. */
START_TEST(test_bounds)
{
	struct models_info	 info;
	char			 name[16], cause_busy[64], *cause = NULL;
	int			 i;

	setup("4K");
	in_use_all = 1;
	for (i = 0; i < 64; i++) {
		snprintf(name, sizeof name, "n%d", i);
		put_ok(name, "v", "x");
	}
	ck_assert(!put("n64", "v", "x", 1));
	ck_assert_str_eq(lastcause, "too many model names (64)");
	ck_assert_int_eq(models_find("n64", NULL, NULL), -1);
	for (i = 1; i < 16; i++) {
		snprintf(name, sizeof name, "v%02d", i);
		put_ok("n0", name, "y");
	}
	ck_assert(!put("n0", "v16", "y", 1));
	ck_assert_str_eq(lastcause, "n0 has too many versions (16) in use");
	/* Unassigned: the GC deletes all but the newest 3, and it fits. */
	in_use_all = 0;
	put_ok("n0", "v16", "y");
	drain();
	ck_assert(!exists("n0/v") && !exists("n0/v01") && !exists("n0/v12"));
	ck_assert(exists("n0/v13") && exists("n0/v14") && exists("n0/v15") &&
	    exists("n0/v16"));
	ck_assert_int_eq(models_find("n0", "v12", &info), -1);
	ck_assert_int_eq(models_find("n0", NULL, &info), 0);
	ck_assert_str_eq(info.version, "v16");
	/* A version being stored is busy. */
	ck_assert_int_eq(models_put("n1", "w", "a", 1, put_cb, &ncb, &cause),
	    0);
	ck_assert_int_eq(models_put("n1", "w", "a", 1, put_cb, &ncb, &cause),
	    -1);
	snprintf(cause_busy, sizeof cause_busy, "%s", cause);
	free(cause);
	ck_assert_msg(strstr(cause_busy, "busy") != NULL, "%s", cause_busy);
	wait_cb(ncb + 1);
	stop();
}
END_TEST

/* The GC keeps the newest 3 and those in use, and tells the name. */
START_TEST(test_gc)
{
	char	v[8];
	int	i;

	setup("4K");
	for (i = 1; i <= 6; i++) {
		snprintf(v, sizeof v, "v%d", i);
		put_ok("m", v, "data");
	}
	put_ok("other", "1", "data");
	models_set_in_use(NULL);
	models_gc();		/* nothing known: nothing deleted */
	drain();
	ck_assert(exists("m/v1") && exists("m/v2"));
	models_set_in_use(in_use_cb);
	in_use_one = "v1";
	nnotify = 0;
	models_gc();
	ck_assert_int_eq(nnotify, 1);
	ck_assert_str_eq(notified[0], "m");
	ck_assert_int_eq(models_find("m", "v2", NULL), -1);
	drain();
	ck_assert(exists("m/v1") && !exists("m/v2") && !exists("m/v3"));
	ck_assert(exists("m/v4") && exists("m/v5") && exists("m/v6"));
	ck_assert(exists("other/1"));
	ck_assert_int_eq(models_find("m", "v1", NULL), 0);
	/* Nothing more to collect: no notification. */
	models_gc();
	drain();
	ck_assert_int_eq(nnotify, 1);
	stop();
}
END_TEST

/* Cached bytes stay within 16 MB, least recently used dropped first. */
START_TEST(test_memory_bound)
{
	struct models_info	 info;
	const uint8_t		*d;
	uint8_t			*big;
	const size_t		 mb4 = 4 * 1024 * 1024;
	char			 v[8];
	int			 i;

	setup("8M");
	in_use_all = 1;
	big = malloc(mb4);
	ck_assert_ptr_nonnull(big);
	for (i = 1; i <= 4; i++) {
		memset(big, i, mb4);
		snprintf(v, sizeof v, "v%d", i);
		ck_assert_msg(put("m", v, big, mb4), "%s", lastcause);
	}
	/* 16 MB held: every one is in memory. */
	for (i = 1; i <= 4; i++) {
		snprintf(v, sizeof v, "v%d", i);
		ck_assert_ptr_nonnull(models_data("m", v, &info));
	}
	ck_assert_ptr_nonnull(models_data("m", "v1", &info));	/* used */
	memset(big, 5, mb4);
	ck_assert(put("m", "v5", big, mb4));
	/* v2 was the least recently used. */
	ck_assert_ptr_nonnull(models_data("m", "v1", &info));
	ck_assert_ptr_null(models_data("m", "v2", &info));
	ck_assert_uint_eq(info.size, mb4);
	/* The miss started a read: a moment later it is there. */
	for (i = 0; i < 100 && models_data("m", "v2", &info) == NULL; i++)
		uv_run(daemon_loop(), UV_RUN_ONCE);
	d = models_data("m", "v2", &info);
	ck_assert_ptr_nonnull(d);
	ck_assert(d[0] == 2 && d[mb4 - 1] == 2);
	/* Reading v2 back dropped the least recently used (v3). */
	ck_assert_ptr_null(models_data("m", "v3", &info));
	drain();
	free(big);
	stop();
}
END_TEST

/* A restart rescans; temporary leftovers and strangers are dealt with. */
START_TEST(test_restart)
{
	struct models_info	 before, after;
	char			 path[300];
	FILE			*f;

	setup("4K");
	/* Stored right after, "a" is still newer than "b". */
	put_ok("m", "b", "one");
	put_ok("m", "a", "two");
	put_ok("n", "1", "three");
	ck_assert_int_eq(models_find("m", NULL, &before), 0);
	ck_assert_str_eq(before.version, "a");	/* stored last */
	snprintf(path, sizeof path, "%s/models/m/tmp~Xy12Ab", dir);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs("half a mod", f);
	fclose(f);
	snprintf(path, sizeof path, "%s/models/m/bad name", dir);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fclose(f);
	snprintf(path, sizeof path, "%s/models/bad name", dir);
	ck_assert_int_eq(mkdir(path, 0755), 0);
	restart();
	ck_assert(!exists("m/tmp~Xy12Ab"));
	ck_assert(exists("m/bad name"));
	ck_assert_int_eq(models_find("m", NULL, &after), 0);
	ck_assert_str_eq(after.version, "a");
	ck_assert_str_eq(after.sha256, before.sha256);
	ck_assert_uint_eq(after.stored_ms, before.stored_ms);
	ck_assert_int_eq(models_find("m", "b", &after), 0);
	ck_assert_uint_eq(after.size, 3);
	ck_assert_int_eq(models_find("n", "1", NULL), 0);
	ck_assert_int_eq(models_find("bad name", NULL, NULL), -1);
	ck_assert_int_eq(models_find("m", "bad name", NULL), -1);
	ck_assert_ptr_nonnull(models_data("n", "1", &after));
	/* Versions are still immutable after a restart. */
	ck_assert(!put("m", "b", "ONE", 3));
	ck_assert_str_eq(lastcause, "m@b exists with other content");
	stop();
}
END_TEST

/* A put that cannot be written: the cause, and nothing visible. */
START_TEST(test_write_fails)
{
	char	path[300];
	FILE	*f;

	setup("4K");
	/* NAME is a file, not a directory: the temp file cannot be made. */
	snprintf(path, sizeof path, "%s/models/blocked", dir);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fclose(f);
	ck_assert(!put("blocked", "v1", "data", 4));
	ck_assert_msg(strstr(lastcause, "Not a directory") != NULL, "%s",
	    lastcause);
	ck_assert_int_eq(models_find("blocked", NULL, NULL), -1);
	ck_assert_int_eq(nnotify, 0);
	/* A read-only directory (root writes anyway, so not as root). */
	if (geteuid() != 0) {
		snprintf(path, sizeof path, "%s/models/ro", dir);
		ck_assert_int_eq(mkdir(path, 0555), 0);
		ck_assert(!put("ro", "v1", "data", 4));
		ck_assert_msg(strstr(lastcause, "Permission denied") != NULL,
		    "%s", lastcause);
		ck_assert_int_eq(models_find("ro", NULL, NULL), -1);
		ck_assert(!exists("ro/v1"));
		chmod(path, 0755);
	}
	stop();
}
END_TEST

/* A stop with a put in flight: no callback, the loop closes. */
START_TEST(test_stop_in_flight)
{
	char	*cause = NULL;

	setup("4K");
	ck_assert_int_eq(models_put("m", "v", "x", 1, put_cb, &ncb, &cause),
	    0);
	stop();
	ck_assert_int_eq(ncb, 0);
	ck_assert_int_eq(models_put("m", "w", "x", 1, put_cb, &ncb, &cause),
	    -1);
	free(cause);
}
END_TEST

/* Run the tests. */
int
main(void)
{
	struct testutil_case	 cases[] = {
		{ test_put_find, 0 },
		{ test_idempotent, 0 },
		{ test_malformed, 0 },
		{ test_bounds, 0 },
		{ test_gc, 0 },
		{ test_memory_bound, 0 },
		{ test_restart, 0 },
		{ test_write_fails, 0 },
		{ test_stop_in_flight, 0 },
	};

	return (testutil_run_in(tmpdir, "models", 60, cases,
	    sizeof cases / sizeof cases[0]));
}
