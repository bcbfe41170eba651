/*
 * daemon.h - the event loop's lifecycle: start, reload, graceful stop.
 *
 * The daemon owns one libuv loop and the current configuration.  Modules
 * (store, uplink, ingest, ...) are started in order from a table in
 * daemon.c, get the new configuration on SIGHUP, and are asked to stop on
 * SIGTERM/SIGINT; they close their own handles, and the loop runs until
 * every handle is closed.
 */
#ifndef TE_DAEMON_H
#define TE_DAEMON_H

#include <stdint.h>
#include <uv.h>

struct config;

/* Exit statuses of tinyedged (SPEC section 1). */
#define DAEMON_EXIT_OK		0
#define DAEMON_EXIT_CONFIG	1
#define DAEMON_EXIT_USAGE	2
#define DAEMON_EXIT_START	3

int			 daemon_check_config(const struct config *, char **);
int			 daemon_run(struct config *, char **);
int			 daemon_reload(char **);
uv_loop_t		*daemon_loop(void);
const struct config	*daemon_config(void);
void			 daemon_stop(void);
uint64_t		 daemon_now_ms(void);
uint64_t		 daemon_uptime_ms(void);
int			 daemon_stopping(void);

#endif
