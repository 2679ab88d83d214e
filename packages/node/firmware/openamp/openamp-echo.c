/*
 * openamp-echo: an rpmsg echo remote built on OpenAMP's own code (libmetal generic system +
 * open-amp remoteproc and rpmsg_virtio, device role), for QEMU mps2-an386 under the @amp host.
 *
 * What it does, in the order a remoteproc host expects:
 *   1. boots from the vector table at 0x21000000 (the host loaded the image into the RAM file),
 *   2. hands its resource table to OpenAMP (remoteproc_set_rsc_table) over one libmetal I/O
 *      region that maps the whole 16 MiB RAM one to one (da = pa = va),
 *   3. waits for DRIVER_OK in WFI (kicking the watchdog), then lets OpenAMP create the vdev and
 *      its virtqueues (remoteproc_create_virtio, rpmsg_init_vdev in the device role),
 *   4. creates "rpmsg-openamp-echo" and "amp-ctrl" (addresses from OpenAMP, 1024 and 1025);
 *      OpenAMP announces both to the host's name service,
 *   5. echoes every message back to its sender; runs the text commands of amp-echo's "amp-ctrl"
 *      (ping, stats, trace <text>, crash, crash-div0, hang, reset),
 *   6. on each doorbell (or SysTick, or every turn in poll mode) asks OpenAMP to look at every
 *      vring (remoteproc_get_notification with RSC_NOTIFY_ID_ANY),
 *   7. when the host clears the vdev status, tears the rpmsg device down and goes back to 3.
 * Board matters (doorbell, watchdog, crash record) are in board.c.
 */
#include <metal/io.h>
#include <metal/log.h>
#include <metal/sys.h>
#include <openamp/remoteproc.h>
#include <openamp/remoteproc_virtio.h>
#include <openamp/rpmsg.h>
#include <openamp/rpmsg_virtio.h>
#include <openamp/virtqueue.h>
#include "board.h"
#include "rsc_table.h"

#define ECHO_NAME "rpmsg-openamp-echo"

static struct metal_io_region ram_io;
static const metal_phys_addr_t ram_pa = AMPQ_RAM_BASE;
static struct remoteproc_mem ram_mem;
static struct remoteproc rproc;
static struct virtio_device *vdev;
static struct rpmsg_virtio_device rvdev;
static struct rpmsg_endpoint echo_ept;
static struct rpmsg_endpoint ctrl_ept;

static int driver_ok(void)
{
	return (*(volatile uint8_t *)&rsc_table.vdev.status & VIRTIO_CONFIG_STATUS_DRIVER_OK) != 0;
}

/* Has the host made a buffer available on `vq` that OpenAMP has not taken yet? */
static int vq_has_avail(struct virtqueue *vq)
{
	return vq && *(volatile uint16_t *)&vq->vq_ring.avail->idx != vq->vq_available_idx;
}

/* ---- libmetal and remoteproc glue ---- */

/* libmetal's log, verbatim (no printf: newlib's formatter would double the image). */
static void log_to_trace(enum metal_log_level level, const char *format, ...)
{
	char line[120];
	char *p = line;

	p = fmt_u32(p, (uint32_t)level, 10);
	*p++ = ' ';
	for (const char *s = "metal: "; *s;)
		*p++ = *s++;
	while (*format && *format != '\r' && *format != '\n' && p < line + sizeof line)
		*p++ = *format++;
	trace_n(line, (unsigned int)(p - line));
}

/* OpenAMP -> host: a vring has news (virtqueue_kick found the host wants interrupts). */
static int rproc_notify(struct remoteproc *r, uint32_t id)
{
	(void)r;
	doorbell_ring(id);
	return 0;
}

static struct remoteproc *rproc_init(struct remoteproc *r, const struct remoteproc_ops *ops, void *arg)
{
	(void)arg;
	r->ops = ops;
	return r;
}

static void rproc_remove(struct remoteproc *r)
{
	(void)r;
}

static const struct remoteproc_ops rproc_ops = {
	.init = rproc_init,
	.remove = rproc_remove,
	.notify = rproc_notify,
};

/*
 * rpmsg_virtio calls this when every host rx buffer is in use and a message is waiting to go
 * out. The host refills vring 0 without kicking while OpenAMP keeps VRING_USED_F_NO_NOTIFY set
 * there, so ask for a kick (virtqueue_enable_cb), sleep until the doorbell or the next tick, and
 * suppress kicks again. Waiting for the host is not a hang: kick the watchdog. A host that went
 * away (status no longer DRIVER_OK) ends the wait with an error, and the message is dropped.
 */
