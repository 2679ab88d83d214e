// What the host writes into the loaded resource table, and when (docs/wire-formats.md, "Who writes what, and when";
// behaviour §1.4-1.6): notify ids and carveout addresses before the remote starts,
// vring da / features / status only once a virtio driver drives the vdev after start.
import { describe, expect, it } from "vitest";
import { parseResourceTable, serializeResourceTable } from "@amp/resource-table";
import { VIRTIO_CONFIG_S_ACKNOWLEDGE, VIRTIO_CONFIG_S_DRIVER, VIRTIO_CONFIG_S_DRIVER_OK } from "@amp/virtio-ring";
import type { VirtioDriver } from "@amp/remoteproc-core";
import {
  FakeDriver,
  RSC_DA,
  SRAM_DA,
  TRACE_DA,
  TRACE_LEN,
  firmware,
  makePlatform,
  type Platform,
} from "../helpers/fixture.ts";

function twoVdevTable(): Uint8Array {
  return serializeResourceTable({
    entries: [
      { kind: "carveout", name: "ddr", len: 0x4000 },
      {
        kind: "vdev",
        id: 7,
        notifyId: 42,
        dfeatures: 1,
        vrings: [
          { align: 16, num: 16, notifyId: 9 },
          { align: 16, num: 16, notifyId: 9 },
        ],
      },
      { kind: "trace", name: "trace0", da: TRACE_DA, len: TRACE_LEN },
      {
        kind: "vdev",
        id: 3,
        notifyId: 77,
        dfeatures: 0,
        vrings: [
          { align: 16, num: 8, notifyId: 0xffff_ffff },
          { align: 16, num: 8, notifyId: 5 },
        ],
      },
    ],
  });
}

function live(p: Platform) {
  const loc = p.rproc.resourceTableLocation!;
  return parseResourceTable(p.read(loc.da, loc.size));
}

function vdevs(t: ReturnType<typeof parseResourceTable>) {
  return t.entries.flatMap((e) => (e.kind === "vdev" ? [e] : []));
}

/** A driver that snapshots the installed table when the remote is released from reset. */
class SnapshotDriver extends FakeDriver {
  snapshot: Uint8Array | undefined;
  read: ((da: number, len: number) => Uint8Array) | undefined;
  size = 0;
  override start(bootAddr: bigint): Promise<void> {
    this.snapshot = this.read?.(RSC_DA, this.size);
    return super.start(bootAddr);
  }
}

describe("host-written table fields", () => {
  it("vring notify ids are reassigned from 0 in table order across vdevs; the firmware's values and the vdev notifyid are not used", async () => {
    const p = makePlatform({ fw: firmware({ table: twoVdevTable() }) });
    await p.rproc.boot();
    const [a, b] = vdevs(live(p));
    expect(a?.vrings.map((v) => v.notifyId)).toEqual([0, 1]);
    expect(b?.vrings.map((v) => v.notifyId)).toEqual([2, 3]);
    expect([a?.notifyId, b?.notifyId]).toEqual([42, 77]); // untouched
    // Kicks and interrupts identify a vring by the reassigned id.
    expect(p.rproc.handleInterrupt(3)).toBe(true);
    expect(p.rproc.handleInterrupt(9)).toBe(false);
    expect(p.rproc.handleInterrupt(42)).toBe(false);
  });

  it("at ops.start the installed table has notify ids and carveout addresses, but no vring da, features or status yet", async () => {
    const table = twoVdevTable();
    const driver = new SnapshotDriver();
    driver.size = table.length;
    const p = makePlatform({ fw: firmware({ table }), driver });
    driver.read = (da, len) => p.read(da, len);
    await p.rproc.boot();
    const atStart = parseResourceTable(driver.snapshot!);
    const carveout = atStart.entries.find((e) => e.kind === "carveout");
    if (carveout?.kind !== "carveout") throw new Error("shape");
    expect([carveout.da, carveout.pa, carveout.len]).toEqual([SRAM_DA, 0x8000_0000, 0x4000]);
    const [a, b] = vdevs(atStart);
    expect([...(a?.vrings ?? []), ...(b?.vrings ?? [])].map((v) => v.notifyId)).toEqual([0, 1, 2, 3]);
    // Nothing drives the vdevs before the remote runs: the remote must poll status (fact 2).
    expect([a?.status, b?.status]).toEqual([0, 0]);
    expect([a?.gfeatures, b?.gfeatures]).toEqual([0, 0]);
    // Known, deliberate difference: vring da is written when the ring is allocated (so the vdev
    // transport can report the queue address to any virtio driver), where Linux writes it in
    // find_vqs just after start. Same value; a remote that polls DRIVER_OK (fact 2) cannot tell.
    expect([...(a?.vrings ?? []), ...(b?.vrings ?? [])].map((v) => v.da)).toEqual([
      SRAM_DA + 0x4000,
      SRAM_DA + 0x5000,
      SRAM_DA + 0x6000,
      SRAM_DA + 0x7000,
    ]);
  });

  it("a virtio driver writes vring da, gfeatures and status 0x07 into the installed table; FEATURES_OK is never set", async () => {
    const p = makePlatform();
    const drv: VirtioDriver = {
      name: "fake-rpmsg",
      deviceIds: [7],
      probe(vdev) {
        const t = vdev.transport;
        t.setStatus(0);
        t.setStatus(VIRTIO_CONFIG_S_ACKNOWLEDGE);
        t.setStatus(VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
        t.setDriverFeatures(t.getDeviceFeatures() & 1n);
        t.setStatus(VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER | VIRTIO_CONFIG_S_DRIVER_OK);
        return { remove: () => undefined };
      },
    };
    p.rproc.registerVirtioDriver(drv);
    await p.rproc.boot();
    const [v] = vdevs(live(p));
    expect(v?.status).toBe(0x07);
    expect(v?.gfeatures).toBe(1);
    expect(v?.vrings.map((r) => r.da)).toEqual([SRAM_DA + 0x4000, SRAM_DA + 0x5000]);
  });
});
