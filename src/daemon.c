/*
 * daemon.c - start-up, the housekeeping timer, reload and shutdown.
 *
 * Start-up order: data directory, then each module of daemon_modules[] in
 * order; any failure is a one-line reason and exit 3, after the modules
 * already started are stopped again.  READY=1 goes to systemd only when
 * every module (and so every listener) is up.
 *
 * One housekeeping timer runs the named checks of daemon_checks[]: the
 * systemd watchdog, the STATUS= line, and whatever periodic work the modules
 * need.  Modules do not start timers of their own for periodic chores.
 *
 * Shutdown: STOPPING=1, modules stopped in reverse order (each closes its
 * handles; some finish in-flight work first), then every remaining handle
 * is closed and the loop runs until uv_loop_close() succeeds.  A deadline
 * timer that does not keep the loop alive forces the close if a module
 * hangs.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>

#include "command.h"
#include "config.h"
#include "control.h"
#include "daemon.h"
#include "fed.h"
#include "ingest_coap.h"
#include "ingest_serial.h"
#include "learn.h"
#include "log.h"
#include "models.h"
#include "monitor.h"
#include "nodes.h"
#include "store.h"
#include "summary.h"
#include "tier2.h"
#include "tier2_model.h"
#include "uplink.h"
#include "xmalloc.h"

#define DAEMON_TICK_MS		1000	/* housekeeping period at most */
#define DAEMON_STOP_DEADLINE_MS	1500	/* force-close after this */

/*
 * A module of the daemon: started in order, stopped in reverse.  check
 * validates what the config table cannot (a tier-2 model against its
 * features); it runs after every successful config_load: -t, start, reload.
 */
struct daemon_module {
	const char	*name;
	int		(*check)(const struct config *, char **);
	int		(*start)(const struct config *, char **);
	void		(*reload)(const struct config *);
	void		(*stop)(void);
	size_t		(*status)(char *, size_t);
};

/* A named periodic check run by the housekeeping timer. */
struct daemon_check {
	const char	*name;
	void		(*run)(uint64_t);
};

static int	daemon_start_data_dir(const struct config *, char **);
static void	daemon_check_watchdog(uint64_t);
static void	daemon_check_status(uint64_t);

static const struct daemon_module daemon_modules[] = {
	{ "data_dir", NULL, daemon_start_data_dir, NULL, NULL, NULL },
	{ "store", NULL, store_start, store_reload, store_stop, store_status },
	{ "uplink", NULL, uplink_start, uplink_reload, uplink_stop,
	    uplink_status },
	{ "nodes", NULL, nodes_start, nodes_reload, nodes_stop, NULL },
	{ "models", NULL, models_start, models_reload, models_stop, NULL },
	{ "control", NULL, control_start, control_reload, control_stop, NULL },
	{ "monitor", NULL, monitor_start, monitor_reload, monitor_stop, NULL },
	{ "summary", NULL, summary_start, summary_reload, summary_stop, NULL },
	{ "tier2", tier2_model_check, tier2_start, tier2_reload, tier2_stop,
	    tier2_status },
	{ "fl", fed_config_check, fed_start, fed_reload, fed_stop, fed_status },
	{ "learn", learn_config_check, learn_start, learn_reload, learn_stop,
	    learn_status },
	{ "command", NULL, command_start, command_reload, command_stop, NULL },
	{ "coap", NULL, ingest_coap_start, ingest_coap_reload, ingest_coap_stop,
	    ingest_coap_status },
	{ "serial", NULL, ingest_serial_start, ingest_serial_reload,
	    ingest_serial_stop, NULL },
};
#define NMODULES (sizeof daemon_modules / sizeof daemon_modules[0])

