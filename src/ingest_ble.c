/*
 * ingest_ble.c - BLE links through BlueZ (SPEC section 12): one link per
 * [ble:NAME] section, a node's Nordic UART Service (NUS) read over the
 * system bus, frames exactly as on a serial link (SPEC section 4).
 *
 * Each link is one state machine on the loop:
 *
 *   searching   GetManagedObjects; if no object matches (by address, or
 *               a glob over Name/Alias), join the adapter's discovery
 *               and watch InterfacesAdded/PropertiesChanged
 *   connecting  Device1.Connect
 *   resolving   wait for ServicesResolved
 *   subscribing find the NUS TX characteristic under the device's NUS
 *               service; AcquireNotify (a SOCK_SEQPACKET socket, one
 *               notification per read), else StartNotify and the
 *               characteristic's PropertiesChanged "Value"
 *   subscribed  notifications go through a frame_reader (frame.c) and
 *               ingest_link.c, shared with serial links
 *   backoff     after any failure or loss: exponential with jitter up to
 *               30 s, then searching again
 *
 * Every answer and signal turns into an event for ingest_ble_event(); the
 * transition table is ingest_ble_next() (pure, unit-tested) and
 * ble_set_state() is the one place that changes, logs and acts on a
 * state.  A link has at most one method call pending (its slot), so
 * pending calls are bounded by the links; leaving a state drops its call.
 * A device that goes away is logged once and its retries are quiet.
 *
 * The work of each state is in ingest_ble_step.c; the connection itself,
 * discovery and the property readers in ingest_ble_bus.c.  BlueZ's
 * objects are not cached: a link asks GetManagedObjects when it looks.
 */
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cJSON.h>
#include <uv.h>

#include "config.h"
#include "daemon.h"
#include "frame.h"
#include "ingest_ble.h"
#include "ingest_ble_int.h"
#include "ingest_link.h"
#include "log.h"
#include "xmalloc.h"

#define BLE_STEP_TIMEOUT_MS	40000	/* connect, resolve or subscribe */

static struct {
	struct ble_link	*links[INGEST_BLE_LINKS_MAX];
	size_t		 nlinks;
	int		 started;
} ble;

/* The state's name, for logs and P/metrics. */
const char *
ingest_ble_state_name(enum ingest_ble_state s)
{
	switch (s) {
	case INGEST_BLE_SEARCHING:
		return ("searching");
	case INGEST_BLE_CONNECTING:
		return ("connecting");
	case INGEST_BLE_RESOLVING:
		return ("resolving");
	case INGEST_BLE_SUBSCRIBING:
		return ("subscribing");
	case INGEST_BLE_SUBSCRIBED:
		return ("subscribed");
	case INGEST_BLE_BACKOFF:
		return ("backoff");
	}
	return ("?");
}

/*
 * The transition table: where an event takes a link.  An event that does
 * not apply to the state (a late answer, a signal for a step already
 * left) leaves it where it is.
 */
enum ingest_ble_state
ingest_ble_next(enum ingest_ble_state s, enum ingest_ble_event ev)
{
	if (ev == INGEST_BLE_EV_BUS_DOWN)
		return (INGEST_BLE_BACKOFF);
	switch (s) {
	case INGEST_BLE_BACKOFF:
		if (ev == INGEST_BLE_EV_RETRY)
			return (INGEST_BLE_SEARCHING);
		break;
	case INGEST_BLE_SEARCHING:
		if (ev == INGEST_BLE_EV_FOUND)
			return (INGEST_BLE_CONNECTING);
		if (ev == INGEST_BLE_EV_FAILED)
			return (INGEST_BLE_BACKOFF);
		break;
	case INGEST_BLE_CONNECTING:
		if (ev == INGEST_BLE_EV_CONNECTED)
			return (INGEST_BLE_RESOLVING);
		/* FALLTHROUGH */
	case INGEST_BLE_RESOLVING:
		if (s == INGEST_BLE_RESOLVING && ev == INGEST_BLE_EV_RESOLVED)
			return (INGEST_BLE_SUBSCRIBING);
		/* FALLTHROUGH */
	case INGEST_BLE_SUBSCRIBING:
		if (s == INGEST_BLE_SUBSCRIBING &&
		    ev == INGEST_BLE_EV_SUBSCRIBED)
			return (INGEST_BLE_SUBSCRIBED);
		/* FALLTHROUGH */
	case INGEST_BLE_SUBSCRIBED:
		if (ev == INGEST_BLE_EV_FAILED || ev == INGEST_BLE_EV_LOST)
			return (INGEST_BLE_BACKOFF);
		break;
	}
	return (s);
}

