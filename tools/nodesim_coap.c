/*
 * nodesim_coap.c - tinyedge-nodesim --coap: the simulated nodes as CoAP
 * clients of the gateway (SPEC section 8).
 *
 * Each simulated node has its own CoAP client session, so its own UDP
 * source port, and with --psk its own DTLS identity.  Nodes send
 * confirmable POSTs to /v1/n/{node}/inference or /window; bodies over
 * SIM_BLOCK_MIN may go by Block1.  --rate R sends R messages per second
 * per node; --rate 0 sends as fast as acknowledgements return, keeping
 * --window requests outstanding per node.  After --duration seconds
 * sending stops and outstanding requests get SIM_DRAIN_MS; what is still
 * unanswered then counts as failed.  With --observe each node also
 * follows its settings and fetches its model (nodesim_obs.c): their
 * answers are taken out before the requests here are matched, and the
 * heartbeats they ask for go out at once, beside --window.
 */
#include <sys/socket.h>

#include <netdb.h>

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <coap3/coap.h>

#include "nodesim.h"
#include "parse.h"
#include "xmalloc.h"

#define SIM_DRAIN_MS	5000	/* wait for late responses at the end */
#define SIM_BLOCK_MIN	512	/* bodies above this may go by Block1 */

/* Where the sessions go, for the sessions nodesim_obs.c opens later. */
static struct {
	coap_context_t	*ctx;
	coap_address_t	 dst;
	int		 dtls;
} sim_peer;

/* Load node ids and keys from a psk file. */
static int
sim_load_psk(const char *path, int want)
{
	FILE		*f;
	struct sim_node	*nd;
	char		 line[512], id[128], hex[256];
	int		 n = 0;

	if ((f = fopen(path, "r")) == NULL) {
		fprintf(stderr, "tinyedge-nodesim: %s: %s\n", path,
		    strerror(errno));
		return (-1);
	}
	while (n < want && fgets(line, sizeof line, f) != NULL) {
		if (sscanf(line, " %127s %255s", id, hex) != 2 || id[0] == '#')
			continue;
		nd = &nodesim.nodes[n];
		snprintf(nd->id, sizeof nd->id, "%.64s", id);
		if (parse_hex(hex, nd->key, sizeof nd->key, &nd->keylen) != 0) {
			fprintf(stderr, "tinyedge-nodesim: %s: bad key for %s\n",
			    path, id);
			fclose(f);
			return (-1);
		}
		n++;
	}
	fclose(f);
	if (n < want) {
		fprintf(stderr, "tinyedge-nodesim: %s has %d keys, %d nodes "
		    "asked for\n", path, n, want);
		return (-1);
	}
	return (0);
}

/* Record one finished request. */
static void
sim_finish(struct sim_node *nd, struct sim_req *r, int ok)
{
	double	ms = nodesim_now_ms() - r->sent_ms;

	if (ok) {
		nodesim.acked++;
		nodesim.acked_bytes += r->len;
		nodesim_latency(ms);
		if (nodesim.acked_log != NULL)
			fprintf(nodesim.acked_log, "%s %u %u %s %s %.4f\n",
			    nd->id, nd->boot, r->seq, r->type == 1 ?
			    "inference" : r->type == 2 ? "window" :
			    "heartbeat", r->type == 1 || (r->type == 2 &&
			    nodesim.vibration) ? r->label : "-",
			    r->score);
	} else {
		nodesim.failed++;
		/* The state it told is still to be told. */
		if (r->type == 3)
			nd->ctl.hb_due = 1;
	}
	r->used = 0;
	nd->outstanding--;
}

/* Find the node and request a response belongs to. */
static struct sim_req *
sim_match(coap_session_t *session, const coap_pdu_t *pdu,
    struct sim_node **ndp)
{
	struct sim_node		*nd = coap_session_get_app_data(session);
	struct sim_req		*oldest = NULL;
	coap_bin_const_t	 tok;
	int			 i;

	*ndp = nd;
	if (nd == NULL)
		return (NULL);
	tok = coap_pdu_get_token(pdu);
	for (i = 0; i < SIM_WINDOW_MAX; i++) {
		struct sim_req *r = &nd->req[i];

		if (!r->used)
			continue;
		if (r->toklen == tok.length &&
		    memcmp(r->token, tok.s, tok.length) == 0)
			return (r);
		if (r->blockwise && (oldest == NULL || r->sent_ms <
		    oldest->sent_ms))
			oldest = r;
	}
	/*
	 * Block1 transfers may answer with another token: the oldest such
	 * request.  A response with an unknown token to a small request is a
	 * late answer to a retransmission we already gave up on: matching it
	 * to another request would log an acknowledgement the gateway never
	 * gave.
	 */
	return (oldest);
}

