/*
 * uplink.c - the MQTT uplink (Paho MQTTAsync) that drains the outbox.
 *
 * Paho calls us on its own threads.  Each callback (uplink_paho.c) only
 * appends an event to a mutex-protected queue and wakes the loop with
 * uv_async_send(); the loop side here drains the whole queue (wake-ups
 * coalesce) and does everything else: the store, the state machine, new
 * publishes.
 *
 * Publishing: outbox rows go out oldest first with at most max_inflight
 * unacknowledged; a row is deleted only when its PUBACK arrives (onSuccess).
 * The session is clean, so after a reconnect nothing Paho held survives: we
 * start again from the oldest row (at-least-once; payloads carry "id").
 * Rows already in the outbox at connect time are the backlog; newer rows are
 * "live".  While a backlog drains, a quarter of the window is kept for live
 * rows so new data is not stuck behind hours of backlog, and the backlog
 * keeps the rest, so neither starves.  The store wakes us once at the end
 * of each loop turn that added rows, and Paho's events are taken once per
 * turn too; each of those hands every ready row that fits the window to
 * Paho in one go (one outbox read).  Nothing depends on new data arriving
 * to drain.
 *
 * A row the broker will not take is set aside after a few refusals, so
 * the rows after it flow (uplink_refuse.c).
 *
 * State: one enum, changed only by uplink_set_state(), which logs every
 * transition.  Reconnects back off 1 s, 2 s, ... capped at 60 s, each step
 * jittered over its second half; the backoff starts again from 1 s once
 * a connection has lasted 10 s.
 * P/status is retained: "online" on connect, "offline" as the LWT and on a
 * clean stop (bounded: offline ack, then disconnect, then destroy).
 *
 * With mqtt.commands on, every (re)connect subscribes to P/cmd/# (QoS 1);
 * its messages reach the handler on the loop thread.  The session stays
 * clean, so commands sent while the gateway is offline are lost: an
 * operator sends again with the same id, which is safe (command.c runs an
 * id once).
 */
#include <sys/types.h>

#include <MQTTAsync.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "config.h"
#include "daemon.h"
#include "log.h"
#include "metrics.h"
#include "store.h"
#include "uplink.h"
#include "uplink_int.h"
#include "uplink_paho.h"
#include "xmalloc.h"

#define UPLINK_BACKOFF_MIN_MS	1000
#define UPLINK_BACKOFF_MAX_MS	60000
#define UPLINK_STABLE_MS	10000	/* a connection this old resets it */
#define UPLINK_OFFLINE_WAIT_MS	700	/* stop: wait this for the ack */
#define UPLINK_DISC_WAIT_MS	400	/* stop: then this for disconnect */
#define UPLINK_ID_STOP		(-1)	/* context of the offline publish */
#define UPLINK_MAX_HOOKS	8
#define UPLINK_ACK_BATCH	1024	/* acked ids deleted at once */

enum uplink_state {
	UPLINK_IDLE,
	UPLINK_CONNECTING,
	UPLINK_CONNECTED,
	UPLINK_WAITING,		/* backing off before the next attempt */
	UPLINK_STOPPING,
	UPLINK_STOPPED,
};

static const char *const uplink_state_names[] = {
	"idle", "connecting", "connected", "waiting", "stopping", "stopped"
};

static struct {
	MQTTAsync		 cli;
	uv_async_t		 async;
	uv_timer_t		 timer;
	int			 handles;
	enum uplink_state	 state;
	struct uplink_conf	 conf;		/* [mqtt], read at start */
	int64_t			*infl;		/* ids awaiting PUBACK */
	size_t			 ninfl, nlive;
	int64_t			 cursor;	/* last id handed out <= mark */
	int64_t			 mark;		/* backlog end; 0: none */
	int64_t			 live;		/* last id handed out > mark */
	uint64_t		 backoff_ms;
	uint64_t		 published, connects, since_ms;
	char			*tls_error;	/* last TLS error text */
	char			*will;
	uplink_hook		 hooks[UPLINK_MAX_HOOKS];
	size_t			 nhooks;
	int			 offline_sent;
	int			 send_failed;	/* stop this fetch batch */
	char			*topic;		/* full topic being sent */
	char			*topic_cmd;	/* P/cmd/# while subscribed */
	uint64_t		 rng;		/* backoff jitter state */
	size_t			 sztopic;
	size_t			 win;		/* window now (uplink_pump) */
	int			 refused_logged;	/* once per connection */
} client;

