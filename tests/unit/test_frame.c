/*
 * test_frame.c - unit tests of the serial framing (src/frame.c): the
 * CRC-16/CCITT-FALSE check value, COBS round trips and malformed COBS,
 * frame layout tables (bad CRC, zero length, node overruns, bad type,
 * maximum-length frames), and the streaming readers fed byte by byte and
 * in odd chunks (CR LF, over-long lines and frames, missing delimiters,
 * resync after garbage).
 */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frame.h"
#include "testutil.h"

#define EV_MAX	64

/* What a reader reported: events in order, payload copies for lines. */
struct seen {
	size_t			n;
	enum frame_event	ev[EV_MAX];
	char			text[EV_MAX][128];
	size_t			len[EV_MAX];
	enum frame_type		type[EV_MAX];
	char			node[EV_MAX][FRAME_NODE_MAX + 1];
};

static struct frame_reader	reader;	/* 64 KB: not on the stack */
static uint8_t			big[FRAME_ENC_MAX + 16];
static uint8_t			big2[FRAME_ENC_MAX + 16];

/* Reader callback: record the event. */
static void
record(const struct frame *f, void *arg)
{
	struct seen	*s = arg;
	const void	*p = f->ev == FRAME_LINE ? f->data : f->body;
	size_t		 len = f->ev == FRAME_LINE ? f->len : f->body_len;

	ck_assert_uint_lt(s->n, EV_MAX);
	s->ev[s->n] = f->ev;
	s->len[s->n] = len;
	s->type[s->n] = f->type;
	if (p != NULL)
		snprintf(s->text[s->n], sizeof s->text[s->n], "%.*s",
		    (int)(len > 127 ? 127 : len), (const char *)p);
	if (f->ev == FRAME_PACKET)
		snprintf(s->node[s->n], sizeof s->node[s->n], "%.*s",
		    (int)f->node_len, f->node);
	s->n++;
}

/* Feed a buffer in chunks of `chunk` bytes (0: all at once). */
static void
feed(enum frame_framing fr, const void *buf, size_t len, size_t chunk,
    struct seen *s)
{
	const uint8_t	*p = buf;
	size_t		 off, n;

	memset(s, 0, sizeof *s);
	frame_reader_init(&reader, fr);
	if (chunk == 0)
		chunk = len ? len : 1;
	for (off = 0; off < len; off += n) {
		n = len - off < chunk ? len - off : chunk;
		frame_feed(&reader, p + off, n, record, s);
	}
}

/* The catalogue check value, and the empty buffer. */
START_TEST(test_crc_check_value)
{
	ck_assert_uint_eq(frame_crc16("123456789", 9), 0x29B1);
	ck_assert_uint_eq(frame_crc16("", 0), 0xFFFF);
}
END_TEST

/* COBS test vectors (Cheshire & Baker, plus the 254-byte boundary). */
START_TEST(test_cobs_vectors)
{
	static const struct {
		const char	*in;
		size_t		 inlen;
		const char	*out;
		size_t		 outlen;
	} v[] = {
		{ "", 0, "\x01", 1 },
		{ "\x00", 1, "\x01\x01", 2 },
		{ "\x00\x00", 2, "\x01\x01\x01", 3 },
		{ "\x11\x22\x00\x33", 4, "\x03\x11\x22\x02\x33", 5 },
		{ "\x11\x22\x33\x44", 4, "\x05\x11\x22\x33\x44", 5 },
		{ "\x11\x00\x00\x00", 4, "\x02\x11\x01\x01\x01", 5 },
	};
	uint8_t	out[16], dec[16];
	size_t	i, n, m;

	for (i = 0; i < sizeof v / sizeof v[0]; i++) {
		n = frame_cobs_encode(v[i].in, v[i].inlen, out);
		ck_assert_uint_eq(n, v[i].outlen);
		ck_assert_mem_eq(out, v[i].out, n);
		ck_assert_int_eq(frame_cobs_decode(out, n, dec, &m), 0);
		ck_assert_uint_eq(m, v[i].inlen);
		if (m > 0)
			ck_assert_mem_eq(dec, v[i].in, m);
	}
}
END_TEST

