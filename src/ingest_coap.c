/*
 * ingest_coap.c - CoAP ingest: plain UDP and DTLS-PSK listeners, driven by
 * the daemon's one libuv loop.
 *
 * libcoap keeps its sockets and its own timerfd inside one epoll fd
 * (coap_context_get_coap_fd); a uv_poll on that fd wakes us for datagrams
 * and for libcoap's retransmission timers alike, so no polling timer spins.
 * On each wake-up every datagram that is ready is handled (libcoap reads
 * one per ready socket per call, so we ask epoll again until nothing is
 * ready, within a budget).  Each coap_io_do_epoll() call re-arms libcoap's
 * timerfd as it returns (a walk over the sessions: libcoap 4.3.1 has no
 * way to read several datagrams per walk), so we add no walk of our own
 * except after the DTLS part's own changes.
 *
 * The request handler is in ingest_coap_req.c, Block1 uploads in
 * ingest_coap_block.c (libcoap's own block handling is off: it would buffer
 * a body before any rule could refuse it), keys and DTLS sessions in
 * ingest_coap_dtls.c, the settings and model GETs in ingest_coap_get.c and
 * their observers in ingest_coap_obs.c (notifications are sent outside
 * libcoap's I/O pass, so its timers are re-armed after them: a zero timer
 * gathers the notifications of one loop turn into one re-arm).  Limits on
 * what peers can make libcoap hold: idle sessions per listener
 * (coap.max_sessions; the oldest idle one goes; a session an observer
 * holds is not idle, see ingest_coap_obs.c) and handshakes in progress
 * (coap.max_handshakes).
 *
 * Lines logged because of a peer (an unknown identity, ...) go through
 * ingest_coap_log_ok(): at most one per COAP_LOG_EVERY_MS per source
 * address, with a count of what was held back.
 */
#include <sys/epoll.h>
#include <sys/stat.h>

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <coap3/coap.h>
#include <uv.h>

#include "config.h"
#include "daemon.h"
#include "ingest_coap.h"
#include "ingest_coap_int.h"
#include "log.h"
#include "xmalloc.h"

#define COAP_EPOLL_EVENTS	32	/* events taken per epoll_wait */
#define COAP_TURN_ROUNDS	64	/* epoll_waits per wake-up at most */
#define COAP_PROBE_EVERY	4	/* quiet: look for a backlog 1 turn in 4 */
#define COAP_LOG_SOURCES	64	/* sources the log limit remembers */
#define COAP_LOG_EVERY_MS	10000

/* One source of peer-caused log lines. */
struct coap_log_source {
	char		name[64];
	uint64_t	last_ms;
	uint64_t	held;		/* lines not logged since */
};

static struct {
	coap_context_t		*ctx;
	uv_poll_t		 poll;
	int			 polling;
	uv_timer_t		 rearm;
	int			 rearming;	/* the timer handle is open */
	int			 started;
	int			 fd;		/* libcoap's epoll fd */
	int			 dtls;		/* DTLS set up */
	char			 last_log[256];
	struct coap_log_source	 logsrc[COAP_LOG_SOURCES];
	int			 busy;		/* last wake-up found a backlog */
	unsigned		 turns;
	size_t			 sessions;	/* plain UDP sessions now */
	size_t			 max_sessions;
	uint64_t		 full_log_ms;
} listener;

/*
 * Route libcoap's log lines into ours (and keep the last for causes).
 * Once the listeners run, what libcoap says is about peers (one "Incomplete
 * session timed out" per ClientHello of a flood): those lines share one
 * rate limit, unless log_level is debug.
 */
static void
ingest_coap_log(coap_log_t level, const char *message)
{
	char	line[256];
	size_t	n;

	snprintf(line, sizeof line, "%s", message);
	n = strlen(line);
	while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		line[--n] = '\0';
	snprintf(listener.last_log, sizeof listener.last_log, "%s", line);
	if (listener.polling && log_get_level() < LOG_LEVEL_DEBUG &&
	    !ingest_coap_log_ok("libcoap"))
		return;
	if (level <= LOG_ERR)
		log_warnx("coap: %s", line);
	else if (level <= LOG_WARNING)
		log_info("coap: %s", line);
	else
		log_debug("coap: %s", line);
}

/*
 * May a line caused by this source be logged now?  One per
 * COAP_LOG_EVERY_MS per source; the table forgets its least recent source.
 * The loop's monotonic clock: a wall clock stepped back would silence a
 * source for as long as the step.
 */
