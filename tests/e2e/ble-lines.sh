#!/bin/bash
# ble-lines.sh - a BLE link with `framing = lines` against the real daemon
# and the BlueZ mock on a private bus: the device's notifications arrive
# on the AcquireNotify socket, cut at seeded random edges of 20..244 bytes
# with no regard for line ends; 500 messages with junk lines mixed in are
# stored exactly, every qualifying inference becomes one event, and the
# link's counters in P/metrics (ble_links.b0) equal the junk of each kind;
# then 1 MB of random bytes does no harm and valid lines still get through.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-mqtt.sh"
. "$(dirname "$0")/lib-serial.sh"
. "$(dirname "$0")/lib-ble.sh"

ble_ingest_test lines fd
t_done
