/** One line of a chart: y values per x (NaN leaves a gap), drawn in `color`. */
export type ChartSeries = { name: string; values: number[]; color: string; dashed?: boolean; area?: boolean };

/** What lineChart draws: x values shared by all series, axis labels and a y formatter. */
export type LineChartParameters = {
  title: string;
  x: number[];
  xLabel: string;
  yLabel: string;
  series: ChartSeries[];
  /** Formats a y tick; `step` is the tick spacing, for choosing the precision. */
  formatY?: (y: number, step: number) => string;
  /** Draw y = 0 emphasised (a break-even line) and always include it in the range. */
  zeroLine?: boolean;
  /** Start the y axis at 0 (probabilities), so that tiny wiggles do not look like swings. */
  includeZero?: boolean;
  width?: number;
  height?: number;
};

const esc = (s: string): string => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

/** Round tick steps (1, 2, 5 x 10^k) giving about `target` ticks over [min, max]. */
export function niceTicks(min: number, max: number, target = 5): number[] {
  if (!(max > min)) return [min];
  const raw = (max - min) / target;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = ([1, 2, 2.5, 5, 10].find((m) => m * mag >= raw) ?? 10) * mag;
  const ticks: number[] = [];
  for (let v = Math.ceil(min / step) * step; v <= max + step * 1e-9; v += step) ticks.push(Math.abs(v) < step * 1e-9 ? 0 : v);
  return ticks;
}

/** Formats a ratio as a percentage with just enough decimals to tell ticks `step` apart. */
export function percentTick(v: number, step: number): string {
  let digits = 0;
  const scaled = Math.abs(step * 100);
  const exact = (x: number) => Math.round(x) !== 0 && Math.abs(Math.round(x) - x) <= 1e-6 * x;
  while (digits < 6 && !exact(scaled * 10 ** digits)) digits++;
  return `${(v * 100).toFixed(digits)}%`;
}

/** Compact number: 1.2k, 3.4M, 5.6B; small values with 3 significant digits. */
export function compact(v: number): string {
  const a = Math.abs(v);
  if (a >= 1e9) return `${+(v / 1e9).toPrecision(3)}B`;
  if (a >= 1e6) return `${+(v / 1e6).toPrecision(3)}M`;
  if (a >= 1e3) return `${+(v / 1e3).toPrecision(3)}k`;
  if (a === 0) return "0";
  return `${+v.toPrecision(3)}`;
}

/** Averages consecutive points into at most `max` buckets (NaN-aware) so a 3,650-epoch series stays a light SVG. */
function downsample(x: number[], ys: number[][], max: number): { x: number[]; ys: number[][] } {
  if (x.length <= max) return { x, ys };
  const size = Math.ceil(x.length / max);
  const outX: number[] = [];
  const outYs: number[][] = ys.map(() => []);
  for (let i = 0; i < x.length; i += size) {
    const end = Math.min(i + size, x.length);
    outX.push(x[Math.floor((i + end - 1) / 2)] ?? 0);
    ys.forEach((y, k) => {
      let sum = 0;
      let n = 0;
      for (let j = i; j < end; j++) {
        const v = y[j] ?? NaN;
        if (Number.isFinite(v)) {
          sum += v;
          n++;
        }
      }
      outYs[k]?.push(n === 0 ? NaN : sum / n);
    });
  }
  return { x: outX, ys: outYs };
}

