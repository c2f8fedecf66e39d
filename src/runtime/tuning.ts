/*
 * Tuned tiles: which tile the forward and backward kernels use for a shape
 * class on this adapter, when a timed search (harness/tune.ts, `bench --tune`) has
 * found one better than the default. Kept in memory per runner and, in Node, on
 * disk keyed by adapter identity and library version, so a search is paid once
 * per machine and a new library version (new kernels) searches again.
 */
import type { BackwardTile } from '../kernels/backward.js';
import type { ForwardTile } from '../kernels/forward.js';
import type { TunedTiles } from '../kernels/call.js';
import type { AdapterSummary } from './device.js';

export const LIBRARY_VERSION = '0.1.0';


/** The disk cache's key for an adapter: what identifies the hardware and driver, plus our version. */
export function adapterKey(a: AdapterSummary): string {
  return [a.vendor, a.architecture ?? '', a.device, a.description ?? '', `v${LIBRARY_VERSION}`].join('|');
}

/** Where the disk cache lives in Node (WEBGPU_ATTENTION_CACHE overrides), or undefined elsewhere. */
async function cacheFile(): Promise<string | undefined> {
  if (typeof process === 'undefined' || !process.versions?.node) return undefined;
  const { homedir } = await import('node:os');
  const { join } = await import('node:path');
  return process.env.WEBGPU_ATTENTION_CACHE ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'webgpu-attention', 'tuning.json');
}

type CacheFile = Record<string, Record<string, ForwardTile | BackwardTile>>;

async function readCache(file: string): Promise<CacheFile> {
  const { readFile } = await import('node:fs/promises');
  try {
    const parsed: unknown = JSON.parse(await readFile(file, 'utf8'));
    return parsed && typeof parsed === 'object' ? (parsed as CacheFile) : {};
  } catch {
    return {}; // missing or unreadable: no tuned tiles, defaults apply
  }
}

/** Tuned tiles saved for this adapter and version (empty when none, or not in Node). */
export async function loadTuned(adapter: AdapterSummary): Promise<TunedTiles> {
  const file = await cacheFile();
  if (!file) return new Map();
  return new Map(Object.entries((await readCache(file))[adapterKey(adapter)] ?? {}));
}

/** Saves `tiles` for this adapter and version (Node; a no-op elsewhere). Returns the file written. */
export async function saveTuned(adapter: AdapterSummary, tiles: TunedTiles): Promise<string | undefined> {
  const file = await cacheFile();
  if (!file) return undefined;
  const { mkdir, writeFile } = await import('node:fs/promises');
  const { dirname } = await import('node:path');
  const all = await readCache(file);
  all[adapterKey(adapter)] = { ...all[adapterKey(adapter)], ...Object.fromEntries(tiles) };
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, JSON.stringify(all, null, 2) + '\n');
  return file;
}
