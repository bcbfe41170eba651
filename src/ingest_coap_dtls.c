/*
 * ingest_coap_dtls.c - DTLS-PSK for CoAP ingest: node keys, the handshake
 * callback, and the sessions those keys opened.
 *
 * psk_file has one "NODE_ID HEXKEY" line per node; the PSK identity is the
 * node id.  Keys are 16 to 64 bytes (a shorter key is a configuration
 * error, FILE:LINE).  An unknown identity fails the handshake; the line
 * saying so is rate-limited per peer address and quotes the identity
 * escaped, so a hostile peer can neither flood the journal nor forge lines.
 *
 * Sessions: libcoap tells us when a server session is made and freed
 * (COAP_EVENT_SERVER_SESSION_NEW/DEL) and when its handshake completes, so
 * the DTLS ones are tracked here.  On SIGHUP every session whose key was
 * removed or changed is closed; a request on such a session between the
 * reload and the close gets 4.01 (ingest_coap_req.c) and closes it too.
 * Handshakes that have verified their peer (the cookie exchange) but do not
 * finish are dropped oldest first once half of coap.max_handshakes are in
 * use, so a slow flood cannot hold every slot; libcoap itself keeps the
 * unverified one-packet hellos at most 30 s each, up to max_handshakes.
 * Closing is coap_session_disconnected(): the session loses its TLS state
 * and libcoap frees it at its next timer pass.  Ages are taken from the
 * loop's monotonic clock (uv_now), never the wall clock, which may step.
 *
 * Counts: libcoap makes a session at the first ClientHello, before the
 * cookie exchange; only sessions whose handshake finished are counted as
 * established (against coap.max_sessions), the rest as handshakes.
 */
#include <sys/stat.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <coap3/coap.h>

#include "config.h"
#include "daemon.h"
#include "ingest_coap_int.h"
#include "log.h"
#include "message.h"
#include "parse.h"
#include "xmalloc.h"

#define DTLS_KEY_MIN		16	/* key bytes */
#define DTLS_KEY_MAX		64
#define DTLS_STALE_MS		3000	/* a verified handshake this old ... */
					/* ... goes when slots run short */

/* One node's pre-shared key. */
struct dtls_key {
	char			node[MESSAGE_NODE_MAX + 1];
	uint8_t			key[DTLS_KEY_MAX];
	coap_bin_const_t	bin;
	int			line;
};

/* A DTLS server session libcoap made. */
struct dtls_session {
	coap_session_t	*s;
	uint64_t	 since_ms;
	int		 connected;	/* handshake done */
	int		 established;	/* it was done once (for counts) */
	int		 close;		/* disconnect after this I/O pass */
};

static struct {
	struct dtls_key		*keys;		/* sorted by node */
	size_t			 nkeys;
	char			*path;
	struct dtls_session	*sess;
	size_t			 nsess, szsess;
	size_t			 max_handshakes;
} dtls;

/* qsort/bsearch order of keys: by node id. */
static int
ingest_coap_dtls_cmp(const void *a, const void *b)
{
	return (strcmp(((const struct dtls_key *)a)->node,
	    ((const struct dtls_key *)b)->node));
}

/* Append "FILE:LINE: message" to a list of errors. */
static void
ingest_coap_dtls_error(char **errs, const char *path, int line, const char *msg)
{
	char	*all;

	xasprintf(&all, "%s%s%s:%d: %s", *errs ? *errs : "", *errs ? "\n" :
	    "", path, line, msg);
	free(*errs);
	*errs = all;
}

