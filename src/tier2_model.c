/*
 * tier2_model.c - one [tier2:NAME] model: files, checks and one run.
 *
 * Opening a section reads its keys, builds the feature extractor from the
 * mfcc_* and spectral_* keys, loads the .tflite file with the built-in
 * runtime and the labels file, and checks that they fit: a fixed-length
 * feature vector (mfcc, spectral) must have as many values as the model
 * input, a classifier's labels one per output value, an autoencoder's
 * output the shape of its input.  Each failure names the key's line so the
 * configuration loader can report it as FILE:LINE.
 *
 * A run takes a window (frames x axes floats in real units), computes the
 * features, quantizes them with the input's scale and zero point (or copies
 * them for a float input), invokes the model and reads the output: for
 * classes the arg max and its dequantized probability, for anomaly the mean
 * squared error between the features and the dequantized reconstruction.
 * The object holds all buffers, so a run allocates only an error message,
 * and one object is used by one thread at a time.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "features/features.h"
#include "parse.h"
#include "tflite/tflite.h"
#include "tier2_model.h"
#include "xmalloc.h"

#define TIER2_MODEL_LABELS_MAX		4096
#define TIER2_MODEL_LABELS_BYTES	(1024 * 1024)

enum tier2_model_output {
	TIER2_OUTPUT_CLASSES,
	TIER2_OUTPUT_ANOMALY,
};

struct tier2_model {
	struct tflite_model	*tfl;
	struct features		*feat;
	enum features_kind	 kind;
	enum tier2_model_output	 output;
	double			 anomaly_threshold;
	struct tflite_tensor_info in;
	struct tflite_tensor_info out;
	size_t			 in_n;		/* input elements */
	size_t			 out_n;		/* output elements */
	float			*x;		/* features, in_n */
	char			**labels;
	size_t			 nlabels;
};

/* The feature parameters a section may set (features_params_set names). */
static const char *const tier2_model_feature_keys[] = {
	"mfcc_sample_rate", "mfcc_frame_length", "mfcc_frame_step",
	"mfcc_fft_length", "mfcc_mel_bins", "mfcc_lower_hz", "mfcc_upper_hz",
	"mfcc_log_offset", "mfcc_coefficients", "mfcc_frames",
	"mfcc_normalize", "spectral_axes", "spectral_bands",
	"spectral_low_hz", "spectral_lowpass_hz", "spectral_highpass_hz",
};
#define NFEATKEYS (sizeof tier2_model_feature_keys / \
	sizeof tier2_model_feature_keys[0])

/* The other keys of a section, for the reload signature. */
static const char *const tier2_model_keys[] = {
	"model", "labels", "nodes", "when", "threshold", "features", "output",
	"anomaly_threshold", "queue",
};

/*
 * What a section says, copied out of the configuration with each key's
 * line: a model can then be built in the pool while a SIGHUP frees the
 * configuration it came from (tier2_replace).
 */
struct tier2_model_spec {
	char			*sect;
	char			*model;
	char			*labels;
	int			 features;	/* enum config_features */
	int			 output;	/* enum config_output */
	double			 anomaly_threshold;
	char			*feat[NFEATKEYS];
	int			 feat_line[NFEATKEYS];
	int			 line_model, line_labels;
	int			 line_features, line_output;
};

/* Microseconds of the monotonic clock. */
static uint64_t
tier2_model_us(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000);
}

/* Element count of a tensor. */
static size_t
tier2_model_elems(const struct tflite_tensor_info *t)
{
	size_t	n = 1;
	int	i;

	for (i = 0; i < t->ndims; i++)
		n *= (size_t)t->dims[i];
	return (n);
}

/* A shape as "[1,49,10,1]" into buf. */
static const char *
tier2_model_shape(const struct tflite_tensor_info *t, char *buf, size_t len)
{
	size_t	n = 0;
	int	i;

	n += (size_t)snprintf(buf, len, "[");
	for (i = 0; i < t->ndims && n < len; i++)
		n += (size_t)snprintf(buf + n, len - n, "%s%d", i ? "," : "",
		    (int)t->dims[i]);
	if (n < len)
		snprintf(buf + n, len - n, "]");
	return (buf);
}

/* Free a label array (an array of strings, as parse_list() returns). */
void
tier2_model_labels_free(char **labels, size_t n)
{
	parse_list_free(labels, n);
}

