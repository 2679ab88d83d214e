// `amp ui` in a real browser (Debian's chromium, driven by playwright-core): the page loads with
// no console error, shows the demo firmware's channel and its trace, follows a crash injected
// with the page's button to the recovery, downloads the crash's coredump (an ELF file), and the
// playground's Web Worker remote echoes. Screenshots go to test-results/ui/*.png.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { requireTools, which } from "@amp/test-utils";
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AMP_BIN } from "../helpers.ts";

const SHOTS = fileURLToPath(new URL("../../test-results/ui/", import.meta.url));
/** Hang guard for each wait in the page (never a timing assertion). */
const WAIT = 30_000;
const missing = requireTools("chromium");
/** Debian's chromium (scripts/install-system-deps.sh installs it as /usr/bin/chromium). */
const CHROMIUM = which("chromium") ?? "/usr/bin/chromium";

// What the functions below use of the page's globals: they run in the browser (playwright
// serialises them), and this file is type-checked for Node, without the DOM library.
declare const document: {
  getElementById(id: string): { textContent: string } | null;
  querySelectorAll(selector: string): Iterable<{ textContent: string }>;
};
declare const window: { crossOriginIsolated: boolean };

/** Starts `amp <argv>` in its own process group and resolves with the live view's URL it prints. */
function startAmpUi(argv: string[]): Promise<{ child: ChildProcess; url: string; output: () => string }> {
  const child = spawn(process.execPath, [AMP_BIN, ...argv], {
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, AMP_DEBUG: "" },
  });
  // Hard limit: whatever happens to the test, the process group does not outlive it.
  const limit = setTimeout(() => {
    try {
      process.kill(-child.pid!, "SIGKILL");
    } catch {
      /* gone */
    }
  }, 240_000);
  limit.unref();
  child.once("exit", () => {
    clearTimeout(limit);
  });
  let out = "";
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(new Error(`amp ${argv[0] ?? ""} printed no URL within ${WAIT} ms:\n${out}`));
    }, WAIT);
    const onData = (d: Buffer): void => {
      out += d.toString();
      const m = /live view at (http:\/\/127\.0\.0\.1:\d+\/)/.exec(out);
      if (m?.[1] !== undefined) {
        clearTimeout(timer);
        resolve({ child, url: m[1], output: () => out });
      }
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    child.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`amp ui exited with ${code}:\n${out}`));
    });
  });
}

/** SIGINT (a clean shutdown), then SIGKILL of the whole group if it is still there after 10 s. */
async function stopGroup(child: ChildProcess | undefined): Promise<void> {
  if (child?.pid === undefined || child.exitCode !== null) return;
  const exited = new Promise<void>((resolve) =>
    child.once("exit", () => {
      resolve();
    }),
  );
  try {
    process.kill(-child.pid, "SIGINT");
  } catch {
    return;
  }
  const timer = setTimeout(() => {
    try {
      process.kill(-child.pid!, "SIGKILL");
    } catch {
      /* gone */
    }
  }, 10_000);
  await exited;
  clearTimeout(timer);
}

/** Console errors and uncaught page errors of `page`. */
function watchErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on("console", (m) => {
    if (m.type() === "error") errors.push(`console: ${m.text()}`);
  });
  page.on("pageerror", (e) => {
    errors.push(`pageerror: ${e.message}`);
  });
  page.on("requestfailed", (r) => {
    if (!r.url().endsWith("/events")) errors.push(`request failed: ${r.url()} ${r.failure()?.errorText ?? ""}`);
  });
  return errors;
}

