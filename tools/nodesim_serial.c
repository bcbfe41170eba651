/*
 * nodesim_serial.c - tinyedge-nodesim --serial: the simulator's traffic
 * written to a tty (SPEC sections 4 and 8), in lines or COBS framing.
 *
 * Nodes take turns; every tenth message of a node is a heartbeat, the
 * rest come from the same generator as CoAP mode (inferences, and with
 * --windows-every windows: JSON, and under COBS also binary).  Some lines
 * end in CR LF.  With --garbage P, before each message there is a chance
 * P of junk of one kind, each kind moving exactly one daemon counter:
 *   lines: a debug print or a half line (skipped_lines), a JSON object
 *          that fails validation (rejected), a 70000-byte line
 *          (dropped_long);
 *   cobs:  a debug print or a block running past its delimiter
 *          (bad_frames), an unknown type byte with a good CRC
 *          (bad_frames), a flipped body bit (bad_crc), 70000 bytes
 *          without a delimiter (dropped_long).
 * The tally goes to stderr as one line:
 *   garbage: skipped_lines=N rejected=N bad_crc=N bad_frames=N dropped_long=N
 * Under COBS each frame is preceded by a 0x00, as firmware that mixes
 * debug prints into the stream should do: it ends any junk before it.
 * "acked" in the result line means written whole.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "frame.h"
#include "nodesim.h"
#include "xmalloc.h"

#define SIMS_STALL_MS	5000	/* give up when the device takes nothing */

static struct {
	const struct nodesim_serial_opts *o;
	int		 fd;
	/* junk written, named after the daemon counter it should move */
	uint64_t	 skipped_lines, rejected, bad_crc, bad_frames;
	uint64_t	 dropped_long;
} serial;

/*
 * MCU-style debug prints.  Each starts with a byte larger than its
 * length, so under COBS framing it can only decode as bad COBS.
 */
static const char *sims_debug[] = {
	"I (1523) main: heap free 41236\r\n",
	"E (2210) i2c: timeout on 0x68\r\n",
	"W (77) ble: conn interval 30 ms\r\n",
	"boot: rst cause 1, fw 2.1.0\r\n",
};

/*
 * Write all of buf to the device; -1 on error.  The fd is non-blocking: a
 * device nobody reads (the daemon is not there) fills up, and after
 * SIMS_STALL_MS without progress we give up with ETIMEDOUT instead of
 * hanging; ^C and SIGTERM also end a wait.
 */
static int
sims_write(const void *buf, size_t len)
{
	const uint8_t	*p = buf;
	struct pollfd	 pfd;
	ssize_t		 n;
	int		 waited = 0;

	while (len > 0) {
		if ((n = write(serial.fd, p, len)) > 0) {
			p += n;
			len -= (size_t)n;
			waited = 0;
			continue;
		}
		if (n == -1 && errno != EINTR && errno != EAGAIN)
			return (-1);
		if (nodesim_stopped()) {
			errno = EINTR;
			return (-1);
		}
		if (n == -1 && errno == EAGAIN) {
			if (waited >= SIMS_STALL_MS) {
				errno = ETIMEDOUT;
				return (-1);
			}
			pfd.fd = serial.fd;
			pfd.events = POLLOUT;
			(void)poll(&pfd, 1, 100);
			waited += 100;
		}
	}
	return (0);
}

/* Open the device; a tty is made raw at baud, anything else is as is. */
static int
sims_open(const char *dev, long baud)
{
	static const struct { long baud; speed_t speed; } rates[] = {
		{ 9600, B9600 }, { 19200, B19200 }, { 38400, B38400 },
		{ 57600, B57600 }, { 115200, B115200 }, { 230400, B230400 },
		{ 460800, B460800 }, { 921600, B921600 },
	};
	struct termios	t;
	size_t		i;

	if ((serial.fd = open(dev, O_WRONLY | O_NOCTTY | O_NONBLOCK |
	    O_CLOEXEC)) == -1) {
		fprintf(stderr, "tinyedge-nodesim: %s: %s\n", dev,
		    strerror(errno));
		return (-1);
	}
	if (!isatty(serial.fd))
		return (0);
	for (i = 0; i < sizeof rates / sizeof rates[0]; i++) {
		if (rates[i].baud == baud)
			break;
	}
	if (i == sizeof rates / sizeof rates[0] || tcgetattr(serial.fd, &t) ==
	    -1) {
		fprintf(stderr, "tinyedge-nodesim: %s: bad baud %ld or not a "
		    "usable tty\n", dev, baud);
		return (-1);
	}
	cfmakeraw(&t);
	t.c_cflag |= CLOCAL;
	cfsetispeed(&t, rates[i].speed);
	cfsetospeed(&t, rates[i].speed);
	return (tcsetattr(serial.fd, TCSANOW, &t));
}

