// A GPIO bank model: lines with a direction, an output latch, an input level driven by the
// simulated outside world, and an interrupt trigger type. GpioServer exposes it as a virtio-gpio
// device; real hardware plugs in by implementing the same GpioLines interface.
import { VirtioGpioDirection } from "../wire/gpio.js";

/** What GpioServer needs from a bank of lines (a model, or hooks into real hardware). */
export interface GpioLines {
  /** Number of lines. */
  readonly ngpio: number;
  /** Line names (undefined or "" = unnamed); empty array = the device reports no names. */
  readonly names: readonly (string | undefined)[];
  /** Current direction (VirtioGpioDirection). */
  getDirection(line: number): number;
  /** Sets the direction; false to refuse. */
  setDirection(line: number, direction: number): boolean;
  /** Level of the line: the latch for an output, the input level otherwise. */
  getValue(line: number): boolean;
  /** Sets the output latch (allowed before the line becomes an output); false to refuse. */
  setValue(line: number, value: boolean): boolean;
  /** Subscribes to level changes of lines (inputs driven from outside); returns unsubscribe. */
  onChange(listener: (line: number, level: boolean) => void): () => void;
}

/** Options of {@link GpioBank}. */
export interface GpioBankOptions {
  /** Number of lines, 1..65535. */
  readonly ngpio: number;
  /** Optional names in line order (7-bit ASCII). */
  readonly names?: readonly (string | undefined)[];
}

/**
 * A simulated GPIO bank. The "world" drives inputs with {@link GpioBank.drive} and watches
 * outputs with {@link GpioBank.onOutput}.
 * @example const bank = new GpioBank({ ngpio: 8, names: ["led0", "button0"] });
 */
export class GpioBank implements GpioLines {
  readonly ngpio: number;
  readonly names: readonly (string | undefined)[];
  private readonly direction: Uint8Array;
  private readonly latch: Uint8Array;
  private readonly input: Uint8Array;
  private readonly changeListeners = new Set<(line: number, level: boolean) => void>();
  private readonly outputListeners = new Set<(line: number, level: boolean) => void>();

  constructor(options: GpioBankOptions) {
    if (!Number.isInteger(options.ngpio) || options.ngpio < 1 || options.ngpio > 0xffff)
      throw new RangeError("ngpio must be in 1..65535");
    this.ngpio = options.ngpio;
    const names = options.names ?? [];
    if (names.length > this.ngpio) throw new RangeError("more names than lines");
    this.names = names.length === 0 ? [] : Array.from({ length: this.ngpio }, (_, i) => names[i]);
    this.direction = new Uint8Array(this.ngpio); // NONE
    this.latch = new Uint8Array(this.ngpio);
    this.input = new Uint8Array(this.ngpio);
  }

  getDirection(line: number): number {
    return this.direction[this.check(line)] ?? VirtioGpioDirection.NONE;
  }

  setDirection(line: number, direction: number): boolean {
    const i = this.check(line);
    if (
      direction !== VirtioGpioDirection.NONE &&
      direction !== VirtioGpioDirection.OUT &&
      direction !== VirtioGpioDirection.IN
    )
      return false;
    const before = this.getValue(i);
    this.direction[i] = direction;
    this.emitIfChanged(i, before, true);
    return true;
  }

  getValue(line: number): boolean {
    const i = this.check(line);
    return (this.direction[i] === VirtioGpioDirection.OUT ? this.latch[i] : this.input[i]) === 1;
  }

  setValue(line: number, value: boolean): boolean {
    const i = this.check(line);
    const before = this.getValue(i);
    this.latch[i] = value ? 1 : 0;
    this.emitIfChanged(i, before, true);
    return true;
  }

  onChange(listener: (line: number, level: boolean) => void): () => void {
    this.changeListeners.add(listener);
    return () => this.changeListeners.delete(listener);
  }

  /** World side: drive input line `line` to `level` (ignored by an output line's value). */
  drive(line: number, level: boolean): void {
    const i = this.check(line);
    const before = this.getValue(i);
    this.input[i] = level ? 1 : 0;
    this.emitIfChanged(i, before, false);
  }

  /** World side: called when an output line's level changes (an LED turning on). */
  onOutput(listener: (line: number, level: boolean) => void): () => void {
    this.outputListeners.add(listener);
    return () => this.outputListeners.delete(listener);
  }

  private emitIfChanged(line: number, before: boolean, fromDriver: boolean): void {
    const after = this.getValue(line);
    if (after === before) return;
    if (fromDriver && this.direction[line] === VirtioGpioDirection.OUT)
      for (const l of [...this.outputListeners]) l(line, after);
    for (const l of [...this.changeListeners]) l(line, after);
  }

  private check(line: number): number {
    if (!Number.isInteger(line) || line < 0 || line >= this.ngpio)
      throw new RangeError(`line must be in 0..${this.ngpio - 1}, got ${String(line)}`);
    return line;
  }
}
