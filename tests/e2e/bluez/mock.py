#!/usr/bin/python3
# tests/e2e/bluez/mock.py - a stand-in for bluetoothd (BlueZ 5.66) on the
# private bus of the BLE tests, so that tinyedged's BLE links can be tested
# without a radio.
#
# It owns org.bluez and serves, as BlueZ documents them (doc/adapter-api.txt,
# device-api.txt, gatt-api.txt): the ObjectManager at / (GetManagedObjects,
# InterfacesAdded/Removed), one Adapter1 (discovery sessions per client, the
# discovery filter, devices that show up only while scanning unless they are
# known), Device1 (Connect/Disconnect, Connected and ServicesResolved by
# PropertiesChanged) and, once connected, a GATT database: Generic Attribute
# (Service Changed) and the Nordic UART Service with its RX and TX
# characteristics.  TX notifications go to the client either through
# AcquireNotify (one end of an AF_UNIX SOCK_SEQPACKET pair, one send per
# notification) or, after StartNotify, as PropertiesChanged of "Value".
#
# The test drives the radio side through org.tinyedge.BluezMock1 at
# /org/tinyedge/BluezMock (see ctl.py): one method, Command(json) -> json,
# with commands to add and remove devices, make them vanish and return, drop
# a link, send a byte stream as notifications cut at seeded random edges,
# change a device's behaviour (no AcquireNotify, failing connects) and read
# the counters of what the client called.  When the bus goes away the mock
# exits 0 (on a real system bluetoothd goes with the system bus too).
# The devices and their GATT objects are in device.py, what both share in
# base.py.
#
# Usage: mock.py --address ADDR [--adapter hci0] [--log FILE]
#                [--device ADDR[,name=N][,known=1][,inrange=0][,acquire=0]]...

import argparse
import json
import sys

# base.py and device.py are imported from the source tree: leave no
# __pycache__ there.
sys.dont_write_bytecode = True

import dbus
import dbus.service
import dbus.mainloop.glib
from gi.repository import GLib

import base
from base import (OM, ADAPTER, DEVICE, GATT, CTL, CTL_PATH, BUS_NAME, log,
                  BluezError, PropsObject)
from device import Device, SendJob

class Root(dbus.service.Object):
    """The ObjectManager at /."""

    def __init__(self, mock):
        super().__init__(mock.bus, "/")
        self.mock = mock

    @dbus.service.method(OM, out_signature="a{oa{sa{sv}}}")
    def GetManagedObjects(self):
        """Every object under org.bluez with its interfaces."""
        self.mock.count("get_managed_objects")
        return dbus.Dictionary({dbus.ObjectPath(o.path): o.managed()
            for o in self.mock.tree()}, signature="oa{sa{sv}}")

    @dbus.service.signal(OM, signature="oa{sa{sv}}")
    def InterfacesAdded(self, path, ifaces):
        """The signal (emitted for objects that appear)."""
        pass

    @dbus.service.signal(OM, signature="oas")
    def InterfacesRemoved(self, path, ifaces):
        """The signal (emitted for objects that go)."""
        pass


