/*
 * nodesim_obs.c - tinyedge-nodesim --observe: the node side of SPEC
 * section 9, as a node firmware would do it.
 *
 * Settings.  Each node registers with GET /v1/n/{node}/config, Observe 0,
 * always with the same token (RFC 7641 3.3.1: a GET with the token of a
 * registration refreshes it).  Every 2.05 that arrives for that token,
 * the first answer and the notifications, is read by nodesim_ctl.c and
 * applied when its rev differs from the applied one.  A registration is
 * renewed when Max-Age (+ SIM_OBS_SLACK_MS) passes without a notification,
 * SIM_OBS_RETRY_MS after an answer without Observe or an error, and
 * SIM_OBS_NACK_MS after the request went unanswered.
 *
 * Models.  A document whose "model" differs from the one the node has
 * starts a download of its uri: one Block2 request at a time, blocks of
 * 2^(4+--block) bytes (1024 by default), on a session of its own with
 * libcoap's block handling off, so every block is asked for by this code;
 * a request libcoap gave up on is asked again (the same block), up to
 * SIM_DL_TIMEOUTS_MAX times in a row.  With --state DIR the bytes also go
 * to DIR/{node}.part beside DIR/{node}.meta (which model); a node started
 * again on the same model resumes at the block after the last whole one
 * it has, and a finished model is remembered in DIR/{node}.model.  The
 * end checks size and SHA-256 (OpenSSL EVP).
 *
 * Heartbeats.  Every change of the applied rev or of the model's state
 * makes the node send a heartbeat (nodesim_body.c builds it from here):
 * config_rev, model (NAME@VERSION), model_state, model_result.
 * --control-log FILE gets one line per event, "EPOCH_MS NODE WHAT...".
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cJSON.h>
#include <openssl/evp.h>

#include "nodesim.h"
#include "xmalloc.h"

#define SIM_OBS_RETRY_MS	5000	/* no Observe in the answer, an error */
#define SIM_OBS_NACK_MS		1000	/* the registration went unanswered */
#define SIM_OBS_SLACK_MS	10000	/* past Max-Age before renewing */
#define SIM_OBS_MAX_AGE		60	/* seconds, CoAP's default */
#define SIM_DL_TIMEOUTS_MAX	20	/* unanswered blocks in a row: failed */

static const char *const sim_states[] = {
	"idle", "downloading", "downloaded", "failed",
};

/* One line of the --control log: wall-clock ms, node, the event. */
static void __attribute__((format(printf, 2, 3)))
obs_log(const struct sim_node *nd, const char *fmt, ...)
{
	struct timespec	ts;
	va_list		ap;

	if (nodesim.control_log == NULL)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	fprintf(nodesim.control_log, "%llu %s ", (unsigned long long)
	    ts.tv_sec * 1000 + (unsigned long long)ts.tv_nsec / 1000000,
	    nd->id);
	va_start(ap, fmt);
	vfprintf(nodesim.control_log, fmt, ap);
	va_end(ap);
	fputc('\n', nodesim.control_log);
}

/* The heartbeat body of a node's current state (caller frees). */
unsigned char *
nodesim_obs_heartbeat(struct sim_node *nd, size_t *len)
{
	struct sim_ctl	*c = &nd->ctl;
	cJSON		*o = cJSON_CreateObject();
	char		*text, *copy, model[SIM_CTL_NAME_MAX +
			    SIM_CTL_VERSION_MAX + 2];

	cJSON_AddNumberToObject(o, "seq", nd->seq);
	cJSON_AddNumberToObject(o, "boot", nd->boot);
	if (c->have_doc)
		cJSON_AddNumberToObject(o, "config_rev", c->doc.rev);
	if (c->model.present) {
		snprintf(model, sizeof model, "%s@%s", c->model.name,
		    c->model.version);
		cJSON_AddStringToObject(o, "model", model);
	}
	cJSON_AddStringToObject(o, "model_state", sim_states[c->model_state]);
	cJSON_AddStringToObject(o, "model_result", c->model_result);
	text = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	copy = xstrdup(text);
	cJSON_free(text);
	*len = strlen(copy);
	return ((unsigned char *)copy);
}

