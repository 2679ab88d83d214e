// RpmsgHost.cork() / uncork(): a burst of sends published to the remote at once. Checked at the
// ring level: what avail.idx of vring 1 says and how often the host kicks, never how fast.
import { describe, expect, it } from "vitest";
import { AddressSpace, SharedMemory, splitRingLayout } from "@amp/virtio-ring";
import { createStaticHost, createStaticRemote, staticLinkLayout, type ReceivedMessage } from "@amp/rpmsg";

function link(num: number) {
  const layout = staticLinkLayout({ base: 0, numBuffers: num, align: 16 });
  const l = splitRingLayout(num, 16);
  const mem = new SharedMemory(new SharedArrayBuffer(layout.size));
  const space = new AddressSpace().map(0, mem);
  const kicks: number[] = [];
  const host = createStaticHost({
    layout,
    space,
    doorbell: {
      notify: (q) => {
        kicks.push(q);
      },
    },
  });
  const remote = createStaticRemote({ layout, space });
  const got: number[] = [];
  remote.createEndpoint({
    name: "sink",
    onMessage: (m: ReceivedMessage) => {
      got.push(m.data[0] ?? -1);
    },
  });
  host.start();
  remote.process();
  const ep = host.createEndpoint({ name: "sink" });
  host.process();
  const txKicks = (): number => kicks.filter((q) => q === layout.notifyIds[1]).length;
  const availIdx = (): number => mem.getU16(layout.vring1 + l.avail + 2);
  return { host, remote, ep, got, txKicks, availIdx };
}

describe("RpmsgHost.cork", () => {
  it("holds avail.idx and the kick of a burst until uncork, then publishes it once, in order", () => {
    const { host, remote, ep, got, txKicks, availIdx } = link(64); // holds up to 64 / 8 sends
    const kicks0 = txKicks();
    host.cork();
    for (let i = 1; i <= 5; i++) expect(ep.trySend(Uint8Array.of(i))).toBe(true);
    expect(availIdx()).toBe(0);
    remote.process();
    expect(got).toEqual([]); // nothing published yet
    expect(txKicks()).toBe(kicks0);
    host.uncork();
    expect(availIdx()).toBe(5);
    expect(txKicks()).toBe(kicks0 + 1);
    remote.process();
    expect(got).toEqual([1, 2, 3, 4, 5]);
    expect(host.stats.txMessages).toBe(5);
  });

  it("publishes a long burst every eighth of the tx buffers, so the remote drains while the host fills", () => {
    const { host, remote, ep, got, txKicks, availIdx } = link(64);
    const kicks0 = txKicks();
    host.cork();
    for (let i = 1; i <= 20; i++) {
      expect(ep.trySend(Uint8Array.of(i))).toBe(true);
      expect(availIdx()).toBe(i - (i % 8));
    }
    expect(txKicks()).toBe(kicks0 + 2);
    remote.process();
    expect(got.length).toBe(16);
    host.uncork();
    expect(availIdx()).toBe(20);
    remote.process();
    expect(got).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
  });

  it("nests: only the outermost uncork publishes; extra uncorks do nothing", () => {
    const { host, ep, availIdx } = link(64);
    host.cork();
    host.cork();
    ep.trySend(Uint8Array.of(1));
    host.uncork();
    expect(availIdx()).toBe(0);
    host.uncork();
    expect(availIdx()).toBe(1);
    host.uncork();
    ep.trySend(Uint8Array.of(2)); // uncorked again: published at once
    expect(availIdx()).toBe(2);
  });

  it("a send that finds no free buffer publishes what is held, so the remote can return buffers", () => {
    const { host, remote, ep, got, availIdx } = link(4);
    host.cork();
    let sent = 0;
    for (let i = 1; i <= 10; i++) {
      while (!ep.trySend(Uint8Array.of(i))) {
        expect(availIdx()).toBe(sent); // the failed look published every corked send
        remote.process();
        host.process();
      }
      sent++;
    }
    host.uncork();
    remote.process();
    expect(got).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  });

  it("process() publishes held sends; zero-copy sends are corked too", () => {
    const { host, remote, ep, got, availIdx } = link(64);
    host.cork();
    const b = ep.tryGetTxBuffer()!;
    b.payload[0] = 7;
    b.send(1);
    expect(ep.trySend(Uint8Array.of(8))).toBe(true);
    expect(availIdx()).toBe(0);
    host.process();
    expect(availIdx()).toBe(2);
    remote.process();
    expect(got).toEqual([7, 8]);
    host.uncork();
  });

  it("async sends that wait for a buffer while corked are served and keep their order", async () => {
    const { host, remote, ep, got } = link(2);
    host.cork();
    const sends: Promise<void>[] = [];
    for (let i = 1; i <= 6; i++) sends.push(ep.send(Uint8Array.of(i)));
    for (let round = 0; round < 8; round++) {
      remote.process();
      host.process();
      await Promise.resolve();
      await Promise.resolve();
    }
    await Promise.all(sends);
    host.uncork();
    remote.process();
    expect(got).toEqual([1, 2, 3, 4, 5, 6]);
  });
});