class Adapter(PropsObject):
    """org.bluez.Adapter1: discovery sessions, one per client, and the
    filters they set (merged as a logical OR, as BlueZ does)."""

    def __init__(self, mock, name, addr):
        super().__init__(mock, "/org/bluez/" + name)
        self.sessions = {}	# client unique name -> filter dict or None
        self.filters = {}	# client -> filter set before StartDiscovery
        self.watches = {}
        self.props[ADAPTER] = {
            "Address": addr, "AddressType": "public", "Name": "mock",
            "Alias": "mock", "Class": dbus.UInt32(0),
            "Powered": dbus.Boolean(True),
            "Discoverable": dbus.Boolean(False),
            "DiscoverableTimeout": dbus.UInt32(180),
            "Pairable": dbus.Boolean(True),
            "PairableTimeout": dbus.UInt32(0),
            "Discovering": dbus.Boolean(False),
            "UUIDs": dbus.Array([GATT], signature="s"),
            "Modalias": "usb:v1D6Bp0246d0542",
        }

    def watch(self, client):
        """Release a client's sessions when it leaves the bus."""
        if client in self.watches:
            return

        def gone(owner):
            """The bus connection closed."""
            if owner == "":
                self.release(client)
        self.watches[client] = self.mock.bus.watch_name_owner(client, gone)

    def release(self, client):
        """Drop a client's discovery session and filter."""
        self.filters.pop(client, None)
        if self.sessions.pop(client, "none") != "none":
            log("discovery session of %s released", client)
        self.mock.scan_changed()

    def matches(self, dev):
        """Whether any discovery session would report dev."""
        for f in self.sessions.values():
            if f is None:
                return True
            uuids = [str(u).lower() for u in f.get("UUIDs", [])]
            if uuids and not set(uuids) & set(dev.uuids):
                continue
            pat = str(f.get("Pattern", ""))
            if pat and not (dev.addr.startswith(pat.upper()) or
                            (dev.name or "").startswith(pat)):
                continue
            return True
        return False

    @dbus.service.method(ADAPTER, sender_keyword="sender")
    def StartDiscovery(self, sender=None):
        """A discovery session for the caller."""
        self.mock.count("start_discovery")
        if sender in self.sessions:
            raise BluezError("InProgress", "Operation already in progress")
        self.watch(sender)
        self.sessions[sender] = self.filters.get(sender)
        log("StartDiscovery by %s filter %s", sender, self.sessions[sender])
        self.mock.scan_changed()

    @dbus.service.method(ADAPTER, sender_keyword="sender")
    def StopDiscovery(self, sender=None):
        """End the caller's discovery session."""
        self.mock.count("stop_discovery")
        if sender not in self.sessions:
            raise BluezError("Failed", "No discovery started")
        del self.sessions[sender]
        log("StopDiscovery by %s", sender)
        self.mock.scan_changed()

    @dbus.service.method(ADAPTER, in_signature="a{sv}",
                         sender_keyword="sender")
    def SetDiscoveryFilter(self, filt, sender=None):
        """The caller's filter, checked as BlueZ checks it."""
        self.mock.count("set_discovery_filter")
        known = {"UUIDs", "RSSI", "Pathloss", "Transport", "DuplicateData",
                 "Discoverable", "Pattern"}
        for k in filt:
            if k not in known:
                raise BluezError("InvalidArguments", "Invalid arguments")
        if "Transport" in filt and filt["Transport"] not in ("auto", "le",
                                                             "bredr"):
            raise BluezError("InvalidArguments", "Invalid arguments")
        if "RSSI" in filt and "Pathloss" in filt:
            raise BluezError("InvalidArguments", "Invalid arguments")
        self.watch(sender)
        f = {str(k): v for k, v in filt.items()} if filt else None
        self.filters[sender] = f
        self.mock.last_filter = {k: (list(map(str, v)) if k == "UUIDs"
                                     else (str(v) if isinstance(v, str)
                                           else int(v)))
                                 for k, v in (f or {}).items()}
        if sender in self.sessions:
            self.sessions[sender] = f
            self.mock.scan_changed()

    @dbus.service.method(ADAPTER, out_signature="as")
    def GetDiscoveryFilters(self):
        """The filter keys the mock understands."""
        return ["UUIDs", "RSSI", "Pathloss", "Transport", "DuplicateData",
                "Discoverable", "Pattern"]

    @dbus.service.method(ADAPTER, in_signature="o")
    def RemoveDevice(self, path):
        """Forget a device (its object goes)."""
        for d in self.mock.devices.values():
            if d.path == path and d.exported:
                d.link_loss("removed")
                d.unexport()
                d.known = False
                return
        raise BluezError("DoesNotExist", "Does Not Exist")


