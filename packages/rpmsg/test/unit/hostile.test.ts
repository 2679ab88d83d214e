// A hostile peer writes whatever it wants into the shared rings and buffers. Every check of the
// receive path is exercised here: the victim counts and drops, or takes the link down with a
// reason; it never throws from process(), reads out of bounds or hangs.
import { describe, expect, it } from "vitest";
import type { SplitVirtqueueDriver } from "@amp/virtio-ring";
import { SplitVirtqueueDevice, legacyQueueAddresses, splitRingLayout, DescriptorChain } from "@amp/virtio-ring";
import { encodeRpmsgNsMessage, RPMSG_ADDR_ANY, type NsEvent } from "@amp/rpmsg";
import { makePair, RINGS_ADDR, ringsBytes, type Pair } from "../helpers/pair.ts";
import { handHost } from "../helpers/hand-host.ts";

const NUM = 16;
const ALIGN = 4096;

/** The remote side played by hand: a raw device queue on vring 0 (host rx). */
function hostileRemote(p: Pair): {
  send(fill: (mem: Pair["mem"], off: number, cap: number) => number): void;
  q: SplitVirtqueueDevice;
} {
  const q = new SplitVirtqueueDevice({ size: NUM, space: p.space, ...legacyQueueAddresses(RINGS_ADDR, NUM, ALIGN) });
  const chain = new DescriptorChain(NUM);
  return {
    q,
    send(fill) {
      const c = q.getAvail(chain);
      if (c === null) throw new Error("no host rx buffer");
      const used = fill(p.mem, c.offset(0), c.len(0));
      q.pushUsed(c.id, used);
    },
  };
}

function hdr(mem: Pair["mem"], off: number, src: number, dst: number, len: number): void {
  mem.setU32(off, src);
  mem.setU32(off + 4, dst);
  mem.setU32(off + 8, 0);
  mem.setU16(off + 12, len);
  mem.setU16(off + 14, 0);
}

function setup(): { p: Pair; r: ReturnType<typeof hostileRemote>; got: number[]; events: NsEvent[] } {
  const p = makePair({ num: NUM, host: { maxPendingAnnouncements: 4 } });
  p.host.start();
  const got: number[] = [];
  p.host.createEndpoint({
    addr: 1024,
    onMessage: (m) => {
      got.push(m.data.length);
    },
  });
  const events: NsEvent[] = [];
  return { p, r: hostileRemote(p), got, events };
}

