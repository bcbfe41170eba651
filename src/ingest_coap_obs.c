/*
 * ingest_coap_obs.c - observers: the server side of RFC 7641 for
 * GET /v1/n/{node}/config (node settings, OBS_CONFIG, keyed by node) and
 * GET /v1/fl/{NAME} (federated rounds, OBS_FL, keyed by name).
 *
 * libcoap 4.3.1 cannot observe the "unknown resource" that serves every
 * node path, and a resource made per node at its first request would miss
 * that very request; so registrations are kept here.  A GET with Observe 0
 * registers (session, token) for a node, Observe 1 or a new registration
 * with the same token on the same session replaces or cancels it.  When
 * control.h says a node's settings changed, each of its observers gets a
 * confirmable 2.05 with the request's token, a new Observe number (24 bits,
 * one counter for all, so it grows for every observer), the ETag and the
 * document (ingest_coap_config_pdu).
 *
 * Each observer holds a reference on its libcoap session.  libcoap never
 * frees a referenced server session: neither the idle-session culling of
 * coap.max_sessions nor the session timeout touch it (they take only
 * sessions whose reference count is 0), so an observer never points to a
 * freed session.  The reference goes when the observer goes: cancelled,
 * replaced, its notification reset (RST) or never acknowledged through all
 * retransmissions (the nack handler), its session closed (DTLS close or
 * error, a key removed by a reload, found each second by
 * ingest_coap_obs_check too), its node forgotten, or CoAP stopping.
 *
 * Bounds: OBS_MAX observers in all and OBS_PER_NODE per node (of
 * settings) or per session and name (of a round, which has no node in its
 * path: any number of nodes observe one round).  A round's GET admits no
 * node, so its observers have bounds of their own, OBS_FL_MAX in all and
 * OBS_FL_PER_SOURCE per IP address: new source ports cannot crowd out the
 * nodes observing their settings.  The oldest registration
 * goes for the newest (a node that moved to a new port leaves one
 * behind); a registration past OBS_MAX is answered without an
 * Observe option, which tells the node it is not registered (RFC 7641 4.1),
 * rather than pushing out another node's.  Notifications wait in
 * libcoap's queue only while a node does not acknowledge them; they grow
 * with the changes of that node's settings, made by the operator, not by
 * the node.
 */
#include <sys/queue.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <coap3/coap.h>

#include "config.h"
#include "control.h"
#include "daemon.h"
#include "fed.h"
#include "ingest_coap_int.h"
#include "log.h"
#include "nodes.h"
#include "xmalloc.h"

#define OBS_TOKEN_MAX	8

/* One registration: who to notify, about which node or round. */
struct observer {
	coap_session_t		*session;	/* referenced */
	enum obs_kind		 kind;
	char			 node[MODELS_NAME_MAX + 1];	/* or name */
	uint8_t			 token[OBS_TOKEN_MAX];
	size_t			 toklen;
	char			 source[64];	/* address, no port */
	const char		*gone;		/* why, freed after the loop */
	TAILQ_ENTRY(observer)	 entry;
};
TAILQ_HEAD(observers, observer);

static struct {
	struct observers	list;		/* oldest registration first */
	size_t			n;
	size_t			nfl;		/* of them OBS_FL */
	uint32_t		seq;		/* the last Observe number */
	uint64_t		refused;
	int			notifying;	/* in ingest_coap_obs_changed */
} obs = { TAILQ_HEAD_INITIALIZER(obs.list), 0, 0, 0, 0, 0 };

/* The observer of this session and token, or NULL. */
static struct observer *
ingest_coap_obs_find(const coap_session_t *session, coap_bin_const_t tok)
{
	struct observer	*o;

	TAILQ_FOREACH(o, &obs.list, entry) {
		if (o->session == session && o->toklen == tok.length &&
		    memcmp(o->token, tok.s, tok.length) == 0)
			return (o);
	}
	return (NULL);
}

/* Forget an observer and let its session go. */
static void
ingest_coap_obs_free(struct observer *o, const char *why)
{
	if (o->kind == OBS_FL)
		log_debug("coap: an observer of round %s goes: %s", o->node,
		    why);
	else
		log_debug("coap: %s no longer observes its settings: %s",
		    o->node, why);
	TAILQ_REMOVE(&obs.list, o, entry);
	obs.n--;
	if (o->kind == OBS_FL)
		obs.nfl--;
	coap_session_release(o->session);
	free(o);
}

/*
 * An observer goes because of libcoap (nack, session closed).  While
 * notifications are being sent, libcoap may call back from coap_send():
 * the observer is then only marked, and freed after the loop that holds a
 * pointer to it.
 */
static void
ingest_coap_obs_drop(struct observer *o, const char *why)
{
	if (obs.notifying)
		o->gone = why;
	else
		ingest_coap_obs_free(o, why);
}

/* The next Observe number: 24 bits, growing (RFC 7641 3.4, 4.4). */
uint32_t
ingest_coap_obs_next(void)
{
	obs.seq = (obs.seq + 1) & 0xffffff;
	return (obs.seq);
}

