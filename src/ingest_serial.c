/*
 * ingest_serial.c - serial ingest (SPEC section 4): one link per
 * [serial:NAME] section, a BLE-UART bridge or a USB CDC port.
 *
 * Each device is opened non-blocking and put in raw mode at its baud rate;
 * a uv_poll on the fd wakes us when bytes arrive, so there is no thread
 * and no busy loop.  The bytes go through a frame_reader (frame.c: lines
 * or COBS), and every complete line or frame through ingest_link.c (shared
 * with BLE links) to the message module and the store, as for CoAP.
 *
 * Hotplug: when the device vanishes (EOF, EIO, ENODEV, ENXIO) the link is
 * closed, which is logged once; the housekeeping check tries to open it
 * again every 2 s (quietly) and logs once when it is back.  A device
 * missing at start is the same "waiting" state, not an error; a path that
 * exists but is not a tty is a start error.
 *
 * Each link is a small state machine: every libuv callback and the
 * housekeeping check turn into an event for serial_event(), and only
 * serial_set_state() changes (and logs) the state.  A link is freed only
 * in its poll handle's close callback (or directly when it has none),
 * never from inside its own read path.
 */
#include <sys/ioctl.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <cJSON.h>
#include <uv.h>

#include "config.h"
#include "daemon.h"
#include "frame.h"
#include "ingest_link.h"
#include "ingest_serial.h"
#include "log.h"
#include "metrics.h"
#include "xmalloc.h"

#define SERIAL_RETRY_MS		2000	/* reopen period of a missing device */
#define SERIAL_RETRY_SLACK_MS	100	/* the check ticks about every 1 s */
#define SERIAL_READ_CHUNK	4096
#define SERIAL_READ_BUDGET	16	/* reads per wake-up, then yield */

enum serial_state {
	SERIAL_WAITING,		/* no device open: retry every 2 s */
	SERIAL_OPEN,		/* fd open and polled */
	SERIAL_CLOSING,		/* uv_close issued, waiting for its callback */
};

enum serial_event {
	SERIAL_EV_READABLE,	/* the poll fired (data, hangup or error) */
	SERIAL_EV_RETRY,	/* housekeeping: time to try the device */
	SERIAL_EV_CLOSED,	/* the poll handle finished closing */
	SERIAL_EV_STOP,		/* the daemon is stopping */
};

/* One serial link. */
struct serial_link {
	char			*name;		/* NAME of [serial:NAME] */
	char			*device;
	int			 baud;
	speed_t			 speed;
	enum serial_state	 state;
	int			 stopping;	/* free once closed */
	int			 fd;
	int			 ever_open;
	int			 last_errno;	/* of the last failed open */
	uint64_t		 retry_at;	/* loop ms of the next attempt */
	uv_poll_t		 poll;
	struct ingest_link	 il;		/* frames to messages */
	struct frame_reader	 reader;
};

static struct {
	struct serial_link	**links;
	size_t			  nlinks;
	int			  started;	/* start() succeeded */
} ports;

static void	serial_event(struct serial_link *, enum serial_event, int);

/* Standard rates (config.c accepts exactly these). */
static const struct {
	int	baud;
	speed_t	speed;
} serial_speeds[] = {
	{ 1200, B1200 }, { 2400, B2400 }, { 4800, B4800 }, { 9600, B9600 },
	{ 19200, B19200 }, { 38400, B38400 }, { 57600, B57600 },
	{ 115200, B115200 }, { 230400, B230400 }, { 460800, B460800 },
	{ 500000, B500000 }, { 576000, B576000 }, { 921600, B921600 },
};

/* The state's name, for logs. */
static const char *
serial_state_name(enum serial_state s)
{
	switch (s) {
	case SERIAL_WAITING:
		return ("waiting");
	case SERIAL_OPEN:
		return ("open");
	case SERIAL_CLOSING:
		return ("closing");
	}
	return ("?");
}

/* Is this errno "the device is gone" (as opposed to a real fault)? */
static int
serial_gone_errno(int err)
{
	return (err == 0 || err == EIO || err == ENODEV || err == ENXIO ||
	    err == ENOENT);
}

