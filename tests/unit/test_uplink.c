/*
 * test_uplink.c - the uplink (uplink.c, uplink_paho.c) against a fake of
 * Paho's asynchronous client, on the real store and loop: this program
 * defines the MQTTAsync_* functions the uplink calls, so they take the
 * place of the library's.  The fake records connects and publishes; the
 * test plays the broker by calling the callbacks Paho would call (from
 * the test's thread: the bridge queues them for the loop either way).
 *
 * Checked: the retained online status on connect; outbox rows published
 * oldest first under the prefix with their ids as context, never more in
 * flight than mqtt.max_inflight; acknowledged rows deleted (in batches)
 * and the window refilled; a lost connection backs off, reconnects and
 * sends the unacknowledged rows again in order; a clean stop publishes
 * the retained offline status, disconnects and closes every handle.
 * With mqtt.commands on: P/cmd/# subscribed (QoS 1) after every connect,
 * and only then; messages reach the handler on the loop thread, not Paho's,
 * relative to the prefix; one over command_max comes as a marker; the
 * queue to the loop is bounded in messages and bytes, beyond which a
 * message comes as the other marker (dropped), and markers are bounded
 * too, beyond which messages are dropped.
 */
#include <MQTTAsync.h>
#include <check.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "daemon.h"
#include "store.h"
#include "store_fixture.h"
#include "testutil.h"
#include "uplink.h"
#include "uplink_paho.h"

#define FAKE_MAX	64

/* One publish the uplink asked for. */
struct fake_pub {
	char				 topic[128];
	char				 payload[256];
	int				 qos, retained;
	intptr_t			 id;	/* the context: outbox id */
	MQTTAsync_onSuccess		*ok;
	MQTTAsync_onFailure		*fail;
};

static struct {
	int				 connects, disconnects;
	MQTTAsync_onSuccess		*conn_ok;
	MQTTAsync_connectionLost	*lost;
	char				 will_topic[128];
	struct fake_pub			 pub[FAKE_MAX];
	int				 npub;
	MQTTAsync_messageArrived	*arrived;
	int				 subs, sub_qos;
	char				 sub_topic[128];
	MQTTAsync_onSuccess		*sub_ok;
} fake;

/* What the message handler got. */
static struct {
	int		 n;
	char		 topic[128];
	size_t		 len;
	int		 data_null;
	int		 nmarks;	/* UPLINK_MSG_DROPPED seen */
	int		 off_loop;	/* calls off the test's thread */
	pthread_t	 loop;
} got;

/* Paho: make a client (nothing to make). */
int
MQTTAsync_createWithOptions(MQTTAsync *h, const char *uri, const char *id,
    int persistence, void *pctx, MQTTAsync_createOptions *o)
{
	(void)uri;
	(void)id;
	(void)persistence;
	(void)pctx;
	(void)o;
	*h = &fake;
	return (MQTTASYNC_SUCCESS);
}

/* Paho: keep the connection-lost callback. */
int
MQTTAsync_setCallbacks(MQTTAsync h, void *ctx, MQTTAsync_connectionLost *cl,
    MQTTAsync_messageArrived *ma, MQTTAsync_deliveryComplete *dc)
{
	(void)h;
	(void)ctx;
	(void)dc;
	fake.lost = cl;
	fake.arrived = ma;
	return (MQTTASYNC_SUCCESS);
}

/* Paho (MQTT 5 only): nothing to keep for 3.1.1. */
int
MQTTAsync_setDisconnected(MQTTAsync h, void *ctx, MQTTAsync_disconnected *d)
{
	(void)h;
	(void)ctx;
	(void)d;
	return (MQTTASYNC_SUCCESS);
}

/* Paho: a connect attempt; the test answers it. */
int
MQTTAsync_connect(MQTTAsync h, const MQTTAsync_connectOptions *o)
{
	(void)h;
	fake.connects++;
	fake.conn_ok = o->onSuccess;
	snprintf(fake.will_topic, sizeof fake.will_topic, "%s",
	    o->will != NULL ? o->will->topicName : "");
	return (MQTTASYNC_SUCCESS);
}

