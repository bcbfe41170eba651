/*
 * test_message.c - unit tests of node message validation: tables of good
 * and malformed inference, window and heartbeat JSON, binary windows,
 * serial lines and stored bodies read back by kind, each malformed case
 * with the diagnostic it must give.
 */
#include <cJSON.h>
#include <check.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "message.h"
#include "testutil.h"

/* One JSON case: type, body, and the expected diagnostic (NULL = ok). */
struct json_case {
	enum message_type	 type;
	const char		*body;
	const char		*error;
};

#define INF MESSAGE_INFERENCE
#define WIN MESSAGE_WINDOW
#define HB MESSAGE_HEARTBEAT

static const struct json_case json_cases[] = {
	{ INF, "{\"seq\":1,\"model\":\"m\",\"label\":\"yes\",\"score\":0.9}", NULL },
	{ INF, "{\"seq\":4294967295,\"boot\":7,\"ts\":1732450000123,"
	    "\"model\":\"kws\",\"label\":\"yes\",\"score\":1,\"scores\":"
	    "{\"yes\":0.91,\"no\":0.05},\"latency_us\":2300,\"window\":77,"
	    "\"extra\":[1,2]}", NULL },
	{ INF, " {\"seq\":0,\"model\":\"m\",\"label\":\"l\",\"score\":0}\n",
	    NULL },
	{ INF, "", "empty body" },
	{ INF, "{", "invalid JSON" },
	{ INF, "{\"seq\":1,}", "invalid JSON" },
	{ INF, "[1,2]", "body must be a JSON object" },
	{ INF, "\"text\"", "body must be a JSON object" },
	{ INF, "{\"seq\":1,\"model\":\"m\",\"label\":\"l\",\"score\":0.5} x",
	    "data after the object" },
	{ INF, "{\"model\":\"m\",\"label\":\"l\",\"score\":0.5}", "seq: required" },
	{ INF, "{\"seq\":-1,\"model\":\"m\",\"label\":\"l\",\"score\":0.5}",
	    "seq: must be an integer in [0, 4294967295]" },
	{ INF, "{\"seq\":1.5,\"model\":\"m\",\"label\":\"l\",\"score\":0.5}",
	    "seq: must be an integer" },
	{ INF, "{\"seq\":4294967296,\"model\":\"m\",\"label\":\"l\","
	    "\"score\":0.5}", "seq: must be an integer" },
	{ INF, "{\"seq\":\"1\",\"model\":\"m\",\"label\":\"l\",\"score\":0.5}",
	    "seq: must be an integer" },
	{ INF, "{\"seq\":1,\"label\":\"l\",\"score\":0.5}", "model: required" },
	{ INF, "{\"seq\":1,\"model\":\"m\",\"score\":0.5}", "label: required" },
	{ INF, "{\"seq\":1,\"model\":\"m\",\"label\":\"l\"}", "score: required" },
	{ INF, "{\"seq\":1,\"model\":\"m\",\"label\":\"l\",\"score\":1.01}",
	    "score: must be a number in [0,1]" },
	{ INF, "{\"seq\":1,\"model\":\"m\",\"label\":\"l\",\"score\":-0.1}",
	    "score: must be a number in [0,1]" },
	{ INF, "{\"seq\":1,\"model\":\"m\",\"label\":\"l\",\"score\":\"0.5\"}",
	    "score: must be a number in [0,1]" },
	{ INF, "{\"seq\":1,\"model\":\"\",\"label\":\"l\",\"score\":0.5}",
	    "model: must be a non-empty string" },
	{ INF, "{\"seq\":1,\"model\":7,\"label\":\"l\",\"score\":0.5}",
	    "model: must be a non-empty string" },
	{ INF, "{\"seq\":1,\"model\":\"m\",\"label\":\"a\\nb\",\"score\":0.5}",
	    "label: control characters" },
	{ INF, "{\"seq\":1,\"model\":\"m\",\"label\":\"l\",\"score\":0.5,"
	    "\"boot\":-2}", "boot: must be an integer" },
	{ INF, "{\"seq\":1,\"model\":\"m\",\"label\":\"l\",\"score\":0.5,"
	    "\"ts\":\"now\"}", "ts: must be milliseconds" },
	/* Found by fuzz_message: a bad ts leaked its first diagnostic. */
	{ WIN, "{\"seq\":1,\"ts\":{\"yes\":0.9}}", "ts: must be milliseconds" },
	{ INF, "{\"seq\":1,\"model\":\"m\",\"label\":\"l\",\"score\":0.5,"
	    "\"scores\":[0.5]}", "scores: must be an object" },
	{ INF, "{\"seq\":1,\"model\":\"m\",\"label\":\"l\",\"score\":0.5,"
	    "\"scores\":{\"a\":2}}", "scores: \"a\" must be a number in [0,1]" },
	{ INF, "{\"seq\":1,\"model\":\"m\",\"label\":\"l\",\"score\":0.5,"
	    "\"latency_us\":-5}", "latency_us: must be an integer" },

	{ WIN, "{\"seq\":77,\"boot\":7,\"interval_ms\":10,\"sensors\":"
	    "[{\"name\":\"accX\",\"units\":\"m/s2\"},{\"name\":\"accY\"}],"
	    "\"values\":[[0.1,9.8],[0.2,9.7]],\"model\":\"wave\","
	    "\"label\":\"idle\",\"score\":0.55}", NULL },
	{ WIN, "{\"seq\":1,\"interval_ms\":0.0625,\"sensors\":[{\"name\":"
	    "\"mic\"}],\"values\":[1,2,3]}", NULL },
	{ WIN, "{\"interval_ms\":10,\"sensors\":[{\"name\":\"a\"}],"
	    "\"values\":[[1]]}", "seq: required" },
	{ WIN, "{\"seq\":1,\"sensors\":[{\"name\":\"a\"}],\"values\":[[1]]}",
	    "interval_ms: required" },
	{ WIN, "{\"seq\":1,\"interval_ms\":0,\"sensors\":[{\"name\":\"a\"}],"
	    "\"values\":[[1]]}", "interval_ms: must be a positive number" },
	{ WIN, "{\"seq\":1,\"interval_ms\":10,\"values\":[[1]]}",
	    "sensors: required" },
	{ WIN, "{\"seq\":1,\"interval_ms\":10,\"sensors\":[],\"values\":[[1]]}",
	    "sensors: must be an array of 1 to 16" },
	{ WIN, "{\"seq\":1,\"interval_ms\":10,\"sensors\":[\"a\"],"
	    "\"values\":[[1]]}", "sensors: each must be an object" },
	{ WIN, "{\"seq\":1,\"interval_ms\":10,\"sensors\":[{\"name\":\"a\"}]}",
	    "values: required" },
	{ WIN, "{\"seq\":1,\"interval_ms\":10,\"sensors\":[{\"name\":\"a\"}],"
	    "\"values\":[]}", "values: must be a non-empty array" },
	{ WIN, "{\"seq\":1,\"interval_ms\":10,\"sensors\":[{\"name\":\"a\"},"
	    "{\"name\":\"b\"}],\"values\":[[1,2],[3]]}",
	    "values[1]: must have 2 numbers, one per sensor" },
	{ WIN, "{\"seq\":1,\"interval_ms\":10,\"sensors\":[{\"name\":\"a\"},"
	    "{\"name\":\"b\"}],\"values\":[[1,\"x\"]]}",
	    "values[0][1]: not a finite number" },
	{ WIN, "{\"seq\":1,\"interval_ms\":10,\"sensors\":[{\"name\":\"a\"}],"
	    "\"values\":[[1e39]]}", "values[0][0]: not a finite number" },
	{ WIN, "{\"seq\":1,\"interval_ms\":10,\"sensors\":[{\"name\":\"a\"}],"
	    "\"values\":[[1]],\"label\":\"x\"}", "model: required" },

	/*
	 * Strings are UTF-8 without \u0000: cJSON would cut a C string at
	 * the decoded NUL and pass any byte through.
	 */
	{ INF, "{\"seq\":1,\"model\":\"m\",\"label\":\"caf\xc3\xa9 \xf0\x9f\x90"
	    "\xb1\",\"score\":0.5}", NULL },
	{ INF, "{\"seq\":1,\"model\":\"m\",\"label\":\"a\\\\u0000\","
	    "\"score\":0.5}", NULL },
	{ INF, "{\"seq\":1,\"model\":\"m\",\"label\":\"\\\"q\\\"\","
	    "\"score\":0.5}", NULL },
	{ INF, "{\"seq\":1,\"model\":\"m\",\"label\":\"a\\u0000b\","
	    "\"score\":0.5}", "\\u0000 in a string at byte 31" },
	{ INF, "{\"seq\":1,\"model\":\"m\\u0000\",\"label\":\"l\","
	    "\"score\":0.5}", "\\u0000 in a string" },
	{ INF, "{\"seq\":1,\"model\":\"m\",\"label\":\"l\",\"score\":0.5,"
	    "\"x\\u0000y\":1}", "\\u0000 in a string" },
	{ INF, "{\"seq\":1,\"model\":\"m\",\"label\":\"l\",\"score\":0.5,"
	    "\"scores\":{\"\\u0000\":0.5}}", "\\u0000 in a string" },
	{ INF, "{\"seq\":1,\"model\":\"m\",\"label\":\"\xff\",\"score\":0.5}",
	    "not UTF-8 at byte 30" },
	{ INF, "{\"seq\":1,\"model\":\"m\",\"label\":\"\xc0\xaf\",\"score\":0.5}",
	    "not UTF-8" },	/* overlong "/" */
	{ INF, "{\"seq\":1,\"model\":\"m\",\"label\":\"\xe0\x80\xaf\","
	    "\"score\":0.5}", "not UTF-8" },	/* overlong, 3 bytes */
	{ INF, "{\"seq\":1,\"model\":\"m\",\"label\":\"\xed\xa0\x80\","
	    "\"score\":0.5}", "not UTF-8" },	/* a UTF-16 surrogate */
	{ INF, "{\"seq\":1,\"model\":\"m\",\"label\":\"\xf4\x90\x80\x80\","
	    "\"score\":0.5}", "not UTF-8" },	/* above U+10FFFF */
	{ INF, "{\"seq\":1,\"model\":\"m\",\"label\":\"\x80\",\"score\":0.5}",
	    "not UTF-8" },	/* a lone continuation byte */
	{ INF, "{\"seq\":1,\"model\":\"m\",\"label\":\"l\",\"score\":0.5,"
	    "\"\xe2\x82\":1}", "not UTF-8" },	/* a cut sequence in a key */
	{ INF, "{\"seq\":1,\"model\":\"m\",\"label\":\"l\",\"score\":0.5}\xe2",
	    "not UTF-8" },	/* cut at the end of the body */
	{ HB, "{\"fw\":\"1.0\\u0000evil\"}", "\\u0000 in a string" },
	{ HB, "{\"fw\":\"\xfe\"}", "not UTF-8" },
	{ WIN, "{\"seq\":1,\"interval_ms\":10,\"sensors\":[{\"name\":"
	    "\"\\u0000\"}],\"values\":[1]}", "\\u0000 in a string" },

	{ HB, "", NULL },
	{ HB, "{\"battery\":3.7,\"fw\":\"1.2.0\",\"seq\":9}", NULL },
	{ HB, "{\"seq\":-9}", "seq: must be an integer" },
	{ HB, "[]", "body must be a JSON object" },
};

