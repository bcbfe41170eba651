/*
 * nodes.h - the node registry: who is online, last seen, heartbeat fields,
 * and which new node ids are let in.
 *
 * Ingest asks nodes_admit() before storing a message (a new id must pass
 * the source's rate, gateway.new_nodes_per_minute, and find room under
 * gateway.max_nodes) and calls nodes_seen() for every stored one.  The
 * registry publishes nothing: it marks a node changed when it appears,
 * when its heartbeat fields change and when it times out
 * (gateway.node_timeout), and keeps the forgotten ones whose status is to
 * be cleared; the monitor sends both through nodes_flush_changed() and,
 * after a reconnect, nodes_flush_all().
 */
#ifndef TE_NODES_H
#define TE_NODES_H

#include <stddef.h>
#include <stdint.h>

struct config;
struct cJSON;

#define NODES_RATE_SOURCES	256	/* sources whose rate is tracked */

/* What nodes_admit() says about a message's node. */
enum nodes_admit {
	NODES_ADMIT_OK = 0,
	NODES_ADMIT_RATE,	/* a new id, its source is over its rate */
	NODES_ADMIT_FULL,	/* a new id, every known node is online */
};

/* Counters of the limits, for P/metrics and tests. */
struct nodes_stats {
	uint64_t	forgotten;	/* to make room for a new id */
	uint64_t	refused_rate;
	uint64_t	refused_full;
	uint64_t	clears_pending;	/* clears awaiting a connect */
	uint64_t	clears_lost;	/* given up: too many waiting */
	uint64_t	sources;	/* sources with a rate bucket */
};

/*
 * How the monitor sends a node's status: body is the retained status, or
 * NULL for the empty message that clears it.  Returns 0 if sent.
 */
typedef int (*nodes_send_cb)(const char *, const char *);
typedef void (*nodes_each_cb)(const char *, void *);
/* The gateway's settings rev of a node, 0 if none (control_rev). */
typedef uint32_t (*nodes_rev_cb)(const char *);

int	nodes_start(const struct config *, char **);
void	nodes_reload(const struct config *);
void	nodes_stop(void);
void	nodes_check(uint64_t);
enum nodes_admit nodes_admit(const char *, const char *, int, uint64_t);
void	nodes_seen(const char *, uint64_t, const struct cJSON *);
void	nodes_counts(uint64_t *, uint64_t *);
int	nodes_known(const char *);
void	nodes_foreach(nodes_each_cb, void *);
void	nodes_stats(struct nodes_stats *);
void	nodes_metrics(struct cJSON *);
char	*nodes_status(const char *);
void	nodes_flush_changed(nodes_send_cb);
void	nodes_flush_all(nodes_send_cb);
void	nodes_settings_changed(const char *);
void	nodes_set_rev(nodes_rev_cb);

/* nodes_rate.c: the per-source token buckets for new ids. */
void	nodes_rate_reset(void);
void	nodes_rate_configure(unsigned);
int	nodes_rate_enabled(void);
size_t	nodes_rate_sources(void);
int	nodes_rate_check(const char *, uint64_t);
void	nodes_rate_take(const char *, uint64_t);

#endif
