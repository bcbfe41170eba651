/*
 * nodesim.c - tinyedge-nodesim: simulated TinyML nodes (SPEC section 8).
 *
 * Each simulated node has its own CoAP client session, so its own UDP
 * source port, and with --psk its own DTLS identity.  Nodes send
 * confirmable POSTs: inferences with labels from a keyword-spotting
 * vocabulary and noisy scores (now and then an unsure one), and with
 * --windows-every K a window per K inferences, alternating accelerometer
 * JSON and binary int16, some over 1 KB so they go by Block1.  seq rises
 * per node; the boot id and all traffic follow from --seed.
 *
 * --rate R sends R messages per second per node; --rate 0 sends as fast as
 * acknowledgements return, keeping --window requests outstanding per node.
 * After --duration seconds sending stops, outstanding requests get a few
 * seconds, and one result line is printed:
 *   sent=N acked=N failed=N p50_ms=X p99_ms=Y
 * --audio makes every window one second of 16 kHz mono int16 audio (a
 * tone and noise, 32 KB, binary by Block1), the input of a keyword-
 * spotting front end; --windows-only sends nothing but windows.
 * --acked-log FILE lists every acknowledged message, one per line:
 *   node boot seq type label score
 * --serial DEVICE writes the same traffic to a tty instead (see
 * nodesim_serial.c); "acked" then means "written whole".
 */
#include <sys/time.h>

#include <netdb.h>

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <coap3/coap.h>

#include "nodesim.h"
#include "parse.h"
#include "xmalloc.h"

#define SIM_DRAIN_MS	5000	/* wait for late responses at the end */
#define SIM_BLOCK_MIN	512	/* bodies above this may go by Block1 */

static const char *sim_labels[] = {
	"yes", "no", "up", "down", "left", "right", "on", "off", "stop",
	"go", "_silence_", "_unknown_",
};

static struct {
	struct sim_node	*nodes;
	int		 nnodes;
	double		 rate;
	int		 window;
	double		 duration;
	int		 windows_every;
	int		 no_binary;	/* lines framing: JSON windows only */
	int		 audio;		/* windows: 1 s of 16 kHz int16 audio */
	int		 windows_only;	/* every message is a window */
	int		 ack_timeout_ms; /* CoAP ACK_TIMEOUT; 0: libcoap's */
	uint64_t	 rng;
	int		 json;
	FILE		*acked_log;
	uint64_t	 sent, acked, failed;
	uint64_t	 acked_bytes;	/* body bytes of acked requests */
	double		*lat;
	size_t		 nlat, szlat;
	volatile sig_atomic_t stop;
} sim;

/* splitmix64: small, fast, deterministic from the seed. */
uint64_t
nodesim_rand(void)
{
	uint64_t	z = (sim.rng += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return (z ^ (z >> 31));
}

/* A uniform double in [0, 1). */
double
nodesim_uniform(void)
{
	return ((double)(nodesim_rand() >> 11) / 9007199254740992.0);
}

/* Monotonic milliseconds. */
double
nodesim_now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((double)ts.tv_sec * 1000 + (double)ts.tv_nsec / 1e6);
}

/* Has ^C or SIGTERM asked us to stop? */
int
nodesim_stopped(void)
{
	return (sim.stop);
}

/* Remember one acknowledged message's latency. */
static void
sim_latency(double ms)
{
	if (sim.nlat == sim.szlat) {
		sim.szlat = sim.szlat ? sim.szlat * 2 : 4096;
		sim.lat = xreallocarray(sim.lat, sim.szlat, sizeof *sim.lat);
	}
	sim.lat[sim.nlat++] = ms;
}

/* Serial mode: count one message, written whole (ok) or not. */
void
nodesim_count(int ok, double ms)
{
	sim.sent++;
	if (!ok) {
		sim.failed++;
		return;
	}
	sim.acked++;
	sim_latency(ms);
}

