// A hostile host, seen from the remote (issue 15, item 3): the firmware side of the worker-thread
// processor (Firmware.rpmsg(): RpmsgRemote over RemoteVdevTransport, in the firmware's own memory)
// driven by a host that may write anything into the resource table and the rings. One thread: the
// remote runs only inside `remoteStep()`, which records every byte it changes and checks that
// each lies in what the host offered (its used rings, the tx buffers posted on vring 0 up to the
// buffer size, the status byte, its trace buffer). Shared by the targeted cases (unit) and the
// random sequences (property).
import { expect } from "vitest";
import { FW_RSC_ADDR_ANY, parseResourceTable, serializeResourceTable } from "@amp/resource-table";
import { RpmsgHost, type RpmsgEndpoint, type RpmsgRemote } from "@amp/rpmsg";
import { AddressSpace, SharedMemory, splitRingLayout, type QueueConfig, type VirtioTransport } from "@amp/virtio-ring";
import { Firmware, ProcessorBus } from "@amp/node/firmware";

export const MEM_SIZE = 0x10000;
export const BOOT = 0x1000;
export const TABLE_DA = 0x1100;
export const TRACE_DA = 0x2000;
export const TRACE_LEN = 512;
export const RINGS_DA = 0x4000;
export const POOL_DA = 0x8000;
export const NUM = 8;
export const ALIGN = 16;
export const BUF_SIZE = 512;
/** Offsets in struct fw_rsc_vdev (from its type word) and fw_rsc_vdev_vring. */
export const VDEV = {
  DFEATURES: 12,
  GFEATURES: 16,
  CONFIG_LEN: 20,
  STATUS: 24,
  NUM_VRINGS: 25,
  VRINGS: 28,
  VRING_SIZE: 20,
} as const;
export const VRING = { DA: 0, ALIGN: 4, NUM: 8, NOTIFYID: 12, PA: 16 } as const;
const RING = splitRingLayout(NUM, ALIGN);
/** Where the host puts vring 1 (the next ALIGN boundary after vring 0, as RpmsgHost does). */
export const RING1_DA = RINGS_DA + Math.ceil(RING.size / ALIGN) * ALIGN;

const noTimers = { setTimeout: (): unknown => 0, clearTimeout: (): void => undefined };

/**
 * The host's side of the vdev entry, as a (non-hostile) remoteproc host keeps it: it writes
 * status, gfeatures, vring da; it keeps num/align as it parsed them before start.
 */
class HostTableTransport implements VirtioTransport {
  readonly deviceId = 7;
  readonly legacy = true;
  readonly configLength = 0;
  readonly queueCount = 2;
  private readonly mem: SharedMemory;
  private readonly entry: number;
  private readonly bus: ProcessorBus;
  constructor(mem: SharedMemory, entry: number, bus: ProcessorBus) {
    this.mem = mem;
    this.entry = entry;
    this.bus = bus;
  }
  getStatus(): number {
    return this.mem.getU8(this.entry + VDEV.STATUS);
  }
  setStatus(s: number): void {
    this.mem.setU8Release(this.entry + VDEV.STATUS, s);
  }
  getDeviceFeatures(): bigint {
    return BigInt(this.mem.getU32(this.entry + VDEV.DFEATURES));
  }
  setDeviceFeatures(): void {
    throw new RangeError("the host does not set device features");
  }
  getDriverFeatures(): bigint {
    return BigInt(this.mem.getU32(this.entry + VDEV.GFEATURES));
  }
  setDriverFeatures(f: bigint): void {
    this.mem.setU32(this.entry + VDEV.GFEATURES, Number(f));
  }
  readConfig(): Uint8Array {
    throw new RangeError("no config");
  }
  writeConfig(): void {
    throw new RangeError("no config");
  }
  private vring(i: number): number {
    return this.entry + VDEV.VRINGS + VDEV.VRING_SIZE * i;
  }
  getQueue(i: number): QueueConfig {
    const da = i === 0 ? RINGS_DA : RING1_DA;
    return {
      size: NUM,
      maxSize: NUM,
      descAddr: da,
      driverAddr: da + RING.avail,
      deviceAddr: da + RING.used,
      align: ALIGN,
      ready: true,
      notifyId: i,
    };
  }
  setQueue(i: number, c: Partial<QueueConfig>): void {
    if (c.descAddr !== undefined) this.mem.setU32(this.vring(i) + VRING.DA, c.descAddr);
  }
  notify(i: number): void {
    this.bus.toRemote.notify(i);
  }
}

