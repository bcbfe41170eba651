/*
 * store_hook.c - whom the store tells, and when: the stages' message hooks
 * (each newly stored message, inside its transaction), their pre-commit
 * and rollback callbacks, and the put and outbox callbacks waiting for the
 * commit of their transaction (store_pend()).
 *
 * store.c decides when: it runs the hooks after inserting a message, the
 * pre-commit callback before COMMIT, and the waiting callbacks after it
 * (with their results) or after a rollback (with STORE_REFUSED, the stages
 * told first so they rebuild what they derived: every stage that keeps
 * such state has a rollback callback of its own).  A callback may put
 * again, so the waiting ones are handed over as a detached array.
 */
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "store.h"
#include "store_int.h"
#include "xmalloc.h"

#define STORE_MAX_HOOKS		4
#define STORE_MAX_ROLLBACKS	4

/* A callback waiting for the commit of its transaction. */
struct store_pending {
	store_done_cb		 cb;
	void			*arg;
	enum store_result	 result;
};

static struct {
	store_msg_hook		 hook[STORE_MAX_HOOKS];
	void			*hook_arg[STORE_MAX_HOOKS];
	size_t			 nhooks;
	store_rollback_cb	 rollbacks[STORE_MAX_ROLLBACKS];
	size_t			 nrollbacks;
	store_precommit_cb	 precommit;
	struct store_pending	*pend;
	size_t			 npend, szpend;
} store_hooks;

/* Call fn for every newly stored message, inside its transaction. */
void
store_add_message_hook(store_msg_hook fn, void *arg)
{
	if (store_hooks.nhooks == STORE_MAX_HOOKS)
		fatalx("store: too many message hooks");
	store_hooks.hook[store_hooks.nhooks] = fn;
	store_hooks.hook_arg[store_hooks.nhooks++] = arg;
}

/* Stop calling fn. */
void
store_remove_message_hook(store_msg_hook fn)
{
	size_t	i, n;

	for (i = 0; i < store_hooks.nhooks; i++) {
		if (store_hooks.hook[i] != fn)
			continue;
		n = --store_hooks.nhooks - i;
		memmove(&store_hooks.hook[i], &store_hooks.hook[i + 1], n *
		    sizeof store_hooks.hook[0]);
		memmove(&store_hooks.hook_arg[i], &store_hooks.hook_arg[i + 1],
		    n * sizeof store_hooks.hook_arg[0]);
		return;
	}
}

/* Call fn inside each transaction just before it commits. */
void
store_set_precommit(store_precommit_cb fn)
{
	store_hooks.precommit = fn;
}

/*
 * Tell fn (once per rollback, in the order added) when a transaction's
 * writes are undone: a stage with state derived from messages rebuilds it.
 */
void
store_add_rollback(store_rollback_cb fn)
{
	if (store_hooks.nrollbacks == STORE_MAX_ROLLBACKS)
		fatalx("store: too many rollback callbacks");
	store_hooks.rollbacks[store_hooks.nrollbacks++] = fn;
}

/* Stop telling fn. */
void
store_remove_rollback(store_rollback_cb fn)
{
	size_t	i;

	for (i = 0; i < store_hooks.nrollbacks; i++) {
		if (store_hooks.rollbacks[i] != fn)
			continue;
		memmove(&store_hooks.rollbacks[i], &store_hooks.rollbacks[i + 1],
		    (--store_hooks.nrollbacks - i) *
		    sizeof store_hooks.rollbacks[0]);
		return;
	}
}

/*
 * Hand message m, stored as id, to the hooks, as long as its transaction
 * stays open (a hook's failed write rolls it back).
 */
void
store_hook_message(const struct store_msg *m, int64_t id)
{
	size_t	i;

	for (i = 0; i < store_hooks.nhooks && store_txn_open(); i++)
		store_hooks.hook[i](m, id, store_hooks.hook_arg[i]);
}

/* The stages' last writes of the transaction, just before COMMIT. */
void
store_hook_precommit(void)
{
	if (store_hooks.precommit != NULL)
		store_hooks.precommit();
}

/* The transaction was rolled back: stages rebuild what they derived. */
void
store_hook_rollback(void)
{
	size_t	i;

	for (i = 0; i < store_hooks.nrollbacks; i++)
		store_hooks.rollbacks[i]();
}

/* Remember a callback to run after the commit. */
void
store_pend(store_done_cb cb, void *arg, enum store_result r)
{
	if (cb == NULL)
		return;
	if (store_hooks.npend == store_hooks.szpend) {
		store_hooks.szpend = store_hooks.szpend ?
		    store_hooks.szpend * 2 : 64;
		store_hooks.pend = xreallocarray(store_hooks.pend,
		    store_hooks.szpend, sizeof *store_hooks.pend);
	}
	store_hooks.pend[store_hooks.npend].cb = cb;
	store_hooks.pend[store_hooks.npend].arg = arg;
	store_hooks.pend[store_hooks.npend].result = r;
	store_hooks.npend++;
}

/*
 * The transaction ended: run its waiting callbacks in put order, with
 * their results if it committed, else with STORE_REFUSED.
 */
void
store_hook_pending(int committed)
{
	struct store_pending	*p = store_hooks.pend;
	size_t			 i, n = store_hooks.npend;

	/* Callbacks may put again: hand them a detached array. */
	store_hooks.pend = NULL;
	store_hooks.npend = store_hooks.szpend = 0;
	for (i = 0; i < n; i++)
		p[i].cb(committed ? p[i].result : STORE_REFUSED, p[i].arg);
	free(p);
}

/* The store stops: forget every hook and waiting callback. */
void
store_hook_clear(void)
{
	free(store_hooks.pend);
	memset(&store_hooks, 0, sizeof store_hooks);
}