/* A decoded frame (type, node_len, node, body, CRC) into out. */
static size_t
sims_raw_frame(int type, const char *node, const void *body, size_t len,
    uint8_t *out)
{
	size_t		n = strlen(node);
	uint16_t	crc;

	out[0] = (uint8_t)type;
	out[1] = (uint8_t)n;
	memcpy(out + 2, node, n);
	memcpy(out + 2 + n, body, len);
	n += 2 + len;
	crc = frame_crc16(out, n);
	out[n] = (uint8_t)(crc >> 8);
	out[n + 1] = (uint8_t)crc;
	return (n + 2);
}

/* Write one piece of junk of a random kind and count it. */
static int
sims_junk(const struct sim_node *nd)
{
	uint8_t	*b, *e;
	char	*s;
	size_t	 n, i;
	int	 rc, kind = (int)(nodesim_rand() % (serial.o->cobs ? 5 : 4));

	if (kind == 0) {	/* a debug print (bad COBS under cobs) */
		s = xstrdup(sims_debug[nodesim_rand() % 4]);
		if (serial.o->cobs)
			serial.bad_frames++;
		else
			serial.skipped_lines++;
	} else if ((kind == 3 && !serial.o->cobs) || kind == 4) {
		/* over-long: never a delimiter for 70000 bytes */
		n = 70000;
		s = xmalloc(n + 2);
		memset(s, serial.o->cobs ? 0xAA : 'x', n);
		s[0] = '{';
		memcpy(s + n, serial.o->cobs ? "\0" : "\n", 2);
		rc = sims_write(s, n + 1);
		free(s);
		serial.dropped_long++;
		return (rc);
	} else if (!serial.o->cobs && kind == 1) {	/* a line cut in half */
		xasprintf(&s, "{\"node\":\"%s\",\"type\":\"inference\",\"seq\":"
		    "%u,\"model\":\"kws\",\"lab\n", nd->id, nd->seq + 1);
		serial.skipped_lines++;
	} else if (!serial.o->cobs && kind == 2) {	/* JSON,
	    but no "model" */
		xasprintf(&s, "{\"node\":\"%s\",\"type\":\"inference\",\"seq\":"
		    "%u,\"label\":\"yes\",\"score\":0.5}\n", nd->id,
		    nd->seq + 1);
		serial.rejected++;
	} else {
		/*
		 * cobs 1: a flipped body bit (bad CRC); 2: type 9 (bad
		 * length); 3: a block running past the delimiter (bad COBS).
		 */
		b = xmalloc(256);
		e = xmalloc(256);
		n = sims_raw_frame(kind == 2 ? 9 : 1, nd->id, "{\"seq\":1}", 9,
		    b);
		if (kind == 1) {
			b[n - 4] ^= 0x10;
			serial.bad_crc++;
		} else
			serial.bad_frames++;
		e[0] = 0;
		if (kind == 3) {
			e[1] = 40;
			for (i = 2; i < 12; i++)
				e[i] = (uint8_t)(1 + nodesim_rand() % 255);
			n = 12;
		} else
			n = 1 + frame_cobs_encode(b, n, e + 1);
		e[n++] = 0;
		rc = sims_write(e, n);
		free(b);
		free(e);
		return (rc);
	}
	rc = sims_write(s, strlen(s));
	free(s);
	return (rc);
}

