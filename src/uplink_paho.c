/*
 * uplink_paho.c - the bridge from Paho's threads to the loop thread.
 *
 * Paho calls every callback below on one of its own threads.  None of them
 * touches uplink state: each allocates an event, appends it to a queue
 * under a mutex and wakes the loop with uv_async_send(); the loop side
 * (uplink.c) takes the whole queue at once, so wake-ups coalesce.  After
 * uplink_paho_close() no callback touches the async handle any more, which
 * makes it safe to close it while Paho still winds down.
 */
#include <MQTTAsync.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "uplink_paho.h"
#include "xmalloc.h"

static struct {
	pthread_mutex_t		 mu;
	uv_async_t		*async;
	struct uplink_msg	*qhead, **qtail;
	int			 closed;	/* no more sends */
} br = { .mu = PTHREAD_MUTEX_INITIALIZER, .qtail = &br.qhead };

/* Loop thread: start queueing events for this async handle. */
void
uplink_paho_init(uv_async_t *async)
{
	pthread_mutex_lock(&br.mu);
	br.async = async;
	br.qhead = NULL;
	br.qtail = &br.qhead;
	br.closed = 0;
	pthread_mutex_unlock(&br.mu);
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

	pthread_mutex_lock(&br.mu);
	br.closed = 1;
	br.async = NULL;
	m = br.qhead;
	br.qhead = NULL;
	br.qtail = &br.qhead;
	pthread_mutex_unlock(&br.mu);
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
	uplink_paho_push(UE_CONNECTED, 0, 0, NULL);
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

/* Paho: we subscribe to nothing, but a NULL handler is refused. */
int
uplink_paho_arrived(void *ctx, char *topic, int len, MQTTAsync_message *m)
{
	MQTTAsync_freeMessage(&m);
	MQTTAsync_free(topic);
	return (1);
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

