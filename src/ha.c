/*
 * ha.c - Home Assistant MQTT discovery (SPEC 14, docs/homeassistant.md).
 *
 * One retained config per entity (not device-based discovery: a node's
 * battery entity comes later than its others, and one entity is then one
 * more publish, not a whole device again), at
 *
 *	{hp}/{component}/tinyedge_{gw}/{object}/config
 *
 * with object "gw_{what}" for the gateway's entities and "n_{node}__{what}"
 * for a node's, where {node} is the node id with every byte outside
 * [A-Za-z0-9-] written as "_" and two hex digits: so "__" only ever
 * separates, and every (node, what) has its own object id.  unique_id is
 * "tinyedge_{gw}_{object}": stable across restarts, unique per gateway.
 * The states are the topics that exist already (P/events/{node},
 * P/nodes/{node}/status, P/metrics); availability follows P/status and,
 * for a node's entities, its status too.
 *
 * The monitor drives it: every node status it sends (ha_node) queues
 * that node's configs once per "generation", and its battery entity the
 * first time a status carries battery_mv; a forgotten node (body NULL)
 * has empty retained configs queued, which Home Assistant takes as
 * removal.  The queue drains at the end of every loop turn (ha_drain,
 * from the monitor's turn handlers) as far as the uplink takes QoS 1
 * messages, so announcing a thousand nodes after a connect neither fails
 * past Paho's in-flight limit nor holds the loop.  A
 * generation ends at every connect and at every birth message of Home
 * Assistant ({hp}/status "online"), after which everything is announced
 * again.  The table of announced nodes follows the registry (its ids come
 * only from the registry's statuses, and leave with its clears; a birth
 * message also drops those the registry no longer knows), so it is
 * bounded by gateway.max_nodes and the registry's pending clears.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "config.h"
#include "ha.h"
#include "log.h"
#include "nodes.h"
#include "uplink.h"
#include "xmalloc.h"

#define HA_BUCKETS_MIN	64

/* One entity of a node or of the gateway. */
struct ha_entity {
	const char	*what;		/* object id suffix */
	const char	*component;	/* sensor, binary_sensor */
	const char	*name;
	const char	*state;		/* events, status, metrics */
	const char	*tmpl;		/* value_template */
	const char	*device_class;
	const char	*unit;
	const char	*state_class;
	int		 diagnostic;
	int		 node_avail;	/* available while the node is online */
};

static const struct ha_entity ha_node_entities[] = {
	{ "label", "sensor", "Last event", "events",
	  "{{ value_json.label }}", NULL, NULL, NULL, 0, 1 },
	{ "score", "sensor", "Last score", "events",
	  "{{ value_json.score }}", NULL, NULL, "measurement", 0, 1 },
	{ "online", "binary_sensor", "Online", "status",
	  "{{ value_json.state }}", "connectivity", NULL, NULL, 0, 0 },
	/* Last: announced only once a heartbeat carries battery_mv. */
	{ "battery", "sensor", "Battery", "status",
	  "{{ value_json.battery_mv }}", "voltage", "mV", "measurement", 1,
	  1 },
};
#define HA_NODE_N	(sizeof ha_node_entities / sizeof ha_node_entities[0])
#define HA_BATTERY	(HA_NODE_N - 1)

static const struct ha_entity ha_gw_entities[] = {
	{ "queued", "sensor", "Queued rows", "metrics",
	  "{{ value_json.store.queued }}", NULL, "rows", "measurement", 1,
	  0 },
	{ "uplink", "binary_sensor", "Uplink connected", "metrics",
	  "{{ 'ON' if value_json.uplink.connected else 'OFF' }}",
	  "connectivity", NULL, NULL, 1, 0 },
	{ "dropped", "sensor", "Dropped rows", "metrics",
	  "{{ value_json.store.dropped }}", NULL, "rows", "total_increasing",
	  1, 0 },
};
#define HA_GW_N		(sizeof ha_gw_entities / sizeof ha_gw_entities[0])

