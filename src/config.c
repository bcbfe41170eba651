/*
 * config.c - load and validate tinyedge.ini.
 *
 * Every key is a row of config_keys[] (config_keys.c): section, name, type,
 * default, bounds, flags and help.  Loading never stops at the first
 * problem: each one is collected as "FILE:LINE: message" and the whole list
 * is returned, so `tinyedged -t` shows a user everything to fix in one go.
 *
 * inih does the INI syntax, but it gives handlers no line numbers and it
 * has no notion of a section without keys, so we feed it through our own
 * reader (ini_parse_stream): the reader counts lines, checks their length
 * and shape, registers section headers as it sees them, and hands inih a
 * canonical line.  The handler then knows exactly which line it is on.
 */
#include <ctype.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <ini.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "config_int.h"
#include "log.h"
#include "parse.h"
#include "xmalloc.h"



struct config_sect {
	char				*name;	/* "mqtt" or "serial:usb0" */
	const struct config_stype	*type;	/* NULL: unknown (ignored) */
	int				 line;	/* 0: implicit */
	struct config_value		*values; /* indexed like config_keys */
	struct config_node_setting	*settings; /* [node:GLOB]: free keys */
	size_t				 nsettings;
};

struct config {
	char			 *path;
	struct config_sect	 *sects;
	size_t			  nsects;
	char			**errors;
	size_t			  nerrors;
	char			**names[16];	/* config_sections() per stype */
	size_t			  nnames[16];
	struct config_node	 *nodes;	/* config_nodes() */
	size_t			  nnodes;
};

#define NSTYPES config_nstypes
#define NKEYS config_nkeys


/* Reader state shared by config_read_line() and config_handler(). */
struct config_reader {
	struct config		*cf;
	const char		*buf;
	size_t			 len;
	size_t			 pos;
	int			 line;
	struct config_sect	*cur;
};

/* Record one "FILE:LINE: message" error. */
static void __attribute__((format(printf, 3, 4)))
config_error(struct config *cf, int line, const char *fmt, ...)
{
	va_list	 ap;
	char	*msg;

	va_start(ap, fmt);
	xvasprintf(&msg, fmt, ap);
	va_end(ap);
	cf->errors = xreallocarray(cf->errors, cf->nerrors + 1,
	    sizeof *cf->errors);
	xasprintf(&cf->errors[cf->nerrors++], "%s:%d: %s", cf->path,
	    line > 0 ? line : 1, msg);
	free(msg);
}

/* Find a section by full name; NULL if absent. */
static struct config_sect *
config_find_sect(const struct config *cf, const char *name)
{
	size_t	i;

	for (i = 0; i < cf->nsects; i++) {
		if (strcmp(cf->sects[i].name, name) == 0)
			return (&cf->sects[i]);
	}
	return (NULL);
}

/* Append a section. */
static struct config_sect *
config_add_sect(struct config *cf, const char *name,
    const struct config_stype *type, int line)
{
	struct config_sect	*s;

	cf->sects = xreallocarray(cf->sects, cf->nsects + 1,
	    sizeof *cf->sects);
	s = &cf->sects[cf->nsects++];
	s->name = xstrdup(name);
	s->type = type;
	s->line = line;
	s->values = xcalloc(NKEYS, sizeof *s->values);
	s->settings = NULL;
	s->nsettings = 0;
	return (s);
}

/* Find a key of a section type; -1 if none. */
static int
config_find_key(const char *stype, const char *name)
{
	size_t	i;

	for (i = 0; i < NKEYS; i++) {
		if (strcmp(config_keys[i].section, stype) == 0 &&
		    strcmp(config_keys[i].name, name) == 0)
			return ((int)i);
	}
	return (-1);
}

/* How many sections of a type there are so far. */
static size_t
config_count_type(const struct config *cf, const struct config_stype *st)
{
	size_t	i, n = 0;

	for (i = 0; i < cf->nsects; i++) {
		if (cf->sects[i].type == st)
			n++;
	}
	return (n);
}

/*
 * The length of a header line up to its closing ']', a trailing comment
 * left out; 0 when there is none.  A glob may hold ']' itself
 * ([node:line[12]-*]), so it is the last one before any comment.
 */