static int tx_buffer_ready(void)
{
	return vq_has_avail(rvdev.svq) || !driver_ok();
}

static int wait_for_host_buffer(struct rpmsg_device *rdev, uint32_t id)
{
	(void)rdev;
	(void)id;
	if (!driver_ok())
		return RPMSG_ERR_DEV_STATE;
	watchdog_kick();
	if (virtqueue_enable_cb(rvdev.svq) == 0)
		board_idle(tx_buffer_ready);
	virtqueue_disable_cb(rvdev.svq);
	return RPMSG_SUCCESS;
}

/* ---- endpoints ---- */

static int echo_cb(struct rpmsg_endpoint *ept, void *data, size_t len, uint32_t src, void *priv)
{
	(void)priv;
	CTRL_INC(AMPQ_CTRL_RX);
	/* To the sender, not ept->dest_addr: OpenAMP binds that to the first sender only. */
	if (rpmsg_sendto(ept, data, (int)len, src) >= 0)
		CTRL_INC(AMPQ_CTRL_TX);
	else
		trace_kv("echo: reply lost, len ", (uint32_t)len, 10);
	return RPMSG_SUCCESS;
}

static void reply(struct rpmsg_endpoint *ept, uint32_t dst, const char *text, unsigned int n)
{
	if (rpmsg_sendto(ept, text, (int)n, dst) >= 0)
		CTRL_INC(AMPQ_CTRL_TX);
}

static int is_cmd(const char *cmd, size_t len, const char *word)
{
	size_t i = 0;

	for (; word[i]; i++)
		if (i >= len || cmd[i] != word[i])
			return 0;
	return i == len;
}

static char *append(char *p, const char *s)
{
	while (*s)
		*p++ = *s++;
	return p;
}

static int ctrl_cb(struct rpmsg_endpoint *ept, void *data, size_t len, uint32_t src, void *priv)
{
	const char *cmd = data;
	char line[128];
	char *p = line;

	(void)priv;
	CTRL_INC(AMPQ_CTRL_RX);
	if (is_cmd(cmd, len, "ping")) {
		reply(ept, src, "pong", 4);
	} else if (len > 6 && is_cmd(cmd, 6, "trace ")) {
		trace_n(cmd + 6, (unsigned int)len - 6u);
		reply(ept, src, "ok", 2);
	} else if (is_cmd(cmd, len, "stats")) {
		p = append(p, "rx ");
		p = fmt_u32(p, CTRL(AMPQ_CTRL_RX), 10);
		p = append(p, " tx ");
		p = fmt_u32(p, CTRL(AMPQ_CTRL_TX), 10);
		p = append(p, " irqs ");
		p = fmt_u32(p, CTRL(AMPQ_CTRL_IRQS), 10);
		p = append(p, " heap ");
		p = fmt_u32(p, heap_used(), 10);
		p = append(p, " stack ");
		p = fmt_u32(p, stack_used(), 10);
		reply(ept, src, line, (unsigned int)(p - line));
	} else if (is_cmd(cmd, len, "crash")) {
		trace("ctrl: crash on purpose (undefined instruction)");
		crash_undefined();
	} else if (is_cmd(cmd, len, "crash-div0")) {
		trace("ctrl: crash on purpose (divide by zero)");
		(void)crash_div0();
	} else if (is_cmd(cmd, len, "hang")) {
		trace("ctrl: hanging on purpose (the watchdog will fire)");
		hang_forever();
	} else if (is_cmd(cmd, len, "reset")) {
		trace("ctrl: system reset request (SYSRESETREQ)");
		reset_request();
	} else {
		reply(ept, src, "unknown command", 15);
	}
	return RPMSG_SUCCESS;
}

/* ---- the rpmsg link, from DRIVER_OK until the host resets the vdev ---- */