/* Change a link's state; every transition worth a line is logged here. */
static void
serial_set_state(struct serial_link *l, enum serial_state to, int err)
{
	enum serial_state	from = l->state;

	l->state = to;
	if (l->stopping) {
		log_debug("serial %s: %s -> %s", l->name,
		    serial_state_name(from), serial_state_name(to));
		return;
	}
	if (from == SERIAL_WAITING && to == SERIAL_OPEN) {
		if (l->ever_open)
			log_info("serial %s: %s is back", l->name, l->device);
		else
			log_info("serial %s: %s open at %d baud", l->name,
			    l->device, l->baud);
		l->ever_open = 1;
	} else if (from == SERIAL_OPEN && to == SERIAL_CLOSING)
		log_warnx("serial %s: %s vanished (%s); retrying every %d s",
		    l->name, l->device, err ? strerror(err) : "hung up",
		    SERIAL_RETRY_MS / 1000);
	else
		log_debug("serial %s: %s -> %s", l->name,
		    serial_state_name(from), serial_state_name(to));
}

/* Put an open tty in raw mode at the link's speed. */
static int
serial_termios(struct serial_link *l, int fd)
{
	struct termios	t;

	if (tcgetattr(fd, &t) == -1)
		return (-1);
	cfmakeraw(&t);
	t.c_cflag |= CLOCAL | CREAD;
	t.c_cflag &= ~(tcflag_t)(CSTOPB | CRTSCTS);
	/*
	 * VMIN 1: with O_NONBLOCK an empty read is then EAGAIN, so a read
	 * of 0 really means the device hung up.
	 */
	t.c_cc[VMIN] = 1;
	t.c_cc[VTIME] = 0;
	if (cfsetispeed(&t, l->speed) == -1 || cfsetospeed(&t, l->speed) == -1)
		return (-1);
	return (tcsetattr(fd, TCSANOW, &t));
}

/*
 * Open the device: 0 with l->fd set, or -1 with errno.  ENOTTY means the
 * path exists but is not a terminal.
 */
