// The "hardware" of the worker-thread processor that both sides share, besides its memory: a
// small SharedArrayBuffer of control words and two doorbells. Runtime-agnostic (ES2020 plus
// SharedArrayBuffer/Atomics): the firmware runtime bundles it into every JS firmware.
//
// Layout (byte offsets, little-endian Int32 words):
//   0   CPU_STATE         0 reset, 1 running, 2 halted (the program returned)
//   4   WATCHDOG_TIMEOUT  ms; 0 = disarmed. The firmware arms it.
//   8   WATCHDOG_COUNT    incremented by the firmware on every kick
//   12  reserved
//   16  host -> remote doorbell (AtomicsDoorbell, 64 queues, 12 bytes): "vring N has work"
//   32  remote -> host doorbell (AtomicsDoorbell, 64 queues, 12 bytes)
import { AtomicsDoorbell } from "@amp/virtio-ring";

/** Bytes of the control block. */
export const CONTROL_BLOCK_SIZE = 48;
/** Queues (notify ids) each doorbell carries. */
export const DOORBELL_QUEUES = 64;

const W_CPU_STATE = 0;
const W_WATCHDOG_TIMEOUT = 1;
const W_WATCHDOG_COUNT = 2;
const TO_REMOTE_OFFSET = 16;
const TO_HOST_OFFSET = 32;

/** Values of the CPU_STATE word. */
export const CpuState = { RESET: 0, RUNNING: 1, HALTED: 2 } as const;

/** Both sides' view of the control block. */
export class ProcessorBus {
  /** The shared bytes (hand them to the other side). */
  readonly buffer: SharedArrayBuffer;
  /** Host -> remote doorbell: the host notifies, the remote polls/waits. */
  readonly toRemote: AtomicsDoorbell;
  /** Remote -> host doorbell: the remote notifies, the host polls/waits. */
  readonly toHost: AtomicsDoorbell;
  private readonly words: Int32Array;

  /** Wraps an existing control block, or creates one when `buffer` is absent. */
  constructor(buffer?: SharedArrayBuffer) {
    this.buffer = buffer ?? new SharedArrayBuffer(CONTROL_BLOCK_SIZE);
    if (this.buffer.byteLength < CONTROL_BLOCK_SIZE)
      throw new RangeError(`control block needs ${CONTROL_BLOCK_SIZE} bytes`);
    this.words = new Int32Array(this.buffer, 0, 4);
    this.toRemote = new AtomicsDoorbell(this.buffer, TO_REMOTE_OFFSET, { queues: DOORBELL_QUEUES });
    this.toHost = new AtomicsDoorbell(this.buffer, TO_HOST_OFFSET, { queues: DOORBELL_QUEUES });
  }

  /** The CPU_STATE word. */
  get cpuState(): number {
    return Atomics.load(this.words, W_CPU_STATE);
  }
  set cpuState(v: number) {
    Atomics.store(this.words, W_CPU_STATE, v);
  }

  /** Watchdog timeout in ms (0: disarmed). */
  get watchdogTimeout(): number {
    return Atomics.load(this.words, W_WATCHDOG_TIMEOUT);
  }

  /** Number of watchdog kicks so far. */
  get watchdogCount(): number {
    return Atomics.load(this.words, W_WATCHDOG_COUNT);
  }

  /** Arms (ms > 0) or disarms (0) the watchdog, counting as a kick. */
  armWatchdog(ms: number): void {
    if (!Number.isInteger(ms) || ms < 0 || ms > 0x7fffffff)
      throw new RangeError("watchdog timeout must be a non-negative integer of ms");
    Atomics.add(this.words, W_WATCHDOG_COUNT, 1);
    Atomics.store(this.words, W_WATCHDOG_TIMEOUT, ms);
  }

  /** Keeps the watchdog from firing. */
  kickWatchdog(): void {
    Atomics.add(this.words, W_WATCHDOG_COUNT, 1);
  }

  /** Clears every word and pending doorbell (processor reset). */
  reset(): void {
    new Int32Array(this.buffer, 0, CONTROL_BLOCK_SIZE / 4).fill(0);
  }
}
