/*
 * nodesim.h - internals shared by the two halves of tinyedge-nodesim: the
 * CoAP mode and traffic generator (nodesim.c) and the serial mode
 * (nodesim_serial.c), so both send the same realistic traffic.
 */
#ifndef TE_NODESIM_H
#define TE_NODESIM_H

#include <stddef.h>
#include <stdint.h>

#include <coap3/coap.h>

#define SIM_WINDOW_MAX	64	/* outstanding requests per node */

/* One request in flight. */
struct sim_req {
	int		 used;
	uint8_t		 token[8];
	size_t		 toklen;
	double		 sent_ms;
	uint32_t	 seq;
	int		 type;		/* 1 inference, 2 window */
	int		 blockwise;	/* body too big for one datagram */
	size_t		 len;		/* body bytes */
	char		 label[16];
	double		 score;
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

uint64_t	 nodesim_rand(void);
double		 nodesim_uniform(void);
double		 nodesim_now_ms(void);
unsigned char	*nodesim_body(struct sim_node *, struct sim_req *, size_t *,
		    int *);
int		 nodesim_stopped(void);
void		 nodesim_count(int, double);
void		 nodesim_windows_json_only(void);

int		 nodesim_serial_run(const struct nodesim_serial_opts *);

#endif
