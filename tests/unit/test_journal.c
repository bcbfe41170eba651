/*
 * test_journal.c - unit tests of the store's journal (store_journal.c)
 * through the store API, against a temp directory.
 *
 * Crashes are real: a forked child puts readings and dies by SIGKILL
 * without store_stop(), telling the parent through a pipe which puts it
 * got STORE_OK for; the parent starts the store on the same directory and
 * checks, through a message hook and the message table, that every one of
 * them was applied exactly once, in put order.  Damage is done to the
 * segment files between the two (a torn last record, a flipped byte in
 * the middle), segments are reused before a crash (the rseq continuity
 * check), the journal is filled while SQLite cannot write (RLIMIT_FSIZE
 * above the segment size, below the WAL's), and store.sync = full holds
 * callbacks until an fdatasync.
 */
#include <sys/resource.h>
#include <sys/wait.h>

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "config.h"
#include "daemon.h"
#include "store.h"
#include "store_fixture.h"
#include "testutil.h"

#define NSEQ		4096
#define JNL_HDR		48		/* the journal's record header */

static int		 cb_order[NSEQ];
static uint64_t		 cb_syncs[NSEQ];
static int		 applied[NSEQ];	/* times the hook saw each seq */
static int64_t		 hook_last;	/* last seq the hook saw */
static int		 hook_out_of_order;
static int		 okseq[NSEQ];	/* the child got STORE_OK */
static int		 nok;

/* Make a temp dir and a config with the given [store] lines; reset counts. */
static void
setup_with(const char *store_lines)
{
	fx_config("jnl", store_lines);
	fx_ncb = nok = 0;
	hook_last = 0;
	hook_out_of_order = 0;
	memset(applied, 0, sizeof applied);
	memset(okseq, 0, sizeof okseq);
}

/*
 * Commit and wait until the commit is done: one due while a checkpoint
 * runs in the pool waits for it (bounded: 5 s; or SQLite refused).
 */
static void
flush_wait(void)
{
	struct store_stats	ss;
	uint64_t		before;
	int			i;

	store_stats(&ss);
	before = ss.commits;
	store_flush();
	for (i = 0; i < 5000 && store_accepting(); i++) {
		fx_turn();
		store_stats(&ss);
		if (ss.commits > before)
			return;
		usleep(1000);
	}
	ck_assert_int_eq(store_accepting(), 0);
}

/* Record a put's late result, its order and the syncs done by then. */
static void
done_cb(enum store_result r, void *arg)
{
	struct store_stats	ss;

	store_stats(&ss);
	cb_order[fx_ncb] = (int)(intptr_t)arg;
	cb_syncs[fx_ncb] = ss.syncs;
	fx_done_cb(r, arg);
}

/* Message hook: count each seq applied and check they come in order. */
static void
hook_cb(const struct store_msg *m, int64_t id, void *arg)
{
	(void)id;
	(void)arg;
	ck_assert(m->seq > 0 && m->seq < NSEQ);
	applied[m->seq]++;
	if (m->seq <= hook_last)
		hook_out_of_order++;
	hook_last = m->seq;
}

/*
 * The open transaction was rolled back: what the hook saw of it is undone
 * (it will see those readings again from the journal).  Seq n has rseq n
 * where this is used, so the committed journal position says what stays.
 */
static void
rollback_cb(void)
{
	int64_t	committed, seq;

	committed = fx_count_sql("SELECT coalesce((SELECT val FROM state WHERE "
	    "key = 'journal'), 0)");
	for (seq = committed + 1; seq < NSEQ; seq++)
		applied[seq] = 0;
	hook_last = committed;
}

/* Put reading seq of n1 (boot 1) with a body of len bytes. */
static enum store_result
put(int64_t seq, size_t len, store_done_cb cb, void *arg)
{
	static char		body[65536];
	struct store_msg	m;

	memset(body, 'a' + (int)(seq % 26), sizeof body);
	memset(&m, 0, sizeof m);
	m.node = "n1";
	m.boot = 1;
	m.seq = seq;
	m.kind = STORE_KIND_INFERENCE;
	m.rx_ms = daemon_now_ms();
	m.body = body;
	m.len = len;
	return (store_put_message(&m, cb, arg));
}

