/*
 * control.h - node settings, the way back to the nodes (SPEC section 9.1).
 *
 * A node's settings are built from the [node:GLOB] sections that match its
 * id (in file order, later ones win), then the overrides set over MQTT
 * (kept in the store, RFC 7396 merge patches; null clears), then its model
 * assignment (a "model" key of NAME or NAME@VERSION, resolved through
 * models.h into {"name","version","sha256","size","uri"}).  Each node has
 * a rev (uint32) that grows whenever that document changes; revs and
 * overrides live in the store and survive restarts.  Records are made for
 * the nodes the registry knows (nodes.h) and bounded by gateway.max_nodes
 * (records of nodes it no longer knows are evicted first, those without
 * overrides before those with).  All functions run on the loop thread.
 */
#ifndef TE_CONTROL_H
#define TE_CONTROL_H

#include <stddef.h>
#include <stdint.h>

struct config;
struct cJSON;

/*
 * A node's document (rev, settings, model object) is at most this many
 * bytes, so it fits one CoAP response: config.c bounds each [node:GLOB]
 * section and control_patch() refuses a patch that would pass it; a node
 * that several sections together give too much gets
 * {"rev", "error": "settings too large"} (and its model).
 * control_settings() returns NULL for a node the registry does not know,
 * and when a changed document's new rev cannot be made durable (the store
 * refuses writes): answer 5.03 then.
 */
#define CONTROL_DOC_MAX		1024
#define CONTROL_MERGE_DEPTH	16	/* nesting of a merge patch */

/* Called on the loop when a node's settings changed (its new rev). */
typedef void	(*control_change_cb)(const char *, uint32_t);

int	control_start(const struct config *, char **);
void	control_reload(const struct config *);
void	control_stop(void);

char	*control_settings(const char *, uint32_t *);
uint32_t control_rev(const char *);
int	control_patch(const char *, const struct cJSON *, struct cJSON *,
	    char **);
void	control_set_notify(control_change_cb);
int	control_model_in_use(const char *, const char *);
void	control_models_changed(const char *);

int	control_merge_patch(struct cJSON **, const struct cJSON *);
int	control_merge_repeats(const struct cJSON *);

#endif
