/*
 * fed.h - federated learning of a model's head at the gateway (SPEC
 * section 10): rounds per [federated:NAME] section, the daemon's side of
 * the pure library in src/learn/fl.h.
 *
 * The CoAP resources (ingest_coap_*.c) ask this module for the round
 * document (GET /v1/fl/{NAME}), the head (GET /v1/fl/{NAME}/head) and hand
 * it updates (POST /v1/n/{node}/fl/{NAME}).  An update is answered 2.04
 * only after the SQLite commit that holds it.  All functions run on the
 * loop thread.
 */
#ifndef TE_FED_H
#define TE_FED_H

#include <stddef.h>
#include <stdint.h>

struct config;
struct cJSON;

#define FED_ETAG_LEN	8	/* the head's ETag: base's first bytes */

/* What became of an update (fed_post); the CoAP code in brackets. */
enum fed_result {
	FED_OK,			/* durable (2.04) */
	FED_BAD,		/* malformed (4.00) */
	FED_FORBIDDEN,		/* node outside the section's glob (4.03) */
	FED_UNKNOWN,		/* no such federated model (4.04) */
	FED_STALE,		/* not the open round or base (4.09) */
	FED_BUSY,		/* closing, bounds or the store (5.03) */
	FED_AGAIN,		/* not durable yet: send it again (5.03, 1 s) */
};

/* The document of a name changed (a new round, a new deadline). */
typedef void	(*fed_notify_cb)(const char *);

int	fed_config_check(const struct config *, char **);
int	fed_start(const struct config *, char **);
void	fed_reload(const struct config *);
void	fed_stop(void);
void	fed_check(uint64_t);
size_t	fed_status(char *, size_t);
void	fed_metrics(struct cJSON *);

char	*fed_doc(const char *);
const uint8_t *fed_head(const char *, size_t *, uint8_t [FED_ETAG_LEN]);
void	fed_count_out(const char *, size_t);
enum fed_result fed_post(const char *, const char *, const uint8_t *, size_t,
	    char **);
void	fed_set_notify(fed_notify_cb);
uint32_t fed_round(const char *);

#endif
