// Smoke test of the installed @amp/rpmsg: host and remote in one thread, name service and an echo.
import assert from "node:assert/strict";
import { AddressSpace, ArrayBufferMemory, InMemoryTransport } from "@amp/virtio-ring";
import { RpmsgHost, RpmsgRemote } from "@amp/rpmsg";

const space = new AddressSpace().map(0, new ArrayBufferMemory(new ArrayBuffer(0x10000)));
const transport = new InMemoryTransport({ deviceId: 7, deviceFeatures: 0n, legacy: true, queues: [16, 16] });
const remote = new RpmsgRemote({ transport, space });
remote.createEndpoint({
  name: "smoke-echo",
  onMessage: (m, ep) => {
    ep.trySendTo(m.src, m.data);
  },
});
const host = new RpmsgHost({ transport, space, rings: { addr: 0 }, poolAddr: 0x8000, numBuffers: 16 });
host.start();
remote.process();
host.process();
const got = [];
const ep = host.createEndpoint({
  name: "smoke-echo",
  onMessage: (m) => {
    got.push([...m.data]);
  },
});
assert.equal(ep.dst, 1024);
for (let i = 0; i < 10; i++) {
  ep.trySend(new Uint8Array([i, i + 1, i + 2]));
  remote.process();
  host.process();
}
assert.equal(got.length, 10);
assert.deepEqual(got[9], [9, 10, 11]);
console.log(`@amp/rpmsg: name service + 10 echoes, mtu ${ep.mtu}`);
