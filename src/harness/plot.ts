/*
 * Bench results as an SVG line chart — TFLOP/s (or ms) by sequence length N (log₂
 * axis), one line per algorithm × dtype (× head dim, when several were run) — the one
 * chart of `bench --plot out.svg` and of the demo page's benchmark. d3-scale picks
 * the axes' ticks and d3-shape draws each series' path: pure functions with no DOM,
 * so Node writes the same SVG a page puts in its document. Rows without a value (a
 * failed case) are gaps.
 */
import { scaleLinear, scaleLog } from 'd3-scale';
import { line } from 'd3-shape';

/** What a chart reads of a bench row (the CLI's JSON rows and BenchResult both have it). */
export interface PlotRow {
  readonly algorithm: string;
  readonly seqQ: number;
  readonly headDim: number;
  readonly dtype?: string;
  readonly variant?: string;
  readonly pass?: string;
  readonly msMedian: number | null;
  readonly tflops: number | null;
}

/** The y axis: a metric, linear or log₁₀. */
export interface PlotOptions {
  readonly metric?: 'tflops' | 'msMedian';
  readonly logY?: boolean;
}

const COLOURS = ['#c0392b', '#2f6db5', '#27ae60', '#8e44ad', '#d35400', '#16a085', '#7f8c8d', '#2c3e50'];
const [WIDTH, HEIGHT] = [640, 380];
const MARGIN = { top: 36, right: 150, bottom: 48, left: 72 };

/** One line of the chart: its label and its (N, value) points in N order, null a gap. */
export interface PlotSeries {
  readonly label: string;
  readonly points: readonly (readonly [number, number | null])[];
}

/** The text, escaped for SVG (labels come from JSON files). */
function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** The rows grouped into series by algorithm (and variant, pass) × dtype, plus head dim when more than one. */
export function plotSeries(rows: readonly PlotRow[], metric: 'tflops' | 'msMedian'): PlotSeries[] {
  const several = new Set(rows.map((r) => r.headDim)).size > 1;
  const groups = new Map<string, Map<number, number | null>>();
  for (const r of rows) {
    const alg = `${r.algorithm}${r.variant ? `+${r.variant}` : ''}${r.pass === 'backward' ? ' (bwd)' : ''}`;
    const label = `${alg} ${r.dtype ?? 'f32'}${several ? ` D=${r.headDim}` : ''}`;
    const points = groups.get(label) ?? new Map<number, number | null>();
    groups.set(label, points);
    points.set(r.seqQ, r[metric] ?? null);
  }
  return [...groups].map(([label, points]) => ({ label, points: [...points].sort((a, b) => a[0] - b[0]) }));
}

/** The y axis: TFLOP/s when any row has it, else milliseconds. */
export function plotMetric(rows: readonly PlotRow[]): 'tflops' | 'msMedian' {
  return rows.some((r) => r.tflops) ? 'tflops' : 'msMedian';
}

/**
 * An SVG document (a string) of `rows`: one <path class="series"> per series,
 * axes labelled "sequence length N" and "TFLOP/s" (or "ms"), a legend, `title` on top.
 * The metric is TFLOP/s when any row has it, unless `opts.metric` says otherwise.
 */
export function plotSvg(rows: readonly PlotRow[], title: string, opts: PlotOptions = {}): string {
  const metric = opts.metric ?? plotMetric(rows);
  const series = plotSeries(rows, metric);
  const ns = rows.map((r) => r.seqQ);
  const ys = series.flatMap((s) => s.points.map((p) => p[1]).filter((y): y is number => y !== null && Number.isFinite(y)));
  const [x0, x1] = [Math.min(...ns), Math.max(...ns)];
  const x = scaleLog()
    .base(2)
    .domain(x0 === x1 ? [x0 / 2, x1 * 2] : [x0, x1])
    .range([MARGIN.left, WIDTH - MARGIN.right]);
  const positive = ys.filter((v) => v > 0);
  const y = (
    opts.logY && positive.length ? scaleLog().domain([Math.min(...positive), Math.max(...positive)]) : scaleLinear().domain([0, Math.max(...ys, 0) || 1])
  )
    .nice()
    .range([HEIGHT - MARGIN.bottom, MARGIN.top]);
  const draw = line<readonly [number, number | null]>()
    .defined((p) => p[1] !== null && Number.isFinite(p[1]) && (!opts.logY || p[1] > 0))
    .x((p) => x(p[0]))
    .y((p) => y(p[1] ?? 0));
  const fmt = y.tickFormat(6);
  const xTicks = [...new Set(ns)].sort((a, b) => a - b);
  const bottom = HEIGHT - MARGIN.bottom;
  const parts = [
    `<?xml version="1.0" encoding="UTF-8"?>`,
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="sans-serif" font-size="12">`,
    `<rect width="${WIDTH}" height="${HEIGHT}" fill="white"/>`,
    `<text x="${WIDTH / 2}" y="20" text-anchor="middle" font-size="14">${esc(title)}</text>`,
    `<g class="axis x" stroke="#888">`,
    `<line x1="${MARGIN.left}" x2="${WIDTH - MARGIN.right}" y1="${bottom}" y2="${bottom}"/>`,
    ...xTicks.map(
      (n) =>
        `<line x1="${x(n)}" x2="${x(n)}" y1="${bottom}" y2="${bottom + 5}"/><text x="${x(n)}" y="${bottom + 18}" text-anchor="middle" stroke="none" fill="#333">${n}</text>`,
    ),
    `</g>`,
    `<text x="${(MARGIN.left + WIDTH - MARGIN.right) / 2}" y="${HEIGHT - 10}" text-anchor="middle">sequence length N</text>`,
    `<g class="axis y" stroke="#888">`,
    `<line x1="${MARGIN.left}" x2="${MARGIN.left}" y1="${MARGIN.top}" y2="${bottom}"/>`,
    ...y
      .ticks(6)
      .map(
        (t) =>
          `<line x1="${MARGIN.left - 5}" x2="${WIDTH - MARGIN.right}" y1="${y(t)}" y2="${y(t)}" stroke="#eee"/><text x="${MARGIN.left - 8}" y="${y(t) + 4}" text-anchor="end" stroke="none" fill="#333">${fmt(t)}</text>`,
      ),
    `</g>`,
    `<text transform="translate(16 ${(MARGIN.top + bottom) / 2}) rotate(-90)" text-anchor="middle">${metric === 'tflops' ? 'TFLOP/s (higher is better)' : 'ms (lower is better)'}</text>`,
    ...series.map((s, i) => {
      const colour = COLOURS[i % COLOURS.length]!;
      const dots = s.points
        .filter((p) => p[1] !== null && (!opts.logY || p[1] > 0))
        .map((p) => `<circle cx="${x(p[0])}" cy="${y(p[1]!)}" r="3" fill="${colour}"/>`);
      const ly = MARGIN.top + 18 * i;
      return [
        `<g class="series-group" data-label="${esc(s.label)}">`,
        `<path class="series" d="${draw(s.points) ?? ''}" fill="none" stroke="${colour}" stroke-width="2"/>`,
        ...dots,
        `<line x1="${WIDTH - MARGIN.right + 12}" x2="${WIDTH - MARGIN.right + 32}" y1="${ly}" y2="${ly}" stroke="${colour}" stroke-width="2"/>`,
        `<text x="${WIDTH - MARGIN.right + 38}" y="${ly + 4}">${esc(s.label)}</text>`,
        `</g>`,
      ].join('');
    }),
    `</svg>`,
  ];
  return parts.join('\n') + '\n';
}
