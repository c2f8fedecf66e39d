/*
 * Tuned tiles: the shape classes, the disk cache (keyed by adapter and library
 * version), and that a runner uses a tuned tile over the default only when it
 * fits the device. No GPU needed: the runner only reads the device's limits here.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { chooseForwardTile } from '../src/kernels/tiles.js';
import { chooseBackwardTile, chooseDqTile } from '../src/kernels/backward.js';
import { adapterKey, LIBRARY_VERSION, loadTuned, saveTuned } from '../src/runtime/tuning.js';
import { backwardTile, dqTile, forwardTile, shapeClass } from '../src/kernels/tile-policy.js';
import type { Caps } from '../src/kernels/call.js';

const dir = mkdtempSync(join(tmpdir(), 'webgpu-attention-tuning-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const limits = { maxComputeWorkgroupStorageSize: 49152, maxComputeInvocationsPerWorkgroup: 1024 };
const h100 = { backend: 'webgpu', vendor: 'nvidia', device: 'h100', architecture: 'hopper' } as const;
/** An H100's caps as kernel programs see them, with an empty tuned map. */
const caps = (): Caps => ({
  limits: { ...limits, maxComputeWorkgroupsPerDimension: 65535, minStorageBufferOffsetAlignment: 256, maxBufferSize: 2 ** 31 },
  maxBindingBytes: 2 ** 31,
  subgroupWidth: 0,
  tuned: new Map(),
});

describe('tuned tiles', () => {
  it('shape classes separate pass, head dim, causal and N bucket', () => {
    expect(shapeClass('forward', 64, false, 4096)).toBe(shapeClass('forward', 64, false, 2048));
    expect(shapeClass('forward', 64, false, 4096)).not.toBe(shapeClass('forward', 64, false, 8192));
    expect(shapeClass('forward', 64, true, 4096)).not.toBe(shapeClass('forward', 64, false, 4096));
    expect(shapeClass('backward', 64, false, 4096)).not.toBe(shapeClass('forward', 64, false, 4096));
    expect(shapeClass('dq', 64, false, 4096)).not.toBe(shapeClass('backward', 64, false, 4096)); // the backward's dQ pass apart
    expect(shapeClass('forward', 64, false, 1)).not.toBe(shapeClass('forward', 64, false, 1024)); // decoding apart
  });

  it('the tile policy prefers a tuned tile for its class, and ignores one that does not fit the device', () => {
    const r = caps();
    const tuned = { tx: 8, ty: 8, rm: 4, cn: 4, shareKv: false };
    expect(forwardTile(r, 64, false, 4096)).toEqual(chooseForwardTile(64, limits));
    r.tuned.set(shapeClass('forward', 64, false, 4096), tuned);
    expect(forwardTile(r, 64, false, 4096)).toEqual(tuned);
    expect(forwardTile(r, 64, true, 4096)).toEqual(chooseForwardTile(64, limits)); // another class
    r.tuned.set(shapeClass('forward', 64, false, 1024), { tx: 64, ty: 64, rm: 8, cn: 8, shareKv: false }); // too big
    expect(forwardTile(r, 64, false, 1024)).toEqual(chooseForwardTile(64, limits));
    r.tuned.set(shapeClass('backward', 64, false, 4096), { tx: 16, ty: 8, rm: 2, cn: 2 });
    expect(backwardTile(r, 64, false, 4096)).toEqual({ tx: 16, ty: 8, rm: 2, cn: 2 });
    expect(backwardTile(r, 64, false, 16384)).toEqual(chooseBackwardTile(64, limits));
    // The dQ pass: its own default (dS in the V tile) until tuned, a tuned tile only where it fits.
    const dkdv = backwardTile(r, 64, false, 4096)!;
    expect(dqTile(r, 64, dkdv, false, 4096)).toEqual(chooseDqTile(64, limits));
    r.tuned.set(shapeClass('dq', 64, false, 4096), { tx: 16, ty: 8, rm: 4, cn: 4, dsInY: true });
    expect(dqTile(r, 64, dkdv, false, 4096)).toEqual({ tx: 16, ty: 8, rm: 4, cn: 4, dsInY: true });
    r.tuned.set(shapeClass('dq', 80, false, 4096), { tx: 16, ty: 8, rm: 4, cn: 4, dsInY: true }); // D/4 = 20: cannot swizzle
    expect(dqTile(r, 80, dkdv, false, 4096)).toEqual(dkdv);
  });

  it('the disk cache round-trips per adapter and library version, and a missing or broken file means no tuned tiles', async () => {
    process.env.WEBGPU_ATTENTION_CACHE = join(dir, 'tuning.json');
    try {
      expect((await loadTuned(h100)).size).toBe(0);
      const tiles = new Map([[shapeClass('forward', 128, false, 4096), { tx: 16, ty: 8, rm: 4, cn: 2, shareKv: true }]]);
      await saveTuned(h100, tiles);
      await saveTuned({ ...h100, device: 'a100' }, new Map([[shapeClass('forward', 64, false, 4096), { tx: 8, ty: 8, rm: 4, cn: 4, shareKv: false }]]));
      expect(await loadTuned(h100)).toEqual(tiles);
      const file = JSON.parse(readFileSync(process.env.WEBGPU_ATTENTION_CACHE, 'utf8'));
      expect(Object.keys(file)).toHaveLength(2);
      expect(adapterKey(h100)).toContain(`v${LIBRARY_VERSION}`);
      process.env.WEBGPU_ATTENTION_CACHE = join(dir, 'not-there', 'x.json');
      expect((await loadTuned(h100)).size).toBe(0);
    } finally {
      delete process.env.WEBGPU_ATTENTION_CACHE;
    }
  });

  it('the library version in the cache key is the package version', () => {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
    expect(LIBRARY_VERSION).toBe(pkg.version);
  });
});
