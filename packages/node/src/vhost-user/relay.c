/*
 * amp-vhost-relay: the only native piece of @amp/node's vhost-user backend.
 *
 * vhost-user passes file descriptors over its UNIX socket (SCM_RIGHTS): the guest memory, the
 * slave-request channel, kick and call eventfds. Node's `net` sockets drop passed descriptors,
 * so this small program owns the listening socket, receives and keeps every descriptor, and
 * relays bytes between the frontend and Node over its stdin/stdout. Node then reaches guest
 * memory by opening /proc/<relay pid>/fd/<n> (a regular or O_TMPFILE file reopens fine that
 * way) and talks to the other descriptors through this relay. Everything vhost-user means is
 * decided in TypeScript; this file only moves bytes and descriptors.
 *
 *   amp-vhost-relay <socket path>
 *
 * Frames, both directions: u32 kind, s32 fd, u32 len (host byte order), then len bytes.
 *   relay -> Node: LISTENING (after listen), CONNECTED (payload: peer pid as u32),
 *                  FDS (payload: s32 descriptors that arrived with the next DATA), DATA (fd -1:
 *                  the frontend's socket; else a watched descriptor), EOF (fd -1: the frontend
 *                  hung up and every descriptor it passed is closed; else a watched one ended).
 *   Node -> relay: WRITE (fd -1: the frontend's socket; else a descriptor it passed), WATCH and
 *                  UNWATCH (report a passed descriptor's bytes as DATA), CLOSE, HANGUP.
 * One frontend at a time; after it hangs up the next connection is accepted. The relay exits
 * when Node closes its stdin (or dies), removing the socket file.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

enum { LISTENING = 1, CONNECTED = 2, FDS = 3, DATA = 4, EOF_ = 5 };
enum { WRITE = 16, WATCH = 17, UNWATCH = 18, CLOSE = 19, HANGUP = 20 };

struct frame { uint32_t kind; int32_t fd; uint32_t len; };

#define MAX_FDS 256
#define MAX_FRAME (1u << 20)

static int passed[MAX_FDS]; /* descriptors the frontend passed, -1 = free slot */
static unsigned char watched[MAX_FDS];
static int conn = -1, lsock = -1;
static const char *path;

static void die(const char *what)
{
	fprintf(stderr, "amp-vhost-relay: %s: %s\n", what, strerror(errno));
	if (lsock >= 0)
		unlink(path);
	exit(1);
}

static void write_all(int fd, const void *buf, size_t len, int fatal)
{
	const char *p = buf;
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			if (fatal)
				die("write to node");
			return; /* the frontend went away; its EOF comes through poll */
		}
		p += n;
		len -= (size_t)n;
	}
}

static void emit(uint32_t kind, int32_t fd, const void *data, uint32_t len)
{
	struct frame f = { kind, fd, len };
	write_all(1, &f, sizeof(f), 1);
	if (len > 0)
		write_all(1, data, len, 1);
}

static int slot_of(int fd)
{
	for (int i = 0; i < MAX_FDS; i++)
		if (passed[i] == fd && fd >= 0)
			return i;
	return -1;
}

static void hang_up(void)
{
	if (conn < 0)
		return;
	close(conn);
	conn = -1;
	for (int i = 0; i < MAX_FDS; i++) {
		if (passed[i] >= 0)
			close(passed[i]);
		passed[i] = -1;
		watched[i] = 0;
	}
	emit(EOF_, -1, NULL, 0);
}

static void read_conn(void)
{
	char buf[65536];
	char ctl[CMSG_SPACE(sizeof(int) * 32)];
	struct iovec iov = { buf, sizeof(buf) };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl, .msg_controllen = sizeof(ctl) };
	ssize_t n = recvmsg(conn, &m, MSG_CMSG_CLOEXEC);
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	int got[32], ngot = 0;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c != NULL; c = CMSG_NXTHDR(&m, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		int k = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
		for (int i = 0; i < k && ngot < 32; i++)
			memcpy(&got[ngot++], CMSG_DATA(c) + i * sizeof(int), sizeof(int));
	}
	for (int i = 0; i < ngot; i++) {
		int s;
		for (s = 0; s < MAX_FDS && passed[s] >= 0; s++)
			;
		if (s == MAX_FDS) {
			close(got[i]); /* more than we keep: Node sees a missing descriptor and refuses */
			got[i] = -1;
		} else {
			passed[s] = got[i];
		}
	}
	if (ngot > 0)
		emit(FDS, -1, got, (uint32_t)(ngot * sizeof(int)));
	if (n <= 0) {
		hang_up();
		return;
	}
	emit(DATA, -1, buf, (uint32_t)n);
}