static size_t
config_header_len(const char *p, size_t n)
{
	size_t	i, end = 0;

	for (i = 1; i < n; i++) {
		if ((p[i] == ';' || p[i] == '#') && end != 0)
			break;
		if (p[i] == ']')
			end = i + 1;
	}
	return (end);
}

/* Handle a "[...]" header seen by the reader on the current line. */
static void
config_section_header(struct config_reader *r, const char *inner)
{
	struct config			*cf = r->cf;
	const struct config_stype	*st = NULL;
	struct config_sect		*s;
	const char			*colon;
	char				*type, *cause = NULL;
	size_t				 i;

	colon = strchr(inner, ':');
	type = colon ? xstrndup(inner, (size_t)(colon - inner)) :
	    xstrdup(inner);
	for (i = 0; i < NSTYPES; i++) {
		if (strcmp(config_stypes[i].name, type) == 0)
			st = &config_stypes[i];
	}
	r->cur = NULL;
	if (st == NULL) {
		config_error(cf, r->line, "unknown section [%s]", inner);
		goto bad;
	}
	if (st->repeatable && colon == NULL) {
		config_error(cf, r->line, "section [%s] needs a name: "
		    "[%s:NAME]", inner, type);
		goto bad;
	}
	if (!st->repeatable && colon != NULL) {
		config_error(cf, r->line, "section [%s] takes no name", type);
		goto bad;
	}
	if (colon != NULL && (st->glob ? config_node_check_glob(colon + 1,
	    &cause) : parse_id(colon + 1, 64, "_.-", &cause)) != 0) {
		config_error(cf, r->line, "section [%s]: name %s", inner,
		    cause);
		free(cause);
		goto bad;
	}
	s = config_find_sect(cf, inner);
	if (s != NULL && s->line != 0) {
		config_error(cf, r->line, "duplicate section [%s] (first on "
		    "line %d)", inner, s->line);
		goto bad;
	}
	if (s == NULL && st->glob && config_count_type(cf, st) >=
	    CONFIG_NODES_MAX) {
		config_error(cf, r->line, "more than %d [%s:...] sections",
		    CONFIG_NODES_MAX, type);
		goto bad;
	}
	if (s == NULL)
		s = config_add_sect(cf, inner, st, r->line);
	s->line = r->line;
	r->cur = s;
	free(type);
	return;
bad:
	/* Keys of a rejected section are ignored: one error is enough. */
	r->cur = config_add_sect(cf, "", NULL, r->line);
	free(type);
}

/*
 * inih reader: hand over one line at a time, counting lines.  Lines that
 * are too long or have no INI shape are reported here and replaced by an
 * empty line; section headers are registered and passed on canonically.
 */
static char *
config_read_line(char *str, int num, void *stream)
{
	struct config_reader	*r = stream;
	const char		*p, *e, *nl;
	size_t			 n, max;
	char			*inner, *t;

	if (r->pos >= r->len)
		return (NULL);
	p = r->buf + r->pos;
	nl = memchr(p, '\n', r->len - r->pos);
	e = nl ? nl : r->buf + r->len;
	r->pos = (size_t)(e - r->buf) + (nl ? 1 : 0);
	r->line++;
	if (e > p && e[-1] == '\r')
		e--;
	n = (size_t)(e - p);
	max = (size_t)num - 3;
	str[0] = '\n';
	str[1] = '\0';
	if (memchr(p, '\0', n) != NULL) {
		config_error(r->cf, r->line, "NUL byte in line");
		return (str);
	}
	if (n > max) {
		config_error(r->cf, r->line, "line too long (more than %zu "
		    "characters)", max);
		return (str);
	}
	while (n > 0 && isspace((unsigned char)*p)) {
		p++;
		n--;
	}
	while (n > 0 && isspace((unsigned char)p[n - 1]))
		n--;
	if (n == 0 || *p == ';' || *p == '#')
		return (str);
	if (*p == '[') {
		/* Allow a trailing comment after the header. */
		if ((n = config_header_len(p, n)) == 0) {
			config_error(r->cf, r->line, "section header without "
			    "closing ]");
			return (str);
		}
		inner = xstrndup(p + 1, n - 2);
		for (t = inner; isspace((unsigned char)*t); t++)
			;
		memmove(inner, t, strlen(t) + 1);
		while (*inner != '\0' &&
		    isspace((unsigned char)inner[strlen(inner) - 1]))
			inner[strlen(inner) - 1] = '\0';
		config_section_header(r, inner);
		snprintf(str, (size_t)num, "[%s]\n", inner);
		free(inner);
		return (str);
	}
	if (memchr(p, '=', n) == NULL) {
		config_error(r->cf, r->line, "expected \"key = value\" or "
		    "\"[section]\"");
		return (str);
	}
	memcpy(str, p, n);
	str[n] = '\n';
	str[n + 1] = '\0';
	return (str);
}

