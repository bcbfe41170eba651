/*
 * config_int.h - what config.c, its key table (config_keys.c) and its
 * value parser (config_value.c) share.
 *
 * The table's row type and flags live here so the table can sit in a file
 * of its own, as tmux keeps options-table.c apart from options.c; nothing
 * outside these files (and config_node.c, the [node:GLOB] keys) includes
 * this header.
 */
#ifndef TE_CONFIG_INT_H
#define TE_CONFIG_INT_H

#include <sys/socket.h>

#include <stddef.h>
#include <stdint.h>

#include "config.h"

enum config_type {
	CT_STRING,
	CT_BOOL,
	CT_INT,
	CT_DURATION,
	CT_SIZE,
	CT_DOUBLE,
	CT_ENUM,
	CT_LIST,
	CT_HOSTPORT,
};

#define CF_REQUIRED	0x1	/* must be set in the file */
#define CF_RELOAD	0x2	/* SIGHUP applies it without a restart */
#define CF_NONEMPTY	0x4	/* an empty value is an error */
#define CF_FILE		0x8	/* a file the daemon reads: must be readable */

struct config_key {
	const char	 *section;
	const char	 *name;
	enum config_type  type;
	const char	 *def;
	double		  min;
	double		  max;		/* max < min: no bounds */
	const char *const *choices;	/* CT_ENUM */
	int		(*check)(const char *, char **);
	int		  flags;
	const char	 *help;
};

struct config_stype {
	const char	*name;
	int		 repeatable;
	int		 glob;		/* name is a glob ([node:GLOB]) */
	int		 reload;	/* SIGHUP adds and removes these */
};

struct config_value {
	int			 set;
	int			 line;
	char			*text;
	int64_t			 i;	/* int, bool, enum index */
	uint64_t		 u;	/* duration ms, size bytes */
	double			 d;
	char			**list;
	size_t			 nlist;
	struct sockaddr_storage	 ss;
	int			 has_addr;
};

extern const struct config_stype	config_stypes[];
extern const size_t			config_nstypes;
extern const struct config_key		config_keys[];
extern const size_t			config_nkeys;

int	config_value_parse(const struct config_key *, const char *,
	    struct config_value *, char **);
void	config_value_clear(struct config_value *);
char	*config_slurp(const char *, size_t *, char **);

/* config_node.c: the free keys of [node:GLOB] sections. */
int	config_node_check_glob(const char *, char **);
int	config_node_check_model(const char *, char **);
int	config_node_add(struct config_node_setting **, size_t *, const char *,
	    const char *, int, char **);
int	config_node_check_size(const struct config_node_setting *, size_t,
	    char **);
int	config_node_same(const struct config_node_setting *, size_t,
	    const struct config_node_setting *, size_t, const char **);
void	config_node_free(struct config_node_setting *, size_t);

#endif
