// Promise helpers over the synchronous, poll-driven queues: take the next buffer, waiting on a
// doorbell with notifications re-armed first so that a wake-up cannot be missed.
import type { DoorbellReceiver, WaitOptions } from "./doorbell.js";
import type { DescriptorChainLike, UsedBuffer, VirtqueueDevice, VirtqueueDriver } from "./virtqueue.js";

const ignore = (): void => undefined;

/**
 * Driver role: the next used buffer, waiting on `receiver` (the doorbell the device interrupts)
 * when there is none. Re-enables interrupts before it sleeps. It drains `receiver` on each
 * wake-up, so give it a receiver that serves this queue only.
 * @throws AmpError ERR_ABORTED / ERR_TIMEOUT (per wait) from `options`, and what getUsed throws.
 */
export async function nextUsed<T>(
  queue: VirtqueueDriver<T>,
  receiver: DoorbellReceiver,
  options: WaitOptions = {},
): Promise<UsedBuffer<T>> {
  for (;;) {
    const u = queue.getUsed();
    if (u !== null) return u;
    if (queue.enableInterrupts()) continue;
    await receiver.wait(options);
    receiver.poll(ignore);
  }
}

/**
 * Device role: the next available chain, waiting on `receiver` (the doorbell the driver kicks)
 * when there is none. Re-enables notifications before it sleeps; drains `receiver` on wake-up.
 * @throws AmpError ERR_ABORTED / ERR_TIMEOUT (per wait) from `options`, and what getAvail throws.
 */
export async function nextAvail(
  queue: VirtqueueDevice,
  receiver: DoorbellReceiver,
  options: WaitOptions = {},
): Promise<DescriptorChainLike> {
  for (;;) {
    const c = queue.getAvail();
    if (c !== null) return c;
    if (queue.enableNotifications()) continue;
    await receiver.wait(options);
    receiver.poll(ignore);
  }
}
