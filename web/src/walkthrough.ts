/*
 * The walkthrough view: the lectures' story in three parts.
 *  1. The worked example Q=[1], K=[1,2,3], V=[2,4,8], one key at a time, with the
 *     running max m, denominator l and output — ending at (2e¹+4e²+8e³)/(e¹+e²+e³),
 *     which the library's own forward reproduces.
 *  2. For adjustable N, d and tile size: the tiles each workgroup loads and the
 *     device-memory bytes naive and flash attention move, by the IO model the CLI's
 *     `explain` prints (src/harness/io-model.ts).
 *  3. Causal, sliding-window and document masks as tile maps (the library's BlockMask).
 */
import { bytes, el, field, fmt, headDimSelect, table } from './dom.js';
import { benchProblem, blockMaskOnCpu, causal, createAttention, documentMask, ioSteps, slidingWindow, type IoStep, type Modifier } from './lib.js';
import { naiveSoftmaxOutput, onlineSoftmax } from './online-softmax.js';
import { blockMaskMap, tileMap } from './tilemap.js';

const Q = 1;
const K = [1, 2, 3];
const V = [2, 4, 8];
/** Tile maps are classified on the CPU element by element: beyond this N they are left out. */
const MAX_MAP_N = 4096;

/** Part 1: the step table and the two final values. */
function workedExample(): HTMLElement {
  const steps = onlineSoftmax(Q, K, V);
  const rows = steps.map((s) => [
    `${s.j + 1}`,
    `k=${K[s.j]}, v=${V[s.j]}`,
    fmt(s.s),
    fmt(s.m),
    s.j === 0 ? '—' : fmt(s.rescale),
    fmt(s.l),
    fmt(s.acc),
    fmt(s.out, 12),
  ]);
  const online = steps[steps.length - 1]!.out;
  const e = Math.E;
  const exact = (2 * e + 4 * e ** 2 + 8 * e ** 3) / (e + e ** 2 + e ** 3);
  const library = el('output', { id: 'wt-library' }, 'computing…');
  libraryValue().then(
    (x) => (library.textContent = fmt(x, 8)),
    (err) => (library.textContent = `failed: ${String(err)}`),
  );
  return el(
    'div',
    {},
    el('h2', {}, '1. The softmax, one key at a time'),
    el(
      'p',
      {},
      'One query q = 1, keys K = [1, 2, 3], values V = [2, 4, 8], scale 1. Naive attention needs the whole row of scores ',
      'before it can normalise. The online softmax keeps three numbers per row instead — the running max m, the running ',
      'denominator l and the unnormalised output acc — and rescales them by e^(m_old − m_new) whenever a bigger score arrives.',
    ),
    table(['step', 'key', 'score s', 'max m', 'rescale', 'denominator l', 'acc', 'output acc/l'], rows, { id: 'wt-steps' }),
    el(
      'dl',
      { class: 'result' },
      el('dt', {}, 'online softmax, after the last key'),
      el('dd', {}, el('output', { id: 'wt-online' }, fmt(online, 15))),
      el('dt', {}, '(2e¹ + 4e² + 8e³) / (e¹ + e² + e³)'),
      el('dd', {}, el('output', { id: 'wt-exact' }, fmt(exact, 15))),
      el('dt', {}, 'naive softmax (whole row at once)'),
      el('dd', {}, fmt(naiveSoftmaxOutput(Q, K, V), 15)),
      el('dt', {}, 'the library’s forward (CPU backend, float32, d padded to 32 with zeros)'),
      el('dd', {}, library),
    ),
  );
}

/** The worked example through createAttention().forward: q, k, v padded to head dim 32 with zeros. */
async function libraryValue(): Promise<number> {
  const attn = await createAttention({ backend: 'cpu' });
  const D = 32;
  const pad = (xs: number[]) => Float32Array.from({ length: xs.length * D }, (_, i) => (i % D === 0 ? xs[i / D]! : 0));
  const q = attn.tensor(pad([Q]), [1, 1, 1, D]);
  const k = attn.tensor(pad(K), [1, 1, K.length, D]);
  const v = attn.tensor(pad(V), [1, 1, V.length, D]);
  const { out } = await attn.forward(q, k, v, { scale: 1 });
  const o = await out.read();
  attn.destroy();
  return o[0]!;
}

/** The IO model's steps of both algorithms as table rows, plus the two totals. */
function ioRows(steps: { alg: string; steps: IoStep[] }[]): { rows: string[][]; totals: number[] } {
  const rows: string[][] = [];
  const totals = steps.map(({ alg, steps: s }) => {
    for (const x of s) rows.push([alg, x.step, bytes(x.readBytes), bytes(x.writeBytes)]);
    const total = s.reduce((a, x) => a + x.readBytes + x.writeBytes, 0);
    rows.push([alg, 'total moved', '', bytes(total)]);
    return total;
  });
  return { rows, totals };
}

