import { describe, expect, it } from "vitest";
import { RPMSG_ADDR_ANY, isAmpError, type NsEvent, type ReceivedMessage, type RpmsgMessage } from "@amp/rpmsg";
import { makePair } from "../helpers/pair.ts";

const te = (s: string): Uint8Array => new TextEncoder().encode(s);
const td = (b: Uint8Array): string => new TextDecoder().decode(b);

describe("host and remote in one thread", () => {
  it("remote waits for DRIVER_OK, then announces; host binds by exact name; echo works", () => {
    const p = makePair();
    const got: string[] = [];
    p.remote.createEndpoint({
      name: "echo",
      onMessage: (m, ep) => {
        ep.trySendTo(m.src, m.data);
      },
    });
    expect(p.remote.process()).toBe(0);
    expect(p.remote.isLinkUp).toBe(false); // no DRIVER_OK yet
    p.host.start();
    expect(p.hostTransport.getStatus()).toBe(0x07); // legacy final status
    const hep = p.host.createEndpoint({
      name: "echo",
      onMessage: (m) => {
        got.push(td(m.data));
      },
    });
    expect(hep.dst).toBe(RPMSG_ADDR_ANY);
    p.remote.process(); // link up + NS CREATE
    expect(p.remote.isLinkUp).toBe(true);
    p.host.process();
    expect(hep.dst).toBe(1024);
    expect(hep.trySend(te("hello"))).toBe(true);
    p.settle();
    expect(got).toEqual(["hello"]);
    expect(p.host.remoteServices).toEqual([{ name: "echo", addr: 1024 }]);
    expect(p.host.stats.dropped.noRecipient).toBe(0);
  });

  it("an announcement nobody waits for is kept until a handler binds, then delivered in order", () => {
    const p = makePair();
    p.host.start();
    p.remote.createEndpoint({ name: "a" });
    p.remote.createEndpoint({ name: "b" });
    p.settle();
    const seen: NsEvent[] = [];
    p.host.onNameService((e) => seen.push(e));
    expect(seen).toEqual([
      { type: "create", name: "a", addr: 1024 },
      { type: "create", name: "b", addr: 1025 },
    ]);
  });

  it("an endpoint created after the announcement binds at once; exact names only", async () => {
    const p = makePair();
    p.host.start();
    p.remote.createEndpoint({ name: "svc-1" });
    p.settle();
    expect(p.host.createEndpoint({ name: "svc" }).dst).toBe(RPMSG_ADDR_ANY);
    expect(p.host.createEndpoint({ name: "svc-10" }).dst).toBe(RPMSG_ADDR_ANY);
    const ep = p.host.createEndpoint({ name: "svc-1" });
    expect(ep.dst).toBe(1024);
    expect(await p.host.waitForService("svc-1")).toEqual({ name: "svc-1", addr: 1024 });
  });

  it("remote learns the host address from the first message", () => {
    const p = makePair();
    p.host.start();
    const rep = p.remote.createEndpoint({ name: "x" });
    p.settle();
    const hep = p.host.createEndpoint({ name: "x" });
    expect(rep.dst).toBe(RPMSG_ADDR_ANY);
    hep.trySend(te("hi"));
    p.settle();
    expect(rep.dst).toBe(hep.addr);
    expect(rep.queued).toBe(1);
  });

  it("NS DESTROY on destroy unbinds the host endpoint and fires onUnbind", () => {
    const p = makePair();
    p.host.start();
    const rep = p.remote.createEndpoint({ name: "x" });
    p.settle();
    let unbound = 0;
    const hep = p.host.createEndpoint({
      name: "x",
      onUnbind: () => {
        unbound++;
      },
    });
    const events: NsEvent[] = [];
    p.host.onNameService((e) => events.push(e));
    rep.destroy();
    p.settle();
    expect(unbound).toBe(1);
    expect(hep.dst).toBe(RPMSG_ADDR_ANY);
    expect(events).toEqual([{ type: "destroy", name: "x", addr: 1024 }]);
    expect(p.host.remoteServices).toEqual([]);
    expect(rep.closed && rep.closeReason?.code === "ERR_CLOSED").toBe(true);
  });

  it("sendOffchannel puts the given src on the wire", () => {
    const p = makePair();
    p.host.start();
    const msgs: RpmsgMessage[] = [];
    const rep = p.remote.createEndpoint({
      addr: 77,
      onMessage: (m) => {
        msgs.push({ ...m, data: m.data.slice() });
      },
    });
    const hep = p.host.createEndpoint({});
    p.settle();
    expect(hep.trySendOffchannel(4242, rep.addr, te("o"))).toBe(true);
    p.settle();
    expect(msgs[0]?.src).toBe(4242);
    expect(msgs[0]?.dst).toBe(77);
  });

  it("oversize send is ERR_MSG_SIZE, never truncated; send to ANY is ERR_BAD_ADDRESS; unbound is ERR_NOT_BOUND", async () => {
    const p = makePair();
    p.host.start();
    p.settle();
    const hep = p.host.createEndpoint({});
    expect(hep.mtu).toBe(496);
    expect(() => hep.trySendTo(1024, new Uint8Array(497))).toThrow(expect.objectContaining({ code: "ERR_MSG_SIZE" }));
    expect(() => hep.trySendTo(RPMSG_ADDR_ANY, new Uint8Array(1))).toThrow(
      expect.objectContaining({ name: "AmpError", code: "ERR_BAD_ADDRESS" }),
    );
    await expect(hep.send(new Uint8Array(1))).rejects.toMatchObject({ code: "ERR_NOT_BOUND" });
    expect(hep.trySendTo(1024, new Uint8Array(496))).toBe(true);
  });

  it("addresses: dynamic from 1024 lowest-free, explicit ones claimed, 53 reserved", () => {
    const p = makePair();
    const a = p.host.createEndpoint({});
    const b = p.host.createEndpoint({});
    expect([a.addr, b.addr]).toEqual([1024, 1025]);
    a.destroy();
    expect(p.host.createEndpoint({}).addr).toBe(1024);
    expect(p.host.createEndpoint({ addr: 30 }).addr).toBe(30);
    expect(() => p.host.createEndpoint({ addr: 30 })).toThrow(expect.objectContaining({ code: "ERR_ADDR_IN_USE" }));
    expect(() => p.host.createEndpoint({ addr: 53 })).toThrow(expect.objectContaining({ code: "ERR_ADDR_IN_USE" }));
    expect(() => p.host.createEndpoint({ name: "x".repeat(32) })).toThrow(RangeError);
  });

  it("trySend returns false when tx buffers run out, and works again after the remote consumes", () => {
    const p = makePair({ num: 4 });
    p.host.start();
    p.remote.createEndpoint({ addr: 100 });
    p.settle();
    const hep = p.host.createEndpoint({ dst: 100 });
    for (let i = 0; i < 4; i++) expect(hep.trySend(Uint8Array.of(i))).toBe(true);
    expect(hep.trySend(Uint8Array.of(9))).toBe(false);
    p.remote.process();
    expect(hep.trySend(Uint8Array.of(9))).toBe(true);
  });

  it("blocking send waits for a buffer, honours AbortSignal and a per-call timeout", async () => {
    const timers: (() => void)[] = [];
    const scheduler = {
      setTimeout: (f: () => void) => {
        timers.push(f);
        return timers.length;
      },
      clearTimeout: () => undefined,
    };
    const p = makePair({ num: 2, host: { scheduler } });
    p.host.start();
    p.remote.createEndpoint({ addr: 100 });
    p.settle();
    const hep = p.host.createEndpoint({ dst: 100 });
    await hep.send(Uint8Array.of(1));
    await hep.send(Uint8Array.of(2));
    const pending = hep.send(Uint8Array.of(3));
    const ac = new AbortController();
    const aborted = hep.send(Uint8Array.of(4), { signal: ac.signal });
    const timed = hep.send(Uint8Array.of(5), { timeoutMs: 10 });
    ac.abort();
    await expect(aborted).rejects.toMatchObject({ code: "ERR_ABORTED" });
    timers[0]?.();
    await expect(timed).rejects.toMatchObject({ code: "ERR_TIMEOUT" });
    p.remote.process(); // consumes 1 and 2
    p.host.process(); // reclaims, wakes the waiter
    await pending;
    p.remote.process();
    const rep = p.remote.getEndpoint(100)!;
    const got: number[] = [];
    for (let i = 0; i < 3; i++) got.push(((await rep.messages().next()).value as ReceivedMessage).data[0] ?? -1);
    expect(got).toEqual([1, 2, 3]);
    // A buffer is free again: a send with a timeout goes out at once, arms no timer, and arrives.
    const armed = timers.length;
    await expect(hep.send(Uint8Array.of(6), { timeoutMs: 1 })).resolves.toBeUndefined();
    expect(timers.length).toBe(armed);
    p.remote.process();
    expect([...((await rep.messages().next()).value as ReceivedMessage).data]).toEqual([6]);
  });

  it("a timeout without a scheduler is a TypeError", async () => {
    const p = makePair();
    p.host.start();
    const hep = p.host.createEndpoint({ dst: 1024 });
    await expect(hep.send(Uint8Array.of(1), { timeoutMs: 5 })).rejects.toThrow(TypeError);
  });

  it("zero-copy tx: fill the shared buffer in place and send it", () => {
    const p = makePair();
    p.host.start();
    const got: number[][] = [];
    p.remote.createEndpoint({ addr: 100, onMessage: (m) => got.push([...m.data]) });
    p.settle();
    const hep = p.host.createEndpoint({ dst: 100 });
    const buf = hep.tryGetTxBuffer()!;
    expect(buf.payload.length).toBe(496);
    expect(buf.payload.buffer).toBe(p.sab); // a view of shared memory, not a copy
    buf.payload.set([7, 8, 9]);
    buf.send(3);
    expect(() => {
      buf.send(1);
    }).toThrow(TypeError);
    p.settle();
    expect(got).toEqual([[7, 8, 9]]);
    const b2 = hep.tryGetTxBuffer()!;
    expect(() => {
      b2.send(497);
    }).toThrow(expect.objectContaining({ code: "ERR_MSG_SIZE" }));
    b2.release();
    expect(b2.done).toBe(true);
  });

  it("zero-copy tx: one payload view per buffer slot, reused; a stale handle stays done", () => {
    const p = makePair({ num: 4 });
    p.host.start();
    const got: number[][] = [];
    const remoteViews = new Set<Uint8Array>();
    p.remote.createEndpoint({
      addr: 100,
      onMessage: (m, ep) => {
        got.push([...m.data]);
        const r = ep.tryGetTxBuffer()!; // the remote's zero-copy path too
        remoteViews.add(r.payload);
        r.payload[0] = m.data[0]! + 100;
        r.send(1, m.src);
      },
    });
    const replies: number[] = [];
    p.settle();
    const hep = p.host.createEndpoint({
      dst: 100,
      onMessage: (m) => {
        replies.push(m.data[0]!);
      },
    });
    const b1 = hep.tryGetTxBuffer()!;
    const view = b1.payload;
    b1.release();
    const b2 = hep.tryGetTxBuffer()!; // the buffer b1 gave back is reused first
    expect(b2).not.toBe(b1);
    expect(b2.payload).toBe(view); // same slot, same view: no new view per message
    expect(b1.done).toBe(true);
    expect(b2.done).toBe(false);
    expect(() => {
      b1.send(1);
    }).toThrow(TypeError); // the old handle cannot send b2's buffer
    b1.release(); // no-op: must not give b2's buffer back
    const b3 = hep.tryGetTxBuffer()!;
    expect(b3.payload).not.toBe(view);
    b3.release();
    b2.payload[0] = 1;
    b2.send(1);
    p.settle();
    expect(got).toEqual([[1]]);
    expect(replies).toEqual([101]);
    // Many rounds over 4 buffers: the views seen on either side stay one per buffer slot.
    const hostViews = new Set<Uint8Array>();
    for (let i = 2; i < 20; i++) {
      const b = hep.tryGetTxBuffer()!;
      hostViews.add(b.payload);
      b.payload[0] = i;
      b.send(1);
      p.settle();
    }
    expect(hostViews.size).toBeLessThanOrEqual(4);
    expect(remoteViews.size).toBeLessThanOrEqual(4); // the host re-posts the same buffers
    expect(got.length).toBe(19);
    expect(replies).toEqual(Array.from({ length: 19 }, (_, i) => i + 101));
  });

  it("holding an rx buffer past the callback keeps it from the peer until release", () => {
    const p = makePair({ num: 4 });
    p.host.start();
    const held: { data: Uint8Array; release(): void }[] = [];
    p.host.createEndpoint({
      addr: 200,
      onMessage: (m) => {
        held.push(m.hold());
      },
    });
    const rep = p.remote.createEndpoint({ dst: 200 });
    p.settle();
    for (let i = 0; i < 4; i++) expect(rep.trySend(Uint8Array.of(i))).toBe(true);
    p.settle();
    expect(held.length).toBe(4);
    expect(p.host.heldBuffers).toBe(4);
    expect(rep.trySend(Uint8Array.of(9))).toBe(false); // every rx buffer of the host is held
    expect(held.map((h) => h.data[0])).toEqual([0, 1, 2, 3]); // still valid after the callbacks
    held[0]!.release();
    held[0]!.release(); // idempotent
    expect(rep.trySend(Uint8Array.of(9))).toBe(true);
    let late: unknown;
    p.host.createEndpoint({
      addr: 201,
      onMessage: (m) => {
        late = m;
      },
    });
    expect(() => (late as RpmsgMessage | undefined)?.hold()).not.toThrow();
  });

  it("hold() after the callback returned is a TypeError", () => {
    const p = makePair();
    p.host.start();
    let saved: RpmsgMessage | undefined;
    p.host.createEndpoint({
      addr: 200,
      onMessage: (m) => {
        saved = m;
      },
    });
    const rep = p.remote.createEndpoint({ dst: 200 });
    p.settle();
    rep.trySend(Uint8Array.of(1));
    p.settle();
    expect(() => saved!.hold()).toThrow(TypeError);
  });

  it("async iterator receives in order and ends on destroy", async () => {
    const p = makePair();
    p.host.start();
    const hep = p.host.createEndpoint({ addr: 300 });
    const rep = p.remote.createEndpoint({ dst: 300 });
    p.settle();
    for (const s of ["a", "b", "c"]) rep.trySend(te(s));
    p.settle();
    const out: string[] = [];
    setTimeout(() => {
      hep.destroy();
    }, 0);
    for await (const m of hep) out.push(td(m.data));
    expect(out).toEqual(["a", "b", "c"]);
  });

  it("link down on device reset: endpoints close with a reason, sends fail, the link comes back", async () => {
    const p = makePair();
    p.host.start();
    const closed: string[] = [];
    const rep = p.remote.createEndpoint({ name: "svc", onClose: (r) => closed.push(`remote:${r.code}`) });
    p.settle();
    const hep = p.host.createEndpoint({ name: "svc", onClose: (r) => closed.push(`host:${r.code}`) });
    expect(hep.dst).toBe(rep.addr);
    const it = hep.messages();
    const next = it.next();
    p.host.stop("test reset");
    await expect(next).rejects.toMatchObject({ code: "ERR_LINK_DOWN" });
    expect(hep.closeReason?.message).toMatch(/test reset/);
    p.remote.process();
    expect(closed.sort()).toEqual(["host:ERR_LINK_DOWN", "remote:ERR_LINK_DOWN"]);
    expect(() => rep.trySend(Uint8Array.of(1))).toThrow(expect.objectContaining({ code: "ERR_LINK_DOWN" }));
    expect(p.host.stats.linkDowns).toBe(1);
    // and up again
    const changes: boolean[] = [];
    p.remote.onLinkChange((up) => changes.push(up));
    p.host.start();
    p.remote.createEndpoint({ name: "svc" });
    p.settle();
    const hep2 = p.host.createEndpoint({ name: "svc" });
    expect(hep2.dst).toBe(1024);
    expect(hep2.trySend(te("again"))).toBe(true);
    expect(changes).toEqual([true]);
    expect(isAmpError(hep.closeReason)).toBe(true);
  });

  it("NEEDS_RESET from the device takes the host link down", () => {
    const p = makePair();
    p.host.start();
    p.settle();
    const hep = p.host.createEndpoint({ dst: 1024 });
    p.remoteTransport.setStatus(p.remoteTransport.getStatus() | 0x40);
    p.host.process();
    expect(p.host.isLinkUp).toBe(false);
    expect(hep.closeReason?.code).toBe("ERR_LINK_DOWN");
    expect(hep.closeReason?.message).toMatch(/NEEDS_RESET/);
  });

  it("a throwing callback: the buffer goes back, process() rethrows (or onError gets it)", () => {
    const errors: unknown[] = [];
    const p = makePair({ host: { onError: (e) => errors.push(e) } });
    p.host.start();
    p.host.createEndpoint({
      addr: 400,
      onMessage: () => {
        throw new Error("boom");
      },
    });
    const rep = p.remote.createEndpoint({ dst: 400 });
    p.settle();
    rep.trySend(Uint8Array.of(1));
    rep.trySend(Uint8Array.of(2));
    p.settle();
    expect(errors.length).toBe(2);
    expect(p.host.stats.callbackErrors).toBe(2);
    const q = makePair();
    q.host.start();
    q.remote.createEndpoint({
      addr: 400,
      onMessage: () => {
        throw new Error("boom");
      },
    });
    q.settle();
    q.host.createEndpoint({ dst: 400 }).trySend(Uint8Array.of(1));
    expect(() => q.remote.process()).toThrow("boom");
    expect(q.remote.process()).toBe(0);
  });
});

