/*
 * ingest_coap_path.c - what a CoAP request asks for, read from its path and
 * query, and which slice of a body one Block2 response carries.
 *
 * Everything here is peer input and has no side effects, so the request
 * handler (ingest_coap_req.c) and the GET resources (ingest_coap_get.c)
 * share it and the unit tests (tests/unit/test_coap_path.c) feed it
 * malformed cases directly.
 *
 * Paths: v1/n/{node}/{inference|window|heartbeat} (POST, SPEC 3),
 * v1/n/{node}/senml (POST, SPEC 14),
 * v1/n/{node}/config (GET, SPEC 9.1), v1/models/{name} (GET, SPEC 9.3),
 * v1/fl/{name}, v1/fl/{name}/head (GET) and v1/n/{node}/fl/{name} (POST,
 * SPEC 10).  A malformed node id or model name still routes (with an empty
 * id), so the caller can say what is wrong rather than 4.04.
 */
#include <stdio.h>
#include <string.h>

#include "ingest_coap_int.h"
#include "message.h"
#include "models.h"
#include "parse.h"

/* Is s (len bytes) a model name or version: charset, length, not . or ..? */
static int
ingest_coap_path_id(const char *s, size_t len, size_t max)
{
	if ((len == 1 && s[0] == '.') || (len == 2 && s[0] == '.' &&
	    s[1] == '.'))
		return (0);
	return (parse_id_valid(s, len, max, "_.-"));
}

/* The kind of node resource named by s (len bytes). */
static enum coap_target
ingest_coap_path_kind(const char *s, size_t len, enum message_type *type)
{
	static const struct {
		const char		*name;
		enum coap_target	 target;
		enum message_type	 type;
	} kinds[] = {
		{ "inference", COAP_TARGET_POST, MESSAGE_INFERENCE },
		{ "window", COAP_TARGET_POST, MESSAGE_WINDOW },
		{ "heartbeat", COAP_TARGET_POST, MESSAGE_HEARTBEAT },
		{ "senml", COAP_TARGET_POST, MESSAGE_SENML },
		{ "config", COAP_TARGET_CONFIG, MESSAGE_HEARTBEAT },
	};
	size_t	i;

	for (i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
		if (strlen(kinds[i].name) == len &&
		    memcmp(kinds[i].name, s, len) == 0) {
			*type = kinds[i].type;
			return (kinds[i].target);
		}
	}
	return (COAP_TARGET_NONE);
}

/* Copy a model or federated name of n bytes into r->model if valid. */
static void
ingest_coap_path_name(const char *p, size_t n, struct coap_route *r)
{
	if (ingest_coap_path_id(p, n, MODELS_NAME_MAX)) {
		memcpy(r->model, p, n);
		r->model[n] = '\0';
	}
}

/* Route v1/fl/{name}[/head] (p points past "v1/fl/", n bytes left). */
static enum coap_target
ingest_coap_path_fl(const char *p, size_t n, struct coap_route *r)
{
	static const char	 head[] = "/head";
	const char		*slash;

	if ((slash = memchr(p, '/', n)) == NULL) {
		ingest_coap_path_name(p, n, r);
		return (r->target = COAP_TARGET_FL);
	}
	if ((size_t)(p + n - slash) != sizeof head - 1 ||
	    memcmp(slash, head, sizeof head - 1) != 0)
		return (r->target);
	ingest_coap_path_name(p, (size_t)(slash - p), r);
	return (r->target = COAP_TARGET_FL_HEAD);
}

/*
 * Route a request path (without the leading slash, segments joined by '/',
 * as coap_get_uri_path gives it).  Returns the target, also in r.
 */
