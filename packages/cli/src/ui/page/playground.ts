// The playground's host: this page. It creates the SharedArrayBuffer, starts the Web Worker
// remote, runs an rpmsg-only host over the same memory (its doorbell waits with
// Atomics.waitAsync: the page's main thread may not block), waits for the echo announcement
// and keeps a small echo load going, every echo checked byte for byte and its round trip drawn.
import { createStaticHost, type RpmsgEndpoint, type RpmsgHost } from "@amp/rpmsg";
import { AddressSpace, AtomicsDoorbell, SharedMemory } from "@amp/virtio-ring";
import { drawLineChart } from "./charts.js";
import {
  IRQ_AT,
  KICK_AT,
  PLAYGROUND_SERVICE,
  playgroundBytes,
  playgroundLayout,
  type FromWorker,
} from "./playground-layout.js";

const scheduler = {
  setTimeout: (f: () => void, ms: number): unknown => window.setTimeout(f, ms),
  clearTimeout: (h: unknown) => {
    window.clearTimeout(h as number);
  },
};

function $(id: string): HTMLElement {
  const e = document.getElementById(id);
  if (e === null) throw new Error(`page element #${id} is missing`);
  return e;
}

/** One boot of the worker remote and the host that talks to it. */
interface Run {
  readonly worker: Worker;
  readonly stop: AbortController;
  host?: RpmsgHost;
  ep?: RpmsgEndpoint;
}

/** The playground section. */
export class Playground {
  private run: Run | undefined;
  private boots = 0;
  private echoes = 0;
  private readonly t0 = performance.now();
  private readonly rtts: [number, number][] = [];
  private window: number[] = [];
  private autoReboot = true;

  constructor() {
    $("pg-start").addEventListener("click", () => {
      this.autoReboot = true;
      this.boot();
    });
    $("pg-stop").addEventListener("click", () => {
      this.autoReboot = false;
      this.halt("stopped by you");
    });
    $("pg-crash").addEventListener("click", () => {
      void this.crash();
    });
    $("pg-isolated").textContent = window.crossOriginIsolated
      ? "cross-origin isolated: SharedArrayBuffer available"
      : "not cross-origin isolated: no SharedArrayBuffer here";
    window.setInterval(() => {
      this.tick();
    }, 500);
  }

  private now(): number {
    return (performance.now() - this.t0) / 1000;
  }

  private log(text: string): void {
    const li = document.createElement("li");
    const t = document.createElement("span");
    t.className = "t";
    t.textContent = `${this.now().toFixed(3)}s`;
    li.append(t, text);
    const list = $("pg-log");
    list.append(li);
    while (list.childElementCount > 200) list.firstElementChild?.remove();
    list.scrollTop = list.scrollHeight;
  }

  private setState(state: string): void {
    const pill = $("pg-state");
    pill.textContent = state;
    pill.dataset["state"] = state;
    ($("pg-start") as HTMLButtonElement).disabled = state !== "offline" && state !== "crashed";
    ($("pg-stop") as HTMLButtonElement).disabled = state === "offline";
    ($("pg-crash") as HTMLButtonElement).disabled = state !== "running";
  }

  /** Boots a fresh remote: new memory, new worker, new host. */
  boot(): void {
    if (this.run !== undefined) return;
    if (typeof SharedArrayBuffer === "undefined") {
      this.log("this page is not cross-origin isolated, so the browser gives it no SharedArrayBuffer");
      return;
    }
    const sab = new SharedArrayBuffer(playgroundBytes());
    const worker = new Worker("/playground-worker.js");
    const run: Run = { worker, stop: new AbortController() };
    this.run = run;
    this.boots++;
    $("pg-boots").textContent = String(this.boots);
    this.setState("booting");
    this.log(`boot ${this.boots}: ${sab.byteLength}-byte SharedArrayBuffer, Web Worker started`);
    worker.onmessage = (e: MessageEvent<FromWorker>) => {
      this.fromWorker(run, sab, e.data);
    };
    worker.onerror = (e) => {
      e.preventDefault();
      this.crashed(run, `worker error: ${e.message}`);
    };
    worker.postMessage({ kind: "boot", sab });
  }

  private fromWorker(run: Run, sab: SharedArrayBuffer, msg: FromWorker): void {
    if (this.run !== run) return;
    switch (msg.kind) {
      case "ready":
        void this.startHost(run, sab);
        break;
      case "link":
        this.log(`remote: rpmsg link ${msg.up ? "up" : "down"}`);
        break;
      case "fault":
        this.crashed(run, msg.reason);
        break;
      case "stopped":
        this.log(`remote stopped: it received ${msg.rx} and sent ${msg.tx} messages`);
        break;
      case "error":
        this.crashed(run, msg.message);
        break;
    }
  }