/*
 * The crash: a child starts the store, puts seqs [lo, hi] with bodies of
 * len bytes (committing after every flush_every puts, 0: never, and never
 * after the last), writes each seq answered STORE_OK to the pipe and is
 * killed.  The parent collects those seqs into okseq.
 */
static void
crash_child(int64_t lo, int64_t hi, size_t len, int flush_every)
{
	int64_t	seq;
	pid_t	pid;
	int	fd[2], status;
	ssize_t	n;

	ck_assert_int_eq(pipe(fd), 0);
	pid = fork();
	ck_assert_int_ne(pid, -1);
	if (pid == 0) {
		close(fd[0]);
		fx_start_fresh();
		fx_turn();
		for (seq = lo; seq <= hi; seq++) {
			if (put(seq, len, NULL, NULL) == STORE_OK &&
			    write(fd[1], &seq, sizeof seq) != sizeof seq)
				_exit(3);
			if (flush_every > 0 && seq < hi &&
			    (seq - lo + 1) % flush_every == 0)
				fx_flush();
		}
		raise(SIGKILL);
		_exit(4);
	}
	close(fd[1]);
	while ((n = read(fd[0], &seq, sizeof seq)) == sizeof seq) {
		ck_assert(seq > 0 && seq < NSEQ);
		okseq[seq] = 1;
		nok++;
	}
	close(fd[0]);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
}

/* Start after a crash with the hook in place, replay, commit. */
static void
start_replay(void)
{
	int	i;

	fx_start_fresh();
	store_add_message_hook(hook_cb, NULL);
	/* The replay may take several turns (chunks). */
	for (i = 0; i < 100 && !store_accepting(); i++)
		fx_turn();
	ck_assert_int_eq(store_accepting(), 1);
	fx_flush();
}

/* Every seq the child got OK for is in the table exactly once. */
static void
check_rows(int64_t extra)
{
	char	sql[128];
	int64_t	seq;

	ck_assert_int_eq(fx_count_sql("SELECT count(*) FROM msg"), nok + extra);
	ck_assert_int_eq(fx_count_sql("SELECT count(DISTINCT seq) FROM msg"),
	    nok + extra);
	for (seq = 1; seq < NSEQ; seq++) {
		if (!okseq[seq])
			continue;
		snprintf(sql, sizeof sql, "SELECT count(*) FROM msg WHERE "
		    "seq = %" PRId64, seq);
		ck_assert_msg(fx_count_sql(sql) == 1, "seq %" PRId64 " stored %"
		    PRId64 " times", seq, fx_count_sql(sql));
	}
}

/* Check the rows, take the hook away, stop the store and clean up. */
static void
check_and_end(void)
{
	check_rows(0);
	store_remove_message_hook(hook_cb);
	fx_stop();
	fx_teardown();
}

/* Where the record of rseq is: segment file path and offset; 0 if found. */
static int
find_record(uint64_t want, char *path, size_t pathsz, off_t *off,
    size_t *len)
{
	static uint8_t	 buf[1024 * 1024];
	uint64_t	 rseq, expect;
	size_t		 o, n, l;
	unsigned	 idx;
	int		 fd, i;

	for (idx = 0; idx < 100; idx++) {
		snprintf(path, pathsz, "%s/journal/seg.%03u", fx_dir, idx);
		if ((fd = open(path, O_RDONLY)) == -1)
			continue;
		n = (size_t)read(fd, buf, sizeof buf);
		close(fd);
		/* Records of the current use follow each other from 0. */
		for (o = 0, expect = 0; o + JNL_HDR <= n; o += l) {
			l = (size_t)buf[o + 4] | (size_t)buf[o + 5] << 8 |
			    (size_t)buf[o + 6] << 16 | (size_t)buf[o + 7] << 24;
			for (rseq = 0, i = 7; i >= 0; i--)
				rseq = rseq << 8 | buf[o + 8 + i];
			if (l < JNL_HDR || o + l > n || rseq == 0 ||
			    (expect != 0 && rseq != expect))
				break;
			if (rseq == want) {
				*off = (off_t)o;
				*len = l;
				return (0);
			}
			expect = rseq + 1;
		}
	}
	return (-1);
}

