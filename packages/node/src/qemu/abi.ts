// The contract between this host and the firmware under firmware/qemu: the mps2-an386 memory map,
// the control block, the crash record and the doorbell bytes. Mirrors firmware/qemu/amp-qemu.h
// number for number (test/qemu/abi.test.ts compiles the header and compares).

/** Device address of the file-backed PSRAM on mps2-an385/an386 (qemu-remote.md §1). */
export const MPS2_RAM_BASE = 0x2100_0000;
/** Size of that RAM: QEMU insists on exactly 16 MiB for the mps2 boards. */
export const MPS2_RAM_SIZE = 0x0100_0000;

/** Device address of the control block (carveout "amp-ctrl" in the firmware's resource table). */
export const AMPQ_CTRL_DA = 0x21ff_f000;
/** Size of the control-block carveout. */
export const AMPQ_CTRL_LEN = 0x1000;

/** Word offsets inside the control block (u32, little-endian). */
export const AmpqCtrl = {
  /** firmware writes {@link AMPQ_MAGIC} once booted */
  MAGIC: 0x00,
  VERSION: 0x04,
  /** incremented by the firmware at each boot */
  BOOTS: 0x08,
  /** {@link AmpqState} */
  STATE: 0x0c,
  /** host writes {@link AmpqMode}: how the firmware waits and notifies */
  MODE: 0x10,
  /** incremented by the firmware at every remote -> host notification */
  NOTIFY: 0x14,
  /** doorbell interrupts the firmware took */
  IRQS: 0x18,
  /** idle-loop iterations (polling) or wake-ups (interrupt mode) */
  WAKEUPS: 0x1c,
  /** rpmsg messages received / sent by the firmware */
  RX: 0x20,
  TX: 0x24,
  /** host writes any value; the firmware copies it to PONG from its idle loop (raw round trip) */
  PING: 0x28,
  /** firmware writes the last PING value it saw */
  PONG: 0x2c,
  /** start of the crash record */
  CRASH: 0x40,
} as const;

/** "AMPQ", little-endian. */
export const AMPQ_MAGIC = 0x5150_4d41;
/** Control-block layout version this host understands. */
export const AMPQ_VERSION = 1;

/** Firmware state word values. */
export const AmpqState = { RESET: 0, WAIT_DRIVER_OK: 1, RUNNING: 2, CRASHED: 3 } as const;

/** Doorbell modes: the firmware busy-polls (POLL) or sleeps in WFI and uses UART1 bytes (IRQ). */
export const AmpqMode = { POLL: 0, IRQ: 1 } as const;

/** Offsets inside the crash record. */
export const AmpqCrash = {
  MAGIC: 0x00,
  REASON: 0x04,
  /** r0 r1 r2 r3 r12 lr pc xpsr: the exception frame the CPU stacked */
  FRAME: 0x08,
  CFSR: 0x28,
  HFSR: 0x2c,
  MMFAR: 0x30,
  BFAR: 0x34,
  EXC_RETURN: 0x38,
  SP: 0x3c,
  SIZE: 0x40,
} as const;

/** Written last into the crash record: the record is complete. */
export const AMPQ_CRASH_MAGIC = 0xdead_c0de;
/** Crash reason: HardFault (every fault escalates there in this firmware). */
export const AMPQ_CRASH_REASON_HARDFAULT = 1;
/** Crash reason: the watchdog (3 s, kicked by the firmware's main loop) raised NMI. */
export const AMPQ_CRASH_REASON_WATCHDOG = 2;

/** Byte the firmware writes on the doorbell UART after updating PONG (irq mode). */
export const AMPQ_DB_PONG = 0x7f;

/** Byte the firmware writes on the doorbell UART after recording a crash. */
export const AMPQ_DB_CRASH = 0xee;
