/*
 * test_coap_block.c - unit tests of Block1 reassembly (ingest_coap_block.c):
 * blocks in order, retransmissions, gaps and lone blocks, the body limit,
 * the Request-Tag keeping two uploads of one peer apart, the bounds on
 * uploads open at once, idle expiry, and repeats of a finished upload's
 * last block.  Blocks are fed as the request handler feeds them.
 */
#include <arpa/inet.h>

#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ingest_coap_int.h"
#include "testutil.h"

#define SZX16	0	/* 16-byte blocks keep the cases small */
#define NOW	1000000

/* A loopback-ish IPv4 peer: host 127.0.0.H, port P. */
static coap_address_t
peer(int host, int port)
{
	coap_address_t	a;

	coap_address_init(&a);
	a.size = sizeof a.addr.sin;
	a.addr.sin.sin_family = AF_INET;
	a.addr.sin.sin_port = htons((uint16_t)port);
	a.addr.sin.sin_addr.s_addr = htonl(0x7f000000u | (uint32_t)host);
	return (a);
}

/* The key of node n1's window resource from a, with an optional tag. */
static struct block_key
key(const coap_address_t *a, const char *tag)
{
	struct block_key	k;

	memset(&k, 0, sizeof k);
	k.peer = a;
	k.node = "n1";
	k.type = MESSAGE_WINDOW;
	k.rtaglen = -1;
	if (tag != NULL) {
		k.rtag = (const uint8_t *)tag;
		k.rtaglen = (int)strlen(tag);
	}
	return (k);
}

/* Put block num (16 bytes of fill, or len bytes when last) of k's upload. */
static enum block_step
put(const struct block_key *k, uint32_t num, int more, char fill, size_t len,
    size_t max, uint64_t now, struct upload **out)
{
	coap_block_b_t	b;
	uint8_t		data[1024];

	memset(&b, 0, sizeof b);
	b.defined = 1;
	b.num = num;
	b.m = more;
	b.szx = SZX16;
	memset(data, fill, sizeof data);
	return (ingest_coap_block_put(k, COAP_CF_JSON, &b, data, len, max, now,
	    out));
}

/* The body of a finished upload as a string (static buffer). */
static const char *
body(const struct upload *u)
{
	static char	 s[4096];
	const uint8_t	*p;
	size_t		 len;

	p = ingest_coap_block_body(u, &len);
	ck_assert_uint_lt(len, sizeof s);
	memcpy(s, p, len);
	s[len] = '\0';
	return (s);
}

/* Blocks in order make one body; the block acknowledged last may repeat. */
START_TEST(test_in_order)
{
	coap_address_t		 a = peer(1, 5000);
	struct block_key	 k = key(&a, NULL);
	struct upload		*u;

	ingest_coap_block_clear();
	ck_assert_int_eq(put(&k, 0, 1, 'a', 16, 1024, NOW, &u), BLOCK_MORE);
	ck_assert_ptr_null(u);
	ck_assert_uint_eq(ingest_coap_block_count(), 1);
	ck_assert_int_eq(put(&k, 1, 1, 'b', 16, 1024, NOW, &u), BLOCK_MORE);
	/* The block acknowledged last, again: no second copy. */
	ck_assert_int_eq(put(&k, 1, 1, 'b', 16, 1024, NOW, &u), BLOCK_AGAIN);
	ck_assert_int_eq(put(&k, 2, 0, 'c', 3, 1024, NOW, &u), BLOCK_DONE);
	ck_assert_ptr_nonnull(u);
	ck_assert_str_eq(body(u), "aaaaaaaaaaaaaaaabbbbbbbbbbbbbbbbccc");
	ingest_coap_block_done(u, COAP_RESPONSE_CODE_CHANGED);
	ck_assert_uint_eq(ingest_coap_block_count(), 0);
	ingest_coap_block_clear();
}
END_TEST

