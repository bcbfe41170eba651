/*
 * ingest_coap.c - CoAP ingest: plain UDP and DTLS-PSK listeners, driven by
 * the daemon's one libuv loop.
 *
 * libcoap keeps its sockets and its own timerfd inside one epoll fd
 * (coap_context_get_coap_fd); a uv_poll on that fd wakes us for datagrams
 * and for libcoap's retransmission timers alike, so no polling timer spins.
 * After each coap_io_process() we call coap_io_prepare_epoll() to re-arm
 * libcoap's timers.
 *
 * Every node resource lives under /v1/n/{node}/, so one "unknown resource"
 * handler routes all requests and answers 4.04/4.05 itself; template
 * entries make /.well-known/core list the three resources.  Block1 bodies
 * arrive whole (COAP_BLOCK_SINGLE_BODY).
 *
 * The 2.04 is sent only after the store has committed the message: the
 * handler puts it and flushes the store's transaction before answering, so
 * an acknowledged message survives kill -9.  (A handler must answer before
 * it returns; answering several requests from one group commit would need
 * CoAP separate responses.)
 *
 * DTLS: one pre-shared key per node from psk_file; the PSK identity is the
 * node id, an unknown identity fails the handshake, and an identity may
 * only post under its own /v1/n/{node}/.  SIGHUP reloads the keys without
 * touching established sessions.
 */
#include <sys/stat.h>

#include <arpa/inet.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <coap3/coap.h>
#include <uv.h>

#include "config.h"
#include "daemon.h"
#include "ingest.h"
#include "ingest_coap.h"
#include "log.h"
#include "message.h"
#include "metrics.h"
#include "parse.h"
#include "store.h"
#include "xmalloc.h"

#define COAP_CF_JSON		50
#define COAP_CF_OCTETS		42
#define COAP_CF_TEXT		0
#define COAP_RETRY_MAX_AGE	30	/* seconds a refused node waits */
#define COAP_PSK_MAX		64	/* key bytes */

/* One node's pre-shared key. */
struct coap_psk {
	char			node[MESSAGE_NODE_MAX + 1];
	uint8_t			key[COAP_PSK_MAX];
	coap_bin_const_t	bin;
};

static struct {
	coap_context_t		*ctx;
	uv_poll_t		 poll;
	int			 polling;
	int			 started;
	struct coap_psk		*psk;
	size_t			 npsk;
	char			*psk_path;
	char			 last_log[256];
} ic;

/* Route libcoap's log lines into ours (and keep the last for causes). */
static void
ingest_coap_log(coap_log_t level, const char *message)
{
	char	line[256];
	size_t	n;

	snprintf(line, sizeof line, "%s", message);
	n = strlen(line);
	while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		line[--n] = '\0';
	snprintf(ic.last_log, sizeof ic.last_log, "%s", line);
	if (level <= LOG_ERR)
		log_warnx("coap: %s", line);
	else if (level <= LOG_WARNING)
		log_info("coap: %s", line);
	else
		log_debug("coap: %s", line);
}

/*
 * Read psk_file: "NODE_ID HEXKEY" lines, '#' comments.  Every bad line is
 * reported as FILE:LINE in *cause (one per line); -1 if any.
 */
