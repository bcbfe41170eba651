/*
 * nodes.c - the registry of nodes and what their P/nodes/{node}/status says.
 *
 * A node is "online" from its first accepted message until node_timeout
 * passes without one.  Each change (appears, comes back, heartbeat fields
 * change, times out) puts the node in the "changed" set; the registry
 * publishes nothing itself.  The monitor (monitor.c) empties the set at the
 * end of the loop turn with nodes_flush_changed(), sending each status
 * retained and directly (current state, not queued in the outbox), and
 * after a reconnect sends the whole registry with nodes_flush_all().
 * last_seen alone changing is no change (that would be one publish per
 * message).  So ingest, which calls nodes_seen(), reaches no further.
 *
 * A node's status carries the fields of its LAST heartbeat only: a
 * heartbeat replaces the previous one's fields, so a node cannot grow its
 * status by sending new keys (message.c caps one heartbeat's fields and
 * bytes).  Every step is linear in the heartbeat's size.
 *
 * The registry is bounded because node ids cost the peer nothing to make
 * up (findings 1 and 5 of the hostile-nodes issue):
 *  - at most gateway.max_nodes are known; a new one in a full registry
 *    makes the node offline the longest be forgotten, and its retained
 *    status cleared (an empty retained publish: the forgotten node waits in
 *    a bounded list until the monitor's next flush, or the next connect
 *    while the uplink is down).  When every known node is online the new
 *    id is refused instead: a flood of made-up ids must not push real
 *    nodes out.
 *  - each unauthenticated source (a peer address, a serial link) may
 *    introduce gateway.new_nodes_per_minute new ids, a token bucket with a
 *    burst of as many; the table of sources is bounded too.  A DTLS
 *    identity is proven, so it is not limited.
 * Known nodes are always admitted: the limits only apply to new ids.
 *
 * Nodes sit on two lists: online ones in order of last_seen (so timing
 * out looks only at the head) and offline ones in the order they went
 * offline (so the head is the one to forget).  Both are O(1) per message.
 *
 * The registry is in memory only: after a restart a node is unknown until
 * it speaks again (its retained status at the broker still says what it
 * last was).
 */
#include <sys/queue.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "config.h"
#include "control.h"
#include "daemon.h"
#include "log.h"
#include "message.h"
#include "metrics.h"
#include "nodes.h"
#include "xmalloc.h"

#define NODES_BUCKETS		4096
#define NODES_CLEARS_MAX	4096	/* clears waiting to be sent */
#define NODES_LOG_EVERY_MS	10000	/* refusals logged this often */

/* Where a node is: which list its "entry" is on. */
enum node_where {
	NODE_ONLINE,		/* registry.online_q, by last_seen */
	NODE_OFFLINE,		/* registry.offline_q, by time gone offline */
	NODE_CLEARING,		/* forgotten, clear not sent: registry.clears */
};

/* One known (or forgotten, clear pending) node. */
struct node {
	char			*id;
	uint64_t		 last_seen;
	enum node_where		 where;
	int			 fresh;	/* admitted, not published */
	int			 changed;	/* on nd.changed_q */
	int			 pending;	/* config_rev behind control's */
	cJSON			*fields;	/* last heartbeat's */
	char			*fields_text;	/* the same, compact */
	LIST_ENTRY(node)	 chain;		/* hash chain */
	TAILQ_ENTRY(node)	 entry;	/* on the list "where" says */
	TAILQ_ENTRY(node)	 changed_entry;	/* status to send */
};
TAILQ_HEAD(node_q, node);

static struct {
	LIST_HEAD(, node)	 buckets[NODES_BUCKETS];
	struct node_q		 online_q, offline_q, clears;
	struct node_q		 changed_q;	/* by changed_entry */
	uint64_t		 known, online, nclears;
	uint64_t		 timeout_ms;
	uint64_t		 max_nodes;
	int			 started;
	struct nodes_stats	 st;
	uint64_t		 log_ms, log_skipped;
} registry;

/*
 * Where the gateway's rev of a node comes from: control.c, unless a test
 * puts its own (a definition of control_rev in a test program would clash
 * with control.o, which the daemon's modules pull from the archive).
 */
