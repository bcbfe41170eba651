/*
 * ingest_ble_bus.c - the D-Bus side of BLE links: one sd-bus connection
 * to the system bus (DBUS_SYSTEM_BUS_ADDRESS is honoured by sd-bus) driven
 * by the daemon's libuv loop, discovery shared per adapter, and the
 * readers of BlueZ's property dictionaries.
 *
 * The loop glue: a uv_poll on sd_bus_get_fd() for the events
 * sd_bus_get_events() asks for, and a uv_timer for sd_bus_get_timeout()
 * (call timeouts, and "process again now" when messages are queued).  On
 * either, sd_bus_process() runs until it has nothing to do, at most a
 * budget of messages per turn so a flood of signals cannot starve the
 * loop (the timer then fires at once for the rest).  Only asynchronous
 * calls are made; nothing here ever waits for the bus.
 *
 * When the connection closes (dbus-daemon restarted, socket gone) every
 * link is told (ingest_ble_bus_down) and drops its pending calls, and the
 * connection is tried again with exponential backoff and jitter up to
 * 30 s from the housekeeping tick; the rest of the daemon carries on.
 *
 * Discovery is shared: BlueZ keeps one discovery session per D-Bus
 * client and adapter, so the first link that searches on an adapter sets
 * the filter (LE, the NUS UUID) and starts it, the last one to stop
 * searching stops it.
 */
#include <poll.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <uv.h>

#include "daemon.h"
#include "ingest_ble.h"
#include "ingest_ble_int.h"
#include "log.h"
#include "xmalloc.h"

#define BUS_PROCESS_BUDGET	256	/* messages per loop turn */
#define BUS_DISC_RETRY_MS	5000	/* a failed StartDiscovery */

enum bus_disc {
	DISC_OFF,
	DISC_STARTING,		/* SetDiscoveryFilter or StartDiscovery sent */
	DISC_ON,
	DISC_STOPPING,		/* StopDiscovery sent */
};

/* An adapter some link searches on. */
struct bus_adapter {
	char		*path;		/* /org/bluez/hci0 */
	int		 refs;		/* links searching on it */
	enum bus_disc	 st;
	uint64_t	 retry_at;
	int		 failed_logged;
	sd_bus_slot	*slot;		/* the pending call */
};

static struct {
	sd_bus			*bus;		/* NULL: down */
	uv_poll_t		*poll;		/* freed in its close callback */
	uv_timer_t		 timer;
	int			 started;
	int			 ready;		/* Hello answered */
	int			 down_logged;
	unsigned int		 attempts;	/* failed opens in a row */
	uint64_t		 retry_at;
	struct bus_adapter	 adapters[INGEST_BLE_LINKS_MAX];
	size_t			 nadapters;
} bus;

static void	bus_arm(void);
static void	bus_disc_sync(struct bus_adapter *);

/* CLOCK_MONOTONIC in microseconds, the clock of sd_bus_get_timeout(). */
static uint64_t
bus_now_usec(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000);
}

/* The connection, or NULL while it is down or not yet ready. */
sd_bus *
ingest_ble_bus(void)
{
	return (bus.ready ? bus.bus : NULL);
}

/* Free a poll handle once libuv is done with it. */
static void
bus_poll_closed(uv_handle_t *h)
{
	free(h);
}

/* Forget every adapter's discovery (the connection is gone). */
static void
bus_disc_reset(void)
{
	size_t	i;

	for (i = 0; i < bus.nadapters; i++) {
		bus.adapters[i].slot = sd_bus_slot_unref(bus.adapters[i].slot);
		bus.adapters[i].st = DISC_OFF;
		bus.adapters[i].retry_at = 0;
	}
}

