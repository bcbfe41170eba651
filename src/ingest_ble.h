/*
 * ingest_ble.h - direct BLE links through BlueZ (SPEC section 12): one
 * link per [ble:NAME] section, a node's Nordic UART Service reached over
 * BlueZ's D-Bus API on the system bus.
 *
 * Besides the module's entry points, the pure parts of a link are public
 * so that they can be tested alone: the state machine's transition table,
 * device matching and the backoff.
 */
#ifndef TE_INGEST_BLE_H
#define TE_INGEST_BLE_H

#include <stdint.h>

struct config;
struct cJSON;

#define INGEST_BLE_LINKS_MAX	64	/* [ble:NAME] sections */
#define INGEST_BLE_NOTIFY_MAX	512	/* bytes of one notification */
#define INGEST_BLE_BACKOFF_MIN	1000	/* first retry, ms */
#define INGEST_BLE_BACKOFF_MAX	30000	/* retries at most this far apart */

/* Where a link is (logged on every transition). */
enum ingest_ble_state {
	INGEST_BLE_SEARCHING,	/* looking for the device (discovery) */
	INGEST_BLE_CONNECTING,	/* Device1.Connect sent */
	INGEST_BLE_RESOLVING,	/* waiting for ServicesResolved */
	INGEST_BLE_SUBSCRIBING,	/* finding NUS TX, AcquireNotify/StartNotify */
	INGEST_BLE_SUBSCRIBED,	/* notifications arrive */
	INGEST_BLE_BACKOFF,	/* waiting to try again */
};

/* What happened to a link. */
enum ingest_ble_event {
	INGEST_BLE_EV_RETRY,		/* backoff over and the bus is up */
	INGEST_BLE_EV_FOUND,		/* a matching device object */
	INGEST_BLE_EV_CONNECTED,	/* Connect succeeded */
	INGEST_BLE_EV_RESOLVED,		/* ServicesResolved is true */
	INGEST_BLE_EV_SUBSCRIBED,	/* notifications are on */
	INGEST_BLE_EV_FAILED,		/* a call failed, or a timeout */
	INGEST_BLE_EV_LOST,		/* the device went away */
	INGEST_BLE_EV_BUS_DOWN,		/* the system bus connection closed */
};

int	ingest_ble_check(const struct config *, char **);
int	ingest_ble_start(const struct config *, char **);
void	ingest_ble_reload(const struct config *);
void	ingest_ble_stop(void);
void	ingest_ble_tick(uint64_t);
void	ingest_ble_metrics(struct cJSON *);

enum ingest_ble_state ingest_ble_next(enum ingest_ble_state,
	    enum ingest_ble_event);
const char *ingest_ble_state_name(enum ingest_ble_state);
int	ingest_ble_match(const char *, const char *, const char *,
	    const char *, const char *);
uint64_t ingest_ble_backoff_ms(unsigned int, uint32_t);

#endif