static void	uplink_connect(void);
static void	uplink_finish(void);
static void	uplink_retry_cb(uv_timer_t *);
static void	uplink_finish_cb(uv_timer_t *);
static void	uplink_offline_timeout_cb(uv_timer_t *);


/* Change state, logging the transition and why. */
static void
uplink_set_state(enum uplink_state s, const char *why)
{
	if (s == client.state)
		return;
	log_info("uplink: %s -> %s%s%s", uplink_state_names[client.state],
	    uplink_state_names[s], why ? ": " : "", why ? why : "");
	client.state = s;
}

/*
 * Publish a current-state message directly (not through the outbox):
 * P/status, P/metrics, node status.  -1 when not connected.
 */
int
uplink_publish_now(const char *topic, const void *payload, size_t len,
    int qos, int retain)
{
	if (client.state != UPLINK_CONNECTED)
		return (-1);
	return (uplink_direct_send(client.cli, client.conf.mqtt5, topic,
	    payload, len, qos, retain, 0) == MQTTASYNC_SUCCESS ? 0 : -1);
}

/*
 * Publish a current-state message at QoS 0, not retained, that expires
 * after expiry_s at the broker (P/metrics; uplink_direct.c).  -1 when not
 * connected.
 */
int
uplink_publish_expiring(const char *topic, const void *payload, size_t len,
    uint32_t expiry_s)
{
	if (client.state != UPLINK_CONNECTED)
		return (-1);
	if (!client.conf.mqtt5)
		return (uplink_publish_now(topic, payload, len, 0, 0));
	return (uplink_direct_expiring(client.cli, topic, payload, len,
	    expiry_s));
}

/* Is this outbox id awaiting its PUBACK? Returns its index or -1. */
static ssize_t
uplink_infl_find(int64_t id)
{
	size_t	i;

	for (i = client.ninfl; i > 0; i--)
		if (client.infl[i - 1] == id)
			return ((ssize_t)(i - 1));
	return (-1);
}

/* Forget an in-flight id; returns 0 if it was there. */
static int
uplink_infl_remove(int64_t id)
{
	ssize_t	i = uplink_infl_find(id);

	if (i < 0)
		return (-1);
	if (client.mark != 0 && id > client.mark && client.nlive > 0)
		client.nlive--;
	client.infl[i] = client.infl[--client.ninfl];
	return (0);
}

/* store_outbox_fetch callback: publish one row unless already in flight. */
static void
uplink_row_cb(const struct store_row *r, void *arg)
{
	int64_t	*cursor = arg;
	int	 rc;

	if (client.state != UPLINK_CONNECTED || client.ninfl >= client.win ||
	    client.send_failed)
		return;
	*cursor = r->id;
	if (uplink_infl_find(r->id) >= 0)
		return;
	/* Rows hold topics relative to the prefix (smaller rows). */
	if ((size_t)snprintf(client.topic, client.sztopic, "%s/%s",
	    client.conf.prefix, r->topic) >= client.sztopic) {
		client.sztopic =
		    strlen(client.conf.prefix) + strlen(r->topic) + 2;
		client.topic = xreallocarray(client.topic, 1, client.sztopic);
		snprintf(client.topic, client.sztopic, "%s/%s",
		    client.conf.prefix,
		    r->topic);
	}
	rc = uplink_direct_send(client.cli, client.conf.mqtt5, client.topic,
	    r->payload, r->len, client.conf.qos, r->retain, r->id);
	if (rc != MQTTASYNC_SUCCESS) {
		/* Paho lost the link under us: resent after reconnect. */
		log_debug("uplink: publish %" PRId64 ": paho error %d", r->id,
		    rc);
		*cursor = r->id - 1;
		client.send_failed = 1;
		/* Paho refuses this row itself (its topic): a strike. */
		if (rc == MQTTASYNC_BAD_UTF8_STRING ||
		    rc == MQTTASYNC_BAD_STRUCTURE)
			uplink_refuse_strike(r->id, MQTTAsync_strerror(rc));
		return;
	}
	client.infl[client.ninfl++] = r->id;
	if (client.mark != 0 && r->id > client.mark)
		client.nlive++;
}