/** Renders a self-contained SVG line chart (axes, ticks, labels, legend); no script, no external resource. */
export function lineChart(p: LineChartParameters): string {
  const width = p.width ?? 1000;
  const height = p.height ?? 300;
  const m = { left: 90, right: 20, top: 58, bottom: 46 };
  const fmt = p.formatY ?? compact;
  const { x, ys } = downsample(p.x, p.series.map((s) => s.values), 600);
  let lo = Infinity;
  let hi = -Infinity;
  for (const y of ys) for (const v of y) if (Number.isFinite(v)) [lo, hi] = [Math.min(lo, v), Math.max(hi, v)];
  if (!Number.isFinite(lo)) [lo, hi] = [0, 1];
  if (p.zeroLine || p.includeZero || (lo > 0 && lo < hi * 0.6)) lo = Math.min(lo, 0);
  if (p.zeroLine) hi = Math.max(hi, 0);
  if (hi === lo) hi = lo + (Math.abs(lo) || 1);
  const pad = (hi - lo) * 0.05;
  if (lo < 0 || !p.zeroLine) hi += pad;
  if (lo < 0) lo -= pad;
  const x0 = x[0] ?? 0;
  const x1 = x.at(-1) ?? 1;
  const sx = (v: number) => m.left + ((v - x0) / (x1 - x0 || 1)) * (width - m.left - m.right);
  const sy = (v: number) => m.top + (1 - (v - lo) / (hi - lo)) * (height - m.top - m.bottom);
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} ${height}" width="100%" role="img" aria-label="${esc(p.title)}" font-family="system-ui, sans-serif" font-size="12">`);
  out.push(`<text x="${m.left}" y="20" font-size="15" font-weight="600" fill="#1f2937">${esc(p.title)}</text>`);
  const yTicks = niceTicks(lo, hi);
  const yStep = (yTicks[1] ?? hi) - (yTicks[0] ?? lo);
  for (const t of yTicks) {
    const y = sy(t).toFixed(1);
    out.push(`<line x1="${m.left}" x2="${width - m.right}" y1="${y}" y2="${y}" stroke="#e5e7eb"/>`);
    out.push(`<text x="${m.left - 8}" y="${y}" text-anchor="end" dominant-baseline="middle" fill="#4b5563">${esc(fmt(t, yStep))}</text>`);
  }
  for (const t of niceTicks(x0, x1, 10)) {
    const xx = sx(t).toFixed(1);
    out.push(`<line x1="${xx}" x2="${xx}" y1="${height - m.bottom}" y2="${height - m.bottom + 5}" stroke="#6b7280"/>`);
    out.push(`<text x="${xx}" y="${height - m.bottom + 18}" text-anchor="middle" fill="#4b5563">${esc(compact(t))}</text>`);
  }
  out.push(`<line x1="${m.left}" x2="${width - m.right}" y1="${height - m.bottom}" y2="${height - m.bottom}" stroke="#6b7280"/>`);
  out.push(`<line x1="${m.left}" x2="${m.left}" y1="${m.top}" y2="${height - m.bottom}" stroke="#6b7280"/>`);
  if (p.zeroLine && lo < 0 && hi > 0) {
    out.push(`<line x1="${m.left}" x2="${width - m.right}" y1="${sy(0).toFixed(1)}" y2="${sy(0).toFixed(1)}" stroke="#111827" stroke-width="1.5"/>`);
    out.push(`<text x="${width - m.right - 4}" y="${(sy(0) - 6).toFixed(1)}" text-anchor="end" fill="#111827">break-even</text>`);
  }
  out.push(`<text x="${(m.left + width - m.right) / 2}" y="${height - 8}" text-anchor="middle" fill="#374151">${esc(p.xLabel)}</text>`);
  out.push(`<text transform="translate(16 ${(m.top + height - m.bottom) / 2}) rotate(-90)" text-anchor="middle" fill="#374151">${esc(p.yLabel)}</text>`);
  p.series.forEach((s, k) => {
    const y = ys[k] ?? [];
    const segments: string[][] = [[]];
    y.forEach((v, i) => {
      if (Number.isFinite(v)) segments.at(-1)?.push(`${sx(x[i] ?? 0).toFixed(1)},${sy(v).toFixed(1)}`);
      else if ((segments.at(-1)?.length ?? 0) > 0) segments.push([]);
    });
    for (const seg of segments) {
      if (seg.length === 0) continue;
      if (s.area) {
        const base = sy(Math.max(lo, 0)).toFixed(1);
        const firstX = seg[0]?.split(",")[0];
        const lastX = seg.at(-1)?.split(",")[0];
        out.push(`<polygon points="${firstX},${base} ${seg.join(" ")} ${lastX},${base}" fill="${s.color}" fill-opacity="0.15" stroke="none"/>`);
      }
      out.push(`<polyline points="${seg.join(" ")}" fill="none" stroke="${s.color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="6 4"' : ""}/>`);
    }
  });
  let lx = m.left;
  for (const s of p.series) {
    out.push(`<line x1="${lx}" x2="${lx + 18}" y1="38" y2="38" stroke="${s.color}" stroke-width="3"${s.dashed ? ' stroke-dasharray="5 3"' : ""}/>`);
    out.push(`<text x="${lx + 23}" y="38" dominant-baseline="middle" fill="#1f2937">${esc(s.name)}</text>`);
    lx += 40 + s.name.length * 6.6;
  }
  out.push("</svg>");
  return out.join("\n");
}
