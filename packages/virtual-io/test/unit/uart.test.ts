import { describe, expect, it } from "vitest";
import { toHex } from "@amp/test-utils";
import {
  ConsoleServer,
  createDirectChannel,
  createLoopbackUart,
  openConsoleUart,
  splitTtyChunks,
  RPMSG_TTY_MTU,
  isAmpError,
} from "@amp/virtual-io";
import type { UartDevice } from "@amp/virtual-io";

const tick = () => new Promise((r) => setTimeout(r, 0));

describe("UART over virtio-console", () => {
  it("echoes through a loopback UART, as callback and as async iterator", async () => {
    const uart = openConsoleUart(createDirectChannel(new ConsoleServer(createLoopbackUart())), {
      rxBuffers: 2,
      rxBufferSize: 4,
    });
    const seen: string[] = [];
    uart.onData((b) => seen.push(toHex(b)));
    const iter = uart[Symbol.asyncIterator]();
    await uart.write("hello!");
    await tick();
    // the 6 bytes came back in receive buffers of at most 4 bytes
    expect(seen.join("")).toBe("68656c6c6f21");
    expect(seen.every((s) => s.length <= 8)).toBe(true);
    const first = await iter.next();
    expect(first.done).toBe(false);
    uart.close();
    await expect(uart.write("x")).rejects.toMatchObject({ code: "ERR_CLOSED" });
  });
  it("keeps device output until the driver posts buffers, bounded", async () => {
    let send: (b: Uint8Array) => void = () => undefined;
    const dev: UartDevice = { attach: (s) => (send = s), receive: () => undefined };
    const server = new ConsoleServer(dev, { maxBuffered: 4 });
    send(Uint8Array.of(1, 2, 3));
    send(Uint8Array.of(4, 5, 6));
    expect(server.dropped).toBe(2);
    const uart = openConsoleUart(createDirectChannel(server), { rxBuffers: 1 });
    const it = uart[Symbol.asyncIterator]();
    expect(toHex((await it.next()).value as Uint8Array)).toBe("01020304");
    uart.close();
    expect((await it.next()).done).toBe(true);
  });
  it("uses the console's queue numbering and ignores wrong-direction buffers", () => {
    const server = new ConsoleServer(createLoopbackUart());
    let got: Uint8Array | undefined;
    server.handle(0, Uint8Array.of(1), 8, (w) => (got = w)); // readable part on the receiveq
    expect(got?.length).toBe(0);
    server.handle(7, new Uint8Array(0), 8, (w) => (got = w));
    expect(got?.length).toBe(0);
  });
});

describe("rpmsg-tty chunking", () => {
  it("cuts writes into messages of at most the MTU, never empty", () => {
    const chunks = splitTtyChunks(new Uint8Array(1000));
    expect(chunks.map((c) => c.length)).toEqual([RPMSG_TTY_MTU, RPMSG_TTY_MTU, 8]);
    expect(splitTtyChunks(new Uint8Array(0))).toEqual([]);
    expect(() => splitTtyChunks(new Uint8Array(1), 0)).toThrow(RangeError);
    expect(isAmpError(new Error())).toBe(false);
  });
});
