/*
 * tier2_model.h - one second-tier model as a [tier2:NAME] section
 * describes it: the TFLite model, its labels, its feature extractor and how
 * its output becomes a label and a score.
 *
 * Building one (tier2_model_open) reads the files and checks that features,
 * model input and labels fit together; running one (tier2_model_run) turns
 * a window into a result.  A section's keys can be copied out of the
 * configuration first (tier2_model_spec), so a model can be built in the
 * pool after a SIGHUP freed that configuration (a replacement checked
 * before it is swapped in).  A model is used by one thread at a time (the
 * tier2 module runs it on the libuv thread pool); nothing here touches the
 * loop, the store or the log.  tier2_model_check() is the tier2 module's
 * entry in the daemon's check column, so `tinyedged -t` reports a
 * features/input mismatch.
 */
#ifndef TE_TIER2_MODEL_H
#define TE_TIER2_MODEL_H

#include <stddef.h>
#include <stdint.h>

#define TIER2_MODEL_LABEL_MAX	64

struct config;
struct tier2_model;
struct tier2_model_spec;

/* What one run produced, and what it cost. */
struct tier2_model_result {
	char		label[TIER2_MODEL_LABEL_MAX + 1];
	double		score;
	uint64_t	features_us;
	uint64_t	invoke_us;
};

int		 tier2_model_open(const struct config *, const char *,
		    struct tier2_model **, int *, char **);
void		 tier2_model_free(struct tier2_model *);
struct tier2_model_spec *tier2_model_spec(const struct config *,
		    const char *);
const char	*tier2_model_spec_path(const struct tier2_model_spec *);
struct tier2_model_spec *tier2_model_spec_dup(const struct tier2_model_spec *);
void		 tier2_model_spec_free(struct tier2_model_spec *);
int		 tier2_model_install(const struct tier2_model_spec *,
		    const void *, size_t, struct tier2_model **, char **);
int		 tier2_model_run(struct tier2_model *, const float *, size_t,
		    size_t, uint64_t, struct tier2_model_result *, char **);
int		 tier2_model_check(const struct config *, char **);
char		*tier2_model_signature(const struct config *, const char *);
int		 tier2_model_labels_parse(const char *, size_t, char ***,
		    size_t *, char **);
void		 tier2_model_labels_free(char **, size_t);

#endif
