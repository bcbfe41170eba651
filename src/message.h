/*
 * message.h - validation of what nodes send (SPEC sections 3 and 4), shared
 * by the CoAP and serial ingest.
 *
 * A parser takes the raw bytes of one request or frame and returns either
 * a validated message or -1 with a short diagnostic ("score: must be a
 * number in [0,1]") that ingest sends back (CoAP 4.00) or counts (serial).
 * A message is a plain value: what the store, events and tier 2 read.
 *
 * The stages after the store read a stored body back with
 * message_parse_stored() only: it takes the store's kind and body as
 * struct store_msg hands them out and applies the same checks as ingest,
 * so no stage sniffs a format or picks fields out of a body on its own.
 * CBOR bodies (message_cbor.c) become the same cJSON tree as JSON ones
 * and pass the same checks; a SenML pack (message_senml.c) is resolved
 * and kept as its resolved JSON array.
 * message_store_kind() is the one mapping from a message type to the
 * store's kind (the two enums are numbered alike but are not the same).
 */
#ifndef TE_MESSAGE_H
#define TE_MESSAGE_H

#include <stddef.h>
#include <stdint.h>

#include "store.h"

struct cJSON;

#define MESSAGE_NODE_MAX	64
#define MESSAGE_TEXT_MAX	64	/* model and label names */
#define MESSAGE_AXES_MAX	16
#define MESSAGE_HEARTBEAT_FIELDS_MAX	32	/* besides "node" and "type" */
#define MESSAGE_HEARTBEAT_BYTES_MAX	2048	/* of the stored body */
#define MESSAGE_SENML_RECORDS_MAX	256	/* records in one SenML pack */
#define MESSAGE_SENML_NAME_MAX	128	/* a resolved SenML name */
#define MESSAGE_SENML_UNIT_MAX	32

enum message_type {
	MESSAGE_INFERENCE = 1,
	MESSAGE_WINDOW = 2,
	MESSAGE_HEARTBEAT = 3,
	MESSAGE_SENML = 4,		/* a SenML pack (RFC 8428), resolved */
};

/* How a window arrived: JSON (content-format 50) or binary (42). */
enum message_window_format {
	MESSAGE_WINDOW_JSON = 0,
	MESSAGE_WINDOW_BINARY = 1,
};

/* Binary window sample types (SPEC section 3). */
enum message_dtype {
	MESSAGE_DTYPE_INT8 = 1,
	MESSAGE_DTYPE_INT16 = 2,
	MESSAGE_DTYPE_FLOAT32 = 3,
};

/* One resolved SenML record, as the summaries read it. */
struct message_senml {
	char		 name[MESSAGE_SENML_NAME_MAX + 1];
	int		 has_v;		/* a numeric value */
	double		 v;
	int64_t		 t_ms;		/* absolute, ms since the epoch */
};

struct message {
	enum message_type	 type;
	char			 node[MESSAGE_NODE_MAX + 1];
	uint32_t		 seq;
	int			 has_seq;
	uint32_t		 boot;
	int64_t			 ts_ms;		/* node clock; 0 if absent */

	/* inference, and a window's own tier-1 result (has_result) */
	int			 has_result;
	char			 model[MESSAGE_TEXT_MAX + 1];
	char			 label[MESSAGE_TEXT_MAX + 1];
	double			 score;
	int64_t			 latency_us;	/* -1 if absent */
	int64_t			 window;	/* seq of a window, -1 if none */

	/* window: frames x axes values, frame-major, in real units */
	enum message_window_format format;
	enum message_dtype	 dtype;
	uint32_t		 frames;
	uint32_t		 axes;
	uint64_t		 interval_us;
	float			*values;

	/* the body as it should be stored: compact JSON or the binary */
	unsigned char		*body;
	size_t			 body_len;

	/* heartbeat: its members without "node" and "type"; else NULL */
	struct cJSON		*fields;
	/* who made the result: 1 a node, 2 the gateway's tier 2 */
	int			 tier;

	/* SenML: the resolved records; the body is their JSON array */
	struct message_senml	*senml;
	size_t			 nsenml;
};

int	message_node_valid(const char *, size_t);
int	message_parse_json(enum message_type, const char *, const void *,
	    size_t, struct message **, char **);
int	message_parse_window_binary(const char *, const void *, size_t,
	    struct message **, char **);
int	message_parse_cbor(enum message_type, const char *, const void *,
	    size_t, struct message **, char **);
int	message_parse_senml(const char *, int, const void *, size_t, int64_t,
	    struct message **, char **);
int	message_parse_line(const char *, size_t, const char *,
	    struct message **, char **);
int	message_parse_stored(enum store_kind, const char *, const void *,
	    size_t, struct message **, char **);
enum store_kind message_store_kind(enum message_type);
void	message_free(struct message *);
const char *message_type_name(enum message_type);

#endif