describe.skipIf(missing !== undefined)("amp ui in chromium", () => {
  let amp: { child: ChildProcess; url: string; output: () => string } | undefined;
  let browser: Browser | undefined;
  let context: BrowserContext | undefined;
  let demo: { child: ChildProcess; url: string; output: () => string } | undefined;
  const cores = mkdtempSync(join(tmpdir(), "amp-ui-test-"));

  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    amp = await startAmpUi(["ui", "--rate", "100", "--coredump-dir", cores]);
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ["--no-sandbox"],
      timeout: WAIT,
    });
    context = await browser.newContext({ acceptDownloads: true, viewport: { width: 1440, height: 1400 } });
  });

  afterAll(async () => {
    await stopGroup(demo?.child);
    const guard = <T>(p: Promise<T> | undefined): Promise<unknown> =>
      Promise.race([p ?? Promise.resolve(), new Promise((r) => setTimeout(r, 10_000))]).catch(() => undefined);
    await guard(context?.close());
    await guard(browser?.close());
    await stopGroup(amp?.child);
    rmSync(cores, { recursive: true, force: true });
  });

  it("shows the channels and the trace, follows a crash to the recovery, downloads the coredump", async () => {
    const page = await context!.newPage();
    const errors = watchErrors(page);
    await page.goto(amp!.url, { timeout: WAIT });
    await page.locator('#channels tr[data-channel="rpmsg-amp-echo"]').waitFor({ timeout: WAIT });
    await page.locator("#trace li.trace-line", { hasText: "echo: firmware started" }).waitFor({ timeout: WAIT });
    await page.waitForFunction(() => document.getElementById("state")?.textContent === "running", undefined, {
      timeout: WAIT,
    });
    // The echo load shows up in the samples: messages both ways and measured round trips.
    await page.waitForFunction(
      () => document.getElementById("rtt-now")?.textContent.endsWith("µs") === true,
      undefined,
      { timeout: WAIT },
    );
    await expect.poll(() => page.locator(".vring").count(), { timeout: WAIT }).toBe(2);
    await page.locator("#rsc-table .rsc-entry", { hasText: "vdev" }).waitFor({ timeout: WAIT });
    await page.locator("#memory .memrow", { hasText: "vdev0vring0" }).waitFor({ timeout: WAIT });
    expect(await page.locator("#channels tr").allTextContents()).toEqual(
      expect.arrayContaining([
        expect.stringContaining("rpmsg-amp-echo"),
        expect.stringContaining("amp-i2c"),
        expect.stringContaining("amp-gpio"),
      ]),
    );
    await page.screenshot({ path: join(SHOTS, "live-running.png"), fullPage: true });

    await page.locator("#crash").click({ timeout: WAIT });
    await page.locator("#crashes tr.crash-row").first().waitFor({ timeout: WAIT });
    await page.locator("#crashes tr.crash-row .tag.ok", { hasText: "after" }).waitFor({ timeout: WAIT });
    await page.waitForFunction(
      () =>
        document.getElementById("state")?.textContent === "running" &&
        document.getElementById("crash-count")?.textContent === "1",
      undefined,
      { timeout: WAIT },
    );
    expect(await page.locator("#transitions li").allTextContents()).toEqual(
      expect.arrayContaining([
        expect.stringContaining("running → crashed"),
        expect.stringContaining("crashed → running"),
      ]),
    );
    await page.locator("#trace li.trace-line", { hasText: "crash requested" }).waitFor({ timeout: WAIT });
    const link = page.locator("a.coredump-link").first();
    await link.waitFor({ timeout: WAIT });
    // The recovered remote announces its channel again and the load resumes.
    await page.waitForFunction(
      () =>
        [...document.querySelectorAll("#events li")].filter((li) =>
          li.textContent.includes('talks to "rpmsg-amp-echo"'),
        ).length >= 2,
      undefined,
      { timeout: WAIT },
    );
    await page.screenshot({ path: join(SHOTS, "live-recovered.png"), fullPage: true });

    const [download] = await Promise.all([page.waitForEvent("download", { timeout: WAIT }), link.click()]);
    expect(download.suggestedFilename()).toBe("crash-1.core");
    const core = readFileSync(await download.path());
    expect(core.length).toBeGreaterThan(64);
    expect([...core.subarray(0, 4)]).toEqual([0x7f, 0x45, 0x4c, 0x46]); // \x7fELF
    expect(core[16]).toBe(4); // e_type ET_CORE
    expect(errors).toEqual([]);
    await page.close();
  });

  it("runs the playground: an rpmsg remote in a Web Worker that echoes", async () => {
    const page = await context!.newPage();
    const errors = watchErrors(page);
    await page.goto(`${amp!.url}playground`, { timeout: WAIT });
    expect(await page.evaluate(() => window.crossOriginIsolated)).toBe(true);
    await page.locator("#pg-start").click({ timeout: WAIT });
    await page.waitForFunction(
      () => document.getElementById("pg-channel")?.textContent.startsWith("rpmsg-amp-echo") === true,
      undefined,
      { timeout: WAIT },
    );
    await page.waitForFunction(() => Number(document.getElementById("pg-echoes")?.textContent) >= 50, undefined, {
      timeout: WAIT,
    });
    await page.locator("#pg-crash").click({ timeout: WAIT });
    await page.locator("#pg-log li", { hasText: "remote crashed: injected fault" }).waitFor({ timeout: WAIT });
    // Recovery: a fresh worker boots and echoes again.
    await page.waitForFunction(
      () =>
        document.getElementById("pg-boots")?.textContent === "2" &&
        document.getElementById("pg-state")?.textContent === "running",
      undefined,
      { timeout: WAIT },
    );
    const before = Number(await page.locator("#pg-echoes").textContent());
    await page.waitForFunction((n) => Number(document.getElementById("pg-echoes")?.textContent) >= n, before + 20, {
      timeout: WAIT,
    });
    await page.screenshot({ path: join(SHOTS, "playground.png"), fullPage: true });
    expect(errors).toEqual([]);
    await page.close();
  });

  it("follows `amp demo --ui` through the demo, and keeps the page until Ctrl-C", async () => {
    demo = await startAmpUi(["demo", "--ui", "--messages", "200", "--coredump", join(cores, "demo.core")]);
    const page = await context!.newPage();
    const errors = watchErrors(page);
    await page.goto(demo.url, { timeout: WAIT });
    await page.locator('#channels tr[data-channel="rpmsg-amp-echo"]').waitFor({ timeout: WAIT });
    // Both measured echo runs (boot and after recovery) with their statistics, the crash recovered, its coredump.
    await expect.poll(() => page.locator("#echo-runs tbody tr").count(), { timeout: 120_000 }).toBe(2);
    await page.locator("#crashes tr.crash-row .tag.ok", { hasText: "after" }).waitFor({ timeout: WAIT });
    await page.locator("a.coredump-link", { hasText: "demo.core" }).waitFor({ timeout: WAIT });
    await page
      .locator("#trace li.trace-line", { hasText: "gpio: line 0 (led0) driven" })
      .first()
      .waitFor({ timeout: WAIT });
    await expect.poll(() => demo!.output().includes("until Ctrl-C"), { timeout: WAIT }).toBe(true);
    expect(await page.locator("#crash").isHidden()).toBe(true); // the demo decides when it crashes
    await page.screenshot({ path: join(SHOTS, "demo-ui.png"), fullPage: true });
    expect(errors).toEqual([]);
    await page.close();
    const child = demo.child;
    const exited = new Promise<number | null>((resolve) =>
      child.once("exit", (code) => {
        resolve(code);
      }),
    );
    process.kill(-child.pid!, "SIGINT");
    expect(await exited).toBe(0);
    expect(demo.output()).toMatch(/done: booted, echoed \d+ messages/);
  });
});
