// The live view's web server: node:http on 127.0.0.1 only. It serves the page (HTML, CSS and
// the scripts built with the package into dist/ui/assets: nothing from the network, so it works
// offline), `/events` (Server-Sent Events: a snapshot, then every change), `/api/snapshot`,
// `/api/crash` (asks the session to inject a crash) and `/coredumps/<name>` (the files the
// session wrote, looked up by name in the hub, never joined into a path).
//
// Every response carries Cross-Origin-Opener-Policy: same-origin and Cross-Origin-Embedder-
// Policy: require-corp: the page is then cross-origin isolated, which browsers require before
// they hand it a SharedArrayBuffer (the playground's remote shares one with its Web Worker).
// A Host header other than the loopback address the server listens on is refused (a web page
// elsewhere that points its own DNS name at 127.0.0.1 cannot read the stream), and the crash
// button's POST needs a header that a cross-origin page cannot send without a preflight.
import { createReadStream, existsSync, readFileSync, statSync } from "node:fs";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { CliError } from "../internal/cli-error.js";
import type { UiHub } from "./hub.js";

/** The only address the server listens on. */
export const UI_HOST = "127.0.0.1";

/** The files of the page, by URL path: the server serves these and nothing else from disk. */
const ASSETS: Readonly<Record<string, { file: string; type: string }>> = {
  "/": { file: "index.html", type: "text/html; charset=utf-8" },
  "/playground": { file: "index.html", type: "text/html; charset=utf-8" },
  "/app.js": { file: "app.js", type: "text/javascript; charset=utf-8" },
  "/app.css": { file: "app.css", type: "text/css; charset=utf-8" },
  "/playground-worker.js": { file: "playground-worker.js", type: "text/javascript; charset=utf-8" },
  "/favicon.svg": { file: "favicon.svg", type: "image/svg+xml" },
};

/** dist/ui/assets, from dist/ui/server.js or (tests run the sources) from src/ui/server.ts. */
export function assetsDir(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const candidates = [join(here, "assets"), join(here, "..", "..", "dist", "ui", "assets")];
  const found = candidates.find((d) => existsSync(join(d, "index.html")));
  if (found === undefined)
    throw new CliError(
      "the live view's page is not built (dist/ui/assets is missing)",
      "Run `pnpm build` in packages/cli first.",
    );
  return found;
}

/** Options of {@link startUiServer}. */
export interface UiServerOptions {
  readonly hub: UiHub;
  /** TCP port on 127.0.0.1; 0 (default) picks a free one. */
  readonly port?: number;
  /** Injects a crash (the page's button); absent: the page shows no button. */
  readonly crash?: () => Promise<void>;
}

/** A running server. */
export interface UiServer {
  /** `http://127.0.0.1:<port>/` */
  readonly url: string;
  readonly port: number;
  /** Ends every event stream and stops listening. */
  close(): Promise<void>;
}

const SECURITY_HEADERS = {
  "Cross-Origin-Opener-Policy": "same-origin",
  "Cross-Origin-Embedder-Policy": "require-corp",
  "Cross-Origin-Resource-Policy": "same-origin",
  "X-Content-Type-Options": "nosniff",
  "Referrer-Policy": "no-referrer",
  // Nothing from elsewhere: scripts, styles, workers, connections all from this origin.
  "Content-Security-Policy":
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; worker-src 'self'; connect-src 'self'; frame-ancestors 'none'",
} as const;

function send(
  res: ServerResponse,
  status: number,
  type: string,
  body: string | Uint8Array,
  extra: Record<string, string> = {},
): void {
  res.writeHead(status, { ...SECURITY_HEADERS, "Content-Type": type, "Cache-Control": "no-store", ...extra });
  res.end(body);
}

function isLoopback(address: string | undefined): boolean {
  return address === "127.0.0.1" || address === "::ffff:127.0.0.1";
}

