// Field offsets of the split ring's structures (<linux/virtio_ring.h>, docs/wire-formats.md, "Split virtqueue"),
// one home for both device-role implementations and the driver (split-queue.ts, lean/).

// struct vring_desc: le64 addr, le32 len, le16 flags, le16 next
export const D_ADDR = 0;
export const D_LEN = 8;
export const D_FLAGS = 12;
export const D_NEXT = 14;
// struct vring_avail / vring_used headers: le16 flags, le16 idx, then ring[]
export const R_FLAGS = 0;
export const R_IDX = 2;
export const R_RING = 4;
