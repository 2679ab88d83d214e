// Smoke test of the installed @amp/virtio-ring: one request/reply over a split virtqueue, both roles.
import assert from "node:assert/strict";
import {
  AddressSpace,
  ArrayBufferMemory,
  LocalDoorbell,
  SplitVirtqueueDevice,
  SplitVirtqueueDriver,
  legacyQueueAddresses,
  vringSize,
} from "@amp/virtio-ring";

const ring = new ArrayBufferMemory(new ArrayBuffer(vringSize(16, 4096)));
const bufs = new ArrayBufferMemory(new ArrayBuffer(0x1000));
const space = new AddressSpace().map(0x1000_0000, ring).map(0x2000_0000, bufs);
const where = { size: 16, space, ...legacyQueueAddresses(0x1000_0000, 16, 4096) };
const kicks = new LocalDoorbell();
const driver = new SplitVirtqueueDriver({ ...where, doorbell: kicks, notifyId: 1 });
const device = new SplitVirtqueueDevice(where);
bufs.write(0, new Uint8Array([1, 2, 3]));
driver.addChain([{ addr: 0x2000_0000, len: 3 }], [{ addr: 0x2000_0100, len: 8 }], "req");
assert.equal(driver.kick(), true);
const chain = device.getAvail();
assert.ok(chain !== null);
device.pushUsed(chain.id, chain.scatter(chain.readAll().reverse()));
const used = driver.getUsed();
assert.equal(used?.token, "req");
assert.equal(used?.len, 3);
assert.deepEqual([...bufs.read(0x100, 3)], [3, 2, 1]);
console.log(`@amp/virtio-ring: one chain across a ${vringSize(16, 4096)}-byte split ring, reply verified`);
