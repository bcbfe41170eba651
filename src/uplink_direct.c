/*
 * uplink_direct.c - what the uplink hands to Paho itself, one message at a
 * time: the publish call every path shares (outbox rows, P/status), the
 * P/status body, and the MQTT 5 extras of current-state messages (message
 * expiry, topic aliases) for P/metrics.
 *
 * It also keeps whom messages from the broker go to: the handler of
 * P/cmd/# (command.c) and one watched topic outside the prefix (Home
 * Assistant's status), both set from outside, maybe before the uplink
 * starts.
 *
 * Topic aliases live as long as one connection: the CONNACK says how many
 * the broker grants, uplink_alias_reset() forgets ours at every connect.
 * Only QoS 0 messages take an alias: they are never sent again, so never
 * after a reconnect under an alias the new connection does not know.
 */
#include <MQTTAsync.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "daemon.h"
#include "metrics.h"
#include "uplink.h"
#include "uplink_int.h"
#include "uplink_paho.h"
#include "xmalloc.h"

#define UPLINK_ALIASES		8	/* topic aliases we use at most */

static struct {
	int	 max;			/* granted by the CONNACK */
	char	*topic[UPLINK_ALIASES];	/* alias i + 1 */
	size_t	 n;
} aliases;

static struct {
	uplink_message_cb	 handler;	/* P/cmd/# */
	uplink_message_cb	 cb;		/* the watched topic's */
	char			*topic;
} watch;

/* Publish one message with id as context; 0 or a Paho error code. */
int
uplink_direct_send(void *cli, int mqtt5, const char *topic,
    const void *payload, size_t len, int qos, int retain, int64_t id)
{
	MQTTAsync_message		m = MQTTAsync_message_initializer;
	MQTTAsync_responseOptions	ro =
	    MQTTAsync_responseOptions_initializer;

	m.payload = (void *)(uintptr_t)payload;
	m.payloadlen = (int)len;
	m.qos = qos;
	m.retained = retain;
	ro.context = (void *)(intptr_t)id;
	if (mqtt5) {
		ro.onSuccess5 = uplink_paho_pub_ok5;
		ro.onFailure5 = uplink_paho_pub_fail5;
	} else {
		ro.onSuccess = uplink_paho_pub_ok;
		ro.onFailure = uplink_paho_pub_fail;
	}
	return (MQTTAsync_sendMessage(cli, topic, &m, &ro));
}

/* The P/status body for a state (caller frees). */
char *
uplink_status_json(const char *state)
{
	char	id[48], *s;

	metrics_new_id(id, sizeof id);
	xasprintf(&s, "{\"id\":\"%s\",\"state\":\"%s\",\"version\":\"%s\","
	    "\"since\":%" PRIu64 "}", id, state, PACKAGE_VERSION,
	    daemon_now_ms());
	return (s);
}

/*
 * The topic alias for a topic on this connection: its number, and *known
 * whether the broker has it already.  0: none (not granted, or all
 * taken).
 */
static int
uplink_alias(const char *topic, int *known)
{
	size_t	i, max;

	*known = 0;
	max = aliases.max < UPLINK_ALIASES ? (size_t)aliases.max :
	    UPLINK_ALIASES;
	for (i = 0; i < aliases.n; i++) {
		if (strcmp(aliases.topic[i], topic) == 0) {
			*known = 1;
			return ((int)i + 1);
		}
	}
	if (aliases.n >= max)
		return (0);
	aliases.topic[aliases.n++] = xstrdup(topic);
	return ((int)aliases.n);
}

/* A new connection (granting max aliases) or none: forget the aliases. */
void
uplink_alias_reset(int max)
{
	size_t	i;

	for (i = 0; i < aliases.n; i++)
		free(aliases.topic[i]);
	aliases.n = 0;
	aliases.max = max;
}

/*
 * Publish a current-state message under MQTT 5 at QoS 0, not retained,
 * with a Message Expiry Interval of expiry_s (0: none) and, when the
 * broker granted aliases, a topic alias: the topic goes once per
 * connection, then only its number.  0, or -1 if Paho refused it.
 */
int
uplink_direct_expiring(void *cli, const char *topic, const void *payload,
    size_t len, uint32_t expiry_s)
{
	MQTTAsync_message		m = MQTTAsync_message_initializer;
	MQTTAsync_responseOptions	ro =
	    MQTTAsync_responseOptions_initializer;
	MQTTProperty			p;
	int				rc, alias, known;

	m.payload = (void *)(uintptr_t)payload;
	m.payloadlen = (int)len;
	if (expiry_s > 0) {
		p.identifier = MQTTPROPERTY_CODE_MESSAGE_EXPIRY_INTERVAL;
		p.value.integer4 = expiry_s;
		MQTTProperties_add(&m.properties, &p);
	}
	if ((alias = uplink_alias(topic, &known)) != 0) {
		p.identifier = MQTTPROPERTY_CODE_TOPIC_ALIAS;
		p.value.integer2 = (unsigned short)alias;
		MQTTProperties_add(&m.properties, &p);
	}
	ro.onSuccess5 = uplink_paho_pub_ok5;
	ro.onFailure5 = uplink_paho_pub_fail5;
	rc = MQTTAsync_sendMessage(cli, known ? "" : topic, &m, &ro);
	MQTTProperties_free(&m.properties);
	return (rc == MQTTASYNC_SUCCESS ? 0 : -1);
}

/* The handler for messages of subscribed topics (NULL: drop them). */
void
uplink_set_message_handler(uplink_message_cb cb)
{
	watch.handler = cb;
}

/* Watch topic (NULL: none) with cb; the uplink subscribes. */
void
uplink_direct_watch(const char *topic, uplink_message_cb cb)
{
	free(watch.topic);
	watch.topic = topic != NULL ? xstrdup(topic) : NULL;
	watch.cb = topic != NULL ? cb : NULL;
}

/* The watched topic, or NULL. */
const char *
uplink_watched(void)
{
	return (watch.topic);
}

/* Hand the messages Paho delivered to their handlers, on the loop. */
void
uplink_direct_deliver(const char *prefix)
{
	uplink_paho_deliver(prefix, watch.handler, watch.topic, watch.cb);
}
