#!/bin/bash
# ble-mock.sh - the self-test of the BLE test bed, without the daemon: the
# private bus starts from tests/e2e/bluez/bus.conf at an address in the
# test's directory (and again at the same address after a kill -9), and
# the BlueZ mock answers as BlueZ 5.66 documents it, checked with busctl
# and a small client (bluez/probe.py): the object tree, discovery sessions
# per client and their filters, Connect and ServicesResolved, the NUS
# characteristics, AcquireNotify (one notification per read, 20..244 bytes,
# the bytes in order) and its refusals, StartNotify with Value changes,
# a device that vanishes and returns, and the mock's exit with the bus.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-mqtt.sh"
. "$(dirname "$0")/lib-serial.sh"
. "$(dirname "$0")/lib-ble.sh"
command -v busctl > /dev/null || t_skip_all "busctl not installed"

A1=$(addr_of 1)
A2=$(addr_of 2)
D1=/org/bluez/hci0/dev_C0_FF_EE_00_00_01
D2=/org/bluez/hci0/dev_C0_FF_EE_00_00_02
B="busctl --address=$BUS_ADDR"
probe() { timeout -k 2 30 "$BLE_PY" -B "$BLE_DIR/probe.py" --address "$BUS_ADDR" "$@"; }
objects() { $B --json=short call org.bluez / \
    org.freedesktop.DBus.ObjectManager GetManagedObjects | jq -r '.data[0] | keys[]'; }
prop() { $B get-property org.bluez "$1" "$2" "$3" | cut -d' ' -f2-; }
prop_is() { [ "$(prop "$1" "$2" "$3")" = "$4" ]; }

t_ok "private bus up" start_bus
t_ok "mock up" start_mock --device "$A1,name=nus-1,known=1" \
    --device "$A2,name=sensor-2"
t_ok "it owns org.bluez" sh -c "$B list | grep -q '^org.bluez '"
objects > "$T/objs"
t_ok "the tree has the adapter" grep -qx /org/bluez/hci0 "$T/objs"
t_ok "and the known device" grep -qx "$D1" "$T/objs"
t_ok "but not the one never scanned" sh -c "! grep -q '$D2' '$T/objs'"
t_is "adapter powered" "$(prop /org/bluez/hci0 org.bluez.Adapter1 Powered)" true
t_is "device name" "$(prop "$D1" org.bluez.Device1 Name)" '"nus-1"'
t_is "device address" "$(prop "$D1" org.bluez.Device1 Address)" "\"$A1\""
t_ok "a filter with an unknown key is refused" sh -c "! $B call org.bluez \
    /org/bluez/hci0 org.bluez.Adapter1 SetDiscoveryFilter 'a{sv}' 1 Foo s x \
    2> '$T/err' && grep -q 'Invalid arguments' '$T/err'"
t_ok "StopDiscovery without a session fails" sh -c "! $B call org.bluez \
    /org/bluez/hci0 org.bluez.Adapter1 StopDiscovery 2> /dev/null"

# Discovery: the scanned device appears only while a session holds it,
# and only when the client's filter matches it.
probe discover 1 nomatch > "$T/disc0"
t_is "a filter that matches nothing finds nothing" "$(cat "$T/disc0")" ""
probe discover 1 sensor > "$T/disc1" &
P=$!
t_ok "Discovering while a session is held" wait_for 3 \
    prop_is /org/bluez/hci0 org.bluez.Adapter1 Discovering true
wait "$P"
t_is "the device found by its name's prefix appeared" "$(cat "$T/disc1")" "$D2"
t_ok "the session is released when its client leaves the bus" wait_for 3 \
    prop_is /org/bluez/hci0 org.bluez.Adapter1 Discovering false
t_is "StartDiscovery twice counted" "$(mock_get .calls.start_discovery)" 2

# Connect: Connected, then the GATT objects, then ServicesResolved.
t_ok "Connect" $B call org.bluez "$D1" org.bluez.Device1 Connect
t_ok "ServicesResolved" wait_for 3 prop_is "$D1" org.bluez.Device1 \
    ServicesResolved true
objects > "$T/objs"
TX=$D1/service000c/char000f
t_is "TX characteristic UUID" "$(prop "$TX" org.bluez.GattCharacteristic1 UUID)" \
    '"6e400003-b5a3-f393-e0a9-e50e24dcca9e"'
