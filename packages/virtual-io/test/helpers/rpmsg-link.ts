// An rpmsg-only link (@amp/rpmsg static layout) in one SharedArrayBuffer, for the host side and
// the remote side of the virtual-I/O tests (same thread or two workers).
import { createStaticHost, createStaticRemote, staticLinkLayout } from "@amp/rpmsg";
import type { RpmsgHost, RpmsgRemote } from "@amp/rpmsg";
import { AddressSpace, AtomicsDoorbell, SharedMemory } from "@amp/virtio-ring";
import type { Doorbell } from "@amp/virtio-ring";

export const layout = staticLinkLayout({ base: 0, numBuffers: 16, align: 16 });
export const BELL_TO_REMOTE = layout.size + 64;
export const BELL_TO_HOST = layout.size + 128;
export const RPMSG_LINK_BYTES = layout.size + 256;

function space(sab: SharedArrayBuffer): AddressSpace {
  return new AddressSpace().map(0, new SharedMemory(sab), { length: layout.size });
}

export function makeHost(sab: SharedArrayBuffer, doorbell: Doorbell): RpmsgHost {
  return createStaticHost({ layout, space: space(sab), doorbell });
}

export function makeRemote(sab: SharedArrayBuffer, doorbell: Doorbell): RpmsgRemote {
  return createStaticRemote({ layout, space: space(sab), doorbell });
}

export function rpmsgBells(sab: SharedArrayBuffer): { toRemote: AtomicsDoorbell; toHost: AtomicsDoorbell } {
  return {
    toRemote: new AtomicsDoorbell(sab, BELL_TO_REMOTE, { queues: 2 }),
    toHost: new AtomicsDoorbell(sab, BELL_TO_HOST, { queues: 2 }),
  };
}

/** Host and remote in one thread; each side's kicks run the other's process() on a microtask. */
export function inThreadRpmsg(): { host: RpmsgHost; remote: RpmsgRemote } {
  const sab = new SharedArrayBuffer(RPMSG_LINK_BYTES);
  const h: { host?: RpmsgHost; remote?: RpmsgRemote } = {};
  const pump = () => {
    for (let i = 0; i < 8; i++) {
      const n = (h.remote?.process() ?? 0) + (h.host?.process() ?? 0);
      if (n === 0) break;
    }
  };
  const bell: Doorbell = { notify: () => queueMicrotask(pump) };
  h.host = makeHost(sab, bell);
  h.remote = makeRemote(sab, bell);
  h.host.start();
  pump();
  return { host: h.host, remote: h.remote };
}