export interface Rig {
  readonly mem: SharedMemory;
  readonly bytes: Uint8Array;
  /** Address of the vdev entry's type word. */
  readonly vdev: number;
  readonly remote: RpmsgRemote;
  readonly host: RpmsgHost;
  readonly fw: Firmware;
  /** What the remote's echo endpoint received (hex), and the host's endpoint. */
  readonly echoed: string[];
  /** Link-up count of the remote (each is a new generation of offered rings and buffers). */
  readonly ups: number;
  /** Exceptions that came out of host.process() (the host is the adversary's helper, not under test). */
  readonly hostThrows: unknown[];
  /** Writes a u32 / u16 / u8 where the hostile host wants. */
  poke32(da: number, v: number): void;
  poke16(da: number, v: number): void;
  poke8(da: number, v: number): void;
  /** Runs remote.process() and checks what it wrote; never throws unless a check fails. */
  remoteStep(): void;
  /** host.process() (exceptions recorded, not thrown). */
  hostStep(): void;
  /** remote and host until quiet (bounded). */
  settle(rounds?: number): void;
  /** A well-behaved host again: it restores the fields only the device may write (num, align, dfeatures), reassigns the notify ids, resets the device and starts the link. */
  resetHost(): void;
  /** The host's endpoint bound to the remote's "echo" service (after a settle). */
  hostEndpoint(): RpmsgEndpoint;
  /** Device address of vring `i` as the table says now. */
  tableRingDa(i: number): number;
  vringField(i: number, off: number): number;
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString("hex");

/** A firmware memory with a program header, a resource table (rpmsg vdev + trace), the host's rings and pool. */
export function makeRig(): Rig {
  const sab = new SharedArrayBuffer(MEM_SIZE);
  const mem = new SharedMemory(sab);
  const bytes = new Uint8Array(sab);
  const bus = new ProcessorBus();
  const table = serializeResourceTable({
    entries: [
      {
        kind: "vdev",
        id: 7,
        dfeatures: 1,
        vrings: [
          { align: ALIGN, num: NUM, da: FW_RSC_ADDR_ANY },
          { align: ALIGN, num: NUM, da: FW_RSC_ADDR_ANY },
        ],
      },
      { kind: "trace", da: TRACE_DA, len: TRACE_LEN, name: "trace" },
    ],
  });
  bytes.set(table, TABLE_DA);
  const entry = parseResourceTable(table).entries[0];
  if (entry?.kind !== "vdev") throw new Error("table shape");
  const vdev = TABLE_DA + entry.offset;
  // The program image header (js-firmware format): magic, version 1, header 32, no code, the table.
  for (let i = 0; i < 8; i++) bytes[BOOT + i] = "AMPJSFW\0".charCodeAt(i);
  const dv = new DataView(sab);
  dv.setUint32(BOOT + 8, 1, true);
  dv.setUint32(BOOT + 12, 32, true);
  dv.setUint32(BOOT + 16, 0, true);
  dv.setUint32(BOOT + 20, TABLE_DA, true);
  dv.setUint32(BOOT + 24, table.length, true);
  // The host assigns notify ids before the remote starts (Linux: 0, 1 in table order).
  const vringAt = (i: number): number => vdev + VDEV.VRINGS + VDEV.VRING_SIZE * i;
  mem.setU32(vringAt(0) + VRING.NOTIFYID, 0);
  mem.setU32(vringAt(1) + VRING.NOTIFYID, 1);
  const original = bytes.slice(vdev, vdev + VDEV.VRINGS + 2 * VDEV.VRING_SIZE);

  const fw = new Firmware({ memory: sab, control: bus.buffer, bootAddress: BOOT });
  const remote = fw.rpmsg({ scheduler: noTimers });
  const echoed: string[] = [];
  // A link-down closes every endpoint; a firmware that outlives host resets re-creates its
  // service on each link-up (then announced again).
  const serve = (): void => {
    remote.createEndpoint({
      name: "echo",
      onMessage: (m, ep) => {
        echoed.push(hex(m.data));
        ep.trySendTo(m.src, m.data);
      },
    });
  };
  serve();
  let ups = 0;
  remote.onLinkChange((up) => {
    if (!up) return;
    ups++;
    if (ups > 1) serve();
  });

  const hostT = new HostTableTransport(mem, vdev, bus);
  const host = new RpmsgHost({
    transport: hostT,
    space: new AddressSpace().map(0, mem),
    poolAddr: POOL_DA,
    rings: { addr: RINGS_DA, align: ALIGN },
    numBuffers: NUM,
    bufferSize: BUF_SIZE,
    scheduler: noTimers,
  });
  const hostThrows: unknown[] = [];

  // What the remote may write, per link generation: its used rings, and the tx buffers (vring 0)
  // it has seen, capped at the buffer size it uses (512).
  let rings: [number, number][] = [];
  let offered: [number, number][] = [];
  let gen = -1;
  const ringView = (): [number, number][] => {
    const out: [number, number][] = [];
    for (let i = 0; i < 2; i++) {
      const da = mem.getU32(vringAt(i) + VRING.DA);
      // The remote uses the num/align of its own table, not what the host may have written.
      out.push([da + RING.used, da + RING.size]);
    }
    return out;
  };
  const txBuffers = (ringDa: number): [number, number][] => {
    const out: [number, number][] = [];
    for (let j = 0; j < NUM; j++) {
      const d = ringDa + 16 * j;
      if (d < 0 || d + 16 > MEM_SIZE) break;
      const addr = mem.getU32(d);
      const hi = mem.getU32(d + 4);
      const len = mem.getU32(d + 8);
      if (hi === 0) out.push([addr, addr + Math.min(len, BUF_SIZE)]);
    }
    return out;
  };
  // A step starts with the link up (the remote may write the rings it took at link-up and the
  // tx buffers it has seen) or down (it may come up on the rings the table names now).
  let ring0 = 0;
  const allowedNow = (): [number, number][] => {
    const own: [number, number][] = [
      [vdev + VDEV.STATUS, vdev + VDEV.STATUS + 1],
      [TRACE_DA, TRACE_DA + TRACE_LEN],
    ];
    if (remote.isLinkUp) return [...own, ...rings, ...offered, ...txBuffers(ring0)];
    return [...own, ...ringView(), ...txBuffers(mem.getU32(vringAt(0) + VRING.DA))];
  };

  const rig: Rig = {
    mem,
    bytes,
    vdev,
    remote,
    host,
    fw,
    echoed,
    hostThrows,
    get ups() {
      return ups;
    },
    poke32: (da, v) => {
      if (da >= 0 && da + 4 <= MEM_SIZE) mem.setU32(da, v >>> 0);
    },
    poke16: (da, v) => {
      if (da >= 0 && da + 2 <= MEM_SIZE) mem.setU16(da, v & 0xffff);
    },
    poke8: (da, v) => {
      if (da >= 0 && da + 1 <= MEM_SIZE) mem.setU8(da, v & 0xff);
    },
    remoteStep() {
      const allowed = allowedNow();
      const before = bytes.slice();
      let thrown: unknown;
      try {
        remote.process();
      } catch (e) {
        thrown = e;
      }
      // The firmware's loop would crash on anything coming out of process().
      expect(thrown, `remote.process() threw: ${String(thrown)}`).toBeUndefined();
      for (let a = 0; a < MEM_SIZE; a++) {
        if (before[a] === bytes[a]) continue;
        if (!allowed.some(([s, e]) => a >= s && a < e)) {
          throw new Error(
            `the remote wrote 0x${a.toString(16)} (0x${before[a]!.toString(16)} -> 0x${bytes[a]!.toString(16)}), outside what the host offered: ${JSON.stringify(allowed.map(([s, e]) => `0x${s.toString(16)}-0x${e.toString(16)}`))}`,
          );
        }
      }
      if (ups !== gen) {
        gen = ups;
        rings = ringView();
        ring0 = mem.getU32(vringAt(0) + VRING.DA);
        offered = [];
      }
      if (remote.isLinkUp) offered.push(...txBuffers(ring0));
      if (offered.length > 4096) offered = offered.slice(-4096);
    },
    hostStep() {
      try {
        host.process();
      } catch (e) {
        hostThrows.push(e);
      }
    },
    settle(n = 20) {
      for (let i = 0; i < n; i++) {
        rig.remoteStep();
        rig.hostStep();
      }
    },
    resetHost() {
      // Restore what only the device may write (the entry's num/align/dfeatures, as the firmware
      // image had them) and the host's own notify ids; host.start() resets (status 0) first.
      // The remote notices a reset only if it sees status 0 (it polls), so let it look first.
      try {
        host.stop("reset by the test host", { reset: true });
      } catch (e) {
        hostThrows.push(e);
      }
      mem.setU8Release(vdev + VDEV.STATUS, 0);
      rig.remoteStep();
      bytes.set(original, vdev);
      try {
        host.start();
      } catch (e) {
        hostThrows.push(e);
      }
    },
    hostEndpoint() {
      const svc = host.remoteServices.find((x) => x.name === "echo");
      return host.createEndpoint({ dst: svc?.addr ?? 0x400 });
    },
    tableRingDa: (i) => mem.getU32(vringAt(i) + VRING.DA),
    vringField: (i, off) => mem.getU32(vringAt(i) + off),
  };
  return rig;
}

/** After a reset by a well-behaved host: the link comes back and one message is echoed byte for byte. */
export function expectRecovers(r: Rig): void {
  r.resetHost();
  r.settle();
  expect(r.remote.isLinkUp).toBe(true);
  expect(r.host.isLinkUp).toBe(true);
  const svc = r.host.remoteServices.find((s) => s.name === "echo");
  expect(svc, "the remote announced its service again").toBeDefined();
  const got: string[] = [];
  const ep = r.host.createEndpoint({
    dst: svc?.addr ?? 0,
    onMessage: (m) => {
      got.push(hex(m.data));
    },
  });
  expect(ep.trySend(Uint8Array.of(0xca, 0xfe, 0x01))).toBe(true);
  r.settle();
  expect(got).toEqual(["cafe01"]);
  ep.destroy();
}