/** Starts the server; resolves once it listens. */
export async function startUiServer(options: UiServerOptions): Promise<UiServer> {
  const { hub } = options;
  const dir = assetsDir();
  // Read once: the page is small, and a rebuild while a server runs must not serve half a file.
  const files = new Map<string, Uint8Array>();
  for (const a of new Set(Object.values(ASSETS).map((x) => x.file))) {
    const p = join(dir, a);
    if (existsSync(p)) files.set(a, readFileSync(p));
  }
  const streams = new Set<ServerResponse>();
  let port = 0;
  const hosts = (): Set<string> => new Set([`${UI_HOST}:${port}`, `localhost:${port}`]);

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    if (!isLoopback(req.socket.remoteAddress) || !hosts().has(req.headers.host ?? "")) {
      send(res, 403, "text/plain; charset=utf-8", "the live view answers only http://127.0.0.1 on its own port\n");
      return;
    }
    const url = new URL(req.url ?? "/", `http://${UI_HOST}:${port}`);
    const path = url.pathname;
    if (req.method === "POST" && path === "/api/crash") {
      crash(req, res);
      return;
    }
    if (req.method !== "GET" && req.method !== "HEAD") {
      send(res, 405, "text/plain; charset=utf-8", "method not allowed\n", { Allow: "GET, HEAD" });
      return;
    }
    if (path === "/events") {
      events(res);
      return;
    }
    if (path === "/api/snapshot") {
      send(res, 200, "application/json", JSON.stringify(hub.snapshot()));
      return;
    }
    if (path.startsWith("/coredumps/")) {
      coredump(decodeURIComponentSafe(path.slice("/coredumps/".length)), res);
      return;
    }
    const asset = ASSETS[path];
    const body = asset === undefined ? undefined : files.get(asset.file);
    if (asset === undefined || body === undefined) {
      send(res, 404, "text/plain; charset=utf-8", "not found\n");
      return;
    }
    send(res, 200, asset.type, body);
  };

  const events = (res: ServerResponse): void => {
    res.writeHead(200, {
      ...SECURITY_HEADERS,
      "Content-Type": "text/event-stream; charset=utf-8",
      "Cache-Control": "no-store",
      Connection: "keep-alive",
    });
    const write = (data: unknown): void => {
      res.write(`data: ${JSON.stringify(data)}\n\n`);
    };
    write({ kind: "snapshot", snapshot: hub.snapshot() });
    const off = hub.subscribe(write);
    // A comment line now and then keeps proxies and idle timeouts from closing the stream.
    const beat = setInterval(() => res.write(": keep-alive\n\n"), 15_000);
    beat.unref();
    streams.add(res);
    res.on("close", () => {
      off();
      clearInterval(beat);
      streams.delete(res);
    });
  };

  const crash = (req: IncomingMessage, res: ServerResponse): void => {
    // A custom header makes a cross-origin form or fetch need a preflight, which is never answered.
    if (req.headers["x-amp-ui"] !== "1") {
      send(res, 403, "application/json", JSON.stringify({ ok: false, error: "missing X-Amp-Ui header" }));
      return;
    }
    const inject = options.crash;
    if (inject === undefined) {
      send(res, 409, "application/json", JSON.stringify({ ok: false, error: "this session cannot inject crashes" }));
      return;
    }
    req.resume();
    inject().then(
      () => {
        send(res, 202, "application/json", JSON.stringify({ ok: true }));
      },
      (e: unknown) => {
        send(
          res,
          409,
          "application/json",
          JSON.stringify({ ok: false, error: e instanceof Error ? e.message : String(e) }),
        );
      },
    );
  };

  const coredump = (name: string | undefined, res: ServerResponse): void => {
    const file = name === undefined ? undefined : hub.coredumpFile(name);
    const st = file === undefined ? undefined : statSync(file, { throwIfNoEntry: false });
    if (file === undefined || st === undefined || !st.isFile()) {
      send(res, 404, "text/plain; charset=utf-8", "no such coredump\n");
      return;
    }
    res.writeHead(200, {
      ...SECURITY_HEADERS,
      "Content-Type": "application/octet-stream",
      "Content-Length": String(st.size),
      "Content-Disposition": `attachment; filename="${(name ?? "core").replace(/[^A-Za-z0-9._-]/g, "_")}"`,
      "Cache-Control": "no-store",
    });
    createReadStream(file).pipe(res);
  };

  const server = createServer(handle);
  await new Promise<void>((resolve, reject) => {
    server.once("error", (e: NodeJS.ErrnoException) => {
      reject(
        new CliError(
          `cannot listen on ${UI_HOST}:${options.port ?? 0}: ${e.code ?? e.message}`,
          e.code === "EADDRINUSE" ? "Choose another --port, or leave it out for a free one." : "Check the port.",
        ),
      );
    });
    server.listen(options.port ?? 0, UI_HOST, () => {
      resolve();
    });
  });
  port = (server.address() as AddressInfo).port;
  let closing: Promise<void> | undefined;
  return {
    url: `http://${UI_HOST}:${port}/`,
    port,
    close() {
      closing ??= new Promise<void>((resolve) => {
        for (const s of streams) {
          s.write(`data: ${JSON.stringify({ kind: "bye", t: hub.now() })}\n\n`);
          s.end();
        }
        server.close(() => {
          resolve();
        });
        server.closeAllConnections();
      });
      return closing;
    },
  };
}

function decodeURIComponentSafe(s: string): string | undefined {
  try {
    return decodeURIComponent(s);
  } catch {
    return undefined;
  }
}