/* A node whose configs were announced (or are to be). */
struct ha_node {
	char		*id;
	char		*obj;		/* the encoded id */
	unsigned	 gen;		/* generation last announced in */
	int		 battery;	/* its battery config is out */
	int		 want_battery;	/* a status carried battery_mv */
	int		 remove;	/* forgotten: configs to remove */
	int		 queued;
	size_t		 step;		/* next entity to send */
	struct ha_node	*next;		/* in its bucket */
	struct ha_node	*qnext;		/* in the queue */
};

static struct {
	int		  on;
	char		 *hp;		/* discovery prefix */
	char		 *gw;		/* gateway id */
	char		 *birth;	/* {hp}/status */
	unsigned	  expire_s;	/* expire_after of gateway entities */
	unsigned	  gen;
	int		  gw_pending;	/* the gateway's configs to send */
	size_t		  gw_step;
	struct ha_node	 *qhead, **qtail;	/* to send, oldest first */
	struct ha_node	**buckets;
	size_t		  nbuckets, n;
} ha;

/* FNV-1a of a node id. */
static size_t
ha_hash(const char *s)
{
	uint32_t	h = 2166136261u;

	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return (h & (ha.nbuckets - 1));
}

/* The node's object id part: bytes outside [A-Za-z0-9-] as _XX. */
static char *
ha_encode(const char *id)
{
	static const char	 hex[] = "0123456789abcdef";
	char			*out, *p;
	unsigned char		 c;

	p = out = xmalloc(strlen(id) * 3 + 1);
	for (; *id != '\0'; id++) {
		c = (unsigned char)*id;
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-')
			*p++ = (char)c;
		else {
			*p++ = '_';
			*p++ = hex[c >> 4];
			*p++ = hex[c & 15];
		}
	}
	*p = '\0';
	return (out);
}

/* Add one availability entry: a topic whose JSON "state" says online. */
static void
ha_avail(cJSON *list, const char *topic)
{
	cJSON	*a;

	a = cJSON_CreateObject();
	cJSON_AddStringToObject(a, "topic", topic);
	cJSON_AddStringToObject(a, "value_template", "{{ value_json.state }}");
	cJSON_AddItemToArray(list, a);
}

/* The device block: a node's (node != NULL) or the gateway's. */
static void
ha_device(cJSON *o, const struct ha_node *node)
{
	cJSON	*d, *ids;
	char	*s;

	d = cJSON_AddObjectToObject(o, "device");
	ids = cJSON_AddArrayToObject(d, "identifiers");
	cJSON_AddStringToObject(d, "manufacturer", "tinyedge");
	if (node != NULL) {
		xasprintf(&s, "tinyedge_%s_n_%s", ha.gw, node->obj);
		cJSON_AddItemToArray(ids, cJSON_CreateString(s));
		free(s);
		cJSON_AddStringToObject(d, "name", node->id);
		cJSON_AddStringToObject(d, "model", "tinyedge node");
		xasprintf(&s, "tinyedge_%s", ha.gw);
		cJSON_AddStringToObject(d, "via_device", s);
		free(s);
		return;
	}
	xasprintf(&s, "tinyedge_%s", ha.gw);
	cJSON_AddItemToArray(ids, cJSON_CreateString(s));
	free(s);
	xasprintf(&s, "tinyedge %s", ha.gw);
	cJSON_AddStringToObject(d, "name", s);
	free(s);
	cJSON_AddStringToObject(d, "model", "tinyedge gateway");
	cJSON_AddStringToObject(d, "sw_version", PACKAGE_VERSION);
}