/* Blocks that do not continue an upload we hold: each is 4.08. */
START_TEST(test_incomplete)
{
	coap_address_t		 a = peer(1, 5000);
	struct block_key	 k = key(&a, NULL);
	struct upload		*u;
	coap_block_b_t		 b;

	ingest_coap_block_clear();
	/* A lone block with num != 0. */
	ck_assert_int_eq(put(&k, 3, 0, 'x', 5, 1024, NOW, &u), BLOCK_INCOMPLETE);
	ck_assert_int_eq(put(&k, 1, 1, 'x', 16, 1024, NOW, &u),
	    BLOCK_INCOMPLETE);
	ck_assert_uint_eq(ingest_coap_block_count(), 0);
	/* A gap drops the upload: what follows is not a body either. */
	ck_assert_int_eq(put(&k, 0, 1, 'a', 16, 1024, NOW, &u), BLOCK_MORE);
	ck_assert_int_eq(put(&k, 2, 1, 'c', 16, 1024, NOW, &u),
	    BLOCK_INCOMPLETE);
	ck_assert_int_eq(put(&k, 1, 0, 'b', 4, 1024, NOW, &u), BLOCK_INCOMPLETE);
	/* A short block that claims more follow. */
	ck_assert_int_eq(put(&k, 0, 1, 'a', 16, 1024, NOW, &u), BLOCK_MORE);
	ck_assert_int_eq(put(&k, 1, 1, 'b', 15, 1024, NOW, &u),
	    BLOCK_INCOMPLETE);
	/* A change of content-format mid-upload. */
	ck_assert_int_eq(put(&k, 0, 1, 'a', 16, 1024, NOW, &u), BLOCK_MORE);
	memset(&b, 0, sizeof b);
	b.num = 1;
	b.szx = SZX16;
	ck_assert_int_eq(ingest_coap_block_put(&k, COAP_CF_OCTETS, &b,
	    (const uint8_t *)"zz", 2, 1024, NOW, &u), BLOCK_INCOMPLETE);
	/* A Request-Tag longer than RFC 9175 allows. */
	k = key(&a, "123456789");
	ck_assert_int_eq(put(&k, 0, 1, 'a', 16, 1024, NOW, &u),
	    BLOCK_INCOMPLETE);
	ingest_coap_block_clear();
}
END_TEST

/* The body limit applies block by block, not to a declared size. */
START_TEST(test_too_large)
{
	coap_address_t		 a = peer(1, 5000);
	struct block_key	 k = key(&a, NULL);
	struct upload		*u;

	ingest_coap_block_clear();
	ck_assert_int_eq(put(&k, 0, 1, 'a', 16, 40, NOW, &u), BLOCK_MORE);
	ck_assert_int_eq(put(&k, 1, 1, 'b', 16, 40, NOW, &u), BLOCK_MORE);
	ck_assert_int_eq(put(&k, 2, 1, 'c', 16, 40, NOW, &u), BLOCK_TOO_LARGE);
	ck_assert_uint_eq(ingest_coap_block_count(), 0);
	/* Exactly the limit is fine. */
	ck_assert_int_eq(put(&k, 0, 1, 'a', 16, 40, NOW, &u), BLOCK_MORE);
	ck_assert_int_eq(put(&k, 1, 1, 'b', 16, 40, NOW, &u), BLOCK_MORE);
	ck_assert_int_eq(put(&k, 2, 0, 'c', 8, 40, NOW, &u), BLOCK_DONE);
	ck_assert_uint_eq(strlen(body(u)), 40);
	ingest_coap_block_done(u, COAP_RESPONSE_CODE_CHANGED);
	ingest_coap_block_clear();
}
END_TEST

/* Two interleaved uploads under two Request-Tags stay two bodies. */
START_TEST(test_request_tag)
{
	coap_address_t		 a = peer(1, 5000), a2 = peer(1, 5001);
	struct block_key	 k1 = key(&a, "t1"), k2 = key(&a, "t2");
	struct block_key	 none = key(&a, NULL), empty = key(&a, "");
	struct block_key	 other = key(&a2, "t1");
	struct upload		*u1, *u2, *u;

	ingest_coap_block_clear();
	ck_assert_int_eq(put(&k1, 0, 1, 'a', 16, 1024, NOW, &u), BLOCK_MORE);
	ck_assert_int_eq(put(&k2, 0, 1, 'X', 16, 1024, NOW, &u), BLOCK_MORE);
	ck_assert_int_eq(put(&none, 0, 1, 'n', 16, 1024, NOW, &u), BLOCK_MORE);
	ck_assert_int_eq(put(&empty, 0, 1, 'e', 16, 1024, NOW, &u), BLOCK_MORE);
	ck_assert_int_eq(put(&other, 0, 1, 'o', 16, 1024, NOW, &u),
	    BLOCK_MORE);
	ck_assert_uint_eq(ingest_coap_block_count(), 5);
	ck_assert_int_eq(put(&k2, 1, 0, 'Y', 2, 1024, NOW, &u2), BLOCK_DONE);
	ck_assert_int_eq(put(&k1, 1, 0, 'b', 2, 1024, NOW, &u1), BLOCK_DONE);
	ck_assert_ptr_ne(u1, u2);
	ck_assert_str_eq(body(u1), "aaaaaaaaaaaaaaaabb");
	ck_assert_str_eq(body(u2), "XXXXXXXXXXXXXXXXYY");
	ingest_coap_block_done(u1, COAP_RESPONSE_CODE_CHANGED);
	ingest_coap_block_done(u2, COAP_RESPONSE_CODE_CHANGED);
	ck_assert_int_eq(put(&none, 1, 0, 'm', 1, 1024, NOW, &u), BLOCK_DONE);
	ck_assert_str_eq(body(u), "nnnnnnnnnnnnnnnnm");
	ingest_coap_block_done(u, COAP_RESPONSE_CODE_CHANGED);
	ck_assert_int_eq(put(&empty, 1, 0, 'f', 1, 1024, NOW, &u), BLOCK_DONE);
	ck_assert_str_eq(body(u), "eeeeeeeeeeeeeeeef");
	ingest_coap_block_done(u, COAP_RESPONSE_CODE_CHANGED);
	ck_assert_int_eq(put(&other, 1, 0, 'p', 1, 1024, NOW, &u), BLOCK_DONE);
	ck_assert_str_eq(body(u), "oooooooooooooooop");
	ingest_coap_block_done(u, COAP_RESPONSE_CODE_CHANGED);
	/* A block under a tag nobody started is not a body. */
	k1 = key(&a, "t3");
	ck_assert_int_eq(put(&k1, 1, 0, 'z', 1, 1024, NOW, &u),
	    BLOCK_INCOMPLETE);
	ingest_coap_block_clear();
}
END_TEST