/* Parse one psk_file line into k; NULL or a message (static) on error. */
static const char *
ingest_coap_dtls_line(const char *buf, struct dtls_key *k, int *skip)
{
	char	node[128], hex[256], extra[2];
	size_t	klen;
	int	fields;

	*skip = 0;
	fields = sscanf(buf, " %127s %255s %1s", node, hex, extra);
	if (fields <= 0 || node[0] == '#') {
		*skip = 1;
		return (NULL);
	}
	if (fields != 2)
		return ("expected \"NODE_ID HEXKEY\"");
	if (!message_node_valid(node, strlen(node)))
		return ("bad node id (1 to 64 of [A-Za-z0-9_.-])");
	if (parse_hex(hex, k->key, DTLS_KEY_MAX, &klen) != 0 ||
	    klen < DTLS_KEY_MIN)
		return ("key must be 16 to 64 bytes (32 to 128 hex digits)");
	snprintf(k->node, sizeof k->node, "%s", node);
	k->bin.length = klen;
	return (NULL);
}

/*
 * Read psk_file.  Every bad line is reported as FILE:LINE in *cause (one
 * per line); -1 if any.
 */
static int
ingest_coap_dtls_load(const char *path, struct dtls_key **out, size_t *nout,
    char **cause)
{
	struct dtls_key	*keys = NULL, k;
	struct stat	 sb;
	FILE		*f;
	char		 buf[512], *errs = NULL;
	const char	*why;
	size_t		 n = 0, i;
	int		 line = 0, skip;

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
			ingest_coap_dtls_error(&errs, path, line,
			    "line too long");
			while (fgets(buf, sizeof buf, f) != NULL &&
			    strchr(buf, '\n') == NULL)
				;
			continue;
		}
		memset(&k, 0, sizeof k);
		if ((why = ingest_coap_dtls_line(buf, &k, &skip)) != NULL)
			ingest_coap_dtls_error(&errs, path, line, why);
		if (why != NULL || skip)
			continue;
		k.line = line;
		keys = xreallocarray(keys, n + 1, sizeof *keys);
		keys[n++] = k;
	}
	fclose(f);
	if (n > 0)
		qsort(keys, n, sizeof *keys, ingest_coap_dtls_cmp);
	for (i = 0; i < n; i++) {
		/* The bin pointers are set last: realloc and qsort move keys. */
		keys[i].bin.s = keys[i].key;
		if (i > 0 && strcmp(keys[i].node, keys[i - 1].node) == 0)
			ingest_coap_dtls_error(&errs, path, keys[i].line >
			    keys[i - 1].line ? keys[i].line : keys[i - 1].line,
			    "node listed twice");
	}
	if (errs != NULL) {
		free(keys);
		*cause = errs;
		return (-1);
	}
	*out = keys;
	*nout = n;
	return (0);
}

/* The key entry of a node, or NULL. */
static const struct dtls_key *
ingest_coap_dtls_find(const char *node, size_t len)
{
	struct dtls_key	k;

	if (dtls.nkeys == 0 || len > MESSAGE_NODE_MAX)
		return (NULL);
	memcpy(k.node, node, len);
	k.node[len] = '\0';
	return (bsearch(&k, dtls.keys, dtls.nkeys, sizeof *dtls.keys,
	    ingest_coap_dtls_cmp));
}

/* The current key of a node (NULL: none) and its length. */
const void *
ingest_coap_node_key(const char *node, size_t *len)
{
	const struct dtls_key	*k = ingest_coap_dtls_find(node, strlen(node));

	*len = k != NULL ? k->bin.length : 0;
	return (k != NULL ? k->key : NULL);
}

/* Does psk_file list this node (so it must use DTLS)? */
int
ingest_coap_node_has_key(const char *node)
{
	return (ingest_coap_dtls_find(node, strlen(node)) != NULL);
}

