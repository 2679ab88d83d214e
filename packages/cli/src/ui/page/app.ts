// The live view's page: connects to /events, keeps the state with the server's own reducer and
// draws it. Rendering is batched into animation frames, and redone every second so the charts'
// time axis moves even when nothing happens.
import type { UiMessage, UiSnapshot } from "../protocol.js";
import { applyMessage, emptySnapshot } from "../reduce.js";
import { compact, drawLineChart } from "./charts.js";
import { drawStrip, StateDiagram } from "./diagram.js";
import { Playground } from "./playground.js";

function $(id: string): HTMLElement {
  const e = document.getElementById(id);
  if (e === null) throw new Error(`page element #${id} is missing`);
  return e;
}

/** An element with text and children. */
function h(tag: string, attrs: Record<string, string> = {}, ...children: (Node | string)[]): HTMLElement {
  const e = document.createElement(tag);
  // Styles through the CSSOM: the page's Content-Security-Policy refuses style attributes.
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "style") e.style.cssText = v;
    else e.setAttribute(k, v);
  }
  e.append(...children);
  return e;
}

function secs(t: number): string {
  return `${t.toFixed(1)}s`;
}

function bytes(n: number): string {
  if (n >= 1 << 20) return `${(n / (1 << 20)).toFixed(n % (1 << 20) === 0 ? 0 : 1)} MiB`;
  if (n >= 1 << 10) return `${(n / (1 << 10)).toFixed(n % (1 << 10) === 0 ? 0 : 1)} KiB`;
  return `${n} B`;
}

let state: UiSnapshot = emptySnapshot({ mode: "", name: "", firmware: "", startedAt: Date.now(), canCrash: false });
/** Server time (s) at the last message, and when it arrived here: "now" between messages. */
let clock = { server: 0, local: performance.now() };
const now = (): number => clock.server + (performance.now() - clock.local) / 1000;
let diagram: StateDiagram | undefined;

function renderHeader(): void {
  $("mode").textContent = state.mode;
  $("remote-name").textContent = state.name;
  $("firmware").textContent = state.firmware;
  const pill = $("state");
  pill.textContent = state.state;
  pill.dataset["state"] = state.state;
  $("crash-count").textContent = String(state.crashCount);
  const last = state.samples[state.samples.length - 1];
  $("rx-rate").textContent = compact(last?.rxRate ?? 0);
  $("tx-rate").textContent = compact(last?.txRate ?? 0);
  const rtt = [...state.samples].reverse().find((s) => s.rtt !== null)?.rtt;
  $("rtt-now").textContent = rtt === undefined || rtt === null ? "–" : `${rtt.median} µs`;
  $("crash").hidden = !state.canCrash;
  ($("crash") as HTMLButtonElement).disabled = state.state !== "running";
}

function renderState(): void {
  diagram?.update(state.state, state.transitions);
  $("transitions").replaceChildren(
    ...state.transitions
      .slice(-14)
      .reverse()
      .map((t) => h("li", {}, h("span", { class: "dim" }, `${secs(t.t)} `), `${t.from} → `, h("b", {}, t.to))),
  );
  const [t0, t1] = drawStrip(
    $("timeline-strip") as unknown as SVGSVGElement,
    state.transitions,
    state.crashes,
    state.coredumps,
    now(),
  );
  $("strip-axis").replaceChildren(
    h("span", {}, secs(t0)),
    h("span", {}, "red: crash · amber: coredump"),
    h("span", {}, secs(t1)),
  );
}

