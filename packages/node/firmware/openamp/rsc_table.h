/*
 * The OpenAMP echo firmware's resource table, in OpenAMP's own types (<openamp/remoteproc.h>):
 * one rpmsg vdev with two vrings at the fixed addresses of ../qemu/amp-qemu.h, the trace buffer,
 * and the control block as carveout "amp-ctrl".
 */
#ifndef AMP_OPENAMP_RSC_TABLE_H
#define AMP_OPENAMP_RSC_TABLE_H

#include <openamp/remoteproc.h>

#define RSC_NUM_ENTRIES 3u

/*
 * Notify ids as OpenAMP's reference remotes write them: vdev 31, vrings 1 and 2. OpenAMP's
 * parser (handle_vdev_rsc) claims each id in a 32-bit bitmap and rejects the table when two
 * entries share one, so the vdev's id must differ from the vrings' (amp-echo's 0/0/1 would not
 * parse). A Linux-style host, @amp included, rewrites the vring ids (0, 1) before the start.
 */
#define RSC_VDEV_NOTIFYID 31u
#define RSC_VRING0_NOTIFYID 1u
#define RSC_VRING1_NOTIFYID 2u

struct amp_rsc_table {
	struct resource_table hdr;
	uint32_t offset[RSC_NUM_ENTRIES];
	struct fw_rsc_vdev vdev;
	struct fw_rsc_vdev_vring vring[2];
	struct fw_rsc_trace trace;
	struct fw_rsc_carveout ctrl;
} METAL_PACKED_END;

extern struct amp_rsc_table rsc_table;

#endif
