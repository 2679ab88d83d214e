// The vhost-user relay from a user's bundled application: the relay's C source is a string
// module, so a bundle (ES module or CommonJS output, where import.meta.url is empty) builds the
// relay with no file of @amp/node beside it, and a missing compiler is a clean ERR_RELAY. Also
// checks that the string module is relay.c byte for byte (it is generated from it).
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { describe, expect, it } from "vitest";
import { makeTempDir, requireTools } from "@amp/test-utils";
import { RELAY_C_SOURCE } from "../../src/vhost-user/relay-source.ts";

const here = (p: string): string => fileURLToPath(new URL(p, import.meta.url));

async function bundle(dir: string, format: "esm" | "cjs"): Promise<string> {
  const outfile = join(dir, format === "esm" ? "app.mjs" : "app.cjs");
  await build({
    entryPoints: [here("../fixtures/bundled-relay.ts")],
    outfile,
    bundle: true,
    platform: "node",
    format,
    target: "node20",
    conditions: ["@amp/source"],
    logLevel: "silent",
  });
  return outfile;
}

/** Runs the bundle with a hard timeout; returns its last stdout line, parsed. */
function runApp(
  app: string,
  env: Record<string, string>,
): { bin?: string; exists?: boolean; error?: { code?: string; message?: string } } {
  const r = spawnSync(process.execPath, [app], {
    env: { ...process.env, AMP_VHOST_RELAY: "", ...env },
    encoding: "utf8",
    timeout: 60_000,
    killSignal: "SIGKILL",
  });
  const line = r.stdout.trim().split("\n").pop() ?? "";
  try {
    return JSON.parse(line) as ReturnType<typeof runApp>;
  } catch {
    throw new Error(`the bundle printed no result (status ${r.status}, signal ${r.signal}): ${r.stdout} ${r.stderr}`);
  }
}

describe("the vhost-user relay from a bundled application", () => {
  it("relay-source.ts is relay.c byte for byte (regenerate: node scripts/gen-vhost-relay-source.mjs)", () => {
    expect(RELAY_C_SOURCE).toBe(readFileSync(here("../../src/vhost-user/relay.c"), "utf8"));
  });

  for (const format of ["esm", "cjs"] as const) {
    it(`builds the relay from a ${format} bundle with nothing beside it`, async () => {
      if (requireTools("cc") !== undefined) return; // skipped locally with a message; a failure in CI
      const dir = makeTempDir("amp-relay-bundle-");
      const app = await bundle(dir, format);
      expect(readdirSync(dir)).toEqual([app.slice(dir.length + 1)]);
      const cache = makeTempDir("amp-relay-cache-");
      const got = runApp(app, { AMP_CACHE_DIR: cache });
      expect(got.error).toBeUndefined();
      expect(got.exists).toBe(true);
      expect(got.bin?.startsWith(cache)).toBe(true);
      // Only the binary is left in the cache (the source written for the compiler is removed).
      expect(readdirSync(join(got.bin!, "..")).sort()).toEqual(["amp-vhost-relay"]);
      expect(existsSync(got.bin!)).toBe(true);
    }, 90_000);

    it(`says ERR_RELAY, not "Invalid URL", when there is no compiler (${format} bundle)`, async () => {
      const dir = makeTempDir("amp-relay-bundle-");
      const app = await bundle(dir, format);
      const got = runApp(app, { AMP_CACHE_DIR: makeTempDir("amp-relay-cache-"), CC: join(dir, "no-such-cc") });
      expect(got.error?.code).toBe("ERR_RELAY");
      expect(got.error?.message).toContain("needs a C compiler");
      expect(got.error?.message).toContain("no-such-cc");
    });
  }
});