function renderCharts(): void {
  const markers = state.crashes.map((c) => [c.t, "#f87171"] as const);
  const t = now();
  drawLineChart(
    $("rates-chart") as HTMLCanvasElement,
    [
      { label: "rx/s", color: "#38bdf8", points: state.samples.map((s) => [s.t, s.rxRate]), fill: true },
      { label: "tx/s", color: "#a78bfa", points: state.samples.map((s) => [s.t, s.txRate]) },
    ],
    { now: t, markers },
  );
  const rttPoints = (f: (r: NonNullable<UiSnapshot["samples"][number]["rtt"]>) => number): [number, number][] =>
    state.samples.map((s) => [s.t, s.rtt === null ? NaN : f(s.rtt)]);
  drawLineChart(
    $("rtt-chart") as HTMLCanvasElement,
    [
      { label: "median", color: "#34d399", points: rttPoints((r) => r.median), fill: true },
      { label: "p90", color: "#fbbf24", points: rttPoints((r) => r.p90), scale: false },
      { label: "max", color: "#f87171", points: rttPoints((r) => r.max), scale: false },
    ],
    { now: t, markers, headroom: 3 },
  );
  const runs = $("echo-runs");
  runs.hidden = state.echo.length === 0;
  runs
    .querySelector("tbody")
    ?.replaceChildren(
      ...state.echo.map((r) =>
        h(
          "tr",
          {},
          h("td", {}, r.phase),
          h("td", {}, String(r.messages)),
          h("td", {}, `${r.rttUs.median} µs`),
          h("td", {}, `${r.rttUs.p90} µs`),
          h("td", {}, `${r.rttUs.p99} µs`),
          h("td", {}, `${r.rttUs.max} µs`),
        ),
      ),
    );
}

function renderVrings(): void {
  const last = state.samples[state.samples.length - 1];
  const vrings = last?.vrings ?? [];
  if (vrings.length === 0) {
    $("vrings").replaceChildren(h("p", { class: "empty" }, "no vrings while the remote is not running"));
    return;
  }
  $("vrings").replaceChildren(
    ...vrings.map((v) => {
      const bar = h(
        "div",
        { class: "bar" },
        h("span", { style: `width:${(100 * Math.min(v.outstanding, v.num)) / v.num}%` }),
      );
      const what =
        v.direction === "remote-to-host"
          ? "empty buffers the host posted for the remote"
          : "host messages the remote has not taken yet";
      return h(
        "div",
        { class: "vring" },
        h(
          "div",
          { class: "head" },
          h(
            "span",
            {},
            h("b", { class: "mono" }, v.name),
            ` ${v.direction === "remote-to-host" ? "remote → host" : "host → remote"}`,
          ),
          h("span", { class: "mono dim" }, `avail ${v.availIdx} · used ${v.usedIdx}`),
        ),
        bar,
        h("div", { class: "small dim" }, `${v.outstanding} of ${v.num}: ${what}`),
      );
    }),
  );
}

function renderChannels(): void {
  const rows = state.channels.map((c) => {
    const ep = state.endpoints.find((e) => e.service === c.name);
    return h(
      "tr",
      { "data-channel": c.name },
      h("td", { class: "mono" }, c.name),
      h("td", { class: "mono" }, c.addr),
      h("td", { class: "mono" }, ep?.local ?? "–"),
      h("td", {}, h("span", { class: `tag ${c.state === "announced" ? "ok" : "bad"}` }, c.state)),
      h("td", { class: "dim" }, secs(c.t)),
    );
  });
  $("channels").replaceChildren(
    ...(rows.length === 0
      ? [h("tr", {}, h("td", { colspan: "5", class: "empty" }, "no channel announced yet"))]
      : rows),
  );
}

