// amp vhost-user: serve @amp's simulated devices to a vhost-user frontend (User-Mode Linux's
// virtio_uml, or a VMM) from the command line, the way rust-vmm's vhost-device backends are
// used: one UNIX socket per device, until Ctrl-C, which closes the sockets and the relays.
import { serveVhostUserDevice, serveVhostUserRpmsg, type VhostUserService } from "@amp/node";
import { isAmpError } from "@amp/virtio-ring";
import type { RpmsgEndpoint, RpmsgMessage } from "@amp/rpmsg";
import {
  ConsoleServer,
  GpioBank,
  GpioServer,
  I2cBusServer,
  I2cEeprom,
  I2cTemperatureSensor,
  type UartDevice,
} from "@amp/virtual-io";
import { numberOption, stringOption, type Command, type ParsedArgs } from "../internal/command.js";
import { CliError, usageError } from "../internal/cli-error.js";
import { resolvePath } from "../internal/files.js";
import type { CliIo } from "../internal/io.js";
import { jsonLine } from "../internal/json-out.js";

const NAME = "vhost-user";

function list(args: ParsedArgs, name: string): string[] {
  const v = args.values[name];
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : typeof v === "string" ? [v] : [];
}

function parseNumber(text: string, what: string, min: number, max: number): number {
  const n = /^0x[0-9a-f]+$/i.test(text) ? parseInt(text.slice(2), 16) : /^\d+(\.\d+)?$/.test(text) ? Number(text) : NaN;
  if (!Number.isFinite(n) || n < min || n > max)
    throw usageError(NAME, `${what} must be a number from ${min} to ${max}, not "${text}"`);
  return n;
}

/** "ADDR[:X]" → [address, X or undefined]; 7-bit addresses that are not reserved. */
function addrSpec(text: string, what: string): [number, string | undefined] {
  const [a = "", rest] = text.split(":", 2);
  return [parseNumber(a, `${what} address`, 0x08, 0x77), rest];
}

/** A readable form of bytes Linux wrote to the console. */
function printable(bytes: Uint8Array): string {
  return JSON.stringify(Buffer.from(bytes).toString("latin1"));
}

interface Started {
  readonly svc: VhostUserService;
  readonly what: string;
  readonly socket: string;
  readonly id: number;
}

