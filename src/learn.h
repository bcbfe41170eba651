/*
 * learn.h - learning at the gateway (SPEC section 11): per-node anomaly
 * models for each [learn:NAME] section, the daemon's side of the pure
 * autoencoder library in src/learn/ae.h.
 *
 * A store hook collects the feature vectors of each matching node's first
 * `windows` windows (kept in the store), a training in the libuv pool
 * turns them into an int8 .tflite model, which then scores every later
 * window of that node as a tier-2 inference and is served as node model
 * learn-NAME-{node}.  P/learn/{NAME}/{node} (retained) says where each
 * node is.  All functions run on the loop thread.
 */
#ifndef TE_LEARN_H
#define TE_LEARN_H

#include <stddef.h>

struct config;
struct cJSON;

int	learn_config_check(const struct config *, char **);
int	learn_start(const struct config *, char **);
void	learn_reload(const struct config *);
void	learn_stop(void);
size_t	learn_status(char *, size_t);
void	learn_metrics(struct cJSON *);
int	learn_restart(const char *, const char *, char **);

#endif