/* Overwrite bytes of a segment file (the damage a crash or a disk does). */
static void
damage(const char *path, off_t off, const void *bytes, size_t n)
{
	int	fd;

	ck_assert_int_ne(fd = open(path, O_WRONLY), -1);
	ck_assert_int_eq(pwrite(fd, bytes, n, off), (ssize_t)n);
	close(fd);
}

START_TEST(test_crash_replay)
{
	int64_t	seq;

	setup_with("commit_interval = 60s");
	/* 300 readings: 250 committed in five flushes, 50 journal only. */
	crash_child(1, 300, 100, 50);
	ck_assert_int_eq(nok, 300);
	ck_assert_int_eq(fx_count_sql("SELECT count(*) FROM msg"), 250);
	ck_assert_int_eq(fx_count_sql("SELECT val FROM state WHERE key = "
	    "'journal'"), 250);
	start_replay();
	/* The hooks saw the replayed ones, once each, in order. */
	for (seq = 1; seq <= 300; seq++)
		ck_assert_int_eq(applied[seq], seq > 250);
	ck_assert_int_eq(hook_out_of_order, 0);
	check_rows(0);
	ck_assert_int_eq(fx_count_sql("SELECT val FROM state WHERE key = "
	    "'journal'"), 300);
	/* Repeats of replayed readings are recognized; new ones go on. */
	ck_assert_int_eq(put(300, 100, NULL, NULL), STORE_DUPLICATE);
	ck_assert_int_eq(put(301, 100, NULL, NULL), STORE_OK);
	fx_flush();
	ck_assert_int_eq(fx_count_sql("SELECT count(*) FROM msg"), 301);
	store_remove_message_hook(hook_cb);
	fx_stop();
	/* A clean restart replays nothing. */
	start_replay();
	ck_assert_int_eq(applied[1], 0);
	ck_assert_int_eq(applied[301], 1);
	store_remove_message_hook(hook_cb);
	fx_stop();
	fx_teardown();
}
END_TEST

/* Crash after seqs 1..10, then damage record rseq 10 (the last) by mode. */
static void
torn_tail(int mode)
{
	char	path[256], zero[4096];
	off_t	off;
	size_t	len;
	uint8_t	b;

	setup_with("commit_interval = 60s");
	crash_child(1, 10, 200, 0);
	ck_assert_int_eq(nok, 10);
	ck_assert_int_eq(find_record(10, path, sizeof path, &off, &len), 0);
	if (mode == 0) {
		/* The second half of the write never reached the disk. */
		memset(zero, 0, sizeof zero);
		damage(path, off + (off_t)len / 2, zero, len - len / 2);
	} else {
		/* One byte of the body is wrong. */
		ck_assert_int_eq(find_record(10, path, sizeof path, &off,
		    &len), 0);
		b = 'Z';
		damage(path, off + (off_t)len - 3, &b, 1);
	}
	okseq[10] = 0;
	nok--;
	start_replay();
	ck_assert_int_eq(applied[10], 0);
	ck_assert_int_eq(hook_out_of_order, 0);
	check_rows(0);
	ck_assert_int_eq(fx_count_sql("SELECT count(*) FROM msg WHERE "
	    "seq = 10"), 0);
	/* Reading 10 was never held: sent again, it is new, not a repeat. */
	ck_assert_int_eq(put(10, 200, NULL, NULL), STORE_OK);
	ck_assert_int_eq(put(9, 200, NULL, NULL), STORE_DUPLICATE);
	fx_flush();
	ck_assert_int_eq(fx_count_sql("SELECT count(*) FROM msg WHERE "
	    "seq = 10"), 1);
	store_remove_message_hook(hook_cb);
	fx_stop();
	/* The rseq of the torn record was handed out again: still fine. */
	start_replay();
	ck_assert_int_eq(applied[10], 1);
	store_remove_message_hook(hook_cb);
	fx_stop();
	ck_assert_int_eq(fx_count_sql("SELECT count(*) FROM msg"), 10);
	fx_teardown();
}

