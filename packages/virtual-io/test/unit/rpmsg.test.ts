// Every device end to end over @amp/rpmsg endpoints in one thread: the remote lends, the host
// borrows (framed messages), and the UART as rpmsg-tty.
import { describe, expect, it } from "vitest";
import { toHex } from "@amp/test-utils";
import {
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
  VioFrameKind,
  connectOverRpmsg,
  createI2cRegmapBus,
  createLoopbackUart,
  decodeTemperature,
  decodeVioFrame,
  encodeVioFrame,
  openRpmsgTty,
  serveOverRpmsg,
  serveRpmsgTty,
} from "@amp/virtual-io";
import { inThreadRpmsg } from "../helpers/rpmsg-link.ts";

const tick = () => new Promise((r) => setTimeout(r, 0));

describe("over rpmsg", () => {
  it("i2c: EEPROM and temperature sensor", async () => {
    const { host, remote } = inThreadRpmsg();
    const bus = new I2cBusServer();
    new I2cEeprom({ size: 256, pageSize: 16 }).attachTo(bus, 0x50);
    bus.attach(0x48, new I2cTemperatureSensor(-5).target);
    serveOverRpmsg(remote, bus, { name: "amp-i2c" });
    const ch = await connectOverRpmsg(host, { name: "amp-i2c" });
    const i2c = new I2cClient(ch);
    await i2c.write(0x50, Uint8Array.of(0x10, 1, 2, 3));
    expect(toHex(await i2c.writeRead(0x50, Uint8Array.of(0x10), 3))).toBe("010203");
    const rm = new Regmap(createI2cRegmapBus(i2c, 0x48, { valueBits: 16, autoIncrement: false }), { valueBits: 16 });
    expect(decodeTemperature(await rm.read(0))).toBe(-5);
    await expect(i2c.read(0x51, 1)).rejects.toMatchObject({ code: "ERR_NACK" });
    await expect(i2c.read(0x50, 600)).rejects.toMatchObject({ code: "ERR_LIMIT" }); // beyond the rpmsg MTU
    ch.close();
  });
  it("spi and gpio with interrupts", async () => {
    const { host, remote } = inThreadRpmsg();
    const spiBus = new SpiBusServer();
    spiBus.attach(0, new SpiNorFlash({ size: 1 << 16 }));
    const bank = new GpioBank({ ngpio: 4, names: ["led", "btn"] });
    serveOverRpmsg(remote, spiBus, { name: "amp-spi" });
    serveOverRpmsg(remote, new GpioServer(bank), { name: "amp-gpio" });
    const spi = new SpiClient(await connectOverRpmsg(host, { name: "amp-spi" }));
    expect(spi.config?.csMaxNumber).toBe(4);
    expect(toHex(await spi.exchange(0, Uint8Array.of(SpiNorCmd.READ_JEDEC_ID, 0, 0, 0)))).toBe("ffef4010");
    const gpio = new GpioClient(await connectOverRpmsg(host, { name: "amp-gpio" }));
    expect(await gpio.names()).toEqual(["led", "btn", "", ""]);
    await gpio.output(0, true);
    expect(bank.getValue(0)).toBe(true);
    await gpio.setDirection(1, "in");
    const seen: number[] = [];
    await gpio.onEdge(1, "rising", (e) => seen.push(e.line));
    bank.drive(1, true);
    for (let i = 0; i < 5; i++) await tick();
    expect(seen).toEqual([1]);
  });
  it("uart: rpmsg-tty with a loopback UART", async () => {
    const { host, remote } = inThreadRpmsg();
    serveRpmsgTty(remote, createLoopbackUart());
    const tty = await openRpmsgTty(host);
    const it = tty[Symbol.asyncIterator]();
    await tty.write("ping");
    expect(toHex((await it.next()).value as Uint8Array)).toBe("70696e67");
    // a write longer than the MTU is cut into several messages, all echoed
    let got = 0;
    tty.onData((b) => (got += b.length));
    await tty.write(new Uint8Array(1200).fill(0x61));
    for (let i = 0; i < 10 && got < 1200; i++) await tick();
    expect(got).toBe(1200);
    tty.close();
  });
  it("the device answers garbage with REJECT and keeps serving", async () => {
    const { host, remote } = inThreadRpmsg();
    const bus = new I2cBusServer();
    bus.attach(0x48, new I2cTemperatureSensor(20).target);
    const bad: unknown[] = [];
    serveOverRpmsg(remote, bus, { name: "amp-i2c", onMalformed: (e) => bad.push(e) });
    const replies: number[] = [];
    const raw = host.createEndpoint({ name: "amp-i2c", onMessage: (m) => replies.push(decodeVioFrame(m.data).kind) });
    await raw.waitBound();
    const f = encodeVioFrame({ kind: VioFrameKind.REQUEST, queue: 0, tag: 7, length: 1, body: new Uint8Array(3) });
    f[0] = 9; // bad version
    await raw.send(f);
    await raw.send(
      encodeVioFrame({ kind: VioFrameKind.REQUEST, queue: 3, tag: 8, length: 1, body: new Uint8Array(8) }),
    ); // no queue 3
    await raw.send(Uint8Array.of(1, 2)); // too short to carry a tag: dropped
    for (let i = 0; i < 5; i++) await tick();
    expect(replies).toEqual([VioFrameKind.REJECT, VioFrameKind.REJECT]);
    expect(bad.length).toBe(2);
    // still serving: a well-formed zero-length write to 0x48 is answered OK
    const out = new Uint8Array(8);
    out[0] = 0x48 << 1;
    await raw.send(encodeVioFrame({ kind: VioFrameKind.REQUEST, queue: 0, tag: 9, length: 1, body: out }));
    for (let i = 0; i < 5; i++) await tick();
    expect(replies).toEqual([VioFrameKind.REJECT, VioFrameKind.REJECT, VioFrameKind.RESPONSE]);
  });
});

describe("rpmsg-tty as Linux's rpmsg_tty driver sees it", () => {
  it("raw bytes both ways, an empty message ignored, the channel named exactly rpmsg-tty", async () => {
    const { host, remote } = inThreadRpmsg();
    const svc = serveRpmsgTty(remote, createLoopbackUart());
    expect((svc.endpoint as unknown as { name: string }).name).toBe("rpmsg-tty");
    const got: string[] = [];
    const ep = host.createEndpoint({ name: "rpmsg-tty", onMessage: (m) => got.push(toHex(m.data)) });
    await ep.waitBound();
    await ep.send(new Uint8Array(0)); // Linux rejects len 0; the lender ignores it
    await ep.send(Uint8Array.of(0x0d, 0x0a));
    for (let i = 0; i < 5; i++) await tick();
    expect(got).toEqual(["0d0a"]);
  });
});