static int
ingest_coap_load_psk(const char *path, struct coap_psk **out, size_t *nout,
    char **cause)
{
	struct coap_psk	*keys = NULL, *k;
	struct stat	 sb;
	FILE		*f;
	char		 buf[512], node[128], hex[256], extra[2], *errs = NULL, *t;
	size_t		 n = 0, i, klen;
	int		 line = 0, bad = 0, fields;

	if ((f = fopen(path, "r")) == NULL) {
		xasprintf(cause, "psk_file %s: %s", path, strerror(errno));
		return (-1);
	}
	if (fstat(fileno(f), &sb) == 0 && (sb.st_mode & S_IROTH))
		log_warnx("psk_file %s is readable by everyone: chmod 600 it",
		    path);
	while (fgets(buf, sizeof buf, f) != NULL) {
		line++;
		if (strchr(buf, '\n') == NULL && !feof(f)) {
			xasprintf(&t, "%s%s%s:%d: line too long", errs ? errs :
			    "", errs ? "\n" : "", path, line);
			free(errs);
			errs = t;
			bad++;
			while (fgets(buf, sizeof buf, f) != NULL &&
			    strchr(buf, '\n') == NULL)
				;
			continue;
		}
		fields = sscanf(buf, " %127s %255s %1s", node, hex, extra);
		if (fields <= 0 || node[0] == '#')
			continue;
		t = NULL;
		if (fields != 2)
			xasprintf(&t, "%s:%d: expected \"NODE_ID HEXKEY\"", path,
			    line);
		else if (!message_node_valid(node, strlen(node)))
			xasprintf(&t, "%s:%d: bad node id \"%s\"", path, line,
			    node);
		else {
			for (i = 0; i < n && strcmp(keys[i].node, node); i++)
				;
			if (i < n)
				xasprintf(&t, "%s:%d: node %s listed twice",
				    path, line, node);
		}
		if (t == NULL) {
			keys = xreallocarray(keys, n + 1, sizeof *keys);
			k = &keys[n];
			memset(k, 0, sizeof *k);
			if (parse_hex(hex, k->key, COAP_PSK_MAX, &klen) != 0)
				xasprintf(&t, "%s:%d: key must be 2 to %d hex "
				    "digits, an even number", path, line,
				    2 * COAP_PSK_MAX);
			else {
				snprintf(k->node, sizeof k->node, "%s", node);
				n++;
				k->bin.length = klen;
			}
		}
		if (t != NULL) {
			char	*all;

			xasprintf(&all, "%s%s%s", errs ? errs : "",
			    errs ? "\n" : "", t);
			free(errs);
			free(t);
			errs = all;
			bad++;
		}
	}
	fclose(f);
	/* The bin pointers are set last: realloc may have moved the array. */
	for (i = 0; i < n; i++)
		keys[i].bin.s = keys[i].key;
	if (bad) {
		free(keys);
		*cause = errs;
		return (-1);
	}
	*out = keys;
	*nout = n;
	return (0);
}

/* DTLS: the key for a PSK identity, or NULL to fail the handshake. */
static const coap_bin_const_t *
ingest_coap_psk_cb(coap_bin_const_t *identity, coap_session_t *session,
    void *arg)
{
	size_t	i;

	(void)session;
	(void)arg;
	for (i = 0; i < ic.npsk; i++) {
		if (strlen(ic.psk[i].node) == identity->length &&
		    memcmp(ic.psk[i].node, identity->s, identity->length) == 0)
			return (&ic.psk[i].bin);
	}
	log_info("coap: DTLS handshake refused: unknown identity \"%.*s\"",
	    (int)(identity->length > 64 ? 64 : identity->length),
	    (const char *)identity->s);
	return (NULL);
}

/* Answer with a code and an optional text diagnostic. */
static void
ingest_coap_reply(coap_pdu_t *response, coap_pdu_code_t code,
    const char *text)
{
	uint8_t	buf[4];

	coap_pdu_set_code(response, code);
	if (text == NULL)
		return;
	coap_add_option(response, COAP_OPTION_CONTENT_FORMAT,
	    coap_encode_var_safe(buf, sizeof buf, COAP_CF_TEXT), buf);
	coap_add_data(response, strlen(text), (const uint8_t *)text);
}

/* Refuse a request: count it and answer. */
static void
ingest_coap_reject(coap_pdu_t *response, coap_pdu_code_t code,
    const char *text)
{
	metrics_add(METRICS_INGEST_REJECTED, 1);
	ingest_coap_reply(response, code, text);
}