/*
 * Fill the in-flight window from the outbox: every ready row that fits,
 * in one outbox read.  (Waiting for a quarter of the window to be free
 * before refilling made fewer, larger hand-offs but drained a backlog
 * three times slower, measured with te-storeput.)
 */
static void
uplink_pump(void)
{
	int64_t	last = store_outbox_last_id();
	size_t	quota, n, win;

	if (client.state != UPLINK_CONNECTED)
		return;
	win = client.win = uplink_refuse_window(client.conf.max_inflight,
	    client.cursor, client.ninfl);
	client.send_failed = 0;
	if (client.mark != 0) {
		/* Backlog draining: live rows get up to a quarter. */
		quota = win / 4 ? win / 4 : 1;
		if (client.live < last && client.nlive < quota &&
		    client.ninfl < win) {
			n = quota - client.nlive;
			if (n > win - client.ninfl)
				n = win - client.ninfl;
			store_outbox_fetch(client.live, last, n, uplink_row_cb,
			    &client.live);
		}
		if (client.ninfl < win) {
			n = store_outbox_fetch(client.cursor, client.mark,
			    win - client.ninfl, uplink_row_cb, &client.cursor);
			if (n == 0 && !client.send_failed) {
				log_info("uplink: backlog sent up to id %"
				    PRId64, client.mark);
				client.cursor = client.live;
				client.mark = 0;
				client.nlive = 0;
			}
		}
		return;
	}
	if (client.ninfl < win && client.cursor < last)
		store_outbox_fetch(client.cursor, last, win - client.ninfl,
		    uplink_row_cb, &client.cursor);
}

/* Store notify, once at the end of a loop turn that added rows. */
static void
uplink_store_notify(void)
{
	uplink_pump();
}

/* Schedule the next connection attempt with capped exponential backoff. */
static void
uplink_schedule(const char *why)
{
	uint64_t	delay = client.backoff_ms;
	char		buf[160];

	/*
	 * Jitter (per-process xorshift): a fleet must not retry in step.
	 * Half the backoff is fixed, the other half random ("equal
	 * jitter"): after a broker restart the attempts of many gateways
	 * spread over half of every backoff step (docs/fleet.md measures
	 * it), and none retries sooner than half the step.
	 */
	client.rng ^= client.rng << 13;
	client.rng ^= client.rng >> 7;
	client.rng ^= client.rng << 17;
	delay = delay / 2 + client.rng % (delay / 2 + 1);
	if (delay > UPLINK_BACKOFF_MAX_MS)
		delay = UPLINK_BACKOFF_MAX_MS;
	snprintf(buf, sizeof buf, "%s; retrying in %" PRIu64 ".%" PRIu64 " s",
	    why, delay / 1000, delay % 1000 / 100);
	uplink_set_state(UPLINK_WAITING, buf);
	client.backoff_ms *= 2;
	if (client.backoff_ms > UPLINK_BACKOFF_MAX_MS)
		client.backoff_ms = UPLINK_BACKOFF_MAX_MS;
	uv_timer_start(&client.timer, uplink_retry_cb, delay, 0);
}

