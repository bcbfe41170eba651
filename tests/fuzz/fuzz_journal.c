/*
 * fuzz_journal.c - libFuzzer target for the two things the store reads
 * back from disk that no one checked when they were written: a journal
 * segment (store_journal.c) and the dedup snapshot blob (store_dedup.c).
 * The first byte picks which.  A segment is written as seg.000 of a
 * journal directory and opened and replayed: every record handed out must
 * be whole (node and body inside the segment) and follow the one before.
 * A snapshot is loaded; whatever was loaded must save and load again.
 * Nothing may crash or leak.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "store.h"
#include "store_int.h"

#define SEG_SIZE	(256 * 1024)	/* the journal's smallest segment */

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static char	fz_dir[64];
static uint64_t	fz_last;

/* Make the journal directory once; quiet the store's log lines. */
static void
fz_init(void)
{
	if (fz_dir[0] != '\0')
		return;
	log_set_level(LOG_LEVEL_ERROR);
	snprintf(fz_dir, sizeof fz_dir, "/tmp/fuzz-journal.XXXXXX");
	if (mkdtemp(fz_dir) == NULL)
		abort();
}

/*
 * A replayed record: its node and body are read through (a sanitizer
 * sees a record that reaches past its buffer), its rseq follows the one
 * before.
 */
static void
fz_record(const struct store_msg *m, uint64_t rseq, void *arg)
{
	const uint8_t	*body = m->body;
	size_t		 i;
	unsigned	*sum = arg;

	if (strlen(m->node) > 255 || m->len > SEG_SIZE)
		abort();
	for (i = 0; i < m->len; i++)
		*sum += body[i];
	if (fz_last != 0 && rseq != fz_last + 1)
		abort();
	fz_last = rseq;
}

/* Write data as segment 0, then open and replay the journal. */
static void
fz_segment(const uint8_t *data, size_t size)
{
	static uint8_t	 seg[SEG_SIZE];
	char		 path[128], *cause = NULL;
	unsigned	 sum = 0;
	int		 fd;

	memset(seg, 0, sizeof seg);
	memcpy(seg, data, size < SEG_SIZE ? size : SEG_SIZE);
	snprintf(path, sizeof path, "%s/seg.000", fz_dir);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600)) == -1 ||
	    write(fd, seg, sizeof seg) != (ssize_t)sizeof seg)
		abort();
	close(fd);
	if (store_journal_open(fz_dir, SEG_SIZE, 4 * SEG_SIZE, 0, &cause) != 0)
		abort();
	fz_last = 0;
	store_journal_replay(0, fz_record, &sum);
	if (fz_last != 0 && store_journal_last() < fz_last)
		abort();
	store_journal_close();
}

/* Load a snapshot; what it gave must survive a save and a load. */
static void
fz_dedup(const uint8_t *data, size_t size)
{
	uint8_t	*blob, *blob2;
	size_t	 len, len2;

	store_dedup_clear();
	(void)store_dedup_load(data, size);
	len = store_dedup_save(&blob);
	store_dedup_clear();
	if (store_dedup_load(blob, len) != 0)
		abort();
	len2 = store_dedup_save(&blob2);
	if (len2 != len)
		abort();
	free(blob);
	free(blob2);
	store_dedup_clear();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return (0);
	fz_init();
	if (data[0] & 1)
		fz_segment(data + 1, size - 1);
	else
		fz_dedup(data + 1, size - 1);
	return (0);
}