/*
 * Parse a labels file's bytes: one label per line, in output order,
 * surrounding blanks trimmed, empty lines skipped, "\r\n" accepted.  A
 * label is 1 to 64 bytes without control characters.  -1 with a message
 * naming the line on anything else.
 */
int
tier2_model_labels_parse(const char *buf, size_t len, char ***out,
    size_t *nout, char **cause)
{
	const char	*p = buf, *end = buf + len, *nl, *s, *e;
	char		**labels = NULL;
	size_t		 n = 0, i;
	int		 line = 0;

	*out = NULL;
	*nout = 0;
	if (memchr(buf, '\0', len) != NULL) {
		xasprintf(cause, "NUL byte in the file");
		return (-1);
	}
	while (p < end) {
		line++;
		nl = memchr(p, '\n', (size_t)(end - p));
		e = nl ? nl : end;
		s = p;
		p = nl ? nl + 1 : end;
		while (s < e && (*s == ' ' || *s == '\t'))
			s++;
		while (e > s && (e[-1] == ' ' || e[-1] == '\t' ||
		    e[-1] == '\r'))
			e--;
		if (s == e)
			continue;
		for (i = 0; i < (size_t)(e - s); i++) {
			if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) {
				xasprintf(cause, "line %d: control character "
				    "in label", line);
				goto fail;
			}
		}
		if ((size_t)(e - s) > TIER2_MODEL_LABEL_MAX) {
			xasprintf(cause, "line %d: label longer than %d "
			    "bytes", line, TIER2_MODEL_LABEL_MAX);
			goto fail;
		}
		if (n == TIER2_MODEL_LABELS_MAX) {
			xasprintf(cause, "line %d: more than %d labels", line,
			    TIER2_MODEL_LABELS_MAX);
			goto fail;
		}
		labels = xreallocarray(labels, n + 1, sizeof *labels);
		labels[n++] = xstrndup(s, (size_t)(e - s));
	}
	if (n == 0) {
		xasprintf(cause, "no labels");
		goto fail;
	}
	*out = labels;
	*nout = n;
	return (0);
fail:
	tier2_model_labels_free(labels, n);
	return (-1);
}

/* Read and parse a labels file; -1 with "PATH: reason". */
static int
tier2_model_labels_read(const char *path, char ***out, size_t *nout,
    char **cause)
{
	FILE	*f;
	char	*buf, *why = NULL;
	size_t	 len;
	int	 rc;

	if ((f = fopen(path, "r")) == NULL) {
		xasprintf(cause, "labels %s: %s", path, strerror(errno));
		return (-1);
	}
	buf = xmalloc(TIER2_MODEL_LABELS_BYTES + 1);
	len = fread(buf, 1, TIER2_MODEL_LABELS_BYTES + 1, f);
	if (ferror(f) || len > TIER2_MODEL_LABELS_BYTES) {
		xasprintf(cause, "labels %s: %s", path, ferror(f) ?
		    strerror(errno) : "larger than 1M");
		fclose(f);
		free(buf);
		return (-1);
	}
	fclose(f);
	rc = tier2_model_labels_parse(buf, len, out, nout, &why);
	free(buf);
	if (rc != 0) {
		xasprintf(cause, "labels %s: %s", path, why);
		free(why);
	}
	return (rc);
}

/* The line a feature parameter message is about (its key's line). */
static int
tier2_model_param_line(const struct tier2_model_spec *sp, const char *msg)
{
	const char	*p, *best = NULL;
	size_t		 i, bi = 0;

	/* The key named first in the message is the one it is about. */
	for (i = 0; i < NFEATKEYS; i++) {
		p = strstr(msg, tier2_model_feature_keys[i]);
		if (p != NULL && (best == NULL || p < best)) {
			best = p;
			bi = i;
		}
	}
	if (best == NULL)
		return (sp->line_features);
	return (sp->feat_line[bi]);
}

