// Conformance with the kernel's uapi headers (<linux/virtio_i2c.h>, <linux/virtio_gpio.h>,
// <linux/virtio_console.h>, from Debian's linux-libc-dev): a C program prints sizeof/offsetof of
// every struct and the value of every constant; our codecs must agree. Offsets are checked by
// encoding a value with a distinct byte per field and finding each field where C says it is.
// virtio-spi: Debian does not ship <linux/virtio_spi.h> yet, so spi is checked against
// docs/wire-formats.md, "Virtio devices" in test/unit/spi.test.ts and the gcc-compiled struct
// layout below (declared from the spec text).
import { describe, expect, it } from "vitest";
import { compileC, requireTools, run } from "@amp/test-utils";
import * as vio from "@amp/virtual-io";

const missing = requireTools("gcc");

const C_SOURCE = String.raw`
#include <stdio.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/virtio_i2c.h>
#include <linux/virtio_gpio.h>
#include <linux/virtio_console.h>
#include <linux/virtio_ids.h>
#define P(name, v) printf("%s %lld\n", name, (long long)(v))
#define S(t) P("sizeof " #t, sizeof(struct t))
#define O(t, f) P("offsetof " #t "." #f, offsetof(struct t, f))
#define C(c) P(#c, c)
/* spi_transfer_head and virtio_spi_config, declared from the virtio spec (docs/wire-formats.md, "Virtio devices") */
struct spi_transfer_head { uint8_t chip_select_id, bits_per_word, cs_change, tx_nbits, rx_nbits, reserved[3];
  uint32_t mode, freq, word_delay_ns, cs_setup_ns, cs_delay_hold_ns, cs_change_delay_inactive_ns; };
struct virtio_spi_config { uint8_t cs_max_number, cs_change_supported, tx_nbits_supported, rx_nbits_supported;
  uint32_t bits_per_word_mask, mode_func_supported, max_freq_hz, max_word_delay_ns, max_cs_setup_ns, max_cs_hold_ns, max_cs_inactive_ns; };
int main(void) {
  S(virtio_i2c_out_hdr); O(virtio_i2c_out_hdr, addr); O(virtio_i2c_out_hdr, padding); O(virtio_i2c_out_hdr, flags);
  S(virtio_i2c_in_hdr); O(virtio_i2c_in_hdr, status);
  C(VIRTIO_I2C_F_ZERO_LENGTH_REQUEST); C(VIRTIO_I2C_FLAGS_FAIL_NEXT); C(VIRTIO_I2C_FLAGS_M_RD); C(VIRTIO_I2C_MSG_OK); C(VIRTIO_I2C_MSG_ERR);
  S(virtio_gpio_config); O(virtio_gpio_config, ngpio); O(virtio_gpio_config, gpio_names_size);
  S(virtio_gpio_request); O(virtio_gpio_request, type); O(virtio_gpio_request, gpio); O(virtio_gpio_request, value);
  S(virtio_gpio_response); O(virtio_gpio_response, status); O(virtio_gpio_response, value);
  S(virtio_gpio_irq_request); S(virtio_gpio_irq_response);
  C(VIRTIO_GPIO_F_IRQ); C(VIRTIO_GPIO_MSG_GET_NAMES); C(VIRTIO_GPIO_MSG_GET_DIRECTION); C(VIRTIO_GPIO_MSG_SET_DIRECTION);
  C(VIRTIO_GPIO_MSG_GET_VALUE); C(VIRTIO_GPIO_MSG_SET_VALUE); C(VIRTIO_GPIO_MSG_IRQ_TYPE);
  C(VIRTIO_GPIO_STATUS_OK); C(VIRTIO_GPIO_STATUS_ERR);
  C(VIRTIO_GPIO_DIRECTION_NONE); C(VIRTIO_GPIO_DIRECTION_OUT); C(VIRTIO_GPIO_DIRECTION_IN);
  C(VIRTIO_GPIO_IRQ_TYPE_NONE); C(VIRTIO_GPIO_IRQ_TYPE_EDGE_RISING); C(VIRTIO_GPIO_IRQ_TYPE_EDGE_FALLING); C(VIRTIO_GPIO_IRQ_TYPE_EDGE_BOTH);
  C(VIRTIO_GPIO_IRQ_TYPE_LEVEL_HIGH); C(VIRTIO_GPIO_IRQ_TYPE_LEVEL_LOW); C(VIRTIO_GPIO_IRQ_STATUS_INVALID); C(VIRTIO_GPIO_IRQ_STATUS_VALID);
  S(virtio_console_config); O(virtio_console_config, cols); O(virtio_console_config, rows); O(virtio_console_config, max_nr_ports); O(virtio_console_config, emerg_wr);
  S(virtio_console_control); O(virtio_console_control, id); O(virtio_console_control, event); O(virtio_console_control, value);
  C(VIRTIO_CONSOLE_F_SIZE); C(VIRTIO_CONSOLE_F_MULTIPORT); C(VIRTIO_CONSOLE_F_EMERG_WRITE); C(VIRTIO_CONSOLE_BAD_ID);
  C(VIRTIO_CONSOLE_DEVICE_READY); C(VIRTIO_CONSOLE_PORT_ADD); C(VIRTIO_CONSOLE_PORT_REMOVE); C(VIRTIO_CONSOLE_PORT_READY);
  C(VIRTIO_CONSOLE_CONSOLE_PORT); C(VIRTIO_CONSOLE_RESIZE); C(VIRTIO_CONSOLE_PORT_OPEN); C(VIRTIO_CONSOLE_PORT_NAME);
  C(VIRTIO_ID_CONSOLE); C(VIRTIO_ID_RPROC_SERIAL); C(VIRTIO_ID_I2C_ADAPTER); C(VIRTIO_ID_GPIO);
  S(spi_transfer_head); O(spi_transfer_head, chip_select_id); O(spi_transfer_head, bits_per_word); O(spi_transfer_head, cs_change);
  O(spi_transfer_head, tx_nbits); O(spi_transfer_head, rx_nbits); O(spi_transfer_head, mode); O(spi_transfer_head, freq);
  O(spi_transfer_head, word_delay_ns); O(spi_transfer_head, cs_setup_ns); O(spi_transfer_head, cs_delay_hold_ns); O(spi_transfer_head, cs_change_delay_inactive_ns);
  S(virtio_spi_config); O(virtio_spi_config, cs_max_number); O(virtio_spi_config, cs_change_supported); O(virtio_spi_config, tx_nbits_supported);
  O(virtio_spi_config, rx_nbits_supported); O(virtio_spi_config, bits_per_word_mask); O(virtio_spi_config, mode_func_supported);
  O(virtio_spi_config, max_freq_hz); O(virtio_spi_config, max_word_delay_ns); O(virtio_spi_config, max_cs_setup_ns);
  O(virtio_spi_config, max_cs_hold_ns); O(virtio_spi_config, max_cs_inactive_ns);
  return 0;
}
`;