int
ingest_coap_log_ok(const char *source)
{
	struct coap_log_source	*e, *lru = &listener.logsrc[0];
	uint64_t		 now = uv_now(daemon_loop()), held;
	size_t			 i;

	for (i = 0; i < COAP_LOG_SOURCES; i++) {
		e = &listener.logsrc[i];
		if (strcmp(e->name, source) == 0)
			break;
		if (e->last_ms < lru->last_ms)
			lru = e;
	}
	if (i == COAP_LOG_SOURCES) {
		e = lru;
		snprintf(e->name, sizeof e->name, "%s", source);
		e->last_ms = 0;
		e->held = 0;
	}
	if (e->last_ms != 0 && now - e->last_ms < COAP_LOG_EVERY_MS) {
		e->held++;
		return (0);
	}
	held = e->held;
	e->last_ms = now;
	e->held = 0;
	if (held > 0)
		log_info("coap: %" PRIu64 " more lines about %s were not "
		    "logged", held, source);
	return (1);
}

/* Add a /.well-known/core entry for one node resource. */
static void
ingest_coap_template(const char *kind, const char *ct, const char *rt)
{
	coap_resource_t	*r;
	char		*uri;

	xasprintf(&uri, "v1/n/{node}/%s", kind);
	r = coap_resource_init(coap_new_str_const((const uint8_t *)uri,
	    strlen(uri)), COAP_RESOURCE_FLAGS_RELEASE_URI);
	free(uri);
	coap_register_request_handler(r, COAP_REQUEST_POST,
	    ingest_coap_handler);
	coap_add_attr(r, coap_make_str_const("ct"), coap_make_str_const(ct), 0);
	coap_add_attr(r, coap_make_str_const("rt"), coap_make_str_const(rt), 0);
	coap_add_resource(listener.ctx, r);
}

/* Add a /.well-known/core entry for a GET resource (obs: observable). */
static void
ingest_coap_template_get(const char *uri, const char *ct, const char *rt,
    int obs)
{
	coap_resource_t	*r;

	r = coap_resource_init(coap_new_str_const((const uint8_t *)uri,
	    strlen(uri)), COAP_RESOURCE_FLAGS_RELEASE_URI);
	coap_register_request_handler(r, COAP_REQUEST_GET,
	    ingest_coap_handler);
	coap_add_attr(r, coap_make_str_const("ct"), coap_make_str_const(ct), 0);
	coap_add_attr(r, coap_make_str_const("rt"), coap_make_str_const(rt), 0);
	if (obs)
		coap_add_attr(r, coap_make_str_const("obs"), NULL, 0);
	coap_add_resource(listener.ctx, r);
}

/* Convert a socket address for libcoap. */
static void
ingest_coap_address(const struct sockaddr *sa, coap_address_t *addr)
{
	coap_address_init(addr);
	if (sa->sa_family == AF_INET6) {
		addr->size = sizeof(struct sockaddr_in6);
		memcpy(&addr->addr.sin6, sa, sizeof(struct sockaddr_in6));
	} else {
		addr->size = sizeof(struct sockaddr_in);
		memcpy(&addr->addr.sin, sa, sizeof(struct sockaddr_in));
	}
}

/*
 * Say, at most once per COAP_LOG_EVERY_MS, that the client sessions reached
 * coap.max_sessions.  Only established sessions count: plain UDP ones and
 * DTLS ones whose handshake finished; DTLS hellos still handshaking are
 * bounded by coap.max_handshakes instead and are reported apart.
 */
static void
ingest_coap_sessions_check(void)
{
	size_t		dtls = 0, hs = 0;
	uint64_t	now = uv_now(daemon_loop());

	if (listener.dtls)
		ingest_coap_dtls_counts(&dtls, &hs);
	if (listener.sessions + dtls < listener.max_sessions ||
	    now - listener.full_log_ms < COAP_LOG_EVERY_MS)
		return;
	listener.full_log_ms = now;
	log_info("coap: %zu established client sessions (%zu plain, %zu DTLS; "
	    "%zu DTLS handshakes not counted): the oldest idle ones are "
	    "dropped (coap.max_sessions %zu)", listener.sessions + dtls,
	    listener.sessions,
	    dtls, hs, listener.max_sessions);
}

