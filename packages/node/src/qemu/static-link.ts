// rpmsg-only mode on the QEMU remote: firmware that has no resource table for its rpmsg link
// (NXP rpmsg-lite's remote, for one) and instead agrees with the host on a fixed layout in
// shared memory. The firmware still boots through the remoteproc core, which accepts an image
// without a resource table as Linux does (life cycle, crash reports and recovery stay the same);
// the rpmsg side is a static host (@amp/rpmsg createStaticHost) over the RAM file, started as a
// subdevice after each boot, rung and ringing through the QEMU doorbell with the layout's
// notify ids.
import { hex } from "@amp/virtio-ring";
import { createStaticHost } from "@amp/rpmsg";
import type { RpmsgHost, StaticLinkLayout, StaticLinkOptions } from "@amp/rpmsg";
import type { Remoteproc } from "@amp/remoteproc-core";
import { AddressSpace } from "@amp/virtio-ring";
import { AMPQ_CTRL_DA, AMPQ_CTRL_LEN, MPS2_RAM_BASE, MPS2_RAM_SIZE } from "./abi.js";
import type { QemuCrashReport, QemuDriver } from "./driver.js";
import { checkImage } from "./image.js";
import { createQemuRemoteproc } from "./remoteproc.js";
import type { QemuRemoteprocOptions } from "./remoteproc.js";

/**
 * Options of {@link createQemuStaticLink}: those of {@link createQemuRemoteproc} except the ones
 * that cannot apply. The doorbell is always "irq"; late attach is not offered because a new host
 * restarts the rings, which an rpmsg-lite remote cannot follow (it has no reset to watch).
 */
export interface QemuStaticLinkOptions extends Omit<
  QemuRemoteprocOptions,
  "rpmsg" | "doorbell" | "pollNotifyIds" | "attach"
> {
  /**
   * The layout both sides agreed on, e.g. `rpmsgLiteLayout({ base, RL_BUFFER_COUNT, VRING_ALIGN,
   * VRING_SIZE, linkId })` with the numbers of the firmware's rpmsg_config.h / rpmsg_platform.h.
   * It must lie in the RAM (0x21000000..0x22000000), clear of the image and the control block.
   */
  readonly layout: StaticLinkLayout;
  /** More options of the static host (counters' scheduler, limits, onError, nameService). */
  readonly host?: Omit<StaticLinkOptions, "layout" | "space" | "doorbell">;
  /**
   * How often, in ms, the host looks at the rings without being rung (default 1; 0 turns it off).
   * An rpmsg-lite remote returns the host's tx buffers without a notification unless it was built
   * with RL_ALLOW_CONSUMED_BUFFERS_NOTIFICATION=1, so a sender waiting for a buffer needs this.
   */
  readonly pollMs?: number;
}

/** What {@link createQemuStaticLink} returns. */
export interface QemuStaticLink {
  readonly rproc: Remoteproc;
  readonly driver: QemuDriver;
  /** The agreed layout. */
  readonly layout: StaticLinkLayout;
  /** The rpmsg host of the running firmware (a new one after each boot or recovery), if any. */
  readonly host: RpmsgHost | undefined;
  /** Calls `listener` with each new host (boot, recovery); returns the unsubscribe function. */
  onHost(listener: (host: RpmsgHost) => void): () => void;
  /** Crash reports of the driver, as they happen. */
  onCrash(listener: (report: QemuCrashReport) => void): () => void;
  /** Shuts the remote down if running, deletes it, ends QEMU, closes the RAM file. */
  close(): Promise<void>;
}

const NODE_SCHEDULER = {
  setTimeout: (cb: () => void, ms: number): unknown => setTimeout(cb, ms),
  clearTimeout: (h: unknown): void => {
    clearTimeout(h as ReturnType<typeof setTimeout>);
  },
};

function overlaps(a: number, aSize: number, b: number, bSize: number): boolean {
  return a < b + bSize && b < a + aSize;
}

