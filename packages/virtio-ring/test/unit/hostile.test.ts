// Each check the device and driver roles make on what the peer wrote, one forged ring at a time.
import { describe, expect, it } from "vitest";
import {
  AddressSpace,
  ArrayBufferMemory,
  PackedVirtqueueDevice,
  PackedVirtqueueDriver,
  SplitVirtqueueDevice,
  SplitVirtqueueDriver,
  VIRTIO_RING_F_INDIRECT_DESC,
  VRING_DESC_F_INDIRECT,
  VRING_DESC_F_NEXT,
  VRING_DESC_F_WRITE,
  VRING_PACKED_DESC_F_AVAIL,
  VRING_PACKED_DESC_F_USED,
  featureBit,
  isAmpError,
  legacyQueueAddresses,
  packedRingLayout,
  splitRingLayout,
} from "@amp/virtio-ring";

const N = 8;
const BUF = 0x10000;
const L = splitRingLayout(N, 16);

function env() {
  const ring = new ArrayBufferMemory(new ArrayBuffer(4096));
  const bufs = new ArrayBufferMemory(new ArrayBuffer(4096));
  const space = new AddressSpace().map(0, ring).map(BUF, bufs);
  return { ring, bufs, space };
}

function desc(
  ring: ArrayBufferMemory,
  i: number,
  addr: number,
  len: number,
  flags: number,
  next: number,
  base = 0,
): void {
  const d = base + 16 * i;
  ring.setU64(d, BigInt(addr));
  ring.setU32(d + 8, len);
  ring.setU16(d + 12, flags);
  ring.setU16(d + 14, next);
}

/** Offers `heads` on the split avail ring. */
function offer(ring: ArrayBufferMemory, ...heads: number[]): void {
  const idx = ring.getU16(L.avail + 2);
  heads.forEach((h, k) => ring.setU16(L.avail + 4 + 2 * ((idx + k) % N), h));
  ring.setU16(L.avail + 2, (idx + heads.length) & 0xffff);
}

function codeOf(f: () => unknown): string | undefined {
  try {
    f();
  } catch (e) {
    if (isAmpError(e)) return e.code;
    throw e;
  }
  return undefined;
}