START_TEST(test_torn_tail)
{
	torn_tail(0);
}
END_TEST

START_TEST(test_flipped_tail)
{
	torn_tail(1);
}
END_TEST

/*
 * Readings put after a crash, before the first loop turn replays the
 * journal, are journaled at once (into the empty segment, which comes
 * first in the journal's array) and applied after the older records: the
 * replay goes by rseq, not by the segments' places.
 */
START_TEST(test_put_before_replay)
{
	int64_t	seq;
	int	i;

	setup_with("commit_interval = 60s");
	crash_child(1, 10, 100, 0);
	ck_assert_int_eq(nok, 10);
	fx_start_fresh();
	store_add_message_hook(hook_cb, NULL);
	ck_assert_int_eq(store_accepting(), 0);
	ck_assert_int_eq(put(11, 100, NULL, NULL), STORE_OK);
	ck_assert_int_eq(put(5, 100, NULL, NULL), STORE_DUPLICATE);
	okseq[11] = 1;
	nok++;
	for (i = 0; i < 100 && !store_accepting(); i++)
		fx_turn();
	ck_assert_int_eq(store_accepting(), 1);
	fx_flush();
	for (seq = 1; seq <= 11; seq++)
		ck_assert_msg(applied[seq] == 1, "seq %" PRId64 " applied %d "
		    "times", seq, applied[seq]);
	ck_assert_int_eq(hook_out_of_order, 0);
	check_and_end();
}
END_TEST

/*
 * A flipped byte in a middle record: a segment is read only while its
 * records check out, so that record and every later one of its segment
 * are dropped (a gap, never a reading out of order or half read); the
 * next segment, whose records follow on, is still applied after them.
 */
START_TEST(test_flipped_middle)
{
	char	path[256], path2[256];
	off_t	off;
	size_t	len;
	int64_t	seq, last_a;
	uint8_t	b;

	setup_with("commit_interval = 60s");
	/* 3000-byte bodies: 85 records fill a 256 KB segment. */
	crash_child(1, 120, 3000, 0);
	ck_assert_int_eq(nok, 120);
	/* Seq n has rseq n here; find the end of the first segment. */
	ck_assert_int_eq(find_record(1, path, sizeof path, &off, &len), 0);
	for (last_a = 1; find_record((uint64_t)last_a + 1, path2,
	    sizeof path2, &off, &len) == 0 && strcmp(path, path2) == 0;
	    last_a++)
		;
	ck_assert_int_gt(last_a, 40);
	ck_assert_int_lt(last_a, 120);
	ck_assert_int_eq(find_record(40, path2, sizeof path2, &off, &len), 0);
	b = 0xff;
	damage(path2, off + JNL_HDR + 10, &b, 1);
	start_replay();
	ck_assert_int_eq(hook_out_of_order, 0);
	for (seq = 1; seq <= 120; seq++) {
		ck_assert_msg(applied[seq] == (seq < 40 || seq > last_a),
		    "seq %" PRId64 " applied %d times", seq, applied[seq]);
		okseq[seq] = seq < 40 || seq > last_a;
	}
	nok = (int)(39 + 120 - last_a);
	check_rows(0);
	/* New readings get rseqs after every record on disk. */
	ck_assert_int_eq(put(121, 3000, NULL, NULL), STORE_OK);
	fx_flush();
	store_remove_message_hook(hook_cb);
	fx_stop();
	start_replay();
	ck_assert_int_eq(applied[121], 1);
	store_remove_message_hook(hook_cb);
	fx_stop();
	ck_assert_int_eq(fx_count_sql("SELECT count(*) FROM msg"), nok + 1);
	fx_teardown();
}
END_TEST

