// The wire conventions of real peers that the spec does not state (measured against OpenAMP 1.10
// and rpmsg-lite 5.4 by @amp/node's interop tests), checked here at the ring level:
// used.len on host-tx buffers, and rpmsg-only mode as rpmsg-lite lays it out and drives it.
import { describe, expect, it } from "vitest";
import {
  AddressSpace,
  SharedMemory,
  splitRingLayout,
  VRING_AVAIL_F_NO_INTERRUPT,
  VRING_DESC_F_WRITE,
  type Doorbell,
} from "@amp/virtio-ring";
import {
  createStaticHost,
  createStaticRemote,
  rpmsgLiteLayout,
  staticLinkLayout,
  type ReceivedMessage,
} from "@amp/rpmsg";
import { makePair } from "../helpers/pair.ts";

const te = (s: string): Uint8Array => new TextEncoder().encode(s);

describe("used.len of host-tx buffers (vring 1)", () => {
  it("the remote returns each consumed buffer with its descriptor length; the host ignores it and counts", () => {
    const NUM = 4;
    const p = makePair({ num: NUM });
    p.host.start();
    const got: number[] = [];
    p.remote.createEndpoint({
      name: "echo",
      onMessage: (m: ReceivedMessage) => {
        got.push(m.data.length);
      },
    });
    p.settle();
    const hep = p.host.createEndpoint({ name: "echo" });
    p.settle();
    // Three times round the 4-buffer tx ring: every recycled buffer carries a non-zero used.len.
    for (let i = 1; i <= 3 * NUM; i++) {
      expect(hep.trySend(new Uint8Array(i))).toBe(true);
      p.settle();
    }
    expect(got).toEqual(Array.from({ length: 3 * NUM }, (_, i) => i + 1));
    const l = splitRingLayout(NUM, 4096);
    const used1 = p.ringsAddr + 8192 + l.used;
    // The last element written on vring 1: 16 + 12 bytes.
    const last = (3 * NUM - 1) % NUM;
    expect(p.mem.getU32(used1 + 8 + 8 * last)).toBe(16 + 3 * NUM);
    expect(p.host.stats.usedLenIgnored).toBeGreaterThanOrEqual(2 * NUM);
    expect(p.host.stats.protocolErrors).toBe(0);
    expect(p.host.isLinkUp).toBe(true);
  });

  it("a host tolerates any used.len on a tx buffer (e.g. 0xffffffff) without reading past it", () => {
    const p = makePair({ num: 2 });
    p.host.start();
    p.remote.createEndpoint({ name: "e", onMessage: () => undefined });
    p.settle();
    const hep = p.host.createEndpoint({ name: "e" });
    p.settle();
    expect(hep.trySend(te("a"))).toBe(true);
    p.settle();
    const l = splitRingLayout(2, 4096);
    p.mem.setU32(p.ringsAddr + 8192 + l.used + 8, 0xffff_ffff); // the remote lies about used0
    for (let i = 0; i < 6; i++) {
      expect(hep.trySend(te("b"))).toBe(true);
      p.settle();
    }
    expect(p.host.stats.protocolErrors).toBe(0);
    expect(p.host.stats.txMessages).toBe(7);
  });
});

