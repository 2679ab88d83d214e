// Each device end to end between two worker threads (the lender in a worker, the borrower on
// the test's thread), over both transports: split virtqueues in a SharedArrayBuffer, and rpmsg
// endpoints on an rpmsg-only link in a SharedArrayBuffer. Atomics doorbells in both directions.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Worker } from "node:worker_threads";
import { fileURLToPath } from "node:url";
import { bundleForWorker, toHex } from "@amp/test-utils";
import {
  GpioClient,
  I2cClient,
  Regmap,
  SpiClient,
  SpiNorCmd,
  SpiNorStatus,
  connectOverRpmsg,
  createI2cRegmapBus,
  decodeTemperature,
  openConsoleUart,
  openRpmsgTty,
} from "@amp/virtual-io";
import type { RequestChannel, UartStream } from "@amp/virtual-io";
import { LINK_BYTES, atomicsBells, driverSide } from "../helpers/vq-link.ts";
import { RPMSG_LINK_BYTES, makeHost, rpmsgBells } from "../helpers/rpmsg-link.ts";

type Device = "i2c" | "spi" | "gpio" | "uart";
type Transport = "virtqueue" | "rpmsg";

let workerFile = "";
const workers: Worker[] = [];
const stops: (() => void)[] = [];

beforeAll(async () => {
  workerFile = await bundleForWorker(fileURLToPath(new URL("./device-worker.ts", import.meta.url)));
});
afterAll(async () => {
  for (const s of stops) s();
  await Promise.all(workers.map((w) => w.terminate()));
});

const scheduler = {
  setTimeout: (f: () => void, ms: number) => setTimeout(f, ms),
  clearTimeout: (h: unknown) => clearTimeout(h as NodeJS.Timeout),
};

async function startWorker(transport: Transport, device: Device, sab: SharedArrayBuffer): Promise<Worker> {
  const w = new Worker(workerFile, { workerData: { sab, transport, device } });
  workers.push(w);
  await new Promise<void>((resolve, reject) => {
    w.on("message", (m: { ready?: boolean; error?: string }) => {
      if (m.ready === true) resolve();
      if (m.error !== undefined) reject(new Error(m.error));
    });
    w.on("error", reject);
  });
  return w;
}

/** The borrower: a RequestChannel (or a UART stream) for `device` over `transport`. */
async function borrow(
  transport: Transport,
  device: Device,
): Promise<{ channel?: RequestChannel; uart?: UartStream; worker: Worker }> {
  let stopped = false;
  stops.push(() => (stopped = true));
  if (transport === "virtqueue") {
    const sab = new SharedArrayBuffer(LINK_BYTES);
    const worker = await startWorker(transport, device, sab);
    const { kick, irq } = atomicsBells(sab);
    const channel = driverSide(sab, kick, { timeoutMs: 10_000, scheduler });
    void (async () => {
      while (!stopped) {
        await irq.wait({ timeoutMs: 1000, scheduler }).catch(() => undefined);
        irq.poll(() => undefined);
        channel.process();
      }
    })();
    return device === "uart" ? { uart: openConsoleUart(channel), worker } : { channel, worker };
  }
  const sab = new SharedArrayBuffer(RPMSG_LINK_BYTES);
  const worker = await startWorker(transport, device, sab);
  const { toRemote, toHost } = rpmsgBells(sab);
  const host = makeHost(sab, toRemote);
  host.start();
  void (async () => {
    while (!stopped) {
      host.process();
      await toHost.wait({ timeoutMs: 1000, scheduler }).catch(() => undefined);
      toHost.poll(() => undefined);
    }
  })();
  if (device === "uart") return { uart: await openRpmsgTty(host), worker };
  return { channel: await connectOverRpmsg(host, { name: `amp-${device}`, timeoutMs: 10_000, scheduler }), worker };
}

for (const transport of ["virtqueue", "rpmsg"] as const) {
  describe(`between two workers over ${transport}`, () => {
    it("i2c: EEPROM pages and a temperature sensor through a regmap", async () => {
      const { channel } = await borrow(transport, "i2c");
      const i2c = new I2cClient(channel!);
      await i2c.write(0x50, Uint8Array.of(0x0e, 0xa, 0xb, 0xc)); // crosses the 16-byte page: wraps
      expect(toHex(await i2c.writeRead(0x50, Uint8Array.of(0x00), 1))).toBe("0c");
      expect(toHex(await i2c.writeRead(0x50, Uint8Array.of(0x0e), 2))).toBe("0a0b");
      const rm = new Regmap(createI2cRegmapBus(i2c, 0x48, { valueBits: 16, autoIncrement: false }), {
        valueBits: 16,
        volatile: [{ from: 0, to: 0 }],
      });
      expect(decodeTemperature(await rm.read(0))).toBe(36.5);
      expect(await rm.updateBits(1, 0x1, 0x1)).toBe(true);
      await expect(i2c.read(0x22, 1)).rejects.toMatchObject({ code: "ERR_NACK" });
    });
    it("spi: NOR flash ID, program with WIP polling, read back", async () => {
      const { channel } = await borrow(transport, "spi");
      const spi = new SpiClient(channel!);
      expect(toHex(await spi.exchange(0, Uint8Array.of(SpiNorCmd.READ_JEDEC_ID, 0, 0, 0)))).toBe("ffef4010");
      await spi.transfer(0, [{ tx: Uint8Array.of(SpiNorCmd.WRITE_ENABLE) }]);
      await spi.transfer(0, [{ tx: Uint8Array.of(SpiNorCmd.PAGE_PROGRAM, 0, 0x02, 0x00, 0xde, 0xad) }]);
      let polls = 0;
      while (((await spi.exchange(0, Uint8Array.of(SpiNorCmd.READ_STATUS, 0)))[1]! & SpiNorStatus.WIP) !== 0) polls++;
      expect(polls).toBe(2);
      expect(toHex(await spi.writeThenRead(0, Uint8Array.of(SpiNorCmd.READ, 0, 0x02, 0x00), 2))).toBe("dead");
      await expect(spi.exchange(3, Uint8Array.of(1))).rejects.toMatchObject({ code: "ERR_IO" });
    });
    it("gpio: names, an output, and edge events from the lender", async () => {
      const { channel, worker } = await borrow(transport, "gpio");
      const gpio = new GpioClient(channel!);
      expect(await gpio.names()).toEqual(["led0", "button0", "", "", "", "", "", ""]);
      await gpio.output(0, true);
      expect(await gpio.get(0)).toBe(true);
      await gpio.setDirection(1, "in");
      const fired = new Promise((resolve) => {
        void gpio.onEdge(1, "rising", resolve).then((off) => {
          // armed (IRQ_TYPE accepted and an unmask pair queued): press the button in the worker
          worker.postMessage({ drive: [1, true] });
          stops.push(() => void off().catch(() => undefined));
        });
      });
      expect(await fired).toEqual({ line: 1, trigger: "rising" });
      await expect(gpio.get(9)).rejects.toThrow(RangeError);
    });
    it("uart: loopback byte stream", async () => {
      const { uart } = await borrow(transport, "uart");
      const it = uart![Symbol.asyncIterator]();
      await uart!.write("hello, remote");
      let text = "";
      while (text.length < 13) text += String.fromCharCode(...((await it.next()).value as Uint8Array));
      expect(text).toBe("hello, remote");
      uart!.close();
    });
  });
}