/*
 * Segments released and reused: records of the same size, so after the
 * current use's last record an earlier use's records sit whole, with good
 * CRCs, at the next offsets.  Only the rseq continuity check tells them
 * apart; two crashes in a row must still lose and repeat nothing.
 */
START_TEST(test_segment_reuse)
{
	struct store_stats	ss;
	int64_t			seq;

	setup_with("commit_interval = 60s");
	/* 2000-byte bodies: 127 records a segment; a commit every 50. */
	crash_child(1, 640, 2000, 50);
	ck_assert_int_eq(nok, 640);
	ck_assert_int_eq(fx_count_sql("SELECT val FROM state WHERE key = "
	    "'journal'"), 600);
	/* A second child replays, adds 40 more, and is killed too. */
	crash_child(641, 680, 2000, 0);
	ck_assert_int_eq(nok, 680);
	ck_assert_int_eq(fx_count_sql("SELECT count(*) FROM msg"), 640);
	start_replay();
	for (seq = 1; seq <= 680; seq++)
		ck_assert_msg(applied[seq] == (seq > 640), "seq %" PRId64
		    " applied %d times", seq, applied[seq]);
	ck_assert_int_eq(hook_out_of_order, 0);
	check_rows(0);
	/* 680 records of 2052 bytes (5.3 segments) took at most 4: reused. */
	store_stats(&ss);
	ck_assert_uint_le(ss.journal_segments, 4);
	store_remove_message_hook(hook_cb);
	fx_stop();
	fx_teardown();
}
END_TEST

/*
 * 400 readings of 3000 bytes (seqs 1..400), committed every 20 and
 * summarized at once (raw_retention = 0 keeps the table small): the
 * journal's segments are released and reused.  Returns the last seq.
 */
static int64_t
cycle_segments(void)
{
	int64_t	seq = 0;
	int	i;

	for (i = 0; i < 400; i++) {
		ck_assert_int_eq(put(++seq, 3000, NULL, NULL), STORE_OK);
		okseq[seq] = 1;
		nok++;
		if (seq % 20 == 0) {
			flush_wait();
			/* Summarized at once: the table stays small. */
			ck_assert_int_eq(store_msg_consume(store_msg_cursor() +
			    20), 0);
		}
		if (seq % 40 == 0) {
			store_check(0);
			usleep(2000);
			fx_turn();
		}
	}
	return (seq);
}

/*
 * The journal fills while SQLite cannot write: RLIMIT_FSIZE at the
 * segment size (256 KB) lets the journal write but fails the WAL, which
 * passes it before its 64-page checkpoint (max_bytes = 1M).  Segments were
 * reused before, so their order in the journal is not their rseq order.
 * Readings are answered OK until the journal's four segments are full,
 * then REFUSED; with room again every OK reading reaches the hooks once,
 * in order.
 */
/*
 * Put reading seq while the store accepts.  A refusal while it still
 * accepts is the journal waiting for the pool (a spare segment, or the
 * checkpoint a commit waits for) and is what a node gets a 5.03 with
 * Max-Age for: retry it, as the node would, for up to 5 s.
 */
static enum store_result
put_while_accepting(int64_t seq)
{
	enum store_result	r;
	int			i;

	for (i = 0; i < 500; i++) {
		if ((r = put(seq, 3000, NULL, NULL)) != STORE_REFUSED ||
		    !store_accepting())
			return (r);
		usleep(10000);
		fx_turn();
	}
	return (r);
}

