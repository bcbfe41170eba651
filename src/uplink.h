/*
 * uplink.h - the MQTT uplink: publishes the store's outbox and the
 * current-state topics (status, metrics, node status) to the broker.
 *
 * Paho MQTTAsync runs its own threads; every callback is bridged to the
 * loop thread, which alone touches the store and uplink state.
 */
#ifndef TE_UPLINK_H
#define TE_UPLINK_H

#include <stddef.h>
#include <stdint.h>

struct config;

/* Numbers for P/metrics. */
struct uplink_stats {
	int		connected;
	uint64_t	published;	/* outbox rows acknowledged */
	uint64_t	inflight;
	uint64_t	reconnects;
};

typedef void	(*uplink_hook)(void);
/*
 * A message of a subscribed topic (relative to the prefix, e.g.
 * "cmd/reload"), on the loop thread; the bytes are valid during the call.
 * Two markers come with data NULL and no bytes, so the handler can still
 * answer: len UPLINK_MSG_TOO_LARGE, the payload was over
 * mqtt.command_max; len UPLINK_MSG_DROPPED, the queue to the loop was
 * full (a burst), so the payload was not kept.
 */
#define UPLINK_MSG_TOO_LARGE	SIZE_MAX
#define UPLINK_MSG_DROPPED	(SIZE_MAX - 1)
typedef void	(*uplink_message_cb)(const char *, const void *, size_t);
/*
 * uplink_watch(): one topic outside the prefix (Home Assistant's birth
 * message) subscribed after every connect; its messages reach the
 * callback with the full topic (markers as above).  NULL stops it.
 */

int		 uplink_start(const struct config *, char **);
void		 uplink_reload(const struct config *);
void		 uplink_stop(void);
size_t		 uplink_status(char *, size_t);
void		 uplink_stats(struct uplink_stats *);
const char	*uplink_prefix(void);
int		 uplink_publish_now(const char *, const void *, size_t, int,
		    int);
int		 uplink_publish_expiring(const char *, const void *, size_t,
		    uint32_t);
void		 uplink_on_connect(uplink_hook);
int		 uplink_stopped(void);
void		 uplink_set_message_handler(uplink_message_cb);
void		 uplink_watch(const char *, uplink_message_cb);

#endif
