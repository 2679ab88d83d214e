// The remote side as one script for a small engine (QuickJS): an RpmsgRemote over plain
// ArrayBuffer memory with the same transport block layout as the Node host's. The host in Node
// and this remote exchange the whole memory image between steps (see ../helpers/quickjs-remote.ts).
import { AddressSpace, ArrayBufferMemory } from "@amp/virtio-ring";
import { RpmsgRemote } from "@amp/rpmsg";
import { SharedTransport } from "../helpers/shared-transport.ts";

let mem: ArrayBufferMemory;
let remote: RpmsgRemote;
let bytes: Uint8Array<ArrayBuffer>;
const irqs: number[] = [];
const log: string[] = [];

/** Builds the remote: an "upper" service that answers with the payload upper-cased (ASCII). */
export function setup(size: number, num: number): void {
  const ab = new ArrayBuffer(size);
  bytes = new Uint8Array(ab);
  mem = new ArrayBufferMemory(ab);
  const space = new AddressSpace().map(0, mem);
  remote = new RpmsgRemote({
    transport: new SharedTransport(mem, 0, num),
    space,
    doorbell: {
      notify: (q) => {
        irqs.push(q);
      },
    },
  });
  remote.createEndpoint({
    name: "upper",
    onMessage: (m, ep) => {
      const out = m.data.slice();
      for (let i = 0; i < out.length; i++) {
        const c = out[i] ?? 0;
        if (c >= 97 && c <= 122) out[i] = c - 32;
      }
      log.push(`rx ${m.data.length} from ${m.src}`);
      ep.trySendTo(m.src, out);
    },
  });
  remote.onLinkChange((up) => {
    log.push(up ? "link up" : "link down");
  });
}

/** Copies the host's image in, runs process(), returns how many messages were handled. */
export function step(image: ArrayBuffer): number {
  bytes.set(new Uint8Array(image));
  return remote.process();
}

/** The memory image after the step, for the host. */
export function image(): ArrayBuffer {
  return bytes.buffer.slice(0);
}

export function report(): string {
  return JSON.stringify({ log, irqs: irqs.length, up: remote.isLinkUp, stats: remote.stats });
}
