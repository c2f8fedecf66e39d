/*
 * Line charts of benchmark results, drawn with uPlot (a small maintained chart
 * library; canvas, no network). x is the sequence length N on a log₂ axis;
 * one series per algorithm. A missing value (a case that failed) is a gap.
 */
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { el, fmt } from './dom.js';

const COLOURS = ['#c0392b', '#2f6db5', '#27ae60', '#8e44ad'];

export interface Series {
  readonly label: string;
  readonly values: readonly (number | null)[];
}

/**
 * A figure holding a uPlot chart of `series` against `xs` (sequence lengths),
 * `yLabel` on the y axis (log₁₀ when `logY`). Returns the figure; `data-series` names the series (tests).
 */
export function lineChart(title: string, xs: readonly number[], series: readonly Series[], yLabel: string, logY = false): HTMLElement {
  const fig = el('figure', { class: 'chart' }, el('figcaption', {}, title));
  fig.dataset.series = series.map((s) => s.label).join(',');
  const opts: uPlot.Options = {
    width: 520,
    height: 280,
    scales: { x: { time: false, distr: 3, log: 2 }, y: logY ? { distr: 3, log: 10 } : {} },
    // Three significant digits on y: SwiftShader's TFLOP/s are tiny, and uPlot's default would print them all as 0.
    axes: [{ label: 'sequence length N' }, { label: yLabel, size: 80, values: (_u, splits) => splits.map((v) => (v == null ? '' : fmt(v, 3))) }],
    series: [{ label: 'N' }, ...series.map((s, i) => ({ label: s.label, stroke: COLOURS[i % COLOURS.length], width: 2, points: { size: 7 } }))],
    legend: { show: true },
  };
  // uPlot wants plain arrays; null is a gap.
  const data = [Array.from(xs), ...series.map((s) => Array.from(s.values))] as uPlot.AlignedData;
  new uPlot(opts, data, fig);
  return fig;
}