/* The last block of a finished upload again: the same answer. */
START_TEST(test_finished_repeat)
{
	coap_address_t		 a = peer(1, 5000);
	struct block_key	 k = key(&a, "r");
	struct upload		*u;

	ingest_coap_block_clear();
	ck_assert_int_eq(put(&k, 0, 1, 'a', 16, 1024, NOW, &u), BLOCK_MORE);
	ck_assert_int_eq(put(&k, 1, 0, 'b', 4, 1024, NOW, &u), BLOCK_DONE);
	ingest_coap_block_done(u, COAP_RESPONSE_CODE_CHANGED);
	ck_assert_int_eq(put(&k, 1, 0, 'b', 4, 1024, NOW + 5, &u),
	    BLOCK_REPEAT);
	ck_assert_ptr_nonnull(u);
	ck_assert_int_eq(ingest_coap_block_code(u), COAP_RESPONSE_CODE_CHANGED);
	/* Not its last block, or a middle one: not a body. */
	ck_assert_int_eq(put(&k, 1, 1, 'b', 16, 1024, NOW, &u),
	    BLOCK_INCOMPLETE);
	ck_assert_int_eq(put(&k, 2, 0, 'c', 1, 1024, NOW, &u),
	    BLOCK_INCOMPLETE);
	/* A pending answer (store.sync = full) repeats as pending. */
	ck_assert_int_eq(put(&k, 0, 1, 'a', 16, 1024, NOW, &u), BLOCK_MORE);
	ck_assert_int_eq(put(&k, 1, 0, 'b', 4, 1024, NOW, &u), BLOCK_DONE);
	ingest_coap_block_done(u, 0);
	ck_assert_int_eq(put(&k, 1, 0, 'b', 4, 1024, NOW, &u), BLOCK_REPEAT);
	ck_assert_int_eq(ingest_coap_block_code(u), 0);
	/* The finished upload idles out like any other. */
	ingest_coap_block_check(NOW + BLOCK_IDLE_MS);
	ck_assert_int_eq(put(&k, 1, 0, 'b', 4, 1024, NOW, &u),
	    BLOCK_INCOMPLETE);
	ingest_coap_block_clear();
}
END_TEST

/* Uploads without blocks for BLOCK_IDLE_MS go. */
START_TEST(test_expiry)
{
	coap_address_t		 a = peer(1, 5000);
	struct block_key	 k = key(&a, NULL);
	struct upload		*u;

	ingest_coap_block_clear();
	ck_assert_int_eq(put(&k, 0, 1, 'a', 16, 1024, NOW, &u), BLOCK_MORE);
	ingest_coap_block_check(NOW + BLOCK_IDLE_MS - 1);
	ck_assert_uint_eq(ingest_coap_block_count(), 1);
	/* A block refreshes it. */
	ck_assert_int_eq(put(&k, 1, 1, 'b', 16, 1024, NOW + BLOCK_IDLE_MS - 1,
	    &u), BLOCK_MORE);
	ingest_coap_block_check(NOW + BLOCK_IDLE_MS);
	ck_assert_uint_eq(ingest_coap_block_count(), 1);
	ingest_coap_block_check(NOW + 2 * BLOCK_IDLE_MS - 1);
	ck_assert_uint_eq(ingest_coap_block_count(), 0);
	ck_assert_int_eq(put(&k, 2, 0, 'c', 1, 1024, NOW + 2 * BLOCK_IDLE_MS,
	    &u), BLOCK_INCOMPLETE);
	ingest_coap_block_clear();
}
END_TEST