static nodes_rev_cb	nodes_rev = control_rev;

/* FNV-1a hash of a node id. */
static unsigned
nodes_hash(const char *s)
{
	uint32_t	h = 2166136261u;

	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return (h % NODES_BUCKETS);
}

/* The node with this id (known or clearing), or NULL. */
static struct node *
nodes_find(const char *id)
{
	struct node	*n;

	LIST_FOREACH(n, &registry.buckets[nodes_hash(id)], chain)
		if (strcmp(n->id, id) == 0)
			return (n);
	return (NULL);
}

/* The list a node is on. */
static struct node_q *
nodes_queue(const struct node *n)
{
	switch (n->where) {
	case NODE_ONLINE:
		return (&registry.online_q);
	case NODE_OFFLINE:
		return (&registry.offline_q);
	case NODE_CLEARING:
		break;
	}
	return (&registry.clears);
}

/* Move a node to the tail of another list, keeping the counts. */
static void
nodes_move(struct node *n, enum node_where where)
{
	TAILQ_REMOVE(nodes_queue(n), n, entry);
	if (n->where == NODE_ONLINE)
		registry.online--;
	else if (n->where == NODE_CLEARING)
		registry.nclears--;
	n->where = where;
	TAILQ_INSERT_TAIL(nodes_queue(n), n, entry);
	if (where == NODE_ONLINE)
		registry.online++;
	else if (where == NODE_CLEARING)
		registry.nclears++;
}

/* Free a node that is on no list and no chain. */
static void
nodes_free(struct node *n)
{
	cJSON_Delete(n->fields);
	free(n->fields_text);
	free(n->id);
	free(n);
}

/* Take a node out of the changed set, if it is there. */
static void
nodes_unmark(struct node *n)
{
	if (n->changed) {
		TAILQ_REMOVE(&registry.changed_q, n, changed_entry);
		n->changed = 0;
	}
}

/* Drop a node altogether: off its lists and chain, freed. */
static void
nodes_drop(struct node *n)
{
	nodes_unmark(n);
	TAILQ_REMOVE(nodes_queue(n), n, entry);
	if (n->where == NODE_ONLINE)
		registry.online--;
	if (n->where == NODE_CLEARING)
		registry.nclears--;
	else
		registry.known--;
	LIST_REMOVE(n, chain);
	nodes_free(n);
}

/* A node's status body (caller frees with cJSON_free). */
static char *
nodes_status_text(const struct node *n)
{
	cJSON	*o, *f;
	char	 id[48], *text;

	metrics_new_id(id, sizeof id);
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "id", id);
	cJSON_AddStringToObject(o, "state", n->where == NODE_ONLINE ?
	    "online" : "offline");
	cJSON_AddNumberToObject(o, "last_seen", (double)n->last_seen);
	if (n->pending)
		cJSON_AddTrueToObject(o, "config_pending");
	/* The fields hold no duplicates nor our own names (nodes_fields). */
	if (n->fields != NULL) {
		cJSON_ArrayForEach(f, n->fields)
			cJSON_AddItemToObject(o, f->string,
			    cJSON_Duplicate(f, 1));
	}
	text = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	return (text);
}

/* A node's status is to be sent: into the changed set (once). */
static void
nodes_mark(struct node *n)
{
	if (n->fresh || n->changed)
		return;
	n->changed = 1;
	TAILQ_INSERT_TAIL(&registry.changed_q, n, changed_entry);
}

/* The status a known node would publish now, or NULL (caller frees). */
char *
nodes_status(const char *id)
{
	struct node	*n = nodes_find(id);
	char		*text, *copy;

	if (n == NULL || n->where == NODE_CLEARING)
		return (NULL);
	if ((text = nodes_status_text(n)) == NULL)
		return (NULL);
	copy = xstrdup(text);
	cJSON_free(text);
	return (copy);
}

/*
 * Forget a node to make room: its status is cleared by the monitor's
 * next flush from nd.clears (nodes_clears_bound() keeps that list
 * bounded).  One never published needs no clear.
 */
