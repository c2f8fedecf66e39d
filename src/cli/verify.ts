/*
 * `webgpu-attention verify [--backend B] [--quick] [--filter S] [--seed N]`:
 * runs the named grid against the float64 reference, one line per case, then
 * `N passed, M failed`; exit code 1 if anything failed. A filter that matches
 * no case is a usage error (exit 2), never a silent "0 passed, 0 failed"; cases
 * this device cannot run (a forced kernel it lacks) print `n/a` and are counted
 * on a line of their own, and a run where none could run fails (exit 1).
 */
import { notRunHere, quickCases, verifyCases } from '../harness/verify.js';
import { caseModes, runMode, VERIFY_MODES } from '../harness/verify-backward.js';
import { dtypeTiers } from '../harness/info.js';
import { backend, openBackend, parse, seed as seedOf, UsageError } from './args.js';
import { progress } from './progress.js';

export const VERIFY_FLAGS = {
  backend: { type: 'string' },
  quick: { type: 'boolean' },
  filter: { type: 'string' },
  seed: { type: 'string' },
} as const;

export async function verifyCommand(argv: string[]): Promise<number> {
  const a = parse(argv, VERIFY_FLAGS);
  const b = backend(a.backend);
  const seed = seedOf(a.seed);
  const cases = (a.quick ? quickCases() : verifyCases()).flatMap((c) => caseModes(c).map((alg) => ({ c, alg, name: `${alg}/${c.name}` })));
  const chosen = cases.filter((x) => !a.filter || x.name.includes(a.filter));
  if (chosen.length === 0) {
    // Every (mode + 1)-th name: the examples cycle through the modes and the cases at once.
    const some = cases
      .filter((_, i) => i % (VERIFY_MODES.length + 1) === 0)
      .slice(0, 6)
      .map((x) => x.name);
    throw new UsageError(
      `--filter '${a.filter}' matches none of the ${cases.length} cases${a.quick ? ' of --quick' : ''}; names are ${VERIFY_MODES.join('|')}/<case>, e.g. ${some.join(', ')}, …`,
    );
  }
  const attn = await openBackend(b);
  // Which f16 tier the f16 cases test here (CI checks that Deno on lavapipe runs 'f16-shader');
  // on stderr with the backend line, so stdout stays one line per case and the summary.
  console.error(`f16 tier: ${dtypeTiers(attn).f16}`);
  let passed = 0;
  let failed = 0;
  let notRun = 0;
  const bar = progress(chosen.length);
  try {
    for (const { c, alg, name } of chosen) {
      bar.next(name);
      const why = notRunHere(attn, c);
      if (why) {
        bar.line(`n/a  ${name.padEnd(40)} ${why}`);
        notRun++;
        continue;
      }
      const r = await runMode(attn, c, alg, seed);
      if (r.ok) passed++;
      else failed++;
      const detail = r.ok
        ? alg === 'backward'
          ? `grad err ${r.maxAbsErr.toExponential(1)} ≤ ${r.tolerance.toExponential(1)}`
          : `O err ${r.maxAbsErr.toExponential(1)} ≤ ${r.tolerance.toExponential(1)}${r.naiveF16Err === undefined ? '' : ` (naive f16 ${r.naiveF16Err.toExponential(1)})`}, LSE err ${r.lseErr.toExponential(1)} ≤ ${r.lseTolerance.toExponential(1)}`
        : `${r.message} [seed ${r.seed}]`;
      bar.line(`${r.ok ? 'ok  ' : 'FAIL'} ${name.padEnd(40)} ${detail} (${r.ms.toFixed(0)} ms)`);
    }
  } finally {
    bar.stop();
  }
  attn.destroy();
  if (notRun > 0) console.log(`${notRun} not run here (n/a)${passed + failed === 0 ? ': none of the chosen cases can run on this device' : ''}`);
  console.log(`${passed} passed, ${failed} failed`);
  return failed > 0 || passed + failed === 0 ? 1 : 0;
}
