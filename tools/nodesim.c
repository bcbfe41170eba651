/*
 * nodesim.c - tinyedge-nodesim: simulated TinyML nodes (SPEC section 8).
 *
 * This file is the program around the two modes: the command line, the
 * run's shared state (options, counters, latencies, the seeded random
 * generator) and the result line.  Nodes send inferences and, with
 * --windows-every K, a window per K inferences (nodesim_body.c); seq
 * rises per node; the boot id and all traffic follow from --seed.
 * --coap URI sends them as CoAP requests (nodesim_coap.c); --serial DEVICE
 * writes the same traffic to a tty instead (nodesim_serial.c), where
 * "acked" means "written whole".  After --duration seconds sending stops,
 * outstanding requests get a few seconds, and one result line is printed:
 *   sent=N acked=N failed=N p50_ms=X p99_ms=Y
 * --audio makes every window one second of 16 kHz mono int16 audio (a
 * tone and noise, 32 KB, binary by Block1), the input of a keyword-
 * spotting front end; --windows-only sends nothing but windows.
 * --cbor sends the JSON bodies as CBOR (content-format 60, SPEC 14).
 * --acked-log FILE lists every acknowledged message, one per line:
 *   node boot seq type label score
 * --observe makes each node follow its settings by CoAP Observe, fetch
 * its model and send heartbeats (SPEC section 9, nodesim_obs.c); the
 * result line then ends with what that did:
 *   ... config_updates=N models_ok=N models_failed=N resumed=N suppressed=N
 * --vibration makes every message a window of a simulated machine
 * (tools/vibsim.c, one machine per node from --seed and the node id):
 * 3-axis accelerometer, 1 kHz, --frames frames, binary int16 by Block1.
 * --fault bearing|imbalance|looseness makes the machine faulty from
 * --fault-at seconds after the run's first window (default 0), or, with
 * --fault-at signal, from the moment the process gets SIGUSR1 (any
 * --fault-at: SIGUSR1 starts the fault at once).  --severity scales the
 * fault (1 = the documented level), --snr sets the noise.  The acked log's
 * label of a vibration window is what the machine had: normal or the fault.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nodesim.h"
#include "xmalloc.h"

/* The command line beyond what goes straight into struct nodesim. */
struct sim_args {
	const char	*uri, *psk, *prefix;
	const char	*serial, *framing;
	long		 baud;
	double		 garbage;
	uint64_t	 count;
	uint64_t	 seed;
};

struct nodesim nodesim;

/* splitmix64: small, fast, deterministic from the seed. */
uint64_t
nodesim_rand(void)
{
	uint64_t	z = (nodesim.rng += 0x9e3779b97f4a7c15ULL);

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
	return (nodesim.stop);
}

/* Ctrl-C: stop sending, then report. */
static void
sim_signal(int sig)
{
	(void)sig;
	nodesim.stop = 1;
}

/* From now on ^C and SIGTERM stop the run instead of the process. */
void
nodesim_catch_signals(void)
{
	signal(SIGINT, sim_signal);
	signal(SIGTERM, sim_signal);
}

/* Remember one acknowledged message's latency. */
void
nodesim_latency(double ms)
{
	if (nodesim.nlat == nodesim.szlat) {
		nodesim.szlat = nodesim.szlat ? nodesim.szlat * 2 : 4096;
		nodesim.lat = xreallocarray(nodesim.lat, nodesim.szlat, sizeof *nodesim.lat);
	}
	nodesim.lat[nodesim.nlat++] = ms;
}

/* Serial mode: count one message, written whole (ok) or not. */
void
nodesim_count(int ok, double ms)
{
	nodesim.sent++;
	if (!ok) {
		nodesim.failed++;
		return;
	}
	nodesim.acked++;
	nodesim_latency(ms);
}

/* SIGUSR1: the --fault starts now. */
static void
sim_fault_signal(int sig)
{
	(void)sig;
	nodesim.fault_now = 1;
}

/* Is the --fault on: past --fault-at, or started by SIGUSR1? */
int
nodesim_faulty(void)
{
	if (nodesim.fault == VIBSIM_NORMAL)
		return (0);
	if (nodesim.fault_now)
		return (1);
	return (nodesim_now_ms() - nodesim.vib_t0 >= nodesim.fault_at * 1000);
}

