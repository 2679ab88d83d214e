// Several requests of one client operation (an I2C group, an SPI command) submitted back to back
// and settled together: through the channel's requestGroup when it has one (one promise per
// operation), else one request() per part, every answer awaited (none left to reject
// unobserved) and the first failure in order reported, as requestGroup does.
import type { RequestChannel } from "../channel.js";

export function requestAll(
  channel: RequestChannel,
  queue: number,
  outs: readonly Uint8Array[],
  inLengths: readonly number[],
): Promise<Uint8Array[]> {
  if (channel.requestGroup !== undefined) return channel.requestGroup(queue, outs, inLengths);
  return requestEach(channel, queue, outs, inLengths);
}

async function requestEach(
  channel: RequestChannel,
  queue: number,
  outs: readonly Uint8Array[],
  inLengths: readonly number[],
): Promise<Uint8Array[]> {
  const n = outs.length;
  const answers: Promise<Uint8Array>[] = [];
  for (let i = 0; i < n; i++) answers.push(channel.request(queue, outs[i] as Uint8Array, inLengths[i] as number));
  const results: Uint8Array[] = [];
  let failure: unknown = undefined;
  let failed = false;
  for (let i = 0; i < n; i++) {
    try {
      results.push(await (answers[i] as Promise<Uint8Array>));
    } catch (e) {
      if (!failed) failure = e;
      failed = true;
    }
  }
  if (failed) throw failure;
  return results;
}
