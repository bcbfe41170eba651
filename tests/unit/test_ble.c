/*
 * test_ble.c - unit tests of BLE links (src/ingest_ble*.c) that need no
 * bus and no radio: the state machine's transition table and a whole
 * connection walked through it, device matching by address and by name
 * glob, the backoff's bounds, the [ble:NAME] configuration checks, and a
 * table of well-formed and malformed BlueZ property dictionaries fed to
 * the readers (D-Bus messages built on an sd-bus object that never talks
 * to a bus).
 */
#include <sys/socket.h>

#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <systemd/sd-bus.h>

#include "config.h"
#include "ingest_ble.h"
#include "ingest_ble_int.h"
#include "testutil.h"

static char	tmpdir[] = "/tmp/te-ble.XXXXXX";
static int	tmpn;

#define S_SEARCH	INGEST_BLE_SEARCHING
#define S_CONN		INGEST_BLE_CONNECTING
#define S_RES		INGEST_BLE_RESOLVING
#define S_SUBING	INGEST_BLE_SUBSCRIBING
#define S_SUBED		INGEST_BLE_SUBSCRIBED
#define S_BACK		INGEST_BLE_BACKOFF

/* Every (state, event) pair and where it must lead. */
START_TEST(test_next_table)
{
	static const struct {
		enum ingest_ble_state	s;
		enum ingest_ble_event	ev;
		enum ingest_ble_state	want;
	} t[] = {
		{ S_BACK, INGEST_BLE_EV_RETRY, S_SEARCH },
		{ S_BACK, INGEST_BLE_EV_FOUND, S_BACK },
		{ S_BACK, INGEST_BLE_EV_LOST, S_BACK },
		{ S_BACK, INGEST_BLE_EV_FAILED, S_BACK },
		{ S_BACK, INGEST_BLE_EV_BUS_DOWN, S_BACK },
		{ S_SEARCH, INGEST_BLE_EV_FOUND, S_CONN },
		{ S_SEARCH, INGEST_BLE_EV_FAILED, S_BACK },
		{ S_SEARCH, INGEST_BLE_EV_LOST, S_SEARCH },
		{ S_SEARCH, INGEST_BLE_EV_RETRY, S_SEARCH },
		{ S_SEARCH, INGEST_BLE_EV_RESOLVED, S_SEARCH },
		{ S_SEARCH, INGEST_BLE_EV_BUS_DOWN, S_BACK },
		{ S_CONN, INGEST_BLE_EV_CONNECTED, S_RES },
		{ S_CONN, INGEST_BLE_EV_RESOLVED, S_CONN },
		{ S_CONN, INGEST_BLE_EV_SUBSCRIBED, S_CONN },
		{ S_CONN, INGEST_BLE_EV_FAILED, S_BACK },
		{ S_CONN, INGEST_BLE_EV_LOST, S_BACK },
		{ S_CONN, INGEST_BLE_EV_FOUND, S_CONN },
		{ S_CONN, INGEST_BLE_EV_BUS_DOWN, S_BACK },
		{ S_RES, INGEST_BLE_EV_RESOLVED, S_SUBING },
		{ S_RES, INGEST_BLE_EV_CONNECTED, S_RES },
		{ S_RES, INGEST_BLE_EV_FAILED, S_BACK },
		{ S_RES, INGEST_BLE_EV_LOST, S_BACK },
		{ S_RES, INGEST_BLE_EV_RETRY, S_RES },
		{ S_SUBING, INGEST_BLE_EV_SUBSCRIBED, S_SUBED },
		{ S_SUBING, INGEST_BLE_EV_RESOLVED, S_SUBING },
		{ S_SUBING, INGEST_BLE_EV_FAILED, S_BACK },
		{ S_SUBING, INGEST_BLE_EV_LOST, S_BACK },
		{ S_SUBING, INGEST_BLE_EV_BUS_DOWN, S_BACK },
		{ S_SUBED, INGEST_BLE_EV_LOST, S_BACK },
		{ S_SUBED, INGEST_BLE_EV_FAILED, S_BACK },
		{ S_SUBED, INGEST_BLE_EV_BUS_DOWN, S_BACK },
		{ S_SUBED, INGEST_BLE_EV_SUBSCRIBED, S_SUBED },
		{ S_SUBED, INGEST_BLE_EV_RESOLVED, S_SUBED },
		{ S_SUBED, INGEST_BLE_EV_FOUND, S_SUBED },
		{ S_SUBED, INGEST_BLE_EV_RETRY, S_SUBED },
	};
	size_t	i;

	for (i = 0; i < sizeof t / sizeof t[0]; i++)
		ck_assert_msg(ingest_ble_next(t[i].s, t[i].ev) == t[i].want,
		    "row %zu: %s + %d -> %s, want %s", i,
		    ingest_ble_state_name(t[i].s), (int)t[i].ev,
		    ingest_ble_state_name(ingest_ble_next(t[i].s, t[i].ev)),
		    ingest_ble_state_name(t[i].want));
}
END_TEST

