/*
 * control_int.h - what control.c shares with control_patch.c, which
 * applies MQTT merge patches to the records control.c keeps, and with
 * control_doc.c, which computes a node's document.
 */
#ifndef TE_CONTROL_INT_H
#define TE_CONTROL_INT_H

#include <stddef.h>
#include <stdint.h>

#include <cJSON.h>

struct config;

/* What is kept of one node. */
struct control_rec {
	char			*node;
	uint32_t		 rev;
	char			 digest[65];
	cJSON			*overrides;	/* an object, maybe empty */
	char			*want;		/* model asked for, or NULL */
	char			*model;		/* NAME@VERSION found, or NULL */
	int			 stale;		/* needs a new rev */
	int			 busy;		/* not to be evicted now */
	struct control_rec	*next;		/* hash chain */
};

/* A document computed for a node, before its rev. */
struct control_doc {
	cJSON	*doc;		/* settings and model object, no rev */
	char	*text;		/* doc printed */
	char	 digest[65];
	char	*want;
	char	*model;
	size_t	 settings_len;	/* JSON bytes of the settings alone */
};

#define CONTROL_TOO_LARGE	"settings too large"

int			 control_running(void);
const struct config	*control_config(void);
const char		*control_esc(const char *);
cJSON			*control_obj(void);
char			*control_print(const cJSON *);
struct control_rec	*control_find(const char *);
struct control_rec	*control_get(const char *, int);
void			 control_make_room(size_t);
void			 control_compute(const struct config *, const char *,
			    const cJSON *, struct control_doc *);
void			 control_doc_free(struct control_doc *);
int			 control_apply(struct control_rec *, struct control_doc *,
			    int);

#endif
