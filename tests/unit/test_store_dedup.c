/*
 * test_store_dedup.c - unit tests of the store's table of held readings
 * (store_dedup.c) alone: a table of malformed snapshot blobs, each refused
 * (the store then reads the rows back instead), a good one loaded; seq
 * ranges merging, the previous boot kept and the one before forgotten,
 * past 64 ranges the lowest seqs forgotten; a saved table loads back.
 */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>

#include "store.h"
#include "store_int.h"
#include "store_fixture.h"
#include "testutil.h"

/* A dedup snapshot blob and whether store_dedup_load() must take it. */
static const struct {
	const char	*what;
	size_t		 len;
	const char	*blob;
	int		 ok;
} dedup_blobs[] = {
	{ "empty", 0, "", 0 },
	{ "count cut short", 3, "\x01\x00\x00", 0 },
	{ "no entries", 4, "\x00\x00\x00\x00", 1 },
	{ "entry missing", 4, "\x01\x00\x00\x00", 0 },
	{ "node length 0", 5, "\x01\x00\x00\x00\x00", 0 },
	{ "node cut short", 7, "\x01\x00\x00\x00\x03n1", 0 },
	{ "NUL in node", 22, "\x01\x00\x00\x00\x02n\x00\x01"
	    "\x00\x00\x00\x00\x00" "\x01\x00\x00\x00\x00"
	    "\x00\x00\x00\x00\x00", 0 },
	{ "boots missing", 8, "\x01\x00\x00\x00\x02n1\x01", 0 },
	{ "65 ranges", 18, "\x01\x00\x00\x00\x02n1\x01"
	    "\x00\x00\x00\x00\x00" "\x01\x00\x00\x00\x41", 0 },
	{ "range cut short", 22, "\x01\x00\x00\x00\x02n1\x01"
	    "\x00\x00\x00\x00\x00" "\x01\x00\x00\x00\x01"
	    "\x05\x00\x00\x00", 0 },
	{ "hi below lo", 26, "\x01\x00\x00\x00\x02n1\x01"
	    "\x00\x00\x00\x00\x00" "\x01\x00\x00\x00\x01"
	    "\x05\x00\x00\x00\x04\x00\x00\x00", 0 },
	{ "n1 boot 1 seqs 5..9", 26, "\x01\x00\x00\x00\x02n1\x01"
	    "\x00\x00\x00\x00\x00" "\x01\x00\x00\x00\x01"
	    "\x05\x00\x00\x00\x09\x00\x00\x00", 1 },
};

/*
 * The dedup table alone: malformed snapshots refused (the store then
 * reads the rows back), a good one loaded; ranges merge, the previous boot
 * is kept, past 64 ranges the lowest seqs are forgotten.
 */
START_TEST(test_dedup_table)
{
	uint8_t	*blob;
	size_t	 i, len;
	int64_t	 seq;

	for (i = 0; i < sizeof dedup_blobs / sizeof dedup_blobs[0]; i++) {
		store_dedup_clear();
		ck_assert_msg((store_dedup_load(dedup_blobs[i].blob,
		    dedup_blobs[i].len) == 0) == dedup_blobs[i].ok, "%s",
		    dedup_blobs[i].what);
	}
	ck_assert(store_dedup_seen("n1", STORE_KIND_INFERENCE, 1, 5));
	ck_assert(store_dedup_seen("n1", STORE_KIND_INFERENCE, 1, 9));
	ck_assert(!store_dedup_seen("n1", STORE_KIND_INFERENCE, 1, 10));
	ck_assert(!store_dedup_seen("n1", STORE_KIND_INFERENCE, 1, 4));
	ck_assert(!store_dedup_seen("n1", STORE_KIND_WINDOW, 1, 5));
	/* 10 joins 5..9; boot 2 makes boot 1 the previous one. */
	store_dedup_add("n1", STORE_KIND_INFERENCE, 1, 10);
	store_dedup_add("n1", STORE_KIND_INFERENCE, 2, 1);
	ck_assert(store_dedup_seen("n1", STORE_KIND_INFERENCE, 1, 10));
	ck_assert(store_dedup_seen("n1", STORE_KIND_INFERENCE, 2, 1));
	/* Boot 3: boot 1 is forgotten, boot 2 kept. */
	store_dedup_add("n1", STORE_KIND_INFERENCE, 3, 1);
	ck_assert(!store_dedup_seen("n1", STORE_KIND_INFERENCE, 1, 5));
	ck_assert(store_dedup_seen("n1", STORE_KIND_INFERENCE, 2, 1));
	/* 64 more separate seqs of boot 3 (65 ranges): the lowest goes. */
	for (seq = 3; seq <= 129; seq += 2)
		store_dedup_add("n1", STORE_KIND_INFERENCE, 3, seq);
	ck_assert(!store_dedup_seen("n1", STORE_KIND_INFERENCE, 3, 1));
	ck_assert(store_dedup_seen("n1", STORE_KIND_INFERENCE, 3, 3));
	ck_assert(store_dedup_seen("n1", STORE_KIND_INFERENCE, 3, 129));
	ck_assert(!store_dedup_seen("n1", STORE_KIND_INFERENCE, 3, 4));
	/* Filling the gaps merges them into one range. */
	for (seq = 2; seq <= 128; seq += 2)
		store_dedup_add("n1", STORE_KIND_INFERENCE, 3, seq);
	store_dedup_add("n1", STORE_KIND_INFERENCE, 3, 1);
	for (seq = 1; seq <= 129; seq++)
		ck_assert(store_dedup_seen("n1", STORE_KIND_INFERENCE, 3, seq));
	ck_assert(!store_dedup_seen("n1", STORE_KIND_INFERENCE, 3, 130));
	/* What was saved loads back the same. */
	len = store_dedup_save(&blob);
	store_dedup_clear();
	ck_assert(!store_dedup_seen("n1", STORE_KIND_INFERENCE, 3, 7));
	ck_assert_int_eq(store_dedup_load(blob, len), 0);
	free(blob);
	ck_assert(store_dedup_seen("n1", STORE_KIND_INFERENCE, 3, 7));
	ck_assert(store_dedup_seen("n1", STORE_KIND_INFERENCE, 2, 1));
	ck_assert(!store_dedup_seen("n1", STORE_KIND_INFERENCE, 3, 136));
	store_dedup_clear();
}
END_TEST

/* Run the suite; exit status tells whether all passed. */
int
main(void)
{
	struct testutil_case	 cases[] = {
		{ test_dedup_table, 0 },
	};

	return (testutil_run("store_dedup", 0, cases,
	    sizeof cases / sizeof cases[0]));
}