/* Does o count against the bound of a new (session, kind, key)? */
static int
ingest_coap_obs_same(const struct observer *o, const coap_session_t *session,
    enum obs_kind kind, const char *key)
{
	if (o->kind != kind || strcmp(o->node, key) != 0)
		return (0);
	return (kind == OBS_CONFIG || o->session == session);
}

/* Is there room for one more round observer from session's address? */
static int
ingest_coap_obs_fl_room(const coap_session_t *session)
{
	struct observer	*o;
	char		 src[64];
	size_t		 same = 0;

	if (obs.nfl >= OBS_FL_MAX)
		return (0);
	ingest_coap_source(session, src, sizeof src);
	TAILQ_FOREACH(o, &obs.list, entry) {
		if (o->kind == OBS_FL && strcmp(o->source, src) == 0 &&
		    ++same >= OBS_FL_PER_SOURCE)
			return (0);
	}
	return (1);
}

/*
 * Register the token of a GET with Observe 0 for a node's settings or a
 * round (kind, key).  Returns 1 when registered (the answer carries
 * Observe), 0 when the bounds refused it.
 */
int
ingest_coap_obs_register(coap_session_t *session, const coap_pdu_t *request,
    enum obs_kind kind, const char *node)
{
	coap_bin_const_t	 tok = coap_pdu_get_token(request);
	struct observer		*o, *oldest = NULL;
	size_t			 mine = 0;

	if (tok.length > OBS_TOKEN_MAX)
		return (0);
	if ((o = ingest_coap_obs_find(session, tok)) != NULL)
		ingest_coap_obs_free(o, "registered again");
	TAILQ_FOREACH(o, &obs.list, entry) {
		if (!ingest_coap_obs_same(o, session, kind, node))
			continue;
		if (oldest == NULL)
			oldest = o;
		mine++;
	}
	if (mine >= OBS_PER_NODE)
		ingest_coap_obs_free(oldest, "a newer registration took its "
		    "place");
	if (obs.n >= OBS_MAX || (kind == OBS_FL &&
	    !ingest_coap_obs_fl_room(session))) {
		obs.refused++;
		if (ingest_coap_log_ok("observers"))
			log_info("coap: %zu observers: a registration of %s is "
			    "answered without Observe (%llu so far)", obs.n,
			    node, (unsigned long long)obs.refused);
		return (0);
	}
	o = xcalloc(1, sizeof *o);
	o->session = coap_session_reference(session);
	o->kind = kind;
	snprintf(o->node, sizeof o->node, "%s", node);
	memcpy(o->token, tok.s, tok.length);
	o->toklen = tok.length;
	ingest_coap_source(session, o->source, sizeof o->source);
	TAILQ_INSERT_TAIL(&obs.list, o, entry);
	obs.n++;
	if (kind == OBS_FL)
		obs.nfl++;
	if (kind == OBS_FL)
		log_debug("coap: round %s has a new observer (%zu observers)",
		    node, obs.n);
	else
		log_debug("coap: %s observes its settings (%zu observers)",
		    node, obs.n);
	return (1);
}

/* A GET with Observe 1: cancel its token's registration, if any. */
void
ingest_coap_obs_cancel(coap_session_t *session, const coap_pdu_t *request)
{
	struct observer	*o;

	if ((o = ingest_coap_obs_find(session, coap_pdu_get_token(
	    request))) != NULL)
		ingest_coap_obs_free(o, "cancelled");
}

/*
 * Send one notification to o: settings body (rev), or its round's document
 * (body NULL); -1 if it could not go.
 */
static int
ingest_coap_obs_send(struct observer *o, const char *body, uint32_t rev)
{
	int		 rc;
	coap_pdu_t	*pdu;

	if (coap_session_get_state(o->session) !=
	    COAP_SESSION_STATE_ESTABLISHED)
		return (-1);
	pdu = coap_pdu_init(COAP_MESSAGE_CON, COAP_RESPONSE_CODE_CONTENT,
	    coap_new_message_id(o->session),
	    coap_session_max_pdu_size(o->session));
	if (pdu == NULL)
		return (-1);
	coap_add_token(pdu, o->toklen, o->token);
	if (o->kind == OBS_FL)
		rc = ingest_coap_fl_pdu(pdu, o->session, NULL, o->node,
		    ingest_coap_obs_next());
	else
		rc = ingest_coap_config_pdu(pdu, o->session, NULL, body, rev,
		    ingest_coap_obs_next());
	if (rc != 0) {
		coap_delete_pdu(pdu);
		return (-1);
	}
	if (coap_send(o->session, pdu) == COAP_INVALID_MID)
		return (-1);
	return (0);
}

/*
 * Send the observers of one kind and key (a node's settings, a round's
 * name) the newest document; returns how many were sent.  The settings
 * are read once, for the first observer: control_settings() may itself
 * find a change and call back into ingest_coap_obs_changed(), and that
 * inner call is skipped (it would free observers under the loop below);
 * the document the outer call gets is the newest anyway.  Observers that
 * must go are marked during the pass and freed after it.
 */