describe("callbacks that change the link", () => {
  it("stopping the host inside a callback ends the batch cleanly", () => {
    const p = makePair();
    p.host.start();
    let calls = 0;
    p.host.createEndpoint({
      addr: 500,
      onMessage: () => {
        calls++;
        p.host.stop("from a callback");
      },
    });
    const rep = p.remote.createEndpoint({ dst: 500 });
    p.settle();
    rep.trySend(Uint8Array.of(1));
    rep.trySend(Uint8Array.of(2));
    expect(() => p.remote.process()).not.toThrow();
    expect(() => p.host.process()).not.toThrow();
    expect(calls).toBe(1);
    expect(p.host.isLinkUp).toBe(false);
  });

  it("destroying the endpoint inside its own callback", () => {
    const p = makePair();
    p.host.start();
    const seen: number[] = [];
    const ep = p.host.createEndpoint({
      addr: 501,
      onMessage: (m, e) => {
        seen.push(m.data[0]!);
        e.destroy();
      },
    });
    const rep = p.remote.createEndpoint({ dst: 501 });
    p.settle();
    rep.trySend(Uint8Array.of(1));
    rep.trySend(Uint8Array.of(2));
    p.settle();
    expect(seen).toEqual([1]);
    expect(ep.closeReason?.code).toBe("ERR_CLOSED");
    expect(p.host.stats.dropped.noRecipient).toBe(1);
  });
});

