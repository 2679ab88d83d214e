// Random sequences of life-cycle operations with injected failures: after every step the state,
// the power count and every resource agree with each other, and a call refused for its state
// (ERR_STATE) is exactly one the Linux transition table forbids, and changed nothing.
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { fcParams } from "@amp/test-utils";
import { isAmpError } from "@amp/remoteproc-core";
import { RecordingSubdevice, makePlatform, preinstall } from "../helpers/fixture.ts";

type Op =
  | { op: "boot" | "shutdown" | "detach" | "recover" | "crash" | "delete" | "heal" }
  | { op: "recovery"; mode: "enabled" | "disabled" }
  | { op: "fail"; hook: string };

const hooks = [
  "prepare",
  "start",
  "stop",
  "attach",
  "detach",
  "unprepare",
  "sub.start",
  "sub.prepare",
  "sub.stop",
  "load",
];

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.constantFrom<Op>(
      { op: "boot" },
      { op: "shutdown" },
      { op: "detach" },
      { op: "recover" },
      { op: "crash" },
    ),
  },
  { weight: 2, arbitrary: fc.constantFrom<Op>({ op: "heal" }) },
  { weight: 1, arbitrary: fc.constantFrom<Op>({ op: "delete" }) },
  { weight: 1, arbitrary: fc.constantFrom("enabled", "disabled").map((mode): Op => ({ op: "recovery", mode })) },
  { weight: 2, arbitrary: fc.constantFrom(...hooks).map((hook): Op => ({ op: "fail", hook })) },
);

function allowed(state: string, power: number, op: Op["op"]): boolean {
  switch (op) {
    case "boot":
      return state !== "deleted" && (power > 0 || state === "offline" || state === "detached");
    case "shutdown":
      return state === "running" || state === "attached";
    case "detach":
      return state === "attached";
    case "recover":
      return state === "crashed";
    case "delete":
      return state !== "deleted";
    default:
      return true;
  }
}

describe("random operation sequences with injected failures", () => {
  it("keep state, power and resources consistent", async () => {
    await fc.assert(
      fc.asyncProperty(fc.boolean(), fc.array(opArb, { maxLength: 30 }), async (detached, ops) => {
        const p = makePlatform(
          detached ? { initialState: "detached", recovery: "disabled" } : { recovery: "disabled" },
        );
        if (detached) preinstall(p);
        const sub = new RecordingSubdevice("sub", []);
        p.rproc.addSubdevice(sub);
        p.rproc.registerVirtioDriver({
          deviceIds: [7],
          probe: (v) => {
            v.transport.setStatus(7);
            return undefined;
          },
        });
        // A failed detach restarts the subdevices it stopped, best effort (Linux __rproc_detach
        // ignores rproc_start_subdevices' result too): with start failing as well, the remote
        // keeps running with its subdevices left prepared until it next leaves running.
        let subdevsLeftPrepared = false;
        for (const o of ops) {
          const before = { state: p.rproc.state, power: p.rproc.power };
          let error: unknown;
          try {
            switch (o.op) {
              case "boot":
                await p.rproc.boot();
                break;
              case "shutdown":
                await p.rproc.shutdown();
                break;
              case "detach":
                await p.rproc.detach();
                break;
              case "recover":
                await p.rproc.recover();
                break;
              case "crash":
                await p.rproc.reportCrash();
                break;
              case "delete":
                await p.rproc.delete();
                break;
              case "recovery":
                await p.rproc.setRecovery(o.mode);
                break;
              case "heal":
                p.driver.fail.clear();
                sub.fail.clear();
                p.loader.failLoad = false;
                break;
              case "fail":
                if (o.hook.startsWith("sub.")) sub.fail.add(o.hook.slice(4));
                else if (o.hook === "load") p.loader.failLoad = true;
                else p.driver.fail.add(o.hook);
                break;
            }
          } catch (e) {
            error = e;
          }
          if (error !== undefined) {
            if (!isAmpError(error)) throw error instanceof Error ? error : new Error("non-Error thrown");
            expect(["ERR_STATE", "ERR_STEP", "ERR_UNSUPPORTED"]).toContain(error.code);
            if (error.code === "ERR_STATE" || error.code === "ERR_UNSUPPORTED") {
              expect({ state: p.rproc.state, power: p.rproc.power }).toEqual(before);
            }
            if (error.code === "ERR_STATE") expect(allowed(before.state, before.power, o.op)).toBe(false);
          } else if (["boot", "shutdown", "detach", "recover", "delete"].includes(o.op)) {
            expect(allowed(before.state, before.power, o.op)).toBe(true);
          }
          const s = p.rproc.state;
          if (s !== "running" && s !== "attached") subdevsLeftPrepared = false;
          else if (error !== undefined && sub.fail.has("start") && sub.state === "prepared") subdevsLeftPrepared = true;
          if (s === "offline" || s === "detached" || s === "deleted") {
            expect(p.rproc.power).toBe(0);
            expect(p.rproc.allocatedBytes).toBe(0);
            expect(p.driver.prepared).toBe(0);
            expect(p.loader.releases).toBe(p.loader.loads);
            expect(sub.state).toBe("idle");
            expect(p.rproc.vdevs).toEqual([]);
          } else {
            expect(p.rproc.power).toBeGreaterThan(0);
            expect(p.driver.prepared).toBe(1);
            expect(p.rproc.allocatedBytes).toBeGreaterThan(0);
            expect(p.loader.loads - p.loader.releases).toBe(
              s === "attached" ? 0 : s === "running" ? 1 : p.loader.loads - p.loader.releases,
            );
            if (s === "running" || s === "attached") {
              expect(sub.state).toBe(subdevsLeftPrepared ? "prepared" : "started");
              // The restart stops at the first failure, so the vdev after it is not back either.
              expect(p.rproc.vdevs).toHaveLength(subdevsLeftPrepared ? 0 : 1);
            }
          }
        }
        if (p.rproc.state !== "deleted") await p.rproc.delete();
        expect(p.rproc.allocatedBytes).toBe(0);
        expect(p.driver.prepared).toBe(0);
        expect(p.loader.releases).toBe(p.loader.loads);
      }),
      fcParams(150),
    );
  });
});