/* Case i of a malformed table was refused with a diagnostic holding want. */
static void
check_rejected(int i, int rc, const struct message *m, const char *cause,
    const char *want)
{
	ck_assert_msg(rc == -1, "case %d accepted", i);
	ck_assert_ptr_null(m);
	ck_assert_msg(cause != NULL && strstr(cause, want) != NULL,
	    "case %d: want \"%s\", got \"%s\"", i, want,
	    cause ? cause : "(null)");
}

START_TEST(test_json_table)
{
	const struct json_case	*c = &json_cases[_i];
	struct message		*m = NULL;
	char			*cause = NULL;
	int			 rc;

	rc = message_parse_json(c->type, "node-1", c->body, strlen(c->body),
	    &m, &cause);
	if (c->error == NULL) {
		ck_assert_msg(rc == 0, "case %d rejected: %s", _i, cause);
		ck_assert_ptr_nonnull(m);
		ck_assert_str_eq(m->node, "node-1");
		ck_assert_int_eq(m->type, c->type);
		ck_assert_ptr_nonnull(m->body);
	} else
		check_rejected(_i, rc, m, cause, c->error);
	message_free(m);
	free(cause);
}
END_TEST

START_TEST(test_inference_fields)
{
	const char	*b = "{\"seq\":1042,\"boot\":7,\"ts\":1732450000123,"
	    "\"model\":\"kws-dscnn-v1\",\"label\":\"yes\",\"score\":0.91,"
	    "\"latency_us\":2300,\"window\":77}";
	struct message	*m;
	char		*cause = NULL;

	ck_assert_int_eq(message_parse_json(MESSAGE_INFERENCE, "n.1", b,
	    strlen(b), &m, &cause), 0);
	ck_assert_uint_eq(m->seq, 1042);
	ck_assert_uint_eq(m->boot, 7);
	ck_assert_int_eq(m->ts_ms, 1732450000123LL);
	ck_assert_str_eq(m->model, "kws-dscnn-v1");
	ck_assert_str_eq(m->label, "yes");
	ck_assert_double_eq_tol(m->score, 0.91, 1e-12);
	ck_assert_int_eq(m->latency_us, 2300);
	ck_assert_int_eq(m->window, 77);
	message_free(m);
}
END_TEST

