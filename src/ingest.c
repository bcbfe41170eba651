/*
 * ingest.c - the steps the CoAP and serial ingest share after validation:
 * how a message is described to the store, and how a stored message
 * updates the node registry.  One copy, so both links store and report a
 * reading identically.
 */
#include <string.h>

#include "daemon.h"
#include "ingest.h"
#include "message.h"
#include "nodes.h"
#include "store.h"

/* Describe a validated message to the store, received now. */
void
ingest_store_msg(const struct message *m, struct store_msg *sm)
{
	memset(sm, 0, sizeof *sm);
	sm->node = m->node;
	sm->boot = m->boot;
	sm->seq = m->has_seq ? (int64_t)m->seq : -1;
	sm->kind = message_store_kind(m->type);
	sm->rx_ms = daemon_now_ms();
	sm->ts_ms = m->ts_ms;
	sm->body = m->body;
	sm->len = m->body_len;
	sm->msg = m;
}

/* A message is stored (or was already): tell the node registry. */
void
ingest_seen(const struct message *m)
{
	/* A heartbeat's fields (message.c kept them) replace the status's. */
	nodes_seen(m->node, daemon_now_ms(), m->fields);
}

/*
 * May node be taken in from source (a peer address, a serial link name)?
 * authenticated: the node id was proven (a DTLS identity), so the per-source
 * limit on new ids does not apply.  Asked before the message is stored; a
 * new id admitted here is known from now on (nodes.c).
 */
enum ingest_admit
ingest_admit(const char *node, const char *source, int authenticated)
{
	switch (nodes_admit(node, source, authenticated, daemon_now_ms())) {
	case NODES_ADMIT_OK:
		break;
	case NODES_ADMIT_RATE:
		return (INGEST_ADMIT_RATE);
	case NODES_ADMIT_FULL:
		return (INGEST_ADMIT_FULL);
	}
	return (INGEST_ADMIT_OK);
}
