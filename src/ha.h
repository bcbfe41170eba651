/*
 * ha.h - Home Assistant MQTT discovery, part of the monitoring stage.
 *
 * The monitor calls in: after every connect (ha_connected), for every
 * node status it sends (ha_node, body NULL when the node is forgotten),
 * and at the end of every loop turn (ha_drain).
 * Home Assistant's birth message ({prefix}/status "online") reaches us
 * through uplink_watch().  Nothing else calls into it.
 */
#ifndef TE_HA_H
#define TE_HA_H

struct config;

int	ha_start(const struct config *, char **);
void	ha_stop(void);
void	ha_connected(void);
int	ha_node(const char *, const char *);
void	ha_drain(void);

#endif
