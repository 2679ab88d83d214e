// Which ranges a coredump holds: every region the core allocated for the remote (Linux dumps every
// carveout, and vrings and vdev buffers are carveouts there) plus the explicitly added segments,
// each byte once, in address order. Explicit segments win (they may carry their own reader); an allocated region
// that overlaps one keeps only the parts outside it.
import type { CoredumpSegmentSpec } from "../coredump.js";

interface Range {
  start: number;
  end: number;
}

/** `[start, end)` minus every range in `taken` (sorted by start), as the pieces that remain. */
function subtract(start: number, end: number, taken: readonly Range[]): Range[] {
  const out: Range[] = [];
  let at = start;
  for (const t of taken) {
    if (t.end <= at || t.start >= end) continue;
    if (t.start > at) out.push({ start: at, end: t.start });
    at = Math.max(at, t.end);
    if (at >= end) break;
  }
  if (at < end) out.push({ start: at, end });
  return out;
}

function insert(taken: Range[], r: Range): void {
  let i = 0;
  while (i < taken.length && (taken[i]?.start ?? 0) <= r.start) i++;
  taken.splice(i, 0, r);
}

/**
 * The segments of a coredump: the `allocated` regions (clipped so that no byte is dumped twice)
 * and the `explicit` segments unchanged, sorted by device address (the ELF spec wants PT_LOAD
 * entries in ascending p_vaddr order; the sort is stable). Empty allocated regions are left out.
 */
export function planDumpSegments(
  allocated: readonly CoredumpSegmentSpec[],
  explicit: readonly CoredumpSegmentSpec[],
): CoredumpSegmentSpec[] {
  const taken: Range[] = [];
  for (const e of explicit) if (e.size > 0) insert(taken, { start: e.da, end: e.da + e.size });
  const out: CoredumpSegmentSpec[] = [];
  for (const a of allocated) {
    if (a.size <= 0) continue;
    for (const piece of subtract(a.da, a.da + a.size, taken)) {
      out.push({ da: piece.start, size: piece.end - piece.start, ...(a.name === undefined ? {} : { name: a.name }) });
      insert(taken, piece);
    }
  }
  out.push(...explicit);
  return out
    .map((x, i) => ({ x, i }))
    .sort((a, b) => a.x.da - b.x.da || a.i - b.i)
    .map((e) => e.x);
}
