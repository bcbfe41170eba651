/*
 * ingest_coap_get.c - the resources a node reads: its settings,
 * GET /v1/n/{node}/config (SPEC 9.1), node models,
 * GET /v1/models/{NAME}[?v=VERSION] (SPEC 9.3), and federated rounds,
 * GET /v1/fl/{NAME} (Observe) and GET /v1/fl/{NAME}/head (SPEC 10).
 *
 * Requests come here from ingest_coap_req.c once admitted.  Settings are
 * the JSON document of control.h; their ETag is the node's rev (4 bytes,
 * big endian), so a node that still holds that rev gets 2.03 and no body
 * (RFC 7252 5.10.6).  An Observe option registers or cancels an observer
 * (ingest_coap_obs.c), whose notifications are built by the same function
 * as the response.
 *
 * Max-Age of settings: CONFIG_MAX_AGE, 5 minutes.  A node that observes
 * takes a notification as fresh for Max-Age and re-registers after it
 * (RFC 7641 3.3.1); a gateway that restarted has forgotten its observers,
 * so Max-Age is the longest a node can miss a change, traded against one
 * small exchange per node per period.  5 minutes is gateway.node_timeout's
 * default: a node that silent is offline anyway.
 *
 * Models are served from memory (models_data) in Block2 blocks of up to
 * 1024 bytes, or smaller if asked or if the session's PDUs are smaller.
 * Every block is answered on its own (no transfer state), so a node may ask
 * for any block again and resume where it stopped; the ETag (first 8 bytes
 * of the sha256) tells it whether the blocks still belong to one version.
 * A federated head is served the same way, its ETag the first 8 bytes of
 * its base; the round document is observed like settings (Max-Age alike).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <coap3/coap.h>

#include "control.h"
#include "fed.h"
#include "ingest_coap_int.h"
#include "log.h"
#include "metrics.h"
#include "models.h"
#include "parse.h"

#define CONFIG_MAX_AGE		300	/* seconds, see the top of the file */
#define MODEL_LOADING_MAX_AGE	1	/* seconds: not in memory yet (5.03) */
#define GET_OVERHEAD		64	/* PDU bytes besides a block's payload */
#define MODEL_ETAG_LEN		8

/* Add a uint option. */
static void
ingest_coap_get_uint(coap_pdu_t *pdu, coap_option_num_t num, uint32_t v)
{
	uint8_t	buf[4];

	coap_add_option(pdu, num, coap_encode_var_safe(buf, sizeof buf, v),
	    buf);
}

/* Answer an error with a text diagnostic. */
static void
ingest_coap_get_error(coap_pdu_t *pdu, coap_pdu_code_t code, const char *text)
{
	metrics_add(METRICS_INGEST_REJECTED, 1);
	coap_pdu_set_code(pdu, code);
	ingest_coap_get_uint(pdu, COAP_OPTION_CONTENT_FORMAT, COAP_CF_TEXT);
	coap_add_data(pdu, strlen(text), (const uint8_t *)text);
}

/* Does the request carry this ETag (one of its ETag options)? */
static int
ingest_coap_get_etag_match(const coap_pdu_t *request, const uint8_t *etag,
    size_t len)
{
	coap_opt_iterator_t	 it;
	coap_opt_filter_t	 f;
	coap_opt_t		*opt;

	if (request == NULL)
		return (0);
	coap_option_filter_clear(&f);
	coap_option_filter_set(&f, COAP_OPTION_ETAG);
	coap_option_iterator_init(request, &it, &f);
	while ((opt = coap_option_next(&it)) != NULL) {
		if (coap_opt_length(opt) == len &&
		    memcmp(coap_opt_value(opt), etag, len) == 0)
			return (1);
	}
	return (0);
}

/*
 * Which slice of a body of len bytes answers request (NULL: a notification,
 * block 0).  -1 when the block asked for is past the end.
 */
static int
ingest_coap_get_slice(coap_session_t *session, const coap_pdu_t *request,
    size_t len, struct coap_block2 *s)
{
	coap_block_b_t	b;
	size_t		max = coap_session_max_pdu_size(session), room;
	int		asked;

	memset(&b, 0, sizeof b);
	asked = request != NULL && coap_get_block_b(session, request,
	    COAP_OPTION_BLOCK2, &b);
	room = max > GET_OVERHEAD + 16 ? max - GET_OVERHEAD : 16;
	return (ingest_coap_path_block2(len, asked, b.num, b.szx, room, s));
}

