/*
 * ingest_ble_int.h - what the three files of BLE links share: the link
 * itself (its state machine and life in ingest_ble.c, the work of each
 * state and BlueZ's signals in ingest_ble_step.c) and the D-Bus side
 * (ingest_ble_bus.c: the system bus connection on the loop, discovery
 * shared per adapter, the readers of BlueZ's property dictionaries).
 * Nothing else includes it.
 */
#ifndef TE_INGEST_BLE_INT_H
#define TE_INGEST_BLE_INT_H

#include <stddef.h>
#include <stdint.h>

#include <systemd/sd-bus.h>
#include <uv.h>

#include "frame.h"
#include "ingest_ble.h"
#include "ingest_link.h"

#define BLE_SERVICE	"org.bluez"
#define BLE_IF_ADAPTER	"org.bluez.Adapter1"
#define BLE_IF_DEVICE	"org.bluez.Device1"
#define BLE_IF_SERVICE	"org.bluez.GattService1"
#define BLE_IF_CHAR	"org.bluez.GattCharacteristic1"
#define BLE_IF_OM	"org.freedesktop.DBus.ObjectManager"
#define BLE_IF_PROPS	"org.freedesktop.DBus.Properties"
#define BLE_NUS_SERVICE	"6e400001-b5a3-f393-e0a9-e50e24dcca9e"
#define BLE_NUS_TX	"6e400003-b5a3-f393-e0a9-e50e24dcca9e"

/* The AcquireNotify socket; freed (and closed) in its close callback. */
struct ble_notify {
	uv_poll_t		 poll;
	int			 fd;
	struct ble_link		*l;		/* NULL once closing */
};

/*
 * One [ble:NAME] link: ingest_ble.c runs its state machine and life,
 * ingest_ble_step.c the work of each state.
 */
struct ble_link {
	char			*name;
	char			*address;	/* configured, or NULL */
	char			*glob;		/* configured name glob, or NULL */
	char			*adapter;	/* /org/bluez/hci0 */
	char			*node;
	enum frame_framing	 framing;
	enum ingest_ble_state	 state;
	char			*dev;		/* device object, once found */
	char			*dev_addr;	/* its address, for logs */
	char			*chr;		/* NUS TX characteristic */
	sd_bus_slot		*slot;		/* the pending call */
	struct ble_notify	*notify;	/* AcquireNotify's socket */
	int			 searching;	/* joined the discovery */
	int			 notifying;	/* StartNotify is on */
	int			 ever_subscribed;
	unsigned int		 attempts;	/* failures since subscribed */
	uint64_t		 retry_at;
	uint64_t		 deadline;	/* of the current step */
	int			 outage_logged;	/* a failure was logged */
	uint64_t		 notifications;
	uint64_t		 bytes;
	uint64_t		 oversized;	/* notifications over 512 bytes */
	uint64_t		 connects;
	struct ingest_link	 il;
	struct frame_reader	 reader;
};

/*
 * The properties of one interface we care about, as read from an a{sv}:
 * strings point into the message (valid while it lives); a property that
 * is absent or of the wrong type stays NULL or -1.
 */
struct ingest_ble_props {
	const char	*address;	/* Device1 */
	const char	*name;
	const char	*alias;
	const char	*adapter;
	int		 connected;
	int		 resolved;	/* ServicesResolved */
	const char	*uuid;		/* GattService1, GattCharacteristic1 */
	const char	*device;	/* GattService1 */
	const char	*service;	/* GattCharacteristic1 */
	int		 notify;	/* Flags has notify or indicate */
	const uint8_t	*value;		/* Value, when has_value */
	size_t		 value_len;
	int		 has_value;
};

/* Called once per interface of an object (path, interface, properties). */
typedef void	(*ingest_ble_iface_cb)(const char *, const char *,
		    const struct ingest_ble_props *, void *);

/* ingest_ble_bus.c */
void	 ingest_ble_bus_start(void);
void	 ingest_ble_bus_stop(void);
sd_bus	*ingest_ble_bus(void);
void	 ingest_ble_bus_tick(uint64_t);
void	 ingest_ble_bus_kick(void);
int	 ingest_ble_bus_call(sd_bus_slot **, const char *, const char *,
	     const char *, uint64_t, sd_bus_message_handler_t, void *,
	     const char *, ...);
void	 ingest_ble_disc_join(const char *);
void	 ingest_ble_disc_leave(const char *);
int	 ingest_ble_props_read(sd_bus_message *, struct ingest_ble_props *);
int	 ingest_ble_ifaces_read(sd_bus_message *, const char *,
	     ingest_ble_iface_cb, void *);
int	 ingest_ble_objects_read(sd_bus_message *, ingest_ble_iface_cb,
	     void *);

/* ingest_ble.c: the links and their state machine. */
void	 ingest_ble_bus_up(void);
void	 ingest_ble_bus_down(void);
void	 ingest_ble_event(struct ble_link *, enum ingest_ble_event,
	     const char *);
struct ble_link **ingest_ble_links(size_t *);

/* ingest_ble_step.c: what each state does, and BlueZ's signals. */
void	 ingest_ble_search(struct ble_link *);
void	 ingest_ble_connect(struct ble_link *);
void	 ingest_ble_resolve(struct ble_link *);
void	 ingest_ble_subscribe(struct ble_link *);
void	 ingest_ble_unsubscribe(struct ble_link *);
int	 ingest_ble_signal(sd_bus_message *, void *, sd_bus_error *);

#endif
