// The crash-dump path: which regions a dump holds, writing it to a sink (inline: read as
// written; default: copied whole, handed over without waiting), and the snapshot window a
// shutdown's beforeRelease hook sees.
import type { CoredumpInfo, CoredumpSegmentSpec, CoredumpSink } from "../coredump.js";
import type { SnapshotWindow } from "../options.js";
import type { CarveoutInfo } from "../resources.js";
import type { Allocation } from "../internal/allocator.js";
import { concatBytes } from "@amp/virtio-ring";
import type { CoreContext } from "../internal/context.js";
import { rprocError } from "../internal/error.js";
import type { Session } from "../session/session.js";
import { streamCoredump } from "./coredump-writer.js";
import { planDumpSegments } from "./dump-plan.js";
import { parseTraceBuffer, traceNoteFor } from "../trace-record.js";
import type { TraceNote } from "../trace-record.js";

/** Writes a coredump of `s` to `sink`; undefined (and an "error" event) when no ELF class is known. */
export async function writeDump(
  ctx: CoreContext,
  s: Session,
  sink: CoredumpSink,
  mode: "inline" | "default",
  reason: "crash" | "manual",
): Promise<CoredumpInfo | undefined> {
  const elf = s.state.firmware?.elf ?? ctx.coredumpElf;
  if (elf === undefined) {
    ctx.report("coredump", rprocError("ERR_UNSUPPORTED", "no coredump: the ELF class is not set (pass coredumpElf)"));
    return undefined;
  }
  const specs = planDumpSegments(allocatedRegions(ctx, s), ctx.dumpSegments);
  const size = await streamCoredump(
    {
      elf,
      entry: s.state.bootAddr,
      segments: specs,
      notes: traceNotes(s),
      translate: (da, len) => ctx.translate(da, len),
    },
    (chunk) => sink.write(chunk),
  );
  const crashType = s.state.crashType;
  const info: CoredumpInfo = {
    reason,
    mode,
    size,
    segments: specs.length,
    ...(reason === "crash" && crashType !== undefined ? { crashType } : {}),
  };
  if (mode === "inline") await sink.close?.(info);
  ctx.emit("coredump", info);
  return info;
}

/** The crash coredump of recovery, as the coredump mode says; its failures go to the "error" event. */
export async function crashDump(ctx: CoreContext, s: Session): Promise<void> {
  const mode = ctx.dumpMode();
  const sink = ctx.coredumpSink;
  if (mode === "disabled" || sink === undefined) return;
  try {
    if (mode === "inline") {
      await writeDump(ctx, s, sink, "inline", "crash");
      return;
    }
    // default: copy everything now, hand it over, do not wait for the sink.
    const chunks: Uint8Array[] = [];
    const info = await writeDump(
      ctx,
      s,
      {
        write: (c) => {
          chunks.push(c.slice());
        },
      },
      "default",
      "crash",
    );
    if (info === undefined) return;
    const all = concatBytes(chunks);
    void Promise.resolve()
      .then(() => sink.write(all))
      .then(() => sink.close?.(info))
      .catch((error: unknown) => {
        ctx.report("coredump", error);
      });
  } catch (error) {
    ctx.report("coredump", error);
  }
}

/** Frees the vdev allocations kept for a crash coredump. */
export function freeRetired(ctx: CoreContext, s: Session): void {
  for (const r of s.retired) ctx.regions.free(r.alloc);
  s.retired.length = 0;
}

/** The allocated carveouts of `s`, as the public API shows them. */
export function carveoutInfos(s: Session): CarveoutInfo[] {
  const out: CarveoutInfo[] = [];
  for (const c of s.resources.carveouts) {
    if (c.alloc !== undefined)
      out.push({
        name: c.name,
        da: c.alloc.da,
        pa: c.alloc.pa,
        size: c.alloc.size,
        entryOffset: c.entryOffset,
        window: c.alloc.window,
      });
  }
  return out;
}

/** What a shutdown's beforeRelease hook may look at: the stopped remote's memory. */
export function snapshotWindow(ctx: CoreContext, s: Session): SnapshotWindow {
  return {
    traces: s.resources.traces.flatMap((t) => (t.buffer === undefined ? [] : [t.buffer])),
    carveouts: carveoutInfos(s),
    translate: (da, len) => ctx.translate(da, len),
    coredump: (sink) => writeDump(ctx, s, sink, "inline", "manual"),
  };
}

/**
 * Every region held for the remote, as Linux's default dump (all carveouts, vrings and vdev
 * buffers among them): carveouts, then per vdev its vrings, buffer region and allocations
 * (live, or kept after a crash), then allocated trace buffers, then fixed-address trace buffers
 * that are backed by memory.
 */
function allocatedRegions(ctx: CoreContext, s: Session): CoredumpSegmentSpec[] {
  const out: CoredumpSegmentSpec[] = [];
  const add = (a: Allocation | undefined, name: string): void => {
    if (a !== undefined) out.push({ da: a.da, size: a.size, name });
  };
  const { carveouts, vdevs, traces } = s.resources;
  for (const c of carveouts) add(c.alloc, c.name);
  for (const v of vdevs) {
    for (const r of v.vrings) add(r.alloc, `vdev${v.index}vring${r.index}`);
    if (v.bufferShared !== true) add(v.buffer, `vdev${v.index}buffer`);
    for (const a of v.extra) add(a, `vdev${v.index} allocation`);
  }
  for (const r of s.retired) add(r.alloc, `vdev${r.vdev} allocation`);
  for (const t of traces) add(t.alloc, t.name);
  for (const t of traces) {
    if (t.alloc === undefined && t.reqDa !== undefined && ctx.translate(t.reqDa, t.len) !== undefined)
      out.push({ da: t.reqDa, size: t.len, name: t.name });
  }
  return out;
}

/**
 * One trace note per trace buffer that still reads: the last records before the dump, so a core
 * says what the remote was doing even after its memory has been reused.
 */
function traceNotes(s: Session): TraceNote[] {
  return s.resources.traces.flatMap((t) => {
    const raw = t.buffer?.readRaw();
    return raw === undefined ? [] : [traceNoteFor(parseTraceBuffer(raw))];
  });
}
