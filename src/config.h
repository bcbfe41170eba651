/*
 * config.h - the configuration file (tinyedge.ini), table-driven.
 *
 * Values are read by section and key, e.g. config_int(cf, "store",
 * "max_bytes"); repeatable sections are addressed by their full name,
 * e.g. "serial:usb0", listed by config_sections().  Asking for a key that is
 * not in the table is a programming error and aborts.
 *
 * [node:GLOB] sections (SPEC 9.1) are the exception: besides "model" their
 * keys are free, so they are read as a whole with config_nodes(), in file
 * order, each setting typed as the node will get it.
 */
#ifndef TE_CONFIG_H
#define TE_CONFIG_H

#include <sys/socket.h>

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct config;

/*
 * Values of the enum keys, in the order of their table rows
 * (config_keys.c binds each name to its constant): config_enum() returns
 * one of these.  The value was checked against the names at load.
 */
enum config_framing { CONFIG_FRAMING_LINES, CONFIG_FRAMING_COBS };
enum config_sync { CONFIG_SYNC_NORMAL, CONFIG_SYNC_FULL };
enum config_when { CONFIG_WHEN_ALWAYS, CONFIG_WHEN_LOW_CONFIDENCE };
enum config_features {
	CONFIG_FEATURES_RAW,
	CONFIG_FEATURES_MFCC,
	CONFIG_FEATURES_SPECTRAL,
};
enum config_output { CONFIG_OUTPUT_CLASSES, CONFIG_OUTPUT_ANOMALY };
enum config_protocol { CONFIG_PROTOCOL_311, CONFIG_PROTOCOL_5 };

#define CONFIG_NODES_MAX		256	/* [node:GLOB] sections */
#define CONFIG_NODE_GLOB_MAX		128	/* characters of a glob */
#define CONFIG_NODE_KEYS_MAX		64	/* settings per section */
#define CONFIG_NODE_KEY_MAX		64	/* [A-Za-z0-9_]{1,64} */
#define CONFIG_NODE_VALUE_MAX		128	/* characters of a value */
/*
 * JSON bytes of a node's settings without "model" and "rev": with those
 * (at most 17 + 352 bytes) a document fits CONTROL_DOC_MAX (control.h).
 */
#define CONFIG_NODE_SETTINGS_MAX	640

/* How a [node:GLOB] value reaches the node. */
enum config_node_type {
	CONFIG_NODE_STRING,
	CONFIG_NODE_NUMBER,	/* a finite decimal number in full */
	CONFIG_NODE_BOOL,	/* exactly true or false */
};

/* One setting of a [node:GLOB] section, as written (read-only). */
struct config_node_setting {
	char			*key;
	char			*text;
	enum config_node_type	 type;
	double			 number;	/* CONFIG_NODE_NUMBER */
	int			 boolean;	/* CONFIG_NODE_BOOL */
	int			 line;
};

/* One [node:GLOB] section (read-only; owned by the config). */
struct config_node {
	const char				*glob;
	/* NULL: no model key; "": set empty, clears an earlier one. */
	const char				*model;
	const struct config_node_setting	*settings;
	size_t					 nsettings;
	int					 line;
};

int		 config_load(const char *, struct config **, char **);
void		 config_free(struct config *);
const char	*config_path(const struct config *);

const char	*config_str(const struct config *, const char *, const char *);
int64_t		 config_int(const struct config *, const char *, const char *);
uint64_t	 config_ms(const struct config *, const char *, const char *);
uint64_t	 config_bytes(const struct config *, const char *, const char *);
double		 config_double(const struct config *, const char *, const char *);
int		 config_bool(const struct config *, const char *, const char *);
int		 config_enum(const struct config *, const char *, const char *);
char *const	*config_list(const struct config *, const char *, const char *,
		    size_t *);
const struct sockaddr *config_addr(const struct config *, const char *,
		    const char *);
int		 config_line(const struct config *, const char *, const char *);

const char *const *config_sections(const struct config *, const char *,
		    size_t *);

const struct config_node *config_nodes(const struct config *, size_t *);
int		 config_node_model_check(const char *, char **);

typedef void	(*config_change_cb)(const char *, const char *, int, void *);
int		 config_diff(const struct config *, const struct config *,
		    config_change_cb, void *);

void		 config_cause_add(char **, const char *, ...)
		    __attribute__((format(printf, 2, 3)));

int		 config_key_info(size_t, const char **, const char **,
		    const char **, const char **);

#endif
