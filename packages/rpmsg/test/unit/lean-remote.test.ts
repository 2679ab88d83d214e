// The lean remote (@amp/rpmsg/remote) against the full RpmsgHost, and against a host played by
// hand with raw driver queues: the interop cases of link.test.ts and the "hostile host against
// the remote" cases of hostile.test.ts / host-restart.test.ts, ported to LeanRemote.
import { describe, expect, it } from "vitest";
import type { SplitVirtqueueDriver } from "@amp/virtio-ring";
import { splitRingLayout } from "@amp/virtio-ring";
import { RPMSG_ADDR_ANY, encodeRpmsgNsMessage, type NsEvent } from "@amp/rpmsg";
import { isAmpError, type LeanEndpoint, type LeanRemote } from "@amp/rpmsg/remote";
import { makeLeanPair, type LeanPair } from "../helpers/lean-pair.ts";
import { handHost } from "../helpers/hand-host.ts";
import { RINGS_ADDR } from "../helpers/pair.ts";
import { ringsBytes } from "../helpers/ring-bytes.ts";
import { codeOf } from "../helpers/code-of.ts";

const NUM = 16;
const ALIGN = 4096;

function payload(n: number, seed: number): Uint8Array {
  const p = new Uint8Array(n);
  for (let i = 0; i < n; i++) p[i] = (seed * 31 + i * 7 + 1) & 0xff;
  return p;
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString("hex");

function echo(remote: LeanRemote, name = "echo"): LeanEndpoint {
  return remote.createEndpoint({
    name,
    onMessage: (m, ep) => {
      ep.trySendTo(m.src, m.data);
    },
  });
}

describe("lean remote <-> RpmsgHost", () => {
  it("waits for DRIVER_OK, announces, and echoes every size 0..496 byte-identical", () => {
    const p = makeLeanPair();
    const features = p.hostTransport.getDeviceFeatures();
    expect(features).toBe(1n); // VIRTIO_RPMSG_F_NS only
    echo(p.remote);
    expect(p.remote.process()).toBe(0);
    expect(p.remote.isLinkUp).toBe(false);
    expect(p.remote.mtu).toBe(0);
    const ns: NsEvent[] = [];
    p.host.onNameService((e) => ns.push(e));
    p.host.start();
    p.settle();
    expect(p.remote.isLinkUp).toBe(true);
    expect(p.remote.mtu).toBe(496);
    expect(ns).toEqual([{ type: "create", name: "echo", addr: 1024 }]);
    const back: string[] = [];
    const srcs = new Set<number>();
    const hep = p.host.createEndpoint({
      dst: 1024,
      onMessage: (m) => {
        back.push(hex(m.data));
        srcs.add(m.src);
      },
    });
    const sent: string[] = [];
    for (let n = 0; n <= 496; n++) {
      const d = payload(n, n);
      sent.push(hex(d));
      expect(hep.trySend(d)).toBe(true);
      p.settle();
    }
    expect(back).toEqual(sent);
    expect([...srcs]).toEqual([1024]);
    expect(p.remote.stats).toMatchObject({
      rxMessages: 497,
      txMessages: 498,
      protocolErrors: 0,
      callbackErrors: 0,
      linkUps: 1,
      linkDowns: 0,
    });
    expect(Object.values(p.remote.stats.dropped).every((v) => v === 0)).toBe(true);
    expect(p.host.stats.protocolErrors).toBe(0);
    expect(p.host.stats.rxMessages).toBe(498); // the echoes and the announcement
    expect(p.interrupts.length).toBeGreaterThan(0);
  });

  it("destroy sends NS DESTROY; a CREATE still queued is cancelled instead", () => {
    const p = makeLeanPair();
    const ns: NsEvent[] = [];
    p.host.onNameService((e) => ns.push(e));
    p.host.start();
    const ep = echo(p.remote);
    p.settle();
    ep.destroy();
    ep.destroy(); // idempotent
    p.settle();
    expect(ns).toEqual([
      { type: "create", name: "echo", addr: 1024 },
      { type: "destroy", name: "echo", addr: 1024 },
    ]);
    expect(ep.closeReason?.code).toBe("ERR_CLOSED");
    expect(codeOf(() => ep.trySendTo(5, new Uint8Array(1)))).toBe("ERR_CLOSED");
    // Before the link: created and destroyed while down, nothing reaches the host.
    const q = makeLeanPair();
    const seen: NsEvent[] = [];
    q.host.onNameService((e) => seen.push(e));
    echo(q.remote, "gone").destroy();
    echo(q.remote, "kept");
    q.host.start();
    q.settle();
    expect(seen).toEqual([{ type: "create", name: "kept", addr: 1024 }]); // 1024 was freed again
  });

  it("binds to a host announcement of exactly its name, unbinds on its withdrawal; learns from the first message otherwise", () => {
    const p = makeLeanPair();
    p.host.start();
    const svc = p.remote.createEndpoint({ name: "svc", announce: false, onMessage: () => undefined });
    const other = p.remote.createEndpoint({ name: "svc-1", announce: false, onMessage: () => undefined });
    p.settle();
    const hep = p.host.createEndpoint({ name: "svc", addr: 2000, announce: true });
    p.settle();
    expect(svc.dst).toBe(2000);
    expect(other.dst).toBe(RPMSG_ADDR_ANY);
    hep.destroy();
    p.settle();
    expect(svc.dst).toBe(RPMSG_ADDR_ANY);
    const h2 = p.host.createEndpoint({ dst: other.addr, addr: 3000 });
    expect(h2.trySend(new Uint8Array([1]))).toBe(true);
    p.settle();
    expect(other.dst).toBe(3000);
  });

  it("send/sendTo errors are typed: ERR_NOT_BOUND, ERR_BAD_ADDRESS, ERR_MSG_SIZE, ERR_LINK_DOWN", async () => {
    const p = makeLeanPair();
    const ep = p.remote.createEndpoint({ name: "e", onMessage: () => undefined });
    expect(codeOf(() => ep.trySendTo(1, new Uint8Array(1)))).toBe("ERR_LINK_DOWN");
    await expect(ep.send(new Uint8Array(1))).rejects.toMatchObject({ code: "ERR_LINK_DOWN" });
    p.host.start();
    p.settle();
    expect(codeOf(() => ep.trySend(new Uint8Array(1)))).toBe("ERR_NOT_BOUND");
    await expect(ep.send(new Uint8Array(1))).rejects.toMatchObject({ code: "ERR_NOT_BOUND" });
    for (const bad of [RPMSG_ADDR_ANY, -1, 1.5, 2 ** 32]) {
      expect(codeOf(() => ep.trySendTo(bad, new Uint8Array(1)))).toBe("ERR_BAD_ADDRESS");
      await expect(ep.sendTo(bad, new Uint8Array(1))).rejects.toMatchObject({ code: "ERR_BAD_ADDRESS" });
    }
    expect(codeOf(() => ep.trySendTo(1, new Uint8Array(497)))).toBe("ERR_MSG_SIZE");
    await expect(ep.sendTo(1, new Uint8Array(497))).rejects.toMatchObject({ code: "ERR_MSG_SIZE", offset: 497 });
    expect(ep.trySendTo(1, new Uint8Array(496))).toBe(true);
    // createEndpoint misuse
    expect(() => p.remote.createEndpoint({ name: "x".repeat(32), onMessage: () => undefined })).toThrow(RangeError);
    expect(() => p.remote.createEndpoint({ announce: true, onMessage: () => undefined })).toThrow(TypeError);
    expect(codeOf(() => p.remote.createEndpoint({ addr: 53, onMessage: () => undefined }))).toBe("ERR_ADDR_IN_USE");
    expect(codeOf(() => p.remote.createEndpoint({ addr: ep.addr, onMessage: () => undefined }))).toBe(
      "ERR_ADDR_IN_USE",
    );
    expect(p.remote.createEndpoint({ addr: 7, onMessage: () => undefined }).addr).toBe(7);
  });

  it("trySend is false when the host's rx buffers run out; send waits (FIFO) and a link down rejects it", async () => {
    const p = makeLeanPair();
    p.host.start();
    const ep = p.remote.createEndpoint({ name: "e", dst: 1, onMessage: () => undefined });
    p.settle();
    let n = 0;
    while (ep.trySend(new Uint8Array([n]))) n++;
    expect(n).toBe(NUM);
    const order: number[] = [];
    const first = ep.send(new Uint8Array([100])).then(() => order.push(100));
    const second = ep.sendTo(2, new Uint8Array([101])).then(() => order.push(101));
    expect(ep.trySend(new Uint8Array([1]))).toBe(false); // others wait first
    p.host.process(); // the host consumes and re-posts its rx buffers
    p.remote.process();
    await Promise.all([first, second]);
    expect(order).toEqual([100, 101]);
    while (ep.trySend(new Uint8Array([0]))) n++;
    const waiting = ep.send(new Uint8Array([9]));
    p.host.stop("bye");
    p.remote.process();
    await expect(waiting).rejects.toMatchObject({ code: "ERR_LINK_DOWN" });
    expect(ep.closeReason?.code).toBe("ERR_LINK_DOWN");
  });

  it("a host reset takes the link down (endpoints close, listeners hear it); DRIVER_OK brings it up, a new endpoint echoes", () => {
    const p = makeLeanPair({ num: 8 });
    const changes: string[] = [];
    p.remote.onLinkChange((up, why) => {
      changes.push(up ? "up" : `down ${why?.code ?? ""}`);
    });
    p.host.start();
    const ep = echo(p.remote);
    p.settle();
    p.host.stop("bye");
    p.remote.process();
    expect(changes).toEqual(["up", "down ERR_LINK_DOWN"]);
    expect(ep.closeReason?.code).toBe("ERR_LINK_DOWN");
    p.host.start();
    echo(p.remote);
    p.settle();
    const back: number[] = [];
    const hep = p.host.createEndpoint({
      name: "echo",
      onMessage: (m) => {
        back.push(m.data.length);
      },
    });
    p.settle();
    expect(hep.dst).toBe(1024);
    for (let i = 1; i <= 20; i++) {
      expect(hep.trySend(new Uint8Array(i))).toBe(true);
      p.settle();
    }
    expect(back).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    expect(changes).toEqual(["up", "down ERR_LINK_DOWN", "up"]);
  });

  it("a host restart between two polls (status unchanged, rings re-initialised): down and up again, no protocol error", () => {
    const p = makeLeanPair({ num: 8 });
    const changes: string[] = [];
    p.remote.onLinkChange((up, why) => {
      changes.push(up ? "up" : `down: ${why?.message ?? ""}`);
    });
    p.host.start();
    echo(p.remote);
    p.settle();
    let hep = p.host.createEndpoint({ name: "echo", onMessage: () => undefined });
    p.settle();
    for (let i = 1; i <= 20; i++) {
      expect(hep.trySend(new Uint8Array(i))).toBe(true);
      p.settle();
    }
    p.host.start();
    expect(p.hostTransport.getStatus()).toBe(0x07);
    p.remote.process();
    expect(changes).toEqual(["up", "down: link down: rings re-initialised", "up"]);
    echo(p.remote);
    p.settle();
    const back: number[] = [];
    hep = p.host.createEndpoint({
      name: "echo",
      onMessage: (m) => {
        back.push(m.data.length);
      },
    });
    p.settle();
    for (let i = 1; i <= 20; i++) {
      expect(hep.trySend(new Uint8Array(i))).toBe(true);
      p.settle();
    }
    expect(back).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    expect(p.remote.stats.protocolErrors).toBe(0);
    expect(p.host.stats.protocolErrors).toBe(0);
  });

  it("a throwing callback: the buffer goes back, process() rethrows; with onError the batch goes on", () => {
    const p = makeLeanPair();
    p.host.start();
    const boom = new Error("boom");
    let calls = 0;
    p.remote.createEndpoint({
      addr: 1024,
      onMessage: () => {
        calls++;
        throw boom;
      },
    });
    p.settle();
    const hep = p.host.createEndpoint({ dst: 1024 });
    expect(hep.trySend(new Uint8Array(1))).toBe(true);
    expect(hep.trySend(new Uint8Array(2))).toBe(true);
    p.host.process();
    expect(() => p.remote.process()).toThrow(boom);
    expect(calls).toBe(1);
    expect(() => p.remote.process()).toThrow(boom);
    expect(calls).toBe(2);
    expect(p.remote.stats.callbackErrors).toBe(2);
    expect(p.remote.isLinkUp).toBe(true);
    const errors: unknown[] = [];
    const q = makeLeanPair({ remote: { onError: (e) => errors.push(e) } });
    q.host.start();
    q.remote.createEndpoint({
      addr: 1024,
      onMessage: () => {
        throw boom;
      },
    });
    q.settle();
    const h2 = q.host.createEndpoint({ dst: 1024 });
    h2.trySend(new Uint8Array(1));
    h2.trySend(new Uint8Array(2));
    q.host.process();
    expect(q.remote.process()).toBe(2);
    expect(errors).toEqual([boom, boom]);
  });
});

describe("hostile host against the lean remote", () => {
  function hdr(p: LeanPair, off: number, src: number, dst: number, len: number): void {
    p.mem.setU32(off, src);
    p.mem.setU32(off + 4, dst);
    p.mem.setU32(off + 8, 0);
    p.mem.setU16(off + 12, len);
    p.mem.setU16(off + 14, 0);
  }
  /** Plays the host by hand: status, features, queues, rx buffers posted; the remote comes up. */
  function remoteSetup(o: { maxBatch?: number } = {}): {
    p: LeanPair;
    tx: SplitVirtqueueDriver<number>;
    rx: SplitVirtqueueDriver<number>;
    got: number[];
    srcs: number[];
  } {
    const p = makeLeanPair({ num: NUM, remote: o });
    const got: number[] = [];
    const srcs: number[] = [];
    p.remote.createEndpoint({
      addr: 1024,
      onMessage: (m) => {
        got.push(m.data.length);
        srcs.push(m.src);
      },
    });
    const t = p.hostTransport;
    const { rx, tx } = handHost(p, NUM, ALIGN);
    for (let i = 0; i < NUM; i++) rx.addBuffer(p.poolAddr + i * 512, 512, true, i);
    t.setStatus(7);
    p.remote.process();
    expect(p.remote.isLinkUp).toBe(true);
    return { p, tx, rx, got, srcs };
  }
  const txAt = (p: LeanPair, i: number): number => p.poolAddr + (NUM + i) * 512;
  const usedLens = (q: SplitVirtqueueDriver<number>): number[] => {
    const out: number[] = [];
    for (let u = q.getUsed(); u !== null; u = q.getUsed()) out.push(u.declaredLen);
    return out;
  };

  it("descriptor length < 16, > 512, hdr.len past the descriptor: dropped and counted; every buffer back with its descriptor length", () => {
    const { p, tx, got } = remoteSetup();
    const put = (i: number, len: number, descLen: number): void => {
      hdr(p, txAt(p, i), 5, 1024, len);
      tx.addBuffer(txAt(p, i), descLen, false, i);
    };
    put(0, 0, 15);
    put(1, 1, 513);
    put(2, 10, 16 + 9);
    put(3, 7, 512); // OpenAMP hosts send the whole buffer: hdr.len decides
    put(4, 0xffff, 512);
    put(5, 4, 16 + 4);
    p.remote.process();
    expect(p.remote.stats.dropped).toMatchObject({ short: 1, oversize: 1, badLength: 2 });
    expect(got).toEqual([7, 4]);
    expect(usedLens(tx)).toEqual([15, 513, 25, 512, 512, 20]);
  });

  it("reserved and flags carry no meaning; unknown destinations are dropped (noRecipient)", () => {
    const { p, tx, got } = remoteSetup();
    hdr(p, txAt(p, 0), 5, 1024, 3);
    p.mem.setU32(txAt(p, 0) + 8, 0xdeadbeef);
    p.mem.setU16(txAt(p, 0) + 14, 0xffff);
    tx.addBuffer(txAt(p, 0), 19, false, 0);
    hdr(p, txAt(p, 1), 5, 4242, 3);
    tx.addBuffer(txAt(p, 1), 19, false, 1);
    p.remote.process();
    expect(got).toEqual([3]);
    expect(p.remote.stats.dropped.noRecipient).toBe(1);
  });

  it("a message from ANY is delivered, the endpoint stays unbound, a reply to it is ERR_BAD_ADDRESS", () => {
    const { p, tx, srcs } = remoteSetup();
    const errors: string[] = [];
    const r = p.remote.createEndpoint({
      addr: 1025,
      onMessage: (m, e) => {
        errors.push(String(codeOf(() => e.trySendTo(m.src, m.data))));
      },
    });
    hdr(p, txAt(p, 0), RPMSG_ADDR_ANY, 1024, 1);
    tx.addBuffer(txAt(p, 0), 17, false, 0);
    hdr(p, txAt(p, 1), RPMSG_ADDR_ANY, 1025, 1);
    tx.addBuffer(txAt(p, 1), 17, false, 1);
    p.remote.process();
    expect(srcs).toEqual([RPMSG_ADDR_ANY]);
    expect(errors).toEqual(["ERR_BAD_ADDRESS"]);
    expect(r.dst).toBe(RPMSG_ADDR_ANY);
    expect(p.remote.isLinkUp).toBe(true);
  });

  it("NS messages from the host: 39/41 bytes and bad addresses dropped (nsMalformed); a name without NUL matches at 31 bytes", () => {
    const { p, tx } = remoteSetup();
    const long = p.remote.createEndpoint({ name: "n".repeat(31), announce: false, onMessage: () => undefined });
    let i = 0;
    const ns = (bytes: Uint8Array): void => {
      hdr(p, txAt(p, i), 9, 53, bytes.length);
      p.mem.write(txAt(p, i) + 16, bytes);
      tx.addBuffer(txAt(p, i), 16 + bytes.length, false, i);
      i++;
    };
    ns(new Uint8Array(39));
    ns(new Uint8Array(41));
    ns(encodeRpmsgNsMessage({ name: "n".repeat(31), addr: RPMSG_ADDR_ANY, flags: 0 }));
    ns(encodeRpmsgNsMessage({ name: "n".repeat(31), addr: 53, flags: 0 }));
    const unterminated = encodeRpmsgNsMessage({ name: "n".repeat(31), addr: 4000, flags: 0 });
    unterminated[31] = 0x6e; // 32 name bytes, no NUL
    ns(unterminated);
    p.remote.process();
    expect(p.remote.stats.dropped.nsMalformed).toBe(4);
    expect(long.dst).toBe(4000);
    ns(encodeRpmsgNsMessage({ name: "n".repeat(31), addr: 4001, flags: 1 })); // DESTROY of another address: ignored
    p.remote.process();
    expect(long.dst).toBe(4000);
    ns(encodeRpmsgNsMessage({ name: "n".repeat(31), addr: 4000, flags: 0xfffffff1 })); // receivers test bit 0 only
    p.remote.process();
    expect(long.dst).toBe(RPMSG_ADDR_ANY);
  });

  it("an rx buffer too small for an NS message: the announcement is dropped and counted, nothing written past it; it still serves small sends", () => {
    const p = makeLeanPair({ num: NUM });
    const t = p.hostTransport;
    const { rx } = handHost(p, NUM, ALIGN);
    rx.addBuffer(p.poolAddr, 20, true, 0); // room for the header and 4 bytes only
    p.mem.fill(p.poolAddr + 20, 64, 0xa5);
    t.setStatus(7);
    p.remote.process();
    const ep = p.remote.createEndpoint({ name: "svc", dst: 7, onMessage: () => undefined });
    p.remote.createEndpoint({ name: "announced", onMessage: () => undefined }); // queues an NS CREATE
    p.remote.process();
    expect(p.remote.stats.dropped.badBuffer).toBe(1);
    expect([...p.mem.view(p.poolAddr + 20, 64)].every((b) => b === 0xa5)).toBe(true);
    expect(codeOf(() => ep.trySend(new Uint8Array(5)))).toBe("ERR_MSG_SIZE"); // the buffer is kept
    expect(ep.trySend(new Uint8Array([1, 2, 3, 4]))).toBe(true);
    const u = rx.getUsed();
    expect(u?.len).toBe(20);
    expect(hex(p.mem.read(p.poolAddr, 20))).toBe(
      hex(Uint8Array.of(0, 4, 0, 0, 7, 0, 0, 0, 0, 0, 0, 0, 4, 0, 0, 0, 1, 2, 3, 4)),
    );
  });

  it("a device-writable or chained buffer on either ring is handed back unused (badBuffer), the link stays up", () => {
    const { p, tx, rx } = remoteSetup();
    tx.addBuffer(txAt(p, 0), 64, true, 0);
    tx.addChain([{ addr: txAt(p, 1), len: 16 }], [{ addr: txAt(p, 2), len: 16 }], 1);
    p.remote.process();
    expect(p.remote.stats.dropped.badBuffer).toBe(2);
    expect(usedLens(tx)).toEqual([0, 0]);
    // Our tx ring (the host's rx): a read-only buffer and a chain among the posted ones.
    const ep = p.remote.createEndpoint({ name: "s", dst: 1, onMessage: () => undefined });
    let sent = 0;
    while (ep.trySend(new Uint8Array([sent]))) sent++;
    expect(sent).toBe(NUM);
    expect(usedLens(rx)).toHaveLength(NUM);
    expect(p.remote.isLinkUp).toBe(true);
  });

  it("a descriptor pointing outside memory: protocol error, NEEDS_RESET, link down, endpoints closed with ERR_PROTOCOL", () => {
    const { p, tx } = remoteSetup();
    const ep = p.remote.createEndpoint({ name: "z", onMessage: () => undefined });
    tx.addBuffer(0x7fff_0000, 64, false, 0);
    expect(() => p.remote.process()).not.toThrow();
    expect(p.remote.isLinkUp).toBe(false);
    expect(p.remote.stats.protocolErrors).toBe(1);
    expect(p.remoteTransport.getStatus() & 0x40).toBe(0x40);
    expect(ep.closeReason?.code).toBe("ERR_PROTOCOL");
    expect(isAmpError(ep.closeReason?.cause) && ep.closeReason.cause.code).toBe("ERR_BAD_ADDRESS");
  });

  it("avail.idx running ahead, a head out of range, a next out of range, a loop, INDIRECT, readable after writable: protocol errors, no hang", () => {
    const l = splitRingLayout(NUM, ALIGN);
    const stride = ringsBytes(NUM, ALIGN) / 2;
    const vring1 = RINGS_ADDR + stride;
    const cases: [string, (p: LeanPair, tx: SplitVirtqueueDriver<number>) => void][] = [
      [
        "ERR_BAD_INDEX",
        (p) => {
          p.mem.setU16(vring1 + l.avail + 2, 1000);
        },
      ],
      [
        "ERR_BAD_INDEX",
        (p) => {
          p.mem.setU16(vring1 + l.avail + 4, NUM);
          p.mem.setU16(vring1 + l.avail + 2, 1);
        },
      ],
      [
        "ERR_BAD_INDEX",
        (p, tx) => {
          tx.addBuffer(txAt(p, 0), 64, false, 0);
          p.mem.setU16(vring1 + 12, 1);
          p.mem.setU16(vring1 + 14, NUM);
        },
      ],
      [
        "ERR_LIMIT",
        (p, tx) => {
          tx.addBuffer(txAt(p, 0), 64, false, 0);
          p.mem.setU16(vring1 + 12, 1);
          p.mem.setU16(vring1 + 14, 0);
        },
      ],
      [
        "ERR_BAD_CHAIN",
        (p, tx) => {
          tx.addBuffer(txAt(p, 0), 64, false, 0);
          p.mem.setU16(vring1 + 12, 4);
        },
      ],
      [
        "ERR_BAD_CHAIN",
        (p, tx) => {
          tx.addChain(
            [],
            [
              { addr: txAt(p, 0), len: 16 },
              { addr: txAt(p, 1), len: 16 },
            ],
            0,
          );
          p.mem.setU16(vring1 + 16 + 12, 0);
        },
      ],
    ];
    for (const [code, corrupt] of cases) {
      const { p, tx } = remoteSetup();
      const ep = p.remote.createEndpoint({ name: "z", onMessage: () => undefined });
      corrupt(p, tx);
      expect(() => p.remote.process()).not.toThrow();
      expect(p.remote.isLinkUp).toBe(false);
      expect(p.remote.stats.protocolErrors).toBe(1);
      expect(p.remoteTransport.getStatus() & 0x40).toBe(0x40);
      expect(isAmpError(ep.closeReason?.cause) && ep.closeReason.cause.code).toBe(code);
      // A reset and a fresh DRIVER_OK bring the link back.
      p.hostTransport.setStatus(0);
      p.remote.process();
      p.host.start();
      p.remote.process();
      expect(p.remote.isLinkUp).toBe(true);
    }
  });

  it("gfeatures the device never offered, or EVENT_IDX in a fixed table: NEEDS_RESET, the link stays down", () => {
    const p = makeLeanPair({ num: NUM });
    p.hostTransport.setDriverFeatures(1n << 5n);
    p.hostTransport.setStatus(7);
    p.remote.process();
    expect(p.remote.isLinkUp).toBe(false);
    expect(p.remoteTransport.getStatus() & 0x40).toBe(0x40);
    const q = makeLeanPair({ num: NUM, remote: { setDeviceFeatures: false } });
    q.remoteTransport.setDeviceFeatures(1n | (1n << 29n));
    q.hostTransport.setDriverFeatures(1n | (1n << 29n));
    q.hostTransport.setStatus(7);
    q.remote.process();
    expect(q.remote.isLinkUp).toBe(false);
    expect(q.remote.stats.protocolErrors).toBe(1);
    expect(q.remoteTransport.getStatus() & 0x40).toBe(0x40);
  });

  it("a message flood: process() handles at most maxBatch per call, the rest stays for the next", () => {
    const { p, tx, got } = remoteSetup({ maxBatch: 3 });
    for (let i = 0; i < 8; i++) {
      hdr(p, txAt(p, i), 5, 1024, 1);
      tx.addBuffer(txAt(p, i), 17, false, i);
    }
    expect(p.remote.process()).toBe(3);
    expect(p.remote.process()).toBe(3);
    expect(p.remote.process()).toBe(2);
    expect(got).toHaveLength(8);
  });

  it("a host that keeps posting bad tx buffers cannot keep a send looping: one ring's worth per call", () => {
    const { p } = remoteSetup();
    // Every posted rx buffer of the host (our tx) turned read-only.
    for (let i = 0; i < NUM; i++) p.mem.setU16(RINGS_ADDR + 16 * i + 12, 0);
    const ep = p.remote.createEndpoint({ name: "s", dst: 1, onMessage: () => undefined });
    expect(ep.trySend(new Uint8Array(1))).toBe(false);
    expect(p.remote.stats.dropped.badBuffer).toBe(NUM);
    expect(p.remote.isLinkUp).toBe(true);
  });
});
