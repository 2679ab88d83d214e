// Power refcount and ordering corner cases of behaviour §1.2, §1.6, §1.7, §1.9 and the
// lifecycle hazards of §6 (a crash racing a stop; detach with several users).
import { describe, expect, it } from "vitest";
import { isAmpError } from "@amp/remoteproc-core";
import { makePlatform, preinstall } from "../helpers/fixture.ts";

describe("lifecycle races and refcounts", () => {
  it("detach counts users like shutdown: only the last one detaches", async () => {
    const p = makePlatform({ initialState: "detached", fw: null });
    preinstall(p);
    await p.rproc.boot();
    await p.rproc.boot();
    expect(p.rproc.power).toBe(2);
    await p.rproc.detach();
    expect(p.rproc.state).toBe("attached");
    expect(p.rproc.power).toBe(1);
    await p.rproc.detach();
    expect(p.rproc.state).toBe("detached");
    expect(p.rproc.power).toBe(0);
    expect(p.driver.running).toBe(true); // detach leaves the remote running
  });

  it("a crash reported while a shutdown is in progress is ignored once offline", async () => {
    const p = makePlatform({ recovery: "enabled" });
    await p.rproc.boot();
    const stop = p.rproc.shutdown();
    const crash = p.rproc.reportCrash();
    await Promise.all([stop, crash]);
    expect(p.rproc.state).toBe("offline");
    expect(p.rproc.crashCount).toBe(0);
    expect(p.rproc.power).toBe(0);
    expect(p.rproc.allocatedBytes).toBe(0);
  });

  it("enabling recovery while running only sets the flag; recover() outside crashed is refused", async () => {
    const p = makePlatform({ recovery: "disabled" });
    await p.rproc.boot();
    await p.rproc.setRecovery("enabled");
    expect(p.rproc.state).toBe("running");
    expect(p.rproc.recovery).toBe("enabled");
    const e = await p.rproc.recover().catch((x: unknown) => x);
    expect(isAmpError(e) && e.code).toBe("ERR_STATE");
    expect(p.loader.loads).toBe(1); // nothing was reloaded
  });

  it("a failed first boot gives the user count back (power 0, offline)", async () => {
    const p = makePlatform();
    p.driver.failOnce.add("start");
    const e = await p.rproc.boot().catch((x: unknown) => x);
    expect(e).toBeInstanceOf(Error);
    expect(p.rproc.power).toBe(0);
    expect(p.rproc.state).toBe("offline");
    expect(p.rproc.allocatedBytes).toBe(0);
  });
});