START_TEST(test_journal_full)
{
	struct store_stats	ss;
	struct rlimit		rl, old;
	int64_t			seq = 0, refused_seq = 0;
	enum store_result	r;
	int			i;

	setup_with("commit_interval = 60s\nmax_bytes = 1M\n"
	    "raw_retention = 0");
	fx_start_fresh();
	store_add_message_hook(hook_cb, NULL);
	store_add_rollback(rollback_cb);
	seq = cycle_segments();
	fx_flush();
	signal(SIGXFSZ, SIG_IGN);
	getrlimit(RLIMIT_FSIZE, &old);
	rl = old;
	rl.rlim_cur = 256 * 1024;
	ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &rl), 0);
	/*
	 * SQLite fails within 64 WAL pages; the journal takes the readings
	 * still (a commit may wait for a checkpoint in the pool: bounded).
	 */
	for (i = 0; i < 200 && store_accepting(); i++) {
		if ((r = put_while_accepting(++seq)) == STORE_REFUSED)
			break;		/* SQLite's failure came meanwhile */
		ck_assert_int_eq(r, STORE_OK);
		okseq[seq] = 1;
		nok++;
		if (seq % 10 == 0)
			flush_wait();
	}
	ck_assert_int_eq(store_accepting(), 0);
	/* Four segments of 85 records at most: full within 400 more. */
	for (i = 0; i < 400; i++) {
		r = put(++seq, 3000, NULL, NULL);
		if (r == STORE_REFUSED) {
			refused_seq = seq;
			break;
		}
		ck_assert_int_eq(r, STORE_OK);
		okseq[seq] = 1;
		nok++;
		/* Spare segments are made in the pool. */
		usleep(1000);
		fx_turn();
	}
	ck_assert_int_ne(refused_seq, 0);
	store_stats(&ss);
	ck_assert_uint_eq(ss.journal_segments, 4);
	ck_assert_int_eq(ss.refusing, 1);
	ck_assert_uint_ge(ss.refused, 1);
	ck_assert_uint_eq(ss.journal_busy, ss.journal_segments);
	/* Refused again: it is not held. */
	ck_assert_int_eq(put(refused_seq, 3000, NULL, NULL), STORE_REFUSED);
	ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &old), 0);
	fx_wait_accepting();
	/* The replay's commit may wait for a checkpoint: then room comes. */
	for (i = 0; i < 5000; i++) {
		store_stats(&ss);
		if (ss.journal_busy < ss.journal_segments)
			break;
		usleep(1000);
		fx_turn();
	}
	ck_assert_uint_lt(ss.journal_busy, ss.journal_segments);
	ck_assert_int_eq(put(refused_seq, 3000, NULL, NULL), STORE_OK);
	okseq[refused_seq] = 1;
	nok++;
	/* It may wait in the journal while a checkpoint runs (bounded). */
	for (i = 0; i < 5000 && applied[refused_seq] == 0; i++) {
		fx_flush();
		usleep(1000);
		fx_turn();
	}
	ck_assert_int_eq(hook_out_of_order, 0);
	for (i = 1; i <= refused_seq; i++)
		ck_assert_msg(applied[i] == okseq[i], "seq %d applied %d "
		    "times", i, applied[i]);
	store_stats(&ss);
	ck_assert_int_eq(ss.refusing, 0);
	store_remove_message_hook(hook_cb);
	fx_stop();
	fx_teardown();
}
END_TEST

/* Run the loop until n callbacks came (bounded: 10 s). */
static void
wait_cbs(int n)
{
	int	i;

	for (i = 0; i < 1000 && fx_ncb < n; i++) {
		uv_run(daemon_loop(), UV_RUN_ONCE);
		if (fx_ncb < n)
			usleep(10000);
	}
	ck_assert_int_eq(fx_ncb, n);
}

/*
 * store.sync = full: a put with a callback is STORE_WAIT, its callback
 * runs after the fdatasync that covers it (grouped), in put order; a
 * repeat of a reading not yet synced waits for the same sync.
 */