static const struct daemon_check daemon_checks[] = {
	{ "watchdog", daemon_check_watchdog },
	{ "status", daemon_check_status },
	{ "store", store_check },
	{ "nodes", nodes_check },
	{ "monitor", monitor_check },
	{ "summary", summary_check },
	{ "models", models_check },
	{ "fl", fed_check },
	{ "command", command_check },
	{ "serial", ingest_serial_check },
	{ "coap", ingest_coap_check },
};

static struct {
	uv_loop_t	 loop;
	struct config	*cf;
	uv_signal_t	 sig_term;
	uv_signal_t	 sig_int;
	uv_signal_t	 sig_hup;
	uv_timer_t	 tick;
	uv_timer_t	 deadline;
	size_t		 started;	/* modules started so far */
	int		 stopping;
	uint64_t	 start_ms;
	uint64_t	 watchdog_usec;
	uint64_t	 watchdog_last;
	char		 status[256];
} process;

/* The loop every module runs on. */
uv_loop_t *
daemon_loop(void)
{
	return (&process.loop);
}

/* The configuration in force. */
const struct config *
daemon_config(void)
{
	return (process.cf);
}

/* Wall-clock milliseconds since the epoch. */
uint64_t
daemon_now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ((uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000);
}

/* Milliseconds since the daemon started (monotonic). */
uint64_t
daemon_uptime_ms(void)
{
	return (uv_now(&process.loop) - process.start_ms);
}

/* Non-zero once a stop has begun. */
int
daemon_stopping(void)
{
	return (process.stopping);
}

/* Make sure data_dir exists and we can create files in it. */
static int
daemon_start_data_dir(const struct config *cf, char **cause)
{
	const char	*dir = config_str(cf, "gateway", "data_dir");
	struct stat	 sb;
	char		*probe;
	int		 fd;

	if (mkdir(dir, 0750) == -1 && errno != EEXIST) {
		xasprintf(cause, "data_dir %s: %s", dir, strerror(errno));
		return (-1);
	}
	if (stat(dir, &sb) == -1 || !S_ISDIR(sb.st_mode)) {
		xasprintf(cause, "data_dir %s: %s", dir,
		    errno ? strerror(errno) : "not a directory");
		return (-1);
	}
	xasprintf(&probe, "%s/.tinyedge-probe", dir);
	fd = open(probe, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd == -1) {
		xasprintf(cause, "data_dir %s: not writable: %s", dir,
		    strerror(errno));
		free(probe);
		return (-1);
	}
	close(fd);
	unlink(probe);
	free(probe);
	return (0);
}

/* Send WATCHDOG=1 every WATCHDOG_USEC/2 while the loop turns. */
static void
daemon_check_watchdog(uint64_t now)
{
	if (process.watchdog_usec == 0)
		return;
	if ((now - process.watchdog_last) * 1000 >= process.watchdog_usec / 2) {
		sd_notify(0, "WATCHDOG=1");
		process.watchdog_last = now;
	}
}

/* Send STATUS= when the one-line summary changes. */
static void
daemon_check_status(uint64_t now)
{
	char	buf[sizeof process.status], msg[sizeof buf + 16];
	size_t	i, n = 0;

	(void)now;
	for (i = 0; i < process.started && n < sizeof buf - 1; i++) {
		if (daemon_modules[i].status == NULL)
			continue;
		if (n > 0)
			n += (size_t)snprintf(buf + n, sizeof buf - n, "; ");
		if (n < sizeof buf)
			n += daemon_modules[i].status(buf + n, sizeof buf - n);
	}
	if (n == 0)
		snprintf(buf, sizeof buf, "running");
	buf[sizeof buf - 1] = '\0';
	if (strcmp(buf, process.status) == 0)
		return;
	memcpy(process.status, buf, sizeof buf);
	snprintf(msg, sizeof msg, "STATUS=%s", buf);
	sd_notify(0, msg);
}

/* The housekeeping timer: run every named check. */
static void
daemon_tick_cb(uv_timer_t *t)
{
	uint64_t	now = uv_now(t->loop);
	size_t		i;

	for (i = 0; i < sizeof daemon_checks / sizeof daemon_checks[0]; i++)
		daemon_checks[i].run(now);
}