async function run(io: CliIo, args: ParsedArgs): Promise<number> {
  // --json: each log line as {"event": its first word, "t", "message": the rest} (json-out.ts).
  const t0 = performance.now();
  const json = args.values["json"] === true;
  const log = (line: string): void => {
    if (!json) {
      io.stdout(`${line}\n`);
      return;
    }
    const m = /^(\S+?)[;:]?(?:\s+|$)([\s\S]*)$/.exec(line);
    io.stdout(
      jsonLine({ event: m?.[1] ?? "log", t: Math.round(performance.now() - t0) / 1000, message: m?.[2] ?? line }),
    );
  };
  const verbose = args.values["verbose"] === true;
  const durationS = numberOption(NAME, args, "duration", 0, 86_400);
  const rpmsg = stringOption(args, "rpmsg");
  const i2c = stringOption(args, "i2c");
  const gpio = stringOption(args, "gpio");
  const hvc = stringOption(args, "console");
  if ([rpmsg, i2c, gpio, hvc].every((s) => s === undefined))
    throw usageError(NAME, "name at least one device: --rpmsg, --i2c, --gpio or --console with a socket path");
  const eeproms = list(args, "eeprom").map((s) => {
    const [addr, size] = addrSpec(s, "--eeprom");
    const n = size === undefined ? 256 : parseNumber(size, "--eeprom size", 128, 65536);
    if ((n & (n - 1)) !== 0) throw usageError(NAME, `--eeprom size must be a power of two, not ${n}`);
    return { addr, size: n };
  });
  const sensors = list(args, "sensor").map((s) => {
    const [addr, c] = addrSpec(s, "--sensor");
    return { addr, celsius: c === undefined ? 25 : parseNumber(c, "--sensor temperature", 0, 125) };
  });
  if (i2c === undefined && (eeproms.length > 0 || sensors.length > 0))
    throw usageError(NAME, "--eeprom and --sensor need --i2c SOCKET");
  const lineNames = stringOption(args, "lines");
  if (gpio === undefined && lineNames !== undefined) throw usageError(NAME, "--lines needs --gpio SOCKET");
  const services = list(args, "service");
  const echoAddr = stringOption(args, "echo-addr");
  if (rpmsg === undefined && (services.length > 0 || echoAddr !== undefined))
    throw usageError(NAME, "--service and --echo-addr need --rpmsg SOCKET");

  const started: Started[] = [];
  const closeAll = async (): Promise<void> => {
    for (const s of started.splice(0).reverse()) await s.svc.close();
  };
  const common = (socket: string, what: string) => ({
    socketPath: resolvePath(io, socket),
    onError: (e: unknown) => {
      log(`${what.padEnd(7)}error: ${e instanceof Error ? e.message : String(e)}`);
    },
    ...(verbose
      ? {
          log: (l: string) => {
            log(`${what.padEnd(7)}${l}`);
          },
        }
      : {}),
  });
  const watch = (s: Started): void => {
    s.svc.backend.onEvent((e) => {
      if (e.type === "connected") log(`${s.what.padEnd(7)}frontend connected (pid ${e.pid})`);
      else if (e.type === "ready") log(`${s.what.padEnd(7)}driver ready`);
      else if (e.type === "reset") log(`${s.what.padEnd(7)}reset: ${e.reason}`);
      else if (e.type === "disconnected") log(`${s.what.padEnd(7)}frontend gone; waiting for the next one`);
      else if (e.type === "stopped" && e.error !== undefined) log(`${s.what.padEnd(7)}stopped: ${e.error.message}`);
    });
  };

  try {
    if (i2c !== undefined) {
      const bus = new I2cBusServer();
      for (const e of eeproms)
        new I2cEeprom({ size: e.size, pageSize: e.size <= 256 ? 8 : e.size <= 2048 ? 16 : 64 }).attachTo(bus, e.addr);
      for (const t of sensors) bus.attach(t.addr, new I2cTemperatureSensor(t.celsius).target);
      const svc = await serveVhostUserDevice(bus, common(i2c, "i2c"));
      const parts = [
        ...eeproms.map((e) => `EEPROM ${e.size} B at 0x${e.addr.toString(16)}`),
        ...sensors.map((t) => `sensor ${t.celsius} °C at 0x${t.addr.toString(16)}`),
      ];
      started.push({ svc, what: "i2c", socket: svc.backend.socketPath, id: 34 });
      log(`i2c    ${parts.length === 0 ? "an empty bus" : parts.join(", ")}`);
    }
    if (gpio !== undefined) {
      const names = (lineNames ?? "gpio0,gpio1,gpio2,gpio3,gpio4,gpio5,gpio6,gpio7").split(",");
      if (names.length < 1 || names.length > 256)
        throw usageError(NAME, "--lines takes 1 to 256 comma-separated names (empty for an unnamed line)");
      const bank = new GpioBank({ ngpio: names.length, names });
      bank.onOutput((line, level) => {
        log(
          `gpio   line ${line}${names[line] ? ` (${names[line]})` : ""} driven ${level ? "high" : "low"} by the driver`,
        );
      });
      const svc = await serveVhostUserDevice(new GpioServer(bank), common(gpio, "gpio"));
      started.push({ svc, what: "gpio", socket: svc.backend.socketPath, id: 41 });
      log(`gpio   ${names.length} lines: ${names.map((n) => n || "-").join(" ")}`);
    }
    if (hvc !== undefined) {
      let send: ((b: Uint8Array) => void) | undefined;
      const uart: UartDevice = {
        attach: (s) => {
          send = s;
        },
        receive: (b) => {
          log(`console linux wrote ${printable(b)}; echoed back`);
          send?.(b.slice());
        },
      };
      const svc = await serveVhostUserDevice(new ConsoleServer(uart), common(hvc, "console"));
      started.push({ svc, what: "console", socket: svc.backend.socketPath, id: 3 });
      log("console a loopback UART (what the driver writes comes back)");
    }
    if (rpmsg !== undefined) {
      const svc = await serveVhostUserRpmsg({
        ...common(rpmsg, "rpmsg"),
        scheduler: {
          setTimeout,
          clearTimeout: (h) => {
            clearTimeout(h as NodeJS.Timeout);
          },
        },
      });
      const remote = svc.remote;
      const names = services.length > 0 ? services : ["rpmsg-raw"];
      const fixed = echoAddr === undefined ? undefined : parseNumber(echoAddr, "--echo-addr", 1, 1023);
      let count = 0;
      const echo = (m: RpmsgMessage, ep: RpmsgEndpoint): void => {
        count++;
        ep.sendTo(m.src, m.data.slice()).catch((e: unknown) => {
          log(`rpmsg  echo to 0x${m.src.toString(16)} failed: ${e instanceof Error ? e.message : String(e)}`);
        });
      };
      const create = (): void => {
        for (const n of names) remote.createEndpoint({ name: n, onMessage: echo });
        if (fixed !== undefined && fixed !== 53) remote.createEndpoint({ addr: fixed, onMessage: echo });
      };
      create();
      remote.onLinkChange((up) => {
        log(
          `rpmsg  link ${up ? "up: announcing" : `down after ${count} messages echoed`}${up ? ` ${names.join(", ")}` : ""}`,
        );
        if (!up) create();
      });
      started.push({ svc, what: "rpmsg", socket: svc.backend.socketPath, id: 7 });
      log(
        `rpmsg  echo service${names.length > 1 ? "s" : ""} ${names.join(", ")}${fixed === undefined ? "" : `, and an unannounced echo endpoint at 0x${fixed.toString(16)} (for /dev/rpmsg_ctrl0)`}`,
      );
    }
  } catch (e) {
    await closeAll();
    if (e instanceof CliError) throw e;
    if (isAmpError(e) && e.code === "ERR_RELAY")
      throw new CliError(
        e.message.split("\n")[0] ?? e.message,
        "The backend compiles a small C relay once: install gcc (Debian: apt-get install gcc libc6-dev) or set AMP_VHOST_RELAY.",
        1,
        { cause: e },
      );
    if (isAmpError(e) && e.code === "ERR_SOCKET")
      throw new CliError(e.message, "Pick another socket path, or stop the process that listens there.", 1, {
        cause: e,
      });
    throw e;
  }

  for (const s of started) watch(s);
  log(`listen ${started.map((s) => `virtio_uml.device=${s.socket}:${s.id}`).join(" ")}`);
  log(durationS === undefined ? "serving; press Ctrl-C to stop" : `serving for ${durationS} s`);
  await new Promise<void>((resolve) => {
    if (io.signal?.aborted === true) {
      resolve();
      return;
    }
    const timer = durationS === undefined ? undefined : setTimeout(resolve, durationS * 1000);
    io.signal?.addEventListener(
      "abort",
      () => {
        if (timer !== undefined) clearTimeout(timer);
        resolve();
      },
      { once: true },
    );
  });
  await closeAll();
  log("stop   sockets removed");
  return 0;
}

