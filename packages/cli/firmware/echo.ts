// The example firmware of `amp demo`: an rpmsg echo service, written in TypeScript and built
// into a JS-firmware ELF during the package build (scripts/build-firmware.mjs). It runs on the
// worker-thread processor and uses nothing but its memory: the resource table, the vrings the
// host set up, the trace buffer and the doorbells.
//
// Protocol on the "rpmsg-amp-echo" channel: every message comes back unchanged, except two
// commands that exist to demonstrate crash handling:
//   "crash!"  the firmware throws (a fatal-error crash)
//   "hang!"   the firmware stops kicking its watchdog (a watchdog crash)
import { defineFirmware } from "@amp/node/firmware";

const SERVICE = "rpmsg-amp-echo";

function isCommand(data: Uint8Array, command: string): boolean {
  if (data.length !== command.length) return false;
  for (let i = 0; i < data.length; i++) if (data[i] !== command.charCodeAt(i)) return false;
  return true;
}

export default defineFirmware(async (fw) => {
  fw.trace("echo: firmware started");
  fw.armWatchdog(1000);
  const rpmsg = fw.rpmsg();
  let echoed = 0;
  let hung = false;
  rpmsg.onLinkChange((up) => {
    fw.trace(up ? `echo: rpmsg link up, announcing "${SERVICE}"` : "echo: rpmsg link down");
  });
  rpmsg.createEndpoint({
    name: SERVICE,
    onMessage: (m, ep) => {
      if (isCommand(m.data, "crash!")) {
        fw.trace("echo: crash requested, faulting now");
        throw new Error("injected fault: the host asked the echo firmware to crash");
      }
      if (isCommand(m.data, "hang!")) {
        fw.trace("echo: hang requested, watchdog will bite");
        hung = true;
        return;
      }
      if (!ep.trySendTo(m.src, m.data)) fw.trace("echo: no tx buffer, message dropped");
      echoed++;
      if (echoed % 250 === 0) fw.trace(`echo: ${echoed} messages echoed`);
    },
  });
  await fw.run(rpmsg, { onTick: () => { if (hung) spinForever(); } });
});

/** A stuck CPU: burns time without kicking the watchdog until the host stops it. */
function spinForever(): never {
  for (;;) {
    // busy
  }
}