/*
 * libcoap's session events: count plain server sessions (libcoap makes a
 * DTLS one at the first hello, before its peer is verified: those are
 * counted by ingest_coap_dtls.c once their handshake is done).
 */
static int
ingest_coap_event(coap_session_t *s, const coap_event_t ev)
{
	int	plain;

	if (s == NULL)
		return (0);
	plain = coap_session_get_proto(s) == COAP_PROTO_UDP;
	if (listener.dtls && !plain)
		ingest_coap_dtls_event(s, ev);
	if (ev == COAP_EVENT_SERVER_SESSION_NEW && plain) {
		listener.sessions++;
		ingest_coap_sessions_check();
	} else if (ev == COAP_EVENT_DTLS_CONNECTED)
		ingest_coap_sessions_check();
	else if (ev == COAP_EVENT_SERVER_SESSION_DEL && plain &&
	    listener.sessions > 0)
		listener.sessions--;
	/* A closed session keeps no observer (and the reference it holds). */
	if (ev == COAP_EVENT_SERVER_SESSION_DEL ||
	    ev == COAP_EVENT_DTLS_CLOSED || ev == COAP_EVENT_DTLS_ERROR ||
	    ev == COAP_EVENT_SESSION_CLOSED || ev == COAP_EVENT_SESSION_FAILED)
		ingest_coap_obs_session(s);
	return (0);
}

/* libcoap gave up on a confirmable message: it may be a notification. */
static void
ingest_coap_nack(coap_session_t *s, const coap_pdu_t *sent,
    const coap_nack_reason_t reason, const coap_mid_t mid)
{
	(void)mid;
	ingest_coap_obs_nack(s, sent, reason);
}

/* The zero timer of ingest_coap_rearm(): re-arm libcoap's timers. */
static void
ingest_coap_rearm_cb(uv_timer_t *t)
{
	coap_tick_t	now;

	(void)t;
	if (listener.ctx == NULL || !listener.polling)
		return;
	coap_ticks(&now);
	coap_io_prepare_epoll(listener.ctx, now);
}

/*
 * Messages were sent outside libcoap's I/O pass (notifications): have its
 * retransmission timer re-armed once this loop turn is done.
 */
void
ingest_coap_rearm(void)
{
	if (listener.rearming && !uv_is_active((uv_handle_t *)&listener.rearm))
		uv_timer_start(&listener.rearm, ingest_coap_rearm_cb, 0, 0);
}

/*
 * libcoap has work: datagrams or its own timers.  Take everything ready,
 * then re-arm libcoap's timers once (see the top of the file).
 *
 * Why the rounds are counted: under load another epoll_wait() right after
 * a batch finds the next datagrams and saves a trip through libuv; at a
 * steady trickle (one datagram a wake-up) it finds nothing: one wasted
 * system call per reading beside the six an acknowledged reading needs
 * (libuv's epoll_wait, ours, recvmsg, the journal's pwrite, sendmsg, and
 * libcoap's timerfd_settime).  So a quiet listener looks again only one
 * wake-up in COAP_PROBE_EVERY, and keeps looking while that finds a
 * backlog.
 */
static void
ingest_coap_poll_cb(uv_poll_t *h, int status, int events)
{
	struct epoll_event	ev[COAP_EPOLL_EVENTS];
	coap_tick_t		now;
	int			n, round, rounds;

	(void)h;
	(void)events;
	if (status < 0) {
		log_warnx("coap: poll: %s", uv_strerror(status));
		return;
	}
	rounds = listener.busy || ++listener.turns % COAP_PROBE_EVERY == 0 ?
	    COAP_TURN_ROUNDS : 1;
	for (round = 0; round < rounds; round++) {
		n = epoll_wait(listener.fd, ev, COAP_EPOLL_EVENTS, 0);
		if (n <= 0)
			break;
		coap_io_do_epoll(listener.ctx, ev, (size_t)n);
	}
	listener.busy = round > 1;
	/*
	 * coap_io_do_epoll() re-armed libcoap's timers as it returned; only
	 * what the DTLS part changed after it needs another look.
	 */
	if (listener.dtls) {
		ingest_coap_dtls_after_io();
		coap_ticks(&now);
		coap_io_prepare_epoll(listener.ctx, now);
	}
}

