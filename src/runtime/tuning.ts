/*
 * Tuned tiles: which tile the forward and backward kernels use for a shape
 * class on this adapter, when a timed search (harness/tune.ts, `bench --tune`) has
 * found one better than the default. Kept in memory per runner and, in Node, on
 * disk (tuning-node.ts) keyed by adapter identity and library version, so a
 * search is paid once per machine and a new library version (new kernels)
 * searches again.
 */
import type { BackwardTile } from '../kernels/backward.js';
import type { ForwardTile } from '../kernels/forward.js';
import type { TunedTiles } from '../kernels/call.js';
import type { AdapterSummary } from './device.js';
// The browser build gets tuning-browser.js here instead (package.json "browser").
import { openTuningStore } from './tuning-node.js';

export const LIBRARY_VERSION = '0.1.0';

/** The disk cache's key for an adapter: what identifies the hardware and driver, plus our version. */
export function adapterKey(a: AdapterSummary): string {
  return [a.vendor, a.architecture ?? '', a.device, a.description ?? '', `v${LIBRARY_VERSION}`].join('|');
}

/** Every adapter's tuned tiles, by adapterKey, then by shape class. */
export type TuningRecords = Record<string, Record<string, ForwardTile | BackwardTile>>;

/** Tuned tiles saved for this adapter and version (empty when none, or not in Node). */
export async function loadTuned(adapter: AdapterSummary): Promise<TunedTiles> {
  const store = await openTuningStore();
  if (!store) return new Map();
  return new Map(Object.entries((await store.read())[adapterKey(adapter)] ?? {}));
}

/** Saves `tiles` for this adapter and version (Node; a no-op elsewhere). Returns the file written. */
export async function saveTuned(adapter: AdapterSummary, tiles: TunedTiles): Promise<string | undefined> {
  const store = await openTuningStore();
  if (!store) return undefined;
  const all = await store.read();
  all[adapterKey(adapter)] = { ...all[adapterKey(adapter)], ...Object.fromEntries(tiles) };
  await store.write(all);
  return store.path;
}