/* A state file of a node under --state: DIR/NODE.SUFFIX. */
static char *
obs_path(const struct sim_node *nd, const char *suffix)
{
	char	*p;

	xasprintf(&p, "%s/%s.%s", nodesim.state_dir, nd->id, suffix);
	return (p);
}

/* The one-line description of a model kept in the state files. */
static char *
obs_model_line(const struct sim_model *m)
{
	char	*s;

	xasprintf(&s, "%s %s %s %zu\n", m->name, m->version, m->sha256,
	    m->size);
	return (s);
}

/* Does DIR/NODE.SUFFIX describe model m? */
static int
obs_file_is(const struct sim_node *nd, const char *suffix,
    const struct sim_model *m)
{
	char	*path = obs_path(nd, suffix), *want = obs_model_line(m);
	char	 line[256];
	FILE	*f;
	int	 same = 0;

	if ((f = fopen(path, "r")) != NULL) {
		same = fgets(line, sizeof line, f) != NULL &&
		    strcmp(line, want) == 0;
		fclose(f);
	}
	free(path);
	free(want);
	return (same);
}

/* Write DIR/NODE.SUFFIX describing model m (best effort: it is a sim). */
static void
obs_file_write(const struct sim_node *nd, const char *suffix,
    const struct sim_model *m)
{
	char	*path = obs_path(nd, suffix), *line = obs_model_line(m);
	FILE	*f;

	if ((f = fopen(path, "w")) != NULL) {
		fputs(line, f);
		fclose(f);
	} else
		fprintf(stderr, "tinyedge-nodesim: %s: %s\n", path,
		    strerror(errno));
	free(path);
	free(line);
}

/* Remove DIR/NODE.SUFFIX. */
static void
obs_file_remove(const struct sim_node *nd, const char *suffix)
{
	char	*path = obs_path(nd, suffix);

	(void)unlink(path);
	free(path);
}

/* The model's state changed: heartbeat and log. */
static void
obs_model_state(struct sim_node *nd, enum sim_model_state st,
    const char *result)
{
	struct sim_ctl	*c = &nd->ctl;

	c->model_state = st;
	snprintf(c->model_result, sizeof c->model_result, "%s", result);
	c->hb_due = 1;
	obs_log(nd, "model %s %s@%s %s", sim_states[st], c->model.name,
	    c->model.version, result);
}

/* Drop the download's buffer and file; its session goes at the next tick. */
static void
obs_dl_end(struct sim_node *nd)
{
	struct sim_ctl	*c = &nd->ctl;

	free(c->dl_buf);
	c->dl_buf = NULL;
	c->dl_got = 0;
	c->dl_asked = 0;
	if (c->dl_fd != -1) {
		close(c->dl_fd);
		c->dl_fd = -1;
	}
}

/* The download failed: why, in model_result. */
static void
obs_dl_fail(struct sim_node *nd, const char *why)
{
	obs_dl_end(nd);
	if (nodesim.state_dir != NULL) {
		obs_file_remove(nd, "part");
		obs_file_remove(nd, "meta");
	}
	nodesim.models_failed++;
	obs_model_state(nd, SIM_MODEL_FAILED, why);
}

/* Block size of the downloads. */
static size_t
obs_bs(void)
{
	return ((size_t)1 << (nodesim.block_szx + 4));
}

/*
 * With --state: take up a download this node began before (same model in
 * DIR/NODE.meta) at its last whole block, or start the .part file anew.
 */
static void
obs_dl_resume(struct sim_node *nd)
{
	struct sim_ctl	*c = &nd->ctl;
	char		*part = obs_path(nd, "part");
	ssize_t		 n;
	int		 fd;

	if (obs_file_is(nd, "meta", &c->model) &&
	    (fd = open(part, O_RDONLY)) != -1) {
		while (c->dl_got < c->model.size && (n = read(fd,
		    c->dl_buf + c->dl_got, c->model.size - c->dl_got)) > 0)
			c->dl_got += (size_t)n;
		close(fd);
		/* A block cut short by the kill is asked for again. */
		c->dl_got -= c->dl_got % obs_bs();
		if (c->dl_got == c->model.size)
			c->dl_got -= obs_bs();
	} else
		obs_file_write(nd, "meta", &c->model);
	c->dl_fd = open(part, O_WRONLY | O_CREAT, 0644);
	if (c->dl_fd == -1 || ftruncate(c->dl_fd, (off_t)c->dl_got) != 0 ||
	    lseek(c->dl_fd, (off_t)c->dl_got, SEEK_SET) == -1)
		fprintf(stderr, "tinyedge-nodesim: %s: %s\n", part,
		    strerror(errno));
	free(part);
}