START_TEST(test_window_json_values)
{
	const char	*b = "{\"seq\":77,\"interval_ms\":10,\"sensors\":"
	    "[{\"name\":\"x\"},{\"name\":\"y\"}],\"values\":[[0.5,9.8],"
	    "[0.25,-9.7],[1,2]]}";
	struct message	*m;
	char		*cause = NULL;

	ck_assert_int_eq(message_parse_json(MESSAGE_WINDOW, "n", b, strlen(b),
	    &m, &cause), 0);
	ck_assert_uint_eq(m->frames, 3);
	ck_assert_uint_eq(m->axes, 2);
	ck_assert_uint_eq(m->interval_us, 10000);
	ck_assert_float_eq(m->values[0], 0.5f);
	ck_assert_float_eq(m->values[3], -9.7f);
	ck_assert_float_eq(m->values[5], 2.0f);
	ck_assert_int_eq(m->has_result, 0);
	message_free(m);
}
END_TEST

/* Build a binary window header into buf. */
static size_t
bin_header(unsigned char *buf, uint8_t dtype, uint8_t axes, uint16_t frames,
    uint32_t seq, uint32_t interval, float scale)
{
	uint32_t	bits;

	memcpy(&bits, &scale, 4);
	buf[0] = 'T';
	buf[1] = 'W';
	buf[2] = 1;
	buf[3] = dtype;
	buf[4] = axes;
	buf[5] = 0;
	buf[6] = frames & 0xff;
	buf[7] = frames >> 8;
	for (int i = 0; i < 4; i++) {
		buf[8 + i] = (seq >> (8 * i)) & 0xff;
		buf[12 + i] = (interval >> (8 * i)) & 0xff;
		buf[16 + i] = (bits >> (8 * i)) & 0xff;
	}
	return (20);
}

