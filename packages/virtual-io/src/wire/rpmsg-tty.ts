// Linux rpmsg_tty conventions (drivers/tty/rpmsg_tty.c; docs/wire-formats.md, "Virtio devices"):
// the channel is named exactly "rpmsg-tty", payloads are raw bytes (no header, no framing, no flow
// control), a zero-length message is rejected, and writes are cut into messages of at most the MTU
// (496).

/** The rpmsg channel name that Linux's rpmsg_tty driver binds (exact 32-byte match). */
export const RPMSG_TTY_NAME = "rpmsg-tty";
/** Largest rpmsg payload with Linux's 512-byte buffers (512 − 16-byte header). */
export const RPMSG_TTY_MTU = 496;

/**
 * Cuts a byte stream into rpmsg-tty messages of at most `mtu` bytes, never empty (the Linux side
 * rejects len 0). The chunks are views into `bytes`, not copies.
 * @throws RangeError when `mtu` is not a positive integer.
 */
export function splitTtyChunks(bytes: Uint8Array, mtu: number = RPMSG_TTY_MTU): Uint8Array[] {
  if (!Number.isInteger(mtu) || mtu < 1) throw new RangeError(`mtu must be a positive integer, got ${String(mtu)}`);
  const out: Uint8Array[] = [];
  for (let o = 0; o < bytes.length; o += mtu) out.push(bytes.subarray(o, Math.min(bytes.length, o + mtu)));
  return out;
}
