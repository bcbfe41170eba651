#!/usr/bin/python3
# tests/e2e/bluez/ctl.py - the test's remote control of the BlueZ mock
# (mock.py): one command to org.tinyedge.BluezMock1.Command on the private
# bus, its JSON answer on stdout; exit 1 with the error on stderr.
#
# Usage: ctl.py --address ADDR [--timeout S] OP [KEY=VALUE]...
#   ping | stats
#   add addr=A [name=N] [known=1] [inrange=0] [acquire=0] [mtu=247]
#   remove addr=A | vanish addr=A [remove=1] | appear addr=A | drop addr=A
#   closefd addr=A  (the notify socket closes, the link stays up)
#   garbage addr=A  (malformed signals from org.bluez about the device)
#   set addr=A [acquire=0|1] [fail_connects=N] [connect_ms=N] [mtu=N]
#   send addr=A (file=PATH | text=STR) [seed=N] [min=20] [max=244] [rate=N]
#        (max is capped at the device's MTU - 3)
#   wait addr=A key=K value=V [timeout=S]   (V is JSON: true, 3, "fd")

import argparse
import json
import sys

import dbus


def main():
    """Send the command, print the answer."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--address", required=True)
    ap.add_argument("--timeout", type=float, default=300)
    ap.add_argument("op")
    ap.add_argument("args", nargs="*")
    a = ap.parse_args()
    cmd = {"op": a.op}
    for kv in a.args:
        k, v = kv.split("=", 1)
        if k == "value":
            v = json.loads(v)
        cmd[k] = v
    try:
        bus = dbus.bus.BusConnection(a.address)
        ctl = bus.get_object("org.bluez", "/org/tinyedge/BluezMock",
                             introspect=False)
        res = ctl.Command(json.dumps(cmd),
                          dbus_interface="org.tinyedge.BluezMock1",
                          timeout=a.timeout)
    except dbus.DBusException as e:
        print("ctl: %s: %s" % (a.op, e.get_dbus_message()), file=sys.stderr)
        return 1
    print(res)
    return 0


if __name__ == "__main__":
    sys.exit(main())