/* Lines framing cannot carry binary windows: send JSON ones only. */
void
nodesim_windows_json_only(void)
{
	nodesim.no_binary = 1;
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
	    "           [--windows-only] [--ack-timeout MS] [--cbor]\n"
	    "           [--observe [--state DIR] [--control-log FILE] "
	    "[--block SZX]]\n"
	    "           [--vibration [--frames N] [--snr DB] [--fault KIND "
	    "[--fault-at S|signal]\n"
	    "           [--severity X]]]\n"
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
	    "  --cbor             CoAP: inference, heartbeat and JSON window "
	    "bodies as CBOR\n"
	    "                     (content-format 60, the same keys)\n"
	    "  --ack-timeout MS   CoAP ACK_TIMEOUT (default libcoap's 2 s)\n"
	    "  --observe          follow the node settings (Observe), fetch "
	    "models,\n"
	    "                     send heartbeats (SPEC section 9)\n"
	    "  --state DIR        keep model downloads there: a node started "
	    "again\n"
	    "                     resumes at its next block\n"
	    "  --control-log FILE one line per settings or model event:\n"
	    "                     EPOCH_MS NODE config REV | model STATE ...\n"
	    "  --block SZX        model block size 2^(4+SZX), 0..6 (default 6: "
	    "1024)\n"
	    "  --vibration        every message is a 3-axis 1 kHz vibration "
	    "window of the\n"
	    "                     node's own simulated machine (binary int16)\n"
	    "  --frames N         frames per vibration window (default 1024)\n"
	    "  --snr DB           vibration noise (default 10 dB)\n"
	    "  --fault KIND       bearing, imbalance or looseness\n"
	    "  --fault-at S       the fault starts S seconds after the run's first "
	    "window\n"
	    "                     (default 0); \"signal\": at SIGUSR1 (which "
	    "always\n"
	    "                     starts it at once)\n"
	    "  --severity X       fault severity (default 1, the documented "
	    "level)\n"
	    "  --serial DEVICE    write to a tty (or file) instead of CoAP\n"
	    "  --framing F        lines (default) or cobs\n"
	    "  --garbage P        junk (debug prints, bad frames) before a "
	    "message\n"
	    "                     with probability P; tallied on stderr\n"
	    "  --count N          serial: stop after N messages\n"
	    "  --baud B           serial: tty rate (default 115200)\n");
	exit(status);
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

	if (nodesim.nlat == 0)
		return (0);
	i = (size_t)ceil(p * (double)nodesim.nlat) - 1;
	if (i >= nodesim.nlat)
		i = nodesim.nlat - 1;
	return (nodesim.lat[i]);
}


/* The --observe counters after the section 8 fields. */
static void
sim_report_control(void)
{
	unsigned long long	v[5] = { nodesim.config_updates,
				    nodesim.models_ok, nodesim.models_failed,
				    nodesim.resumed, nodesim.suppressed };

	if (!nodesim.observe)
		return;
	if (nodesim.json)
		printf(",\"config_updates\":%llu,\"models_ok\":%llu,"
		    "\"models_failed\":%llu,\"resumed\":%llu,"
		    "\"suppressed\":%llu", v[0], v[1], v[2], v[3], v[4]);
	else
		printf(" config_updates=%llu models_ok=%llu models_failed=%llu "
		    "resumed=%llu suppressed=%llu", v[0], v[1], v[2], v[3],
		    v[4]);
}

