/*
 * main.c - tinyedged command line (SPEC section 1).
 *
 * Parses the options, loads the configuration (every problem printed as
 * FILE:LINE: message, exit 1), and either stops there (-t) or hands the
 * configuration to the daemon.  Never forks: systemd supervises us.
 * Files are created owner-only (umask 077) before anything else runs.
 */
#include <sys/stat.h>

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "daemon.h"
#include "log.h"

#define DEFAULT_CONFIG SYSCONFDIR "/tinyedge/tinyedge.ini"

/* Print usage to f. */
static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: tinyedged [-c FILE] [-t] [-V] [-h]\n"
	    "  -c, --config FILE     configuration (default %s)\n"
	    "  -t, --check-config    validate the configuration and exit\n"
	    "  -V, --version         print the version and exit\n"
	    "  -h, --help            print this help and exit\n",
	    DEFAULT_CONFIG);
}

/* Entry point: options, configuration, then the daemon's loop. */
int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "check-config", no_argument, NULL, 't' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char	*path = DEFAULT_CONFIG;
	struct config	*cf;
	char		*cause = NULL, *nl;
	int		 ch, check = 0, rv;

	/*
	 * Everything we create (store, journal, WAL) holds readings nobody
	 * else should see: owner-only, whoever starts us and whatever their
	 * umask (the unit's UMask=0077 says the same under systemd).
	 */
	umask(077);
	log_init("tinyedged");
	while ((ch = getopt_long(argc, argv, "c:tVh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			path = optarg;
			break;
		case 't':
			check = 1;
			break;
		case 'V':
			printf("tinyedged %s\n", PACKAGE_VERSION);
			return (DAEMON_EXIT_OK);
		case 'h':
			usage(stdout);
			return (DAEMON_EXIT_OK);
		default:
			usage(stderr);
			return (DAEMON_EXIT_USAGE);
		}
	}
	if (optind != argc) {
		fprintf(stderr, "tinyedged: unexpected argument \"%s\"\n",
		    argv[optind]);
		usage(stderr);
		return (DAEMON_EXIT_USAGE);
	}

	if (config_load(path, &cf, &cause) != 0 ||
	    daemon_check_config(cf, &cause) != 0) {
		config_free(cf);
		fprintf(stderr, "%s\n", cause);
		free(cause);
		return (DAEMON_EXIT_CONFIG);
	}
	if (check) {
		config_free(cf);
		printf("configuration OK\n");
		return (DAEMON_EXIT_OK);
	}
	rv = daemon_run(cf, &cause);
	if (rv == DAEMON_EXIT_START) {
		/* A cause may span lines (several bad psk_file lines). */
		nl = strchr(cause, '\n');
		log_error("cannot start: %.*s", nl != NULL ? (int)(nl - cause) :
		    (int)strlen(cause), cause);
		if (nl != NULL)
			log_error_lines(nl + 1);
		free(cause);
	}
	return (rv);
}
