// The lending side in a worker thread: builds one device model and serves it over virtqueues or
// rpmsg in the shared buffer it is given, driven by Atomics doorbells.
import { parentPort, workerData } from "node:worker_threads";
import {
  ConsoleServer,
  GpioBank,
  GpioServer,
  I2cBusServer,
  I2cEeprom,
  I2cTemperatureSensor,
  SpiBusServer,
  SpiNorFlash,
  createLoopbackUart,
  serveOverRpmsg,
  serveRpmsgTty,
} from "@amp/virtual-io";
import type { DeviceServer } from "@amp/virtual-io";
import { atomicsBells, deviceSide, publishDevice } from "../helpers/vq-link.ts";
import { makeRemote, rpmsgBells } from "../helpers/rpmsg-link.ts";

const { sab, transport, device } = workerData as {
  sab: SharedArrayBuffer;
  transport: "virtqueue" | "rpmsg";
  device: "i2c" | "spi" | "gpio" | "uart";
};
const port = parentPort!;
let bank: GpioBank | undefined;

function makeServer(): DeviceServer {
  switch (device) {
    case "i2c": {
      const bus = new I2cBusServer();
      new I2cEeprom({ size: 256, pageSize: 16 }).attachTo(bus, 0x50);
      bus.attach(0x48, new I2cTemperatureSensor(36.5).target);
      return bus;
    }
    case "spi": {
      const bus = new SpiBusServer();
      bus.attach(0, new SpiNorFlash({ size: 1 << 16, busyPolls: 2 }));
      return bus;
    }
    case "gpio":
      bank = new GpioBank({ ngpio: 8, names: ["led0", "button0"] });
      return new GpioServer(bank);
    case "uart":
      return new ConsoleServer(createLoopbackUart());
  }
}

port.on("message", (m: { drive?: [number, boolean] }) => {
  if (m.drive !== undefined) bank?.drive(m.drive[0], m.drive[1]);
});

async function main(): Promise<void> {
  if (transport === "virtqueue") {
    const server = makeServer();
    publishDevice(sab, server);
    const { kick, irq } = atomicsBells(sab);
    const runner = deviceSide(sab, server, irq, (e) => port.postMessage({ error: String(e) }));
    port.postMessage({ ready: true });
    for (;;) {
      await kick.wait();
      kick.poll(() => undefined);
      runner.process();
    }
  } else {
    const { toRemote, toHost } = rpmsgBells(sab);
    const remote = makeRemote(sab, toHost);
    if (device === "uart") serveRpmsgTty(remote, createLoopbackUart());
    else serveOverRpmsg(remote, makeServer(), { name: `amp-${device}` });
    port.postMessage({ ready: true });
    for (;;) {
      remote.process();
      await toRemote.wait();
      toRemote.poll(() => undefined);
    }
  }
}

void main();
