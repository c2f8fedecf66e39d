/*
 * `webgpu-attention verify [--backend B] [--quick] [--filter S] [--seed N]`:
 * runs the named grid against the float64 reference, one line per case, then
 * `N passed, M failed`; exit code 1 if anything failed.
 */
import { quickCases, verifyCases } from '../harness/verify.js';
import { runMode, VERIFY_MODES } from '../harness/verify-backward.js';
import { int, openBackend, parse } from './args.js';

export async function verifyCommand(argv: string[]): Promise<number> {
  const a = parse(argv, {
    backend: { type: 'string' },
    quick: { type: 'boolean' },
    filter: { type: 'string' },
    seed: { type: 'string' },
  });
  const attn = await openBackend(a.backend);
  const seed = a.seed === undefined ? undefined : int(a.seed, '--seed', 1);
  const cases = (a.quick ? quickCases() : verifyCases()).flatMap((c) =>
    VERIFY_MODES.map((alg) => ({ c, alg, name: `${alg}/${c.name}` })),
  );
  const chosen = cases.filter((x) => !a.filter || x.name.includes(a.filter));
  let passed = 0;
  let failed = 0;
  for (const { c, alg, name } of chosen) {
    const r = await runMode(attn, c, alg, seed);
    if (r.ok) passed++;
    else failed++;
    const detail = r.ok
      ? alg === 'backward'
        ? `grad err ${r.maxAbsErr.toExponential(1)} ≤ ${r.tolerance.toExponential(1)}`
        : `O err ${r.maxAbsErr.toExponential(1)} ≤ ${r.tolerance.toExponential(1)}, LSE err ${r.lseErr.toExponential(1)} ≤ ${r.lseTolerance.toExponential(1)}`
      : `${r.message} [seed ${r.seed}]`;
    console.log(`${r.ok ? 'ok  ' : 'FAIL'} ${name.padEnd(40)} ${detail} (${r.ms.toFixed(0)} ms)`);
  }
  attn.destroy();
  console.log(`${passed} passed, ${failed} failed`);
  return failed > 0 ? 1 : 0;
}
