// An in-process channel: the driver-side API talks straight to a DeviceServer in the same thread.
// Used for simulation, tests, and when both "sides" live in one program.
import type { DeviceServer, RequestChannel } from "../channel.js";
import type { Scheduler } from "../internal/pending.js";
import { PendingTable } from "../internal/pending.js";

/** Options shared by every channel. */
export interface ChannelOptions {
  /** Reject a request with ERR_TIMEOUT after this many ms (needs `scheduler`). Default: no timeout. */
  readonly timeoutMs?: number;
  /** Timer functions of the platform, e.g. `{ setTimeout, clearTimeout }` from globalThis. */
  readonly scheduler?: Scheduler;
  /** Most requests in flight at once (default 256); more reject with ERR_LIMIT. */
  readonly maxPending?: number;
}

/**
 * Connects a driver-side client directly to `server` in the same thread (no shared memory).
 * @example const i2c = new I2cClient(createDirectChannel(bus));
 */
export function createDirectChannel(server: DeviceServer, options: ChannelOptions = {}): RequestChannel {
  const pending = new PendingTable<Uint8Array>(options);
  return {
    features: server.features,
    config: server.config,
    request(queue: number, out: Uint8Array, inLength: number): Promise<Uint8Array> {
      if (!Number.isInteger(queue) || queue < 0 || queue > 255)
        return Promise.reject(new RangeError("queue must be in 0..255"));
      if (!Number.isInteger(inLength) || inLength < 0 || inLength > 0xffffffff)
        return Promise.reject(new RangeError("inLength must be a u32"));
      return pending.add((tag) => {
        let replied = false;
        server.handle(queue, out.slice(), inLength, (written) => {
          if (replied) return;
          replied = true;
          // never trust the server to respect the writable size
          pending.settle(tag, written.slice(0, Math.min(written.length, inLength)));
        });
      });
    },
    close(): void {
      if (!pending.isClosed) {
        pending.close();
        server.reset?.();
      }
    },
  };
}
