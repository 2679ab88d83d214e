// File access for commands: paths resolved against io.cwd, errors that name the file.
import { readFile, writeFile, stat } from "node:fs/promises";
import { resolve } from "node:path";
import { CliError } from "./cli-error.js";
import type { CliIo } from "./io.js";

/** Largest input file a command reads whole (firmware, tables, cores): 512 MiB. */
export const MAX_INPUT_BYTES: number = 512 * 1024 * 1024;

/** Absolute path of a user-given path. */
export function resolvePath(io: CliIo, path: string): string {
  return resolve(io.cwd, path);
}

/** Reads a whole input file, with one-line errors for the usual problems. */
export async function readInput(io: CliIo, path: string, what = "file"): Promise<Uint8Array> {
  const abs = resolvePath(io, path);
  let size: number;
  try {
    const st = await stat(abs);
    if (st.isDirectory())
      throw new CliError(`${path}: is a directory, not a ${what}`, `Pass the path of a ${what}.`, 1, {
        code: "ERR_INPUT",
      });
    size = st.size;
  } catch (e) {
    if (e instanceof CliError) throw e;
    const code = (e as { code?: unknown }).code;
    if (code === "ENOENT")
      throw new CliError(`${path}: no such ${what}`, "Check the path and try again.", 1, { code: "ERR_INPUT" });
    throw new CliError(`${path}: cannot read (${String(code ?? e)})`, "Check the path and its permissions.", 1, {
      code: "ERR_INPUT",
    });
  }
  if (size > MAX_INPUT_BYTES) {
    throw new CliError(
      `${path}: ${size} bytes is larger than the ${MAX_INPUT_BYTES}-byte limit`,
      `Check that this is a ${what}.`,
      1,
      { code: "ERR_INPUT" },
    );
  }
  const buf = await readFile(abs);
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}

/** Reads a text input file ("-" is not supported: pass a path). */
export async function readTextInput(io: CliIo, path: string, what = "file"): Promise<string> {
  const bytes = await readInput(io, path, what);
  return new TextDecoder("utf-8").decode(bytes);
}

/** Writes an output file, with a one-line error when that fails. */
export async function writeOutput(io: CliIo, path: string, data: Uint8Array | string): Promise<string> {
  const abs = resolvePath(io, path);
  try {
    await writeFile(abs, data);
  } catch (e) {
    const code = (e as { code?: unknown }).code;
    throw new CliError(
      `${path}: cannot write (${String(code ?? e)})`,
      "Check that the directory exists and is writable.",
      1,
      { code: "ERR_OUTPUT" },
    );
  }
  return abs;
}
