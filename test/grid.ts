/*
 * The verify grid as vitest cases: one `it` per (algorithm, case), named
 * `${algorithm}/${case.name}`, each on fresh random inputs against the float64
 * reference. A failure prints the index, expected, got and the seed;
 * `SEED=<seed> npx vitest run -t '<name>'` reproduces it.
 */
import { expect, it } from 'vitest';
import type { Attention } from '../src/api/attention.js';
import { verifyCases } from '../src/harness/verify.js';
import { caseModes, runMode, VERIFY_MODES } from '../src/harness/verify-backward.js';
import { testSeed } from './helpers.js';

/** Declares the grid's tests; `attn()` is called when each test runs (after beforeAll). */
export function verifyGrid(attn: () => Attention): void {
  for (const algorithm of VERIFY_MODES) {
    // Cases forced onto the subgroup decode kernel need 32-lane subgroups (SwiftShader's have 4):
    // they run on the GPU machine through `verify`; their shapes run here unforced.
    for (const c of verifyCases().filter((x) => !x.decodeKernel && caseModes(x).includes(algorithm))) {
      it(`${algorithm}/${c.name}`, async () => {
        const r = await runMode(attn(), c, algorithm, testSeed());
        expect(r.ok, `${r.message} [seed ${r.seed}]`).toBe(true);
      });
    }
  }
}