/* Log one changed key during a reload. */
static void
daemon_reload_change(const char *sect, const char *key, int reloadable,
    void *arg)
{
	(void)arg;
	if (key == NULL)
		log_warnx("reload: section [%s] added or removed: needs a "
		    "restart", sect);
	else if (reloadable)
		log_info("reload: %s.%s changed", sect, key);
	else
		log_warnx("reload: %s.%s changed: needs a restart to take "
		    "effect", sect, key);
}

/*
 * Run every module's check column on a loaded configuration, collecting
 * all failures ("FILE:LINE: message" lines) into *cause.
 */
int
daemon_check_config(const struct config *cf, char **cause)
{
	char	*one = NULL, *all = NULL;
	size_t	 i;

	for (i = 0; i < NMODULES; i++) {
		if (daemon_modules[i].check == NULL ||
		    daemon_modules[i].check(cf, &one) == 0)
			continue;
		config_cause_add(&all, "%s", one);
		free(one);
		one = NULL;
	}
	if (all == NULL)
		return (0);
	*cause = all;
	return (-1);
}

/*
 * SIGHUP or the reload command: parse the file again; on any error keep
 * the running config and return -1 with the errors in *cause (when cause
 * is not NULL).
 */
int
daemon_reload(char **cause_out)
{
	struct config	*nc;
	enum log_level	 level;
	char		*cause = NULL;
	size_t		 i;

	sd_notify(0, "RELOADING=1");
	log_info("reload: reading %s", config_path(process.cf));
	if (config_load(config_path(process.cf), &nc, &cause) != 0 ||
	    daemon_check_config(nc, &cause) != 0) {
		config_free(nc);
		log_error_lines(cause);
		log_warnx("reload: rejected, keeping the running "
		    "configuration");
		if (cause_out != NULL)
			*cause_out = cause;
		else
			free(cause);
		sd_notify(0, "READY=1");
		return (-1);
	}
	config_diff(process.cf, nc, daemon_reload_change, NULL);
	if (log_level_from_name(config_str(nc, "gateway", "log_level"),
	    &level) == 0)
		log_set_level(level);
	for (i = 0; i < process.started; i++) {
		if (daemon_modules[i].reload != NULL)
			daemon_modules[i].reload(nc);
	}
	config_free(process.cf);
	process.cf = nc;
	log_info("reload: done");
	sd_notify(0, "READY=1");
	return (0);
}

/* Close a handle unless it is closing already (uv_walk callback). */
static void
daemon_close_walk(uv_handle_t *h, void *arg)
{
	(void)arg;
	if (!uv_is_closing(h))
		uv_close(h, NULL);
}

/* A module hung during stop: close everything that is left. */
static void
daemon_deadline_cb(uv_timer_t *t)
{
	log_warnx("stop: modules did not finish in %d ms, closing",
	    DAEMON_STOP_DEADLINE_MS);
	uv_walk(t->loop, daemon_close_walk, NULL);
}

/* Begin a graceful stop: modules in reverse order, then our handles. */
void
daemon_stop(void)
{
	size_t	i;

	if (process.stopping)
		return;
	process.stopping = 1;
	sd_notify(0, "STOPPING=1");
	log_info("stopping");
	for (i = process.started; i > 0; i--) {
		if (daemon_modules[i - 1].stop != NULL)
			daemon_modules[i - 1].stop();
	}
	uv_close((uv_handle_t *)&process.sig_term, NULL);
	uv_close((uv_handle_t *)&process.sig_int, NULL);
	uv_close((uv_handle_t *)&process.sig_hup, NULL);
	uv_close((uv_handle_t *)&process.tick, NULL);
	uv_timer_start(&process.deadline, daemon_deadline_cb,
	    DAEMON_STOP_DEADLINE_MS, 0);
	uv_unref((uv_handle_t *)&process.deadline);
}

