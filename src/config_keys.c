/*
 * config_keys.c - the table of every tinyedge.ini key.
 *
 * One row per key: section, name, type, default, bounds, choices, value
 * check, flags and a one-line help.  config.c reads and validates a file
 * against this table and knows nothing of particular keys beyond the few
 * cross-key checks; adding a key is adding a row here (and documenting it
 * in conf/tinyedge.ini and man/tinyedge.ini.5, which tests compare).
 * The per-key value checks sit here too, next to the rows that use them.
 */
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "config_int.h"
#include "parse.h"
#include "xmalloc.h"

static int	config_check_gateway_id(const char *, char **);
static int	config_check_site(const char *, char **);
static int	config_check_node_id(const char *, char **);
static int	config_check_baud(const char *, char **);
static int	config_check_uri(const char *, char **);
static int	config_check_topic(const char *, char **);

const struct config_stype config_stypes[] = {
	{ "gateway", 0, 0 },
	{ "coap", 0, 0 },
	{ "serial", 1, 0 },
	{ "mqtt", 0, 0 },
	{ "store", 0, 0 },
	{ "summary", 0, 0 },
	{ "tier2", 1, 0 },
	{ "node", 1, 1 },
	{ "federated", 1, 0 },
	{ "homeassistant", 0, 0 },
	{ "learn", 1, 0 },
};
const size_t config_nstypes = sizeof config_stypes / sizeof config_stypes[0];

static const char *const config_levels[] = {
	"error", "warn", "info", "debug", NULL
};
/* Designated indexes: a name sits at its config.h constant. */
static const char *const config_framings[] = {
	[CONFIG_FRAMING_LINES] = "lines", [CONFIG_FRAMING_COBS] = "cobs", NULL
};
static const char *const config_syncs[] = {
	[CONFIG_SYNC_NORMAL] = "normal", [CONFIG_SYNC_FULL] = "full", NULL
};
static const char *const config_whens[] = {
	[CONFIG_WHEN_ALWAYS] = "always",
	[CONFIG_WHEN_LOW_CONFIDENCE] = "low_confidence", NULL
};
static const char *const config_features[] = {
	[CONFIG_FEATURES_RAW] = "raw", [CONFIG_FEATURES_MFCC] = "mfcc",
	[CONFIG_FEATURES_SPECTRAL] = "spectral", NULL
};
static const char *const config_outputs[] = {
	[CONFIG_OUTPUT_CLASSES] = "classes",
	[CONFIG_OUTPUT_ANOMALY] = "anomaly", NULL
};
static const char *const config_protocols[] = {
	[CONFIG_PROTOCOL_311] = "3.1.1", [CONFIG_PROTOCOL_5] = "5", NULL
};

#define DAY_MS	(86400.0 * 1000)
#define NOBOUND	1, 0
/* Feature parameters: typed here, ranges checked by the feature library. */
#define T2_INT(k, d, h)	{ "tier2", k, CT_INT, d, NOBOUND, NULL, NULL, \
	CF_RELOAD, h }
#define T2_DBL(k, d, h)	{ "tier2", k, CT_DOUBLE, d, NOBOUND, NULL, NULL, \
	CF_RELOAD, h }
/* The same for [learn:NAME]; a change starts the section over. */
#define LN_INT(k, d, h)	{ "learn", k, CT_INT, d, NOBOUND, NULL, NULL, \
	CF_RELOAD, h }
#define LN_DBL(k, d, h)	{ "learn", k, CT_DOUBLE, d, NOBOUND, NULL, NULL, \
	CF_RELOAD, h }

