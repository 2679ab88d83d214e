// The host re-posts vring 0's buffers in groups (an eighth of the ring), never leaving the
// remote short: what HostRx.flush promises (issue #14, the avail line's round trips).
import { describe, expect, it } from "vitest";
import { AddressSpace, SharedMemory, legacyQueueAddresses } from "@amp/virtio-ring";
import { createStaticHost, createStaticRemote, staticLinkLayout, type RxHold } from "@amp/rpmsg";

function echoPair(num: number) {
  const layout = staticLinkLayout({ base: 0, numBuffers: num, align: 16 });
  const mem = new SharedMemory(new SharedArrayBuffer(layout.size));
  const space = new AddressSpace().map(0, mem);
  const host = createStaticHost({ layout, space });
  const remote = createStaticRemote({ layout, space });
  remote.createEndpoint({ name: "echo", onMessage: (m, ep) => void ep.trySendTo(m.src, m.data) });
  host.start();
  remote.process();
  host.process();
  // vring 0 is the host's rx ring: its avail.idx says how many buffers the remote was given.
  const at = legacyQueueAddresses(layout.vring0, num, layout.align).driverAddr + 2;
  const availIdx = (): number => mem.getU16Acquire(at);
  return { host, remote, availIdx };
}

describe("host rx re-posts", () => {
  it("wait until an eighth of vring 0 is back, and the remote keeps echoing (10,000 rounds, 16 buffers)", () => {
    const { host, remote, availIdx } = echoPair(16);
    let replies = 0;
    const ep = host.createEndpoint({
      name: "echo",
      onMessage: () => {
        replies++;
      },
    });
    remote.process(); // the remote learns the host endpoint's address from its first message
    const published: number[] = [];
    for (let i = 0; i < 10_000; i++) {
      expect(ep.trySend(Uint8Array.of(i & 255))).toBe(true);
      remote.process();
      host.process();
      published.push(availIdx());
    }
    expect(replies).toBe(10_000);
    // Two of 16 (an eighth) per store: the index moves every second round, by two.
    const steps = published.slice(1).map((v, i) => (v - (published[i] ?? 0)) & 0xffff);
    expect(new Set(steps)).toEqual(new Set([0, 2]));
    expect(steps.filter((s) => s === 2).length).toBe(5000 - 1);
    expect(remote.stats.linkDowns).toBe(0);
  });

  it("are published at once while the remote holds fewer than half of the buffers", () => {
    const { host, remote, availIdx } = echoPair(16);
    const held: RxHold[] = [];
    const ep = host.createEndpoint({ name: "echo", onMessage: (m) => void held.push(m.hold()) });
    // Nine echoes held by the application: the remote can use at most 7 of 16.
    for (let i = 0; i < 9; i++) {
      expect(ep.trySend(Uint8Array.of(i))).toBe(true);
      remote.process();
      host.process();
    }
    expect(held.length).toBe(9);
    const before = availIdx();
    held.shift()?.release(); // the remote had 7: published at once
    expect((availIdx() - before) & 0xffff).toBe(1);
    held.shift()?.release(); // it has 8, half: this one waits for a second one
    expect((availIdx() - before) & 0xffff).toBe(1);
    held.shift()?.release();
    expect((availIdx() - before) & 0xffff).toBe(3);
  });

  it("every buffer is posted at once on rings of fewer than 16 (an eighth rounds to one or none)", () => {
    const { host, remote, availIdx } = echoPair(8);
    const ep = host.createEndpoint({ name: "echo", onMessage: () => undefined });
    remote.process();
    for (let i = 0; i < 20; i++) {
      const before = availIdx();
      expect(ep.trySend(Uint8Array.of(i))).toBe(true);
      remote.process();
      host.process();
      expect((availIdx() - before) & 0xffff).toBe(1);
    }
  });
});
