// Size budget of the lean remote entry (@amp/rpmsg/remote, STYLE.md point 22): a remote
// application that announces one endpoint and echoes, with the @amp/virtio-ring memory and
// address space it needs, minified by esbuild and gzipped. For scale: rpmsg-lite's remote is
// about 3.4 kB of Cortex-M flash, OpenAMP's rpmsg about 5.5 kB. Raise it only deliberately.
import { describe, expect, it } from "vitest";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { bundleToString } from "@amp/test-utils";

/** Budget in bytes, minified + gzip (level 9); measured 5.7 kB when set. */
const LEAN_REMOTE_BUDGET = 6_000;

describe("lean remote bundle size", () => {
  it(`an echo remote on @amp/rpmsg/remote stays under ${LEAN_REMOTE_BUDGET} bytes minified + gzipped`, async () => {
    const code = await bundleToString(fileURLToPath(new URL("./lean-size-entry.ts", import.meta.url)), {
      format: "esm",
      platform: "neutral",
      minify: true,
    });
    const gz = gzipSync(code, { level: 9 }).length;
    console.log(`lean remote entry: ${code.length} bytes minified, ${gz} bytes gzipped`);
    expect(code).toContain("rpmsg-echo"); // the application itself is in it
    // None of the full stack: the shared device core (rx-dispatch.ts) and the full split queue.
    expect(code).not.toContain("must be called inside the onMessage callback");
    expect(code).not.toContain("offered again while in flight");
    expect(gz).toBeGreaterThan(1000);
    expect(gz).toBeLessThanOrEqual(LEAN_REMOTE_BUDGET);
  });
});