/* inih handler: one key = value on line r->line. */
static int
config_handler(void *user, const char *section, const char *name,
    const char *value)
{
	struct config_reader	*r = user;
	struct config_sect	*s = r->cur;
	struct config_value	*v;
	char			*cause = NULL;
	int			 ki;

	(void)section;
	if (s == NULL) {
		config_error(r->cf, r->line, "\"%s\" is outside any section",
		    name);
		return (1);
	}
	if (s->type == NULL)
		return (1);
	if ((ki = config_find_key(s->type->name, name)) == -1 &&
	    s->type->glob) {
		/* A node setting: every key is free (SPEC 9.1). */
		if (config_node_add(&s->settings, &s->nsettings, name, value,
		    r->line, &cause) != 0) {
			config_error(r->cf, r->line, "[%s]: %s", s->name,
			    cause);
			free(cause);
		}
		return (1);
	}
	if (ki == -1) {
		config_error(r->cf, r->line, "unknown key \"%s\" in [%s]",
		    name, s->name);
		return (1);
	}
	v = &s->values[ki];
	if (v->set) {
		config_error(r->cf, r->line, "duplicate key \"%s\" in [%s] "
		    "(first on line %d)", name, s->name, v->line);
		return (1);
	}
	v->set = 1;
	v->line = r->line;
	if (config_value_parse(&config_keys[ki], value, v, &cause) != 0) {
		config_error(r->cf, r->line, "%s.%s: %s", s->type->name, name,
		    cause);
		free(cause);
		v->set = 2;	/* set, but invalid: no "required" error */
	}
	return (1);
}

/* Fill defaults and report missing required keys. */
static void
config_finish_sect(struct config *cf, struct config_sect *s)
{
	const struct config_key	*k;
	struct config_value	*v;
	char			*cause = NULL;
	size_t			 i;

	for (i = 0; i < NKEYS; i++) {
		k = &config_keys[i];
		if (strcmp(k->section, s->type->name) != 0)
			continue;
		v = &s->values[i];
		if (v->set)
			continue;
		if (k->flags & CF_REQUIRED) {
			config_error(cf, s->line, "[%s] needs \"%s\" (%s)",
			    s->name, k->name, k->help);
			continue;
		}
		if (config_value_parse(k, k->def, v, &cause) != 0)
			fatalx("config: bad default for %s.%s: %s", k->section,
			    k->name, cause);
	}
	if (s->type->glob && config_node_check_size(s->settings, s->nsettings,
	    &cause) != 0) {
		config_error(cf, s->line, "[%s]: %s", s->name, cause);
		free(cause);
	}
}

/* Set a string value that defaults from another (client_id, prefix). */
static void
config_derive(struct config *cf, const char *sect, const char *key,
    const char *prefix, const char *arg)
{
	struct config_sect	*s = config_find_sect(cf, sect);
	struct config_value	*v = &s->values[config_find_key(sect, key)];

	if (v->text != NULL && *v->text != '\0')
		return;
	free(v->text);
	xasprintf(&v->text, "%s%s", prefix, arg);
}

/*
 * The [mqtt] defaults made from the gateway's id: client id tinyedge-ID
 * and prefix tinyedge/ID, or with gateway.site set (a fleet, SPEC 15)
 * the id itself and tinyedge/SITE/ID.
 */
