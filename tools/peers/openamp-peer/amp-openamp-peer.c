/*
 * amp-openamp-peer: OpenAMP 1.10 (libopen_amp + libmetal, Linux userspace) playing one rpmsg
 * role against @amp over a shared file, driven line by line on stdin/stdout by a test.
 * Written by the @amp project against OpenAMP's public headers; built by
 * scripts/peers/build-openamp-peer.sh. Protocol and layout: README.md beside this file.
 *
 *   amp-openamp-peer host|remote --shm <file> --doorbell unix:<path>|fd:<n> [options]
 *
 * host   = virtio driver (OpenAMP's rpmsg "host"): it reads the resource table @amp wrote at 0,
 *          owns the buffer pool, posts rx buffers, sets DRIVER_OK.
 * remote = virtio device: it writes the resource table at 0 (the Linux-machine sample's
 *          layout), waits for DRIVER_OK, announces its endpoints.
 *
 * Everything runs on one thread: a 1 ms poll() over stdin and the doorbell, then OpenAMP is
 * asked to look at every ring (the doorbell byte names no queue). Sends never block inside an
 * OpenAMP callback: what cannot go out at once waits in a queue that the main loop retries.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <metal/io.h>
#include <metal/log.h>
#include <metal/sys.h>
#include <openamp/remoteproc.h>
#include <openamp/rpmsg.h>
#include <openamp/rpmsg_virtio.h>

/* ---- the shared file (file offset = physical address = device address) ---------------- */

#define RSC_PA        0x0u     /* resource table, written by the device side */
#define VRING0_PA     0x4000u  /* vring 0: host rx / remote tx */
#define VRING1_PA     0x8000u  /* vring 1: host tx / remote rx */
#define VRING_ALIGN   0x1000u
#define POOL_PA       0x10000u /* buffer pool of the host (rx half first) */
#define BUF_SIZE      512u     /* RPMSG_BUFFER_SIZE of this OpenAMP build */
#define MAX_PAYLOAD   (BUF_SIZE - 16u)

/* Our resource table: one rpmsg vdev with two vrings, field by field (struct fw_rsc_vdev). */
struct peer_rsc_table {
	uint32_t ver, num, reserved[2];
	uint32_t offset[1];
	uint32_t type, id, notifyid, dfeatures, gfeatures, config_len;
	uint8_t status, num_of_vrings, vdev_reserved[2];
	struct { uint32_t da, align, num, notifyid, reserved; } vring[2];
} __attribute__((packed));

#define VDEV_OFFSET   offsetof(struct peer_rsc_table, type)
#define STATUS_OFFSET offsetof(struct peer_rsc_table, status)

/* ---- options --------------------------------------------------------------------------- */

static struct {
	int driver;              /* 1: host (virtio driver), 0: remote (virtio device) */
	const char *shm;
	size_t shm_size;
	const char *doorbell;
	unsigned int vring_num;
	size_t pool_size;        /* host: the shm pool handed to OpenAMP */
	unsigned int timeout_ms; /* hard limit for the whole process (SIGALRM) */
	int ns;                  /* remote: offer VIRTIO_RPMSG_F_NS */
	int write_table;         /* remote: write the resource table at start */
	int reset_first;         /* host: write status 0, ring, then wait for "go" */
	int follow_reset;        /* re-initialise when the peer resets the device */
	char bind_mode[16];      /* mode of endpoints created for a peer's announcement */
} opt = {
	.shm_size = 0x80000, .vring_num = 256, .timeout_ms = 60000, .ns = 1, .write_table = 1,
	.bind_mode = "echo",
};

/* ---- output ------------------------------------------------------------------------------ */

