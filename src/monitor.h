/*
 * monitor.h - the monitoring stage: P/metrics and P/nodes/{node}/status.
 *
 * The one module, besides the uplink's outbox drain, that publishes: it
 * reads the counters (metrics.h), the registry's changed nodes (nodes.h)
 * and the modules' gauges, and hands them to the uplink.  Nothing calls
 * into it but the daemon's module and housekeeping tables.
 */
#ifndef TE_MONITOR_H
#define TE_MONITOR_H

#include <stdint.h>

struct config;

int	 monitor_start(const struct config *, char **);
void	 monitor_reload(const struct config *);
void	 monitor_stop(void);
void	 monitor_check(uint64_t);
char	*monitor_json(void);
void	 monitor_publish(void);

#endif
