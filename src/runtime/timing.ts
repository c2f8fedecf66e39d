/*
 * GPU timing. A sample encodes a batch of repetitions of the work in one
 * command buffer (enough to run for `minBatchMs`), bracketed by timestamp
 * queries where the device has 'timestamp-query', and by the host clock
 * around submit → onSubmittedWorkDone otherwise. Result: milliseconds per
 * repetition, median over samples, after a warm-up long enough for the GPU's
 * clocks to rise from idle (batches until two agree).
 */
import { encodeDispatches, type PreparedDispatch } from './encode.js';

/** A run at least this long (ms) needs no second warm-up, and caps the samples at about 10 s in all. */
const SLOW_RUN_MS = 1000;
/** Most ms of warm-up batches before the samples, and how close two in a row must be to end it sooner. */
const WARM_MS = 1500;
const WARM_AGREE = 0.03;
/** Least ms of warm-up batches: two short batches at idle clocks agree with each other too. */
const WARM_MIN_MS = 200;

export interface TimingOptions {
  /** Untimed runs first (pipeline creation, caches, clocks). Default 2. */
  readonly warmup?: number;
  /** Timed samples; the median is reported. Default 5. */
  readonly samples?: number;
  /** Target duration of one sample's batch, ms. Default 100. */
  readonly minBatchMs?: number;
}

export interface TimingResult {
  readonly msMedian: number;
  readonly msSamples: readonly number[];
  readonly method: 'timestamp-query' | 'host clock';
  readonly repsPerSample: number;
}

/** Times `work` (one repetition = every entry of one element of `rotation`, rotating). */
export async function timeDispatches(device: GPUDevice, rotation: readonly (readonly PreparedDispatch[])[], opts: TimingOptions = {}): Promise<TimingResult> {
  const warmup = opts.warmup ?? 2;
  const samples = opts.samples ?? 5;
  const minBatchMs = opts.minBatchMs ?? 100;
  const hasTs = device.features.has('timestamp-query');

  type Method = TimingResult['method'];
  let next = 0; // rotation index, carried across batches
  const batch = async (reps: number, timestamps: boolean): Promise<{ ms: number; method: Method }> => {
    const enc = device.createCommandEncoder({ label: 'timing batch' });
    let qs: GPUQuerySet | undefined;
    let resolve: GPUBuffer | undefined;
    let readback: GPUBuffer | undefined;
    if (timestamps) {
      qs = device.createQuerySet({ label: 'timing', type: 'timestamp', count: 2 });
      resolve = device.createBuffer({ label: 'timing resolve', size: 16, usage: 0x0200 | 0x0004 }); // QUERY_RESOLVE | COPY_SRC
      readback = device.createBuffer({ label: 'timing readback', size: 16, usage: 0x0001 | 0x0008 });
      enc.beginComputePass({ label: 'timing start', timestampWrites: { querySet: qs, beginningOfPassWriteIndex: 0 } }).end();
    }
    for (let i = 0; i < reps; i++) encodeDispatches(enc, rotation[next++ % rotation.length]!);
    if (timestamps && qs && resolve && readback) {
      enc.beginComputePass({ label: 'timing end', timestampWrites: { querySet: qs, endOfPassWriteIndex: 1 } }).end();
      enc.resolveQuerySet(qs, 0, 2, resolve, 0);
      enc.copyBufferToBuffer(resolve, 0, readback, 0, 16);
    }
    const t0 = performance.now();
    device.queue.submit([enc.finish()]);
    await device.queue.onSubmittedWorkDone();
    const hostMs = performance.now() - t0;
    const host = { ms: hostMs / reps, method: 'host clock' as const };
    if (!readback || !qs || !resolve) return host;
    await readback.mapAsync(0x0001);
    const [begin, end] = new BigUint64Array(readback.getMappedRange().slice(0));
    readback.unmap();
    [readback, resolve].forEach((b) => b.destroy());
    qs.destroy();
    const gpuMs = Number(end! - begin!) / 1e6;
    // A quantized or unsupported clock reads 0 or runs backwards: trust the host clock then.
    return gpuMs > 0 && gpuMs <= hostMs * 1.05 ? { ms: gpuMs / reps, method: 'timestamp-query' } : host;
  };

  // One run's time sets the batch size: by the GPU's clock where it has one, since the host's
  // (submit → onSubmittedWorkDone, a few ms in dawn.node) made batches of a 0.16 ms call 14 runs
  // long, too short for the clocks to rise, and such samples came out 5× slow (docs/PERF.md).
  let one = (await batch(1, hasTs)).ms;
  // Slow devices (software rasterisers, huge shapes): a run of seconds is its own warm-up.
  for (let i = 1; i < warmup && one < SLOW_RUN_MS; i++) one = (await batch(1, hasTs)).ms;
  const reps = Math.max(1, Math.min(1000, Math.ceil(minBatchMs / Math.max(one, 1e-3))));
  const n = one * samples > SLOW_RUN_MS * 10 ? Math.max(3, Math.floor((SLOW_RUN_MS * 10) / one)) : samples;
  // A GPU idle a moment ago (the host built inputs or a reference) runs at idle clocks and
  // takes some 100 ms of work to reach full speed (H200: 345 → 1980 MHz): the samples start
  // once two batches in a row agree, or after WARM_MS of batches.
  if (one < SLOW_RUN_MS) {
    let prev = Infinity;
    for (let spent = 0; spent < WARM_MS;) {
      const t = (await batch(reps, hasTs)).ms;
      spent += t * reps;
      if (spent >= WARM_MIN_MS && Math.abs(t - prev) <= WARM_AGREE * Math.min(t, prev)) break;
      prev = t;
    }
  }
  const runs: { ms: number; method: Method }[] = [];
  for (let i = 0; i < n; i++) runs.push(await batch(reps, hasTs));
  const times = runs.map((r) => r.ms);
  const sorted = [...times].sort((a, b) => a - b);
  return {
    msMedian: sorted[Math.floor(sorted.length / 2)]!,
    msSamples: times,
    method: runs.every((r) => r.method === 'timestamp-query') ? 'timestamp-query' : 'host clock',
    repsPerSample: reps,
  };
}
