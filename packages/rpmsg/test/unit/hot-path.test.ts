// The send and receive hot paths (issue #14): what they must keep doing while they allocate
// nothing per message and skip the await when a buffer is free.
import { describe, expect, it } from "vitest";
import { AddressSpace, SharedMemory } from "@amp/virtio-ring";
import { createStaticHost, createStaticRemote, staticLinkLayout, type RpmsgMessage } from "@amp/rpmsg";
import { makePair } from "../helpers/pair.ts";

function staticPair(num = 4) {
  const layout = staticLinkLayout({ base: 0, numBuffers: num, align: 16 });
  const space = new AddressSpace().map(0, new SharedMemory(new SharedArrayBuffer(layout.size)));
  const host = createStaticHost({ layout, space });
  const remote = createStaticRemote({ layout, space });
  return { host, remote };
}

describe("hot paths", () => {
  it("an rpmsg-only remote stays up when vring 0's avail.idx wraps to 0 (after 65536 posted buffers)", () => {
    const { host, remote } = staticPair(4);
    let got = 0;
    let last = -1;
    remote.createEndpoint({
      addr: 100,
      onMessage: (m) => {
        got++;
        last = m.data[0]!;
      },
    });
    host.start();
    remote.process();
    const ep = host.createEndpoint({ dst: 100 });
    // vring 0 carries the remote's replies: each one the host takes is re-posted, so an echo
    // per round moves vring 0's avail.idx past 65535 (0 again), which is no host reset.
    let replies = 0;
    remote.createEndpoint({
      addr: 101,
      onMessage: (m, rep) => {
        rep.trySendTo(m.src, m.data);
      },
    });
    const echo = host.createEndpoint({
      dst: 101,
      onMessage: () => {
        replies++;
      },
    });
    const rounds = 70_000;
    for (let i = 0; i < rounds; i++) {
      expect(echo.trySend(Uint8Array.of(i & 255))).toBe(true);
      remote.process();
      host.process();
    }
    expect(replies).toBe(rounds);
    expect(remote.isLinkUp).toBe(true);
    expect(remote.stats.linkDowns).toBe(0);
    expect(ep.trySend(Uint8Array.of(9))).toBe(true);
    remote.process();
    expect(got).toBe(1);
    expect(last).toBe(9);
  });

  it("send() with a free buffer writes it at once, and a later send never overtakes a waiter that got a buffer", async () => {
    const p = makePair({ num: 2 });
    p.host.start();
    const got: number[] = [];
    p.remote.createEndpoint({ addr: 100, onMessage: (m) => got.push(m.data[0]!) });
    p.settle();
    const ep = p.host.createEndpoint({ dst: 100 });
    const first = ep.send(Uint8Array.of(1)); // buffer free: sent before any await
    expect(p.host.stats.txMessages).toBe(1);
    await first;
    const second = ep.send(Uint8Array.of(2));
    const third = ep.send(Uint8Array.of(3)); // no buffer left: waits
    expect(p.host.stats.txMessages).toBe(2);
    p.remote.process(); // returns both buffers
    p.host.process(); // the waiter gets one; its send runs after a microtask
    const fourth = ep.send(Uint8Array.of(4)); // a buffer is free, but the waiter goes first
    await Promise.all([second, third, fourth]);
    p.settle();
    expect(got).toEqual([1, 2, 3, 4]);
  });

  it("a callback's message object and view are reused per rx buffer; a held one keeps its values until released", () => {
    const p = makePair({ num: 2 });
    p.host.start();
    const seen: RpmsgMessage[] = [];
    const views = new Set<Uint8Array>();
    let held: ReturnType<RpmsgMessage["hold"]> | undefined;
    p.remote.createEndpoint({
      addr: 100,
      onMessage: (m) => {
        seen.push(m);
        views.add(m.data);
        if (m.data[0] === 50) held = m.hold();
      },
    });
    p.settle();
    const ep = p.host.createEndpoint({ dst: 100 });
    for (let i = 0; i < 40; i++) {
      expect(ep.trySend(Uint8Array.of(i, i))).toBe(true);
      p.settle();
    }
    expect(new Set(seen).size).toBe(2); // one message object per rx buffer (2 buffers)
    expect(views.size).toBe(2); // one payload view per rx buffer while the length stays 2
    expect(ep.trySend(Uint8Array.of(50, 50))).toBe(true);
    p.settle();
    for (let i = 0; i < 4; i++) {
      expect(ep.trySend(Uint8Array.of(60 + i))).toBe(true);
      p.settle();
    }
    expect(held?.src).toBe(ep.addr);
    expect([...held!.data]).toEqual([50, 50]); // its buffer was not reused while held
    held!.release();
    expect(held!.released).toBe(true);
    expect(() => seen[0]!.hold()).toThrow(TypeError); // outside the callback
  });
});
