// The remote side runs in small engines (DESIGN.md): bundle the sources as an IIFE and move
// buffers through a split and a packed ring inside QuickJS (no console, no timers, no Node
// globals), including a hostile-peer rejection.
import { fileURLToPath } from "node:url";
import { getQuickJS } from "quickjs-emscripten";
import { expect, it } from "vitest";
import { bundleToString } from "@amp/test-utils";

it("runs split and packed rings, both roles, inside QuickJS", async () => {
  const entry = fileURLToPath(new URL("../../src/index.ts", import.meta.url));
  const lib = await bundleToString(entry, { format: "iife", globalName: "VR" });
  const script = `
    const out = {};
    for (const packed of [false, true]) {
      const mem = new VR.ArrayBufferMemory(new ArrayBuffer(0x4000));
      const space = new VR.AddressSpace().map(0, mem);
      const f = (packed ? VR.featureBit(VR.VIRTIO_F_RING_PACKED) : 0n) | VR.featureBit(VR.VIRTIO_RING_F_EVENT_IDX);
      const where = packed
        ? { size: 16, space, descAddr: 0, driverAddr: VR.packedRingLayout(16).driver, deviceAddr: VR.packedRingLayout(16).device, features: f }
        : { size: 16, space, ...VR.legacyQueueAddresses(0, 16, 16), features: f };
      const drv = VR.createDriverQueue(where);
      const dev = VR.createDeviceQueue(where);
      let total = 0;
      for (let i = 0; i < 100; i++) {
        mem.setU32(0x2000, i);
        drv.addChain([{ addr: 0x2000, len: 4 }], [{ addr: 0x3000, len: 4 }], i);
        const c = dev.getAvail();
        c.scatter(c.readAll().reverse());
        dev.pushUsed(c.id, 4);
        const u = drv.getUsed();
        total += u.token + mem.getU8(0x3003);
      }
      let err = "";
      if (!packed) {
        mem.setU16(where.driverAddr + 4 + 2 * (100 % 16), 99);
        mem.setU16(where.driverAddr + 2, 101);
        try { dev.getAvail(); } catch (e) { err = VR.isAmpError(e) ? e.code : "other"; }
      }
      out[packed ? "packed" : "split"] = { total, err };
    }
    JSON.stringify(out);
  `;
  const QuickJS = await getQuickJS();
  const out = QuickJS.evalCode(`${lib}\n${script}`) as string;
  expect(JSON.parse(out)).toEqual({ split: { total: 9900, err: "ERR_BAD_INDEX" }, packed: { total: 9900, err: "" } });
});

it("throws, checks and formats inside QuickJS; instanceof holds across two copies of the class", async () => {
  const entry = fileURLToPath(new URL("../../src/index.ts", import.meta.url));
  const lib = await bundleToString(entry, { format: "iife", globalName: "VR" });
  // Two bundles stand for two packages that each keep src/amp-error.ts (or two installed copies).
  const other = (await bundleToString(entry, { format: "iife", globalName: "VR2" })).replace(/\bVR\b/g, "VR2");
  const script = `
    let out;
    try { throw new VR.AmpError("ERR_TRUNCATED", "short at " + VR.hex(0x20), { offset: 32 }); }
    catch (e) {
      out = { is: VR.isAmpError(e) && e.code === "ERR_TRUNCATED", inst: e instanceof VR.AmpError,
        other: VR2.AmpError !== VR.AmpError && e instanceof VR2.AmpError, plain: new Error("x") instanceof VR.AmpError,
        name: e.name, offset: e.offset, msg: e.message };
    }
    out.align = VR.alignUp(0x1234, 0x1000);
    out.bytes = Array.from(VR.concatBytes([new Uint8Array([1]), new Uint8Array([2, 3])]));
    JSON.stringify(out);
  `;
  const QuickJS = await getQuickJS();
  const result = QuickJS.evalCode(`${lib}\n${other}\n${script}`) as string;
  expect(JSON.parse(result)).toEqual({
    is: true,
    inst: true,
    other: true,
    plain: false,
    name: "AmpError",
    offset: 32,
    msg: "short at 0x20",
    align: 0x2000,
    bytes: [1, 2, 3],
  });
});
