/*
 * fuzz_ble_props.c - libFuzzer target for what the daemon reads from
 * BlueZ on the bus (ingest_ble_bus.c's readers, ingest_ble_step.c's
 * signal handler).  sd-bus cannot parse raw bytes into a message, so the
 * input is a small program that builds one: the first byte picks the
 * message (a signal of BlueZ or a method return), the rest are steps
 * (open or close a container, append a basic value or a byte array) run
 * with sd_bus_message_open_container/append_basic/close_container on a
 * bus that is never connected.  Steps sd-bus refuses (a type that does
 * not fit the container) are skipped.  The sealed message goes to the
 * readers as the daemon would hand it over, and to ingest_ble_signal()
 * (no links are configured, so only its readers run).  Every string and
 * byte the readers return is touched so ASan sees a read out of bounds.
 * Nothing may crash or leak.
 */
#include <sys/socket.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <systemd/sd-bus.h>

#include "ingest_ble_int.h"
#include "log.h"

#define FUZZ_DEPTH	8	/* containers open at once */
#define FUZZ_STR_MAX	64

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* Strings the readers look for, so the fuzzer reaches their branches. */
static const char *fuzz_words[] = {
	"Address", "Name", "Alias", "Adapter", "Connected",
	"ServicesResolved", "UUID", "Device", "Service", "Flags", "Value",
	"notify", "indicate", "read", BLE_IF_DEVICE, BLE_IF_CHAR,
	BLE_IF_SERVICE, BLE_IF_ADAPTER, BLE_NUS_SERVICE, BLE_NUS_TX,
	"AA:BB:CC:DD:EE:FF", "node-*", BLE_SERVICE, "",
};
static const char *fuzz_paths[] = {
	"/", "/org/bluez", "/org/bluez/hci0",
	"/org/bluez/hci0/dev_AA_BB_CC_DD_EE_FF",
	"/org/bluez/hci0/dev_AA_BB_CC_DD_EE_FF/service0010",
	"/org/bluez/hci0/dev_AA_BB_CC_DD_EE_FF/service0010/char0011",
};
/* Container signatures: arrays, dict entries, variants. */
static const char *fuzz_arrays[] = {
	"{sv}", "{sa{sv}}", "{oa{sa{sv}}}", "s", "y", "o", "{ss}", "v",
};
static const char *fuzz_entries[] = {
	"sv", "sa{sv}", "oa{sa{sv}}", "ss",
};
static const char *fuzz_variants[] = {
	"s", "o", "b", "y", "q", "u", "as", "ay", "a{sv}", "i", "v", "ao",
};

#define NITEMS(a)	(sizeof (a) / sizeof (a)[0])

/* The input still to read. */
struct fuzz_in {
	const uint8_t	*p;
	size_t		 len;
};

/* The next input byte, 0 once the input is used up. */
static uint8_t
fuzz_byte(struct fuzz_in *in)
{
	uint8_t	b;

	if (in->len == 0)
		return (0);
	b = *in->p++;
	in->len--;
	return (b);
}

/* A string: a word of the table, or printable bytes of the input. */
static const char *
fuzz_string(struct fuzz_in *in, char *buf)
{
	uint8_t	b = fuzz_byte(in);
	size_t	n, i;

	if (b < 200)
		return (fuzz_words[b % NITEMS(fuzz_words)]);
	n = fuzz_byte(in) % FUZZ_STR_MAX;
	for (i = 0; i < n && in->len > 0; i++)
		buf[i] = (char)(0x20 + fuzz_byte(in) % 0x5f);
	buf[i] = '\0';
	return (buf);
}

/* Append one basic value of type t from the input. */
static void
fuzz_basic(sd_bus_message *m, char t, struct fuzz_in *in)
{
	char		buf[FUZZ_STR_MAX + 1];
	uint32_t	u;
	int		b;

	u = (uint32_t)fuzz_byte(in) << 8 | fuzz_byte(in);
	switch (t) {
	case 's':
		sd_bus_message_append_basic(m, t, fuzz_string(in, buf));
		break;
	case 'o':
		sd_bus_message_append_basic(m, t,
		    fuzz_paths[u % NITEMS(fuzz_paths)]);
		break;
	case 'b':
		b = u & 1;
		sd_bus_message_append_basic(m, t, &b);
		break;
	default:	/* y, q, u, i: sd-bus takes the low bytes it needs */
		sd_bus_message_append_basic(m, t, &u);
		break;
	}
}

/* Run the input's steps on m; 0 if every container could be closed. */
static int
fuzz_build(sd_bus_message *m, struct fuzz_in *in)
{
	size_t	depth = 0, n;
	uint8_t	op;

	while (in->len > 0) {
		op = fuzz_byte(in);
		switch (op % 12) {
		case 0:
		case 1:
		case 2:
			if (depth == FUZZ_DEPTH)
				break;
			op = fuzz_byte(in);
			if (sd_bus_message_open_container(m, "aev"[op % 3],
			    op % 3 == 0 ? fuzz_arrays[op / 3 %
			    NITEMS(fuzz_arrays)] : op % 3 == 1 ?
			    fuzz_entries[op / 3 % NITEMS(fuzz_entries)] :
			    fuzz_variants[op / 3 % NITEMS(fuzz_variants)]) >= 0)
				depth++;
			break;
		case 3:
			if (depth > 0 && sd_bus_message_close_container(m) >= 0)
				depth--;
			break;
		case 4:
			/* A Value: a byte array of up to 600 bytes. */
			n = ((size_t)fuzz_byte(in) << 2) % 601;
			if (n > in->len)
				n = in->len;
			sd_bus_message_append_array(m, 'y', in->p, n);
			in->p += n;
			in->len -= n;
			break;
		default:
			fuzz_basic(m, "sobyqus"[op % 12 - 5], in);
			break;
		}
	}
	while (depth > 0 && sd_bus_message_close_container(m) >= 0)
		depth--;
	return (depth == 0 ? 0 : -1);
}

