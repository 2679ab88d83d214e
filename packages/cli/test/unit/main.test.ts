import { describe, expect, it } from "vitest";
import { isOneLine, runAmp } from "../helpers.ts";

describe("amp (in-process)", () => {
  it("prints the command list for --help and exits 0", async () => {
    const r = await runAmp(["--help"]);
    expect(r.code).toBe(0);
    for (const c of [
      "demo",
      "inspect",
      "rsc decode",
      "rsc encode",
      "rsc c",
      "firmware build",
      "run",
      "coredump",
      "keygen",
      "sign",
      "verify",
    ])
      expect(r.stdout).toContain(c);
  });

  it("exits 2 with usage when called without a command", async () => {
    const r = await runAmp([]);
    expect(r.code).toBe(2);
    expect(r.stdout).toContain("Usage: amp <command>");
  });

  it("has --help on every command", async () => {
    for (const argv of [
      ["demo"],
      ["inspect"],
      ["rsc", "decode"],
      ["rsc", "encode"],
      ["rsc", "c"],
      ["firmware", "build"],
      ["run"],
      ["coredump"],
      ["keygen"],
      ["sign"],
      ["verify"],
    ]) {
      const r = await runAmp([...argv, "--help"]);
      expect(r.code, argv.join(" ")).toBe(0);
      expect(r.stdout).toContain(`Usage: amp ${argv.join(" ")}`);
    }
  });

  it("lists the subcommands of a group", async () => {
    const r = await runAmp(["rsc", "--help"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("rsc decode");
  });

  it("reports an unknown command in one line with what to do", async () => {
    const r = await runAmp(["frobnicate"]);
    expect(r.code).toBe(2);
    expect(isOneLine(r.stderr)).toBe(true);
    expect(r.stderr).toContain("amp --help");
  });

  it("reports an unknown option in one line and points to --help", async () => {
    const r = await runAmp(["inspect", "--bogus", "x"]);
    expect(r.code).toBe(2);
    expect(isOneLine(r.stderr)).toBe(true);
    expect(r.stderr).toContain("amp inspect --help");
  });

  it("reports a missing argument", async () => {
    const r = await runAmp(["inspect"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/missing argument/);
  });

  it("prints the version", async () => {
    const r = await runAmp(["--version"]);
    expect(r.stdout).toMatch(/^amp \d+\.\d+\.\d+\n$/);
  });
});
