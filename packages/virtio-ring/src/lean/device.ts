// Public API of @amp/virtio-ring/device: the device role of a split virtqueue for one-descriptor
// buffers, for small remotes (the lean rpmsg remote). Everything else is in "@amp/virtio-ring".

/** Split virtqueue, device role, one-descriptor buffers, no INDIRECT_DESC or EVENT_IDX. */
export { LeanSplitDevice } from "./split-device.js";
export type { LeanQueueConfig, LeanChain } from "./split-device.js";