START_TEST(test_binary_window)
{
	unsigned char	 buf[256];
	struct message	*m;
	char		*cause = NULL;
	size_t		 n;
	float		 f = -1.5f, nan = NAN;

	/* int16, 2 axes x 3 frames, scale 0.5 */
	n = bin_header(buf, 2, 2, 3, 99, 10000, 0.5f);
	for (int i = 0; i < 6; i++) {
		int16_t v = (int16_t)(i * 1000 - 2500);
		buf[n++] = v & 0xff;
		buf[n++] = (v >> 8) & 0xff;
	}
	ck_assert_int_eq(message_parse_window_binary("n", buf, n, &m, &cause),
	    0);
	ck_assert_uint_eq(m->seq, 99);
	ck_assert_uint_eq(m->frames, 3);
	ck_assert_uint_eq(m->axes, 2);
	ck_assert_uint_eq(m->interval_us, 10000);
	ck_assert_float_eq(m->values[0], -1250.0f);
	ck_assert_float_eq(m->values[5], 1250.0f);
	ck_assert_uint_eq(m->body_len, n);
	message_free(m);

	/* int8 and float32 */
	n = bin_header(buf, 1, 1, 2, 1, 1, 2.0f);
	buf[n++] = 0xff;
	buf[n++] = 0x7f;
	ck_assert_int_eq(message_parse_window_binary("n", buf, n, &m, &cause),
	    0);
	ck_assert_float_eq(m->values[0], -2.0f);
	ck_assert_float_eq(m->values[1], 254.0f);
	message_free(m);
	n = bin_header(buf, 3, 1, 1, 1, 1, 1.0f);
	memcpy(buf + n, &f, 4);
	ck_assert_int_eq(message_parse_window_binary("n", buf, n + 4, &m,
	    &cause), 0);
	ck_assert_float_eq(m->values[0], -1.5f);
	message_free(m);
	memcpy(buf + n, &nan, 4);
	ck_assert_int_eq(message_parse_window_binary("n", buf, n + 4, &m,
	    &cause), -1);
	ck_assert_ptr_nonnull(strstr(cause, "not finite"));
	free(cause);
}
END_TEST

