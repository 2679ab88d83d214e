// Number formatting shared by the commands: every address, offset and size in JSON is a
// "0x..." string so 64-bit values survive JSON.parse.

import { hex } from "@amp/virtio-ring";

/** "0x" + lower-case hex of a number or bigint (one definition, in @amp/virtio-ring). */
export { hex };

/** Hex padded to `digits`, for aligned tables. */
export function hexPad(v: number | bigint, digits: number): string {
  return `0x${v.toString(16).padStart(digits, "0")}`;
}

/** Formats rows as left-aligned columns separated by two spaces. */
export function columns(rows: readonly (readonly string[])[], indent = "  "): string {
  const widths: number[] = [];
  for (const r of rows) r.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, c.length)));
  return rows
    .map((r) => indent + r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join("  "))
    .join("\n");
}

/** JSON with bigints as "0x..." strings, two-space indented, newline-terminated. */
export function toJson(value: unknown): string {
  return `${JSON.stringify(value, (_k, v: unknown) => (typeof v === "bigint" ? hex(v) : v), 2)}\n`;
}