/* Start fetching the model the settings name. */
static void
obs_dl_start(struct sim_node *nd, const struct sim_model *m)
{
	struct sim_ctl	*c = &nd->ctl;
	char		 why[64];

	obs_dl_end(nd);
	c->model = *m;
	if (nodesim.state_dir != NULL && obs_file_is(nd, "model", m)) {
		/* Fetched and checked before this process started. */
		snprintf(why, sizeof why, "sha256 ok, %zu bytes", m->size);
		obs_model_state(nd, SIM_MODEL_DOWNLOADED, why);
		return;
	}
	c->dl_buf = xmalloc(m->size);
	if (nodesim.state_dir != NULL)
		obs_dl_resume(nd);
	if (c->dl_got > 0)
		nodesim.resumed++;
	if (c->dl == NULL)
		c->dl = nodesim_coap_plain_session(nd);
	c->dl_timeouts = 0;
	c->dl_next_ms = 0;
	c->dl_szx = nodesim.block_szx;
	snprintf(why, sizeof why, "block %zu of %zu", c->dl_got / obs_bs(),
	    (m->size + obs_bs() - 1) / obs_bs());
	obs_model_state(nd, SIM_MODEL_DOWNLOADING, why);
	if (c->dl == NULL)
		obs_dl_fail(nd, "cannot open a session");
}

/* Apply a settings document (text of len bytes) if its rev is new. */
static void
obs_apply(struct sim_node *nd, const uint8_t *text, size_t len)
{
	struct sim_ctl	*c = &nd->ctl;
	struct sim_doc	 d;
	char		*cause = NULL;

	if (nodesim_ctl_parse((const char *)text, len, &d, &cause) != 0) {
		fprintf(stderr, "tinyedge-nodesim: %s: settings refused: %s\n",
		    nd->id, cause);
		obs_log(nd, "config refused %s", cause);
		free(cause);
		return;
	}
	/* The first answer of a renewal repeats what the node has. */
	if (c->have_doc && d.rev == c->doc.rev)
		return;
	c->doc = d;
	c->have_doc = 1;
	c->hb_due = 1;
	nodesim.config_updates++;
	obs_log(nd, "config %u", d.rev);
	if (d.model.present && !nodesim_ctl_same_model(&d.model, &c->model))
		obs_dl_start(nd, &d.model);
}

/* Add the Uri-Path and Uri-Query options of a checked uri. */
static void
obs_uri_options(coap_pdu_t *pdu, const char *uri)
{
	const char	*p = uri + 1, *end;
	int		 query = 0;
	size_t		 n;

	while (*p != '\0') {
		end = p + strcspn(p, query ? "&" : "/?");
		n = (size_t)(end - p);
		if (n > 0)
			coap_add_option(pdu, query ? COAP_OPTION_URI_QUERY :
			    COAP_OPTION_URI_PATH, n, (const uint8_t *)p);
		if (*end == '?')
			query = 1;
		p = *end == '\0' ? end : end + 1;
	}
}

/* Ask for the next block of the model. */
static void
obs_dl_ask(struct sim_node *nd)
{
	struct sim_ctl	*c = &nd->ctl;
	coap_pdu_t	*pdu;
	uint8_t		 buf[4];
	unsigned	 num = (unsigned)(c->dl_got >> (c->dl_szx + 4));

	pdu = coap_pdu_init(COAP_MESSAGE_CON, COAP_REQUEST_CODE_GET,
	    coap_new_message_id(c->dl), coap_session_max_pdu_size(c->dl));
	if (pdu == NULL)
		return;
	coap_session_new_token(c->dl, &c->dl_toklen, c->dl_token);
	coap_add_token(pdu, c->dl_toklen, c->dl_token);
	obs_uri_options(pdu, c->model.uri);
	coap_add_option(pdu, COAP_OPTION_BLOCK2, coap_encode_var_safe(buf,
	    sizeof buf, (num << 4) | (unsigned)c->dl_szx), buf);
	if (coap_send(c->dl, pdu) == COAP_INVALID_MID) {
		c->dl_next_ms = nodesim_now_ms() + SIM_OBS_NACK_MS;
		return;
	}
	c->dl_asked = 1;
}

