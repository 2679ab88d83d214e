// Linux 6.1's virtio-i2c, virtio-gpio and virtio-console drivers in front of @amp's device
// models, served over vhost-user, driven from Linux userspace: busybox's i2c tools on
// /dev/i2c-0, our GPIO v2 tool on /dev/gpiochip0, a shell on /dev/hvc0.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ConsoleServer,
  GpioBank,
  GpioServer,
  I2cBusServer,
  I2cEeprom,
  I2cTemperatureSensor,
  encodeTemperature,
  type UartDevice,
} from "@amp/virtual-io";
import { serveVhostUserDevice, type VhostUserService } from "../../src/index.js";
import { bootGuest, missingUmlDeps, socketIn, tail, umlImages, type UmlImages } from "./uml.js";

const skip = missingUmlDeps();

const hex2 = (n: number): string => `0x${n.toString(16).padStart(2, "0")}`;
const eepromByte = (i: number): number => (i * 3 + 0x11) & 0xff;

function guestScript(tempWord: number): string {
  const first8 = Array.from({ length: 8 }, (_, i) => hex2(eepromByte(i))).join(" ");
  return String.raw`
pass() { echo "AMP-PASS $1"; }
failc() { echo "AMP-FAIL $1: $2"; rc=1; }
req() { echo "@@amp? $*"; read -r _ack; }
expect() { name=$1; want=$2; shift 2; got=$("$@" 2>&1); if [ "$got" = "$want" ]; then pass $name; else failc $name "'$*' gave '$got', expected '$want'"; fi; }
rc=0

# --- i2c: /dev/i2c-0 is @amp's bus, an EEPROM at 0x50 and a TMP102-style sensor at 0x48
i2cdetect -y -r 0 | tee /tmp/det
n=$(tail -n +2 /tmp/det | cut -c5- | tr ' ' '\n' | grep -c '^[0-9a-f][0-9a-f]$')
if grep -q '^40: .* 48 ' /tmp/det && grep -q '^50: 50 ' /tmp/det && [ "$n" = 2 ]; then pass i2c-detect; else failc i2c-detect "expected exactly 0x48 and 0x50, found $n"; fi
expect i2c-get-eeprom ${hex2(eepromByte(0x10))} i2cget -y 0 0x50 0x10
i2cset -y 0 0x50 0x20 0xa5 && expect i2c-set-eeprom 0xa5 i2cget -y 0 0x50 0x20
expect i2c-write-then-read "${first8}" i2ctransfer -y 0 w1@0x50 0x00 r8
expect i2c-get-sensor 0x${tempWord.toString(16).padStart(4, "0")} i2cget -y 0 0x48 0x00 w
if out=$(i2cget -y 0 0x33 0x00 2>&1); then failc i2c-nack "a read at empty 0x33 succeeded: $out"; else echo "$out"; pass i2c-nack; fi

# --- gpio: /dev/gpiochip0 is @amp's bank
gpio-v2 info /dev/gpiochip0 | tee /tmp/gpio
if grep -q '^line 0 name=led0 ' /tmp/gpio && grep -q '^line 1 name=button0 ' /tmp/gpio && grep -q '^line 2 name=irq-in ' /tmp/gpio && grep -q '^line 3 name=- ' /tmp/gpio; then pass gpio-names; else failc gpio-names "names differ"; fi
gpio-v2 set /dev/gpiochip0 0 1 50 && req gpio-check-output 0 1 && pass gpio-set
expect gpio-get-high "gpio-v2: line 1 value=1" gpio-v2 get /dev/gpiochip0 1
req gpio-drive 1 0
expect gpio-get-low "gpio-v2: line 1 value=0" gpio-v2 get /dev/gpiochip0 1
if gpio-v2 edge /dev/gpiochip0 2 both 2 10000; then pass gpio-edge; else failc gpio-edge "no edge events"; fi

# --- console: /dev/hvc0 is @amp's UART
# (one open for everything: hvc resets the termios at the last close, and a cooked tty would echo)
exec 3<>/dev/hvc0
stty raw -echo <&3
(timeout 10 head -c 21 <&3 > /tmp/hvc.in) &
sleep 0.3
req console-send
wait
if [ "$(cat /tmp/hvc.in)" = "amp->linux 0123456789" ]; then pass console-rx; else failc console-rx "got '$(cat /tmp/hvc.in)'"; fi
printf 'linux->amp hello\n' >&3 && req console-check && pass console-tx
exec 3>&-
exit $rc
`;
}

