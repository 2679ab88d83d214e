// Attaching to a running process-based remote, the way `amp attach` and `amp rpmsg` do it:
// find the table the remote wrote in its memory file, check it, then let the shared-file
// remoteproc of @amp/node attach (doorbell, DRIVER_OK) with the rpmsg host bound. Every way
// this can fail becomes one AttachError with a stable code.
import { closeSync, existsSync, fstatSync, openSync, readSync } from "node:fs";
import { hex, isAmpError } from "@amp/virtio-ring";
import { createSharedFileRemoteproc, type SharedFileRegionSpec, type SharedFileRemoteproc } from "@amp/node";
import {
  parseResourceTable,
  resourceTableSize,
  validateResourceTable,
  FW_RSC_ADDR_ANY,
  type Diagnostic,
  type ResourceTable,
  type VdevResource,
} from "@amp/resource-table";
import {
  RPMSG_BUF_SIZE,
  RPMSG_HDR_SIZE,
  VIRTIO_ID_RPMSG,
  type NsEvent,
  type RemoteService,
  type RpmsgHost,
  type RpmsgHostGeometry,
} from "@amp/rpmsg";
import { splitRingLayout } from "@amp/virtio-ring";
import { CliError } from "./cli-error.js";
import { formatDoorbell, type AttachTarget } from "./attach-target.js";

/**
 * Stable codes of the attach and rpmsg commands' failures (the `[ERR_...]` in the error line,
 * `code` in `--json` error events). Documented in the README's errors table.
 */
export type AttachErrorCode =
  | "ERR_MEMORY_MISSING" // the memory file does not exist
  | "ERR_MEMORY_SIZE" // the memory file is too small for the layout
  | "ERR_NO_TABLE" // no resource table (version 1) appeared in time
  | "ERR_TABLE_INVALID" // the table has error diagnostics, no rpmsg vdev, or rings outside the file
  | "ERR_DOORBELL_MISSING" // no doorbell socket appeared in time
  | "ERR_DOORBELL_REFUSED" // the doorbell socket exists but nothing accepts connections
  | "ERR_DOORBELL" // another doorbell failure
  | "ERR_ATTACH" // attaching failed in another step
  | "ERR_REMOTE_GONE" // the remote closed its doorbell, or the link went down
  | "ERR_NOT_ANNOUNCED" // the channel was not announced in time
  | "ERR_MSG_SIZE" // a message is larger than the MTU
  | "ERR_ECHO_MISMATCH" // an echo differs from what was sent
  | "ERR_ECHO_TIMEOUT" // an echo did not come back in time
  | "ERR_TIMEOUT" // the remote did not take a message in time (every tx buffer in use)
  | "ERR_SESSION" // the `amp attach` session failed or ended
  | "ERR_SESSION_BUSY"; // another `amp attach` holds this remote already

/** A failure of an attach or rpmsg command: one line with a stable code and what to do. */
export class AttachError extends CliError {
  override readonly code: AttachErrorCode;
  /** The message without the code, for JSON error events. */
  readonly detail: string;
  constructor(code: AttachErrorCode, message: string, hint: string, cause?: unknown) {
    super(`${message} [${code}]`, hint, 1, cause === undefined ? { code } : { cause, code });
    this.code = code;
    this.detail = message;
  }
}

/** What happened while attaching and afterwards, for the commands to print. */
export type AttachEvent =
  | {
      readonly event: "table";
      readonly da: number;
      readonly size: number;
      readonly table: ResourceTable;
      readonly diagnostics: readonly Diagnostic[];
    }
  | {
      readonly event: "link";
      readonly status: number;
      readonly features: bigint;
      readonly geometry: RpmsgHostGeometry | undefined;
      readonly mtu: number;
      readonly nameService: boolean;
    }
  | { readonly event: "channel"; readonly type: NsEvent["type"]; readonly name: string; readonly addr: number }
  | { readonly event: "gone"; readonly message: string };

