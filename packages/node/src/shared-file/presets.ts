// Known layouts of process-based remotes, for SharedFileDriver / createSharedFileRemoteproc.
import type { SharedFileDriverOptions } from "./driver.js";

/**
 * OpenAMP's Linux-machine platform (openamp-system-reference, examples/legacy_apps,
 * system/linux/machine/generic), as its sample apps hard-code it, seen from the host:
 *
 * | | |
 * |---|---|
 * | memory | `/dev/shm/openamp.shm`, 512 KiB; device address = file offset |
 * | resource table | at 0, written by the remote (one rpmsg vdev, vrings at 0x4000 and 0x8000, 256 entries, align 0x1000) |
 * | rpmsg buffers | 0x10000, 256 KiB (`vdev0buffer`: 2 x 256 buffers of 512 bytes) |
 * | doorbell | UNIX socket `/tmp/openamp.event.0`, one byte per notification, no queue id; the remote listens, the host connects |
 *
 * Spread it and override what differs: `{ ...OPENAMP_LINUX_MACHINE, memoryPath }`.
 */
export const OPENAMP_LINUX_MACHINE: SharedFileDriverOptions = {
  memoryPath: "/dev/shm/openamp.shm",
  memorySize: 0x8_0000,
  memoryDa: 0,
  resourceTable: { da: 0 },
  regions: [
    // The table and the two vrings the remote placed; nothing else may be allocated there.
    { name: "rsc-vrings", da: 0, size: 0x1_0000 },
    { name: "vdev0buffer", da: 0x1_0000, size: 0x4_0000 },
    { name: "pool", da: 0x5_0000, size: 0x3_0000, pool: true },
  ],
  doorbell: { kind: "unix-socket", path: "/tmp/openamp.event.0", role: "client", queueIds: "any" },
};