/*
 * Add what follows the head options: Block2 and Size2 (when asked, or on
 * any block of a body larger than one), then the slice of data.
 */
static void
ingest_coap_get_tail(coap_pdu_t *pdu, const coap_pdu_t *request,
    const struct coap_block2 *s, const uint8_t *data, size_t len)
{
	coap_opt_iterator_t	it;

	if (s->block)
		ingest_coap_get_uint(pdu, COAP_OPTION_BLOCK2, (s->num << 4) |
		    ((unsigned)s->more << 3) | s->szx);
	if (request != NULL && coap_check_option(request, COAP_OPTION_SIZE2,
	    &it) != NULL)
		ingest_coap_get_uint(pdu, COAP_OPTION_SIZE2, (uint32_t)len);
	if (s->len > 0)
		coap_add_data(pdu, s->len, data + s->offset);
}

/*
 * Fill a response or notification (request NULL) with a node's settings:
 * 2.05 with ETag, Observe (observe >= 0), Content-Format 50, Max-Age and
 * the document or the Block2 block asked for; 2.03 without body when the
 * request carries the current ETag.  -1 (answered 4.02) when the block
 * asked for is past the end.
 */
int
ingest_coap_config_pdu(coap_pdu_t *pdu, coap_session_t *session,
    const coap_pdu_t *request, const char *body, uint32_t rev,
    int64_t observe)
{
	struct coap_block2	 s;
	uint8_t			 etag[4];
	size_t			 len = strlen(body);
	int			 valid;

	etag[0] = (uint8_t)(rev >> 24);
	etag[1] = (uint8_t)(rev >> 16);
	etag[2] = (uint8_t)(rev >> 8);
	etag[3] = (uint8_t)rev;
	valid = ingest_coap_get_etag_match(request, etag, sizeof etag);
	if (!valid && ingest_coap_get_slice(session, request, len, &s) != 0) {
		ingest_coap_get_error(pdu, COAP_RESPONSE_CODE_BAD_OPTION,
		    "Block2: that block is past the end of the settings");
		return (-1);
	}
	coap_pdu_set_code(pdu, valid ? COAP_RESPONSE_CODE_VALID :
	    COAP_RESPONSE_CODE_CONTENT);
	/* Options in their numeric order: 4, 6, 12, 14, then 23, 28. */
	coap_add_option(pdu, COAP_OPTION_ETAG, sizeof etag, etag);
	if (observe >= 0)
		ingest_coap_get_uint(pdu, COAP_OPTION_OBSERVE,
		    (uint32_t)observe);
	if (!valid)
		ingest_coap_get_uint(pdu, COAP_OPTION_CONTENT_FORMAT,
		    COAP_CF_JSON);
	ingest_coap_get_uint(pdu, COAP_OPTION_MAXAGE, CONFIG_MAX_AGE);
	if (!valid)
		ingest_coap_get_tail(pdu, request, &s, (const uint8_t *)body,
		    len);
	return (0);
}

/*
 * The Observe option of a GET of an observable document: 0 registers the
 * request's token as an observer of KIND and KEY (unless the bounds say
 * no: then the answer has no Observe option, RFC 7641 4.1), 1 cancels.
 * Returns the sequence number to answer with, or -1 for none.
 */
static int64_t
ingest_coap_get_observe(coap_session_t *session, const coap_pdu_t *request,
    enum obs_kind kind, const char *key)
{
	coap_opt_iterator_t	 it;
	coap_opt_t		*opt;
	int64_t			 action = -1;

	if ((opt = coap_check_option(request, COAP_OPTION_OBSERVE,
	    &it)) != NULL)
		action = (int64_t)coap_decode_var_bytes(coap_opt_value(opt),
		    coap_opt_length(opt));
	if (action == COAP_OBSERVE_ESTABLISH &&
	    ingest_coap_obs_register(session, request, kind, key))
		return (ingest_coap_obs_next());
	if (action == COAP_OBSERVE_CANCEL)
		ingest_coap_obs_cancel(session, request);
	return (-1);
}

/*
 * GET /v1/n/{node}/config from an admitted node.  Observe 0 registers the
 * request's token as an observer (unless the bounds say no: then the
 * answer has no Observe option, RFC 7641 4.1), Observe 1 cancels it.
 */
