// Split firmware end to end (issue 15 item 6): the echo firmware split into echo.mdt + echo.bNN
// in a directory boots on a worker-thread remote from the directory source and echoes.
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { createDirectoryFirmwareSource, createWorkerRemote, type WorkerRemote } from "@amp/node";
import { makeTempDir, splitElf } from "@amp/test-utils";
import { cpuWorkerEntry, echoFirmware } from "../helpers.ts";

let entry: string;
let echo: Uint8Array;
const remotes: WorkerRemote[] = [];

beforeAll(async () => {
  entry = await cpuWorkerEntry();
  echo = await echoFirmware();
});

afterEach(async () => {
  for (const r of remotes.splice(0)) await r.close();
});

describe("split firmware on a worker remote", () => {
  it("boots echo.mdt with its .bNN files from a directory and echoes", async () => {
    const dir = makeTempDir("amp-split-");
    const files = splitElf(echo, "echo", { keepSections: true });
    expect(files.size).toBeGreaterThanOrEqual(3);
    for (const [n, b] of files) writeFileSync(join(dir, n), b);
    const remote = createWorkerRemote({
      firmware: "echo.mdt",
      firmwareSource: createDirectoryFirmwareSource(dir),
      processor: { workerEntry: entry, sramSize: 0x100000, ddrSize: 0x100000 },
    });
    remotes.push(remote);
    await remote.rproc.boot();
    expect(remote.rproc.state).toBe("running");
    const host = remote.rpmsg!;
    const svc = await host.waitForService("rpmsg-amp-echo", { timeoutMs: 10_000 });
    const ep = host.createEndpoint({ dst: svc.addr });
    try {
      await ep.send(new TextEncoder().encode("split hello"), { timeoutMs: 10_000 });
      let got = "";
      for await (const m of ep.messages()) {
        got = new TextDecoder().decode(m.data);
        break;
      }
      expect(got).toBe("split hello");
    } finally {
      ep.destroy();
    }
  });
});
