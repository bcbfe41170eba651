/*
 * ingest_coap_int.h - private to CoAP ingest: between the listeners and
 * keys (ingest_coap.c), the request handler (ingest_coap_req.c), Block1
 * uploads (ingest_coap_block.c), routes and Block2 slices
 * (ingest_coap_path.c), the GET resources (ingest_coap_get.c) and their
 * observers (ingest_coap_obs.c).
 */
#ifndef TE_INGEST_COAP_INT_H
#define TE_INGEST_COAP_INT_H

#include <stddef.h>
#include <stdint.h>

#include <coap3/coap.h>

#include "message.h"
#include "models.h"

#define COAP_CF_JSON		50
#define COAP_CF_OCTETS		42
#define COAP_CF_TEXT		0
#define COAP_RETRY_MAX_AGE	30	/* seconds a refused node waits */
#define COAP_BLOCK2_SZX		6	/* Block2 blocks of 1024 bytes at most */

#define OBS_MAX			4096	/* observers at once */
#define OBS_PER_NODE		2	/* of them for one node */
#define OBS_FL_MAX		1024	/* of them for rounds, at most */
#define OBS_FL_PER_SOURCE	8	/* round observers of one address */

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

/* Where a request path leads (ingest_coap_path_route). */
enum coap_target {
	COAP_TARGET_NONE,	/* not ours (4.04) */
	COAP_TARGET_POST,	/* v1/n/{node}/{inference|window|heartbeat} */
	COAP_TARGET_CONFIG,	/* v1/n/{node}/config */
	COAP_TARGET_MODEL,	/* v1/models/{name} */
	COAP_TARGET_FL,		/* v1/fl/{name} (GET, Observe) */
	COAP_TARGET_FL_HEAD,	/* v1/fl/{name}/head (GET, Block2) */
	COAP_TARGET_FL_POST,	/* v1/n/{node}/fl/{name} (POST, Block1) */
};

/* What an observer watches (ingest_coap_obs.c). */
enum obs_kind {
	OBS_CONFIG,		/* a node's settings; key: the node */
	OBS_FL,			/* a federated round; key: its name */
};

/*
 * A routed path; node or model is "" when malformed.  model is also the
 * federated name of the COAP_TARGET_FL* targets.
 */
struct coap_route {
	enum coap_target	 target;
	enum message_type	 type;		/* of COAP_TARGET_POST */
	char			 node[MESSAGE_NODE_MAX + 1];
	char			 model[MODELS_NAME_MAX + 1];
};

/* The part of a body one GET response carries (ingest_coap_path_block2). */
struct coap_block2 {
	size_t		offset;
	size_t		len;
	uint32_t	num;
	unsigned	szx;
	int		more;
	int		block;		/* send a Block2 option */
};

struct upload;

struct config;

/* ingest_coap.c */
int		 ingest_coap_log_ok(const char *);
void		 ingest_coap_rearm(void);

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

/* ingest_coap_path.c */
enum coap_target ingest_coap_path_route(const uint8_t *, size_t,
		    struct coap_route *);
int		 ingest_coap_path_version(const uint8_t *, size_t,
		    char [MODELS_VERSION_MAX + 1]);
int		 ingest_coap_path_block2(size_t, int, uint32_t, unsigned, size_t,
		    struct coap_block2 *);

/* ingest_coap_get.c */
void		 ingest_coap_get_config(coap_session_t *, const coap_pdu_t *,
		    coap_pdu_t *, const char *);
void		 ingest_coap_get_model(coap_session_t *, const coap_pdu_t *,
		    const coap_string_t *, coap_pdu_t *, const char *);
int		 ingest_coap_config_pdu(coap_pdu_t *, coap_session_t *,
		    const coap_pdu_t *, const char *, uint32_t, int64_t);
void		 ingest_coap_get_fl(coap_session_t *, const coap_pdu_t *,
		    coap_pdu_t *, const char *);
void		 ingest_coap_get_fl_head(coap_session_t *, const coap_pdu_t *,
		    coap_pdu_t *, const char *);
int		 ingest_coap_fl_pdu(coap_pdu_t *, coap_session_t *,
		    const coap_pdu_t *, const char *, int64_t);

/* ingest_coap_obs.c */
void		 ingest_coap_obs_start(void);
int		 ingest_coap_obs_register(coap_session_t *, const coap_pdu_t *,
		    enum obs_kind, const char *);
void		 ingest_coap_obs_cancel(coap_session_t *, const coap_pdu_t *);
uint32_t	 ingest_coap_obs_next(void);
void		 ingest_coap_obs_nack(coap_session_t *, const coap_pdu_t *,
		    coap_nack_reason_t);
void		 ingest_coap_obs_session(const coap_session_t *);
void		 ingest_coap_obs_check(void);
size_t		 ingest_coap_obs_count(void);
void		 ingest_coap_obs_clear(void);

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