/* Tell a refused node when to try again. */
static void
ingest_coap_max_age(coap_pdu_t *response)
{
	uint8_t	buf[4];

	coap_add_option(response, COAP_OPTION_MAXAGE,
	    coap_encode_var_safe(buf, sizeof buf, COAP_RETRY_MAX_AGE), buf);
}

/* The peer's address without its port: the "source" of rate limits. */
static const char *
ingest_coap_source(const coap_session_t *session, char *buf, size_t len)
{
	const coap_address_t	*a = coap_session_get_addr_remote(session);

	buf[0] = '\0';
	if (a == NULL)
		return (buf);
	if (a->addr.sa.sa_family == AF_INET6)
		inet_ntop(AF_INET6, &a->addr.sin6.sin6_addr, buf, (socklen_t)len);
	else if (a->addr.sa.sa_family == AF_INET)
		inet_ntop(AF_INET, &a->addr.sin.sin_addr, buf, (socklen_t)len);
	return (buf);
}

/* Split "v1/n/NODE/KIND" into node and type; -1 if not a node path. */
static int
ingest_coap_route(const coap_string_t *path, char *node,
    enum message_type *type)
{
	static const char	 prefix[] = "v1/n/";
	const char		*p, *slash, *end;
	size_t			 n;

	if (path == NULL || path->length <= sizeof prefix - 1 ||
	    memcmp(path->s, prefix, sizeof prefix - 1) != 0)
		return (-1);
	p = (const char *)path->s + sizeof prefix - 1;
	end = (const char *)path->s + path->length;
	slash = memchr(p, '/', (size_t)(end - p));
	if (slash == NULL)
		return (-1);
	n = (size_t)(slash - p);
	if (n > MESSAGE_NODE_MAX)
		n = MESSAGE_NODE_MAX + 1;	/* reported as invalid below */
	memcpy(node, p, n > MESSAGE_NODE_MAX ? MESSAGE_NODE_MAX : n);
	node[n > MESSAGE_NODE_MAX ? MESSAGE_NODE_MAX : n] = '\0';
	if (n > MESSAGE_NODE_MAX || !message_node_valid(p, n))
		node[0] = '\0';
	slash++;
	n = (size_t)(end - slash);
	if (n == 9 && memcmp(slash, "inference", 9) == 0)
		*type = MESSAGE_INFERENCE;
	else if (n == 6 && memcmp(slash, "window", 6) == 0)
		*type = MESSAGE_WINDOW;
	else if (n == 9 && memcmp(slash, "heartbeat", 9) == 0)
		*type = MESSAGE_HEARTBEAT;
	else
		return (-1);
	return (0);
}

/* The request's content-format, or -1 if it has none. */
static int
ingest_coap_content_format(const coap_pdu_t *request)
{
	coap_opt_iterator_t	 it;
	coap_opt_t		*opt;

	opt = coap_check_option(request, COAP_OPTION_CONTENT_FORMAT, &it);
	if (opt == NULL)
		return (-1);
	return ((int)coap_decode_var_bytes(coap_opt_value(opt),
	    coap_opt_length(opt)));
}

/* Store callback: remember how the put ended (runs inside the flush). */
static void
ingest_coap_stored(enum store_result result, void *arg)
{
	*(enum store_result *)arg = result;
}

/* Commit a validated message; returns how it ended. */
static enum store_result
ingest_coap_store(const struct message *m)
{
	struct store_msg	sm;
	enum store_result	result = STORE_REFUSED;

	ingest_store_msg(m, &sm);
	if (store_put_message(&sm, ingest_coap_stored, &result) != 0)
		return (STORE_REFUSED);
	store_flush();
	return (result);
}

/*
 * The boot of a binary window, from the query "boot=N" (the binary header
 * has no boot field): without it a node that reboots and restarts its seq
 * would have its new windows taken for duplicates.  0 when absent; -1 when
 * malformed.
 */
