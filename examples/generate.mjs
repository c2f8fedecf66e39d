/*
 * Token-by-token generation with a KV cache: a tiny one-layer model with random weights
 * (embedding, Q/K/V projections on the CPU, attention through attn.kvCache and
 * attn.decode, output projection, argmax). Two prompts of different lengths run as one
 * ragged batch. Each step's logits are checked against recomputing attention over the
 * whole sequence so far with the float64 reference (no cache); exit 1 if they differ.
 * `node examples/generate.mjs cpu` forces the CPU backend; `streaming` uses a
 * StreamingLLM cache (4 sinks, a window of 8) checked against streamingSinks(4, 8).
 */
import { createAttention, referenceForward } from 'webgpu-attention';

const args = process.argv.slice(2);
const attn = await createAttention({ backend: args.includes('cpu') ? 'cpu' : 'auto' });
const streaming = args.includes('streaming') ? { sinks: 4, window: 8 } : undefined;

const [VOCAB, MODEL, HQ, HKV, D] = [50, 64, 4, 2, 32];
let seed = 1;
const random = (n, scale) => Float32Array.from({ length: n }, () => (((seed = (seed * 16807) % 2147483647) / 2147483647) * 2 - 1) * scale);
const W = {
  embed: random(VOCAB * MODEL, 1), // [VOCAB, MODEL]
  q: random(MODEL * HQ * D, 0.3), // [MODEL, HQ·D]
  k: random(MODEL * HKV * D, 0.3),
  v: random(MODEL * HKV * D, 0.3),
  o: random(HQ * D * MODEL, 0.2), // [HQ·D, MODEL]
  unembed: random(MODEL * VOCAB, 0.3), // [MODEL, VOCAB]
};
/** x [rows, n] · w [n, m] → [rows, m]. */
function matmul(x, w, n, m) {
  const rows = x.length / n;
  const y = new Float32Array(rows * m);
  for (let r = 0; r < rows; r++) for (let i = 0; i < n; i++) for (let j = 0; j < m; j++) y[r * m + j] += x[r * n + i] * w[i * m + j];
  return y;
}
const embed = (tokens) => Float32Array.from(tokens.flatMap((t) => Array.from(W.embed.subarray(t * MODEL, (t + 1) * MODEL))));
const argmax = (x) => x.reduce((best, v, i) => (v > x[best] ? i : best), 0);

// Two sequences, prompts of 6 and 3 tokens: one ragged batch.
const prompts = [
  [1, 7, 3, 9, 4, 2],
  [5, 8, 6],
];
const B = prompts.length;
const cache = attn.kvCache({ batch: B, heads: HKV, headDim: D, ...(streaming ? { streaming } : { capacity: 8 }) });
const history = prompts.map(() => ({ k: [], v: [] })); // per sequence, per token: K and V rows [H·D] (for the check)

/**
 * One step for every sequence: `tokens[b]` (new tokens of sequence b, ragged) are embedded,
 * projected, appended to the cache, and attended; returns each sequence's next-token logits.
 */
async function step(tokens) {
  const n = Math.max(...tokens.map((t) => t.length));
  // Rows [B, n, H·D], i.e. the 'bnhd' layout, padded to n tokens per sequence.
  const pad = (rows, width) => {
    const out = new Float32Array(B * n * width);
    rows.forEach((r, b) => out.set(r, b * n * width));
    return out;
  };
  const x = tokens.map(embed);
  const [q, k, v] = ['q', 'k', 'v'].map((w) => x.map((xb) => matmul(xb, W[w], MODEL, (w === 'q' ? HQ : HKV) * D)));
  const counts = tokens.map((t) => t.length);
  cache.append(pad(k, HKV * D), pad(v, HKV * D), { counts, layout: 'bnhd' });
  k.forEach((kb, b) => tokens[b].forEach((_, i) => history[b].k.push(kb.subarray(i * HKV * D, (i + 1) * HKV * D))));
  v.forEach((vb, b) => tokens[b].forEach((_, i) => history[b].v.push(vb.subarray(i * HKV * D, (i + 1) * HKV * D))));
  const qt = attn.tensor(pad(q, HQ * D), [B, HQ, n, D], { layout: 'bnhd' });
  const { out } = await attn.decode(qt, cache, { counts });
  const o = await out.read(); // [B, n, HQ·D] ('bnhd', like q)
  qt.destroy();
  out.destroy();
  return tokens.map((t, b) => {
    const last = o.subarray((b * n + t.length - 1) * HQ * D, (b * n + t.length) * HQ * D); // the newest token's row
    checkAttention(b, q[b].subarray((t.length - 1) * HQ * D, t.length * HQ * D), last);
    const h = matmul(last, W.o, HQ * D, MODEL).map((y, j) => y + x[b][(t.length - 1) * MODEL + j]); // residual
    return matmul(h, W.unembed, MODEL, VOCAB);
  });
}

/** Attention of sequence b's newest query over its whole history, in float64 with no cache, must match `got`. */
let worst = 0;
function checkAttention(b, q, got) {
  const len = history[b].k.length;
  const host = (rows, heads, n) => ({
    data: Float64Array.from(rows.flatMap((r) => Array.from(r))),
    shape: { batch: 1, heads, seq: n, headDim: D },
    layout: 'bnhd',
  });
  // The streaming cache must equal full attention under streamingSinks(sinks, window), here as a plain function.
  const mask = streaming && ((_b, _h, qi, kv) => kv < streaming.sinks || qi - kv < streaming.window);
  const ref = referenceForward(host([q], HQ, 1), host(history[b].k, HKV, len), host(history[b].v, HKV, len), { causal: true, queryOffset: len - 1, mask });
  got.forEach((x, i) => (worst = Math.max(worst, Math.abs(x - ref.out[i]))));
}

let logits = await step(prompts); // prefill: every prompt token at once
const generated = prompts.map(() => []);
for (let t = 0; t < 12; t++) {
  const next = logits.map(argmax);
  next.forEach((tok, b) => generated[b].push(tok));
  logits = await step(next.map((tok) => [tok])); // one token per sequence
}
console.log(
  `backend: ${attn.backend}${streaming ? `, streaming cache (${streaming.sinks} sinks, window ${streaming.window})` : `, contiguous cache (capacity now ${cache.capacity})`}`,
);
generated.forEach((g, b) => console.log(`sequence ${b}: prompt ${prompts[b].join(' ')} → ${g.join(' ')}`));
console.log(`lengths ${cache.lengths.join(', ')}; max |attention − float64 recomputation without a cache| = ${worst.toExponential(2)}`);
cache.destroy();
attn.destroy();
if (!(worst < 1e-4)) process.exit(1);
