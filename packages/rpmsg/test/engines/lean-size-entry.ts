// A remote application on the lean entry: one announced endpoint that echoes, plus the memory
// and address-space pieces of @amp/virtio-ring it needs to construct the remote.
import { AddressSpace, ArrayBufferMemory, type VirtioTransport } from "@amp/virtio-ring";
import { LeanRemote } from "@amp/rpmsg/remote";

export function start(transport: VirtioTransport, bytes: ArrayBuffer): LeanRemote {
  const space = new AddressSpace().map(0, new ArrayBufferMemory(bytes));
  const remote = new LeanRemote({ transport, space });
  remote.createEndpoint({
    name: "rpmsg-echo",
    onMessage: (m, ep) => {
      ep.trySendTo(m.src, m.data);
    },
  });
  return remote;
}
