/*
 * gpio-v2: a small GPIO character-device tool on the v2 uAPI (<linux/gpio.h>), for the UML
 * initramfs (busybox has no gpio applet).
 *
 *   gpio-v2 info <chip>                            chip label and every line's name
 *   gpio-v2 get <chip> <line>                      requests the line as input, prints its value
 *   gpio-v2 set <chip> <line> <0|1> <hold ms>      drives the line, holds it, releases it
 *   gpio-v2 edge <chip> <line> rising|falling|both <count> <timeout ms>
 *                                                  prints "@@amp gpio-edge-ready <line>" once the
 *                                                  line is requested, then each event until
 *                                                  <count> arrived (exit 0) or the timeout (exit 1)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/gpio.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

static int fail(const char *what, const char *chip)
{
	printf("gpio-v2: %s on %s failed (errno %d: %s)\n", what, chip, errno, strerror(errno));
	return 1;
}

static int open_chip(const char *chip)
{
	int fd = open(chip, O_RDWR);
	if (fd < 0)
		fail("open", chip);
	return fd;
}

static int request(int chip_fd, unsigned line, unsigned long long flags, int value)
{
	struct gpio_v2_line_request r;
	memset(&r, 0, sizeof(r));
	r.offsets[0] = line;
	r.num_lines = 1;
	strcpy(r.consumer, "amp-gpio-v2");
	r.config.flags = flags;
	if (flags & GPIO_V2_LINE_FLAG_OUTPUT) {
		r.config.num_attrs = 1;
		r.config.attrs[0].attr.id = GPIO_V2_LINE_ATTR_ID_OUTPUT_VALUES;
		r.config.attrs[0].attr.values = value ? 1 : 0;
		r.config.attrs[0].mask = 1;
	}
	if (ioctl(chip_fd, GPIO_V2_GET_LINE_IOCTL, &r) < 0)
		return -1;
	return r.fd;
}

static int cmd_info(const char *chip)
{
	int fd = open_chip(chip);
	struct gpiochip_info ci;
	if (fd < 0)
		return 1;
	if (ioctl(fd, GPIO_GET_CHIPINFO_IOCTL, &ci) < 0)
		return fail("GPIO_GET_CHIPINFO_IOCTL", chip);
	printf("chip %s label=%s lines=%u\n", ci.name, ci.label, ci.lines);
	for (unsigned i = 0; i < ci.lines; i++) {
		struct gpio_v2_line_info li;
		memset(&li, 0, sizeof(li));
		li.offset = i;
		if (ioctl(fd, GPIO_V2_GET_LINEINFO_IOCTL, &li) < 0)
			return fail("GPIO_V2_GET_LINEINFO_IOCTL", chip);
		printf("line %u name=%s flags=0x%llx\n", i, li.name[0] ? li.name : "-", (unsigned long long)li.flags);
	}
	return 0;
}

static int cmd_get(const char *chip, unsigned line)
{
	int fd = open_chip(chip);
	if (fd < 0)
		return 1;
	int lfd = request(fd, line, GPIO_V2_LINE_FLAG_INPUT, 0);
	if (lfd < 0)
		return fail("GPIO_V2_GET_LINE_IOCTL (input)", chip);
	struct gpio_v2_line_values v = { 0, 1 };
	if (ioctl(lfd, GPIO_V2_LINE_GET_VALUES_IOCTL, &v) < 0)
		return fail("GPIO_V2_LINE_GET_VALUES_IOCTL", chip);
	printf("gpio-v2: line %u value=%llu\n", line, (unsigned long long)(v.bits & 1));
	return 0;
}

static int cmd_set(const char *chip, unsigned line, int value, int hold_ms)
{
	int fd = open_chip(chip);
	if (fd < 0)
		return 1;
	int lfd = request(fd, line, GPIO_V2_LINE_FLAG_OUTPUT, value);
	if (lfd < 0)
		return fail("GPIO_V2_GET_LINE_IOCTL (output)", chip);
	printf("gpio-v2: line %u driven %d\n", line, value);
	usleep((useconds_t)hold_ms * 1000);
	close(lfd);
	return 0;
}

static int cmd_edge(const char *chip, unsigned line, const char *kind, int count, int timeout_ms)
{
	unsigned long long edges = strcmp(kind, "rising") == 0 ? GPIO_V2_LINE_FLAG_EDGE_RISING
				 : strcmp(kind, "falling") == 0 ? GPIO_V2_LINE_FLAG_EDGE_FALLING
				 : GPIO_V2_LINE_FLAG_EDGE_RISING | GPIO_V2_LINE_FLAG_EDGE_FALLING;
	int fd = open_chip(chip);
	if (fd < 0)
		return 1;
	int lfd = request(fd, line, GPIO_V2_LINE_FLAG_INPUT | edges, 0);
	if (lfd < 0)
		return fail("GPIO_V2_GET_LINE_IOCTL (edge)", chip);
	printf("@@amp gpio-edge-ready %u\n", line);
	for (int got = 0; got < count;) {
		struct pollfd p = { lfd, POLLIN, 0 };
		int r = poll(&p, 1, timeout_ms);
		if (r <= 0) {
			printf("gpio-v2: line %u: %d of %d edge events before the %d ms timeout\n", line, got, count, timeout_ms);
			return 1;
		}
		struct gpio_v2_line_event e;
		if (read(lfd, &e, sizeof(e)) != (ssize_t)sizeof(e))
			return fail("read event", chip);
		got++;
		printf("gpio-v2: event line=%u %s seqno=%u\n", e.offset,
		       e.id == GPIO_V2_LINE_EVENT_RISING_EDGE ? "rising" : "falling", e.line_seqno);
	}
	return 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 3 && strcmp(argv[1], "info") == 0)
		return cmd_info(argv[2]);
	if (argc == 4 && strcmp(argv[1], "get") == 0)
		return cmd_get(argv[2], (unsigned)atoi(argv[3]));
	if (argc == 6 && strcmp(argv[1], "set") == 0)
		return cmd_set(argv[2], (unsigned)atoi(argv[3]), atoi(argv[4]), atoi(argv[5]));
	if (argc == 7 && strcmp(argv[1], "edge") == 0)
		return cmd_edge(argv[2], (unsigned)atoi(argv[3]), argv[4], atoi(argv[5]), atoi(argv[6]));
	fprintf(stderr, "usage: gpio-v2 info <chip> | get <chip> <line> | set <chip> <line> <0|1> <hold ms> |\n"
			"       edge <chip> <line> rising|falling|both <count> <timeout ms>\n");
	return 2;
}