/* Lines framing cannot carry binary windows: send JSON ones only. */
void
nodesim_windows_json_only(void)
{
	sim.no_binary = 1;
}

/* Wall-clock milliseconds since the epoch. */
static uint64_t
sim_epoch_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ((uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000);
}

/* Print usage and exit. */
static void __attribute__((noreturn))
sim_usage(int status)
{
	fprintf(status ? stderr : stdout,
	    "usage: tinyedge-nodesim --coap URI [--psk FILE] [--nodes N] "
	    "[--rate R]\n"
	    "           [--window W] [--duration D] [--windows-every K] "
	    "[--seed S]\n"
	    "           [--prefix NAME] [--acked-log FILE] [--json] [--audio]\n"
	    "           [--windows-only] [--ack-timeout MS]\n"
	    "       tinyedge-nodesim --serial DEVICE [--framing lines|cobs] "
	    "[--garbage P]\n"
	    "           [--count N] [--baud B] [same options but --coap/--psk/"
	    "--window]\n"
	    "  --coap URI         coap://HOST:PORT or coaps://HOST:PORT "
	    "(with --psk)\n"
	    "  --psk FILE         NODE_ID HEXKEY lines; node ids come from "
	    "this file\n"
	    "  --nodes N          simulated nodes (default 1)\n"
	    "  --rate R           messages per second per node; 0 = as fast "
	    "as acked\n"
	    "  --window W         outstanding requests per node (default 1)\n"
	    "  --duration D       seconds of sending (default 10)\n"
	    "  --windows-every K  send a window after every K inferences\n"
	    "  --seed S           seed of all generated traffic (default 1)\n"
	    "  --audio            windows are 1 s of 16 kHz int16 audio "
	    "(binary)\n"
	    "  --windows-only     send windows only, no inferences\n"
	    "  --ack-timeout MS   CoAP ACK_TIMEOUT (default libcoap's 2 s)\n"
	    "  --serial DEVICE    write to a tty (or file) instead of CoAP\n"
	    "  --framing F        lines (default) or cobs\n"
	    "  --garbage P        junk (debug prints, bad frames) before a "
	    "message\n"
	    "                     with probability P; tallied on stderr\n"
	    "  --count N          serial: stop after N messages\n"
	    "  --baud B           serial: tty rate (default 115200)\n");
	exit(status);
}

/* Load node ids and keys from a psk file. */
static int
sim_load_psk(const char *path, int want)
{
	FILE	*f;
	char	 line[512], id[128], hex[256];
	int	 n = 0;

	if ((f = fopen(path, "r")) == NULL) {
		fprintf(stderr, "tinyedge-nodesim: %s: %s\n", path,
		    strerror(errno));
		return (-1);
	}
	while (n < want && fgets(line, sizeof line, f) != NULL) {
		if (sscanf(line, " %127s %255s", id, hex) != 2 || id[0] == '#')
			continue;
		snprintf(sim.nodes[n].id, sizeof sim.nodes[n].id, "%.64s", id);
		if (parse_hex(hex, sim.nodes[n].key, sizeof sim.nodes[n].key,
		    &sim.nodes[n].keylen) != 0) {
			fprintf(stderr, "tinyedge-nodesim: %s: bad key for %s\n",
			    path, id);
			fclose(f);
			return (-1);
		}
		n++;
	}
	fclose(f);
	if (n < want) {
		fprintf(stderr, "tinyedge-nodesim: %s has %d keys, %d nodes "
		    "asked for\n", path, n, want);
		return (-1);
	}
	return (0);
}

/* Record one finished request. */
static void
sim_finish(struct sim_node *nd, struct sim_req *r, int ok)
{
	double	ms = nodesim_now_ms() - r->sent_ms;

	if (ok) {
		sim.acked++;
		sim.acked_bytes += r->len;
		sim_latency(ms);
		if (sim.acked_log != NULL)
			fprintf(sim.acked_log, "%s %u %u %s %s %.4f\n", nd->id,
			    nd->boot, r->seq, r->type == 1 ? "inference" :
			    "window", r->type == 1 ? r->label : "-", r->score);
	} else
		sim.failed++;
	r->used = 0;
	nd->outstanding--;
}