/*
 * Is a UDP address free?  libcoap binds with SO_REUSEADDR, and on Linux two
 * such sockets may share a UDP port, so a second daemon would silently
 * steal half of the traffic.  A probe bind without SO_REUSEADDR fails with
 * EADDRINUSE when anyone holds the port.
 */
static int
ingest_coap_port_free(const struct sockaddr *sa, char **cause)
{
	socklen_t	len = sa->sa_family == AF_INET6 ?
	    sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
	int		fd, rc;

	if ((fd = socket(sa->sa_family, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1) {
		xasprintf(cause, "socket: %s", strerror(errno));
		return (-1);
	}
	rc = bind(fd, sa, len);
	if (rc == -1)
		xasprintf(cause, "%s", strerror(errno));
	close(fd);
	return (rc);
}

/* Open one listener; -1 with *cause when it cannot bind. */
static int
ingest_coap_listen(const struct config *cf, const char *key,
    coap_proto_t proto, char **cause)
{
	const struct sockaddr	*sa = config_addr(cf, "coap", key);
	coap_address_t		 addr;
	char			*why = NULL;

	if (sa == NULL)
		return (0);
	if (ingest_coap_port_free(sa, &why) != 0) {
		xasprintf(cause, "coap.%s %s: cannot listen: %s", key,
		    config_str(cf, "coap", key), why);
		free(why);
		return (-1);
	}
	ingest_coap_address(sa, &addr);
	listener.last_log[0] = '\0';
	if (coap_new_endpoint(listener.ctx, &addr, proto) == NULL) {
		xasprintf(cause, "coap.%s %s: cannot listen%s%s", key,
		    config_str(cf, "coap", key), listener.last_log[0] ? ": " :
		    "", listener.last_log);
		return (-1);
	}
	log_info("coap: listening on %s%s", config_str(cf, "coap", key),
	    proto == COAP_PROTO_DTLS ? " (DTLS-PSK)" : "");
	return (0);
}

/* Open the context, resources and listeners of [coap]. */
static int
ingest_coap_open(const struct config *cf, char **cause)
{
	coap_resource_t		*unknown;
	int			 rv;

	memset(&listener, 0, sizeof listener);
	if (config_addr(cf, "coap", "listen") == NULL &&
	    config_addr(cf, "coap", "dtls_listen") == NULL) {
		log_info("coap: no listener configured");
		return (0);
	}
	coap_startup();
	listener.started = 1;
	coap_set_log_handler(ingest_coap_log);
	coap_set_log_level(log_get_level() >= LOG_LEVEL_DEBUG ? LOG_INFO :
	    LOG_WARNING);
	coap_dtls_set_log_level(log_get_level() >= LOG_LEVEL_DEBUG ?
	    LOG_INFO : LOG_ERR);
	if ((listener.ctx = coap_new_context(NULL)) == NULL) {
		xasprintf(cause, "coap: cannot create a context");
		return (-1);
	}
	/* No libcoap block handling: Block1 is ours (ingest_coap_block.c). */
	coap_context_set_block_mode(listener.ctx, 0);
	listener.max_sessions = (size_t)config_int(cf, "coap", "max_sessions");
	coap_context_set_max_idle_sessions(listener.ctx,
	    (unsigned)listener.max_sessions);
	coap_register_event_handler(listener.ctx, ingest_coap_event);
	coap_register_nack_handler(listener.ctx, ingest_coap_nack);
	if (config_addr(cf, "coap", "dtls_listen") != NULL) {
		if (ingest_coap_dtls_setup(listener.ctx, cf, cause) != 0)
			return (-1);
		listener.dtls = 1;
	}

	unknown = coap_resource_unknown_init2(ingest_coap_handler, 0);
	coap_register_request_handler(unknown, COAP_REQUEST_POST,
	    ingest_coap_handler);
	coap_register_request_handler(unknown, COAP_REQUEST_GET,
	    ingest_coap_handler);
	coap_register_request_handler(unknown, COAP_REQUEST_DELETE,
	    ingest_coap_handler);
	/* So that every method on a known route gets 4.05, not 4.04. */
	coap_register_request_handler(unknown, COAP_REQUEST_FETCH,
	    ingest_coap_handler);
	coap_register_request_handler(unknown, COAP_REQUEST_PATCH,
	    ingest_coap_handler);
	coap_register_request_handler(unknown, COAP_REQUEST_IPATCH,
	    ingest_coap_handler);
	coap_add_resource(listener.ctx, unknown);
	ingest_coap_template("inference", "50", "tinyedge.inference");
	ingest_coap_template("window", "50 42", "tinyedge.window");
	ingest_coap_template("heartbeat", "50", "tinyedge.heartbeat");
	ingest_coap_template_get("v1/n/{node}/config", "50",
	    "tinyedge.config", 1);
	ingest_coap_template_get("v1/models/{name}", "42", "tinyedge.model",
	    0);

	if (ingest_coap_listen(cf, "listen", COAP_PROTO_UDP, cause) != 0 ||
	    ingest_coap_listen(cf, "dtls_listen", COAP_PROTO_DTLS, cause) != 0)
		return (-1);

	listener.fd = coap_context_get_coap_fd(listener.ctx);
	if (listener.fd < 0) {
		xasprintf(cause, "coap: libcoap was built without epoll");
		return (-1);
	}
	if ((rv = uv_poll_init(daemon_loop(), &listener.poll,
	    listener.fd)) != 0) {
		xasprintf(cause, "coap: uv_poll_init: %s", uv_strerror(rv));
		return (-1);
	}
	listener.polling = 1;
	uv_poll_start(&listener.poll, UV_READABLE, ingest_coap_poll_cb);
	uv_timer_init(daemon_loop(), &listener.rearm);
	listener.rearming = 1;
	ingest_coap_obs_start();
	return (0);
}

/*
 * Start the listeners.  On failure everything opened so far is released
 * here: the daemon only stops modules that started.
 */
int
ingest_coap_start(const struct config *cf, char **cause)
{
	if (ingest_coap_open(cf, cause) == 0)
		return (0);
	ingest_coap_stop();
	return (-1);
}

/* SIGHUP: reload the node keys; a bad file keeps the old ones. */
void
ingest_coap_reload(const struct config *cf)
{
	(void)cf;
	if (listener.dtls)
		ingest_coap_dtls_reload();
}

/*
 * Housekeeping (every second): uploads that stopped sending blocks, and
 * DTLS sessions to close even when no datagram comes.
 */
void
ingest_coap_check(uint64_t mono)
{
	(void)mono;
	if (listener.ctx == NULL)
		return;
	ingest_coap_block_check(uv_now(daemon_loop()));
	ingest_coap_obs_check();
	if (listener.dtls)
		ingest_coap_dtls_after_io();
}

/* One-line status for systemd: sessions, handshakes, uploads. */
size_t
ingest_coap_status(char *buf, size_t len)
{
	size_t	dtls = 0, hs = 0;
	int	n;

	if (listener.ctx == NULL) {
		n = snprintf(buf, len, "coap off");
		return (n < 0 ? 0 : (size_t)n >= len ? len - 1 : (size_t)n);
	}
	if (listener.dtls)
		ingest_coap_dtls_counts(&dtls, &hs);
	n = snprintf(buf, len, "coap %zu sessions (%zu DTLS), %zu DTLS "
	    "handshaking, %zu uploads, %zu observers", listener.sessions + dtls,
	    dtls, hs, ingest_coap_block_count(), ingest_coap_obs_count());
	return (n < 0 ? 0 : (size_t)n >= len ? len - 1 : (size_t)n);
}

/* The poll handle is closed: now libcoap's sockets can go. */
static void
ingest_coap_closed(uv_handle_t *h)
{
	(void)h;
	coap_free_context(listener.ctx);
	listener.ctx = NULL;
	coap_cleanup();
	ingest_coap_dtls_free();
	ingest_coap_block_clear();
}

/* Stop listening; libcoap is freed once our poll handle has closed. */
void
ingest_coap_stop(void)
{
	ingest_coap_req_stop();
	/* Observers hold sessions: libcoap may only free unreferenced ones. */
	ingest_coap_obs_clear();
	if (listener.rearming) {
		listener.rearming = 0;
		uv_timer_stop(&listener.rearm);
		uv_close((uv_handle_t *)&listener.rearm, NULL);
	}
	if (listener.polling) {
		listener.polling = 0;
		uv_poll_stop(&listener.poll);
		uv_close((uv_handle_t *)&listener.poll, ingest_coap_closed);
		return;
	}
	if (listener.ctx != NULL)
		coap_free_context(listener.ctx);
	listener.ctx = NULL;
	if (listener.started)
		coap_cleanup();
	listener.started = 0;
	ingest_coap_dtls_free();
	ingest_coap_block_clear();
}