/* The config body of one entity (caller frees with cJSON_free). */
static char *
ha_config_json(const struct ha_entity *e, const struct ha_node *node,
    const char *obj)
{
	const char	*p = uplink_prefix();
	cJSON		*o, *av, *orig;
	char		*s, *text;

	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "name", e->name);
	xasprintf(&s, "tinyedge_%s_%s", ha.gw, obj);
	cJSON_AddStringToObject(o, "unique_id", s);
	free(s);
	if (node != NULL && strcmp(e->state, "events") == 0)
		xasprintf(&s, "%s/events/%s", p, node->id);
	else if (node != NULL)
		xasprintf(&s, "%s/nodes/%s/status", p, node->id);
	else
		xasprintf(&s, "%s/metrics", p);
	cJSON_AddStringToObject(o, "state_topic", s);
	cJSON_AddStringToObject(o, "value_template", e->tmpl);
	av = cJSON_AddArrayToObject(o, "availability");
	xasprintf(&s, "%s/status", p);
	ha_avail(av, s);
	free(s);
	if (node != NULL && e->node_avail) {
		xasprintf(&s, "%s/nodes/%s/status", p, node->id);
		ha_avail(av, s);
		free(s);
		cJSON_AddStringToObject(o, "availability_mode", "all");
	}
	if (e->device_class != NULL)
		cJSON_AddStringToObject(o, "device_class", e->device_class);
	if (e->unit != NULL)
		cJSON_AddStringToObject(o, "unit_of_measurement", e->unit);
	if (e->state_class != NULL)
		cJSON_AddStringToObject(o, "state_class", e->state_class);
	if (e->diagnostic)
		cJSON_AddStringToObject(o, "entity_category", "diagnostic");
	if (strcmp(e->component, "binary_sensor") == 0 &&
	    strcmp(e->state, "status") == 0) {
		cJSON_AddStringToObject(o, "payload_on", "online");
		cJSON_AddStringToObject(o, "payload_off", "offline");
	}
	/* P/metrics is not retained: stale without a fresh sample. */
	if (node == NULL)
		cJSON_AddNumberToObject(o, "expire_after", ha.expire_s);
	ha_device(o, node);
	orig = cJSON_AddObjectToObject(o, "origin");
	cJSON_AddStringToObject(orig, "name", "tinyedge");
	cJSON_AddStringToObject(orig, "sw_version", PACKAGE_VERSION);
	text = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	return (text);
}

/*
 * Publish one entity's config (retained), or its removal (remove: the
 * empty retained message).  0 if handed to the uplink.
 */
static int
ha_send(const struct ha_entity *e, const struct ha_node *node, int remove)
{
	char	*obj, *topic, *body = NULL;
	int	 rc;

	if (node != NULL)
		xasprintf(&obj, "n_%s__%s", node->obj, e->what);
	else
		xasprintf(&obj, "gw_%s", e->what);
	xasprintf(&topic, "%s/%s/tinyedge_%s/%s/config", ha.hp, e->component,
	    ha.gw, obj);
	if (!remove && (body = ha_config_json(e, node, obj)) == NULL)
		rc = -1;
	else
		rc = uplink_publish_now(topic, body != NULL ? body : "",
		    body != NULL ? strlen(body) : 0, 1, 1);
	if (body != NULL)
		cJSON_free(body);
	free(topic);
	free(obj);
	return (rc);
}

/* The entry of a node id, or NULL; prev gets the link that points to it. */
static struct ha_node *
ha_find(const char *id, struct ha_node ***prev)
{
	struct ha_node	**pp, *n;

	for (pp = &ha.buckets[ha_hash(id)]; (n = *pp) != NULL; pp =
	    &n->next) {
		if (strcmp(n->id, id) == 0)
			break;
	}
	if (prev != NULL)
		*prev = pp;
	return (n);
}

/* Unlink an entry (not queued) from its bucket and free it. */
static void
ha_free(struct ha_node *n)
{
	struct ha_node	**pp;

	(void)ha_find(n->id, &pp);
	*pp = n->next;
	free(n->id);
	free(n->obj);
	free(n);
	ha.n--;
}

