// Every device end to end over real split virtqueues (@amp/virtio-ring) in one thread.
import { describe, expect, it } from "vitest";
import { toHex } from "@amp/test-utils";
import {
  ConsoleServer,
  GpioBank,
  GpioClient,
  GpioServer,
  I2cBusServer,
  I2cClient,
  I2cEeprom,
  I2cTemperatureSensor,
  Regmap,
  SpiBusServer,
  SpiClient,
  SpiNorCmd,
  SpiNorFlash,
  createI2cRegmapBus,
  createLoopbackUart,
  decodeTemperature,
  openConsoleUart,
} from "@amp/virtual-io";
import { inThreadLink } from "../helpers/vq-link.ts";

const tick = () => new Promise((r) => setTimeout(r, 0));

describe("over split virtqueues", () => {
  it("i2c: EEPROM and temperature sensor", async () => {
    const bus = new I2cBusServer();
    new I2cEeprom({ size: 256, pageSize: 16 }).attachTo(bus, 0x50);
    bus.attach(0x48, new I2cTemperatureSensor(42.5).target);
    const i2c = new I2cClient(inThreadLink(bus));
    await i2c.write(0x50, Uint8Array.of(0x20, 9, 8, 7));
    expect(toHex(await i2c.writeRead(0x50, Uint8Array.of(0x20), 3))).toBe("090807");
    const rm = new Regmap(createI2cRegmapBus(i2c, 0x48, { valueBits: 16, autoIncrement: false }), {
      valueBits: 16,
      volatile: [{ from: 0, to: 0 }],
    });
    expect(decodeTemperature(await rm.read(0))).toBe(42.5);
    await expect(i2c.read(0x33, 1)).rejects.toMatchObject({ code: "ERR_NACK" });
  });
  it("spi: flash JEDEC ID and read", async () => {
    const bus = new SpiBusServer();
    const flash = new SpiNorFlash({ size: 1 << 16 });
    flash.memory.set([1, 2, 3], 0x100);
    bus.attach(0, flash);
    const spi = new SpiClient(inThreadLink(bus));
    expect(toHex(await spi.exchange(0, Uint8Array.of(SpiNorCmd.READ_JEDEC_ID, 0, 0, 0)))).toBe("ffef4010");
    expect(toHex(await spi.writeThenRead(0, Uint8Array.of(SpiNorCmd.READ, 0, 1, 0), 3))).toBe("010203");
  });
  it("gpio: lines and interrupts on the eventq", async () => {
    const bank = new GpioBank({ ngpio: 4, names: ["a", "b"] });
    const gpio = new GpioClient(inThreadLink(new GpioServer(bank)));
    expect(await gpio.names()).toEqual(["a", "b", "", ""]);
    await gpio.output(0, true);
    expect(await gpio.get(0)).toBe(true);
    await gpio.setDirection(1, "in");
    const lines: number[] = [];
    await gpio.onEdge(1, "falling", (e) => lines.push(e.line));
    bank.drive(1, true);
    bank.drive(1, false);
    for (let i = 0; i < 5; i++) await tick();
    expect(lines).toEqual([1]);
  });
  it("uart: virtio-console loopback", async () => {
    const uart = openConsoleUart(inThreadLink(new ConsoleServer(createLoopbackUart())));
    const it = uart[Symbol.asyncIterator]();
    await uart.write(Uint8Array.of(0x41, 0x42));
    expect(toHex((await it.next()).value as Uint8Array)).toBe("4142");
    uart.close();
  });
});

describe("virtqueue transport against a hostile driver", () => {
  it("a forged avail index stops that queue with onError, never a throw", async () => {
    const { LINK_BYTES, publishDevice, driverSide, deviceSide } = await import("../helpers/vq-link.ts");
    const bus = new I2cBusServer();
    const sab = new SharedArrayBuffer(LINK_BYTES);
    publishDevice(sab, bus);
    driverSide(sab, { notify: () => undefined });
    const errors: unknown[] = [];
    const runner = deviceSide(sab, bus, { notify: () => undefined }, (e) => errors.push(e));
    // avail.idx of queue 0 (legacy layout: desc table 16×16 bytes, then avail flags, idx)
    new DataView(sab).setUint16(4096 + 256 + 2, 0x4000, true);
    expect(() => runner.process()).not.toThrow();
    expect(errors.length).toBe(1);
    expect((errors[0] as { code?: string }).code).toBe("ERR_BAD_INDEX");
    expect(runner.process()).toBe(0); // the queue stays stopped
  });
});
