import { describe, expect, it } from "vitest";
import {
  AddressSpace,
  ArrayBufferMemory,
  LocalDoorbell,
  SplitVirtqueueDevice,
  SplitVirtqueueDriver,
  legacyQueueAddresses,
  nextAvail,
  nextUsed,
  vringSize,
} from "@amp/virtio-ring";

function pair() {
  const mem = new ArrayBufferMemory(new ArrayBuffer(vringSize(4, 16) + 256));
  const space = new AddressSpace().map(0, mem);
  const where = { size: 4, space, ...legacyQueueAddresses(0, 4, 16) };
  const kicks = new LocalDoorbell();
  const irqs = new LocalDoorbell();
  const drv = new SplitVirtqueueDriver<string>({ ...where, doorbell: kicks });
  const dev = new SplitVirtqueueDevice({ ...where, doorbell: irqs });
  return { drv, dev, kicks, irqs, buf: vringSize(4, 16) };
}

describe("nextUsed / nextAvail", () => {
  it("wait on the doorbells and return the next item", async () => {
    const { drv, dev, kicks, irqs, buf } = pair();
    const chainP = nextAvail(dev, kicks);
    const usedP = nextUsed(drv, irqs);
    drv.addBuffer(buf, 8, true, "x");
    drv.kick();
    const chain = await chainP;
    dev.pushUsed(chain.id, 3);
    dev.interrupt();
    const used = await usedP;
    expect(used).toMatchObject({ token: "x", len: 3 });
  });

  it("reject with ERR_ABORTED when the signal fires", async () => {
    const { drv, irqs } = pair();
    const ac = new AbortController();
    const p = nextUsed(drv, irqs, { signal: ac.signal });
    ac.abort();
    await expect(p).rejects.toMatchObject({ code: "ERR_ABORTED" });
  });
});