class Mock:
    """The whole mock: the bus, /, the adapter, the devices and the
    call counters the test asserts on."""

    def __init__(self, bus, adapter, scan_ms, temp_s):
        self.bus = bus
        self.scan_ms = scan_ms
        self.temp_s = temp_s
        self.calls = {}
        self.last_filter = None
        self.devices = {}
        self.scan_timer = None
        self.temp_timer = None
        self.root = Root(self)
        self.adapter = Adapter(self, adapter, "00:1A:7D:DA:71:13")

    def count(self, what):
        """Count a call of the client."""
        self.calls[what] = self.calls.get(what, 0) + 1

    def tree(self):
        """Every exported object that GetManagedObjects lists."""
        objs = [self.adapter]
        for d in self.devices.values():
            if d.exported:
                objs.append(d.obj)
                objs.extend(d.gatt)
        return objs

    def discovering(self):
        """Whether any discovery session runs."""
        return bool(self.adapter.sessions)

    def scan_changed(self):
        """Discovery started, stopped or its filter changed: Discovering,
        and a scan after scan_ms that finds the devices in range."""
        on = self.discovering()
        self.adapter.change(ADAPTER, Discovering=dbus.Boolean(on))
        if on and self.scan_timer is None:
            self.scan_timer = GLib.timeout_add(self.scan_ms, self.scan)
        if not on and self.temp_timer is None:
            self.temp_timer = GLib.timeout_add(self.temp_s * 1000,
                                               self.expire)

    def scan(self):
        """Devices in range that a session's filter matches appear."""
        self.scan_timer = None
        if not self.discovering():
            return False
        for d in self.devices.values():
            if d.inrange and not d.exported and self.adapter.matches(d):
                d.export()
        return False

    def expire(self):
        """Discovery is off: found devices that are neither known nor
        connected are removed, as BlueZ does with temporary devices."""
        self.temp_timer = None
        if self.discovering():
            return False
        for d in self.devices.values():
            if d.exported and not d.known and not d.connected:
                d.unexport()
        return False

    def add(self, addr, **kw):
        """A new device (exported at once when known and in range)."""
        d = Device(self, addr, **kw)
        if d.addr in self.devices:
            raise ValueError("device %s exists" % d.addr)
        self.devices[d.addr] = d
        if d.inrange and (d.known or self.discovering()):
            if d.known:
                d.export()
            elif self.scan_timer is None:
                self.scan_timer = GLib.timeout_add(self.scan_ms, self.scan)
        return d

    def appear(self, d):
        """A device comes (back) in range."""
        d.inrange = True
        if d.known:
            d.export()
        elif self.discovering() and self.scan_timer is None:
            self.scan_timer = GLib.timeout_add(self.scan_ms, self.scan)


def opt_bool(v):
    """'1', 'yes', 'true' as True."""
    return str(v).lower() in ("1", "yes", "true", "on")


def device_args(kv):
    """Device() keywords from command or --device key=value pairs."""
    kw = {}
    if "name" in kv:
        kw["name"] = kv["name"]
    for k in ("known", "inrange", "acquire"):
        if k in kv:
            kw[k] = opt_bool(kv[k])
    if "mtu" in kv:
        kw["mtu"] = int(kv["mtu"])
        if not 23 <= kw["mtu"] <= 65535:
            raise ValueError("MTU %d not in 23..65535" % kw["mtu"])
    return kw


