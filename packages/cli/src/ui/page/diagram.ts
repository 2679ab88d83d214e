// The remote's state machine as an SVG diagram (the current state lit, the last transition
// drawn bold, each edge counting how often it was taken) and a strip of its states over time.
import type { UiCrash, UiTransition } from "../protocol.js";

const SVG = "http://www.w3.org/2000/svg";

function el<K extends keyof SVGElementTagNameMap>(
  name: K,
  attrs: Record<string, string | number>,
  parent?: Element,
): SVGElementTagNameMap[K] {
  const e = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  parent?.appendChild(e);
  return e;
}

/** Where each state sits in the 560 × 210 diagram. */
const NODES: Readonly<Record<string, readonly [number, number]>> = {
  offline: [90, 150],
  running: [280, 45],
  crashed: [470, 150],
};
/** The transitions remoteproc-core makes between them, with what makes them. */
const EDGES: readonly { from: string; to: string; label: string; bend: number }[] = [
  { from: "offline", to: "running", label: "boot", bend: -40 },
  { from: "running", to: "offline", label: "shutdown", bend: -40 },
  { from: "running", to: "crashed", label: "crash", bend: -40 },
  { from: "crashed", to: "running", label: "recovery", bend: -40 },
  { from: "crashed", to: "offline", label: "stop", bend: 30 },
];
const W = 110;
const H = 40;

/** The diagram, built once into `svg`, then updated. */
export class StateDiagram {
  private readonly nodes = new Map<string, SVGGElement>();
  private readonly edges = new Map<string, { g: SVGGElement; count: SVGTSpanElement }>();

  constructor(svg: SVGSVGElement) {
    const defs = el("defs", {}, svg);
    const marker = el(
      "marker",
      {
        id: "arrow",
        viewBox: "0 0 10 10",
        refX: 9,
        refY: 5,
        markerWidth: 7,
        markerHeight: 7,
        orient: "auto-start-reverse",
      },
      defs,
    );
    el("path", { d: "M0 0 L10 5 L0 10 z" }, marker);
    const markerHot = el(
      "marker",
      {
        id: "arrow-hot",
        viewBox: "0 0 10 10",
        refX: 9,
        refY: 5,
        markerWidth: 7,
        markerHeight: 7,
        orient: "auto-start-reverse",
      },
      defs,
    );
    el("path", { d: "M0 0 L10 5 L0 10 z", fill: "#38bdf8", class: "hot" }, markerHot);
    for (const e of EDGES) {
      const a = NODES[e.from];
      const b = NODES[e.to];
      if (a === undefined || b === undefined) continue;
      const g = el("g", { class: "edge" }, svg);
      // A quadratic curve bent to one side, so the two directions between a pair do not overlap.
      const [mx, my] = [(a[0] + b[0]) / 2, (a[1] + b[1]) / 2];
      const [dx, dy] = [b[0] - a[0], b[1] - a[1]];
      const len = Math.hypot(dx, dy);
      const [nx, ny] = [-dy / len, dx / len];
      const cx = mx + nx * e.bend;
      const cy = my + ny * e.bend;
      // Start and end at the boxes' edges rather than their centres.
      const clip = (p: readonly [number, number], toward: readonly [number, number]): [number, number] => {
        const vx = toward[0] - p[0];
        const vy = toward[1] - p[1];
        const s = Math.min(W / 2 / Math.abs(vx || 1e-9), H / 2 / Math.abs(vy || 1e-9));
        return [p[0] + vx * s * 1.08, p[1] + vy * s * 1.08];
      };
      const s = clip(a, [cx, cy]);
      const t = clip(b, [cx, cy]);
      el("path", { d: `M${s[0]} ${s[1]} Q${cx} ${cy} ${t[0]} ${t[1]}`, "marker-end": "url(#arrow)" }, g);
      const label = el(
        "text",
        { x: 0.25 * s[0] + 0.5 * cx + 0.25 * t[0], y: 0.25 * s[1] + 0.5 * cy + 0.25 * t[1] + (e.bend < 0 ? -4 : 12) },
        g,
      );
      label.textContent = `${e.label} `;
      const count = el("tspan", { class: "count" }, label);
      this.edges.set(`${e.from}>${e.to}`, { g, count });
    }
    for (const [name, [x, y]] of Object.entries(NODES)) {
      const g = el("g", { class: "node", "data-state": name }, svg);
      el("rect", { x: x - W / 2, y: y - H / 2, width: W, height: H, rx: 10 }, g);
      el("text", { x, y }, g).textContent = name;
      this.nodes.set(name, g);
    }
  }

  /** Lights `state`, counts `transitions` per edge and marks the last one. */
  update(state: string, transitions: readonly UiTransition[]): void {
    for (const [name, g] of this.nodes) g.classList.toggle("current", name === state);
    const counts = new Map<string, number>();
    for (const t of transitions) counts.set(`${t.from}>${t.to}`, (counts.get(`${t.from}>${t.to}`) ?? 0) + 1);
    const last = transitions[transitions.length - 1];
    for (const [key, { g, count }] of this.edges) {
      const n = counts.get(key) ?? 0;
      count.textContent = n === 0 ? "" : `×${n}`;
      const hot = last !== undefined && key === `${last.from}>${last.to}`;
      g.classList.toggle("recent", hot);
      g.querySelector("path")?.setAttribute("marker-end", hot ? "url(#arrow-hot)" : "url(#arrow)");
    }
  }
}

const STATE_COLORS: Readonly<Record<string, string>> = {
  running: "#34d399",
  crashed: "#f87171",
  offline: "#334155",
  attached: "#34d399",
  detached: "#64748b",
};

/** The states over time as coloured bands, crashes as red ticks; returns the [t0, t1] drawn. */
export function drawStrip(
  svg: SVGSVGElement,
  transitions: readonly UiTransition[],
  crashes: readonly UiCrash[],
  coredumps: readonly { t: number }[],
  now: number,
): [number, number] {
  svg.replaceChildren();
  const t1 = Math.max(now, 1);
  const t0 = Math.max(0, t1 - 300);
  const x = (t: number): number => ((Math.max(t0, Math.min(t1, t)) - t0) / (t1 - t0)) * 1000;
  let state = "offline";
  let from = 0;
  const band = (a: number, b: number, s: string): void => {
    if (b <= t0) return;
    el(
      "rect",
      { x: x(a), y: 14, width: Math.max(0.5, x(b) - x(a)), height: 28, fill: STATE_COLORS[s] ?? "#64748b" },
      svg,
    ).appendChild(document.createElementNS(SVG, "title")).textContent = s;
  };
  for (const tr of transitions) {
    band(from, tr.t, state);
    state = tr.to;
    from = tr.t;
  }
  band(from, t1, state);
  for (const c of crashes) {
    if (c.t < t0) continue;
    el("rect", { x: x(c.t) - 1.5, y: 2, width: 3, height: 52, fill: "#f87171" }, svg);
  }
  for (const d of coredumps) {
    if (d.t < t0) continue;
    el("circle", { cx: x(d.t), cy: 8, r: 4, fill: "#fbbf24" }, svg);
  }
  return [t0, t1];
}