/* Paho: a publish; recorded, answered by the test. */
int
MQTTAsync_sendMessage(MQTTAsync h, const char *topic,
    const MQTTAsync_message *m, MQTTAsync_responseOptions *ro)
{
	struct fake_pub	*p;

	(void)h;
	if (fake.npub == FAKE_MAX)
		return (MQTTASYNC_MAX_BUFFERED_MESSAGES);
	p = &fake.pub[fake.npub++];
	snprintf(p->topic, sizeof p->topic, "%s", topic);
	snprintf(p->payload, sizeof p->payload, "%.*s", m->payloadlen,
	    (const char *)m->payload);
	p->qos = m->qos;
	p->retained = m->retained;
	p->id = (intptr_t)ro->context;
	p->ok = ro->onSuccess;
	p->fail = ro->onFailure;
	return (MQTTASYNC_SUCCESS);
}

/* Paho: a subscription; recorded, answered by the test. */
int
MQTTAsync_subscribe(MQTTAsync h, const char *topic, int qos,
    MQTTAsync_responseOptions *ro)
{
	(void)h;
	fake.subs++;
	fake.sub_qos = qos;
	fake.sub_ok = ro->onSuccess;
	snprintf(fake.sub_topic, sizeof fake.sub_topic, "%s", topic);
	return (MQTTASYNC_SUCCESS);
}

/* Paho: disconnect, at once. */
int
MQTTAsync_disconnect(MQTTAsync h, const MQTTAsync_disconnectOptions *o)
{
	(void)h;
	fake.disconnects++;
	if (o->onSuccess != NULL)
		o->onSuccess(o->context, NULL);
	return (MQTTASYNC_SUCCESS);
}

/* Paho: free a client (nothing was made). */
void
MQTTAsync_destroy(MQTTAsync *h)
{
	*h = NULL;
}

/* Paho: error text. */
const char *
MQTTAsync_strerror(int code)
{
	(void)code;
	return ("fake error");
}

/* Paho: free what it allocated (nothing here). */
void
MQTTAsync_free(void *p)
{
	free(p);
}

/* Paho: free a message (the test made it with make_msg()). */
void
MQTTAsync_freeMessage(MQTTAsync_message **m)
{
	free((*m)->payload);
	free(*m);
	*m = NULL;
}

/* Run loop turns for up to ms, or until cond() holds. */
static void
turns(int ms, int (*cond)(void))
{
	uint64_t	end = daemon_now_ms() + (uint64_t)ms;

	while (daemon_now_ms() < end && (cond == NULL || !cond())) {
		uv_run(daemon_loop(), UV_RUN_NOWAIT);
		usleep(2000);
	}
}

/* The row publishes so far (outbox ids, in order sent), into ids. */
static int
row_ids(intptr_t *ids)
{
	int	i, n = 0;

	for (i = 0; i < fake.npub; i++)
		if (fake.pub[i].id > 0)
			ids[n++] = fake.pub[i].id;
	return (n);
}

/* Acknowledge publish i as the broker would. */
static void
ack(int i)
{
	fake.pub[i].ok((void *)fake.pub[i].id, NULL);
}

/* Index of the publish of outbox id, or -1. */
static int
pub_of(intptr_t id)
{
	int	i;

	for (i = fake.npub - 1; i >= 0; i--)
		if (fake.pub[i].id == id)
			return (i);
	return (-1);
}

/* A second connect happened. */
static int
reconnected(void)
{
	return (fake.connects >= 2);
}

/* Start the store and the uplink (with extra [mqtt] lines); connect. */
static void
start_with(const char *extra)
{
	char	*cause = NULL, lines[512];

	memset(&fake, 0, sizeof fake);	/* for CK_FORK=no runs */
	snprintf(lines, sizeof lines, "[mqtt]\nuri = tcp://127.0.0.1:1883\n"
	    "max_inflight = 4\ntopic_prefix = te/gw\n%s", extra);
	fx_setup(lines);
	fx_start();
	fx_turn();
	if (uplink_start(fx_cf, &cause) != 0)
		ck_abort_msg("uplink_start: %s", cause);
	ck_assert_int_eq(fake.connects, 1);
	ck_assert_str_eq(fake.will_topic, "te/gw/status");
	fake.conn_ok(NULL, NULL);
	turns(200, NULL);
}

/* Start the store and the uplink; answer the connect. */
static void
start_connected(void)
{
	start_with("");
}

