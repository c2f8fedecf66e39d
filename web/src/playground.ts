/*
 * The playground view: a mask and a score modifier typed as text, parsed into
 * the library's modifier language (parse-modifier.ts: jsep, the library's
 * builders, never eval or WGSL), the mask's picture and its block mask at the
 * backend's own tile size, then a forward on random inputs compared with the
 * float64 reference under the project's tolerance (2× a plain float32 naive
 * computation's error, plus 1e-6). Bad text gets a message and a caret at the
 * character position.
 */
import { attention } from './backend.js';
import { el, field, fmt, headDimSelect } from './dom.js';
import { maskFn, randomData, referenceForward, rng, scoreFn, type Attention, type HostTensor, type Modifier } from './lib.js';
import { caret, maskFromText, ModifierTextError, scoreFromText } from './parse-modifier.js';
import { blockMaskMap } from './tilemap.js';

/** The mask picture's side (first queries × first keys). */
const PICTURE = 32;

interface Run {
  readonly n: number;
  readonly heads: number;
  readonly d: number;
  readonly mask?: Modifier;
  readonly score?: Modifier;
}

/** Both modifiers from their texts (an empty text is none); a ModifierTextError names which field failed. */
function modifiers(maskText: string, scoreText: string): { mask?: Modifier; score?: Modifier } {
  const one = (text: string, which: string, make: (t: string) => Modifier) => {
    if (text.trim() === '') return undefined;
    try {
      return make(text);
    } catch (e) {
      if (e instanceof ModifierTextError) throw Object.assign(e, { field: which, text });
      throw e;
    }
  };
  return { mask: one(maskText, 'mask', maskFromText), score: one(scoreText, 'score', scoreFromText) };
}

/** The message block of a failed parse, with a caret under the position when there is one. */
function errorBlock(e: ModifierTextError & { field?: string; text?: string }): HTMLElement {
  const where = e.index === undefined ? '' : ` at character ${e.index + 1}`;
  return el(
    'div',
    { class: 'error', id: 'pg-error' },
    el('p', {}, `${e.field ?? 'modifier'}${where}: ${e.message}`),
    e.index === undefined || e.text === undefined ? null : el('pre', {}, caret(e.text, e.index)),
  );
}

/** ASCII picture of the first PICTURE × PICTURE (query, key) pairs of head 0. */
function picture(mask: Modifier, n: number): HTMLElement {
  const keep = maskFn(mask);
  const side = Math.min(PICTURE, n);
  const rows = Array.from({ length: side }, (_, q) => Array.from({ length: side }, (_, kv) => (keep(0, 0, q, kv) ? '█' : '·')).join(''));
  return el('figure', { class: 'picture' }, el('figcaption', {}, `first ${side} queries × ${side} keys (█ kept)`), el('pre', {}, rows.join('\n')));
}

/** Forward on the page's backend against the float64 and plain-float32 references; returns the report. */
async function compare(attn: Attention, r: Run): Promise<HTMLElement> {
  const rand = rng(7);
  const dims = [1, r.heads, r.n, r.d];
  const host = (): HostTensor => ({ data: randomData(r.heads * r.n * r.d, rand), shape: { batch: 1, heads: r.heads, seq: r.n, headDim: r.d }, layout: 'bhnd' });
  const [hq, hk, hv] = [host(), host(), host()];
  const [q, k, v] = [hq, hk, hv].map((h) => attn.tensor(h.data as Float32Array, dims));
  const t0 = performance.now();
  const { out } = await attn.forward(q!, k!, v!, { mask: r.mask, score: r.score });
  const o = await out.read();
  const ms = performance.now() - t0;
  [q, k, v, out].forEach((t) => t!.destroy());
  const fns = { mask: r.mask && maskFn(r.mask), score: r.score && scoreFn(r.score) };
  const ref = referenceForward(hq, hk, hv, fns).out;
  const f32 = referenceForward(hq, hk, hv, { ...fns, precision: 'f32' }).out;
  let ours = 0;
  let plain = 0;
  for (let i = 0; i < ref.length; i++) {
    ours = Math.max(ours, Math.abs(o[i]! - ref[i]!) || (Number.isNaN(o[i]!) ? Infinity : 0));
    plain = Math.max(plain, Math.abs(f32[i]! - ref[i]!));
  }
  const tolerance = 2 * plain + 1e-6;
  const ok = ours <= tolerance;
  const p = el(
    'p',
    { id: 'pg-result', class: ok ? 'pass' : 'fail' },
    `${ok ? 'Matches' : 'Does NOT match'} the float64 reference: max |ours − f64| = ${ours.toExponential(2)}, `,
    `plain float32 naive: ${plain.toExponential(2)}, tolerance ${tolerance.toExponential(2)}. `,
    `Forward on ${attn.backend === 'webgpu' ? 'WebGPU' : 'the CPU'} in ${fmt(ms, 3)} ms (first call includes compiling the kernel).`,
  );
  p.dataset.ok = String(ok);
  p.dataset.maxAbsErr = String(ours);
  return p;
}

