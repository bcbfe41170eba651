/*
 * uplink_paho.h - private to the uplink: Paho's callbacks and the queue
 * that carries them to the loop thread (uplink_paho.c), and the rows the
 * broker refuses (uplink_refuse.c).
 */
#ifndef TE_UPLINK_PAHO_H
#define TE_UPLINK_PAHO_H

#include <MQTTAsync.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

enum uplink_event {
	UE_CONNECTED,
	UE_CONNECT_FAILED,
	UE_LOST,
	UE_PUB_OK,
	UE_PUB_FAIL,
	UE_DISCONNECTED,
	UE_TLS_ERROR,
	UE_SUBSCRIBED,
	UE_SUB_FAILED,
};

/* One event from a Paho thread, queued for the loop. */
struct uplink_msg {
	enum uplink_event	 ev;
	int64_t			 id;	/* publish context: outbox id */
	int			 rc;
	int			 reason;	/* MQTT 5 reason code, or 0 */
	char			*text;
	struct uplink_msg	*next;
};

/*
 * One message of a subscribed topic, copied off Paho's thread: the full
 * topic, and the payload (len bytes), or data NULL and a marker for len
 * (uplink.h: UPLINK_MSG_TOO_LARGE, UPLINK_MSG_DROPPED).
 */
struct uplink_in {
	char			*topic;
	void			*data;
	size_t			 len;
	struct uplink_in	*next;
};

#define UPLINK_IN_MAX		32	/* messages with their bytes */
#define UPLINK_IN_MARKS		256	/* markers queued beyond those */
#define UPLINK_IN_TOPIC_MAX	1024	/* topic bytes of a marker */

void			 uplink_paho_init(uv_async_t *, size_t);
void			 uplink_paho_limit(size_t);
void			 uplink_paho_deliver(const char *,
			    void (*)(const char *, const void *, size_t),
			    const char *,
			    void (*)(const char *, const void *, size_t));
void			 uplink_paho_subscribe(MQTTAsync, const char *, int,
			    int);
struct uplink_msg	*uplink_paho_take(void);
struct uplink_msg	*uplink_paho_close(void);
char			*uplink_paho_tls_reason(const char *);

void	uplink_paho_conn_ok(void *, MQTTAsync_successData *);
void	uplink_paho_conn_fail(void *, MQTTAsync_failureData *);
void	uplink_paho_conn_ok5(void *, MQTTAsync_successData5 *);
void	uplink_paho_conn_fail5(void *, MQTTAsync_failureData5 *);
void	uplink_paho_lost(void *, char *);
void	uplink_paho_server_disc(void *, MQTTProperties *,
	    enum MQTTReasonCodes);
int	uplink_paho_arrived(void *, char *, int, MQTTAsync_message *);
void	uplink_paho_pub_ok(void *, MQTTAsync_successData *);
void	uplink_paho_pub_fail(void *, MQTTAsync_failureData *);
void	uplink_paho_pub_ok5(void *, MQTTAsync_successData5 *);
void	uplink_paho_pub_fail5(void *, MQTTAsync_failureData5 *);
void	uplink_paho_disc(void *, MQTTAsync_successData *);
void	uplink_paho_disc_fail(void *, MQTTAsync_failureData *);
void	uplink_paho_disc5(void *, MQTTAsync_successData5 *);
void	uplink_paho_disc_fail5(void *, MQTTAsync_failureData5 *);
int	uplink_paho_tls_error(const char *, size_t, void *);

void	uplink_refuse_strike(int64_t, const char *);
void	uplink_refuse_acked(int64_t);
void	uplink_refuse_failed(const struct uplink_msg *);
void	uplink_refuse_lost(const int64_t *, size_t);
void	uplink_refuse_connected(void);
size_t	uplink_refuse_window(size_t, int64_t, size_t);
void	uplink_refuse_reset(void);

#endif