static int64_t
ingest_coap_query_boot(const coap_string_t *query)
{
	char		 buf[32], *end;
	unsigned long long v;

	if (query == NULL || query->length == 0)
		return (0);
	if (query->length >= sizeof buf || query->length < 6 ||
	    memcmp(query->s, "boot=", 5) != 0)
		return (-1);
	memcpy(buf, query->s + 5, query->length - 5);
	buf[query->length - 5] = '\0';
	if (buf[0] < '0' || buf[0] > '9')
		return (-1);
	errno = 0;
	v = strtoull(buf, &end, 10);
	if (errno != 0 || *end != '\0' || v > UINT32_MAX)
		return (-1);
	return ((int64_t)v);
}

/* The one handler: every request to an unknown or node path lands here. */
static void
ingest_coap_handler(coap_resource_t *resource, coap_session_t *session,
    const coap_pdu_t *request, const coap_string_t *query,
    coap_pdu_t *response)
{
	const struct config	*cf = daemon_config();
	const coap_bin_const_t	*identity;
	const uint8_t		*data = NULL;
	coap_string_t		*path;
	struct message		*m = NULL;
	enum message_type	 type;
	enum store_result	 result;
	char			 node[MESSAGE_NODE_MAX + 1], *cause = NULL;
	char			 src[INET6_ADDRSTRLEN];
	size_t			 len = 0, offset = 0, total = 0;
	int			 cf_req, dtls, rc;
	int64_t			 boot;
	uint8_t			 buf[4];

	(void)resource;
	path = coap_get_uri_path(request);
	rc = ingest_coap_route(path, node, &type);
	coap_delete_string(path);
	if (rc != 0) {
		ingest_coap_reject(response, COAP_RESPONSE_CODE_NOT_FOUND, NULL);
		return;
	}
	if (coap_pdu_get_code(request) != COAP_REQUEST_CODE_POST) {
		ingest_coap_reject(response, COAP_RESPONSE_CODE_NOT_ALLOWED,
		    "use POST");
		return;
	}
	if (node[0] == '\0') {
		ingest_coap_reject(response, COAP_RESPONSE_CODE_BAD_REQUEST,
		    "node id must be 1 to 64 of [A-Za-z0-9_.-]");
		return;
	}

	dtls = coap_session_get_proto(session) == COAP_PROTO_DTLS;
	if (!dtls && config_bool(cf, "coap", "require_dtls")) {
		ingest_coap_reject(response, COAP_RESPONSE_CODE_UNAUTHORIZED,
		    "DTLS required");
		return;
	}
	if (dtls) {
		identity = coap_session_get_psk_identity(session);
		if (identity == NULL || identity->length != strlen(node) ||
		    memcmp(identity->s, node, identity->length) != 0) {
			ingest_coap_reject(response,
			    COAP_RESPONSE_CODE_UNAUTHORIZED,
			    "identity may only post as itself");
			return;
		}
	}

	coap_get_data_large(request, &len, &data, &offset, &total);
	if (total < len)
		total = len;
	if (total > config_bytes(cf, "coap", "max_body")) {
		ingest_coap_reject(response,
		    COAP_RESPONSE_CODE_REQUEST_TOO_LARGE, NULL);
		coap_add_option(response, COAP_OPTION_SIZE1,
		    coap_encode_var_safe(buf, sizeof buf,
		    (unsigned)config_bytes(cf, "coap", "max_body")), buf);
		return;
	}

	cf_req = ingest_coap_content_format(request);
	if (cf_req == COAP_CF_OCTETS && type == MESSAGE_WINDOW) {
		if ((boot = ingest_coap_query_boot(query)) < 0) {
			ingest_coap_reject(response,
			    COAP_RESPONSE_CODE_BAD_REQUEST,
			    "query: only boot=N (0..4294967295)");
			return;
		}
		rc = message_parse_window_binary(node, data, len, &m, &cause);
		if (rc == 0)
			m->boot = (uint32_t)boot;
	}
	else if (cf_req == COAP_CF_JSON || cf_req == -1)
		rc = message_parse_json(type, node, data, len, &m, &cause);
	else {
		ingest_coap_reject(response,
		    COAP_RESPONSE_CODE_UNSUPPORTED_CONTENT_FORMAT,
		    type == MESSAGE_WINDOW ? "use content-format 50 or 42" :
		    "use content-format 50");
		return;
	}
	if (rc != 0) {
		log_debug("coap: %s %s: %s", node, message_type_name(type),
		    cause);
		ingest_coap_reject(response, COAP_RESPONSE_CODE_BAD_REQUEST,
		    cause);
		free(cause);
		return;
	}

	switch (ingest_admit(node, ingest_coap_source(session, src,
	    sizeof src), dtls)) {
	case INGEST_ADMIT_OK:
		break;
	case INGEST_ADMIT_RATE:
		ingest_coap_reject(response,
		    COAP_RESPONSE_CODE_TOO_MANY_REQUESTS,
		    "too many new node ids from this address");
		ingest_coap_max_age(response);
		message_free(m);
		return;
	case INGEST_ADMIT_FULL:
		ingest_coap_reject(response,
		    COAP_RESPONSE_CODE_SERVICE_UNAVAILABLE,
		    "gateway.max_nodes reached");
		ingest_coap_max_age(response);
		message_free(m);
		return;
	}

	result = store_accepting() ? ingest_coap_store(m) : STORE_REFUSED;
	switch (result) {
	case STORE_OK:
		metrics_add(METRICS_INGEST_COAP, 1);
		ingest_seen(m);
		ingest_coap_reply(response, COAP_RESPONSE_CODE_CHANGED, NULL);
		break;
	case STORE_DUPLICATE:
		metrics_add(METRICS_INGEST_DUPLICATES, 1);
		ingest_seen(m);
		ingest_coap_reply(response, COAP_RESPONSE_CODE_CHANGED, NULL);
		break;
	case STORE_REFUSED:
		ingest_coap_reject(response,
		    COAP_RESPONSE_CODE_SERVICE_UNAVAILABLE, NULL);
		ingest_coap_max_age(response);
		break;
	}
	message_free(m);
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
	coap_add_resource(ic.ctx, r);
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

/* libcoap has work: datagrams or its own timers. */
static void
ingest_coap_poll_cb(uv_poll_t *h, int status, int events)
{
	coap_tick_t	now;

	(void)h;
	(void)events;
	if (status < 0) {
		log_warnx("coap: poll: %s", uv_strerror(status));
		return;
	}
	coap_io_process(ic.ctx, COAP_IO_NO_WAIT);
	coap_ticks(&now);
	coap_io_prepare_epoll(ic.ctx, now);
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
	ic.last_log[0] = '\0';
	if (coap_new_endpoint(ic.ctx, &addr, proto) == NULL) {
		xasprintf(cause, "coap.%s %s: cannot listen%s%s", key,
		    config_str(cf, "coap", key), ic.last_log[0] ? ": " : "",
		    ic.last_log);
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
	coap_dtls_spsk_t	 spsk;
	coap_resource_t		*unknown;
	int			 fd, rv;

	memset(&ic, 0, sizeof ic);
	if (config_addr(cf, "coap", "listen") == NULL &&
	    config_addr(cf, "coap", "dtls_listen") == NULL) {
		log_info("coap: no listener configured");
		return (0);
	}
	coap_startup();
	ic.started = 1;
	coap_set_log_handler(ingest_coap_log);
	coap_set_log_level(log_get_level() >= LOG_LEVEL_DEBUG ? LOG_INFO :
	    LOG_WARNING);
	coap_dtls_set_log_level(log_get_level() >= LOG_LEVEL_DEBUG ?
	    LOG_INFO : LOG_ERR);
	if ((ic.ctx = coap_new_context(NULL)) == NULL) {
		xasprintf(cause, "coap: cannot create a context");
		return (-1);
	}
	coap_context_set_block_mode(ic.ctx,
	    COAP_BLOCK_USE_LIBCOAP | COAP_BLOCK_SINGLE_BODY);

	if (config_addr(cf, "coap", "dtls_listen") != NULL) {
		if (!coap_dtls_is_supported()) {
			xasprintf(cause, "coap: this libcoap has no DTLS");
			return (-1);
		}
		ic.psk_path = xstrdup(config_str(cf, "coap", "psk_file"));
		if (ingest_coap_load_psk(ic.psk_path, &ic.psk, &ic.npsk,
		    cause) != 0)
			return (-1);
		log_info("coap: %zu node keys from %s", ic.npsk, ic.psk_path);
		memset(&spsk, 0, sizeof spsk);
		spsk.version = COAP_DTLS_SPSK_SETUP_VERSION;
		spsk.validate_id_call_back = ingest_coap_psk_cb;
		if (!coap_context_set_psk2(ic.ctx, &spsk)) {
			xasprintf(cause, "coap: cannot set up DTLS-PSK");
			return (-1);
		}
	}

	unknown = coap_resource_unknown_init2(ingest_coap_handler, 0);
	coap_register_request_handler(unknown, COAP_REQUEST_POST,
	    ingest_coap_handler);
	coap_register_request_handler(unknown, COAP_REQUEST_GET,
	    ingest_coap_handler);
	coap_register_request_handler(unknown, COAP_REQUEST_DELETE,
	    ingest_coap_handler);
	coap_add_resource(ic.ctx, unknown);
	ingest_coap_template("inference", "50", "tinyedge.inference");
	ingest_coap_template("window", "50 42", "tinyedge.window");
	ingest_coap_template("heartbeat", "50", "tinyedge.heartbeat");

	if (ingest_coap_listen(cf, "listen", COAP_PROTO_UDP, cause) != 0 ||
	    ingest_coap_listen(cf, "dtls_listen", COAP_PROTO_DTLS, cause) != 0)
		return (-1);

	fd = coap_context_get_coap_fd(ic.ctx);
	if (fd < 0) {
		xasprintf(cause, "coap: libcoap was built without epoll");
		return (-1);
	}
	if ((rv = uv_poll_init(daemon_loop(), &ic.poll, fd)) != 0) {
		xasprintf(cause, "coap: uv_poll_init: %s", uv_strerror(rv));
		return (-1);
	}
	ic.polling = 1;
	uv_poll_start(&ic.poll, UV_READABLE, ingest_coap_poll_cb);
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
	struct coap_psk	*keys;
	size_t		 n;
	char		*cause = NULL;

	(void)cf;
	if (ic.psk_path == NULL)
		return;
	if (ingest_coap_load_psk(ic.psk_path, &keys, &n, &cause) != 0) {
		log_error_lines(cause);
		log_warnx("coap: psk_file rejected, keeping %zu keys",
		    ic.npsk);
		free(cause);
		return;
	}
	free(ic.psk);
	ic.psk = keys;
	ic.npsk = n;
	log_info("coap: %zu node keys from %s", ic.npsk, ic.psk_path);
}

/* The poll handle is closed: now libcoap's sockets can go. */
static void
ingest_coap_closed(uv_handle_t *h)
{
	(void)h;
	coap_free_context(ic.ctx);
	ic.ctx = NULL;
	coap_cleanup();
	free(ic.psk);
	free(ic.psk_path);
	ic.psk = NULL;
	ic.psk_path = NULL;
}

/* Stop listening; libcoap is freed once our poll handle has closed. */
void
ingest_coap_stop(void)
{
	if (ic.polling) {
		ic.polling = 0;
		uv_poll_stop(&ic.poll);
		uv_close((uv_handle_t *)&ic.poll, ingest_coap_closed);
		return;
	}
	if (ic.ctx != NULL)
		coap_free_context(ic.ctx);
	ic.ctx = NULL;
	if (ic.started)
		coap_cleanup();
	ic.started = 0;
	free(ic.psk);
	free(ic.psk_path);
	ic.psk = NULL;
	ic.psk_path = NULL;
}