/* A malformed binary window: mutate a good one, expect this error. */
struct bin_case {
	int		 offset;	/* byte to set, -1 none */
	unsigned char	 value;
	int		 len_delta;
	const char	*error;
};

static const struct bin_case bin_cases[] = {
	{ 0, 'X', 0, "bad magic" },
	{ 1, 'X', 0, "bad magic" },
	{ 2, 2, 0, "version 2" },
	{ 3, 0, 0, "dtype 0" },
	{ 3, 4, 0, "dtype 4" },
	{ 4, 0, 0, "axes 0" },
	{ 4, 17, 0, "axes 17" },
	{ 5, 1, 0, "flags must be 0" },
	{ 6, 0, 0, "frames must be at least 1" },
	{ 6, 5, 0, "want 40 for 5 frames" },
	{ -1, 0, -1, "want 32" },
	{ -1, 0, 1, "want 32" },
	{ -1, 0, -13, "shorter than the 20-byte header" },
	{ 12, 0, 0, "interval_us must be positive" },
};

START_TEST(test_binary_table)
{
	const struct bin_case	*c = &bin_cases[_i];
	unsigned char		 buf[64] = { 0 };
	struct message		*m = NULL;
	char			*cause = NULL;
	size_t			 n;

	/* good: int16, 2 axes, 3 frames = 32 bytes; interval only in byte 12 */
	n = bin_header(buf, 2, 2, 3, 5, 100, 1.0f) + 12;
	if (c->offset >= 0)
		buf[c->offset] = c->value;
	n = (size_t)((int)n + c->len_delta);
	ck_assert_int_eq(message_parse_window_binary("n", buf, n, &m, &cause),
	    -1);
	ck_assert_ptr_null(m);
	ck_assert_msg(strstr(cause, c->error) != NULL, "case %d: want \"%s\", "
	    "got \"%s\"", _i, c->error, cause);
	free(cause);
}
END_TEST

