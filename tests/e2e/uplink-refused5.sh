#!/bin/sh
# uplink-refused5.sh - uplink-refused.sh with MQTT 5: mosquitto announces
# its packet limit in the CONNACK and ends the session with a DISCONNECT
# (reason 0x95) for an oversize PUBLISH; the row must still be set aside.
PROTO=5 exec bash "$(dirname "$0")/uplink-refused.sh"
