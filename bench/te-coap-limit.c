/*
 * te-coap-limit.c - the references for bench/ingest: the smallest libcoap
 * server that answers 2.04 to every POST, with the same block mode as
 * tinyedged and nothing else (no validation, no store).  Its throughput is
 * the limit the daemon's ingest is measured against.
 *
 * With a FILE it is the naive durable server instead: each request body is
 * appended to FILE and fdatasync'ed before its 2.04 (one sync per
 * reading), the baseline store.sync = full is compared with.
 *
 * usage: te-coap-limit PORT [FILE]   (runs until SIGTERM)
 */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <coap3/coap.h>

static volatile sig_atomic_t	quit;
static int			sync_fd = -1;

/* Answer every request with 2.04. */
static void
limit_handler(coap_resource_t *r, coap_session_t *s, const coap_pdu_t *req,
    const coap_string_t *q, coap_pdu_t *resp)
{
	const uint8_t	*data;
	size_t		 len;

	(void)r;
	(void)s;
	(void)q;
	if (sync_fd != -1 && coap_get_data(req, &len, &data) &&
	    (write(sync_fd, data, len) != (ssize_t)len ||
	    fdatasync(sync_fd) == -1)) {
		coap_pdu_set_code(resp, COAP_RESPONSE_CODE_SERVICE_UNAVAILABLE);
		return;
	}
	coap_pdu_set_code(resp, COAP_RESPONSE_CODE_CHANGED);
}

/* SIGTERM/SIGINT: leave the loop. */
static void
limit_quit(int sig)
{
	(void)sig;
	quit = 1;
}

int
main(int argc, char **argv)
{
	coap_context_t	*ctx;
	coap_resource_t	*r;
	coap_address_t	 addr;

	if (argc != 2 && argc != 3) {
		fprintf(stderr, "usage: te-coap-limit PORT [FILE]\n");
		return (2);
	}
	if (argc == 3 && (sync_fd = open(argv[2], O_WRONLY | O_CREAT |
	    O_APPEND | O_CLOEXEC, 0600)) == -1) {
		perror(argv[2]);
		return (1);
	}
	coap_startup();
	coap_set_log_level(LOG_EMERG);
	ctx = coap_new_context(NULL);
	coap_context_set_block_mode(ctx, 0);
	coap_address_init(&addr);
	addr.addr.sin.sin_family = AF_INET;
	addr.addr.sin.sin_port = htons((uint16_t)atoi(argv[1]));
	addr.addr.sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	addr.size = sizeof addr.addr.sin;
	if (coap_new_endpoint(ctx, &addr, COAP_PROTO_UDP) == NULL) {
		fprintf(stderr, "te-coap-limit: cannot listen on %s\n", argv[1]);
		return (1);
	}
	r = coap_resource_unknown_init2(limit_handler, 0);
	coap_register_request_handler(r, COAP_REQUEST_POST, limit_handler);
	coap_add_resource(ctx, r);
	signal(SIGTERM, limit_quit);
	signal(SIGINT, limit_quit);
	while (!quit)
		coap_io_process(ctx, 200);
	coap_free_context(ctx);
	coap_cleanup();
	return (0);
}