const struct config_key config_keys[] = {
	{ "gateway", "id", CT_STRING, "", NOBOUND, NULL,
	  config_check_gateway_id, CF_REQUIRED,
	  "gateway id, [A-Za-z0-9_-]{1,64}" },
	{ "gateway", "data_dir", CT_STRING, "/var/lib/tinyedge", NOBOUND,
	  NULL, NULL, CF_NONEMPTY, "directory of the store database" },
	{ "gateway", "log_level", CT_ENUM, "info", NOBOUND, config_levels,
	  NULL, CF_RELOAD, "error | warn | info | debug" },
	{ "gateway", "node_timeout", CT_DURATION, "5m", 1000, 30 * DAY_MS,
	  NULL, NULL, CF_RELOAD, "a silent node is offline after this" },
	{ "gateway", "max_nodes", CT_INT, "1024", 1, 1000000, NULL, NULL,
	  CF_RELOAD, "known nodes at most; the longest offline is forgotten" },
	{ "gateway", "new_nodes_per_minute", CT_INT, "60", 0, 1000000, NULL,
	  NULL, CF_RELOAD,
	  "new node ids one unauthenticated source may add per minute" },
	{ "gateway", "site", CT_STRING, "", NOBOUND, NULL,
	  config_check_site, 0,
	  "site of a fleet, [A-Za-z0-9_-]{1,64}; empty = none" },

	{ "coap", "listen", CT_HOSTPORT, "0.0.0.0:5683", NOBOUND, NULL, NULL,
	  0, "plain UDP listener; empty = off" },
	{ "coap", "dtls_listen", CT_HOSTPORT, "", NOBOUND, NULL, NULL, 0,
	  "DTLS-PSK listener; empty = off" },
	{ "coap", "psk_file", CT_STRING, "", NOBOUND, NULL, NULL, CF_FILE,
	  "lines \"NODE_ID HEXKEY\"" },
	{ "coap", "require_dtls", CT_BOOL, "false", NOBOUND, NULL, NULL, 0,
	  "node data on the plain listener gets 4.01" },
	{ "coap", "max_body", CT_SIZE, "64K", 16, 16 * 1024 * 1024, NULL,
	  NULL, 0, "larger bodies get 4.13" },
	{ "coap", "max_sessions", CT_INT, "1024", 1, 1000000, NULL, NULL, 0,
	  "idle client sessions kept per listener; the oldest goes first" },
	{ "coap", "max_handshakes", CT_INT, "256", 1, 100000, NULL, NULL, 0,
	  "DTLS handshakes in progress at once" },

	{ "serial", "device", CT_STRING, "", NOBOUND, NULL, NULL,
	  CF_REQUIRED | CF_NONEMPTY, "tty device path" },
	{ "serial", "baud", CT_INT, "115200", NOBOUND, NULL,
	  config_check_baud, 0, "standard rate up to 921600" },
	{ "serial", "framing", CT_ENUM, "lines", NOBOUND, config_framings,
	  NULL, 0, "lines | cobs" },
	{ "serial", "node", CT_STRING, "", NOBOUND, NULL,
	  config_check_node_id, 0, "node id for frames that carry none" },

	{ "mqtt", "uri", CT_STRING, "tcp://127.0.0.1:1883", NOBOUND, NULL,
	  config_check_uri, CF_NONEMPTY, "tcp://HOST:PORT or ssl://HOST:PORT" },
	{ "mqtt", "client_id", CT_STRING, "", NOBOUND, NULL, NULL, 0,
	  "default tinyedge-<gateway.id>" },
	{ "mqtt", "username", CT_STRING, "", NOBOUND, NULL, NULL, 0, "" },
	{ "mqtt", "password_file", CT_STRING, "", NOBOUND, NULL, NULL,
	  CF_FILE,
	  "file holding the password" },
	{ "mqtt", "ca_file", CT_STRING, "", NOBOUND, NULL, NULL, CF_FILE,
	  "CA bundle for ssl://" },
	{ "mqtt", "cert_file", CT_STRING, "", NOBOUND, NULL, NULL, CF_FILE,
	  "client certificate" },
	{ "mqtt", "key_file", CT_STRING, "", NOBOUND, NULL, NULL, CF_FILE,
	  "client key" },
	{ "mqtt", "topic_prefix", CT_STRING, "", NOBOUND, NULL,
	  config_check_topic, 0, "default tinyedge/<gateway.id>" },
	{ "mqtt", "qos", CT_INT, "1", 0, 2, NULL, NULL, 0, "0, 1 or 2" },
	{ "mqtt", "protocol", CT_ENUM, "3.1.1", NOBOUND, config_protocols,
	  NULL, 0, "MQTT version: 3.1.1 | 5" },
	{ "mqtt", "keepalive", CT_DURATION, "30s", 1000, 65535000, NULL, NULL,
	  0, "MQTT keepalive" },
	{ "mqtt", "max_inflight", CT_INT, "64", 1, 65535, NULL, NULL, 0,
	  "unacknowledged publishes at once" },
	{ "mqtt", "metrics_interval", CT_DURATION, "10s", 1000, DAY_MS, NULL,
	  NULL, CF_RELOAD, "period of P/metrics" },
	{ "mqtt", "max_payload", CT_SIZE, "64K", 1024, 256.0 * 1024 * 1024,
	  NULL, NULL, CF_RELOAD, "larger outbox messages are not stored" },
	{ "mqtt", "commands", CT_BOOL, "off", NOBOUND, NULL, NULL, 0,
	  "take commands from P/cmd/# (SPEC 9.2)" },
	{ "mqtt", "session_expiry", CT_DURATION, "0", 0, 30 * DAY_MS, NULL,
	  NULL, 0, "MQTT 5: the broker keeps the session this long; 0 = clean" },
	{ "mqtt", "command_max", CT_SIZE, "4M", 1024, 64.0 * 1024 * 1024,
	  NULL, NULL, CF_RELOAD,
	  "larger commands (model files) are refused with a result" },

	{ "homeassistant", "discovery", CT_BOOL, "off", NOBOUND, NULL, NULL,
	  0, "publish Home Assistant MQTT discovery configs" },
	{ "homeassistant", "prefix", CT_STRING, "homeassistant", NOBOUND,
	  NULL, config_check_topic, CF_NONEMPTY,
	  "Home Assistant's discovery prefix" },

	{ "store", "max_bytes", CT_SIZE, "64M", 64 * 1024,
	  1024.0 * 1024 * 1024 * 1024, NULL, NULL, CF_RELOAD,
	  "cap on buffered payload bytes" },
	{ "store", "max_age", CT_DURATION, "7d", 60000, 3650 * DAY_MS, NULL,
	  NULL, CF_RELOAD, "unsent messages older than this are dropped" },
	{ "store", "raw_retention", CT_DURATION, "24h", 0, 3650 * DAY_MS,
	  NULL, NULL, CF_RELOAD,
	  "summarized raw messages are kept this long; 0 = delete at once" },
	{ "store", "sync", CT_ENUM, "normal", NOBOUND, config_syncs, NULL, 0,
	  "normal | full" },
	{ "store", "commit_interval", CT_DURATION, "5s", 10, 60000, NULL, NULL,
	  CF_RELOAD, "readings reach SQLite in one commit per this" },

	{ "summary", "interval", CT_DURATION, "60s", 1000, DAY_MS, NULL, NULL,
	  CF_RELOAD, "per-node summary period" },
	{ "summary", "event_min_score", CT_DOUBLE, "0.8", 0, 1, NULL, NULL,
	  CF_RELOAD, "an inference at or above this becomes an event" },
	{ "summary", "ignore_labels", CT_LIST,
	  "_silence_, _unknown_, background, idle", NOBOUND, NULL, NULL,
	  CF_RELOAD, "labels that never become events" },
	{ "summary", "debounce", CT_DURATION, "5s", 0, 3600000, NULL, NULL,
	  CF_RELOAD, "repeats inside this merge into one event; 0 = none" },
	{ "summary", "forward_windows", CT_BOOL, "false", NOBOUND, NULL, NULL,
	  CF_RELOAD, "also publish raw windows" },
	{ "summary", "max_labels", CT_INT, "64", 1, 10000, NULL, NULL,
	  CF_RELOAD, "labels per summary; the rest fold into _other_" },

	{ "tier2", "model", CT_STRING, "", NOBOUND, NULL, NULL,
	  CF_REQUIRED | CF_NONEMPTY | CF_RELOAD, ".tflite model file" },
	{ "tier2", "labels", CT_STRING, "", NOBOUND, NULL, NULL, CF_RELOAD,
	  "file, one label per line, in output order" },
	{ "tier2", "nodes", CT_STRING, "*", NOBOUND, NULL, NULL,
	  CF_NONEMPTY | CF_RELOAD, "glob over node ids" },
	{ "tier2", "when", CT_ENUM, "low_confidence", NOBOUND, config_whens,
	  NULL, CF_RELOAD, "always | low_confidence" },
	{ "tier2", "threshold", CT_DOUBLE, "0.7", 0, 1, NULL, NULL, CF_RELOAD,
	  "low_confidence: run when the node's score is below this" },
	{ "tier2", "features", CT_ENUM, "raw", NOBOUND, config_features, NULL,
	  CF_RELOAD, "raw | mfcc | spectral" },
	{ "tier2", "output", CT_ENUM, "classes", NOBOUND, config_outputs, NULL,
	  CF_RELOAD, "classes (arg max, labels) | anomaly (autoencoder MSE)" },
	{ "tier2", "anomaly_threshold", CT_DOUBLE, "1", 0, 1e300, NULL, NULL,
	  CF_RELOAD, "anomaly: label \"anomaly\" at or above this MSE" },
	{ "tier2", "queue", CT_INT, "4", 1, 1024, NULL, NULL, 0,
	  "windows waiting per model; more are skipped" },
	T2_INT("mfcc_frame_length", "480", "samples per STFT frame"),
	T2_INT("mfcc_frame_step", "320", "hop between frames"),
	T2_INT("mfcc_fft_length", "512", "FFT size"),
	T2_INT("mfcc_mel_bins", "40", "mel filters"),
	T2_INT("mfcc_coefficients", "10", "cepstral coefficients kept"),
	T2_INT("mfcc_frames", "49", "frames a window must give"),
	T2_INT("mfcc_normalize", "1", "1: divide by the window maximum"),
	T2_DBL("mfcc_sample_rate", "16000", "Hz, places the mel filters"),
	T2_DBL("mfcc_lower_hz", "20", "lower edge of the mel bank"),
	T2_DBL("mfcc_upper_hz", "4000", "upper edge of the mel bank"),
	T2_DBL("mfcc_log_offset", "1e-6", "log(mel + offset)"),
	T2_INT("spectral_axes", "3", "axes a window must have"),
	T2_INT("spectral_bands", "8", "log-spaced FFT bands per axis"),
	T2_DBL("spectral_low_hz", "1", "lower edge of the first band"),
	T2_DBL("spectral_lowpass_hz", "0", "low-pass cutoff, 0 = off"),
	T2_DBL("spectral_highpass_hz", "0", "high-pass cutoff, 0 = off"),

	{ "federated", "model", CT_STRING, "", NOBOUND, NULL, NULL,
	  CF_REQUIRED | CF_NONEMPTY | CF_FILE,
	  ".tflite model; its last FULLY_CONNECTED layer is the head" },
	{ "federated", "nodes", CT_STRING, "*", NOBOUND, NULL, NULL,
	  CF_NONEMPTY | CF_RELOAD, "glob over the node ids that may send "
	  "updates" },
	{ "federated", "min_clients", CT_INT, "3", 1, 1000000, NULL, NULL,
	  CF_RELOAD, "a round needs at least this many accepted updates" },
	{ "federated", "round_timeout", CT_DURATION, "10m", 1000,
	  30 * DAY_MS, NULL, NULL, CF_RELOAD,
	  "a round closes at this age if min_clients is reached" },
	{ "federated", "target_clients", CT_INT, "0", 0, 1000000, NULL, NULL,
	  CF_RELOAD, "close as soon as this many are accepted; 0 = timeout" },
	{ "federated", "clip_norm", CT_DOUBLE, "0", 0, 1e30, NULL, NULL,
	  CF_RELOAD, "> 0: clip each update to this L2 norm" },
	{ "federated", "max_weight", CT_INT, "0", 0, 4294967295.0, NULL,
	  NULL, CF_RELOAD, "> 0: a node's weight is min(samples, max_weight)" },
	{ "federated", "validation", CT_STRING, "", NOBOUND, NULL, NULL,
	  CF_FILE, "file of labelled head inputs for the gate; empty = none" },
	{ "federated", "max_regression", CT_DOUBLE, "0.01", 0, 1, NULL, NULL,
	  CF_RELOAD, "a round losing more validation accuracy is rejected" },

	{ "learn", "nodes", CT_STRING, "*", NOBOUND, NULL, NULL,
	  CF_NONEMPTY | CF_RELOAD, "glob: every matching node gets its own "
	  "model" },
	{ "learn", "features", CT_ENUM, "spectral", NOBOUND, config_features,
	  NULL, CF_RELOAD, "raw | mfcc | spectral (a change starts over)" },
	{ "learn", "windows", CT_INT, "200", 10, 5000, NULL, NULL, CF_RELOAD,
	  "normal windows collected per node before training" },
	{ "learn", "threshold_quantile", CT_DOUBLE, "0.995", 0.5, 1, NULL,
	  NULL, CF_RELOAD, "of the errors on held-out normal windows" },
	{ "learn", "max_nodes", CT_INT, "256", 1, 4096, NULL, NULL, CF_RELOAD,
	  "nodes learned at most; later ones are counted, not learned" },
	LN_INT("mfcc_frame_length", "480", "samples per STFT frame"),
	LN_INT("mfcc_frame_step", "320", "hop between frames"),
	LN_INT("mfcc_fft_length", "512", "FFT size"),
	LN_INT("mfcc_mel_bins", "40", "mel filters"),
	LN_INT("mfcc_coefficients", "10", "cepstral coefficients kept"),
	LN_INT("mfcc_frames", "49", "frames a window must give"),
	LN_INT("mfcc_normalize", "1", "1: divide by the window maximum"),
	LN_DBL("mfcc_sample_rate", "16000", "Hz, places the mel filters"),
	LN_DBL("mfcc_lower_hz", "20", "lower edge of the mel bank"),
	LN_DBL("mfcc_upper_hz", "4000", "upper edge of the mel bank"),
	LN_DBL("mfcc_log_offset", "1e-6", "log(mel + offset)"),
	LN_INT("spectral_axes", "3", "axes a window must have"),
	LN_INT("spectral_bands", "8", "log-spaced FFT bands per axis"),
	LN_DBL("spectral_low_hz", "1", "lower edge of the first band"),
	LN_DBL("spectral_lowpass_hz", "0", "low-pass cutoff, 0 = off"),
	LN_DBL("spectral_highpass_hz", "0", "high-pass cutoff, 0 = off"),

	/* Every other key of [node:GLOB] is a free setting (config_node.c). */
	{ "node", "model", CT_STRING, "", NOBOUND, NULL,
	  config_node_check_model, CF_RELOAD,
	  "node model NAME or NAME@VERSION; empty = none" },
};
const size_t config_nkeys = sizeof config_keys / sizeof config_keys[0];