t_is "TX flags" "$(prop "$TX" org.bluez.GattCharacteristic1 Flags)" '1 "notify"'
t_is "the NUS service belongs to the device" \
    "$(prop "$D1/service000c" org.bluez.GattService1 Device)" "\"$D1\""
t_is "GATT objects: 2 services, 3 characteristics, 1 descriptor" \
    "$(grep -c "^$D1/" "$T/objs")" 6

# AcquireNotify: one notification per read.
random_bytes "$T/rand" 3
head -c 100000 "$T/rand" > "$T/data"
probe acquire "$D1" 100000 "$T/got" > "$T/acq.out" &
P=$!
t_ok "AcquireNotify taken" wait_for 5 dev_is "$A1" subscribed fd
t_is "NotifyAcquired" "$(prop "$TX" org.bluez.GattCharacteristic1 NotifyAcquired)" true
t_ok "a second AcquireNotify is refused" sh -c "! $B call org.bluez $TX \
    org.bluez.GattCharacteristic1 AcquireNotify 'a{sv}' 0 2> /dev/null"
t_ok "StartNotify while acquired is refused" sh -c "! $B call org.bluez $TX \
    org.bluez.GattCharacteristic1 StartNotify 2> /dev/null"
t_ok "100 KB sent" ble_send "$A1" "$T/data" 5
wait "$P"
t_is "MTU 247" "$(cat "$T/acq.out")" mtu=247
t_ok "the bytes arrived whole and in order" cmp -s "$T/data" "$T/got"
t_is "one read per notification" "$(wc -l < "$T/got.sizes")" \
    "$(jq -r .notifications "$T/send.json")"
t_ok "every notification 20..244 bytes" awk \
    '$1 < 20 || $1 > 244 { bad = 1 } END { exit bad }' "$T/got.sizes"
t_ok "at random sizes" test "$(sort -u "$T/got.sizes" | wc -l)" -gt 100
t_ok "the client's close ends the acquisition" wait_for 3 \
    prop_is "$TX" org.bluez.GattCharacteristic1 NotifyAcquired false

# The device vanishes: the link drops, Connect fails until it returns.
ctl vanish addr="$A1" > /dev/null
t_is "Connected false" "$(prop "$D1" org.bluez.Device1 Connected)" false
no_gatt() { ! objects | grep -q "^$D1/"; }
t_ok "GATT objects gone" no_gatt
t_ok "Connect fails while it is away" sh -c "! $B call org.bluez $D1 \
    org.bluez.Device1 Connect 2> '$T/err' && grep -q 'le-connection-abort' '$T/err'"
ctl appear addr="$A1" > /dev/null
t_ok "Connect works once it is back" $B call org.bluez "$D1" org.bluez.Device1 Connect
t_is "link losses counted" "$(dev_get "$A1" link_losses)" 1

# No AcquireNotify: StartNotify and PropertiesChanged of Value.
ctl set addr="$A1" acquire=0 > /dev/null
t_ok "resolved again" mock_wait "$A1" resolved true 3
t_ok "AcquireNotify refused as NotSupported" sh -c "! $B call org.bluez $TX \
    org.bluez.GattCharacteristic1 AcquireNotify 'a{sv}' 0 2> '$T/err' &&
    grep -q 'not supported' '$T/err'"
head -c 20000 "$T/rand" > "$T/data2"
probe signal "$D1" 20000 "$T/got2" > "$T/sig.out" &
P=$!
t_ok "StartNotify taken" wait_for 5 dev_is "$A1" subscribed signal
t_ok "20 KB sent" ble_send "$A1" "$T/data2" 6
wait "$P"
t_ok "the bytes arrived by Value changes, in order" cmp -s "$T/data2" "$T/got2"
t_ok "the session ends with its client" wait_for 3 dev_is "$A1" subscribed null

# The bus goes: the mock exits; a bus at the same address works again.
stop_bus
t_is "the mock exits 0 with the bus" "$EXIT_RC" 0
t_ok "a new bus at the same address" start_bus
t_ok "a new mock on it" start_mock --device "$A1,known=1"
t_is "a device without a name is aliased by its address" \
    "$(prop "$D1" org.bluez.Device1 Alias)" '"C0-FF-EE-00-00-01"'
stop_bus
t_done