describe("rpmsgLiteLayout: the numbers rpmsg-lite computes", () => {
  it("i.MX platforms: VRING_ALIGN 0x1000, VRING_SIZE 0x8000", () => {
    const l = rpmsgLiteLayout({ base: 0x2000_0000, RL_BUFFER_COUNT: 16, VRING_ALIGN: 0x1000, VRING_SIZE: 0x8000 });
    expect([l.vring0, l.vring1, l.pool, l.bufferSize, l.numBuffers, l.notifyIds]).toEqual([
      0x2000_0000,
      0x2000_8000,
      0x2001_0000,
      512,
      16,
      [0, 1],
    ]);
    expect(l.size).toBe(0x10000 + 2 * 16 * 512);
    // What staticLinkLayout would pick without the stride: vring 1 elsewhere (the silent failure).
    expect(staticLinkLayout({ base: 0x2000_0000, numBuffers: 16, align: 0x1000 }).vring1).toBe(0x2000_2000);
  });
  it("MCU platforms: three parts each aligned to VRING_ALIGN when VRING_SIZE is not a constant", () => {
    // 2 buffers, align 0x10: desc 32 | avail 6 + 4 + 2 -> 16 | used 12 + 16 + 2 -> 32 (the headers'
    // structs declare ring[1], so their sizeof includes one element)
    const l = rpmsgLiteLayout({ base: 0x100, VRING_ALIGN: 0x10 });
    expect([l.vringStride, l.vring1, l.pool, l.numBuffers]).toEqual([80, 0x150, 0x1a0, 2]);
    const l16 = rpmsgLiteLayout({ base: 0, RL_BUFFER_COUNT: 16, VRING_ALIGN: 0x10, linkId: 3 });
    expect(l16.vringStride).toBe(256 + 48 + 144);
    expect(l16.notifyIds).toEqual([6, 7]);
  });
  it("refuses a stride that cannot hold the ring, a link id past 0x7fff, an unaligned base", () => {
    expect(() => rpmsgLiteLayout({ base: 0, RL_BUFFER_COUNT: 256, VRING_ALIGN: 0x1000, VRING_SIZE: 0x1000 })).toThrow(
      RangeError,
    );
    expect(() => rpmsgLiteLayout({ base: 0, VRING_ALIGN: 0x10, linkId: 0x8000 })).toThrow(RangeError);
    expect(() => rpmsgLiteLayout({ base: 2, VRING_ALIGN: 0x10 })).toThrow(RangeError);
    // Below 16, rpmsg-lite's used ring (no used_event before it) is not where virtio puts it.
    expect(() => rpmsgLiteLayout({ base: 0, RL_BUFFER_COUNT: 2, VRING_ALIGN: 8 })).toThrow(/VRING_ALIGN/);
  });
});

