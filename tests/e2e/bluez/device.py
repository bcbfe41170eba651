# tests/e2e/bluez/device.py - the simulated NUS nodes of the BlueZ mock:
# a Device's link (Connect succeeds only in range, a link loss closes the
# notify fd and removes the GATT objects), its exported org.bluez.Device1,
# the GATT database that appears once connected (Generic Attribute with
# Service Changed, and the Nordic UART Service: RX and TX with its CCCD),
# the TX characteristic's two ways to notify (AcquireNotify: an AF_UNIX
# SOCK_SEQPACKET pair, one send per notification; StartNotify:
# PropertiesChanged of Value), and SendJob, a byte stream cut into
# notifications at seeded random edges.

import json
import random
import socket
import time

import dbus
import dbus.service
from gi.repository import GLib

from base import (PROPS, ADAPTER, DEVICE, SERVICE, CHAR, DESC, NUS, NUS_RX,
                  NUS_TX, GATT, SVC_CHANGED, CCCD, log, BluezError,
                  PropsObject)


class Gatt(PropsObject):
    """A GATT service, characteristic or descriptor of a connected device."""

    def __init__(self, mock, path, iface, props):
        super().__init__(mock, path)
        self.iface = iface
        self.props[iface] = props


class TxChar(Gatt):
    """The NUS TX characteristic: notifications by fd or by signal."""

    def __init__(self, dev, path, svc):
        super().__init__(dev.mock, path, CHAR, {
            "UUID": NUS_TX, "Service": dbus.ObjectPath(svc),
            "Value": dbus.ByteArray(b""),
            "Notifying": dbus.Boolean(False),
            "Flags": dbus.Array(["notify"], signature="s"),
            "NotifyAcquired": dbus.Boolean(False),
            "MTU": dbus.UInt16(dev.mtu),
        })
        self.dev = dev
        self.notifiers = set()	# StartNotify sessions (client names)
        self.sock = None	# our end of an AcquireNotify pair
        self.hup = None

    def subscribed(self):
        """"fd", "signal" or None: how notifications reach the client."""
        if self.sock is not None:
            return "fd"
        return "signal" if self.notifiers else None

    @dbus.service.method(CHAR, in_signature="a{sv}", out_signature="hq")
    def AcquireNotify(self, opts):
        """The notify socket: our end kept, theirs returned with the MTU."""
        self.dev.counters["acquire_notify"] += 1
        if not self.dev.acquire:
            raise BluezError("NotSupported", "Operation is not supported")
        if self.sock is not None or self.notifiers:
            raise BluezError("NotPermitted", "Notify acquired")
        ours, theirs = socket.socketpair(socket.AF_UNIX,
                                         socket.SOCK_SEQPACKET)
        ours.setblocking(False)
        self.sock = ours
        self.hup = GLib.io_add_watch(ours.fileno(), GLib.PRIORITY_DEFAULT,
            GLib.IO_HUP | GLib.IO_ERR, self.on_hup)
        fd = dbus.types.UnixFd(theirs.fileno())
        theirs.close()
        self.change(CHAR, NotifyAcquired=dbus.Boolean(True),
                    Notifying=dbus.Boolean(True))
        log("%s: AcquireNotify mtu %d", self.dev.addr, self.dev.mtu)
        return (fd, dbus.UInt16(self.dev.mtu))

    def on_hup(self, fd, cond):
        """The client closed its end: notifications stop."""
        log("%s: notify fd closed by the client", self.dev.addr)
        self.release_fd(False)
        return False

    def release_fd(self, remove_watch=True):
        """Close our end of the notify pair (a HUP for the client)."""
        if self.sock is None:
            return
        if remove_watch and self.hup is not None:
            GLib.source_remove(self.hup)
        self.hup = None
        self.sock.close()
        self.sock = None
        if self.dev.gatt_up:
            self.change(CHAR, NotifyAcquired=dbus.Boolean(False),
                        Notifying=dbus.Boolean(bool(self.notifiers)))

    @dbus.service.method(CHAR, sender_keyword="sender")
    def StartNotify(self, sender=None):
        """A notify session for the caller: Value changes as signals."""
        self.dev.counters["start_notify"] += 1
        if self.sock is not None:
            raise BluezError("NotPermitted", "Notify acquired")
        if sender in self.notifiers:
            raise BluezError("InProgress", "Operation already in progress")
        self.notifiers.add(sender)

        def gone(owner):
            """The caller left the bus: its session ends."""
            if owner == "" and sender in self.notifiers:
                self.notifiers.discard(sender)
                if self.dev.gatt_up:
                    self.change(CHAR,
                                Notifying=dbus.Boolean(bool(self.notifiers)))
        self.mock.bus.watch_name_owner(sender, gone)
        self.change(CHAR, Notifying=dbus.Boolean(True))
        log("%s: StartNotify by %s", self.dev.addr, sender)

    @dbus.service.method(CHAR, sender_keyword="sender")
    def StopNotify(self, sender=None):
        """End the caller's notify session."""
        self.dev.counters["stop_notify"] += 1
        if sender not in self.notifiers:
            raise BluezError("Failed", "No notify session started")
        self.notifiers.discard(sender)
        self.change(CHAR, Notifying=dbus.Boolean(bool(self.notifiers)))

    @dbus.service.method(CHAR, in_signature="a{sv}", out_signature="ay")
    def ReadValue(self, opts):
        """NUS characteristics cannot be read."""
        raise BluezError("NotPermitted", "Read not permitted")

    def notify(self, chunk):
        """Send one notification; False when the fd is full (try later)."""
        if self.sock is not None:
            try:
                self.sock.send(chunk)
            except BlockingIOError:
                return False
            except OSError:
                self.release_fd()
            return True
        if self.notifiers:
            self.change(CHAR, Value=dbus.ByteArray(chunk))
        return True