/** Throws RangeError when the layout is not inside the RAM or overlaps the image or control block. */
function checkLayout(layout: StaticLinkLayout, firmware: Uint8Array): void {
  const { base, size } = layout;
  if (
    !Number.isSafeInteger(base) ||
    !Number.isSafeInteger(size) ||
    size <= 0 ||
    base < MPS2_RAM_BASE ||
    base - MPS2_RAM_BASE > MPS2_RAM_SIZE - size
  ) {
    throw new RangeError(
      `static link layout ${hex(base)} (+${hex(size)}) is not inside the RAM ${hex(MPS2_RAM_BASE)}..${hex(MPS2_RAM_BASE + MPS2_RAM_SIZE)}`,
    );
  }
  if (overlaps(base, size, AMPQ_CTRL_DA, AMPQ_CTRL_LEN)) {
    throw new RangeError(
      `static link layout ${hex(base)} (+${hex(size)}) overlaps the control block at ${hex(AMPQ_CTRL_DA)}`,
    );
  }
  for (const p of checkImage(firmware).elf.programHeaders) {
    if (p.type !== 1 || p.memsz === 0n) continue;
    if (overlaps(base, size, Number(p.paddr), Number(p.memsz))) {
      throw new RangeError(
        `static link layout ${hex(base)} (+${hex(size)}) overlaps the image segment at ${hex(Number(p.paddr))} (+${hex(Number(p.memsz))})`,
      );
    }
  }
}

/**
 * Creates a remote processor running `firmware` on QEMU mps2-an386 and an rpmsg-only host for
 * it: no resource table or vdev, the host and the firmware share `layout` in the RAM file. The
 * doorbell is the QEMU driver's (a UART byte each way, carrying the layout's notify ids), so the
 * firmware must sleep on it ("irq" mode; a polling firmware would never see the host's kicks).
 * Call `rproc.boot()`; after QEMU runs, the host zeroes the rings, posts its rx buffers and kicks
 * vring 0, which is when an rpmsg-lite remote comes up.
 *
 * @example
 * const link = createQemuStaticLink({
 *   firmware: readFileSync("rpmsg-lite-echo.elf"),
 *   layout: rpmsgLiteLayout({ base: 0x2110_0000, RL_BUFFER_COUNT: 16, VRING_ALIGN: 0x10 }),
 * });
 * const host = new Promise<RpmsgHost>((r) => link.onHost(r));
 * await link.rproc.boot();
 * const echo = await (await host).waitForService("rpmsg-lite-echo", { timeoutMs: 5000 });
 *
 * @throws RangeError for a layout outside the RAM or over the image or control block; the errors
 *   of {@link checkImage} for an image that cannot run there.
 */
export function createQemuStaticLink(options: QemuStaticLinkOptions): QemuStaticLink {
  const { layout, host: hostOptions, pollMs = 1, ...rest } = options;
  if (!Number.isFinite(pollMs) || pollMs < 0) throw new RangeError(`pollMs must be >= 0, got ${pollMs}`);
  const firmware = new Uint8Array(options.firmware);
  checkLayout(layout, firmware);
  const q = createQemuRemoteproc({ ...rest, firmware, doorbell: "irq", rpmsg: false });
  const { rproc, driver } = q;
  const space = new AddressSpace().map(layout.base, driver.memory, {
    offset: layout.base - MPS2_RAM_BASE,
    length: layout.size,
    name: "rpmsg-link",
  });
  const listeners = new Set<(h: RpmsgHost) => void>();
  let current: RpmsgHost | undefined;
  let timer: ReturnType<typeof setInterval> | undefined;

  // The core routes vdev notify ids; ours belong to no vdev.
  const coreInterrupt = driver.onInterrupt;
  driver.onInterrupt = (id) => {
    coreInterrupt(id);
    if (id === layout.notifyIds[0] || id === layout.notifyIds[1]) current?.process();
  };

  rproc.addSubdevice({
    name: "rpmsg static link",
    start() {
      const h = createStaticHost({
        scheduler: NODE_SCHEDULER,
        ...hostOptions,
        layout,
        space,
        doorbell: {
          notify: (id) => {
            driver.kick(id);
          },
        },
      });
      current = h;
      h.start();
      if (pollMs > 0) {
        timer = setInterval(() => h.process(), pollMs);
        timer.unref();
      }
      for (const l of [...listeners]) l(h);
      h.process();
    },
    stop(crashed) {
      if (timer !== undefined) clearInterval(timer);
      timer = undefined;
      const h = current;
      current = undefined;
      h?.stop(crashed ? "the remote crashed" : "the remote stopped", { reset: !crashed });
    },
  });

  return {
    rproc,
    driver,
    layout,
    get host() {
      return current;
    },
    onHost(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    onCrash: (listener) => q.onCrash(listener),
    close: () => q.close(),
  };
}