/* DTLS: the key for a PSK identity, or NULL to fail the handshake. */
static const coap_bin_const_t *
ingest_coap_dtls_psk_cb(coap_bin_const_t *identity, coap_session_t *session,
    void *arg)
{
	const struct dtls_key	*k;
	char			 src[64], esc[160];

	(void)arg;
	k = ingest_coap_dtls_find((const char *)identity->s, identity->length);
	if (k != NULL && message_node_valid((const char *)identity->s,
	    identity->length))
		return (&k->bin);
	ingest_coap_source(session, src, sizeof src);
	if (ingest_coap_log_ok(src))
		log_info("coap: DTLS handshake from %s refused: unknown "
		    "identity \"%s\"", src, log_escape(esc, sizeof esc,
		    identity->s, identity->length));
	return (NULL);
}

/* The tracked entry of a session, or NULL. */
static struct dtls_session *
ingest_coap_dtls_session(const coap_session_t *s)
{
	size_t	i;

	for (i = 0; i < dtls.nsess; i++)
		if (dtls.sess[i].s == s)
			return (&dtls.sess[i]);
	return (NULL);
}

/* A session event of a DTLS session: keep the table. */
void
ingest_coap_dtls_event(coap_session_t *s, coap_event_t ev)
{
	struct dtls_session	*t;

	t = ingest_coap_dtls_session(s);
	switch (ev) {
	case COAP_EVENT_SERVER_SESSION_NEW:
		if (t != NULL)
			break;
		if (dtls.nsess == dtls.szsess) {
			dtls.szsess = dtls.szsess ? dtls.szsess * 2 : 64;
			dtls.sess = xreallocarray(dtls.sess, dtls.szsess,
			    sizeof *dtls.sess);
		}
		t = &dtls.sess[dtls.nsess++];
		memset(t, 0, sizeof *t);
		t->s = s;
		t->since_ms = uv_now(daemon_loop());
		break;
	case COAP_EVENT_DTLS_CONNECTED:
		if (t != NULL)
			t->connected = t->established = 1;
		break;
	case COAP_EVENT_SERVER_SESSION_DEL:
		if (t != NULL)
			*t = dtls.sess[--dtls.nsess];
		break;
	default:
		break;
	}
}

/* Close a session after the current I/O pass (not inside its handler). */
void
ingest_coap_close_later(coap_session_t *s)
{
	struct dtls_session	*t = ingest_coap_dtls_session(s);

	if (t != NULL)
		t->close = 1;
}

/* Does this session's key differ from what psk_file says now? */
static int
ingest_coap_dtls_stale(coap_session_t *s)
{
	const coap_bin_const_t	*id = coap_session_get_psk_identity(s);
	const coap_bin_const_t	*key = coap_session_get_psk_key(s);
	const struct dtls_key	*k;

	if (id == NULL || key == NULL)
		return (0);
	k = ingest_coap_dtls_find((const char *)id->s, id->length);
	return (k == NULL || k->bin.length != key->length ||
	    memcmp(k->key, key->s, key->length) != 0);
}

/* Disconnect one tracked session (libcoap frees it later). */
static void
ingest_coap_dtls_disconnect(struct dtls_session *t, const char *why)
{
	char	src[64];

	ingest_coap_source(t->s, src, sizeof src);
	log_info("coap: closing the DTLS session of %s: %s", src, why);
	t->close = 0;
	t->connected = 0;
	t->since_ms = UINT64_MAX;	/* never picked as stale again */
	ingest_coap_obs_session(t->s);
	coap_session_disconnected(t->s, COAP_NACK_TLS_FAILED);
}

/*
 * After each I/O pass: close sessions marked for it, and when half of the
 * handshake slots are taken, drop verified handshakes older than
 * DTLS_STALE_MS, oldest first.
 */