class Control(dbus.service.Object):
    """org.tinyedge.BluezMock1: the test's side of the radio."""

    def __init__(self, mock):
        super().__init__(mock.bus, CTL_PATH)
        self.mock = mock

    @dbus.service.method(CTL, in_signature="s", out_signature="s",
                         async_callbacks=("ok", "err"))
    def Command(self, text, ok, err):
        """One test command (JSON in, JSON out)."""
        try:
            cmd = json.loads(text)
            res = self.run(cmd, ok, err)
        except (ValueError, KeyError, TypeError, OSError) as e:
            err(dbus.DBusException("%s: %s" % (type(e).__name__, e),
                name=CTL + ".Error"))
            return
        if res is not None:
            ok(json.dumps(res))

    def dev(self, cmd):
        """The device a command names."""
        return self.mock.devices[str(cmd["addr"]).upper()]

    def run(self, cmd, ok, err):
        """One command; a dict to reply now, or None when a callback
        replies later."""
        m, op = self.mock, cmd["op"]
        log("ctl %s", cmd)
        if op == "ping":
            return {"ok": True}
        if op == "add":
            m.add(cmd["addr"], **device_args(cmd))
        elif op == "remove":
            d = self.dev(cmd)
            d.unexport()
            del m.devices[d.addr]
        elif op == "vanish":
            d = self.dev(cmd)
            d.inrange = False
            d.link_loss("out of range")
            if opt_bool(cmd.get("remove", 0)):
                d.unexport()
        elif op == "appear":
            m.appear(self.dev(cmd))
        elif op == "drop":
            self.dev(cmd).link_loss("link lost")
        elif op == "closefd":
            # BlueZ closes the notify socket alone, e.g. when the MTU is
            # negotiated again; the link stays up.
            d = self.dev(cmd)
            if not d.gatt_up or d.tx.sock is None:
                raise ValueError("%s: no notify socket" % d.addr)
            d.tx.release_fd()
        elif op == "garbage":
            self.garbage(self.dev(cmd))
        elif op == "set":
            d = self.dev(cmd)
            for k in ("acquire",):
                if k in cmd:
                    setattr(d, k, opt_bool(cmd[k]))
            for k in ("fail_connects", "connect_ms", "resolve_ms",
                      "fail_ms", "mtu"):
                if k in cmd:
                    setattr(d, k, int(cmd[k]))
        elif op == "send":
            return self.send(cmd, ok)
        elif op == "stats":
            return {"calls": m.calls, "filter": m.last_filter,
                    "discovering": m.discovering(),
                    "devices": {a: d.state() for a, d in m.devices.items()}}
        elif op == "wait":
            self.wait(cmd, ok, err)
            return None
        else:
            raise ValueError("unknown op %s" % op)
        return {"ok": True}

    def send(self, cmd, ok):
        """Start a SendJob; it replies when done."""
        d = self.dev(cmd)
        if "file" in cmd:
            with open(cmd["file"], "rb") as f:
                data = f.read()
        else:
            data = cmd["text"].encode()
        if d.job is not None:
            raise ValueError("%s: a send is under way" % d.addr)
        if not d.gatt_up or d.tx.subscribed() is None:
            raise ValueError("%s: no client subscribed" % d.addr)
        lo = int(cmd.get("min", 20))
        # A notification carries at most MTU - 3 bytes.  (An attribute
        # value is at most 512 bytes, whatever the MTU: a device with a
        # larger MTU can break that rule, as a misbehaving stack could.)
        hi = min(int(cmd.get("max", 244)), d.mtu - 3)
        if not 1 <= lo <= hi:
            raise ValueError("bad chunk sizes %d..%d" % (lo, hi))
        d.job = SendJob(d, data, int(cmd.get("seed", 1)), lo, hi,
                        float(cmd.get("rate", 0)), ok)
        return None

    def garbage(self, d):
        """Signals from org.bluez itself with the wrong types where the
        client expects others, and objects it cannot use; the device's
        real state does not change."""
        sv = lambda **kw: dbus.Dictionary(kw, signature="sv")
        none = dbus.Array([], signature="s")
        if d.exported:
            d.obj.PropertiesChanged(DEVICE, sv(Connected="no",
                ServicesResolved=dbus.Int32(0), Address=dbus.UInt32(7),
                Name=dbus.Array([1, 2], signature="y")), none)
            d.obj.PropertiesChanged(DEVICE, sv(), dbus.Array(
                ["Connected", "ServicesResolved"], signature="s"))
        if d.gatt_up:
            d.tx.PropertiesChanged(base.CHAR, sv(Value=dbus.Array(
                ["x"], signature="s"), UUID=dbus.Int64(3)), none)
            d.tx.PropertiesChanged(base.CHAR, sv(Value=dbus.Dictionary(
                {"a": "b"}, signature="ss")), none)
        junk = d.path + "/service00ff"
        self.mock.root.InterfacesAdded(junk, {
            base.SERVICE: sv(UUID=dbus.Int32(1), Device="nowhere",
                             Primary="yes"),
            "org.example.Unknown1": sv(Foo=dbus.Double(1.5))})
        self.mock.root.InterfacesAdded(junk + "/char0100", {
            base.CHAR: sv(UUID=base.NUS_TX, Service=dbus.ObjectPath(junk),
                          Flags=dbus.Array([], signature="s"))})
        self.mock.root.InterfacesAdded("/org/bluez/hci0/dev_bogus", {
            DEVICE: sv(Address=dbus.Array(["a"], signature="s"),
                       Name=dbus.Int16(5), Connected=dbus.Boolean(True))})
        self.mock.root.InterfacesRemoved("/org/bluez/hci9/nothing",
                                         dbus.Array(["x.y"], signature="s"))
        self.mock.root.InterfacesRemoved(junk + "/char0100", none)
        self.mock.root.InterfacesRemoved(junk, none)
        self.mock.root.InterfacesRemoved("/org/bluez/hci0/dev_bogus", none)

    def wait(self, cmd, ok, err):
        """Reply once a device's state key has a value (bounded)."""
        d = self.dev(cmd)
        key, want = cmd["key"], cmd["value"]
        left = [int(float(cmd.get("timeout", 10)) * 50)]

        def poll():
            """Check the state; False stops polling."""
            got = d.state().get(key)
            if got == want:
                ok(json.dumps({"ok": True}))
                return False
            left[0] -= 1
            if left[0] <= 0:
                err(dbus.DBusException("timeout: %s is %r, not %r" %
                    (key, got, want), name=CTL + ".Timeout"))
                return False
            return True
        if poll():
            GLib.timeout_add(20, poll)


