/*
 * uplink_refuse.c - rows the broker will not take (part of the uplink).
 *
 * A broker refuses a message over its packet size limit by dropping the
 * connection (mosquitto, MQTT 3.1.1), with a DISCONNECT (MQTT 5, reason
 * 0x95), or, for some refusals, with an MQTT 5 PUBACK reason code >= 0x80.
 * Resending such a row forever would stop every row after it and make
 * P/status flap, so each refusal is a strike against that row, and after
 * UPLINK_STRIKES in a row it is set aside: store_outbox_set_aside() moves
 * it to the aside table (counted in store.set_aside) and it is logged once
 * with its id.  An ack clears the row's strikes.
 *
 * Which row made the broker drop us?  Only the one publish in flight can
 * be blamed for sure.  When several were in flight, the rows up to the
 * newest of them are sent one at a time on the next connection
 * ("careful"), so the next drop names its row.  Paho fails what was in
 * flight (-11) before it reports the drop; those failures are counted
 * here so the drop still knows what was in flight.
 *
 * All on the loop thread; uplink.c calls in at each of those moments.
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>

#include "log.h"
#include "store.h"
#include "uplink_paho.h"

#define UPLINK_STRIKES		3	/* refusals before a row is set aside */
#define UPLINK_REASON_FAIL	0x80	/* MQTT 5 reason codes from here fail */

static struct {
	int64_t		strike_id;	/* row with strikes against it */
	int		strikes;
	int64_t		careful;	/* one at a time up to this id; 0: no */
	int64_t		fail_hi;	/* newest publish failed in this */
	size_t		nfail;		/* connection (Paho's -11s) */
} refused;

/*
 * Row id was refused once more (why says how).  The UPLINK_STRIKES-th
 * refusal in a row sets it aside so the rows after it can flow.
 */
void
uplink_refuse_strike(int64_t id, const char *why)
{
	char	reason[160];

	if (id <= 0)
		return;
	if (id != refused.strike_id) {
		refused.strike_id = id;
		refused.strikes = 0;
	}
	if (++refused.strikes < UPLINK_STRIKES) {
		log_debug("uplink: row %" PRId64 " refused (%s), strike %d",
		    id, why, refused.strikes);
		return;
	}
	snprintf(reason, sizeof reason, "%s, %d times", why, refused.strikes);
	if (store_outbox_set_aside(id, reason) != 0)
		return;		/* store refusing writes: try again later */
	log_warnx("uplink: row %" PRId64 " set aside: %s; the rows after it "
	    "go on", id, reason);
	refused.strike_id = 0;
	refused.strikes = 0;
	if (refused.careful != 0 && id >= refused.careful)
		refused.careful = 0;
}

/* Row id was acknowledged: whatever strikes it had are forgiven. */
void
uplink_refuse_acked(int64_t id)
{
	if (id == refused.strike_id)
		refused.strike_id = refused.strikes = 0;
}

/*
 * A publish in flight failed while the uplink thinks it is connected: an
 * MQTT 5 refusal in the PUBACK is a strike; anything else (Paho's -11 as
 * the link goes) is kept for uplink_refuse_lost().
 */
void
uplink_refuse_failed(const struct uplink_msg *m)
{
	char	why[64];

	if (m->reason >= UPLINK_REASON_FAIL) {
		snprintf(why, sizeof why, "PUBACK reason code 0x%02x",
		    m->reason);
		uplink_refuse_strike(m->id, why);
		return;
	}
	refused.nfail++;
	if (m->id > refused.fail_hi)
		refused.fail_hi = m->id;
}

/*
 * The connection dropped with infl[0..n) still in flight: if exactly one
 * row was in flight (or failed with the drop), the broker may have
 * dropped us for it: a strike.  With several, be careful next time.
 */
void
uplink_refuse_lost(const int64_t *infl, size_t n)
{
	int64_t	hi = refused.fail_hi;
	size_t	i;

	for (i = 0; i < n; i++)
		if (infl[i] > hi)
			hi = infl[i];
	if (n + refused.nfail == 1)
		uplink_refuse_strike(hi, "connection dropped after it was "
		    "published");
	else if (n + refused.nfail > 1 && hi > refused.careful)
		refused.careful = hi;
	refused.nfail = 0;
	refused.fail_hi = 0;
}

/* A new connection: failures of the last one are accounted for. */
void
uplink_refuse_connected(void)
{
	refused.nfail = 0;
	refused.fail_hi = 0;
}

/*
 * The in-flight window now: one row while careful, max otherwise.  Careful
 * ends once the rows up to its id were sent (cursor, the newest row handed
 * out, reached it) and nothing is in flight.
 */
size_t
uplink_refuse_window(size_t max, int64_t cursor, size_t ninfl)
{
	if (refused.careful != 0 && ninfl == 0 && cursor >= refused.careful) {
		log_info("uplink: rows up to id %" PRId64 " went out one at "
		    "a time; full window again", refused.careful);
		refused.careful = 0;
	}
	return (refused.careful != 0 ? 1 : max);
}

/* Forget everything (uplink start). */
void
uplink_refuse_reset(void)
{
	refused.strike_id = refused.careful = refused.fail_hi = 0;
	refused.strikes = 0;
	refused.nfail = 0;
}