static void read_watched(int s)
{
	char buf[4096];
	ssize_t n = read(passed[s], buf, sizeof(buf));
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		watched[s] = 0;
		emit(EOF_, passed[s], NULL, 0);
		return;
	}
	emit(DATA, passed[s], buf, (uint32_t)n);
}

static unsigned char *in;
static size_t in_len, in_cap;

static void command(const struct frame *f, const unsigned char *data)
{
	int s = f->fd >= 0 ? slot_of(f->fd) : -1;
	switch (f->kind) {
	case WRITE:
		if (f->fd < 0 && conn >= 0)
			write_all(conn, data, f->len, 0);
		else if (s >= 0)
			write_all(passed[s], data, f->len, 0);
		break;
	case WATCH:
	case UNWATCH:
		if (s >= 0)
			watched[s] = f->kind == WATCH;
		break;
	case CLOSE:
		if (s >= 0) {
			close(passed[s]);
			passed[s] = -1;
			watched[s] = 0;
		}
		break;
	case HANGUP:
		hang_up();
		break;
	}
}

static void read_node(void)
{
	if (in_cap - in_len < 65536) {
		in_cap = in_cap * 2 + 65536;
		in = realloc(in, in_cap);
		if (in == NULL)
			die("realloc");
	}
	ssize_t n = read(0, in + in_len, in_cap - in_len);
	if (n < 0 && errno == EINTR)
		return;
	if (n <= 0) { /* Node is gone: clean up and leave */
		unlink(path);
		exit(0);
	}
	in_len += (size_t)n;
	size_t off = 0;
	while (in_len - off >= sizeof(struct frame)) {
		struct frame f;
		memcpy(&f, in + off, sizeof(f));
		if (f.len > MAX_FRAME) {
			errno = EPROTO;
			die("frame from node too large");
		}
		if (in_len - off - sizeof(f) < f.len)
			break;
		command(&f, in + off + sizeof(f));
		off += sizeof(f) + f.len;
	}
	memmove(in, in + off, in_len - off);
	in_len -= off;
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: amp-vhost-relay <socket path>\n");
		return 2;
	}
	path = argv[1];
	pid_t parent = getppid();
	prctl(PR_SET_PDEATHSIG, SIGTERM); /* never outlive Node */
	if (getppid() != parent)
		return 1;
	signal(SIGPIPE, SIG_IGN);
	for (int i = 0; i < MAX_FDS; i++)
		passed[i] = -1;

	struct sockaddr_un a = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof(a.sun_path)) {
		fprintf(stderr, "amp-vhost-relay: socket path longer than %zu bytes: %s\n", sizeof(a.sun_path) - 1, path);
		return 2;
	}
	strcpy(a.sun_path, path);
	int ls = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (ls < 0)
		die("socket");
	if (bind(ls, (struct sockaddr *)&a, sizeof(a)) < 0)
		die(path);
	lsock = ls;
	if (listen(ls, 1) < 0)
		die("listen");
	emit(LISTENING, -1, NULL, 0);

	for (;;) {
		struct pollfd p[2 + MAX_FDS];
		int slot[2 + MAX_FDS];
		int np = 0;
		p[np].fd = 0, p[np].events = POLLIN, slot[np++] = -1;
		/* the frontend's socket before its eventfds: a kick never overtakes the message
		 * that enabled its ring */
		p[np].fd = conn >= 0 ? conn : lsock, p[np].events = POLLIN, slot[np++] = -2;
		for (int i = 0; i < MAX_FDS; i++)
			if (watched[i])
				p[np].fd = passed[i], p[np].events = POLLIN, slot[np++] = i;
		if (poll(p, (nfds_t)np, -1) < 0) {
			if (errno == EINTR)
				continue;
			die("poll");
		}
		for (int i = 0; i < np; i++) {
			if (p[i].revents == 0)
				continue;
			if (slot[i] == -1) {
				read_node();
			} else if (slot[i] == -2 && conn < 0) {
				conn = accept4(lsock, NULL, NULL, SOCK_CLOEXEC);
				if (conn < 0)
					continue;
				struct ucred cred;
				socklen_t cl = sizeof(cred);
				uint32_t pid = getsockopt(conn, SOL_SOCKET, SO_PEERCRED, &cred, &cl) == 0 ? (uint32_t)cred.pid : 0;
				emit(CONNECTED, -1, &pid, sizeof(pid));
			} else if (slot[i] == -2) {
				read_conn();
			} else if (watched[slot[i]] && passed[slot[i]] >= 0) {
				read_watched(slot[i]);
			}
		}
	}
}