static void
config_derive_mqtt(struct config *cf)
{
	const char	*id = config_str(cf, "gateway", "id");
	const char	*site = config_str(cf, "gateway", "site");
	char		*prefix;

	if (*site == '\0') {
		config_derive(cf, "mqtt", "client_id", "tinyedge-", id);
		config_derive(cf, "mqtt", "topic_prefix", "tinyedge/", id);
		return;
	}
	config_derive(cf, "mqtt", "client_id", "", id);
	xasprintf(&prefix, "tinyedge/%s/", site);
	config_derive(cf, "mqtt", "topic_prefix", prefix, id);
	free(prefix);
}

/* Checks that span keys. */
static void
config_cross_checks(struct config *cf)
{
	const char	*dtls = config_str(cf, "coap", "dtls_listen");
	const char	*uri = config_str(cf, "mqtt", "uri");

	if (*dtls != '\0' && *config_str(cf, "coap", "psk_file") == '\0')
		config_error(cf, config_line(cf, "coap", "dtls_listen"),
		    "coap.dtls_listen needs coap.psk_file");
	if (config_bool(cf, "coap", "require_dtls") && *dtls == '\0')
		config_error(cf, config_line(cf, "coap", "require_dtls"),
		    "coap.require_dtls needs coap.dtls_listen");
	if (strncmp(uri, "ssl://", 6) != 0 &&
	    (*config_str(cf, "mqtt", "ca_file") != '\0' ||
	    *config_str(cf, "mqtt", "cert_file") != '\0'))
		config_error(cf, config_line(cf, "mqtt", "ca_file"),
		    "mqtt.ca_file/cert_file need an ssl:// uri");
	if ((*config_str(cf, "mqtt", "cert_file") == '\0') !=
	    (*config_str(cf, "mqtt", "key_file") == '\0'))
		config_error(cf, config_line(cf, "mqtt", "cert_file"),
		    "mqtt.cert_file and mqtt.key_file go together");
}

/*
 * Files the daemon opens (secrets, TLS material) must be readable by the
 * user running the check: under systemd ExecStartPre= runs as the same
 * dynamic user as the daemon, so a root-owned 0600 key fails here rather
 * than at start or, worse, at the first SIGHUP.  Tier-2 model files are
 * not CF_FILE: they may be installed later (docs/tier2.md).
 */
static void
config_check_files(struct config *cf)
{
	const struct config_value	*v;
	struct stat			 sb;
	size_t				 i, k;
	int				 fd;

	for (i = 0; i < cf->nsects; i++) {
		if (cf->sects[i].type == NULL)
			continue;
		for (k = 0; k < NKEYS; k++) {
			v = &cf->sects[i].values[k];
			if (!(config_keys[k].flags & CF_FILE) || v->set != 1 ||
			    v->text == NULL || *v->text == '\0' ||
			    strcmp(config_keys[k].section,
			    cf->sects[i].type->name) != 0)
				continue;
			fd = open(v->text, O_RDONLY | O_NOCTTY | O_NONBLOCK |
			    O_CLOEXEC);
			if (fd == -1) {
				config_error(cf, v->line, "cannot read %s: %s",
				    v->text, strerror(errno));
				continue;
			}
			if (fstat(fd, &sb) == 0 && S_ISDIR(sb.st_mode))
				config_error(cf, v->line, "cannot read %s: %s",
				    v->text, strerror(EISDIR));
			close(fd);
		}
	}
}

/* Add a [node:GLOB] section to the list config_nodes() returns. */
static void
config_index_node(struct config *cf, const struct config_sect *s)
{
	struct config_node		*n;
	const struct config_value	*v;

	v = &s->values[config_find_key(s->type->name, "model")];
	cf->nodes = xreallocarray(cf->nodes, cf->nnodes + 1,
	    sizeof *cf->nodes);
	n = &cf->nodes[cf->nnodes++];
	n->glob = strchr(s->name, ':') + 1;
	n->model = v->set ? v->text : NULL;
	n->settings = s->settings;
	n->nsettings = s->nsettings;
	n->line = s->line;
}

/* Build the per-type name lists for config_sections(), and the nodes. */
static void
config_index_sections(struct config *cf)
{
	size_t	i, t;

	for (i = 0; i < cf->nsects; i++) {
		if (cf->sects[i].type == NULL)
			continue;
		t = (size_t)(cf->sects[i].type - config_stypes);
		cf->names[t] = xreallocarray(cf->names[t], cf->nnames[t] + 1,
		    sizeof *cf->names[t]);
		cf->names[t][cf->nnames[t]++] = cf->sects[i].name;
		if (cf->sects[i].type->glob)
			config_index_node(cf, &cf->sects[i]);
	}
}

