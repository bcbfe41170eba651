/*
 * log.c - leveled logging to stderr, journal-aware.
 *
 * systemd connects a service's stderr to the journal and sets JOURNAL_STREAM
 * to "DEV:INODE" of that stream.  Only when stderr really is that stream do we
 * prefix lines with "<N>" so journald records the priority; a user running
 * the daemon in a terminal sees "warning: ..." instead.  log_warn() appends
 * strerror(errno); the others do not.  fatal()/fatalx() log at error level
 * and exit 1.
 *
 * Much of what is logged comes from peers (node ids, PSK identities,
 * diagnostics quoting a body).  So every formatted line is made printable
 * before it is written: a control byte, DEL or a byte over 0x7e becomes
 * \xNN, and a peer can neither forge a second line (nor a "<0>" journal
 * prefix) nor put raw binary in the journal.  log_escape() does the same
 * for a counted buffer that is not a C string.
 */
#include <sys/stat.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

static enum log_level	 log_level = LOG_LEVEL_INFO;
static int		 log_journal;
static const char	*log_progname = "tinyedged";

/* Decide once whether stderr is the journal. */
void
log_init(const char *progname)
{
	const char		*js;
	struct stat		 sb;
	unsigned long long	 dev, ino;

	if (progname != NULL)
		log_progname = progname;
	log_journal = 0;
	js = getenv("JOURNAL_STREAM");
	if (js == NULL || sscanf(js, "%llu:%llu", &dev, &ino) != 2)
		return;
	if (fstat(fileno(stderr), &sb) == 0 &&
	    (unsigned long long)sb.st_dev == dev &&
	    (unsigned long long)sb.st_ino == ino)
		log_journal = 1;
}

/* Set the most verbose level that is printed. */
void
log_set_level(enum log_level level)
{
	log_level = level;
}

/* Return the current level. */
enum log_level
log_get_level(void)
{
	return (log_level);
}

/* Map "error|warn|info|debug" to a level; -1 if unknown. */
int
log_level_from_name(const char *name, enum log_level *level)
{
	static const struct {
		const char	*name;
		enum log_level	 level;
	} names[] = {
		{ "error", LOG_LEVEL_ERROR },
		{ "warn", LOG_LEVEL_WARN },
		{ "info", LOG_LEVEL_INFO },
		{ "debug", LOG_LEVEL_DEBUG },
	};
	size_t	i;

	for (i = 0; i < sizeof names / sizeof names[0]; i++) {
		if (strcmp(names[i].name, name) == 0) {
			*level = names[i].level;
			return (0);
		}
	}
	return (-1);
}

/* The config word for a level. */
const char *
log_level_name(enum log_level level)
{
	switch (level) {
	case LOG_LEVEL_ERROR:
		return ("error");
	case LOG_LEVEL_WARN:
		return ("warn");
	case LOG_LEVEL_INFO:
		return ("info");
	case LOG_LEVEL_DEBUG:
		return ("debug");
	}
	return ("info");
}

/*
 * The escaping of log_escape(); backslashes are doubled only when asked,
 * so a line the daemon formatted keeps its own.
 */
static char *
log_escape_bytes(char *dst, size_t dstsz, const void *src, size_t len,
    int backslash)
{
	static const char	 hex[] = "0123456789abcdef";
	const unsigned char	*p = src;
	size_t			 i, o = 0;

	if (dstsz == 0)
		return (dst);
	for (i = 0; i < len; i++) {
		/* Room for the longest escape, "..." and the NUL. */
		if (o + 4 + 4 > dstsz) {
			if (dstsz >= 4) {
				if (o > dstsz - 4)
					o = dstsz - 4;
				memcpy(dst + o, "...", 3);
				o += 3;
			}
			break;
		}
		if (p[i] == '\\' && backslash) {
			dst[o++] = '\\';
			dst[o++] = '\\';
		} else if (p[i] < 0x20 || p[i] > 0x7e) {
			dst[o++] = '\\';
			dst[o++] = 'x';
			dst[o++] = hex[p[i] >> 4];
			dst[o++] = hex[p[i] & 0xf];
		} else
			dst[o++] = (char)p[i];
	}
	dst[o < dstsz ? o : dstsz - 1] = '\0';
	return (dst);
}