/* Build the feature extractor from the section's keys. */
static int
tier2_model_features(const struct tier2_model_spec *sp, struct tier2_model *m,
    int *line, char **cause)
{
	struct features_params	 p;
	char			*why = NULL;
	size_t			 i;

	/* The name was checked at load; this maps config.h onto features.h. */
	static const enum features_kind kinds[] = {
		[CONFIG_FEATURES_RAW] = FEATURES_RAW,
		[CONFIG_FEATURES_MFCC] = FEATURES_MFCC,
		[CONFIG_FEATURES_SPECTRAL] = FEATURES_SPECTRAL,
	};

	m->kind = kinds[sp->features];
	features_params_default(&p, m->kind);
	for (i = 0; i < NFEATKEYS; i++) {
		if (features_params_set(&p, tier2_model_feature_keys[i],
		    sp->feat[i], &why) != 0)
			goto fail;
	}
	if (features_new(&p, &m->feat, &why) != 0)
		goto fail;
	return (0);
fail:
	*line = tier2_model_param_line(sp, why ? why : "");
	xasprintf(cause, "[%s] %s", sp->sect, why ? why : "bad feature "
	    "parameters");
	free(why);
	return (-1);
}

/* Check the model's tensors against the features and the output kind. */
static int
tier2_model_fit(const struct tier2_model_spec *sp, const char *path,
    struct tier2_model *m, int *line, char **cause)
{
	const char	*sect = sp->sect;
	char	a[96], b[96];
	size_t	fixed, rows, cols;

	*line = sp->line_model;
	if (tflite_model_ninputs(m->tfl) != 1 ||
	    tflite_model_noutputs(m->tfl) < 1) {
		xasprintf(cause, "[%s] model %s: needs one input and an "
		    "output, has %d and %d", sect, path,
		    tflite_model_ninputs(m->tfl),
		    tflite_model_noutputs(m->tfl));
		return (-1);
	}
	tflite_model_input_info(m->tfl, 0, &m->in);
	tflite_model_output_info(m->tfl, 0, &m->out);
	m->in_n = tier2_model_elems(&m->in);
	m->out_n = tier2_model_elems(&m->out);
	if ((m->in.dtype != TFLITE_INT8 && m->in.dtype != TFLITE_FLOAT32) ||
	    (m->out.dtype != TFLITE_INT8 && m->out.dtype != TFLITE_FLOAT32)) {
		xasprintf(cause, "[%s] model %s: input %s, output %s: only "
		    "int8 and float32 tensors are supported", sect, path,
		    tflite_dtype_name(m->in.dtype),
		    tflite_dtype_name(m->out.dtype));
		return (-1);
	}
	if (m->in.dtype == TFLITE_INT8 && !(m->in.scale > 0)) {
		xasprintf(cause, "[%s] model %s: int8 input without a "
		    "quantization scale", sect, path);
		return (-1);
	}
	fixed = features_fixed_len(m->feat);
	if (fixed != 0 && fixed != m->in_n) {
		*line = sp->line_features;
		features_dims(m->feat, &rows, &cols);
		xasprintf(cause, "[%s] %s features produce %zu values "
		    "(%zu x %zu), model input is %s (%zu)", sect,
		    features_kind_name(m->kind), fixed, rows, cols,
		    tier2_model_shape(&m->in, a, sizeof a), m->in_n);
		return (-1);
	}
	if (m->output == TIER2_OUTPUT_ANOMALY && m->out_n != m->in_n) {
		*line = sp->line_output;
		xasprintf(cause, "[%s] output = anomaly needs a reconstruction "
		    "of the input: model input is %s (%zu), output is %s "
		    "(%zu)", sect, tier2_model_shape(&m->in, a, sizeof a),
		    m->in_n, tier2_model_shape(&m->out, b, sizeof b),
		    m->out_n);
		return (-1);
	}
	return (0);
}

/* Copy what a section says (and where) out of the configuration. */
struct tier2_model_spec *
tier2_model_spec(const struct config *cf, const char *sect)
{
	struct tier2_model_spec	*sp;
	size_t			 i;

	sp = xcalloc(1, sizeof *sp);
	sp->sect = xstrdup(sect);
	sp->model = xstrdup(config_str(cf, sect, "model"));
	sp->labels = xstrdup(config_str(cf, sect, "labels"));
	sp->features = config_enum(cf, sect, "features");
	sp->output = config_enum(cf, sect, "output");
	sp->anomaly_threshold = config_double(cf, sect, "anomaly_threshold");
	for (i = 0; i < NFEATKEYS; i++) {
		sp->feat[i] = xstrdup(config_str(cf, sect,
		    tier2_model_feature_keys[i]));
		sp->feat_line[i] = config_line(cf, sect,
		    tier2_model_feature_keys[i]);
	}
	sp->line_model = config_line(cf, sect, "model");
	sp->line_labels = config_line(cf, sect, "labels");
	sp->line_features = config_line(cf, sect, "features");
	sp->line_output = config_line(cf, sect, "output");
	return (sp);
}