describe("hostile remote against the host", () => {
  it("used length shorter than the header: dropped (short), buffer re-posted", () => {
    const { p, r, got } = setup();
    r.send((m, o) => {
      hdr(m, o, 5, 1024, 0);
      return 15;
    });
    expect(p.host.process()).toBe(1);
    expect(p.host.stats.dropped.short).toBe(1);
    expect(got).toEqual([]);
    expect(r.q.hasAvail()).toBe(true);
  });

  it("hdr.len larger than used length − 16 (incl. 0xFFFF): dropped (badLength)", () => {
    const { p, r, got } = setup();
    r.send((m, o) => {
      hdr(m, o, 5, 1024, 100);
      return 16 + 99;
    });
    r.send((m, o) => {
      hdr(m, o, 5, 1024, 0xffff);
      return 512;
    });
    r.send((m, o) => {
      hdr(m, o, 5, 1024, 496);
      return 512;
    }); // exactly fits: delivered
    p.host.process();
    expect(p.host.stats.dropped.badLength).toBe(2);
    expect(got).toEqual([496]);
  });

  it("used length larger than the buffer: dropped (oversize) and counted, buffer re-posted, link stays up", () => {
    const { p, r, got } = setup();
    const ep = p.host.createEndpoint({});
    r.send((m, o) => {
      hdr(m, o, 5, 1024, 1);
      return 17;
    });
    // Rewrite the used element's len behind the queue's back (a device queue refuses to).
    const l = splitRingLayout(NUM, ALIGN);
    p.mem.setU32(RINGS_ADDR + l.used + 4 + 4, 513);
    r.send((m, o) => {
      hdr(m, o, 5, 1024, 3);
      return 19;
    });
    p.mem.setU32(RINGS_ADDR + l.used + 4 + 8 + 4, 0xffff_ffff);
    r.send((m, o) => {
      hdr(m, o, 5, 1024, 2);
      return 18;
    });
    expect(() => p.host.process()).not.toThrow();
    expect(p.host.stats.dropped.oversize).toBe(2);
    expect(got).toEqual([2]); // the messages after it still arrive
    expect(p.host.isLinkUp).toBe(true);
    expect(p.host.stats.protocolErrors).toBe(0);
    expect(ep.closed).toBe(false);
    // Linux leaks such a buffer; we re-post it: all NUM rx buffers are available again.
    let posted = 0;
    while (r.q.hasAvail()) {
      r.send((m, o) => {
        hdr(m, o, 5, 1024, 0);
        return 16;
      });
      posted++;
    }
    expect(posted).toBe(NUM);
  });

  it("a used element with a bad id is still a ring violation: the link goes down with a reason", () => {
    const { p, r } = setup();
    const ep = p.host.createEndpoint({});
    r.send((m, o) => {
      hdr(m, o, 5, 1024, 1);
      return 17;
    });
    const l = splitRingLayout(NUM, ALIGN);
    p.mem.setU32(RINGS_ADDR + l.used + 4, NUM + 3);
    expect(() => p.host.process()).not.toThrow();
    expect(p.host.isLinkUp).toBe(false);
    expect(p.host.stats.protocolErrors).toBe(1);
    expect(ep.closeReason?.code).toBe("ERR_PROTOCOL");
    p.host.start(); // and it can come back
    expect(p.host.isLinkUp).toBe(true);
  });

  it("a sender waiting for a tx buffer when a ring violation takes the link down gets ERR_LINK_DOWN, the violation as its cause", async () => {
    const { p, r } = setup();
    const ep = p.host.createEndpoint({});
    for (let i = 0; i < NUM; i++) expect(ep.trySendTo(1024, Uint8Array.of(i))).toBe(true); // every tx buffer in flight
    const waiting = ep.sendTo(1024, Uint8Array.of(9));
    r.send((m, o) => {
      hdr(m, o, 5, 1024, 1);
      return 17;
    });
    const l = splitRingLayout(NUM, ALIGN);
    p.mem.setU32(RINGS_ADDR + l.used + 4, NUM + 3);
    p.host.process();
    const e = await waiting.then(
      () => undefined,
      (x: unknown) => x as { code?: string; cause?: { code?: string } },
    );
    expect(e?.code).toBe("ERR_LINK_DOWN");
    expect(e?.cause?.code).toBe("ERR_PROTOCOL");
    expect(ep.closeReason?.code).toBe("ERR_PROTOCOL");
  });

  it("reserved and flags carry no meaning: a message with garbage in both is delivered", () => {
    const { p, r, got } = setup();
    r.send((m, o) => {
      hdr(m, o, 5, 1024, 4);
      m.setU32(o + 8, 0xdead_beef);
      m.setU16(o + 14, 0xffff);
      return 20;
    });
    p.host.process();
    expect(got).toEqual([4]);
  });

  it("a throwing name-service handler or onUnbind (even with an AmpError) is a callback error, not a ring violation", () => {
    const { p, r } = setup();
    const boom = Object.assign(new Error("user bug"), { name: "AmpError", code: "ERR_LIMIT" });
    const seen: string[] = [];
    p.host.onNameService((e) => {
      seen.push(`a:${e.type}`);
      throw boom;
    });
    p.host.onNameService((e) => {
      seen.push(`b:${e.type}`);
    });
    const ns = (name: string, addr: number, flags: number): void => {
      r.send((m, o) => {
        hdr(m, o, addr, 53, 40);
        m.write(o + 16, encodeRpmsgNsMessage({ name, addr, flags }));
        return 56;
      });
    };
    ns("svc", 3000, 0);
    expect(() => p.host.process()).toThrow(boom);
    expect(seen).toEqual(["a:create", "b:create"]); // every handler still ran
    expect(p.host.isLinkUp).toBe(true);
    expect(p.host.stats.protocolErrors).toBe(0);
    expect(p.host.stats.callbackErrors).toBe(1);
    // With onError, nothing escapes; onUnbind throwing is treated the same way.
    const errors: unknown[] = [];
    const q = makePair({
      num: NUM,
      host: {
        onError: (e) => {
          errors.push(e);
        },
      },
    });
    q.host.start();
    q.host.createEndpoint({
      name: "svc",
      onUnbind: () => {
        throw boom;
      },
    });
    const rq = hostileRemote(q);
    for (const flags of [0, 1])
      rq.send((m, o) => {
        hdr(m, o, 3000, 53, 40);
        m.write(o + 16, encodeRpmsgNsMessage({ name: "svc", addr: 3000, flags }));
        return 56;
      });
    expect(() => q.host.process()).not.toThrow();
    expect(errors).toEqual([boom]);
    expect(q.host.isLinkUp).toBe(true);
    expect(q.host.stats.protocolErrors).toBe(0);
  });

  it("a transport that fails with an AmpError (a stopped vdev) takes the link down instead of throwing", () => {
    const { p } = setup();
    const ep = p.host.createEndpoint({});
    const t = p.hostTransport;
    const orig = t.getStatus.bind(t);
    t.getStatus = () => {
      throw Object.assign(new Error("vdev0 is stopped"), { name: "AmpError", code: "ERR_STATE" });
    };
    expect(() => p.host.process()).not.toThrow();
    expect(p.host.isLinkUp).toBe(false);
    expect(ep.closeReason?.code).toBe("ERR_LINK_DOWN");
    t.getStatus = orig;
  });

  it("a throwing onClose or link listener during a link down: every endpoint still closes, the first exception surfaces once", () => {
    const { p } = setup();
    const boom = new Error("onClose bug");
    const closed: number[] = [];
    const a = p.host.createEndpoint({
      onClose: () => {
        closed.push(1);
        throw boom;
      },
    });
    const b = p.host.createEndpoint({
      onClose: () => {
        closed.push(2);
      },
    });
    const downs: boolean[] = [];
    p.host.onLinkChange((up) => {
      downs.push(up);
      throw new Error("listener bug");
    });
    p.hostTransport.setStatus(0x40 | 7); // NEEDS_RESET: the next process() takes the link down
    expect(() => p.host.process()).toThrow(boom);
    expect(closed).toEqual([1, 2]);
    expect([a.closed, b.closed]).toEqual([true, true]);
    expect(downs).toEqual([false]);
    expect(p.host.isLinkUp).toBe(false);
    expect(p.host.stats.callbackErrors).toBe(2);
    expect(() => p.host.process()).not.toThrow(); // nothing left over
  });

  it("unknown destination: dropped (noRecipient)", () => {
    const { p, r } = setup();
    r.send((m, o) => {
      hdr(m, o, 5, 999, 1);
      return 17;
    });
    p.host.process();
    expect(p.host.stats.dropped.noRecipient).toBe(1);
  });

  it("NS messages of 39 and 41 bytes: dropped (nsMalformed)", () => {
    const { p, r } = setup();
    for (const n of [39, 41, 0])
      r.send((m, o) => {
        hdr(m, o, 1024, 53, n);
        return 16 + n;
      });
    p.host.process();
    expect(p.host.stats.dropped.nsMalformed).toBe(3);
    expect(p.host.remoteServices).toEqual([]);
  });

  it("NS name without NUL: accepted cut at 31 bytes and counted; bad addresses dropped", () => {
    const { p, r } = setup();
    const events: NsEvent[] = [];
    p.host.onNameService((e) => events.push(e));
    r.send((m, o) => {
      hdr(m, o, 2000, 53, 40);
      m.fill(o + 16, 32, 0x41);
      m.setU32(o + 48, 2000);
      m.setU32(o + 52, 0);
      return 56;
    });
    for (const addr of [RPMSG_ADDR_ANY, 53]) {
      r.send((m, o) => {
        hdr(m, o, 2000, 53, 40);
        m.write(o + 16, encodeRpmsgNsMessage({ name: "bad", addr, flags: 0 }));
        return 56;
      });
    }
    p.host.process();
    expect(events).toEqual([{ type: "create", name: "A".repeat(31), addr: 2000 }]);
    expect(p.host.stats.nsUnterminated).toBe(1);
    expect(p.host.stats.dropped.nsBadAddress).toBe(2);
  });

  it("NS DESTROY for an unknown service, repeated CREATE: counted, ignored", () => {
    const { p, r } = setup();
    const ns = (name: string, addr: number, flags: number): void => {
      r.send((m, o) => {
        hdr(m, o, addr, 53, 40);
        m.write(o + 16, encodeRpmsgNsMessage({ name, addr, flags }));
        return 56;
      });
    };
    ns("x", 3000, 1);
    ns("y", 3001, 0);
    ns("y", 3001, 0);
    ns("y", 3001, 0x101); // only bit 0 counts: DESTROY
    p.host.process();
    expect(p.host.stats.dropped.nsUnknown).toBe(1);
    expect(p.host.stats.dropped.nsDuplicate).toBe(1);
    expect(p.host.remoteServices).toEqual([]);
  });

  it("an announcement flood is bounded by maxPendingAnnouncements (nsOverflow)", () => {
    const { p, r } = setup();
    for (let i = 0; i < 10; i++) {
      r.send((m, o) => {
        hdr(m, o, 4000 + i, 53, 40);
        m.write(o + 16, encodeRpmsgNsMessage({ name: `s${i}`, addr: 4000 + i, flags: 0 }));
        return 56;
      });
    }
    p.host.process();
    const events: NsEvent[] = [];
    p.host.onNameService((e) => events.push(e));
    expect(events.map((e) => e.name)).toEqual(["s0", "s1", "s2", "s3"]);
    expect(p.host.stats.dropped.nsOverflow).toBe(6);
    expect(p.host.remoteServices.length).toBe(10); // still known for exact-name binding
  });

  it("a message flood: process() handles at most maxBatch per call, the rest stays for the next", () => {
    const p = makePair({ num: NUM, host: { maxBatch: 5 } });
    p.host.start();
    p.host.createEndpoint({ addr: 1024 });
    const r = hostileRemote(p);
    for (let i = 0; i < NUM; i++)
      r.send((m, o) => {
        hdr(m, o, 5, 1024, 1);
        return 17;
      });
    expect(p.host.process()).toBe(5);
    expect(p.host.process()).toBe(5);
    expect(p.host.process()).toBe(5);
    expect(p.host.process()).toBe(1);
  });

  it("a slow iterator consumer: the queue is bounded (queueOverflow), the rx buffers go back", () => {
    const p = makePair({ num: NUM });
    p.host.start();
    const ep = p.host.createEndpoint({ addr: 1024, maxQueued: 3 });
    const r = hostileRemote(p);
    for (let i = 0; i < 8; i++)
      r.send((m, o) => {
        hdr(m, o, 5, 1024, 1);
        return 17;
      });
    p.host.process();
    expect(ep.queued).toBe(3);
    expect(p.host.stats.dropped.queueOverflow).toBe(5);
    expect(ep.queueDrops).toBe(5);
  });
});

