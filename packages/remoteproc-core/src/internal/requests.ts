import type { ResourceInit } from "@amp/resource-table";
import { vringSize } from "@amp/virtio-ring";
import { FW_RSC_ADDR_ANY } from "@amp/resource-table";
import type { ResourceRequest } from "../resources.js";

const U32 = 0x1_0000_0000;

/** True for an integer in 0 .. 2^32 - 1. */
export function isU32(x: unknown): x is number {
  return typeof x === "number" && Number.isInteger(x) && x >= 0 && x < U32;
}

/** Checks a caller's resource request (misuse is a TypeError/RangeError). */
export function checkRequest(r: ResourceRequest): void {
  if (typeof r !== "object") throw new TypeError("resource request must be an object");
  switch (r.kind) {
    case "carveout":
    case "trace":
      if (typeof r.name !== "string" || r.name === "" || r.name.length > 31)
        throw new TypeError(`${r.kind} needs a name of 1..31 characters`);
      if (!isU32(r.len) || r.len === 0) throw new RangeError(`${r.kind} "${r.name}": len must be a non-zero u32`);
      if (r.da !== undefined && (!isU32(r.da) || r.da === FW_RSC_ADDR_ANY))
        throw new RangeError(`${r.kind} "${r.name}": da must be a u32`);
      return;
    case "vdev":
      if (!isU32(r.id)) throw new RangeError("vdev id must be a u32");
      if (!Array.isArray(r.vrings) || r.vrings.length === 0 || r.vrings.length > 2)
        throw new RangeError("a vdev has 1 or 2 vrings");
      for (const v of r.vrings as readonly { num: number; align: number }[]) vringSize(v.num, v.align);
      return;
    default:
      throw new TypeError(`unknown resource kind ${String((r as { kind?: unknown }).kind)}`);
  }
}

/** The resource-table builder entry for a request (resource-less firmware). */
export function toInit(r: ResourceRequest): ResourceInit {
  switch (r.kind) {
    case "carveout":
      return {
        kind: "carveout",
        name: r.name,
        len: r.len,
        ...(r.da === undefined ? {} : { da: r.da }),
        ...(r.flags === undefined ? {} : { flags: r.flags }),
      };
    case "trace":
      return { kind: "trace", name: r.name, len: r.len, da: r.da ?? FW_RSC_ADDR_ANY };
    case "vdev":
      return {
        kind: "vdev",
        id: r.id,
        dfeatures: r.dfeatures ?? 0,
        vrings: r.vrings.map((v) => ({ num: v.num, align: v.align, da: v.da ?? FW_RSC_ADDR_ANY })),
        ...(r.config === undefined ? {} : { config: r.config }),
      };
  }
}