START_TEST(test_drain_window_reconnect)
{
	intptr_t	ids[FAKE_MAX];
	int		i, n;

	start_connected();
	/* The retained online status first, id 0 (not a row). */
	ck_assert_int_ge(fake.npub, 1);
	ck_assert_str_eq(fake.pub[0].topic, "te/gw/status");
	ck_assert_int_eq(fake.pub[0].retained, 1);
	ck_assert_ptr_nonnull(strstr(fake.pub[0].payload, "\"online\""));
	for (i = 0; i < 10; i++)
		ck_assert_int_eq(fx_put_row(STORE_CLASS_EVENT, "ev", 40), 0);
	fx_flush();
	turns(200, NULL);
	/* Oldest first, under the prefix, the window full and no more. */
	n = row_ids(ids);
	ck_assert_int_eq(n, 4);
	for (i = 0; i < n; i++)
		ck_assert_int_eq(ids[i], ids[0] + i);
	ck_assert_str_eq(fake.pub[pub_of(ids[0])].topic, "te/gw/t/x");
	ck_assert_int_eq(fake.pub[pub_of(ids[0])].qos, 1);
	/* Two acks: two deleted, two more sent. */
	ack(pub_of(ids[0]));
	ack(pub_of(ids[1]));
	turns(200, NULL);
	ck_assert_int_eq(row_ids(ids), 6);
	ck_assert_int_eq(ids[5], ids[0] + 5);
	/* The link drops: back off, reconnect, send the unacked again. */
	fake.lost(NULL, "fake cause");
	turns(3000, reconnected);
	ck_assert_int_eq(fake.connects, 2);
	/* The acked rows were deleted (in a batch, at the latest here). */
	fx_flush();
	ck_assert_int_eq(fx_count_sql("SELECT count(*) FROM outbox"), 8);
	n = fake.npub;
	fake.conn_ok(NULL, NULL);
	turns(200, NULL);
	ck_assert_str_eq(fake.pub[n].topic, "te/gw/status");
	/*
	 * The rows that were in flight when the link dropped go one at a
	 * time until they are through (uplink_refuse.c: one of them may be
	 * what the broker drops us for), oldest unacked first.
	 */
	for (i = 0; i < 4; i++) {
		ck_assert_int_eq(fake.npub, n + 2 + i);
		ck_assert_int_eq(fake.pub[n + 1 + i].id, ids[0] + 2 + i);
		ack(n + 1 + i);
		turns(100, NULL);
	}
	/* Then the window is whole again: the last four rows at once. */
	ck_assert_int_eq(fake.npub, n + 1 + 4 + 4);
	for (i = 0; i < 4; i++)
		ck_assert_int_eq(fake.pub[n + 5 + i].id, ids[0] + 6 + i);
	/* A clean stop: offline status, disconnect, every handle closed. */
	uplink_stop();
	turns(300, NULL);
	ck_assert_ptr_nonnull(strstr(fake.pub[fake.npub - 1].payload,
	    "\"offline\""));
	ack(fake.npub - 1);
	turns(1500, uplink_stopped);
	ck_assert_int_eq(uplink_stopped(), 1);
	ck_assert_int_eq(fake.disconnects, 1);
	/* Commands are off by default: nothing was subscribed. */
	ck_assert_int_eq(fake.subs, 0);
	fx_stop();
	fx_teardown();
}
END_TEST

/* The message handler: record the call and the thread it runs on. */
static void
handler(const char *topic, const void *data, size_t len)
{
	got.n++;
	snprintf(got.topic, sizeof got.topic, "%s", topic);
	got.len = len;
	got.data_null = data == NULL;
	if (len == UPLINK_MSG_DROPPED) {
		ck_assert_ptr_null(data);
		got.nmarks++;
	}
	if (!pthread_equal(pthread_self(), got.loop))
		got.off_loop++;
}

/* Deliver a message as Paho would; the callback's answer. */
static int
arrive(const char *topic, size_t len)
{
	MQTTAsync_message	*m = calloc(1, sizeof *m);
	char			*t = strdup(topic);

	ck_assert_ptr_nonnull(m);
	ck_assert_ptr_nonnull(t);
	m->payload = malloc(len + 1);
	ck_assert_ptr_nonnull(m->payload);
	memset(m->payload, 'x', len);
	m->payloadlen = (int)len;
	m->qos = 1;
	if (fake.arrived(NULL, t, 0, m))
		return (1);
	MQTTAsync_freeMessage(&m);	/* Paho would keep them */
	free(t);
	return (0);
}

/* One message delivered from another thread (Paho's). */
static void *
arrive_thread(void *arg)
{
	(void)arg;
	return ((void *)(intptr_t)arrive("te/gw/cmd/reload", 12));
}

/* The handler has seen n messages. */
static int	want_n;
static int
got_n(void)
{
	return (got.n >= want_n);
}