/* A response arrived. */
static coap_response_t
sim_response(coap_session_t *session, const coap_pdu_t *sent,
    const coap_pdu_t *received, const coap_mid_t mid)
{
	struct sim_node	*nd;
	struct sim_req	*r;
	coap_pdu_code_t	 code = coap_pdu_get_code(received);

	(void)sent;
	(void)mid;
	if (nodesim_obs_response(session, received))
		return (COAP_RESPONSE_OK);
	if (coap_pdu_get_type(received) == COAP_MESSAGE_RST)
		code = 0;
	if (COAP_RESPONSE_CLASS(code) == 2 && code ==
	    COAP_RESPONSE_CODE(231))
		return (COAP_RESPONSE_OK);	/* Block1 continue */
	if ((r = sim_match(session, received, &nd)) != NULL)
		sim_finish(nd, r, COAP_RESPONSE_CLASS(code) == 2);
	return (COAP_RESPONSE_OK);
}

/* A request timed out or the session failed. */
static void
sim_nack(coap_session_t *session, const coap_pdu_t *sent,
    const coap_nack_reason_t reason, const coap_mid_t mid)
{
	struct sim_node	*nd;
	struct sim_req	*r;

	(void)mid;
	(void)reason;
	if (sent == NULL || nodesim_obs_nack(session, sent))
		return;
	if ((r = sim_match(session, sent, &nd)) != NULL)
		sim_finish(nd, r, 0);
}


/* Free a large body once libcoap is done with it. */
static void
sim_release(coap_session_t *session, void *app_ptr)
{
	(void)session;
	free(app_ptr);
}

/*
 * Send one request from a node: 0 if sent, 1 if the node had nothing to
 * send this time (an inference its settings keep back), -1 if it could
 * not.
 */
static int
sim_send(struct sim_node *nd)
{
	struct sim_req	*r = NULL;
	coap_pdu_t	*pdu;
	unsigned char	*body, cfbuf[4];
	char		 query[32];
	const char	*kind;
	size_t		 len;
	int		 i, cf;

	for (i = 0; i < SIM_WINDOW_MAX && r == NULL; i++) {
		if (!nd->req[i].used)
			r = &nd->req[i];
	}
	if (r == NULL)
		return (-1);
	pdu = coap_pdu_init(COAP_MESSAGE_CON, COAP_REQUEST_CODE_POST,
	    coap_new_message_id(nd->session),
	    coap_session_max_pdu_size(nd->session));
	if (pdu == NULL)
		return (-1);
	if ((body = nodesim_body(nd, r, &len, &cf)) == NULL) {
		coap_delete_pdu(pdu);
		return (1);
	}
	if (r->type == 2)
		nd->count++;
	coap_session_new_token(nd->session, &r->toklen, r->token);
	coap_add_token(pdu, r->toklen, r->token);
	kind = r->type == 1 ? "inference" : r->type == 2 ? "window" :
	    "heartbeat";
	coap_add_option(pdu, COAP_OPTION_URI_PATH, 2, (const uint8_t *)"v1");
	coap_add_option(pdu, COAP_OPTION_URI_PATH, 1, (const uint8_t *)"n");
	coap_add_option(pdu, COAP_OPTION_URI_PATH, strlen(nd->id),
	    (const uint8_t *)nd->id);
	coap_add_option(pdu, COAP_OPTION_URI_PATH, strlen(kind),
	    (const uint8_t *)kind);
	coap_add_option(pdu, COAP_OPTION_CONTENT_FORMAT,
	    coap_encode_var_safe(cfbuf, sizeof cfbuf, (unsigned)cf), cfbuf);
	if (cf == 42) {
		/* The binary header has no boot: the query carries it. */
		snprintf(query, sizeof query, "boot=%u", nd->boot);
		coap_add_option(pdu, COAP_OPTION_URI_QUERY, strlen(query),
		    (const uint8_t *)query);
	}
	if (!coap_add_data_large_request(nd->session, pdu, len, body,
	    sim_release, body)) {
		coap_delete_pdu(pdu);
		return (-1);
	}
	r->used = 1;
	r->blockwise = len > SIM_BLOCK_MIN;
	r->len = len;
	r->sent_ms = nodesim_now_ms();
	nd->outstanding++;
	nodesim.sent++;
	if (coap_send(nd->session, pdu) == COAP_INVALID_MID) {
		sim_finish(nd, r, 0);
		return (-1);
	}
	return (0);
}