/* A node found, lost, found again: the events of a real session. */
START_TEST(test_next_walk)
{
	static const enum ingest_ble_event evs[] = {
		INGEST_BLE_EV_RETRY, INGEST_BLE_EV_FOUND,
		INGEST_BLE_EV_CONNECTED, INGEST_BLE_EV_RESOLVED,
		INGEST_BLE_EV_SUBSCRIBED, INGEST_BLE_EV_RESOLVED,
		INGEST_BLE_EV_LOST, INGEST_BLE_EV_LOST, INGEST_BLE_EV_RETRY,
		INGEST_BLE_EV_FOUND, INGEST_BLE_EV_FAILED,
		INGEST_BLE_EV_CONNECTED, INGEST_BLE_EV_RETRY,
		INGEST_BLE_EV_FOUND, INGEST_BLE_EV_CONNECTED,
		INGEST_BLE_EV_BUS_DOWN,
	};
	static const enum ingest_ble_state want[] = {
		S_SEARCH, S_CONN, S_RES, S_SUBING, S_SUBED, S_SUBED,
		S_BACK, S_BACK, S_SEARCH, S_CONN, S_BACK, S_BACK, S_SEARCH,
		S_CONN, S_RES, S_BACK,
	};
	enum ingest_ble_state	s = S_BACK;
	size_t			i;

	for (i = 0; i < sizeof evs / sizeof evs[0]; i++) {
		s = ingest_ble_next(s, evs[i]);
		ck_assert_msg(s == want[i], "step %zu: %s", i,
		    ingest_ble_state_name(s));
	}
	ck_assert_str_eq(ingest_ble_state_name((enum ingest_ble_state)99),
	    "?");
}
END_TEST

/* Address and name-glob matching, absent properties included. */
START_TEST(test_match)
{
	static const struct {
		const char	*want_addr, *glob, *addr, *name, *alias;
		int		 match;
	} t[] = {
		{ "AA:BB:CC:DD:EE:FF", NULL, "AA:BB:CC:DD:EE:FF", NULL, NULL,
		  1 },
		{ "aa:bb:cc:dd:ee:ff", NULL, "AA:BB:CC:DD:EE:FF", "x", "x", 1 },
		{ "AA:BB:CC:DD:EE:FF", NULL, "AA:BB:CC:DD:EE:F0", NULL, NULL,
		  0 },
		{ "AA:BB:CC:DD:EE:FF", NULL, NULL, "AA:BB:CC:DD:EE:FF", NULL,
		  0 },
		{ "AA:BB:CC:DD:EE:FF", "*", "11:22:33:44:55:66", "n", "n", 0 },
		{ "", "sense-*", NULL, "sense-01", NULL, 1 },
		{ NULL, "sense-*", "AA:BB:CC:DD:EE:FF", "other", "sense-02",
		  1 },
		{ NULL, "sense-*", "AA:BB:CC:DD:EE:FF", "Sense-01", NULL, 0 },
		{ NULL, "sense-0?", NULL, "sense-01", NULL, 1 },
		{ NULL, "sense-0?", NULL, "sense-011", NULL, 0 },
		{ NULL, "[ab]*", NULL, "beta", NULL, 1 },
		{ NULL, "sense-*", NULL, NULL, NULL, 0 },
		{ NULL, "", NULL, "x", "x", 0 },
		{ NULL, NULL, "AA:BB:CC:DD:EE:FF", "x", "x", 0 },
		{ NULL, "*", NULL, "", NULL, 1 },
	};
	size_t	i;

	for (i = 0; i < sizeof t / sizeof t[0]; i++)
		ck_assert_msg(ingest_ble_match(t[i].want_addr, t[i].glob,
		    t[i].addr, t[i].name, t[i].alias) == t[i].match,
		    "row %zu", i);
}
END_TEST