/* Find the node and request a response belongs to. */
static struct sim_req *
sim_match(coap_session_t *session, const coap_pdu_t *pdu,
    struct sim_node **ndp)
{
	struct sim_node		*nd = coap_session_get_app_data(session);
	struct sim_req		*oldest = NULL;
	coap_bin_const_t	 tok;
	int			 i;

	*ndp = nd;
	if (nd == NULL)
		return (NULL);
	tok = coap_pdu_get_token(pdu);
	for (i = 0; i < SIM_WINDOW_MAX; i++) {
		struct sim_req *r = &nd->req[i];

		if (!r->used)
			continue;
		if (r->toklen == tok.length &&
		    memcmp(r->token, tok.s, tok.length) == 0)
			return (r);
		if (r->blockwise && (oldest == NULL || r->sent_ms <
		    oldest->sent_ms))
			oldest = r;
	}
	/*
	 * Block1 transfers may answer with another token: the oldest such
	 * request.  A response with an unknown token to a small request is a
	 * late answer to a retransmission we already gave up on: matching it
	 * to another request would log an acknowledgement the gateway never
	 * gave.
	 */
	return (oldest);
}

/* A response arrived. */
static coap_response_t
sim_response(coap_session_t *session, const coap_pdu_t *sent,
    const coap_pdu_t *received, const coap_mid_t mid)
{
	struct sim_node	*nd;
	struct sim_req	*r;
	coap_pdu_code_t	 code = coap_pdu_get_code(received);

	(void)sent;
	(void)mid;
	if (coap_pdu_get_type(received) == COAP_MESSAGE_RST)
		code = 0;
	if (COAP_RESPONSE_CLASS(code) == 2 && code ==
	    COAP_RESPONSE_CODE(231))
		return (COAP_RESPONSE_OK);	/* Block1 continue */
	if ((r = sim_match(session, received, &nd)) != NULL)
		sim_finish(nd, r, COAP_RESPONSE_CLASS(code) == 2);
	return (COAP_RESPONSE_OK);
}

/* A request timed out or the session failed. */
static void
sim_nack(coap_session_t *session, const coap_pdu_t *sent,
    const coap_nack_reason_t reason, const coap_mid_t mid)
{
	struct sim_node	*nd;
	struct sim_req	*r;

	(void)mid;
	(void)reason;
	if (sent == NULL)
		return;
	if ((r = sim_match(session, sent, &nd)) != NULL)
		sim_finish(nd, r, 0);
}

/* Put a little-endian 32-bit value. */
static void
sim_le32(unsigned char *p, uint32_t v)
{
	p[0] = v & 0xff;
	p[1] = (v >> 8) & 0xff;
	p[2] = (v >> 16) & 0xff;
	p[3] = (v >> 24) & 0xff;
}

/* One second of 16 kHz int16 audio as a binary window: tone and noise. */
static unsigned char *
sim_audio(struct sim_req *r, size_t *len, int *cf)
{
	const int	 n = 16000;
	unsigned char	*b;
	float		 scale = 1.0f / 32768;
	uint32_t	 bits;
	double		 hz = 300 + 100 * (r->seq % 16);
	int		 i;

	*len = 20 + (size_t)n * 2;
	b = xmalloc(*len);
	memcpy(b, "TW\x01\x02\x01\x00", 6);
	b[6] = n & 0xff;
	b[7] = (unsigned char)(n >> 8);
	sim_le32(b + 8, r->seq);
	sim_le32(b + 12, 62);		/* 1e6 / 16000, rounded down */
	memcpy(&bits, &scale, 4);
	sim_le32(b + 16, bits);
	for (i = 0; i < n; i++) {
		int16_t x = (int16_t)(8000 * sin(2 * M_PI * hz * i / 16000) +
		    (double)(nodesim_rand() % 1000) - 500);

		b[20 + 2 * i] = x & 0xff;
		b[21 + 2 * i] = (x >> 8) & 0xff;
	}
	*cf = 42;
	return (b);
}

