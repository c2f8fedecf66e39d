#!/usr/bin/env node
/*
 * A/B of two builds of the CPU backend's wasm kernels on a shared machine: both modules
 * instantiated in one process and run through the same host glue (wasmForward), one
 * thread, calls interleaved one by one, timed in process CPU time (process.cpuUsage),
 * which other jobs' load inflates far less than wall time. Checks the outputs agree
 * (max |ΔO|, |ΔLSE|; 0 when a change keeps the bits) and prints per build the median
 * CPU ms per call and the median of per-pair ratios against the first (above 1: faster).
 * f32, B=1, H=8, D=$D (64), N=$N (512), $CAUSAL, $REPS (30) rounds after 3 warm-up calls.
 * With PEER=onnxruntime-web (any name bench --peers knows) that peer, on one thread, joins
 * each round, and each build's median ratio peer / build is printed too.
 *
 *   node bench/cpu-wasm-ab.mjs --save base.wasm     # the module of the current build
 *   (change asm/, npm run build)
 *   node bench/cpu-wasm-ab.mjs base.wasm --current  # base against the new build
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { benchInputs } from '../dist/harness/bench.js';
import { wasmForward } from '../dist/cpu/wasm-forward.js';
import { loadCpuPeers } from '../dist/harness/cpu-peers.js';

const current = () => {
  const gen = readFileSync(new URL('../src/cpu/wasm-binary.gen.ts', import.meta.url), 'utf8');
  return Buffer.from(/'([A-Za-z0-9+/=]+)'/.exec(gen)[1], 'base64');
};
const argv = process.argv.slice(2);
if (argv[0] === '--save') {
  writeFileSync(argv[1], current());
  process.exit(0);
}
const names = argv.length ? argv : ['--current'];
const modules = names.map((f) => (f === '--current' ? current() : readFileSync(f)));
const kernels = await Promise.all(modules.map(async (m) => (await globalThis.WebAssembly.instantiate(m)).instance.exports));

const N = Number(process.env.N ?? 512);
const D = Number(process.env.D ?? 64);
const causal = !!process.env.CAUSAL;
const reps = Number(process.env.REPS ?? 30);
const shape = { batch: 1, heads: 8, kvHeads: 8, seqQ: N, seqK: N, headDim: D, causal };
const inputs = benchInputs(shape, 'f32');
const args = {
  problem: { batch: 1, headsQ: 8, headsKv: 8, seqQ: N, seqK: N, headDim: D },
  q: inputs.q.data,
  k: inputs.k.data,
  v: inputs.v.data,
  qLayout: 'bhnd',
  kLayout: 'bhnd',
  vLayout: 'bhnd',
  scale: 1 / Math.sqrt(D),
  causal,
};
const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e3;
};
const maxDiff = (a, b) => a.reduce((m, x, i) => Math.max(m, Math.abs(x - b[i])), 0);
const outs = kernels.map((k) => {
  for (let i = 0; i < 3; i++) wasmForward(k, args);
  return wasmForward(k, args);
});
for (let j = 1; j < kernels.length; j++)
  console.log(`${names[j]} vs ${names[0]}: max |ΔO| ${maxDiff(outs[0].out, outs[j].out)}, max |ΔLSE| ${maxDiff(outs[0].lse, outs[j].lse)}`);

const loaded = process.env.PEER ? (await loadCpuPeers(1)).find((l) => 'peer' in l && l.peer.name === process.env.PEER) : undefined;
if (process.env.PEER && !loaded) throw new Error(`${process.env.PEER} did not load`);
const peerCall = loaded && (await loaded.peer.prepare(shape, inputs));
await peerCall?.run();
const sides = kernels.length + (peerCall ? 1 : 0);
const times = Array.from({ length: sides }, () => []);
for (let i = 0; i < reps; i++)
  for (let s = 0; s < sides; s++) {
    const j = (i + s) % sides; // rotate who goes first
    const t0 = cpuMs();
    if (j < kernels.length) wasmForward(kernels[j], args);
    else await peerCall.run();
    times[j].push(cpuMs() - t0);
  }
await peerCall?.release();
const med = (a) => [...a].sort((x, y) => x - y)[a.length >> 1];
const gflops = (ms) => (4 * 8 * N * N * D * (causal ? 0.5 : 1)) / ms / 1e6;
names.forEach((f, j) => {
  const m = med(times[j]);
  const ratio = med(times[j].map((t, i) => times[0][i] / t));
  const peer = peerCall ? `, ${process.env.PEER} / this ${med(times[j].map((t, i) => times[kernels.length][i] / t)).toFixed(2)}×` : '';
  console.log(
    `N=${N}${causal ? ' causal' : ''} ${f}: ${m.toFixed(2)} CPU ms (${gflops(m).toFixed(1)} GFLOP/s), best ${Math.min(...times[j]).toFixed(2)}, paired ratio ${ratio.toFixed(3)}${peer}`,
  );
});
if (peerCall) console.log(`N=${N}${causal ? ' causal' : ''} ${process.env.PEER}: ${med(times[kernels.length]).toFixed(2)} CPU ms`);