/* Touch every field a reader returned. */
static unsigned int
fuzz_touch(const struct ingest_ble_props *p)
{
	const char	*s[] = { p->address, p->name, p->alias, p->adapter,
			    p->uuid, p->device, p->service };
	unsigned int	 sum = 0;
	size_t		 i;

	for (i = 0; i < NITEMS(s); i++)
		sum += s[i] != NULL ? (unsigned int)strlen(s[i]) : 0;
	for (i = 0; p->has_value && i < p->value_len; i++)
		sum += p->value[i];
	return (sum + (unsigned int)(p->connected + p->resolved + p->notify));
}

static volatile unsigned int	fuzz_sink;

/* The interface callback of the readers. */
static void
fuzz_iface(const char *path, const char *iface,
    const struct ingest_ble_props *p, void *arg)
{
	(void)arg;
	fuzz_sink += (unsigned int)(strlen(path) + strlen(iface)) +
	    fuzz_touch(p);
}

/* Read m every way the daemon may, rewinding between them. */
static void
fuzz_read(sd_bus_message *m)
{
	struct ingest_ble_props	 p;
	const char		*s;
	int			 fd;
	uint16_t		 mtu;

	ingest_ble_signal(m, NULL, NULL);
	sd_bus_message_rewind(m, 1);
	ingest_ble_objects_read(m, fuzz_iface, NULL);
	sd_bus_message_rewind(m, 1);
	if (sd_bus_message_read(m, "o", &s) > 0)
		ingest_ble_ifaces_read(m, s, fuzz_iface, NULL);
	sd_bus_message_rewind(m, 1);
	if (sd_bus_message_read(m, "s", &s) > 0 &&
	    ingest_ble_props_read(m, &p) >= 0)
		fuzz_sink += fuzz_touch(&p);
	sd_bus_message_rewind(m, 1);
	if (ingest_ble_props_read(m, &p) >= 0)
		fuzz_sink += fuzz_touch(&p);
	sd_bus_message_rewind(m, 1);
	/* AcquireNotify's answer, read as step_acquire_done does. */
	if (sd_bus_message_read(m, "hq", &fd, &mtu) > 0)
		fuzz_sink += mtu;
}

/* The message the first byte asks for: a signal or a method return. */
static int
fuzz_message(sd_bus *bus, uint8_t kind, sd_bus_message **m)
{
	static const char	*members[] = { "InterfacesAdded",
				    "InterfacesRemoved", "PropertiesChanged",
				    "NameOwnerChanged" };
	sd_bus_message		*call = NULL;
	int			 r;

	if (kind % 5 < 4)
		return (sd_bus_message_new_signal(bus, m,
		    fuzz_paths[kind / 5 % NITEMS(fuzz_paths)], kind % 5 == 2 ?
		    BLE_IF_PROPS : BLE_IF_OM, members[kind % 5]));
	if ((r = sd_bus_message_new_method_call(bus, &call, BLE_SERVICE, "/",
	    BLE_IF_OM, "GetManagedObjects")) < 0)
		return (r);
	if ((r = sd_bus_message_seal(call, 1, 0)) >= 0)
		r = sd_bus_message_new_method_return(call, m);
	sd_bus_message_unref(call);
	return (r);
}

/*
 * A bus that can make messages but never talks: sd-bus refuses to make
 * them on a bus that was not started, so it is started on one end of a
 * socket pair nobody answers (it only writes its AUTH line there).
 */
static void
fuzz_bus(sd_bus **bus)
{
	int	fds[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0,
	    fds) == -1 || sd_bus_new(bus) < 0 ||
	    sd_bus_set_fd(*bus, fds[0], fds[0]) < 0 || sd_bus_start(*bus) < 0)
		abort();
}

/* Build one message from the input and read it. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	static sd_bus	*bus;
	sd_bus_message	*m = NULL;
	struct fuzz_in	 in = { data, len };

	if (bus == NULL) {
		fuzz_bus(&bus);
		/* NameOwnerChanged warns on every run: keep the output quiet. */
		log_set_level(LOG_LEVEL_ERROR);
	}
	if (len == 0)
		return (0);
	/* A refusal would make every run a silent no-op: stop loudly. */
	if (fuzz_message(bus, fuzz_byte(&in), &m) < 0)
		abort();
	if (fuzz_build(m, &in) == 0 && sd_bus_message_seal(m, 2, 0) >= 0)
		fuzz_read(m);
	sd_bus_message_unref(m);
	return (0);
}
