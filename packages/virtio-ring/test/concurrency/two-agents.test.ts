// Driver in this thread, device in a worker, over one SharedArrayBuffer with Atomics doorbells:
// 2^20 buffers of random sizes in all, split and packed, with and without EVENT_IDX. The device
// checks order and content of every buffer; the driver checks every reply and that used buffers
// come back in order, once each.
import { Worker } from "node:worker_threads";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { bundleForWorker } from "@amp/test-utils";
import { createDriverQueue } from "@amp/virtio-ring";
import type { UsedBuffer } from "@amp/virtio-ring";
import { BUF_AT, SAB_SIZE, SLOT, open, patternByte } from "./ring-setup.ts";
import type { Variant } from "./ring-setup.ts";

const TOTAL = 1 << 20;
const variants: Variant[] = [
  { packed: false, eventIdx: false },
  { packed: false, eventIdx: true },
  { packed: true, eventIdx: false },
  { packed: true, eventIdx: true },
];
const PER_VARIANT = TOTAL / variants.length;

describe("driver and device in two agents", () => {
  const workerFile = bundleForWorker(join(import.meta.dirname, "device-worker.ts"));

  it.each(variants)("packed=$packed eventIdx=$eventIdx: no loss, duplication or reordering", async (variant) => {
    const sab = new SharedArrayBuffer(SAB_SIZE);
    const r = open(sab, variant);
    const drv = createDriverQueue<number>({
      size: r.size,
      space: r.space,
      ...r.addrs,
      features: r.features,
      doorbell: r.kick,
      notifyId: 0,
    });
    const worker = new Worker(await workerFile, { workerData: { sab, variant } });
    const result = new Promise<{ received: number; errors: number; firstError: string; waits: number }>(
      (resolve, reject) => {
        worker.once("message", resolve);
        worker.once("error", reject);
      },
    );
    // Buffer slots: slot i at BUF_AT + i * SLOT, tokens are slot numbers; seqs live in a table.
    const freeSlots: number[] = [];
    for (let i = 0; i < r.size; i++) freeSlots.push(i);
    const seqOf = new Int32Array(r.size);
    const sumOf = new Uint32Array(r.size);
    let seed = 0x1234;
    let sent = 0;
    let done = 0;
    let nextExpected = 0;
    let errors = 0;
    const used: UsedBuffer<number> = { id: 0, len: 0, declaredLen: 0, token: 0 };
    const mem = r.mem;
    while (done < PER_VARIANT) {
      while (sent < PER_VARIANT && freeSlots.length > 0) {
        const slot = freeSlots.pop()!;
        seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
        const len = 4 + ((seed >>> 16) % 61);
        const base = BUF_AT + slot * SLOT;
        mem.setU32(base, sent);
        let sum = 0;
        for (let j = 0; j < len - 4; j++) {
          const b = patternByte(sent, j);
          mem.setU8(base + 4 + j, b);
          sum += b;
        }
        seqOf[slot] = sent;
        sumOf[slot] = sum;
        if (drv.addChain([{ addr: base, len }], [{ addr: base + 64, len: 8 }], slot) < 0) {
          freeSlots.push(slot);
          break;
        }
        sent++;
      }
      drv.kick();
      let got = 0;
      while (drv.getUsed(used) !== null) {
        const slot = used.token;
        const base = BUF_AT + slot * SLOT;
        if (
          used.len !== 8 ||
          seqOf[slot] !== nextExpected ||
          mem.getU32(base + 64) !== nextExpected ||
          mem.getU32(base + 68) !== sumOf[slot]
        )
          errors++;
        nextExpected++;
        freeSlots.push(slot);
        done++;
        got++;
      }
      if (got === 0 && !drv.enableInterrupts()) r.irq.waitSync(200);
      r.irq.poll(() => undefined);
      drv.disableInterrupts();
    }
    Atomics.store(r.stop, 0, 1);
    r.kick.notify(0);
    const dev = await result;
    await worker.terminate();
    expect(dev.firstError).toBe("");
    expect(dev.errors).toBe(0);
    expect(dev.received).toBe(PER_VARIANT);
    expect(errors).toBe(0);
    expect(done).toBe(PER_VARIANT);
    expect(drv.outstanding).toBe(0);
  });
});
