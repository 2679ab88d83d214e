import { describe, expect, it } from "vitest";
import {
  ArrayBufferMemory,
  AtomicsDoorbell,
  CallbackDoorbell,
  LocalDoorbell,
  PollingDoorbell,
  isAmpError,
} from "@amp/virtio-ring";
import type { Scheduler } from "@amp/virtio-ring";

const scheduler: Scheduler = {
  setTimeout: (f, ms) => setTimeout(f, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

function drain(r: { poll(f: (q: number) => void): number }): number[] {
  const qs: number[] = [];
  r.poll((q) => qs.push(q));
  return qs;
}

describe("CallbackDoorbell", () => {
  it("calls through", () => {
    const got: number[] = [];
    new CallbackDoorbell((q) => got.push(q)).notify(3);
    expect(got).toEqual([3]);
  });
});

describe("LocalDoorbell", () => {
  it("collapses rings per queue and drains", async () => {
    const d = new LocalDoorbell({ queues: 40 });
    d.notify(1);
    d.notify(1);
    d.notify(33);
    expect(d.pending()).toBe(true);
    expect(drain(d)).toEqual([1, 33]);
    expect(d.pending()).toBe(false);
    const w = d.wait();
    d.notify(2);
    await w;
    expect(drain(d)).toEqual([2]);
    expect(() => d.notify(40)).toThrow(RangeError);
  });

  it("aborts and times out with AmpError", async () => {
    const d = new LocalDoorbell();
    const ac = new AbortController();
    const p = d.wait({ signal: ac.signal });
    ac.abort();
    await expect(p).rejects.toMatchObject({ code: "ERR_ABORTED" });
    await expect(d.wait({ timeoutMs: 5, scheduler })).rejects.toMatchObject({ code: "ERR_TIMEOUT" });
    expect(() => d.wait({ timeoutMs: 5 })).toThrow(TypeError);
  });
});

describe("AtomicsDoorbell", () => {
  it("two views of one SharedArrayBuffer see each other's rings", async () => {
    const sab = new SharedArrayBuffer(AtomicsDoorbell.byteLength(70) + 8);
    const a = new AtomicsDoorbell(sab, 8, { queues: 70 });
    const b = new AtomicsDoorbell(sab, 8, { queues: 70 });
    a.notify(0);
    a.notify(69);
    expect(b.waitSync(0)).toBe(true);
    expect(drain(b)).toEqual([0, 69]);
    expect(b.waitSync(0)).toBe(false);
    const w = b.wait();
    a.notify(5);
    await w;
    expect(drain(b)).toEqual([5]);
    expect(() => new AtomicsDoorbell(sab, 2)).toThrow(RangeError);
  });

  it("wakes a waiting worker-style waitSync through Atomics.notify", async () => {
    const { Worker } = await import("node:worker_threads");
    const sab = new SharedArrayBuffer(AtomicsDoorbell.byteLength(1));
    const bell = new AtomicsDoorbell(sab, 0, { queues: 1 });
    // The worker rings once it runs; we block in waitSync until then.
    const w = new Worker(
      `const { workerData } = require("node:worker_threads"); const i = new Int32Array(workerData, 0, 2);
       Atomics.or(i, 1, 1); Atomics.add(i, 0, 1); Atomics.notify(i, 0);`,
      { eval: true, workerData: sab },
    );
    let woke = false;
    for (let i = 0; i < 100 && !woke; i++) woke = bell.waitSync(100);
    await w.terminate();
    expect(woke).toBe(true);
    expect(drain(bell)).toEqual([0]);
  });

  it("does not lose a ring that lands after the waiter checked and before it sleeps", async () => {
    // The waiter loads the counter, finds nothing pending, then sleeps on that counter value. A
    // peer's ring in that window must end the wait at once. (A waiter that read the counter after
    // the check would sleep on the new value and never wake: this test then times out.)
    const sab = new SharedArrayBuffer(AtomicsDoorbell.byteLength(4));
    const peer = new AtomicsDoorbell(sab, 0, { queues: 4 });
    class RingAfterCheck extends AtomicsDoorbell {
      rings = 1;
      override pending(): boolean {
        const seen = super.pending();
        if (this.rings > 0) {
          this.rings--;
          peer.notify(3); // the peer, interleaved right after this check
        }
        return seen;
      }
    }
    const waiter = new RingAfterCheck(sab, 0, { queues: 4 });
    await waiter.wait();
    expect(drain(waiter)).toEqual([3]);
    // Same for a ring that lands while the check runs: the bit is seen, the wait ends at once.
    peer.notify(1);
    await waiter.wait();
    expect(drain(waiter)).toEqual([1]);
  });

  it("a wait without signal or timeout is the engine's own wait, resolving with undefined", async () => {
    const sab = new SharedArrayBuffer(AtomicsDoorbell.byteLength(2));
    const rx = new AtomicsDoorbell(sab, 0, { queues: 2, wakeOnlySleepers: true });
    const tx = new AtomicsDoorbell(sab, 0, { queues: 2, wakeOnlySleepers: true });
    for (let i = 0; i < 3; i++) {
      let woke = false;
      const w = rx.wait().then((v) => {
        woke = true;
        return v;
      });
      await Promise.resolve();
      expect(woke).toBe(false); // nothing rang: still asleep
      tx.notify(1);
      expect(await w).toBeUndefined();
      expect(drain(rx)).toEqual([1]);
    }
    tx.notify(0); // already pending: settled at once
    expect(await rx.wait()).toBeUndefined();
    expect(drain(rx)).toEqual([0]);
  });

  it("with `spin`, a ring that lands while it looks ends the wait without sleeping", async () => {
    const sab = new SharedArrayBuffer(AtomicsDoorbell.byteLength(2));
    const tx = new AtomicsDoorbell(sab, 0, { queues: 2, wakeOnlySleepers: true });
    // The peer rings on the waiter's 50th look: the wait ends there, never announcing a sleep
    // (the counter word keeps its SLEEPER bit clear, and a notify then costs no wake).
    class RingOnLook extends AtomicsDoorbell {
      looks = 0;
      override pending(): boolean {
        if (++this.looks === 50) tx.notify(1);
        return super.pending();
      }
    }
    const rx = new RingOnLook(sab, 0, { queues: 2, wakeOnlySleepers: true, spin: 1000 });
    const counter = new Int32Array(sab, 0, 1);
    expect(rx.waitSync(0)).toBe(true);
    expect(rx.looks).toBe(50);
    expect(Atomics.load(counter, 0) & 1).toBe(0);
    expect(drain(rx)).toEqual([1]);
    rx.looks = 0;
    await rx.wait();
    expect(rx.looks).toBe(50);
    expect(drain(rx)).toEqual([1]);
    // No ring within the spin: it looks `spin` times, then sleeps (here: times out at once).
    rx.looks = -1e9;
    expect(rx.waitSync(0)).toBe(false);
    expect(rx.looks).toBe(-1e9 + 1002); // 1,000 looks, one after announcing the sleep, one after it
    expect(Atomics.load(counter, 0) & 1).toBe(1);
    // An aborted signal still rejects rather than spinning.
    const ac = new AbortController();
    ac.abort();
    await expect(rx.wait({ signal: ac.signal })).rejects.toMatchObject({ code: "ERR_ABORTED" });
    expect(() => new AtomicsDoorbell(sab, 0, { queues: 2, spin: -1 })).toThrow(RangeError);
    expect(() => new AtomicsDoorbell(sab, 0, { queues: 2, spin: 0.5 })).toThrow(RangeError);
  });

  it("aborts a pending async wait", async () => {
    const bell = new AtomicsDoorbell(new SharedArrayBuffer(AtomicsDoorbell.byteLength(1)), 0, { queues: 1 });
    const ac = new AbortController();
    const p = bell.wait({ signal: ac.signal });
    ac.abort(new Error("stop"));
    const e: unknown = await p.catch((x: unknown) => x);
    expect(isAmpError(e) && e.code).toBe("ERR_ABORTED");
  });
});

describe("PollingDoorbell", () => {
  it("works over any Memory with one counter per queue", async () => {
    const mem = new ArrayBufferMemory(new ArrayBuffer(64));
    const tx = new PollingDoorbell(mem, 16, { queues: 3 });
    const rx = new PollingDoorbell(mem, 16, { queues: 3, scheduler });
    expect(rx.pending()).toBe(false);
    tx.notify(2);
    tx.notify(2);
    expect(drain(rx)).toEqual([2]);
    const w = rx.wait();
    tx.notify(0);
    await w;
    expect(drain(rx)).toEqual([0]);
    expect(mem.getU32(16 + 8)).toBe(2);
    expect(() => new PollingDoorbell(mem, 60, { queues: 2 })).toThrow(RangeError);
  });
});
