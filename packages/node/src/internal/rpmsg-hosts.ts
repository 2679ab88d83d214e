// The rpmsg hosts of one Remoteproc, as the platform bundles (worker, QEMU, shared file) expose
// them: `current` (the first live rpmsg vdev's host) and a listener for every new one (each
// boot, attach and recovery makes new hosts).
import type { Remoteproc } from "@amp/remoteproc-core";
import type { RpmsgHost } from "@amp/rpmsg";
import { bindRpmsgHost, type RpmsgHostListener, type RpmsgVdevOptions } from "../rpmsg-vdev.js";

/** @internal */
export interface RpmsgHostTracker {
  /** The host of the first rpmsg vdev that is running, if any. */
  readonly current: RpmsgHost | undefined;
  /** Calls `listener` with each new host; returns the unsubscribe function. */
  onHost(listener: RpmsgHostListener): () => void;
}

/** @internal Registers a virtio driver binding an rpmsg host to every rpmsg vdev of `rproc`. */
export function trackRpmsgHosts(rproc: Remoteproc, options: RpmsgVdevOptions = {}): RpmsgHostTracker {
  const live: RpmsgHost[] = [];
  const listeners = new Set<RpmsgHostListener>();
  rproc.registerVirtioDriver({
    name: "rpmsg-host",
    deviceIds: [7], // VIRTIO_ID_RPMSG
    probe(vdev) {
      let added: RpmsgHost | undefined;
      const forget = (host: RpmsgHost | undefined): void => {
        const i = host === undefined ? -1 : live.indexOf(host);
        if (i >= 0) live.splice(i, 1);
      };
      let binding: ReturnType<typeof bindRpmsgHost>;
      try {
        binding = bindRpmsgHost(vdev, {
          ...options,
          onHost(host, v) {
            added = host;
            live.push(host);
            options.onHost?.(host, v);
            for (const l of [...listeners]) l(host, v);
          },
        });
      } catch (e) {
        forget(added);
        throw e;
      }
      return {
        remove(crashed: boolean) {
          forget(binding.host);
          binding.remove(crashed);
        },
      };
    },
  });
  return {
    get current() {
      return live[0];
    },
    onHost(listener) {
      listeners.add(listener);
      return () => {
        listeners.delete(listener);
      };
    },
  };
}