/* Print the result line (SPEC section 8) and close the logs. */
void
nodesim_report(double start)
{
	qsort(nodesim.lat, nodesim.nlat, sizeof *nodesim.lat, sim_cmp);
	if (nodesim.json)
		printf("{\"sent\":%llu,\"acked\":%llu,\"failed\":%llu,"
		    "\"p50_ms\":%.3f,\"p99_ms\":%.3f,\"seconds\":%.3f,"
		    "\"acked_bytes\":%llu",
		    (unsigned long long)nodesim.sent,
		    (unsigned long long)nodesim.acked,
		    (unsigned long long)nodesim.failed, sim_pct(0.5),
		    sim_pct(0.99), (nodesim_now_ms() - start) / 1000,
		    (unsigned long long)nodesim.acked_bytes);
	else
		printf("sent=%llu acked=%llu failed=%llu p50_ms=%.3f "
		    "p99_ms=%.3f", (unsigned long long)nodesim.sent,
		    (unsigned long long)nodesim.acked,
		    (unsigned long long)nodesim.failed, sim_pct(0.5),
		    sim_pct(0.99));
	sim_report_control();
	printf(nodesim.json ? "}\n" : "\n");
	if (nodesim.acked_log != NULL) {
		fclose(nodesim.acked_log);
		nodesim.acked_log = NULL;
	}
	if (nodesim.control_log != NULL) {
		fclose(nodesim.control_log);
		nodesim.control_log = NULL;
	}
}

/* Open a log file, line-buffered so a kill loses nothing. */
static int
sim_log(const char *path, FILE **fp)
{
	if ((*fp = fopen(path, "w")) == NULL) {
		fprintf(stderr, "tinyedge-nodesim: %s: %s\n", path,
		    strerror(errno));
		return (-1);
	}
	setvbuf(*fp, NULL, _IOLBF, 0);
	return (0);
}

/*
 * The vibration options make sense together only; SIGUSR1 starts the
 * fault.  0, or exits with the usage.
 */
static int
sim_check_vibration(void)
{
	if (!nodesim.vibration) {
		if (nodesim.fault != VIBSIM_NORMAL)
			sim_usage(2);
		return (0);
	}
	if (nodesim.frames < 2 || nodesim.frames > VIBSIM_MAX_FRAMES ||
	    !isfinite(nodesim.snr) || !isfinite(nodesim.severity) ||
	    nodesim.severity < 0 || isnan(nodesim.fault_at) ||
	    nodesim.fault_at < 0 || nodesim.audio || nodesim.cbor)
		sim_usage(2);
	signal(SIGUSR1, sim_fault_signal);
	return (0);
}

