#!/bin/bash
# ble-cobs.sh - a BLE link with `framing = cobs` against the real daemon
# and the BlueZ mock, the device refusing AcquireNotify
# (org.bluez.Error.NotSupported): the daemon falls back to StartNotify and
# reads the frames from PropertiesChanged of Value, cut at seeded random
# edges; 500 COBS frames with bad CRCs, bad frames and over-long ones mixed
# in are stored exactly and every kind of junk is counted in P/metrics;
# then 1 MB of random bytes, then valid frames again.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-mqtt.sh"
. "$(dirname "$0")/lib-serial.sh"
. "$(dirname "$0")/lib-ble.sh"

ble_ingest_test cobs signal
t_done
