/*
 * rpmsg-lite platform layer for Linux userspace, written for @amp's interop tests.
 *
 * Shared memory: one file, mapped MAP_SHARED. Device addresses (what goes into descriptors) are
 * da_base + file offset, so a peer that maps the same file computes the same addresses.
 *
 * Doorbell: a connected stream socket. Ringing vector v writes v as 4 bytes, little-endian; the
 * peer reads ids in 4-byte units. A Node peer gets it for free as an extra stdio pipe of the
 * child process (libuv makes those with socketpair), two C processes through a socket path.
 * 4 bytes because a vector id is (link_id << 1) | vring and link ids go up to 0x7fff in
 * rpmsg-lite; rings are rare enough (one per kick) that the size does not matter.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "amp_port.h"
#include "rpmsg_env.h"
#include "virtqueue.h"

struct vector
{
    void *isr_data; /* the struct virtqueue rpmsg-lite registered for this vector */
    int registered;
    int enabled;
    int pending;
};

static struct
{
    uint8_t *map;
    size_t map_size;
    size_t shm_offset;
    uint32_t da_base;
    int fd;         /* doorbell socket */
    int closed;     /* the peer closed the doorbell */
    int in_isr;
    int verbose;
    uint8_t partial[4];
    size_t partial_len;
    struct vector vectors[RL_PLATFORM_MAX_ISR_COUNT];
    struct amp_port_counters counters;
} port = {.fd = -1};

static void die(const char *fmt, const char *detail) __attribute__((noreturn));
static void die(const char *fmt, const char *detail)
{
    fprintf(stderr, "amp-port: ");
    fprintf(stderr, fmt, detail);
    fprintf(stderr, " (%s)\n", strerror(errno));
    exit(2);
}

void amp_port_assert_failed(const char *what, const char *file, int line)
{
    fprintf(stderr, "amp-port: rpmsg-lite assertion failed: %s at %s:%d\n", what, file, line);
    fflush(NULL);
    _exit(70);
}

uint64_t amp_port_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000U + (uint64_t)ts.tv_nsec / 1000000U;
}