static void
nodes_forget(struct node *n)
{
	registry.st.forgotten++;
	log_info("nodes: %s forgotten (registry full, offline the longest)",
	    n->id);
	if (n->fresh) {
		nodes_drop(n);
		return;
	}
	/* A status not sent yet is superseded by the clear. */
	nodes_unmark(n);
	registry.known--;
	cJSON_Delete(n->fields);
	free(n->fields_text);
	n->fields = NULL;
	n->pending = 0;
	n->fields_text = NULL;
	nodes_move(n, NODE_CLEARING);
}

/*
 * Too many clears waiting: give up the oldest (its status then stays at
 * the broker).  Called once a forget is done, never while a clearing node
 * is being brought back.
 */
static void
nodes_clears_bound(void)
{
	struct node	*old;

	while (registry.nclears > NODES_CLEARS_MAX) {
		old = TAILQ_FIRST(&registry.clears);
		registry.st.clears_lost++;
		log_warnx("nodes: too many status clears waiting for the "
		    "uplink; %s keeps its retained status", old->id);
		nodes_drop(old);
	}
}

/*
 * The node that may be forgotten to make room: the one offline the longest,
 * else an "online" one whose timeout passed but was not noticed yet.
 */
static struct node *
nodes_victim(uint64_t now)
{
	struct node	*n;

	if ((n = TAILQ_FIRST(&registry.offline_q)) != NULL)
		return (n);
	n = TAILQ_FIRST(&registry.online_q);
	if (n != NULL && now >= n->last_seen &&
	    now - n->last_seen >= registry.timeout_ms)
		return (n);
	return (NULL);
}

/* Forget offline nodes while the registry holds more than max_nodes. */
static void
nodes_trim(void)
{
	while (registry.known > registry.max_nodes &&
	    !TAILQ_EMPTY(&registry.offline_q))
		nodes_forget(TAILQ_FIRST(&registry.offline_q));
	nodes_clears_bound();
}

/*
 * Make a node for a new id (n: its forgotten entry still clearing, or
 * NULL), forgetting another if the registry is full.  NULL if every known
 * node is online.
 */
static struct node *
nodes_add(const char *id, struct node *n, uint64_t now)
{
	struct node	*victim;

	if (registry.known >= registry.max_nodes) {
		if ((victim = nodes_victim(now)) == NULL)
			return (NULL);
		nodes_forget(victim);
	}
	if (n != NULL) {
		/* Coming back before its clear went: no clear needed. */
		nodes_move(n, NODE_ONLINE);
	} else {
		n = xcalloc(1, sizeof *n);
		n->id = xstrdup(id);
		LIST_INSERT_HEAD(&registry.buckets[nodes_hash(id)], n, chain);
		n->where = NODE_ONLINE;
		TAILQ_INSERT_TAIL(&registry.online_q, n, entry);
		registry.online++;
	}
	n->fresh = 1;
	n->last_seen = now;
	registry.known++;
	nodes_clears_bound();
	return (n);
}

/* Log a refused new id, at most once per NODES_LOG_EVERY_MS. */
static void
nodes_log_refusal(const char *id, const char *source, const char *why,
    uint64_t now)
{
	char	eid[4 * MESSAGE_NODE_MAX + 1], esrc[4 * 64 + 1];

	if (registry.log_ms != 0 && now >= registry.log_ms &&
	    now - registry.log_ms < NODES_LOG_EVERY_MS) {
		registry.log_skipped++;
		return;
	}
	log_escape(eid, sizeof eid, id, strnlen(id, MESSAGE_NODE_MAX));
	log_escape(esrc, sizeof esrc, source, strnlen(source, 64));
	log_warnx("nodes: new node \"%s\" from %s refused: %s (%" PRIu64
	    " more refused since the last report)", eid, esrc, why,
	    registry.log_skipped);
	registry.log_ms = now;
	registry.log_skipped = 0;
}

/*
 * May a message of node id from source be taken in?  A known node always
 * may; a new id must pass the source's rate and find room, and is then
 * known (not yet in the changed set: nodes_seen puts it there once it is
 * stored).
 */
