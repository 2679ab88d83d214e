// An RpmsgHost and a LeanRemote over one SharedArrayBuffer in one thread, laid out as pair.ts
// lays out the full pair (transport block at 0, vrings at RINGS_ADDR, pool after them).
import { AddressSpace, SharedMemory, type Doorbell } from "@amp/virtio-ring";
import { RpmsgHost, type RpmsgHostOptions } from "@amp/rpmsg";
import { LeanRemote, type LeanRemoteOptions } from "@amp/rpmsg/remote";
import { RINGS_ADDR } from "./pair.ts";
import { ringsBytes } from "./ring-bytes.ts";
import { SharedTransport } from "./shared-transport.ts";

export interface LeanPair {
  mem: SharedMemory;
  space: AddressSpace;
  host: RpmsgHost;
  remote: LeanRemote;
  hostTransport: SharedTransport;
  remoteTransport: SharedTransport;
  poolAddr: number;
  /** Doorbell rings from the remote (interrupts), by notify id. */
  interrupts: number[];
  /** process() both sides until nothing moves (bounded). */
  settle(): void;
}

export function makeLeanPair(
  o: { num?: number; host?: Partial<RpmsgHostOptions>; remote?: Partial<LeanRemoteOptions> } = {},
): LeanPair {
  const num = o.num ?? 16;
  const poolAddr = RINGS_ADDR + ringsBytes(num, 4096);
  const mem = new SharedMemory(new SharedArrayBuffer(poolAddr + 2 * num * 512));
  const space = new AddressSpace().map(0, mem);
  const interrupts: number[] = [];
  const irq: Doorbell = {
    notify: (q) => {
      interrupts.push(q);
    },
  };
  const hostTransport = new SharedTransport(mem, 0, num, { notify: () => undefined });
  const remoteTransport = new SharedTransport(mem, 0, num);
  const remote = new LeanRemote({ transport: remoteTransport, space, doorbell: irq, ...o.remote });
  const host = new RpmsgHost({
    transport: hostTransport,
    space,
    poolAddr,
    rings: { addr: RINGS_ADDR, align: 4096 },
    numBuffers: num,
    ...o.host,
  });
  const settle = (): void => {
    for (let i = 0; i < 50; i++)
      if (host.process() + remote.process() === 0 && i > 2 && host.process() + remote.process() === 0) return;
  };
  return { mem, space, host, remote, hostTransport, remoteTransport, poolAddr, interrupts, settle };
}
