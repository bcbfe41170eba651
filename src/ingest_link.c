/*
 * ingest_link.c - from a link's lines and frames to stored messages, for
 * every byte-stream link: serial ports (ingest_serial.c) and BLE links
 * (ingest_ble.c).  Moved out of ingest_serial.c when BLE links came, so
 * both kinds follow one set of rules (SPEC section 4): lines that are not
 * JSON objects are skipped and counted, over-long lines and frames, bad
 * COBS, bad lengths and bad CRCs are dropped and counted, and a good one
 * goes through the message module and the store like a CoAP body.
 *
 * A link has no back-channel, so a message is put in the store and
 * forgotten; the store's group commit at the end of the loop turn covers
 * everything one read brought.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "frame.h"
#include "ingest.h"
#include "ingest_link.h"
#include "log.h"
#include "message.h"
#include "metrics.h"
#include "store.h"
#include "xmalloc.h"

/* Set up a link's frame path: kind and name are kept by reference. */
void
ingest_link_init(struct ingest_link *il, const char *kind, const char *name,
    const char *node, enum metrics_counter accepted)
{
	memset(il, 0, sizeof *il);
	il->kind = kind;
	il->name = name;
	il->accepted = accepted;
	snprintf(il->node, sizeof il->node, "%s", node);
	snprintf(il->source, sizeof il->source, "%s:%s", kind, name);
}

/* Count a message that will not be stored. */
static void
ingest_link_reject(struct ingest_link *il)
{
	il->n.rejected++;
	metrics_add(METRICS_INGEST_REJECTED, 1);
}

/*
 * Put a validated message in the store and free it.  A link has no way to
 * answer, so store.sync = full does not hold anything up here: the reading
 * is journaled and counted at once.
 */
static void
ingest_link_deliver(struct ingest_link *il, struct message *m)
{
	struct store_msg	sm;

	ingest_store_msg(m, &sm);
	/*
	 * A refused node's data is lost: the link cannot say "later".  The
	 * registry logs the refusal (rate-limited); it is counted here.
	 */
	if (ingest_admit(m->node, il->source, 0) != INGEST_ADMIT_OK) {
		ingest_link_reject(il);
		message_free(m);
		return;
	}
	switch (store_put_message(&sm, NULL, NULL)) {
	case STORE_REFUSED:
		if (!il->refused_logged)
			log_warnx("%s %s: the store refuses data, dropping "
			    "messages", il->kind, il->name);
		il->refused_logged = 1;
		ingest_link_reject(il);
		break;
	case STORE_DUPLICATE:
		metrics_add(METRICS_INGEST_DUPLICATES, 1);
		ingest_seen(m);
		break;
	default:
		il->refused_logged = 0;
		metrics_add(il->accepted, 1);
		ingest_seen(m);
		break;
	}
	message_free(m);
}

/* Does a line that failed validation at least parse as a JSON object? */
static int
ingest_link_is_object(const uint8_t *line, size_t len)
{
	cJSON	*o;
	int	 yes;

	/* MCU debug prints rarely start with '{': skip the parse for them. */
	while (len > 0 && (*line == ' ' || *line == '\t')) {
		line++;
		len--;
	}
	if (len == 0 || *line != '{')
		return (0);
	o = cJSON_ParseWithLength((const char *)line, len);
	yes = cJSON_IsObject(o);
	cJSON_Delete(o);
	return (yes);
}

/* The message type a JSON frame carries (frame.c refused other bytes). */
static enum message_type
ingest_link_type(enum frame_type t)
{
	switch (t) {
	case FRAME_TYPE_WINDOW:
		return (MESSAGE_WINDOW);
	case FRAME_TYPE_HEARTBEAT:
		return (MESSAGE_HEARTBEAT);
	case FRAME_TYPE_INFERENCE:
	case FRAME_TYPE_WINDOW_BINARY:	/* parsed as binary before */
		break;
	}
	return (MESSAGE_INFERENCE);
}

