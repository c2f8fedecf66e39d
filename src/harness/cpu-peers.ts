/*
 * CPU peers for `bench --backend cpu --peers`: the libraries a user without a GPU
 * would reach for instead of our CPU backend — onnxruntime-web's wasm backend (the
 * browser peer, the same wasm SIMD limits as ours), onnxruntime-node's CPU provider
 * (native code, the ceiling) and tfjs with its wasm backend — timed in the same
 * process on the same inputs as ours (benchInputs), each checked against the same
 * float64 reference rows. The peers are optional dev dependencies loaded with a
 * dynamic import: a missing one becomes one line saying what to install, never a
 * failure (cpu-peer.ts).
 */
import { benchInputs, benchProblem, benchReference, checkedError, type BenchShape } from './bench.js';
import { forwardFlops } from './io-model.js';
import { PeerMissingError, type CpuPeer, type PeerCall, type PeerSpec } from './cpu-peer.js';
import { onnxPeers } from './cpu-peer-onnx.js';
import { tfjsPeer } from './cpu-peer-tfjs.js';

/** Every CPU peer, in table order. */
export const CPU_PEERS: readonly PeerSpec[] = [...onnxPeers, tfjsPeer];

/** A loaded peer, or why it is not there (one line for the user). */
export type LoadedPeer = { readonly peer: CpuPeer } | { readonly name: string; readonly missing: string } | { readonly name: string; readonly error: string };

/** Loads every peer with `threads` threads; missing ones come back as one line naming what to install. */
export async function loadCpuPeers(threads: number): Promise<LoadedPeer[]> {
  const out: LoadedPeer[] = [];
  for (const spec of CPU_PEERS) {
    try {
      out.push({ peer: await spec.load(threads) });
    } catch (e) {
      if (e instanceof PeerMissingError) {
        const install = `npm install -D --save-exact ${spec.packages.join(' ')}`;
        out.push({ name: spec.name, missing: `peer ${spec.name} skipped: ${e.message} (to time it: ${install})` });
      } else out.push({ name: spec.name, error: e instanceof Error ? e.message : String(e) });
    }
  }
  return out;
}

/** One peer's row: the bench row's shape and timing fields, plus the peer's version and threads. */
export interface PeerResult extends BenchShape {
  /** The peer's name (bench rows call their implementation `algorithm`). */
  readonly algorithm: string;
  readonly version: string;
  readonly dtype: 'f32';
  readonly threads: number;
  readonly msMedian: number | null;
  readonly tflops: number | null;
  /** Max |peer − float64 reference| over the checked rows (bench's subset). */
  readonly maxAbsErr: number | null;
  readonly timing?: string;
  readonly note?: string;
  readonly error?: string;
}

/** Median ms of `samples` calls (host clock); the output of each call is on the host when it ends. */
async function medianMs(call: PeerCall, samples: number): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < samples; i++) {
    const t0 = performance.now();
    await call.run();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)]!;
}

/**
 * Times every loaded peer on one shape (f32, bench's inputs for `seed`): one checked run
 * (also the warm-up), then `samples` timed calls, median reported.
 */
export async function benchPeers(peers: readonly CpuPeer[], shape: BenchShape, opts: { samples?: number; seed?: number } = {}): Promise<PeerResult[]> {
  const inputs = benchInputs(shape, 'f32', opts.seed);
  const ref = benchReference(shape, inputs);
  const flops = forwardFlops(benchProblem(shape), shape.causal);
  const results: PeerResult[] = [];
  for (const peer of peers) {
    const base = { ...shape, algorithm: peer.name, version: peer.version, dtype: 'f32' as const, threads: peer.threads, note: peer.how };
    let call: PeerCall | undefined;
    try {
      call = await peer.prepare(shape, inputs);
      const maxAbsErr = checkedError(await call.run(), ref);
      const samples = opts.samples ?? 3;
      const ms = await medianMs(call, samples);
      results.push({ ...base, msMedian: ms, tflops: flops / (ms * 1e-3) / 1e12, maxAbsErr, timing: `host clock, median of ${samples} runs` });
    } catch (e) {
      results.push({ ...base, msMedian: null, tflops: null, maxAbsErr: null, error: e instanceof Error ? e.message.split('\n')[0] : String(e) });
    } finally {
      await call?.release();
    }
  }
  return results;
}