/* The connection closed: tell the links, free it, retry with backoff. */
static void
bus_lost(int r)
{
	sd_bus	*b = bus.bus;

	if (!bus.down_logged)
		log_warnx("ble: the system bus connection closed (%s); "
		    "reconnecting with backoff", r < 0 ? strerror(-r) :
		    "disconnected");
	bus.down_logged = 1;
	uv_poll_stop(bus.poll);
	uv_close((uv_handle_t *)bus.poll, bus_poll_closed);
	bus.poll = NULL;
	uv_timer_stop(&bus.timer);
	sd_bus_close(b);
	/* Links drop their pending calls (each holds a bus reference). */
	bus.bus = NULL;
	bus.ready = 0;
	bus_disc_reset();
	ingest_ble_bus_down();
	sd_bus_unref(b);
	bus.retry_at = uv_now(daemon_loop()) +
	    ingest_ble_backoff_ms(bus.attempts++, (uint32_t)random());
}

/* Process what the connection has, then wait for it again. */
static void
bus_dispatch(void)
{
	int	r = 0, n;

	for (n = 0; n < BUS_PROCESS_BUDGET; n++) {
		if ((r = sd_bus_process(bus.bus, NULL)) <= 0)
			break;
		if (bus.bus == NULL)
			return;
	}
	if (r < 0 || sd_bus_is_open(bus.bus) <= 0) {
		bus_lost(r);
		return;
	}
	if (!bus.ready && sd_bus_is_ready(bus.bus) > 0) {
		bus.ready = 1;
		bus.attempts = 0;
		if (bus.down_logged)
			log_info("ble: the system bus is back");
		bus.down_logged = 0;
		ingest_ble_bus_up();
	}
	bus_arm();
}

/* The bus fd is ready (or hung up: sd_bus_process finds out). */
static void
bus_poll_cb(uv_poll_t *h, int status, int events)
{
	(void)h;
	(void)status;
	(void)events;
	bus_dispatch();
}

/* A bus timeout is due, or queued messages wait. */
static void
bus_timer_cb(uv_timer_t *t)
{
	(void)t;
	if (bus.bus != NULL)
		bus_dispatch();
}

/* Poll for what sd-bus wants and time its next deadline. */
static void
bus_arm(void)
{
	uint64_t	usec, now;
	int		ev, uvev = 0;

	if (bus.bus == NULL)
		return;
	if ((ev = sd_bus_get_events(bus.bus)) < 0)
		ev = POLLIN;
	if (ev & POLLIN)
		uvev |= UV_READABLE;
	if (ev & POLLOUT)
		uvev |= UV_WRITABLE;
	uv_poll_start(bus.poll, uvev | UV_DISCONNECT, bus_poll_cb);
	if (sd_bus_get_timeout(bus.bus, &usec) < 0 || usec == UINT64_MAX) {
		uv_timer_stop(&bus.timer);
		return;
	}
	now = bus_now_usec();
	uv_timer_start(&bus.timer, bus_timer_cb, usec > now ?
	    (usec - now + 999) / 1000 : 0, 0);
}

/* Subscribe to the signals of BlueZ the links follow. */
static int
bus_matches(sd_bus *b)
{
	int	r;

	if ((r = sd_bus_match_signal_async(b, NULL, BLE_SERVICE, NULL,
	    BLE_IF_OM, "InterfacesAdded", ingest_ble_signal, NULL, NULL)) < 0)
		return (r);
	if ((r = sd_bus_match_signal_async(b, NULL, BLE_SERVICE, NULL,
	    BLE_IF_OM, "InterfacesRemoved", ingest_ble_signal, NULL,
	    NULL)) < 0)
		return (r);
	if ((r = sd_bus_match_signal_async(b, NULL, BLE_SERVICE, NULL,
	    BLE_IF_PROPS, "PropertiesChanged", ingest_ble_signal, NULL,
	    NULL)) < 0)
		return (r);
	/* bluetoothd restarting: every object it had is gone. */
	return (sd_bus_add_match_async(b, NULL, "type='signal',"
	    "sender='org.freedesktop.DBus',interface='org.freedesktop.DBus',"
	    "member='NameOwnerChanged',arg0='" BLE_SERVICE "'",
	    ingest_ble_signal, NULL, NULL));
}

