/*
 * te-storeput.c - test driver: the real store, uplink, nodes and metrics
 * modules on one loop, fed rows through the store API.
 *
 * CoAP ingest does not exist yet, so the e2e tests (outage, crash, caps)
 * and bench/drain use this program to put rows exactly as ingest will:
 * store_put_message() plus store_outbox_add() in the same loop turn, in
 * batches, with the group commit deciding when they are acknowledged.
 *
 *   te-storeput -c CONF [-n ROWS] [-s BYTES] [-B BATCH] [-k event|summary|
 *               window] [-r] [-m] [-b BOOT] [-o OFFSET] [-w] [-x]
 *
 * -m also puts each row as a node message; -w waits for SIGUSR1 before
 * putting; -o offsets the seq numbers; -r marks rows retained; -l LIVE puts
 * LIVE more rows (seq 1000000 on), one every 2 ms, once the uplink
 * reconnects after the first rows were committed; -H JSON reports a
 * heartbeat with those fields from node n1 at start.
 *
 * Prints "committed N dup D refused R" once every put is acknowledged,
 * "connected" when the uplink first connects, and with -x stops cleanly as
 * soon as the outbox is empty, printing "drained rows=N ms=T" (time from
 * the first connect).  SIGTERM stops cleanly too.  /proc/self/io write
 * bytes during the puts are printed as "io write_bytes=W payload_bytes=P",
 * and again as "io_ckpt ..." once the idle checkpoint has emptied the WAL
 * (everything the puts cost is then on disk).
 */
#include <sys/stat.h>

#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include <cJSON.h>

#include "config.h"
#include "daemon.h"
#include "log.h"
#include "monitor.h"
#include "nodes.h"
#include "store.h"
#include "uplink.h"
#include "xmalloc.h"

static struct {
	uv_idle_t	 feeder;
	uv_timer_t	 poll, tick, live;
	long		 live_rows, live_next;
	const char	*heartbeat;	/* -H: JSON fields for node n1 */
	uv_signal_t	 sigterm, sigusr1;
	long		 rows, batch, next, offset, size, boot;
	enum store_class cls;
	int		 retain, msgs, exit_drained, stopping, wait_usr1;
	long		 ok, dup, refused, pending;
	uint64_t	 io0, payload_bytes, io_last, io_still;
	uint64_t	 t_conn, t_start;
	int		 connected, was_conn, reported, ckpt_reported;
} dr;

/* write_bytes of this process (0 if /proc/self/io is unreadable). */
static uint64_t
io_write_bytes(void)
{
	unsigned long long	 v = 0;
	char			 line[128];
	FILE			*f = fopen("/proc/self/io", "r");

	if (f == NULL)
		return (0);
	while (fgets(line, sizeof line, f) != NULL)
		if (sscanf(line, "write_bytes: %llu", &v) == 1)
			break;
	fclose(f);
	return (v);
}

/* A put was committed (or refused). */
static void
put_done(enum store_result r, void *arg)
{
	(void)arg;
	if (r == STORE_OK)
		dr.ok++;
	else if (r == STORE_DUPLICATE)
		dr.dup++;
	else
		dr.refused++;
	dr.pending--;
}

/* Stop everything cleanly; the loop ends when the uplink has finished. */
static void
driver_stop(void)
{
	if (dr.stopping)
		return;
	dr.stopping = 1;
	monitor_stop();
	nodes_stop();
	uplink_stop();
	store_stop();
	uv_close((uv_handle_t *)&dr.feeder, NULL);
	uv_close((uv_handle_t *)&dr.poll, NULL);
	uv_close((uv_handle_t *)&dr.tick, NULL);
	uv_close((uv_handle_t *)&dr.live, NULL);
	uv_close((uv_handle_t *)&dr.sigterm, NULL);
	uv_close((uv_handle_t *)&dr.sigusr1, NULL);
}