/* 1 s doubling to 30 s, a quarter of jitter at most, never zero. */
START_TEST(test_backoff)
{
	static const uint32_t	rnds[] = { 0, 1, 77, 4096, UINT32_MAX };
	uint64_t		base, d;
	unsigned int		a;
	size_t			i;

	for (a = 0; a < 64; a++) {
		base = a < 5 ? 1000ULL << a : 30000;
		if (base > 30000)
			base = 30000;
		for (i = 0; i < sizeof rnds / sizeof rnds[0]; i++) {
			d = ingest_ble_backoff_ms(a, rnds[i]);
			ck_assert_msg(d <= base && d >= base - base / 4,
			    "attempt %u rnd %u: %llu", a, rnds[i],
			    (unsigned long long)d);
		}
	}
	ck_assert_uint_eq(ingest_ble_backoff_ms(0, 0), 1000);
	ck_assert_uint_eq(ingest_ble_backoff_ms(UINT32_MAX, 0), 30000);
}
END_TEST

/* Write text to a new temp file and return its path (static buffer). */
static const char *
write_tmp(const char *text)
{
	static char	 path[256];
	FILE		*f;

	snprintf(path, sizeof path, "%s/c%d.ini", tmpdir, tmpn++);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
	return (path);
}

/*
 * Load "[gateway] id = gw" plus body, then run the module's check: 0 if
 * both pass; else -1 with the first message in *cause.
 */
static int
load_check(const char *body, char **cause)
{
	struct config	*cf = NULL;
	char		*text;
	int		 rv;

	*cause = NULL;
	if (asprintf(&text, "[gateway]\nid = gw\n%s", body) == -1)
		ck_abort_msg("asprintf");
	rv = config_load(write_tmp(text), &cf, cause);
	free(text);
	if (rv == 0)
		rv = ingest_ble_check(cf, cause);
	config_free(cf);
	return (rv);
}

/* [ble:NAME] sections: good ones, and each mistake with its message. */
START_TEST(test_config)
{
	static const struct {
		const char	*body;
		const char	*err;	/* NULL: valid */
	} t[] = {
		{ "[ble:a]\naddress = AA:BB:CC:DD:EE:FF\n", NULL },
		{ "[ble:a]\naddress = aa:bb:cc:0d:ee:ff\nadapter = hci1\n"
		  "framing = cobs\nnode = n-1\nservice = nus\n", NULL },
		{ "[ble:a]\nname = sense-*\n", NULL },
		{ "[ble:a]\nname = x\n[ble:b]\nname = x\n", NULL },
		{ "[ble:a]\naddress = AA:BB:CC:DD:EE:FF\n[ble:b]\n"
		  "address = AA:BB:CC:DD:EE:FF\nadapter = hci1\n", NULL },
		{ "[ble:a]\n", "exactly one of address and name" },
		{ "[ble:a]\naddress = AA:BB:CC:DD:EE:FF\nname = x\n",
		  "exactly one of address and name" },
		{ "[ble:a]\naddress = AA:BB:CC:DD:EE\n", "not a Bluetooth" },
		{ "[ble:a]\naddress = AA:BB:CC:DD:EE:FF:00\n",
		  "not a Bluetooth" },
		{ "[ble:a]\naddress = AA-BB-CC-DD-EE-FF\n", "not a Bluetooth" },
		{ "[ble:a]\naddress = AA:BB:CC:DD:EE:FG\n", "not a Bluetooth" },
		{ "[ble:a]\naddress = AAA:B:CC:DD:EE:FF\n", "not a Bluetooth" },
		{ "[ble:a]\naddress = :AA:BB:CC:DD:EE:F\n", "not a Bluetooth" },
		{ "[ble:a]\nname = x\nadapter = hci/0\n", "" },
		{ "[ble:a]\nname = x\nadapter =\n", "" },
		{ "[ble:a]\nname = x\nservice = uart\n", "" },
		{ "[ble:a]\nname = x\nframing = slip\n", "" },
		{ "[ble:a]\nname = x\nnode = ..\n", "not a node id" },
		{ "[ble:a]\nname = x\nbaud = 9600\n", "" },
		{ "[ble]\nname = x\n", "needs a name" },
		{ "[ble:a]\naddress = AA:BB:CC:DD:EE:FF\n[ble:b]\n"
		  "address = aa:bb:cc:dd:ee:ff\n", "already used by [ble:a]" },
	};
	char	*cause;
	size_t	 i;
	int	 rv;

	for (i = 0; i < sizeof t / sizeof t[0]; i++) {
		rv = load_check(t[i].body, &cause);
		if (t[i].err == NULL)
			ck_assert_msg(rv == 0, "row %zu: %s", i, cause);
		else
			ck_assert_msg(rv == -1 && cause != NULL &&
			    strstr(cause, t[i].err) != NULL,
			    "row %zu: got %s", i, cause ? cause : "(ok)");
		free(cause);
	}
}
END_TEST