/* The model file a section names. */
const char *
tier2_model_spec_path(const struct tier2_model_spec *sp)
{
	return (sp->model);
}

/* A copy of a spec, for a job that outlives its owner. */
struct tier2_model_spec *
tier2_model_spec_dup(const struct tier2_model_spec *sp)
{
	struct tier2_model_spec	*c;
	size_t			 i;

	c = xmalloc(sizeof *c);
	*c = *sp;
	c->sect = xstrdup(sp->sect);
	c->model = xstrdup(sp->model);
	c->labels = xstrdup(sp->labels);
	for (i = 0; i < NFEATKEYS; i++)
		c->feat[i] = xstrdup(sp->feat[i]);
	return (c);
}

/* Free a spec (NULL is fine). */
void
tier2_model_spec_free(struct tier2_model_spec *sp)
{
	size_t	i;

	if (sp == NULL)
		return;
	for (i = 0; i < NFEATKEYS; i++)
		free(sp->feat[i]);
	free(sp->sect);
	free(sp->model);
	free(sp->labels);
	free(sp);
}

/*
 * Build a section's model from the file at path.  check != 0
 * (configuration loading): files that do not exist or do not load are not
 * errors here (starting the daemon reports them); everything that can be
 * checked is.
 */
static int
tier2_model_build(const struct tier2_model_spec *sp, const char *path,
    int check, struct tier2_model **out, int *line, char **cause)
{
	struct tier2_model	*m;
	const char		*sect = sp->sect, *lpath = sp->labels;
	struct stat		 sb;
	char			*why = NULL;

	*out = NULL;
	*line = 0;
	m = xcalloc(1, sizeof *m);
	m->output = sp->output == CONFIG_OUTPUT_ANOMALY ?
	    TIER2_OUTPUT_ANOMALY : TIER2_OUTPUT_CLASSES;
	m->anomaly_threshold = sp->anomaly_threshold;
	if (tier2_model_features(sp, m, line, cause) != 0)
		goto fail;
	if (check && stat(path, &sb) != 0)
		goto done;
	if (tflite_model_load_file(path, &m->tfl, &why) != 0) {
		if (check) {
			free(why);
			goto done;
		}
		*line = sp->line_model;
		xasprintf(cause, "[%s] %s", sect, why ? why : path);
		free(why);
		goto fail;
	}
	if (tier2_model_fit(sp, path, m, line, cause) != 0)
		goto fail;
	if (m->output == TIER2_OUTPUT_CLASSES && *lpath != '\0') {
		if (check && stat(lpath, &sb) != 0)
			goto done;
		*line = sp->line_labels;
		if (tier2_model_labels_read(lpath, &m->labels, &m->nlabels,
		    &why) != 0) {
			xasprintf(cause, "[%s] %s", sect, why);
			free(why);
			goto fail;
		}
		if (m->nlabels != m->out_n) {
			xasprintf(cause, "[%s] labels %s: %zu labels, model "
			    "output has %zu values", sect, lpath, m->nlabels,
			    m->out_n);
			goto fail;
		}
	}
done:
	m->x = xcalloc(m->in_n ? m->in_n : 1, sizeof *m->x);
	*out = m;
	return (0);
fail:
	tier2_model_free(m);
	return (-1);
}

/* Open a section's model for running; -1 with *line and *cause. */
int
tier2_model_open(const struct config *cf, const char *sect,
    struct tier2_model **out, int *line, char **cause)
{
	struct tier2_model_spec	*sp = tier2_model_spec(cf, sect);
	int			 rc;

	rc = tier2_model_build(sp, sp->model, 0, out, line, cause);
	tier2_model_spec_free(sp);
	return (rc);
}

/*
 * The tier2 module's configuration check (the daemon's check column, run
 * by `tinyedged -t`, at start and on reload): build every [tier2:NAME]
 * without loading weights, so a features/input mismatch is reported with
 * its line.  Every failing section gives one "FILE:LINE: message" line.
 */