/* The long options (each one a case of sim_parse). */
static const struct option sim_opts[] = {
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
	{ "cbor", no_argument, NULL, 'X' },
	{ "ack-timeout", required_argument, NULL, 'T' },
	{ "observe", no_argument, NULL, 'O' },
	{ "state", required_argument, NULL, 'D' },
	{ "control-log", required_argument, NULL, 'L' },
	{ "block", required_argument, NULL, 'B' },
	{ "vibration", no_argument, NULL, 'V' },
	{ "frames", required_argument, NULL, 'N' },
	{ "snr", required_argument, NULL, 'R' },
	{ "fault", required_argument, NULL, 'f' },
	{ "fault-at", required_argument, NULL, 't' },
	{ "severity", required_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

/* Parse the options into nodesim and a; -1 if the acked log won't open. */
static int
sim_parse(int argc, char **argv, struct sim_args *a)
{
	int	ch;

	memset(a, 0, sizeof *a);
	a->prefix = "sim";
	a->framing = "lines";
	a->baud = 115200;
	a->seed = 1;
	nodesim.nnodes = 1;
	nodesim.rate = 10;
	nodesim.window = 1;
	nodesim.duration = 10;
	nodesim.block_szx = 6;
	nodesim.frames = VIBSIM_FRAMES;
	nodesim.snr = VIBSIM_SNR_DB;
	nodesim.severity = 1;
	while ((ch = getopt_long(argc, argv, "h", sim_opts, NULL)) != -1) {
		switch (ch) {
		case 'c': a->uri = optarg; break;
		case 'p': a->psk = optarg; break;
		case 'n': nodesim.nnodes = atoi(optarg); break;
		case 'r': nodesim.rate = atof(optarg); break;
		case 'w': nodesim.window = atoi(optarg); break;
		case 'd': nodesim.duration = atof(optarg); break;
		case 'k': nodesim.windows_every = atoi(optarg); break;
		case 's': a->seed = strtoull(optarg, NULL, 10); break;
		case 'P': a->prefix = optarg; break;
		case 'a':
			if (sim_log(optarg, &nodesim.acked_log) != 0)
				return (-1);
			break;
		case 'L':
			if (sim_log(optarg, &nodesim.control_log) != 0)
				return (-1);
			break;
		case 'O': nodesim.observe = 1; break;
		case 'D': nodesim.state_dir = optarg; break;
		case 'B': nodesim.block_szx = atoi(optarg); break;
		case 'j': nodesim.json = 1; break;
		case 'A': nodesim.audio = 1; break;
		case 'W': nodesim.windows_only = 1; break;
		case 'X': nodesim.cbor = 1; break;
		case 'T': nodesim.ack_timeout_ms = atoi(optarg); break;
		case 'S': a->serial = optarg; break;
		case 'F': a->framing = optarg; break;
		case 'g': a->garbage = atof(optarg); break;
		case 'C': a->count = strtoull(optarg, NULL, 10); break;
		case 'b': a->baud = atol(optarg); break;
		case 'V': nodesim.vibration = 1; break;
		case 'N': nodesim.frames = atoi(optarg); break;
		case 'R': nodesim.snr = atof(optarg); break;
		case 'v': nodesim.severity = atof(optarg); break;
		case 'f':
			if (vibsim_fault_parse(optarg, &nodesim.fault) != 0 ||
			    nodesim.fault == VIBSIM_NORMAL)
				sim_usage(2);
			break;
		case 't':
			nodesim.fault_at = strcmp(optarg, "signal") == 0 ?
			    INFINITY : atof(optarg);
			break;
		case 'h': sim_usage(0);
		default: sim_usage(2);
		}
	}
	return (sim_check_vibration());
}

/* Serial mode: check its options, write the traffic, report. */
static int
sim_serial(const struct sim_args *a, int argc)
{
	struct nodesim_serial_opts	so;
	double				start;

	if (a->uri != NULL || a->psk != NULL || optind != argc ||
	    nodesim.nnodes < 1 || nodesim.nnodes > 1000 || nodesim.rate < 0 ||
	    nodesim.duration < 0 || nodesim.windows_every < 0 ||
	    a->garbage < 0 || a->garbage > 1 || nodesim.observe ||
	    nodesim.cbor || nodesim.vibration ||
	    (strcmp(a->framing, "lines") && strcmp(a->framing, "cobs")))
		sim_usage(2);
	nodesim.rng = a->seed;
	memset(&so, 0, sizeof so);
	so.device = a->serial;
	so.baud = a->baud;
	so.cobs = strcmp(a->framing, "cobs") == 0;
	so.garbage = a->garbage;
	so.count = a->count;
	so.prefix = a->prefix;
	so.nnodes = nodesim.nnodes;
	so.rate = nodesim.rate;
	so.duration = nodesim.duration;
	so.acked_log = nodesim.acked_log;
	nodesim_catch_signals();
	signal(SIGPIPE, SIG_IGN);
	start = nodesim_now_ms();
	if (nodesim_serial_run(&so) != 0)
		return (1);
	nodesim_report(start);
	return (0);
}

/* CoAP mode: check its options, then run it (it reports itself). */
static int
sim_coap(const struct sim_args *a, int argc)
{
	struct nodesim_coap_opts	co;

	if (a->uri == NULL || optind != argc || nodesim.nnodes < 1 ||
	    nodesim.nnodes > 10000 || nodesim.rate < 0 || nodesim.window < 1 ||
	    nodesim.window > SIM_WINDOW_MAX || nodesim.duration < 0 ||
	    nodesim.windows_every < 0 || nodesim.block_szx < 0 ||
	    nodesim.block_szx > 6 || (!nodesim.observe &&
	    (nodesim.state_dir != NULL || nodesim.control_log != NULL)))
		sim_usage(2);
	nodesim.rng = a->seed;
	nodesim.seed = a->seed;
	co.uri = a->uri;
	co.psk = a->psk;
	co.prefix = a->prefix;
	return (nodesim_coap_run(&co));
}

/* Parse the options, run CoAP or serial mode, print the result line. */
int
main(int argc, char **argv)
{
	struct sim_args	a;
	int		rc;

	if (sim_parse(argc, argv, &a) != 0)
		return (1);
	if (a.serial != NULL)
		rc = sim_serial(&a, argc);
	else
		rc = sim_coap(&a, argc);
	if (rc != 0)
		return (rc);
	free(nodesim.lat);
	return (nodesim.failed == 0 ? 0 : 1);
}
