// Type numbers, sentinels and struct sizes of the remoteproc resource table, with the names
// Linux uses in include/linux/remoteproc.h (OpenAMP lib/include/openamp/remoteproc.h agrees).
// All structures are packed: there is no padding anywhere (docs/wire-formats.md, "Resource table").

/** The only resource table version Linux and OpenAMP accept (`ver` in struct resource_table). */
export const RSC_TABLE_VERSION = 1;

/** `RSC_CARVEOUT`: a memory region the host allocates (struct fw_rsc_carveout). */
export const RSC_CARVEOUT = 0;
/** `RSC_DEVMEM`: a device memory region the host IOMMU-maps (struct fw_rsc_devmem). */
export const RSC_DEVMEM = 1;
/** `RSC_TRACE`: a trace buffer the remote writes (struct fw_rsc_trace). */
export const RSC_TRACE = 2;
/** `RSC_VDEV`: a virtio device with its vrings and config space (struct fw_rsc_vdev). */
export const RSC_VDEV = 3;
/** `RSC_LAST`: the first type number that is not a standard type; 4..127 are skipped. */
export const RSC_LAST = 4;
/** `RSC_VENDOR_START`: first vendor-specific type. The range is inclusive of both ends. */
export const RSC_VENDOR_START = 128;
/** `RSC_VENDOR_END`: last vendor-specific type (inclusive: Linux tests `type <= 512`). */
export const RSC_VENDOR_END = 512;

/** `FW_RSC_ADDR_ANY`: "any address" in a u32 da/pa field (-1 stored as 0xFFFFFFFF). */
export const FW_RSC_ADDR_ANY = 0xffff_ffff;
/** `RSC_NOTIFY_ID_ANY` (OpenAMP): "allocate a notify id for me". */
export const RSC_NOTIFY_ID_ANY = 0xffff_ffff;

/** `sizeof(struct resource_table)`: ver, num, reserved[2]; the offset array follows. */
export const RESOURCE_TABLE_SIZE = 16;
/** `sizeof(struct fw_rsc_hdr)`: the u32 type word in front of every entry body. */
export const FW_RSC_HDR_SIZE = 4;
/** `sizeof(struct fw_rsc_carveout)` as Linux declares it: the body after the type word. */
export const FW_RSC_CARVEOUT_SIZE = 52;
/** `sizeof(struct fw_rsc_devmem)` (body after the type word). */
export const FW_RSC_DEVMEM_SIZE = 52;
/** `sizeof(struct fw_rsc_trace)` (body after the type word). */
export const FW_RSC_TRACE_SIZE = 44;
/** `sizeof(struct fw_rsc_vdev)` (body after the type word, without vrings and config). */
export const FW_RSC_VDEV_SIZE = 24;
/** `sizeof(struct fw_rsc_vdev_vring)`. */
export const FW_RSC_VDEV_VRING_SIZE = 20;
/** Size of the NUL-terminated `name` field of carveout, devmem and trace entries. */
export const RSC_NAME_SIZE = 32;
/** Linux rejects a vdev with more vrings than this (`rproc_handle_vdev`). */
export const RSC_VDEV_MAX_VRINGS = 2;