  private async startHost(run: Run, sab: SharedArrayBuffer): Promise<void> {
    const space = new AddressSpace().map(0, new SharedMemory(sab));
    const kick = new AtomicsDoorbell(sab, KICK_AT, { queues: 2 });
    const irq = new AtomicsDoorbell(sab, IRQ_AT, { queues: 2 });
    const host = createStaticHost({ layout: playgroundLayout(), space, doorbell: kick, scheduler });
    run.host = host;
    host.onNameService((e) => {
      this.log(
        `host: channel "${e.name}" ${e.type === "create" ? "announced" : "withdrawn"} at 0x${e.addr.toString(16)}`,
      );
    });
    host.start();
    host.serve(irq, { signal: run.stop.signal, pollMs: 50 }).catch((e: unknown) => {
      this.crashed(run, `host: ${e instanceof Error ? e.message : String(e)}`);
    });
    try {
      const svc = await host.waitForService(PLAYGROUND_SERVICE, { timeoutMs: 10_000, signal: run.stop.signal });
      const ep = host.createEndpoint({ dst: svc.addr });
      run.ep = ep;
      $("pg-channel").textContent = `${PLAYGROUND_SERVICE} @ 0x${svc.addr.toString(16)}`;
      this.setState("running");
      this.log(`host: endpoint 0x${ep.addr.toString(16)} talks to "${PLAYGROUND_SERVICE}"`);
      await this.echoLoop(run, ep);
    } catch (e) {
      if (this.run === run) this.log(`host: ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  /** Ten echoes every 100 ms, until this run ends. */
  private async echoLoop(run: Run, ep: RpmsgEndpoint): Promise<void> {
    const it = ep.messages();
    const payload = new Uint8Array(32);
    let seq = 0;
    while (this.run === run && !ep.closed) {
      for (let k = 0; k < 10 && this.run === run; k++, seq++) {
        for (let j = 0; j < payload.length; j++) payload[j] = (seq + j) & 0xff;
        const t = performance.now();
        await ep.send(payload, { timeoutMs: 5_000 });
        const next = await it.next();
        if (next.done === true) return;
        const got = next.value.data;
        if (got.length !== payload.length || got.some((b, j) => b !== ((seq + j) & 0xff))) {
          this.log(`host: echo ${seq} came back different`);
          continue;
        }
        this.window.push((performance.now() - t) * 1000);
        this.echoes++;
      }
      await new Promise((r) => window.setTimeout(r, 100));
    }
  }

  private async crash(): Promise<void> {
    const ep = this.run?.ep;
    if (ep === undefined) return;
    this.log('host: sending "crash!"');
    await ep.send(new TextEncoder().encode("crash!"), { timeoutMs: 5_000 }).catch(() => undefined);
  }

  private crashed(run: Run, reason: string): void {
    if (this.run !== run) return;
    this.log(`remote crashed: ${reason}`);
    this.teardown(run);
    this.setState("crashed");
    if (this.autoReboot) {
      this.log("recovery: booting a fresh remote in 500 ms");
      window.setTimeout(() => {
        if (this.run === undefined && this.autoReboot) this.boot();
      }, 500);
    }
  }

  private halt(reason: string): void {
    const run = this.run;
    if (run === undefined) return;
    run.worker.postMessage({ kind: "stop" });
    this.teardown(run);
    this.setState("offline");
    this.log(reason);
  }

  private teardown(run: Run): void {
    this.run = undefined;
    run.stop.abort();
    run.ep?.destroy();
    // Give the worker a moment to say goodbye, then end it.
    window.setTimeout(() => {
      run.worker.terminate();
    }, 200);
    $("pg-channel").textContent = "–";
  }

  private tick(): void {
    const w = this.window.sort((a, b) => a - b);
    this.window = [];
    const median = w.length === 0 ? NaN : (w[Math.floor((w.length - 1) / 2)] ?? NaN);
    this.rtts.push([this.now(), median]);
    if (this.rtts.length > 240) this.rtts.shift();
    $("pg-echoes").textContent = String(this.echoes);
    if (Number.isFinite(median)) $("pg-rtt").textContent = `${Math.round(median)} µs`;
    if (!$("playground").hidden)
      drawLineChart(
        $("pg-chart") as HTMLCanvasElement,
        [{ label: "rtt median µs", color: "#34d399", points: this.rtts, fill: true }],
        { now: this.now(), window: 60 },
      );
  }
}