function facts(): Map<string, number> {
  const out = run(compileC(C_SOURCE, { name: "virtio-io-layout" }), []);
  return new Map(
    out
      .trim()
      .split("\n")
      .map((l) => {
        const i = l.lastIndexOf(" ");
        return [l.slice(0, i), Number(l.slice(i + 1))];
      }),
  );
}

/** Encodes `value` with `encode`, then returns the byte offset where each field's marker byte landed. */
function offsetsOf(size: number, encode: (v: DataView) => void): number[] {
  const b = new Uint8Array(size);
  encode(new DataView(b.buffer));
  return [...b];
}

describe.skipIf(missing)("layouts agree with the kernel uapi headers (gcc)", () => {
  const f = missing ? new Map<string, number>() : facts();
  const c = (k: string) => {
    const v = f.get(k);
    if (v === undefined) throw new Error(`C program did not print ${k}`);
    return v;
  };

  it("virtio-i2c", () => {
    expect(vio.VIRTIO_I2C_OUT_HDR_SIZE).toBe(c("sizeof virtio_i2c_out_hdr"));
    expect(vio.VIRTIO_I2C_IN_HDR_SIZE).toBe(c("sizeof virtio_i2c_in_hdr"));
    const bytes = offsetsOf(8, (v) => vio.encodeI2cOutHdr({ addr: 0x11, flags: 0x03 }, v, 0));
    expect(bytes[c("offsetof virtio_i2c_out_hdr.addr")]).toBe(0x11);
    expect(bytes[c("offsetof virtio_i2c_out_hdr.flags")]).toBe(0x03);
    expect(bytes[c("offsetof virtio_i2c_out_hdr.padding")]).toBe(0);
    expect(c("offsetof virtio_i2c_in_hdr.status")).toBe(0);
    expect(vio.VIRTIO_I2C_F_ZERO_LENGTH_REQUEST).toBe(c("VIRTIO_I2C_F_ZERO_LENGTH_REQUEST"));
    expect(vio.VIRTIO_I2C_FLAGS_FAIL_NEXT).toBe(c("VIRTIO_I2C_FLAGS_FAIL_NEXT"));
    expect(vio.VIRTIO_I2C_FLAGS_M_RD).toBe(c("VIRTIO_I2C_FLAGS_M_RD"));
    expect(vio.VIRTIO_I2C_MSG_OK).toBe(c("VIRTIO_I2C_MSG_OK"));
    expect(vio.VIRTIO_I2C_MSG_ERR).toBe(c("VIRTIO_I2C_MSG_ERR"));
    expect(vio.VIRTIO_ID_I2C_ADAPTER).toBe(c("VIRTIO_ID_I2C_ADAPTER"));
  });

  it("virtio-gpio", () => {
    expect(vio.VIRTIO_GPIO_CONFIG_SIZE).toBe(c("sizeof virtio_gpio_config"));
    expect(vio.VIRTIO_GPIO_REQUEST_SIZE).toBe(c("sizeof virtio_gpio_request"));
    expect(vio.VIRTIO_GPIO_RESPONSE_SIZE).toBe(c("sizeof virtio_gpio_response"));
    expect(vio.VIRTIO_GPIO_IRQ_REQUEST_SIZE).toBe(c("sizeof virtio_gpio_irq_request"));
    expect(vio.VIRTIO_GPIO_IRQ_RESPONSE_SIZE).toBe(c("sizeof virtio_gpio_irq_response"));
    const cfg = offsetsOf(8, (v) => vio.encodeGpioConfig({ ngpio: 0x21, gpioNamesSize: 0x22 }, v, 0));
    expect(cfg[c("offsetof virtio_gpio_config.ngpio")]).toBe(0x21);
    expect(cfg[c("offsetof virtio_gpio_config.gpio_names_size")]).toBe(0x22);
    const req = offsetsOf(8, (v) => vio.encodeGpioRequest({ type: 0x31, gpio: 0x32, value: 0x33 }, v, 0));
    expect(req[c("offsetof virtio_gpio_request.type")]).toBe(0x31);
    expect(req[c("offsetof virtio_gpio_request.gpio")]).toBe(0x32);
    expect(req[c("offsetof virtio_gpio_request.value")]).toBe(0x33);
    const res = offsetsOf(2, (v) => vio.encodeGpioResponse({ status: 0x41, value: 0x42 }, v, 0));
    expect(res[c("offsetof virtio_gpio_response.status")]).toBe(0x41);
    expect(res[c("offsetof virtio_gpio_response.value")]).toBe(0x42);
    expect(vio.VIRTIO_GPIO_F_IRQ).toBe(c("VIRTIO_GPIO_F_IRQ"));
    expect(vio.VirtioGpioMsg).toEqual({
      GET_NAMES: c("VIRTIO_GPIO_MSG_GET_NAMES"),
      GET_DIRECTION: c("VIRTIO_GPIO_MSG_GET_DIRECTION"),
      SET_DIRECTION: c("VIRTIO_GPIO_MSG_SET_DIRECTION"),
      GET_VALUE: c("VIRTIO_GPIO_MSG_GET_VALUE"),
      SET_VALUE: c("VIRTIO_GPIO_MSG_SET_VALUE"),
      IRQ_TYPE: c("VIRTIO_GPIO_MSG_IRQ_TYPE"),
    });
    expect([vio.VIRTIO_GPIO_STATUS_OK, vio.VIRTIO_GPIO_STATUS_ERR]).toEqual([
      c("VIRTIO_GPIO_STATUS_OK"),
      c("VIRTIO_GPIO_STATUS_ERR"),
    ]);
    expect(vio.VirtioGpioDirection).toEqual({
      NONE: c("VIRTIO_GPIO_DIRECTION_NONE"),
      OUT: c("VIRTIO_GPIO_DIRECTION_OUT"),
      IN: c("VIRTIO_GPIO_DIRECTION_IN"),
    });
    expect(vio.VirtioGpioIrqType).toEqual({
      NONE: c("VIRTIO_GPIO_IRQ_TYPE_NONE"),
      EDGE_RISING: c("VIRTIO_GPIO_IRQ_TYPE_EDGE_RISING"),
      EDGE_FALLING: c("VIRTIO_GPIO_IRQ_TYPE_EDGE_FALLING"),
      EDGE_BOTH: c("VIRTIO_GPIO_IRQ_TYPE_EDGE_BOTH"),
      LEVEL_HIGH: c("VIRTIO_GPIO_IRQ_TYPE_LEVEL_HIGH"),
      LEVEL_LOW: c("VIRTIO_GPIO_IRQ_TYPE_LEVEL_LOW"),
    });
    expect([vio.VIRTIO_GPIO_IRQ_STATUS_INVALID, vio.VIRTIO_GPIO_IRQ_STATUS_VALID]).toEqual([
      c("VIRTIO_GPIO_IRQ_STATUS_INVALID"),
      c("VIRTIO_GPIO_IRQ_STATUS_VALID"),
    ]);
    expect(vio.VIRTIO_ID_GPIO).toBe(c("VIRTIO_ID_GPIO"));
  });

  it("virtio-console", () => {
    expect(vio.VIRTIO_CONSOLE_CONFIG_SIZE).toBe(c("sizeof virtio_console_config"));
    expect(vio.VIRTIO_CONSOLE_CONTROL_SIZE).toBe(c("sizeof virtio_console_control"));
    const cfg = offsetsOf(12, (v) =>
      vio.encodeConsoleConfig({ cols: 0x51, rows: 0x52, maxNrPorts: 0x53, emergWr: 0x54 }, v, 0),
    );
    expect(cfg[c("offsetof virtio_console_config.cols")]).toBe(0x51);
    expect(cfg[c("offsetof virtio_console_config.rows")]).toBe(0x52);
    expect(cfg[c("offsetof virtio_console_config.max_nr_ports")]).toBe(0x53);
    expect(cfg[c("offsetof virtio_console_config.emerg_wr")]).toBe(0x54);
    const ctl = offsetsOf(8, (v) => vio.encodeConsoleControl({ id: 0x61, event: 0x62, value: 0x63 }, v, 0));
    expect(ctl[c("offsetof virtio_console_control.id")]).toBe(0x61);
    expect(ctl[c("offsetof virtio_console_control.event")]).toBe(0x62);
    expect(ctl[c("offsetof virtio_console_control.value")]).toBe(0x63);
    expect([vio.VIRTIO_CONSOLE_F_SIZE, vio.VIRTIO_CONSOLE_F_MULTIPORT, vio.VIRTIO_CONSOLE_F_EMERG_WRITE]).toEqual([
      c("VIRTIO_CONSOLE_F_SIZE"),
      c("VIRTIO_CONSOLE_F_MULTIPORT"),
      c("VIRTIO_CONSOLE_F_EMERG_WRITE"),
    ]);
    expect(vio.VIRTIO_CONSOLE_BAD_ID).toBe(c("VIRTIO_CONSOLE_BAD_ID"));
    expect(vio.VirtioConsoleEvent).toEqual({
      DEVICE_READY: c("VIRTIO_CONSOLE_DEVICE_READY"),
      PORT_ADD: c("VIRTIO_CONSOLE_PORT_ADD"),
      PORT_REMOVE: c("VIRTIO_CONSOLE_PORT_REMOVE"),
      PORT_READY: c("VIRTIO_CONSOLE_PORT_READY"),
      CONSOLE_PORT: c("VIRTIO_CONSOLE_CONSOLE_PORT"),
      RESIZE: c("VIRTIO_CONSOLE_RESIZE"),
      PORT_OPEN: c("VIRTIO_CONSOLE_PORT_OPEN"),
      PORT_NAME: c("VIRTIO_CONSOLE_PORT_NAME"),
    });
    expect(vio.VIRTIO_ID_CONSOLE).toBe(c("VIRTIO_ID_CONSOLE"));
    expect(vio.VIRTIO_ID_RPROC_SERIAL).toBe(c("VIRTIO_ID_RPROC_SERIAL"));
  });

  it("virtio-spi (layout declared from the spec, compiled by gcc)", () => {
    expect(vio.VIRTIO_SPI_TRANSFER_HEAD_SIZE).toBe(c("sizeof spi_transfer_head"));
    expect(vio.VIRTIO_SPI_CONFIG_SIZE).toBe(c("sizeof virtio_spi_config"));
    const head = offsetsOf(32, (v) =>
      vio.encodeSpiTransferHead(
        {
          chipSelectId: 0x71,
          bitsPerWord: 0x72,
          csChange: 0x73,
          txNbits: 0x74,
          rxNbits: 0x75,
          mode: 0x76,
          freq: 0x77,
          wordDelayNs: 0x78,
          csSetupNs: 0x79,
          csDelayHoldNs: 0x7a,
          csChangeDelayInactiveNs: 0x7b,
        },
        v,
        0,
      ),
    );
    const fields: [string, number][] = [
      ["chip_select_id", 0x71],
      ["bits_per_word", 0x72],
      ["cs_change", 0x73],
      ["tx_nbits", 0x74],
      ["rx_nbits", 0x75],
      ["mode", 0x76],
      ["freq", 0x77],
      ["word_delay_ns", 0x78],
      ["cs_setup_ns", 0x79],
      ["cs_delay_hold_ns", 0x7a],
      ["cs_change_delay_inactive_ns", 0x7b],
    ];
    for (const [name, marker] of fields) expect(head[c(`offsetof spi_transfer_head.${name}`)], name).toBe(marker);
    const cfg = offsetsOf(32, (v) =>
      vio.encodeSpiConfig(
        {
          csMaxNumber: 0x81,
          csChangeSupported: 0x82,
          txNbitsSupported: 0x83,
          rxNbitsSupported: 0x84,
          bitsPerWordMask: 0x85,
          modeFuncSupported: 0x86,
          maxFreqHz: 0x87,
          maxWordDelayNs: 0x88,
          maxCsSetupNs: 0x89,
          maxCsHoldNs: 0x8a,
          maxCsInactiveNs: 0x8b,
        },
        v,
        0,
      ),
    );
    const cfields: [string, number][] = [
      ["cs_max_number", 0x81],
      ["cs_change_supported", 0x82],
      ["tx_nbits_supported", 0x83],
      ["rx_nbits_supported", 0x84],
      ["bits_per_word_mask", 0x85],
      ["mode_func_supported", 0x86],
      ["max_freq_hz", 0x87],
      ["max_word_delay_ns", 0x88],
      ["max_cs_setup_ns", 0x89],
      ["max_cs_hold_ns", 0x8a],
      ["max_cs_inactive_ns", 0x8b],
    ];
    for (const [name, marker] of cfields) expect(cfg[c(`offsetof virtio_spi_config.${name}`)], name).toBe(marker);
  });
});
