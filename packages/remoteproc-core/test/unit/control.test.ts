import { describe, expect, it } from "vitest";
import { createMemoryFirmwareSource, createRemoteproc, isAmpError, RprocState } from "@amp/remoteproc-core";
import { FakeDriver, firmware, makePlatform, preinstall } from "../helpers/fixture.ts";

async function code(p: Promise<unknown> | (() => unknown)): Promise<string | undefined> {
  try {
    if (typeof p === "function") p();
    else await p;
    return undefined;
  } catch (e) {
    return isAmpError(e) ? e.code : (e as Error).name;
  }
}

describe("states and the control surface", () => {
  it("reads like sysfs", async () => {
    const p = makePlatform({ coredump: "enabled" });
    const c = p.rproc.control;
    expect(["name", "state", "firmware", "recovery", "coredump"].map((a) => c.read(a as never))).toEqual([
      "m4",
      "offline",
      "fw.elf",
      "enabled",
      "enabled",
    ]);
    await c.write("state", "start\n");
    expect(c.read("state")).toBe("running");
    await c.write("coredump", "inline");
    expect(c.read("coredump")).toBe("inline");
    await c.write("recovery", "disabled");
    expect(p.rproc.recovery).toBe("disabled");
    expect(await code(c.write("state", "reboot"))).toBe("TypeError");
    expect(await code(c.write("name", "x"))).toBe("TypeError");
    expect(await code(c.write("firmware", "other.elf"))).toBe("ERR_STATE");
    await c.write("state", "stop");
    await c.write("firmware", "other.elf\nignored");
    expect(p.rproc.firmware).toBe("other.elf");
    expect(
      await code(() => {
        p.rproc.setFirmware("");
      }),
    ).toBe("TypeError");
  });

  it("the default firmware name is rproc-<name>-fw", () => {
    const r = createRemoteproc({ name: "dsp", driver: new FakeDriver() });
    expect(r.firmware).toBe("rproc-dsp-fw");
    expect(r.state).toBe(RprocState.OFFLINE);
  });

  it("wrong-state calls fail with ERR_STATE and change nothing", async () => {
    const p = makePlatform({ recovery: "disabled" });
    const events: unknown[] = [];
    p.rproc.on("state", (e) => events.push(e));
    expect(await code(p.rproc.shutdown())).toBe("ERR_STATE");
    expect(await code(p.rproc.detach())).toBe("ERR_STATE");
    expect(await code(p.rproc.recover())).toBe("ERR_STATE");
    expect(await code(p.rproc.coredump({ write: () => undefined }))).toBe("ERR_STATE");
    expect(events).toEqual([]);
    await p.rproc.boot();
    expect(await code(p.rproc.detach())).toBe("ERR_STATE");
    expect(
      await code(() => {
        p.rproc.setFirmware("x");
      }),
    ).toBe("ERR_STATE");
    await p.rproc.reportCrash();
    expect(await code(p.rproc.shutdown())).toBe("ERR_STATE");
    expect(await code(p.rproc.boot())).toBeUndefined(); // counts a user, as Linux
    expect(p.rproc.power).toBe(2);
    await p.rproc.delete();
    expect(p.rproc.state).toBe("deleted");
    for (const call of [
      () => p.rproc.boot(),
      () => p.rproc.shutdown(),
      () => p.rproc.detach(),
      () => p.rproc.recover(),
      () => p.rproc.delete(),
    ]) {
      expect(await code(call())).toBe("ERR_STATE");
    }
    expect(p.rproc.power).toBe(0);
  });

  it("emits state and power events on every change", async () => {
    const p = makePlatform();
    const log: string[] = [];
    p.rproc.on("state", (e) => log.push(`${e.from}>${e.to}`));
    const off = p.rproc.on("power", (n) => log.push(`power ${n}`));
    await p.rproc.boot();
    await p.rproc.boot();
    await p.rproc.shutdown();
    off();
    await p.rproc.shutdown();
    expect(log).toEqual(["offline>running", "power 1", "power 2", "power 1", "running>offline"]);
  });

  it("a throwing listener is reported on the error event, not to the caller", async () => {
    const p = makePlatform();
    p.rproc.on("state", () => {
      throw new Error("listener bug");
    });
    await p.rproc.boot();
    expect(p.rproc.state).toBe("running");
    expect(p.errors.length).toBe(1);
  });

  it("panic asks the driver only while running", async () => {
    const p = makePlatform();
    expect(p.rproc.panic()).toBe(0);
    await p.rproc.boot();
    expect(p.rproc.panic()).toBe(5);
  });

  it("constructor refuses drivers that cannot do the initial state's job", () => {
    expect(() => createRemoteproc({ name: "x", driver: {} })).toThrow(TypeError);
    expect(() => createRemoteproc({ name: "x", driver: { start: () => undefined }, initialState: "detached" })).toThrow(
      TypeError,
    );
    expect(() => createRemoteproc({ name: "", driver: new FakeDriver() })).toThrow(TypeError);
    expect(() => createRemoteproc({ name: "x", driver: new FakeDriver(), coredump: "bogus" as never })).toThrow(
      TypeError,
    );
  });
});

describe("firmware sources and auto-boot", () => {
  it("waits for firmware that appears later, then boots", async () => {
    const p = makePlatform({ fw: null });
    let booted = false;
    const done = p.rproc.autoBoot().then(() => {
      booted = true;
    });
    await Promise.resolve();
    await Promise.resolve();
    expect(booted).toBe(false);
    expect(p.rproc.state).toBe("offline");
    p.source.set("fw.elf", firmware());
    await done;
    expect(p.rproc.state).toBe("running");
  });

  it("an aborted wait rejects with ERR_ABORTED and leaves the remote offline", async () => {
    const p = makePlatform({ fw: null });
    const ac = new AbortController();
    const done = p.rproc.autoBoot({ signal: ac.signal }).catch((e: unknown) => e);
    ac.abort(new Error("shutting down"));
    const e = await done;
    expect(isAmpError(e) && e.code).toBe("ERR_ABORTED");
    expect(p.rproc.state).toBe("offline");
    const src = createMemoryFirmwareSource();
    const ac2 = new AbortController();
    ac2.abort();
    expect(await code(src.waitFor("x", { signal: ac2.signal }))).toBe("ERR_ABORTED");
  });

  it("auto-boot of a detached remote attaches without firmware", async () => {
    const p = makePlatform({ initialState: "detached", fw: null });
    preinstall(p);
    await p.rproc.autoBoot();
    expect(p.rproc.state).toBe("attached");
  });

  it("a source that cannot wait fails at once when the image is absent", async () => {
    const r = createRemoteproc({ name: "x", driver: new FakeDriver(), firmwareSource: { get: () => undefined } });
    expect(await code(r.autoBoot())).toBe("ERR_NO_FIRMWARE");
    const none = createRemoteproc({ name: "x", driver: new FakeDriver() });
    expect(await code(none.autoBoot())).toBe("ERR_NO_FIRMWARE");
  });

  it("the memory source copies images and lists names", () => {
    const src = createMemoryFirmwareSource({ a: new Uint8Array([1]) });
    const img = new Uint8Array([5]);
    src.set("b", img);
    img[0] = 6;
    expect(src.names()).toEqual(["a", "b"]);
    expect([...(src.get("b") as Uint8Array)]).toEqual([5]);
    expect(src.delete("a")).toBe(true);
    expect(src.get("a")).toBeUndefined();
    expect(() => {
      src.set("", img);
    }).toThrow(TypeError);
  });
});
