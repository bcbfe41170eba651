/*
 * ingest_coap.h - the CoAP listeners for nodes (SPEC section 3).
 */
#ifndef TE_INGEST_COAP_H
#define TE_INGEST_COAP_H

#include <stddef.h>
#include <stdint.h>

struct config;

int	ingest_coap_start(const struct config *, char **);
void	ingest_coap_reload(const struct config *);
void	ingest_coap_stop(void);
void	ingest_coap_check(uint64_t);
size_t	ingest_coap_status(char *, size_t);

#endif
