// The example firmware of `amp demo`: an rpmsg echo service, written in TypeScript and built
// into a JS-firmware ELF during the package build (scripts/build-firmware.mjs). It runs on the
// worker-thread processor and uses nothing but its memory: the resource table, the vrings the
// host set up, the trace buffer and the doorbells.
//
// Protocol on the "rpmsg-amp-echo" channel: every message comes back unchanged, except two
// commands that exist to demonstrate crash handling:
//   "crash!"  the firmware throws from its main loop (a fatal-error crash)
//   "hang!"   the firmware stops kicking its watchdog (a watchdog crash)
//
// It also lends two devices it "owns" to the host with @amp/virtual-io, each on its own rpmsg
// channel carrying virtio device messages: an I2C bus with a TMP102-style temperature sensor at
// 0x48 ("amp-i2c") and a bank of 8 GPIO lines, line 0 named "led0" ("amp-gpio"). When the host
// drives an output line, the firmware writes the new level to its trace log.
import { defineFirmware } from "@amp/node/firmware";
import { GpioBank, GpioServer, I2cBusServer, I2cTemperatureSensor, serveOverRpmsg } from "@amp/virtual-io";

const SERVICE = "rpmsg-amp-echo";
/** What the simulated sensor measures (°C); `amp demo` reads it across the link. */
const SENSOR_CELSIUS = 23.25;
const SENSOR_ADDRESS = 0x48;
const GPIO_NAMES = ["led0", "button0"];

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
  let crashRequested = false;
  rpmsg.onLinkChange((up) => {
    fw.trace(up ? `echo: rpmsg link up, announcing "${SERVICE}"` : "echo: rpmsg link down");
  });
  rpmsg.createEndpoint({
    name: SERVICE,
    onMessage: (m, ep) => {
      if (isCommand(m.data, "crash!")) {
        // Not a throw from here: the runtime's policy for callback errors ("continue") would
        // count it and go on. The main loop faults instead, right after this message.
        fw.trace("echo: crash requested, faulting now", "E");
        crashRequested = true;
        return;
      }
      if (isCommand(m.data, "hang!")) {
        fw.trace("echo: hang requested, watchdog will bite", "W");
        hung = true;
        return;
      }
      if (!ep.trySendTo(m.src, m.data)) fw.trace("echo: no tx buffer, message dropped", "W");
      echoed++;
      if (echoed % 250 === 0) fw.trace(`echo: ${echoed} messages echoed`);
    },
  });

  const bus = new I2cBusServer();
  bus.attach(SENSOR_ADDRESS, new I2cTemperatureSensor(SENSOR_CELSIUS).target);
  serveOverRpmsg(rpmsg, bus, { name: "amp-i2c" });
  const bank = new GpioBank({ ngpio: 8, names: GPIO_NAMES });
  bank.onOutput((line, level) => {
    fw.trace(`gpio: line ${line} (${GPIO_NAMES[line] ?? "unnamed"}) driven ${level ? "high" : "low"} by the host`);
  });
  serveOverRpmsg(rpmsg, new GpioServer(bank), { name: "amp-gpio" });
  fw.trace(`vio: lending i2c (sensor at 0x${SENSOR_ADDRESS.toString(16)}) on "amp-i2c", 8 gpio lines on "amp-gpio"`);

  await fw.run(rpmsg, {
    onTick: () => {
      if (crashRequested) throw new Error("injected fault: the host asked the echo firmware to crash");
      if (hung) spinForever();
    },
  });
});

/** A stuck CPU: burns time without kicking the watchdog until the host stops it. */
function spinForever(): never {
  for (;;) {
    // busy
  }
}
