/*
 * openamp-bench: OpenAMP 1.10 (libopen_amp + libmetal, Linux userspace) measured in both rpmsg
 * roles inside one process, the C side of `pnpm bench:openamp` (scripts/bench-openamp.mjs).
 * Written by the @amp project against OpenAMP's public headers; built by
 * scripts/peers/build-openamp-bench.sh.
 *
 *   openamp-bench [--rtt N] [--tput N] [--warmup N] [--tput-warmup N] [--cpus A,B] [--case WAIT,SIZE,ZC]
 *
 * --warmup: untimed echo round trips before each echo case; --tput-warmup (default: --warmup)
 * untimed messages before each one-way case.
 *
 * --case runs one case only (e.g. poll,16,0 or bell,496,1): the driver interleaves the C and
 * @amp figures case by case, so that both of a pair are measured minutes apart at most.
 *
 * Two threads pinned to two cores: the host (virtio driver) and the remote (virtio device),
 * each with its own struct remoteproc over one shared region laid out like OpenAMP's
 * Linux-machine sample (resource table at 0, two 256-entry vrings, a 256 KiB pool of 512-byte
 * buffers, rx half first) -- the same geometry as @amp's packages/rpmsg/bench. The cases mirror
 * that bench one for one, so the driver can put the two figures side by side:
 *   echo       host sends, the remote echoes (copy: rpmsg_trysendto; zero-copy:
 *              rpmsg_get_tx_payload_buffer + rpmsg_sendto_nocopy), round trip median and p99;
 *   one-way    host sends N messages to a sink endpoint that counts them, messages/s;
 * for payloads 16, 64, 256, 496 B, in three wait modes:
 *   poll       both threads spin on remoteproc_get_notification (the notify op only counts);
 *   bell       each thread sleeps on a futex doorbell the other side's notify op rings (a wake
 *              syscall only when the peer sleeps, as V8's Atomics.notify);
 *   spin       as bell, but a thread first watches its doorbell word for --spin-us (default 20)
 *              before it sleeps (@amp's AtomicsDoorbell `spin` option, with the same budget).
 * The sleeps have no timeout (a timed FUTEX_WAIT costs ~5 µs more per wake-up here), except when
 * a one-way sender finds no free buffer: it sleeps at most 1 ms, as OpenAMP's own blocking send
 * sleeps a tick. `--raw N` measures the ceilings instead: N round trips of a bare word between
 * the same two pinned threads, spinning and through the futex doorbell.
 * Prints one JSON object on stdout. A whole-run alarm is the hang guard: a stuck ring ends the
 * process instead of the run.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <metal/io.h>
#include <metal/sys.h>
#include <openamp/remoteproc.h>
#include <openamp/rpmsg.h>
#include <openamp/rpmsg_virtio.h>
#include <openamp/version_def.h>

/* ---- the shared region (offset = physical address = device address) -------------------- */

#define SHM_SIZE    0x80000u /* 512 KiB, as the Linux-machine sample's /dev/shm file */
#define RSC_PA      0x0u
#define VRING0_PA   0x4000u  /* host rx / remote tx */
#define VRING1_PA   0x8000u  /* host tx / remote rx */
#define VRING_ALIGN 0x1000u
#define VRING_NUM   256u
#define POOL_PA     0x10000u
#define BUF_SIZE    512u
#define POOL_SIZE   (2u * VRING_NUM * BUF_SIZE) /* one rx and one tx buffer per entry */

/* One rpmsg vdev with two vrings, field by field (struct fw_rsc_vdev and its vrings). */
struct bench_rsc_table {
	uint32_t ver, num, reserved[2];
	uint32_t offset[1];
	uint32_t type, id, notifyid, dfeatures, gfeatures, config_len;
	uint8_t status, num_of_vrings, vdev_reserved[2];
	struct { uint32_t da, align, num, notifyid, reserved; } vring[2];
} __attribute__((packed));

static uint8_t *shm;
static metal_phys_addr_t shm_phys_base; /* 0: offsets are physical addresses */
static struct metal_io_region shm_io;

/* Fixed addresses instead of a name-service handshake: bring-up is not what is measured. */
#define EP_ECHO_COPY 0x400u
#define EP_ECHO_ZC   0x401u
#define EP_SINK      0x402u
#define EP_HOST      0x410u /* + 0, 1, 2; OpenAMP tracks 1024..1151 */

