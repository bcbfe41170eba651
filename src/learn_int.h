/*
 * learn_int.h - private to the learn module family: a [learn:NAME]
 * section and its nodes (learn.c: collection, scoring, topics, reload),
 * their store records (learn_rec.c: pure encoding and the collection
 * rules, unit-tested alone), a node's training (learn_train.c: the libuv
 * pool job and its result) and the module's numbers (learn_stat.c).
 */
#ifndef TE_LEARN_INT_H
#define TE_LEARN_INT_H

#include <stddef.h>
#include <stdint.h>

#include "learn/ae.h"
#include "message.h"

#define LEARN_WINDOWS_MAX	5000	/* windows = 10..this */
#define LEARN_DIM_MAX		AE_MAX_DIM	/* features per window */
#define LEARN_MEM_MAX		(64u * 1024 * 1024)	/* collected, all nodes */
#define LEARN_REASON_MAX	160
#define LEARN_EMIT_MAX		1024	/* scored windows waiting to be stored */
#define LEARN_NAME_MAX		64	/* a section name, as models.h */
/* "learn/" NAME "/" NODE "/w/" index, with room. */
#define LEARN_KEY_MAX		(6 + LEARN_NAME_MAX + 1 + MESSAGE_NODE_MAX + 16)

enum learn_state {
	LEARN_COLLECTING,
	LEARN_TRAINING,
	LEARN_READY,
	LEARN_FAILED,
};

/* What became of one window offered for collection. */
enum learn_take {
	LEARN_TAKEN,		/* collected */
	LEARN_SHAPE,		/* another shape than the node's first window */
	LEARN_BAD,		/* features failed or not finite */
	LEARN_FULL,		/* the memory bound: not collected */
	LEARN_DONE,		/* enough windows already */
};

/* The kinds of a section's store records, by key. */
enum learn_rec_kind {
	LEARN_REC_STATE,	/* learn/S/N/s: the node's status (JSON) */
	LEARN_REC_WINDOW,	/* learn/S/N/w/IIIII: float32 LE features */
	LEARN_REC_MODEL,	/* learn/S/N/m: the .tflite bytes */
	LEARN_REC_SIG,		/* learn/S/sig: the section's signature */
};

/* A key taken apart (learn_rec_key_parse). */
struct learn_key {
	enum learn_rec_kind	kind;
	char			sect[LEARN_NAME_MAX + 1];
	char			node[MESSAGE_NODE_MAX + 1];
	uint32_t		index;	/* windows */
};

struct learn_sect;

/* One node of a section. */
struct learn_node {
	char			 node[MESSAGE_NODE_MAX + 1];
	struct learn_sect	*s;
	uint64_t		 gen;		/* bumped by each restart */
	enum learn_state	 state;
	/* Collected features: n windows of dim floats. */
	float			*x;
	size_t			 n, cap;
	uint32_t		 dim, frames, axes;
	uint64_t		 interval_us;
	uint64_t		 rej_shape, rej_bad, rej_full;
	uint64_t		 scored, anomalies, score_us;
	/* The result of a training. */
	float			 threshold;
	double			 agreement, max_diff;
	uint64_t		 train_ms;
	uint32_t		 trainings;
	char			 reason[LEARN_REASON_MAX];
	char			 sha256[65];
	uint8_t			*model;
	size_t			 model_len;
	struct ae_runner	*run;		/* the model, loaded */
	int			 serve;		/* -1 name too long, 1 served */
	int			 queued;
	struct learn_node	*qnext;
};

/* One [learn:NAME] section. */
struct learn_sect {
	char			*sect;		/* "learn:pump" */
	const char		*name;		/* "pump" */
	int			 index;
	char			*nodes;
	char			*sig;
	int			 kind;		/* enum features_kind */
	size_t			 windows;
	double			 quantile;
	size_t			 max_nodes;
	struct features		*feat;
	struct learn_node	**n;
	size_t			 nn;
	uint64_t		 refused;	/* nodes past max_nodes */
	int			 refused_logged;
};

/* learn_rec.c (pure) */
const char	*learn_state_name(enum learn_state);
int		 learn_key_parse(const char *, struct learn_key *);
void		 learn_key(char *, size_t, const char *, const char *,
		    enum learn_rec_kind, uint32_t);
char		*learn_state_encode(const struct learn_node *);
int		 learn_state_parse(const void *, size_t, struct learn_node *,
		    char **);
enum learn_take	 learn_take(struct learn_node *, const float *, uint32_t,
		    uint32_t, uint32_t, uint64_t, size_t, size_t *);
void		 learn_node_drop(struct learn_node *, size_t *);
void		 learn_window_encode(const float *, uint32_t, uint8_t *);
int		 learn_window_decode(const void *, size_t, uint32_t, float *);

/* learn_node.c */
char		*learn_doc(const struct learn_node *);
void		 learn_publish(const struct learn_node *);
void		 learn_clear(const char *, const char *);
void		 learn_save(const struct learn_node *);
void		 learn_serve(struct learn_node *);
void		 learn_unserve(const char *, const char *);
int		 learn_load_model(struct learn_node *, char **);

/* learn.c */
struct learn_node *learn_node_find(const char *, const char *);
struct learn_node *learn_node_new(struct learn_sect *, const char *);
size_t		*learn_mem(void);
struct learn_sect *const *learn_sects(size_t *);
uint64_t	 learn_emit_dropped(void);
struct learn_node *learn_node_gen(uint64_t);
int		 learn_fresh(void);

/* learn_load.c */
int		 learn_load(struct learn_sect **, size_t, const char *,
		    char **);
void		 learn_records_delete(const char *);

/* learn_train.c */
void		 learn_train_queue(struct learn_node *);
void		 learn_train_forget(struct learn_node *);
void		 learn_train_stop(void);
int		 learn_train_busy(void);

#endif
