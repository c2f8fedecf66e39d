/*
 * Row copies into a buffer that stays put (a KV cache): runs of bytes from host
 * memory (queue.writeBuffer) or from another buffer (copyBufferToBuffer, all runs in
 * one command encoder and one submit). Nothing is allocated per call, and both go
 * through the queue, so they land after every dispatch submitted before and before
 * every one submitted after.
 */
import type { WebGpuRunner } from './runner.js';

/** One run: `bytes` bytes from `src` (in the source) to `dst` (in the destination buffer); all multiples of 4. */
export interface ByteRun {
  readonly src: number;
  readonly dst: number;
  readonly bytes: number;
}

/** Writes runs of `data` (host memory) into `dst`. */
export function writeRuns(runner: WebGpuRunner, dst: GPUBuffer, data: ArrayBufferView, runs: readonly ByteRun[]): void {
  runner.life.checkAlive();
  for (const r of runs) runner.device.queue.writeBuffer(dst, r.dst, data.buffer, data.byteOffset + r.src, r.bytes);
}

/**
 * Copies runs of `src` into `dst` on the device, in one submit; resolves to the device's
 * validation message where the copy failed (a caller's `src` destroyed, or of another
 * device), undefined where it ran.
 */
export function copyRuns(runner: WebGpuRunner, src: GPUBuffer, dst: GPUBuffer, runs: readonly ByteRun[], label: string): Promise<string | undefined> {
  runner.life.checkAlive();
  if (runs.length === 0) return Promise.resolve(undefined);
  runner.device.pushErrorScope('validation');
  try {
    const enc = runner.device.createCommandEncoder({ label });
    for (const r of runs) enc.copyBufferToBuffer(src, r.src, dst, r.dst, r.bytes);
    runner.device.queue.submit([enc.finish()]);
  } catch (e) {
    runner.device.popErrorScope().catch(() => {}); // no scope left behind to swallow later errors
    throw e;
  }
  // (A lost device rejects the pop: its own error says so on the next call.)
  return runner.device.popErrorScope().then(
    (e) => e?.message,
    () => undefined,
  );
}

/** Runs `fn` (e.g. freeing a buffer) once the work submitted so far, which may still read the buffer, has finished. */
export function whenDone(runner: WebGpuRunner, fn: () => void): void {
  void runner.device.queue.onSubmittedWorkDone().then(fn, fn);
}