describe("waiting helpers", () => {
  it("waitBound resolves when the announcement binds the endpoint, rejects on destroy", async () => {
    const p = makePair();
    p.host.start();
    const ep = p.host.createEndpoint({ name: "later" });
    const bound = ep.waitBound();
    p.remote.createEndpoint({ name: "later" });
    p.settle();
    expect(await bound).toBe(1024);
    const other = p.host.createEndpoint({ name: "never" });
    const w = other.waitBound();
    other.destroy();
    await expect(w).rejects.toMatchObject({ code: "ERR_CLOSED" });
  });

  it("waitLinkUp and onLinkChange follow start/stop; serve() stops on abort", async () => {
    const p = makePair();
    const up = p.remote.waitLinkUp();
    const changes: boolean[] = [];
    const off = p.host.onLinkChange((u) => changes.push(u));
    p.host.start();
    p.remote.process();
    await up;
    p.host.stop();
    off();
    p.host.start();
    expect(changes).toEqual([true, false]);
    const { LocalDoorbell } = await import("@amp/virtio-ring");
    const bell = new LocalDoorbell({ queues: 2 });
    const ac = new AbortController();
    const serving = p.remote.serve(bell, { signal: ac.signal });
    bell.notify(0);
    await Promise.resolve();
    ac.abort();
    await expect(serving).resolves.toBeUndefined();
    await expect(p.remote.serve(bell, { pollMs: 1 })).rejects.toThrow(TypeError);
  });

  it("waitForService honours AbortSignal", async () => {
    const p = makePair();
    p.host.start();
    const ac = new AbortController();
    const w = p.host.waitForService("nope", { signal: ac.signal });
    ac.abort(new Error("user"));
    await expect(w).rejects.toMatchObject({ code: "ERR_ABORTED" });
  });
});