/* Write one valid message from a node: returns -1 on a write error. */
static int
sims_message(struct sim_node *nd)
{
	struct sim_req	 r;
	unsigned char	*body;
	uint8_t		*w;
	char		*line;
	size_t		 len, n;
	int		 cf, type, rc;

	memset(&r, 0, sizeof r);
	if ((nd->seq + 1) % 10 == 0) {
		/* Every tenth message is a heartbeat. */
		r.seq = ++nd->seq;
		type = 3;
		xasprintf((char **)&body, "{\"seq\":%u,\"boot\":%u,"
		    "\"battery_mv\":%u,\"rssi\":%d,\"fw\":\"2.1.0\"}", r.seq,
		    nd->boot, 3600 + (unsigned)(nodesim_rand() % 500),
		    -40 - (int)(nodesim_rand() % 50));
		len = strlen((char *)body);
		cf = 50;
	} else {
		body = nodesim_body(nd, &r, &len, &cf);
		if (r.type == 2)
			nd->count++;
		type = r.type == 1 ? 1 : cf == 42 ? 4 : 2;
	}
	if (serial.o->cobs) {
		n = 1 + len + 2 * FRAME_NODE_MAX;
		w = xmalloc(n + n / 254 + 8);
		w[0] = 0;	/* ends any junk before it */
		n = 1 + frame_encode((enum frame_type)type, nd->id,
		    strlen(nd->id), body, len, w + 1, n + n / 254 + 7);
		rc = n > 1 ? sims_write(w, n) : -1;
		free(w);
	} else {
		/* Some lines end in CR LF, as many MCU consoles do. */
		xasprintf(&line, "{\"node\":\"%s\",\"type\":\"%s\",%s%s",
		    nd->id,
		    type == 3 ? "heartbeat" : type == 1 ? "inference" :
		    "window", (char *)body + 1, r.seq % 3 == 0 ? "\r\n" : "\n");
		rc = sims_write(line, strlen(line));
		free(line);
	}
	free(body);
	/* A binary window has no boot field: it is stored with boot 0. */
	if (rc == 0 && serial.o->acked_log != NULL)
		fprintf(serial.o->acked_log, "%s %u %u %s %s %.4f\n", nd->id,
		    type == 4 ? 0 : nd->boot, r.seq, type == 3 ? "heartbeat" :
		    type == 1 ?
		    "inference" : "window", type == 1 ? r.label : "-", r.score);
	return (rc);
}

/* Write messages (and junk) until --count, --duration or ^C. */
int
nodesim_serial_run(const struct nodesim_serial_opts *o)
{
	struct sim_node	*nodes, *nd;
	double		 start, now, t0, next = 0, period;
	uint64_t	 sent = 0;
	int		 i, rc;

	serial.o = o;
	if (sims_open(o->device, o->baud) != 0)
		return (-1);
	if (!o->cobs)
		nodesim_windows_json_only();
	nodes = xcalloc((size_t)o->nnodes, sizeof *nodes);
	for (i = 0; i < o->nnodes; i++) {
		snprintf(nodes[i].id, sizeof nodes[i].id, "%s-%03d",
		    o->prefix, i);
		nodes[i].boot = (uint32_t)(nodesim_rand() % 60000) + 1;
	}
	period = o->rate > 0 ? 1000 / (o->rate * o->nnodes) : 0;
	start = nodesim_now_ms();
	for (i = 0; !nodesim_stopped(); i = (i + 1) % o->nnodes) {
		now = nodesim_now_ms();
		if ((o->count > 0 && sent >= o->count) ||
		    now - start >= o->duration * 1000)
			break;
		if (period > 0) {
			if (start + next > now)
				usleep((useconds_t)((start + next - now) *
				    1000));
			next += period;
		}
		nd = &nodes[i];
		if (o->garbage > 0 && nodesim_uniform() < o->garbage &&
		    sims_junk(nd) != 0)
			break;
		t0 = nodesim_now_ms();
		rc = sims_message(nd);
		sent++;
		nodesim_count(rc == 0, nodesim_now_ms() - t0);
		if (rc != 0) {
			fprintf(stderr, "tinyedge-nodesim: %s: %s\n",
			    o->device, strerror(errno));
			break;
		}
	}
	if (o->cobs)
		(void)sims_write("", 1);	/* ends trailing junk */
	fprintf(stderr, "garbage: skipped_lines=%llu rejected=%llu "
	    "bad_crc=%llu bad_frames=%llu dropped_long=%llu\n",
	    (unsigned long long)serial.skipped_lines,
	    (unsigned long long)serial.rejected,
	    (unsigned long long)serial.bad_crc,
	    (unsigned long long)serial.bad_frames,
	    (unsigned long long)serial.dropped_long);
	close(serial.fd);
	free(nodes);
	return (0);
}
