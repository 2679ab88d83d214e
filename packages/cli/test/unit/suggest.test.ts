// "Did you mean": the edit distance, the choice of candidates, and what `amp` prints for a
// mistyped command, subcommand or option (one line on stderr, exit 2, the suggestion inside).
import { describe, expect, it } from "vitest";
import { didYouMean, editDistance, suggest } from "../../src/internal/suggest.ts";
import { isOneLine, runAmp } from "../helpers.ts";

describe("editDistance (optimal string alignment)", () => {
  it.each([
    ["", "", 0],
    ["", "run", 3],
    ["run", "run", 0],
    ["inspct", "inspect", 1], // a letter left out
    ["inpsect", "inspect", 1], // two neighbours swapped
    ["insepct", "inspect", 1],
    ["coredumb", "coredump", 1], // substituted
    ["INSPECT", "inspect", 0], // case does not count
    ["kitten", "sitting", 3],
    ["ca", "abc", 3], // OSA, not full Damerau: a swapped pair is not edited again
  ])("%j -> %j is %i", (a, b, d) => {
    expect(editDistance(a, b)).toBe(d);
    expect(editDistance(b, a)).toBe(d);
  });
});

describe("suggest", () => {
  const words = [
    "demo",
    "inspect",
    "rsc",
    "firmware",
    "run",
    "coredump",
    "keygen",
    "sign",
    "verify",
    "attach",
    "rpmsg",
    "vhost-user",
    "help",
  ];
  it.each([
    ["inspct", ["inspect"]],
    ["inpsect", ["inspect"]],
    ["demmo", ["demo"]],
    ["rn", ["run"]],
    ["sing", ["sign"]],
    ["firmwre", ["firmware"]],
    ["vhost", ["vhost-user"]], // a prefix of 3 letters or more
    ["atach", ["attach"]],
    ["frobnicate", []],
    ["x", []],
    ["", []],
    ["run", []], // an exact match is not a suggestion
  ])("%j -> %j", (typed, expected) => {
    expect(suggest(typed, words)).toEqual(expected);
  });

  it("keeps only the closest candidates, in their order, at most `max`", () => {
    expect(suggest("rsc", ["rpc", "rsa", "sc", "rscx"])).toEqual(["rpc", "rsa", "sc"]);
    expect(suggest("rsc", ["rpc", "rsa", "sc"], 2)).toEqual(["rpc", "rsa"]);
  });

  it("words the suggestion", () => {
    expect(didYouMean([])).toBe("");
    expect(didYouMean(["amp run"])).toBe(" Did you mean `amp run`?");
    expect(didYouMean(["a", "b", "c"])).toBe(" Did you mean `a`, `b` or `c`?");
  });
});

describe("amp with a typo", () => {
  it.each([
    [
      ["inspct", "fw.elf"],
      'amp: unknown command "inspct". Did you mean `amp inspect`? Run `amp --help` to list the commands.\n',
    ],
    [
      ["firmwre", "build", "x.ts"],
      'amp: unknown command "firmwre". Did you mean `amp firmware build`? Run `amp --help` to list the commands.\n',
    ],
    [
      ["firmwre", "biuld"],
      'amp: unknown command "firmwre". Did you mean `amp firmware build`? Run `amp --help` to list the commands.\n',
    ],
    [
      ["rcs", "decode", "t.bin"],
      'amp: unknown command "rcs". Did you mean `amp rsc decode`? Run `amp --help` to list the commands.\n',
    ],
    [
      ["rsc", "decod", "t.bin"],
      'amp rsc: unknown subcommand "decod". Did you mean `amp rsc decode`? Run `amp rsc --help` to list them.\n',
    ],
    [
      ["rpmsg", "lisen", "ch"],
      'amp rpmsg: unknown subcommand "lisen". Did you mean `amp rpmsg listen`? Run `amp rpmsg --help` to list them.\n',
    ],
    [["frobnicate"], 'amp: unknown command "frobnicate". Run `amp --help` to list the commands.\n'],
    [["rsc", "zzzzzz"], 'amp rsc: unknown subcommand "zzzzzz". Run `amp rsc --help` to list them.\n'],
  ])("%j", async (argv, stderr) => {
    const r = await runAmp(argv);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr).toBe(stderr);
  });

  it.each([
    [
      ["inspect", "--jsn", "fw.elf"],
      'amp inspect: unknown option "--jsn". Did you mean `--json`? Run `amp inspect --help` for usage.\n',
    ],
    [
      ["demo", "--cordump", "x.core"],
      'amp demo: unknown option "--cordump". Did you mean `--coredump`? Run `amp demo --help` for usage.\n',
    ],
    [
      ["run", "fw.elf", "--recover"],
      'amp run: unknown option "--recover". Did you mean `--recovery`? Run `amp run --help` for usage.\n',
    ],
    [
      ["coredump", "c.core", "--hlep"],
      'amp coredump: unknown option "--hlep". Did you mean `--help`? Run `amp coredump --help` for usage.\n',
    ],
    [["inspect", "--bogus", "fw.elf"], 'amp inspect: unknown option "--bogus". Run `amp inspect --help` for usage.\n'],
    [["inspect", "-q", "fw.elf"], 'amp inspect: unknown option "-q". Run `amp inspect --help` for usage.\n'],
  ])("%j", async (argv, stderr) => {
    const r = await runAmp(argv);
    expect(r.code).toBe(2);
    expect(isOneLine(r.stderr)).toBe(true);
    expect(r.stderr).toBe(stderr);
  });

  it("with --json, the usage error is also a JSON document on stdout", async () => {
    const r = await runAmp(["inspct", "fw.elf", "--json"]);
    expect(r.code).toBe(2);
    expect(JSON.parse(r.stdout)).toEqual({
      error: {
        code: "ERR_USAGE",
        message: 'unknown command "inspct"',
        hint: "Did you mean `amp inspect`? Run `amp --help` to list the commands.",
      },
    });
    const o = await runAmp(["coredump", "c.core", "--json", "--byts"]);
    expect(o.code).toBe(2);
    expect(JSON.parse(o.stdout)).toMatchObject({
      error: {
        code: "ERR_USAGE",
        message: 'unknown option "--byts"',
        hint: "Did you mean `--bytes`? Run `amp coredump --help` for usage.",
      },
    });
  });
});
