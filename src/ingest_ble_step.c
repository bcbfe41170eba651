/*
 * ingest_ble_step.c - the work of each state of a BLE link (see
 * ingest_ble.c for the machine): finding the device, Connect, waiting for
 * ServicesResolved, finding the NUS TX characteristic and subscribing,
 * reading notifications, and turning BlueZ's signals into events.
 *
 * Answers and signals never change a state directly: they call
 * ingest_ble_event().  Scans of GetManagedObjects collect what they need
 * first and act after the whole answer is read.  Every string a peer
 * sends (names, error messages) is escaped before it is logged.
 */
#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <uv.h>

#include "daemon.h"
#include "frame.h"
#include "ingest_ble.h"
#include "ingest_ble_int.h"
#include "ingest_link.h"
#include "log.h"
#include "xmalloc.h"

#define STEP_CALL_USEC		(30ULL * 1000000)	/* Connect's timeout */
#define STEP_READ_BUDGET	64	/* notifications per wake-up */
#define STEP_SCAN_MAX		16	/* services/characteristics kept */

/* What a scan of GetManagedObjects found for one link. */
struct step_scan {
	struct ble_link	*l;
	char		*dev;			/* searching: the device */
	char		*addr;
	char		*svc[STEP_SCAN_MAX];	/* subscribing: NUS services */
	size_t		 nsvc;
	char		*chr[STEP_SCAN_MAX];	/* NUS TX characteristics */
	char		*chr_svc[STEP_SCAN_MAX];
	size_t		 nchr;
};

/* Free what a scan kept. */
static void
step_scan_free(struct step_scan *s)
{
	size_t	i;

	free(s->dev);
	free(s->addr);
	for (i = 0; i < s->nsvc; i++)
		free(s->svc[i]);
	for (i = 0; i < s->nchr; i++) {
		free(s->chr[i]);
		free(s->chr_svc[i]);
	}
}

/* Is path a child of parent (/org/bluez/hci0/dev_...)? */
static int
step_under(const char *parent, const char *path)
{
	size_t	n = strlen(parent);

	return (strncmp(path, parent, n) == 0 && path[n] == '/');
}

/* A method call could not even be sent. */
static void
step_call_failed(struct ble_link *l, const char *what, int r)
{
	char	*cause;

	xasprintf(&cause, "%s: %s", what, strerror(-r));
	ingest_ble_event(l, INGEST_BLE_EV_FAILED, cause);
	free(cause);
}

/* A method call came back with an error. */
static void
step_reply_failed(struct ble_link *l, const char *what, const sd_bus_error *e)
{
	char	*cause, name[128], msg[256];
	size_t	 mlen = e->message != NULL ? strlen(e->message) : 0;

	log_escape(name, sizeof name, e->name, strlen(e->name));
	log_escape(msg, sizeof msg, e->message != NULL ? e->message : "",
	    mlen);
	xasprintf(&cause, "%s: %s%s%s", what, name, mlen ? ": " : "", msg);
	ingest_ble_event(l, INGEST_BLE_EV_FAILED, cause);
	free(cause);
}

/* Is the device object taken by another link already? */
static int
step_claimed(const struct ble_link *self, const char *path)
{
	struct ble_link	**links;
	size_t		  n, i;

	links = ingest_ble_links(&n);
	for (i = 0; i < n; i++) {
		if (links[i] != self && links[i]->dev != NULL &&
		    strcmp(links[i]->dev, path) == 0)
			return (1);
	}
	return (0);
}

/* Is this Device1 object the link's node (on its adapter, unclaimed)? */
static int
step_device_ok(const struct ble_link *l, const char *path,
    const struct ingest_ble_props *p)
{
	if (p->adapter != NULL ? strcmp(p->adapter, l->adapter) != 0 :
	    !step_under(l->adapter, path))
		return (0);
	if (step_claimed(l, path))
		return (0);
	return (ingest_ble_match(l->address, l->glob, p->address, p->name,
	    p->alias));
}