/* Queue an entry for the drain (once). */
static void
ha_enqueue(struct ha_node *n)
{
	if (n->queued)
		return;
	n->queued = 1;
	n->qnext = NULL;
	*ha.qtail = n;
	ha.qtail = &n->qnext;
}

/* Take the entry at the head of the queue off it. */
static void
ha_dequeue(void)
{
	struct ha_node	*n = ha.qhead;

	if ((ha.qhead = n->qnext) == NULL)
		ha.qtail = &ha.qhead;
	n->queued = 0;
	n->step = 0;
}

/* Does a node status (JSON text) carry a numeric battery_mv? */
static int
ha_has_battery(const char *body)
{
	cJSON	*o;
	int	 yes;

	/* Cheap test first: most statuses have no battery at all. */
	if (strstr(body, "\"battery_mv\"") == NULL)
		return (0);
	o = cJSON_Parse(body);
	yes = cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(o,
	    "battery_mv"));
	cJSON_Delete(o);
	return (yes);
}

/*
 * Send a node's entities from its step on (remove: the empty configs);
 * 0 when all are out, else -1 with the step to resume from kept.
 */
static int
ha_send_node(struct ha_node *n, int remove, int battery)
{
	size_t	i;

	for (i = n->step; i < HA_NODE_N; i++) {
		if (i == HA_BATTERY && !battery)
			continue;
		if (ha_send(&ha_node_entities[i], n, remove) != 0) {
			n->step = i;
			return (-1);
		}
	}
	return (0);
}

/*
 * Send what the queue asks, oldest first, until the uplink takes no more
 * (Paho allows max_inflight + 16 unacknowledged QoS 1 messages, the
 * outbox's included): a failed publish stays at the head with its step,
 * for the next loop turn, which the next acknowledgement brings.
 */
void
ha_drain(void)
{
	struct ha_node	*n;
	size_t		 i;

	if (!ha.on)
		return;
	for (i = ha.gw_step; ha.gw_pending && i < HA_GW_N; i++) {
		if (ha_send(&ha_gw_entities[i], NULL, 0) != 0) {
			ha.gw_step = i;
			return;
		}
	}
	ha.gw_pending = 0;
	while ((n = ha.qhead) != NULL) {
		if (n->remove) {
			if (ha_send_node(n, 1, n->battery) != 0)
				return;
			log_debug("ha: configs of node %s removed", n->obj);
			ha_dequeue();
			ha_free(n);
			continue;
		}
		if (n->gen != ha.gen) {
			if (ha_send_node(n, 0, n->battery || n->want_battery) != 0)
				return;
			n->gen = ha.gen;
			n->battery = n->battery || n->want_battery;
		} else if (n->want_battery && !n->battery) {
			n->step = HA_BATTERY;
			if (ha_send_node(n, 0, 1) != 0)
				return;
			n->battery = 1;
		}
		ha_dequeue();
	}
}

/*
 * The monitor sent a node's status (body), or cleared a forgotten node's
 * (body NULL): queue its configs, or their removal, for ha_drain().
 */
int
ha_node(const char *id, const char *body)
{
	struct ha_node	*n, **pp;

	if (!ha.on)
		return (0);
	n = ha_find(id, &pp);
	if (body == NULL) {
		if (n != NULL && !n->remove) {
			n->remove = 1;
			n->step = 0;
			ha_enqueue(n);
		}
		return (0);
	}
	if (n == NULL) {
		n = xcalloc(1, sizeof *n);
		n->id = xstrdup(id);
		n->obj = ha_encode(id);
		n->gen = ha.gen - 1;
		n->next = *pp;
		*pp = n;
		ha.n++;
	} else if (n->remove) {
		/* Back before its removal went out: announce it whole. */
		n->remove = 0;
		n->step = 0;
		n->gen = ha.gen - 1;
	}
	if (!n->want_battery && ha_has_battery(body))
		n->want_battery = 1;
	if (n->gen != ha.gen || (n->want_battery && !n->battery))
		ha_enqueue(n);
	return (0);
}

