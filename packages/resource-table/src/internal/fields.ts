// Field offsets inside an entry, counted from the entry's type word (OpenAMP's view of the
// structs, which include `type`; Linux's body structs start 4 bytes later). Checked against
// gcc's offsetof by test/conformance/c-layout.test.ts.
export const ENTRY_FIELDS = {
  // struct fw_rsc_carveout / fw_rsc_devmem (same layout)
  CARVEOUT_DA: 4,
  CARVEOUT_PA: 8,
  CARVEOUT_LEN: 12,
  CARVEOUT_FLAGS: 16,
  CARVEOUT_RESERVED: 20,
  CARVEOUT_NAME: 24,
  // struct fw_rsc_trace
  TRACE_DA: 4,
  TRACE_LEN: 8,
  TRACE_RESERVED: 12,
  TRACE_NAME: 16,
  // struct fw_rsc_vdev
  VDEV_ID: 4,
  VDEV_NOTIFYID: 8,
  VDEV_DFEATURES: 12,
  VDEV_GFEATURES: 16,
  VDEV_CONFIG_LEN: 20,
  VDEV_STATUS: 24,
  VDEV_NUM_OF_VRINGS: 25,
  VDEV_RESERVED: 26,
  VDEV_VRINGS: 28,
  // struct fw_rsc_vdev_vring, from the vring's start
  VRING_DA: 0,
  VRING_ALIGN: 4,
  VRING_NUM: 8,
  VRING_NOTIFYID: 12,
  VRING_PA: 16,
} as const;