function renderMemory(): void {
  const regions = state.memory.filter((m) => m.kind === "region");
  const items = state.memory.filter((m) => m.kind !== "region");
  if (state.memory.length === 0) {
    $("memory").replaceChildren(h("p", { class: "empty" }, "known once the remote runs"));
    return;
  }
  const rows: HTMLElement[] = [];
  const row = (name: string, kind: string, da: number, size: number, lo: number, hi: number): HTMLElement => {
    const left = ((da - lo) / (hi - lo)) * 100;
    const width = Math.max(0.3, (size / (hi - lo)) * 100);
    return h(
      "div",
      { class: "memrow" },
      h("span", { class: "mono", title: kind }, name),
      h(
        "div",
        { class: "track" },
        h("span", { class: `k-${kind}`, style: `left:${left}%;width:${Math.min(width, 100 - left)}%` }),
      ),
      h("span", { class: "mono dim" }, `0x${da.toString(16)} · ${bytes(size)}`),
    );
  };
  for (const r of regions) {
    const lo = parseInt(r.da, 16);
    const hi = lo + r.size;
    rows.push(row(r.name, "region", lo, r.size, lo, hi));
    for (const m of items) {
      const da = parseInt(m.da, 16);
      if (da >= lo && da < hi) rows.push(row(`  ${m.name}`, m.kind, da, m.size, lo, hi));
    }
  }
  for (const m of items) {
    const da = parseInt(m.da, 16);
    if (!regions.some((r) => da >= parseInt(r.da, 16) && da < parseInt(r.da, 16) + r.size))
      rows.push(row(m.name, m.kind, da, m.size, da, da + m.size));
  }
  const legend = h(
    "div",
    { class: "legend" },
    ...["region", "carveout", "vring", "buffer", "trace", "table"].map((k) =>
      h("span", {}, h("i", { class: `k-${k}` }), k),
    ),
  );
  $("memory").replaceChildren(...rows, legend);
}

function renderTable(): void {
  const t = state.table;
  $("table-at").textContent = t?.da === null || t === null ? "" : `at ${t.da}`;
  const json = t?.json as { ver?: number; entries?: Record<string, unknown>[] } | undefined;
  if (json?.entries === undefined) {
    $("rsc-table").replaceChildren(h("p", { class: "empty" }, "known once the remote runs"));
    return;
  }
  const field = (e: Record<string, unknown>, k: string): string =>
    typeof e[k] === "string" || typeof e[k] === "number" ? String(e[k]) : "";
  $("rsc-table").replaceChildren(
    h("div", { class: "small dim" }, `version ${json.ver ?? "?"}, ${json.entries.length} entries`),
    ...json.entries.map((e) => {
      const kind = field(e, "kind");
      let text: string;
      if (kind === "vdev") {
        const vr = (e["vrings"] as { da: string; num: number; align: string }[] | undefined) ?? [];
        text = `virtio id ${field(e, "id")} · features 0x${field(e, "dfeatures").replace(/^0x/, "")} · status ${field(e, "status")} · ${vr.map((v, i) => `vring${i} ${v.num}@${v.da}`).join(", ")}`;
      } else if (kind === "carveout" || kind === "devmem" || kind === "trace") {
        text = `"${field(e, "name")}" da ${field(e, "da")} len ${field(e, "len")}`;
      } else text = `type ${field(e, "type")}`;
      return h(
        "div",
        { class: "rsc-entry" },
        h("b", {}, kind),
        h("span", { class: "mono" }, text),
        h("span", { class: "dim" }, ` @${field(e, "offset")}`),
      );
    }),
  );
}

function renderCrashes(): void {
  const rows = state.crashes
    .slice(-10)
    .reverse()
    .map((c) =>
      h(
        "tr",
        { class: "crash-row" },
        h("td", { class: "dim" }, secs(c.t)),
        h("td", {}, h("b", {}, c.type), h("div", { class: "small dim" }, c.detail)),
        h(
          "td",
          {},
          c.recoveredAt === null
            ? h("span", { class: "tag bad" }, "not yet")
            : h("span", { class: "tag ok" }, `after ${Math.round((c.recoveredAt - c.t) * 1000)} ms`),
        ),
      ),
    );
  $("crashes").replaceChildren(
    ...(rows.length === 0 ? [h("tr", {}, h("td", { colspan: "3", class: "empty" }, "no crash so far"))] : rows),
  );
  $("coredumps").replaceChildren(
    ...state.coredumps
      .slice()
      .reverse()
      .map((d) =>
        h(
          "li",
          {},
          h("a", { href: d.url, download: d.name, class: "mono coredump-link" }, d.name),
          h("span", { class: "dim small" }, ` ${bytes(d.size)} ELF core, ${secs(d.t)}`),
        ),
      ),
  );
}

