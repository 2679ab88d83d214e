// Bring-up over a @amp/virtio-ring VirtioTransport: handshake, queue setup from the transport,
// config space, then I/O; both roles in one thread over an InMemoryTransport.
import { describe, expect, it } from "vitest";
import { AddressSpace, ArrayBufferMemory, InMemoryTransport, legacyQueueAddresses } from "@amp/virtio-ring";
import type { Doorbell } from "@amp/virtio-ring";
import {
  GpioBank,
  GpioClient,
  GpioServer,
  I2cBusServer,
  I2cClient,
  I2cTemperatureSensor,
  openVirtioDriver,
  serveVirtioDevice,
} from "@amp/virtual-io";
import type { DeviceServer, VirtqueueChannel, VirtqueueDeviceRunner } from "@amp/virtual-io";

const scheduler = {
  setTimeout: (f: () => void, ms: number) => setTimeout(f, ms),
  clearTimeout: (h: unknown) => clearTimeout(h as NodeJS.Timeout),
};

async function bringUp(
  server: DeviceServer,
  configLength: number,
  offered = server.features,
): Promise<VirtqueueChannel> {
  const space = new AddressSpace().map(0, new ArrayBufferMemory(new ArrayBuffer(0x10000)));
  const side: { runner?: VirtqueueDeviceRunner; channel?: VirtqueueChannel } = {};
  const kicks: Doorbell = { notify: () => queueMicrotask(() => side.runner?.process()) };
  const irqs: Doorbell = { notify: () => queueMicrotask(() => side.channel?.process()) };
  const transport = new InMemoryTransport({
    deviceId: server.deviceId,
    deviceFeatures: offered,
    config: new Uint8Array(configLength),
    queues: [16, 16],
    doorbell: kicks,
  });
  const device = serveVirtioDevice(transport, server, { space, doorbell: irqs, scheduler, timeoutMs: 5000 });
  side.channel = openVirtioDriver(transport, {
    space,
    bufferAddr: 0x8000,
    bufferSize: 0x8000,
    queues: [legacyQueueAddresses(0x1000, 16, 16), legacyQueueAddresses(0x3000, 16, 16)],
  });
  side.runner = await device;
  return side.channel;
}

describe("over a VirtioTransport", () => {
  it("gpio: features, config space and the eventq come up through the handshake", async () => {
    const bank = new GpioBank({ ngpio: 6 });
    const ch = await bringUp(new GpioServer(bank), 8);
    expect(ch.features).toBe(1n);
    const gpio = new GpioClient(ch);
    expect(gpio.ngpio).toBe(6);
    await gpio.output(5, true);
    expect(bank.getValue(5)).toBe(true);
    await gpio.setDirection(2, "in");
    const fired = new Promise((resolve) => void gpio.onEdge(2, "both", resolve).then(() => bank.drive(2, true)));
    expect(await fired).toEqual({ line: 2, trigger: "both" });
  });
  it("i2c: reads a sensor", async () => {
    const bus = new I2cBusServer();
    bus.attach(0x48, new I2cTemperatureSensor(10).target);
    const i2c = new I2cClient(await bringUp(bus, 0));
    expect([...(await i2c.writeRead(0x48, Uint8Array.of(0), 2))]).toEqual([0x0a, 0x00]);
  });
  it("refuses a virtio-i2c device without ZERO_LENGTH_REQUEST", () => {
    const space = new AddressSpace().map(0, new ArrayBufferMemory(new ArrayBuffer(0x10000)));
    const transport = new InMemoryTransport({ deviceId: 34, deviceFeatures: 0n, queues: [16] });
    expect(() =>
      openVirtioDriver(transport, {
        space,
        bufferAddr: 0x8000,
        bufferSize: 0x8000,
        queues: [legacyQueueAddresses(0x1000, 16, 16)],
      }),
    ).toThrow(expect.objectContaining({ code: "ERR_UNSUPPORTED" }));
    expect(transport.getStatus() & 0x80).toBe(0x80); // FAILED
  });
});
