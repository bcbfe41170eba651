/*
 * nodesim_ctl.h - the settings document a simulated node receives (SPEC
 * 9.1) as nodesim understands it, and the decisions it drives: which
 * inferences and raw windows a node sends, and whether an assigned model
 * is one the node does not have yet.  Pure code (no CoAP, no clock), so
 * the unit test can feed it malformed documents.
 */
#ifndef TE_NODESIM_CTL_H
#define TE_NODESIM_CTL_H

#include <stddef.h>
#include <stdint.h>

#define SIM_CTL_NAME_MAX	64	/* model names, SPEC 9.2 */
#define SIM_CTL_VERSION_MAX	32
#define SIM_CTL_URI_MAX		200	/* fits one CoAP request easily */
#define SIM_CTL_MODEL_MAX	(4u << 20)	/* largest model a node takes */
#define SIM_CTL_UNSURE_DEFAULT	0.6	/* unsure_below when not given */

/* send_window: absent (the --windows-every traffic) or one of three. */
enum sim_window {
	SIM_WINDOW_UNSET = 0,
	SIM_WINDOW_NEVER,
	SIM_WINDOW_UNSURE,
	SIM_WINDOW_ALWAYS,
};

/* A node model as the document describes it. */
struct sim_model {
	int		 present;
	char		 name[SIM_CTL_NAME_MAX + 1];
	char		 version[SIM_CTL_VERSION_MAX + 1];
	char		 sha256[65];	/* lowercase hex */
	size_t		 size;
	char		 uri[SIM_CTL_URI_MAX + 1];
};

/* What nodesim takes from one settings document. */
struct sim_doc {
	uint32_t	 rev;
	enum sim_window	 send_window;
	double		 unsure_below;
	double		 min_score;	/* 0: every inference goes */
	struct sim_model model;
};

int	nodesim_ctl_parse(const char *, size_t, struct sim_doc *, char **);
void	nodesim_ctl_decide(const struct sim_doc *, double, int *, int *);
int	nodesim_ctl_same_model(const struct sim_model *,
	    const struct sim_model *);

#endif