describe("split device rejects", () => {
  const cases: [string, string, (r: ArrayBufferMemory) => void, bigint?][] = [
    ["head >= size", "ERR_BAD_INDEX", (r) => offer(r, N)],
    ["avail idx jumping > size", "ERR_BAD_INDEX", (r) => r.setU16(L.avail + 2, N + 1)],
    [
      "next >= size",
      "ERR_BAD_INDEX",
      (r) => {
        desc(r, 0, BUF, 4, VRING_DESC_F_NEXT, N);
        offer(r, 0);
      },
    ],
    [
      "a loop",
      "ERR_BAD_CHAIN",
      (r) => {
        desc(r, 0, BUF, 4, VRING_DESC_F_NEXT, 1);
        desc(r, 1, BUF, 4, VRING_DESC_F_NEXT, 0);
        offer(r, 0);
      },
    ],
    [
      "a self loop",
      "ERR_BAD_CHAIN",
      (r) => {
        desc(r, 3, BUF, 4, VRING_DESC_F_NEXT, 3);
        offer(r, 3);
      },
    ],
    [
      "readable after writable",
      "ERR_BAD_CHAIN",
      (r) => {
        desc(r, 0, BUF, 4, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 1);
        desc(r, 1, BUF, 4, 0, 0);
        offer(r, 0);
      },
    ],
    [
      "an address past 2^53",
      "ERR_BAD_ADDRESS",
      (r) => {
        desc(r, 0, 0, 4, 0, 0);
        r.setU32(4, 0xffffffff);
        offer(r, 0);
      },
    ],
    [
      "a buffer crossing its range end",
      "ERR_BAD_ADDRESS",
      (r) => {
        desc(r, 0, BUF + 4090, 8, 0, 0);
        offer(r, 0);
      },
    ],
    [
      "indirect without the feature",
      "ERR_BAD_CHAIN",
      (r) => {
        desc(r, 0, BUF, 16, VRING_DESC_F_INDIRECT, 0);
        offer(r, 0);
      },
    ],
    [
      "INDIRECT with NEXT",
      "ERR_BAD_CHAIN",
      (r) => {
        desc(r, 0, BUF, 16, VRING_DESC_F_INDIRECT | VRING_DESC_F_NEXT, 1);
        offer(r, 0);
      },
      featureBit(VIRTIO_RING_F_INDIRECT_DESC),
    ],
    [
      "an indirect table of odd length",
      "ERR_BAD_CHAIN",
      (r) => {
        desc(r, 0, BUF, 20, VRING_DESC_F_INDIRECT, 0);
        offer(r, 0);
      },
      featureBit(VIRTIO_RING_F_INDIRECT_DESC),
    ],
    [
      "an oversized indirect table",
      "ERR_LIMIT",
      (r) => {
        desc(r, 0, BUF, 16 * (N + 1), VRING_DESC_F_INDIRECT, 0);
        offer(r, 0);
      },
      featureBit(VIRTIO_RING_F_INDIRECT_DESC),
    ],
    [
      "a head offered twice while in flight",
      "ERR_BAD_CHAIN",
      (r) => {
        desc(r, 0, BUF, 4, 0, 0);
        offer(r, 0, 0);
      },
    ],
  ];
  it.each(cases)("%s", (_n, code, forge, features) => {
    const { ring, space } = env();
    forge(ring);
    const dev = new SplitVirtqueueDevice({
      size: N,
      space,
      ...legacyQueueAddresses(0, N, 16),
      features: features ?? 0n,
    });
    const first = codeOf(() => {
      for (let i = 0; i < 3; i++) dev.getAvail();
    });
    expect(first).toBe(code);
    expect(codeOf(() => dev.getAvail())).toBe("ERR_NEEDS_RESET");
  });

  it("nested and looping indirect tables", () => {
    for (const [flags, next, code] of [
      [VRING_DESC_F_INDIRECT, 0, "ERR_BAD_CHAIN"],
      [VRING_DESC_F_NEXT, 0, "ERR_BAD_CHAIN"],
      [VRING_DESC_F_NEXT, 5, "ERR_BAD_INDEX"],
    ] as const) {
      const { ring, bufs, space } = env();
      desc(ring, 0, BUF + 0x100, 32, VRING_DESC_F_INDIRECT, 0);
      desc(bufs, 0, BUF, 4, flags, next, 0x100);
      desc(bufs, 1, BUF, 4, 0, 0, 0x100);
      offer(ring, 0);
      const dev = new SplitVirtqueueDevice({
        size: N,
        space,
        ...legacyQueueAddresses(0, N, 16),
        features: featureBit(VIRTIO_RING_F_INDIRECT_DESC),
      });
      expect(codeOf(() => dev.getAvail())).toBe(code);
    }
  });

  it("a chain longer than maxChain", () => {
    const { ring, space } = env();
    for (let i = 0; i < 4; i++) desc(ring, i, BUF, 4, i < 3 ? VRING_DESC_F_NEXT : 0, i + 1);
    offer(ring, 0);
    const dev = new SplitVirtqueueDevice({ size: N, space, ...legacyQueueAddresses(0, N, 16), maxChain: 3 });
    expect(codeOf(() => dev.getAvail())).toBe("ERR_LIMIT");
    dev.reset();
    const dev2 = new SplitVirtqueueDevice({ size: N, space, ...legacyQueueAddresses(0, N, 16), maxChain: 4 });
    expect(dev2.getAvail()?.count).toBe(4);
  });
});

describe("split driver rejects", () => {
  function driver() {
    const { ring, space } = env();
    const drv = new SplitVirtqueueDriver<string>({ size: N, space, ...legacyQueueAddresses(0, N, 16) });
    drv.addBuffer(BUF, 16, true, "a");
    drv.addBuffer(BUF + 16, 16, false, "b");
    return { ring, drv };
  }
  function used(ring: ArrayBufferMemory, id: number, len: number, idx = 1): void {
    ring.setU32(L.used + 4 + 8 * ((idx - 1) % N), id);
    ring.setU32(L.used + 8 + 8 * ((idx - 1) % N), len);
    ring.setU16(L.used + 2, idx);
  }
  it("an id that is not an outstanding head", () => {
    const { ring, drv } = driver();
    used(ring, 5, 0);
    expect(codeOf(() => drv.getUsed())).toBe("ERR_BAD_USED");
    expect(codeOf(() => drv.getUsed())).toBe("ERR_NEEDS_RESET");
    expect(codeOf(() => drv.addBuffer(BUF, 1, true, "c"))).toBe("ERR_NEEDS_RESET");
    expect(drv.reset().sort()).toEqual(["a", "b"]);
    expect(drv.addBuffer(BUF, 1, true, "c")).toBe(0);
  });
  it("an id returned twice", () => {
    const { ring, drv } = driver();
    used(ring, 0, 4, 1);
    expect(drv.getUsed()?.token).toBe("a");
    used(ring, 0, 4, 2);
    expect(codeOf(() => drv.getUsed())).toBe("ERR_BAD_USED");
  });
  it("clamps a length beyond the writable bytes offered, keeps the declared one, counts it (not a violation)", () => {
    // OpenAMP and rpmsg-lite remotes return read-only buffers with the descriptor length.
    const { ring, drv } = driver();
    used(ring, 1, 16); // "b" was device-readable only: 0 writable bytes
    expect(drv.getUsed()).toEqual({ id: 1, len: 0, declaredLen: 16, token: "b" });
    expect(drv.usedLenOverruns).toBe(1);
    expect(drv.error).toBeUndefined();
    const d2 = driver();
    used(d2.ring, 0, 0xffff_ffff);
    expect(d2.drv.getUsed()).toEqual({ id: 0, len: 16, declaredLen: 0xffff_ffff, token: "a" });
    used(d2.ring, 1, 0, 2);
    expect(d2.drv.getUsed()).toEqual({ id: 1, len: 0, declaredLen: 0, token: "b" });
    expect(d2.drv.usedLenOverruns).toBe(1);
  });
  it("a used idx that runs ahead of what is outstanding", () => {
    const { ring, drv } = driver();
    ring.setU16(L.used + 2, 3);
    expect(codeOf(() => drv.getUsed())).toBe("ERR_BAD_INDEX");
  });
});

