#!/usr/bin/python3
# tests/e2e/bluez/probe.py - a small BlueZ client for ble-mock.sh, the
# self-test of the mock: it does what a BLE central does over the D-Bus
# API (discover, connect, subscribe to the NUS TX characteristic) where a
# command-line tool cannot keep a connection or an fd open, and prints
# what it saw for the test to check.
#
# Usage: probe.py --address ADDR CMD ...
#   discover SECONDS PATTERN   StartDiscovery (filter Pattern), hold it,
#                              print the device paths that appeared
#   acquire DEV BYTES OUT      AcquireNotify on DEV's TX; read notifications
#                              until BYTES arrived; OUT gets the bytes,
#                              OUT.sizes one notification size a line;
#                              prints "mtu=N"
#   signal DEV BYTES OUT       the same through StartNotify and
#                              PropertiesChanged of Value
#   spoof DEV TEXT             from this connection (not org.bluez): a
#                              Value change carrying TEXT on DEV's TX,
#                              Connected and ServicesResolved false on
#                              DEV, DEV's removal; what a hostile peer on
#                              the system bus can send
# DEV is the device's object path.  Each command gives up after 20 s.

import os
import sys
import time

import dbus
import dbus.lowlevel
import dbus.mainloop.glib
from gi.repository import GLib

CHAR = "org.bluez.GattCharacteristic1"
TX = "6e400003-b5a3-f393-e0a9-e50e24dcca9e"


def tx_path(bus, dev):
    """The path of DEV's NUS TX characteristic, from GetManagedObjects."""
    om = dbus.Interface(bus.get_object("org.bluez", "/"),
                        "org.freedesktop.DBus.ObjectManager")
    for path, ifaces in om.GetManagedObjects().items():
        if (path.startswith(dev + "/") and CHAR in ifaces and
                ifaces[CHAR]["UUID"] == TX):
            return path
    raise SystemExit("probe: no TX characteristic under %s" % dev)


def discover(bus, loop, secs, pattern):
    """Hold a discovery session; print the devices added meanwhile."""
    seen = []

    def added(path, ifaces):
        """Note a device object that appeared."""
        if "org.bluez.Device1" in ifaces:
            seen.append(str(path))
    bus.add_signal_receiver(added, signal_name="InterfacesAdded",
                            dbus_interface="org.freedesktop.DBus.ObjectManager")
    ad = dbus.Interface(bus.get_object("org.bluez", "/org/bluez/hci0"),
                        "org.bluez.Adapter1")
    if pattern:
        ad.SetDiscoveryFilter({"Pattern": pattern,
                               "Transport": "le"})
    ad.StartDiscovery()
    GLib.timeout_add(int(float(secs) * 1000), loop.quit)
    loop.run()
    for p in seen:
        print(p)


def acquire(bus, loop, dev, want, out):
    """Read notifications from the AcquireNotify socket."""
    ch = dbus.Interface(bus.get_object("org.bluez", tx_path(bus, dev)), CHAR)
    fd, mtu = ch.AcquireNotify({})
    fd = fd.take()
    print("mtu=%d" % mtu)
    data, sizes = b"", []
    end = time.monotonic() + 20
    while len(data) < want and time.monotonic() < end:
        b = os.read(fd, 4096)
        if not b:
            break
        data += b
        sizes.append(len(b))
    save(out, data, sizes)
    os.close(fd)


def signal(bus, loop, dev, want, out):
    """Collect notifications from PropertiesChanged of Value."""
    path = tx_path(bus, dev)
    got = {"data": b"", "sizes": []}

    def changed(iface, props, invalidated):
        """Collect a Value change."""
        if iface == CHAR and "Value" in props:
            v = bytes(props["Value"])
            got["data"] += v
            got["sizes"].append(len(v))
            if len(got["data"]) >= want:
                loop.quit()
    bus.add_signal_receiver(changed, signal_name="PropertiesChanged",
                            dbus_interface="org.freedesktop.DBus.Properties",
                            path=path)
    ch = dbus.Interface(bus.get_object("org.bluez", path), CHAR)
    ch.StartNotify()
    print("notifying")
    sys.stdout.flush()
    GLib.timeout_add(20000, loop.quit)
    loop.run()
    save(out, got["data"], got["sizes"])


def spoof(bus, dev, text):
    """Signals that claim to be BlueZ's, sent by another peer."""
    tx = dev + "/service000c/char000f"
    props = "org.freedesktop.DBus.Properties"

    def emit(path, iface, member, sig, *args):
        """Send one signal from this connection."""
        m = dbus.lowlevel.SignalMessage(path, iface, member)
        m.append(*args, signature=sig)
        bus.send_message(m)
    none = dbus.Array([], signature="s")
    emit(tx, props, "PropertiesChanged", "sa{sv}as", CHAR,
         {"Value": dbus.ByteArray(text.encode())}, none)
    emit(dev, props, "PropertiesChanged", "sa{sv}as", "org.bluez.Device1",
         {"Connected": dbus.Boolean(False),
          "ServicesResolved": dbus.Boolean(False)}, none)
    emit("/", "org.freedesktop.DBus.ObjectManager", "InterfacesRemoved",
         "oas", dbus.ObjectPath(dev), ["org.bluez.Device1"])
    bus.flush()


def save(out, data, sizes):
    """The bytes to OUT, the sizes to OUT.sizes."""
    with open(out, "wb") as f:
        f.write(data)
    with open(out + ".sizes", "w") as f:
        f.write("".join("%d\n" % n for n in sizes))


def main():
    """Run one command."""
    if len(sys.argv) < 4 or sys.argv[1] != "--address":
        raise SystemExit(__doc__)
    dbus.mainloop.glib.DBusGMainLoop(set_as_default=True)
    bus = dbus.bus.BusConnection(sys.argv[2])
    loop = GLib.MainLoop()
    cmd, args = sys.argv[3], sys.argv[4:]
    if cmd == "discover":
        discover(bus, loop, args[0], args[1] if len(args) > 1 else "")
    elif cmd == "spoof":
        spoof(bus, args[0], args[1])
    elif cmd in ("acquire", "signal"):
        {"acquire": acquire, "signal": signal}[cmd](bus, loop, args[0],
                                                    int(args[1]), args[2])
    else:
        raise SystemExit("probe: unknown command %s" % cmd)
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