/* Build the next message body for a node; *type 1 or 2, *cf 50 or 42. */
unsigned char *
nodesim_body(struct sim_node *nd, struct sim_req *r, size_t *len, int *cf)
{
	unsigned char	*b;
	char		*s, *rows, *t;
	int		 frames, i;
	double		 score;

	r->seq = ++nd->seq;
	if (sim.windows_only || (sim.windows_every > 0 &&
	    nd->count % (uint64_t)(sim.windows_every + 1) ==
	    (uint64_t)sim.windows_every)) {
		r->type = 2;
		r->score = 0.4 + 0.2 * nodesim_uniform();
		snprintf(r->label, sizeof r->label, "idle");
		if (sim.audio && !sim.no_binary)
			return (sim_audio(r, len, cf));
		frames = 20 + (int)(nodesim_rand() % 120);
		if (!sim.no_binary && nd->seq % 2 == 0) {
			/* binary int16, 3 axes */
			*len = 20 + (size_t)frames * 3 * 2;
			b = xmalloc(*len);
			float scale = 0.001f;
			uint32_t v[3] = { r->seq, 10000, 0 };
			memcpy(&v[2], &scale, 4);
			memcpy(b, "TW\x01\x02\x03\x00", 6);
			b[6] = frames & 0xff;
			b[7] = (unsigned char)(frames >> 8);
			for (i = 0; i < 3; i++) {
				b[8 + 4 * i] = v[i] & 0xff;
				b[9 + 4 * i] = (v[i] >> 8) & 0xff;
				b[10 + 4 * i] = (v[i] >> 16) & 0xff;
				b[11 + 4 * i] = (v[i] >> 24) & 0xff;
			}
			for (i = 0; i < frames * 3; i++) {
				int16_t x = (int16_t)(sin(i * 0.1) * 9810 +
				    (double)(nodesim_rand() % 200) - 100);
				b[20 + 2 * i] = x & 0xff;
				b[21 + 2 * i] = (x >> 8) & 0xff;
			}
			*cf = 42;
			return (b);
		}
		rows = xstrdup("");
		for (i = 0; i < frames; i++) {
			xasprintf(&t, "%s%s[%.3f,%.3f,%.3f]", rows, i ? "," : "",
			    sin(i * 0.1) + 0.01 * nodesim_uniform(),
			    cos(i * 0.1), 9.81 + 0.05 * nodesim_uniform());
			free(rows);
			rows = t;
		}
		xasprintf(&s, "{\"seq\":%u,\"boot\":%u,\"interval_ms\":10,"
		    "\"sensors\":[{\"name\":\"accX\",\"units\":\"m/s2\"},"
		    "{\"name\":\"accY\",\"units\":\"m/s2\"},{\"name\":\"accZ\","
		    "\"units\":\"m/s2\"}],\"values\":[%s],\"model\":\"wave-v2\","
		    "\"label\":\"idle\",\"score\":%.3f}", r->seq, nd->boot, rows,
		    r->score);
		free(rows);
		*len = strlen(s);
		*cf = 50;
		return ((unsigned char *)s);
	}
	r->type = 1;
	i = (int)(nodesim_rand() % (sizeof sim_labels / sizeof sim_labels[0]));
	snprintf(r->label, sizeof r->label, "%s", sim_labels[i]);
	/* Mostly confident, sometimes unsure. */
	score = nodesim_uniform() < 0.15 ? 0.3 + 0.4 * nodesim_uniform() :
	    0.8 + 0.2 * nodesim_uniform();
	r->score = floor(score * 10000) / 10000;
	xasprintf(&s, "{\"seq\":%u,\"boot\":%u,\"ts\":%llu,\"model\":"
	    "\"kws-dscnn-v1\",\"label\":\"%s\",\"score\":%.4f,\"scores\":"
	    "{\"%s\":%.4f},\"latency_us\":%u}", r->seq, nd->boot,
	    (unsigned long long)sim_epoch_ms(), r->label, r->score, r->label,
	    r->score, 2000 + (unsigned)(nodesim_rand() % 800));
	*len = strlen(s);
	*cf = 50;
	nd->count++;
	return ((unsigned char *)s);
}