static void sleep_ms(uint32_t ms)
{
    struct timespec ts = {.tv_sec = ms / 1000U, .tv_nsec = (long)(ms % 1000U) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
    {
    }
}

/* ---- shared memory ---- */

static void open_shm(const struct amp_port_options *o)
{
    int fd = open(o->shm_path, O_RDWR | O_CREAT, 0600);
    if (fd < 0)
    {
        die("cannot open shared memory file %s", o->shm_path);
    }
    struct stat st;
    if (fstat(fd, &st) != 0)
    {
        die("cannot stat %s", o->shm_path);
    }
    uint64_t size = o->shm_size != 0U ? o->shm_size : (uint64_t)st.st_size;
    if (size == 0U)
    {
        errno = EINVAL;
        die("shared memory file %s is empty and no --shm-size was given", o->shm_path);
    }
    if ((uint64_t)st.st_size < size && ftruncate(fd, (off_t)size) != 0)
    {
        die("cannot extend %s", o->shm_path);
    }
    if (o->shm_offset >= size || (o->shm_offset & 3U) != 0U)
    {
        errno = EINVAL;
        die("--shm-offset must be word aligned and inside the file %s", o->shm_path);
    }
    if (size - 1U > (uint64_t)UINT32_MAX - o->da_base)
    {
        errno = EINVAL;
        die("--da-base + file size exceeds 32 bits (rpmsg-lite descriptors carry 32-bit addresses) for %s",
            o->shm_path);
    }
    void *map = mmap(NULL, (size_t)size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (map == MAP_FAILED)
    {
        die("cannot map %s", o->shm_path);
    }
    close(fd);
    port.map        = map;
    port.map_size   = (size_t)size;
    port.shm_offset = (size_t)o->shm_offset;
    port.da_base    = o->da_base;
}

void *amp_port_shm(void)
{
    return port.map + port.shm_offset;
}

size_t amp_port_shm_length(void)
{
    return port.map_size - port.shm_offset;
}

uintptr_t platform_vatopa(void *addr)
{
    uint8_t *p = addr;
    if (p < port.map || p >= port.map + port.map_size)
    {
        fprintf(stderr, "amp-port: rpmsg-lite passed %p, outside the shared memory mapping\n", addr);
        _exit(3);
    }
    return (uintptr_t)port.da_base + (uintptr_t)(p - port.map);
}

void *platform_patova(uintptr_t addr)
{
    if (addr < port.da_base || addr - port.da_base >= port.map_size)
    {
        /* Only a peer's descriptor can hold such an address: the two sides disagree on the layout
         * or the base. A real core would read or write whatever is there; stop instead. */
        fprintf(stderr,
                "amp-port: device address 0x%lx from the peer is outside the shared memory [0x%x, 0x%lx)\n",
                (unsigned long)addr, port.da_base, (unsigned long)port.da_base + (unsigned long)port.map_size);
        _exit(3);
    }
    return port.map + (addr - port.da_base);
}

/* ---- doorbell socket ---- */

static int unix_address(const char *path, struct sockaddr_un *sa)
{
    memset(sa, 0, sizeof(*sa));
    sa->sun_family = AF_UNIX;
    if (strlen(path) >= sizeof(sa->sun_path))
    {
        errno = ENAMETOOLONG;
        return -1;
    }
    strcpy(sa->sun_path, path);
    return 0;
}

static int connect_path(const char *path, uint32_t timeout_ms)
{
    struct sockaddr_un sa;
    if (unix_address(path, &sa) != 0)
    {
        die("doorbell path too long: %s", path);
    }
    uint64_t end = amp_port_now_ms() + timeout_ms;
    for (;;)
    {
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
        {
            die("socket() for %s", path);
        }
        if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
        {
            return fd;
        }
        close(fd);
        /* The listener may not be there yet: retry until the timeout. */
        if ((errno != ENOENT && errno != ECONNREFUSED) || amp_port_now_ms() >= end)
        {
            die("cannot connect the doorbell to %s", path);
        }
        sleep_ms(5U);
    }
}

static int listen_path(const char *path, uint32_t timeout_ms)
{
    struct sockaddr_un sa;
    if (unix_address(path, &sa) != 0)
    {
        die("doorbell path too long: %s", path);
    }
    int lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (lfd < 0)
    {
        die("socket() for %s", path);
    }
    unlink(path);
    if (bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(lfd, 1) != 0)
    {
        die("cannot listen on %s", path);
    }
    struct pollfd pfd = {.fd = lfd, .events = POLLIN};
    int r = poll(&pfd, 1, timeout_ms > (uint32_t)INT_MAX ? -1 : (int)timeout_ms);
    if (r <= 0)
    {
        errno = r == 0 ? ETIMEDOUT : errno;
        die("nobody connected to the doorbell at %s", path);
    }
    int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
    if (fd < 0)
    {
        die("accept on %s", path);
    }
    close(lfd);
    unlink(path);
    return fd;
}

static void open_doorbell(const struct amp_port_options *o)
{
    const char *spec = o->doorbell;
    if (spec == NULL)
    {
        errno = EINVAL;
        die("no doorbell given (--doorbell fd:N | connect:PATH | listen:PATH)%s", "");
    }
    if (strncmp(spec, "fd:", 3) == 0)
    {
        char *end;
        long fd = strtol(spec + 3, &end, 10);
        if (*end != '\0' || fd < 0 || fcntl((int)fd, F_GETFD) < 0)
        {
            errno = EBADF;
            die("bad doorbell %s", spec);
        }
        port.fd = (int)fd;
    }
    else if (strncmp(spec, "connect:", 8) == 0)
    {
        port.fd = connect_path(spec + 8, o->connect_timeout_ms);
    }
    else if (strncmp(spec, "listen:", 7) == 0)
    {
        port.fd = listen_path(spec + 7, o->connect_timeout_ms);
    }
    else
    {
        errno = EINVAL;
        die("bad doorbell %s (fd:N | connect:PATH | listen:PATH)", spec);
    }
}

void amp_port_open(const struct amp_port_options *options)
{
    signal(SIGPIPE, SIG_IGN); /* a peer that went away shows as EPIPE, handled below */
    port.verbose = options->verbose;
    open_shm(options);
    open_doorbell(options);
}

void amp_port_close(void)
{
    if (port.fd >= 0)
    {
        close(port.fd);
        port.fd = -1;
    }
    if (port.map != NULL)
    {
        munmap(port.map, port.map_size);
        port.map = NULL;
    }
}

int amp_port_peer_closed(void)
{
    return port.closed;
}

const struct amp_port_counters *amp_port_counters(void)
{
    return &port.counters;
}

struct amp_port_counters *amp_port_counters_mut(void)
{
    return &port.counters;
}

void platform_notify(uint32_t vector_id)
{
    uint8_t b[4] = {(uint8_t)vector_id, (uint8_t)(vector_id >> 8), (uint8_t)(vector_id >> 16),
                    (uint8_t)(vector_id >> 24)};
    size_t done = 0;
    port.counters.rings_sent++;
    while (!port.closed && done < sizeof(b))
    {
        ssize_t n = write(port.fd, b + done, sizeof(b) - done);
        if (n > 0)
        {
            done += (size_t)n;
        }
        else if (n < 0 && errno != EINTR)
        {
            port.closed = 1; /* EPIPE, ECONNRESET: the peer is gone; nothing to ring any more */
        }
    }
}

/* ---- interrupts ---- */

static struct vector *vector_of(uint32_t vector_id)
{
    return vector_id < RL_PLATFORM_MAX_ISR_COUNT ? &port.vectors[vector_id] : NULL;
}

int32_t platform_init_interrupt(uint32_t vector_id, void *isr_data)
{
    struct vector *v = vector_of(vector_id);
    if (v == NULL)
    {
        return -1;
    }
    v->isr_data   = isr_data;
    v->registered = 1;
    return 0;
}

int32_t platform_deinit_interrupt(uint32_t vector_id)
{
    struct vector *v = vector_of(vector_id);
    if (v == NULL)
    {
        return -1;
    }
    memset(v, 0, sizeof(*v));
    return 0;
}

int32_t platform_interrupt_enable(uint32_t vector_id)
{
    struct vector *v = vector_of(vector_id);
    if (v != NULL)
    {
        v->enabled = 1;
    }
    return 0;
}

int32_t platform_interrupt_disable(uint32_t vector_id)
{
    struct vector *v = vector_of(vector_id);
    if (v != NULL)
    {
        v->enabled = 0;
    }
    return 0;
}

int32_t platform_in_isr(void)
{
    return port.in_isr;
}

void amp_port_dispatch_isr(uint32_t vector_id)
{
    struct vector *v = vector_of(vector_id);
    if (v == NULL || !v->registered || v->isr_data == NULL)
    {
        return;
    }
    int was = port.in_isr;
    port.in_isr = 1;
    port.counters.isr_calls++;
    virtqueue_notification((struct virtqueue *)v->isr_data);
    port.in_isr = was;
}

/* Runs the callbacks of pending, enabled vectors: at most one call per vector per pass (a
 * callback drains its whole ring, so several rings of one vector need one call). */
static int take_pending(void)
{
    int ran = 0;
    if (port.in_isr)
    {
        return 0;
    }
    for (uint32_t i = 0; i < RL_PLATFORM_MAX_ISR_COUNT; i++)
    {
        struct vector *v = &port.vectors[i];
        if (v->pending && v->enabled && v->registered)
        {
            v->pending = 0;
            amp_port_dispatch_isr(i);
            ran++;
        }
    }
    return ran;
}

static void record_ring(uint32_t id)
{
    port.counters.rings_received++;
    struct vector *v = vector_of(id);
    if (v == NULL || !v->registered)
    {
        port.counters.rings_unknown++;
        if (port.verbose)
        {
            fprintf(stderr, "amp-port: ring on vector %u, which no vring uses\n", id);
        }
        return;
    }
    v->pending = 1;
}

static void read_doorbell(void)
{
    uint8_t buf[256];
    ssize_t n = read(port.fd, buf, sizeof(buf));
    if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN))
    {
        port.closed = 1;
        return;
    }
    for (ssize_t i = 0; i < n; i++)
    {
        port.partial[port.partial_len++] = buf[i];
        if (port.partial_len == 4U)
        {
            record_ring((uint32_t)port.partial[0] | ((uint32_t)port.partial[1] << 8) |
                        ((uint32_t)port.partial[2] << 16) | ((uint32_t)port.partial[3] << 24));
            port.partial_len = 0;
        }
    }
}