static void out(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void out(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
	va_list ap;

	printf("fatal ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
	exit(2);
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* ---- the payload pattern (the TS side has the same function) ------------------------------ */

/* Byte i of message `seq` of stream `stream`: the first four bytes carry seq (LE). */
static uint8_t pattern(uint32_t stream, uint32_t seq, uint32_t i)
{
	if (i < 4)
		return (uint8_t)(seq >> (8 * i));
	return (uint8_t)(stream * 17u + seq * 131u + i * 29u + 0x5au);
}

/* "N": always N bytes; "A-B": A + seq % (B - A + 1); "A,B,C": the list, round robin;
 * "any" (receivers): no size check. */
#define SIZES_MAX 16
struct sizespec {
	int any;
	uint32_t lo, hi;
	uint32_t list[SIZES_MAX];
	unsigned int n; /* > 0: a list */
};

static int parse_sizes(const char *s, struct sizespec *z)
{
	char *end;
	unsigned long a, b;

	memset(z, 0, sizeof(*z));
	if (!strcmp(s, "any")) {
		z->any = 1;
		return 0;
	}
	if (strchr(s, ',')) {
		for (const char *p = s; *p && z->n < SIZES_MAX; p = *end ? end + 1 : end) {
			a = strtoul(p, &end, 0);
			if (end == p || (*end && *end != ',') || a > 0xffff)
				return -1;
			z->list[z->n++] = (uint32_t)a;
		}
		return 0;
	}
	a = strtoul(s, &end, 0);
	b = a;
	if (*end == '-')
		b = strtoul(end + 1, &end, 0);
	if (*end || b < a || b > 0xffff)
		return -1;
	z->lo = (uint32_t)a;
	z->hi = (uint32_t)b;
	return 0;
}

static uint32_t size_of(const struct sizespec *z, uint32_t seq)
{
	if (z->n)
		return z->list[seq % z->n];
	return z->lo + seq % (z->hi - z->lo + 1);
}

/* ---- doorbell: one byte per notification, meaning "look at every ring" ------------------ */

static int bell = -1;
static int bell_closed;
static unsigned long bell_rx, bell_tx;

static void bell_open(const char *spec)
{
	if (!strncmp(spec, "fd:", 3)) {
		bell = atoi(spec + 3);
	} else if (!strncmp(spec, "unix:", 5)) {
		struct sockaddr_un sa = { .sun_family = AF_UNIX };
		uint64_t end = now_ms() + 10000;

		if (strlen(spec + 5) >= sizeof(sa.sun_path))
			die("doorbell path too long");
		strcpy(sa.sun_path, spec + 5);
		for (;;) {
			bell = socket(AF_UNIX, SOCK_STREAM, 0);
			if (bell >= 0 && connect(bell, (struct sockaddr *)&sa, sizeof(sa)) == 0)
				break;
			if (bell >= 0)
				close(bell);
			bell = -1;
			if (now_ms() > end)
				die("doorbell %s: nobody listens (%s)", spec, strerror(errno));
			usleep(5000);
		}
	} else {
		die("--doorbell must be unix:<path> or fd:<n>");
	}
	/* A full socket means the peer has not read our last bytes yet: it will look anyway. */
	fcntl(bell, F_SETFL, fcntl(bell, F_GETFL) | O_NONBLOCK);
}

static void bell_ring(void)
{
	char b = 1;

	if (bell < 0 || bell_closed)
		return;
	if (write(bell, &b, 1) == 1)
		bell_tx++;
}

/* Reads what the peer rang; 1 when something arrived. */
static int bell_drain(void)
{
	char buf[256];
	int got = 0;

	while (bell >= 0 && !bell_closed) {
		ssize_t n = read(bell, buf, sizeof(buf));

		if (n > 0) {
			bell_rx += (unsigned long)n;
			got = 1;
			continue;
		}
		if (n == 0) {
			bell_closed = 1;
			out("ev doorbell-closed");
		} else if (errno == EINTR) {
			continue;
		}
		break;
	}
	return got;
}

/* ---- shared memory and our remoteproc -------------------------------------------------- */

static uint8_t *shm;
static metal_phys_addr_t shm_phys_base; /* = 0: offsets are physical addresses */
static struct metal_io_region shm_io;
static struct remoteproc_mem shm_mem;
static struct remoteproc rproc;

static void shm_open_file(void)
{
	int fd = open(opt.shm, O_RDWR | O_CREAT, 0600);
	struct stat st;

	if (fd < 0 || fstat(fd, &st) < 0)
		die("cannot open %s: %s", opt.shm, strerror(errno));
	if ((size_t)st.st_size < opt.shm_size && ftruncate(fd, (off_t)opt.shm_size) < 0)
		die("cannot size %s: %s", opt.shm, strerror(errno));
	shm = mmap(NULL, opt.shm_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (shm == MAP_FAILED)
		die("cannot map %s: %s", opt.shm, strerror(errno));
	close(fd);
	/* page_shift -1: one physical base for the whole region (phys = offset). */
	metal_io_init(&shm_io, shm, &shm_phys_base, opt.shm_size, (unsigned int)-1, 0, NULL);
}

static volatile uint8_t *vdev_status(void)
{
	return (volatile uint8_t *)(shm + RSC_PA + STATUS_OFFSET);
}

static struct remoteproc *peer_init(struct remoteproc *rp, const struct remoteproc_ops *ops, void *arg)
{
	(void)ops;
	(void)arg;
	/* Every address the peer gives us lies in the one shared file. */
	remoteproc_init_mem(&shm_mem, "shm", 0, 0, opt.shm_size, &shm_io);
	remoteproc_add_mem(rp, &shm_mem);
	return rp;
}

static void peer_remove(struct remoteproc *rp)
{
	(void)rp;
}

/* Only reached for addresses outside the registered file: refuse them. */
static void *peer_mmap(struct remoteproc *rp, metal_phys_addr_t *pa, metal_phys_addr_t *da,
		       size_t size, unsigned int attribute, struct metal_io_region **io)
{
	(void)rp; (void)pa; (void)da; (void)size; (void)attribute; (void)io;
	return NULL;
}

static int peer_notify(struct remoteproc *rp, uint32_t id)
{
	(void)rp;
	(void)id; /* the byte carries no queue id, as in OpenAMP's Linux machine */
	bell_ring();
	return 0;
}

static const struct remoteproc_ops peer_ops = {
	.init = peer_init,
	.remove = peer_remove,
	.mmap = peer_mmap,
	.notify = peer_notify,
};

static void write_resource_table(void)
{
	struct peer_rsc_table t;

	memset(&t, 0, sizeof(t));
	t.ver = 1;
	t.num = 1;
	t.offset[0] = VDEV_OFFSET;
	t.type = RSC_VDEV;
	t.id = VIRTIO_ID_RPMSG;
	t.dfeatures = opt.ns ? 1u << VIRTIO_RPMSG_F_NS : 0;
	t.num_of_vrings = 2;
	t.vring[0].da = VRING0_PA;
	t.vring[1].da = VRING1_PA;
	for (int i = 0; i < 2; i++) {
		t.vring[i].align = VRING_ALIGN;
		t.vring[i].num = opt.vring_num;
		t.vring[i].notifyid = (uint32_t)i + 1;
	}
	/* status 0 in the new table: to a host this is the device resetting (a reboot). */
	memcpy(shm + RSC_PA, &t, sizeof(t));
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
}

/* ---- endpoints ------------------------------------------------------------------------- */

enum mode { M_ECHO, M_ECHOZ, M_SINK, M_HOLD, M_LOG };
static const char *mode_names[] = { "echo", "echoz", "sink", "hold", "log" };

#define SLOTS 16

struct slot {
	struct rpmsg_endpoint ept;
	int used;
	int own;                /* made by "create" (announced by us), not for a peer's NS */
	char name[RPMSG_NAME_SIZE];
	enum mode mode;
	uint32_t stream;        /* sink: pattern stream expected; send: pattern stream written */
	struct sizespec sizes;  /* sink: sizes expected */
	/* receive side */
	uint32_t rx_next;       /* sink: the seq expected next */
	unsigned long rx, rx_bytes, rx_bad, rx_seq_jumps, unbinds;
	long first_bad;         /* seq of the first bad message, -1 */
	uint32_t rx_min_len, rx_max_len;
	/* send side */
	uint32_t tx_seq;
	unsigned long tx, tx_bytes, echoed;
};

static struct slot slots[SLOTS];
static struct rpmsg_virtio_device rvdev;
static struct rpmsg_device *rdev;
static struct rpmsg_virtio_shm_pool shpool;
static struct virtio_device *vdev;
static int link_up;
static unsigned int generation;

static int slot_index(struct slot *s)
{
	return (int)(s - slots);
}

/* Copies echoed back as soon as a tx buffer is free (echo mode). */
struct pending_echo {
	int slot;
	uint32_t dst, len;
	uint8_t data[BUF_SIZE];
};
#define ECHO_QUEUE 4096
static struct pending_echo *echo_q;
static unsigned int echo_head, echo_count;

/* Rx buffers we hold: hold mode (until "release"), echoz mode (until a tx buffer is free). */
struct held_rx {
	int slot;
	uint8_t *data;
	uint32_t len, src;
	int echo; /* 1: echoz waiting for a tx buffer; 0: hold mode */
};
#define HELD_MAX 1024
static struct held_rx held[HELD_MAX];
static unsigned int held_count;

/* Tx payload buffers taken with rpmsg_get_tx_payload_buffer and not yet sent or released. */
struct held_tx {
	uint8_t *data;
	uint32_t cap;
};
static struct held_tx txheld[HELD_MAX];
static unsigned int txheld_count;

static int verify(struct slot *s, const uint8_t *data, uint32_t len, uint32_t seq)
{
	if (!s->sizes.any && len != size_of(&s->sizes, seq))
		return 0;
	for (uint32_t i = 0; i < len; i++)
		if (data[i] != pattern(s->stream, seq, i))
			return 0;
	return 1;
}

/* Sink accounting for one message: in order, byte-exact. */
static void sink_account(struct slot *s, const uint8_t *data, uint32_t len)
{
	uint32_t seq = s->rx_next;

	if (len >= 4) {
		uint32_t got = (uint32_t)data[0] | (uint32_t)data[1] << 8 | (uint32_t)data[2] << 16 | (uint32_t)data[3] << 24;

		if (got != seq) {
			s->rx_seq_jumps++;
			seq = got;
		}
	}
	if (!verify(s, data, len, seq)) {
		s->rx_bad++;
		if (s->first_bad < 0)
			s->first_bad = (long)seq;
	}
	s->rx_next = seq + 1;
}

static int try_echo_copy(int si, uint32_t dst, const uint8_t *data, uint32_t len)
{
	struct slot *s = &slots[si];
	int r = rpmsg_trysendto(&s->ept, data, (int)len, dst);

	if (r == RPMSG_ERR_NO_BUFF)
		return 0;
	if (r < 0) {
		out("ev echo-error slot=%d ret=%d", si, r);
		return 1;
	}
	s->echoed++;
	return 1;
}

/* Zero-copy echo of a held rx buffer; 1 when sent (and the rx buffer released). */
static int try_echo_zero_copy(struct held_rx *h)
{
	struct slot *s = &slots[h->slot];
	uint32_t cap = 0;
	uint8_t *tx = rpmsg_get_tx_payload_buffer(&s->ept, &cap, 0);
	int r;

	if (!tx)
		return 0;
	memcpy(tx, h->data, h->len < cap ? h->len : cap);
	r = rpmsg_sendto_nocopy(&s->ept, tx, (int)h->len, h->src);
	if (r < 0) {
		out("ev echoz-error slot=%d ret=%d", h->slot, r);
		rpmsg_release_tx_buffer(&s->ept, tx);
	} else {
		s->echoed++;
	}
	rpmsg_release_rx_buffer(&s->ept, h->data);
	return 1;
}

static int ept_cb(struct rpmsg_endpoint *ept, void *data, size_t len, uint32_t src, void *priv)
{
	struct slot *s = priv;
	int si = slot_index(s);

	(void)ept;
	s->rx++;
	s->rx_bytes += len;
	if (s->rx == 1 || len < s->rx_min_len)
		s->rx_min_len = (uint32_t)len;
	if (len > s->rx_max_len)
		s->rx_max_len = (uint32_t)len;
	switch (s->mode) {
	case M_SINK:
		sink_account(s, data, (uint32_t)len);
		break;
	case M_LOG: {
		static char hex[2 * 65536 + 1];

		for (size_t i = 0; i < len && i < 65536; i++)
			sprintf(hex + 2 * i, "%02x", ((uint8_t *)data)[i]);
		hex[2 * (len < 65536 ? len : 65536)] = 0;
		out("ev rx slot=%d src=%u len=%zu hex=%s", si, src, len, hex);
		break;
	}
	case M_ECHO:
		/* Earlier echoes go first: FIFO order on the wire. */
		if (echo_count == 0 && try_echo_copy(si, src, data, (uint32_t)len))
			break;
		if (echo_count == ECHO_QUEUE || len > BUF_SIZE) {
			out("ev echo-dropped slot=%d", si);
			break;
		}
		{
			struct pending_echo *e = &echo_q[(echo_head + echo_count++) % ECHO_QUEUE];

			e->slot = si;
			e->dst = src;
			e->len = (uint32_t)len;
			memcpy(e->data, data, len);
		}
		break;
	case M_ECHOZ:
	case M_HOLD:
		if (s->mode == M_HOLD)
			sink_account(s, data, (uint32_t)len);
		if (held_count == HELD_MAX) {
			out("ev hold-full slot=%d", si);
			break;
		}
		/* OpenAMP zero-copy receive: the buffer stays ours until rpmsg_release_rx_buffer. */
		rpmsg_hold_rx_buffer(&s->ept, data);
		held[held_count++] = (struct held_rx){ si, data, (uint32_t)len, src, s->mode == M_ECHOZ };
		break;
	}
	return RPMSG_SUCCESS;
}

static void ept_unbind(struct rpmsg_endpoint *ept)
{
	struct slot *s = ept->priv;

	s->unbinds++;
	out("ev unbind slot=%d name=%s addr=%u", slot_index(s), s->name, ept->addr);
}

static int free_slot(void)
{
	for (int i = 0; i < SLOTS; i++)
		if (!slots[i].used)
			return i;
	return -1;
}

static void slot_reset_counters(struct slot *s)
{
	s->rx_next = 0;
	s->rx = s->rx_bytes = s->rx_bad = s->rx_seq_jumps = s->unbinds = 0;
	s->first_bad = -1;
	s->rx_min_len = s->rx_max_len = 0;
	s->tx_seq = 0;
	s->tx = s->tx_bytes = s->echoed = 0;
}

static int parse_mode(const char *m)
{
	for (unsigned int i = 0; i < sizeof(mode_names) / sizeof(mode_names[0]); i++)
		if (!strcmp(m, mode_names[i]))
			return (int)i;
	return -1;
}

static int slot_create(int si, const char *name, uint32_t src, uint32_t dst, enum mode mode)
{
	struct slot *s = &slots[si];
	int r;

	memset(s, 0, sizeof(*s));
	snprintf(s->name, sizeof(s->name), "%s", name);
	s->mode = mode;
	s->sizes.any = 1;
	s->first_bad = -1;
	s->ept.priv = s; /* rpmsg_create_ept hands ept->priv to the callbacks */
	r = rpmsg_create_ept(&s->ept, rdev, s->name, src, dst, ept_cb, ept_unbind);
	if (r == 0)
		s->used = 1;
	return r;
}

/* A peer announced a service we have no endpoint for: bind one (OpenAMP's ns_bind_cb). */
static void ns_bind(struct rpmsg_device *rd, const char *name, uint32_t dest)
{
	int si = free_slot();
	int r;

	(void)rd;
	if (si < 0) {
		out("ev bind-failed name=%s dst=%u reason=no-slot", name, dest);
		return;
	}
	r = slot_create(si, name, RPMSG_ADDR_ANY, dest, (enum mode)parse_mode(opt.bind_mode));
	if (r)
		out("ev bind-failed name=%s dst=%u ret=%d", name, dest, r);
	else
		out("ev bind slot=%d name=%s addr=%u dst=%u", si, name, slots[si].ept.addr, dest);
}

/* The peer withdrew a service (NS DESTROY), seen at the device level. */
static void ns_unbind(struct rpmsg_device *rd, const char *name, uint32_t dest)
{
	(void)rd;
	out("ev ns-destroy name=%s addr=%u", name, dest);
}

/* ---- link bring-up and reset ----------------------------------------------------------- */

static void pump(int wait_ms);

static void link_start(void)
{
	int r;

	if (!opt.driver) {
		/* Waiting here (not in OpenAMP's own 1 ms loop) keeps the doorbell drained. */
		while (!(*vdev_status() & VIRTIO_CONFIG_STATUS_DRIVER_OK))
			pump(1);
	}
	vdev = remoteproc_create_virtio(&rproc, 0, opt.driver ? VIRTIO_DEV_DRIVER : VIRTIO_DEV_DEVICE, NULL);
	if (!vdev)
		die("remoteproc_create_virtio failed");
	if (opt.driver)
		rpmsg_virtio_init_shm_pool(&shpool, shm + POOL_PA, opt.pool_size);
	r = rpmsg_init_vdev(&rvdev, vdev, ns_bind, &shm_io, opt.driver ? &shpool : NULL);
	if (r)
		die("rpmsg_init_vdev failed: %d", r);
	rdev = rpmsg_virtio_get_rpmsg_device(&rvdev);
	rdev->ns_unbind_cb = ns_unbind;
	link_up = 1;
	generation++;
	out("ev link-up gen=%u role=%s ns=%d status=0x%02x", generation, opt.driver ? "host" : "remote",
	    rdev->support_ns, *vdev_status());
}

/* The peer reset the device (or rebooted): forget every ring and buffer, start again. */
static void link_restart(uint8_t status)
{
	struct slot saved[SLOTS];

	out("ev reset status=0x%02x gen=%u held-rx=%u held-tx=%u echo-queue=%u", status, generation,
	    held_count, txheld_count, echo_count);
	memcpy(saved, slots, sizeof(saved));
	/* A driver resets the device before it sets it up again (Linux does, OpenAMP's driver does
	 * not by itself): so a NEEDS_RESET device sees status 0, and no NS DESTROY goes out below. */
	if (opt.driver)
		*vdev_status() = 0;
	/* Held buffers belong to rings that no longer exist: drop them without touching rings. */
	held_count = 0;
	txheld_count = 0;
	echo_count = 0;
	link_up = 0;
	/* Destroys every endpoint (its NS DESTROY finds no DRIVER_OK and is not sent). */
	rpmsg_deinit_vdev(&rvdev);
	remoteproc_remove_virtio(&rproc, vdev);
	vdev = NULL;
	for (int i = 0; i < SLOTS; i++)
		slots[i].used = 0;
	link_start();
	/* Our own announced endpoints come back (bound ones are re-made by the peer's NS). */
	for (int i = 0; i < SLOTS; i++) {
		if (!saved[i].used || !saved[i].own)
			continue;
		if (slot_create(i, saved[i].name, RPMSG_ADDR_ANY, RPMSG_ADDR_ANY, saved[i].mode) == 0) {
			slots[i].own = 1;
			slots[i].stream = saved[i].stream;
			slots[i].sizes = saved[i].sizes;
			out("ev recreated slot=%d name=%s addr=%u", i, slots[i].name, slots[i].ept.addr);
		}
	}
}

static void check_reset(void)
{
	uint8_t st;

	if (!opt.follow_reset || !link_up)
		return;
	st = *vdev_status();
	if (!(st & VIRTIO_CONFIG_STATUS_DRIVER_OK) || (opt.driver && (st & VIRTIO_CONFIG_STATUS_NEEDS_RESET)))
		link_restart(st);
}

/* Work the main loop retries: queued echoes, held buffers waiting for a tx buffer. */
static void flush_pending(void)
{
	while (echo_count > 0) {
		struct pending_echo *e = &echo_q[echo_head];

		if (!slots[e->slot].used) {
			echo_head = (echo_head + 1) % ECHO_QUEUE;
			echo_count--;
			continue;
		}
		if (!try_echo_copy(e->slot, e->dst, e->data, e->len))
			break;
		echo_head = (echo_head + 1) % ECHO_QUEUE;
		echo_count--;
	}
	for (unsigned int i = 0; i < held_count;) {
		if (!held[i].echo) {
			i++;
			continue;
		}
		if (!try_echo_zero_copy(&held[i]))
			break; /* keep FIFO order */
		memmove(&held[i], &held[i + 1], (held_count - i - 1) * sizeof(held[0]));
		held_count--;
	}
}

/* One turn: wait up to `wait_ms` for the doorbell, then look at every ring. */
static void pump(int wait_ms)
{
	struct pollfd p = { .fd = bell, .events = POLLIN };

	if (bell >= 0 && !bell_closed && poll(&p, 1, wait_ms) > 0)
		bell_drain();
	else if (wait_ms > 0 && (bell < 0 || bell_closed))
		usleep((useconds_t)wait_ms * 1000);
	if (!link_up)
		return;
	/* Always look: a ring may have raced the wait, and the rings are cheap to read. */
	remoteproc_get_notification(&rproc, RSC_NOTIFY_ID_ANY);
	flush_pending();
	check_reset();
}

/* ---- commands -------------------------------------------------------------------------- */

#define MAXARGS 8

static struct slot *slot_arg(const char *cmd, const char *a)
{
	int si;

	if (!a) {
		out("err %s missing slot", cmd);
		return NULL;
	}
	si = atoi(a);
	if (si < 0 || si >= SLOTS || !slots[si].used) {
		out("err %s no endpoint in slot %s", cmd, a);
		return NULL;
	}
	return &slots[si];
}

static unsigned int count_arg(const char *a, unsigned int all)
{
	return (!a || !strcmp(a, "all")) ? all : (unsigned int)strtoul(a, NULL, 0);
}

static void fill(uint8_t *p, uint32_t stream, uint32_t seq, uint32_t len)
{
	for (uint32_t i = 0; i < len; i++)
		p[i] = pattern(stream, seq, i);
}

/* send/sendz <slot> <count> <sizes> [dst]: patterned messages; waits (pumping) for buffers. */
static void cmd_send(int zero_copy, char **av, int ac)
{
	struct slot *s = slot_arg(av[0], ac > 1 ? av[1] : NULL);
	struct sizespec z;
	unsigned int count, sent = 0, waits = 0;
	uint32_t dst, cap_min = 0xffffffffu, cap_max = 0;
	uint64_t deadline = now_ms() + 20000;
	static uint8_t buf[65536];

	if (!s)
		return;
	if (ac < 4 || parse_sizes(av[3], &z) || z.any) {
		out("err %s usage: %s <slot> <count> <lo[-hi]> [dst]", av[0], av[0]);
		return;
	}
	count = (unsigned int)strtoul(av[2], NULL, 0);
	dst = ac > 4 ? (uint32_t)strtoul(av[4], NULL, 0) : s->ept.dest_addr;
	while (sent < count) {
		uint32_t seq = s->tx_seq, len = size_of(&z, seq);
		int r;

		if (!link_up || !s->used) {
			out("err %s link down after %u", av[0], sent);
			return;
		}
		if (zero_copy) {
			uint32_t cap = 0;
			uint8_t *tx = rpmsg_get_tx_payload_buffer(&s->ept, &cap, 0);

			if (!tx) {
				r = RPMSG_ERR_NO_BUFF;
			} else {
				if (cap < cap_min)
					cap_min = cap;
				if (cap > cap_max)
					cap_max = cap;
				if (len > cap) {
					/* Our check: OpenAMP's nocopy send does not compare len with the buffer. */
					rpmsg_release_tx_buffer(&s->ept, tx);
					out("err %s len %u exceeds the buffer capacity %u (seq %u)", av[0], len, cap, seq);
					return;
				}
				fill(tx, s->stream, seq, len);
				r = rpmsg_sendto_nocopy(&s->ept, tx, (int)len, dst);
				if (r < 0)
					rpmsg_release_tx_buffer(&s->ept, tx);
			}
		} else {
			fill(buf, s->stream, seq, len);
			r = rpmsg_trysendto(&s->ept, buf, (int)len, dst);
		}
		if (r == RPMSG_ERR_NO_BUFF) {
			waits++;
			if (now_ms() > deadline) {
				out("err %s timeout: no tx buffer after %u of %u sent", av[0], sent, count);
				return;
			}
			pump(1);
			continue;
		}
		if (r < 0) {
			out("err %s ret=%d after %u sent", av[0], r, sent);
			return;
		}
		if ((uint32_t)r != len) {
			out("err %s ret=%d for len %u (seq %u)", av[0], r, len, seq);
			return;
		}
		s->tx_seq++;
		s->tx++;
		s->tx_bytes += len;
		sent++;
		/* Let the peer's replies in between (rx and echo), as an application loop would. */
		pump(0);
	}
	if (zero_copy)
		out("ok %s sent=%u waits=%u cap-min=%u cap-max=%u", av[0], sent, waits, cap_max ? cap_min : 0, cap_max);
	else
		out("ok %s sent=%u waits=%u", av[0], sent, waits);
}

/* sendraw <slot> <len>: one rpmsg_send (blocking variant); reports exactly what OpenAMP returned. */
static void cmd_sendraw(char **av, int ac)
{
	struct slot *s = slot_arg(av[0], ac > 1 ? av[1] : NULL);
	static uint8_t buf[65536];
	uint32_t len, seq;
	int r;

	if (!s || ac < 3) {
		if (s)
			out("err sendraw usage: sendraw <slot> <len>");
		return;
	}
	len = (uint32_t)strtoul(av[2], NULL, 0);
	if (len > sizeof(buf))
		len = sizeof(buf);
	seq = s->tx_seq;
	fill(buf, s->stream, seq, len);
	r = rpmsg_send(&s->ept, buf, (int)len);
	if (r >= 0) {
		s->tx_seq++;
		s->tx++;
		s->tx_bytes += (unsigned long)r;
	}
	out("ok sendraw ret=%d len=%u tx-size=%d", r, len, rpmsg_get_tx_buffer_size(&s->ept));
}

/* sendzraw <slot> <len>: get_tx_payload_buffer + send_nocopy with `len`, unchecked. */
static void cmd_sendzraw(char **av, int ac)
{
	struct slot *s = slot_arg(av[0], ac > 1 ? av[1] : NULL);
	uint32_t len, cap = 0;
	uint8_t *tx;
	int r;

	if (!s || ac < 3) {
		if (s)
			out("err sendzraw usage: sendzraw <slot> <len>");
		return;
	}
	len = (uint32_t)strtoul(av[2], NULL, 0);
	tx = rpmsg_get_tx_payload_buffer(&s->ept, &cap, 1);
	if (!tx) {
		out("err sendzraw no tx buffer");
		return;
	}
	/* Fill only what the buffer holds; the header still says `len`. */
	fill(tx, s->stream, s->tx_seq, len < cap ? len : cap);
	r = rpmsg_send_nocopy(&s->ept, tx, (int)len);
	if (r >= 0) {
		s->tx_seq++;
		s->tx++;
		s->tx_bytes += len;
	} else {
		rpmsg_release_tx_buffer(&s->ept, tx);
	}
	out("ok sendzraw ret=%d len=%u cap=%u", r, len, cap);
}

/* txhold <slot> <n|all>: take tx payload buffers and keep them. */
static void cmd_txhold(char **av, int ac)
{
	struct slot *s = slot_arg(av[0], ac > 1 ? av[1] : NULL);
	unsigned int want = count_arg(ac > 2 ? av[2] : NULL, HELD_MAX), got = 0;
	uint32_t cap_min = 0xffffffffu, cap_max = 0;

	if (!s)
		return;
	while (got < want && txheld_count < HELD_MAX) {
		uint32_t cap = 0;
		uint8_t *tx = rpmsg_get_tx_payload_buffer(&s->ept, &cap, 0);

		if (!tx)
			break;
		txheld[txheld_count++] = (struct held_tx){ tx, cap };
		if (cap < cap_min)
			cap_min = cap;
		if (cap > cap_max)
			cap_max = cap;
		got++;
	}
	out("ok txhold got=%u held=%u cap-min=%u cap-max=%u", got, txheld_count, got ? cap_min : 0, cap_max);
}

/* txsend <slot> <n|all> <sizes>: send held tx buffers (oldest first), patterned, no copy. */
static void cmd_txsend(char **av, int ac)
{
	struct slot *s = slot_arg(av[0], ac > 1 ? av[1] : NULL);
	unsigned int n = count_arg(ac > 2 ? av[2] : NULL, txheld_count), sent = 0;
	struct sizespec z;

	if (!s)
		return;
	if (ac < 4 || parse_sizes(av[3], &z) || z.any) {
		out("err txsend usage: txsend <slot> <n|all> <lo[-hi]>");
		return;
	}
	if (n > txheld_count)
		n = txheld_count;
	for (; sent < n; sent++) {
		struct held_tx *t = &txheld[sent];
		uint32_t seq = s->tx_seq, len = size_of(&z, seq);
		int r;

		if (len > t->cap)
			len = t->cap;
		fill(t->data, s->stream, seq, len);
		r = rpmsg_send_nocopy(&s->ept, t->data, (int)len);
		if (r < 0) {
			out("err txsend ret=%d after %u", r, sent);
			break;
		}
		s->tx_seq++;
		s->tx++;
		s->tx_bytes += len;
	}
	memmove(txheld, txheld + sent, (txheld_count - sent) * sizeof(txheld[0]));
	txheld_count -= sent;
	if (sent == n)
		out("ok txsend sent=%u held=%u", sent, txheld_count);
}

/* txrelease <slot> <n|all>: give held tx buffers back unsent (OpenAMP keeps them for reuse). */
static void cmd_txrelease(char **av, int ac)
{
	struct slot *s = slot_arg(av[0], ac > 1 ? av[1] : NULL);
	unsigned int n = count_arg(ac > 2 ? av[2] : NULL, txheld_count), done = 0;

	if (!s)
		return;
	if (n > txheld_count)
		n = txheld_count;
	for (; done < n; done++) {
		int r = rpmsg_release_tx_buffer(&s->ept, txheld[done].data);

		if (r) {
			out("err txrelease ret=%d after %u", r, done);
			break;
		}
	}
	memmove(txheld, txheld + done, (txheld_count - done) * sizeof(txheld[0]));
	txheld_count -= done;
	if (done == n)
		out("ok txrelease released=%u held=%u", done, txheld_count);
}

/* release <slot> <n|all>: release held rx buffers of a hold-mode slot (oldest first), checking
 * that each still holds exactly what arrived (the peer must not have reused it). */
static void cmd_release(char **av, int ac)
{
	struct slot *s = slot_arg(av[0], ac > 1 ? av[1] : NULL);
	unsigned int n, done = 0, intact = 0;
	int si;

	if (!s)
		return;
	si = slot_index(s);
	n = count_arg(ac > 2 ? av[2] : NULL, HELD_MAX);
	for (unsigned int i = 0; i < held_count && done < n;) {
		struct held_rx *h = &held[i];
		uint32_t seq;

		if (h->slot != si || h->echo) {
			i++;
			continue;
		}
		seq = h->len >= 4 ? ((uint32_t)h->data[0] | (uint32_t)h->data[1] << 8 | (uint32_t)h->data[2] << 16 | (uint32_t)h->data[3] << 24) : 0;
		if (h->len < 4 || verify(s, h->data, h->len, seq))
			intact++;
		rpmsg_release_rx_buffer(&s->ept, h->data);
		memmove(h, h + 1, (held_count - i - 1) * sizeof(*h));
		held_count--;
		done++;
	}
	out("ok release released=%u intact=%u held=%u", done, intact, held_count);
}

static void cmd_stats(char **av, int ac)
{
	struct slot *s = slot_arg(av[0], ac > 1 ? av[1] : NULL);

	if (!s)
		return;
	out("ok stats slot=%d name=%s addr=%u dst=%u mode=%s rx=%lu rx-bytes=%lu rx-bad=%lu first-bad=%ld "
	    "seq-jumps=%lu rx-next=%u rx-min=%u rx-max=%u tx=%lu tx-bytes=%lu echoed=%lu unbinds=%lu "
	    "held-rx=%u held-tx=%u echo-queue=%u",
	    slot_index(s), s->name, s->ept.addr, s->ept.dest_addr, mode_names[s->mode], s->rx, s->rx_bytes,
	    s->rx_bad, s->first_bad, s->rx_seq_jumps, s->rx_next, s->rx_min_len, s->rx_max_len, s->tx,
	    s->tx_bytes, s->echoed, s->unbinds, held_count, txheld_count, echo_count);
}

static void cmd_mode(char **av, int ac)
{
	struct slot *s = slot_arg(av[0], ac > 1 ? av[1] : NULL);
	int m;

	if (!s)
		return;
	m = ac > 2 ? parse_mode(av[2]) : -1;
	if (m < 0) {
		out("err mode usage: mode <slot> echo|echoz|sink|hold|log [stream] [sizes]");
		return;
	}
	s->mode = (enum mode)m;
	s->stream = ac > 3 ? (uint32_t)strtoul(av[3], NULL, 0) : 0;
	if (ac > 4 && parse_sizes(av[4], &s->sizes)) {
		out("err mode bad sizes %s", av[4]);
		return;
	}
	if (ac <= 4)
		s->sizes.any = 1;
	slot_reset_counters(s);
	out("ok mode slot=%d mode=%s stream=%u", slot_index(s), mode_names[m], s->stream);
}

/* create <slot> <name> [src] [dst]: rpmsg_create_ept (NS CREATE when named and unbound). */
static void cmd_create(char **av, int ac)
{
	int si = ac > 1 ? atoi(av[1]) : -1;
	uint32_t src = ac > 3 ? (uint32_t)strtoul(av[3], NULL, 0) : RPMSG_ADDR_ANY;
	uint32_t dst = ac > 4 ? (uint32_t)strtoul(av[4], NULL, 0) : RPMSG_ADDR_ANY;
	int r;

	if (si < 0 || si >= SLOTS || ac < 3 || slots[si].used) {
		out("err create usage: create <free slot> <name> [src] [dst]");
		return;
	}
	r = slot_create(si, av[2], src, dst, M_SINK);
	slots[si].own = r == 0;
	if (r)
		out("err create ret=%d", r);
	else
		out("ok create slot=%d addr=%u dst=%u", si, slots[si].ept.addr, slots[si].ept.dest_addr);
}

/* destroy <slot>: rpmsg_destroy_ept (NS DESTROY for a named endpoint at >= 1024). */
static void cmd_destroy(char **av, int ac)
{
	struct slot *s = slot_arg(av[0], ac > 1 ? av[1] : NULL);
	int si;

	if (!s)
		return;
	si = slot_index(s);
	/* Held rx buffers of this endpoint go back first: after destroy the ept is gone. */
	for (unsigned int i = 0; i < held_count;) {
		if (held[i].slot == si) {
			rpmsg_release_rx_buffer(&s->ept, held[i].data);
			memmove(&held[i], &held[i + 1], (held_count - i - 1) * sizeof(held[0]));
			held_count--;
		} else {
			i++;
		}
	}
	rpmsg_destroy_ept(&s->ept);
	s->used = 0;
	out("ok destroy slot=%d", si);
}

static void cmd_status(void)
{
	uint16_t a0 = *(volatile uint16_t *)(shm + VRING0_PA + 16 * opt.vring_num + 2);
	uint16_t a1 = *(volatile uint16_t *)(shm + VRING1_PA + 16 * opt.vring_num + 2);

	out("ok status link=%d gen=%u status=0x%02x gfeatures=0x%x avail0=%u avail1=%u bell-rx=%lu bell-tx=%lu",
	    link_up, generation, *vdev_status(), *(volatile uint32_t *)(shm + RSC_PA + VDEV_OFFSET + 16), a0, a1,
	    bell_rx, bell_tx);
}

static void handle(char *line)
{
	char *av[MAXARGS];
	int ac = 0;

	for (char *t = strtok(line, " \t\r"); t && ac < MAXARGS; t = strtok(NULL, " \t\r"))
		av[ac++] = t;
	if (ac == 0)
		return;
	if (!strcmp(av[0], "quit")) {
		out("ok quit");
		exit(0);
	}
	if (!link_up) {
		out("err %s link is down", av[0]);
		return;
	}
	if (!strcmp(av[0], "send"))
		cmd_send(0, av, ac);
	else if (!strcmp(av[0], "sendz"))
		cmd_send(1, av, ac);
	else if (!strcmp(av[0], "sendraw"))
		cmd_sendraw(av, ac);
	else if (!strcmp(av[0], "sendzraw"))
		cmd_sendzraw(av, ac);
	else if (!strcmp(av[0], "txhold"))
		cmd_txhold(av, ac);
	else if (!strcmp(av[0], "txsend"))
		cmd_txsend(av, ac);
	else if (!strcmp(av[0], "txrelease"))
		cmd_txrelease(av, ac);
	else if (!strcmp(av[0], "release"))
		cmd_release(av, ac);
	else if (!strcmp(av[0], "stats"))
		cmd_stats(av, ac);
	else if (!strcmp(av[0], "mode"))
		cmd_mode(av, ac);
	else if (!strcmp(av[0], "create"))
		cmd_create(av, ac);
	else if (!strcmp(av[0], "destroy"))
		cmd_destroy(av, ac);
	else if (!strcmp(av[0], "status"))
		cmd_status();
	else if (!strcmp(av[0], "ping"))
		out("ok ping");
	else
		out("err %s unknown command", av[0]);
}

/* Reads what stdin has; runs every complete line. EOF ends the program (the test went away). */
static void read_commands(void)
{
	static char buf[4096];
	static size_t have;
	ssize_t n = read(0, buf + have, sizeof(buf) - 1 - have);

	if (n <= 0) {
		if (n < 0 && errno == EINTR)
			return;
		exit(0);
	}
	have += (size_t)n;
	for (;;) {
		char *nl = memchr(buf, '\n', have);
		size_t len;

		if (!nl)
			break;
		*nl = 0;
		len = (size_t)(nl - buf) + 1;
		handle(buf);
		memmove(buf, buf + len, have - len);
		have -= len;
	}
	if (have == sizeof(buf) - 1)
		have = 0; /* a line that long is garbage */
}

/* Host with --reset-first: wait for "go" (the test lets the device see the reset first). */
static void wait_for_go(void)
{
	char line[64];
	size_t have = 0;

	for (;;) {
		ssize_t n = read(0, line + have, 1);

		if (n <= 0)
			exit(0);
		if (line[have] == '\n') {
			line[have] = 0;
			if (!strcmp(line, "go"))
				return;
			have = 0;
			continue;
		}
		if (++have == sizeof(line) - 1)
			have = 0;
	}
}

/* ---- main ------------------------------------------------------------------------------ */

static void usage(void)
{
	fprintf(stderr,
		"usage: amp-openamp-peer host|remote --shm <file> --doorbell unix:<path>|fd:<n>\n"
		"  [--shm-size <bytes>] [--vring-num <n>] [--pool-size <bytes>] [--timeout-ms <ms>]\n"
		"  [--no-ns] [--keep-table] [--reset-first] [--follow-reset] [--bind-mode <mode>]\n");
	exit(2);
}

static void log_to_stderr(enum metal_log_level level, const char *format, ...)
{
	va_list ap;

	(void)level;
	va_start(ap, format);
	vfprintf(stderr, format, ap);
	va_end(ap);
}

int main(int argc, char **argv)
{
	struct metal_init_params mp = { .log_handler = log_to_stderr, .log_level = METAL_LOG_WARNING };
	int mr;

	if (argc < 2)
		usage();
	if (!strcmp(argv[1], "host"))
		opt.driver = 1;
	else if (strcmp(argv[1], "remote"))
		usage();
	for (int i = 2; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(a, "--shm") && v) { opt.shm = v; i++; }
		else if (!strcmp(a, "--shm-size") && v) { opt.shm_size = strtoul(v, NULL, 0); i++; }
		else if (!strcmp(a, "--doorbell") && v) { opt.doorbell = v; i++; }
		else if (!strcmp(a, "--vring-num") && v) { opt.vring_num = (unsigned int)strtoul(v, NULL, 0); i++; }
		else if (!strcmp(a, "--pool-size") && v) { opt.pool_size = strtoul(v, NULL, 0); i++; }
		else if (!strcmp(a, "--timeout-ms") && v) { opt.timeout_ms = (unsigned int)strtoul(v, NULL, 0); i++; }
		else if (!strcmp(a, "--bind-mode") && v && parse_mode(v) >= 0) { snprintf(opt.bind_mode, sizeof(opt.bind_mode), "%s", v); i++; }
		else if (!strcmp(a, "--no-ns")) opt.ns = 0;
		else if (!strcmp(a, "--keep-table")) opt.write_table = 0;
		else if (!strcmp(a, "--reset-first")) opt.reset_first = 1;
		else if (!strcmp(a, "--follow-reset")) opt.follow_reset = 1;
		else usage();
	}
	if (!opt.shm || !opt.doorbell || !opt.vring_num || (opt.vring_num & (opt.vring_num - 1)) || opt.vring_num > 256)
		usage();
	if (!opt.pool_size)
		opt.pool_size = 2u * opt.vring_num * BUF_SIZE; /* one rx and one tx buffer per entry */
	if (POOL_PA + opt.pool_size > opt.shm_size)
		die("the pool does not fit the shared file");
	/* The hard limit: whatever blocks (OpenAMP's own waits included), the process ends. */
	alarm((opt.timeout_ms + 999) / 1000);
	signal(SIGPIPE, SIG_IGN);
	echo_q = calloc(ECHO_QUEUE, sizeof(*echo_q));
	if (!echo_q)
		die("out of memory");

	/* On machines without UIO/VFIO libmetal's Linux bus init fails; nothing here needs it. */
	mr = metal_init(&mp);
	shm_open_file();
	bell_open(opt.doorbell);
	if (!opt.driver && opt.write_table)
		write_resource_table();
	if (!remoteproc_init(&rproc, &peer_ops, NULL))
		die("remoteproc_init failed");
	if (opt.driver && ((struct peer_rsc_table *)(shm + RSC_PA))->ver != 1)
		die("no resource table at 0x%x of %s (the device side writes it)", RSC_PA, opt.shm);
	if (remoteproc_set_rsc_table(&rproc, (struct resource_table *)(shm + RSC_PA), sizeof(struct peer_rsc_table)))
		die("remoteproc_set_rsc_table failed");
	out("ev started role=%s pid=%d metal-init=%d vring-num=%u pool=%zu", opt.driver ? "host" : "remote",
	    (int)getpid(), mr, opt.vring_num, opt.pool_size);
	if (opt.driver && opt.reset_first) {
		/* What Linux does before probing a vdev: reset it, so a device that outlived the
		 * previous host sees the change. */
		*vdev_status() = 0;
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		bell_ring();
		out("ev reset-written");
		wait_for_go();
	}
	link_start();
	for (;;) {
		struct pollfd p[2] = { { .fd = 0, .events = POLLIN }, { .fd = bell, .events = POLLIN } };
		int nfds = (bell >= 0 && !bell_closed) ? 2 : 1;

		if (poll(p, (nfds_t)nfds, 1) < 0 && errno != EINTR)
			die("poll: %s", strerror(errno));
		if (nfds == 2 && (p[1].revents & (POLLIN | POLLHUP)))
			bell_drain();
		pump(0);
		if (p[0].revents & (POLLIN | POLLHUP))
			read_commands();
	}
}
