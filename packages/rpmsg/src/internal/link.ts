// The shapes the device core's files share: the live link, held rx buffers, callback failures.
import type { RxPort, Slot, TxPort } from "./ports.js";

/** The link as the core sees it while up. */
export interface Link {
  readonly tx: TxPort;
  readonly rx: RxPort;
  /** Largest buffer (header + payload) accepted on rx. */
  readonly maxRxBuffer: number;
  /** Largest payload a send may carry. */
  readonly mtu: number;
  readonly ns: boolean;
  /** Bumped on every link change: slots and holds from an older generation are void. */
  readonly generation: number;
}

/** An rx buffer the application kept past its callback. */
export interface HeldRx {
  readonly slot: Slot;
  readonly gen: number;
  released: boolean;
}

/** A user callback's exception, wrapped so that `undefined` can be thrown too; rethrown by `process()`. */
export interface CallbackFailure {
  readonly e: unknown;
}