/** `amp vhost-user` */
export const vhostUserCommand: Command = {
  name: NAME,
  summary: "serve simulated devices (rpmsg echo, I2C, GPIO, console) to a vhost-user frontend such as User-Mode Linux",
  usage:
    "vhost-user [--rpmsg SOCK] [--i2c SOCK [--eeprom ADDR[:SIZE]] [--sensor ADDR[:C]]] [--gpio SOCK [--lines NAMES]] [--console SOCK] [--json]",
  details: [
    "One UNIX socket per device; a frontend connects to each (for User-Mode Linux:",
    "virtio_uml.device=<socket>:<virtio id> on its command line). A frontend that goes away",
    "and comes back gets a fresh device in front of the same models. Ctrl-C removes the sockets.",
    "",
    "Examples:",
    "  amp vhost-user --rpmsg /tmp/rpmsg.sock --service rpmsg-raw --service rpmsg-tty",
    "  amp vhost-user --i2c /tmp/i2c.sock --eeprom 0x50 --sensor 0x48:23.5",
    "  amp vhost-user --gpio /tmp/gpio.sock --lines led0,button0,,irq --console /tmp/hvc.sock",
    "  linux mem=64M initrd=rootfs.cpio.gz virtio_uml.device=/tmp/i2c.sock:34 con0=fd:0,fd:1",
  ].join("\n"),
  options: {
    rpmsg: { type: "string", value: "SOCK", description: "An rpmsg remote (virtio id 7) on SOCK, with echo services." },
    service: {
      type: "string",
      value: "NAME",
      multiple: true,
      description: "Announce an echo service NAME (repeatable; default rpmsg-raw; rpmsg-tty gives /dev/ttyRPMSGn).",
    },
    "echo-addr": {
      type: "string",
      value: "ADDR",
      description: "Also an unannounced echo endpoint at ADDR (1..1023), for /dev/rpmsg_ctrl0 users.",
    },
    i2c: { type: "string", value: "SOCK", description: "A virtio-i2c bus (id 34) on SOCK." },
    eeprom: {
      type: "string",
      value: "ADDR[:SIZE]",
      multiple: true,
      description: "A 24Cxx EEPROM at ADDR, SIZE bytes (default 256; repeatable).",
    },
    sensor: {
      type: "string",
      value: "ADDR[:C]",
      multiple: true,
      description: "A TMP102-style temperature sensor at ADDR reading C °C (default 25; repeatable).",
    },
    gpio: { type: "string", value: "SOCK", description: "A virtio-gpio bank (id 41) on SOCK, with interrupts." },
    lines: {
      type: "string",
      value: "NAMES",
      description: "Comma-separated line names (default gpio0..gpio7; empty = unnamed).",
    },
    console: {
      type: "string",
      value: "SOCK",
      description: "A virtio-console (id 3) on SOCK: a loopback UART, what Linux writes is shown.",
    },
    duration: { type: "string", value: "S", description: "Stop after S seconds instead of waiting for Ctrl-C." },
    verbose: { type: "boolean", short: "v", description: "Log every connection step and unexpected message." },
    json: { type: "boolean", description: "JSON lines: {event, t, message} per line of the log." },
  },
  positionals: [0, 0],
  jsonLines: true,
  run: (args, io) => run(io, args),
};