/* Connect to the system bus; on failure try again later. */
static void
bus_open(void)
{
	sd_bus	*b = NULL;
	int	 r, rv;

	bus.retry_at = uv_now(daemon_loop()) +
	    ingest_ble_backoff_ms(bus.attempts, (uint32_t)random());
	if ((r = sd_bus_open_system(&b)) < 0 || (r = bus_matches(b)) < 0) {
		if (!bus.down_logged)
			log_warnx("ble: cannot connect to the system bus: %s; "
			    "retrying with backoff", strerror(-r));
		bus.down_logged = 1;
		bus.attempts++;
		sd_bus_close_unref(b);
		return;
	}
	bus.poll = xcalloc(1, sizeof *bus.poll);
	if ((rv = uv_poll_init(daemon_loop(), bus.poll,
	    sd_bus_get_fd(b))) != 0) {
		log_warnx("ble: uv_poll_init: %s", uv_strerror(rv));
		free(bus.poll);
		bus.poll = NULL;
		bus.attempts++;
		sd_bus_close_unref(b);
		return;
	}
	bus.bus = b;
	bus_arm();
}

/* Start the connection (the links wait for ingest_ble_bus_up). */
void
ingest_ble_bus_start(void)
{
	memset(&bus, 0, sizeof bus);
	uv_timer_init(daemon_loop(), &bus.timer);
	bus.started = 1;
	bus_open();
}

/* Housekeeping: reconnect the bus, retry failed discoveries. */
void
ingest_ble_bus_tick(uint64_t now)
{
	size_t	i;

	if (!bus.started)
		return;
	if (bus.bus == NULL) {
		if (now >= bus.retry_at)
			bus_open();
		return;
	}
	for (i = 0; i < bus.nadapters; i++)
		bus_disc_sync(&bus.adapters[i]);
}

/* Close the connection; the links have dropped their calls already. */
void
ingest_ble_bus_stop(void)
{
	size_t	i;

	if (!bus.started)
		return;
	for (i = 0; i < bus.nadapters; i++) {
		/* Say goodbye to BlueZ: sd-bus writes at once if it can. */
		if (bus.adapters[i].st == DISC_ON && ingest_ble_bus() != NULL)
			sd_bus_call_method_async(bus.bus, NULL, BLE_SERVICE,
			    bus.adapters[i].path, BLE_IF_ADAPTER,
			    "StopDiscovery", NULL, NULL, "");
		bus.adapters[i].slot = sd_bus_slot_unref(bus.adapters[i].slot);
		free(bus.adapters[i].path);
	}
	bus.nadapters = 0;
	if (bus.bus != NULL) {
		uv_poll_stop(bus.poll);
		uv_close((uv_handle_t *)bus.poll, bus_poll_closed);
		bus.poll = NULL;
		bus.bus = sd_bus_close_unref(bus.bus);
	}
	uv_close((uv_handle_t *)&bus.timer, NULL);
	bus.started = 0;
	bus.ready = 0;
}

/*
 * Call a BlueZ method: types and the values after it are the arguments
 * (sd_bus_message_append), timeout in microseconds (0: sd-bus's default).
 * A NULL callback sends and forgets.  Returns a negative errno.
 */
int
ingest_ble_bus_call(sd_bus_slot **slot, const char *path, const char *iface,
    const char *member, uint64_t timeout, sd_bus_message_handler_t cb,
    void *arg, const char *types, ...)
{
	sd_bus_message	*m = NULL;
	va_list		 ap;
	int		 r;

	if (ingest_ble_bus() == NULL)
		return (-ENOTCONN);
	r = sd_bus_message_new_method_call(bus.bus, &m, BLE_SERVICE, path,
	    iface, member);
	if (r >= 0 && types != NULL && *types != '\0') {
		va_start(ap, types);
		r = sd_bus_message_appendv(m, types, ap);
		va_end(ap);
	}
	if (r >= 0)
		r = sd_bus_call_async(bus.bus, slot, m, cb, arg, timeout);
	sd_bus_message_unref(m);
	bus_arm();
	return (r);
}