/* The device is found: remember it and connect. */
static void
step_found(struct ble_link *l, const char *path, const char *addr)
{
	char	esc[64];

	free(l->dev);
	free(l->dev_addr);
	l->dev = xstrdup(path);
	if (addr == NULL)	/* .../dev_AA_BB_CC_DD_EE_FF */
		addr = strrchr(path, '/') + 1;
	l->dev_addr = xstrdup(log_escape(esc, sizeof esc, addr, strlen(addr)));
	log_debug("ble %s: found %s at %s", l->name, l->dev_addr, path);
	ingest_ble_event(l, INGEST_BLE_EV_FOUND, NULL);
}

/* One interface of GetManagedObjects, while searching. */
static void
step_search_iface(const char *path, const char *iface,
    const struct ingest_ble_props *p, void *arg)
{
	struct step_scan	*s = arg;

	if (s->dev != NULL || strcmp(iface, BLE_IF_DEVICE) != 0 ||
	    !step_device_ok(s->l, path, p))
		return;
	s->dev = xstrdup(path);
	if (p->address != NULL)
		s->addr = xstrdup(p->address);
}

/* GetManagedObjects answered: connect, or wait for discovery. */
static int
step_search_done(sd_bus_message *m, void *arg, sd_bus_error *ret)
{
	struct ble_link		*l = arg;
	const sd_bus_error	*e = sd_bus_message_get_error(m);
	struct step_scan	 s;
	int			 r;

	(void)ret;
	l->slot = sd_bus_slot_unref(l->slot);
	if (e != NULL) {
		step_reply_failed(l, "GetManagedObjects", e);
		return (0);
	}
	memset(&s, 0, sizeof s);
	s.l = l;
	if ((r = ingest_ble_objects_read(m, step_search_iface, &s)) < 0)
		step_call_failed(l, "GetManagedObjects", r);
	else if (s.dev != NULL)
		step_found(l, s.dev, s.addr);
	else if (!l->searching) {
		log_debug("ble %s: not known yet, discovering on %s", l->name,
		    l->adapter);
		l->searching = 1;
		ingest_ble_disc_join(l->adapter);
	}
	step_scan_free(&s);
	return (0);
}

/* Searching: look at the objects BlueZ has. */
void
ingest_ble_search(struct ble_link *l)
{
	int	r;

	free(l->dev);
	free(l->chr);
	l->dev = l->chr = NULL;
	r = ingest_ble_bus_call(&l->slot, "/", BLE_IF_OM, "GetManagedObjects",
	    0, step_search_done, l, NULL);
	if (r < 0)
		step_call_failed(l, "GetManagedObjects", r);
}

/* Connect answered. */
static int
step_connect_done(sd_bus_message *m, void *arg, sd_bus_error *ret)
{
	struct ble_link		*l = arg;
	const sd_bus_error	*e = sd_bus_message_get_error(m);

	(void)ret;
	l->slot = sd_bus_slot_unref(l->slot);
	if (e != NULL && !sd_bus_error_has_name(e,
	    "org.bluez.Error.AlreadyConnected")) {
		step_reply_failed(l, "Connect", e);
		return (0);
	}
	l->connects++;
	ingest_ble_event(l, INGEST_BLE_EV_CONNECTED, NULL);
	return (0);
}

/* Connecting: Device1.Connect. */
void
ingest_ble_connect(struct ble_link *l)
{
	int	r;

	r = ingest_ble_bus_call(&l->slot, l->dev, BLE_IF_DEVICE, "Connect",
	    STEP_CALL_USEC, step_connect_done, l, NULL);
	if (r < 0)
		step_call_failed(l, "Connect", r);
}

