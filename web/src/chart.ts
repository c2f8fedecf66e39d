/*
 * Line charts of benchmark results: the library's own SVG chart (src/harness/plot.ts,
 * d3-scale and d3-shape), the same one `bench --plot` writes, put into the page as it
 * is. x is the sequence length N on a log₂ axis; one series per algorithm × dtype; a
 * case that failed is a gap.
 */
import type { BenchResult } from '../../src/harness/bench.js';
import { plotSeries, plotSvg, type PlotOptions } from '../../src/harness/plot.js';
import { el } from './dom.js';

/**
 * A figure holding the chart of `results` (`opts.metric` on the y axis, log₁₀ with
 * `opts.logY`), titled `title`. `data-series` names the series (tests).
 */
export function lineChart(title: string, results: readonly BenchResult[], opts: Required<Pick<PlotOptions, 'metric'>> & PlotOptions): HTMLElement {
  const fig = el('figure', { class: 'chart' }, el('figcaption', {}, title));
  fig.dataset.series = plotSeries(results, opts.metric)
    .map((s) => s.label)
    .join(',');
  // Our own markup (labels escaped in plotSvg), parsed as SVG rather than assigned as HTML.
  // The figcaption is the title, so the chart draws none of its own.
  const svg = new DOMParser().parseFromString(plotSvg(results, '', opts), 'image/svg+xml').documentElement;
  svg.setAttribute('width', '100%');
  svg.removeAttribute('height');
  fig.append(document.importNode(svg, true));
  return fig;
}