/* The whole model is here: check it against the document. */
static void
obs_dl_check(struct sim_node *nd)
{
	struct sim_ctl	*c = &nd->ctl;
	unsigned char	 md[EVP_MAX_MD_SIZE];
	unsigned int	 mdlen = 0;
	char		 hex[65], why[96];
	unsigned	 i;

	if (c->dl_got != c->model.size) {
		snprintf(why, sizeof why, "%zu bytes, the settings say %zu",
		    c->dl_got, c->model.size);
		obs_dl_fail(nd, why);
		return;
	}
	if (EVP_Digest(c->dl_buf, c->dl_got, md, &mdlen, EVP_sha256(),
	    NULL) != 1 || mdlen != 32) {
		obs_dl_fail(nd, "sha256: libcrypto failed");
		return;
	}
	for (i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	if (strcmp(hex, c->model.sha256) != 0) {
		snprintf(why, sizeof why, "sha256 mismatch: got %.16s...", hex);
		obs_dl_fail(nd, why);
		return;
	}
	snprintf(why, sizeof why, "sha256 ok, %zu bytes", c->dl_got);
	obs_dl_end(nd);
	if (nodesim.state_dir != NULL) {
		obs_file_write(nd, "model", &c->model);
		obs_file_remove(nd, "part");
		obs_file_remove(nd, "meta");
	}
	nodesim.models_ok++;
	obs_model_state(nd, SIM_MODEL_DOWNLOADED, why);
}

/* Does the answer's ETag, if any, disagree with the model's sha256? */
static int
obs_etag_differs(const struct sim_node *nd, const coap_pdu_t *pdu)
{
	coap_opt_iterator_t	 it;
	coap_opt_t		*opt;
	const uint8_t		*v;
	unsigned		 i, len;
	char			 hex[17];

	if ((opt = coap_check_option(pdu, COAP_OPTION_ETAG, &it)) == NULL)
		return (0);
	len = coap_opt_length(opt);
	v = coap_opt_value(opt);
	if (len != 8)
		return (1);
	for (i = 0; i < 8; i++)
		snprintf(hex + 2 * i, 3, "%02x", v[i]);
	return (strncmp(hex, nd->ctl.model.sha256, 16) != 0);
}

/* Max-Age of an answer in ms, def seconds when it has none. */
static double
obs_max_age_ms(const coap_pdu_t *pdu, unsigned def)
{
	coap_opt_iterator_t	 it;
	coap_opt_t		*opt;

	if ((opt = coap_check_option(pdu, COAP_OPTION_MAXAGE, &it)) == NULL)
		return ((double)def * 1000);
	return ((double)coap_decode_var_bytes(coap_opt_value(opt),
	    coap_opt_length(opt)) * 1000);
}

/* One block (or the whole small model) arrived. */
static void
obs_dl_block(struct sim_node *nd, const coap_pdu_t *pdu)
{
	struct sim_ctl	*c = &nd->ctl;
	coap_block_b_t	 b;
	const uint8_t	*data;
	size_t		 len = 0, bs;

	if (obs_etag_differs(nd, pdu)) {
		obs_dl_fail(nd, "ETag is not the settings' sha256");
		return;
	}
	if (!coap_get_data(pdu, &len, &data))
		len = 0;
	if (!coap_get_block_b(c->dl, pdu, COAP_OPTION_BLOCK2, &b))
		memset(&b, 0, sizeof b);
	/* The gateway may answer with smaller blocks: go on with those. */
	bs = (size_t)1 << (b.szx + 4);
	if (b.szx < (unsigned)c->dl_szx && c->dl_got % bs == 0)
		c->dl_szx = (int)b.szx;
	if ((size_t)b.num * bs != c->dl_got || (b.m && len != bs)) {
		if (++c->dl_timeouts > SIM_DL_TIMEOUTS_MAX)
			obs_dl_fail(nd, "blocks out of order");
		return;
	}
	if (len > c->model.size - c->dl_got) {
		obs_dl_fail(nd, "more bytes than the settings' size");
		return;
	}
	memcpy(c->dl_buf + c->dl_got, data, len);
	if (c->dl_fd != -1 && write(c->dl_fd, data, len) != (ssize_t)len)
		fprintf(stderr, "tinyedge-nodesim: %s: writing the .part "
		    "file: %s\n", nd->id, strerror(errno));
	c->dl_got += len;
	c->dl_timeouts = 0;
	if (!b.m)
		obs_dl_check(nd);
}

/* An answer on a download session. */
static void
obs_dl_answer(struct sim_node *nd, const coap_pdu_t *pdu)
{
	struct sim_ctl		*c = &nd->ctl;
	coap_bin_const_t	 tok = coap_pdu_get_token(pdu);
	coap_pdu_code_t		 code = coap_pdu_get_code(pdu);
	char			 why[64];

	/* Late answers to a request asked again are not ours any more. */
	if (c->dl_buf == NULL || !c->dl_asked || tok.length != c->dl_toklen ||
	    memcmp(tok.s, c->dl_token, tok.length) != 0)
		return;
	c->dl_asked = 0;
	if (code == COAP_RESPONSE_CODE_CONTENT) {
		obs_dl_block(nd, pdu);
		return;
	}
	if (code == COAP_RESPONSE_CODE_SERVICE_UNAVAILABLE) {
		/* The gateway is loading the file: ask again after Max-Age. */
		c->dl_next_ms = nodesim_now_ms() + obs_max_age_ms(pdu, 1);
		return;
	}
	snprintf(why, sizeof why, "the gateway answered %d.%02d",
	    COAP_RESPONSE_CLASS(code), code & 0x1f);
	obs_dl_fail(nd, why);
}

/* An answer to the settings registration or a notification. */
static void
obs_answer(struct sim_node *nd, const coap_pdu_t *pdu)
{
	struct sim_ctl		*c = &nd->ctl;
	coap_opt_iterator_t	 it;
	coap_pdu_code_t		 code = coap_pdu_get_code(pdu);
	const uint8_t		*data;
	size_t			 len;
	double			 now = nodesim_now_ms();

	c->obs_asked = 0;
	if (coap_pdu_get_type(pdu) == COAP_MESSAGE_RST) {
		c->obs_next_ms = now + SIM_OBS_RETRY_MS;
		return;
	}
	if (code != COAP_RESPONSE_CODE_CONTENT) {
		c->obs_next_ms = now + (code == COAP_RESPONSE_CODE(503) ?
		    obs_max_age_ms(pdu, SIM_OBS_RETRY_MS / 1000) :
		    SIM_OBS_RETRY_MS);
		return;
	}
	if (coap_get_data(pdu, &len, &data))
		obs_apply(nd, data, len);
	if (coap_check_option(pdu, COAP_OPTION_OBSERVE, &it) != NULL)
		c->obs_next_ms = now + obs_max_age_ms(pdu, SIM_OBS_MAX_AGE) +
		    SIM_OBS_SLACK_MS;
	else
		c->obs_next_ms = now + SIM_OBS_RETRY_MS;
}

/*
 * An answer arrived on session: 1 if it was a settings or model answer
 * (handled here), 0 if it is one of nodesim_coap.c's requests.
 */
int
nodesim_obs_response(coap_session_t *session, const coap_pdu_t *pdu)
{
	struct sim_node		*nd = coap_session_get_app_data(session);
	coap_bin_const_t	 tok;

	if (!nodesim.observe || nd == NULL)
		return (0);
	if (nd->ctl.dl != NULL && session == nd->ctl.dl) {
		obs_dl_answer(nd, pdu);
		return (1);
	}
	tok = coap_pdu_get_token(pdu);
	if (nd->ctl.obs_toklen == 0 || tok.length != nd->ctl.obs_toklen ||
	    memcmp(tok.s, nd->ctl.obs_token, tok.length) != 0)
		return (0);
	obs_answer(nd, pdu);
	return (1);
}

/* libcoap gave up on a request: 1 if it was ours. */
int
nodesim_obs_nack(coap_session_t *session, const coap_pdu_t *sent)
{
	struct sim_node		*nd = coap_session_get_app_data(session);
	struct sim_ctl		*c;
	coap_bin_const_t	 tok;

	if (!nodesim.observe || nd == NULL || sent == NULL)
		return (0);
	c = &nd->ctl;
	tok = coap_pdu_get_token(sent);
	if (c->dl != NULL && session == c->dl) {
		if (c->dl_asked && tok.length == c->dl_toklen &&
		    memcmp(tok.s, c->dl_token, tok.length) == 0) {
			/* Ask for the same block again, at once. */
			c->dl_asked = 0;
			c->dl_next_ms = 0;
			if (++c->dl_timeouts > SIM_DL_TIMEOUTS_MAX)
				obs_dl_fail(nd, "no answer");
		}
		return (1);
	}
	if (tok.length != c->obs_toklen ||
	    memcmp(tok.s, c->obs_token, tok.length) != 0)
		return (0);
	c->obs_asked = 0;
	c->obs_next_ms = nodesim_now_ms() + SIM_OBS_NACK_MS;
	return (1);
}

/* Register (or renew) the node's settings observation. */
static void
obs_register(struct sim_node *nd, double now)
{
	struct sim_ctl	*c = &nd->ctl;
	coap_pdu_t	*pdu;
	uint8_t		 buf[4];

	c->obs_next_ms = now + SIM_OBS_NACK_MS;
	pdu = coap_pdu_init(COAP_MESSAGE_CON, COAP_REQUEST_CODE_GET,
	    coap_new_message_id(nd->session),
	    coap_session_max_pdu_size(nd->session));
	if (pdu == NULL)
		return;
	if (c->obs_toklen == 0)
		coap_session_new_token(nd->session, &c->obs_toklen,
		    c->obs_token);
	coap_add_token(pdu, c->obs_toklen, c->obs_token);
	coap_add_option(pdu, COAP_OPTION_OBSERVE, coap_encode_var_safe(buf,
	    sizeof buf, COAP_OBSERVE_ESTABLISH), buf);
	coap_add_option(pdu, COAP_OPTION_URI_PATH, 2, (const uint8_t *)"v1");
	coap_add_option(pdu, COAP_OPTION_URI_PATH, 1, (const uint8_t *)"n");
	coap_add_option(pdu, COAP_OPTION_URI_PATH, strlen(nd->id),
	    (const uint8_t *)nd->id);
	coap_add_option(pdu, COAP_OPTION_URI_PATH, 6,
	    (const uint8_t *)"config");
	if (coap_send(nd->session, pdu) == COAP_INVALID_MID)
		return;
	c->obs_asked = 1;
	/* Never answered and never nacked: try again after a while. */
	c->obs_next_ms = now + SIM_OBS_MAX_AGE * 1000;
}

/* Set up a node's control state. */
void
nodesim_obs_start(struct sim_node *nd)
{
	memset(&nd->ctl, 0, sizeof nd->ctl);
	nd->ctl.dl_fd = -1;
}

/*
 * Do what is due for a node at now: (re)register, ask for the next model
 * block, let a finished download's session go; lowers *wait to the next
 * thing due.
 */
void
nodesim_obs_tick(struct sim_node *nd, double now, double *wait)
{
	struct sim_ctl	*c = &nd->ctl;

	if (now >= c->obs_next_ms && !nodesim.stop)
		obs_register(nd, now);
	if (c->obs_next_ms - now < *wait)
		*wait = c->obs_next_ms - now;
	if (c->dl == NULL)
		return;
	if (c->dl_buf == NULL) {
		/* Released here, not in its own response handler. */
		coap_session_release(c->dl);
		c->dl = NULL;
		return;
	}
	if (!c->dl_asked && now >= c->dl_next_ms)
		obs_dl_ask(nd);
	if (!c->dl_asked && c->dl_next_ms - now < *wait)
		*wait = c->dl_next_ms - now;
}

/* The end of the run: downloads stop where they are. */
void
nodesim_obs_stop(struct sim_node *nd)
{
	struct sim_ctl	*c = &nd->ctl;

	obs_dl_end(nd);
	if (c->dl != NULL) {
		coap_session_release(c->dl);
		c->dl = NULL;
	}
}