class RxChar(Gatt):
    """The NUS RX characteristic (written by the client, kept)."""

    def __init__(self, dev, path, svc):
        super().__init__(dev.mock, path, CHAR, {
            "UUID": NUS_RX, "Service": dbus.ObjectPath(svc),
            "Value": dbus.ByteArray(b""),
            "Flags": dbus.Array(["write-without-response", "write"],
                                signature="s"),
            "WriteAcquired": dbus.Boolean(False),
            "MTU": dbus.UInt16(dev.mtu),
        })
        self.dev = dev

    @dbus.service.method(CHAR, in_signature="aya{sv}")
    def WriteValue(self, value, opts):
        """Bytes for the node (counted, not used)."""
        self.dev.counters["rx_bytes"] += len(value)

    @dbus.service.method(CHAR, in_signature="a{sv}", out_signature="ay")
    def ReadValue(self, opts):
        """NUS characteristics cannot be read."""
        raise BluezError("NotPermitted", "Read not permitted")


class DevObj(PropsObject):
    """The exported org.bluez.Device1 of a Device (made anew at each
    export, since a path is registered once per object)."""

    def __init__(self, dev):
        super().__init__(dev.mock, dev.path)
        self.dev = dev
        alias = dev.name or dev.addr.replace(":", "-")
        p = {
            "Address": dev.addr, "AddressType": "random", "Alias": alias,
            "Paired": dbus.Boolean(False), "Bonded": dbus.Boolean(False),
            "Trusted": dbus.Boolean(False), "Blocked": dbus.Boolean(False),
            "LegacyPairing": dbus.Boolean(False),
            "Connected": dbus.Boolean(False),
            "ServicesResolved": dbus.Boolean(False),
            "UUIDs": dbus.Array(dev.uuids, signature="s"),
            "Adapter": dbus.ObjectPath(dev.mock.adapter.path),
        }
        if dev.name is not None:
            p["Name"] = dev.name
        if dev.mock.adapter.props[ADAPTER]["Discovering"]:
            p["RSSI"] = dbus.Int16(-60)
        self.props[DEVICE] = p

    @dbus.service.method(DEVICE, async_callbacks=("ok", "err"))
    def Connect(self, ok, err):
        """Device1.Connect (replied to later)."""
        self.dev.connect(ok, err)

    @dbus.service.method(DEVICE)
    def Disconnect(self):
        """Device1.Disconnect."""
        self.dev.disconnect()

    @dbus.service.method(DEVICE)
    def Pair(self):
        """NUS needs no pairing; the mock refuses it."""
        raise BluezError("AuthenticationFailed", "Authentication Failed")

    @dbus.service.method(DEVICE)
    def CancelPairing(self):
        """Nothing to cancel."""
        raise BluezError("DoesNotExist", "Does Not Exist")


