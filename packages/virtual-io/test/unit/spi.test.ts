import { describe, expect, it } from "vitest";
import { toHex } from "@amp/test-utils";
import {
  SpiBusServer,
  SpiClient,
  SpiNorCmd,
  SpiNorFlash,
  SpiNorStatus,
  VirtioSpiMode,
  createDirectChannel,
  decodeSpiTransferHead,
  encodeSpiTransferHead,
} from "@amp/virtual-io";

function setup(flashOptions = {}) {
  const bus = new SpiBusServer({ chipSelects: 2 });
  const flash = new SpiNorFlash({ size: 1 << 16, ...flashOptions });
  bus.attach(0, flash);
  return { bus, flash, spi: new SpiClient(createDirectChannel(bus)) };
}

async function waitReady(spi: SpiClient): Promise<number> {
  let polls = 0;
  while (((await spi.exchange(0, Uint8Array.of(SpiNorCmd.READ_STATUS, 0)))[1]! & SpiNorStatus.WIP) !== 0) polls++;
  return polls;
}

describe("virtio-spi codec", () => {
  it("lays out spi_transfer_head per the spec (32 bytes, reserved zero)", () => {
    const b = new Uint8Array(32).fill(0xee);
    const head = {
      chipSelectId: 1,
      bitsPerWord: 8,
      csChange: 1,
      txNbits: 1,
      rxNbits: 2,
      mode: 3,
      freq: 1_000_000,
      wordDelayNs: 5,
      csSetupNs: 6,
      csDelayHoldNs: 7,
      csChangeDelayInactiveNs: 8,
    };
    encodeSpiTransferHead(head, new DataView(b.buffer), 0);
    expect(toHex(b)).toBe(
      "0108010102000000" + "03000000" + "40420f00" + "05000000" + "06000000" + "07000000" + "08000000",
    );
    expect(decodeSpiTransferHead(new DataView(b.buffer), 0)).toEqual(head);
  });
});

describe("SPI NOR flash", () => {
  it("reports its JEDEC ID and the controller config", async () => {
    const { spi } = setup();
    expect(toHex(await spi.exchange(0, Uint8Array.of(SpiNorCmd.READ_JEDEC_ID, 0, 0, 0)))).toBe("ffef4010");
    expect(spi.config?.csMaxNumber).toBe(2);
    expect(spi.config?.bitsPerWordMask).toBe(0x80);
  });
  it("programs a page only after WREN, with WIP polling, and clears WEL", async () => {
    const { spi, flash } = setup({ busyPolls: 3 });
    await spi.transfer(0, [{ tx: Uint8Array.of(SpiNorCmd.PAGE_PROGRAM, 0, 0x01, 0x00, 0x12, 0x34) }]);
    expect(flash.memory[0x100]).toBe(0xff); // no WREN: ignored
    await spi.transfer(0, [{ tx: Uint8Array.of(SpiNorCmd.WRITE_ENABLE) }]);
    expect(flash.status & SpiNorStatus.WEL).toBe(SpiNorStatus.WEL);
    await spi.transfer(0, [
      { tx: Uint8Array.of(SpiNorCmd.PAGE_PROGRAM, 0, 0x01, 0xfe) },
      { tx: Uint8Array.of(1, 2, 3, 4) },
    ]);
    expect(await waitReady(spi)).toBe(3);
    expect(flash.status).toBe(0);
    // the page address wrapped: fe, ff, then 00, 01 of the same page
    expect(toHex(await spi.writeThenRead(0, Uint8Array.of(SpiNorCmd.READ, 0, 0x01, 0xfe), 2))).toBe("0102");
    expect(toHex(await spi.writeThenRead(0, Uint8Array.of(SpiNorCmd.FAST_READ, 0, 0x01, 0x00, 0), 2))).toBe("0304");
  });
  it("programs only 1 → 0 and erases a 4 KiB sector back to ff", async () => {
    const { spi, flash } = setup({ busyPolls: 0 });
    const program = async (addr: number, data: number[]) => {
      await spi.transfer(0, [{ tx: Uint8Array.of(SpiNorCmd.WRITE_ENABLE) }]);
      await spi.transfer(0, [
        { tx: Uint8Array.of(SpiNorCmd.PAGE_PROGRAM, addr >> 16, (addr >> 8) & 0xff, addr & 0xff, ...data) },
      ]);
    };
    await program(0x1000, [0xf0]);
    await program(0x1000, [0x0f]);
    expect(flash.memory[0x1000]).toBe(0x00);
    await program(0x2000, [0x55]);
    await spi.transfer(0, [{ tx: Uint8Array.of(SpiNorCmd.WRITE_ENABLE) }]);
    await spi.transfer(0, [{ tx: Uint8Array.of(SpiNorCmd.SECTOR_ERASE_4K, 0, 0x1f, 0xff) }]);
    expect(flash.memory[0x1000]).toBe(0xff);
    expect(flash.memory[0x2000]).toBe(0x55);
  });
  it("ignores commands other than READ_STATUS while busy", async () => {
    const { spi, flash } = setup({ busyPolls: 2 });
    await spi.transfer(0, [{ tx: Uint8Array.of(SpiNorCmd.WRITE_ENABLE) }]);
    await spi.transfer(0, [{ tx: Uint8Array.of(SpiNorCmd.CHIP_ERASE) }]);
    expect(toHex(await spi.exchange(0, Uint8Array.of(SpiNorCmd.READ_JEDEC_ID, 0, 0, 0)))).toBe("ffffffff");
    expect(flash.status & SpiNorStatus.WIP).toBe(1);
  });
});

describe("SPI controller errors", () => {
  it("answers PARAM_ERR (ERR_UNSUPPORTED) for bad parameters and TRANS_ERR (ERR_IO) for an empty chip select", async () => {
    const { spi } = setup();
    await expect(spi.exchange(0, Uint8Array.of(1), { bitsPerWord: 16 })).rejects.toMatchObject({
      code: "ERR_UNSUPPORTED",
    });
    await expect(spi.exchange(0, Uint8Array.of(1), { mode: VirtioSpiMode.LSB_FIRST })).rejects.toMatchObject({
      code: "ERR_UNSUPPORTED",
    });
    await expect(spi.exchange(5, Uint8Array.of(1))).rejects.toMatchObject({ code: "ERR_UNSUPPORTED" });
    await expect(spi.exchange(1, Uint8Array.of(1))).rejects.toMatchObject({ code: "ERR_IO" });
    await expect(spi.transfer(0, [{ tx: Uint8Array.of(1, 2), rxLength: 3 }])).rejects.toThrow(RangeError);
  });
  it("loops tx back to rx in LOOP mode", async () => {
    const { spi } = setup();
    expect(toHex(await spi.exchange(1, Uint8Array.of(1, 2, 3), { mode: VirtioSpiMode.LOOP }))).toBe("010203");
  });
});