int
tier2_model_check(const struct config *cf, char **cause)
{
	const char *const	*names;
	struct tier2_model	*m;
	struct tier2_model_spec	*sp;
	char			*one = NULL, *all = NULL;
	size_t			 i, n;
	int			 line;

	names = config_sections(cf, "tier2", &n);
	for (i = 0; i < n; i++) {
		line = 0;
		sp = tier2_model_spec(cf, names[i]);
		if (tier2_model_build(sp, sp->model, 1, &m, &line,
		    &one) == 0) {
			tier2_model_spec_free(sp);
			tier2_model_free(m);
			continue;
		}
		tier2_model_spec_free(sp);
		config_cause_add(&all, "%s:%d: %s", config_path(cf),
		    line > 0 ? line : 1, one);
		free(one);
		one = NULL;
	}
	if (all == NULL)
		return (0);
	*cause = all;
	return (-1);
}

/* Write bytes to a new temporary file beside path; its name or NULL. */
static char *
tier2_model_write_tmp(const char *path, const uint8_t *data, size_t len,
    char **cause)
{
	char	*tmp;
	size_t	 done = 0;
	ssize_t	 n;
	int	 fd, e;

	/* '~' keeps it apart from names a config would use. */
	xasprintf(&tmp, "%s.tmp~XXXXXX", path);
	if ((fd = mkstemp(tmp)) == -1) {
		xasprintf(cause, "%s: %s", tmp, strerror(errno));
		free(tmp);
		return (NULL);
	}
	while (done < len) {
		if ((n = write(fd, data + done, len - done)) == -1 &&
		    errno == EINTR)
			continue;
		if (n == -1)
			break;
		done += (size_t)n;
	}
	if (done < len || fchmod(fd, 0644) == -1 || fdatasync(fd) == -1) {
		e = errno;
		close(fd);
		goto fail;
	}
	if (close(fd) == -1) {
		e = errno;
		goto fail;
	}
	return (tmp);
fail:
	xasprintf(cause, "%s: %s", tmp, strerror(e));
	unlink(tmp);
	free(tmp);
	return (NULL);
}

/* fsync the directory holding path. */
static int
tier2_model_sync_dir(const char *path)
{
	char	*dir, *slash;
	int	 fd, rc;

	dir = xstrdup(path);
	if ((slash = strrchr(dir, '/')) == NULL) {
		free(dir);
		dir = xstrdup(".");
	} else if (slash == dir)
		dir[1] = '\0';		/* "/m.tflite": the root */
	else
		*slash = '\0';
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY)) == -1) {
		free(dir);
		return (-1);
	}
	rc = fsync(fd);
	close(fd);
	free(dir);
	return (rc);
}

/* Say "the new model" where a cause names the temporary file. */
static void
tier2_model_untmp(char **cause, const char *tmp)
{
	char	*p, *s;

	if (*cause == NULL || (p = strstr(*cause, tmp)) == NULL)
		return;
	xasprintf(&s, "%.*sthe new model%s", (int)(p - *cause), *cause,
	    p + strlen(tmp));
	free(*cause);
	*cause = s;
}

/*
 * Make data a section's model file if it opens and fits as the section's
 * model does: written to a temporary file beside the model file, synced,
 * opened and checked, renamed over the model file, the directory synced.
 * 0 and the opened model in *out (*cause may then hold a warning: the
 * directory sync failed after the rename), or -1 with a cause and nothing
 * changed on disk.  Any thread.
 */
int
tier2_model_install(const struct tier2_model_spec *sp, const void *data,
    size_t len, struct tier2_model **out, char **cause)
{
	char	*tmp;
	int	 line;

	*out = NULL;
	if ((tmp = tier2_model_write_tmp(sp->model, data, len,
	    cause)) == NULL)
		return (-1);
	/* Exactly as a configured model is opened and checked. */
	if (tier2_model_build(sp, tmp, 0, out, &line, cause) != 0) {
		tier2_model_untmp(cause, tmp);
		unlink(tmp);
		free(tmp);
		return (-1);
	}
	if (rename(tmp, sp->model) == -1) {
		xasprintf(cause, "rename to %s: %s", sp->model,
		    strerror(errno));
		tier2_model_free(*out);
		*out = NULL;
		unlink(tmp);
		free(tmp);
		return (-1);
	}
	free(tmp);
	if (tier2_model_sync_dir(sp->model) == -1)
		xasprintf(cause, "fsync of %s's directory: %s", sp->model,
		    strerror(errno));
	return (0);
}

/* Free a model (NULL is fine). */
void
tier2_model_free(struct tier2_model *m)
{
	if (m == NULL)
		return;
	tflite_model_free(m->tfl);
	features_free(m->feat);
	tier2_model_labels_free(m->labels, m->nlabels);
	free(m->x);
	free(m);
}