/** A remote attached to, with its rpmsg link up. */
export interface AttachedLink {
  readonly target: AttachTarget;
  readonly remote: SharedFileRemoteproc;
  readonly host: RpmsgHost;
  /** Bytes of the memory file. */
  readonly memorySize: number;
  /** Settles (never rejects) with the reason when the remote goes away. */
  readonly gone: Promise<AttachError>;
  /** Detaches (the remote keeps running) and closes the memory file. Idempotent. */
  close(): Promise<void>;
}

/** Options of {@link attachLink}. */
export interface AttachLinkOptions {
  /** Budget for the whole attach: memory file, table, doorbell. */
  readonly timeoutMs: number;
  readonly signal?: AbortSignal;
  readonly onEvent?: (e: AttachEvent) => void;
}

/** The payload an rpmsg message can carry with the buffers this CLI gives the link. */
export const EXPECTED_MTU: number = RPMSG_BUF_SIZE - RPMSG_HDR_SIZE;

/** Thrown when the user interrupted a wait (Ctrl-C). */
export class Interrupted extends Error {
  override readonly name = "Interrupted";
}

const MAX_TABLE_READ = 65536;
/** The largest table read: 1 MiB (Linux reads the table a firmware names, also unbounded; a limit keeps a hostile one cheap). */
const MAX_TABLE_SIZE = 1 << 20;
/** How long a doorbell that exists may refuse before that counts as "nobody listens". */
const REFUSED_GRACE_MS = 1000;

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted === true) {
      reject(new Interrupted("interrupted"));
      return;
    }
    const onAbort = (): void => {
      clearTimeout(t);
      reject(new Interrupted("interrupted"));
    };
    const t = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

function readAt(fd: number, offset: number, length: number): Uint8Array {
  const out = new Uint8Array(length);
  let done = 0;
  while (done < length) {
    const n = readSync(fd, out, done, length - done, offset + done);
    if (n === 0) break;
    done += n;
  }
  return out.subarray(0, done);
}

/** The found table: where, its bytes, the decoded form and the validator's findings. */
interface FoundTable {
  readonly size: number;
  readonly bytes: Uint8Array;
  readonly table: ResourceTable;
  readonly diagnostics: readonly Diagnostic[];
  readonly rpmsg: VdevResource;
}