/* ServicesResolved read: go on, or wait for it to change. */
static int
step_resolve_done(sd_bus_message *m, void *arg, sd_bus_error *ret)
{
	struct ble_link		*l = arg;
	const sd_bus_error	*e = sd_bus_message_get_error(m);
	int			 b = 0;

	(void)ret;
	l->slot = sd_bus_slot_unref(l->slot);
	if (e != NULL) {
		step_reply_failed(l, "ServicesResolved", e);
		return (0);
	}
	/* Not a boolean: wait for PropertiesChanged (or the timeout). */
	if (sd_bus_message_read(m, "v", "b", &b) > 0 && b)
		ingest_ble_event(l, INGEST_BLE_EV_RESOLVED, NULL);
	return (0);
}

/*
 * Resolving: the services may be resolved already (a device BlueZ knew),
 * in which case no PropertiesChanged will come: ask.
 */
void
ingest_ble_resolve(struct ble_link *l)
{
	int	r;

	r = ingest_ble_bus_call(&l->slot, l->dev, BLE_IF_PROPS, "Get", 0,
	    step_resolve_done, l, "ss", BLE_IF_DEVICE, "ServicesResolved");
	if (r < 0)
		step_call_failed(l, "ServicesResolved", r);
}

/* One interface of GetManagedObjects, while subscribing. */
static void
step_gatt_iface(const char *path, const char *iface,
    const struct ingest_ble_props *p, void *arg)
{
	struct step_scan	*s = arg;

	if (!step_under(s->l->dev, path) || p->uuid == NULL)
		return;
	if (strcmp(iface, BLE_IF_SERVICE) == 0 &&
	    strcasecmp(p->uuid, BLE_NUS_SERVICE) == 0 &&
	    s->nsvc < STEP_SCAN_MAX)
		s->svc[s->nsvc++] = xstrdup(path);
	else if (strcmp(iface, BLE_IF_CHAR) == 0 &&
	    strcasecmp(p->uuid, BLE_NUS_TX) == 0 && p->notify != 0 &&
	    s->nchr < STEP_SCAN_MAX) {
		s->chr[s->nchr] = xstrdup(path);
		/* Without a Service property, the parent object. */
		s->chr_svc[s->nchr] = p->service != NULL ?
		    xstrdup(p->service) : xstrndup(path,
		    (size_t)(strrchr(path, '/') - path));
		s->nchr++;
	}
}

/* The TX characteristic that belongs to a NUS service, or NULL. */
static const char *
step_pick_tx(const struct step_scan *s)
{
	size_t	i, j;

	for (i = 0; i < s->nchr; i++) {
		for (j = 0; j < s->nsvc; j++) {
			if (strcmp(s->chr_svc[i], s->svc[j]) == 0)
				return (s->chr[i]);
		}
	}
	return (NULL);
}

/* A notification's bytes, from the socket or a Value change. */
static void
step_feed(struct ble_link *l, const void *buf, size_t len)
{
	if (len > INGEST_BLE_NOTIFY_MAX) {
		l->oversized++;
		return;
	}
	l->notifications++;
	l->bytes += len;
	frame_feed(&l->reader, buf, len, ingest_link_frame, &l->il);
}

/* The notification socket is readable: one notification per read. */
static void
step_notify_cb(uv_poll_t *h, int status, int events)
{
	struct ble_notify	*n = h->data;
	uint8_t			 buf[INGEST_BLE_NOTIFY_MAX];
	ssize_t			 got;
	int			 i;

	for (i = 0; i < STEP_READ_BUDGET && n->l != NULL; i++) {
		/* MSG_TRUNC: the real length, so oversized ones are seen. */
		got = recv(n->fd, buf, sizeof buf, MSG_DONTWAIT | MSG_TRUNC);
		if (got > 0)
			step_feed(n->l, buf, (size_t)got);
		else if (got == 0 && !(events & UV_DISCONNECT))
			step_feed(n->l, buf, 0);	/* an empty one */
		else if (got == -1 && errno == EINTR)
			continue;
		else if (got == -1 && (errno == EAGAIN ||
		    errno == EWOULDBLOCK))
			break;
		else {
			ingest_ble_event(n->l, INGEST_BLE_EV_LOST, got == 0 ?
			    "notification socket hung up" : strerror(errno));
			return;
		}
	}
	if (n->l != NULL && i < STEP_READ_BUDGET &&
	    (status < 0 || (events & UV_DISCONNECT)))
		ingest_ble_event(n->l, INGEST_BLE_EV_LOST,
		    "notification socket hung up");
}

