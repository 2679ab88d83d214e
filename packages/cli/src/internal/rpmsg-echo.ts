// The echo check of `amp rpmsg echo`: numbered payloads with a pattern that shows any byte
// out of place, up to `window` in flight, every echo compared byte for byte in order.
import type { ChannelMessage } from "./attach-session.js";
import type { ChannelLink } from "./rpmsg-channel.js";
import { AttachError } from "./attach-link.js";

/**
 * Payload of message `seq`: byte i is (31·seq + 7·i + 1) mod 256. Neighbouring bytes differ by
 * 7, so a shift or a mix-up of messages shows, and no payload starts with the shutdown word of
 * OpenAMP's echo sample (0xEF56A55A: its second byte would have to follow the first by 0x4b).
 */
export function echoPayload(seq: number, size: number): Uint8Array {
  const p = new Uint8Array(size);
  for (let i = 0; i < size; i++) p[i] = (seq * 31 + i * 7 + 1) & 0xff;
  return p;
}

/** The first echo that differed. */
export interface EchoMismatch {
  readonly seq: number;
  readonly sent: number;
  readonly received: number;
  /** First differing byte, or -1 when only the length or the sender differs. */
  readonly at: number;
  readonly src: number;
}

/** What an echo run measured. */
export interface EchoResult {
  readonly sent: number;
  readonly sentBytes: number;
  readonly echoed: number;
  readonly echoedBytes: number;
  readonly matched: number;
  readonly mismatches: number;
  readonly firstMismatch: EchoMismatch | undefined;
  /** Round trips of the matched echoes, milliseconds, in order. */
  readonly rttMs: readonly number[];
  readonly maxInFlight: number;
}

/** Options of {@link runEcho}. */
export interface EchoOptions {
  readonly count: number;
  readonly minSize: number;
  readonly maxSize: number;
  readonly window: number;
  /** How long one echo may take. */
  readonly timeoutMs: number;
  readonly signal?: AbortSignal;
}

/** Size of message `seq`: `minSize..maxSize`, cycling. */
export function echoSize(seq: number, minSize: number, maxSize: number): number {
  return minSize + (seq % (maxSize - minSize + 1));
}

function firstDifference(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return a.length === b.length ? -1 : n;
}

/** Value at quantile `q` (0..1) of sorted `xs` (nearest rank). */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i] ?? NaN;
}

/**
 * Sends `count` numbered messages on `channel` and checks each echo against what was sent, in
 * order. Ends early when an echo is late (ERR_ECHO_TIMEOUT), the remote goes away, or `signal`
 * aborts (then `interrupted` is true and the counts so far are returned).
 */
export async function runEcho(
  channel: ChannelLink,
  options: EchoOptions,
): Promise<EchoResult & { readonly interrupted: boolean }> {
  const { count, minSize, maxSize, window, timeoutMs, signal } = options;
  const outstanding: { seq: number; data: Uint8Array; t0: number }[] = [];
  const rttMs: number[] = [];
  let sent = 0;
  let sentBytes = 0;
  let echoed = 0;
  let echoedBytes = 0;
  let matched = 0;
  let mismatches = 0;
  let firstMismatch: EchoMismatch | undefined;
  let maxInFlight = 0;
  let wake: (() => void) | undefined;
  const kick = (): void => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  channel.onMessage((m: ChannelMessage) => {
    const now = performance.now();
    echoed++;
    echoedBytes += m.data.length;
    const want = outstanding.shift();
    if (want === undefined) {
      mismatches++;
      firstMismatch ??= { seq: -1, sent: 0, received: m.data.length, at: -1, src: m.src };
    } else {
      const at = firstDifference(want.data, m.data);
      if (at === -1 && m.src === channel.remote) {
        matched++;
        rttMs.push(now - want.t0);
      } else {
        mismatches++;
        firstMismatch ??= { seq: want.seq, sent: want.data.length, received: m.data.length, at, src: m.src };
      }
    }
    kick();
  });
  let failure: AttachError | undefined;
  void channel.gone.then((e) => {
    failure ??= e;
    kick();
  });
  signal?.addEventListener("abort", kick, { once: true });
  const result = (interrupted: boolean): EchoResult & { interrupted: boolean } => ({
    sent,
    sentBytes,
    echoed,
    echoedBytes,
    matched,
    mismatches,
    firstMismatch,
    rttMs,
    maxInFlight,
    interrupted,
  });
  /** Waits until `cond` holds; false when interrupted. Throws when an echo is late or the remote went away. */
  const waitFor = async (cond: () => boolean): Promise<boolean> => {
    while (!cond()) {
      if (signal?.aborted === true) return false;
      if (failure !== undefined) throw failure;
      const oldest = outstanding[0];
      const lateIn = oldest === undefined ? timeoutMs : oldest.t0 + timeoutMs - performance.now();
      if (oldest !== undefined && lateIn <= 0) {
        throw new AttachError(
          "ERR_ECHO_TIMEOUT",
          `message ${oldest.seq + 1} of ${count} (${oldest.data.length} bytes) was not echoed within ${timeoutMs / 1000} s (${echoed} echoed so far)`,
          "The remote does not echo on this channel, or it stalled: check that it is an echo service.",
        );
      }
      await new Promise<void>((resolve) => {
        const t = setTimeout(
          () => {
            wake = undefined;
            resolve();
          },
          Math.max(1, lateIn),
        );
        wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
    }
    return true;
  };
  for (let seq = 0; seq < count; seq++) {
    if (!(await waitFor(() => outstanding.length < window))) return result(true);
    const data = echoPayload(seq, echoSize(seq, minSize, maxSize));
    outstanding.push({ seq, data, t0: performance.now() });
    await channel.send(data);
    sent++;
    sentBytes += data.length;
    maxInFlight = Math.max(maxInFlight, outstanding.length);
  }
  if (!(await waitFor(() => outstanding.length === 0))) return result(true);
  return result(false);
}
