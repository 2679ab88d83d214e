// Public API of @amp/virtual-io, listed by name.

// Errors
/** Error class with a stable `code` (from @amp/virtio-ring) and its guard. */
export { AmpError, isAmpError } from "./errors.js";
/** Codes this package throws. */
export type { VirtualIoErrorCode } from "./errors.js";

// Wire formats (one module per struct; LE; names from the Linux uapi headers)
/** virtio-i2c: struct virtio_i2c_out_hdr / in_hdr, flags, status, address encoding. */
export {
  VIRTIO_ID_I2C_ADAPTER,
  VIRTIO_I2C_F_ZERO_LENGTH_REQUEST,
  VIRTIO_I2C_FLAGS_FAIL_NEXT,
  VIRTIO_I2C_FLAGS_M_RD,
  VIRTIO_I2C_MSG_OK,
  VIRTIO_I2C_MSG_ERR,
  VIRTIO_I2C_OUT_HDR_SIZE,
  VIRTIO_I2C_IN_HDR_SIZE,
  decodeI2cOutHdr,
  encodeI2cOutHdr,
  encodeI2cAddress,
  decodeI2cAddress,
} from "./wire/i2c.js";
export type { I2cOutHdr, I2cAddress } from "./wire/i2c.js";
/** virtio-gpio: config, request/response, IRQ request/response, names block, message types. */
export {
  VIRTIO_ID_GPIO,
  VIRTIO_GPIO_F_IRQ,
  VirtioGpioMsg,
  VIRTIO_GPIO_STATUS_OK,
  VIRTIO_GPIO_STATUS_ERR,
  VirtioGpioDirection,
  VirtioGpioIrqType,
  VIRTIO_GPIO_IRQ_STATUS_INVALID,
  VIRTIO_GPIO_IRQ_STATUS_VALID,
  VIRTIO_GPIO_CONFIG_SIZE,
  VIRTIO_GPIO_REQUEST_SIZE,
  VIRTIO_GPIO_RESPONSE_SIZE,
  VIRTIO_GPIO_IRQ_REQUEST_SIZE,
  VIRTIO_GPIO_IRQ_RESPONSE_SIZE,
  decodeGpioConfig,
  encodeGpioConfig,
  decodeGpioRequest,
  encodeGpioRequest,
  decodeGpioResponse,
  encodeGpioResponse,
  decodeGpioIrqRequest,
  encodeGpioIrqRequest,
  encodeGpioNames,
  decodeGpioNames,
} from "./wire/gpio.js";
export type { GpioConfig, GpioRequest, GpioResponse } from "./wire/gpio.js";
/** virtio-spi: config, transfer head, result codes, mode bits. */
export {
  VIRTIO_ID_SPI,
  VIRTIO_SPI_TRANS_OK,
  VIRTIO_SPI_PARAM_ERR,
  VIRTIO_SPI_TRANS_ERR,
  VirtioSpiMode,
  VIRTIO_SPI_CONFIG_SIZE,
  VIRTIO_SPI_TRANSFER_HEAD_SIZE,
  VIRTIO_SPI_TRANSFER_RESULT_SIZE,
  decodeSpiConfig,
  encodeSpiConfig,
  decodeSpiTransferHead,
  encodeSpiTransferHead,
} from "./wire/spi.js";
export type { SpiConfig, SpiTransferHead } from "./wire/spi.js";
/** virtio-console: config, control message, events, queue numbering. */
export {
  VIRTIO_ID_CONSOLE,
  VIRTIO_ID_RPROC_SERIAL,
  VIRTIO_CONSOLE_F_SIZE,
  VIRTIO_CONSOLE_F_MULTIPORT,
  VIRTIO_CONSOLE_F_EMERG_WRITE,
  VIRTIO_CONSOLE_BAD_ID,
  VirtioConsoleEvent,
  VIRTIO_CONSOLE_CONTROL_RX_QUEUE,
  VIRTIO_CONSOLE_CONTROL_TX_QUEUE,
  VIRTIO_CONSOLE_CONFIG_SIZE,
  VIRTIO_CONSOLE_CONTROL_SIZE,
  consoleRxQueue,
  consoleTxQueue,
  decodeConsoleConfig,
  encodeConsoleConfig,
  decodeConsoleControl,
  encodeConsoleControl,
} from "./wire/console.js";
export type { ConsoleConfig, ConsoleControl } from "./wire/console.js";
/** Our framing of the same messages over an rpmsg endpoint (see the module comment for the layout). */
export {
  VIO_FRAME_VERSION,
  VIO_FRAME_HEADER_SIZE,
  VioFrameKind,
  VIO_FRAME_QUEUE_INFO,
  decodeVioFrame,
  encodeVioFrame,
} from "./wire/vio-frame.js";
export type { VioFrame } from "./wire/vio-frame.js";
/** Linux rpmsg_tty conventions: channel name, MTU, chunking. */
export { RPMSG_TTY_NAME, RPMSG_TTY_MTU, splitTtyChunks } from "./wire/rpmsg-tty.js";