enum nodes_admit
nodes_admit(const char *id, const char *source, int authenticated, uint64_t now)
{
	struct node	*n = nodes_find(id);
	int		 limited;

	if (n != NULL && n->where != NODE_CLEARING)
		return (NODES_ADMIT_OK);
	if (source == NULL)
		source = "?";
	limited = !authenticated && nodes_rate_enabled();
	if (limited && !nodes_rate_check(source, now)) {
		registry.st.refused_rate++;
		nodes_log_refusal(id, source, "too many new node ids from this "
		    "source (gateway.new_nodes_per_minute)", now);
		return (NODES_ADMIT_RATE);
	}
	if (nodes_add(id, n, now) == NULL) {
		registry.st.refused_full++;
		nodes_log_refusal(id, source, "every known node is online "
		    "(gateway.max_nodes)", now);
		return (NODES_ADMIT_FULL);
	}
	if (limited)
		nodes_rate_take(source, now);
	return (NODES_ADMIT_OK);
}

/* A heartbeat member and its position, for finding repeated names. */
struct nodes_member {
	const cJSON	*f;
	size_t		 pos;
};

/* Order members by name, then by position. */
static int
nodes_member_cmp(const void *a, const void *b)
{
	const struct nodes_member	*ma = a, *mb = b;
	int				 c;

	if ((c = strcmp(ma->f->string, mb->f->string)) != 0)
		return (c);
	return (ma->pos < mb->pos ? -1 : ma->pos > mb->pos);
}

/* Is this heartbeat member not part of the status? */
static int
nodes_field_skipped(const cJSON *f)
{
	static const char *const skip[] = {
		"seq", "ts",		/* change with every message */
		"id", "state", "last_seen",	/* the status' own */
		"config_pending",
	};
	size_t	i;

	if (f->string == NULL)
		return (1);
	for (i = 0; i < sizeof skip / sizeof skip[0]; i++)
		if (strcmp(f->string, skip[i]) == 0)
			return (1);
	return (0);
}

/*
 * The status fields of a heartbeat: its members but ours and seq/ts, each
 * name once (the first, as cJSON lookups do), in the heartbeat's order.
 * Repeats are found by sorting, not pairwise lookups: O(F log F).
 */
static cJSON *
nodes_fields(const cJSON *hb)
{
	struct nodes_member	*v;
	unsigned char		*keep;
	cJSON			*out, *f;
	size_t			 n = 0, m = 0, i;

	out = cJSON_CreateObject();
	cJSON_ArrayForEach(f, hb)
		n++;
	if (n == 0)
		return (out);
	v = xcalloc(n, sizeof *v);
	keep = xcalloc(n, 1);
	i = 0;
	cJSON_ArrayForEach(f, hb) {
		if (!nodes_field_skipped(f)) {
			v[m].f = f;
			v[m++].pos = i;
		}
		i++;
	}
	qsort(v, m, sizeof *v, nodes_member_cmp);
	for (i = 0; i < m; i++)
		if (i == 0 || strcmp(v[i].f->string, v[i - 1].f->string) != 0)
			keep[v[i].pos] = 1;
	i = 0;
	cJSON_ArrayForEach(f, hb) {
		if (keep[i++])
			cJSON_AddItemToObject(out, f->string,
			    cJSON_Duplicate(f, 1));
	}
	free(keep);
	free(v);
	return (out);
}

/* A heartbeat replaces the node's fields; non-zero if they changed. */
static int
nodes_replace(struct node *n, const cJSON *hb)
{
	cJSON	*fields;
	char	*text;

	if (hb == NULL || !cJSON_IsObject(hb))
		return (0);
	fields = nodes_fields(hb);
	/* Compared as compact text: linear, unlike cJSON_Compare. */
	text = cJSON_PrintUnformatted(fields);
	if (text == NULL) {
		cJSON_Delete(fields);
		return (0);
	}
	if (n->fields_text != NULL && strcmp(n->fields_text, text) == 0) {
		cJSON_Delete(fields);
		cJSON_free(text);
		return (0);
	}
	cJSON_Delete(n->fields);
	free(n->fields_text);
	n->fields = fields;
	n->fields_text = xstrdup(text);
	cJSON_free(text);
	return (1);
}

/*
 * Is the node behind its settings (SPEC 9.1 config_pending)?  Only a node
 * that reports a numeric config_rev can be, and only once control holds
 * a record for it (rev 0: none).
 */
