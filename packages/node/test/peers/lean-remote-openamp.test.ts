// The lean remote (@amp/rpmsg/remote) against OpenAMP 1.10's own host: the Linux-machine
// sample rpmsg-ping (openamp-system-reference), as openamp-linux.test.ts runs it against the
// full RpmsgRemote. We play OpenAMP's Linux-machine remote: the resource table at offset 0 of
// /dev/shm/openamp.shm, the doorbell socket /tmp/openamp.event.0 that ping connects to. Shares
// the fixed paths with the other sample tests, so it takes the same lock.
import { describe, expect, it } from "vitest";
import { RemoteVdevTransport } from "@amp/node";
import { LeanRemote } from "@amp/rpmsg/remote";
import { AddressSpace } from "@amp/virtio-ring";
import { missingOpenAmpDeps } from "./openamp.ts";
import {
  SAMPLE_SERVICE,
  echoToSender,
  expectOpenAmpHostRings,
  expectPingEchoedAll,
  startPingHost,
  useOpenAmpSamples,
} from "./support/openamp-samples.ts";

const missing = missingOpenAmpDeps();

describe.skipIf(missing)("OpenAMP 1.10 rpmsg-ping host <-> @amp lean remote", { concurrent: false }, () => {
  const suite = useOpenAmpSamples();

  it("all 480 payloads (17..496 bytes) echoed by LeanRemote, the ping app's own checks pass", async () => {
    const run = await startPingHost(suite);
    const { file, vdev, ping, bell } = run;
    const remote = new LeanRemote({
      transport: RemoteVdevTransport.forEntry(file, 0, vdev),
      space: new AddressSpace().map(0, file, { name: "openamp.shm" }),
      doorbell: bell,
      setDeviceFeatures: false, // dfeatures are in the table already
    });
    const echo = echoToSender();
    // Announced at link up: OpenAMP's host binds its endpoint of that name to us.
    const ep = remote.createEndpoint({ name: SAMPLE_SERVICE, onMessage: echo.onMessage });
    const linkLog: string[] = [];
    remote.onLinkChange((up, why) => {
      linkLog.push(up ? "up" : `down ${why?.code ?? ""}`);
    });
    // The application's main loop: drain the doorbell, process, sleep a little.
    let running = true;
    let loopError: unknown;
    const loop = (async () => {
      while (running) {
        try {
          bell.poll(() => undefined);
          remote.process();
        } catch (e) {
          loopError = e;
          return;
        }
        await new Promise((r) => setTimeout(r, 1));
      }
    })();
    suite.cleanups.push(async () => {
      running = false;
      await loop;
    });
    const exit = await ping.exited;
    running = false;
    await loop;

    expectPingEchoedAll("@amp lean remote", run, exit, echo.counts, remote.stats);
    expect(loopError).toBeUndefined();
    // OpenAMP's host withdraws its endpoint at the end: ours is unbound again.
    expect(ep.dst).toBe(0xffffffff);
    expect(linkLog[0]).toBe("up");
    expect(remote.stats).toMatchObject({
      rxMessages: 482,
      txMessages: 481,
      protocolErrors: 0,
      callbackErrors: 0,
      linkUps: 1,
    });
    expect(Object.values(remote.stats.dropped).every((v) => v === 0)).toBe(true);
    // The lean remote writes 16 + payload as vring 0's used.len.
    expect(expectOpenAmpHostRings(file).len).toBe(16 + 496);
  });
});
