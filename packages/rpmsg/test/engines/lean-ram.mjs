// RAM of the lean remote, measured (not a test: run by hand, numbers go in the README):
//   pnpm --filter @amp/rpmsg... build && node --expose-gc packages/rpmsg/test/engines/lean-ram.mjs
// Per endpoint: the heap growth of N endpoints. Per ring slot: the growth of bringing the link
// up on rings of N entries, less that of 16 entries. Payload buffers themselves live in the
// host's shared pool, not in the remote's heap; the rx/tx paths reuse one chain object each.
/* global process, console */
import { AddressSpace, SharedMemory, legacyQueueAddresses } from "@amp/virtio-ring";
import { LeanRemote } from "@amp/rpmsg/remote";

/** Keeps what was measured alive until it is measured. */
const keep = [];
if (typeof globalThis.gc !== "function") throw new Error("run with node --expose-gc");
const used = () => {
  for (let i = 0; i < 4; i++) globalThis.gc();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
};

/** A transport whose host is played by hand (status, features, queue addresses). */
function transport(num, ringDa, stride) {
  let status = 0;
  let dfeatures = 0n;
  const q = (i) => ({
    size: num,
    maxSize: num,
    ...legacyQueueAddresses(ringDa + i * stride, num, 4096),
    align: 4096,
    ready: true,
    notifyId: i,
  });
  return {
    deviceId: 7,
    legacy: true,
    configLength: 0,
    queueCount: 2,
    getStatus: () => status,
    setStatus: (s) => {
      status = s;
    },
    getDeviceFeatures: () => dfeatures,
    setDeviceFeatures: (f) => {
      dfeatures = f;
    },
    getDriverFeatures: () => 1n,
    setDriverFeatures: () => undefined,
    readConfig: () => new Uint8Array(0),
    writeConfig: () => undefined,
    getQueue: q,
    setQueue: () => undefined,
    notify: () => undefined,
  };
}

function linkUpBytes(num) {
  const stride = Math.ceil((16 * num + 6 + 2 * num) / 4096) * 4096 + Math.ceil((6 + 8 * num) / 4096) * 4096;
  const mem = new SharedMemory(new SharedArrayBuffer(0x1000 + 2 * stride));
  const ts = Array.from({ length: 400 }, () => transport(num, 0x1000, stride));
  const remotes = ts.map((transport) => new LeanRemote({ transport, space: new AddressSpace().map(0, mem) }));
  const before = used();
  ts.forEach((t, k) => {
    t.setStatus(7);
    remotes[k].process();
  });
  const after = used();
  keep.push(remotes, mem);
  if (!remotes.every((r) => r.isLinkUp)) throw new Error("link did not come up");
  return (after - before) / remotes.length;
}

function endpointBytes(n, named) {
  const mem = new SharedMemory(new SharedArrayBuffer(0x10000));
  const remote = new LeanRemote({ transport: transport(16, 0x1000, 0x2000), space: new AddressSpace().map(0, mem) });
  const cb = () => undefined;
  const before = used();
  const eps = [];
  for (let i = 0; i < n; i++)
    eps.push(remote.createEndpoint(named ? { name: `svc-${i}`, onMessage: cb } : { onMessage: cb }));
  const after = used();
  keep.push(remote, mem);
  // Less the application's own array of handles (8 bytes a slot).
  return (after - before) / n - 8;
}

const N = 20_000;
const small = linkUpBytes(16);
const big = linkUpBytes(4096);
console.log(`link up, 2 rings of 16: ${small.toFixed(0)} bytes; of 4096: ${big.toFixed(0)} bytes`);
console.log(`per ring slot (descriptor): ${((big - small) / (2 * (4096 - 16))).toFixed(2)} bytes`);
console.log(
  `per endpoint, anonymous: ${endpointBytes(N, false).toFixed(0)} bytes; named ("svc-NNNN", announced): ${endpointBytes(N, true).toFixed(0)} bytes`,
);
