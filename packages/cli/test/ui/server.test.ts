// The live view's server without a browser: loopback only, the Host check, the crash endpoint's
// header, coredumps served by name only (no path from the URL reaches the file system), and the
// event stream's first message. Needs the built page (dist/ui/assets, `pnpm build`).
import { mkdtempSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { UiHub } from "../../src/ui/hub.ts";
import { startUiServer, type UiServer } from "../../src/ui/server.ts";

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

function get(
  port: number,
  path: string,
  options: { host?: string; method?: string; headers?: Record<string, string>; firstChunk?: boolean } = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: "127.0.0.1",
        port,
        path,
        method: options.method ?? "GET",
        headers: { host: options.host ?? `127.0.0.1:${port}`, ...options.headers },
        timeout: 10_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => {
          chunks.push(c);
          if (options.firstChunk === true) {
            resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) });
            req.destroy();
          }
        });
        res.on("end", () => {
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) });
        });
      },
    );
    req.on("timeout", () => {
      req.destroy(new Error("timeout"));
    });
    req.on("error", reject);
    req.end();
  });
}

describe("amp ui server", () => {
  const dir = mkdtempSync(join(tmpdir(), "amp-ui-server-"));
  const core = join(dir, "crash-1.core");
  writeFileSync(core, Uint8Array.of(0x7f, 0x45, 0x4c, 0x46, 1, 1, 1, 0));
  writeFileSync(join(dir, "secret.txt"), "not for the page");
  const hub = new UiHub({ mode: "test", name: "worker0", firmware: "echo.elf", canCrash: true });
  let crashes = 0;
  let server: UiServer;
  beforeAll(async () => {
    server = await startUiServer({
      hub,
      crash: () => {
        crashes++;
        return Promise.resolve();
      },
    });
    hub.addCoredump(core, 8);
  });
  afterAll(async () => {
    await server.close();
  });

  it("listens on 127.0.0.1 and serves the page cross-origin isolated", async () => {
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    const r = await get(server.port, "/");
    expect(r.status).toBe(200);
    expect(r.headers["cross-origin-opener-policy"]).toBe("same-origin");
    expect(r.headers["cross-origin-embedder-policy"]).toBe("require-corp");
    expect(r.body.toString()).toContain('<script src="/app.js"');
    // Nothing from elsewhere: no absolute http(s) URL in the page, its styles or its scripts.
    for (const p of ["/", "/app.css"])
      expect((await get(server.port, p)).body.toString()).not.toMatch(/https?:\/\/(?!www\.w3\.org\/2000\/svg)/);
  });

  it("refuses a Host header other than its own address (DNS rebinding)", async () => {
    expect((await get(server.port, "/", { host: "evil.example" })).status).toBe(403);
    expect((await get(server.port, "/api/snapshot", { host: `evil.example:${server.port}` })).status).toBe(403);
    expect((await get(server.port, "/", { host: `localhost:${server.port}` })).status).toBe(200);
  });

  it("serves coredumps by name only", async () => {
    const ok = await get(server.port, "/coredumps/crash-1.core");
    expect(ok.status).toBe(200);
    expect([...ok.body.subarray(0, 4)]).toEqual([0x7f, 0x45, 0x4c, 0x46]);
    expect(ok.headers["content-disposition"]).toBe('attachment; filename="crash-1.core"');
    for (const p of [
      "/coredumps/secret.txt",
      "/coredumps/..%2Fsecret.txt",
      "/coredumps/%2e%2e/%2e%2e/etc/passwd",
      `/coredumps/${encodeURIComponent(join(dir, "secret.txt"))}`,
      "/coredumps/%E0%A4%A",
    ]) {
      expect((await get(server.port, p)).status, p).toBe(404);
    }
    expect((await get(server.port, "/../package.json")).status).toBe(404);
  });

  it("injects a crash only with the page's header", async () => {
    expect((await get(server.port, "/api/crash", { method: "POST" })).status).toBe(403);
    expect(crashes).toBe(0);
    expect((await get(server.port, "/api/crash", { method: "POST", headers: { "x-amp-ui": "1" } })).status).toBe(202);
    expect(crashes).toBe(1);
  });

  it("starts the event stream with a snapshot", async () => {
    hub.sessionEvent("rpmsg", 'channel "rpmsg-amp-echo" announced', "channel", {
      type: "create",
      name: "rpmsg-amp-echo",
      addr: "0x400",
    });
    const r = await get(server.port, "/events", { firstChunk: true });
    expect(r.headers["content-type"]).toBe("text/event-stream; charset=utf-8");
    const first = r.body.toString().split("\n\n")[0] ?? "";
    const msg = JSON.parse(first.replace(/^data: /, "")) as {
      kind: string;
      snapshot: { channels: { name: string }[]; coredumps: { url: string }[] };
    };
    expect(msg.kind).toBe("snapshot");
    expect(msg.snapshot.channels.map((c) => c.name)).toEqual(["rpmsg-amp-echo"]);
    expect(msg.snapshot.coredumps.map((c) => c.url)).toEqual(["/coredumps/crash-1.core"]);
  });
});
