/*
 * ingest_coap_req.c - one CoAP request from a node, from its route to its
 * answer.
 *
 * Every node resource lives under /v1/n/{node}/, so one "unknown resource"
 * handler routes all requests (ingest_coap_path.c) and answers 4.04/4.05
 * itself; GETs of settings and models are answered by ingest_coap_get.c
 * once admitted here (a settings GET is admitted like a POST of its
 * node).  A POST is first admitted (route, method, node id, the DTLS
 * rules), before any byte of its body is kept; then its body is taken whole
 * or block by block (ingest_coap_block.c), checked against max_body and its
 * content-format at the first block (50 JSON, 60 CBOR, 42 binary windows;
 * 110 senml+json and 112 senml+cbor on /senml); then it is validated
 * (message.c), the
 * registry admits its node (ingest_admit: new-id rate per source,
 * max_nodes), and it is put in the store.  The answer is piggybacked in
 * the ACK.
 *
 * Federated learning (SPEC 10): GET /v1/fl/{NAME}[/head] is admitted like
 * a model GET; POST /v1/n/{node}/fl/{NAME} like a node POST (content-format
 * 42), its body taken the same way and handed to fed_post(), which answers
 * only after the update is committed.
 *
 * DTLS rules: the PSK identity is the node id and may only act as itself;
 * its key must still be the one in psk_file (a session whose key was
 * removed or changed by a reload gets 4.01 and is closed); a node that has
 * a key may not post over plain UDP (4.01), whatever require_dtls says.
 */
#include <sys/queue.h>

#include <arpa/inet.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <coap3/coap.h>

#include "config.h"
#include "daemon.h"
#include "fed.h"
#include "ingest.h"
#include "ingest_coap_int.h"
#include "log.h"
#include "message.h"
#include "metrics.h"
#include "store.h"
#include "xmalloc.h"

/* Content-formats of SPEC 14 (the others are in ingest_coap_int.h). */
#define COAP_CF_CBOR		60
#define COAP_CF_SENML_JSON	110
#define COAP_CF_SENML_CBOR	112

/* The request being handled, as the steps below need it. */
struct coap_req {
	coap_session_t		*session;
	const coap_pdu_t	*request;
	coap_pdu_t		*response;
	char			 node[MESSAGE_NODE_MAX + 1];
	enum message_type	 type;
	int			 fl;		/* a federated update */
	int			 dtls;
	int			 cf;		/* content-format, -1: none */
	coap_block_b_t		 block;		/* Block1, if .defined */
	struct upload		*upload;	/* the finished upload, if any */
	int			 deferred;	/* answered after the sync */
};

static void	ingest_coap_block_echo(coap_pdu_t *, const coap_block_b_t *,
		    int);

/*
 * The Block1 option the answer to the last block of an upload must echo,
 * while that answer is being made: libcoap takes no option once a PDU has
 * data, so a diagnostic text adds it first.
 */
static const coap_block_b_t *reply_echo;