/** Rebuilds a log list only when it changed, keeping the scroll at the bottom if it was there. */
function renderLog(id: string, key: string, items: HTMLElement[]): void {
  const list = $(id);
  if (list.dataset["key"] === key) return;
  list.dataset["key"] = key;
  const atBottom = list.scrollTop + list.clientHeight >= list.scrollHeight - 8;
  list.replaceChildren(...items);
  if (atBottom) list.scrollTop = list.scrollHeight;
}

function renderLogs(): void {
  const lastTrace = state.trace[state.trace.length - 1];
  renderLog(
    "trace",
    `${state.trace.length}:${lastTrace?.t ?? 0}`,
    state.trace.map((l) =>
      h(
        "li",
        { class: `trace-line${l.level === undefined ? "" : ` lv-${l.level}`}` },
        h("span", { class: "t", title: "host time when the host read the buffer" }, secs(l.t)),
        ...(l.remoteUs === undefined
          ? []
          : [
              h(
                "span",
                { class: "t rt", title: `record ${l.seq ?? "?"}, remote clock` },
                `r ${(l.remoteUs / 1e6).toFixed(6)}s`,
              ),
            ]),
        ...(l.level === undefined ? [] : [h("span", { class: "lv" }, l.level)]),
        l.line,
      ),
    ),
  );
  const lastEvent = state.timeline[state.timeline.length - 1];
  renderLog(
    "events",
    `${state.timeline.length}:${lastEvent?.t ?? 0}`,
    state.timeline.map((e) =>
      h("li", { class: e.event }, h("span", { class: "t" }, secs(e.t)), h("span", { class: "tg" }, e.tag), e.text),
    ),
  );
}

let dirty = false;
function render(): void {
  dirty = false;
  renderHeader();
  if ($("live").hidden) return;
  renderState();
  renderCharts();
  renderVrings();
  renderChannels();
  renderMemory();
  renderTable();
  renderCrashes();
  renderLogs();
}
function invalidate(): void {
  if (dirty) return;
  dirty = true;
  requestAnimationFrame(render);
}

function connect(): void {
  const es = new EventSource("/events");
  es.onopen = () => {
    $("conn").dataset["ok"] = "true";
    $("conn").title = "event stream connected";
  };
  es.onerror = () => {
    $("conn").dataset["ok"] = "false";
    $("conn").title = "event stream lost: reconnecting";
  };
  es.onmessage = (e: MessageEvent<string>) => {
    const msg = JSON.parse(e.data) as UiMessage;
    if (msg.kind === "bye") {
      es.close();
      $("conn").dataset["ok"] = "false";
      $("conn").title = "the amp session ended";
      $("mode").textContent = `${state.mode} (ended)`;
      return;
    }
    state = applyMessage(state, msg);
    const t =
      msg.kind === "snapshot"
        ? (msg.snapshot.samples[msg.snapshot.samples.length - 1]?.t ?? 0)
        : msg.kind === "sample"
          ? msg.sample.t
          : msg.kind === "event"
            ? msg.event.t
            : undefined;
    if (typeof t === "number") clock = { server: Math.max(clock.server, t), local: performance.now() };
    invalidate();
  };
}

async function injectCrash(): Promise<void> {
  const button = $("crash") as HTMLButtonElement;
  button.disabled = true;
  try {
    const r = await fetch("/api/crash", { method: "POST", headers: { "X-Amp-Ui": "1" } });
    if (!r.ok) {
      const body = (await r.json()) as { error?: string };
      $("events").append(h("li", { class: "error" }, `crash not injected: ${body.error ?? r.statusText}`));
    }
  } catch (e) {
    $("events").append(
      h("li", { class: "error" }, `crash not injected: ${e instanceof Error ? e.message : String(e)}`),
    );
  }
}

function start(): void {
  const playground = location.pathname === "/playground";
  $("live").hidden = playground;
  $("playground").hidden = !playground;
  $(playground ? "tab-playground" : "tab-live").setAttribute("aria-current", "page");
  diagram = new StateDiagram($("state-diagram") as unknown as SVGSVGElement);
  $("crash").addEventListener("click", () => {
    void injectCrash();
  });
  new Playground();
  connect();
  window.setInterval(invalidate, 1000);
  window.addEventListener("resize", invalidate);
}

start();