/* ---- doorbells: a futex word per direction -------------------------------------------- */

struct bell {
	_Atomic uint32_t seq;     /* bumped by every notify */
	_Atomic uint32_t sleeping; /* 1 while the owner may be in FUTEX_WAIT */
	unsigned long rings, wakes;
};

enum { TO_HOST, TO_REMOTE };
enum { MODE_POLL, MODE_BELL, MODE_SPIN };
static const char *const mode_names[] = { "poll", "bell", "spin" };
static struct bell bells[2];
static _Atomic int wait_mode; /* set by the host between cases */
static _Atomic int stop_remote;
static double spin_ns = 20000;

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static void bell_ring(struct bell *b)
{
	atomic_fetch_add(&b->seq, 1);
	b->rings++;
	if (atomic_load(&b->sleeping)) {
		b->wakes++;
		syscall(SYS_futex, &b->seq, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
	}
}

/* Watches the word for the spin budget (the clock read every 64 looks); 1 when it moved. */
static int bell_spin(struct bell *b, uint32_t seen)
{
	double end = now_ns() + spin_ns;

	for (;;) {
		for (int i = 0; i < 64; i++)
			if (atomic_load(&b->seq) != seen)
				return 1;
		if (now_ns() >= end)
			return 0;
	}
}

/* Sleeps until the word moves past `seen`; `guard` (or NULL) bounds the sleep. */
static void bell_wait(struct bell *b, uint32_t seen, const struct timespec *guard)
{
	if (atomic_load(&wait_mode) == MODE_SPIN && bell_spin(b, seen))
		return;
	atomic_store(&b->sleeping, 1);
	if (atomic_load(&b->seq) == seen)
		syscall(SYS_futex, &b->seq, FUTEX_WAIT_PRIVATE, seen, guard, NULL, 0);
	atomic_store(&b->sleeping, 0);
}

/* ---- one side: its remoteproc, vdev and rpmsg device ------------------------------------ */

struct side {
	int driver;
	struct remoteproc rproc;
	struct remoteproc_mem mem;
	struct virtio_device *vdev;
	struct rpmsg_virtio_device rvdev;
	struct rpmsg_device *rdev;
	struct rpmsg_virtio_shm_pool pool;
	struct bell *mine, *peer;
	uint32_t seen;
};

static struct side host_side = { .driver = 1, .mine = &bells[TO_HOST], .peer = &bells[TO_REMOTE] };
static struct side remote_side = { .driver = 0, .mine = &bells[TO_REMOTE], .peer = &bells[TO_HOST] };

static struct remoteproc *side_init(struct remoteproc *rp, const struct remoteproc_ops *ops, void *arg)
{
	struct side *s = arg;

	(void)ops;
	rp->priv = s;
	remoteproc_init_mem(&s->mem, "shm", 0, 0, SHM_SIZE, &shm_io);
	remoteproc_add_mem(rp, &s->mem);
	return rp;
}

static void side_remove(struct remoteproc *rp)
{
	(void)rp;
}

/* Only reached for addresses outside the region: refuse them. */
static void *side_mmap(struct remoteproc *rp, metal_phys_addr_t *pa, metal_phys_addr_t *da,
		       size_t size, unsigned int attribute, struct metal_io_region **io)
{
	(void)rp; (void)pa; (void)da; (void)size; (void)attribute; (void)io;
	return NULL;
}

static int side_notify(struct remoteproc *rp, uint32_t id)
{
	(void)id; /* the doorbell names no queue: the peer looks at both rings */
	bell_ring(((struct side *)rp->priv)->peer);
	return 0;
}

static const struct remoteproc_ops side_ops = {
	.init = side_init, .remove = side_remove, .mmap = side_mmap, .notify = side_notify,
};

/* One turn of a side: sleep on the doorbell (bell and spin modes), then look at every ring. */
static void side_pump_for(struct side *s, const struct timespec *guard)
{
	if (atomic_load(&wait_mode) != MODE_POLL) {
		uint32_t seq = atomic_load(&s->mine->seq);

		if (seq == s->seen)
			bell_wait(s->mine, seq, guard);
		s->seen = atomic_load(&s->mine->seq);
	}
	remoteproc_get_notification(&s->rproc, RSC_NOTIFY_ID_ANY);
}

static void side_pump(struct side *s)
{
	side_pump_for(s, NULL);
}

static void die(const char *what, int code)
{
	fprintf(stderr, "openamp-bench: %s failed (%d)\n", what, code);
	exit(2);
}

static void side_open(struct side *s)
{
	int r;

	if (!remoteproc_init(&s->rproc, &side_ops, s))
		die("remoteproc_init", 0);
	r = remoteproc_set_rsc_table(&s->rproc, (struct resource_table *)(shm + RSC_PA), sizeof(struct bench_rsc_table));
	if (r)
		die("remoteproc_set_rsc_table", r);
	s->vdev = remoteproc_create_virtio(&s->rproc, 0, s->driver ? VIRTIO_DEV_DRIVER : VIRTIO_DEV_DEVICE, NULL);
	if (!s->vdev)
		die("remoteproc_create_virtio", 0);
	if (s->driver)
		rpmsg_virtio_init_shm_pool(&s->pool, shm + POOL_PA, POOL_SIZE);
	r = rpmsg_init_vdev(&s->rvdev, s->vdev, NULL, &shm_io, s->driver ? &s->pool : NULL);
	if (r)
		die("rpmsg_init_vdev", r);
	s->rdev = rpmsg_virtio_get_rpmsg_device(&s->rvdev);
}

static void write_resource_table(void)
{
	struct bench_rsc_table t;

	memset(&t, 0, sizeof(t));
	t.ver = 1;
	t.num = 1;
	t.offset[0] = offsetof(struct bench_rsc_table, type);
	t.type = RSC_VDEV;
	t.id = VIRTIO_ID_RPMSG;
	t.num_of_vrings = 2;
	t.vring[0].da = VRING0_PA;
	t.vring[1].da = VRING1_PA;
	for (int i = 0; i < 2; i++) {
		t.vring[i].align = VRING_ALIGN;
		t.vring[i].num = VRING_NUM;
		t.vring[i].notifyid = (uint32_t)i + 1;
	}
	memcpy(shm + RSC_PA, &t, sizeof(t));
}

static volatile uint8_t *vdev_status(void)
{
	return (volatile uint8_t *)(shm + RSC_PA + offsetof(struct bench_rsc_table, status));
}

/* ---- the remote: echo (copy, zero-copy) and sink endpoints ------------------------------- */

static struct rpmsg_endpoint r_echo_copy, r_echo_zc, r_sink;
static _Atomic unsigned long sink_count;
static unsigned long echo_failed;

static int on_echo_copy(struct rpmsg_endpoint *ept, void *data, size_t len, uint32_t src, void *priv)
{
	(void)priv;
	if (rpmsg_trysendto(ept, data, (int)len, src) < 0)
		echo_failed++;
	return RPMSG_SUCCESS;
}

static int on_echo_zc(struct rpmsg_endpoint *ept, void *data, size_t len, uint32_t src, void *priv)
{
	uint32_t cap;
	void *b = rpmsg_get_tx_payload_buffer(ept, &cap, 0);

	(void)priv;
	if (!b || cap < len) {
		echo_failed++;
		return RPMSG_SUCCESS;
	}
	memcpy(b, data, len);
	if (rpmsg_sendto_nocopy(ept, b, (int)len, src) < 0)
		echo_failed++;
	return RPMSG_SUCCESS;
}

static int on_sink(struct rpmsg_endpoint *ept, void *data, size_t len, uint32_t src, void *priv)
{
	(void)ept; (void)data; (void)len; (void)src; (void)priv;
	atomic_store_explicit(&sink_count, atomic_load_explicit(&sink_count, memory_order_relaxed) + 1,
			      memory_order_release);
	return RPMSG_SUCCESS;
}

static _Atomic int remote_ready;

/* A negative cpu (--cpus -1,-1) leaves the thread to the scheduler. */
static void pin(int cpu)
{
	cpu_set_t set;

	if (cpu < 0)
		return;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (pthread_setaffinity_np(pthread_self(), sizeof(set), &set))
		fprintf(stderr, "openamp-bench: cannot pin to cpu %d (running unpinned)\n", cpu);
}

static int cpus[2] = { 0, 1 };

static void *remote_main(void *arg)
{
	(void)arg;
	pin(cpus[1]);
	/* The device waits for the driver's DRIVER_OK before it looks at the rings. */
	while (!(*vdev_status() & VIRTIO_CONFIG_STATUS_DRIVER_OK))
		sched_yield();
	side_open(&remote_side);
	if (rpmsg_create_ept(&r_echo_copy, remote_side.rdev, "echo", EP_ECHO_COPY, RPMSG_ADDR_ANY, on_echo_copy, NULL) ||
	    rpmsg_create_ept(&r_echo_zc, remote_side.rdev, "echoz", EP_ECHO_ZC, RPMSG_ADDR_ANY, on_echo_zc, NULL) ||
	    rpmsg_create_ept(&r_sink, remote_side.rdev, "sink", EP_SINK, RPMSG_ADDR_ANY, on_sink, NULL))
		die("rpmsg_create_ept (remote)", 0);
	atomic_store(&remote_ready, 1);
	while (!atomic_load(&stop_remote))
		side_pump(&remote_side);
	return NULL;
}

/* ---- the host: the cases ---------------------------------------------------------------- */

static struct rpmsg_endpoint h_echo_copy, h_echo_zc, h_sink;
static _Atomic unsigned long echo_got;

static int on_host_rx(struct rpmsg_endpoint *ept, void *data, size_t len, uint32_t src, void *priv)
{
	(void)ept; (void)data; (void)len; (void)src; (void)priv;
	echo_got++;
	return RPMSG_SUCCESS;
}

static double now_us(void)
{
	return now_ns() / 1e3;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static int n_rtt = 3000, n_tput = 40000, n_warmup = 3000, n_tput_warmup = -1;

/* One message from the host: 1 sent, 0 no tx buffer free. */
static int host_send(struct rpmsg_endpoint *ept, const uint8_t *data, uint32_t size, int zero_copy, int seq)
{
	if (zero_copy) {
		uint32_t cap;
		uint8_t *b = rpmsg_get_tx_payload_buffer(ept, &cap, 0);

		if (!b)
			return 0;
		b[0] = (uint8_t)seq;
		if (rpmsg_send_nocopy(ept, b, (int)size) < 0)
			die("rpmsg_send_nocopy", 0);
		return 1;
	}
	return rpmsg_trysend(ept, data, (int)size) >= 0;
}

static void echo_case(uint32_t size, int zero_copy, double *median, double *p99)
{
	struct rpmsg_endpoint *ept = zero_copy ? &h_echo_zc : &h_echo_copy;
	uint8_t data[BUF_SIZE];
	double *samples = calloc((size_t)n_rtt, sizeof(double));

	memset(data, 7, sizeof(data));
	for (int i = -n_warmup; i < n_rtt; i++) {
		unsigned long want = echo_got + 1;
		double t0 = now_us();

		if (!host_send(ept, data, size, zero_copy, i))
			die("host send in a ping-pong (no tx buffer)", 0);
		while (echo_got < want)
			side_pump(&host_side);
		if (i >= 0)
			samples[i] = now_us() - t0;
	}
	qsort(samples, (size_t)n_rtt, sizeof(double), cmp_double);
	*median = samples[n_rtt / 2];
	*p99 = samples[(int)(n_rtt * 0.99)];
	free(samples);
}

static unsigned long tx_full; /* one-way: times the host found no free tx buffer */

static void burst(uint32_t size, int zero_copy, int n, unsigned long until)
{
	uint8_t data[BUF_SIZE];

	memset(data, 1, sizeof(data));
	for (int i = 0; i < n; i++) {
		while (!host_send(&h_sink, data, size, zero_copy, i)) {
			/* Bell mode: sleep until the remote rings or 1 ms passes, as OpenAMP's own
			 * blocking send sleeps a tick when no buffer is free (the remote need not ring
			 * for the buffers it returns). */
			static const struct timespec tick = { 0, 1000000 };

			tx_full++;
			side_pump_for(&host_side, &tick);
		}
	}
	while (atomic_load_explicit(&sink_count, memory_order_acquire) < until) {
		static const struct timespec tick = { 0, 1000000 };

		side_pump_for(&host_side, &tick);
	}
}

static double tput_case(uint32_t size, int zero_copy)
{
	unsigned long base = atomic_load(&sink_count);
	double t0, secs;

	burst(size, zero_copy, n_tput_warmup, base + (unsigned long)n_tput_warmup);
	t0 = now_us();
	burst(size, zero_copy, n_tput, base + (unsigned long)n_tput_warmup + (unsigned long)n_tput);
	secs = (now_us() - t0) / 1e6;
	return n_tput / secs;
}

/* ---- the ceilings: a bare word between the same two pinned threads ----------------------- */

static _Atomic uint32_t raw_ping, raw_pong;
static _Atomic int raw_bell_mode;
static int n_raw;

static void *raw_remote(void *arg)
{
	uint32_t seen = 0;

	(void)arg;
	pin(cpus[1]);
	for (;;) {
		while (atomic_load(&raw_ping) == seen) {
			if (atomic_load(&raw_bell_mode)) {
				uint32_t seq = atomic_load(&bells[TO_REMOTE].seq);

				if (atomic_load(&raw_ping) == seen)
					bell_wait(&bells[TO_REMOTE], seq, NULL);
			}
		}
		seen = atomic_load(&raw_ping);
		if (seen == UINT32_MAX)
			return NULL;
		atomic_store(&raw_pong, seen);
		if (atomic_load(&raw_bell_mode))
			bell_ring(&bells[TO_HOST]);
	}
}

/* Round-trip median of `n` bounces (after n/10 untimed ones), spinning or through the bells. */
static double raw_round_trips(int n, int bell, uint32_t *v)
{
	double *samples = calloc((size_t)n, sizeof(double));
	double med;

	atomic_store(&raw_bell_mode, bell);
	for (int i = -n / 10; i < n; i++) {
		double t0 = now_us();

		++*v;
		atomic_store(&raw_ping, *v);
		if (bell)
			bell_ring(&bells[TO_REMOTE]);
		while (atomic_load(&raw_pong) != *v) {
			if (bell) {
				uint32_t seq = atomic_load(&bells[TO_HOST].seq);

				if (atomic_load(&raw_pong) != *v)
					bell_wait(&bells[TO_HOST], seq, NULL);
			}
		}
		if (i >= 0)
			samples[i] = now_us() - t0;
	}
	qsort(samples, (size_t)n, sizeof(double), cmp_double);
	med = samples[n / 2];
	free(samples);
	return med;
}

static int raw_ceilings(int n)
{
	pthread_t remote;
	uint32_t v = 0;
	double spin, bell;

	alarm(300);
	pin(cpus[0]);
	atomic_store(&wait_mode, MODE_BELL); /* the bells sleep at once */
	if (pthread_create(&remote, NULL, raw_remote, NULL))
		die("pthread_create", errno);
	spin = raw_round_trips(n, 0, &v);
	bell = raw_round_trips(n, 1, &v);
	atomic_store(&raw_ping, UINT32_MAX);
	bell_ring(&bells[TO_REMOTE]);
	pthread_join(remote, NULL);
	printf("{\"rawN\":%d,\"cpus\":[%d,%d],\"spinPingPongMedianUs\":%.3f,\"futexPingPongMedianUs\":%.3f}\n", n,
	       cpus[0], cpus[1], spin, bell);
	return 0;
}

int main(int argc, char **argv)
{
	static const uint32_t sizes[] = { 16, 64, 256, 496 };
	struct metal_init_params mp = METAL_INIT_DEFAULTS;
	pthread_t remote;
	int first = 1;
	char only_wait[8] = "";
	int only_size = -1, only_zc = -1;

	for (int i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--rtt")) n_rtt = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--tput")) n_tput = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--warmup")) n_warmup = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--tput-warmup")) n_tput_warmup = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--cpus")) sscanf(argv[i + 1], "%d,%d", &cpus[0], &cpus[1]);
		else if (!strcmp(argv[i], "--spin-us")) spin_ns = atof(argv[i + 1]) * 1e3;
		else if (!strcmp(argv[i], "--raw")) n_raw = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--case")) {
			if (sscanf(argv[i + 1], "%7[a-z],%d,%d", only_wait, &only_size, &only_zc) != 3 ||
			    (strcmp(only_wait, "poll") && strcmp(only_wait, "bell") && strcmp(only_wait, "spin"))) {
				fprintf(stderr, "openamp-bench: --case WAIT,SIZE,ZC (WAIT poll, bell or spin, ZC 0 or 1)\n");
				return 2;
			}
		} else {
			fprintf(stderr, "usage: openamp-bench [--rtt N] [--tput N] [--warmup N] [--tput-warmup N] [--cpus A,B] [--case W,S,Z] [--spin-us US] [--raw N]\n");
			return 2;
		}
	}
	if (!(spin_ns >= 0 && spin_ns <= 1e9)) {
		fprintf(stderr, "openamp-bench: --spin-us in [0, 1000000]\n");
		return 2;
	}
	if (n_raw > 0)
		return raw_ceilings(n_raw);
	if (n_tput_warmup < 0)
		n_tput_warmup = n_warmup;
	if (n_rtt < 100 || n_tput < 1 || n_warmup < 0) {
		fprintf(stderr, "openamp-bench: --rtt >= 100, --tput >= 1, --warmup >= 0\n");
		return 2;
	}
	alarm(300); /* hang guard for the whole run */
	/* libmetal's Linux bus init fails without UIO/VFIO; nothing here needs it. */
	(void)metal_init(&mp);
	shm = mmap(NULL, SHM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (shm == MAP_FAILED)
		die("mmap", errno);
	metal_io_init(&shm_io, shm, &shm_phys_base, SHM_SIZE, (unsigned int)-1, 0, NULL);
	write_resource_table(); /* what the device side's firmware would carry */

	pin(cpus[0]);
	if (pthread_create(&remote, NULL, remote_main, NULL))
		die("pthread_create", errno);
	side_open(&host_side); /* posts the rx buffers, sets DRIVER_OK */
	if (rpmsg_create_ept(&h_echo_copy, host_side.rdev, "echo", EP_HOST + 0, EP_ECHO_COPY, on_host_rx, NULL) ||
	    rpmsg_create_ept(&h_echo_zc, host_side.rdev, "echoz", EP_HOST + 1, EP_ECHO_ZC, on_host_rx, NULL) ||
	    rpmsg_create_ept(&h_sink, host_side.rdev, "sink", EP_HOST + 2, EP_SINK, on_host_rx, NULL))
		die("rpmsg_create_ept (host)", 0);
	while (!atomic_load(&remote_ready))
		sched_yield();

	printf("{\"openamp\":\"%d.%d.%d\",\"spinUs\":%.1f,\"vringNum\":%u,\"bufferSize\":%u,\"rttN\":%d,\"tputN\":%d,\"warmup\":%d,\"tputWarmup\":%d,\"cpus\":[%d,%d],\"cases\":[",
	       OPENAMP_VERSION_MAJOR, OPENAMP_VERSION_MINOR, OPENAMP_VERSION_PATCH, spin_ns / 1e3, VRING_NUM, BUF_SIZE,
	       n_rtt, n_tput, n_warmup, n_tput_warmup, cpus[0], cpus[1]);
	for (int w = MODE_POLL; w <= MODE_SPIN; w++) {
		atomic_store(&wait_mode, w);
		bell_ring(&bells[TO_REMOTE]); /* a remote asleep in the old mode looks again */
		for (unsigned int k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
			for (int zc = 0; zc < 2; zc++) {
				double med, p99, mps;
				unsigned long full0, rings0;

				if (only_size >= 0 && (strcmp(only_wait, mode_names[w]) || only_size != (int)sizes[k] ||
						       only_zc != zc))
					continue;

				echo_case(sizes[k], zc, &med, &p99);
				full0 = tx_full;
				rings0 = bells[TO_HOST].rings;
				mps = tput_case(sizes[k], zc);
				printf("%s{\"wait\":\"%s\",\"size\":%u,\"zeroCopy\":%s,\"rttMedianUs\":%.3f,\"rttP99Us\":%.3f,\"msgsPerSec\":%.0f,\"oneWayTxFull\":%lu,\"oneWayRingsToHost\":%lu}",
				       first ? "" : ",", mode_names[w], sizes[k], zc ? "true" : "false", med, p99, mps,
				       tx_full - full0, bells[TO_HOST].rings - rings0);
				first = 0;
				fflush(stdout);
			}
		}
	}
	atomic_store(&stop_remote, 1);
	bell_ring(&bells[TO_REMOTE]);
	pthread_join(remote, NULL);
	printf("],\"echoFailed\":%lu,\"bellRings\":[%lu,%lu],\"bellWakes\":[%lu,%lu]}\n", echo_failed,
	       bells[TO_HOST].rings, bells[TO_REMOTE].rings, bells[TO_HOST].wakes, bells[TO_REMOTE].wakes);
	return echo_failed ? 1 : 0;
}
