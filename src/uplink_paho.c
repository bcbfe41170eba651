/*
 * uplink_paho.c - the bridge from Paho's threads to the loop thread.
 *
 * Paho calls every callback below on one of its own threads.  None of them
 * touches uplink state: each allocates an event, appends it to a queue
 * under a mutex and wakes the loop with uv_async_send(); the loop side
 * (uplink.c) takes the whole queue at once, so wake-ups coalesce.  After
 * uplink_paho_close() no callback touches the async handle any more, which
 * makes it safe to close it while Paho still winds down.
 *
 * Messages of subscribed topics (P/cmd/#) take the same road in a second
 * queue, copied (topic and payload) so Paho can free its own at once.
 * That queue is bounded: at most UPLINK_IN_MAX messages with their bytes,
 * at most the limit (mqtt.command_max) of payload bytes in all.  Paho has
 * acknowledged a QoS 1 message to the broker before we see it, so holding
 * one back would only grow Paho's own queue: instead a payload over the
 * limit, or one that does not fit, is queued as a marker without its
 * bytes (uplink.h), so the loop still answers it ("too large", "busy").
 * Markers are bounded too (UPLINK_IN_MARKS, topics up to
 * UPLINK_IN_TOPIC_MAX); beyond them a message is dropped without an
 * answer, counted and logged.
 */
#include <MQTTAsync.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "log.h"
#include "uplink.h"
#include "uplink_paho.h"
#include "xmalloc.h"

static struct {
	pthread_mutex_t		 mu;
	uv_async_t		*async;
	struct uplink_msg	*qhead, **qtail;
	struct uplink_in	*ihead, **itail;
	size_t			 nin, inbytes;	/* in the in queue */
	size_t			 nmarks, dropped;
	size_t			 inmax;		/* payload limit */
	int			 closed;	/* no more sends */
} br = { .mu = PTHREAD_MUTEX_INITIALIZER, .qtail = &br.qhead,
    .itail = &br.ihead };

/* Loop thread: start queueing events for this async handle. */
void
uplink_paho_init(uv_async_t *async, size_t inmax)
{
	pthread_mutex_lock(&br.mu);
	br.async = async;
	br.qhead = NULL;
	br.qtail = &br.qhead;
	br.ihead = NULL;
	br.itail = &br.ihead;
	br.nin = br.inbytes = br.nmarks = br.dropped = 0;
	br.inmax = inmax;
	br.closed = 0;
	pthread_mutex_unlock(&br.mu);
}

/* Loop thread: a new payload limit (mqtt.command_max after a reload). */
void
uplink_paho_limit(size_t inmax)
{
	pthread_mutex_lock(&br.mu);
	br.inmax = inmax;
	pthread_mutex_unlock(&br.mu);
}

/* Free one queued message. */
static void
uplink_paho_free_in(struct uplink_in *in)
{
	free(in->topic);
	free(in->data);
	free(in);
}

/*
 * Loop thread: take every queued message (oldest first) and hand those
 * under prefix/ to cb with the prefix stripped (none without a cb).
 */
void
uplink_paho_deliver(const char *prefix,
    void (*cb)(const char *, const void *, size_t), const char *watch,
    void (*wcb)(const char *, const void *, size_t))
{
	struct uplink_in	*in, *next;
	size_t			 n = strlen(prefix), dropped;

	pthread_mutex_lock(&br.mu);
	in = br.ihead;
	br.ihead = NULL;
	br.itail = &br.ihead;
	dropped = br.dropped;
	br.nin = br.inbytes = br.nmarks = br.dropped = 0;
	pthread_mutex_unlock(&br.mu);
	if (dropped > 0)
		log_warnx("uplink: %zu messages of %s/cmd/# dropped unanswered: "
		    "too many at once", dropped, prefix);
	for (; in != NULL; in = next) {
		next = in->next;
		/* The watched topic first: it may sit under the prefix. */
		if (wcb != NULL && watch != NULL &&
		    strcmp(in->topic, watch) == 0)
			wcb(in->topic, in->data, in->len);
		else if (cb != NULL && strncmp(in->topic, prefix, n) == 0 &&
		    in->topic[n] == '/')
			cb(in->topic + n + 1, in->data, in->len);
		uplink_paho_free_in(in);
	}
}

