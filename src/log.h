/*
 * log.h - the daemon's one logging API.
 *
 * Lines go to stderr.  When stderr is the systemd journal (JOURNAL_STREAM
 * matches stderr's device and inode) each line starts with the sd-daemon
 * priority prefix "<3>".."<7>"; on a terminal or a file it is plain text with
 * a level word.  Every function preserves errno.  Lines are made printable
 * (control and non-ASCII bytes become \xNN), so peer-controlled text cannot
 * forge lines; log_escape() does the same for a counted buffer.
 */
#ifndef TE_LOG_H
#define TE_LOG_H

#include <stdarg.h>

enum log_level {
	LOG_LEVEL_ERROR = 3,
	LOG_LEVEL_WARN = 4,
	LOG_LEVEL_INFO = 6,
	LOG_LEVEL_DEBUG = 7,
};

#define TE_PRINTF(a, b) __attribute__((format(printf, a, b)))

void	log_init(const char *progname);
void	log_set_level(enum log_level);
enum log_level log_get_level(void);
int	log_level_from_name(const char *, enum log_level *);
const char *log_level_name(enum log_level);

void	log_warn(const char *, ...) TE_PRINTF(1, 2);
void	log_warnx(const char *, ...) TE_PRINTF(1, 2);
void	log_info(const char *, ...) TE_PRINTF(1, 2);
void	log_debug(const char *, ...) TE_PRINTF(1, 2);
void	log_error(const char *, ...) TE_PRINTF(1, 2);
void	log_error_lines(const char *);
char	*log_escape(char *, size_t, const void *, size_t);
void	fatal(const char *, ...) TE_PRINTF(1, 2) __attribute__((noreturn));
void	fatalx(const char *, ...) TE_PRINTF(1, 2) __attribute__((noreturn));

#endif