/* Find or add an adapter by path. */
static struct bus_adapter *
bus_adapter(const char *path)
{
	struct bus_adapter	*a;
	size_t			 i;

	for (i = 0; i < bus.nadapters; i++) {
		if (strcmp(bus.adapters[i].path, path) == 0)
			return (&bus.adapters[i]);
	}
	/* Reuse an idle entry (reloads may have moved links elsewhere). */
	for (i = 0; i < bus.nadapters; i++) {
		a = &bus.adapters[i];
		if (a->refs == 0 && a->st == DISC_OFF && a->slot == NULL) {
			free(a->path);
			break;
		}
	}
	if (i == bus.nadapters) {
		/* Cannot happen: one adapter a link, 64 links at most. */
		if (bus.nadapters == INGEST_BLE_LINKS_MAX)
			return (NULL);
		a = &bus.adapters[bus.nadapters++];
	}
	memset(a, 0, sizeof *a);
	a->path = xstrdup(path);
	return (a);
}

/*
 * A discovery call failed: log once per adapter, retry later.  The error
 * comes from whoever answered on the bus: escaped like any peer string.
 */
static void
bus_disc_failed(struct bus_adapter *a, const char *what, const sd_bus_error *e)
{
	char	name[128], msg[256];

	if (!a->failed_logged)
		log_warnx("ble: %s: %s: %s: %s; retrying", a->path, what,
		    log_escape(name, sizeof name, e->name, strlen(e->name)),
		    log_escape(msg, sizeof msg, e->message != NULL ?
		    e->message : "", e->message != NULL ?
		    strlen(e->message) : 0));
	a->failed_logged = 1;
	a->st = DISC_OFF;
	a->retry_at = uv_now(daemon_loop()) + BUS_DISC_RETRY_MS;
}

/* StartDiscovery or StopDiscovery answered. */
static int
bus_disc_done(sd_bus_message *m, void *arg, sd_bus_error *ret)
{
	struct bus_adapter	*a = arg;
	const sd_bus_error	*e = sd_bus_message_get_error(m);

	(void)ret;
	a->slot = sd_bus_slot_unref(a->slot);
	if (a->st == DISC_STOPPING)
		a->st = DISC_OFF;	/* even on error: nothing to undo */
	else if (e == NULL || sd_bus_error_has_name(e,
	    "org.bluez.Error.InProgress")) {
		a->st = DISC_ON;
		a->failed_logged = 0;
		log_debug("ble: %s: discovering", a->path);
	} else
		bus_disc_failed(a, "StartDiscovery", e);
	bus_disc_sync(a);
	return (0);
}

/* SetDiscoveryFilter answered: start discovering either way. */
static int
bus_disc_filtered(sd_bus_message *m, void *arg, sd_bus_error *ret)
{
	struct bus_adapter	*a = arg;
	const sd_bus_error	*e = sd_bus_message_get_error(m);

	(void)ret;
	a->slot = sd_bus_slot_unref(a->slot);
	/* Without the filter discovery still finds the node, more slowly. */
	if (e != NULL)
		log_debug("ble: %s: SetDiscoveryFilter: %s", a->path, e->name);
	if (ingest_ble_bus_call(&a->slot, a->path, BLE_IF_ADAPTER,
	    "StartDiscovery", 0, bus_disc_done, a, NULL) < 0)
		a->st = DISC_OFF;
	return (0);
}