class Device:
    """A simulated NUS node: in range or not, known or found by scanning,
    its link, its GATT database while connected and its counters."""

    def __init__(self, mock, addr, name=None, known=False, inrange=True,
                 acquire=True, mtu=247):
        self.mock = mock
        self.addr = addr.upper()
        self.name = name
        self.known = known
        self.inrange = inrange
        self.acquire = acquire
        self.mtu = mtu
        self.uuids = [NUS]
        self.path = "%s/dev_%s" % (mock.adapter.path,
                                   self.addr.replace(":", "_"))
        self.obj = None
        self.exported = False
        self.connected = False
        self.connecting = None	# (ok, err, timer) of a pending Connect
        self.gatt = []
        self.gatt_up = False
        self.tx = None
        self.fail_connects = 0
        self.connect_ms = 30
        self.resolve_ms = 30
        self.fail_ms = 300
        self.job = None
        self.connect_times = []	# monotonic seconds of each Connect call
        self.counters = {k: 0 for k in ("connect", "connect_ok",
            "disconnect", "acquire_notify", "start_notify", "stop_notify",
            "rx_bytes", "link_losses")}

    def export(self):
        """The device object appears (InterfacesAdded)."""
        if self.exported:
            return
        self.obj = DevObj(self)
        self.exported = True
        self.mock.root.InterfacesAdded(self.path, self.obj.managed())
        log("%s: device object added", self.addr)

    def unexport(self):
        """The device object goes (InterfacesRemoved)."""
        if not self.exported:
            return
        self.link_loss("removed")
        self.mock.root.InterfacesRemoved(self.path,
            dbus.Array([PROPS, "org.freedesktop.DBus.Introspectable",
                        DEVICE], signature="s"))
        self.obj.remove_from_connection()
        self.obj = None
        self.exported = False
        log("%s: device object removed", self.addr)

    def connect(self, ok, err):
        """Device1.Connect: succeeds after connect_ms when in range."""
        self.counters["connect"] += 1
        self.connect_times.append(round(time.monotonic(), 3))
        if self.connecting is not None:
            err(BluezError("InProgress", "In Progress"))
            return
        if self.connected and self.gatt_up:
            ok()
            return
        fail = not self.inrange or self.fail_connects > 0
        if fail and self.fail_connects > 0:
            self.fail_connects -= 1
        delay = self.fail_ms if fail else self.connect_ms
        timer = GLib.timeout_add(delay, self.connect_done, fail)
        self.connecting = (ok, err, timer)

    def connect_done(self, fail):
        """The end of a pending Connect."""
        ok, err, _ = self.connecting
        self.connecting = None
        if fail:
            log("%s: Connect failed (out of range)", self.addr)
            err(BluezError("Failed", "le-connection-abort-by-local"))
            return False
        self.connected = True
        self.counters["connect_ok"] += 1
        self.obj.change(DEVICE, Connected=dbus.Boolean(True))
        log("%s: connected", self.addr)
        ok()
        GLib.timeout_add(self.resolve_ms, self.resolve)
        return False

    def resolve(self):
        """Service discovery done: the GATT objects, then
        ServicesResolved."""
        if not self.connected or self.gatt_up:
            return False
        m, p = self.mock, self.path
        ga = "%s/service0001" % p
        nus = "%s/service000c" % p
        self.tx = TxChar(self, nus + "/char000f", nus)
        self.gatt = [
            Gatt(m, ga, SERVICE, {"UUID": GATT, "Primary": dbus.Boolean(True),
                 "Device": dbus.ObjectPath(p),
                 "Includes": dbus.Array([], signature="o")}),
            Gatt(m, ga + "/char0002", CHAR, {"UUID": SVC_CHANGED,
                 "Service": dbus.ObjectPath(ga),
                 "Flags": dbus.Array(["indicate"], signature="s"),
                 "Notifying": dbus.Boolean(False),
                 "MTU": dbus.UInt16(self.mtu)}),
            Gatt(m, nus, SERVICE, {"UUID": NUS, "Primary": dbus.Boolean(True),
                 "Device": dbus.ObjectPath(p),
                 "Includes": dbus.Array([], signature="o")}),
            RxChar(self, nus + "/char000d", nus),
            self.tx,
            Gatt(m, nus + "/char000f/desc0011", DESC, {"UUID": CCCD,
                 "Characteristic": dbus.ObjectPath(nus + "/char000f")}),
        ]
        self.gatt_up = True
        for g in self.gatt:
            m.root.InterfacesAdded(g.path, g.managed())
        self.obj.change(DEVICE, ServicesResolved=dbus.Boolean(True))
        log("%s: services resolved", self.addr)
        return False

    def disconnect(self):
        """Device1.Disconnect (also cancels a pending Connect)."""
        self.counters["disconnect"] += 1
        if self.connecting is not None:
            ok, err, timer = self.connecting
            GLib.source_remove(timer)
            self.connecting = None
            err(BluezError("Failed", "Operation was cancelled"))
            return
        if not self.connected:
            raise BluezError("NotConnected", "Not Connected")
        self.link_loss("disconnect")

    def link_loss(self, why):
        """The link ends: the notify fd closes, ServicesResolved and then
        Connected turn false, the GATT objects go."""
        if self.connecting is not None:
            ok, err, timer = self.connecting
            GLib.source_remove(timer)
            self.connecting = None
            err(BluezError("Failed", "le-connection-abort-by-local"))
        if not self.connected:
            return
        if why != "disconnect":
            self.counters["link_losses"] += 1
        if self.job is not None:
            self.job.finish("link lost")
        if self.gatt_up:
            self.tx.release_fd()
            self.gatt_up = False
            self.obj.change(DEVICE, ServicesResolved=dbus.Boolean(False))
            for g in reversed(self.gatt):
                self.mock.root.InterfacesRemoved(g.path,
                    dbus.Array(list(g.props), signature="s"))
                g.remove_from_connection()
            self.gatt = []
            self.tx = None
        self.connected = False
        self.obj.change(DEVICE, Connected=dbus.Boolean(False))
        log("%s: disconnected (%s)", self.addr, why)

    def state(self):
        """The device's state for the test."""
        sub = self.tx.subscribed() if self.gatt_up else None
        return dict(self.counters, address=self.addr, name=self.name,
                    exported=self.exported, inrange=self.inrange,
                    connected=self.connected, resolved=self.gatt_up,
                    subscribed=sub, acquire=self.acquire,
                    connect_times=self.connect_times)


