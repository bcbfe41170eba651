/*
 * fed_int.h - private to the federated module: a section and its round
 * (fed.c: start, updates, documents) and a round's close (fed_round.c:
 * aggregation, the gate, the new model written in the pool, the next
 * round opened and published).
 */
#ifndef TE_FED_INT_H
#define TE_FED_INT_H

#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "learn/fl.h"
#include "models.h"

struct config;

/* One [federated:NAME] section and its open round. */
struct fed {
	char		 name[MODELS_NAME_MAX + 1];
	char		*sect;
	int		 dead;		/* stopped while its write ran */
	int		 from_copy;	/* read from data_dir/fl at start */
	uint8_t		*model;		/* the file the head lives in */
	size_t		 modellen;
	struct fl_head	 head;
	uint8_t		*headbuf;	/* serialized */
	size_t		 headlen;
	uint8_t		 base[32];
	char		 basehex[65];
	struct fl_val	 val;
	int		 has_val;
	uint32_t	 round;
	uint64_t	 deadline_ms;	/* wall clock */
	uint64_t	 retry_ms;	/* no close before (after a failure) */
	char		**clients;	/* nodes with an update in the round */
	size_t		 nclients;
	uint64_t	 accepted, rejected;	/* this round's updates */
	int		 closing;	/* the new model is being written */
	int		 unsure;	/* an update answered 5.03 is uncommitted */
	uint64_t	 m_updates, m_rejects, m_in, m_out, m_rounds;
};


/* What a close found in the store and computed. */
struct fed_close {
	uv_work_t	 req;
	struct fed	*f;
	struct fl_agg	*agg;		/* while the updates are read */
	struct fl_head	 head;		/* the new head */
	int		 applied;	/* 0: the gate rejected it */
	uint32_t	 clients;
	uint64_t	 samples;
	double		 before, after;	/* validation, < 0: none */
	char		**keys;		/* the update records to delete */
	size_t		 nkeys;
	uint8_t		*out;		/* the model with the new head */
	size_t		 outlen;
	char		*dir, *ndir, *path;
	int		 rc, err;
};

/* fed_round.c */
void	fed_publish(const struct fed *, const struct fed_close *, uint64_t,
	    uint64_t);

/* fed.c */
const struct config *fed_cf(void);
void	fed_key(const struct fed *, const char *, char *, size_t);
void	fed_changed(const struct fed *);
int	fed_state_save(const struct fed *);
void	fed_set_head(struct fed *, struct fl_head *, uint8_t *, size_t);
void	fed_clients_clear(struct fed *);
void	fed_free(struct fed *);
char	*fed_path(const struct fed *, char **, char **);

/* fed_round.c */
void	fed_close(struct fed *);
void	fed_model_put(const struct fed *);

#endif
