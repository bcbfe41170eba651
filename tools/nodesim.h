/*
 * nodesim.h - internals shared by the parts of tinyedge-nodesim: the
 * command line, run state and result line (nodesim.c), the traffic
 * generator (nodesim_body.c), CoAP mode (nodesim_coap.c) and serial mode
 * (nodesim_serial.c), so both modes send the same realistic traffic and
 * report it the same way; with --observe the node side of SPEC section 9
 * (nodesim_obs.c: settings by Observe, model downloads, heartbeats) and
 * the settings document it reads (nodesim_ctl.c).
 */
#ifndef TE_NODESIM_H
#define TE_NODESIM_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <coap3/coap.h>

#include "nodesim_ctl.h"
#include "vibsim.h"

#define SIM_WINDOW_MAX	64	/* outstanding requests per node */

/* One request in flight. */
struct sim_req {
	int		 used;
	uint8_t		 token[8];
	size_t		 toklen;
	double		 sent_ms;
	uint32_t	 seq;
	int		 type;		/* 1 inference, 2 window, 3 heartbeat */
	int		 blockwise;	/* body too big for one datagram */
	size_t		 len;		/* body bytes */
	char		 label[16];
	double		 score;
};

/* What a model download or the model a node runs is at. */
enum sim_model_state {
	SIM_MODEL_IDLE = 0,
	SIM_MODEL_DOWNLOADING,
	SIM_MODEL_DOWNLOADED,
	SIM_MODEL_FAILED,
};

/* A node's side of SPEC section 9 (--observe), kept by nodesim_obs.c. */
struct sim_ctl {
	uint8_t		 obs_token[8];	/* one token for every registration */
	size_t		 obs_toklen;
	int		 obs_asked;	/* a registration is in flight */
	double		 obs_next_ms;	/* (re)register at */
	int		 have_doc;
	struct sim_doc	 doc;		/* the settings applied */
	struct sim_model model;		/* the model it runs or fetches */
	enum sim_model_state model_state;
	char		 model_result[96];
	int		 hb_due;	/* a heartbeat is to go */
	int		 window_due;	/* the last inference's window */
	double		 window_score;
	coap_session_t	*dl;		/* the download's own session */
	uint8_t		 dl_token[8];
	size_t		 dl_toklen;
	int		 dl_asked;	/* a block request is in flight */
	int		 dl_szx;	/* block size exponent in use */
	double		 dl_next_ms;	/* ask again at (5.03) */
	int		 dl_timeouts;	/* in a row */
	unsigned char	*dl_buf;	/* model.size bytes */
	size_t		 dl_got;
	int		 dl_fd;		/* the .part file with --state, or -1 */
};

/* One simulated node. */
struct sim_node {
	char		 id[65];
	uint8_t		 key[64];
	size_t		 keylen;
	coap_session_t	*session;
	uint32_t	 boot;
	uint32_t	 seq;
	uint64_t	 count;		/* messages sent */
	double		 next_ms;
	int		 outstanding;
	struct sim_req	 req[SIM_WINDOW_MAX];
	struct sim_ctl	 ctl;
	struct vibsim	*vib;		/* --vibration: its machine */
};

/*
 * The run: what the command line set and what happened.  One instance,
 * owned by nodesim.c; the modes read the options and bump the counters.
 */
struct nodesim {
	struct sim_node	*nodes;
	int		 nnodes;
	double		 rate;
	int		 window;
	double		 duration;
	int		 windows_every;
	int		 no_binary;	/* lines framing: JSON windows only */
	int		 audio;		/* windows: 1 s of 16 kHz int16 audio */
	int		 windows_only;	/* every message is a window */
	int		 cbor;		/* JSON bodies go as CBOR (60) */
	int		 vibration;	/* every message a vibration window */
	enum vibsim_fault fault;	/* --fault, VIBSIM_NORMAL if none */
	double		 fault_at;	/* s after the run's first window, or inf */
	double		 severity;	/* --severity, 1 */
	double		 snr;		/* --snr, dB */
	int		 frames;	/* --frames per vibration window */
	uint64_t	 seed;		/* --seed: each machine's comes from it */
	double		 vib_t0;	/* the first vibration window, ms */
	volatile sig_atomic_t fault_now; /* SIGUSR1: the fault starts */
	int		 ack_timeout_ms; /* CoAP ACK_TIMEOUT; 0: libcoap's */
	uint64_t	 rng;
	int		 json;
	int		 observe;	/* --observe: SPEC section 9 */
	const char	*state_dir;	/* --state: downloads survive a kill */
	FILE		*control_log;	/* --control-log */
	int		 block_szx;	/* --block: model block size exponent */
	uint64_t	 config_updates, models_ok, models_failed, resumed;
	uint64_t	 suppressed;	/* inferences under min_score */
	FILE		*acked_log;
	uint64_t	 sent, acked, failed;
	uint64_t	 acked_bytes;	/* body bytes of acked requests */
	double		*lat;
	size_t		 nlat, szlat;
	volatile sig_atomic_t stop;
};

extern struct nodesim nodesim;

/* What CoAP mode needs from the command line beyond struct nodesim. */
struct nodesim_coap_opts {
	const char	*uri;
	const char	*psk;		/* NODE_ID HEXKEY file or NULL */
	const char	*prefix;	/* node ids without --psk */
};

/* What serial mode needs from the command line. */
struct nodesim_serial_opts {
	const char	*device;
	long		 baud;
	int		 cobs;		/* framing = cobs, else lines */
	double		 garbage;	/* probability of junk before a message */
	uint64_t	 count;		/* stop after this many; 0 = no limit */
	const char	*prefix;
	int		 nnodes;
	double		 rate;		/* per node per second; 0 = flat out */
	double		 duration;	/* seconds */
	FILE		*acked_log;
};

/* nodesim.c */
uint64_t	 nodesim_rand(void);
double		 nodesim_uniform(void);
double		 nodesim_now_ms(void);
int		 nodesim_stopped(void);
void		 nodesim_catch_signals(void);
void		 nodesim_latency(double);
void		 nodesim_count(int, double);
void		 nodesim_windows_json_only(void);
void		 nodesim_report(double);
int		 nodesim_faulty(void);

/* nodesim_body.c */
unsigned char	*nodesim_body(struct sim_node *, struct sim_req *, size_t *,
		    int *);

/* nodesim_coap.c */
int		 nodesim_coap_run(const struct nodesim_coap_opts *);
coap_session_t	*nodesim_coap_plain_session(struct sim_node *);

/* nodesim_obs.c */
void		 nodesim_obs_start(struct sim_node *);
void		 nodesim_obs_tick(struct sim_node *, double, double *);
int		 nodesim_obs_response(coap_session_t *, const coap_pdu_t *);
int		 nodesim_obs_nack(coap_session_t *, const coap_pdu_t *);
void		 nodesim_obs_stop(struct sim_node *);
unsigned char	*nodesim_obs_heartbeat(struct sim_node *, size_t *);

/* nodesim_serial.c */
int		 nodesim_serial_run(const struct nodesim_serial_opts *);

#endif
