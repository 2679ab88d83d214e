import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  FW_RSC_ADDR_ANY,
  serializeResourceTable,
  validateResourceTable,
  type Diagnostic,
  type ResourceInit,
  type ValidateOptions,
} from "@amp/resource-table";
import { rawTable, u32le, workedExample } from "../helpers.ts";

const vdev = (over: Partial<Extract<ResourceInit, { kind: "vdev" }>> = {}): ResourceInit => ({
  kind: "vdev",
  id: 7,
  vrings: [
    { align: 4096, num: 256 },
    { align: 4096, num: 256 },
  ],
  ...over,
});
const one = (e: ResourceInit): Uint8Array => serializeResourceTable({ entries: [e] });
/** One vdev at offset 20 with 1 vring; `mut` edits the bytes (vring at 48, num at 56, align at 52). */
const vdevBytes = (mut: (b: Uint8Array) => void): Uint8Array => {
  const b = one(vdev({ vrings: [{ align: 4096, num: 256 }] }));
  mut(b);
  return b;
};

// One case per diagnostic code: the bytes, the options, and where the finding must point.
const cases: Record<
  string,
  { bytes: () => Uint8Array; options?: ValidateOptions; offset: number; severity: "error" | "warning" }
> = {
  RSC_TABLE_TRUNCATED: { bytes: () => new Uint8Array(12), offset: 0, severity: "error" },
  RSC_VERSION_UNSUPPORTED: { bytes: () => rawTable(16, [], 0), offset: 0, severity: "error" },
  RSC_HEADER_RESERVED_NONZERO: {
    bytes: () => {
      const b = rawTable(16, []);
      u32le(b, 12, 1);
      return b;
    },
    offset: 8,
    severity: "error",
  },
  RSC_TOO_MANY_ENTRIES: {
    bytes: () => rawTable(16 + 12, [0, 0, 0]),
    options: { maxEntries: 2 },
    offset: 4,
    severity: "error",
  },
  RSC_OFFSET_ARRAY_OUT_OF_RANGE: {
    bytes: () => {
      const b = rawTable(20, []);
      u32le(b, 4, 2);
      return b;
    },
    offset: 4,
    severity: "error",
  },
  RSC_OFFSET_OUT_OF_RANGE: { bytes: () => rawTable(24, [0xfffffffc]), offset: 16, severity: "error" },
  RSC_OFFSET_IN_HEADER: {
    bytes: () => {
      const b = rawTable(24 + 48, [16]);
      u32le(b, 16, 16);
      return b;
    },
    offset: 16,
    severity: "error",
  },
  RSC_OFFSET_MISALIGNED: {
    bytes: () => {
      const b = rawTable(21 + 8, [21]);
      u32le(b, 21, 200);
      return b;
    },
    offset: 16,
    severity: "warning",
  },
  RSC_ENTRIES_OVERLAP: {
    bytes: () => {
      const b = rawTable(24 + 48, [24, 24]);
      u32le(b, 24, 2);
      u32le(b, 28, 0x1000);
      u32le(b, 32, 64);
      return b;
    },
    offset: 20,
    severity: "error",
  },
  RSC_ENTRY_TRUNCATED: {
    bytes: () => {
      const b = rawTable(20 + 40, [20]);
      u32le(b, 20, 2);
      return b;
    },
    offset: 20,
    severity: "error",
  },
  RSC_RESERVED_NONZERO: {
    bytes: () => {
      const b = one({ kind: "carveout", da: 0, len: 16 });
      u32le(b, 40, 1);
      return b;
    },
    offset: 40,
    severity: "error",
  },
  RSC_NAME_UNTERMINATED: {
    bytes: () => {
      const b = one({ kind: "trace", da: 0x1000, len: 16 });
      b.fill(0x41, 36, 68);
      return b;
    },
    offset: 36,
    severity: "error",
  },
  RSC_NAME_INVALID_UTF8: {
    bytes: () => {
      const b = one({ kind: "trace", da: 0x1000, len: 16 });
      b.set([0x61, 0xff, 0x62], 36);
      return b;
    },
    offset: 36,
    severity: "warning",
  },
  RSC_ADDRESS_RANGE_WRAPS: {
    bytes: () => one({ kind: "carveout", da: 0xffff_f000, len: 0x2000 }),
    offset: 24,
    severity: "error",
  },
  RSC_CARVEOUT_LEN_ZERO: {
    bytes: () => one({ kind: "carveout", da: 0x1000, len: 0 }),
    offset: 32,
    severity: "warning",
  },
  RSC_DEVMEM_NEEDS_IOMMU: {
    bytes: () => one({ kind: "devmem", da: 0x1000, pa: 0x1000, len: 0x100 }),
    offset: 20,
    severity: "warning",
  },
  RSC_TRACE_UNUSABLE: {
    bytes: () => one({ kind: "trace", da: FW_RSC_ADDR_ANY, len: 64 }),
    offset: 20,
    severity: "warning",
  },
  RSC_VDEV_TOO_MANY_VRINGS: {
    bytes: () => one(vdev({ vrings: [1, 2, 3].map(() => ({ align: 16, num: 8 })) })),
    offset: 45,
    severity: "error",
  },
  RSC_VDEV_VRINGS_TRUNCATED: {
    bytes: () =>
      vdevBytes((b) => {
        b[45] = 255;
      }),
    offset: 45,
    severity: "error",
  },
  RSC_VDEV_CONFIG_TRUNCATED: {
    bytes: () =>
      vdevBytes((b) => {
        u32le(b, 40, 0xfffffff0);
      }),
    offset: 40,
    severity: "error",
  },
  RSC_VRING_NUM_ZERO: {
    bytes: () =>
      vdevBytes((b) => {
        u32le(b, 56, 0);
      }),
    offset: 56,
    severity: "error",
  },
  RSC_VRING_NUM_NOT_POWER_OF_2: {
    bytes: () =>
      vdevBytes((b) => {
        u32le(b, 56, 3);
      }),
    offset: 56,
    severity: "error",
  },
  RSC_VRING_NUM_TOO_LARGE: {
    bytes: () =>
      vdevBytes((b) => {
        u32le(b, 56, 65536);
      }),
    offset: 56,
    severity: "error",
  },
  RSC_VRING_ALIGN_ZERO: {
    bytes: () =>
      vdevBytes((b) => {
        u32le(b, 52, 0);
      }),
    offset: 52,
    severity: "error",
  },
  RSC_VRING_ALIGN_NOT_POWER_OF_2: {
    bytes: () =>
      vdevBytes((b) => {
        u32le(b, 52, 3);
      }),
    offset: 52,
    severity: "error",
  },
  RSC_VRING_ALIGN_TOO_LARGE: {
    bytes: () =>
      vdevBytes((b) => {
        u32le(b, 52, 0x8000_0000);
      }),
    offset: 52,
    severity: "error",
  },
  RSC_TYPE_UNSUPPORTED: {
    bytes: () => {
      const b = rawTable(28, [20]);
      u32le(b, 20, 4);
      return b;
    },
    offset: 20,
    severity: "warning",
  },
  RSC_VENDOR_DECODE_FAILED: {
    bytes: () => {
      const b = rawTable(28, [20]);
      u32le(b, 20, 128);
      return b;
    },
    options: {
      decodeVendor: () => {
        throw new Error("bad vendor blob");
      },
    },
    offset: 20,
    severity: "error",
  },
};

