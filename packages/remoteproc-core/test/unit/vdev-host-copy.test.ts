// The vdev entry of the installed table is memory the remote can write while it runs. The host
// must not take back what it wrote there (vring addresses, notify ids, its status bits, the
// features it accepted): a remote that rewrites them must not steer the host (issue 15, item 1).
import { describe, expect, it } from "vitest";
import {
  SplitVirtqueueDriver,
  VIRTIO_CONFIG_S_DRIVER_OK,
  VIRTIO_CONFIG_S_FAILED,
  VIRTIO_CONFIG_S_NEEDS_RESET,
  driverNegotiate,
  driverReady,
  isAmpError,
} from "@amp/virtio-ring";
import { FW_RSC_VDEV_VRING_SIZE, RSC_ENTRY_FIELDS } from "@amp/resource-table";
import type { RprocVdev } from "@amp/remoteproc-core";
import { makePlatform, type Platform } from "../helpers/fixture.ts";

// struct fw_rsc_vdev / fw_rsc_vdev_vring offsets from the entry's type word: @amp/resource-table's
// (checked against gcc's offsetof there), so the wire layout has one home.
const {
  VDEV_DFEATURES: DFEATURES,
  VDEV_GFEATURES: GFEATURES,
  VDEV_STATUS: STATUS,
  VDEV_VRINGS: VRINGS,
  VRING_DA,
  VRING_NOTIFYID,
} = RSC_ENTRY_FIELDS;
const VRING_SIZE = FW_RSC_VDEV_VRING_SIZE;

/** What the remote does: a store into its own copy of the table. */
function remoteWrites(p: Platform, vdev: RprocVdev, off: number, value: number, width: 1 | 4 = 4): void {
  const loc = p.rproc.resourceTableLocation!;
  const w = p.rproc.translate(loc.da + vdev.entryOffset + off, width)!;
  if (width === 1) w.memory.setU8(w.offset, value);
  else w.memory.setU32(w.offset, value);
}

function remoteReads(p: Platform, vdev: RprocVdev, off: number): number {
  const loc = p.rproc.resourceTableLocation!;
  const w = p.rproc.translate(loc.da + vdev.entryOffset + off, 4)!;
  return w.memory.getU32(w.offset);
}

/** Boots with a driver that negotiates feature bit 0 and sets DRIVER_OK, as a virtio driver does. */
async function bootDriven(): Promise<{ p: Platform; vdev: RprocVdev }> {
  const p = makePlatform();
  let probed: RprocVdev | undefined;
  p.rproc.registerVirtioDriver({
    deviceIds: [7],
    probe(v) {
      probed = v;
      driverNegotiate(v.transport, { features: 1n });
      driverReady(v.transport);
      return undefined;
    },
  });
  await p.rproc.boot();
  if (probed === undefined) throw new Error("not probed");
  return { p, vdev: probed };
}