/** Waits (until `deadline`) for a version-1 table at `target.tableDa`, then checks it. */
async function findTable(
  target: AttachTarget,
  fd: number,
  fileSize: number,
  deadline: number,
  signal: AbortSignal | undefined,
): Promise<FoundTable> {
  const off = target.tableDa - target.memoryDa;
  if (off < 0 || off >= fileSize) {
    throw new AttachError(
      "ERR_MEMORY_SIZE",
      `the resource table address ${hex(target.tableDa)} is outside the memory file ${target.memoryPath} (${hex(target.memoryDa)} +${hex(fileSize)})`,
      "Check --table and --memory-da.",
    );
  }
  let readLength = Math.min(MAX_TABLE_READ, fileSize - off);
  for (;;) {
    const head = readAt(fd, off, readLength);
    let size: number;
    try {
      size = resourceTableSize(head);
    } catch (e) {
      if (!isAmpError(e)) throw e;
      const need = (e as { offset?: unknown }).offset;
      if (
        e.code === "ERR_TRUNCATED" &&
        typeof need === "number" &&
        need > readLength &&
        need <= Math.min(MAX_TABLE_SIZE, fileSize - off)
      ) {
        readLength = need; // a table larger than the first read: read as much as it says
        continue;
      }
      if (e.code === "ERR_UNSUPPORTED" && Date.now() < deadline) {
        // Version word not 1 yet: the remote may still be starting.
        await sleep(5, signal);
        continue;
      }
      if (e.code === "ERR_UNSUPPORTED") {
        throw new AttachError(
          "ERR_NO_TABLE",
          `no resource table at ${hex(target.tableDa)} of ${target.memoryPath} (${e.message.replace(/\.$/, "")})`,
          "Start the remote first (it writes its table), or give the right --table address.",
          e,
        );
      }
      throw new AttachError(
        "ERR_TABLE_INVALID",
        `the resource table at ${hex(target.tableDa)} is not usable: ${e.message.replace(/\.$/, "")}`,
        "The remote wrote a damaged table: check its rsc_table source.",
        e,
      );
    }
    const bytes = head.slice(0, size);
    const diagnostics = validateResourceTable(bytes);
    const firstError = diagnostics.find((d) => d.severity === "error");
    if (firstError !== undefined) {
      throw new AttachError(
        "ERR_TABLE_INVALID",
        `invalid resource table at ${hex(target.tableDa)}: ${firstError.code} at table offset ${hex(firstError.offset)}: ${firstError.message.replace(/\.$/, "")}`,
        "Fix the remote's resource table (`amp rsc decode` shows a saved copy).",
      );
    }
    let table: ResourceTable;
    try {
      table = parseResourceTable(bytes);
    } catch (e) {
      throw new AttachError(
        "ERR_TABLE_INVALID",
        `the resource table at ${hex(target.tableDa)} does not decode: ${e instanceof Error ? e.message.replace(/\.$/, "") : String(e)}`,
        "Fix the remote's resource table.",
        e,
      );
    }
    const rpmsg = table.entries.find((r): r is VdevResource => r.kind === "vdev" && r.id === VIRTIO_ID_RPMSG);
    if (rpmsg === undefined) {
      throw new AttachError(
        "ERR_TABLE_INVALID",
        `the resource table at ${hex(target.tableDa)} has no rpmsg vdev (virtio id 7)`,
        "This remote offers no rpmsg link: amp rpmsg cannot talk to it.",
      );
    }
    checkRings(target, fileSize, table);
    return { size, bytes, table, diagnostics, rpmsg };
  }
}

/** Every vring the remote placed must lie inside the memory file. */
function checkRings(target: AttachTarget, fileSize: number, table: ResourceTable): void {
  for (const r of table.entries) {
    if (r.kind !== "vdev") continue;
    r.vrings.forEach((v, i) => {
      if (v.da === FW_RSC_ADDR_ANY) return;
      let size: number;
      try {
        size = splitRingLayout(v.num, v.align).size;
      } catch (e) {
        throw new AttachError(
          "ERR_TABLE_INVALID",
          `vdev ${r.id} vring ${i}: num ${v.num}, align ${v.align} is not a valid split ring (${e instanceof Error ? e.message : String(e)})`,
          "Fix the remote's resource table.",
          e,
        );
      }
      const off = v.da - target.memoryDa;
      if (off < 0 || off > fileSize - size) {
        throw new AttachError(
          "ERR_TABLE_INVALID",
          `vdev ${r.id} vring ${i} at ${hex(v.da)} (+${hex(size)}) is outside the memory file (${hex(target.memoryDa)} +${hex(fileSize)})`,
          "Check --memory-da, or the remote's resource table.",
        );
      }
    });
  }
}

/**
 * Regions for a file without a preset: what the table names (the table, the rings) stays the
 * remote's; the host's buffers come from the rest, after the highest address the table names.
 */
function computedRegions(target: AttachTarget, fileSize: number, found: FoundTable): SharedFileRegionSpec[] {
  let end = target.tableDa + found.size;
  for (const r of found.table.entries) {
    if (r.kind === "vdev") {
      for (const v of r.vrings)
        if (v.da !== FW_RSC_ADDR_ANY) end = Math.max(end, v.da + splitRingLayout(v.num, v.align).size);
    } else if ((r.kind === "carveout" || r.kind === "trace" || r.kind === "devmem") && r.da !== FW_RSC_ADDR_ANY) {
      if (r.da >= target.memoryDa && r.da - target.memoryDa < fileSize) end = Math.max(end, r.da + r.len);
    }
  }
  const fileEnd = target.memoryDa + fileSize;
  const poolStart = Math.min(fileEnd, Math.ceil(end / 0x1000) * 0x1000);
  const regions: SharedFileRegionSpec[] = [];
  if (poolStart > target.memoryDa)
    regions.push({ name: "remote", da: target.memoryDa, size: poolStart - target.memoryDa });
  if (fileEnd > poolStart) regions.push({ name: "pool", da: poolStart, size: fileEnd - poolStart, pool: true });
  return regions;
}