describe("validateResourceTable: one test per diagnostic", () => {
  it.each(Object.entries(cases))("%s", (code, c) => {
    const found = validateResourceTable(c.bytes(), c.options).filter((d) => d.code === code);
    expect(found.length).toBeGreaterThanOrEqual(1);
    const d = found[0] as Diagnostic;
    expect(d.severity).toBe(c.severity);
    expect(d.offset).toBe(c.offset);
    expect(d.message.length).toBeGreaterThan(10);
  });

  it("the README lists exactly the codes tested here", () => {
    const readme = readFileSync(new URL("../../README.md", import.meta.url), "utf8");
    const listed = [...readme.matchAll(/^\| `(RSC_[A-Z0-9_]+)` \| (error|warning) \|/gm)].map((m) => `${m[1]} ${m[2]}`);
    expect(listed.sort()).toEqual(
      Object.entries(cases)
        .map(([k, c]) => `${k} ${c.severity}`)
        .sort(),
    );
  });
});

describe("validateResourceTable: clean tables and behaviour", () => {
  it("the worked example is clean", () => {
    expect(validateResourceTable(workedExample())).toEqual([]);
  });

  it("a table with every standard type and a vendor entry is clean apart from the devmem note", () => {
    const b = serializeResourceTable({
      entries: [
        { kind: "carveout", da: 0x1000_0000, len: 0x1000, name: "a" },
        { kind: "devmem", da: 0x4000_0000, pa: 0x4000_0000, len: 0x1000 },
        { kind: "trace", da: 0x2000_0000, len: 0x400 },
        vdev(),
        { kind: "vendor", type: 128, data: new Uint8Array(8) },
      ],
    });
    expect(validateResourceTable(b).map((d) => d.code)).toEqual(["RSC_DEVMEM_NEEDS_IOMMU"]);
  });

  it("keeps walking after a bad entry and reports the others", () => {
    const b = rawTable(24 + 8 + 8, [0xffff, 32]);
    u32le(b, 32, 5);
    expect(validateResourceTable(b).map((d) => d.code)).toEqual(["RSC_OFFSET_OUT_OF_RANGE", "RSC_TYPE_UNSUPPORTED"]);
  });

  it("reports each vring separately", () => {
    const b = one(vdev());
    u32le(b, 56, 0); // vring 0 num
    u32le(b, 72, 5); // vring 1 align
    expect(validateResourceTable(b).map((d) => `${d.code}@${d.offset}`)).toEqual([
      "RSC_VRING_NUM_ZERO@56",
      "RSC_VRING_ALIGN_NOT_POWER_OF_2@72",
    ]);
  });

  it("a vdev with ANY addresses does not wrap; a fixed one at the top does", () => {
    expect(validateResourceTable(one({ kind: "carveout", da: FW_RSC_ADDR_ANY, len: 0x1000 }))).toEqual([]);
    expect(validateResourceTable(one({ kind: "carveout", da: 0xffff_f000, len: 0x1000 }))).toEqual([]);
    expect(validateResourceTable(one({ kind: "trace", da: 0xffff_fff0, len: 0x11 })).map((d) => d.code)).toEqual([
      "RSC_ADDRESS_RANGE_WRAPS",
    ]);
    expect(
      validateResourceTable(one({ kind: "devmem", da: 0x1000, pa: 0xffff_ff00, len: 0x1000 })).map((d) => d.code),
    ).toContain("RSC_ADDRESS_RANGE_WRAPS");
  });

  it("a carveout whose pa + len passes 2^32 is flagged like a devmem one (issue 15 item 10)", () => {
    // pa = 0xffff_f000, len = 0x2000: [pa, pa + len) wraps; da is ANY so only pa is wrong.
    const b = one({ kind: "carveout", da: FW_RSC_ADDR_ANY, len: 0x2000 });
    u32le(b, 28, 0xffff_f000); // carveout.pa (entry at 20, pa at +8)
    const d = validateResourceTable(b);
    expect(d.map((x) => `${x.code}@${x.offset}:${x.severity}`)).toEqual(["RSC_ADDRESS_RANGE_WRAPS@28:error"]);
    expect(d[0]?.message).toMatch(/pa 0xfffff000 \+ len 0x2000/);
    // pa = ANY is "let the host choose" and never wraps; a pa ending exactly at 2^32 is fine.
    u32le(b, 28, FW_RSC_ADDR_ANY);
    expect(validateResourceTable(b)).toEqual([]);
    u32le(b, 28, 0xffff_e000);
    expect(validateResourceTable(b)).toEqual([]);
  });

  it("trace with len 0 is unusable too", () => {
    expect(validateResourceTable(one({ kind: "trace", da: 0x1000, len: 0 })).map((d) => d.code)).toEqual([
      "RSC_TRACE_UNUSABLE",
    ]);
  });

  it("limits are options", () => {
    const b = vdevBytes((x) => {
      u32le(x, 56, 1024);
      u32le(x, 52, 4096);
    });
    expect(validateResourceTable(b, { maxVringNum: 512 }).map((d) => d.code)).toEqual(["RSC_VRING_NUM_TOO_LARGE"]);
    expect(validateResourceTable(b, { maxVringAlign: 1024 }).map((d) => d.code)).toEqual(["RSC_VRING_ALIGN_TOO_LARGE"]);
  });

  it("rejects bad limits as misuse", () => {
    expect(() => validateResourceTable(workedExample(), { maxVringNum: -1 })).toThrow(RangeError);
    expect(() => validateResourceTable(workedExample(), { maxVringAlign: 0.5 })).toThrow(RangeError);
  });

  it("a vdev reserved byte is an error", () => {
    const b = one(vdev());
    b[47] = 1;
    expect(validateResourceTable(b).map((d) => `${d.code}@${d.offset}`)).toEqual(["RSC_RESERVED_NONZERO@46"]);
  });

  it("never throws AmpError, even for the nastiest header", () => {
    const b = new Uint8Array(64).fill(0xff);
    u32le(b, 0, 1);
    expect(validateResourceTable(b).map((d) => d.code)).toEqual([
      "RSC_HEADER_RESERVED_NONZERO",
      "RSC_TOO_MANY_ENTRIES",
    ]);
  });
});

describe("validateResourceTable: overlap detection", () => {
  it("finds an entry inside a long opaque entry even when a short one sits between", () => {
    // A vdev whose config space covers a vendor entry and a trace entry: the trace only touches
    // the vendor entry's end, so comparing neighbours alone would miss its overlap with the vdev.
    const b = rawTable(28 + 28 + 40 + 48, [28, 60, 80]);
    u32le(b, 28, 3); // vdev at 28, config_len 60: [28, 116)
    u32le(b, 48, 60);
    u32le(b, 60, 200); // vendor at 60 (inside the vdev), runs to 80
    u32le(b, 80, 2); // trace at 80 (inside the vdev too)
    const found = validateResourceTable(b)
      .filter((d) => d.code === "RSC_ENTRIES_OVERLAP")
      .map((d) => d.offset);
    expect(found).toEqual([20, 24]);
  });
});