/* StartNotify answered (the fallback). */
static int
step_start_done(sd_bus_message *m, void *arg, sd_bus_error *ret)
{
	struct ble_link		*l = arg;
	const sd_bus_error	*e = sd_bus_message_get_error(m);

	(void)ret;
	l->slot = sd_bus_slot_unref(l->slot);
	if (e != NULL) {
		step_reply_failed(l, "StartNotify", e);
		return (0);
	}
	l->notifying = 1;
	ingest_ble_event(l, INGEST_BLE_EV_SUBSCRIBED, NULL);
	return (0);
}

/* Poll a notification socket BlueZ handed over; -1 with errno. */
static int
step_notify_start(struct ble_link *l, int fd)
{
	struct ble_notify	*n;
	int			 rv;

	if ((fd = fcntl(fd, F_DUPFD_CLOEXEC, 3)) == -1)
		return (-1);
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) == -1) {
		close(fd);
		return (-1);
	}
	n = xcalloc(1, sizeof *n);
	if ((rv = uv_poll_init(daemon_loop(), &n->poll, fd)) != 0) {
		close(fd);
		free(n);
		errno = -rv;
		return (-1);
	}
	n->fd = fd;
	n->l = l;
	n->poll.data = n;
	l->notify = n;
	uv_poll_start(&n->poll, UV_READABLE | UV_DISCONNECT, step_notify_cb);
	return (0);
}

/* AcquireNotify answered: a socket, or fall back to StartNotify. */
static int
step_acquire_done(sd_bus_message *m, void *arg, sd_bus_error *ret)
{
	struct ble_link		*l = arg;
	const sd_bus_error	*e = sd_bus_message_get_error(m);
	uint16_t		 mtu = 0;
	int			 fd = -1, r;

	(void)ret;
	l->slot = sd_bus_slot_unref(l->slot);
	if (e == NULL && sd_bus_message_read(m, "hq", &fd, &mtu) > 0) {
		if (step_notify_start(l, fd) == -1) {
			step_call_failed(l, "AcquireNotify", -errno);
			return (0);
		}
		log_debug("ble %s: notification socket, MTU %u", l->name,
		    (unsigned int)mtu);
		ingest_ble_event(l, INGEST_BLE_EV_SUBSCRIBED, NULL);
		return (0);
	}
	log_debug("ble %s: AcquireNotify: %s; using StartNotify", l->name,
	    e != NULL ? e->name : "bad answer");
	r = ingest_ble_bus_call(&l->slot, l->chr, BLE_IF_CHAR, "StartNotify",
	    0, step_start_done, l, NULL);
	if (r < 0)
		step_call_failed(l, "StartNotify", r);
	return (0);
}

/* GetManagedObjects answered: find NUS TX and acquire it. */
static int
step_gatt_done(sd_bus_message *m, void *arg, sd_bus_error *ret)
{
	struct ble_link		*l = arg;
	const sd_bus_error	*e = sd_bus_message_get_error(m);
	struct step_scan	 s;
	const char		*tx;
	int			 r;

	(void)ret;
	l->slot = sd_bus_slot_unref(l->slot);
	if (e != NULL) {
		step_reply_failed(l, "GetManagedObjects", e);
		return (0);
	}
	memset(&s, 0, sizeof s);
	s.l = l;
	if ((r = ingest_ble_objects_read(m, step_gatt_iface, &s)) < 0)
		step_call_failed(l, "GetManagedObjects", r);
	else if ((tx = step_pick_tx(&s)) == NULL)
		ingest_ble_event(l, INGEST_BLE_EV_FAILED,
		    "no Nordic UART Service TX characteristic");
	else {
		free(l->chr);
		l->chr = xstrdup(tx);
		r = ingest_ble_bus_call(&l->slot, l->chr, BLE_IF_CHAR,
		    "AcquireNotify", 0, step_acquire_done, l, "a{sv}", 0);
		if (r < 0)
			step_call_failed(l, "AcquireNotify", r);
	}
	step_scan_free(&s);
	return (0);
}