describe("packed", () => {
  const P = packedRingLayout(N);
  function pdesc(ring: ArrayBufferMemory, slot: number, addr: number, len: number, id: number, flags: number): void {
    desc(ring, slot, addr, len, 0, 0);
    ring.setU16(16 * slot + 12, id);
    ring.setU16(16 * slot + 14, flags);
  }
  const A = VRING_PACKED_DESC_F_AVAIL;
  const opts = (space: AddressSpace) => ({ size: N, space, descAddr: 0, driverAddr: P.driver, deviceAddr: P.device });

  it("device rejects an id >= size, a reused id, a chain tail not marked available, a chain longer than the ring", () => {
    const forge: [string, (r: ArrayBufferMemory) => void][] = [
      ["ERR_BAD_INDEX", (r) => pdesc(r, 0, BUF, 4, N, A)],
      [
        "ERR_BAD_CHAIN",
        (r) => {
          pdesc(r, 0, BUF, 4, 1, A);
          pdesc(r, 1, BUF, 4, 1, A);
        },
      ],
      [
        "ERR_BAD_CHAIN",
        (r) => {
          pdesc(r, 0, BUF, 4, 1, A | VRING_DESC_F_NEXT);
          pdesc(r, 1, BUF, 4, 1, VRING_PACKED_DESC_F_USED);
        },
      ],
      [
        "ERR_BAD_CHAIN",
        (r) => {
          for (let s = 0; s < N; s++) pdesc(r, s, BUF, 4, 1, A | VRING_DESC_F_NEXT);
        },
      ],
      ["ERR_BAD_ADDRESS", (r) => pdesc(r, 0, 0x9000, 4, 1, A)],
      [
        "ERR_BAD_CHAIN",
        (r) => {
          pdesc(r, 0, BUF, 4, 1, A | VRING_DESC_F_WRITE | VRING_DESC_F_NEXT);
          pdesc(r, 1, BUF, 4, 1, A);
        },
      ],
      [
        "ERR_BAD_CHAIN",
        (r) => {
          pdesc(r, 0, BUF, 4, 1, A | VRING_DESC_F_NEXT);
          pdesc(r, 1, BUF, 16, 1, A | VRING_DESC_F_INDIRECT);
        },
      ],
    ];
    for (const [code, f] of forge) {
      const { ring, space } = env();
      f(ring);
      const dev = new PackedVirtqueueDevice({ ...opts(space), features: featureBit(VIRTIO_RING_F_INDIRECT_DESC) });
      expect(
        codeOf(() => {
          dev.getAvail();
          dev.getAvail();
        }),
      ).toBe(code);
    }
  });

  it("driver clamps a used len beyond the offer and counts it", () => {
    const { ring, space } = env();
    const drv = new PackedVirtqueueDriver<number>(opts(space));
    expect(drv.addBuffer(BUF, 16, true, 7)).toBe(0);
    pdesc(ring, 0, 0, 99, 0, A | VRING_PACKED_DESC_F_USED);
    expect(drv.getUsed()).toEqual({ id: 0, len: 16, declaredLen: 99, token: 7 });
    expect(drv.usedLenOverruns).toBe(1);
    expect(drv.error).toBeUndefined();
  });

  it("driver rejects a used id that is not outstanding", () => {
    for (const [id, len, code] of [
      [3, 0, "ERR_BAD_USED"],
      [N + 1, 0, "ERR_BAD_USED"],
    ] as const) {
      const { ring, space } = env();
      const drv = new PackedVirtqueueDriver<number>(opts(space));
      expect(drv.addBuffer(BUF, 16, true, 7)).toBe(0);
      pdesc(ring, 0, 0, len, id, A | VRING_PACKED_DESC_F_USED);
      expect(codeOf(() => drv.getUsed())).toBe(code);
      expect(drv.error).toBeDefined();
    }
  });
});
