// End-to-end (keygen, sign, verify, signed boot): the built `amp` (node dist/bin.js) spawned as a user runs it.
import { beforeAll, describe, expect, it } from "vitest";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { makeTempDir } from "@amp/test-utils";
import { AMP_BIN, isOneLine, spawnAmp } from "../helpers.ts";

const ECHO_ELF = fileURLToPath(new URL("../../dist/firmware/echo.elf", import.meta.url));
const dir = makeTempDir("amp-e2e-");

beforeAll(() => {
  if (!existsSync(AMP_BIN) || !existsSync(ECHO_ELF))
    throw new Error("build the package first (pnpm build): dist/bin.js and dist/firmware/echo.elf are needed");
});

describe("amp keygen / sign / verify", () => {
  it("signs, verifies, refuses a tampered image, and boots a signed firmware", () => {
    const key = join(dir, "vendor");
    expect(spawnAmp(["keygen", "-o", key]).code).toBe(0);
    const signed = join(dir, "echo.signed");
    const s = spawnAmp(["sign", ECHO_ELF, "--key", `${key}.key`, "-o", signed]);
    expect(s.code, s.stderr).toBe(0);
    const v = spawnAmp(["verify", signed, "--key", `${key}.pub`]);
    expect(v.code).toBe(0);
    expect(v.stdout).toMatch(/signature OK \(Ed25519\), 1 image: ELF \d+ bytes/);
    const tampered = join(dir, "tampered.signed");
    const t = new Uint8Array(readFileSync(signed));
    t[200] = (t[200] ?? 0) ^ 1;
    writeFileSync(tampered, t);
    const bad = spawnAmp(["verify", tampered, "--key", `${key}.pub`]);
    expect(bad.code).toBe(1);
    expect(isOneLine(bad.stderr)).toBe(true);
    expect(bad.stderr).toMatch(/does NOT verify/);
    const refused = spawnAmp(["run", tampered, "--key", `${key}.pub`, "--duration", "1"]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/refused/);
    const ok = spawnAmp(["run", signed, "--key", `${key}.pub`, "--duration", "3"]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/state {2}offline -> running/);
  });
});