START_TEST(test_lines)
{
	struct message	*m;
	char		*cause = NULL;
	const char	*l;

	l = "{\"type\":\"inference\",\"node\":\"a1\",\"seq\":3,\"model\":\"m\","
	    "\"label\":\"no\",\"score\":0.1}";
	ck_assert_int_eq(message_parse_line(l, strlen(l), NULL, &m, &cause), 0);
	ck_assert_str_eq(m->node, "a1");
	ck_assert_int_eq(m->type, MESSAGE_INFERENCE);
	ck_assert_ptr_null(strstr((char *)m->body, "\"node\""));
	ck_assert_ptr_null(strstr((char *)m->body, "\"type\""));
	message_free(m);

	l = "{\"type\":\"heartbeat\"}";
	ck_assert_int_eq(message_parse_line(l, strlen(l), "usb-node", &m,
	    &cause), 0);
	ck_assert_str_eq(m->node, "usb-node");
	message_free(m);

	ck_assert_int_eq(message_parse_line(l, strlen(l), NULL, &m, &cause),
	    -1);
	ck_assert_str_eq(cause, "node: required");
	free(cause);
	l = "{\"type\":\"reading\",\"node\":\"a\"}";
	ck_assert_int_eq(message_parse_line(l, strlen(l), NULL, &m, &cause),
	    -1);
	ck_assert_ptr_nonnull(strstr(cause, "type: must be"));
	free(cause);
	l = "{\"type\":\"heartbeat\",\"node\":\"a b\"}";
	ck_assert_int_eq(message_parse_line(l, strlen(l), NULL, &m, &cause),
	    -1);
	ck_assert_ptr_nonnull(strstr(cause, "node: must be"));
	free(cause);
	l = "{\"type\":\"heartbeat\",\"node\":\"..\"}";
	ck_assert_int_eq(message_parse_line(l, strlen(l), NULL, &m, &cause),
	    -1);
	ck_assert_ptr_nonnull(strstr(cause, "node: must be"));
	free(cause);
	l = "{\"type\":\"heartbeat\",\"node\":\"a\\u0000b\"}";
	ck_assert_int_eq(message_parse_line(l, strlen(l), NULL, &m, &cause),
	    -1);
	ck_assert_ptr_nonnull(strstr(cause, "\\u0000 in a string"));
	free(cause);
	l = "{\"type\":\"heartbeat\",\"node\":\"a\xc3\"}";
	ck_assert_int_eq(message_parse_line(l, strlen(l), NULL, &m, &cause),
	    -1);
	ck_assert_ptr_nonnull(strstr(cause, "not UTF-8"));
	free(cause);
	l = "I (1234) main: booting";
	ck_assert_int_eq(message_parse_line(l, strlen(l), NULL, &m, &cause),
	    -1);
	free(cause);
}
END_TEST

/*
 * One stored body: the store's kind, the body (len 0: strlen), and the
 * expected diagnostic (NULL = ok).  A good binary window: int8, 1 axis, 1
 * frame, seq 4, interval 1 us, scale 1.0.
 */
struct stored_case {
	int		 kind;
	const char	*body;
	size_t		 len;
	const char	*error;
};

#define SK_INF	STORE_KIND_INFERENCE
#define SK_WIN	STORE_KIND_WINDOW
#define SK_HB	STORE_KIND_HEARTBEAT
#define SK_T2	STORE_KIND_TIER2
#define BIN_GOOD "TW\x01\x01\x01\x00\x01\x00\x04\x00\x00\x00" \
	"\x01\x00\x00\x00\x00\x00\x80\x3f\x05"
#define T2_BODY(score) "{\"seq\":3,\"boot\":1,\"model\":\"kws\"," \
	"\"label\":\"yes\",\"score\":" score ",\"tier\":2,\"window\":3," \
	"\"latency_us\":900}"

