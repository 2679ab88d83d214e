// The lend/borrow snippet handed to the CLI's `amp demo` (remote lends a GPIO bank and an I2C
// temperature sensor over rpmsg; the host reads the sensor and toggles a line), kept running here.
import { expect, it } from "vitest";
import {
  GpioBank,
  GpioClient,
  GpioServer,
  I2cBusServer,
  I2cClient,
  I2cTemperatureSensor,
  connectOverRpmsg,
  decodeTemperature,
  serveOverRpmsg,
} from "@amp/virtual-io";
import { inThreadRpmsg } from "../helpers/rpmsg-link.ts";

it("the amp demo snippet works", async () => {
  const { host, remote } = inThreadRpmsg();
  const lines: string[] = [];
  // --- snippet: remote side (lender), given an RpmsgRemote `remote`
  const bus = new I2cBusServer();
  bus.attach(0x48, new I2cTemperatureSensor(21.5).target);
  const bank = new GpioBank({ ngpio: 8, names: ["led0", "button0"] });
  bank.onOutput((line, level) => lines.push(`remote: line ${line} ${level ? "high" : "low"}`));
  serveOverRpmsg(remote, bus, { name: "amp-i2c" });
  serveOverRpmsg(remote, new GpioServer(bank), { name: "amp-gpio" });
  // --- snippet: host side (borrower), given an RpmsgHost `host`
  const i2c = new I2cClient(await connectOverRpmsg(host, { name: "amp-i2c" }));
  const gpio = new GpioClient(await connectOverRpmsg(host, { name: "amp-gpio" }));
  const raw = await i2c.writeRead(0x48, Uint8Array.of(0), 2); // TMP102 register 0
  lines.push(`host: sensor ${decodeTemperature((raw[0]! << 8) | raw[1]!)} °C`);
  await gpio.output(0, true); // led0 on
  // --- end of snippet
  expect(lines).toEqual(["host: sensor 21.5 °C", "remote: line 0 high"]);
});
