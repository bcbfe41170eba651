/*
 * tier2.h - the second tier: heavier models run by the gateway on the raw
 * windows nodes send ([tier2:NAME] sections, SPEC section 2).
 *
 * A store hook sees each newly stored window, picks the models whose node
 * glob and escalation rule (always, or the node's own score below a
 * threshold) match, and queues the window per model.  Each model runs one
 * window at a time on the libuv thread pool; a full queue skips the window
 * and counts it.  Results come back on the loop thread and are stored as
 * STORE_KIND_TIER2 messages, which the summary stage turns into tier-2
 * events.  SIGHUP reloads a changed model file, keeping the old model when
 * the new one does not load.
 */
#ifndef TE_TIER2_H
#define TE_TIER2_H

#include <stddef.h>

struct config;
struct cJSON;

int	tier2_start(const struct config *, char **);
void	tier2_reload(const struct config *);
void	tier2_stop(void);
size_t	tier2_status(char *, size_t);
void	tier2_metrics(struct cJSON *);

/* A replacement finished: ok 1, or ok 0 with a cause (old model kept). */
typedef void	(*tier2_replace_cb)(int, const char *, void *);
int	tier2_replace(const char *, const void *, size_t, tier2_replace_cb,
	    void *, char **);

#endif
