// Firmware images from a directory on the file system (Linux: /lib/firmware and
// request_firmware), including waiting for an image that does not exist yet (a late-mounted
// file system, a build that is still running): auto-boot when it appears.
import { watch, type FSWatcher } from "node:fs";
import { readFile, stat } from "node:fs/promises";
import { join, resolve } from "node:path";
import { AmpError } from "@amp/virtio-ring";
import { mdtSegmentFileName, parseMdt } from "@amp/elf-loader";
import type { AbortSignalLike, FirmwareSource, RemoteprocErrorCode } from "@amp/remoteproc-core";

/** Options of {@link createDirectoryFirmwareSource}. */
export interface DirectoryFirmwareSourceOptions {
  /** How often `waitFor` re-checks when file-system events are unavailable, in ms (default 200). */
  readonly pollMs?: number;
  /** Largest image read, in bytes (default 256 MiB): a bigger file is an ERR_LIMIT error. */
  readonly maxImageSize?: number;
}

/** A firmware source over a directory. */
export interface DirectoryFirmwareSource extends FirmwareSource {
  /** The absolute directory. */
  readonly directory: string;
  /** The image named `name`, or undefined when the file does not exist. */
  get(name: string): Promise<Uint8Array | undefined>;
  waitFor(name: string, options?: { signal?: AbortSignalLike }): Promise<Uint8Array>;
}

/** Firmware names are plain file names: no directory parts, nothing hidden. */
function checkName(name: string): void {
  if (typeof name !== "string" || name === "" || name === "." || name === ".." || /[/\\\0]/.test(name)) {
    throw new TypeError(`firmware name must be a plain file name, got ${JSON.stringify(name)}`);
  }
}

/**
 * The `.bNN` companions a split `.mdt` image needs (name and exact size: p_filesz), in program
 * header order; empty for anything else. Linux's mdt loader names them from the firmware name.
 */
function companionsOf(name: string, image: Uint8Array): { name: string; size: number }[] {
  if (!name.toLowerCase().endsWith(".mdt")) return [];
  let phdrs;
  try {
    phdrs = parseMdt(image).elf.programHeaders;
  } catch {
    return []; // not a readable .mdt: the loader will say why
  }
  const end = BigInt(image.length);
  return phdrs
    .filter((p) => p.filesz > 0n && p.offset + p.filesz > end && p.filesz <= BigInt(Number.MAX_SAFE_INTEGER))
    .map((p) => ({ name: mdtSegmentFileName(name, p.index), size: Number(p.filesz) }));
}

/**
 * Serves firmware images by file name from `directory`. `get` reads the file (undefined when it
 * does not exist); `waitFor` resolves once the file exists and is complete (its size stopped
 * changing), watching the directory (with a polling fallback), until `signal` aborts.
 *
 * Split firmware (`x.mdt` whose segments are in `x.b00`, `x.b01`, ... beside it) is served file
 * by file: the loader asks for each companion by name. `waitFor("x.mdt")` resolves only once the
 * .mdt is complete and every companion it names exists with its full size (p_filesz), so a boot
 * never starts on a half-copied set.
 * @example
 * const fw = createDirectoryFirmwareSource("/lib/firmware");
 * const image = await fw.waitFor("rproc-m4-fw", { signal: AbortSignal.timeout(10_000) });
 */
export function createDirectoryFirmwareSource(
  directory: string,
  options: DirectoryFirmwareSourceOptions = {},
): DirectoryFirmwareSource {
  const dir = resolve(directory);
  const pollMs = options.pollMs ?? 200;
  const maxSize = options.maxImageSize ?? 256 * 1024 * 1024;

  async function sizeOf(path: string): Promise<number | undefined> {
    try {
      const st = await stat(path);
      return st.isFile() ? st.size : undefined;
    } catch {
      return undefined;
    }
  }

  async function get(name: string): Promise<Uint8Array | undefined> {
    checkName(name);
    const path = join(dir, name);
    const size = await sizeOf(path);
    if (size === undefined) return undefined;
    if (size > maxSize)
      throw new AmpError<RemoteprocErrorCode>(
        "ERR_LIMIT",
        `firmware ${path} is ${size} bytes, more than the ${maxSize}-byte limit`,
      );
    try {
      const b = await readFile(path);
      return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
    } catch (e) {
      if ((e as { code?: unknown }).code === "ENOENT") return undefined;
      throw e;
    }
  }

  function waitFor(name: string, opts: { signal?: AbortSignalLike } = {}): Promise<Uint8Array> {
    checkName(name);
    const { signal } = opts;
    const path = join(dir, name);
    return new Promise<Uint8Array>((resolvePromise, reject) => {
      let done = false;
      const isDone = (): boolean => done;
      let watcher: FSWatcher | undefined;
      let timer: ReturnType<typeof setTimeout> | undefined;
      let lastSize: number | undefined;
      const finish = (err: unknown, image?: Uint8Array): void => {
        if (done) return;
        done = true;
        watcher?.close();
        if (timer !== undefined) clearTimeout(timer);
        signal?.removeEventListener("abort", onAbort);
        if (image !== undefined) resolvePromise(image);
        else reject(err instanceof Error ? err : new Error(String(err)));
      };
      const onAbort = (): void => {
        finish(
          new AmpError<RemoteprocErrorCode>("ERR_ABORTED", `waiting for firmware "${name}" in ${dir} was aborted`, {
            cause: signal?.reason,
          }),
        );
      };
      // A file is taken once two checks in a row see the same size (a copy in progress grows).
      // Names whose changes matter: the image, and its companions once the .mdt has been read.
      const watched = new Set([name]);
      const companionsComplete = async (image: Uint8Array): Promise<boolean> => {
        const needed = companionsOf(name, image);
        for (const c of needed) watched.add(c.name);
        for (const c of needed) if ((await sizeOf(join(dir, c.name))) !== c.size) return false;
        return true;
      };
      const check = async (): Promise<void> => {
        if (done) return;
        const size = await sizeOf(path);
        if (size !== undefined && size === lastSize && size > 0) {
          try {
            const image = await get(name);
            if (image !== undefined && (await companionsComplete(image))) {
              finish(undefined, image);
              return;
            }
          } catch (e) {
            finish(e);
            return;
          }
          if (!isDone()) timer = setTimeout(() => void check(), pollMs);
          return;
        }
        lastSize = size;
        // `done` may have changed while we awaited (an abort): schedule only while waiting.
        if (!isDone()) {
          timer = setTimeout(() => void check(), size === undefined ? pollMs : Math.min(pollMs, 50));
        }
      };
      if (signal?.aborted === true) {
        onAbort();
        return;
      }
      signal?.addEventListener("abort", onAbort, { once: true });
      try {
        watcher = watch(dir, { persistent: true }, (_event, file) => {
          if (file === null || watched.has(file)) {
            if (timer !== undefined) clearTimeout(timer);
            void check();
          }
        });
        watcher.on("error", () => undefined);
      } catch {
        watcher = undefined; // no such directory yet, or no inotify: polling alone
      }
      void check();
    });
  }

  return { directory: dir, get, waitFor };
}
