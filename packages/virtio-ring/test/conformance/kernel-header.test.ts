// Conformance against the kernel's own <linux/virtio_ring.h> (Debian linux-libc-dev): a C
// program compiled with the system gcc prints vring_size and every field offset for all
// power-of-two (num, align) pairs, vring_need_event for ~20k triples and the struct layouts; we
// must agree on every line.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { compileC, requireTools, run } from "@amp/test-utils";
import {
  VIRTIO_RING_F_EVENT_IDX,
  VIRTIO_RING_F_INDIRECT_DESC,
  VRING_AVAIL_F_NO_INTERRUPT,
  VRING_DESC_F_INDIRECT,
  VRING_DESC_F_NEXT,
  VRING_DESC_F_WRITE,
  VRING_DESC_SIZE,
  VRING_PACKED_DESC_F_AVAIL,
  VRING_PACKED_DESC_F_USED,
  VRING_PACKED_EVENT_FLAG_DESC,
  VRING_PACKED_EVENT_FLAG_DISABLE,
  VRING_PACKED_EVENT_FLAG_ENABLE,
  VRING_PACKED_EVENT_F_WRAP_CTR,
  VRING_USED_ELEM_SIZE,
  VRING_USED_F_NO_NOTIFY,
  splitRingLayout,
  vringNeedEvent,
  vringSize,
} from "@amp/virtio-ring";

const missing = requireTools("gcc");

describe.skipIf(missing !== undefined)("<linux/virtio_ring.h>", () => {
  const exe = compileC(readFileSync(join(import.meta.dirname, "vring-layout.c"), "utf8"), { name: "vring-layout" });
  const lines = run(exe, [])
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as Record<string, number | string>);

  it("vring_size and every offset for all power-of-two (num, align) pairs", () => {
    const layouts = lines.filter((l) => l["kind"] === "layout");
    expect(layouts.length).toBe(16 * 17);
    const bad: string[] = [];
    for (const l of layouts) {
      const num = l["num"] as number;
      const align = l["align"] as number;
      const ours = splitRingLayout(num, align);
      const theirs = {
        num,
        align,
        desc: l["desc"],
        avail: l["avail"],
        usedEvent: l["usedEvent"],
        used: l["used"],
        availEvent: l["availEvent"],
        size: l["size"],
      };
      if (JSON.stringify(ours) !== JSON.stringify(theirs) || vringSize(num, align) !== l["size"])
        bad.push(`${num}/${align}`);
    }
    expect(bad).toEqual([]);
  });

  it("vring_need_event on edge and random triples", () => {
    const events = lines.filter((l) => l["kind"] === "event");
    expect(events.length).toBeGreaterThan(20000);
    const bad = events.filter(
      (l) => vringNeedEvent(l["e"] as number, l["n"] as number, l["o"] as number) !== (l["r"] === 1),
    );
    expect(bad).toEqual([]);
  });

  it("struct layouts and flag values", () => {
    const s = lines.find((l) => l["kind"] === "struct")!;
    expect(s).toMatchObject({
      descSize: VRING_DESC_SIZE,
      usedElemSize: VRING_USED_ELEM_SIZE,
      packedSize: 16,
      descAddr: 0,
      descLen: 8,
      descFlags: 12,
      descNext: 14,
      packedAddr: 0,
      packedLen: 8,
      packedId: 12,
      packedFlags: 14,
      eventSize: 4,
      eventOffWrap: 0,
      eventFlags: 2,
      F_NEXT: VRING_DESC_F_NEXT,
      F_WRITE: VRING_DESC_F_WRITE,
      F_INDIRECT: VRING_DESC_F_INDIRECT,
      AVAIL_NO_INTERRUPT: VRING_AVAIL_F_NO_INTERRUPT,
      USED_NO_NOTIFY: VRING_USED_F_NO_NOTIFY,
      EV_ENABLE: VRING_PACKED_EVENT_FLAG_ENABLE,
      EV_DISABLE: VRING_PACKED_EVENT_FLAG_DISABLE,
      EV_DESC: VRING_PACKED_EVENT_FLAG_DESC,
      EV_WRAP: VRING_PACKED_EVENT_F_WRAP_CTR,
      INDIRECT_DESC: VIRTIO_RING_F_INDIRECT_DESC,
      EVENT_IDX: VIRTIO_RING_F_EVENT_IDX,
    });
    // Linux defines the packed AVAIL/USED flags as shift counts, we as masks.
    expect(1 << (s["P_AVAIL"] as number)).toBe(VRING_PACKED_DESC_F_AVAIL);
    expect(1 << (s["P_USED"] as number)).toBe(VRING_PACKED_DESC_F_USED);
  });
});