/* Every key of a section as one string: a change means "rebuild". */
char *
tier2_model_signature(const struct config *cf, const char *sect)
{
	char	*s = xstrdup(""), *t;
	size_t	 i;

	for (i = 0; i < sizeof tier2_model_keys / sizeof tier2_model_keys[0];
	    i++) {
		xasprintf(&t, "%s%s\n", s, config_str(cf, sect,
		    tier2_model_keys[i]));
		free(s);
		s = t;
	}
	for (i = 0; i < NFEATKEYS; i++) {
		xasprintf(&t, "%s%s\n", s, config_str(cf, sect,
		    tier2_model_feature_keys[i]));
		free(s);
		s = t;
	}
	return (s);
}

/* Value i of the output tensor in real units. */
static double
tier2_model_out(const struct tier2_model *m, const void *o, size_t i)
{
	if (m->out.dtype == TFLITE_INT8)
		return (((double)((const int8_t *)o)[i] - m->out.zero_point) *
		    (double)m->out.scale);
	return ((double)((const float *)o)[i]);
}

/* Turn the output into a label and a score. */
static void
tier2_model_interpret(struct tier2_model *m, struct tier2_model_result *r)
{
	const void	*o = tflite_model_output(m->tfl, 0);
	double		 best, v, d, sum = 0;
	size_t		 i, bi = 0;

	if (m->output == TIER2_OUTPUT_ANOMALY) {
		for (i = 0; i < m->in_n; i++) {
			d = (double)m->x[i] - tier2_model_out(m, o, i);
			sum += d * d;
		}
		r->score = sum / (double)m->in_n;
		snprintf(r->label, sizeof r->label, "%s",
		    r->score >= m->anomaly_threshold ? "anomaly" : "normal");
		return;
	}
	best = tier2_model_out(m, o, 0);
	for (i = 1; i < m->out_n; i++) {
		if ((v = tier2_model_out(m, o, i)) > best) {
			best = v;
			bi = i;
		}
	}
	r->score = best < 0 ? 0 : best > 1 ? 1 : best;
	if (m->labels != NULL)
		snprintf(r->label, sizeof r->label, "%s", m->labels[bi]);
	else
		snprintf(r->label, sizeof r->label, "class_%zu", bi);
}

/*
 * Run the model on a window of frames x axes values (real units).  -1 with
 * *cause when the window does not fit the features or the model.
 */
int
tier2_model_run(struct tier2_model *m, const float *values, size_t frames,
    size_t axes, uint64_t interval_us, struct tier2_model_result *r,
    char **cause)
{
	char		*why = NULL, shape[96];
	size_t		 n;
	uint64_t	 t0, t1, t2;

	memset(r, 0, sizeof *r);
	if (m->tfl == NULL) {
		xasprintf(cause, "no model loaded");
		return (-1);
	}
	t0 = tier2_model_us();
	if (features_output_len(m->feat, frames, axes, &n, &why) != 0)
		goto fail;
	if (n != m->in_n) {
		xasprintf(cause, "window of %zu x %zu gives %zu %s values, "
		    "model input is %s (%zu)", frames, axes, n,
		    features_kind_name(m->kind),
		    tier2_model_shape(&m->in, shape, sizeof shape), m->in_n);
		return (-1);
	}
	if (features_compute(m->feat, values, frames, axes,
	    interval_us > UINT32_MAX ? UINT32_MAX : (uint32_t)interval_us,
	    m->x, n, &why) != 0)
		goto fail;
	if (m->in.dtype == TFLITE_INT8) {
		if (features_quantize(m->x, n, m->in.scale, m->in.zero_point,
		    tflite_model_input(m->tfl, 0)) < 0) {
			xasprintf(cause, "features not finite or input scale "
			    "invalid");
			return (-1);
		}
	} else
		memcpy(tflite_model_input(m->tfl, 0), m->x, n * sizeof *m->x);
	t1 = tier2_model_us();
	if (tflite_model_invoke(m->tfl, &why) != 0)
		goto fail;
	tier2_model_interpret(m, r);
	t2 = tier2_model_us();
	r->features_us = t1 - t0;
	r->invoke_us = t2 - t1;
	return (0);
fail:
	xasprintf(cause, "%s", why ? why : "failed");
	free(why);
	return (-1);
}
