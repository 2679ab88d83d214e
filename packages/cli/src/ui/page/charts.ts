// Small charts of our own on <canvas>: a time-series line chart with a grid, axis labels and a
// legend holding each series' latest value. No chart library: the page loads nothing else.

/** One line: points are [t seconds, value]; a NaN value breaks the line (no data then). */
export interface Series {
  readonly label: string;
  readonly color: string;
  readonly points: readonly (readonly [number, number])[];
  /** Fill under the line. */
  readonly fill?: boolean;
  /**
   * False: the series does not stretch the y axis (drawn clipped). For an outlier-prone line
   * such as a maximum, so one scheduling hiccup does not flatten the median into the floor.
   */
  readonly scale?: boolean;
}

/** Options of {@link drawLineChart}. */
export interface ChartOptions {
  /** The right edge (seconds). */
  readonly now: number;
  /** Seconds shown (default 120). */
  readonly window?: number;
  /** Value formatting for the axis and legend. */
  readonly format?: (v: number) => string;
  /** The y axis reaches this many times the largest scaling value (room for the series that do not scale). Default 1. */
  readonly headroom?: number;
  /** Vertical markers (crashes): [t, color]. */
  readonly markers?: readonly (readonly [number, string])[];
}

/** A rounded step for `max / 4` (1, 2, 5 × 10^n), so grid lines fall on round numbers. */
function niceStep(max: number): number {
  const raw = max / 4;
  const p = Math.pow(10, Math.floor(Math.log10(raw)));
  const m = raw / p;
  return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * p;
}

/** A compact number: 1234 -> "1.2k". */
export function compact(v: number): string {
  if (!Number.isFinite(v)) return "–";
  const a = Math.abs(v);
  if (a >= 1e6) return `${(v / 1e6).toFixed(1)}M`;
  if (a >= 1e4) return `${Math.round(v / 1e3)}k`;
  if (a >= 1e3) return `${(v / 1e3).toFixed(1)}k`;
  return a >= 10 || v === Math.round(v) ? String(Math.round(v)) : v.toFixed(1);
}

/** Sizes the canvas backing store to its CSS size × devicePixelRatio; returns the context and CSS size. */
function prepare(canvas: HTMLCanvasElement): { ctx: CanvasRenderingContext2D; w: number; h: number } | undefined {
  const dpr = window.devicePixelRatio || 1;
  const w = canvas.clientWidth;
  const h = Number(canvas.getAttribute("height") ?? "160");
  canvas.style.height = `${h}px`;
  if (canvas.width !== Math.round(w * dpr) || canvas.height !== Math.round(h * dpr)) {
    canvas.width = Math.round(w * dpr);
    canvas.height = Math.round(h * dpr);
  }
  const ctx = canvas.getContext("2d");
  if (ctx === null || w === 0) return undefined;
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, w, h);
  return { ctx, w, h };
}

/** Draws `series` over the last `window` seconds. */
export function drawLineChart(canvas: HTMLCanvasElement, series: readonly Series[], options: ChartOptions): void {
  const p = prepare(canvas);
  if (p === undefined) return;
  const { ctx, w, h } = p;
  const fmt = options.format ?? compact;
  const span = options.window ?? 120;
  const t1 = options.now;
  const t0 = t1 - span;
  const left = 46;
  const right = 8;
  const top = 22;
  const bottom = 18;
  const pw = w - left - right;
  const ph = h - top - bottom;
  let max = 0;
  for (const s of series)
    if (s.scale !== false) for (const [t, v] of s.points) if (t >= t0 && Number.isFinite(v)) max = Math.max(max, v);
  max *= options.headroom ?? 1;
  if (max <= 0) max = 1;
  const step = niceStep(max);
  const ymax = Math.ceil(max / step) * step;
  const x = (t: number): number => left + ((t - t0) / span) * pw;
  const y = (v: number): number => top + ph - (v / ymax) * ph;

  ctx.font = "11px system-ui, sans-serif";
  ctx.lineWidth = 1;
  ctx.strokeStyle = "#24304d";
  ctx.fillStyle = "#8b97b3";
  ctx.textAlign = "right";
  ctx.textBaseline = "middle";
  for (let v = 0; v <= ymax + step / 2; v += step) {
    const yy = Math.round(y(v)) + 0.5;
    ctx.beginPath();
    ctx.moveTo(left, yy);
    ctx.lineTo(w - right, yy);
    ctx.stroke();
    ctx.fillText(fmt(v), left - 6, yy);
  }
  ctx.textAlign = "center";
  ctx.textBaseline = "top";
  for (let k = 0; k <= 4; k++) {
    const t = t0 + (k * span) / 4;
    ctx.fillText(k === 4 ? "now" : `−${Math.round(t1 - t)}s`, x(t), top + ph + 4);
  }
  for (const [t, color] of options.markers ?? []) {
    if (t < t0) continue;
    ctx.strokeStyle = color;
    ctx.setLineDash([3, 3]);
    ctx.beginPath();
    ctx.moveTo(Math.round(x(t)) + 0.5, top);
    ctx.lineTo(Math.round(x(t)) + 0.5, top + ph);
    ctx.stroke();
    ctx.setLineDash([]);
  }
  ctx.save();
  ctx.beginPath();
  ctx.rect(left, top - 1, pw, ph + 2);
  ctx.clip();
  for (const s of series) {
    const pts = s.points.filter(([t]) => t >= t0 - span / 20);
    ctx.strokeStyle = s.color;
    ctx.lineWidth = 2;
    ctx.lineJoin = "round";
    let run: (readonly [number, number])[] = [];
    const flush = (): void => {
      if (run.length === 0) return;
      const first = run[0];
      const last = run[run.length - 1];
      if (first === undefined || last === undefined) return;
      ctx.beginPath();
      ctx.moveTo(x(first[0]), y(first[1]));
      for (const [t, v] of run) ctx.lineTo(x(t), y(v));
      ctx.stroke();
      if (s.fill === true) {
        ctx.lineTo(x(last[0]), y(0));
        ctx.lineTo(x(first[0]), y(0));
        ctx.closePath();
        ctx.globalAlpha = 0.12;
        ctx.fillStyle = s.color;
        ctx.fill();
        ctx.globalAlpha = 1;
      }
      run = [];
    };
    for (const pt of pts) {
      if (Number.isFinite(pt[1])) run.push(pt);
      else flush();
    }
    flush();
  }
  ctx.restore();
  // Legend: label and latest value of each series, top right.
  ctx.textBaseline = "middle";
  ctx.textAlign = "left";
  let lx = left;
  for (const s of series) {
    const last = [...s.points].reverse().find(([, v]) => Number.isFinite(v));
    const text = `${s.label} ${last === undefined ? "–" : fmt(last[1])}`;
    ctx.fillStyle = s.color;
    ctx.fillRect(lx, 7, 10, 3);
    ctx.fillStyle = "#e5e9f2";
    ctx.fillText(text, lx + 14, 9);
    lx += ctx.measureText(text).width + 32;
  }
}