/* Loop thread: take every queued event (oldest first). */
struct uplink_msg *
uplink_paho_take(void)
{
	struct uplink_msg	*m;

	pthread_mutex_lock(&br.mu);
	m = br.qhead;
	br.qhead = NULL;
	br.qtail = &br.qhead;
	pthread_mutex_unlock(&br.mu);
	return (m);
}

/* Loop thread: stop waking the loop; returns what was still queued. */
struct uplink_msg *
uplink_paho_close(void)
{
	struct uplink_msg	*m;
	struct uplink_in	*in, *next;

	pthread_mutex_lock(&br.mu);
	br.closed = 1;
	br.async = NULL;
	m = br.qhead;
	br.qhead = NULL;
	br.qtail = &br.qhead;
	in = br.ihead;
	br.ihead = NULL;
	br.itail = &br.ihead;
	br.nin = br.inbytes = br.nmarks = br.dropped = 0;
	pthread_mutex_unlock(&br.mu);
	for (; in != NULL; in = next) {
		next = in->next;
		uplink_paho_free_in(in);
	}
	return (m);
}

/* Paho thread: a new event, not yet queued. */
static struct uplink_msg *
uplink_paho_new(enum uplink_event ev, int64_t id, int rc, const char *text)
{
	struct uplink_msg	*m = xcalloc(1, sizeof *m);

	m->ev = ev;
	m->id = id;
	m->rc = rc;
	m->text = text ? xstrdup(text) : NULL;
	return (m);
}

/* Paho thread: queue one event for the loop and wake it. */
static void
uplink_paho_queue(struct uplink_msg *m)
{
	pthread_mutex_lock(&br.mu);
	if (br.closed || br.async == NULL) {
		pthread_mutex_unlock(&br.mu);
		free(m->text);
		free(m);
		return;
	}
	*br.qtail = m;
	br.qtail = &m->next;
	uv_async_send(br.async);
	pthread_mutex_unlock(&br.mu);
}

/* Paho thread: make and queue one event. */
static void
uplink_paho_push(enum uplink_event ev, int64_t id, int rc, const char *text)
{
	uplink_paho_queue(uplink_paho_new(ev, id, rc, text));
}

/* Paho: connected. */
void
uplink_paho_conn_ok(void *ctx, MQTTAsync_successData *r)
{
	uplink_paho_push(UE_CONNECTED, 0, 0, NULL);
}

/* Paho: connect failed. */
void
uplink_paho_conn_fail(void *ctx, MQTTAsync_failureData *r)
{
	uplink_paho_push(UE_CONNECT_FAILED, 0, r ? r->code : -1,
	    r ? r->message : NULL);
}

/* Paho (MQTT 5): connected. */
void
uplink_paho_conn_ok5(void *ctx, MQTTAsync_successData5 *r)
{
	struct uplink_msg	*m;
	int			 max = 0;

	/* The CONNACK's Topic Alias Maximum: absent means none granted. */
	if (r != NULL)
		max = MQTTProperties_getNumericValue(&r->properties,
		    MQTTPROPERTY_CODE_TOPIC_ALIAS_MAXIMUM);
	m = uplink_paho_new(UE_CONNECTED, 0, max > 0 ? max : 0, NULL);
	if (r != NULL)
		m->reason = r->alt.connect.sessionPresent;
	uplink_paho_queue(m);
}

/* Paho (MQTT 5): connect failed. */
void
uplink_paho_conn_fail5(void *ctx, MQTTAsync_failureData5 *r)
{
	uplink_paho_push(UE_CONNECT_FAILED, 0, r ? r->code : -1,
	    r ? r->message : NULL);
}

/* Paho: the connection dropped. */
void
uplink_paho_lost(void *ctx, char *cause)
{
	uplink_paho_push(UE_LOST, 0, 0, cause);
}

/*
 * Paho (MQTT 5): the broker ended the session with a DISCONNECT packet
 * (e.g. 0x95, packet too large).  Paho reports that here, not through
 * connectionLost, so it becomes the same event for the loop.
 */