/*
 * Copy len bytes of src into dst (size dstsz) as printable text: bytes
 * outside 0x20..0x7e and the backslash become \xNN or \\; the copy ends
 * with "..." when it does not fit.  Returns dst.
 */
char *
log_escape(char *dst, size_t dstsz, const void *src, size_t len)
{
	return (log_escape_bytes(dst, dstsz, src, len, 1));
}

/* Make a formatted line printable in place (see the top of the file). */
static void
log_printable(char *msg, size_t size)
{
	char	tmp[1024];
	size_t	i, n = strlen(msg);

	for (i = 0; i < n; i++)
		if ((unsigned char)msg[i] < 0x20 ||
		    (unsigned char)msg[i] > 0x7e)
			break;
	if (i == n)
		return;
	log_escape_bytes(tmp, sizeof tmp, msg, n, 0);
	snprintf(msg, size, "%s", tmp);
}

/* Format and write one line; errnum >= 0 appends its strerror. */
static void __attribute__((format(printf, 3, 0)))
log_vwrite(enum log_level level, int errnum, const char *fmt, va_list ap)
{
	char		 msg[1024];
	const char	*word;

	if (level > log_level)
		return;
	vsnprintf(msg, sizeof msg, fmt, ap);
	log_printable(msg, sizeof msg);
	if (log_journal) {
		if (errnum >= 0)
			fprintf(stderr, "<%d>%s: %s\n", (int)level, msg,
			    strerror(errnum));
		else
			fprintf(stderr, "<%d>%s\n", (int)level, msg);
		return;
	}
	switch (level) {
	case LOG_LEVEL_ERROR:
		word = "error: ";
		break;
	case LOG_LEVEL_WARN:
		word = "warning: ";
		break;
	case LOG_LEVEL_DEBUG:
		word = "debug: ";
		break;
	default:
		word = "";
		break;
	}
	if (errnum >= 0)
		fprintf(stderr, "%s: %s%s: %s\n", log_progname, word, msg,
		    strerror(errnum));
	else
		fprintf(stderr, "%s: %s%s\n", log_progname, word, msg);
}

#define LOG_BODY(level, errnum) do {				\
	va_list	ap;						\
	int	saved = errno;					\
	va_start(ap, fmt);					\
	log_vwrite((level), (errnum), fmt, ap);			\
	va_end(ap);						\
	errno = saved;						\
} while (0)

/* Warning with strerror(errno) appended. */
void
log_warn(const char *fmt, ...)
{
	LOG_BODY(LOG_LEVEL_WARN, errno);
}

/* Warning without errno. */
void
log_warnx(const char *fmt, ...)
{
	LOG_BODY(LOG_LEVEL_WARN, -1);
}

/* Informational message. */
void
log_info(const char *fmt, ...)
{
	LOG_BODY(LOG_LEVEL_INFO, -1);
}

/* Debug message, only with log_level = debug. */
void
log_debug(const char *fmt, ...)
{
	LOG_BODY(LOG_LEVEL_DEBUG, -1);
}

/* Error that the daemon survives. */
void
log_error(const char *fmt, ...)
{
	LOG_BODY(LOG_LEVEL_ERROR, -1);
}

/*
 * Log each line of a multi-line cause (config or key-file problems, one
 * "FILE:LINE: message" per line) as its own error line.
 */
void
log_error_lines(const char *text)
{
	const char	*nl;

	while (*text != '\0') {
		nl = strchr(text, '\n');
		if (nl == NULL)
			nl = text + strlen(text);
		if (nl > text)
			log_error("%.*s", (int)(nl - text), text);
		text = *nl == '\n' ? nl + 1 : nl;
	}
}

/* Log an error with strerror(errno) and exit 1. */
void
fatal(const char *fmt, ...)
{
	LOG_BODY(LOG_LEVEL_ERROR, errno);
	exit(1);
}

/* Log an error and exit 1. */
void
fatalx(const char *fmt, ...)
{
	LOG_BODY(LOG_LEVEL_ERROR, -1);
	exit(1);
}