static int
nodes_pending(const struct node *n)
{
	const cJSON	*cr;
	uint32_t	 rev;

	if (n->fields == NULL)
		return (0);
	cr = cJSON_GetObjectItemCaseSensitive(n->fields, "config_rev");
	if (!cJSON_IsNumber(cr))
		return (0);
	if ((rev = nodes_rev(n->id)) == 0)
		return (0);
	return (cr->valuedouble < (double)rev);
}

/* Recompute config_pending; non-zero if it changed. */
static int
nodes_repending(struct node *n)
{
	int	pending = nodes_pending(n);

	if (pending == n->pending)
		return (0);
	n->pending = pending;
	return (1);
}

/* Take the gateway's revs from cb (NULL: control_rev again). */
void
nodes_set_rev(nodes_rev_cb cb)
{
	nodes_rev = cb != NULL ? cb : control_rev;
}

/*
 * control.c: the settings of node id changed (its rev grew).  Its status
 * is sent again if that starts or ends config_pending.
 */
void
nodes_settings_changed(const char *id)
{
	struct node	*n = nodes_find(id);

	if (n == NULL || n->where == NODE_CLEARING)
		return;
	if (nodes_repending(n))
		nodes_mark(n);
}

/*
 * A message from node arrived at now (ms); hb: heartbeat fields or NULL.
 * The node was admitted by nodes_admit(); one that was not (or was
 * forgotten since) is added here if there is room, else not tracked.
 */
void
nodes_seen(const char *id, uint64_t now, const struct cJSON *hb)
{
	struct node	*n = nodes_find(id);
	int		 changed = 0;

	if (n == NULL || n->where == NODE_CLEARING) {
		if ((n = nodes_add(id, n, now)) == NULL) {
			log_debug("nodes: %s not tracked, registry full", id);
			return;
		}
	}
	if (n->fresh) {
		log_info("nodes: %s appeared", id);
		n->fresh = 0;
		changed = 1;
	}
	n->last_seen = now;
	if (n->where == NODE_OFFLINE)
		changed = 1;
	/* To the tail: online_q stays in last_seen order. */
	nodes_move(n, NODE_ONLINE);
	changed |= nodes_replace(n, hb);
	changed |= nodes_repending(n);
	if (changed)
		nodes_mark(n);
}

/* Known and online node counts. */
void
nodes_counts(uint64_t *known, uint64_t *online)
{
	*known = registry.known;
	*online = registry.online;
}

/* Is this id a known node (online or offline, not being forgotten)? */
int
nodes_known(const char *id)
{
	struct node	*n = nodes_find(id);

	return (n != NULL && n->where != NODE_CLEARING);
}

/*
 * Call cb(id, arg) for every known node, online ones first; cb must not
 * admit or forget nodes.
 */
void
nodes_foreach(nodes_each_cb cb, void *arg)
{
	struct node	*n;

	TAILQ_FOREACH(n, &registry.online_q, entry)
		cb(n->id, arg);
	TAILQ_FOREACH(n, &registry.offline_q, entry)
		cb(n->id, arg);
}

/* The registry's counters (for tests and nodes_metrics). */
void
nodes_stats(struct nodes_stats *st)
{
	*st = registry.st;
	st->clears_pending = registry.nclears;
	st->sources = nodes_rate_sources();
}

/* Add the registry's counters to the "nodes" object of P/metrics. */
void
nodes_metrics(struct cJSON *o)
{
	struct nodes_stats	st;

	nodes_stats(&st);
	cJSON_AddNumberToObject(o, "forgotten", (double)st.forgotten);
	cJSON_AddNumberToObject(o, "refused_rate", (double)st.refused_rate);
	cJSON_AddNumberToObject(o, "refused_full", (double)st.refused_full);
	cJSON_AddNumberToObject(o, "clears_pending", (double)st.clears_pending);
	cJSON_AddNumberToObject(o, "clears_lost", (double)st.clears_lost);
}

/*
 * Send the clears that wait; a clear that fails (the link is down) stays,
 * and so do the ones after it.  0 if none is left.
 */