/*
 * Load and validate a file.  On any problem return -1 with *cause holding
 * every "FILE:LINE: message", one per line.
 */
int
config_load(const char *path, struct config **cfp, char **cause)
{
	struct config		*cf;
	struct config_reader	 r;
	char			*buf, *all;
	size_t			 len, i;
	int			 rc;

	*cfp = NULL;
	if ((buf = config_slurp(path, &len, cause)) == NULL)
		return (-1);
	cf = xcalloc(1, sizeof *cf);
	cf->path = xstrdup(path);
	for (i = 0; i < NSTYPES; i++) {
		if (!config_stypes[i].repeatable)
			config_add_sect(cf, config_stypes[i].name,
			    &config_stypes[i], 0);
	}

	ini_allow_multiline = false;
	ini_allow_inline_comments = true;
	ini_inline_comment_prefixes = ";#";
	memset(&r, 0, sizeof r);
	r.cf = cf;
	r.buf = buf;
	r.len = len;
	if (len >= 3 && memcmp(buf, "\xEF\xBB\xBF", 3) == 0)
		r.pos = 3;
	rc = ini_parse_stream(config_read_line, &r, config_handler, &r);
	if (rc > 0 && cf->nerrors == 0)
		config_error(cf, rc, "syntax error");
	free(buf);

	for (i = 0; i < cf->nsects; i++) {
		if (cf->sects[i].type != NULL)
			config_finish_sect(cf, &cf->sects[i]);
	}
	if (cf->nerrors == 0) {
		config_derive_mqtt(cf);
		config_cross_checks(cf);
	}
	config_check_files(cf);
	if (cf->nerrors != 0) {
		all = NULL;
		for (i = 0; i < cf->nerrors; i++)
			config_cause_add(&all, "%s", cf->errors[i]);
		*cause = all;
		config_free(cf);
		return (-1);
	}
	config_index_sections(cf);
	*cfp = cf;
	return (0);
}

/* Free a configuration. */
void
config_free(struct config *cf)
{
	size_t	i, j;

	if (cf == NULL)
		return;
	for (i = 0; i < cf->nsects; i++) {
		for (j = 0; j < NKEYS; j++)
			config_value_clear(&cf->sects[i].values[j]);
		free(cf->sects[i].values);
		free(cf->sects[i].name);
		config_node_free(cf->sects[i].settings, cf->sects[i].nsettings);
	}
	for (i = 0; i < cf->nerrors; i++)
		free(cf->errors[i]);
	for (i = 0; i < NSTYPES; i++)
		free(cf->names[i]);
	free(cf->errors);
	free(cf->nodes);
	free(cf->sects);
	free(cf->path);
	free(cf);
}

/* The file this configuration came from. */
const char *
config_path(const struct config *cf)
{
	return (cf->path);
}

/* Look up a value; unknown section type or key is a programming error. */
static const struct config_value *
config_get(const struct config *cf, const char *sect, const char *key,
    enum config_type type)
{
	const struct config_sect	*s;
	int				 ki;

	s = config_find_sect(cf, sect);
	if (s == NULL || s->type == NULL)
		fatalx("config: no section [%s]", sect);
	ki = config_find_key(s->type->name, key);
	if (ki == -1)
		fatalx("config: no key %s.%s", sect, key);
	if (config_keys[ki].type != type && !(type == CT_STRING))
		fatalx("config: %s.%s read with the wrong type", sect, key);
	return (&s->values[ki]);
}

/* A value as text (every type has one). */
const char *
config_str(const struct config *cf, const char *sect, const char *key)
{
	const char	*t = config_get(cf, sect, key, CT_STRING)->text;

	return (t != NULL ? t : "");
}

/* An integer (CT_INT). */
int64_t
config_int(const struct config *cf, const char *sect, const char *key)
{
	return (config_get(cf, sect, key, CT_INT)->i);
}

/* A duration in milliseconds. */
uint64_t
config_ms(const struct config *cf, const char *sect, const char *key)
{
	return (config_get(cf, sect, key, CT_DURATION)->u);
}

