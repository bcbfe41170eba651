/*
 * ingest_coap_int.h - private to CoAP ingest: between the listeners and
 * keys (ingest_coap.c), the request handler (ingest_coap_req.c) and Block1
 * uploads (ingest_coap_block.c).
 */
#ifndef TE_INGEST_COAP_INT_H
#define TE_INGEST_COAP_INT_H

#include <stddef.h>
#include <stdint.h>

#include <coap3/coap.h>

#include "message.h"

#define COAP_CF_JSON		50
#define COAP_CF_OCTETS		42
#define COAP_CF_TEXT		0
#define COAP_RETRY_MAX_AGE	30	/* seconds a refused node waits */

#define BLOCK_MAX		64	/* uploads open at once */
#define BLOCK_PER_PEER		32	/* of them from one address */
#define BLOCK_IDLE_MS		30000	/* an upload without blocks is dropped */
#define BLOCK_RTAG_MAX		8	/* Request-Tag bytes (RFC 9175) */

/* What one Block1 block did (ingest_coap_block_put). */
enum block_step {
	BLOCK_MORE,		/* stored; ask for the next block (2.31) */
	BLOCK_AGAIN,		/* the last acknowledged block again (2.31) */
	BLOCK_DONE,		/* the last block: the body is complete */
	BLOCK_REPEAT,		/* the last block of a finished upload again */
	BLOCK_INCOMPLETE,	/* does not continue an upload we hold (4.08) */
	BLOCK_TOO_LARGE,	/* over the body limit (4.13) */
	BLOCK_BUSY,		/* a new upload past the bounds (5.03) */
};

/* Whose upload a block belongs to. */
struct block_key {
	const coap_address_t	*peer;
	const char		*node;
	int			 type;		/* enum message_type */
	const uint8_t		*rtag;		/* Request-Tag value */
	int			 rtaglen;	/* -1: no Request-Tag */
};

struct upload;

struct config;

/* ingest_coap.c */
int		 ingest_coap_log_ok(const char *);

/* ingest_coap_dtls.c */
int		 ingest_coap_dtls_setup(coap_context_t *, const struct config *,
		    char **);
void		 ingest_coap_dtls_reload(void);
void		 ingest_coap_dtls_after_io(void);
void		 ingest_coap_dtls_event(coap_session_t *, coap_event_t);
void		 ingest_coap_dtls_counts(size_t *, size_t *);
void		 ingest_coap_dtls_free(void);
const void	*ingest_coap_node_key(const char *, size_t *);
int		 ingest_coap_node_has_key(const char *);
void		 ingest_coap_close_later(coap_session_t *);

/* ingest_coap_req.c */
void		 ingest_coap_handler(coap_resource_t *, coap_session_t *,
		    const coap_pdu_t *, const coap_string_t *, coap_pdu_t *);
const char	*ingest_coap_source(const coap_session_t *, char *, size_t);
void		 ingest_coap_req_stop(void);

/* ingest_coap_block.c */
enum block_step	 ingest_coap_block_put(const struct block_key *, int,
		    const coap_block_b_t *, const uint8_t *, size_t, size_t,
		    uint64_t, struct upload **);
const uint8_t	*ingest_coap_block_body(const struct upload *, size_t *);
void		 ingest_coap_block_done(struct upload *, int);
int		 ingest_coap_block_code(const struct upload *);
void		 ingest_coap_block_check(uint64_t);
size_t		 ingest_coap_block_count(void);
void		 ingest_coap_block_clear(void);

#endif