/*
 * Does a device match?  want_addr (case-insensitive) when set, else the
 * glob over its Name or Alias.  NULL properties never match.
 */
int
ingest_ble_match(const char *want_addr, const char *glob, const char *addr,
    const char *name, const char *alias)
{
	if (want_addr != NULL && *want_addr != '\0')
		return (addr != NULL && strcasecmp(addr, want_addr) == 0);
	if (glob == NULL || *glob == '\0')
		return (0);
	return ((name != NULL && fnmatch(glob, name, 0) == 0) ||
	    (alias != NULL && fnmatch(glob, alias, 0) == 0));
}

/*
 * The delay before retry number attempt (0 = the first): 1 s doubling up
 * to 30 s, less up to a quarter at random so links that failed together
 * do not retry together.
 */
uint64_t
ingest_ble_backoff_ms(unsigned int attempt, uint32_t rnd)
{
	uint64_t	d = INGEST_BLE_BACKOFF_MIN;

	while (attempt-- > 0 && d < INGEST_BLE_BACKOFF_MAX)
		d *= 2;
	if (d > INGEST_BLE_BACKOFF_MAX)
		d = INGEST_BLE_BACKOFF_MAX;
	return (d - rnd % (d / 4 + 1));
}

/* What leaving a state undoes. */
static void
ble_leave(struct ble_link *l, enum ingest_ble_state to)
{
	l->slot = sd_bus_slot_unref(l->slot);
	l->deadline = 0;
	if (l->searching) {
		ingest_ble_disc_leave(l->adapter);
		l->searching = 0;
	}
	if ((l->state == INGEST_BLE_SUBSCRIBING ||
	    l->state == INGEST_BLE_SUBSCRIBED) && to != INGEST_BLE_SUBSCRIBED)
		ingest_ble_unsubscribe(l);
	/* A half-set-up connection is dropped so the next try starts clean. */
	if (to == INGEST_BLE_BACKOFF && l->dev != NULL &&
	    l->state != INGEST_BLE_SEARCHING)
		ingest_ble_bus_call(NULL, l->dev, BLE_IF_DEVICE, "Disconnect",
		    0, NULL, NULL, NULL);
}

/*
 * Log a failure once per outage: the loss of a subscribed device, or the
 * first failure of a link that never got that far; the retries that
 * follow are quiet until the link is subscribed again.
 */
static void
ble_log_failure(struct ble_link *l, enum ingest_ble_state from,
    const char *cause)
{
	if (from == INGEST_BLE_SUBSCRIBED)
		log_warnx("ble %s: %s lost (%s); reconnecting with backoff up "
		    "to %d s", l->name, l->dev_addr, cause,
		    INGEST_BLE_BACKOFF_MAX / 1000);
	else if (!l->outage_logged)
		log_warnx("ble %s: %s: %s; retrying with backoff", l->name,
		    ingest_ble_state_name(from), cause);
	else
		log_debug("ble %s: %s: %s", l->name,
		    ingest_ble_state_name(from), cause);
	l->outage_logged = 1;
}

/*
 * Change a link's state: undo the old one, log, start the new one's work.
 * cause says why, for transitions to backoff.
 */
static void
ble_set_state(struct ble_link *l, enum ingest_ble_state to,
    enum ingest_ble_event ev, const char *cause)
{
	enum ingest_ble_state	from = l->state;
	uint64_t		now = uv_now(daemon_loop());