static const struct stored_case stored_cases[] = {
	{ SK_INF, "{\"seq\":1,\"model\":\"m\",\"label\":\"y\",\"score\":0.5}",
	    0, NULL },
	{ SK_T2, T2_BODY("0.75"), 0, NULL },
	{ SK_T2, T2_BODY("37.5"), 0, NULL },	/* an anomaly score */
	{ SK_WIN, "{\"seq\":1,\"interval_ms\":10,\"sensors\":[{\"name\":"
	    "\"x\"}],\"values\":[1,2]}", 0, NULL },
	{ SK_WIN, BIN_GOOD, 21, NULL },
	{ SK_HB, "{\"fw\":\"1.2\"}", 0, NULL },
	{ SK_HB, "", 0, NULL },

	{ 0, "{}", 0, "stored kind 0 is not a message" },
	{ 6, "{}", 0, "stored kind 6 is not a message" },
	{ -1, "{}", 0, "stored kind -1 is not a message" },
	{ SK_INF, "", 0, "empty body" },
	{ SK_INF, "{\"seq\":1,\"model\":\"m\",\"label\":\"y\",\"score\":1.5}",
	    0, "score: must be a number in [0,1]" },
	{ SK_INF, "{\"seq\":1,\"label\":\"y\",\"score\":0.5}", 0,
	    "model: required" },
	{ SK_INF, BIN_GOOD, 21, "invalid JSON" },	/* a window's body */
	{ SK_T2, "", 0, "empty body" },
	{ SK_T2, T2_BODY("-0.5"), 0, "score: must be a non-negative number" },
	{ SK_T2, T2_BODY("\"high\""), 0,
	    "score: must be a non-negative number" },
	{ SK_T2, "{\"seq\":3,\"label\":\"yes\",\"score\":0.5}", 0,
	    "model: required" },
	{ SK_T2, "{\"model\":\"kws\",\"label\":\"yes\",\"score\":0.5}", 0,
	    "seq: required" },
	{ SK_WIN, "TW", 0, "shorter than the 20-byte header" },
	{ SK_WIN, "TW\x02\x01\x01\x00\x01\x00\x04\x00\x00\x00"
	    "\x01\x00\x00\x00\x00\x00\x80\x3f\x05", 21, "version 2" },
	{ SK_WIN, BIN_GOOD, 20, "want 21 for 1 frames" },
	{ SK_WIN, "Tw\x01\x01", 4, "invalid JSON" },	/* no magic: JSON */
	{ SK_WIN, "", 0, "empty body" },
	{ SK_WIN, "{\"seq\":1,\"model\":\"m\",\"label\":\"y\",\"score\":0.5}",
	    0, "interval_ms: required" },	/* an inference's body */
	{ SK_HB, "[]", 0, "body must be a JSON object" },
	{ SK_HB, BIN_GOOD, 21, "invalid JSON" },
};

START_TEST(test_stored_table)
{
	const struct stored_case *c = &stored_cases[_i];
	struct message		*m = NULL;
	char			*cause = NULL;
	size_t			 len;
	int			 rc;

	len = c->len ? c->len : strlen(c->body);
	rc = message_parse_stored((enum store_kind)c->kind, "node-1", c->body,
	    len, &m, &cause);
	if (c->error == NULL) {
		ck_assert_msg(rc == 0, "case %d rejected: %s", _i, cause);
		ck_assert_str_eq(m->node, "node-1");
		ck_assert_int_eq(message_store_kind(m->type),
		    c->kind == SK_T2 ? SK_INF : c->kind);
		ck_assert_int_eq(m->tier, c->kind == SK_T2 ? 2 : 1);
		ck_assert_ptr_nonnull(m->body);
		ck_assert_int_eq(m->fields != NULL, c->kind == SK_HB);
	} else
		check_rejected(_i, rc, m, cause, c->error);
	message_free(m);
	free(cause);
}
END_TEST

/* What ingest stores reads back the same through message_parse_stored(). */
START_TEST(test_stored_round_trip)
{
	const char	*l = "{\"type\":\"inference\",\"node\":\"a1\",\"seq\":3,"
	    "\"model\":\"m\",\"label\":\"no\",\"score\":0.25,\"window\":9}";
	unsigned char	 buf[64];
	struct message	*m, *r;
	char		*cause = NULL;
	size_t		 n;

	ck_assert_int_eq(message_store_kind(MESSAGE_INFERENCE),
	    STORE_KIND_INFERENCE);
	ck_assert_int_eq(message_store_kind(MESSAGE_WINDOW),
	    STORE_KIND_WINDOW);
	ck_assert_int_eq(message_store_kind(MESSAGE_HEARTBEAT),
	    STORE_KIND_HEARTBEAT);

	ck_assert_int_eq(message_parse_line(l, strlen(l), NULL, &m, &cause), 0);
	ck_assert_int_eq(message_parse_stored(message_store_kind(m->type),
	    m->node, m->body, m->body_len, &r, &cause), 0);
	ck_assert_str_eq(r->label, "no");
	ck_assert_str_eq(r->model, "m");
	ck_assert_double_eq(r->score, 0.25);
	ck_assert_int_eq(r->window, 9);
	ck_assert_uint_eq(r->seq, 3);
	message_free(r);
	message_free(m);

	n = bin_header(buf, 2, 2, 3, 99, 10000, 0.5f) + 12;
	memset(buf + 20, 0x01, 12);
	ck_assert_int_eq(message_parse_window_binary("w", buf, n, &m, &cause),
	    0);
	ck_assert_int_eq(message_parse_stored(message_store_kind(m->type),
	    "w", m->body, m->body_len, &r, &cause), 0);
	ck_assert_int_eq(r->format, MESSAGE_WINDOW_BINARY);
	ck_assert_uint_eq(r->seq, 99);
	ck_assert_uint_eq(r->frames, 3);
	ck_assert_mem_eq(r->values, m->values, 6 * sizeof *m->values);
	message_free(r);
	message_free(m);
}
END_TEST

