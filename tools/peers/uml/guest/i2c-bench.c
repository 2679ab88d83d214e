/*
 * i2c-bench: I2C read latency through /dev/i2c-N, as a register read is done from userspace:
 * one I2C_RDWR transfer of two messages (write the register number, read <len> bytes).
 *
 *   i2c-bench <dev> <addr> <reg> <len> <count>    prints median/p90/p99 in us and the last value
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/i2c-dev.h>
#include <linux/i2c.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

static long now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000L + ts.tv_nsec;
}

static int cmp_long(const void *a, const void *b)
{
	long x = *(const long *)a, y = *(const long *)b;
	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	if (argc != 6) {
		fprintf(stderr, "usage: i2c-bench <dev> <addr> <reg> <len> <count>\n");
		return 2;
	}
	int addr = (int)strtol(argv[2], NULL, 0), len = atoi(argv[4]), count = atoi(argv[5]);
	unsigned char reg = (unsigned char)strtol(argv[3], NULL, 0), buf[64];
	if (len < 1 || len > (int)sizeof(buf) || count < 1)
		return 2;
	int fd = open(argv[1], O_RDWR);
	long *t = calloc((size_t)count, sizeof(long));
	if (fd < 0 || t == NULL) {
		printf("i2c-bench: cannot open %s (errno %d: %s)\n", argv[1], errno, strerror(errno));
		return 1;
	}
	for (int i = 0; i < count; i++) {
		struct i2c_msg m[2] = {
			{ .addr = (unsigned short)addr, .flags = 0, .len = 1, .buf = &reg },
			{ .addr = (unsigned short)addr, .flags = I2C_M_RD, .len = (unsigned short)len, .buf = buf },
		};
		struct i2c_rdwr_ioctl_data d = { m, 2 };
		long t0 = now_ns();
		if (ioctl(fd, I2C_RDWR, &d) != 2) {
			printf("i2c-bench: transfer %d to 0x%02x failed (errno %d: %s)\n", i, addr, errno, strerror(errno));
			return 1;
		}
		t[i] = now_ns() - t0;
	}
	qsort(t, (size_t)count, sizeof(long), cmp_long);
	printf("i2c-bench: %d reads of %d bytes at 0x%02x reg 0x%02x: median %ld us, p90 %ld us, p99 %ld us, last", count, len, addr, reg,
	       t[count / 2] / 1000, t[count * 9 / 10] / 1000, t[count * 99 / 100] / 1000);
	for (int j = 0; j < len; j++)
		printf(" %02x", buf[j]);
	printf("\n");
	return 0;
}