	ble_leave(l, to);
	l->state = to;
	if (to == INGEST_BLE_BACKOFF && ev == INGEST_BLE_EV_BUS_DOWN) {
		/* The bus has its own backoff; go as soon as it is back. */
		l->retry_at = 0;
		log_debug("ble %s: %s -> backoff (bus down)", l->name,
		    ingest_ble_state_name(from));
	} else if (to == INGEST_BLE_BACKOFF) {
		l->retry_at = now + ingest_ble_backoff_ms(l->attempts++,
		    (uint32_t)random());
		ble_log_failure(l, from, cause != NULL ? cause : "failed");
	} else if (to == INGEST_BLE_SUBSCRIBED) {
		log_info("ble %s: %s %s (%s)", l->name, l->dev_addr,
		    l->ever_subscribed ? "is back" : "subscribed",
		    l->notify != NULL ? "notification socket" :
		    "StartNotify");
		if (l->ever_subscribed)
			l->il.n.reopens++;
		l->ever_subscribed = 1;
		l->attempts = 0;
		l->outage_logged = 0;
	} else
		log_debug("ble %s: %s -> %s", l->name,
		    ingest_ble_state_name(from), ingest_ble_state_name(to));
	if (to != INGEST_BLE_BACKOFF && to != INGEST_BLE_SUBSCRIBED &&
	    to != INGEST_BLE_SEARCHING)
		l->deadline = now + BLE_STEP_TIMEOUT_MS;
	switch (to) {
	case INGEST_BLE_SEARCHING:
		ingest_ble_search(l);
		break;
	case INGEST_BLE_CONNECTING:
		ingest_ble_connect(l);
		break;
	case INGEST_BLE_RESOLVING:
		ingest_ble_resolve(l);
		break;
	case INGEST_BLE_SUBSCRIBING:
		ingest_ble_subscribe(l);
		break;
	case INGEST_BLE_SUBSCRIBED:
	case INGEST_BLE_BACKOFF:
		break;
	}
}

/* The link's one state machine: apply an event. */
void
ingest_ble_event(struct ble_link *l, enum ingest_ble_event ev, const char *cause)
{
	enum ingest_ble_state	to = ingest_ble_next(l->state, ev);

	if (to != l->state)
		ble_set_state(l, to, ev, cause);
}


/* Every link, for the step functions' scans. */
struct ble_link **
ingest_ble_links(size_t *n)
{
	*n = ble.nlinks;
	return (ble.links);
}

/* The bus is up (at start or again): links whose wait is over search. */
void
ingest_ble_bus_up(void)
{
	uint64_t	now = uv_now(daemon_loop());
	size_t		i;

	for (i = 0; i < ble.nlinks; i++) {
		if (ble.links[i]->state == INGEST_BLE_BACKOFF &&
		    now >= ble.links[i]->retry_at)
			ingest_ble_event(ble.links[i], INGEST_BLE_EV_RETRY,
			    NULL);
	}
}

/* The bus went away: every link waits for it. */
void
ingest_ble_bus_down(void)
{
	size_t	i;

	for (i = 0; i < ble.nlinks; i++)
		ingest_ble_event(ble.links[i], INGEST_BLE_EV_BUS_DOWN, NULL);
}

/* Housekeeping (every second): the bus, backoffs and step timeouts. */
void
ingest_ble_tick(uint64_t now)
{
	struct ble_link	*l;
	size_t		 i;

	if (!ble.started)
		return;
	ingest_ble_bus_tick(now);
	for (i = 0; i < ble.nlinks; i++) {
		l = ble.links[i];
		if (l->state == INGEST_BLE_BACKOFF && now >= l->retry_at &&
		    ingest_ble_bus() != NULL)
			ingest_ble_event(l, INGEST_BLE_EV_RETRY, NULL);
		else if (l->deadline != 0 && now >= l->deadline)
			ingest_ble_event(l, INGEST_BLE_EV_FAILED,
			    "timed out");
	}
}

