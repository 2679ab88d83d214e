// Late attach: QEMU is started by someone else (here: this test, as a launcher script would) with
// the firmware already loaded and running; the host attaches to it over QEMU's server sockets,
// talks rpmsg, detaches (the firmware keeps running and waits again), and attaches once more.
import { spawn } from "node:child_process";
import { existsSync, rmSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { makeTempDir, requireTools } from "@amp/test-utils";
import {
  AmpqCtrl,
  AmpqMode,
  AmpqState,
  AMPQ_CTRL_DA,
  FileMemory,
  MPS2_RAM_BASE,
  MPS2_RAM_SIZE,
  checkImage,
  createQemuRemoteproc,
  loadImage,
  qemuArgs,
} from "@amp/node";
import type { RpmsgHost } from "@amp/rpmsg";
import { buildFirmware, ramDir, waitFor } from "./helpers.ts";

const missing = requireTools("qemu-system-arm", "arm-none-eabi-gcc");
const enc = new TextEncoder();
const dec = new TextDecoder();

async function echo(host: RpmsgHost, text: string): Promise<string> {
  await host.waitForService("rpmsg-echo", { timeoutMs: 5000 });
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error("no echo")), 5000);
    const ep = host.createEndpoint({
      dst: 1024,
      onMessage: (m) => {
        clearTimeout(t);
        resolve(dec.decode(m.data));
        ep.destroy();
      },
    });
    ep.send(enc.encode(text)).catch(reject);
  });
}

describe.skipIf(missing)("QEMU remote: late attach to firmware QEMU is already running", () => {
  const dir = makeTempDir("amp-qemu-attach-");
  const memoryPath = join(ramDir(), `amp-attach-${process.pid}.mem`);
  const sockets = { qmp: join(dir, "qmp.sock"), console: join(dir, "con.sock"), doorbell: join(dir, "db.sock") };
  let child: ReturnType<typeof spawn> | undefined;
  afterAll(() => {
    child?.kill("SIGKILL");
    rmSync(memoryPath, { force: true });
  });

  it("attaches, echoes, detaches (firmware keeps running), attaches again", async () => {
    const fw = buildFirmware();
    // The launcher: load the image into the RAM file, start QEMU running, sockets in server mode.
    const mem = FileMemory.open(memoryPath, { size: MPS2_RAM_SIZE });
    mem.fill(0, MPS2_RAM_SIZE, 0);
    loadImage(mem, fw.bytes);
    const ctrl = AMPQ_CTRL_DA - MPS2_RAM_BASE;
    mem.setU32(ctrl + AmpqCtrl.MODE, AmpqMode.IRQ);
    child = spawn("qemu-system-arm", qemuArgs({ memoryPath, sockets, role: "server", halted: false }), {
      stdio: "ignore",
    });
    await waitFor(
      "firmware waiting for DRIVER_OK",
      () => mem.getU32(ctrl + AmpqCtrl.STATE) === AmpqState.WAIT_DRIVER_OK && existsSync(sockets.doorbell),
    );
    const boots = mem.getU32(ctrl + AmpqCtrl.BOOTS);

    // The host: attach with the table location taken from the ELF (Linux: the platform knows it).
    const q = createQemuRemoteproc({
      firmware: fw.bytes,
      memoryPath,
      attach: { sockets, resourceTable: checkImage(fw.bytes).resourceTable! },
    });
    const hosts: RpmsgHost[] = [];
    q.onRpmsg((h) => hosts.push(h));
    expect(q.rproc.state).toBe("detached");
    await q.rproc.boot();
    expect(q.rproc.state).toBe("attached");
    expect(await echo(await waitFor("host", () => hosts[0]), "attached")).toBe("attached");
    expect(q.rproc.traces[0]!.readText()).toContain("ns: announced rpmsg-echo at 1024");

    await q.rproc.detach();
    expect(q.rproc.state).toBe("detached");
    await waitFor("firmware back to waiting", () => mem.getU32(ctrl + AmpqCtrl.STATE) === AmpqState.WAIT_DRIVER_OK);
    expect(child.exitCode).toBeNull(); // QEMU still runs
    expect(mem.getU32(ctrl + AmpqCtrl.BOOTS)).toBe(boots); // and was never reset

    await q.rproc.boot();
    expect(q.rproc.state).toBe("attached");
    expect(await echo(await waitFor("second host", () => hosts[1]), "again")).toBe("again");
    expect(mem.getU32(ctrl + AmpqCtrl.BOOTS)).toBe(boots);
    await q.close(); // detaches, leaves QEMU alone
    await new Promise((r) => setTimeout(r, 300));
    expect(child.exitCode).toBeNull();
    await waitFor("firmware waiting again", () => mem.getU32(ctrl + AmpqCtrl.STATE) === AmpqState.WAIT_DRIVER_OK);
    mem.close();
  });
});