/* gateway.id: [A-Za-z0-9_-]{1,64}. */
static int
config_check_gateway_id(const char *s, char **cause)
{
	return (parse_id(s, 64, "_-", cause));
}

/* gateway.site: [A-Za-z0-9_-]{1,64}; empty = unset. */
static int
config_check_site(const char *s, char **cause)
{
	if (*s == '\0')
		return (0);
	return (parse_id(s, 64, "_-", cause));
}

/* A node id, [A-Za-z0-9_.-]{1,64} but not . or ..; empty = unset. */
static int
config_check_node_id(const char *s, char **cause)
{
	if (*s == '\0')
		return (0);
	if (strcmp(s, ".") == 0 || strcmp(s, "..") == 0) {
		xasprintf(cause, "\"%s\" is not a node id", s);
		return (-1);
	}
	return (parse_id(s, 64, "_.-", cause));
}

/* A standard termios rate. */
static int
config_check_baud(const char *s, char **cause)
{
	static const long rates[] = {
		1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200, 230400,
		460800, 500000, 576000, 921600,
	};
	char	*end;
	long	 v;
	size_t	 i;

	v = strtol(s, &end, 10);
	for (i = 0; *end == '\0' && i < sizeof rates / sizeof rates[0]; i++) {
		if (rates[i] == v)
			return (0);
	}
	xasprintf(cause, "\"%s\" is not a supported baud rate (1200 .. "
	    "921600, standard rates only)", s);
	return (-1);
}