/* INGEST_BLE_LINKS_MAX sections are fine, one more is not. */
START_TEST(test_config_bound)
{
	char	*body = NULL, *cause;
	size_t	 len = 0;
	FILE	*f;
	int	 i;

	f = open_memstream(&body, &len);
	for (i = 0; i < INGEST_BLE_LINKS_MAX; i++)
		fprintf(f, "[ble:l%d]\nname = n%d\n", i, i);
	fflush(f);
	ck_assert_int_eq(load_check(body, &cause), 0);
	fprintf(f, "[ble:extra]\nname = n\n");
	fclose(f);
	ck_assert_int_eq(load_check(body, &cause), -1);
	ck_assert_ptr_nonnull(strstr(cause, "more than 64"));
	free(cause);
	free(body);
}
END_TEST

static sd_bus	*fake;		/* never talks to a bus: builds messages */
static int	 fake_fds[2];

/* An sd-bus object that can make messages without a bus daemon. */
static void
fake_bus(void)
{
	if (fake != NULL)
		return;
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0,
	    fake_fds), 0);
	ck_assert_int_ge(sd_bus_new(&fake), 0);
	ck_assert_int_ge(sd_bus_set_fd(fake, fake_fds[0], fake_fds[0]), 0);
	ck_assert_int_ge(sd_bus_start(fake), 0);
}

/* A new signal message to append a body to. */
static sd_bus_message *
msg_new(void)
{
	sd_bus_message	*m = NULL;

	fake_bus();
	ck_assert_int_ge(sd_bus_message_new_signal(fake, &m,
	    "/org/bluez/hci0/dev_AA_BB_CC_DD_EE_FF", "t.T", "M"), 0);
	return (m);
}

/* Seal a built message so it can be read from the start. */
static sd_bus_message *
msg_seal(sd_bus_message *m)
{
	ck_assert_int_ge(sd_bus_message_seal(m, 1, 0), 0);
	ck_assert_int_ge(sd_bus_message_rewind(m, 1), 0);
	return (m);
}

