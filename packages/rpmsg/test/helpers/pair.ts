// A host and a remote over one SharedArrayBuffer in one thread (doorbells are counters here;
// tests drive process() by hand). Address map: transport block at 0x0, vrings at 0x1000, pool after.
import { AddressSpace, SharedMemory, type Doorbell } from "@amp/virtio-ring";
import { RpmsgHost, RpmsgRemote, type RpmsgHostOptions, type RpmsgRemoteOptions } from "@amp/rpmsg";
import { SharedTransport } from "./shared-transport.ts";
import { ringsBytes } from "./ring-bytes.ts";

export { ringsBytes };

export interface PairOptions {
  num?: number;
  align?: number;
  host?: Partial<RpmsgHostOptions>;
  remote?: Partial<RpmsgRemoteOptions>;
  bufferSize?: number;
}

export interface Pair {
  sab: SharedArrayBuffer;
  mem: SharedMemory;
  space: AddressSpace;
  host: RpmsgHost;
  remote: RpmsgRemote;
  hostTransport: SharedTransport;
  remoteTransport: SharedTransport;
  ringsAddr: number;
  poolAddr: number;
  kicks: number[];
  interrupts: number[];
  /** process() both sides until nothing moves (bounded). */
  settle(rounds?: number): void;
}

export const RINGS_ADDR = 0x1000;

export function makePair(o: PairOptions = {}): Pair {
  const num = o.num ?? 16;
  const align = o.align ?? 4096;
  const bufSize = o.bufferSize ?? 512;
  const poolAddr = RINGS_ADDR + ringsBytes(num, align);
  const total = poolAddr + 2 * num * bufSize;
  const sab = new SharedArrayBuffer(total);
  const mem = new SharedMemory(sab);
  const space = new AddressSpace().map(0, mem);
  const kicks: number[] = [];
  const interrupts: number[] = [];
  const kickBell: Doorbell = {
    notify: (q) => {
      kicks.push(q);
    },
  };
  const irqBell: Doorbell = {
    notify: (q) => {
      interrupts.push(q);
    },
  };
  const hostTransport = new SharedTransport(mem, 0, num, kickBell);
  const remoteTransport = new SharedTransport(mem, 0, num);
  const remote = new RpmsgRemote({ transport: remoteTransport, space, doorbell: irqBell, ...o.remote });
  const host = new RpmsgHost({
    transport: hostTransport,
    space,
    poolAddr,
    rings: { addr: RINGS_ADDR, align },
    numBuffers: num,
    ...o.host,
  });
  const settle = (rounds = 50): void => {
    for (let i = 0; i < rounds; i++) {
      const a = host.process();
      const b = remote.process();
      if (a === 0 && b === 0 && i > 2) {
        // one more pass to flush completions
        if (host.process() === 0 && remote.process() === 0) return;
      }
    }
  };
  return {
    sab,
    mem,
    space,
    host,
    remote,
    hostTransport,
    remoteTransport,
    ringsAddr: RINGS_ADDR,
    poolAddr,
    kicks,
    interrupts,
    settle,
  };
}
