// The lean remote as one script for QuickJS: a LeanRemote over plain ArrayBuffer memory with
// the transport block layout of the Node host (see ../helpers/quickjs-remote.ts and remote-entry.ts).
import { AddressSpace, ArrayBufferMemory } from "@amp/virtio-ring";
import { LeanRemote } from "@amp/rpmsg/remote";
import { SharedTransport } from "../helpers/shared-transport.ts";
import { MemoryImage, upperCased } from "./engine-support.ts";

let remote: LeanRemote;
let memory: MemoryImage;
const irqs: number[] = [];
const log: string[] = [];

/** Builds the remote: an "upper" service that answers with the payload upper-cased (ASCII). */
export function setup(size: number, num: number): void {
  memory = new MemoryImage(size);
  const mem = new ArrayBufferMemory(memory.buffer);
  remote = new LeanRemote({
    transport: new SharedTransport(mem, 0, num),
    space: new AddressSpace().map(0, mem),
    doorbell: {
      notify: (q) => {
        irqs.push(q);
      },
    },
  });
  const upper = (): void => {
    remote.createEndpoint({
      name: "upper",
      onMessage: (m, ep) => {
        log.push(`rx ${m.data.length} from ${m.src}`);
        ep.trySendTo(m.src, upperCased(m.data));
      },
    });
  };
  upper();
  // Endpoints close with the link: the firmware creates its service again for the next one.
  remote.onLinkChange((up, why) => {
    log.push(up ? "link up" : `link down ${why?.code ?? ""}`);
    if (!up) upper();
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
