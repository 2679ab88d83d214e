import { describe, expect, it } from "vitest";
import { toHex } from "@amp/test-utils";
import {
  GpioBank,
  GpioClient,
  GpioServer,
  createDirectChannel,
  decodeGpioNames,
  encodeGpioNames,
} from "@amp/virtual-io";
import type { GpioEvent } from "@amp/virtual-io";

function setup(irq = true) {
  const bank = new GpioBank({ ngpio: 8, names: ["led0", undefined, "button0"] });
  const server = new GpioServer(bank, { irq });
  const gpio = new GpioClient(createDirectChannel(server));
  return { bank, server, gpio };
}
const tick = () => new Promise((r) => setTimeout(r, 0));

describe("virtio-gpio codec", () => {
  it("encodes the names block as NUL-terminated strings, a lone NUL for unnamed lines", () => {
    expect(toHex(encodeGpioNames(["a", undefined, "bc"]))).toBe("610000626300");
    expect(decodeGpioNames(Uint8Array.of(0x61, 0, 0, 0x62, 0x63, 0), 3)).toEqual(["a", "", "bc"]);
    expect(() => decodeGpioNames(Uint8Array.of(0x61, 0), 2)).toThrow(
      expect.objectContaining({ code: "ERR_TRUNCATED" }),
    );
  });
});

describe("GPIO bank over virtio-gpio", () => {
  it("reads config and names", async () => {
    const { gpio } = setup();
    expect(gpio.ngpio).toBe(8);
    expect(gpio.hasIrq).toBe(true);
    expect(await gpio.names()).toEqual(["led0", "", "button0", "", "", "", "", ""]);
  });
  it("drives outputs and reads inputs", async () => {
    const { gpio, bank } = setup();
    const seen: string[] = [];
    bank.onOutput((line, level) => seen.push(`${line}=${level ? 1 : 0}`));
    await gpio.output(0, true);
    expect(await gpio.direction(0)).toBe("out");
    expect(await gpio.get(0)).toBe(true);
    await gpio.set(0, false);
    expect(seen).toEqual(["0=1", "0=0"]);
    await gpio.setDirection(2, "in");
    bank.drive(2, true);
    expect(await gpio.get(2)).toBe(true);
  });
  it("delivers rising edges to a callback, re-arming after each", async () => {
    const { gpio, bank } = setup();
    await gpio.setDirection(2, "in");
    const events: GpioEvent[] = [];
    const off = await gpio.onEdge(2, "rising", (e) => events.push(e));
    bank.drive(2, true);
    await tick();
    bank.drive(2, false);
    bank.drive(2, true);
    await tick();
    expect(events).toEqual([
      { line: 2, trigger: "rising" },
      { line: 2, trigger: "rising" },
    ]);
    await off();
    bank.drive(2, false);
    bank.drive(2, true);
    await tick();
    expect(events.length).toBe(2);
  });
  it("delivers events through an async iterator and disarms on break", async () => {
    const { gpio, bank } = setup();
    await gpio.setDirection(3, "in");
    const it = gpio.events(3, "both");
    const got: boolean[] = [];
    const done = (async () => {
      for await (const e of it) {
        got.push(e.line === 3);
        if (got.length === 2) break;
      }
    })();
    await tick();
    bank.drive(3, true);
    await tick();
    bank.drive(3, false);
    await done;
    expect(got).toEqual([true, true]);
    // disarmed: the device now refuses an unmask pair for the line, so a new watcher must re-enable
    await expect(gpio.setDirection(3, "out")).resolves.toBeUndefined();
  });
  it("fires level interrupts while the level holds", async () => {
    const { gpio, bank } = setup();
    await gpio.setDirection(4, "in");
    bank.drive(4, true);
    let n = 0;
    const off = await gpio.onEdge(4, "high", () => {
      n++;
      if (n === 3) bank.drive(4, false);
    });
    for (let i = 0; i < 5; i++) await tick();
    expect(n).toBe(3);
    await off();
  });
  it("refuses bad requests with ERR_BAD_LINE and misuse with RangeError", async () => {
    const { gpio } = setup();
    await gpio.setDirection(5, "in");
    const off = await gpio.onEdge(5, "falling", () => undefined);
    await expect(gpio.setDirection(5, "out")).rejects.toMatchObject({ code: "ERR_BAD_LINE" }); // irq armed on an output
    await off();
    await expect(gpio.get(8)).rejects.toThrow(RangeError);
  });
  it("without VIRTIO_GPIO_F_IRQ, onEdge is ERR_UNSUPPORTED", async () => {
    const { gpio } = setup(false);
    await expect(gpio.onEdge(1, "rising", () => undefined)).rejects.toMatchObject({ code: "ERR_UNSUPPORTED" });
  });
  it("returns pending unmask pairs as INVALID when the link resets", async () => {
    const { gpio, server } = setup();
    await gpio.setDirection(6, "in");
    let n = 0;
    await gpio.onEdge(6, "rising", () => n++);
    server.reset();
    await tick();
    expect(n).toBe(0);
  });
});