describe("rpmsg-only remote against an rpmsg-lite master's conventions", () => {
  const layout = rpmsgLiteLayout({ base: 0, RL_BUFFER_COUNT: 4, VRING_ALIGN: 0x10, linkId: 1 });
  const l = splitRingLayout(layout.numBuffers, layout.align);
  function shm() {
    const mem = new SharedMemory(new SharedArrayBuffer(layout.size));
    return { mem, space: new AddressSpace().map(0, mem) };
  }
  /** Lays out what rpmsg_lite_master_init leaves in memory: rx posted, tx pre-loaded into used. */
  function masterInit(mem: SharedMemory, poolAt = layout.pool): void {
    const n = layout.numBuffers;
    for (let i = 0; i < n; i++) {
      const d = layout.vring0 + 16 * i;
      mem.setU32(d, poolAt + i * 512);
      mem.setU32(d + 8, 512);
      mem.setU16(d + 12, VRING_DESC_F_WRITE);
      mem.setU16(layout.vring0 + l.avail + 4 + 2 * i, i);
      // tx ring: descriptors pre-filled and every buffer handed to itself through the used ring
      const t = layout.vring1 + 16 * i;
      mem.setU32(t, poolAt + (n + i) * 512);
      mem.setU32(t + 8, 512);
      mem.setU16(t + 12, VRING_DESC_F_WRITE);
      mem.setU32(layout.vring1 + l.used + 4 + 8 * i, i);
      mem.setU32(layout.vring1 + l.used + 8 + 8 * i, 512);
    }
    mem.setU16(layout.vring0 + l.avail + 2, n);
    mem.setU16(layout.vring1 + l.used + 2, n);
    mem.setU16(layout.vring0 + l.avail, VRING_AVAIL_F_NO_INTERRUPT);
    mem.setU16(layout.vring1 + l.avail, VRING_AVAIL_F_NO_INTERRUPT);
  }

  it("announces through a NO_INTERRUPT ring, rings (linkId << 1), reads WRITE-flagged tx buffers, continues used.idx", () => {
    const { mem, space } = shm();
    masterInit(mem);
    const rung: number[] = [];
    const doorbell: Doorbell = {
      notify: (q) => {
        rung.push(q);
      },
    };
    const remote = createStaticRemote({ layout, space, doorbell });
    const got: string[] = [];
    remote.createEndpoint({
      name: "rpmsg-lite-echo",
      addr: 30,
      onMessage: (m: ReceivedMessage) => {
        got.push(new TextDecoder().decode(m.data));
      },
    });
    remote.process();
    expect(remote.isLinkUp).toBe(true);
    expect(mem.getU16(layout.vring0 + l.used + 2)).toBe(1); // the NS announcement
    expect(rung).toEqual([2]); // vring 0 of link 1, despite NO_INTERRUPT
    // The master sends "hi" in tx buffer 0: its descriptor says WRITE and 512, as rpmsg-lite's does.
    const buf = layout.pool + 4 * 512;
    mem.setU32(buf, 1024);
    mem.setU32(buf + 4, 30);
    mem.setU16(buf + 12, 2);
    mem.write(buf + 16, te("hi"));
    mem.setU16(layout.vring1 + l.avail + 4, 0);
    mem.setU16(layout.vring1 + l.avail + 2, 1);
    remote.process();
    expect(got).toEqual(["hi"]);
    expect(remote.stats.dropped.badBuffer).toBe(0);
    // Returned on top of the master's pre-load (used.idx 4 -> 5), with len 512 (its capacity).
    expect(mem.getU16(layout.vring1 + l.used + 2)).toBe(5);
    expect(mem.getU32(layout.vring1 + l.used + 4 + 8 * 0)).toBe(0);
    expect(mem.getU32(layout.vring1 + l.used + 8 + 8 * 0)).toBe(512);
    expect(rung).toContain(3);
  });

  it("a master whose buffers lie outside the agreed pool takes the link down with ERR_LAYOUT, once", () => {
    const { mem, space } = shm();
    masterInit(mem, layout.pool - 0x40); // e.g. a different VRING_SIZE on the other side
    const remote = createStaticRemote({ layout, space });
    const reasons: string[] = [];
    remote.onLinkChange((up, why) => {
      if (!up) reasons.push(why?.code ?? "?");
    });
    remote.createEndpoint({ name: "x", addr: 30, onMessage: () => undefined });
    remote.process();
    remote.process();
    remote.process();
    expect(reasons).toEqual(["ERR_LAYOUT"]);
    expect(remote.isLinkUp).toBe(false);
    expect(remote.stats.protocolErrors).toBe(1);
  });

  it("a first buffer inside the pool but not at its start is a layout disagreement too", () => {
    // e.g. 256 buffers: the other side's pool starts further in, and its buffers still land in ours
    const { mem, space } = shm();
    masterInit(mem, layout.pool + 512);
    const remote = createStaticRemote({ layout, space });
    const reasons: string[] = [];
    remote.onLinkChange((up, why) => {
      if (!up) reasons.push(`${why?.code ?? "?"} ${why?.message ?? ""}`);
    });
    remote.createEndpoint({ name: "x", addr: 30, onMessage: () => undefined });
    remote.process();
    expect(reasons).toHaveLength(1);
    expect(reasons[0]).toContain(
      `ERR_LAYOUT vring 0: the host's first buffer is at 0x${(layout.pool + 512).toString(16)}, the agreed pool starts at 0x${layout.pool.toString(16)}`,
    );
  });

  it("an @amp static host and remote still agree (the host gives read-only tx buffers)", () => {
    const { space } = shm();
    const hostRung: number[] = [];
    const host = createStaticHost({
      layout,
      space,
      doorbell: {
        notify: (q) => {
          hostRung.push(q);
        },
      },
    });
    const remote = createStaticRemote({ layout, space });
    host.start();
    const got: number[] = [];
    remote.createEndpoint({
      name: "s",
      onMessage: (m: ReceivedMessage, ep) => {
        got.push(m.data.length);
        ep.trySendTo(m.src, m.data);
      },
    });
    remote.process();
    const back: number[] = [];
    const hep = host.createEndpoint({
      name: "s",
      onMessage: (m: ReceivedMessage) => {
        back.push(m.data.length);
      },
    });
    host.process();
    for (let i = 1; i <= 20; i++) {
      expect(hep.trySend(new Uint8Array(i))).toBe(true);
      remote.process();
      host.process();
    }
    expect(got).toEqual(back);
    expect(back.length).toBe(20);
    expect(hostRung.every((q) => q === 2 || q === 3)).toBe(true);
  });
});