void
ingest_coap_dtls_after_io(void)
{
	struct dtls_session	*t, *oldest;
	uint64_t		 now = uv_now(daemon_loop());
	size_t			 i, busy;

	for (i = 0; i < dtls.nsess; i++)
		if (dtls.sess[i].close)
			ingest_coap_dtls_disconnect(&dtls.sess[i],
			    "its key was removed or changed");
	for (;;) {
		busy = 0;
		oldest = NULL;
		for (i = 0; i < dtls.nsess; i++) {
			t = &dtls.sess[i];
			if (t->connected || t->since_ms == UINT64_MAX)
				continue;
			busy++;
			if (coap_session_get_type(t->s) ==
			    COAP_SESSION_TYPE_SERVER &&
			    coap_session_get_state(t->s) ==
			    COAP_SESSION_STATE_HANDSHAKE &&
			    now - t->since_ms >= DTLS_STALE_MS &&
			    (oldest == NULL || t->since_ms < oldest->since_ms))
				oldest = t;
		}
		if (busy < dtls.max_handshakes / 2 || oldest == NULL)
			break;
		ingest_coap_dtls_disconnect(oldest, "handshake not finished");
	}
}

/* Set up DTLS-PSK on the context: keys, callback, limits, events. */
int
ingest_coap_dtls_setup(coap_context_t *ctx, const struct config *cf,
    char **cause)
{
	coap_dtls_spsk_t	spsk;

	if (!coap_dtls_is_supported()) {
		xasprintf(cause, "coap: this libcoap has no DTLS");
		return (-1);
	}
	dtls.path = xstrdup(config_str(cf, "coap", "psk_file"));
	if (ingest_coap_dtls_load(dtls.path, &dtls.keys, &dtls.nkeys,
	    cause) != 0)
		return (-1);
	log_info("coap: %zu node keys from %s", dtls.nkeys, dtls.path);
	if (!config_bool(cf, "coap", "require_dtls"))
		log_warnx("coap: dtls_listen is set but require_dtls is "
		    "false: nodes without a key may post over plain UDP");
	memset(&spsk, 0, sizeof spsk);
	spsk.version = COAP_DTLS_SPSK_SETUP_VERSION;
	spsk.validate_id_call_back = ingest_coap_dtls_psk_cb;
	if (!coap_context_set_psk2(ctx, &spsk)) {
		xasprintf(cause, "coap: cannot set up DTLS-PSK");
		return (-1);
	}
	dtls.max_handshakes = (size_t)config_int(cf, "coap", "max_handshakes");
	coap_context_set_max_handshake_sessions(ctx,
	    (unsigned)dtls.max_handshakes);
	return (0);
}

/* SIGHUP: reload the keys (a bad file keeps the old ones); close stale. */
void
ingest_coap_dtls_reload(void)
{
	struct dtls_key	*keys;
	size_t		 n, i;
	char		*cause = NULL;

	if (dtls.path == NULL)
		return;
	if (ingest_coap_dtls_load(dtls.path, &keys, &n, &cause) != 0) {
		log_error_lines(cause);
		log_warnx("coap: psk_file rejected, keeping %zu keys",
		    dtls.nkeys);
		free(cause);
		return;
	}
	free(dtls.keys);
	dtls.keys = keys;
	dtls.nkeys = n;
	log_info("coap: %zu node keys from %s", dtls.nkeys, dtls.path);
	for (i = 0; i < dtls.nsess; i++)
		if (dtls.sess[i].connected &&
		    ingest_coap_dtls_stale(dtls.sess[i].s))
			ingest_coap_dtls_disconnect(&dtls.sess[i],
			    "its key was removed or changed");
}

/*
 * Sessions whose handshake finished (until libcoap frees them), and those
 * still handshaking: hellos and verified handshakes not yet done.
 */
void
ingest_coap_dtls_counts(size_t *established, size_t *handshakes)
{
	size_t	i;

	*established = *handshakes = 0;
	for (i = 0; i < dtls.nsess; i++) {
		*established += dtls.sess[i].established;
		*handshakes += !dtls.sess[i].established;
	}
}

/* Free the keys and the table (the context is gone). */
void
ingest_coap_dtls_free(void)
{
	free(dtls.keys);
	free(dtls.path);
	free(dtls.sess);
	memset(&dtls, 0, sizeof dtls);
}