START_TEST(test_sync_full)
{
	struct store_stats	ss;
	int			i;

	setup_with("commit_interval = 60s\nsync = full");
	fx_start_fresh();
	ck_assert_int_eq(store_sync_full(), 1);
	ck_assert_int_eq(put(1, 100, done_cb, (void *)1), STORE_WAIT);
	ck_assert_int_eq(put(1, 100, done_cb, (void *)2), STORE_WAIT);
	ck_assert_int_eq(fx_ncb, 0);
	store_stats(&ss);
	ck_assert_uint_eq(ss.syncs, 0);
	wait_cbs(2);
	ck_assert_int_eq(fx_results[0], STORE_OK);
	ck_assert_int_eq(cb_order[0], 1);
	ck_assert_uint_ge(cb_syncs[0], 1);
	ck_assert_int_eq(fx_results[1], STORE_DUPLICATE);
	ck_assert_int_eq(cb_order[1], 2);
	ck_assert_uint_ge(cb_syncs[1], 1);
	/* Synced already: a repeat is answered at once. */
	ck_assert_int_eq(put(1, 100, done_cb, (void *)3), STORE_DUPLICATE);
	/* Without a callback the put is answered at once too. */
	ck_assert_int_eq(put(2, 100, NULL, NULL), STORE_OK);
	/* 50 readings: a few grouped syncs, callbacks in put order. */
	fx_ncb = 0;
	store_stats(&ss);
	for (i = 0; i < 50; i++)
		ck_assert_int_eq(put(10 + i, 100, done_cb, (void *)(intptr_t)
		    (10 + i)), STORE_WAIT);
	ck_assert_int_eq(fx_ncb, 0);
	wait_cbs(50);
	for (i = 0; i < 50; i++) {
		ck_assert_int_eq(fx_results[i], STORE_OK);
		ck_assert_int_eq(cb_order[i], 10 + i);
		ck_assert_uint_gt(cb_syncs[i], ss.syncs);
	}
	ck_assert_uint_le(cb_syncs[49] - ss.syncs, 3);
	store_stats(&ss);
	ck_assert_uint_gt(ss.sync_us, 0);
	fx_flush();
	ck_assert_int_eq(fx_count_sql("SELECT count(*) FROM msg"), 52);
	fx_stop();
	fx_teardown();
}
END_TEST

START_TEST(test_lost_dir)
{
	char	cmd[256];

	setup_with("commit_interval = 60s");
	fx_start_fresh();
	put(1, 100, NULL, NULL); put(2, 100, NULL, NULL);
	put(3, 100, NULL, NULL); put(4, 100, NULL, NULL);
	put(5, 100, NULL, NULL);
	fx_stop();
	okseq[1]=okseq[2]=okseq[3]=okseq[4]=okseq[5]=1; nok = 5;
	snprintf(cmd, sizeof cmd, "rm -rf %s/journal", fx_dir);
	ck_assert_int_eq(system(cmd), 0);
	crash_child(6, 8, 100, 0);
	start_replay();
	check_and_end();
}
END_TEST

START_TEST(test_busy)
{
	char	 path[128];
	sqlite3	*db;
	pid_t	 pid;
	int	 st;

	setup_with("commit_interval = 60s");
	pid = fork();
	if (pid == 0) {
		fx_start_fresh();
		fx_turn();
		snprintf(path, sizeof path, "%s/tinyedge.db", fx_dir);
		sqlite3_open(path, &db);
		sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
		if (put(1, 100, NULL, NULL) != STORE_OK) _exit(5);
		sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
		sqlite3_close(db);
		if (put(2, 100, NULL, NULL) != STORE_OK) _exit(6);
		store_flush();
		raise(SIGKILL);
	}
	waitpid(pid, &st, 0);
	ck_assert(WIFSIGNALED(st));
	okseq[1] = okseq[2] = 1; nok = 2;
	start_replay();
	check_and_end();
}
END_TEST

/* Run the suite; exit status tells whether all passed. */
int
main(void)
{
	struct testutil_case	 cases[] = {
		{ test_lost_dir, 0 },
		{ test_busy, 0 },
		{ test_crash_replay, 0 },
		{ test_torn_tail, 0 },
		{ test_flipped_tail, 0 },
		{ test_put_before_replay, 0 },
		{ test_flipped_middle, 0 },
		{ test_segment_reuse, 0 },
		{ test_journal_full, 0 },
		{ test_sync_full, 0 },
	};

	return (testutil_run("journal", 90, cases,
	    sizeof cases / sizeof cases[0]));
}
