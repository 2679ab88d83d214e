// A remote bundle run inside QuickJS against an RpmsgHost in Node: the one scenario that both
// engine tests (quickjs.test.ts for RpmsgRemote, lean-quickjs.test.ts for the lean remote) run.
//
// What is real: every ring access, header, NS announcement and buffer of the remote is done by
// our code running in QuickJS on the bytes of the link. What is emulated: shared memory. QuickJS
// cannot map Node's SharedArrayBuffer, so the two sides run in turns and the whole memory image
// is copied into the VM before each remote step and back out after it. Because only one side
// runs at a time, the copy is exact (nothing is lost or merged).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { getQuickJS, type QuickJSContext } from "quickjs-emscripten";
import { bundleToString } from "@amp/test-utils";
import { AddressSpace, SharedMemory } from "@amp/virtio-ring";
import { RpmsgHost } from "@amp/rpmsg";
import { SharedTransport } from "./shared-transport.ts";
import { ringsBytes } from "./ring-bytes.ts";

const NUM = 8;
const ALIGN = 4096;
const RINGS = 0x1000;
const POOL = RINGS + ringsBytes(NUM, ALIGN);
const SIZE = POOL + 2 * NUM * 512;

export interface QuickJsRemoteSuite {
  /** The describe() title. */
  readonly title: string;
  /** The remote's entry file (exports setup, step, image, report), bundled as the IIFE global `R`. */
  readonly entry: string;
  /**
   * After the host reset, also check that the remote comes back: the host starts again, the
   * service is announced again and served, and the link went up twice without protocol errors.
   */
  readonly servesAgainAfterReset?: boolean;
}

/** Declares the suite: one VM for the file, loaded with the bundled remote. */
export function describeRemoteInQuickJs(suite: QuickJsRemoteSuite): void {
  let vm: QuickJSContext;

  function evalInVm(code: string): unknown {
    const r = vm.evalCode(code, "test.js", { type: "global" });
    if (r.error) {
      // Dump the error ourselves: vitest walking a QuickJS handle stalls (TOOLCHAIN.md P19).
      const e: unknown = r.error.consume((h): unknown => vm.dump(h));
      throw new Error(`QuickJS: ${JSON.stringify(e)}`);
    }
    return r.value.consume((h): unknown => vm.dump(h));
  }

  beforeAll(async () => {
    const code = await bundleToString(suite.entry, { format: "iife", globalName: "R", platform: "neutral" });
    vm = (await getQuickJS()).newContext();
    evalInVm(code);
    evalInVm(`R.setup(${SIZE}, ${NUM}); 0`);
  });
  afterAll(() => {
    vm.dispose();
  });

  describe(suite.title, () => {
    it("the engine has no TextEncoder, console or timers, and the bundle loads anyway", () => {
      expect(evalInVm("typeof TextEncoder + ',' + typeof setTimeout + ',' + typeof R.step")).toBe(
        "undefined,undefined,function",
      );
    });

    it("link up after DRIVER_OK, NS announcement, request/response both ways", () => {
      const sab = new SharedArrayBuffer(SIZE);
      const mem = new SharedMemory(sab);
      const bytes = new Uint8Array(sab);
      const host = new RpmsgHost({
        transport: new SharedTransport(mem, 0, NUM),
        space: new AddressSpace().map(0, mem),
        poolAddr: POOL,
        rings: { addr: RINGS, align: ALIGN },
        numBuffers: NUM,
      });

      /** The VM's image into the host's memory. */
      const pull = (): void => {
        const out = vm.evalCode("R.image()");
        if (out.error) {
          out.error.dispose();
          throw new Error("image() failed");
        }
        const life = vm.getArrayBuffer(out.value);
        bytes.set(life.value);
        life.dispose();
        out.value.dispose();
      };
      /** One remote turn inside QuickJS on the current image. */
      const remoteStep = (): number => {
        const h = vm.newArrayBuffer(bytes.slice().buffer);
        vm.setProp(vm.global, "img", h);
        h.dispose();
        const n = evalInVm("R.step(img)") as number;
        pull();
        return n;
      };
      /** An endpoint bound to the remote's "upper" service, collecting the replies as text. */
      const upper = (): { send(text: string): boolean; replies: string[] } => {
        const replies: string[] = [];
        const ep = host.createEndpoint({
          name: "upper",
          onMessage: (m) => {
            replies.push(new TextDecoder().decode(m.data));
          },
        });
        return { send: (text) => ep.trySend(new TextEncoder().encode(text)), replies };
      };

      // The remote wrote its device features at construction: the host sees them before it starts.
      pull();
      remoteStep();
      expect(host.isLinkUp).toBe(false);
      host.start();
      remoteStep(); // DRIVER_OK seen: link up, NS CREATE for "upper"
      host.process();
      expect(host.remoteServices).toEqual([{ name: "upper", addr: 1024 }]);
      const ep = upper();
      const words = ["hello", "quickjs", "rpmsg over virtio", "x".repeat(496)];
      for (const w of words) expect(ep.send(w)).toBe(true);
      expect(remoteStep()).toBe(4);
      host.process();
      expect(ep.replies).toEqual(words.map((w) => w.toUpperCase()));
      const report = JSON.parse(evalInVm("R.report()") as string) as {
        log: string[];
        up: boolean;
        stats: { txMessages: number };
      };
      expect(report.up).toBe(true);
      expect(report.log[0]).toBe("link up");
      expect(report.log).toContain("rx 496 from 1024");
      expect(report.stats.txMessages).toBe(5); // NS CREATE + 4 replies
      // A host reset reaches the remote in QuickJS too.
      host.stop("bye");
      remoteStep();
      expect((JSON.parse(evalInVm("R.report()") as string) as { up: boolean }).up).toBe(false);
      if (suite.servesAgainAfterReset !== true) return;
      // It comes back and serves again.
      host.start();
      remoteStep();
      host.process();
      expect(host.remoteServices).toEqual([{ name: "upper", addr: 1024 }]);
      const again = upper();
      expect(again.send("again")).toBe(true);
      expect(remoteStep()).toBe(1);
      host.process();
      expect(again.replies).toEqual(["AGAIN"]);
      const end = JSON.parse(evalInVm("R.report()") as string) as {
        log: string[];
        stats: { protocolErrors: number; linkUps: number };
      };
      expect(end.log.filter((l) => l.startsWith("link"))).toEqual(["link up", "link down ERR_LINK_DOWN", "link up"]);
      expect(end.stats).toMatchObject({ protocolErrors: 0, linkUps: 2 });
    });
  });
}