/* A connection is up: announce, reset the cursors, start draining. */
static void
uplink_connected(void)
{
	char	*s;
	size_t	 i;

	client.connects++;
	client.since_ms = daemon_now_ms();
	free(client.tls_error);
	client.tls_error = NULL;
	client.ninfl = client.nlive = 0;
	uplink_refuse_connected();
	uplink_ack_flush();
	client.cursor = 0;
	client.mark = store_outbox_last_id();
	client.live = client.mark;
	uplink_set_state(UPLINK_CONNECTED, client.conf.uri);
	s = uplink_status_json("online");
	if (uplink_direct_send(client.cli, client.conf.mqtt5,
	    client.conf.status_topic, s, strlen(s), 1, 1, 0) != 0)
		log_warnx("uplink: cannot publish online status");
	free(s);
	for (i = 0; i < client.nhooks; i++)
		client.hooks[i]();
	if (client.conf.commands) {
		free(client.topic_cmd);
		xasprintf(&client.topic_cmd, "%s/cmd/#", client.conf.prefix);
		uplink_paho_subscribe(client.cli, client.topic_cmd, 0,
		    client.conf.mqtt5);
	}
	if (uplink_watched() != NULL)
		uplink_paho_subscribe(client.cli, uplink_watched(), 1,
		    client.conf.mqtt5);
	uplink_pump();
}

/* Describe a failed connection attempt in one clear line. */
static void
uplink_connect_failed(int rc, const char *text)
{
	char	buf[512];

	if (client.tls_error != NULL)
		snprintf(buf, sizeof buf, "connect to %s failed: TLS: %s "
		    "(check mqtt.ca_file %s, cert_file, key_file)",
		    client.conf.uri,
		    client.tls_error, *client.conf.ca ? client.conf.ca :
		    "(system CAs)");
	else
		snprintf(buf, sizeof buf, "connect to %s failed: %s (%d)",
		    client.conf.uri, text ? text : MQTTAsync_strerror(rc), rc);
	log_warnx("uplink: %s", buf);
	free(client.tls_error);
	client.tls_error = NULL;
	uplink_schedule("connect failed");
}

/* The timer callback: try to connect. */
static void
uplink_connect(void)
{
	MQTTAsync_connectOptions	co =
	    MQTTAsync_connectOptions_initializer;
	MQTTAsync_connectOptions	co5 =
	    MQTTAsync_connectOptions_initializer5;
	MQTTAsync_willOptions		wo = MQTTAsync_willOptions_initializer;
	MQTTAsync_SSLOptions		so = MQTTAsync_SSLOptions_initializer;
	MQTTAsync_connectOptions	*c = client.conf.mqtt5 ? &co5 : &co;
	MQTTProperties			 props = MQTTProperties_initializer;
	MQTTProperty			 p;
	int				 rc;

	if (client.state == UPLINK_STOPPING || client.state == UPLINK_STOPPED)
		return;
	free(client.will);
	client.will = uplink_status_json("offline");
	wo.topicName = client.conf.status_topic;
	wo.message = NULL;
	wo.payload.data = client.will;
	wo.payload.len = (int)strlen(client.will);
	wo.retained = 1;
	wo.qos = 1;
	c->keepAliveInterval = client.conf.keepalive_s;
	/*
	 * Clean session: unacked rows are ours to resend, never stranded.
	 * MQTT 5 with mqtt.session_expiry: the broker keeps the session (the
	 * P/cmd/# subscription and the commands queued for it) over an
	 * outage; rows are still resent from the outbox (at-least-once).
	 */
	if (client.conf.mqtt5 && client.conf.session_expiry_s > 0) {
		c->cleanstart = 0;
		p.identifier = MQTTPROPERTY_CODE_SESSION_EXPIRY_INTERVAL;
		p.value.integer4 = client.conf.session_expiry_s;
		MQTTProperties_add(&props, &p);
		c->connectProperties = &props;
	} else if (client.conf.mqtt5)
		c->cleanstart = 1;
	else
		c->cleansession = 1;
	c->MQTTVersion = client.conf.mqtt5 ? MQTTVERSION_5 : MQTTVERSION_3_1_1;
	c->connectTimeout = 10;
	c->automaticReconnect = 0;
	c->maxInflight = (int)client.conf.max_inflight + 16;
	c->will = &wo;
	if (*client.conf.username != '\0')
		c->username = client.conf.username;
	if (client.conf.password != NULL)
		c->password = client.conf.password;
	if (strncmp(client.conf.uri, "ssl://", 6) == 0) {
		so.trustStore = *client.conf.ca ? client.conf.ca : NULL;
		so.keyStore = *client.conf.cert ? client.conf.cert : NULL;
		so.privateKey = *client.conf.key ? client.conf.key : NULL;
		so.enableServerCertAuth = 1;
		so.verify = 1;
		so.ssl_error_cb = uplink_paho_tls_error;
		c->ssl = &so;
	}
	if (client.conf.mqtt5) {
		c->onSuccess5 = uplink_paho_conn_ok5;
		c->onFailure5 = uplink_paho_conn_fail5;
	} else {
		c->onSuccess = uplink_paho_conn_ok;
		c->onFailure = uplink_paho_conn_fail;
	}
	uplink_set_state(UPLINK_CONNECTING, client.conf.uri);
	rc = MQTTAsync_connect(client.cli, c);
	MQTTProperties_free(&props);
	if (rc != MQTTASYNC_SUCCESS)
		uplink_connect_failed(rc, MQTTAsync_strerror(rc));
}

