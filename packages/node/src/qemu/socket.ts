// Unix-socket plumbing. The host listens and QEMU connects as a client: no start-up race (the
// socket exists before QEMU starts; if QEMU cannot connect it exits at once), see qemu-remote.md
// §4 "Start-up race". For late attach the roles flip: QEMU listens, the host connects.
import { AmpError } from "@amp/virtio-ring";
import { connect, createServer } from "node:net";
import type { Server, Socket } from "node:net";
import { rmSync } from "node:fs";

import type { QemuErrorCode } from "./errors.js";

/** A listening unix socket that hands out the first connection it accepts. */
export interface SocketListener {
  readonly path: string;
  /** Resolves with the first connection; rejects after `timeoutMs` or when `abort` is called. */
  accept(timeoutMs: number): Promise<Socket>;
  /** Fails a pending accept with this error (e.g. QEMU exited before connecting). */
  abort(error: Error): void;
  /** Stops listening and removes the socket file. */
  close(): void;
}

/** Listens on `path` (a stale socket file there is removed first). */
export async function listenUnix(path: string): Promise<SocketListener> {
  rmSync(path, { force: true });
  const server: Server = createServer();
  let first: Socket | undefined;
  let waiter: { resolve(s: Socket): void; reject(e: Error): void } | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let failure: Error | undefined;
  server.on("connection", (s) => {
    if (first) {
      s.destroy(); // one peer only
      return;
    }
    first = s;
    waiter?.resolve(s);
    waiter = undefined;
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(path, () => {
      server.off("error", reject);
      resolve();
    });
  });
  server.on("error", () => undefined);
  const abort = (error: Error): void => {
    failure = error;
    waiter?.reject(error);
    waiter = undefined;
  };
  return {
    path,
    accept(timeoutMs: number): Promise<Socket> {
      if (first) return Promise.resolve(first);
      if (failure) return Promise.reject(failure);
      return new Promise((resolve, reject) => {
        timer = setTimeout(() => {
          waiter = undefined;
          reject(new AmpError<QemuErrorCode>("ERR_TIMEOUT", `nothing connected to ${path} within ${timeoutMs} ms`));
        }, timeoutMs);
        waiter = {
          resolve: (s) => {
            clearTimeout(timer);
            resolve(s);
          },
          reject: (e) => {
            clearTimeout(timer);
            reject(e);
          },
        };
      });
    },
    abort,
    close(): void {
      if (waiter !== undefined) abort(new AmpError<QemuErrorCode>("ERR_QEMU_CLOSED", `stopped listening on ${path}`));
      server.close();
      rmSync(path, { force: true });
    },
  };
}

/** Connects to a unix socket that QEMU listens on (late attach). */
export function connectUnix(path: string, timeoutMs: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect(path);
    const timer = setTimeout(() => {
      s.destroy();
      reject(new AmpError<QemuErrorCode>("ERR_TIMEOUT", `could not connect to ${path} within ${timeoutMs} ms`));
    }, timeoutMs);
    s.once("connect", () => {
      clearTimeout(timer);
      resolve(s);
    });
    s.once("error", (e) => {
      clearTimeout(timer);
      reject(new AmpError<QemuErrorCode>("ERR_QEMU_CLOSED", `cannot connect to ${path}: ${e.message}`, { cause: e }));
    });
  });
}