void
ingest_coap_get_config(coap_session_t *session, const coap_pdu_t *request,
    coap_pdu_t *response, const char *node)
{
	char			*body;
	uint32_t		 rev;
	int64_t			 observe;

	/* Admitted, so known: NULL is a new rev the store could not keep. */
	if ((body = control_settings(node, &rev)) == NULL) {
		ingest_coap_get_uint(response, COAP_OPTION_MAXAGE,
		    COAP_RETRY_MAX_AGE);
		ingest_coap_get_error(response,
		    COAP_RESPONSE_CODE_SERVICE_UNAVAILABLE,
		    "settings cannot be stored now: try again later");
		return;
	}
	observe = ingest_coap_get_observe(session, request, OBS_CONFIG, node);
	if (ingest_coap_config_pdu(response, session, request, body, rev,
	    observe) != 0 && observe >= 0)
		ingest_coap_obs_cancel(session, request);
	free(body);
}

/* The ETag of a model: the first 8 bytes of its sha256. */
static void
ingest_coap_get_model_etag(const struct models_info *info,
    uint8_t etag[MODEL_ETAG_LEN])
{
	char	hex[MODEL_ETAG_LEN * 2 + 1];
	size_t	n;

	memcpy(hex, info->sha256, sizeof hex - 1);
	hex[sizeof hex - 1] = '\0';
	if (parse_hex(hex, etag, MODEL_ETAG_LEN, &n) != 0 ||
	    n != MODEL_ETAG_LEN)
		memset(etag, 0, MODEL_ETAG_LEN);
}

/* Answer a GET of a block past the end of a model: 4.02 and why. */
static void
ingest_coap_get_past_end(coap_pdu_t *response, const coap_pdu_t *request,
    size_t size)
{
	coap_block_b_t	b;
	char		text[96];

	memset(&b, 0, sizeof b);
	coap_get_block_b(NULL, request, COAP_OPTION_BLOCK2, &b);
	snprintf(text, sizeof text, "Block2: block %u of %u bytes is past the "
	    "end (%zu bytes)", b.num, 16u << b.szx, size);
	ingest_coap_get_error(response, COAP_RESPONSE_CODE_BAD_OPTION, text);
}

/*
 * GET /v1/models/{NAME}[?v=VERSION]: the newest version, or VERSION, in
 * Block2 blocks; 2.03 when the request carries its ETag; 4.04 for an
 * unknown name or version; 5.03 while the bytes are not in memory yet.
 */
void
ingest_coap_get_model(coap_session_t *session, const coap_pdu_t *request,
    const coap_string_t *query, coap_pdu_t *response, const char *name)
{
	struct models_info	 info;
	struct coap_block2	 s;
	const uint8_t		*data;
	char			 version[MODELS_VERSION_MAX + 1];
	uint8_t			 etag[MODEL_ETAG_LEN];

	if (ingest_coap_path_version(query != NULL ? query->s : NULL,
	    query != NULL ? query->length : 0, version) != 0) {
		ingest_coap_get_error(response, COAP_RESPONSE_CODE_BAD_REQUEST,
		    "query: only v=VERSION (1 to 32 of [A-Za-z0-9_.-])");
		return;
	}
	memset(&info, 0, sizeof info);
	if (name[0] == '\0' || !models_valid_name(name) ||
	    models_find(name, version[0] != '\0' ? version : NULL,
	    &info) != 0) {
		ingest_coap_get_error(response, COAP_RESPONSE_CODE_NOT_FOUND,
		    version[0] != '\0' ? "no such model version" :
		    "no such model");
		return;
	}
	ingest_coap_get_model_etag(&info, etag);
	if (ingest_coap_get_etag_match(request, etag, sizeof etag)) {
		coap_pdu_set_code(response, COAP_RESPONSE_CODE_VALID);
		coap_add_option(response, COAP_OPTION_ETAG, sizeof etag, etag);
		return;
	}
	/* The version found, so the bytes match the ETag just made. */
	if ((data = models_data(name, info.version, &info)) == NULL) {
		ingest_coap_get_uint(response, COAP_OPTION_MAXAGE,
		    MODEL_LOADING_MAX_AGE);
		ingest_coap_get_error(response,
		    COAP_RESPONSE_CODE_SERVICE_UNAVAILABLE,
		    "model not in memory yet: try again");
		return;
	}
	if (ingest_coap_get_slice(session, request, info.size, &s) != 0) {
		ingest_coap_get_past_end(response, request, info.size);
		return;
	}
	coap_pdu_set_code(response, COAP_RESPONSE_CODE_CONTENT);
	coap_add_option(response, COAP_OPTION_ETAG, sizeof etag, etag);
	ingest_coap_get_uint(response, COAP_OPTION_CONTENT_FORMAT,
	    COAP_CF_OCTETS);
	ingest_coap_get_tail(response, request, &s, data, info.size);
}