/* Body number i of the property table. */
static sd_bus_message *
props_body(int i)
{
	sd_bus_message	*m = msg_new();
	static uint8_t	 big[600];
	int		 r = -1;

	switch (i) {
	case 0:		/* a good Device1 */
		r = sd_bus_message_append(m, "a{sv}", 6, "Address", "s",
		    "AA:BB:CC:DD:EE:FF", "Name", "s", "sense-01", "Alias", "s",
		    "al", "Adapter", "o", "/org/bluez/hci0", "Connected", "b",
		    1, "ServicesResolved", "b", 0);
		break;
	case 1:		/* every key of the wrong type */
		r = sd_bus_message_append(m, "a{sv}", 6, "Address", "i", 5,
		    "Name", "o", "/x", "Connected", "s", "yes",
		    "ServicesResolved", "i", 1, "Flags", "s", "notify",
		    "Value", "s", "abc");
		break;
	case 2:		/* a characteristic that notifies */
		r = sd_bus_message_append(m, "a{sv}", 4, "UUID", "s",
		    BLE_NUS_TX, "Service", "o", "/s", "Flags", "as", 2, "read",
		    "notify", "Value", "ay", 3, 'a', 'b', '\n');
		break;
	case 3:		/* Flags without notify; unknown keys, nested */
		r = sd_bus_message_append(m, "a{sv}", 3, "Flags", "as", 1,
		    "write", "ManufacturerData", "a{qv}", 1, 89, "ay", 1, 7,
		    "X", "(ii)", 1, 2);
		break;
	case 4:		/* a 600-byte Value: read whole, bounded later */
		r = sd_bus_message_append(m, "a{sv}", 1, "Value", "ay", 0);
		if (r >= 0) {
			sd_bus_message_unref(m);
			m = msg_new();
			r = sd_bus_message_open_container(m, 'a', "{sv}");
			r = r < 0 ? r : sd_bus_message_open_container(m, 'e',
			    "sv");
			r = r < 0 ? r : sd_bus_message_append(m, "s", "Value");
			r = r < 0 ? r : sd_bus_message_open_container(m, 'v',
			    "ay");
			r = r < 0 ? r : sd_bus_message_append_array(m, 'y',
			    big, sizeof big);
			r = r < 0 ? r : sd_bus_message_close_container(m);
			r = r < 0 ? r : sd_bus_message_close_container(m);
			r = r < 0 ? r : sd_bus_message_close_container(m);
		}
		break;
	case 5:		/* empty dictionary */
		r = sd_bus_message_append(m, "a{sv}", 0);
		break;
	case 6:		/* not a dictionary */
		r = sd_bus_message_append(m, "s", "Address");
		break;
	case 7:		/* a dictionary of strings */
		r = sd_bus_message_append(m, "a{ss}", 1, "Address", "x");
		break;
	case 8:		/* no body at all */
		r = 0;
		break;
	case 9:		/* a{sv} of the wrong key type */
		r = sd_bus_message_append(m, "a{iv}", 1, 1, "s", "x");
		break;
	}
	ck_assert_int_ge(r, 0);
	return (msg_seal(m));
}

/* The property reader against good, odd and malformed dictionaries. */
START_TEST(test_props)
{
	struct ingest_ble_props	 p;
	sd_bus_message		*m;
	int			 r;

	m = props_body(0);
	ck_assert_int_ge(ingest_ble_props_read(m, &p), 0);
	ck_assert_str_eq(p.address, "AA:BB:CC:DD:EE:FF");
	ck_assert_str_eq(p.name, "sense-01");
	ck_assert_str_eq(p.alias, "al");
	ck_assert_str_eq(p.adapter, "/org/bluez/hci0");
	ck_assert_int_eq(p.connected, 1);
	ck_assert_int_eq(p.resolved, 0);
	ck_assert_int_eq(p.notify, -1);
	ck_assert_int_eq(p.has_value, 0);
	sd_bus_message_unref(m);

	m = props_body(1);
	ck_assert_int_ge(ingest_ble_props_read(m, &p), 0);
	ck_assert_ptr_null(p.address);
	ck_assert_ptr_null(p.name);
	ck_assert_int_eq(p.connected, -1);
	ck_assert_int_eq(p.resolved, -1);
	ck_assert_int_eq(p.notify, -1);
	ck_assert_int_eq(p.has_value, 0);
	sd_bus_message_unref(m);

	m = props_body(2);
	ck_assert_int_ge(ingest_ble_props_read(m, &p), 0);
	ck_assert_str_eq(p.uuid, BLE_NUS_TX);
	ck_assert_str_eq(p.service, "/s");
	ck_assert_int_eq(p.notify, 1);
	ck_assert_int_eq(p.has_value, 1);
	ck_assert_uint_eq(p.value_len, 3);
	ck_assert_int_eq(memcmp(p.value, "ab\n", 3), 0);
	sd_bus_message_unref(m);

	m = props_body(3);
	ck_assert_int_ge(ingest_ble_props_read(m, &p), 0);
	ck_assert_int_eq(p.notify, 0);
	sd_bus_message_unref(m);

	m = props_body(4);
	ck_assert_int_ge(ingest_ble_props_read(m, &p), 0);
	ck_assert_int_eq(p.has_value, 1);
	ck_assert_uint_eq(p.value_len, 600);
	sd_bus_message_unref(m);

	m = props_body(5);
	ck_assert_int_ge(ingest_ble_props_read(m, &p), 0);
	ck_assert_ptr_null(p.address);
	sd_bus_message_unref(m);

	for (r = 6; r <= 9; r++) {
		m = props_body(r);
		ck_assert_msg(ingest_ble_props_read(m, &p) < 0, "body %d", r);
		sd_bus_message_unref(m);
	}
}
END_TEST

