// Ready-made device models on a vhost-user backend: any @amp/virtual-io DeviceServer
// (virtio-i2c, virtio-gpio with its interrupt queue, virtio-console, virtio-spi), and the rpmsg
// remote role (RpmsgRemote from @amp/rpmsg). Each device instance (from "ready" to "reset")
// gets its own queues; a reset drops them and the server's deferred requests, so a frontend
// that comes back finds a fresh device in front of the same models.
import type { AmpError } from "@amp/virtio-ring";
import { RpmsgRemote, VIRTIO_ID_RPMSG, type RpmsgRemoteOptions } from "@amp/rpmsg";
import { SplitVirtqueueDevice, deviceAcceptedFeatures } from "@amp/virtio-ring";
import { VirtqueueDeviceRunner, type DeviceServer } from "@amp/virtual-io";
import { VhostUserBackend, type VhostUserBackendOptions, type VhostUserEvent } from "./backend.js";
import type { VhostUserErrorCode } from "./errors.js";

/** Options shared by the ready-made devices. */
export interface VhostUserServeOptions {
  /** UNIX socket path the frontend connects to. */
  readonly socketPath: string;
  /** Largest ring size accepted (Linux 6.1 UML always uses 256). Default 256. */
  readonly queueSize?: number;
  /** See {@link VhostUserBackendOptions.inbandNotifications}. Default true. */
  readonly inbandNotifications?: boolean;
  /** Protocol problems and ring violations by the frontend (the device carries on or resets). */
  readonly onError?: (error: unknown) => void;
  /** Connections, resets and unexpected messages, one line each. */
  readonly log?: (line: string) => void;
}

/** A running device: its backend (events, stats, transport) and `close()`. */
export interface VhostUserService {
  readonly backend: VhostUserBackend;
  /** Stops serving and removes the socket file. */
  close(): Promise<void>;
}

function backendOptions(
  o: VhostUserServeOptions,
  deviceId: number,
  queues: number,
  config: Uint8Array,
  readiness: "enabled" | "first-kick",
): VhostUserBackendOptions {
  const size = o.queueSize ?? 256;
  return {
    socketPath: o.socketPath,
    deviceId,
    queues: Array.from({ length: queues }, () => size),
    config,
    readiness,
    ...(o.inbandNotifications === undefined ? {} : { inbandNotifications: o.inbandNotifications }),
    ...(o.onError === undefined
      ? {}
      : {
          onError: (e: AmpError<VhostUserErrorCode>) => {
            o.onError?.(e);
          },
        }),
    ...(o.log === undefined ? {} : { log: o.log }),
  };
}

/**
 * Serves a virtual-io device (I2cBusServer, GpioServer, ConsoleServer, SpiBusServer, or your
 * own DeviceServer) over vhost-user.
 * @throws AmpError ERR_RELAY / ERR_SOCKET as {@link VhostUserBackend.listen}.
 * @example
 * const bus = new I2cBusServer({ targets: new Map([[0x50, new I2cEeprom({ size: 256 })]]) });
 * const svc = await serveVhostUserDevice(bus, { socketPath: "/tmp/i2c.sock" });
 * // linux ... virtio_uml.device=/tmp/i2c.sock:34
 */
