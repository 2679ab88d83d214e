// The playground's remote: runs in a Web Worker of the page. An rpmsg-only remote (no life-cycle
// manager: the fixed layout of playground-layout.ts) over the page's SharedArrayBuffer, with an
// echo endpoint, driven by an Atomics doorbell. "crash!" makes it stop answering and report a
// fault, as the demo firmware's crash does; the page then boots a fresh one.
import { createStaticRemote, type RpmsgRemote } from "@amp/rpmsg";
import { AddressSpace, AtomicsDoorbell, SharedMemory } from "@amp/virtio-ring";
import {
  IRQ_AT,
  KICK_AT,
  PLAYGROUND_SERVICE,
  playgroundLayout,
  type FromWorker,
  type ToWorker,
} from "./playground-layout.js";

interface WorkerScope {
  onmessage: ((e: MessageEvent<ToWorker>) => void) | null;
  postMessage(message: FromWorker): void;
  close(): void;
}
const scope = self as unknown as WorkerScope;
const scheduler = {
  setTimeout: (f: () => void, ms: number): unknown => setTimeout(f, ms),
  clearTimeout: (h: unknown) => {
    clearTimeout(h as number);
  },
};
const stop = new AbortController();
let remote: RpmsgRemote | undefined;

function isCrash(data: Uint8Array): boolean {
  const c = "crash!";
  return data.length === c.length && [...data].every((b, i) => b === c.charCodeAt(i));
}

function boot(sab: SharedArrayBuffer): void {
  const space = new AddressSpace().map(0, new SharedMemory(sab));
  const kick = new AtomicsDoorbell(sab, KICK_AT, { queues: 2 });
  const irq = new AtomicsDoorbell(sab, IRQ_AT, { queues: 2 });
  const r = createStaticRemote({ layout: playgroundLayout(), space, doorbell: irq, scheduler });
  remote = r;
  r.onLinkChange((up) => {
    scope.postMessage({ kind: "link", up });
  });
  r.createEndpoint({
    name: PLAYGROUND_SERVICE,
    onMessage: (m, ep) => {
      if (isCrash(m.data)) {
        scope.postMessage({ kind: "fault", reason: "injected fault: the page asked the remote to crash" });
        stop.abort();
        return;
      }
      if (!ep.trySendTo(m.src, m.data)) void ep.sendTo(m.src, m.data.slice()).catch(() => undefined);
    },
  });
  scope.postMessage({ kind: "ready" });
  r.serve(kick, { signal: stop.signal, pollMs: 5 }).then(
    () => {
      scope.postMessage({ kind: "stopped", rx: r.stats.rxMessages, tx: r.stats.txMessages });
    },
    (e: unknown) => {
      scope.postMessage({ kind: "error", message: e instanceof Error ? e.message : String(e) });
    },
  );
}

scope.onmessage = (e) => {
  const msg = e.data;
  if (msg.kind === "boot" && remote === undefined) boot(msg.sab);
  else if (msg.kind === "stop") stop.abort();
};
