/*
 * te-lossy.c - a lossy UDP relay for bench/control (not a test, not
 * installed): datagram loss between CoAP nodes and the gateway on the
 * loopback, without root or a network namespace.
 *
 *   te-lossy LISTEN_PORT TARGET_PORT LOSS [SEED]
 *
 * Listens on 127.0.0.1:LISTEN_PORT.  Each client address seen gets a
 * socket of its own towards 127.0.0.1:TARGET_PORT, so the gateway sees
 * one peer per client, as without the relay.  Every datagram, either
 * way, is dropped with probability LOSS (a seeded splitmix64, so a run
 * can be repeated) and otherwise passed on unchanged.  Bytes and
 * datagrams are counted as the sender sent them, dropped ones included:
 * that is what a node's radio and the gateway's transmitted.  SIGUSR1
 * prints the counters as one line; SIGTERM prints them and exits:
 *   up_bytes=N up_datagrams=N up_dropped=N down_bytes=N down_datagrams=N
 *   down_dropped=N clients=N refused=N
 * At most LOSSY_CLIENTS clients; datagrams of more are refused (counted).
 */
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define LOSSY_CLIENTS	1024
#define LOSSY_DGRAM	65536

/* One client and its socket towards the target. */
struct client {
	struct sockaddr_in	addr;
	int			fd;
};

static struct {
	struct client		 c[LOSSY_CLIENTS];
	int			 n;
	int			 lfd;
	struct sockaddr_in	 target;
	double			 loss;
	uint64_t		 rng;
	unsigned long long	 up_bytes, up_dgrams, up_dropped;
	unsigned long long	 down_bytes, down_dgrams, down_dropped;
	unsigned long long	 refused;
} lossy;

static volatile sig_atomic_t	lossy_report, lossy_quit;

/* splitmix64 */
static uint64_t
lossy_rand(void)
{
	uint64_t	z = (lossy.rng += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return (z ^ (z >> 31));
}

/* Is this datagram to be dropped? */
static int
lossy_drop(void)
{
	return ((double)(lossy_rand() >> 11) / 9007199254740992.0 <
	    lossy.loss);
}

/* SIGUSR1: print; SIGTERM/SIGINT: print and exit. */
static void
lossy_signal(int sig)
{
	if (sig == SIGUSR1)
		lossy_report = 1;
	else
		lossy_quit = 1;
}

/* Print the counters as one line. */
static void
lossy_print(void)
{
	printf("up_bytes=%llu up_datagrams=%llu up_dropped=%llu "
	    "down_bytes=%llu down_datagrams=%llu down_dropped=%llu "
	    "clients=%d refused=%llu\n", lossy.up_bytes, lossy.up_dgrams,
	    lossy.up_dropped, lossy.down_bytes, lossy.down_dgrams,
	    lossy.down_dropped, lossy.n, lossy.refused);
	fflush(stdout);
}

/* The client of this address, made if new; NULL when the table is full. */
static struct client *
lossy_client(const struct sockaddr_in *a)
{
	struct client	*c;
	int		 i;

	for (i = 0; i < lossy.n; i++) {
		c = &lossy.c[i];
		if (c->addr.sin_port == a->sin_port &&
		    c->addr.sin_addr.s_addr == a->sin_addr.s_addr)
			return (c);
	}
	if (lossy.n == LOSSY_CLIENTS)
		return (NULL);
	c = &lossy.c[lossy.n];
	if ((c->fd = socket(AF_INET, SOCK_DGRAM, 0)) == -1 ||
	    connect(c->fd, (const struct sockaddr *)&lossy.target,
	    sizeof lossy.target) == -1) {
		perror("te-lossy: socket");
		exit(1);
	}
	c->addr = *a;
	lossy.n++;
	return (c);
}

/* A datagram from a client: on to the target, or dropped. */
static void
lossy_up(void)
{
	static unsigned char	 buf[LOSSY_DGRAM];
	struct sockaddr_in	 a;
	socklen_t		 alen = sizeof a;
	struct client		*c;
	ssize_t			 n;

	n = recvfrom(lossy.lfd, buf, sizeof buf, 0, (struct sockaddr *)&a,
	    &alen);
	if (n < 0 || alen != sizeof a)
		return;
	if ((c = lossy_client(&a)) == NULL) {
		lossy.refused++;
		return;
	}
	lossy.up_bytes += (unsigned long long)n;
	lossy.up_dgrams++;
	if (lossy_drop()) {
		lossy.up_dropped++;
		return;
	}
	(void)send(c->fd, buf, (size_t)n, 0);
}

/* A datagram from the target to client c: back to it, or dropped. */
static void
lossy_down(struct client *c)
{
	static unsigned char	buf[LOSSY_DGRAM];
	ssize_t			n;

	if ((n = recv(c->fd, buf, sizeof buf, 0)) < 0)
		return;
	lossy.down_bytes += (unsigned long long)n;
	lossy.down_dgrams++;
	if (lossy_drop()) {
		lossy.down_dropped++;
		return;
	}
	(void)sendto(lossy.lfd, buf, (size_t)n, 0,
	    (const struct sockaddr *)&c->addr, sizeof c->addr);
}

/* Relay until SIGTERM. */
static void
lossy_loop(void)
{
	static struct pollfd	pfd[LOSSY_CLIENTS + 1];
	int			i, n;

	while (!lossy_quit) {
		if (lossy_report) {
			lossy_report = 0;
			lossy_print();
		}
		pfd[0].fd = lossy.lfd;
		pfd[0].events = POLLIN;
		n = lossy.n;
		for (i = 0; i < n; i++) {
			pfd[i + 1].fd = lossy.c[i].fd;
			pfd[i + 1].events = POLLIN;
		}
		if (poll(pfd, (nfds_t)n + 1, 200) <= 0)
			continue;
		if (pfd[0].revents & POLLIN)
			lossy_up();
		for (i = 0; i < n; i++)
			if (pfd[i + 1].revents & POLLIN)
				lossy_down(&lossy.c[i]);
	}
}

/* Parse the arguments, bind, relay. */
int
main(int argc, char **argv)
{
	struct sockaddr_in	la;
	struct sigaction	sa;

	if (argc < 4 || argc > 5) {
		fprintf(stderr, "usage: te-lossy LISTEN_PORT TARGET_PORT LOSS "
		    "[SEED]\n");
		return (2);
	}
	lossy.loss = atof(argv[3]);
	lossy.rng = argc == 5 ? strtoull(argv[4], NULL, 10) : 1;
	if (lossy.loss < 0 || lossy.loss >= 1) {
		fprintf(stderr, "te-lossy: LOSS must be in [0, 1)\n");
		return (2);
	}
	memset(&la, 0, sizeof la);
	la.sin_family = AF_INET;
	la.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	la.sin_port = htons((uint16_t)atoi(argv[1]));
	lossy.target = la;
	lossy.target.sin_port = htons((uint16_t)atoi(argv[2]));
	if ((lossy.lfd = socket(AF_INET, SOCK_DGRAM, 0)) == -1 ||
	    bind(lossy.lfd, (struct sockaddr *)&la, sizeof la) == -1) {
		perror("te-lossy: bind");
		return (1);
	}
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = lossy_signal;
	sigaction(SIGUSR1, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	lossy_loop();
	lossy_print();
	return (0);
}