/** Walks an error's causes for a Node system error code (ECONNREFUSED, ENOENT, ...). */
function systemCode(e: unknown): string | undefined {
  for (let c: unknown = e, depth = 0; c !== undefined && c !== null && depth < 8; depth++) {
    const code = (c as { code?: unknown }).code;
    if (typeof code === "string" && /^E[A-Z]+$/.test(code) && !code.startsWith("ERR_")) return code;
    c = (c as { cause?: unknown }).cause;
  }
  return undefined;
}

function innermostMessage(e: unknown): string {
  let m = e instanceof Error ? e.message : String(e);
  for (let c: unknown = e, depth = 0; c instanceof Error && depth < 8; depth++) {
    m = c.message;
    c = (c as { cause?: unknown }).cause;
  }
  return m.replace(/\.$/, "");
}

/** The attach failure as the user should see it. */
function attachFailure(target: AttachTarget, e: unknown): AttachError {
  const bell = formatDoorbell(target.doorbell);
  const sys = systemCode(e);
  if (target.doorbell.kind === "unix-socket") {
    if (sys === "ECONNREFUSED") {
      return new AttachError(
        "ERR_DOORBELL_REFUSED",
        `the doorbell ${target.doorbell.path} refused the connection: nothing listens on it`,
        "The remote is not running (its socket file stayed behind) or another host is attached already (OpenAMP's Linux machine accepts one host per run): restart the remote.",
        e,
      );
    }
    if (sys === "ENOENT") {
      return new AttachError(
        "ERR_DOORBELL_MISSING",
        `no doorbell socket at ${target.doorbell.path}`,
        "Start the remote first, or pass the right --doorbell.",
        e,
      );
    }
  }
  const msg = innermostMessage(e);
  if (/doorbell/i.test(msg) || (isAmpError(e) && /doorbell/i.test(e.message))) {
    return new AttachError(
      "ERR_DOORBELL",
      `the doorbell ${bell} failed: ${msg}`,
      "Check --doorbell and that the remote is running.",
      e,
    );
  }
  return new AttachError(
    "ERR_ATTACH",
    `attaching to ${target.memoryPath} failed: ${msg}`,
    "Rerun with AMP_DEBUG=1 for details.",
    e,
  );
}

/** Waits for the doorbell socket file (client role) so that the connection itself is quick. */
async function waitForSocketFile(
  target: AttachTarget,
  deadline: number,
  signal: AbortSignal | undefined,
): Promise<void> {
  const d = target.doorbell;
  if (d.kind !== "unix-socket" || d.role !== "client") return;
  while (!existsSync(d.path)) {
    if (Date.now() >= deadline) {
      throw new AttachError(
        "ERR_DOORBELL_MISSING",
        `no doorbell socket appeared at ${d.path}`,
        "Start the remote first, or pass the right --doorbell.",
      );
    }
    await sleep(10, signal);
  }
}

/**
 * Attaches to the remote described by `target`: checks the memory file and the table the
 * remote wrote, opens the doorbell, brings the rpmsg link up (DRIVER_OK) and reports channels
 * as the remote announces them.
 * @throws AttachError (stable codes), Interrupted when `signal` aborts a wait.
 */
