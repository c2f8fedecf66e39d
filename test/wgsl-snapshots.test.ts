/*
 * WGSL snapshots: the generated text of every kernel family at its default tiles
 * (test/wgsl/cases.ts) must match the files in test/wgsl/snapshots/. A change is
 * deliberate: regenerate with `npx vitest run test/wgsl-snapshots.test.ts -u`,
 * review the diff, and say in the commit why the text changed.
 */
import { describe, expect, it } from 'vitest';
import { wgslCases } from './wgsl/cases.js';

describe('WGSL snapshots (default tiles of every kernel family)', () => {
  for (const [name, wgsl] of wgslCases()) {
    it(name, async () => {
      await expect(wgsl).toMatchFileSnapshot(`./wgsl/snapshots/${name}.wgsl`);
    });
  }
});