/* Stop, step 2: disconnect (bounded), then finish. */
static void
uplink_disconnect(void)
{
	MQTTAsync_disconnectOptions	do3 =
	    MQTTAsync_disconnectOptions_initializer;
	MQTTAsync_disconnectOptions	do5 =
	    MQTTAsync_disconnectOptions_initializer5;
	MQTTAsync_disconnectOptions	*d = client.conf.mqtt5 ? &do5 : &do3;

	d->timeout = 200;
	if (client.conf.mqtt5) {
		d->onSuccess5 = uplink_paho_disc5;
		d->onFailure5 = uplink_paho_disc_fail5;
	} else {
		d->onSuccess = uplink_paho_disc;
		d->onFailure = uplink_paho_disc_fail;
	}
	if (MQTTAsync_disconnect(client.cli, d) != MQTTASYNC_SUCCESS) {
		uplink_finish();
		return;
	}
	uv_timer_start(&client.timer, uplink_finish_cb, UPLINK_DISC_WAIT_MS, 0);
}

/* Timer: the backoff is over, connect again. */
static void
uplink_retry_cb(uv_timer_t *t)
{
	(void)t;
	uplink_connect();
}

/* Timer: the disconnect did not finish in time; finish anyway. */
static void
uplink_finish_cb(uv_timer_t *t)
{
	(void)t;
	uplink_finish();
}

/* Timer: no ack for the offline status in time; disconnect anyway. */
static void
uplink_offline_timeout_cb(uv_timer_t *t)
{
	(void)t;
	log_warnx("uplink: offline status not acknowledged in time");
	uplink_disconnect();
}

/* The connection dropped: everything in flight goes out again later. */
static void
uplink_lost(const char *why)
{
	log_warnx("uplink: connection to %s lost%s%s; %zu unacknowledged "
	    "rows will be sent again", client.conf.uri, why ? ": " : "",
	    why ? why : "", client.ninfl);
	/*
	 * The backoff starts again only after a connection that lasted:
	 * one the broker drops at once (an ACL that refuses us, a duplicate
	 * client id) keeps backing off.
	 */
	if (daemon_now_ms() - client.since_ms >= UPLINK_STABLE_MS)
		client.backoff_ms = UPLINK_BACKOFF_MIN_MS;
	uplink_refuse_lost(client.infl, client.ninfl);
	client.ninfl = client.nlive = 0;
	/* Before the cursor goes back to the oldest row. */
	uplink_ack_flush();
	uplink_schedule("connection lost");
}

