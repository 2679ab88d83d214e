// Late attach: QEMU is started by someone else (here: this test, as a launcher script would) with
// the firmware already loaded and running; the host attaches to it over QEMU's server sockets,
// talks rpmsg, detaches (the firmware keeps running and waits again), and attaches once more.
import { describe, expect, it } from "vitest";
import { requireTools } from "@amp/test-utils";
import { buildFirmware, echoOnce as echo, waitFor } from "./helpers.ts";
import { attachTo, launchRunning, useLateAttach } from "./late-attach.ts";

const missing = requireTools("qemu-system-arm", "arm-none-eabi-gcc");

describe.skipIf(missing)("QEMU remote: late attach to firmware QEMU is already running", () => {
  const setup = useLateAttach("attach");

  it("attaches, echoes, detaches (firmware keeps running), attaches again", async () => {
    const fw = buildFirmware();
    const { mem, child, boots, bootCount, waitingAgain } = await launchRunning(setup, fw.bytes);

    // The host: attach with the table location taken from the ELF (Linux: the platform knows it).
    const { q, hosts } = attachTo(setup, fw.bytes);
    expect(q.rproc.state).toBe("detached");
    await q.rproc.boot();
    expect(q.rproc.state).toBe("attached");
    expect(await echo(await waitFor("host", () => hosts[0]), "attached")).toBe("attached");
    expect(q.rproc.traces[0]!.readText()).toContain("ns: announced rpmsg-echo at 1024");

    await q.rproc.detach();
    expect(q.rproc.state).toBe("detached");
    await waitingAgain("firmware back to waiting");
    expect(child.exitCode).toBeNull(); // QEMU still runs
    expect(bootCount()).toBe(boots); // and was never reset

    await q.rproc.boot();
    expect(q.rproc.state).toBe("attached");
    expect(await echo(await waitFor("second host", () => hosts[1]), "again")).toBe("again");
    expect(bootCount()).toBe(boots);
    await q.close(); // detaches, leaves QEMU alone
    await new Promise((r) => setTimeout(r, 300));
    expect(child.exitCode).toBeNull();
    await waitingAgain("firmware waiting again");
    mem.close();
  });
});