/*
 * Fill a response or notification (request NULL) with the round document
 * of a federated NAME: 2.05, Observe (observe >= 0), Content-Format 50,
 * Max-Age.  -1 (answered 4.04) when NAME is not federated (any more).
 */
int
ingest_coap_fl_pdu(coap_pdu_t *pdu, coap_session_t *session,
    const coap_pdu_t *request, const char *name, int64_t observe)
{
	struct coap_block2	 s;
	char			*doc;

	if ((doc = fed_doc(name)) == NULL) {
		ingest_coap_get_error(pdu, COAP_RESPONSE_CODE_NOT_FOUND,
		    "no such federated model");
		return (-1);
	}
	if (ingest_coap_get_slice(session, request, strlen(doc), &s) != 0) {
		free(doc);
		ingest_coap_get_error(pdu, COAP_RESPONSE_CODE_BAD_OPTION,
		    "Block2: that block is past the end of the document");
		return (-1);
	}
	coap_pdu_set_code(pdu, COAP_RESPONSE_CODE_CONTENT);
	/* Options in their numeric order: 6, 12, 14, then 23, 28. */
	if (observe >= 0)
		ingest_coap_get_uint(pdu, COAP_OPTION_OBSERVE,
		    (uint32_t)observe);
	ingest_coap_get_uint(pdu, COAP_OPTION_CONTENT_FORMAT, COAP_CF_JSON);
	ingest_coap_get_uint(pdu, COAP_OPTION_MAXAGE, CONFIG_MAX_AGE);
	ingest_coap_get_tail(pdu, request, &s, (const uint8_t *)doc,
	    strlen(doc));
	free(doc);
	return (0);
}

/*
 * GET /v1/fl/{NAME}: the round document; Observe 0 registers (a new round
 * or deadline notifies), Observe 1 cancels.
 */
void
ingest_coap_get_fl(coap_session_t *session, const coap_pdu_t *request,
    coap_pdu_t *response, const char *name)
{
	int64_t	observe;

	if (name[0] == '\0' || fed_round(name) == 0) {
		ingest_coap_get_error(response, COAP_RESPONSE_CODE_NOT_FOUND,
		    "no such federated model");
		return;
	}
	observe = ingest_coap_get_observe(session, request, OBS_FL, name);
	if (ingest_coap_fl_pdu(response, session, request, name,
	    observe) != 0 && observe >= 0)
		ingest_coap_obs_cancel(session, request);
}

/*
 * GET /v1/fl/{NAME}/head: the head (float32 LE) in Block2 blocks, ETag the
 * first bytes of base; 2.03 when the request carries it.
 */
void
ingest_coap_get_fl_head(coap_session_t *session, const coap_pdu_t *request,
    coap_pdu_t *response, const char *name)
{
	struct coap_block2	 s;
	const uint8_t		*data;
	uint8_t			 etag[FED_ETAG_LEN];
	size_t			 len;

	if (name[0] == '\0' || (data = fed_head(name, &len, etag)) == NULL) {
		ingest_coap_get_error(response, COAP_RESPONSE_CODE_NOT_FOUND,
		    "no such federated model");
		return;
	}
	if (ingest_coap_get_etag_match(request, etag, sizeof etag)) {
		coap_pdu_set_code(response, COAP_RESPONSE_CODE_VALID);
		coap_add_option(response, COAP_OPTION_ETAG, sizeof etag, etag);
		return;
	}
	if (ingest_coap_get_slice(session, request, len, &s) != 0) {
		ingest_coap_get_past_end(response, request, len);
		return;
	}
	coap_pdu_set_code(response, COAP_RESPONSE_CODE_CONTENT);
	coap_add_option(response, COAP_OPTION_ETAG, sizeof etag, etag);
	ingest_coap_get_uint(response, COAP_OPTION_CONTENT_FORMAT,
	    COAP_CF_OCTETS);
	ingest_coap_get_tail(response, request, &s, data, len);
	fed_count_out(name, s.len);
}
