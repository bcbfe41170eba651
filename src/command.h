/*
 * command.h - commands from the operator over MQTT (SPEC section 9.2).
 *
 * The uplink hands each message of P/cmd/# to command_handle() on the loop
 * thread.  A command is parsed and checked (nothing changes when it is
 * bad), executed once (its id and result are kept in the store, the last
 * COMMAND_KEEP of them, so a redelivered id gets the stored result again),
 * and its one result goes to the outbox as P/results/{id}.
 */
#ifndef TE_COMMAND_H
#define TE_COMMAND_H

#include <stddef.h>
#include <stdint.h>

struct config;

#define COMMAND_KEEP	1000	/* results remembered by id */
#define COMMAND_ID_MAX	64

int	command_start(const struct config *, char **);
void	command_reload(const struct config *);
void	command_stop(void);
void	command_handle(const char *, const void *, size_t);
void	command_check(uint64_t);

#endif