void
uplink_paho_server_disc(void *ctx, MQTTProperties *props,
    enum MQTTReasonCodes rc)
{
	char	text[128];

	snprintf(text, sizeof text, "broker sent DISCONNECT, reason 0x%02x "
	    "(%s)", (unsigned)rc, MQTTReasonCode_toString(rc) ?
	    MQTTReasonCode_toString(rc) : "?");
	uplink_paho_push(UE_LOST, 0, (int)rc, text);
}

/*
 * Paho: a message of a subscribed topic, copied and queued for the loop
 * (with its bytes, as a marker, or dropped: see the top).  Always 1: Paho
 * has acknowledged it already, holding it back would only grow Paho.
 */
int
uplink_paho_arrived(void *ctx, char *topic, int tlen, MQTTAsync_message *m)
{
	struct uplink_in	*in = NULL;
	size_t			 len, tl, mark = 0;

	len = m->payloadlen > 0 ? (size_t)m->payloadlen : 0;
	tl = tlen > 0 ? strnlen(topic, (size_t)tlen) : strlen(topic);
	pthread_mutex_lock(&br.mu);
	if (br.closed || br.async == NULL)
		goto out;	/* stopping: nobody would answer it */
	if (len > br.inmax)
		mark = UPLINK_MSG_TOO_LARGE;
	else if (br.nin >= UPLINK_IN_MAX || br.inbytes + len > br.inmax)
		mark = UPLINK_MSG_DROPPED;
	if (mark != 0 && (br.nmarks >= UPLINK_IN_MARKS ||
	    tl > UPLINK_IN_TOPIC_MAX)) {
		br.dropped++;
		goto out;
	}
	in = xcalloc(1, sizeof *in);
	in->topic = xstrndup(topic, tl);
	if (mark != 0) {
		in->len = mark;
		br.nmarks++;
	} else {
		in->data = xmalloc(len ? len : 1);
		if (len)
			memcpy(in->data, m->payload, len);
		in->len = len;
		br.nin++;
		br.inbytes += len;
	}
	*br.itail = in;
	br.itail = &in->next;
	uv_async_send(br.async);
out:
	pthread_mutex_unlock(&br.mu);
	MQTTAsync_freeMessage(&m);
	MQTTAsync_free(topic);
	return (1);
}

/* Paho: the broker granted a subscription. */
static void
uplink_paho_sub_ok(void *ctx, MQTTAsync_successData *r)
{
	/* MQTT 3.1.1 reports a refused SUBACK (0x80) here. */
	if (r != NULL && r->alt.qos == 0x80)
		uplink_paho_push(UE_SUB_FAILED, (int64_t)(intptr_t)ctx, 0x80,
		    "refused by broker");
	else
		uplink_paho_push(UE_SUBSCRIBED, (int64_t)(intptr_t)ctx, 0, NULL);
}

/* Paho: a subscription failed. */
static void
uplink_paho_sub_fail(void *ctx, MQTTAsync_failureData *r)
{
	uplink_paho_push(UE_SUB_FAILED, (int64_t)(intptr_t)ctx,
	    r ? r->code : -1,
	    r ? r->message : NULL);
}

/* Paho (MQTT 5): the broker answered a subscription. */
static void
uplink_paho_sub_ok5(void *ctx, MQTTAsync_successData5 *r)
{
	if (r != NULL && r->reasonCode >= 0x80)
		uplink_paho_push(UE_SUB_FAILED, (int64_t)(intptr_t)ctx,
		    (int)r->reasonCode,
		    MQTTReasonCode_toString(r->reasonCode));
	else
		uplink_paho_push(UE_SUBSCRIBED, (int64_t)(intptr_t)ctx, 0, NULL);
}

/* Paho (MQTT 5): a subscription failed. */
static void
uplink_paho_sub_fail5(void *ctx, MQTTAsync_failureData5 *r)
{
	uplink_paho_push(UE_SUB_FAILED, (int64_t)(intptr_t)ctx,
	    r ? r->code : -1,
	    r ? r->message : NULL);
}

/*
 * Loop thread: subscribe to a topic with QoS 1; which says what it is in
 * the answer's events (0: P/cmd/#, 1: the watched topic).
 */
