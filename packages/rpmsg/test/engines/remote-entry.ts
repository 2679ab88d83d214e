// The remote side as one script for a small engine (QuickJS): an RpmsgRemote over plain
// ArrayBuffer memory with the same transport block layout as the Node host's. The host in Node
// and this remote exchange the whole memory image between steps (see ../helpers/quickjs-remote.ts).
import { AddressSpace, ArrayBufferMemory } from "@amp/virtio-ring";
import { RpmsgRemote } from "@amp/rpmsg";
import { SharedTransport } from "../helpers/shared-transport.ts";
import { MemoryImage, upperCased } from "./engine-support.ts";

let mem: ArrayBufferMemory;
let remote: RpmsgRemote;
let memory: MemoryImage;
const irqs: number[] = [];
const log: string[] = [];

/** Builds the remote: an "upper" service that answers with the payload upper-cased (ASCII). */
export function setup(size: number, num: number): void {
  memory = new MemoryImage(size);
  mem = new ArrayBufferMemory(memory.buffer);
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
      log.push(`rx ${m.data.length} from ${m.src}`);
      ep.trySendTo(m.src, upperCased(m.data));
    },
  });
  remote.onLinkChange((up) => {
    log.push(up ? "link up" : "link down");
  });
}

/** Copies the host's image in, runs process(), returns how many messages were handled. */
export function step(image: ArrayBuffer): number {
  memory.load(image);
  return remote.process();
}

/** The memory image after the step, for the host. */
export function image(): ArrayBuffer {
  return memory.copy();
}

export function report(): string {
  return JSON.stringify({ log, irqs: irqs.length, up: remote.isLinkUp, stats: remote.stats });
}
