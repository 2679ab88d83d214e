import type { CrashTypeName, CoredumpMode } from "./state.js";

/**
 * Where a coredump goes: an ELF `ET_CORE` file (one `PT_LOAD` per allocated region: carveouts,
 * vrings, vdev buffers and allocations, trace buffers; and one per custom segment; each byte once,
 * in address order; Linux layout, docs/wire-formats.md, "Firmware ELF and coredumps") delivered in
 * order, in chunks. In `inline` mode (and for {@link Remoteproc.coredump}) each chunk is read from
 * device memory just before `write`, and the core awaits every promise, so recovery waits until the
 * sink is done. In `default` mode the whole file is copied first, handed over in one `write`, and
 * recovery does not wait for it.
 */
export interface CoredumpSink {
  write(chunk: Uint8Array): void | Promise<void>;
  /** After the last chunk. */
  close?(info: CoredumpInfo): void | Promise<void>;
}

/** Facts about a written coredump. */
export interface CoredumpInfo {
  /** Why it was made. */
  readonly reason: "crash" | "manual";
  /** The crash type, for `reason: "crash"`. */
  readonly crashType?: CrashTypeName;
  /** Mode used ("inline" for manual dumps). */
  readonly mode: Exclude<CoredumpMode, "disabled">;
  /** Total bytes written. */
  readonly size: number;
  /** Number of PT_LOAD segments. */
  readonly segments: number;
}

/**
 * An extra segment for coredumps (Linux `rproc_coredump_add_custom_segment`): `size` bytes at `da`,
 * read through `read` when given (return false to have the chunk filled with 0xFF), else through
 * the remote's address translation.
 */
export interface CoredumpSegmentSpec {
  readonly da: number;
  readonly size: number;
  readonly name?: string;
  readonly read?: (offset: number, out: Uint8Array) => boolean;
}

/** ELF class and machine of coredumps when the loader does not report them (Linux `rproc_coredump_set_elf_info`). */
export interface CoredumpElfInfo {
  readonly elfClass: 32 | 64;
  readonly machine: number;
}
