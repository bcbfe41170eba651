/*
 * control_doc.c - the settings document of one node, computed from the
 * [node:GLOB] sections that match it (file order, later ones win), its
 * overrides (a merge patch, control_merge.c) and its model assignment
 * resolved through models_find().  No state: control.c decides what a
 * changed document means (a new rev).
 */
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>
#include <openssl/evp.h>

#include "config.h"
#include "control.h"
#include "control_int.h"
#include "log.h"
#include "models.h"
#include "xmalloc.h"

/* A JSON object that cJSON failed to make: only out of memory. */
cJSON *
control_obj(void)
{
	cJSON	*o = cJSON_CreateObject();

	if (o == NULL)
		fatalx("control: out of memory");
	return (o);
}

/* Print v compactly (caller frees). */
char *
control_print(const cJSON *v)
{
	char	*s = cJSON_PrintUnformatted(v);

	if (s == NULL)
		fatalx("control: out of memory");
	return (s);
}

/* Lowercase hex SHA-256 of text. */
static void
control_digest(const char *text, char out[65])
{
	unsigned char	md[EVP_MAX_MD_SIZE];
	unsigned int	n = 0, i;

	if (EVP_Digest(text, strlen(text), md, &n, EVP_sha256(), NULL) != 1 ||
	    n != 32)
		fatalx("control: SHA-256 failed");
	for (i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
}

/* Merge one [node:GLOB] section into doc: its settings, then its model. */
static void
control_merge_section(cJSON *doc, const struct config_node *sec)
{
	const struct config_node_setting	*st;
	cJSON					*v;
	size_t					 i;

	for (i = 0; i < sec->nsettings; i++) {
		st = &sec->settings[i];
		if (st->type == CONFIG_NODE_NUMBER)
			v = cJSON_CreateNumber(st->number);
		else if (st->type == CONFIG_NODE_BOOL)
			v = cJSON_CreateBool(st->boolean);
		else
			v = cJSON_CreateString(st->text);
		if (v == NULL)
			fatalx("control: out of memory");
		/* A key keeps the place where a section first set it. */
		if (cJSON_GetObjectItemCaseSensitive(doc, st->key) != NULL)
			cJSON_ReplaceItemInObjectCaseSensitive(doc, st->key, v);
		else
			cJSON_AddItemToObject(doc, st->key, v);
	}
	if (sec->model == NULL)
		return;
	cJSON_DeleteItemFromObjectCaseSensitive(doc, "model");
	if (*sec->model != '\0')
		cJSON_AddStringToObject(doc, "model", sec->model);
}

/* Put the object of model want (NAME or NAME@VERSION) into cd if known. */
static void
control_resolve(struct control_doc *cd)
{
	struct models_info	 info;
	cJSON			*m;
	char			*name, *at, *uri;

	name = xstrdup(cd->want);
	if ((at = strchr(name, '@')) != NULL)
		*at++ = '\0';
	if (models_find(name, at, &info) != 0) {
		free(name);
		return;
	}
	m = control_obj();
	cJSON_AddStringToObject(m, "name", info.name);
	cJSON_AddStringToObject(m, "version", info.version);
	cJSON_AddStringToObject(m, "sha256", info.sha256);
	cJSON_AddNumberToObject(m, "size", (double)info.size);
	xasprintf(&uri, "/v1/models/%s?v=%s", info.name, info.version);
	cJSON_AddStringToObject(m, "uri", uri);
	free(uri);
	cJSON_AddItemToObject(cd->doc, "model", m);
	xasprintf(&cd->model, "%s@%s", info.name, info.version);
	free(name);
}

/*
 * Compute node's document from the configuration cf and overrides (NULL:
 * none).  Settings that pass their bound (several sections together can)
 * are replaced by an "error"; the model object is added after that check.
 */
void
control_compute(const struct config *cf, const char *node,
    const cJSON *overrides, struct control_doc *cd)
{
	const struct config_node	*secs;
	cJSON				*m;
	char				*text;
	size_t				 n = 0, i;

	memset(cd, 0, sizeof *cd);
	cd->doc = control_obj();
	secs = cf != NULL ? config_nodes(cf, &n) : NULL;
	for (i = 0; i < n; i++) {
		if (fnmatch(secs[i].glob, node, 0) == 0)
			control_merge_section(cd->doc, &secs[i]);
	}
	if (overrides != NULL && cJSON_GetArraySize(overrides) > 0 &&
	    control_merge_patch(&cd->doc, overrides) != 0)
		log_warnx("control: %s: overrides nested too deep",
		    control_esc(node));
	/* Overrides were checked when set: a bad model is only dropped. */
	m = cJSON_DetachItemFromObjectCaseSensitive(cd->doc, "model");
	if (cJSON_IsString(m)) {
		if (config_node_model_check(m->valuestring, &text) == 0)
			cd->want = xstrdup(m->valuestring);
		else
			free(text);
	}
	cJSON_Delete(m);
	text = control_print(cd->doc);
	cd->settings_len = strlen(text);
	free(text);
	if (cd->settings_len > CONFIG_NODE_SETTINGS_MAX) {
		cJSON_Delete(cd->doc);
		cd->doc = control_obj();
		cJSON_AddStringToObject(cd->doc, "error", CONTROL_TOO_LARGE);
	}
	if (cd->want != NULL)
		control_resolve(cd);
	cd->text = control_print(cd->doc);
	control_digest(cd->text, cd->digest);
}

/* Free what a computed document holds. */
void
control_doc_free(struct control_doc *cd)
{
	cJSON_Delete(cd->doc);
	free(cd->text);
	free(cd->want);
	free(cd->model);
}