static int
serial_open_fd(struct serial_link *l)
{
	int	fd, saved;

	fd = open(l->device, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
	if (fd == -1)
		return (-1);
	if (!isatty(fd)) {
		close(fd);
		errno = ENOTTY;
		return (-1);
	}
	/* Keep ModemManager and friends from opening it behind our back. */
	(void)ioctl(fd, TIOCEXCL);
	if (serial_termios(l, fd) == -1) {
		saved = errno;
		close(fd);
		errno = saved;
		return (-1);
	}
	l->fd = fd;
	return (0);
}

/* The poll fired: hand it to the link's state machine. */
static void
serial_poll_cb(uv_poll_t *h, int status, int events)
{
	(void)events;
	serial_event(h->data, SERIAL_EV_READABLE, status < 0 ? -status : 0);
}

/* Start polling an open fd; -1 with *cause if libuv refuses. */
static int
serial_poll_start(struct serial_link *l, char **cause)
{
	int	rv;

	if ((rv = uv_poll_init(daemon_loop(), &l->poll, l->fd)) != 0) {
		xasprintf(cause, "serial %s: %s: uv_poll_init: %s", l->name,
		    l->device, uv_strerror(rv));
		close(l->fd);
		l->fd = -1;
		return (-1);
	}
	l->poll.data = l;
	uv_poll_start(&l->poll, UV_READABLE | UV_DISCONNECT, serial_poll_cb);
	frame_reader_reset(&l->reader);
	return (0);
}

/* Try to (re)open a waiting link; quiet unless the reason changed. */
static void
serial_try_open(struct serial_link *l, uint64_t now)
{
	char	*cause = NULL;

	l->retry_at = now + SERIAL_RETRY_MS;
	if (serial_open_fd(l) == -1) {
		if (errno != l->last_errno && !serial_gone_errno(errno))
			log_warnx("serial %s: %s: %s", l->name, l->device,
			    strerror(errno));
		l->last_errno = errno;
		return;
	}
	if (serial_poll_start(l, &cause) != 0) {
		log_warnx("%s", cause);
		free(cause);
		return;
	}
	l->last_errno = 0;
	if (l->ever_open)
		l->il.n.reopens++;
	serial_set_state(l, SERIAL_OPEN, 0);
}

/* The poll handle is closed: the link waits again, or is freed. */
static void
serial_closed_cb(uv_handle_t *h)
{
	serial_event(h->data, SERIAL_EV_CLOSED, 0);
}

/* Close an open link's fd and start closing its poll handle. */
static void
serial_close(struct serial_link *l, int err)
{
	uv_poll_stop(&l->poll);
	close(l->fd);
	l->fd = -1;
	serial_set_state(l, SERIAL_CLOSING, err);
	uv_close((uv_handle_t *)&l->poll, serial_closed_cb);
}

/* Free a link that has no open handle. */
static void
serial_free(struct serial_link *l)
{
	free(l->name);
	free(l->device);
	free(l);
}

/*
 * Read what the device has (a bounded number of chunks, so one chatty
 * link cannot starve the loop).  Returns 0, or -1 with *err set when the
 * device is gone (0 for end of file).
 */
static int
serial_read(struct serial_link *l, int *err)
{
	uint8_t	buf[SERIAL_READ_CHUNK];
	ssize_t	n;
	int	i;

	for (i = 0; i < SERIAL_READ_BUDGET; i++) {
		n = read(l->fd, buf, sizeof buf);
		if (n > 0) {
			frame_feed(&l->reader, buf, (size_t)n,
			    ingest_link_frame, &l->il);
			/* What we fed may have led to a stop: the fd is gone. */
			if (l->state != SERIAL_OPEN)
				return (0);
			continue;
		}
		if (n == 0) {
			*err = 0;
			return (-1);
		}
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return (0);
		*err = errno;
		if (!serial_gone_errno(errno))
			log_warn("serial %s: read %s", l->name, l->device);
		return (-1);
	}
	return (0);
}

/*
 * The link's one state machine.  err is an errno for READABLE (a poll
 * error) and otherwise 0.
 */
static void
serial_event(struct serial_link *l, enum serial_event ev, int err)
{
	int	rerr;

	switch (ev) {
	case SERIAL_EV_READABLE:
		if (l->state != SERIAL_OPEN)
			break;
		/*
		 * libuv reports POLLERR as UV_EBADF; a read tells the real
		 * reason (EIO for a pty whose other end went away).
		 */
		rerr = err;
		if ((serial_read(l, &rerr) != 0 || err != 0) &&
		    l->state == SERIAL_OPEN)
			serial_close(l, rerr);
		break;
	case SERIAL_EV_RETRY:
		if (l->state == SERIAL_WAITING)
			serial_try_open(l, uv_now(daemon_loop()));
		break;
	case SERIAL_EV_CLOSED:
		if (l->stopping) {
			serial_free(l);
			break;
		}
		l->retry_at = uv_now(daemon_loop()) + SERIAL_RETRY_MS;
		serial_set_state(l, SERIAL_WAITING, 0);
		break;
	case SERIAL_EV_STOP:
		l->stopping = 1;
		if (l->state == SERIAL_OPEN)
			serial_close(l, 0);
		else if (l->state == SERIAL_WAITING)
			serial_free(l);
		/* CLOSING: the close callback frees it. */
		break;
	}
}

/* Build one link from its section; -1 with *cause on a start error. */
static int
serial_link_new(const struct config *cf, const char *sect,
    struct serial_link **lp, char **cause)
{
	struct serial_link	*l;
	const char		*name = strchr(sect, ':');
	size_t			 i;

	l = xcalloc(1, sizeof *l);
	l->fd = -1;
	l->name = xstrdup(name != NULL ? name + 1 : sect);
	l->device = xstrdup(config_str(cf, sect, "device"));
	l->baud = (int)config_int(cf, sect, "baud");
	ingest_link_init(&l->il, "serial", l->name, config_str(cf, sect,
	    "node"), METRICS_INGEST_SERIAL);
	frame_reader_init(&l->reader, config_enum(cf, sect, "framing") ==
	    CONFIG_FRAMING_COBS ? FRAME_COBS : FRAME_LINES);
	for (i = 0; i < sizeof serial_speeds / sizeof serial_speeds[0]; i++) {
		if (serial_speeds[i].baud == l->baud)
			break;
	}
	if (i == sizeof serial_speeds / sizeof serial_speeds[0]) {
		xasprintf(cause, "serial %s: baud %d is not supported", l->name,
		    l->baud);
		serial_free(l);
		return (-1);
	}
	l->speed = serial_speeds[i].speed;
	*lp = l;
	return (0);
}

/*
 * First open at start: a missing device only means waiting, but a path
 * that is not a tty, or one we may not open, will not fix itself.
 */
static int
serial_first_open(struct serial_link *l, char **cause)
{
	if (serial_open_fd(l) == 0)
		return (0);
	l->last_errno = errno;
	if (errno == ENOTTY || errno == EACCES || errno == EPERM ||
	    errno == EISDIR) {
		xasprintf(cause, "serial %s: %s: %s", l->name, l->device,
		    errno == ENOTTY ? "not a tty" : strerror(errno));
		return (-1);
	}
	log_warnx("serial %s: %s: %s; retrying every %d s", l->name, l->device,
	    strerror(errno), SERIAL_RETRY_MS / 1000);
	return (0);
}

/*
 * Open every [serial:NAME] link.  Devices are all opened before any poll
 * handle exists, so a start error needs no loop turn to clean up.
 */
int
ingest_serial_start(const struct config *cf, char **cause)
{
	const char *const	*sects;
	struct serial_link	*l;
	size_t			 n, i, j;

	memset(&ports, 0, sizeof ports);
	sects = config_sections(cf, "serial", &n);
	if (n == 0)
		return (0);
	ports.links = xcalloc(n, sizeof *ports.links);
	for (i = 0; i < n; i++) {
		if (serial_link_new(cf, sects[i], &l, cause) != 0)
			goto fail;
		/* Two readers on one port would each get half the bytes. */
		for (j = 0; j < ports.nlinks; j++) {
			if (strcmp(ports.links[j]->device, l->device) == 0) {
				xasprintf(cause,
				    "serial %s: %s is already used "
				    "by serial %s", l->name, l->device,
				    ports.links[j]->name);
				serial_free(l);
				goto fail;
			}
		}
		ports.links[ports.nlinks++] = l;
		if (serial_first_open(l, cause) != 0)
			goto fail;
	}
	for (i = 0; i < ports.nlinks; i++) {
		l = ports.links[i];
		l->retry_at = uv_now(daemon_loop()) + SERIAL_RETRY_MS;
		if (l->fd == -1)
			continue;
		if (serial_poll_start(l, cause) != 0)
			goto fail;
		serial_set_state(l, SERIAL_OPEN, 0);
	}
	ports.started = 1;
	return (0);

fail:
	ingest_serial_stop();
	return (-1);
}

/* SIGHUP: serial keys need a restart (the daemon says so); nothing to do. */
void
ingest_serial_reload(const struct config *cf)
{
	(void)cf;
}

/*
 * Stop every link: commit what was read while the node registry and the
 * metrics still run, close the handles; links are freed when closed.
 */
void
ingest_serial_stop(void)
{
	struct serial_link	*l;
	size_t			 i;

	for (i = 0; i < ports.nlinks; i++) {
		l = ports.links[i];
		if (l->fd != -1 && l->state == SERIAL_WAITING) {
			/* Opened at start but never polled (start failed). */
			close(l->fd);
			l->fd = -1;
		}
		if (ports.started)
			ingest_link_log(&l->il);
		serial_event(l, SERIAL_EV_STOP, 0);
	}
	free(ports.links);
	ports.links = NULL;
	ports.nlinks = 0;
	ports.started = 0;
}

/* Housekeeping (every second): reopen waiting links every 2 s. */
void
ingest_serial_check(uint64_t now)
{
	struct serial_link	*l;
	size_t			 i;

	for (i = 0; i < ports.nlinks; i++) {
		l = ports.links[i];
		if (l->state == SERIAL_WAITING &&
		    now + SERIAL_RETRY_SLACK_MS >= l->retry_at)
			serial_event(l, SERIAL_EV_RETRY, 0);
	}
}

/* Add "serial_links": {NAME: {counters...}} to a P/metrics object. */
void
ingest_serial_metrics(struct cJSON *obj)
{
	const struct serial_link	*l;
	cJSON				*links, *o;
	size_t				 i;

	links = cJSON_AddObjectToObject(obj, "serial_links");
	for (i = 0; links != NULL && i < ports.nlinks; i++) {
		l = ports.links[i];
		if ((o = cJSON_AddObjectToObject(links, l->name)) == NULL)
			continue;
		ingest_link_json(&l->il, o, l->state == SERIAL_OPEN);
	}
}
