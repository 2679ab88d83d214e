// Boot steps "firmware", "loadAndVerify" and "load segments": the image comes from the firmware
// source, the loader verifies and parses it, and its segments are written through the core's
// address translation.
import type { FirmwareSource } from "../firmware-source.js";
import type { LoadedFirmware, LoaderContext, SegmentTarget } from "../loader.js";
import type { MemoryWindow } from "../memory.js";
import type { CoreContext } from "../internal/context.js";
import { rprocError } from "../internal/error.js";

/** The configured firmware source. @throws AmpError ERR_NO_FIRMWARE when there is none. */
export function requireSource(ctx: CoreContext): FirmwareSource {
  if (ctx.source === undefined) throw rprocError("ERR_NO_FIRMWARE", "no firmware source configured");
  return ctx.source;
}

/** The image bytes. @throws AmpError ERR_NO_FIRMWARE when the source does not have them. */
export async function fetchFirmware(ctx: CoreContext): Promise<Uint8Array> {
  const name = ctx.firmwareName();
  const bytes = await requireSource(ctx).get(name);
  if (bytes === undefined) throw rprocError("ERR_NO_FIRMWARE", `firmware "${name}" not found`);
  return bytes;
}

/** loader.loadAndVerify, told which image it is; companions come from the same source. */
export async function loadFirmware(ctx: CoreContext, bytes: Uint8Array): Promise<LoadedFirmware> {
  return ctx.loader.loadAndVerify(bytes, loaderContext(ctx));
}

function loaderContext(ctx: CoreContext): LoaderContext {
  const source = requireSource(ctx);
  return {
    firmwareName: ctx.firmwareName(),
    rprocName: ctx.name,
    readCompanion: async (name) => source.get(name),
  };
}

/** Copies the image's segments into device memory. */
export async function loadSegments(ctx: CoreContext, firmware: LoadedFirmware): Promise<void> {
  await firmware.loadSegments(segmentTarget(ctx));
}

function segmentTarget(ctx: CoreContext): SegmentTarget {
  const window = (da: bigint, length: number): MemoryWindow => {
    // Device addresses are numbers (exact below 2^53, wider than any CPU's physical addresses).
    if (da < 0n || da > BigInt(Number.MAX_SAFE_INTEGER) || !Number.isSafeInteger(length) || length < 0) {
      throw rprocError(
        "ERR_TRANSLATE",
        `segment at 0x${da.toString(16)} (+${length}) is beyond 2^53, outside every memory region`,
      );
    }
    const w = ctx.translate(Number(da), length);
    if (w === undefined)
      throw rprocError("ERR_TRANSLATE", `bad segment da 0x${da.toString(16)} (+${length}): not in device memory`);
    return w;
  };
  return {
    write: (da, bytes) => {
      const w = window(da, bytes.length);
      w.memory.write(w.offset, bytes);
    },
    fill: (da, length, value) => {
      if (length > BigInt(Number.MAX_SAFE_INTEGER))
        throw rprocError("ERR_TRANSLATE", `segment fill of 0x${length.toString(16)} bytes is too large`);
      const n = Number(length);
      const w = window(da, n);
      w.memory.fill(w.offset, n, value);
    },
  };
}