/* One callback for every signal we handle. */
static void
daemon_signal_cb(uv_signal_t *s, int signum)
{
	(void)s;
	switch (signum) {
	case SIGHUP:
		daemon_reload(NULL);
		break;
	case SIGTERM:
	case SIGINT:
		log_info("received %s", signum == SIGTERM ? "SIGTERM" :
		    "SIGINT");
		daemon_stop();
		break;
	}
}

/* Report handles still open at loop close (a bug, but say which). */
static void
daemon_leak_walk(uv_handle_t *h, void *arg)
{
	(void)arg;
	log_warnx("stop: handle %s still open", uv_handle_type_name(h->type));
}

/* Run the loop until every handle is closed, then close it. */
static void
daemon_drain_loop(void)
{
	int	rv;

	uv_run(&process.loop, UV_RUN_DEFAULT);
	uv_walk(&process.loop, daemon_close_walk, NULL);
	uv_run(&process.loop, UV_RUN_DEFAULT);
	if ((rv = uv_loop_close(&process.loop)) != 0) {
		log_warnx("stop: uv_loop_close: %s", uv_strerror(rv));
		uv_walk(&process.loop, daemon_leak_walk, NULL);
	}
}

/*
 * Run the daemon with a loaded configuration (ownership passes to us).
 * Returns an exit status; on DAEMON_EXIT_START *cause says why.
 */
int
daemon_run(struct config *cf, char **cause)
{
	enum log_level	 level;
	uint64_t	 tick;
	size_t		 i;
	int		 rv;

	memset(&process, 0, sizeof process);
	process.cf = cf;
	if (log_level_from_name(config_str(cf, "gateway", "log_level"),
	    &level) == 0)
		log_set_level(level);
	signal(SIGPIPE, SIG_IGN);
	if ((rv = uv_loop_init(&process.loop)) != 0) {
		xasprintf(cause, "uv_loop_init: %s", uv_strerror(rv));
		config_free(cf);
		return (DAEMON_EXIT_START);
	}
	process.start_ms = uv_now(&process.loop);
	uv_signal_init(&process.loop, &process.sig_term);
	uv_signal_init(&process.loop, &process.sig_int);
	uv_signal_init(&process.loop, &process.sig_hup);
	uv_timer_init(&process.loop, &process.tick);
	uv_timer_init(&process.loop, &process.deadline);

	for (i = 0; i < NMODULES; i++) {
		if (daemon_modules[i].start(cf, cause) != 0) {
			log_debug("module %s failed to start",
			    daemon_modules[i].name);
			daemon_stop();
			daemon_drain_loop();
			config_free(process.cf);
			return (DAEMON_EXIT_START);
		}
		process.started = i + 1;
	}

	uv_signal_start(&process.sig_term, daemon_signal_cb, SIGTERM);
	uv_signal_start(&process.sig_int, daemon_signal_cb, SIGINT);
	uv_signal_start(&process.sig_hup, daemon_signal_cb, SIGHUP);
	if (sd_watchdog_enabled(0, &process.watchdog_usec) <= 0)
		process.watchdog_usec = 0;
	tick = DAEMON_TICK_MS;
	if (process.watchdog_usec != 0 && process.watchdog_usec / 2000 < tick)
		tick = process.watchdog_usec / 2000 ? process.watchdog_usec /
		    2000 : 1;
	uv_timer_start(&process.tick, daemon_tick_cb, tick, tick);

	log_info("tinyedged %s started, gateway %s", PACKAGE_VERSION,
	    config_str(cf, "gateway", "id"));
	daemon_check_status(uv_now(&process.loop));
	sd_notify(0, "READY=1");

	daemon_drain_loop();
	config_free(process.cf);
	process.cf = NULL;
	log_info("stopped");
	return (DAEMON_EXIT_OK);
}
