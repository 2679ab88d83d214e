import type { MemoryWindow } from "./memory.js";

/** A carveout the platform (or the program) asks for; matched by name with the firmware's. */
export interface CarveoutRequest {
  readonly kind: "carveout";
  readonly name: string;
  readonly len: number;
  /** Fixed device address (default: any). */
  readonly da?: number;
  readonly flags?: number;
}

/** A trace buffer the platform asks for; matched by name with the firmware's. */
export interface TraceRequest {
  readonly kind: "trace";
  readonly name: string;
  readonly len: number;
  readonly da?: number;
}

/** A virtio device for resource-less firmware (it goes into the generated table). */
export interface VdevRequest {
  readonly kind: "vdev";
  /** Virtio device id (7 = rpmsg). */
  readonly id: number;
  readonly dfeatures?: number;
  readonly vrings: readonly { readonly num: number; readonly align: number; readonly da?: number }[];
  readonly config?: Uint8Array;
}

/** A resource registered by the platform or the program rather than read from the firmware. */
export type ResourceRequest = CarveoutRequest | TraceRequest | VdevRequest;

/** A carveout as allocated. */
export interface CarveoutInfo {
  readonly name: string;
  readonly da: number;
  readonly pa: number;
  readonly size: number;
  /** Offset of its entry in the resource table; undefined for a host-only resource. */
  readonly entryOffset: number | undefined;
  readonly window: MemoryWindow;
}