/* Resolve the URI's host and port into a libcoap address. */
static int
sim_resolve(const coap_uri_t *u, coap_address_t *dst)
{
	struct addrinfo	 hints, *res;
	char		 host[256], port[8];
	int		 rc;

	snprintf(host, sizeof host, "%.*s", (int)u->host.length,
	    (const char *)u->host.s);
	snprintf(port, sizeof port, "%u", u->port);
	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_DGRAM;
	if ((rc = getaddrinfo(host, port, &hints, &res)) != 0) {
		fprintf(stderr, "tinyedge-nodesim: %s: %s\n", host,
		    gai_strerror(rc));
		return (-1);
	}
	coap_address_init(dst);
	dst->size = res->ai_addrlen;
	memcpy(&dst->addr.sa, res->ai_addr, res->ai_addrlen);
	freeaddrinfo(res);
	return (0);
}


/* Check the URI and find the gateway; 0, or the exit status. */
static int
sim_target(const struct nodesim_coap_opts *o, coap_address_t *dst,
    int *dtls)
{
	coap_uri_t	u;

	if (coap_split_uri((const uint8_t *)o->uri, strlen(o->uri), &u) != 0 ||
	    (u.scheme != COAP_URI_SCHEME_COAP &&
	    u.scheme != COAP_URI_SCHEME_COAPS)) {
		fprintf(stderr, "tinyedge-nodesim: bad URI %s\n", o->uri);
		return (2);
	}
	*dtls = u.scheme == COAP_URI_SCHEME_COAPS;
	if (*dtls && o->psk == NULL) {
		fprintf(stderr, "tinyedge-nodesim: coaps:// needs --psk\n");
		return (2);
	}
	if (sim_resolve(&u, dst) != 0)
		return (1);
	return (0);
}

/* A new session of a node (DTLS with its own identity, or plain UDP). */
static coap_session_t *
sim_session(coap_context_t *ctx, struct sim_node *nd, coap_address_t *dst,
    int dtls)
{
	coap_session_t	*session;

	if (dtls) {
		coap_dtls_cpsk_t	cp;

		memset(&cp, 0, sizeof cp);
		cp.version = COAP_DTLS_CPSK_SETUP_VERSION;
		cp.psk_info.identity.s = (const uint8_t *)nd->id;
		cp.psk_info.identity.length = strlen(nd->id);
		cp.psk_info.key.s = nd->key;
		cp.psk_info.key.length = nd->keylen;
		session = coap_new_client_session_psk2(ctx, NULL, dst,
		    COAP_PROTO_DTLS, &cp);
	} else
		session = coap_new_client_session(ctx, NULL, dst,
		    COAP_PROTO_UDP);
	if (session == NULL) {
		fprintf(stderr, "tinyedge-nodesim: cannot open a session for "
		    "%s\n", nd->id);
		return (NULL);
	}
	coap_session_set_app_data(session, nd);
	/* Tests that restart the gateway want quick retransmissions. */
	if (nodesim.ack_timeout_ms > 0) {
		coap_fixed_point_t	at;

		at.integer_part = (uint16_t)(nodesim.ack_timeout_ms / 1000);
		at.fractional_part = (uint16_t)(nodesim.ack_timeout_ms % 1000);
		coap_session_set_ack_timeout(session, at);
	}
	return (session);
}

/* Open a node's main session. */
static int
sim_open(coap_context_t *ctx, struct sim_node *nd, coap_address_t *dst,
    int dtls)
{
	nd->session = sim_session(ctx, nd, dst, dtls);
	return (nd->session == NULL ? -1 : 0);
}

/*
 * Another session of a node to the gateway without libcoap's block
 * handling (a session takes the context's block mode when it is made),
 * for a model download that asks for each block itself.
 */
coap_session_t *
nodesim_coap_plain_session(struct sim_node *nd)
{
	coap_session_t	*session;

	coap_context_set_block_mode(sim_peer.ctx, 0);
	session = sim_session(sim_peer.ctx, nd, &sim_peer.dst, sim_peer.dtls);
	coap_context_set_block_mode(sim_peer.ctx,
	    COAP_BLOCK_USE_LIBCOAP | COAP_BLOCK_SINGLE_BODY);
	return (session);
}

