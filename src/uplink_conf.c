/*
 * uplink_conf.c - the uplink's [mqtt] settings: read once at start (only
 * command_max is reloadable, and uplink_reload() reads it again), the
 * password from its file with a warning when others may read it.  Kept
 * apart from uplink.c, which runs the client, so the client code reads as
 * its states.
 */
#include <sys/stat.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "log.h"
#include "uplink_int.h"
#include "xmalloc.h"

/* Read the password file's first line into c; NULL without a file. */
static int
uplink_conf_password(const char *path, struct uplink_conf *c, char **cause)
{
	struct stat	 sb;
	char		 buf[512];
	FILE		*f;

	if (*path == '\0')
		return (0);
	if ((f = fopen(path, "r")) == NULL) {
		xasprintf(cause, "mqtt.password_file %s: %s", path,
		    strerror(errno));
		return (-1);
	}
	if (fstat(fileno(f), &sb) == 0 && (sb.st_mode & 0004))
		log_warnx("uplink: %s is world-readable", path);
	if (fgets(buf, sizeof buf, f) == NULL)
		buf[0] = '\0';
	fclose(f);
	buf[strcspn(buf, "\r\n")] = '\0';
	c->password = xstrdup(buf);
	return (0);
}

/* Fill c from the [mqtt] section; -1 with *cause (c is then freed). */
int
uplink_conf_read(const struct config *cf, struct uplink_conf *c,
    char **cause)
{
	memset(c, 0, sizeof *c);
	c->uri = xstrdup(config_str(cf, "mqtt", "uri"));
	c->client_id = xstrdup(config_str(cf, "mqtt", "client_id"));
	c->prefix = xstrdup(config_str(cf, "mqtt", "topic_prefix"));
	xasprintf(&c->status_topic, "%s/status", c->prefix);
	c->username = xstrdup(config_str(cf, "mqtt", "username"));
	c->ca = xstrdup(config_str(cf, "mqtt", "ca_file"));
	c->cert = xstrdup(config_str(cf, "mqtt", "cert_file"));
	c->key = xstrdup(config_str(cf, "mqtt", "key_file"));
	c->qos = (int)config_int(cf, "mqtt", "qos");
	c->mqtt5 = config_enum(cf, "mqtt", "protocol") == CONFIG_PROTOCOL_5;
	c->keepalive_s = (int)(config_ms(cf, "mqtt", "keepalive") / 1000);
	c->max_inflight = (size_t)config_int(cf, "mqtt", "max_inflight");
	c->commands = config_bool(cf, "mqtt", "commands");
	c->command_max = (size_t)config_bytes(cf, "mqtt", "command_max");
	c->session_expiry_s = (uint32_t)(config_ms(cf, "mqtt",
	    "session_expiry") / 1000);
	if (uplink_conf_password(config_str(cf, "mqtt", "password_file"), c,
	    cause) != 0) {
		uplink_conf_free(c);
		return (-1);
	}
	return (0);
}

/*
 * Free every string and leave them NULL (uplink_prefix() callers test
 * for NULL after a stop).
 */
void
uplink_conf_free(struct uplink_conf *c)
{
	free(c->uri);
	free(c->client_id);
	free(c->prefix);
	free(c->status_topic);
	free(c->username);
	free(c->password);
	free(c->ca);
	free(c->cert);
	free(c->key);
	memset(c, 0, sizeof *c);
}
