/*
 * The benchmark view: the library's bench (src/harness/bench.ts, what the CLI's
 * `bench` runs) on the visitor's adapter — naive vs flash over several N, each
 * case checked against the float64 reference before it is timed — as a table,
 * two charts (time and TFLOP/s by N) and a JSON download in the CLI's
 * `--json` shape. Element types f32, f16 or both: every row, table line and
 * chart series is labelled with its dtype. Without WebGPU it says so and runs
 * on the CPU backend.
 */
import { attention, describeBackend, webgpuMissing } from './backend.js';
import { lineChart } from './chart.js';
import { bytes, el, field, fmt, headDimSelect, table } from './dom.js';
import { benchOne, timingCaveat, type Attention, type BenchResult, type BenchShape } from './lib.js';

type DType = BenchResult['dtype'];

const ALGORITHMS = ['naive', 'flash'] as const;
/** The dtype choices: the value of the <select> → the element types run, in order. */
const DTYPE_CHOICES: Readonly<Record<string, readonly DType[]>> = { f32: ['f32'], f16: ['f16'], both: ['f32', 'f16'] };

interface Settings {
  readonly seqs: number[];
  readonly heads: number;
  readonly headDim: number;
  readonly causal: boolean;
  readonly samples: number;
  readonly dtypes: readonly DType[];
}

/** The sequence lengths of "128, 256,512": positive integers, or an error message. */
function parseSeqs(text: string): number[] | string {
  const parts = text.split(',').map((s) => s.trim());
  const seqs = parts.map(Number);
  const bad = parts.find((s, i) => !Number.isInteger(seqs[i]) || seqs[i]! < 1);
  return bad === undefined && parts.length > 0 ? seqs : `sequence lengths must be positive integers separated by commas, got '${bad ?? ''}'`;
}

/** The results table: one row per case. */
function resultsTable(results: readonly BenchResult[]): HTMLElement {
  return table(
    ['algorithm', 'dtype', 'N', 'ms (median)', 'TFLOP/s', 'bytes moved (IO model)', 'max |Δ| vs f64', 'timing'],
    results.map((r) => [
      r.algorithm,
      r.dtype,
      String(r.seqQ),
      r.msMedian === null ? `failed: ${r.error ?? ''}` : fmt(r.msMedian, 4),
      r.tflops === null ? '—' : fmt(r.tflops, 3),
      bytes(r.modelBytes),
      r.maxAbsErr === null ? '—' : r.maxAbsErr.toExponential(2),
      r.timing ?? '',
    ]),
    { id: 'bench-table' },
  );
}

/** The charts of time and TFLOP/s by N, one series per algorithm × dtype ("flash f16"). */
function charts(results: readonly BenchResult[]): HTMLElement {
  return el(
    'div',
    { class: 'charts', id: 'bench-charts' },
    lineChart('time per forward (ms, lower is better)', results, { metric: 'msMedian', logY: true }),
    lineChart('throughput (TFLOP/s, higher is better)', results, { metric: 'tflops' }),
  );
}

/** A download link for the results in the CLI's `bench --json` shape. */
function jsonLink(attn: Attention, results: readonly BenchResult[]): HTMLAnchorElement {
  const json = JSON.stringify({ adapter: attn.adapter, results }, null, 2) + '\n';
  const href = URL.createObjectURL(new Blob([json], { type: 'application/json' }));
  return el('a', { href, download: 'bench.json', id: 'bench-json' }, 'Download the results as JSON');
}

/** Runs every case in order, reporting progress to `status`. */
async function runAll(attn: Attention, s: Settings, status: HTMLElement): Promise<BenchResult[]> {
  const results: BenchResult[] = [];
  const total = s.seqs.length * ALGORITHMS.length * s.dtypes.length;
  for (const n of s.seqs) {
    const shape: BenchShape = { batch: 1, heads: s.heads, kvHeads: s.heads, seqQ: n, seqK: n, headDim: s.headDim, causal: s.causal };
    for (const dtype of s.dtypes) {
      for (const alg of ALGORITHMS) {
        status.textContent = `running ${alg} ${dtype} at N = ${n} (${results.length + 1} of ${total})…`;
        results.push(await benchOne(attn, shape, alg, { samples: s.samples, dtype }));
      }
    }
  }
  return results;
}

/** Fills the benchmark section. */
export function mountBenchmark(root: HTMLElement): void {
  const seqs = field('sequence lengths N', { type: 'text', id: 'bench-seqs', value: '128,256,512,1024', size: '22' });
  const heads = field('heads', { type: 'number', id: 'bench-heads', min: '1', max: '64', value: '4' });
  const d = headDimSelect('bench-d');
  const causal = field('causal', { type: 'checkbox', id: 'bench-causal' });
  const dtype = el(
    'select',
    { id: 'bench-dtype' },
    ...Object.keys(DTYPE_CHOICES).map((k) => el('option', k === 'f32' ? { value: k, selected: '' } : { value: k }, k === 'both' ? 'f32 and f16' : k)),
  );
  const samples = field('samples', { type: 'number', id: 'bench-samples', min: '1', max: '50', value: '3' });
  const button = el('button', { id: 'bench-run', type: 'button' }, 'Run benchmark');
  const notice = el('p', { id: 'bench-notice', class: 'notice', hidden: '' });
  const status = el('p', { id: 'bench-status', class: 'muted' }, 'Not run yet.');
  const out = el('div', { id: 'bench-results' });
  root.replaceChildren(
    el('h2', {}, 'Benchmark: naive vs flash on this device'),
    el(
      'p',
      {},
      'Each case is checked against the float64 reference first, then timed (median of samples). Naive attention writes the N×N score matrix to device memory; flash never does.',
    ),
    notice,
    el('div', { class: 'controls' }, seqs.wrap, heads.wrap, d.wrap, el('label', {}, 'dtype ', dtype), causal.wrap, samples.wrap, button),
    status,
    out,
  );
  const showBackend = (attn: Attention) => {
    const missing = webgpuMissing(attn);
    const caveat = timingCaveat(attn.adapter);
    const text = [missing, caveat].filter(Boolean).join(' ');
    notice.hidden = !text;
    notice.textContent = text;
    return attn;
  };
  void attention().then(showBackend);
  button.addEventListener('click', async () => {
    const parsed = parseSeqs(seqs.input.value);
    if (typeof parsed === 'string') {
      status.textContent = parsed;
      return;
    }
    const settings = {
      seqs: parsed,
      heads: Number(heads.input.value) || 1,
      headDim: Number(d.input.value),
      causal: causal.input.checked,
      samples: Number(samples.input.value) || 3,
      dtypes: DTYPE_CHOICES[dtype.value] ?? ['f32'],
    };
    button.disabled = true;
    root.dataset.state = 'running';
    out.replaceChildren();
    try {
      const attn = showBackend(await attention());
      const t0 = performance.now();
      const results = await runAll(attn, settings, status);
      status.textContent = `Done: ${results.length} cases in ${fmt((performance.now() - t0) / 1000, 3)} s on ${describeBackend(attn).replace('backend: ', '')}.`;
      out.replaceChildren(charts(results), resultsTable(results), el('p', {}, jsonLink(attn, results)));
      root.dataset.state = 'done';
    } catch (err) {
      status.textContent = `The benchmark failed: ${err instanceof Error ? err.message : String(err)}`;
      root.dataset.state = 'failed';
    } finally {
      button.disabled = false;
    }
  });
}