/* A publish failed: a refused direct one is logged, a row is resent. */
static void
uplink_pub_failed(const struct uplink_msg *m)
{
	if (m->id == 0 && m->reason >= 0x80 && !client.refused_logged) {
		client.refused_logged = 1;
		log_warnx("uplink: the broker refuses our publishes under %s: "
		    "%s (0x%02x); check its ACL", client.conf.prefix,
		    MQTTReasonCode_toString(m->reason), m->reason);
	}
	if (m->id <= 0 || uplink_infl_remove(m->id) != 0 ||
	    client.state != UPLINK_CONNECTED)
		return;
	uplink_refuse_failed(m);
	/* Still connected: go back and send it again. */
	if (client.mark != 0 && m->id > client.mark) {
		if (client.live >= m->id)
			client.live = m->id - 1;
	} else if (client.cursor >= m->id)
		client.cursor = m->id - 1;
	log_debug("uplink: publish %" PRId64 " failed (%d)", m->id, m->rc);
}

/* Handle one event from Paho on the loop thread. */
static void
uplink_handle(struct uplink_msg *m)
{
	switch (m->ev) {
	case UE_CONNECTED:
		if (client.state != UPLINK_CONNECTING)
			break;
		/*
		 * No aliases with a session that outlives the connection:
		 * Paho may carry a queued QoS 0 publish into the next one,
		 * which never granted its alias.
		 */
		uplink_alias_reset(client.conf.session_expiry_s > 0 ? 0 :
		    m->rc);
		client.refused_logged = 0;
		if (client.conf.mqtt5)
			log_info("uplink: broker grants %d topic aliases%s",
			    m->rc, m->reason ? "; session present" : "");
		uplink_connected();
		break;
	case UE_CONNECT_FAILED:
		if (client.state == UPLINK_CONNECTING)
			uplink_connect_failed(m->rc, m->text);
		break;
	case UE_LOST:
		if (client.state == UPLINK_CONNECTED)
			uplink_lost(m->text);
		break;
	case UE_PUB_OK:
		if (m->id == UPLINK_ID_STOP) {
			if (client.state == UPLINK_STOPPING &&
			    !client.offline_sent) {
				client.offline_sent = 1;
				uv_timer_stop(&client.timer);
				uplink_disconnect();
			}
		} else if (m->id > 0) {
			uplink_infl_remove(m->id);
			uplink_ack_add(m->id);
			client.published++;
			uplink_refuse_acked(m->id);
		}
		break;
	case UE_PUB_FAIL:
		uplink_pub_failed(m);
		break;
	case UE_DISCONNECTED:
		if (client.state == UPLINK_STOPPING)
			uplink_finish();
		break;
	case UE_TLS_ERROR:
		free(client.tls_error);
		client.tls_error = uplink_paho_tls_reason(m->text);
		break;
	case UE_SUBSCRIBED:
		log_info("uplink: subscribed to %s", m->id == 1 ?
		    (uplink_watched() ? uplink_watched() : "(none)") : client.topic_cmd);
		break;
	case UE_SUB_FAILED:
		/* Off until the next connect tries again. */
		log_warnx("uplink: subscribe to %s failed: %s (%d)",
		    m->id == 1 ? (uplink_watched() ? uplink_watched() : "(none)") : client.topic_cmd,
		    m->text ? m->text : "?", m->rc);
		break;
	}
}