describe.skipIf(skip !== undefined)(
  "Linux 6.1 (UML) drives @amp's virtio-i2c, virtio-gpio and virtio-console over vhost-user",
  () => {
    let images: UmlImages;
    let dir = "";
    const services: VhostUserService[] = [];

    beforeAll(async () => {
      images = await umlImages();
      dir = mkdtempSync(join(tmpdir(), "amp-vu-vio-"));
    }, 90 * 60_000);

    afterAll(async () => {
      for (const s of services) await s.close();
      if (dir !== "") rmSync(dir, { recursive: true, force: true });
    });

    it("i2cdetect/i2cget/i2cset/i2ctransfer, GPIO names/get/set/edges, /dev/hvc0 both ways", async () => {
      const errors: unknown[] = [];
      const onError = (e: unknown): void => {
        errors.push(e);
      };
      // I2C: EEPROM (24C02) with a known pattern, temperature sensor at 23.25 °C.
      const bus = new I2cBusServer();
      const eeprom = new I2cEeprom({
        size: 256,
        pageSize: 8,
        initial: Uint8Array.from({ length: 256 }, (_, i) => eepromByte(i)),
      });
      eeprom.attachTo(bus, 0x50);
      const sensor = new I2cTemperatureSensor(23.25);
      bus.attach(0x48, sensor.target);
      const raw = encodeTemperature(23.25); // register 0, big-endian on the wire; SMBus words are little-endian
      const tempWord = ((raw & 0xff) << 8) | (raw >> 8);
      // GPIO: four lines, the last unnamed; button0 starts high.
      const bank = new GpioBank({ ngpio: 4, names: ["led0", "button0", "irq-in", ""] });
      bank.drive(1, true);
      const outputs: [number, boolean][] = [];
      bank.onOutput((line, level) => outputs.push([line, level]));
      // Console: a UART that records what Linux writes.
      let sendToLinux: ((b: Uint8Array) => void) | undefined;
      let fromLinux = "";
      const uart: UartDevice = {
        attach: (send) => {
          sendToLinux = send;
        },
        receive: (b) => {
          fromLinux += Buffer.from(b).toString("latin1");
        },
      };
      const sockets = { i2c: socketIn(dir, "i2c"), gpio: socketIn(dir, "gpio"), hvc: socketIn(dir, "hvc") };
      // the i2c device uses eventfd kicks and calls (as QEMU would); the others in-band messages
      services.push(await serveVhostUserDevice(bus, { socketPath: sockets.i2c, onError, inbandNotifications: false }));
      services.push(await serveVhostUserDevice(new GpioServer(bank), { socketPath: sockets.gpio, onError }));
      services.push(await serveVhostUserDevice(new ConsoleServer(uart), { socketPath: sockets.hvc, onError }));
      const checks: string[] = [];

      const guest = bootGuest({
        images,
        devices: [
          { socket: sockets.i2c, id: 34 },
          { socket: sockets.gpio, id: 41 },
          { socket: sockets.hvc, id: 3 },
        ],
        script: guestScript(tempWord),
        timeoutMs: 150_000,
        onRequest: async (req, args) => {
          if (req === "gpio-check-output") checks.push(`output ${args.join(" ")}: ${JSON.stringify(outputs)}`);
          if (req === "gpio-drive") bank.drive(Number(args[0]), args[1] === "1");
          if (req === "gpio-edge-ready") {
            // the reader waits on line 2: a rising and a falling edge from the @amp side
            bank.drive(2, true);
            await new Promise((r) => setTimeout(r, 50));
            bank.drive(2, false);
          }
          if (req === "console-send") sendToLinux?.(Buffer.from("amp->linux 0123456789"));
          if (req === "console-check") checks.push(`console ${JSON.stringify(fromLinux)}`);
        },
      });
      const r = await guest.done;
      const why = `${tail(r)}\nchecks: ${checks.join("; ")}`;
      expect(r.timedOut, why).toBe(false);
      expect(r.trouble, why).toEqual([]);
      expect(r.failed, why).toEqual([]);
      expect(r.passed, why).toEqual([
        "i2c-detect",
        "i2c-get-eeprom",
        "i2c-set-eeprom",
        "i2c-write-then-read",
        "i2c-get-sensor",
        "i2c-nack",
        "gpio-names",
        "gpio-set",
        "gpio-get-high",
        "gpio-get-low",
        "gpio-edge",
        "console-rx",
        "console-tx",
      ]);
      expect(r.rc, why).toBe(0);
      expect(r.requestErrors).toEqual([]);
      expect(errors).toEqual([]);
      // What the models saw, on the @amp side.
      expect(eeprom.memory[0x20]).toBe(0xa5);
      expect(outputs.slice(0, 1), why).toEqual([[0, true]]);
      expect(r.lines.filter((l) => l.startsWith("gpio-v2: event line=2"))).toEqual([
        "gpio-v2: event line=2 rising seqno=1",
        "gpio-v2: event line=2 falling seqno=2",
      ]);
      expect(fromLinux).toBe("linux->amp hello\n");
      console.log(
        `linux vio: boot to /init ${r.bootMs ?? "?"} ms, run ${r.totalMs} ms; i2c ${JSON.stringify(services[0]?.backend.stats)}`,
      );
    }, 180_000);
  },
);