/* nodes_foreach callback: queue a known node from its status. */
static void
ha_each_known(const char *id, void *arg)
{
	char	*body;

	(void)arg;
	if ((body = nodes_status(id)) == NULL)
		return;
	(void)ha_node(id, body);
	free(body);
}

/*
 * A new generation: the gateway's configs and every node's are to go
 * again, from their first entity.  With nodes, every known node is
 * queued, and an entry the registry no longer knows (a clear it gave up)
 * has its configs removed; else the monitor's statuses queue them.
 */
static void
ha_new_generation(int nodes)
{
	struct ha_node	*n;
	size_t		 b;

	ha.gen++;
	ha.gw_pending = 1;
	ha.gw_step = 0;
	for (n = ha.qhead; n != NULL; n = n->qnext)
		n->step = 0;
	if (!nodes)
		return;
	nodes_foreach(ha_each_known, NULL);
	for (b = 0; b < ha.nbuckets; b++) {
		for (n = ha.buckets[b]; n != NULL; n = n->next) {
			if (n->gen != ha.gen && !n->queued &&
			    !nodes_known(n->id)) {
				n->remove = 1;
				ha_enqueue(n);
			}
		}
	}
}

/* uplink_watch callback: Home Assistant's birth (or last will). */
static void
ha_birth_cb(const char *topic, const void *data, size_t len)
{
	(void)topic;
	if (!ha.on || data == NULL || len != 6 ||
	    memcmp(data, "online", 6) != 0)
		return;
	log_info("ha: Home Assistant is online; announcing again");
	ha_new_generation(1);
	ha_drain();
}

/*
 * After every connect, before the monitor sends every node's status
 * (which queues the nodes): a new generation.
 */
void
ha_connected(void)
{
	if (ha.on)
		ha_new_generation(0);
}

/* Start: read [homeassistant]; watch the birth topic. */
int
ha_start(const struct config *cf, char **cause)
{
	uint64_t	ms;

	(void)cause;
	memset(&ha, 0, sizeof ha);
	if (!config_bool(cf, "homeassistant", "discovery"))
		return (0);
	ha.on = 1;
	ha.hp = xstrdup(config_str(cf, "homeassistant", "prefix"));
	ha.gw = xstrdup(config_str(cf, "gateway", "id"));
	/* Three periods: one late sample does not make it unavailable. */
	ms = config_ms(cf, "mqtt", "metrics_interval");
	ha.expire_s = (unsigned)((ms * 3 + 999) / 1000);
	/* Sized for the registry's bound; chains stay short. */
	ha.nbuckets = HA_BUCKETS_MIN;
	while (ha.nbuckets < (size_t)config_int(cf, "gateway", "max_nodes") &&
	    ha.nbuckets < (1u << 20))
		ha.nbuckets <<= 1;
	ha.buckets = xcalloc(ha.nbuckets, sizeof *ha.buckets);
	ha.qtail = &ha.qhead;
	xasprintf(&ha.birth, "%s/status", ha.hp);
	uplink_watch(ha.birth, ha_birth_cb);
	log_info("ha: discovery under %s", ha.hp);
	return (0);
}

/* Stop: forget the table (the retained configs stay at the broker). */
void
ha_stop(void)
{
	size_t	b;

	if (!ha.on)
		return;
	uplink_watch(NULL, NULL);
	ha.qhead = NULL;
	for (b = 0; b < ha.nbuckets; b++)
		while (ha.buckets[b] != NULL)
			ha_free(ha.buckets[b]);
	free(ha.buckets);
	free(ha.hp);
	free(ha.gw);
	free(ha.birth);
	memset(&ha, 0, sizeof ha);
}