/* The async handle: drain the whole event queue, then refill the window. */
static void
uplink_async_cb(uv_async_t *h)
{
	struct uplink_msg	*m, *next;

	(void)h;
	for (m = uplink_paho_take(); m != NULL; m = next) {
		next = m->next;
		if (client.state != UPLINK_STOPPED)
			uplink_handle(m);
		free(m->text);
		free(m);
	}
	/*
	 * Each delete is a commit; one per wake-up would cost the drain a
	 * fifth of its speed.  So acks are deleted in batches while rows
	 * stream, and at once when nothing is in flight.  A crash loses at
	 * most a batch of deletes: those rows go out again (at-least-once).
	 */
	if (uplink_ack_pending() >= UPLINK_ACK_BATCH || client.ninfl == 0)
		uplink_ack_flush();
	/* Messages after events: a handler may publish at once. */
	if (client.state != UPLINK_STOPPED)
		uplink_direct_deliver(client.conf.prefix);
	uplink_pump();
}

/* Free what start made (the settings, buffers, texts). */
static void
uplink_free_conf(void)
{
	uplink_conf_free(&client.conf);
	free(client.infl);
	free(client.will);
	free(client.tls_error);
	uplink_ack_free();
	free(client.topic);
	free(client.topic_cmd);
	uplink_alias_reset(0);
	client.will = client.tls_error = client.topic = NULL;
	client.topic_cmd = NULL;
	client.infl = NULL;
	client.sztopic = 0;
}

/* Start: create the Paho client and begin connecting at once. */
int
uplink_start(const struct config *cf, char **cause)
{
	MQTTAsync_createOptions	 opts = MQTTAsync_createOptions_initializer;
	int			 rc;

	memset(&client, 0, sizeof client);
	uplink_refuse_reset();
	if (uplink_conf_read(cf, &client.conf, cause) != 0)
		return (-1);
	client.infl = xcalloc(client.conf.max_inflight, sizeof *client.infl);
	client.backoff_ms = UPLINK_BACKOFF_MIN_MS;
	client.rng = (daemon_now_ms() << 16) ^ (uint64_t)getpid() ^
	    0x9e3779b97f4a7c15ULL;
	opts.MQTTVersion = client.conf.mqtt5 ? MQTTVERSION_5 :
	    MQTTVERSION_3_1_1;
	opts.sendWhileDisconnected = 0;
	rc = MQTTAsync_createWithOptions(&client.cli, client.conf.uri,
	    client.conf.client_id,
	    MQTTCLIENT_PERSISTENCE_NONE, NULL, &opts);
	if (rc != MQTTASYNC_SUCCESS) {
		xasprintf(cause, "mqtt.uri %s: %s", client.conf.uri,
		    MQTTAsync_strerror(rc));
		uplink_free_conf();
		return (-1);
	}
	rc = MQTTAsync_setCallbacks(client.cli, NULL, uplink_paho_lost,
	    uplink_paho_arrived, NULL);
	if (rc != MQTTASYNC_SUCCESS) {
		xasprintf(cause, "MQTTAsync_setCallbacks: %s",
		    MQTTAsync_strerror(rc));
		MQTTAsync_destroy(&client.cli);
		uplink_free_conf();
		return (-1);
	}
	/* MQTT 5: a broker's DISCONNECT is not a connectionLost. */
	if (client.conf.mqtt5 && (rc = MQTTAsync_setDisconnected(client.cli,
	    NULL,
	    uplink_paho_server_disc)) != MQTTASYNC_SUCCESS) {
		xasprintf(cause, "MQTTAsync_setDisconnected: %s",
		    MQTTAsync_strerror(rc));
		MQTTAsync_destroy(&client.cli);
		uplink_free_conf();
		return (-1);
	}
	uv_async_init(daemon_loop(), &client.async, uplink_async_cb);
	uplink_paho_init(&client.async, client.conf.command_max);
	uv_timer_init(daemon_loop(), &client.timer);
	client.handles = 1;
	store_set_notify(uplink_store_notify);
	log_info("uplink: %s as %s, prefix %s, MQTT %s, qos %d, inflight %zu",
	    client.conf.uri, client.conf.client_id, client.conf.prefix,
	    client.conf.mqtt5 ? "5" :
	    "3.1.1", client.conf.qos, client.conf.max_inflight);
	uplink_connect();
	return (0);
}

