// Human-readable lines for resource-table entries (used by inspect and rsc decode --text).
import { FW_RSC_ADDR_ANY, type Resource } from "@amp/resource-table";
import { hex } from "./format.js";

function addr(v: number): string {
  return v === FW_RSC_ADDR_ANY ? "ANY" : hex(v);
}

function named(name: string): string {
  return name === "" ? "" : ` "${name}"`;
}

/** VIRTIO_ID_* names of the device ids that appear in resource tables. */
const VIRTIO_IDS: Record<number, string> = {
  1: "net",
  2: "block",
  3: "console",
  7: "rpmsg",
  11: "rproc-serial",
  34: "i2c",
  41: "gpio",
  45: "spi",
};

/** One entry as one or more indented-ready lines. */
export function describeResource(r: Resource): string[] {
  const at = `[${hex(r.offset)}]`;
  switch (r.kind) {
    case "carveout":
    case "devmem":
      return [
        `${at} ${r.kind}${named(r.name)}: da ${addr(r.da)}, pa ${addr(r.pa)}, len ${hex(r.len)}, flags ${hex(r.flags)}`,
      ];
    case "trace":
      return [`${at} trace${named(r.name)}: da ${addr(r.da)}, len ${hex(r.len)}`];
    case "vdev": {
      const kind = VIRTIO_IDS[r.id] ?? "unknown";
      const lines = [
        `${at} vdev id ${r.id} (${kind}): notifyid ${addr(r.notifyId)}, dfeatures ${hex(r.dfeatures)}, gfeatures ${hex(r.gfeatures)}, status ${hex(r.status)}, config_len ${r.configLen}, ${r.vrings.length} vring${r.vrings.length === 1 ? "" : "s"}`,
      ];
      r.vrings.forEach((v, i) =>
        lines.push(`    vring${i}: da ${addr(v.da)}, align ${v.align}, num ${v.num}, notifyid ${addr(v.notifyId)}`),
      );
      return lines;
    }
    case "vendor":
      return [`${at} vendor type ${r.type}: ${r.data.length} bytes`];
    case "unsupported":
      return [`${at} unsupported type ${r.type} (skipped by Linux): ${r.data.length} bytes`];
  }
}
