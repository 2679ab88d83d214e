// Boot steps "resource table", "register resources" and "amend resources": the table is checked
// and decoded in one walk, its entries become host-side resources (vring notify ids assigned and
// written, Linux order), and the platform's and program's resources are merged by name, or a
// table is generated for firmware that has none.
import { FW_RSC_ADDR_ANY, checkResourceTable, serializeResourceTable } from "@amp/resource-table";
import type { ResourceInit, ResourceTable } from "@amp/resource-table";
import type { ResourceRequest } from "../resources.js";
import type { CoreContext } from "../internal/context.js";
import { rprocError } from "../internal/error.js";
import { hex } from "@amp/virtio-ring";
import { toInit } from "../internal/requests.js";
import { TableWindow, writeVringNotifyId } from "../internal/table.js";
import type { Session } from "../session/session.js";

/**
 * Checks and decodes a table in one walk over the host's own copy of its bytes.
 * @throws AmpError ERR_MALFORMED with the first error diagnostic (its code, message and offset).
 */
export function parseTable(ctx: CoreContext, bytes: Uint8Array): ResourceTable {
  const { table, diagnostics } = checkResourceTable(bytes, { maxEntries: ctx.limits.maxEntries });
  const bad = diagnostics.find((d) => d.severity === "error");
  if (bad !== undefined || table === undefined)
    throw rprocError("ERR_MALFORMED", `resource table: ${bad?.code ?? "?"}: ${bad?.message ?? ""}`, {
      ...(bad === undefined ? {} : { offset: bad.offset }),
    });
  return table;
}

/** Turns table entries into host-side resources; writes vring notify ids (Linux, before start). */
export async function registerTable(
  ctx: CoreContext,
  s: Session,
  table: TableWindow,
  parsed: ResourceTable,
): Promise<void> {
  const { carveouts, traces, vdevs, devmems } = s.resources;
  let notifyId = 0;
  for (const e of parsed.entries) {
    switch (e.kind) {
      case "carveout":
        carveouts.push({ name: e.name, entryOffset: e.offset, reqDa: anyToUndefined(e.da), len: e.len });
        break;
      case "devmem":
        if (ctx.driver.mapDevmem === undefined)
          throw rprocError("ERR_UNSUPPORTED", `devmem "${e.name}" needs a driver with mapDevmem (Linux: an IOMMU)`, {
            offset: e.offset,
          });
        devmems.push({ name: e.name, da: e.da, pa: e.pa, len: e.len, flags: e.flags });
        break;
      case "trace":
        if (e.len > 0) traces.push({ name: e.name, entryOffset: e.offset, reqDa: anyToUndefined(e.da), len: e.len });
        break;
      case "vdev": {
        if (vdevs.length >= ctx.limits.maxVdevs)
          throw rprocError("ERR_LIMIT", `more than maxVdevs ${ctx.limits.maxVdevs} vdevs`, { offset: e.offset });
        if (typeof ctx.driver.kick !== "function")
          throw rprocError("ERR_UNSUPPORTED", "the firmware has a vdev but the driver has no kick()", {
            offset: e.offset,
          });
        const vrings = e.vrings.map((v, j) => {
          const id = notifyId++;
          writeVringNotifyId(table, e.offset, j, id);
          // The da the firmware asked for is taken here, once; from allocation on the host uses its own.
          return { index: j, num: v.num, align: v.align, reqDa: anyToUndefined(v.da), notifyId: id };
        });
        vdevs.push({ index: vdevs.length, id: e.id, entryOffset: e.offset, configLen: e.configLen, vrings, extra: [] });
        break;
      }
      case "vendor": {
        if (ctx.driver.handleResource === undefined) break;
        const result: string = await ctx.driver.handleResource({
          type: e.type,
          offset: e.offset,
          bytes: table.read(e.offset, table.size - e.offset),
        });
        if (result !== "handled" && result !== "ignored")
          throw rprocError("ERR_UNSUPPORTED", `vendor resource ${e.type}: handler answered ${result}`, {
            offset: e.offset,
          });
        break;
      }
      case "unsupported":
        break;
    }
  }
}

/** Platform and program resources: merged by name with the firmware's, or a generated table. */
export async function amendResources(
  ctx: CoreContext,
  s: Session,
  requests: readonly ResourceRequest[],
): Promise<void> {
  if (requests.length === 0) return;
  const { carveouts, traces } = s.resources;
  if (s.table.cached === undefined && s.table.live === undefined && s.state.mode === "boot") {
    await generateTable(ctx, s, requests);
    return;
  }
  for (const r of requests) {
    if (r.kind === "vdev")
      throw rprocError(
        "ERR_UNSUPPORTED",
        "vdev resources can be registered only for firmware without a resource table",
      );
    const sameName = [
      ...carveouts.filter((c) => c.name === r.name).map(() => "carveout"),
      ...traces.filter((t) => t.name === r.name).map(() => "trace"),
    ];
    if (sameName.length > 0 && !sameName.includes(r.kind)) {
      throw rprocError(
        "ERR_RESOURCE_CONFLICT",
        `platform ${r.kind} "${r.name}" conflicts with the firmware's ${sameName[0] ?? ""} of that name`,
      );
    }
    const existing =
      r.kind === "carveout" ? carveouts.find((c) => c.name === r.name) : traces.find((t) => t.name === r.name);
    if (existing === undefined) {
      if (r.kind === "carveout") carveouts.push({ name: r.name, entryOffset: undefined, reqDa: r.da, len: r.len });
      else traces.push({ name: r.name, entryOffset: undefined, reqDa: r.da, len: r.len });
      continue;
    }
    if (existing.len !== r.len) {
      throw rprocError(
        "ERR_RESOURCE_CONFLICT",
        `${r.kind} "${r.name}": firmware asks ${hex(existing.len)} bytes, the platform ${hex(r.len)}`,
        { ...(existing.entryOffset === undefined ? {} : { offset: existing.entryOffset }) },
      );
    }
    const da = existing.reqDa;
    if (r.da !== undefined && da !== undefined && r.da !== da) {
      throw rprocError(
        "ERR_RESOURCE_CONFLICT",
        `${r.kind} "${r.name}": firmware wants da ${hex(da)}, the platform ${hex(r.da)}`,
      );
    }
    if (r.da !== undefined) existing.reqDa = r.da;
  }
}

/** Resource-less firmware: the core writes the table (behaviour-and-features.md §2). */
async function generateTable(ctx: CoreContext, s: Session, requests: readonly ResourceRequest[]): Promise<void> {
  const entries: ResourceInit[] = requests.map(toInit);
  const bytes = serializeResourceTable({ entries }, { align: 8 });
  const cached = TableWindow.copyOf(bytes);
  s.table.cached = cached;
  s.table.generated = true;
  const da = ctx.driver.resourceTableLocation?.(bytes.length);
  if (da !== undefined) {
    if (!Number.isSafeInteger(da) || da < 0)
      throw new RangeError("resourceTableLocation must return a device address (an integer in 0 .. 2^53 - 1)");
    s.table.location = { da, size: bytes.length };
  } else if (requests.some((r) => r.kind === "vdev")) {
    throw rprocError(
      "ERR_UNSUPPORTED",
      "resource-less firmware with virtio devices needs driver.resourceTableLocation()",
    );
  }
  await registerTable(ctx, s, cached, parseTable(ctx, bytes));
}

function anyToUndefined(da: number): number | undefined {
  return da === FW_RSC_ADDR_ANY ? undefined : da;
}