/* Subscribing: find the characteristic under the device. */
void
ingest_ble_subscribe(struct ble_link *l)
{
	int	r;

	r = ingest_ble_bus_call(&l->slot, "/", BLE_IF_OM, "GetManagedObjects",
	    0, step_gatt_done, l, NULL);
	if (r < 0)
		step_call_failed(l, "GetManagedObjects", r);
}

/* Close the notification socket once libuv is done with it. */
static void
step_notify_closed(uv_handle_t *h)
{
	struct ble_notify	*n = h->data;

	close(n->fd);
	free(n);
}

/* Stop notifications: close the socket, or StopNotify. */
void
ingest_ble_unsubscribe(struct ble_link *l)
{
	if (l->notify != NULL) {
		l->notify->l = NULL;
		uv_poll_stop(&l->notify->poll);
		uv_close((uv_handle_t *)&l->notify->poll, step_notify_closed);
		l->notify = NULL;
	}
	if (l->notifying && l->chr != NULL)
		ingest_ble_bus_call(NULL, l->chr, BLE_IF_CHAR, "StopNotify", 0,
		    NULL, NULL, NULL);
	l->notifying = 0;
	frame_reader_reset(&l->reader);
}

/* InterfacesAdded, one interface: a searching link's device may be here. */
static void
step_added_iface(const char *path, const char *iface,
    const struct ingest_ble_props *p, void *arg)
{
	struct ble_link	**links;
	size_t		  n, i;

	(void)arg;
	if (strcmp(iface, BLE_IF_DEVICE) != 0)
		return;
	links = ingest_ble_links(&n);
	for (i = 0; i < n; i++) {
		if (links[i]->state == INGEST_BLE_SEARCHING &&
		    links[i]->dev == NULL && step_device_ok(links[i], path, p)) {
			step_found(links[i], path, p->address);
			return;
		}
	}
}

/* Is a link past searching, i.e. holding a device that can go away? */
static int
step_attached(const struct ble_link *l)
{
	return (l->state == INGEST_BLE_CONNECTING ||
	    l->state == INGEST_BLE_RESOLVING ||
	    l->state == INGEST_BLE_SUBSCRIBING ||
	    l->state == INGEST_BLE_SUBSCRIBED);
}

/* InterfacesRemoved: a device, its characteristic or the adapter went. */
static int
step_removed(sd_bus_message *m)
{
	struct ble_link	**links;
	const char	 *path, *iface;
	size_t		  n, i;
	int		  r, gone = 0;

	if ((r = sd_bus_message_read(m, "o", &path)) <= 0 ||
	    (r = sd_bus_message_enter_container(m, 'a', "s")) <= 0)
		return (r);
	while ((r = sd_bus_message_read(m, "s", &iface)) > 0) {
		if (strcmp(iface, BLE_IF_DEVICE) == 0 ||
		    strcmp(iface, BLE_IF_CHAR) == 0 ||
		    strcmp(iface, BLE_IF_ADAPTER) == 0)
			gone = 1;
	}
	if (r < 0 || !gone)
		return (r);
	links = ingest_ble_links(&n);
	for (i = 0; i < n; i++) {
		if (!step_attached(links[i]) ||
		    !(strcmp(links[i]->dev, path) == 0 ||
		    step_under(path, links[i]->dev) ||
		    (links[i]->chr != NULL &&
		    strcmp(links[i]->chr, path) == 0)))
			continue;
		ingest_ble_event(links[i], INGEST_BLE_EV_LOST,
		    "device removed");
	}
	return (0);
}