/* Count what an object scan reports. */
static void
count_iface(const char *path, const char *iface,
    const struct ingest_ble_props *p, void *arg)
{
	int	*n = arg;

	(void)path;
	(void)p;
	if (strcmp(iface, BLE_IF_DEVICE) == 0)
		(*n)++;
}

/* GetManagedObjects answers: one good, malformed ones refused. */
START_TEST(test_objects)
{
	sd_bus_message	*m;
	int		 n = 0;

	m = msg_new();
	ck_assert_int_ge(sd_bus_message_append(m, "a{oa{sa{sv}}}", 2,
	    "/org/bluez/hci0", 1, BLE_IF_ADAPTER, 1, "Address", "s", "x",
	    "/org/bluez/hci0/dev_1", 2, BLE_IF_DEVICE, 1, "Name", "s", "n",
	    "org.bluez.Battery1", 0), 0);
	ck_assert_int_ge(ingest_ble_objects_read(msg_seal(m), count_iface,
	    &n), 0);
	ck_assert_int_eq(n, 1);
	sd_bus_message_unref(m);

	/* An object whose interfaces are strings, not dictionaries. */
	m = msg_new();
	ck_assert_int_ge(sd_bus_message_append(m, "a{oa{ss}}", 1, "/o", 1,
	    BLE_IF_DEVICE, "x"), 0);
	ck_assert_int_lt(ingest_ble_objects_read(msg_seal(m), count_iface,
	    &n), 0);
	sd_bus_message_unref(m);

	/* A path where an object path belongs (a string). */
	m = msg_new();
	ck_assert_int_ge(sd_bus_message_append(m, "a{sa{sa{sv}}}", 1, "/o",
	    0), 0);
	ck_assert_int_lt(ingest_ble_objects_read(msg_seal(m), count_iface,
	    &n), 0);
	sd_bus_message_unref(m);

	/* InterfacesAdded's part, one level down, with a bad property. */
	m = msg_new();
	ck_assert_int_ge(sd_bus_message_append(m, "a{sa{si}}", 1,
	    BLE_IF_DEVICE, 1, "Name", 3), 0);
	ck_assert_int_lt(ingest_ble_ifaces_read(msg_seal(m), "/o",
	    count_iface, &n), 0);
	sd_bus_message_unref(m);
	ck_assert_int_eq(n, 1);
}
END_TEST

/* Run the suite. */
int
main(void)
{
	struct testutil_case	 cases[] = {
		{ test_next_table, 0 },
		{ test_next_walk, 0 },
		{ test_match, 0 },
		{ test_backoff, 0 },
		{ test_config, 0 },
		{ test_config_bound, 0 },
		{ test_props, 0 },
		{ test_objects, 0 },
	};
	int			 rv;

	rv = testutil_run_in(tmpdir, "ble", 0, cases,
	    sizeof cases / sizeof cases[0]);
	sd_bus_close_unref(fake);
	return (rv);
}