/* Round trips across the 254/255 block boundaries, in place. */
START_TEST(test_cobs_roundtrip)
{
	static const size_t	lens[] = { 1, 253, 254, 255, 508, 509, 1000 };
	size_t			i, j, n, m;

	for (i = 0; i < sizeof lens / sizeof lens[0]; i++) {
		for (j = 0; j < lens[i]; j++)
			big[j] = (uint8_t)(_i == 0 ? j % 255 + 1 : j % 7);
		n = frame_cobs_encode(big, lens[i], big2);
		ck_assert_uint_le(n, lens[i] + lens[i] / 254 + 1);
		ck_assert_ptr_null(memchr(big2, 0, n));
		ck_assert_int_eq(frame_cobs_decode(big2, n, big2, &m), 0);
		ck_assert_uint_eq(m, lens[i]);
		ck_assert_mem_eq(big2, big, m);
	}
}
END_TEST

/* Malformed COBS: a zero code, a zero inside, a block past the end. */
START_TEST(test_cobs_malformed)
{
	static const struct {
		const char	*in;
		size_t		 len;
	} bad[] = {
		{ "\x00", 1 },
		{ "\x03\x11\x00", 3 },
		{ "\x05\x11\x22", 3 },
		{ "\x02", 1 },
		{ "\xff\x01", 2 },
	};
	uint8_t	out[16];
	size_t	i, m;

	for (i = 0; i < sizeof bad / sizeof bad[0]; i++)
		ck_assert_int_eq(frame_cobs_decode((const uint8_t *)bad[i].in,
		    bad[i].len, out, &m), -1);
}
END_TEST

/* Build a raw (decoded) frame with a correct or spoiled CRC. */
static size_t
raw_frame(uint8_t *b, uint8_t type, uint8_t node_len, const char *node,
    const char *body, int spoil)
{
	size_t		n = 0, bl = strlen(body);
	uint16_t	c;

	b[n++] = type;
	b[n++] = node_len;
	memcpy(b + n, node, strlen(node));
	n += strlen(node);
	memcpy(b + n, body, bl);
	n += bl;
	c = frame_crc16(b, n) ^ (spoil ? 0x0100 : 0);
	b[n++] = (uint8_t)(c >> 8);
	b[n++] = (uint8_t)c;
	return (n);
}

/* Frame layout table. */
START_TEST(test_parse_table)
{
	static const struct {
		uint8_t			 type, node_len;
		const char		*node, *body;
		int			 spoil;
		enum frame_event	 want;
	} t[] = {
		{ 1, 2, "n1", "{}", 0, FRAME_PACKET },
		{ 4, 0, "", "TW", 0, FRAME_PACKET },
		{ 3, 2, "n1", "", 0, FRAME_PACKET },
		{ 1, 2, "n1", "{}", 1, FRAME_BAD_CRC },
		{ 0, 2, "n1", "{}", 0, FRAME_BAD_LENGTH },
		{ 5, 2, "n1", "{}", 0, FRAME_BAD_LENGTH },
		{ 1, 9, "n1", "{}", 0, FRAME_BAD_LENGTH },	/* node overrun */
		{ 1, 65, "n1", "{}", 0, FRAME_BAD_LENGTH },
	};
	struct frame	f;
	uint8_t		b[128];
	size_t		i, n;

	for (i = 0; i < sizeof t / sizeof t[0]; i++) {
		n = raw_frame(b, t[i].type, t[i].node_len, t[i].node,
		    t[i].body, t[i].spoil);
		ck_assert_msg(frame_parse(b, n, &f) == t[i].want, "row %zu", i);
		if (t[i].want == FRAME_PACKET) {
			ck_assert_uint_eq(f.node_len, t[i].node_len);
			ck_assert_uint_eq(f.body_len, strlen(t[i].body));
		}
	}
	/* Too short for type, node_len and CRC: 0 to 3 bytes. */
	for (n = 0; n < FRAME_OVERHEAD; n++)
		ck_assert_int_eq(frame_parse(b, n, &f), FRAME_BAD_LENGTH);
}
END_TEST

