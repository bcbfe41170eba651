/*
 * uplink_int.h - private to the uplink family: its [mqtt] settings as
 * uplink_conf.c reads them for uplink.c.
 */
#ifndef TE_UPLINK_INT_H
#define TE_UPLINK_INT_H

#include <stddef.h>
#include <stdint.h>

#include "uplink.h"

struct config;

/* The [mqtt] keys the client runs with (strings owned; "" when unset). */
struct uplink_conf {
	char	*uri;
	char	*client_id;
	char	*prefix;		/* topic_prefix */
	char	*status_topic;		/* prefix/status */
	char	*username;
	char	*password;		/* password_file's line, or NULL */
	char	*ca;
	char	*cert;
	char	*key;
	int	 qos;
	int	 mqtt5;
	int	 keepalive_s;
	size_t	 max_inflight;
	int	 commands;		/* subscribe to prefix/cmd/# */
	size_t	 command_max;		/* larger commands: a marker */
	uint32_t session_expiry_s;	/* MQTT 5; 0: clean start */
};

int	uplink_conf_read(const struct config *, struct uplink_conf *,
	    char **);
void	uplink_conf_free(struct uplink_conf *);

/* uplink_direct.c (cli is an MQTTAsync, a void pointer in Paho) */
int	uplink_direct_send(void *, int, const char *, const void *, size_t,
	    int, int, int64_t);
char	*uplink_status_json(const char *);
void	uplink_alias_reset(int);
int	uplink_direct_expiring(void *, const char *, const void *, size_t,
	    uint32_t);
void	uplink_direct_watch(const char *, uplink_message_cb);
const char *uplink_watched(void);
void	uplink_direct_deliver(const char *);

/* uplink_ack.c */
void	uplink_ack_add(int64_t);
size_t	uplink_ack_pending(void);
void	uplink_ack_flush(void);
void	uplink_ack_free(void);

#endif