export async function attachLink(target: AttachTarget, options: AttachLinkOptions): Promise<AttachedLink> {
  const { signal, onEvent } = options;
  const deadline = Date.now() + options.timeoutMs;
  let fd: number;
  try {
    fd = openSync(target.memoryPath, "r");
  } catch (e) {
    if (systemCode(e) === "ENOENT")
      throw new AttachError(
        "ERR_MEMORY_MISSING",
        `no memory file ${target.memoryPath}`,
        "Start the remote first (it creates the file), or pass the right --memory.",
        e,
      );
    throw new AttachError(
      "ERR_MEMORY_MISSING",
      `cannot open the memory file ${target.memoryPath} (${systemCode(e) ?? innermostMessage(e)})`,
      "Check the path and its permissions.",
      e,
    );
  }
  let found: FoundTable;
  let fileSize: number;
  try {
    fileSize = fstatSync(fd).size;
    if (fileSize === 0)
      throw new AttachError(
        "ERR_MEMORY_SIZE",
        `the memory file ${target.memoryPath} is empty`,
        "Start the remote first (it sizes the file), or pass the right --memory.",
      );
    found = await findTable(target, fd, fileSize, deadline, signal);
  } finally {
    closeSync(fd);
  }
  const regions = target.regions ?? computedRegions(target, fileSize, found);
  const regionEnd = Math.max(...regions.map((r) => r.da + r.size));
  if (regionEnd > target.memoryDa + fileSize) {
    throw new AttachError(
      "ERR_MEMORY_SIZE",
      `the memory file ${target.memoryPath} is ${fileSize} bytes; the ${target.preset ?? "given"} layout needs ${regionEnd - target.memoryDa}`,
      "Pass the memory file the remote really maps.",
    );
  }
  onEvent?.({
    event: "table",
    da: target.tableDa,
    size: found.size,
    table: found.table,
    diagnostics: found.diagnostics,
  });
  await waitForSocketFile(target, deadline, signal);

  const remaining = Math.max(1, deadline - Date.now());
  const doorbell =
    target.doorbell.kind === "unix-socket"
      ? { ...target.doorbell, timeoutMs: remaining, refusedGraceMs: Math.min(REFUSED_GRACE_MS, remaining) }
      : target.doorbell;
  let remote: SharedFileRemoteproc;
  try {
    remote = createSharedFileRemoteproc({
      name: "attach",
      memoryPath: target.memoryPath,
      memoryDa: target.memoryDa,
      regions,
      doorbell,
      resourceTable: { da: target.tableDa, size: found.size },
      ...(signal === undefined ? {} : { signal }), // Ctrl-C also ends the driver's own waits
    });
  } catch (e) {
    throw attachFailure(target, e);
  }
  let resolveGone: (e: AttachError) => void = () => undefined;
  const gone = new Promise<AttachError>((r) => {
    resolveGone = r;
  });
  let host: RpmsgHost | undefined;
  let closed = false;
  // Announcements that come while the link starts are shown after the "link" event.
  let linkShown = false;
  const early: AttachEvent[] = [];
  remote.onRpmsg((h) => {
    host = h;
    h.onNameService((ns) => {
      const e: AttachEvent = { event: "channel", type: ns.type, name: ns.name, addr: ns.addr };
      if (linkShown) onEvent?.(e);
      else early.push(e);
    });
    h.onLinkChange((up, reason) => {
      if (!up && !closed)
        resolveGone(
          new AttachError(
            "ERR_REMOTE_GONE",
            `the rpmsg link went down: ${reason?.message.replace(/\.$/, "") ?? "no reason given"}`,
            "The remote reset its device or broke the protocol: check its output, restart it and attach again.",
          ),
        );
    });
  });
  remote.onCrash((report) => {
    if (closed) return;
    onEvent?.({ event: "gone", message: report.message });
    resolveGone(
      new AttachError(
        "ERR_REMOTE_GONE",
        report.message,
        "The remote process ended or dropped its doorbell: check its output, restart it and attach again.",
      ),
    );
  });
  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    await remote.close();
  };
  try {
    await raceAbort(remote.rproc.boot(), signal);
  } catch (e) {
    await close().catch(() => undefined);
    if (e instanceof Interrupted) throw e;
    throw attachFailure(target, e);
  }
  if (host === undefined) {
    await close().catch(() => undefined);
    throw new AttachError(
      "ERR_ATTACH",
      "attached, but no rpmsg host came up on the rpmsg vdev",
      "Rerun with AMP_DEBUG=1 and report it.",
    );
  }
  // The status the remote now sees in its table (DRIVER_OK written by the host).
  const live = parseResourceTable(remote.driver.memory.read(target.tableDa - target.memoryDa, found.size));
  const status =
    live.entries.find((r): r is VdevResource => r.kind === "vdev" && r.offset === found.rpmsg.offset)?.status ?? 0;
  onEvent?.({
    event: "link",
    status,
    features: host.geometry?.features ?? 0n,
    geometry: host.geometry,
    mtu: host.mtu,
    nameService: host.nameService,
  });
  linkShown = true;
  for (const e of early.splice(0)) onEvent?.(e);
  return { target, remote, host, memorySize: fileSize, gone, close };
}

