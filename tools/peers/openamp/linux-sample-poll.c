/*
 * A polling platform_poll() for openamp-system-reference's Linux-machine sample apps
 * (examples/legacy_apps: rpmsg-echo, rpmsg-echo-ping), written by the @amp project against
 * libmetal's and open-amp's public headers. Built and linked by scripts/peers/build-openamp.sh.
 *
 * Why it exists: on machines without UIO/VFIO (CI VMs, containers), metal_init() fails in
 * libmetal's Linux bus init and returns before it starts its interrupt thread. The sample's
 * doorbell handler then never runs, and the sample's own platform_poll() waits forever for a
 * flag only that handler clears. This file waits on the doorbell socket itself.
 *
 * How it is wired, without editing the sample's files: the sample's platform_info.c is compiled
 * with
 *   -Dplatform_poll=amp_sample_platform_poll        its own poll keeps existing under that name
 *   -Dmetal_irq_register=amp_sample_irq_register    so that we learn the doorbell socket's fd
 * and this file provides platform_poll() and amp_sample_irq_register().
 *
 * Each call: wait up to 1 ms for doorbell bytes, drain every byte (the peer writes one byte per
 * notification and the socket must never fill up), then ask open-amp to look at every vring
 * (RSC_NOTIFY_ID_ANY): the sample's doorbell byte carries no queue id.
 */
#include <errno.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <metal/irq.h>
#include <openamp/remoteproc.h>

int amp_sample_irq_register(int irq, metal_irq_handler handler, void *arg);
int platform_poll(void *priv);

/* The doorbell socket the sample registered as its interrupt (-1: none yet, or unregistered). */
static int doorbell_fd = -1;
/* Set once the peer closed the socket: poll() then returns at once, so we sleep instead. */
static int doorbell_closed;

int amp_sample_irq_register(int irq, metal_irq_handler handler, void *arg)
{
	/* The sample registers its socket fd as the "irq"; a NULL handler unregisters it. */
	doorbell_fd = handler != NULL ? irq : -1;
	doorbell_closed = 0;
	/* libmetal's own bookkeeping as the sample expects it (it fails harmlessly when
	 * metal_init did not get as far as the interrupt controller). */
	return metal_irq_register(irq, handler, arg);
}

static void drain_doorbell(void)
{
	char bytes[64];

	for (;;) {
		ssize_t n = recv(doorbell_fd, bytes, sizeof(bytes), MSG_DONTWAIT);

		if (n > 0)
			continue;
		if (n == 0)
			doorbell_closed = 1;
		else if (errno == EINTR)
			continue;
		return; /* EAGAIN: drained; other errors: nothing more to read */
	}
}

int platform_poll(void *priv)
{
	struct remoteproc *rproc = priv;

	if (doorbell_fd >= 0 && !doorbell_closed) {
		struct pollfd p = { .fd = doorbell_fd, .events = POLLIN };

		if (poll(&p, 1, 1) > 0)
			drain_doorbell();
	} else {
		/* No doorbell (or the peer went away): keep the 1 ms rhythm without spinning. */
		usleep(1000);
	}
	/* Always: a notification may have raced the wait, and rings are cheap to look at. */
	remoteproc_get_notification(rproc, RSC_NOTIFY_ID_ANY);
	return 0;
}