def main():
    """Parse the options, own org.bluez on the bus, run until it goes."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--address", required=True)
    ap.add_argument("--adapter", default="hci0")
    ap.add_argument("--log")
    ap.add_argument("--scan-ms", type=int, default=200)
    ap.add_argument("--temp-timeout", type=int, default=30)
    ap.add_argument("--device", action="append", default=[])
    a = ap.parse_args()
    if a.log:
        base.LOG[0] = open(a.log, "a")
    dbus.mainloop.glib.DBusGMainLoop(set_as_default=True)
    bus = dbus.bus.BusConnection(a.address)
    bus.set_exit_on_disconnect(False)
    loop = GLib.MainLoop()

    def gone():
        """The bus connection closed."""
        log("bus gone: exiting")
        loop.quit()
    bus.add_signal_receiver(gone, signal_name="Disconnected",
        dbus_interface="org.freedesktop.DBus.Local",
        path="/org/freedesktop/DBus/Local")
    mock = Mock(bus, a.adapter, a.scan_ms, a.temp_timeout)
    for spec in a.device:
        addr, *rest = spec.split(",")
        mock.add(addr, **device_args(dict(kv.split("=", 1) for kv in rest)))
    Control(mock)
    # The name last: a client that sees org.bluez sees it whole.
    name = dbus.service.BusName(BUS_NAME, bus, do_not_queue=True)
    log("ready on %s", a.address)
    loop.run()
    del name
    return 0


if __name__ == "__main__":
    sys.exit(main())