/* Free a large body once libcoap is done with it. */
static void
sim_release(coap_session_t *session, void *app_ptr)
{
	(void)session;
	free(app_ptr);
}

/* Send one request from a node. */
static int
sim_send(struct sim_node *nd)
{
	struct sim_req	*r = NULL;
	coap_pdu_t	*pdu;
	unsigned char	*body, cfbuf[4];
	char		 query[32];
	const char	*kind;
	size_t		 len;
	int		 i, cf;

	for (i = 0; i < SIM_WINDOW_MAX && r == NULL; i++) {
		if (!nd->req[i].used)
			r = &nd->req[i];
	}
	if (r == NULL)
		return (-1);
	pdu = coap_pdu_init(COAP_MESSAGE_CON, COAP_REQUEST_CODE_POST,
	    coap_new_message_id(nd->session),
	    coap_session_max_pdu_size(nd->session));
	if (pdu == NULL)
		return (-1);
	body = nodesim_body(nd, r, &len, &cf);
	if (r->type == 2)
		nd->count++;
	coap_session_new_token(nd->session, &r->toklen, r->token);
	coap_add_token(pdu, r->toklen, r->token);
	kind = r->type == 1 ? "inference" : "window";
	coap_add_option(pdu, COAP_OPTION_URI_PATH, 2, (const uint8_t *)"v1");
	coap_add_option(pdu, COAP_OPTION_URI_PATH, 1, (const uint8_t *)"n");
	coap_add_option(pdu, COAP_OPTION_URI_PATH, strlen(nd->id),
	    (const uint8_t *)nd->id);
	coap_add_option(pdu, COAP_OPTION_URI_PATH, strlen(kind),
	    (const uint8_t *)kind);
	coap_add_option(pdu, COAP_OPTION_CONTENT_FORMAT,
	    coap_encode_var_safe(cfbuf, sizeof cfbuf, (unsigned)cf), cfbuf);
	if (cf == 42) {
		/* The binary header has no boot: the query carries it. */
		snprintf(query, sizeof query, "boot=%u", nd->boot);
		coap_add_option(pdu, COAP_OPTION_URI_QUERY, strlen(query),
		    (const uint8_t *)query);
	}
	if (!coap_add_data_large_request(nd->session, pdu, len, body,
	    sim_release, body)) {
		coap_delete_pdu(pdu);
		return (-1);
	}
	r->used = 1;
	r->blockwise = len > SIM_BLOCK_MIN;
	r->len = len;
	r->sent_ms = nodesim_now_ms();
	nd->outstanding++;
	sim.sent++;
	if (coap_send(nd->session, pdu) == COAP_INVALID_MID) {
		sim_finish(nd, r, 0);
		return (-1);
	}
	return (0);
}

/* Compare doubles for qsort. */
static int
sim_cmp(const void *a, const void *b)
{
	double	x = *(const double *)a, y = *(const double *)b;

	return ((x > y) - (x < y));
}

/* Percentile of the sorted latencies. */
static double
sim_pct(double p)
{
	size_t	i;

	if (sim.nlat == 0)
		return (0);
	i = (size_t)ceil(p * (double)sim.nlat) - 1;
	if (i >= sim.nlat)
		i = sim.nlat - 1;
	return (sim.lat[i]);
}