// The seam between typed APIs and transports
/** Driver-side request channel and device-side server interfaces. */
export type { RequestChannel, DeviceServer, ReplyFn } from "./channel.js";
/** In-process channel (both sides in one thread). */
export { createDirectChannel } from "./transport/direct.js";
export type { ChannelOptions } from "./transport/direct.js";
export type { Scheduler } from "./internal/pending.js";
/** Virtqueue transport (@amp/virtio-ring queues): driver channel and device runner. */
export { VirtqueueChannel, VirtqueueDeviceRunner } from "./transport/virtqueue.js";
export type { VirtqueueChannelOptions, VirtqueueDeviceRunnerOptions } from "./transport/virtqueue.js";
/** Device bring-up on a @amp/virtio-ring VirtioTransport (handshake, queues, config), both roles. */
export { openVirtioDriver, serveVirtioDevice } from "./transport/virtio-transport.js";
export type { VirtioDriverOptions, VirtioDeviceOptions, QueuePlacement } from "./transport/virtio-transport.js";
/** rpmsg transport (@amp/rpmsg endpoints): framed devices, and UART as rpmsg-tty. */
export { serveOverRpmsg, connectOverRpmsg, serveRpmsgTty, openRpmsgTty } from "./transport/rpmsg.js";
export type {
  RpmsgEndpointFactory,
  RpmsgEndpointLike,
  RpmsgMessageLike,
  RpmsgServeOptions,
  RpmsgService,
  RpmsgConnectOptions,
  RpmsgChannel,
  RpmsgTtyServeOptions,
  RpmsgTtyOpenOptions,
} from "./transport/rpmsg.js";

// Device side: servers and models
/** virtio-i2c bus server with targets at addresses. */
export { I2cBusServer } from "./devices/i2c-server.js";
export type { I2cTarget, I2cBusServerOptions } from "./devices/i2c-server.js";
/** 24Cxx EEPROM model. */
export { I2cEeprom } from "./devices/eeprom-24cxx.js";
export type { I2cEepromOptions } from "./devices/eeprom-24cxx.js";
/** Register bank (device side of a regmap) and its I2C exposure. */
export { RegisterBank } from "./devices/register-bank.js";
export type { RegisterDef, RegisterWidth } from "./devices/register-bank.js";
export { createI2cRegisterDevice } from "./devices/i2c-register-device.js";
export type { I2cRegisterFormat } from "./devices/i2c-register-device.js";
/** TMP102-style temperature sensor model. */
export {
  I2cTemperatureSensor,
  TempSensorReg,
  encodeTemperature,
  decodeTemperature,
} from "./devices/temperature-sensor.js";
/** virtio-spi controller server and the SPI NOR flash model. */
export { SpiBusServer } from "./devices/spi-server.js";
export type { SpiTarget, SpiBusServerOptions } from "./devices/spi-server.js";
export { SpiNorFlash, SpiNorCmd, SpiNorStatus } from "./devices/spi-nor-flash.js";
export type { SpiNorFlashOptions } from "./devices/spi-nor-flash.js";
/** GPIO bank model and the virtio-gpio server. */
export { GpioBank } from "./devices/gpio-bank.js";
export type { GpioLines, GpioBankOptions } from "./devices/gpio-bank.js";
export { GpioServer } from "./devices/gpio-server.js";
export type { GpioServerOptions } from "./devices/gpio-server.js";
/** virtio-console server (port 0) and the loopback UART model. */
export { ConsoleServer, createLoopbackUart } from "./devices/console-server.js";
export type { UartDevice, ConsoleServerOptions } from "./devices/console-server.js";

// Driver side: typed APIs
/** I2C bus across the link. */
export { I2cClient } from "./driver/i2c-client.js";
export type { I2cMessage, I2cClientOptions } from "./driver/i2c-client.js";
/** SPI controller across the link. */
export { SpiClient } from "./driver/spi-client.js";
export type { SpiTransfer, SpiSettings } from "./driver/spi-client.js";
/** GPIO bank across the link, with interrupts as callbacks or async iterators. */
export { GpioClient } from "./driver/gpio-client.js";
export type {
  GpioDirection,
  GpioTrigger,
  GpioEvent,
  GpioEventsOptions,
  GpioClientOptions,
} from "./driver/gpio-client.js";
/** UART as a byte stream (virtio-console here; rpmsg-tty in the rpmsg transport). */
export { UartStream, openConsoleUart } from "./driver/uart-stream.js";
export type { BytePipe, UartStreamOptions, ConsoleUartOptions } from "./driver/uart-stream.js";
/** Register maps: cache, volatile ranges, updateBits, bulk; over I2C or a local bank. */
export { Regmap, createI2cRegmapBus, createRegisterBankBus } from "./driver/regmap.js";
export type { RegmapBus, RegmapOptions, RegisterRange, I2cRegmapFormat } from "./driver/regmap.js";