/* The context and every node's session; NULL if one cannot be opened. */
static coap_context_t *
sim_setup(const struct nodesim_coap_opts *o, coap_address_t *dst, int dtls)
{
	coap_context_t	*ctx;
	int		 i;

	ctx = coap_new_context(NULL);
	coap_context_set_block_mode(ctx,
	    COAP_BLOCK_USE_LIBCOAP | COAP_BLOCK_SINGLE_BODY);
	coap_register_response_handler(ctx, sim_response);
	coap_register_nack_handler(ctx, sim_nack);
	for (i = 0; i < nodesim.nnodes; i++) {
		struct sim_node	*nd = &nodesim.nodes[i];

		if (o->psk == NULL)
			snprintf(nd->id, sizeof nd->id, "%s-%03d", o->prefix, i);
		nd->boot = (uint32_t)(nodesim_rand() % 60000) + 1;
		nodesim_obs_start(nd);
		if (sim_open(ctx, nd, dst, dtls) != 0)
			return (NULL);
		/* Spread the first sends over one period. */
		nd->next_ms = nodesim.rate > 0 ?
		    nodesim_uniform() * 1000 / nodesim.rate : 0;
	}
	return (ctx);
}

/*
 * Send what is due from every node; returns the requests outstanding and
 * lowers *wait to the time until the next send.
 */
static int
sim_send_due(double start, double now, double end_send, double *wait)
{
	int	i, pending = 0;

	for (i = 0; i < nodesim.nnodes; i++) {
		struct sim_node	*nd = &nodesim.nodes[i];

		pending += nd->outstanding;
		if (nodesim.observe) {
			nodesim_obs_tick(nd, now, wait);
			/* A state change is told at once, beside --window. */
			if (nd->ctl.hb_due && nd->outstanding < SIM_WINDOW_MAX)
				(void)sim_send(nd);
		}
		if (nodesim.stop || now >= end_send)
			continue;
		if (nodesim.rate == 0) {
			while (nd->outstanding < nodesim.window &&
			    sim_send(nd) == 0)
				;
			continue;
		}
		while (start + nd->next_ms <= now &&
		    nd->outstanding < nodesim.window) {
			if (sim_send(nd) < 0)
				break;
			nd->next_ms += 1000 / nodesim.rate;
		}
		if (start + nd->next_ms - now < *wait)
			*wait = start + nd->next_ms - now;
	}
	return (pending);
}

/* Send for --duration (or until a signal), then drain the answers. */
static void
sim_loop(coap_context_t *ctx, double start)
{
	double	now, wait, end_send = start + nodesim.duration * 1000;
	int	pending;

	for (;;) {
		now = nodesim_now_ms();
		wait = 100;
		pending = sim_send_due(start, now, end_send, &wait);
		if ((nodesim.stop || now >= end_send) && pending == 0)
			break;
		if ((nodesim.stop || now >= end_send) &&
		    now >= end_send + SIM_DRAIN_MS)
			break;
		if (nodesim.stop && now < end_send)
			end_send = now;
		coap_io_process(ctx, wait < 1 ? 1 : (unsigned)wait);
	}
}

/* What is still outstanding after the drain has failed. */
static void
sim_abandon(void)
{
	int	i, j;

	for (i = 0; i < nodesim.nnodes; i++) {
		for (j = 0; j < SIM_WINDOW_MAX; j++) {
			if (nodesim.nodes[i].req[j].used)
				sim_finish(&nodesim.nodes[i],
				    &nodesim.nodes[i].req[j], 0);
		}
	}
}

/*
 * Run CoAP mode to the end and print the result line; 0, or the exit
 * status of a failure to start.
 */
int
nodesim_coap_run(const struct nodesim_coap_opts *o)
{
	coap_context_t	*ctx;
	coap_address_t	 dst;
	double		 start;
	int		 rc, dtls, i;

	coap_startup();
	coap_set_log_level(LOG_EMERG);
	coap_dtls_set_log_level(LOG_EMERG);
	if ((rc = sim_target(o, &dst, &dtls)) != 0)
		return (rc);
	nodesim.nodes = xcalloc((size_t)nodesim.nnodes, sizeof *nodesim.nodes);
	if (o->psk != NULL && sim_load_psk(o->psk, nodesim.nnodes) != 0)
		return (1);
	if ((ctx = sim_setup(o, &dst, dtls)) == NULL)
		return (1);
	sim_peer.ctx = ctx;
	sim_peer.dst = dst;
	sim_peer.dtls = dtls;
	nodesim_catch_signals();
	start = nodesim_now_ms();
	sim_loop(ctx, start);
	sim_abandon();
	for (i = 0; i < nodesim.nnodes; i++) {
		nodesim_obs_stop(&nodesim.nodes[i]);
		vibsim_free(nodesim.nodes[i].vib);
	}
	nodesim_report(start);
	coap_free_context(ctx);
	coap_cleanup();
	free(nodesim.nodes);
	return (0);
}