/* Resolve the URI's host and port into a libcoap address. */
static int
sim_resolve(const coap_uri_t *u, coap_address_t *dst)
{
	struct addrinfo	 hints, *res;
	char		 host[256], port[8];
	int		 rc;

	snprintf(host, sizeof host, "%.*s", (int)u->host.length,
	    (const char *)u->host.s);
	snprintf(port, sizeof port, "%u", u->port);
	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_DGRAM;
	if ((rc = getaddrinfo(host, port, &hints, &res)) != 0) {
		fprintf(stderr, "tinyedge-nodesim: %s: %s\n", host,
		    gai_strerror(rc));
		return (-1);
	}
	coap_address_init(dst);
	dst->size = res->ai_addrlen;
	memcpy(&dst->addr.sa, res->ai_addr, res->ai_addrlen);
	freeaddrinfo(res);
	return (0);
}

/* Ctrl-C: stop sending, then report. */
static void
sim_signal(int sig)
{
	(void)sig;
	sim.stop = 1;
}

/* Print the result line (SPEC section 8). */
static void
sim_result(double start)
{
	qsort(sim.lat, sim.nlat, sizeof *sim.lat, sim_cmp);
	if (sim.json)
		printf("{\"sent\":%llu,\"acked\":%llu,\"failed\":%llu,"
		    "\"p50_ms\":%.3f,\"p99_ms\":%.3f,\"seconds\":%.3f,"
		    "\"acked_bytes\":%llu}\n",
		    (unsigned long long)sim.sent,
		    (unsigned long long)sim.acked,
		    (unsigned long long)sim.failed, sim_pct(0.5), sim_pct(0.99),
		    (nodesim_now_ms() - start) / 1000,
		    (unsigned long long)sim.acked_bytes);
	else
		printf("sent=%llu acked=%llu failed=%llu p50_ms=%.3f "
		    "p99_ms=%.3f\n", (unsigned long long)sim.sent,
		    (unsigned long long)sim.acked,
		    (unsigned long long)sim.failed, sim_pct(0.5), sim_pct(0.99));
}

