/*
 * rpmsg-ept: the guest side of the rpmsg checks, a static program in the UML initramfs.
 * Linux userspace as a firmware team writes it: /dev/rpmsg_ctrl0, /dev/rpmsgN, /dev/ttyRPMSGn.
 *
 *   rpmsg-ept create <ctrl> <name> <dst>     RPMSG_CREATE_EPT_IOCTL (src ANY); prints /dev/rpmsgN
 *   rpmsg-ept find <name>                    prints the /dev/rpmsgN whose channel is <name>
 *   rpmsg-ept destroy <dev>                  RPMSG_DESTROY_EPT_IOCTL on an endpoint device
 *   rpmsg-ept echo <dev> <count> <max>       sends <count> messages of 1..<max> bytes, expects
 *                                            each back byte for byte (the peer echoes)
 *   rpmsg-ept tty <tty> <count> <max>        the same through an rpmsg_tty port (a byte stream)
 *   rpmsg-ept bench <dev> <count> <size>     echo round trips, prints median/p90/p99 in us
 *
 * Prints one result line; exits 0 on success, 1 on a failed check, 2 on bad usage.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/rpmsg.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#define MAX_PAYLOAD 496

static int fail(const char *fmt, const char *a, long b)
{
	printf("rpmsg-ept: ");
	printf(fmt, a, b);
	printf(" (errno %d: %s)\n", errno, strerror(errno));
	return 1;
}

/* Marks every N for which /dev/rpmsgN exists (N < n). */
static void list_devs(unsigned char *seen, int n)
{
	memset(seen, 0, (size_t)n);
	DIR *d = opendir("/dev");
	if (d == NULL)
		return;
	for (struct dirent *e; (e = readdir(d)) != NULL;) {
		int k;
		char tail;
		if (sscanf(e->d_name, "rpmsg%d%c", &k, &tail) == 1 && k >= 0 && k < n)
			seen[k] = 1;
	}
	closedir(d);
}

static int cmd_create(const char *ctrl, const char *name, const char *dst)
{
	struct rpmsg_endpoint_info info;
	unsigned char before[256], after[256];
	memset(&info, 0, sizeof(info));
	strncpy(info.name, name, sizeof(info.name) - 1);
	info.src = 0xffffffff; /* RPMSG_ADDR_ANY: Linux picks a dynamic address */
	info.dst = (uint32_t)strtoul(dst, NULL, 0);
	list_devs(before, 256);
	int fd = open(ctrl, O_RDWR);
	if (fd < 0)
		return fail("cannot open %s%ld", ctrl, 0);
	if (ioctl(fd, RPMSG_CREATE_EPT_IOCTL, &info) < 0)
		return fail("RPMSG_CREATE_EPT_IOCTL on %s (dst %ld)", ctrl, (long)info.dst);
	close(fd);
	list_devs(after, 256);
	for (int k = 0; k < 256; k++)
		if (after[k] && !before[k]) {
			printf("/dev/rpmsg%d\n", k);
			return 0;
		}
	return fail("%s created no new /dev/rpmsgN%ld", ctrl, 0);
}

static int cmd_find(const char *name)
{
	DIR *d = opendir("/sys/class/rpmsg");
	if (d == NULL)
		return fail("no /sys/class/rpmsg%s%ld", "", 0);
	for (struct dirent *e; (e = readdir(d)) != NULL;) {
		int k;
		char tail, path[300], got[64] = "";
		if (sscanf(e->d_name, "rpmsg%d%c", &k, &tail) != 1)
			continue;
		snprintf(path, sizeof(path), "/sys/class/rpmsg/%s/name", e->d_name);
		FILE *f = fopen(path, "r");
		if (f == NULL)
			continue;
		if (fgets(got, sizeof(got), f) != NULL)
			got[strcspn(got, "\n")] = 0;
		fclose(f);
		if (strcmp(got, name) == 0) {
			printf("/dev/%s\n", e->d_name);
			closedir(d);
			return 0;
		}
	}
	closedir(d);
	errno = ENOENT;
	return fail("no endpoint device for channel %s%ld", name, 0);
}

static int cmd_destroy(const char *dev)
{
	int fd = open(dev, O_RDWR);
	if (fd < 0)
		return fail("cannot open %s%ld", dev, 0);
	if (ioctl(fd, RPMSG_DESTROY_EPT_IOCTL) < 0)
		return fail("RPMSG_DESTROY_EPT_IOCTL on %s%ld", dev, 0);
	close(fd);
	printf("rpmsg-ept: destroyed %s\n", dev);
	return 0;
}

static void pattern(unsigned char *b, int n, int seq)
{
	for (int j = 0; j < n; j++)
		b[j] = (unsigned char)(seq * 7 + j * 13 + 1);
}