/** Fills the playground section. */
export function mountPlayground(root: HTMLElement): void {
  const maskText = field('mask(b, h, q, kv)', { type: 'text', id: 'pg-mask', value: 'q - kv < 40 && kv <= q', size: '44', spellcheck: 'false' });
  const scoreText = field('score(score, b, h, q, kv)', { type: 'text', id: 'pg-score', value: 'score - abs(q - kv) / 64', size: '44', spellcheck: 'false' });
  const n = field('N', { type: 'number', id: 'pg-n', min: '1', max: '2048', value: '256' });
  const heads = field('heads', { type: 'number', id: 'pg-heads', min: '1', max: '16', value: '2' });
  const d = headDimSelect('pg-d');
  const button = el('button', { id: 'pg-run', type: 'button' }, 'Parse and run');
  const out = el('div', { id: 'pg-out' });
  root.replaceChildren(
    el('h2', {}, 'Playground: your own variant'),
    el(
      'p',
      {},
      'Write a mask (true keeps the key) and a score modifier as expressions over b, h, q, kv (and score). ',
      'Operators + − * / < <= > >= == != && || ! and c ? a : b; functions exp, log, tanh, abs, min, max, where; or the ',
      'library’s method syntax, e.g. q.sub(kv).lt(40). The text is parsed, never evaluated: each operator becomes the ',
      'library’s traced operation, which is compiled into the fused kernel. Leave a field empty for none.',
    ),
    el('div', { class: 'controls column' }, maskText.wrap, scoreText.wrap),
    el('div', { class: 'controls' }, n.wrap, heads.wrap, d.wrap, button),
    out,
  );
  button.addEventListener('click', async () => {
    root.dataset.state = 'running';
    button.disabled = true;
    try {
      const mods = modifiers(maskText.input.value, scoreText.input.value);
      const run: Run = {
        n: Math.max(1, Math.min(2048, Number(n.input.value) || 1)),
        heads: Math.max(1, Number(heads.input.value) || 1),
        d: Number(d.input.value),
        ...mods,
      };
      const attn = await attention();
      const parts: HTMLElement[] = [el('p', { class: 'muted' }, `mask: ${run.mask?.label ?? 'none'}; score: ${run.score?.label ?? 'none'}`)];
      if (run.mask) {
        const bm = await attn.blockMask(run.mask, { batch: 1, heads: run.heads, seqQ: run.n, seqK: run.n, headDim: run.d });
        parts.push(el('div', { class: 'maps' }, picture(run.mask, run.n), blockMaskMap(`block mask at this backend's tile`, bm)));
      }
      out.replaceChildren(...parts, el('p', { class: 'muted' }, 'running…'));
      out.lastElementChild!.replaceWith(await compare(attn, run));
      root.dataset.state = 'done';
    } catch (e) {
      out.replaceChildren(
        e instanceof ModifierTextError ? errorBlock(e) : el('p', { class: 'error', id: 'pg-error' }, e instanceof Error ? e.message : String(e)),
      );
      root.dataset.state = 'error';
    } finally {
      button.disabled = false;
    }
  });
}