/* What a [ble:NAME] section needs beyond its keys' own checks. */
int
ingest_ble_check(const struct config *cf, char **cause)
{
	const char *const	*s;
	const char		*a, *b;
	size_t			 n, i, j;

	s = config_sections(cf, "ble", &n);
	if (n > INGEST_BLE_LINKS_MAX) {
		xasprintf(cause, "%s:%d: more than %d [ble:...] sections",
		    config_path(cf), config_line(cf, s[INGEST_BLE_LINKS_MAX],
		    "address"), INGEST_BLE_LINKS_MAX);
		return (-1);
	}
	for (i = 0; i < n; i++) {
		a = config_str(cf, s[i], "address");
		if ((*a == '\0') == (*config_str(cf, s[i], "name") == '\0')) {
			xasprintf(cause, "%s:%d: [%s]: set exactly one of "
			    "address and name", config_path(cf),
			    config_line(cf, s[i], *a != '\0' ? "name" :
			    "address"), s[i]);
			return (-1);
		}
		for (j = 0; j < i && *a != '\0'; j++) {
			b = config_str(cf, s[j], "address");
			if (strcasecmp(a, b) != 0 || strcmp(config_str(cf,
			    s[i], "adapter"), config_str(cf, s[j],
			    "adapter")) != 0)
				continue;
			xasprintf(cause, "%s:%d: [%s]: address %s is already "
			    "used by [%s]", config_path(cf), config_line(cf,
			    s[i], "address"), s[i], a, s[j]);
			return (-1);
		}
	}
	return (0);
}

/* Free a link, dropping whatever it holds on the bus. */
static void
ble_link_free(struct ble_link *l)
{
	if (l->state != INGEST_BLE_BACKOFF)
		ble_leave(l, INGEST_BLE_BACKOFF);
	else
		l->slot = sd_bus_slot_unref(l->slot);
	free(l->name);
	free(l->address);
	free(l->glob);
	free(l->adapter);
	free(l->node);
	free(l->dev);
	free(l->dev_addr);
	free(l->chr);
	free(l);
}

/* A link from its section, waiting (backoff, due now) for the bus. */
static struct ble_link *
ble_link_new(const struct config *cf, const char *sect)
{
	struct ble_link	*l;
	const char	*v;

	l = xcalloc(1, sizeof *l);
	l->name = xstrdup(sect + strlen("ble:"));
	if (*(v = config_str(cf, sect, "address")) != '\0')
		l->address = xstrdup(v);
	if (*(v = config_str(cf, sect, "name")) != '\0')
		l->glob = xstrdup(v);
	xasprintf(&l->adapter, "/org/bluez/%s", config_str(cf, sect,
	    "adapter"));
	l->node = xstrdup(config_str(cf, sect, "node"));
	l->framing = config_enum(cf, sect, "framing") == CONFIG_FRAMING_COBS ?
	    FRAME_COBS : FRAME_LINES;
	frame_reader_init(&l->reader, l->framing);
	ingest_link_init(&l->il, "ble", l->name, l->node, METRICS_INGEST_BLE);
	l->state = INGEST_BLE_BACKOFF;
	return (l);
}

/* Does a running link still match its (new) section? */
static int
ble_link_same(const struct ble_link *l, const struct config *cf,
    const char *sect)
{
	struct ble_link	*n = ble_link_new(cf, sect);
	int		 same;

	same = strcmp(l->address ? l->address : "", n->address ? n->address :
	    "") == 0 && strcmp(l->glob ? l->glob : "", n->glob ? n->glob :
	    "") == 0 && strcmp(l->adapter, n->adapter) == 0 &&
	    strcmp(l->node, n->node) == 0 && l->framing == n->framing;
	ble_link_free(n);
	return (same);
}

/* Start every [ble:NAME] link; they search once the bus is up. */
int
ingest_ble_start(const struct config *cf, char **cause)
{
	const char *const	*s;
	size_t			 n, i;

	memset(&ble, 0, sizeof ble);
	s = config_sections(cf, "ble", &n);
	if (n == 0)
		return (0);
	if (ingest_ble_check(cf, cause) != 0)
		return (-1);
	for (i = 0; i < n; i++)
		ble.links[ble.nlinks++] = ble_link_new(cf, s[i]);
	ble.started = 1;
	ingest_ble_bus_start();
	return (0);
}

