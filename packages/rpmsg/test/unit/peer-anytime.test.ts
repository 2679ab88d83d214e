// A peer that works the rings at any moment, as NXP rpmsg-lite's remote does from its own CPU:
// it returns the host's tx buffers without notifying (RL_ALLOW_CONSUMED_BUFFERS_NOTIFICATION off),
// possibly between two looks of the host at used.idx, and it finds the host's rx buffers by
// polling avail.idx of vring 0 (its send path sleeps and looks again), never waiting for a kick.
// Two consequences for the host, both checked at the ring level here:
// - sends keep the order of the calls even when a buffer comes back in the middle of one;
// - with avail.idx stored once per batch, every buffer the host offered is in avail.idx by the
//   time a host call returns (the remote may look right then, and no kick is owed to it).
import { describe, expect, it } from "vitest";
import { AddressSpace, SharedMemory, splitRingLayout } from "@amp/virtio-ring";
import { createStaticHost, createStaticRemote, staticLinkLayout, type ReceivedMessage } from "@amp/rpmsg";

/** Host-side memory over the same bytes that runs `onUsedIdx` before the host reads vring 1's used.idx. */
class PeekedMemory extends SharedMemory {
  onUsedIdx: (() => void) | undefined;
  private readonly usedIdxAt: number;
  constructor(sab: SharedArrayBuffer, usedIdxAt: number) {
    super(sab);
    this.usedIdxAt = usedIdxAt;
  }
  override getU16Acquire(offset: number): number {
    if (offset === this.usedIdxAt) this.onUsedIdx?.();
    return super.getU16Acquire(offset);
  }
}

function link(num: number) {
  const layout = staticLinkLayout({ base: 0, numBuffers: num, align: 16 });
  const l = splitRingLayout(num, 16);
  const sab = new SharedArrayBuffer(layout.size);
  const hostMem = new PeekedMemory(sab, layout.vring1 + l.used + 2);
  const remoteMem = new SharedMemory(sab);
  const host = createStaticHost({ layout, space: new AddressSpace().map(0, hostMem) });
  const remote = createStaticRemote({ layout, space: new AddressSpace().map(0, remoteMem) });
  const availIdx = (vring: 0 | 1): number =>
    remoteMem.getU16((vring === 0 ? layout.vring0 : layout.vring1) + l.avail + 2);
  return { host, remote, hostMem, availIdx };
}

describe("a remote that returns tx buffers at any moment, without a notification", () => {
  it("a buffer that comes back between the host's two looks does not let later sends overtake", async () => {
    const { host, remote, hostMem } = link(2);
    host.start();
    const got: number[] = [];
    remote.createEndpoint({
      name: "sink",
      onMessage: (m: ReceivedMessage) => {
        got.push(m.data[0] ?? -1);
      },
    });
    remote.process();
    const ep = host.createEndpoint({ name: "sink" });
    host.process();
    // Both tx buffers in flight, the remote has not looked yet.
    expect(ep.trySend(Uint8Array.of(1))).toBe(true);
    expect(ep.trySend(Uint8Array.of(2))).toBe(true);
    // send(3) looks at used.idx (nothing), then looks again on its slow path: the remote consumes
    // and returns both buffers in between, as a remote on another CPU may.
    let looks = 0;
    hostMem.onUsedIdx = () => {
      if (++looks === 2) remote.process();
    };
    const third = ep.send(Uint8Array.of(3));
    hostMem.onUsedIdx = undefined;
    // Sent while the third is still resuming: it must wait for its turn, not take the other buffer.
    const fourth = ep.send(Uint8Array.of(4));
    await Promise.all([third, fourth]);
    remote.process();
    expect(looks).toBeGreaterThanOrEqual(2);
    expect(got).toEqual([1, 2, 3, 4]);
    expect(host.stats.txMessages).toBe(4);
  });

  it("waiting senders served by a poll still go out in call order, with trySend behind them", async () => {
    const { host, remote } = link(2);
    host.start();
    const got: number[] = [];
    remote.createEndpoint({
      name: "sink",
      onMessage: (m: ReceivedMessage) => {
        got.push(m.data[0] ?? -1);
      },
    });
    remote.process();
    const ep = host.createEndpoint({ name: "sink" });
    host.process();
    const sends: Promise<void>[] = [];
    for (let i = 1; i <= 6; i++) sends.push(ep.send(Uint8Array.of(i)));
    remote.process(); // returns both buffers, no notification
    host.process(); // serves two waiters
    expect(ep.trySend(Uint8Array.of(99))).toBe(false); // behind the waiters, even with their slots in hand
    for (let round = 0; round < 4; round++) {
      await Promise.resolve();
      await Promise.resolve();
      remote.process();
      host.process();
    }
    await Promise.all(sends);
    remote.process();
    expect(got).toEqual([1, 2, 3, 4, 5, 6]);
  });
});

describe("avail.idx batched per kick: published before any host call returns", () => {
  it("start, process (recycles), a held buffer's release, trySend and a zero-copy send leave no buffer unpublished", () => {
    const { host, remote, availIdx } = link(4);
    host.start();
    expect(availIdx(0)).toBe(4); // every rx buffer, before the remote's first look
    const holds: { release(): void }[] = [];
    const hep = host.createEndpoint({
      name: "s",
      onMessage: (m) => {
        if (m.data[0] === 1) holds.push(m.hold());
      },
    });
    remote.createEndpoint({
      name: "s",
      onMessage: (m: ReceivedMessage, ep) => {
        ep.trySendTo(m.src, m.data);
      },
    });
    remote.process(); // announces "s" (one rx buffer used)
    host.process();
    expect(availIdx(0)).toBe(5); // the NS buffer came back at once, no kick needed to see it
    // Two echoes, one held by the application.
    expect(hep.trySend(Uint8Array.of(1))).toBe(true);
    expect(availIdx(1)).toBe(1);
    expect(hep.trySend(Uint8Array.of(2))).toBe(true);
    expect(availIdx(1)).toBe(2);
    remote.process();
    host.process();
    expect(holds).toHaveLength(1);
    expect(availIdx(0)).toBe(6); // the unheld echo's buffer
    holds[0]!.release();
    expect(availIdx(0)).toBe(7); // the held one, as soon as release() returns
    const b = hep.tryGetTxBuffer()!;
    b.payload[0] = 3;
    b.send(1);
    expect(availIdx(1)).toBe(3);
    remote.process();
    host.process();
    expect(availIdx(0)).toBe(8);
    expect(host.stats.protocolErrors + remote.stats.protocolErrors).toBe(0);
  });
});
