/* qemu-insn.c - a qemu-user TCG plugin that counts guest instructions.
 *
 * Debian 12 ships qemu-user 7.2 built with plugin support but neither
 * qemu's contrib plugins nor its plugin header, so the few entry points
 * this plugin uses are declared here from the documented API of plugin
 * version 1 (the one qemu 7.2 implements).  At translation each block gets
 * an inline "add n" to one counter, n its instruction count, so every
 * executed block adds its length: the count is exact for blocks that run
 * to their end (a fault or syscall in the middle of a block is rare and
 * the same for the builds compared).  The total is written to stderr at
 * exit as "insns N".  Build: gcc -shared -fPIC -O2 -o qemu-insn.so
 * qemu-insn.c; run: qemu-aarch64 -plugin ./qemu-insn.so PROGRAM.
 */
#include <stdint.h>
#include <stdio.h>
#include <stddef.h>

#define EXPORT __attribute__((visibility("default")))

typedef uint64_t qemu_plugin_id_t;
struct qemu_plugin_tb;
struct qemu_info;

/* Entry points of the qemu executable (plugin API version 1). */
void qemu_plugin_register_vcpu_tb_trans_cb(qemu_plugin_id_t,
    void (*)(qemu_plugin_id_t, struct qemu_plugin_tb *));
void qemu_plugin_register_vcpu_tb_exec_inline(struct qemu_plugin_tb *,
    int, void *, uint64_t);
size_t qemu_plugin_tb_n_insns(const struct qemu_plugin_tb *);
void qemu_plugin_register_atexit_cb(qemu_plugin_id_t,
    void (*)(qemu_plugin_id_t, void *), void *);

EXPORT int qemu_plugin_version = 1;
EXPORT int qemu_plugin_install(qemu_plugin_id_t, const struct qemu_info *,
    int, char **);

/* The inline add operation (QEMU_PLUGIN_INLINE_ADD_U64). */
#define INLINE_ADD_U64 0

static uint64_t insns;

/* At translation: add the block's length to the counter at each run. */
static void
on_trans(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
	(void)id;
	qemu_plugin_register_vcpu_tb_exec_inline(tb, INLINE_ADD_U64, &insns,
	    qemu_plugin_tb_n_insns(tb));
}

/* At exit: print the total. */
static void
on_exit_cb(qemu_plugin_id_t id, void *p)
{
	(void)id;
	(void)p;
	fprintf(stderr, "insns %llu\n", (unsigned long long)insns);
}

/* Plugin entry: register the two callbacks. */
int
qemu_plugin_install(qemu_plugin_id_t id, const struct qemu_info *info,
    int argc, char **argv)
{
	(void)info;
	(void)argc;
	(void)argv;
	qemu_plugin_register_vcpu_tb_trans_cb(id, on_trans);
	qemu_plugin_register_atexit_cb(id, on_exit_cb, NULL);
	return 0;
}
