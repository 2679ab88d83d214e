/* The resource table (see rsc_table.h), in section .resource_table where hosts look for it. */
#include <stddef.h>
#include <openamp/rpmsg_virtio.h>
#include "board.h"
#include "rsc_table.h"

__attribute__((section(".resource_table"), used, aligned(8)))
struct amp_rsc_table rsc_table = {
	.hdr = { .ver = 1, .num = RSC_NUM_ENTRIES, .reserved = { 0, 0 } },
	.offset = {
		offsetof(struct amp_rsc_table, vdev),
		offsetof(struct amp_rsc_table, trace),
		offsetof(struct amp_rsc_table, ctrl),
	},
	.vdev = {
		.type = RSC_VDEV,
		.id = VIRTIO_ID_RPMSG,
		.notifyid = RSC_VDEV_NOTIFYID,
		.dfeatures = 1u << VIRTIO_RPMSG_F_NS,
		.gfeatures = 0,
		.config_len = 0,
		.status = 0,
		.num_of_vrings = 2,
		.reserved = { 0, 0 },
	},
	.vring = {
		{ .da = AMPQ_VRING0_DA, .align = AMPQ_VRING_ALIGN, .num = AMPQ_VRING_NUM, .notifyid = RSC_VRING0_NOTIFYID, .reserved = 0 },
		{ .da = AMPQ_VRING1_DA, .align = AMPQ_VRING_ALIGN, .num = AMPQ_VRING_NUM, .notifyid = RSC_VRING1_NOTIFYID, .reserved = 0 },
	},
	.trace = { .type = RSC_TRACE, .da = (uint32_t)(uintptr_t)trace_buf, .len = TRACE_LEN, .reserved = 0, .name = "trace0" },
	.ctrl = {
		.type = RSC_CARVEOUT,
		.da = AMPQ_CTRL_DA,
		.pa = AMPQ_CTRL_DA,
		.len = AMPQ_CTRL_LEN,
		.flags = 0,
		.reserved = 0,
		.name = "amp-ctrl",
	},
};
