import { describe, expect, it } from "vitest";
import { SharedMemory } from "@amp/virtio-ring";
import { serializeResourceTable, parseResourceTable } from "@amp/resource-table";
import { CONTROL_BLOCK_SIZE, CpuState, ProcessorBus } from "@amp/node";
import { RemoteVdevTransport } from "@amp/node/firmware";

describe("ProcessorBus", () => {
  it("shares words and doorbells between two views of one control block", () => {
    const host = new ProcessorBus();
    const cpu = new ProcessorBus(host.buffer);
    expect(host.buffer.byteLength).toBe(CONTROL_BLOCK_SIZE);
    cpu.cpuState = CpuState.RUNNING;
    expect(host.cpuState).toBe(CpuState.RUNNING);
    cpu.armWatchdog(500);
    cpu.kickWatchdog();
    expect(host.watchdogTimeout).toBe(500);
    expect(host.watchdogCount).toBe(2);
    host.toRemote.notify(3);
    const got: number[] = [];
    cpu.toRemote.poll((q) => got.push(q));
    expect(got).toEqual([3]);
    cpu.toHost.notify(1);
    expect(host.toHost.pending()).toBe(true);
    host.reset();
    expect(host.toHost.pending()).toBe(false);
    expect(cpu.cpuState).toBe(CpuState.RESET);
  });

  it("rejects a control block that is too small and a bad watchdog timeout", () => {
    expect(() => new ProcessorBus(new SharedArrayBuffer(8))).toThrow(RangeError);
    expect(() => new ProcessorBus().armWatchdog(-1)).toThrow(RangeError);
  });
});

describe("RemoteVdevTransport", () => {
  const table = serializeResourceTable({
    entries: [
      {
        kind: "vdev",
        id: 7,
        dfeatures: 1,
        vrings: [
          { align: 16, num: 8 },
          { align: 16, num: 8 },
        ],
      },
    ],
  });
  const base = 0x100;

  function setup(): { mem: SharedMemory; t: RemoteVdevTransport } {
    const mem = new SharedMemory(new SharedArrayBuffer(4096));
    mem.write(base, table);
    const entry = parseResourceTable(table).entries[0]!;
    return { mem, t: new RemoteVdevTransport(mem, base + entry.offset, 7, 2, 0) };
  }

  it("reads what the host writes into the vdev entry", () => {
    const { mem, t } = setup();
    const e = base + parseResourceTable(table).entries[0]!.offset; // the vdev entry's type word
    mem.setU32(e + 16, 1); // gfeatures
    mem.setU8(e + 24, 7); // status DRIVER_OK
    mem.setU32(e + 28, 0x800); // vring0 da
    mem.setU32(e + 28 + 12, 5); // vring0 notifyid
    expect(t.getStatus()).toBe(7);
    expect(t.getDriverFeatures()).toBe(1n);
    expect(t.getDeviceFeatures()).toBe(1n);
    const q = t.getQueue(0);
    expect(q).toMatchObject({ size: 8, descAddr: 0x800, driverAddr: 0x800 + 128, align: 16, ready: true, notifyId: 5 });
    expect(t.getQueue(1).ready).toBe(false);
  });

  it("keeps every access inside the entry", () => {
    const { t } = setup();
    expect(() => t.getQueue(2)).toThrow(RangeError);
    expect(() => t.readConfig(0, 1)).toThrow(RangeError);
    expect(() => t.setDeviceFeatures(1n << 40n)).toThrow(RangeError);
    expect(() => new RemoteVdevTransport(new SharedMemory(new SharedArrayBuffer(64)), 60, 7, 2, 0)).toThrow(RangeError);
  });
});
