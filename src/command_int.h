/*
 * command_int.h - private to the command family: one command as the pure
 * parser (command_parse.c) reads it from its topic and payload, for the
 * executor (command.c), the unit test and the fuzz target.
 */
#ifndef TE_COMMAND_INT_H
#define TE_COMMAND_INT_H

#include <stddef.h>

#include "command.h"
#include "message.h"
#include "models.h"

struct cJSON;

/* A config/{GLOB} glob: as a [node:GLOB] section's (config_node.c). */
#define COMMAND_GLOB_MAX	128
#define COMMAND_GLOB_EXTRA	"_.-*?[]!^"	/* beyond [A-Za-z0-9] */
/*
 * The longest id: one the operator sends is COMMAND_ID_MAX, but one made
 * from the topic is longer ("model:" NAME ":" VERSION).
 */
#define COMMAND_RID_MAX	(6 + MODELS_NAME_MAX + 1 + MODELS_VERSION_MAX)
#define COMMAND_INVALID	"_invalid"	/* results of unreadable ids */
#define COMMAND_RUNNING_MAX	8	/* model/tier2 runs at once */
#define COMMAND_JSON_MAX	16384	/* config and reload payloads */
#define COMMAND_HELD_MAX	1000	/* results waiting for a commit */

enum command_verb {
	COMMAND_NONE,		/* not understood */
	COMMAND_CONFIG,
	COMMAND_MODEL,
	COMMAND_TIER2,
	COMMAND_RELOAD,
	COMMAND_LEARN,		/* learn/NAME/NODE {"id","action"} */
};

/* One parsed command; id is "" when it could not be read. */
struct command_req {
	enum command_verb	 verb;
	char			 id[COMMAND_RID_MAX + 1];
	/* The glob, the model name or the section. */
	char			 arg[COMMAND_GLOB_MAX + 1];
	char			 version[MODELS_VERSION_MAX + 1];
	char			 node[MESSAGE_NODE_MAX + 1];	/* learn */
	struct cJSON		*json;	/* the payload (config, reload) */
	const struct cJSON	*set;	/* config: in json */
	const void		*data;	/* model, tier2: the caller's */
	size_t			 len;
};

const char	*command_verb_name(enum command_verb);
int		 command_valid_id(const char *, size_t);
int		 command_parse(const char *, const void *, size_t, size_t,
		    struct command_req *, char *, size_t);
void		 command_req_free(struct command_req *);

#endif