START_TEST(test_commands)
{
	pthread_t	t;
	void		*rv;
	int		 i, n;

	memset(&got, 0, sizeof got);
	got.loop = pthread_self();
	uplink_set_message_handler(handler);
	start_with("commands = on\ncommand_max = 1K\n");
	/* Subscribed after the connect, QoS 1. */
	ck_assert_int_eq(fake.subs, 1);
	ck_assert_str_eq(fake.sub_topic, "te/gw/cmd/#");
	ck_assert_int_eq(fake.sub_qos, 1);
	fake.sub_ok(NULL, NULL);
	/* From Paho's thread to the handler on the loop, prefix stripped. */
	ck_assert_int_eq(pthread_create(&t, NULL, arrive_thread, NULL), 0);
	ck_assert_int_eq(pthread_join(t, &rv), 0);
	ck_assert_int_eq((intptr_t)rv, 1);
	ck_assert_int_eq(got.n, 0);
	want_n = 1;
	turns(500, got_n);
	ck_assert_int_eq(got.n, 1);
	ck_assert_int_eq(got.off_loop, 0);
	ck_assert_str_eq(got.topic, "cmd/reload");
	ck_assert_int_eq(got.len, 12);
	/* Over command_max: the marker. */
	ck_assert_int_eq(arrive("te/gw/cmd/model/m/1", 1025), 1);
	want_n = 2;
	turns(500, got_n);
	ck_assert_int_eq(got.n, 2);
	ck_assert_int_eq(got.data_null, 1);
	ck_assert(got.len == UPLINK_MSG_TOO_LARGE);
	/* A topic outside the prefix is not handed on. */
	ck_assert_int_eq(arrive("other/cmd/reload", 2), 1);
	turns(100, NULL);
	ck_assert_int_eq(got.n, 2);
	/*
	 * The queue: UPLINK_IN_MAX messages with their bytes, then markers
	 * (UPLINK_IN_MARKS), then dropped.
	 */
	for (i = 0; i < UPLINK_IN_MAX + UPLINK_IN_MARKS + 5; i++)
		ck_assert_int_eq(arrive("te/gw/cmd/reload", 2), 1);
	got.n = got.nmarks = 0;
	want_n = UPLINK_IN_MAX + UPLINK_IN_MARKS;
	turns(500, got_n);
	turns(50, NULL);
	ck_assert_int_eq(got.n, UPLINK_IN_MAX + UPLINK_IN_MARKS);
	ck_assert_int_eq(got.nmarks, UPLINK_IN_MARKS);
	/* And command_max (1K) payload bytes in all. */
	ck_assert_int_eq(arrive("te/gw/cmd/reload", 600), 1);
	ck_assert_int_eq(arrive("te/gw/cmd/reload", 400), 1);
	ck_assert_int_eq(arrive("te/gw/cmd/reload", 100), 1);
	/* Too large: its own marker, no bytes. */
	ck_assert_int_eq(arrive("te/gw/cmd/reload", 5000), 1);
	got.n = got.nmarks = 0;
	want_n = 4;
	turns(500, got_n);
	ck_assert_int_eq(got.n, 4);
	ck_assert_int_eq(got.nmarks, 1);
	ck_assert(got.len == UPLINK_MSG_TOO_LARGE);
	ck_assert_int_eq(got.data_null, 1);
	ck_assert_int_eq(got.off_loop, 0);
	/* A reconnect subscribes again. */
	fake.lost(NULL, "fake cause");
	turns(3000, reconnected);
	n = fake.subs;
	fake.conn_ok(NULL, NULL);
	turns(200, NULL);
	ck_assert_int_eq(fake.subs, n + 1);
	/* No handler: messages are dropped, not kept. */
	uplink_set_message_handler(NULL);
	n = got.n;
	ck_assert_int_eq(arrive("te/gw/cmd/reload", 2), 1);
	turns(100, NULL);
	ck_assert_int_eq(got.n, n);
	uplink_stop();
	turns(300, NULL);
	ack(fake.npub - 1);
	turns(1500, uplink_stopped);
	ck_assert_int_eq(uplink_stopped(), 1);
	fx_stop();
	fx_teardown();
}
END_TEST

int
main(void)
{
	struct testutil_case	cases[] = {
		{ test_drain_window_reconnect, 0 },
		{ test_commands, 0 },
	};

	return (testutil_run("uplink", 30, cases,
	    sizeof cases / sizeof cases[0]));
}