/* Put row number seq (a message too with -m), as ingest would. */
static void
put_one(long seq)
{
	struct store_msg	 m;
	char			 topic[256], node[32], *body;
	int			 n;

	body = xmalloc((size_t)dr.size + 128);
	snprintf(node, sizeof node, "n%ld", seq % 3);
	n = snprintf(body, (size_t)dr.size + 128, "{\"id\":\"t-%ld-%ld\","
	    "\"node\":\"%s\",\"seq\":%ld,\"pad\":\"", dr.boot, seq, node,
	    seq);
	while (n < dr.size - 2)
		body[n++] = 'x';
	body[n++] = '"';
	body[n++] = '}';
	body[n] = '\0';
	if (dr.msgs) {
		memset(&m, 0, sizeof m);
		m.node = node;
		m.boot = (uint32_t)dr.boot;
		m.seq = seq;
		m.kind = STORE_KIND_INFERENCE;
		m.rx_ms = daemon_now_ms();
		m.body = body;
		m.len = (size_t)n;
		switch (store_put_message(&m, put_done, NULL)) {
		case STORE_OK:
			dr.ok++;
			break;
		case STORE_DUPLICATE:
			dr.dup++;
			break;
		case STORE_WAIT:
			dr.pending++;
			break;
		default:
			dr.refused++;
			break;
		}
		nodes_seen(node, m.rx_ms, NULL);
	}
	snprintf(topic, sizeof topic, "%s/%s",
	    dr.cls == STORE_CLASS_WINDOW ? "windows" :
	    dr.cls == STORE_CLASS_SUMMARY ? "summary" : "events", node);
	if (store_outbox_add(topic, body, (size_t)n, dr.cls, dr.retain,
	    put_done, NULL) == 0)
		dr.pending++;
	else
		dr.refused++;
	dr.payload_bytes += (uint64_t)n;
	free(body);
}

/* Idle: put one batch per loop turn until every row is in. */
static void
feeder_cb(uv_idle_t *h)
{
	long	i, end = dr.next + dr.batch;

	if (end > dr.rows)
		end = dr.rows;
	for (i = dr.next; i < end; i++)
		put_one(i + dr.offset);
	dr.next = end;
	if (dr.next >= dr.rows)
		uv_idle_stop(h);
}

/* Live rows: one every 2 ms after the reconnect, while a backlog drains. */
static void
live_cb(uv_timer_t *t)
{
	put_one(1000000 + dr.live_next);
	if (++dr.live_next >= dr.live_rows)
		uv_timer_stop(t);
}

/* Poll: report commits, the first connect and the drained outbox. */
static void
poll_cb(uv_timer_t *t)
{
	struct store_stats	ss;
	struct uplink_stats	us;

	(void)t;
	if (dr.stopping)
		return;
	if (!dr.reported && dr.next >= dr.rows && dr.pending == 0) {
		struct store_stats	s0;

		store_stats(&s0);
		dr.reported = 1;
		store_flush();
		printf("committed %ld dup %ld refused %ld\n", dr.ok, dr.dup,
		    dr.refused);
		printf("io write_bytes=%" PRIu64 " payload_bytes=%" PRIu64
		    " put_ms=%" PRIu64 "\n", io_write_bytes() - dr.io0,
		    dr.payload_bytes, uv_now(t->loop) - dr.t_start);
		printf("store queued=%" PRIu64 " bytes=%" PRIu64 " dropped=%"
		    PRIu64 " messages=%" PRIu64 "\n", s0.queued, s0.bytes,
		    s0.dropped, s0.messages);
		fflush(stdout);
	}
	/*
	 * The commits and the idle checkpoint in the pool (5 s after the
	 * last write) are over once nothing has been written for 6 s: the
	 * write total is complete and the database file holds everything.
	 */
	if (dr.reported && !dr.ckpt_reported) {
		uint64_t	io = io_write_bytes();

		if (io != dr.io_last) {
			dr.io_last = io;
			dr.io_still = uv_now(t->loop);
		} else if (uv_now(t->loop) - dr.io_still >= 6000) {
			dr.ckpt_reported = 1;
			printf("io_ckpt write_bytes=%" PRIu64 " payload_bytes=%"
			    PRIu64 "\n", io - dr.io0, dr.payload_bytes);
		}
	}
	uplink_stats(&us);
	/* The drain time counts from the latest connect. */
	if (us.connected && !dr.was_conn && dr.reported && dr.live_rows > 0 &&
	    dr.live_next == 0)
		uv_timer_start(&dr.live, live_cb, 2, 2);
	if (us.connected && !dr.was_conn) {
		dr.connected = 1;
		dr.t_conn = uv_now(t->loop);
		printf("connected\n");
		fflush(stdout);
	}
	dr.was_conn = us.connected;
	store_stats(&ss);
	if (dr.exit_drained && dr.reported && dr.connected && ss.queued == 0 &&
	    dr.live_next >= dr.live_rows) {
		printf("drained rows=%ld ms=%" PRIu64 "\n", dr.rows,
		    uv_now(t->loop) - dr.t_conn);
		fflush(stdout);
		driver_stop();
	}
}

/* Housekeeping, as the daemon's 1-second timer does it. */
static void
tick_cb(uv_timer_t *t)
{
	uint64_t	now = uv_now(t->loop);

	store_check(now);
	nodes_check(now);
	monitor_check(now);
}