export async function serveVhostUserDevice(
  server: DeviceServer,
  options: VhostUserServeOptions,
): Promise<VhostUserService> {
  const backend = await VhostUserBackend.listen(
    backendOptions(options, server.deviceId, server.numQueues, server.config, "enabled"),
  );
  backend.transport.setDeviceFeatures(server.features);
  let runner: VirtqueueDeviceRunner | undefined;
  const onEvent = (e: VhostUserEvent): void => {
    if (e.type === "ready") {
      const t = backend.transport;
      let features: bigint;
      try {
        features = deviceAcceptedFeatures(t);
      } catch (err) {
        options.onError?.(err);
        return;
      }
      const queues: SplitVirtqueueDevice[] = [];
      try {
        for (let i = 0; i < Math.min(t.queueCount, server.numQueues); i++) {
          const q = t.getQueue(i);
          if (!q.ready) break; // e.g. gpio without the interrupt feature sets up one ring
          queues.push(
            new SplitVirtqueueDevice({
              size: q.size,
              space: backend.space,
              descAddr: q.descAddr,
              driverAddr: q.driverAddr,
              deviceAddr: q.deviceAddr,
              features,
              doorbell: backend.doorbell,
              notifyId: q.notifyId,
            }),
          );
        }
      } catch (err) {
        options.onError?.(err); // rings outside guest memory, a bad size: the device stays down
        return;
      }
      const mine: { r: VirtqueueDeviceRunner | undefined } = { r: undefined };
      mine.r = new VirtqueueDeviceRunner(server, {
        queues,
        onError: (err) => {
          if (runner === mine.r) options.onError?.(err); // late replies of a reset instance are expected to fail
        },
      });
      runner = mine.r;
      runner.process();
    } else if (e.type === "kick") {
      runner?.process();
    } else if (e.type === "reset") {
      runner = undefined;
      server.reset?.(); // its deferred replies now hit revoked memory and are dropped
    }
  };
  backend.onEvent(onEvent);
  return { backend, close: () => backend.close() };
}

/** Options of {@link serveVhostUserRpmsg}: the socket, and RpmsgRemote's own options. */
export interface VhostUserRpmsgOptions
  extends VhostUserServeOptions, Omit<RpmsgRemoteOptions, "transport" | "space" | "doorbell" | "onError"> {}

/** The rpmsg remote on a vhost-user socket. */
export interface VhostUserRpmsgService extends VhostUserService {
  /**
   * The remote (virtio device role). Create endpoints on it; they announce themselves when the
   * link comes up. The link goes down on every reset (endpoints close); create them again in
   * an `onLinkChange` listener to serve the next driver instance.
   */
  readonly remote: RpmsgRemote;
}

/**
 * Serves the rpmsg remote role (virtio-rpmsg, ID 7) over vhost-user: Linux's virtio_rpmsg_bus is
 * the host. The link comes up at the driver's first kick on vring 0 (Linux 6.1 vhost-user has
 * no DRIVER_OK message; virtio_rpmsg_bus kicks right after setting it).
 * @throws AmpError ERR_RELAY / ERR_SOCKET as {@link VhostUserBackend.listen}; RangeError for bad remote options.
 * @example
 * const svc = await serveVhostUserRpmsg({ socketPath: "/tmp/rpmsg.sock" });
 * svc.remote.onLinkChange((up) => { if (up) svc.remote.createEndpoint({ name: "rpmsg-raw", onMessage: (m, ep) => void ep.trySendTo(m.src, m.data) }); });
 */
export async function serveVhostUserRpmsg(options: VhostUserRpmsgOptions): Promise<VhostUserRpmsgService> {
  const backend = await VhostUserBackend.listen(
    backendOptions(options, VIRTIO_ID_RPMSG, 2, new Uint8Array(0), "first-kick"),
  );
  const onError = options.onError;
  const ours = new Set(["socketPath", "queueSize", "inbandNotifications", "onError", "log"]);
  const remoteOptions = Object.fromEntries(Object.entries(options).filter(([k]) => !ours.has(k))) as Omit<
    RpmsgRemoteOptions,
    "transport" | "space" | "doorbell"
  >;
  const remote = new RpmsgRemote({
    ...remoteOptions,
    transport: backend.transport,
    space: backend.space,
    doorbell: backend.doorbell,
    ...(onError === undefined ? {} : { onError }),
  });
  const pump = (): void => {
    try {
      remote.process();
    } catch (e) {
      onError?.(e);
    }
  };
  backend.onEvent((e) => {
    if (e.type === "ready" || e.type === "kick" || e.type === "reset") pump();
  });
  return { backend, remote, close: () => backend.close() };
}