/* A size in bytes. */
uint64_t
config_bytes(const struct config *cf, const char *sect, const char *key)
{
	return (config_get(cf, sect, key, CT_SIZE)->u);
}

/* A decimal number. */
double
config_double(const struct config *cf, const char *sect, const char *key)
{
	return (config_get(cf, sect, key, CT_DOUBLE)->d);
}

/* A boolean as 0 or 1. */
int
config_bool(const struct config *cf, const char *sect, const char *key)
{
	return ((int)config_get(cf, sect, key, CT_BOOL)->i);
}

/* An enum key as the index of its name in the row's choices. */
int
config_enum(const struct config *cf, const char *sect, const char *key)
{
	return ((int)config_get(cf, sect, key, CT_ENUM)->i);
}

/* A list; *n gets its length. */
char *const *
config_list(const struct config *cf, const char *sect, const char *key,
    size_t *n)
{
	const struct config_value	*v;

	v = config_get(cf, sect, key, CT_LIST);
	*n = v->nlist;
	return (v->list);
}

/* A host:port as a socket address; NULL when empty (off). */
const struct sockaddr *
config_addr(const struct config *cf, const char *sect, const char *key)
{
	const struct config_value	*v;

	v = config_get(cf, sect, key, CT_HOSTPORT);
	return (v->has_addr ? (const struct sockaddr *)&v->ss : NULL);
}

/* The line a key was set on, else its section's line, else 0. */
int
config_line(const struct config *cf, const char *sect, const char *key)
{
	const struct config_sect	*s = config_find_sect(cf, sect);
	const struct config_value	*v;

	v = config_get(cf, sect, key, CT_STRING);
	return (v->line ? v->line : (s ? s->line : 0));
}

/* Full names of the sections of a repeatable type ("serial"). */
const char *const *
config_sections(const struct config *cf, const char *type, size_t *n)
{
	size_t	i;

	for (i = 0; i < NSTYPES; i++) {
		if (strcmp(config_stypes[i].name, type) == 0) {
			*n = cf->nnames[i];
			return ((const char *const *)cf->names[i]);
		}
	}
	fatalx("config: no section type %s", type);
}

/* The [node:GLOB] sections in file order; *n gets their number. */
const struct config_node *
config_nodes(const struct config *cf, size_t *n)
{
	*n = cf->nnodes;
	return (cf->nodes);
}

/*
 * Compare two configurations.  cb(section, key, reloadable, arg) is called
 * for each changed key (key NULL: a repeatable section came or went).
 * Returns the number of changes that need a restart.
 */
int
config_diff(const struct config *old, const struct config *new,
    config_change_cb cb, void *arg)
{
	const struct config_sect	*a, *b;
	const char			*ta, *tb, *key;
	size_t				 i, j;
	int				 restart = 0, reload;

	for (i = 0; i < new->nsects; i++) {
		b = &new->sects[i];
		a = config_find_sect(old, b->name);
		/*
		 * Node sections are settings, and BLE links and learners are
		 * started and stopped by SIGHUP: those come and go at once.
		 */
		reload = b->type->reload;
		if (a == NULL) {
			cb(b->name, NULL, reload, arg);
			restart += !reload;
			continue;
		}
		if (!config_node_same(a->settings, a->nsettings, b->settings,
		    b->nsettings, &key))
			cb(b->name, key, 1, arg);
		for (j = 0; j < NKEYS; j++) {
			if (strcmp(config_keys[j].section, b->type->name) != 0)
				continue;
			ta = a->values[j].text ? a->values[j].text : "";
			tb = b->values[j].text ? b->values[j].text : "";
			if (strcmp(ta, tb) == 0)
				continue;
			reload = (config_keys[j].flags & CF_RELOAD) != 0;
			cb(b->name, config_keys[j].name, reload, arg);
			if (!reload)
				restart++;
		}
	}
	for (i = 0; i < old->nsects; i++) {
		if (config_find_sect(new, old->sects[i].name) == NULL) {
			reload = old->sects[i].type->reload;
			cb(old->sects[i].name, NULL, reload, arg);
			restart += !reload;
		}
	}
	return (restart);
}