static int
nodes_flush_clears(nodes_send_cb send)
{
	struct node	*n;

	while ((n = TAILQ_FIRST(&registry.clears)) != NULL) {
		if (send(n->id, NULL) != 0)
			return (-1);
		nodes_drop(n);
	}
	return (0);
}

/* Send one node's status (lost while disconnected: a connect resends). */
static void
nodes_flush_one(struct node *n, nodes_send_cb send)
{
	char	*text;

	nodes_unmark(n);
	if (n->fresh || (text = nodes_status_text(n)) == NULL)
		return;
	send(n->id, text);
	cJSON_free(text);
}

/*
 * The monitor, at the end of a loop turn: send the waiting clears and the
 * status of every changed node, and empty the changed set.
 */
void
nodes_flush_changed(nodes_send_cb send)
{
	struct node	*n;

	if (TAILQ_EMPTY(&registry.clears) && TAILQ_EMPTY(&registry.changed_q))
		return;
	(void)nodes_flush_clears(send);
	while ((n = TAILQ_FIRST(&registry.changed_q)) != NULL)
		nodes_flush_one(n, send);
}

/*
 * The monitor, after every (re)connect: the clears that waited, then
 * every node's status again (a failed clear means the link went again).
 */
void
nodes_flush_all(nodes_send_cb send)
{
	struct node	*n;

	if (nodes_flush_clears(send) != 0)
		return;
	TAILQ_FOREACH(n, &registry.online_q, entry)
		nodes_flush_one(n, send);
	TAILQ_FOREACH(n, &registry.offline_q, entry)
		nodes_flush_one(n, send);
}

/* Housekeeping: nodes silent for node_timeout go offline. */
void
nodes_check(uint64_t mono)
{
	uint64_t	 now = daemon_now_ms();
	struct node	*n;

	(void)mono;
	if (!registry.started)
		return;
	/* online_q is in last_seen order: stop at the first recent one. */
	while ((n = TAILQ_FIRST(&registry.online_q)) != NULL) {
		if (now < n->last_seen ||
		    now - n->last_seen < registry.timeout_ms)
			break;
		if (n->fresh) {
			/* Admitted, but its message was never stored. */
			nodes_drop(n);
			continue;
		}
		nodes_move(n, NODE_OFFLINE);
		log_info("nodes: %s offline (silent for %" PRIu64 " s)", n->id,
		    (now - n->last_seen) / 1000);
		nodes_mark(n);
	}
	nodes_trim();
}

/* Read the reloadable limits. */
static void
nodes_configure(const struct config *cf)
{
	registry.timeout_ms = config_ms(cf, "gateway", "node_timeout");
	registry.max_nodes = (uint64_t)config_int(cf, "gateway", "max_nodes");
	nodes_rate_configure((unsigned)config_int(cf, "gateway",
	    "new_nodes_per_minute"));
}

/* Start: an empty registry. */
int
nodes_start(const struct config *cf, char **cause)
{
	size_t	i;

	(void)cause;
	memset(&registry, 0, sizeof registry);
	for (i = 0; i < NODES_BUCKETS; i++)
		LIST_INIT(&registry.buckets[i]);
	TAILQ_INIT(&registry.online_q);
	TAILQ_INIT(&registry.offline_q);
	TAILQ_INIT(&registry.clears);
	TAILQ_INIT(&registry.changed_q);
	nodes_rate_reset();
	nodes_configure(cf);
	registry.started = 1;
	return (0);
}

/* SIGHUP: node_timeout, max_nodes and new_nodes_per_minute. */
void
nodes_reload(const struct config *cf)
{
	nodes_configure(cf);
	/* A lower max_nodes takes effect now, as far as nodes are offline. */
	nodes_trim();
}

/* Stop: free the registry. */
void
nodes_stop(void)
{
	struct node	*n;

	while ((n = TAILQ_FIRST(&registry.online_q)) != NULL)
		nodes_drop(n);
	while ((n = TAILQ_FIRST(&registry.offline_q)) != NULL)
		nodes_drop(n);
	while ((n = TAILQ_FIRST(&registry.clears)) != NULL)
		nodes_drop(n);
	nodes_rate_reset();
	registry.started = 0;
	registry.known = registry.online = registry.nclears = 0;
}