/* frame_encode then the COBS reader gives back the same parts. */
START_TEST(test_encode_reader)
{
	struct seen	s;
	uint8_t		w[256];
	size_t		n, m;

	n = frame_encode(FRAME_TYPE_INFERENCE, "node-7", 6, "{\"seq\":1}", 9,
	    w, sizeof w);
	ck_assert_uint_gt(n, 0);
	ck_assert_uint_eq(w[n - 1], 0);
	m = frame_encode(FRAME_TYPE_HEARTBEAT, "", 0, "", 0, w + n,
	    sizeof w - n);
	ck_assert_uint_gt(m, 0);
	feed(FRAME_COBS, w, n + m, 1, &s);
	ck_assert_uint_eq(s.n, 2);
	ck_assert_int_eq(s.ev[0], FRAME_PACKET);
	ck_assert_int_eq(s.type[0], FRAME_TYPE_INFERENCE);
	ck_assert_str_eq(s.node[0], "node-7");
	ck_assert_str_eq(s.text[0], "{\"seq\":1}");
	ck_assert_int_eq(s.ev[1], FRAME_PACKET);
	ck_assert_str_eq(s.node[1], "");
	ck_assert_uint_eq(s.len[1], 0);
	/* Too small an output buffer, too long a node. */
	ck_assert_uint_eq(frame_encode(FRAME_TYPE_INFERENCE, "n", 1, "{}", 2,
	    w, 5), 0);
	ck_assert_uint_eq(frame_encode(FRAME_TYPE_INFERENCE, (char *)big, 65,
	    "{}", 2, w, sizeof w), 0);
}
END_TEST

/* The COBS reader: garbage, bad CRC, bad COBS, resync, empty frames. */
START_TEST(test_cobs_reader)
{
	struct seen	s;
	uint8_t		w[512], raw[64];
	size_t		n = 0, r, k;

	/* Leading garbage without a delimiter merges into frame 1's junk. */
	memcpy(w + n, "\x07\x07\x07\x00", 4);	/* bad COBS: block past end */
	n += 4;
	w[n++] = 0;				/* empty frame: ignored */
	n += frame_encode(FRAME_TYPE_INFERENCE, "a", 1, "{}", 2, w + n, 64);
	r = raw_frame(raw, 1, 1, "a", "{}", 1);	/* bad CRC */
	n += frame_cobs_encode(raw, r, w + n);
	w[n++] = 0;
	r = raw_frame(raw, 9, 1, "a", "{}", 0);	/* bad type */
	n += frame_cobs_encode(raw, r, w + n);
	w[n++] = 0;
	memcpy(w + n, "\x02\x01\x00", 3);	/* 1 decoded byte: too short */
	n += 3;
	n += frame_encode(FRAME_TYPE_WINDOW, "b", 1, "{}", 2, w + n, 64);
	/* A final frame without its delimiter is not reported yet. */
	k = frame_encode(FRAME_TYPE_WINDOW, "c", 1, "{}", 2, w + n, 64);
	n += k - 1;
	for (r = 0; r < 3; r++) {
		feed(FRAME_COBS, w, n, r == 0 ? 0 : r == 1 ? 1 : 7, &s);
		ck_assert_uint_eq(s.n, 6);
		ck_assert_int_eq(s.ev[0], FRAME_BAD_COBS);
		ck_assert_int_eq(s.ev[1], FRAME_PACKET);
		ck_assert_str_eq(s.node[1], "a");
		ck_assert_int_eq(s.ev[2], FRAME_BAD_CRC);
		ck_assert_int_eq(s.ev[3], FRAME_BAD_LENGTH);
		ck_assert_int_eq(s.ev[4], FRAME_BAD_LENGTH);
		ck_assert_int_eq(s.ev[5], FRAME_PACKET);
		ck_assert_str_eq(s.node[5], "b");
	}
	/* The delimiter arrives later: the held frame completes. */
	frame_feed(&reader, "", 1, record, &s);
	ck_assert_uint_eq(s.n, 7);
	ck_assert_str_eq(s.node[6], "c");
}
END_TEST

/* A maximum-length frame passes; one byte more is dropped, then resync. */
START_TEST(test_cobs_max)
{
	struct seen	s;
	size_t		body = FRAME_MAX - FRAME_OVERHEAD - 1, n, m;
	uint8_t		*raw = big2;

	memset(raw, 'x', body);
	n = frame_encode(FRAME_TYPE_WINDOW_BINARY, "n", 1, raw, body, big,
	    sizeof big);
	ck_assert_uint_gt(n, 0);
	feed(FRAME_COBS, big, n, 1000, &s);
	ck_assert_uint_eq(s.n, 1);
	ck_assert_int_eq(s.ev[0], FRAME_PACKET);
	ck_assert_uint_eq(s.len[0], body);
	ck_assert_uint_eq(frame_encode(FRAME_TYPE_WINDOW_BINARY, "n", 1, raw,
	    body + 1, big, sizeof big), 0);

	/* Hand-encode an over-long frame: encoded bytes run past the cap. */
	for (n = 0; n < FRAME_ENC_MAX + 8; n++)
		big[n] = 0xFF;		/* never a delimiter */
	feed(FRAME_COBS, big, n, 4096, &s);
	ck_assert_uint_eq(s.n, 1);
	ck_assert_int_eq(s.ev[0], FRAME_TOO_LONG);
	m = frame_encode(FRAME_TYPE_INFERENCE, "z", 1, "{}", 2, big2, 64);
	frame_feed(&reader, "\x00", 1, record, &s);	/* ends the junk */
	frame_feed(&reader, big2, m, record, &s);
	ck_assert_uint_eq(s.n, 2);
	ck_assert_int_eq(s.ev[1], FRAME_PACKET);
	ck_assert_str_eq(s.node[1], "z");

	/* Many zeros decode larger than they encode: still FRAME_MAX. */
	memset(raw, 0, FRAME_MAX + 10);
	n = frame_cobs_encode(raw, FRAME_MAX + 10, big);
	big[n++] = 0;
	feed(FRAME_COBS, big, n, 0, &s);
	ck_assert_uint_eq(s.n, 1);
	ck_assert_int_eq(s.ev[0], FRAME_TOO_LONG);
}
END_TEST