/* Bring an adapter's discovery in line with its searching links. */
static void
bus_disc_sync(struct bus_adapter *a)
{
	int	r = 0;

	if (ingest_ble_bus() == NULL || a->slot != NULL)
		return;		/* a call is out: its answer syncs again */
	if (a->refs > 0 && a->st == DISC_OFF &&
	    uv_now(daemon_loop()) >= a->retry_at) {
		a->st = DISC_STARTING;
		r = ingest_ble_bus_call(&a->slot, a->path, BLE_IF_ADAPTER,
		    "SetDiscoveryFilter", 0, bus_disc_filtered, a, "a{sv}", 2,
		    "Transport", "s", "le", "UUIDs", "as", 1, BLE_NUS_SERVICE);
	} else if (a->refs == 0 && a->st == DISC_ON) {
		a->st = DISC_STOPPING;
		r = ingest_ble_bus_call(&a->slot, a->path, BLE_IF_ADAPTER,
		    "StopDiscovery", 0, bus_disc_done, a, NULL);
	}
	if (r < 0) {
		log_warnx("ble: %s: discovery: %s", a->path, strerror(-r));
		a->st = DISC_OFF;
		a->retry_at = uv_now(daemon_loop()) + BUS_DISC_RETRY_MS;
	}
}

/* A link starts searching on an adapter. */
void
ingest_ble_disc_join(const char *path)
{
	struct bus_adapter	*a;

	if ((a = bus_adapter(path)) == NULL)
		return;
	a->refs++;
	bus_disc_sync(a);
}

/* A link stops searching on an adapter. */
void
ingest_ble_disc_leave(const char *path)
{
	struct bus_adapter	*a;

	if ((a = bus_adapter(path)) == NULL || a->refs == 0)
		return;
	a->refs--;
	bus_disc_sync(a);
}

/* Read a variant holding one basic value of type t, if it holds that. */
static int
bus_read_basic(sd_bus_message *m, const char *contents, char t, void *p)
{
	char	sig[2] = { t, '\0' };

	if (strcmp(contents, sig) != 0)
		return (sd_bus_message_skip(m, "v"));
	return (sd_bus_message_read(m, "v", sig, p));
}

/* Flags: does the characteristic notify (or indicate)? */
static int
bus_read_flags(sd_bus_message *m, struct ingest_ble_props *p)
{
	const char	*flag;
	int		 r;

	if ((r = sd_bus_message_enter_container(m, 'v', "as")) < 0 ||
	    (r = sd_bus_message_enter_container(m, 'a', "s")) < 0)
		return (r);
	p->notify = 0;
	while ((r = sd_bus_message_read(m, "s", &flag)) > 0) {
		if (strcmp(flag, "notify") == 0 ||
		    strcmp(flag, "indicate") == 0)
			p->notify = 1;
	}
	if (r < 0 || (r = sd_bus_message_exit_container(m)) < 0)
		return (r);
	return (sd_bus_message_exit_container(m));
}

/* Value: the bytes of a notification (StartNotify) or a read. */
static int
bus_read_value(sd_bus_message *m, struct ingest_ble_props *p)
{
	const void	*data;
	size_t		 len;
	int		 r;

	if ((r = sd_bus_message_enter_container(m, 'v', "ay")) < 0 ||
	    (r = sd_bus_message_read_array(m, 'y', &data, &len)) < 0)
		return (r);
	p->value = data;
	p->value_len = len;
	p->has_value = 1;
	return (sd_bus_message_exit_container(m));
}