/* Parse the options, run CoAP or serial mode, print the result line. */
int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "coap", required_argument, NULL, 'c' },
		{ "psk", required_argument, NULL, 'p' },
		{ "nodes", required_argument, NULL, 'n' },
		{ "rate", required_argument, NULL, 'r' },
		{ "window", required_argument, NULL, 'w' },
		{ "duration", required_argument, NULL, 'd' },
		{ "windows-every", required_argument, NULL, 'k' },
		{ "seed", required_argument, NULL, 's' },
		{ "prefix", required_argument, NULL, 'P' },
		{ "acked-log", required_argument, NULL, 'a' },
		{ "json", no_argument, NULL, 'j' },
		{ "serial", required_argument, NULL, 'S' },
		{ "framing", required_argument, NULL, 'F' },
		{ "garbage", required_argument, NULL, 'g' },
		{ "count", required_argument, NULL, 'C' },
		{ "baud", required_argument, NULL, 'b' },
		{ "audio", no_argument, NULL, 'A' },
		{ "windows-only", no_argument, NULL, 'W' },
		{ "ack-timeout", required_argument, NULL, 'T' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char	*uri = NULL, *psk = NULL, *prefix = "sim";
	const char	*serial = NULL, *framing = "lines";
	long		 baud = 115200;
	double		 garbage = 0;
	uint64_t	 count = 0;
	coap_context_t	*ctx;
	coap_uri_t	 u;
	coap_address_t	 dst;
	double		 start, now, wait, end_send;
	uint64_t	 seed = 1;
	int		 ch, i, dtls;

	sim.nnodes = 1;
	sim.rate = 10;
	sim.window = 1;
	sim.duration = 10;
	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (ch) {
		case 'c': uri = optarg; break;
		case 'p': psk = optarg; break;
		case 'n': sim.nnodes = atoi(optarg); break;
		case 'r': sim.rate = atof(optarg); break;
		case 'w': sim.window = atoi(optarg); break;
		case 'd': sim.duration = atof(optarg); break;
		case 'k': sim.windows_every = atoi(optarg); break;
		case 's': seed = strtoull(optarg, NULL, 10); break;
		case 'P': prefix = optarg; break;
		case 'a':
			if ((sim.acked_log = fopen(optarg, "w")) == NULL) {
				fprintf(stderr, "tinyedge-nodesim: %s: %s\n",
				    optarg, strerror(errno));
				return (1);
			}
			setvbuf(sim.acked_log, NULL, _IOLBF, 0);
			break;
		case 'j': sim.json = 1; break;
		case 'A': sim.audio = 1; break;
		case 'W': sim.windows_only = 1; break;
		case 'T': sim.ack_timeout_ms = atoi(optarg); break;
		case 'S': serial = optarg; break;
		case 'F': framing = optarg; break;
		case 'g': garbage = atof(optarg); break;
		case 'C': count = strtoull(optarg, NULL, 10); break;
		case 'b': baud = atol(optarg); break;
		case 'h': sim_usage(0);
		default: sim_usage(2);
		}
	}
	if (serial != NULL) {
		struct nodesim_serial_opts	so;

		if (uri != NULL || psk != NULL || optind != argc ||
		    sim.nnodes < 1 || sim.nnodes > 1000 || sim.rate < 0 ||
		    sim.duration < 0 || sim.windows_every < 0 ||
		    garbage < 0 || garbage > 1 ||
		    (strcmp(framing, "lines") && strcmp(framing, "cobs")))
			sim_usage(2);
		sim.rng = seed;
		memset(&so, 0, sizeof so);
		so.device = serial;
		so.baud = baud;
		so.cobs = strcmp(framing, "cobs") == 0;
		so.garbage = garbage;
		so.count = count;
		so.prefix = prefix;
		so.nnodes = sim.nnodes;
		so.rate = sim.rate;
		so.duration = sim.duration;
		so.acked_log = sim.acked_log;
		signal(SIGINT, sim_signal);
		signal(SIGTERM, sim_signal);
		signal(SIGPIPE, SIG_IGN);
		start = nodesim_now_ms();
		if (nodesim_serial_run(&so) != 0)
			return (1);
		sim_result(start);
		if (sim.acked_log != NULL)
			fclose(sim.acked_log);
		free(sim.lat);
		return (sim.failed == 0 ? 0 : 1);
	}
	if (uri == NULL || optind != argc || sim.nnodes < 1 ||
	    sim.nnodes > 10000 || sim.rate < 0 || sim.window < 1 ||
	    sim.window > SIM_WINDOW_MAX || sim.duration < 0 ||
	    sim.windows_every < 0)
		sim_usage(2);
	sim.rng = seed;

	coap_startup();
	coap_set_log_level(LOG_EMERG);
	coap_dtls_set_log_level(LOG_EMERG);
	if (coap_split_uri((const uint8_t *)uri, strlen(uri), &u) != 0 ||
	    (u.scheme != COAP_URI_SCHEME_COAP &&
	    u.scheme != COAP_URI_SCHEME_COAPS)) {
		fprintf(stderr, "tinyedge-nodesim: bad URI %s\n", uri);
		return (2);
	}
	dtls = u.scheme == COAP_URI_SCHEME_COAPS;
	if (dtls && psk == NULL) {
		fprintf(stderr, "tinyedge-nodesim: coaps:// needs --psk\n");
		return (2);
	}
	if (sim_resolve(&u, &dst) != 0)
		return (1);

	sim.nodes = xcalloc((size_t)sim.nnodes, sizeof *sim.nodes);
	if (psk != NULL && sim_load_psk(psk, sim.nnodes) != 0)
		return (1);
	ctx = coap_new_context(NULL);
	coap_context_set_block_mode(ctx,
	    COAP_BLOCK_USE_LIBCOAP | COAP_BLOCK_SINGLE_BODY);
	coap_register_response_handler(ctx, sim_response);
	coap_register_nack_handler(ctx, sim_nack);
	for (i = 0; i < sim.nnodes; i++) {
		struct sim_node	*nd = &sim.nodes[i];

		if (psk == NULL)
			snprintf(nd->id, sizeof nd->id, "%s-%03d", prefix, i);
		nd->boot = (uint32_t)(nodesim_rand() % 60000) + 1;
		if (dtls) {
			coap_dtls_cpsk_t	cp;

			memset(&cp, 0, sizeof cp);
			cp.version = COAP_DTLS_CPSK_SETUP_VERSION;
			cp.psk_info.identity.s = (const uint8_t *)nd->id;
			cp.psk_info.identity.length = strlen(nd->id);
			cp.psk_info.key.s = nd->key;
			cp.psk_info.key.length = nd->keylen;
			nd->session = coap_new_client_session_psk2(ctx, NULL,
			    &dst, COAP_PROTO_DTLS, &cp);
		} else
			nd->session = coap_new_client_session(ctx, NULL, &dst,
			    COAP_PROTO_UDP);
		if (nd->session == NULL) {
			fprintf(stderr, "tinyedge-nodesim: cannot open a "
			    "session for %s\n", nd->id);
			return (1);
		}
		coap_session_set_app_data(nd->session, nd);
		/* Tests that restart the gateway want quick retransmissions. */
		if (sim.ack_timeout_ms > 0) {
			coap_fixed_point_t	at;

			at.integer_part = (uint16_t)(sim.ack_timeout_ms / 1000);
			at.fractional_part = (uint16_t)(sim.ack_timeout_ms %
			    1000);
			coap_session_set_ack_timeout(nd->session, at);
		}
		/* Spread the first sends over one period. */
		nd->next_ms = sim.rate > 0 ? nodesim_uniform() * 1000 / sim.rate : 0;
	}

	signal(SIGINT, sim_signal);
	signal(SIGTERM, sim_signal);
	start = nodesim_now_ms();
	end_send = start + sim.duration * 1000;
	for (;;) {
		int	pending = 0;

		now = nodesim_now_ms();
		wait = 100;
		for (i = 0; i < sim.nnodes; i++) {
			struct sim_node	*nd = &sim.nodes[i];

			pending += nd->outstanding;
			if (sim.stop || now >= end_send)
				continue;
			if (sim.rate == 0) {
				while (nd->outstanding < sim.window &&
				    sim_send(nd) == 0)
					;
				continue;
			}
			while (start + nd->next_ms <= now &&
			    nd->outstanding < sim.window) {
				if (sim_send(nd) != 0)
					break;
				nd->next_ms += 1000 / sim.rate;
			}
			if (start + nd->next_ms - now < wait)
				wait = start + nd->next_ms - now;
		}
		if ((sim.stop || now >= end_send) && pending == 0)
			break;
		if ((sim.stop || now >= end_send) &&
		    now >= end_send + SIM_DRAIN_MS)
			break;
		if (sim.stop && now < end_send)
			end_send = now;
		coap_io_process(ctx, wait < 1 ? 1 : (unsigned)wait);
	}
	for (i = 0; i < sim.nnodes; i++) {
		for (int j = 0; j < SIM_WINDOW_MAX; j++) {
			if (sim.nodes[i].req[j].used)
				sim_finish(&sim.nodes[i], &sim.nodes[i].req[j],
				    0);
		}
	}
	sim_result(start);
	if (sim.acked_log != NULL)
		fclose(sim.acked_log);
	coap_free_context(ctx);
	coap_cleanup();
	free(sim.nodes);
	free(sim.lat);
	return (sim.failed == 0 ? 0 : 1);
}