/* A heartbeat keeps its members, without "node" and "type", as fields. */
START_TEST(test_heartbeat_fields)
{
	const char	*l = "{\"type\":\"heartbeat\",\"node\":\"a1\","
	    "\"fw\":\"1.2\",\"battery\":3.5}";
	struct message	*m;
	char		*cause = NULL;

	ck_assert_int_eq(message_parse_line(l, strlen(l), NULL, &m, &cause), 0);
	ck_assert_ptr_nonnull(m->fields);
	ck_assert_int_eq(cJSON_GetArraySize(m->fields), 2);
	ck_assert(!cJSON_HasObjectItem(m->fields, "node"));
	ck_assert(!cJSON_HasObjectItem(m->fields, "type"));
	ck_assert_str_eq(cJSON_GetObjectItemCaseSensitive(m->fields,
	    "fw")->valuestring, "1.2");
	message_free(m);
	/* A repeated "node" or "type" is not stored either. */
	l = "{\"type\":\"heartbeat\",\"node\":\"a1\",\"node\":\"b2\","
	    "\"fw\":\"1\",\"type\":\"x\"}";
	ck_assert_int_eq(message_parse_line(l, strlen(l), NULL, &m, &cause), 0);
	ck_assert_str_eq(m->node, "a1");
	ck_assert_str_eq((char *)m->body, "{\"fw\":\"1\"}");
	ck_assert_int_eq(cJSON_GetArraySize(m->fields), 1);
	message_free(m);
	l = "{\"seq\":1,\"model\":\"m\",\"label\":\"y\",\"score\":0.5}";
	ck_assert_int_eq(message_parse_json(MESSAGE_INFERENCE, "n", l,
	    strlen(l), &m, &cause), 0);
	ck_assert_ptr_null(m->fields);
	message_free(m);
}
END_TEST

START_TEST(test_node_ids)
{
	char	long_id[70];

	ck_assert(message_node_valid("n1", 2));
	ck_assert(message_node_valid("a.b-c_D", 7));
	ck_assert(!message_node_valid("", 0));
	ck_assert(!message_node_valid("a/b", 3));
	ck_assert(!message_node_valid("a b", 3));
	/* Path segments that mean "here" and "up". */
	ck_assert(!message_node_valid(".", 1));
	ck_assert(!message_node_valid("..", 2));
	ck_assert(!message_node_valid("..x", 2));
	ck_assert(message_node_valid("...", 3));
	ck_assert(message_node_valid(".a", 2));
	ck_assert(message_node_valid("a..", 3));
	memset(long_id, 'x', sizeof long_id);
	ck_assert(message_node_valid(long_id, 64));
	ck_assert(!message_node_valid(long_id, 65));
}
END_TEST

/* Run the suite; the exit status tells whether all passed. */
int
main(void)
{
	struct testutil_case	 cases[] = {
		{ test_json_table, sizeof json_cases / sizeof json_cases[0] },
		{ test_inference_fields, 0 },
		{ test_window_json_values, 0 },
		{ test_binary_window, 0 },
		{ test_binary_table, sizeof bin_cases / sizeof bin_cases[0] },
		{ test_lines, 0 },
		{ test_stored_table,
		    sizeof stored_cases / sizeof stored_cases[0] },
		{ test_stored_round_trip, 0 },
		{ test_heartbeat_fields, 0 },
		{ test_node_ids, 0 },
	};

	return (testutil_run("message", 0, cases,
	    sizeof cases / sizeof cases[0]));
}