/* One property's value, by key; a key or type we do not use is skipped. */
static int
bus_read_prop(sd_bus_message *m, const char *key, struct ingest_ble_props *p)
{
	const char	*contents;
	char		 type;
	int		 r, b;

	if ((r = sd_bus_message_peek_type(m, &type, &contents)) < 0)
		return (r);
	if (r == 0 || type != 'v')
		return (-EBADMSG);
	if (strcmp(key, "Address") == 0)
		return (bus_read_basic(m, contents, 's', &p->address));
	if (strcmp(key, "Name") == 0)
		return (bus_read_basic(m, contents, 's', &p->name));
	if (strcmp(key, "Alias") == 0)
		return (bus_read_basic(m, contents, 's', &p->alias));
	if (strcmp(key, "UUID") == 0)
		return (bus_read_basic(m, contents, 's', &p->uuid));
	if (strcmp(key, "Adapter") == 0)
		return (bus_read_basic(m, contents, 'o', &p->adapter));
	if (strcmp(key, "Device") == 0)
		return (bus_read_basic(m, contents, 'o', &p->device));
	if (strcmp(key, "Service") == 0)
		return (bus_read_basic(m, contents, 'o', &p->service));
	if ((strcmp(key, "Connected") == 0 ||
	    strcmp(key, "ServicesResolved") == 0) &&
	    strcmp(contents, "b") == 0) {
		if ((r = sd_bus_message_read(m, "v", "b", &b)) < 0)
			return (r);
		*(key[0] == 'C' ? &p->connected : &p->resolved) = b != 0;
		return (r);
	}
	if (strcmp(key, "Flags") == 0 && strcmp(contents, "as") == 0)
		return (bus_read_flags(m, p));
	if (strcmp(key, "Value") == 0 && strcmp(contents, "ay") == 0)
		return (bus_read_value(m, p));
	return (sd_bus_message_skip(m, "v"));
}

/*
 * Read a property dictionary (a{sv}) into p.  Keys of a type other than
 * BlueZ documents are ignored as if absent.  Returns a negative errno if
 * the message does not hold an a{sv} here.
 */
int
ingest_ble_props_read(sd_bus_message *m, struct ingest_ble_props *p)
{
	const char	*key;
	int		 r;

	memset(p, 0, sizeof *p);
	p->connected = p->resolved = p->notify = -1;
	if ((r = sd_bus_message_enter_container(m, 'a', "{sv}")) <= 0)
		return (r < 0 ? r : -EBADMSG);
	while ((r = sd_bus_message_enter_container(m, 'e', "sv")) > 0) {
		if ((r = sd_bus_message_read(m, "s", &key)) < 0 ||
		    (r = bus_read_prop(m, key, p)) < 0 ||
		    (r = sd_bus_message_exit_container(m)) < 0)
			return (r);
	}
	if (r < 0)
		return (r);
	return (sd_bus_message_exit_container(m));
}

/*
 * Read the interfaces of one object (a{sa{sv}}, as in InterfacesAdded and
 * GetManagedObjects), calling cb for each.
 */
int
ingest_ble_ifaces_read(sd_bus_message *m, const char *path,
    ingest_ble_iface_cb cb, void *arg)
{
	struct ingest_ble_props	 p;
	const char		*iface;
	int			 r;

	if ((r = sd_bus_message_enter_container(m, 'a', "{sa{sv}}")) <= 0)
		return (r < 0 ? r : -EBADMSG);
	while ((r = sd_bus_message_enter_container(m, 'e', "sa{sv}")) > 0) {
		if ((r = sd_bus_message_read(m, "s", &iface)) < 0 ||
		    (r = ingest_ble_props_read(m, &p)) < 0)
			return (r);
		cb(path, iface, &p, arg);
		if ((r = sd_bus_message_exit_container(m)) < 0)
			return (r);
	}
	if (r < 0)
		return (r);
	return (sd_bus_message_exit_container(m));
}

/* Read a GetManagedObjects answer (a{oa{sa{sv}}}), calling cb per interface. */
int
ingest_ble_objects_read(sd_bus_message *m, ingest_ble_iface_cb cb, void *arg)
{
	const char	*path;
	int		 r;

	if ((r = sd_bus_message_enter_container(m, 'a', "{oa{sa{sv}}}")) <= 0)
		return (r < 0 ? r : -EBADMSG);
	while ((r = sd_bus_message_enter_container(m, 'e',
	    "oa{sa{sv}}")) > 0) {
		if ((r = sd_bus_message_read(m, "o", &path)) < 0 ||
		    (r = ingest_ble_ifaces_read(m, path, cb, arg)) < 0 ||
		    (r = sd_bus_message_exit_container(m)) < 0)
			return (r);
	}
	if (r < 0)
		return (r);
	return (sd_bus_message_exit_container(m));
}
