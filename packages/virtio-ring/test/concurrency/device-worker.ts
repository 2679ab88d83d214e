// Device side of the two-agent test, in a worker: takes chains, checks order and content, writes
// back [seq, checksum], returns them used, interrupts per the suppression rules.
import { parentPort, workerData } from "node:worker_threads";
import { DescriptorChain, createDeviceQueue } from "@amp/virtio-ring";
import { open, patternByte } from "./ring-setup.ts";
import type { Variant } from "./ring-setup.ts";

const { sab, variant } = workerData as { sab: SharedArrayBuffer; variant: Variant };
const r = open(sab, variant);
const dev = createDeviceQueue({
  size: r.size,
  space: r.space,
  ...r.addrs,
  features: r.features,
  doorbell: r.irq,
  notifyId: 0,
});
const chain = new DescriptorChain(r.size);
let expectSeq = 0;
let errors = 0;
let firstError = "";
let waits = 0;
const hdr = new Uint8Array(4);
const reply = new Uint8Array(8);
const replyView = new DataView(reply.buffer);

function fail(msg: string): void {
  if (errors++ === 0) firstError = msg;
}

for (;;) {
  let c = dev.getAvail(chain);
  while (c !== null) {
    c.gather(hdr);
    const seq = new DataView(hdr.buffer).getUint32(0, true);
    if (seq !== expectSeq) fail(`seq ${seq}, expected ${expectSeq}`);
    expectSeq = seq + 1;
    let sum = 0;
    const mem = c.memory(0);
    const off = c.offset(0);
    const len = c.len(0);
    for (let j = 4; j < len; j++) {
      const b = mem.getU8(off + j);
      if (b !== patternByte(seq, j - 4)) fail(`seq ${seq}: byte ${j} is ${b}`);
      sum = (sum + b) >>> 0;
    }
    replyView.setUint32(0, seq, true);
    replyView.setUint32(4, sum, true);
    const n = c.scatter(reply);
    dev.pushUsed(c.id, n);
    c = dev.getAvail(chain);
  }
  dev.interrupt();
  if (Atomics.load(r.stop, 0) !== 0 && !dev.hasAvail()) break;
  if (!dev.enableNotifications()) {
    waits++;
    r.kick.waitSync(200);
  }
  r.kick.poll(() => undefined);
  dev.disableNotifications();
}
parentPort?.postMessage({ received: expectSeq, errors, firstError, waits });