/* SIGHUP: of ours only mqtt.command_max is reloadable. */
void
uplink_reload(const struct config *cf)
{
	if (!client.handles)
		return;
	client.conf.command_max = (size_t)config_bytes(cf, "mqtt",
	    "command_max");
	uplink_paho_limit(client.conf.command_max);
}

/* Stop, last step: destroy the client and close our handles. */
static void
uplink_finish(void)
{
	struct uplink_msg	*m, *next;

	if (client.state == UPLINK_STOPPED)
		return;
	uplink_set_state(UPLINK_STOPPED, NULL);
	store_set_notify(NULL);
	/* After this no Paho thread touches the async handle. */
	m = uplink_paho_close();
	MQTTAsync_destroy(&client.cli);
	for (; m != NULL; m = next) {
		next = m->next;
		free(m->text);
		free(m);
	}
	uv_close((uv_handle_t *)&client.async, NULL);
	uv_close((uv_handle_t *)&client.timer, NULL);
	client.handles = 0;
	uplink_free_conf();
}

/* Clean stop: publish offline (retained), disconnect, all bounded. */
void
uplink_stop(void)
{
	char	*s;

	if (!client.handles || client.state == UPLINK_STOPPING)
		return;
	uplink_ack_flush();
	uv_timer_stop(&client.timer);
	if (client.state != UPLINK_CONNECTED) {
		uplink_set_state(UPLINK_STOPPING, NULL);
		uplink_disconnect();
		return;
	}
	s = uplink_status_json("offline");
	uplink_set_state(UPLINK_STOPPING, "publishing offline status");
	if (uplink_direct_send(client.cli, client.conf.mqtt5,
	    client.conf.status_topic, s, strlen(s), 1, 1,
	    UPLINK_ID_STOP) != MQTTASYNC_SUCCESS) {
		free(s);
		uplink_disconnect();
		return;
	}
	free(s);
	uv_timer_start(&client.timer, uplink_offline_timeout_cb,
	    UPLINK_OFFLINE_WAIT_MS, 0);
}

/* Non-zero once stop has finished (for drivers that wait on it). */
int
uplink_stopped(void)
{
	return (client.state == UPLINK_STOPPED || !client.handles);
}

/* Numbers for P/metrics. */
void
uplink_stats(struct uplink_stats *us)
{
	us->connected = client.state == UPLINK_CONNECTED;
	us->published = client.published;
	us->inflight = client.ninfl;
	us->reconnects = client.connects > 0 ? client.connects - 1 : 0;
}

/* The topic prefix (P of SPEC section 5). */
const char *
uplink_prefix(void)
{
	return (client.conf.prefix);
}

/* Run hook after every (re)connect (node status republishing). */
void
uplink_on_connect(uplink_hook h)
{
	if (client.nhooks < UPLINK_MAX_HOOKS)
		client.hooks[client.nhooks++] = h;
}

/* One-line status for systemd: state and queue depth. */
size_t
uplink_status(char *buf, size_t len)
{
	struct store_stats	ss;
	int			n;

	store_stats(&ss);
	n = snprintf(buf, len, "mqtt %s, %" PRIu64 " queued, %zu in flight",
	    uplink_state_names[client.state], ss.queued, client.ninfl);
	return (n < 0 ? 0 : (size_t)n >= len ? len - 1 : (size_t)n);
}

/*
 * Subscribe to topic (a full topic, QoS 1) after every connect, and at
 * once if connected; its messages go to cb (uplink_direct.c keeps them).
 * topic NULL: stop watching (the broker keeps the subscription until the
 * next connect, whose messages are then dropped).
 */
void
uplink_watch(const char *topic, uplink_message_cb cb)
{
	uplink_direct_watch(topic, cb);
	if (topic != NULL && client.state == UPLINK_CONNECTED)
		uplink_paho_subscribe(client.cli, uplink_watched(), 1,
		    client.conf.mqtt5);
}