int amp_port_wait(uint32_t timeout_ms)
{
    int ran = take_pending();
    if (ran > 0)
    {
        return ran;
    }
    if (port.closed)
    {
        sleep_ms(timeout_ms > 1000U ? 1000U : timeout_ms);
        return -1;
    }
    struct pollfd pfd = {.fd = port.fd, .events = POLLIN};
    int r = poll(&pfd, 1, timeout_ms > (uint32_t)INT_MAX ? -1 : (int)timeout_ms);
    if (r > 0)
    {
        read_doorbell();
        /* Drain what else is queued without waiting, so a burst costs one pass. */
        while (!port.closed && poll(&pfd, 1, 0) > 0)
        {
            read_doorbell();
        }
    }
    ran = take_pending();
    return (ran == 0 && port.closed) ? -1 : ran;
}

/* ---- the rest of the platform API: nothing to do on a cache-coherent host ---- */

void platform_time_delay(uint32_t num_msec)
{
    sleep_ms(num_msec);
}

void platform_map_mem_region(uint32_t vrt_addr, uint32_t phy_addr, uint32_t size, uint32_t flags)
{
    (void)vrt_addr;
    (void)phy_addr;
    (void)size;
    (void)flags;
}

void platform_cache_all_flush_invalidate(void)
{
}

void platform_cache_disable(void)
{
}

void platform_cache_invalidate(void *data, uint32_t len)
{
    (void)data;
    (void)len;
}

void platform_cache_flush(void *data, uint32_t len)
{
    (void)data;
    (void)len;
}

int32_t platform_init(void)
{
    return 0;
}

int32_t platform_deinit(void)
{
    return 0;
}