describe("hostile host against the remote", () => {
  function remoteSetup(): {
    p: Pair;
    tx: SplitVirtqueueDriver<number>;
    rx: SplitVirtqueueDriver<number>;
    got: number[];
  } {
    const p = makePair({ num: NUM });
    const got: number[] = [];
    p.remote.createEndpoint({
      addr: 1024,
      onMessage: (m) => {
        got.push(m.data.length);
      },
    });
    // Play the host by hand: status, features, queues, rings.
    const t = p.hostTransport;
    const { rx, tx } = handHost(p, NUM, ALIGN);
    for (let i = 0; i < NUM; i++) rx.addBuffer(p.poolAddr + i * 512, 512, true, i);
    t.setStatus(7);
    p.remote.process();
    expect(p.remote.isLinkUp).toBe(true);
    return { p, tx, rx, got };
  }
  const txAt = (p: Pair, i: number): number => p.poolAddr + (NUM + i) * 512;

  it("descriptor length < 16, > 512, hdr.len past the descriptor: dropped and counted", () => {
    const { p, tx, got } = remoteSetup();
    const put = (i: number, len: number, descLen: number): void => {
      hdr(p.mem, txAt(p, i), 5, 1024, len);
      tx.addBuffer(txAt(p, i), descLen, false, i);
    };
    put(0, 0, 15);
    put(1, 1, 513);
    put(2, 10, 16 + 9);
    put(3, 7, 512); // OpenAMP hosts send the whole buffer: hdr.len decides
    p.remote.process();
    expect(p.remote.stats.dropped.short).toBe(1);
    expect(p.remote.stats.dropped.oversize).toBe(1);
    expect(p.remote.stats.dropped.badLength).toBe(1);
    expect(got).toEqual([7]);
    let returned = 0;
    while (tx.getUsed() !== null) returned++;
    expect(returned).toBe(4); // every buffer went back
  });

  it("an rx buffer too small for an NS message: the announcement is dropped and counted, nothing written past it", () => {
    const p = makePair({ num: NUM });
    const t = p.hostTransport;
    const { rx } = handHost(p, NUM, ALIGN);
    rx.addBuffer(p.poolAddr, 20, true, 0); // room for the header and 4 bytes only
    p.mem.fill(p.poolAddr + 20, 64, 0xa5); // a canary right behind it
    t.setStatus(7);
    p.remote.process();
    const ep = p.remote.createEndpoint({ name: "svc", dst: 7 });
    p.remote.createEndpoint({ name: "announced" }); // queues an NS CREATE
    p.remote.process();
    expect(p.remote.stats.dropped.badBuffer).toBe(1);
    expect([...p.mem.view(p.poolAddr + 20, 64)].every((b) => b === 0xa5)).toBe(true);
    expect(ep.trySend(new Uint8Array([1, 2, 3, 4]))).toBe(true); // the small buffer still serves small sends
    const u = rx.getUsed();
    expect(u?.len).toBe(20);
  });

  it("a device-writable or chained buffer on the tx ring is handed back unused (badBuffer)", () => {
    const { p, tx } = remoteSetup();
    tx.addBuffer(txAt(p, 0), 64, true, 0);
    tx.addChain([{ addr: txAt(p, 1), len: 16 }], [{ addr: txAt(p, 2), len: 16 }], 1);
    p.remote.process();
    expect(p.remote.stats.dropped.badBuffer).toBe(2);
    expect(p.remote.isLinkUp).toBe(true);
  });

  it("a descriptor pointing outside memory: protocol error, NEEDS_RESET, link down", () => {
    const { p, tx } = remoteSetup();
    const ep = p.remote.createEndpoint({ name: "z" });
    tx.addBuffer(0x7fff_0000, 64, false, 0);
    expect(() => p.remote.process()).not.toThrow();
    expect(p.remote.isLinkUp).toBe(false);
    expect(p.remote.stats.protocolErrors).toBe(1);
    expect(p.remoteTransport.getStatus() & 0x40).toBe(0x40);
    expect(ep.closeReason?.code).toBe("ERR_PROTOCOL");
  });

  it("avail.idx running ahead by more than the ring: protocol error, no hang", () => {
    const { p } = remoteSetup();
    const l = splitRingLayout(NUM, ALIGN);
    p.mem.setU16(RINGS_ADDR + ringsBytes(NUM, ALIGN) / 2 + l.avail + 2, 1000);
    p.remote.process();
    expect(p.remote.isLinkUp).toBe(false);
    expect(p.remote.stats.protocolErrors).toBe(1);
  });

  it("gfeatures the device never offered: NEEDS_RESET, the link stays down", () => {
    const p = makePair({ num: NUM });
    p.hostTransport.setDriverFeatures(1n << 5n);
    p.hostTransport.setStatus(7);
    p.remote.process();
    expect(p.remote.isLinkUp).toBe(false);
    expect(p.remoteTransport.getStatus() & 0x40).toBe(0x40);
  });

  it("a host reset (status 0) takes the remote link down; DRIVER_OK brings it up again", () => {
    const { p } = remoteSetup();
    p.hostTransport.setStatus(0);
    p.remote.process();
    expect(p.remote.isLinkUp).toBe(false);
    p.host.start();
    p.remote.process();
    expect(p.remote.isLinkUp).toBe(true);
  });
});