enum coap_target
ingest_coap_path_route(const uint8_t *path, size_t len, struct coap_route *r)
{
	static const char	 node_prefix[] = "v1/n/";
	static const char	 model_prefix[] = "v1/models/";
	static const char	 fl_prefix[] = "v1/fl/";
	static const char	 fl_kind[] = "fl/";
	const char		*p, *end, *slash;
	size_t			 n;

	memset(r, 0, sizeof *r);
	r->target = COAP_TARGET_NONE;
	if (path == NULL)
		return (r->target);
	p = (const char *)path;
	end = p + len;
	if (len > sizeof model_prefix - 1 &&
	    memcmp(p, model_prefix, sizeof model_prefix - 1) == 0) {
		p += sizeof model_prefix - 1;
		n = (size_t)(end - p);
		if (memchr(p, '/', n) != NULL)
			return (r->target);
		ingest_coap_path_name(p, n, r);
		return (r->target = COAP_TARGET_MODEL);
	}
	if (len > sizeof fl_prefix - 1 &&
	    memcmp(p, fl_prefix, sizeof fl_prefix - 1) == 0)
		return (ingest_coap_path_fl(p + sizeof fl_prefix - 1,
		    len - (sizeof fl_prefix - 1), r));
	if (len <= sizeof node_prefix - 1 ||
	    memcmp(p, node_prefix, sizeof node_prefix - 1) != 0)
		return (r->target);
	p += sizeof node_prefix - 1;
	if ((slash = memchr(p, '/', (size_t)(end - p))) == NULL)
		return (r->target);
	n = (size_t)(slash - p);
	if (n <= MESSAGE_NODE_MAX && message_node_valid(p, n)) {
		memcpy(r->node, p, n);
		r->node[n] = '\0';
	}
	slash++;
	n = (size_t)(end - slash);
	if (n > sizeof fl_kind - 1 && memcmp(slash, fl_kind,
	    sizeof fl_kind - 1) == 0) {
		slash += sizeof fl_kind - 1;
		n -= sizeof fl_kind - 1;
		if (memchr(slash, '/', n) != NULL) {
			r->node[0] = '\0';
			return (r->target);
		}
		ingest_coap_path_name(slash, n, r);
		return (r->target = COAP_TARGET_FL_POST);
	}
	r->target = ingest_coap_path_kind(slash, n, &r->type);
	if (r->target == COAP_TARGET_NONE)
		r->node[0] = '\0';
	return (r->target);
}

/*
 * The query of a model GET: nothing (the newest version, version "") or
 * exactly "v=VERSION".  -1 when malformed.
 */
int
ingest_coap_path_version(const uint8_t *query, size_t len,
    char version[MODELS_VERSION_MAX + 1])
{
	version[0] = '\0';
	if (query == NULL || len == 0)
		return (0);
	if (len < 3 || memcmp(query, "v=", 2) != 0 ||
	    !ingest_coap_path_id((const char *)query + 2, len - 2,
	    MODELS_VERSION_MAX))
		return (-1);
	memcpy(version, query + 2, len - 2);
	version[len - 2] = '\0';
	return (0);
}

/*
 * The slice of a body of size bytes that answers a GET: the Block2 block it
 * asked for (asked, num, szx), or block 0 of our preferred size.  Blocks
 * are at most COAP_BLOCK2_SZX (1024 bytes) and small enough that room bytes
 * of a PDU hold one: a smaller size than asked is the server's right (RFC
 * 7959 2.4), the block number is then scaled to the same offset.  A body
 * that fits one block and was not asked for in blocks goes whole (s->block
 * 0).  Returns -1 when the block starts past the end.
 */
int
ingest_coap_path_block2(size_t size, int asked, uint32_t num, unsigned szx,
    size_t room, struct coap_block2 *s)
{
	uint64_t	offset;
	size_t		bsize;

	memset(s, 0, sizeof *s);
	if (!asked) {
		num = 0;
		szx = COAP_BLOCK2_SZX;
	}
	if (szx > COAP_BLOCK2_SZX) {
		num <<= szx - COAP_BLOCK2_SZX;
		szx = COAP_BLOCK2_SZX;
	}
	while (szx > 0 && ((size_t)16 << szx) > room) {
		num <<= 1;
		szx--;
	}
	if (num > 0xFFFFF)
		return (-1);
	bsize = (size_t)16 << szx;
	offset = (uint64_t)num << (szx + 4);
	if (offset >= size && offset != 0)
		return (-1);
	s->offset = (size_t)offset;
	s->len = size - s->offset < bsize ? size - s->offset : bsize;
	s->more = s->offset + s->len < size;
	s->num = num;
	s->szx = szx;
	s->block = asked || s->more;
	return (0);
}