/* Reads exactly n bytes (a tty delivers a stream) within timeout_ms. */
static int read_full(int fd, unsigned char *b, int n, int timeout_ms)
{
	int got = 0;
	while (got < n) {
		struct pollfd p = { fd, POLLIN, 0 };
		int r = poll(&p, 1, timeout_ms);
		if (r <= 0) {
			errno = r == 0 ? ETIMEDOUT : errno;
			return got;
		}
		ssize_t k = read(fd, b + got, (size_t)(n - got));
		if (k <= 0)
			return got;
		got += (int)k;
	}
	return got;
}

static int echo(const char *dev, int count, int max, int tty)
{
	unsigned char out[MAX_PAYLOAD], in[MAX_PAYLOAD + 1];
	int fd = open(dev, O_RDWR | O_NOCTTY);
	if (fd < 0)
		return fail("cannot open %s%ld", dev, 0);
	if (tty) {
		struct termios t;
		if (tcgetattr(fd, &t) < 0)
			return fail("tcgetattr %s%ld", dev, 0);
		cfmakeraw(&t);
		tcsetattr(fd, TCSANOW, &t);
	}
	long bytes = 0;
	for (int i = 0; i < count; i++) {
		int n = 1 + i % max;
		pattern(out, n, i);
		ssize_t w = write(fd, out, (size_t)n);
		if (w != n)
			return fail("write to %s, message %ld", dev, i);
		int got;
		if (tty) {
			got = read_full(fd, in, n, 5000);
		} else {
			struct pollfd p = { fd, POLLIN, 0 };
			if (poll(&p, 1, 5000) <= 0) {
				errno = ETIMEDOUT;
				return fail("no echo on %s for message %ld", dev, i);
			}
			got = (int)read(fd, in, sizeof(in));
		}
		if (got != n || memcmp(in, out, (size_t)n) != 0) {
			printf("rpmsg-ept: %s message %d: sent %d bytes, got %d back%s\n", dev, i, n, got,
			       got == n ? " with different bytes" : "");
			return 1;
		}
		bytes += n;
	}
	close(fd);
	printf("rpmsg-ept: %s: %d messages of 1..%d bytes echoed, %ld bytes each way, byte-exact\n", dev, count, max, bytes);
	return 0;
}

static int cmp_long(const void *a, const void *b)
{
	long x = *(const long *)a, y = *(const long *)b;
	return x < y ? -1 : x > y;
}

static long now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000L + ts.tv_nsec;
}

static int bench(const char *dev, int count, int size)
{
	unsigned char out[MAX_PAYLOAD], in[MAX_PAYLOAD];
	long *rt = calloc((size_t)count, sizeof(long));
	int fd = open(dev, O_RDWR);
	if (fd < 0 || rt == NULL)
		return fail("cannot open %s%ld", dev, 0);
	pattern(out, size, 0);
	for (int i = 0; i < count; i++) {
		long t0 = now_ns();
		if (write(fd, out, (size_t)size) != size || read(fd, in, sizeof(in)) != size)
			return fail("round trip on %s, message %ld", dev, i);
		rt[i] = now_ns() - t0;
	}
	qsort(rt, (size_t)count, sizeof(long), cmp_long);
	printf("rpmsg-bench: %d round trips of %d bytes: median %ld us, p90 %ld us, p99 %ld us\n", count, size,
	       rt[count / 2] / 1000, rt[count * 9 / 10] / 1000, rt[count * 99 / 100] / 1000);
	return 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 5 && strcmp(argv[1], "create") == 0)
		return cmd_create(argv[2], argv[3], argv[4]);
	if (argc == 3 && strcmp(argv[1], "find") == 0)
		return cmd_find(argv[2]);
	if (argc == 3 && strcmp(argv[1], "destroy") == 0)
		return cmd_destroy(argv[2]);
	if (argc == 5 && (strcmp(argv[1], "echo") == 0 || strcmp(argv[1], "tty") == 0 || strcmp(argv[1], "bench") == 0)) {
		int count = atoi(argv[3]), n = atoi(argv[4]);
		if (count < 1 || n < 1 || n > MAX_PAYLOAD) {
			fprintf(stderr, "rpmsg-ept: count >= 1, size 1..%d\n", MAX_PAYLOAD);
			return 2;
		}
		if (argv[1][0] == 'b')
			return bench(argv[2], count, n);
		return echo(argv[2], count, n, argv[1][0] == 't');
	}
	fprintf(stderr, "usage: rpmsg-ept create <ctrl> <name> <dst> | find <name> | destroy <dev> |\n"
			"       echo <dev> <count> <max> | tty <tty> <count> <max> | bench <dev> <count> <size>\n");
	return 2;
}