describe("the host keeps its own copy of what it wrote into the vdev entry", () => {
  it("a remote that moves vring 0 onto vring 1 after DRIVER_OK does not move the host's queue", async () => {
    const { p, vdev } = await bootDriven();
    const t = vdev.transport;
    const [v0, v1] = vdev.vrings;
    const before = t.getQueue(0);
    expect(before.descAddr).toBe(v0!.da);
    remoteWrites(p, vdev, VRINGS + VRING_DA, v1!.da);
    expect(remoteReads(p, vdev, VRINGS + VRING_DA)).toBe(v1!.da); // the remote did write it
    const after = t.getQueue(0);
    expect(after).toEqual(before);
    // A driver that sets its queue up again (a link restart) lays it over vring 0's own window.
    const q = new SplitVirtqueueDriver<number>({
      size: after.size,
      space: vdev.addressSpace,
      descAddr: after.descAddr,
      driverAddr: after.driverAddr,
      deviceAddr: after.deviceAddr,
      features: 0n,
      doorbell: { notify: () => undefined },
      notifyId: after.notifyId,
    });
    expect(q.size).toBe(v0!.num);
    expect(vdev.addressSpace.translate(after.descAddr, 16)).toEqual({
      memory: v0!.window.memory,
      offset: v0!.window.offset,
    });
    // ANY (unallocated) or an unmapped address from the remote changes nothing either.
    remoteWrites(p, vdev, VRINGS + VRING_SIZE + VRING_DA, 0xffffffff);
    expect(t.getQueue(1)).toMatchObject({ descAddr: v1!.da, ready: true });
    await p.rproc.shutdown();
  });

  it("notify ids stay the host's: kicks and interrupts follow the ids the core assigned", async () => {
    const { p, vdev } = await bootDriven();
    remoteWrites(p, vdev, VRINGS + VRING_NOTIFYID, 1);
    remoteWrites(p, vdev, VRINGS + VRING_SIZE + VRING_NOTIFYID, 0x7fff_ffff);
    expect([vdev.transport.getQueue(0).notifyId, vdev.transport.getQueue(1).notifyId]).toEqual([0, 1]);
    vdev.transport.notify(0);
    vdev.transport.notify(1);
    expect(p.driver.kicks).toEqual([0, 1]);
    await p.rproc.shutdown();
  });

  it("status: the driver's bits are the host's; only NEEDS_RESET, the device's bit, comes from the table", async () => {
    const { p, vdev } = await bootDriven();
    const t = vdev.transport;
    expect(t.getStatus()).toBe(0x07);
    remoteWrites(p, vdev, STATUS, 0, 1); // a remote cannot reset the device behind the driver's back
    expect(t.getStatus()).toBe(0x07);
    remoteWrites(p, vdev, STATUS, VIRTIO_CONFIG_S_FAILED | 0x08, 1); // nor set driver-only bits
    expect(t.getStatus()).toBe(0x07);
    remoteWrites(p, vdev, STATUS, VIRTIO_CONFIG_S_NEEDS_RESET, 1); // it may ask for a reset
    expect(t.getStatus()).toBe(0x07 | VIRTIO_CONFIG_S_NEEDS_RESET);
    // The driver's read-modify-write builds on its own bits, and the write reaches the table.
    t.setStatus(0);
    expect(t.getStatus()).toBe(0);
    expect(remoteReads(p, vdev, STATUS) & 0xff).toBe(0);
    t.setStatus(VIRTIO_CONFIG_S_DRIVER_OK);
    expect(remoteReads(p, vdev, STATUS) & 0xff).toBe(VIRTIO_CONFIG_S_DRIVER_OK);
    await p.rproc.shutdown();
  });

  it("gfeatures are the host's; dfeatures are the device's offer and are read from the table", async () => {
    const { p, vdev } = await bootDriven();
    const t = vdev.transport;
    expect(t.getDriverFeatures()).toBe(1n);
    remoteWrites(p, vdev, GFEATURES, 0xffff_ffff);
    expect(t.getDriverFeatures()).toBe(1n);
    remoteWrites(p, vdev, DFEATURES, 0x5);
    expect(t.getDeviceFeatures()).toBe(5n);
    await p.rproc.shutdown();
  });

  it("a resource-table vring cannot be moved by its driver either", async () => {
    const { p, vdev } = await bootDriven();
    const t = vdev.transport;
    const [v0, v1] = vdev.vrings;
    expect(() => {
      t.setQueue(0, { descAddr: v1!.da });
    }).toThrow(RangeError);
    expect(t.getQueue(0).descAddr).toBe(v0!.da);
    t.setQueue(0, { descAddr: v0!.da }); // its own address: accepted, and written back into the table
    expect(remoteReads(p, vdev, VRINGS + VRING_DA)).toBe(v0!.da);
    await p.rproc.shutdown();
    try {
      t.getQueue(0);
      expect.unreachable("a stopped vdev refuses access");
    } catch (e) {
      expect(isAmpError(e) && e.code).toBe("ERR_STATE");
    }
  });
});