/* Past BLOCK_PER_PEER or BLOCK_MAX a new upload is refused, not evicting. */
START_TEST(test_bounds)
{
	coap_address_t		 a[BLOCK_MAX + 1];
	struct block_key	 k[BLOCK_MAX + 1];
	struct upload		*u;
	int			 i;

	ingest_coap_block_clear();
	/* One host, many ports: BLOCK_PER_PEER, then refused. */
	for (i = 0; i < BLOCK_PER_PEER + 1; i++) {
		a[i] = peer(1, 6000 + i);
		k[i] = key(&a[i], NULL);
	}
	for (i = 0; i < BLOCK_PER_PEER; i++)
		ck_assert_int_eq(put(&k[i], 0, 1, 'a', 16, 1024, NOW, &u),
		    BLOCK_MORE);
	ck_assert_int_eq(put(&k[BLOCK_PER_PEER], 0, 1, 'a', 16, 1024, NOW,
	    &u), BLOCK_BUSY);
	/* The first upload was not evicted by the refused one. */
	ck_assert_int_eq(put(&k[0], 1, 0, 'b', 1, 1024, NOW, &u), BLOCK_DONE);
	ingest_coap_block_done(u, COAP_RESPONSE_CODE_CHANGED);
	/* A finished upload gives way to a new one of its host. */
	ck_assert_int_eq(put(&k[BLOCK_PER_PEER], 0, 1, 'a', 16, 1024, NOW,
	    &u), BLOCK_MORE);
	ck_assert_uint_eq(ingest_coap_block_count(), BLOCK_PER_PEER);
	/* Other hosts fill the table to BLOCK_MAX, then refused too. */
	for (i = 0; i < BLOCK_MAX - BLOCK_PER_PEER; i++) {
		a[i] = peer(2 + i, 7000);
		k[i] = key(&a[i], NULL);
		ck_assert_int_eq(put(&k[i], 0, 1, 'a', 16, 1024, NOW, &u),
		    BLOCK_MORE);
	}
	ck_assert_uint_eq(ingest_coap_block_count(), BLOCK_MAX);
	a[BLOCK_MAX] = peer(200, 7000);
	k[BLOCK_MAX] = key(&a[BLOCK_MAX], NULL);
	ck_assert_int_eq(put(&k[BLOCK_MAX], 0, 1, 'a', 16, 1024, NOW, &u),
	    BLOCK_BUSY);
	/* An idle one's slot is taken back when it is wanted. */
	ck_assert_int_eq(put(&k[BLOCK_MAX], 0, 1, 'a', 16, 1024,
	    NOW + BLOCK_IDLE_MS, &u), BLOCK_MORE);
	ingest_coap_block_clear();
	ck_assert_uint_eq(ingest_coap_block_count(), 0);
}
END_TEST

/* RFC 7959 lets a node use smaller blocks mid-upload (offsets must fit). */
START_TEST(test_szx_change)
{
	coap_address_t		 a = peer(1, 5000);
	struct block_key	 k = key(&a, NULL);
	struct upload		*u;
	coap_block_b_t		 b;
	uint8_t			 data[64];

	ingest_coap_block_clear();
	memset(data, 'q', sizeof data);
	memset(&b, 0, sizeof b);
	b.m = 1;
	b.szx = 2;		/* 64 bytes */
	ck_assert_int_eq(ingest_coap_block_put(&k, COAP_CF_JSON, &b, data, 64,
	    1024, NOW, &u), BLOCK_MORE);
	b.szx = 1;		/* 32 bytes: block 2 starts at 64 */
	b.num = 2;
	b.m = 0;
	ck_assert_int_eq(ingest_coap_block_put(&k, COAP_CF_JSON, &b, data, 5,
	    1024, NOW, &u), BLOCK_DONE);
	ck_assert_uint_eq(strlen(body(u)), 69);
	ingest_coap_block_done(u, COAP_RESPONSE_CODE_CHANGED);
	ingest_coap_block_clear();
}
END_TEST

/* Run the suite; the exit status tells whether all passed. */
int
main(void)
{
	struct testutil_case	 cases[] = {
		{ test_in_order, 0 },
		{ test_incomplete, 0 },
		{ test_too_large, 0 },
		{ test_request_tag, 0 },
		{ test_finished_repeat, 0 },
		{ test_expiry, 0 },
		{ test_bounds, 0 },
		{ test_szx_change, 0 },
	};

	return (testutil_run("coap_block", 0, cases,
	    sizeof cases / sizeof cases[0]));
}