void
uplink_paho_subscribe(MQTTAsync cli, const char *topic, int which,
    int mqtt5)
{
	MQTTAsync_responseOptions	ro =
	    MQTTAsync_responseOptions_initializer;
	int				 rc;

	ro.context = (void *)(intptr_t)which;
	if (mqtt5) {
		ro.onSuccess5 = uplink_paho_sub_ok5;
		ro.onFailure5 = uplink_paho_sub_fail5;
	} else {
		ro.onSuccess = uplink_paho_sub_ok;
		ro.onFailure = uplink_paho_sub_fail;
	}
	if ((rc = MQTTAsync_subscribe(cli, topic, 1, &ro)) != MQTTASYNC_SUCCESS)
		log_warnx("uplink: subscribe %s: %s", topic,
		    MQTTAsync_strerror(rc));
}

/* Paho: a publish was acknowledged (PUBACK for QoS 1). */
void
uplink_paho_pub_ok(void *ctx, MQTTAsync_successData *r)
{
	uplink_paho_push(UE_PUB_OK, (int64_t)(intptr_t)ctx, 0, NULL);
}

/* Paho: a publish failed (e.g. -11 on disconnect with a clean session). */
void
uplink_paho_pub_fail(void *ctx, MQTTAsync_failureData *r)
{
	uplink_paho_push(UE_PUB_FAIL, (int64_t)(intptr_t)ctx, r ? r->code : -1,
	    NULL);
}

/* Paho (MQTT 5): a publish was acknowledged. */
void
uplink_paho_pub_ok5(void *ctx, MQTTAsync_successData5 *r)
{
	uplink_paho_push(UE_PUB_OK, (int64_t)(intptr_t)ctx, 0, NULL);
}

/*
 * Paho (MQTT 5): a publish failed, or the broker's PUBACK carried a
 * failing reason code (>= 0x80), which the loop counts against the row.
 */
void
uplink_paho_pub_fail5(void *ctx, MQTTAsync_failureData5 *r)
{
	struct uplink_msg	*m;

	m = uplink_paho_new(UE_PUB_FAIL, (int64_t)(intptr_t)ctx,
	    r ? r->code : -1, NULL);
	m->reason = r ? (int)r->reasonCode : 0;
	uplink_paho_queue(m);
}

/* Paho: disconnect finished (either way). */
void
uplink_paho_disc(void *ctx, MQTTAsync_successData *r)
{
	uplink_paho_push(UE_DISCONNECTED, 0, 0, NULL);
}

/* Paho: disconnect failed. */
void
uplink_paho_disc_fail(void *ctx, MQTTAsync_failureData *r)
{
	uplink_paho_push(UE_DISCONNECTED, 0, 0, NULL);
}

/* Paho (MQTT 5): disconnect finished. */
void
uplink_paho_disc5(void *ctx, MQTTAsync_successData5 *r)
{
	uplink_paho_push(UE_DISCONNECTED, 0, 0, NULL);
}

/* Paho (MQTT 5): disconnect failed. */
void
uplink_paho_disc_fail5(void *ctx, MQTTAsync_failureData5 *r)
{
	uplink_paho_push(UE_DISCONNECTED, 0, 0, NULL);
}

/* OpenSSL error text during the handshake (wrong CA, bad cert, ...). */
int
uplink_paho_tls_error(const char *str, size_t len, void *u)
{
	char	*t = xstrndup(str, len);

	uplink_paho_push(UE_TLS_ERROR, 0, 0, t);
	free(t);
	return (0);
}

/*
 * The reason part of an OpenSSL error line
 * ("PID:error:CODE:LIB:FUNC:REASON:FILE:LINE:"), or the trimmed line.
 */
char *
uplink_paho_tls_reason(const char *line)
{
	const char	*p = line ? line : "";
	size_t		 n, i = 0;

	if (strstr(p, ":error:") != NULL) {
		for (i = 0; i < 5 && (p = strchr(p, ':')) != NULL; i++)
			p++;
		if (p == NULL)
			p = line;
	}
	n = strcspn(p, i == 5 ? ":\r\n" : "\r\n");
	return (xstrndup(p, n));
}

