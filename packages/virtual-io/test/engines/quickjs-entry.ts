// Runs inside QuickJS: both sides of an I2C bus (EEPROM + sensor), a GPIO bank with an interrupt
// and an SPI flash, over real split virtqueues in an ArrayBuffer; results go to globalThis.out.
import {
  AddressSpace,
  ArrayBufferMemory,
  SplitVirtqueueDevice,
  SplitVirtqueueDriver,
  legacyQueueAddresses,
} from "@amp/virtio-ring";
import {
  GpioBank,
  GpioClient,
  GpioServer,
  I2cBusServer,
  I2cClient,
  I2cEeprom,
  I2cTemperatureSensor,
  SpiBusServer,
  SpiClient,
  SpiNorCmd,
  SpiNorFlash,
  VirtqueueChannel,
  VirtqueueDeviceRunner,
  decodeTemperature,
  isAmpError,
} from "@amp/virtual-io";
import type { DeviceServer } from "@amp/virtual-io";

const later = (fn: () => void): void => void Promise.resolve().then(fn);

function link(server: DeviceServer): VirtqueueChannel {
  const space = new AddressSpace().map(0, new ArrayBufferMemory(new ArrayBuffer(0x10000)));
  const h: { ch?: VirtqueueChannel; runner?: VirtqueueDeviceRunner } = {};
  const at = (i: number) => legacyQueueAddresses(0x1000 + i * 0x1000, 16, 16);
  const drv = [0, 1].slice(0, server.numQueues).map(
    (i) =>
      new SplitVirtqueueDriver<number>({
        size: 16,
        space,
        ...at(i),
        doorbell: { notify: () => later(() => h.runner?.process()) },
        notifyId: i,
      }),
  );
  const dev = [0, 1].slice(0, server.numQueues).map(
    (i) =>
      new SplitVirtqueueDevice({
        size: 16,
        space,
        ...at(i),
        doorbell: { notify: () => later(() => h.ch?.process()) },
        notifyId: i,
      }),
  );
  h.ch = new VirtqueueChannel({
    queues: drv,
    space,
    bufferAddr: 0x8000,
    bufferSize: 0x8000,
    features: server.features,
    config: server.config,
  });
  h.runner = new VirtqueueDeviceRunner(server, { queues: dev });
  return h.ch;
}

async function run(): Promise<string> {
  const bus = new I2cBusServer();
  new I2cEeprom({ size: 256, pageSize: 8 }).attachTo(bus, 0x50);
  bus.attach(0x48, new I2cTemperatureSensor(23.25).target);
  const i2c = new I2cClient(link(bus));
  await i2c.write(0x50, Uint8Array.of(0x06, 1, 2, 3));
  const ee = await i2c.writeRead(0x50, Uint8Array.of(0), 8);
  const t = await i2c.writeRead(0x48, Uint8Array.of(0), 2);
  let nack = "none";
  await i2c.read(0x51, 1).catch((e: unknown) => (nack = isAmpError(e) ? e.code : "other"));

  const bank = new GpioBank({ ngpio: 4, names: ["led"] });
  const gpio = new GpioClient(link(new GpioServer(bank)));
  await gpio.setDirection(2, "in");
  const edge = new Promise<number>(
    (resolve) => void gpio.onEdge(2, "rising", (e) => resolve(e.line)).then(() => bank.drive(2, true)),
  );

  const spiBus = new SpiBusServer();
  spiBus.attach(0, new SpiNorFlash({ size: 1 << 16 }));
  const spi = new SpiClient(link(spiBus));
  const id = await spi.exchange(0, Uint8Array.of(SpiNorCmd.READ_JEDEC_ID, 0, 0, 0));

  return [
    Array.from(ee).join(","),
    decodeTemperature((t[0]! << 8) | t[1]!),
    nack,
    await edge,
    (await gpio.names())[0],
    Array.from(id).join(","),
  ].join(" ");
}

(globalThis as { out?: string }).out = "pending";
run().then(
  (r) => ((globalThis as { out?: string }).out = r),
  (e: unknown) => ((globalThis as { out?: string }).out = `error: ${String(e)}`),
);