/* One complete line of "lines" framing. */
static void
ingest_link_line(struct ingest_link *il, const struct frame *f)
{
	struct message	*m;
	char		*cause = NULL, esc[128];

	if (message_parse_line((const char *)f->data, f->len, il->node, &m,
	    &cause) == 0) {
		il->n.frames++;
		ingest_link_deliver(il, m);
		return;
	}
	if (ingest_link_is_object(f->data, f->len)) {
		/* A message, but a bad one: the firmware needs to know. */
		il->n.frames++;
		ingest_link_reject(il);
		log_debug("%s %s: line rejected: %s", il->kind, il->name,
		    cause);
	} else {
		il->n.skipped_lines++;
		log_debug("%s %s: skipped: %s", il->kind, il->name,
		    log_escape(esc, sizeof esc, f->data, f->len > 80 ? 80 :
		    f->len));
	}
	free(cause);
}

/* One COBS frame with a good CRC. */
static void
ingest_link_packet(struct ingest_link *il, const struct frame *f)
{
	struct message	*m = NULL;
	char		 node[MESSAGE_NODE_MAX + 1], *cause = NULL;
	int		 rc;

	il->n.frames++;
	if (f->node_len > 0) {
		memcpy(node, f->node, f->node_len);
		node[f->node_len] = '\0';
	} else
		snprintf(node, sizeof node, "%s", il->node);
	if (node[0] == '\0') {
		xasprintf(&cause, "node: required (or set node = for %s)",
		    il->name);
		rc = -1;
	} else if (f->type == FRAME_TYPE_WINDOW_BINARY)
		rc = message_parse_window_binary(node, f->body, f->body_len,
		    &m, &cause);
	else
		rc = message_parse_json(ingest_link_type(f->type), node,
		    f->body, f->body_len, &m, &cause);
	if (rc != 0) {
		ingest_link_reject(il);
		log_debug("%s %s: frame rejected: %s", il->kind, il->name,
		    cause);
		free(cause);
		return;
	}
	ingest_link_deliver(il, m);
}

/* The frame_reader's callback (arg: the struct ingest_link). */
void
ingest_link_frame(const struct frame *f, void *arg)
{
	struct ingest_link	*il = arg;

	switch (f->ev) {
	case FRAME_LINE:
		ingest_link_line(il, f);
		break;
	case FRAME_PACKET:
		ingest_link_packet(il, f);
		break;
	case FRAME_TOO_LONG:
		il->n.dropped_long++;
		log_debug("%s %s: over %d bytes, dropped", il->kind, il->name,
		    FRAME_MAX);
		break;
	case FRAME_BAD_COBS:
	case FRAME_BAD_LENGTH:
		il->n.bad_frames++;
		break;
	case FRAME_BAD_CRC:
		il->n.bad_crc++;
		break;
	}
}

/* Add the link's counters to obj, with "open": whether it is up. */
void
ingest_link_json(const struct ingest_link *il, cJSON *obj, int open)
{
	cJSON_AddNumberToObject(obj, "frames", (double)il->n.frames);
	cJSON_AddNumberToObject(obj, "bad_crc", (double)il->n.bad_crc);
	cJSON_AddNumberToObject(obj, "bad_frames", (double)il->n.bad_frames);
	cJSON_AddNumberToObject(obj, "skipped_lines",
	    (double)il->n.skipped_lines);
	cJSON_AddNumberToObject(obj, "dropped_long",
	    (double)il->n.dropped_long);
	cJSON_AddNumberToObject(obj, "rejected", (double)il->n.rejected);
	cJSON_AddNumberToObject(obj, "reopens", (double)il->n.reopens);
	cJSON_AddBoolToObject(obj, "open", open);
}

/* Log a link's counters (at stop: a record for the operator). */
void
ingest_link_log(const struct ingest_link *il)
{
	log_info("%s %s: frames=%llu bad_crc=%llu bad_frames=%llu "
	    "skipped_lines=%llu dropped_long=%llu rejected=%llu reopens=%llu",
	    il->kind, il->name, (unsigned long long)il->n.frames,
	    (unsigned long long)il->n.bad_crc,
	    (unsigned long long)il->n.bad_frames,
	    (unsigned long long)il->n.skipped_lines,
	    (unsigned long long)il->n.dropped_long,
	    (unsigned long long)il->n.rejected,
	    (unsigned long long)il->n.reopens);
}