/** `p`, or Interrupted as soon as `signal` aborts (`p` keeps running; its result is dropped). */
function raceAbort<T>(p: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return p;
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => {
      reject(new Interrupted("interrupted"));
    };
    if (signal.aborted) {
      onAbort();
      return;
    }
    signal.addEventListener("abort", onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener("abort", onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener("abort", onAbort);
        reject(e instanceof Error ? e : new Error(String(e)));
      },
    );
  });
}

/**
 * The service the remote announced as `name`, waiting up to `timeoutMs`.
 * @throws AttachError ERR_NOT_ANNOUNCED (naming what was announced), ERR_REMOTE_GONE; Interrupted.
 */
export async function waitForChannel(
  host: RpmsgHost,
  name: string,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<RemoteService> {
  try {
    return await host.waitForService(name, { timeoutMs, ...(signal === undefined ? {} : { signal }) });
  } catch (e) {
    if (isAmpError(e) && e.code === "ERR_ABORTED") throw new Interrupted("interrupted");
    if (isAmpError(e) && e.code === "ERR_TIMEOUT") {
      const known = host.remoteServices.map((s) => `"${s.name}" at ${hex(s.addr)}`);
      throw new AttachError(
        "ERR_NOT_ANNOUNCED",
        `channel "${name}" was not announced within ${timeoutMs / 1000} s (announced: ${known.length === 0 ? "none" : known.join(", ")})`,
        "Check the channel name (`amp attach` lists what the remote announces) or give the remote more --timeout.",
        e,
      );
    }
    if (isAmpError(e) && e.code === "ERR_LINK_DOWN")
      throw new AttachError(
        "ERR_REMOTE_GONE",
        `the rpmsg link went down while waiting for "${name}"`,
        "The remote went away: check its output and restart it.",
        e,
      );
    throw e;
  }
}

/** An rpmsg send failure as the user should see it. */
export function sendFailure(e: unknown, mtu: number, timeoutMs: number): unknown {
  if (!isAmpError(e)) return e;
  switch (e.code) {
    case "ERR_MSG_SIZE":
      return new AttachError(
        "ERR_MSG_SIZE",
        `the message is larger than the link's MTU of ${mtu} bytes`,
        `Send at most ${mtu} bytes per message.`,
        e,
      );
    case "ERR_TIMEOUT":
      return new AttachError(
        "ERR_TIMEOUT",
        `the remote did not take the message within ${timeoutMs / 1000} s (every tx buffer is in use)`,
        "The remote does not consume its rx ring: check that it is still running.",
        e,
      );
    case "ERR_LINK_DOWN":
    case "ERR_CLOSED":
      return new AttachError(
        "ERR_REMOTE_GONE",
        `the rpmsg link is down: ${e.message.replace(/\.$/, "")}`,
        "The remote went away: check its output and restart it.",
        e,
      );
    case "ERR_ABORTED":
      return new Interrupted("interrupted");
    default:
      return e;
  }
}