/* PropertiesChanged of a Device1: connected, resolved, or a new name. */
static void
step_device_changed(const char *path, const struct ingest_ble_props *p)
{
	struct ble_link	**links;
	size_t		  n, i;

	links = ingest_ble_links(&n);
	for (i = 0; i < n; i++) {
		if (links[i]->dev != NULL && strcmp(links[i]->dev, path) == 0) {
			if (p->connected == 0 && step_attached(links[i]) &&
			    links[i]->state != INGEST_BLE_CONNECTING)
				ingest_ble_event(links[i], INGEST_BLE_EV_LOST,
				    "disconnected");
			else if (p->resolved == 1)
				ingest_ble_event(links[i],
				    INGEST_BLE_EV_RESOLVED, NULL);
			return;
		}
	}
	/* A name seen only now (scan response): glob links may match. */
	if (p->name == NULL && p->alias == NULL)
		return;
	for (i = 0; i < n; i++) {
		if (links[i]->state == INGEST_BLE_SEARCHING &&
		    links[i]->dev == NULL && links[i]->glob != NULL &&
		    step_device_ok(links[i], path, p)) {
			step_found(links[i], path, NULL);
			return;
		}
	}
}

/* PropertiesChanged of a characteristic: a StartNotify notification. */
static void
step_char_changed(const char *path, const struct ingest_ble_props *p)
{
	struct ble_link	**links;
	size_t		  n, i;

	if (!p->has_value)
		return;
	links = ingest_ble_links(&n);
	for (i = 0; i < n; i++) {
		if (links[i]->state == INGEST_BLE_SUBSCRIBED &&
		    links[i]->notifying && strcmp(links[i]->chr, path) == 0)
			step_feed(links[i], p->value, p->value_len);
	}
}

/* bluetoothd left the bus: every object it had is gone. */
static void
step_bluez_gone(void)
{
	struct ble_link	**links;
	size_t		  n, i;

	log_warnx("ble: %s left the system bus", BLE_SERVICE);
	links = ingest_ble_links(&n);
	for (i = 0; i < n; i++)
		ingest_ble_event(links[i], step_attached(links[i]) ?
		    INGEST_BLE_EV_LOST : INGEST_BLE_EV_FAILED,
		    "bluetoothd went away");
}

/* Every signal the bus matches for BlueZ. */
int
ingest_ble_signal(sd_bus_message *m, void *arg, sd_bus_error *ret)
{
	struct ingest_ble_props	 p;
	const char		*member = sd_bus_message_get_member(m);
	const char		*path = sd_bus_message_get_path(m);
	const char		*iface, *owner, *old, *new;
	int			 r = 0;

	(void)arg;
	(void)ret;
	if (member == NULL || path == NULL)
		return (0);
	if (strcmp(member, "InterfacesAdded") == 0) {
		if ((r = sd_bus_message_read(m, "o", &path)) > 0)
			r = ingest_ble_ifaces_read(m, path, step_added_iface,
			    NULL);
	} else if (strcmp(member, "InterfacesRemoved") == 0)
		r = step_removed(m);
	else if (strcmp(member, "PropertiesChanged") == 0) {
		if ((r = sd_bus_message_read(m, "s", &iface)) > 0 &&
		    (r = ingest_ble_props_read(m, &p)) >= 0) {
			if (strcmp(iface, BLE_IF_DEVICE) == 0)
				step_device_changed(path, &p);
			else if (strcmp(iface, BLE_IF_CHAR) == 0)
				step_char_changed(path, &p);
		}
	} else if (strcmp(member, "NameOwnerChanged") == 0) {
		if ((r = sd_bus_message_read(m, "sss", &owner, &old,
		    &new)) > 0 && strcmp(owner, BLE_SERVICE) == 0 &&
		    *new == '\0')
			step_bluez_gone();
	}
	if (r < 0)
		log_debug("ble: a malformed %s signal: %s", member,
		    strerror(-r));
	return (0);
}