/* Lines: LF, CR LF, empty lines, a missing newline, chunking. */
START_TEST(test_lines)
{
	static const char	in[] = "{\"a\":1}\nboot ok\r\n\r\n\n\0\0{\"b\":2}\r\n"
				    "\0\r\ntail";
	struct seen		s;
	size_t			chunk;

	for (chunk = 0; chunk < 6; chunk++) {
		feed(FRAME_LINES, in, sizeof in - 1, chunk, &s);
		ck_assert_uint_eq(s.n, 3);
		ck_assert_int_eq(s.ev[0], FRAME_LINE);
		ck_assert_str_eq(s.text[0], "{\"a\":1}");
		ck_assert_str_eq(s.text[1], "boot ok");
		ck_assert_uint_eq(s.len[1], 7);
		ck_assert_str_eq(s.text[2], "{\"b\":2}");
	}
	frame_feed(&reader, "\n", 1, record, &s);
	ck_assert_uint_eq(s.n, 4);
	ck_assert_str_eq(s.text[3], "tail");
}
END_TEST

/* Lines of exactly FRAME_MAX pass (with or without CR); longer drop. */
START_TEST(test_lines_long)
{
	struct seen	s;
	size_t		n;

	memset(big, 'x', FRAME_MAX);
	big[FRAME_MAX] = '\n';
	feed(FRAME_LINES, big, FRAME_MAX + 1, 999, &s);
	ck_assert_uint_eq(s.n, 1);
	ck_assert_int_eq(s.ev[0], FRAME_LINE);
	ck_assert_uint_eq(s.len[0], FRAME_MAX);

	big[FRAME_MAX] = '\r';
	big[FRAME_MAX + 1] = '\n';
	feed(FRAME_LINES, big, FRAME_MAX + 2, 0, &s);
	ck_assert_uint_eq(s.n, 1);
	ck_assert_uint_eq(s.len[0], FRAME_MAX);

	/* FRAME_MAX + 1 characters, no CR: dropped at the newline. */
	big[FRAME_MAX] = 'x';
	feed(FRAME_LINES, big, FRAME_MAX + 2, 1, &s);
	ck_assert_uint_eq(s.n, 1);
	ck_assert_int_eq(s.ev[0], FRAME_TOO_LONG);

	/* Far too long, reported once, then the next line is whole. */
	memset(big, 'y', FRAME_ENC_MAX);
	n = FRAME_ENC_MAX;
	memcpy(big + n, "\nok\n", 4);
	n += 4;
	feed(FRAME_LINES, big, n, 1000, &s);
	ck_assert_uint_eq(s.n, 2);
	ck_assert_int_eq(s.ev[0], FRAME_TOO_LONG);
	ck_assert_int_eq(s.ev[1], FRAME_LINE);
	ck_assert_str_eq(s.text[1], "ok");
}
END_TEST

/* Run the suite; Check prints TAP with CK_TAP_LOG_FILE_NAME=-. */
int
main(void)
{
	struct testutil_case	 cases[] = {
		{ test_crc_check_value, 0 },
		{ test_cobs_vectors, 0 },
		{ test_cobs_roundtrip, 2 },
		{ test_cobs_malformed, 0 },
		{ test_parse_table, 0 },
		{ test_encode_reader, 0 },
		{ test_cobs_reader, 0 },
		{ test_cobs_max, 0 },
		{ test_lines, 0 },
		{ test_lines_long, 0 },
	};

	return (testutil_run("frame", 0, cases,
	    sizeof cases / sizeof cases[0]));
}