/* Answer with a code and an optional text diagnostic. */
static void
ingest_coap_reply(coap_pdu_t *response, coap_pdu_code_t code,
    const char *text)
{
	uint8_t	buf[4];

	coap_pdu_set_code(response, code);
	if (text == NULL)
		return;
	if (reply_echo != NULL) {
		ingest_coap_block_echo(response, reply_echo, 0);
		reply_echo = NULL;
	}
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

/* Answer 4.13 with the limit in Size1, as RFC 7959 asks. */
static void
ingest_coap_too_large(coap_pdu_t *response, size_t max)
{
	uint8_t	buf[4];

	ingest_coap_reject(response, COAP_RESPONSE_CODE_REQUEST_TOO_LARGE,
	    NULL);
	coap_add_option(response, COAP_OPTION_SIZE1,
	    coap_encode_var_safe(buf, sizeof buf, (unsigned)max), buf);
}

/* Echo a Block1 option (num, more, szx) in a response. */
static void
ingest_coap_block_echo(coap_pdu_t *response, const coap_block_b_t *b, int m)
{
	uint8_t	buf[4];

	coap_add_option(response, COAP_OPTION_BLOCK1,
	    coap_encode_var_safe(buf, sizeof buf,
	    (b->num << 4) | ((unsigned)m << 3) | b->szx), buf);
}

/* The peer's address without its port: the "source" of rate limits. */
const char *
ingest_coap_source(const coap_session_t *session, char *buf, size_t len)
{
	const coap_address_t	*a = coap_session_get_addr_remote(session);

	buf[0] = '\0';
	if (a == NULL)
		return (buf);
	if (a->addr.sa.sa_family == AF_INET6)
		inet_ntop(AF_INET6, &a->addr.sin6.sin6_addr, buf,
		    (socklen_t)len);
	else if (a->addr.sa.sa_family == AF_INET)
		inet_ntop(AF_INET, &a->addr.sin.sin_addr, buf, (socklen_t)len);
	return (buf);
}

/* A uint option of the request, or -1 if it has none. */
static int64_t
ingest_coap_uint_opt(const coap_pdu_t *request, coap_option_num_t num)
{
	coap_opt_iterator_t	 it;
	coap_opt_t		*opt;

	if ((opt = coap_check_option(request, num, &it)) == NULL)
		return (-1);
	return ((int64_t)coap_decode_var_bytes(coap_opt_value(opt),
	    coap_opt_length(opt)));
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
	char			buf[32], *end;
	unsigned long long	v;

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

/*
 * The DTLS rules (see the top of the file); -1 when the request was
 * answered.
 */
static int
ingest_coap_rules(struct coap_req *r)
{
	const struct config	*cf = daemon_config();
	const coap_bin_const_t	*id, *key;
	const void		*want;
	size_t			 wlen;

	if (!r->dtls) {
		if (config_bool(cf, "coap", "require_dtls")) {
			ingest_coap_reject(r->response,
			    COAP_RESPONSE_CODE_UNAUTHORIZED, "DTLS required");
			return (-1);
		}
		if (ingest_coap_node_has_key(r->node)) {
			ingest_coap_reject(r->response,
			    COAP_RESPONSE_CODE_UNAUTHORIZED,
			    "this node has a key: use DTLS");
			return (-1);
		}
		return (0);
	}
	id = coap_session_get_psk_identity(r->session);
	if (id == NULL || id->length != strlen(r->node) ||
	    memcmp(id->s, r->node, id->length) != 0) {
		ingest_coap_reject(r->response,
		    COAP_RESPONSE_CODE_UNAUTHORIZED,
		    "identity may only act as itself");
		return (-1);
	}
	/* A reload may have removed or changed the key since the handshake. */
	key = coap_session_get_psk_key(r->session);
	want = ingest_coap_node_key(r->node, &wlen);
	if (want == NULL || key == NULL || key->length != wlen ||
	    memcmp(key->s, want, wlen) != 0) {
		ingest_coap_reject(r->response,
		    COAP_RESPONSE_CODE_UNAUTHORIZED,
		    "the key of this session is no longer valid");
		ingest_coap_close_later(r->session);
		return (-1);
	}
	return (0);
}

/*
 * The checks made once, on a whole body or at the first block: declared
 * size and content-format.  -1 when the request was answered.
 */
static int
ingest_coap_first_checks(struct coap_req *r, size_t len)
{
	size_t	max = config_bytes(daemon_config(), "coap", "max_body");
	int64_t	size1 = ingest_coap_uint_opt(r->request, COAP_OPTION_SIZE1);

	if (len > max || (size1 >= 0 && (uint64_t)size1 > max)) {
		ingest_coap_too_large(r->response, max);
		return (-1);
	}
	if (r->fl && (r->cf == COAP_CF_OCTETS || r->cf == -1))
		return (0);
	if (r->fl) {
		ingest_coap_reject(r->response,
		    COAP_RESPONSE_CODE_UNSUPPORTED_CONTENT_FORMAT,
		    "use content-format 42");
		return (-1);
	}
	if (r->type == MESSAGE_SENML) {
		/* No content-format: senml+json, as a body without is JSON. */
		if (r->cf == COAP_CF_SENML_JSON || r->cf == COAP_CF_SENML_CBOR ||
		    r->cf == -1)
			return (0);
		ingest_coap_reject(r->response,
		    COAP_RESPONSE_CODE_UNSUPPORTED_CONTENT_FORMAT,
		    "use content-format 110 or 112");
		return (-1);
	}
	if (r->cf == COAP_CF_JSON || r->cf == COAP_CF_CBOR || r->cf == -1 ||
	    (r->cf == COAP_CF_OCTETS && r->type == MESSAGE_WINDOW))
		return (0);
	ingest_coap_reject(r->response,
	    COAP_RESPONSE_CODE_UNSUPPORTED_CONTENT_FORMAT,
	    r->type == MESSAGE_WINDOW ? "use content-format 50, 60 or 42" :
	    "use content-format 50 or 60");
	return (-1);
}

/*
 * Take the body: whole, or one Block1 block of an upload.  Returns 0 with
 * the complete body in *data and *len, or -1 when the request was answered
 * (2.31 for more blocks, or an error).
 */
static int
ingest_coap_body(struct coap_req *r, const uint8_t **data, size_t *len)
{
	struct block_key	 k;
	coap_opt_iterator_t	 it;
	coap_opt_t		*rtag;
	size_t			 offset, total, max;
	enum block_step		 step;

	*data = NULL;
	*len = 0;
	coap_get_data_large(r->request, len, data, &offset, &total);
	if (!coap_get_block_b(r->session, r->request, COAP_OPTION_BLOCK1,
	    &r->block) || (r->block.num == 0 && !r->block.m)) {
		r->block.defined = 0;
		return (ingest_coap_first_checks(r, *len));
	}
	if (r->block.num == 0 && ingest_coap_first_checks(r, *len) != 0)
		return (-1);
	max = config_bytes(daemon_config(), "coap", "max_body");
	/* Keyed by peer, resource and Request-Tag (RFC 9175). */
	memset(&k, 0, sizeof k);
	k.peer = coap_session_get_addr_remote(r->session);
	k.node = r->node;
	/* Updates are not messages: a type of their own. */
	k.type = r->fl ? -1 : (int)r->type;
	k.rtaglen = -1;
	if ((rtag = coap_check_option(r->request, COAP_OPTION_RTAG,
	    &it)) != NULL) {
		k.rtag = coap_opt_value(rtag);
		k.rtaglen = (int)coap_opt_length(rtag);
	}
	/* Upload ages use the loop's monotonic clock (wall time may step). */
	step = ingest_coap_block_put(&k, r->cf, &r->block, *data, *len, max,
	    uv_now(daemon_loop()), &r->upload);
	switch (step) {
	case BLOCK_MORE:
	case BLOCK_AGAIN:
		ingest_coap_reply(r->response, COAP_RESPONSE_CODE_CONTINUE,
		    NULL);
		ingest_coap_block_echo(r->response, &r->block, 1);
		return (-1);
	case BLOCK_DONE:
		*data = ingest_coap_block_body(r->upload, len);
		return (0);
	case BLOCK_REPEAT:
		/* The final answer was lost: send it again (0: pending). */
		if (ingest_coap_block_code(r->upload) == 0)
			coap_pdu_set_type(r->response, COAP_MESSAGE_NON);
		else {
			coap_pdu_set_code(r->response,
			    (coap_pdu_code_t)ingest_coap_block_code(r->upload));
			ingest_coap_block_echo(r->response, &r->block, 0);
		}
		r->upload = NULL;
		return (-1);
	case BLOCK_TOO_LARGE:
		ingest_coap_too_large(r->response, max);
		return (-1);
	case BLOCK_BUSY:
		ingest_coap_max_age(r->response);
		ingest_coap_reject(r->response,
		    COAP_RESPONSE_CODE_SERVICE_UNAVAILABLE,
		    "too many uploads open: try again later");
		return (-1);
	case BLOCK_INCOMPLETE:
		break;
	}
	ingest_coap_reject(r->response, COAP_RESPONSE_CODE_INCOMPLETE,
	    "block does not continue an upload: start again at block 0");
	return (-1);
}

/* Validate the body as a message of the route's type; NULL: answered. */
static struct message *
ingest_coap_parse(struct coap_req *r, const coap_string_t *query,
    const uint8_t *data, size_t len)
{
	struct message	*m = NULL;
	char		*cause = NULL, esc[256];
	int64_t		 boot;
	int		 rc;

	if (r->cf == COAP_CF_OCTETS) {
		if ((boot = ingest_coap_query_boot(query)) < 0) {
			ingest_coap_reject(r->response,
			    COAP_RESPONSE_CODE_BAD_REQUEST,
			    "query: only boot=N (0..4294967295)");
			return (NULL);
		}
		rc = message_parse_window_binary(r->node, data, len, &m,
		    &cause);
		if (rc == 0)
			m->boot = (uint32_t)boot;
	} else if (r->type == MESSAGE_SENML)
		rc = message_parse_senml(r->node, r->cf == COAP_CF_SENML_CBOR,
		    data, len, (int64_t)daemon_now_ms(), &m, &cause);
	else if (r->cf == COAP_CF_CBOR)
		rc = message_parse_cbor(r->type, r->node, data, len, &m,
		    &cause);
	else
		rc = message_parse_json(r->type, r->node, data, len, &m,
		    &cause);
	if (rc == 0)
		return (m);
	log_debug("coap: %s %s: %s", r->node, message_type_name(r->type),
	    log_escape(esc, sizeof esc, cause, strlen(cause)));
	ingest_coap_reject(r->response, COAP_RESPONSE_CODE_BAD_REQUEST, cause);
	free(cause);
	return (NULL);
}

/*
 * A reading waits for its fdatasync (store.sync = full); its piggybacked
 * answer is sent when the sync returns.  libcoap is told to send nothing
 * for the request (an empty NON response is dropped), and the ACK we send
 * later carries the request's message id and token, so for the node it is
 * the same piggybacked 2.04, a few milliseconds later.
 */
struct coap_wait {
	coap_session_t		*session;	/* NULL once CoAP stopped */
	coap_mid_t		 mid;
	int			 con;
	uint8_t			 token[8];
	size_t			 toklen;
	int			 block;		/* echo this Block1 */
	coap_block_b_t		 b;
	TAILQ_ENTRY(coap_wait)	 entry;
};
static TAILQ_HEAD(, coap_wait)	coap_waits = TAILQ_HEAD_INITIALIZER(coap_waits);

/* The sync covering a waiting reading returned: answer it now. */
static void
ingest_coap_durable(enum store_result result, void *arg)
{
	struct coap_wait	*w = arg;
	coap_pdu_t		*pdu;
	uint8_t			 buf[4];

	TAILQ_REMOVE(&coap_waits, w, entry);
	if (w->session == NULL) {
		free(w);
		return;
	}
	metrics_add(result == STORE_OK ? METRICS_INGEST_COAP : result ==
	    STORE_DUPLICATE ? METRICS_INGEST_DUPLICATES :
	    METRICS_INGEST_REJECTED, 1);
	pdu = coap_pdu_init(w->con ? COAP_MESSAGE_ACK : COAP_MESSAGE_NON,
	    result == STORE_REFUSED ? COAP_RESPONSE_CODE_SERVICE_UNAVAILABLE :
	    COAP_RESPONSE_CODE_CHANGED, w->con ? w->mid :
	    coap_new_message_id(w->session),
	    coap_session_max_pdu_size(w->session));
	if (pdu != NULL) {
		coap_add_token(pdu, w->toklen, w->token);
		/* Options in their numeric order: Max-Age 14, Block1 27. */
		if (result == STORE_REFUSED)
			ingest_coap_max_age(pdu);
		if (w->block)
			coap_add_option(pdu, COAP_OPTION_BLOCK1,
			    coap_encode_var_safe(buf, sizeof buf, (w->b.num << 4) |
			    w->b.szx), buf);
		coap_send(w->session, pdu);
	}
	coap_session_release(w->session);
	free(w);
}

/* Hold the answer of r until the store calls ingest_coap_durable(). */
static struct coap_wait *
ingest_coap_defer(struct coap_req *r)
{
	struct coap_wait	*w = xcalloc(1, sizeof *w);
	coap_bin_const_t	 tok = coap_pdu_get_token(r->request);

	w->session = coap_session_reference(r->session);
	w->mid = coap_pdu_get_mid(r->request);
	w->con = coap_pdu_get_type(r->request) == COAP_MESSAGE_CON;
	w->toklen = tok.length > sizeof w->token ? sizeof w->token :
	    tok.length;
	memcpy(w->token, tok.s, w->toklen);
	w->block = r->upload != NULL;
	w->b = r->block;
	TAILQ_INSERT_TAIL(&coap_waits, w, entry);
	/* An empty NON response is dropped by libcoap: nothing goes now. */
	coap_pdu_set_type(r->response, COAP_MESSAGE_NON);
	return (w);
}

/* CoAP stops: answers still waiting are not sent (the context goes). */
void
ingest_coap_req_stop(void)
{
	struct coap_wait	*w;

	TAILQ_FOREACH(w, &coap_waits, entry) {
		if (w->session != NULL)
			coap_session_release(w->session);
		w->session = NULL;
	}
}

/*
 * Admit a request to a node resource before any byte of its body is kept:
 * the method its route wants, a node id, the DTLS rules.  -1 when it was
 * answered.
 */
static int
ingest_coap_admit(struct coap_req *r, const struct coap_route *route)
{
	coap_pdu_code_t	want;

	want = route->target == COAP_TARGET_CONFIG ? COAP_REQUEST_CODE_GET :
	    COAP_REQUEST_CODE_POST;
	if (coap_pdu_get_code(r->request) != want) {
		ingest_coap_reject(r->response, COAP_RESPONSE_CODE_NOT_ALLOWED,
		    want == COAP_REQUEST_CODE_GET ? "use GET" : "use POST");
		return (-1);
	}
	if (route->node[0] == '\0') {
		ingest_coap_reject(r->response, COAP_RESPONSE_CODE_BAD_REQUEST,
		    "node id must be 1 to 64 of [A-Za-z0-9_.-]");
		return (-1);
	}
	memcpy(r->node, route->node, sizeof r->node);
	r->type = route->type;
	r->fl = route->target == COAP_TARGET_FL_POST;
	r->dtls = coap_session_get_proto(r->session) == COAP_PROTO_DTLS;
	r->cf = (int)ingest_coap_uint_opt(r->request,
	    COAP_OPTION_CONTENT_FORMAT);
	return (ingest_coap_rules(r));
}

/*
 * Admit the node of a valid message into the registry (new-id rate per
 * source, max_nodes).  -1 when it was refused and answered.
 */
static int
ingest_coap_admit_node(struct coap_req *r)
{
	char	src[INET6_ADDRSTRLEN];

	switch (ingest_admit(r->node, ingest_coap_source(r->session, src,
	    sizeof src), r->dtls)) {
	case INGEST_ADMIT_OK:
		return (0);
	case INGEST_ADMIT_RATE:
		/* Options go before the diagnostic text. */
		ingest_coap_max_age(r->response);
		ingest_coap_reject(r->response,
		    COAP_RESPONSE_CODE_TOO_MANY_REQUESTS,
		    "too many new node ids from this address");
		return (-1);
	case INGEST_ADMIT_FULL:
		break;
	}
	ingest_coap_max_age(r->response);
	ingest_coap_reject(r->response, COAP_RESPONSE_CODE_SERVICE_UNAVAILABLE,
	    "gateway.max_nodes reached");
	return (-1);
}

/* Store an admitted message and answer (or defer the answer to the sync). */
static void
ingest_coap_answer(struct coap_req *r, struct message *m)
{
	struct coap_wait	*w;
	struct store_msg	 sm;
	enum store_result	 result;

	ingest_store_msg(m, &sm);
	w = NULL;
	if (store_sync_full())
		w = ingest_coap_defer(r);
	result = store_put_message(&sm, w != NULL ? ingest_coap_durable :
	    NULL, w);
	if (result != STORE_WAIT && w != NULL) {
		/* Answered at once after all (a repeat already on disk). */
		TAILQ_REMOVE(&coap_waits, w, entry);
		coap_session_release(w->session);
		free(w);
		coap_pdu_set_type(r->response, coap_pdu_get_type(r->request) ==
		    COAP_MESSAGE_CON ? COAP_MESSAGE_ACK : COAP_MESSAGE_NON);
	}
	switch (result) {
	case STORE_WAIT:
		ingest_seen(m);
		r->deferred = 1;
		break;
	case STORE_OK:
		metrics_add(METRICS_INGEST_COAP, 1);
		ingest_seen(m);
		ingest_coap_reply(r->response, COAP_RESPONSE_CODE_CHANGED, NULL);
		break;
	case STORE_DUPLICATE:
		metrics_add(METRICS_INGEST_DUPLICATES, 1);
		ingest_seen(m);
		ingest_coap_reply(r->response, COAP_RESPONSE_CODE_CHANGED, NULL);
		break;
	case STORE_REFUSED:
		ingest_coap_max_age(r->response);
		ingest_coap_reject(r->response,
		    COAP_RESPONSE_CODE_SERVICE_UNAVAILABLE, NULL);
		break;
	}
}

/* A federated update, whole: hand it to fed_post() and answer. */
static void
ingest_coap_fl_update(struct coap_req *r, const char *name,
    const uint8_t *data, size_t len)
{
	static const coap_pdu_code_t codes[] = {
		[FED_OK] = COAP_RESPONSE_CODE_CHANGED,
		[FED_BAD] = COAP_RESPONSE_CODE_BAD_REQUEST,
		[FED_FORBIDDEN] = COAP_RESPONSE_CODE_FORBIDDEN,
		[FED_UNKNOWN] = COAP_RESPONSE_CODE_NOT_FOUND,
		[FED_STALE] = COAP_RESPONSE_CODE_CONFLICT,
		[FED_BUSY] = COAP_RESPONSE_CODE_SERVICE_UNAVAILABLE,
		[FED_AGAIN] = COAP_RESPONSE_CODE_SERVICE_UNAVAILABLE,
	};
	uint8_t		 buf[4];
	enum fed_result	 rv;
	char		*cause = NULL, esc[128];

	if (name[0] == '\0') {
		ingest_coap_reject(r->response, COAP_RESPONSE_CODE_NOT_FOUND,
		    "no such federated model");
		return;
	}
	rv = fed_post(name, r->node, data, len, &cause);
	if (rv == FED_OK) {
		ingest_coap_reply(r->response, codes[rv], NULL);
		return;
	}
	log_debug("coap: %s fl update: %s", r->node, log_escape(esc,
	    sizeof esc, cause, strlen(cause)));
	if (rv == FED_BUSY)
		ingest_coap_max_age(r->response);
	else if (rv == FED_AGAIN)
		coap_add_option(r->response, COAP_OPTION_MAXAGE,
		    coap_encode_var_safe(buf, sizeof buf, 1), buf);
	ingest_coap_reject(r->response, codes[rv], cause);
	free(cause);
}

/*
 * A GET of a model (SPEC 9.3) or of a federated round or head (SPEC 10):
 * no node to admit (a node may download before it ever posts), but a model
 * is as much a node's secret as its data, so require_dtls keeps it off the
 * plain listener.
 */
static void
ingest_coap_model(struct coap_req *r, const coap_string_t *query,
    const struct coap_route *route)
{
	if (coap_pdu_get_code(r->request) != COAP_REQUEST_CODE_GET) {
		ingest_coap_reject(r->response, COAP_RESPONSE_CODE_NOT_ALLOWED,
		    "use GET");
		return;
	}
	if (coap_session_get_proto(r->session) != COAP_PROTO_DTLS &&
	    config_bool(daemon_config(), "coap", "require_dtls")) {
		ingest_coap_reject(r->response, COAP_RESPONSE_CODE_UNAUTHORIZED,
		    "DTLS required");
		return;
	}
	if (route->target == COAP_TARGET_FL)
		ingest_coap_get_fl(r->session, r->request, r->response,
		    route->model);
	else if (route->target == COAP_TARGET_FL_HEAD)
		ingest_coap_get_fl_head(r->session, r->request, r->response,
		    route->model);
	else
		ingest_coap_get_model(r->session, r->request, query,
		    r->response, route->model);
}

/*
 * The one handler: every request to an unknown or node path lands here.
 * GETs of settings and models go to ingest_coap_get.c once admitted; a
 * POST is admitted, its body taken and validated, its node admitted, and
 * it is stored and answered.
 */
void
ingest_coap_handler(coap_resource_t *resource, coap_session_t *session,
    const coap_pdu_t *request, const coap_string_t *query,
    coap_pdu_t *response)
{
	struct coap_req		 r;
	struct coap_route	 route;
	struct message		*m;
	coap_string_t		*path;
	const uint8_t		*data;
	size_t			 len;

	(void)resource;
	memset(&r, 0, sizeof r);
	r.session = session;
	r.request = request;
	r.response = response;
	path = coap_get_uri_path(request);
	ingest_coap_path_route(path != NULL ? path->s : NULL, path != NULL ?
	    path->length : 0, &route);
	coap_delete_string(path);
	if (route.target == COAP_TARGET_NONE) {
		ingest_coap_reject(response, COAP_RESPONSE_CODE_NOT_FOUND, NULL);
		return;
	}
	if (route.target == COAP_TARGET_MODEL || route.target ==
	    COAP_TARGET_FL || route.target == COAP_TARGET_FL_HEAD) {
		ingest_coap_model(&r, query, &route);
		return;
	}
	if (ingest_coap_admit(&r, &route) != 0)
		return;
	if (route.target == COAP_TARGET_CONFIG) {
		if (ingest_coap_admit_node(&r) == 0)
			ingest_coap_get_config(session, request, response,
			    r.node);
		return;
	}
	if (ingest_coap_body(&r, &data, &len) != 0)
		return;
	reply_echo = r.upload != NULL ? &r.block : NULL;
	if (r.fl) {
		if (ingest_coap_admit_node(&r) == 0)
			ingest_coap_fl_update(&r, route.model, data, len);
	} else if ((m = ingest_coap_parse(&r, query, data, len)) != NULL) {
		if (ingest_coap_admit_node(&r) == 0)
			ingest_coap_answer(&r, m);
		message_free(m);
	}
	if (r.upload != NULL && r.deferred)
		ingest_coap_block_done(r.upload, 0);
	else if (r.upload != NULL) {
		/* Not echoed yet: the answer has no text. */
		if (reply_echo != NULL)
			ingest_coap_block_echo(response, &r.block, 0);
		ingest_coap_block_done(r.upload, coap_pdu_get_code(response));
	}
	reply_echo = NULL;
}