/* SIGTERM: clean stop; SIGUSR1: start putting (with -w). */
static void
sig_cb(uv_signal_t *s, int signum)
{
	(void)s;
	if (signum == SIGUSR1) {
		if (!dr.stopping && dr.next < dr.rows) {
			if (dr.heartbeat != NULL) {
		cJSON	*hb = cJSON_Parse(dr.heartbeat);

		nodes_seen("n1", daemon_now_ms(), hb);
		cJSON_Delete(hb);
	}
	dr.io0 = io_write_bytes();
			dr.t_start = uv_now(s->loop);
			uv_idle_start(&dr.feeder, feeder_cb);
		}
		return;
	}
	driver_stop();
}

/* Parse options, start the modules, run. */
int
main(int argc, char **argv)
{
	struct config	*cf = NULL;
	const char	*conf = NULL, *kind = "event";
	char		*cause = NULL;
	uv_loop_t	*loop = daemon_loop();
	int		 ch, rv;

	log_init("te-storeput");
	dr.size = 100;
	dr.batch = 100;
	dr.boot = 1;
	while ((ch = getopt(argc, argv, "B:b:c:H:k:l:mn:o:rs:wx")) != -1) {
		switch (ch) {
		case 'B': dr.batch = atol(optarg); break;
		case 'b': dr.boot = atol(optarg); break;
		case 'c': conf = optarg; break;
		case 'H': dr.heartbeat = optarg; break;
		case 'k': kind = optarg; break;
		case 'l': dr.live_rows = atol(optarg); break;
		case 'm': dr.msgs = 1; break;
		case 'n': dr.rows = atol(optarg); break;
		case 'o': dr.offset = atol(optarg); break;
		case 'r': dr.retain = 1; break;
		case 's': dr.size = atol(optarg); break;
		case 'w': dr.wait_usr1 = 1; break;
		case 'x': dr.exit_drained = 1; break;
		default:
			fprintf(stderr, "usage: te-storeput -c CONF [-n N] "
			    "[-s BYTES] [-B BATCH] [-k KIND] [-r] [-m] [-x]\n");
			return (2);
		}
	}
	if (conf == NULL || dr.batch < 1 || dr.size < 0)
		return (2);
	dr.cls = strcmp(kind, "window") == 0 ? STORE_CLASS_WINDOW :
	    strcmp(kind, "summary") == 0 ? STORE_CLASS_SUMMARY :
	    STORE_CLASS_EVENT;
	if (config_load(conf, &cf, &cause) != 0) {
		fprintf(stderr, "%s\n", cause);
		return (1);
	}
	log_set_level(LOG_LEVEL_DEBUG);
	if (strcmp(config_str(cf, "gateway", "log_level"), "debug") != 0)
		log_set_level(LOG_LEVEL_INFO);
	signal(SIGPIPE, SIG_IGN);
	uv_loop_init(loop);
	mkdir(config_str(cf, "gateway", "data_dir"), 0750);
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (store_start(cf, &cause) != 0 || uplink_start(cf, &cause) != 0 ||
	    nodes_start(cf, &cause) != 0 || monitor_start(cf, &cause) != 0) {
		fprintf(stderr, "cannot start: %s\n", cause);
		return (3);
	}
	if (dr.heartbeat != NULL) {
		cJSON	*hb = cJSON_Parse(dr.heartbeat);

		nodes_seen("n1", daemon_now_ms(), hb);
		cJSON_Delete(hb);
	}
	dr.io0 = io_write_bytes();
	dr.t_start = uv_now(loop);
	uv_idle_init(loop, &dr.feeder);
	if (!dr.wait_usr1)
		uv_idle_start(&dr.feeder, feeder_cb);
	uv_timer_init(loop, &dr.poll);
	uv_timer_start(&dr.poll, poll_cb, 5, 5);
	uv_timer_init(loop, &dr.live);
	uv_timer_init(loop, &dr.tick);
	uv_timer_start(&dr.tick, tick_cb, 1000, 1000);
	uv_signal_init(loop, &dr.sigterm);
	uv_signal_start(&dr.sigterm, sig_cb, SIGTERM);
	uv_signal_init(loop, &dr.sigusr1);
	uv_signal_start(&dr.sigusr1, sig_cb, SIGUSR1);
	uv_run(loop, UV_RUN_DEFAULT);
	rv = uv_loop_close(loop);
	if (rv != 0)
		fprintf(stderr, "uv_loop_close: %s\n", uv_strerror(rv));
	config_free(cf);
	return (rv == 0 ? 0 : 1);
}