/* The index of link NAME, or -1. */
static int
ble_find(const char *name)
{
	size_t	i;

	for (i = 0; i < ble.nlinks; i++) {
		if (strcmp(ble.links[i]->name, name) == 0)
			return ((int)i);
	}
	return (-1);
}

/*
 * Drop links whose section went, start over those whose section changed
 * (in place); the counters of both are logged.
 */
static void
ble_reload_drop(const struct config *cf)
{
	const char *const	*s;
	struct ble_link		*l;
	char			*sect;
	size_t			 n, i, j;

	s = config_sections(cf, "ble", &n);
	for (i = 0; i < ble.nlinks;) {
		l = ble.links[i];
		xasprintf(&sect, "ble:%s", l->name);
		for (j = 0; j < n && strcmp(s[j], sect) != 0; j++)
			;
		if (j < n && ble_link_same(l, cf, sect)) {
			free(sect);
			i++;
			continue;
		}
		log_info("reload: ble %s %s", l->name, j < n ?
		    "changed, starting over" : "removed");
		ingest_link_log(&l->il);
		ble_link_free(l);
		if (j < n) {
			ble.links[i++] = ble_link_new(cf, sect);
			free(sect);
			continue;
		}
		free(sect);
		memmove(&ble.links[i], &ble.links[i + 1],
		    (ble.nlinks - i - 1) * sizeof ble.links[0]);
		ble.nlinks--;
	}
}

/*
 * SIGHUP: links whose section is gone are dropped, changed ones start
 * over, new ones start; the others keep their connection.  The check
 * column has bounded the sections already.
 */
void
ingest_ble_reload(const struct config *cf)
{
	const char *const	*s;
	size_t			 n, i;

	ble_reload_drop(cf);
	s = config_sections(cf, "ble", &n);
	for (i = 0; i < n && ble.nlinks < INGEST_BLE_LINKS_MAX; i++) {
		if (ble_find(s[i] + strlen("ble:")) != -1)
			continue;
		ble.links[ble.nlinks++] = ble_link_new(cf, s[i]);
		log_info("reload: ble %s added", s[i] + strlen("ble:"));
	}
	if (!ble.started && ble.nlinks > 0) {
		ble.started = 1;
		ingest_ble_bus_start();
	} else if (ingest_ble_bus() != NULL)
		ingest_ble_bus_up();
}

/* Stop: every link lets its device go, then the bus closes. */
void
ingest_ble_stop(void)
{
	size_t	i;

	for (i = 0; i < ble.nlinks; i++) {
		ingest_link_log(&ble.links[i]->il);
		ble_link_free(ble.links[i]);
	}
	ble.nlinks = 0;
	if (ble.started)
		ingest_ble_bus_stop();
	ble.started = 0;
}

/* Add "ble_links": {NAME: {counters..., state}} to a P/metrics object. */
void
ingest_ble_metrics(cJSON *obj)
{
	const struct ble_link	*l;
	cJSON			*links, *o;
	size_t			 i;

	links = cJSON_AddObjectToObject(obj, "ble_links");
	for (i = 0; links != NULL && i < ble.nlinks; i++) {
		l = ble.links[i];
		if ((o = cJSON_AddObjectToObject(links, l->name)) == NULL)
			continue;
		ingest_link_json(&l->il, o, l->state == INGEST_BLE_SUBSCRIBED);
		cJSON_AddStringToObject(o, "state",
		    ingest_ble_state_name(l->state));
		cJSON_AddNumberToObject(o, "notifications",
		    (double)l->notifications);
		cJSON_AddNumberToObject(o, "bytes", (double)l->bytes);
		cJSON_AddNumberToObject(o, "oversized", (double)l->oversized);
		cJSON_AddNumberToObject(o, "connects", (double)l->connects);
	}
}