/** Part 2's numbers and maps for one setting. */
function ioModel(n: number, d: number, tile: number, isCausal: boolean, window: number): HTMLElement {
  const problem = benchProblem({ batch: 1, heads: 1, kvHeads: 1, seqQ: n, seqK: n, headDim: d, causal: isCausal });
  const layout = { br: tile };
  const { rows, totals } = ioRows([
    { alg: 'naive', steps: ioSteps(problem, 'naive', isCausal) },
    { alg: 'flash', steps: ioSteps(problem, 'flash', isCausal, layout) },
  ]);
  const nT = Math.ceil(n / tile);
  const visits = isCausal ? (nT * (nT + 1)) / 2 : nT * nT;
  const out = el(
    'div',
    { id: 'wt-io' },
    el(
      'p',
      {},
      `N = ${n}, d = ${d}, one head, f32. Flash runs ${nT} workgroups (one per ${tile}-row Q tile); each loads its Q tile once and `,
      `streams ${isCausal ? 'the K/V tiles up to the diagonal' : `all ${nT} K/V tiles`} through workgroup memory: ${visits} K/V tile loads in all, `,
      `each ${bytes(2 * tile * d * 4)} (K and V). Naive writes the ${n}×${n} score matrix (${bytes(n * n * 4)}) to device memory and reads it back.`,
    ),
    table(['algorithm', 'step', 'reads', 'writes / total'], rows, { id: 'wt-io-table' }),
    el('p', { class: 'ratio' }, 'naive moves ', el('output', { id: 'wt-ratio' }, `${fmt(totals[0]! / totals[1]!, 3)}×`), ' the bytes of flash'),
  );
  if (n > MAX_MAP_N) {
    out.append(el('p', { class: 'muted' }, `Tile maps are drawn for N ≤ ${MAX_MAP_N}.`));
    return out;
  }
  const shape = { batch: 1, heads: 1, seqQ: n, seqK: n };
  const loads = isCausal ? blockMaskOnCpu(causal(), shape, tile, tile).states.map((s) => (s ? 2 : 0)) : new Uint32Array(nT * nT).fill(2);
  const docs = Int32Array.from({ length: n }, (_, i) => (i < 0.3 * n ? 0 : i < 0.55 * n ? 1 : 2));
  const masks: [string, Modifier][] = [
    ['causal()', causal()],
    [`slidingWindow(${window})`, slidingWindow(window)],
    ['documentMask (3 documents)', documentMask(docs)],
  ];
  out.append(
    el('h3', {}, 'Which K/V tiles each workgroup loads'),
    tileMap(`row i = workgroup i (Q tile i), column j = K/V tile j`, loads, nT, nT, ['skipped', '', 'loaded']),
    el('h3', {}, 'Masks as tile maps (BlockMask)'),
    el('p', {}, 'Empty tiles are never visited; full tiles are visited without evaluating the mask; only partial tiles pay for it.'),
    el('div', { class: 'maps', id: 'wt-maps' }, ...masks.map(([label, m]) => blockMaskMap(label, blockMaskOnCpu(m, shape, tile, tile)))),
  );
  return out;
}

/** Part 2 and 3: the controls and the part they redraw. */
function ioSection(): HTMLElement {
  const n = field('N', { type: 'number', id: 'wt-n', min: '16', max: '65536', step: '16', value: '1024' });
  const d = headDimSelect('wt-d');
  const tile = field('tile', { type: 'number', id: 'wt-tile', min: '8', max: '256', step: '8', value: '64' });
  const w = field('window', { type: 'number', id: 'wt-window', min: '1', value: '256' });
  const c = field('causal', { type: 'checkbox', id: 'wt-causal' });
  const target = el('div', {});
  const redraw = () => {
    const num = (i: HTMLInputElement, lo: number, hi: number) => Math.min(hi, Math.max(lo, Math.round(Number(i.value) || lo)));
    try {
      target.replaceChildren(ioModel(num(n.input, 16, 65536), Number(d.input.value), num(tile.input, 8, 256), c.input.checked, num(w.input, 1, 65536)));
    } catch (err) {
      target.replaceChildren(el('p', { class: 'error' }, String(err instanceof Error ? err.message : err)));
    }
  };
  for (const f of [n, d, tile, w, c]) f.input.addEventListener('change', redraw);
  redraw();
  return el('div', {}, el('h2', {}, '2. Tiles and the bytes they save'), el('div', { class: 'controls' }, n.wrap, d.wrap, tile.wrap, w.wrap, c.wrap), target);
}

/** Fills the walkthrough section. */
export function mountWalkthrough(root: HTMLElement): void {
  root.replaceChildren(workedExample(), ioSection());
}