class SendJob:
    """A byte stream sent to the client as TX notifications, cut at seeded
    random edges of min..max bytes, at most rate notifications a second
    (0: as fast as the client drains the notify socket)."""

    def __init__(self, dev, data, seed, lo, hi, rate, ok):
        self.dev, self.data, self.ok = dev, data, ok
        self.rnd = random.Random(seed)
        self.lo, self.hi, self.rate = lo, hi, rate
        self.off = 0
        self.sent = 0
        self.size = None	# the drawn size of a chunk not yet sent
        self.start = time.monotonic()
        self.watch = None
        self.timer = GLib.timeout_add(1, self.tick)

    def tick(self, *unused):
        """Send what the rate and the socket allow; re-arm."""
        # This source ends by returning False: forget it before finish().
        self.timer = self.watch = None
        tx = self.dev.tx
        if tx is None or tx.subscribed() is None:
            self.finish("not subscribed")
            return False
        budget = 256
        if self.rate > 0:
            due = int((time.monotonic() - self.start) * self.rate) + 1
            budget = max(0, min(due - self.sent, budget))
        while budget > 0 and self.off < len(self.data):
            if self.size is None:
                self.size = self.rnd.randint(self.lo, self.hi)
            chunk = self.data[self.off:self.off + self.size]
            if not tx.notify(chunk):
                # The client lags: wait until its socket drains, then
                # send this chunk (the same edge) again.
                self.watch = GLib.io_add_watch(tx.sock.fileno(),
                    GLib.PRIORITY_DEFAULT, GLib.IO_OUT | GLib.IO_HUP,
                    self.tick)
                return False
            self.size = None
            self.off += len(chunk)
            self.sent += 1
            budget -= 1
        if self.off >= len(self.data):
            self.finish(None)
        elif self.rate > 0:
            self.timer = GLib.timeout_add(5, self.tick)
        else:
            self.timer = GLib.idle_add(self.tick)
        return False

    def finish(self, error):
        """Reply to the test's send command."""
        for src in (self.timer, self.watch):
            if src is not None:
                GLib.source_remove(src)
        self.timer = self.watch = None
        self.dev.job = None
        secs = time.monotonic() - self.start
        res = {"notifications": self.sent, "bytes": self.off,
               "seconds": round(secs, 3), "complete": error is None}
        if error is not None:
            res["error"] = error
        log("%s: send done %s", self.dev.addr, res)
        self.ok(json.dumps(res))
