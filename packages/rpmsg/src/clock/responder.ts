// The remote's half of the clock exchange: an endpoint that answers every request with the
// remote's receive time (t2) and send time (t3). It is a plain endpoint of any RpmsgDevice, so it
// runs wherever RpmsgRemote runs (workers, QuickJS on the coprocessor); the clock is injected.
import type { RpmsgDevice } from "../device.js";
import type { RpmsgEndpoint } from "../endpoint.js";
import {
  AMP_CLOCK_REQUEST_SIZE,
  AMP_CLOCK_RESPONSE_SIZE,
  AMP_CLOCK_SERVICE,
  AMP_CLOCK_VERSION,
  AmpClockOffsets,
  AmpClockType,
} from "./wire.js";

const LE = true;
const TWO_32 = 0x1_0000_0000;

/** Options of {@link serveClock}. */
export interface ClockResponderOptions {
  /**
   * The remote's own clock in µs (any origin; it may restart at boot). Called twice per request,
   * first thing when the request arrives and last thing before the reply is queued. A fraction is
   * dropped (the wire carries integer µs).
   */
  readonly now: () => number;
  /** Service name to announce (default "amp-clock"). */
  readonly name?: string;
  /** Explicit local address (default: the next free dynamic one). */
  readonly addr?: number;
}

/** What {@link serveClock} returns: the endpoint and its counters. */
export interface ClockResponder {
  /** The announced endpoint; `destroy()` it to stop answering. */
  readonly endpoint: RpmsgEndpoint;
  /** Requests answered. */
  readonly answered: number;
  /** Requests dropped: wrong size, type or version, or no tx buffer for the reply (the host then times out). */
  readonly dropped: number;
}

/**
 * Announces the clock service on `device` (normally an RpmsgRemote) and answers each request
 * with t2/t3 from `now()`. Allocates nothing per request (one reply buffer is reused).
 * @example
 * const remote = new RpmsgRemote({ transport, space, doorbell });
 * serveClock(remote, { now: () => Math.floor(performance.now() * 1000) });
 * @see docs/wire-formats.md "Clock exchange"
 */
export function serveClock(device: RpmsgDevice, options: ClockResponderOptions): ClockResponder {
  const now = options.now;
  if (typeof now !== "function") throw new TypeError("serveClock needs a `now()` clock in µs");
  const reply = new Uint8Array(AMP_CLOCK_RESPONSE_SIZE);
  const out = new DataView(reply.buffer);
  out.setUint8(AmpClockOffsets.TYPE, AmpClockType.RESPONSE);
  out.setUint8(AmpClockOffsets.VERSION, AMP_CLOCK_VERSION);
  let answered = 0;
  let dropped = 0;
  const endpoint = device.createEndpoint({
    name: options.name ?? AMP_CLOCK_SERVICE,
    ...(options.addr === undefined ? {} : { addr: options.addr }),
    onMessage: (msg, ep) => {
      // Stamp before anything else: the time spent decoding belongs inside [t2, t3].
      const t2 = Math.floor(now());
      const d = msg.data;
      if (
        d.length !== AMP_CLOCK_REQUEST_SIZE ||
        d[AmpClockOffsets.TYPE] !== AmpClockType.REQUEST ||
        d[AmpClockOffsets.VERSION] !== AMP_CLOCK_VERSION
      ) {
        dropped++;
        return;
      }
      const seq = (d[AmpClockOffsets.SEQ] ?? 0) | ((d[AmpClockOffsets.SEQ + 1] ?? 0) << 8);
      // t1 is opaque here: copy its 8 bytes back unchanged (no decode, no 2^53 check needed).
      reply.set(d.subarray(AmpClockOffsets.T1, AmpClockOffsets.T1 + 8), AmpClockOffsets.T1);
      out.setUint16(AmpClockOffsets.SEQ, seq, LE);
      writeTime(out, AmpClockOffsets.T2, t2);
      writeTime(out, AmpClockOffsets.T3, Math.floor(now()));
      if (ep.trySendTo(msg.src, reply)) answered++;
      else dropped++;
    },
  });
  return {
    endpoint,
    get answered() {
      return answered;
    },
    get dropped() {
      return dropped;
    },
  };
}

/** Writes a clock value as two u32 halves, after checking it is a µs count the host can read. */
function writeTime(v: DataView, o: number, us: number): void {
  if (!Number.isSafeInteger(us) || us < 0)
    throw new RangeError(`the remote clock's now() must return µs in [0, 2^53), got ${String(us)}`);
  v.setUint32(o, us % TWO_32, LE);
  v.setUint32(o + 4, Math.floor(us / TWO_32), LE);
}
