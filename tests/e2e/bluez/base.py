# tests/e2e/bluez/base.py - what the parts of the BlueZ mock share: the
# D-Bus names and UUIDs, the log, org.bluez.Error replies, and exported
# objects with org.freedesktop.DBus.Properties (Get, GetAll, Set and
# PropertiesChanged over a dict of typed values), as BlueZ serves them.

import sys
import time

import dbus
import dbus.service

BUS_NAME = "org.bluez"
OM = "org.freedesktop.DBus.ObjectManager"
PROPS = "org.freedesktop.DBus.Properties"
ADAPTER = "org.bluez.Adapter1"
DEVICE = "org.bluez.Device1"
SERVICE = "org.bluez.GattService1"
CHAR = "org.bluez.GattCharacteristic1"
DESC = "org.bluez.GattDescriptor1"
CTL = "org.tinyedge.BluezMock1"
CTL_PATH = "/org/tinyedge/BluezMock"

NUS = "6e400001-b5a3-f393-e0a9-e50e24dcca9e"
NUS_RX = "6e400002-b5a3-f393-e0a9-e50e24dcca9e"
NUS_TX = "6e400003-b5a3-f393-e0a9-e50e24dcca9e"
GATT = "00001801-0000-1000-8000-00805f9b34fb"
SVC_CHANGED = "00002a05-0000-1000-8000-00805f9b34fb"
CCCD = "00002902-0000-1000-8000-00805f9b34fb"

LOG = [sys.stderr]


def log(fmt, *args):
    """One line of the mock's log, with a monotonic time stamp."""
    LOG[0].write("%.3f %s\n" % (time.monotonic(), fmt % args))
    LOG[0].flush()


class BluezError(dbus.DBusException):
    """An org.bluez.Error.* reply."""

    def __init__(self, name, msg=""):
        self._dbus_error_name = "org.bluez.Error." + name
        super().__init__(msg or name)


class PropsObject(dbus.service.Object):
    """An exported object with org.freedesktop.DBus.Properties over a
    dict of interface -> {property: dbus-typed value}."""

    def __init__(self, mock, path):
        super().__init__(mock.bus, path)
        self.mock = mock
        self.path = path
        self.props = {}

    def managed(self):
        """This object's entry in GetManagedObjects, as BlueZ lists it."""
        d = {"org.freedesktop.DBus.Introspectable": {}, PROPS: {}}
        for iface, p in self.props.items():
            d[iface] = dbus.Dictionary(p, signature="sv")
        return d

    def change(self, iface, **kw):
        """Set properties and emit PropertiesChanged for those that moved."""
        moved = {}
        for k, v in kw.items():
            if self.props[iface].get(k) != v or k == "Value":
                self.props[iface][k] = v
                moved[k] = v
        if moved:
            self.PropertiesChanged(iface, dbus.Dictionary(moved,
                signature="sv"), dbus.Array([], signature="s"))

    @dbus.service.method(PROPS, in_signature="ss", out_signature="v")
    def Get(self, iface, name):
        """Properties.Get: one property."""
        if iface not in self.props or name not in self.props[iface]:
            raise dbus.DBusException("No such property '%s'" % name,
                name="org.freedesktop.DBus.Error.InvalidArgs")
        return self.props[iface][name]

    @dbus.service.method(PROPS, in_signature="s", out_signature="a{sv}")
    def GetAll(self, iface):
        """Properties.GetAll: an interface's properties."""
        return dbus.Dictionary(self.props.get(iface, {}), signature="sv")

    @dbus.service.method(PROPS, in_signature="ssv")
    def Set(self, iface, name, value):
        """Properties.Set: only the few BlueZ lets clients write."""
        if iface not in self.props or name not in self.props[iface]:
            raise dbus.DBusException("No such property '%s'" % name,
                name="org.freedesktop.DBus.Error.InvalidArgs")
        if (iface, name) not in ((DEVICE, "Alias"), (DEVICE, "Trusted"),
                                 (ADAPTER, "Alias"), (ADAPTER, "Powered")):
            raise dbus.DBusException("Property '%s' is read-only" % name,
                name="org.freedesktop.DBus.Error.PropertyReadOnly")
        self.change(iface, **{name: value})

    @dbus.service.signal(PROPS, signature="sa{sv}as")
    def PropertiesChanged(self, iface, changed, invalidated):
        """The signal (emitted by change())."""
        pass
