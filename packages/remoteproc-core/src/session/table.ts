// The resource table of one session, in up to three copies: the cached one (Linux
// `cached_table`, a private copy), the installed one in device memory (`table_ptr` while it
// points there), and for an attach the bytes as found (written back on detach). `current()` is
// the one the host writes; each transition between them is a named method.
import type { TableLocation } from "../driver.js";
import { rprocError } from "../internal/error.js";
import { hex } from "@amp/virtio-ring";
import { TableWindow } from "../internal/table.js";
import type { MemoryWindow } from "../memory.js";

export class SessionTable {
  /** The cached table (Linux `cached_table`). */
  cached: TableWindow | undefined;
  /** Where the table is installed in device memory. */
  location: TableLocation | undefined;
  /** The installed table while `table_ptr` points at it. */
  live: TableWindow | undefined;
  /** Attach: the table as found, restored on detach. */
  clean: Uint8Array | undefined;
  /** The core generated the table (resource-less firmware). */
  generated = false;

  /** The table the host currently writes: installed, else cached. */
  current(): TableWindow | undefined {
    return this.live ?? this.cached;
  }

  /** Attach: takes over the table found in device memory, keeping its bytes to restore on detach. */
  adopt(live: TableWindow, location: TableLocation, clean: Uint8Array): void {
    this.clean = clean;
    this.live = live;
    this.location = location;
  }

  /** Writes back the table as it was found at attach, so the next host sees it clean. */
  restoreCleanTable(): void {
    if (this.live !== undefined && this.clean !== undefined) this.live.write(0, this.clean);
  }

  /** Copies the cached table into device memory; from now on host writes land there. */
  install(translate: (da: number, length: number) => MemoryWindow | undefined): void {
    const { cached, location } = this;
    if (cached === undefined || location === undefined) return;
    if (location.size < cached.size)
      throw rprocError("ERR_MALFORMED", `table location holds ${location.size} bytes, the table needs ${cached.size}`);
    const w = translate(location.da, cached.size);
    if (w === undefined)
      throw rprocError(
        "ERR_TRANSLATE",
        `resource table location ${hex(location.da)} (+${cached.size}) is not in device memory`,
      );
    const live = TableWindow.of(w);
    live.write(0, cached.bytes());
    this.live = live;
  }

  /**
   * Points the host back at a cached copy (the installed table is about to become unreachable);
   * an attached remote's table (or one with no cache) is copied first. Returns the live window it left.
   */
  toCached(mode: "boot" | "attach"): TableWindow | undefined {
    const live = this.live;
    if (live === undefined) return undefined;
    if (mode === "attach" || this.cached === undefined) {
      try {
        this.cached = TableWindow.copyOf(live.bytes());
      } catch {
        // the installed table cannot be read any more: keep the old cached copy
      }
    }
    this.live = undefined;
    return live;
  }
}