static int link_up(void)
{
	struct rpmsg_device *rdev;
	int ret;

	vdev = remoteproc_create_virtio(&rproc, 0, VIRTIO_DEV_DEVICE, NULL);
	if (!vdev) {
		trace("openamp: remoteproc_create_virtio failed");
		return -1;
	}
	ret = rpmsg_init_vdev(&rvdev, vdev, NULL, &ram_io, NULL);
	if (ret) {
		trace_kv("openamp: rpmsg_init_vdev failed ", (uint32_t)ret, 16);
		remoteproc_remove_virtio(&rproc, vdev);
		return -1;
	}
	rpmsg_virtio_set_wait_cb(&rvdev, wait_for_host_buffer);
	rdev = rpmsg_virtio_get_rpmsg_device(&rvdev);
	trace_kv("vdev: DRIVER_OK, features ", rsc_table.vdev.gfeatures, 16);
	trace_kv("vdev: vring0 da ", rsc_table.vring[0].da, 16);
	trace_kv("vdev: vring1 da ", rsc_table.vring[1].da, 16);
	ret = rpmsg_create_ept(&echo_ept, rdev, ECHO_NAME, RPMSG_ADDR_ANY, RPMSG_ADDR_ANY, echo_cb, NULL);
	if (ret == 0)
		trace_kv("ns: announced " ECHO_NAME " at ", echo_ept.addr, 10);
	ret |= rpmsg_create_ept(&ctrl_ept, rdev, AMPQ_CTRL_NAME, RPMSG_ADDR_ANY, RPMSG_ADDR_ANY, ctrl_cb, NULL);
	if (ret) {
		trace_kv("openamp: rpmsg_create_ept failed ", (uint32_t)ret, 16);
	} else {
		trace_kv("ns: announced " AMPQ_CTRL_NAME " at ", ctrl_ept.addr, 10);
		trace_kv("mem: heap ", heap_used(), 10);
	}
	CTRL(AMPQ_CTRL_STATE) = AMPQ_STATE_RUNNING;
	return 0;
}

static void link_down(void)
{
	trace("vdev: status reset by host, waiting for DRIVER_OK");
	rpmsg_deinit_vdev(&rvdev); /* destroys the endpoints and the virtqueues */
	remoteproc_remove_virtio(&rproc, vdev);
	vdev = NULL;
}

static int rx_ready(void)
{
	return vq_has_avail(rvdev.rvq) || !driver_ok();
}

static int status_ready(void)
{
	return driver_ok();
}

int main(void)
{
	struct metal_init_params params = { .log_handler = log_to_trace, .log_level = METAL_LOG_WARNING };
	int ret;

	board_init();
	ret = metal_init(&params);
	/* One region for everything the host shares: the table, vrings and buffers (da = pa = va).
	 * page_shift 24: the 16 MiB are one page, so pa <-> offset is a subtraction. */
	metal_io_init(&ram_io, (void *)(uintptr_t)AMPQ_RAM_BASE, &ram_pa, AMPQ_RAM_SIZE, 24, 0, NULL);
	if (ret == 0 && remoteproc_init(&rproc, &rproc_ops, NULL) != NULL) {
		remoteproc_init_mem(&ram_mem, "ram", AMPQ_RAM_BASE, AMPQ_RAM_BASE, AMPQ_RAM_SIZE, &ram_io);
		remoteproc_add_mem(&rproc, &ram_mem);
		ret = remoteproc_set_rsc_table(&rproc, &rsc_table.hdr, sizeof rsc_table);
	} else {
		ret = -1;
	}
	if (ret) {
		/* Nothing to talk over: say why, and let the host's timeout and our trace tell. */
		trace_kv("openamp: resource table refused, error ", (uint32_t)ret, 16);
		CTRL(AMPQ_CTRL_MAGIC) = AMPQ_MAGIC;
		for (;;) {
			watchdog_kick();
			board_idle(NULL);
		}
	}
	CTRL(AMPQ_CTRL_MAGIC) = AMPQ_MAGIC;

	for (;;) {
		CTRL(AMPQ_CTRL_STATE) = AMPQ_STATE_WAIT_DRIVER_OK;
		while (!driver_ok()) {
			watchdog_kick();
			board_idle(status_ready);
		}
		if (link_up() != 0) {
			while (driver_ok()) { /* the host must reset the vdev before another try */
				watchdog_kick();
				board_idle(NULL);
			}
			continue;
		}
		while (driver_ok()) {
			watchdog_kick();
			/* Forget the doorbell before looking: one that rings while we look keeps us awake. */
			(void)doorbell_take();
			/* The doorbell names no ring OpenAMP needs: look at all of them. */
			remoteproc_get_notification(&rproc, RSC_NOTIFY_ID_ANY);
			board_idle(rx_ready);
		}
		link_down();
	}
}
