// Runs `amp` in-process (main) or as a user would (node dist/bin.js).
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { main } from "@amp/cli";

export interface AmpResult {
  code: number;
  stdout: string;
  stderr: string;
  stdoutBytes: Uint8Array;
}

/** Runs main(argv) in this process with captured output. */
export async function runAmp(argv: string[], cwd: string = process.cwd(), signal?: AbortSignal): Promise<AmpResult> {
  let out = "";
  let err = "";
  const chunks: Uint8Array[] = [];
  const code = await main(argv, {
    stdout: (d) => {
      if (typeof d === "string") out += d;
      else chunks.push(d);
    },
    stderr: (d) => {
      err += d;
    },
    cwd,
    interactive: false,
    ...(signal === undefined ? {} : { signal }),
  });
  const total = chunks.reduce((n, c) => n + c.length, 0);
  const stdoutBytes = new Uint8Array(total);
  let o = 0;
  for (const c of chunks) {
    stdoutBytes.set(c, o);
    o += c.length;
  }
  return { code, stdout: out, stderr: err, stdoutBytes };
}

/** The built executable. */
export const AMP_BIN = fileURLToPath(new URL("../dist/bin.js", import.meta.url));

/** Spawns `node dist/bin.js argv` as a user would. */
export function spawnAmp(argv: string[], options: { cwd?: string; timeoutMs?: number } = {}): AmpResult {
  const r = spawnSync(process.execPath, [AMP_BIN, ...argv], {
    cwd: options.cwd ?? process.cwd(),
    encoding: "buffer",
    timeout: options.timeoutMs ?? 60_000,
    env: { ...process.env, AMP_DEBUG: "" },
  });
  return {
    code: r.status ?? -1,
    stdout: r.stdout.toString("utf8"),
    stderr: r.stderr.toString("utf8"),
    stdoutBytes: new Uint8Array(r.stdout),
  };
}

/** True when `text` is exactly one line (no stack trace, no multi-line dump). */
export function isOneLine(text: string): boolean {
  return text.endsWith("\n") && !text.slice(0, -1).includes("\n") && !/\n\s+at /.test(text);
}
