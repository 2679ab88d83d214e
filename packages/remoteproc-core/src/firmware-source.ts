import type { AbortSignalLike } from "./abort.js";
import type { AmpError } from "./errors.js";
import { rprocError } from "./internal/error.js";

/**
 * Where firmware images come from, by name (Linux: `request_firmware`). The core asks `get` when it
 * boots; `waitFor`, when present, lets {@link Remoteproc.autoBoot} wait for an image that appears
 * later (a late-mounted file system, an upload). Node file-system sources live in platform packages.
 */
export interface FirmwareSource {
  /** The image named `name`, or undefined when there is none (yet). */
  get(name: string): Uint8Array | undefined | Promise<Uint8Array | undefined>;
  /**
   * Resolves with the image as soon as it exists (at once if it already does). Rejects with
   * `ERR_ABORTED` when `signal` aborts. Optional: sources that cannot wait leave it out.
   */
  waitFor?(name: string, options?: { signal?: AbortSignalLike }): Promise<Uint8Array>;
}

/** An in-memory {@link FirmwareSource}: images are added and removed by the program. */
export interface MemoryFirmwareSource extends FirmwareSource {
  /** Adds or replaces an image and wakes every `waitFor` of that name. The bytes are copied. */
  set(name: string, image: Uint8Array): void;
  /** Removes an image; true when it existed. */
  delete(name: string): boolean;
  /** Names of the images present, in insertion order. */
  names(): string[];
  waitFor(name: string, options?: { signal?: AbortSignalLike }): Promise<Uint8Array>;
}

/**
 * Creates an in-memory firmware source, optionally seeded with images.
 * @example
 * const fw = createMemoryFirmwareSource();
 * const pending = fw.waitFor("rproc-m4-fw"); // resolves once set() is called
 * fw.set("rproc-m4-fw", elfBytes);
 */
export function createMemoryFirmwareSource(initial: Record<string, Uint8Array> = {}): MemoryFirmwareSource {
  const images = new Map<string, Uint8Array>();
  const waiters = new Map<string, Set<(image: Uint8Array) => void>>();
  const source: MemoryFirmwareSource = {
    get(name) {
      const img = images.get(name);
      return img === undefined ? undefined : new Uint8Array(img);
    },
    set(name, image) {
      if (typeof name !== "string" || name === "") throw new TypeError("firmware name must be a non-empty string");
      if (!(image instanceof Uint8Array)) throw new TypeError("firmware image must be a Uint8Array");
      images.set(name, new Uint8Array(image)); // a real copy, also for a Node Buffer
      const set = waiters.get(name);
      if (set === undefined) return;
      waiters.delete(name);
      for (const wake of set) wake(new Uint8Array(image));
    },
    delete(name) {
      return images.delete(name);
    },
    names() {
      return [...images.keys()];
    },
    waitFor(name, options = {}) {
      const { signal } = options;
      const now = images.get(name);
      if (now !== undefined) return Promise.resolve(new Uint8Array(now));
      if (signal?.aborted === true) return Promise.reject(aborted(name, signal));
      return new Promise<Uint8Array>((resolve, reject) => {
        let set = waiters.get(name);
        if (set === undefined) {
          set = new Set();
          waiters.set(name, set);
        }
        const waiterSet = set;
        const onAbort = (): void => {
          waiterSet.delete(wake);
          if (waiterSet.size === 0 && waiters.get(name) === waiterSet) waiters.delete(name);
          reject(aborted(name, signal));
        };
        const wake = (image: Uint8Array): void => {
          signal?.removeEventListener("abort", onAbort);
          resolve(image);
        };
        waiterSet.add(wake);
        signal?.addEventListener("abort", onAbort, { once: true });
      });
    },
  };
  for (const [name, image] of Object.entries(initial)) source.set(name, image);
  return source;
}

function aborted(name: string, signal: AbortSignalLike | undefined): AmpError {
  return rprocError("ERR_ABORTED", `waiting for firmware "${name}" was aborted`, { cause: signal?.reason });
}
