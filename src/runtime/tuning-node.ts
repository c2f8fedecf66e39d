/*
 * Where tuned tiles are kept in Node: one JSON file, keyed by adapter (see
 * tuning.ts). A browser bundle never sees this file: package.json's "browser"
 * field swaps it for tuning-browser.ts, so bundlers meet no `node:` import. The
 * Node modules are still imported lazily, behind the process check, so that the
 * unbundled dist/ keeps loading in a browser too (where there is no store).
 */
import type { TuningRecords } from './tuning.js';
import { isNode } from './platform.js';

/** A place that holds every adapter's tuned tiles. */
export interface TuningStore {
  /** Where the records live (the file written, for messages). */
  readonly path: string;
  /** Every adapter's records; empty when the store is missing or unreadable. */
  read(): Promise<TuningRecords>;
  /** Replaces every adapter's records. */
  write(all: TuningRecords): Promise<void>;
}

/**
 * The disk store in Node: WEBGPU_ATTENTION_CACHE if set, else
 * `$XDG_CACHE_HOME/webgpu-attention/tuning.json` (XDG_CACHE_HOME defaults to
 * `~/.cache`). Undefined outside Node.
 */
export async function openTuningStore(): Promise<TuningStore | undefined> {
  if (!isNode()) return undefined;
  const { homedir } = await import('node:os');
  const { dirname, join } = await import('node:path');
  const { mkdir, readFile, writeFile } = await import('node:fs/promises');
  const path = process.env.WEBGPU_ATTENTION_CACHE ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'webgpu-attention', 'tuning.json');
  return {
    path,
    async read() {
      try {
        const parsed: unknown = JSON.parse(await readFile(path, 'utf8'));
        return parsed && typeof parsed === 'object' ? (parsed as TuningRecords) : {};
      } catch {
        return {}; // missing or unreadable: no tuned tiles, defaults apply
      }
    },
    async write(all) {
      await mkdir(dirname(path), { recursive: true });
      await writeFile(path, JSON.stringify(all, null, 2) + '\n');
    },
  };
}