/* tcp://HOST:PORT or ssl://HOST:PORT. */
static int
config_check_uri(const char *s, char **cause)
{
	const char	*host, *colon;

	if (strncmp(s, "tcp://", 6) == 0 || strncmp(s, "ssl://", 6) == 0)
		host = s + 6;
	else {
		xasprintf(cause, "\"%s\": must start with tcp:// or ssl://", s);
		return (-1);
	}
	colon = strrchr(host, ':');
	if (*host == '\0' || colon == NULL || colon == host ||
	    colon[1] == '\0' || strspn(colon + 1, "0123456789") !=
	    strlen(colon + 1) || atoi(colon + 1) < 1 ||
	    atoi(colon + 1) > 65535) {
		xasprintf(cause, "\"%s\": expected tcp://HOST:PORT", s);
		return (-1);
	}
	return (0);
}

/* An MQTT topic prefix: no wildcards, no leading or trailing slash. */
static int
config_check_topic(const char *s, char **cause)
{
	size_t	n = strlen(s);

	if (n == 0)
		return (0);
	if (strpbrk(s, "+#") != NULL || s[0] == '/' || s[n - 1] == '/' ||
	    strstr(s, "//") != NULL) {
		xasprintf(cause, "\"%s\": a topic prefix has no wildcards and "
		    "no empty levels", s);
		return (-1);
	}
	return (0);
}
