// virtio-console (device ID 3; rproc-serial is ID 11): struct virtio_console_config and
// struct virtio_console_control from <linux/virtio_console.h>; docs/wire-formats.md, "Virtio devices".
import { LE, need, room } from "../internal/bytes.js";

/** VIRTIO_ID_CONSOLE. */
export const VIRTIO_ID_CONSOLE = 3;
/** VIRTIO_ID_RPROC_SERIAL: the console protocol over remoteproc (port 0 only). */
export const VIRTIO_ID_RPROC_SERIAL = 11;
/** Feature bits: SIZE (0), MULTIPORT (1), EMERG_WRITE (2). */
export const VIRTIO_CONSOLE_F_SIZE = 0;
export const VIRTIO_CONSOLE_F_MULTIPORT = 1;
export const VIRTIO_CONSOLE_F_EMERG_WRITE = 2;
/** VIRTIO_CONSOLE_BAD_ID = ~(u32)0. */
export const VIRTIO_CONSOLE_BAD_ID = 0xffffffff;
/** Control events (VIRTIO_CONSOLE_*; the spec spells 1 and 2 DEVICE_ADD/DEVICE_REMOVE). */
export const VirtioConsoleEvent = {
  DEVICE_READY: 0,
  PORT_ADD: 1,
  PORT_REMOVE: 2,
  PORT_READY: 3,
  CONSOLE_PORT: 4,
  RESIZE: 5,
  PORT_OPEN: 6,
  PORT_NAME: 7,
} as const;

/** Queue index of port `port`'s receive queue (device → driver): 0 for port 0, 2n+2 after. */
export function consoleRxQueue(port: number): number {
  return port === 0 ? 0 : 2 * port + 2;
}
/** Queue index of port `port`'s transmit queue (driver → device): 1 for port 0, 2n+3 after. */
export function consoleTxQueue(port: number): number {
  return port === 0 ? 1 : 2 * port + 3;
}
/** Control receive queue (device → driver), present only with MULTIPORT. */
export const VIRTIO_CONSOLE_CONTROL_RX_QUEUE = 2;
/** Control transmit queue (driver → device), present only with MULTIPORT. */
export const VIRTIO_CONSOLE_CONTROL_TX_QUEUE = 3;

/** sizeof(struct virtio_console_config) (packed). */
export const VIRTIO_CONSOLE_CONFIG_SIZE = 12;
const OFF_COLS = 0,
  OFF_ROWS = 2,
  OFF_MAX_NR_PORTS = 4,
  OFF_EMERG_WR = 8;

/** struct virtio_console_config. */
export interface ConsoleConfig {
  /** `cols`. */
  readonly cols: number;
  /** `rows`. */
  readonly rows: number;
  /** `max_nr_ports` (meaningful with MULTIPORT). */
  readonly maxNrPorts: number;
  /** `emerg_wr`: the emergency write register (EMERG_WRITE). */
  readonly emergWr: number;
}

/** Decodes struct virtio_console_config. @throws AmpError ERR_TRUNCATED. */
export function decodeConsoleConfig(view: DataView, offset: number): ConsoleConfig {
  need(view, offset, VIRTIO_CONSOLE_CONFIG_SIZE, "virtio_console_config");
  return {
    cols: view.getUint16(offset + OFF_COLS, LE),
    rows: view.getUint16(offset + OFF_ROWS, LE),
    maxNrPorts: view.getUint32(offset + OFF_MAX_NR_PORTS, LE),
    emergWr: view.getUint32(offset + OFF_EMERG_WR, LE),
  };
}

/** Encodes struct virtio_console_config. */
export function encodeConsoleConfig(value: ConsoleConfig, view: DataView, offset: number): void {
  room(view, offset, VIRTIO_CONSOLE_CONFIG_SIZE, "virtio_console_config");
  view.setUint16(offset + OFF_COLS, value.cols, LE);
  view.setUint16(offset + OFF_ROWS, value.rows, LE);
  view.setUint32(offset + OFF_MAX_NR_PORTS, value.maxNrPorts >>> 0, LE);
  view.setUint32(offset + OFF_EMERG_WR, value.emergWr >>> 0, LE);
}

/** sizeof(struct virtio_console_control). */
export const VIRTIO_CONSOLE_CONTROL_SIZE = 8;
const OFF_ID = 0,
  OFF_EVENT = 4,
  OFF_VALUE = 6;

/** struct virtio_console_control. */
export interface ConsoleControl {
  /** `id`: port number. */
  readonly id: number;
  /** `event`: one of {@link VirtioConsoleEvent}. */
  readonly event: number;
  /** `value`. */
  readonly value: number;
}

/** Decodes struct virtio_console_control. @throws AmpError ERR_TRUNCATED. */
export function decodeConsoleControl(view: DataView, offset: number): ConsoleControl {
  need(view, offset, VIRTIO_CONSOLE_CONTROL_SIZE, "virtio_console_control");
  return {
    id: view.getUint32(offset + OFF_ID, LE),
    event: view.getUint16(offset + OFF_EVENT, LE),
    value: view.getUint16(offset + OFF_VALUE, LE),
  };
}

/** Encodes struct virtio_console_control. */
export function encodeConsoleControl(value: ConsoleControl, view: DataView, offset: number): void {
  room(view, offset, VIRTIO_CONSOLE_CONTROL_SIZE, "virtio_console_control");
  view.setUint32(offset + OFF_ID, value.id >>> 0, LE);
  view.setUint16(offset + OFF_EVENT, value.event, LE);
  view.setUint16(offset + OFF_VALUE, value.value, LE);
}