static int
ingest_coap_obs_notify(enum obs_kind kind, const char *key, uint32_t rev)
{
	struct observer	*o, *next;
	char		*body = NULL;
	int		 sent = 0;

	obs.notifying = 1;
	for (o = TAILQ_FIRST(&obs.list); o != NULL; o = next) {
		next = TAILQ_NEXT(o, entry);
		if (o->gone != NULL || o->kind != kind ||
		    strcmp(o->node, key) != 0)
			continue;
		/* The rules of a GET, again: a reload may have changed them. */
		if (coap_session_get_proto(o->session) != COAP_PROTO_DTLS &&
		    (config_bool(daemon_config(), "coap", "require_dtls") ||
		    (kind == OBS_CONFIG && ingest_coap_node_has_key(key)))) {
			o->gone = "DTLS now required";
			continue;
		}
		/*
		 * NULL: a node the registry forgot (its observers go), or a
		 * rev the store could not keep (they stay for the next one).
		 */
		if (kind == OBS_CONFIG && body == NULL &&
		    (body = control_settings(key, &rev)) == NULL) {
			if (!nodes_known(key))
				o->gone = "node forgotten";
			continue;
		}
		if (ingest_coap_obs_send(o, body, rev) == 0)
			sent++;
		else if (kind == OBS_CONFIG)
			o->gone = "its session is closed";
		else
			o->gone = "its session is closed or the round is gone";
	}
	obs.notifying = 0;
	free(body);
	for (o = TAILQ_FIRST(&obs.list); o != NULL; o = next) {
		next = TAILQ_NEXT(o, entry);
		if (o->gone != NULL)
			ingest_coap_obs_free(o, o->gone);
	}
	/* libcoap's retransmission timer must see the new CONs. */
	if (sent > 0)
		ingest_coap_rearm();
	return (sent);
}

/*
 * control.h: a node's settings changed.  Notify its observers now (SPEC
 * 9.1: within 1 s); a node control no longer knows loses its observers.
 */
static void
ingest_coap_obs_changed(const char *node, uint32_t rev)
{
	int	sent;

	if (obs.notifying)
		return;
	if ((sent = ingest_coap_obs_notify(OBS_CONFIG, node, rev)) > 0)
		log_debug("coap: %s settings: %d notifications", node, sent);
}

/*
 * fed.h: a round's document changed (a new round, a new deadline): notify
 * its observers; those of a name no longer federated go.
 */
static void
ingest_coap_obs_fl_changed(const char *name)
{
	int	sent;

	if (obs.notifying)
		return;
	if ((sent = ingest_coap_obs_notify(OBS_FL, name, 0)) > 0)
		log_debug("coap: round of %s: %d notifications", name, sent);
}

/*
 * libcoap gave up on a confirmable message (nack handler): if it was a
 * notification, its observer goes.  Not on an ICMP error: libcoap keeps
 * retransmitting, and gives up later if the node is really gone.
 */
void
ingest_coap_obs_nack(coap_session_t *session, const coap_pdu_t *sent,
    coap_nack_reason_t reason)
{
	struct observer	*o;

	if (sent == NULL || reason == COAP_NACK_ICMP_ISSUE ||
	    COAP_RESPONSE_CLASS(coap_pdu_get_code(sent)) != 2)
		return;
	if ((o = ingest_coap_obs_find(session, coap_pdu_get_token(
	    sent))) != NULL)
		ingest_coap_obs_drop(o, reason == COAP_NACK_RST ?
		    "it reset a notification" : "a notification was not "
		    "acknowledged");
}

/* A session is closed or goes: so do its observers. */
void
ingest_coap_obs_session(const coap_session_t *session)
{
	struct observer	*o, *next;

	for (o = TAILQ_FIRST(&obs.list); o != NULL; o = next) {
		next = TAILQ_NEXT(o, entry);
		if (o->session == session)
			ingest_coap_obs_drop(o, "its session is closed");
	}
}

/* Each second: observers of sessions no longer established go. */
void
ingest_coap_obs_check(void)
{
	struct observer	*o, *next;

	for (o = TAILQ_FIRST(&obs.list); o != NULL; o = next) {
		next = TAILQ_NEXT(o, entry);
		if (coap_session_get_state(o->session) !=
		    COAP_SESSION_STATE_ESTABLISHED)
			ingest_coap_obs_free(o, "its session is closed");
	}
}

/* Observers now, for the status line. */
size_t
ingest_coap_obs_count(void)
{
	return (obs.n);
}

/* CoAP starts: be told of changes of settings. */
void
ingest_coap_obs_start(void)
{
	control_set_notify(ingest_coap_obs_changed);
	fed_set_notify(ingest_coap_obs_fl_changed);
}

/*
 * CoAP stops: every observer goes, before libcoap frees its sessions (it
 * asserts that nobody holds them).
 */
void
ingest_coap_obs_clear(void)
{
	struct observer	*o;

	control_set_notify(NULL);
	fed_set_notify(NULL);
	while ((o = TAILQ_FIRST(&obs.list)) != NULL)
		ingest_coap_obs_free(o, "CoAP stops");
	obs.seq = 0;
	obs.refused = 0;
}
