/*
 * The CLI contract of DESIGN.md, through the built binary (`node dist/cli/main.js`):
 * verify's output lines and exit code, bench's JSON fields, usage errors, info
 * and explain. CI builds dist/ first; a missing build is made here.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const MAIN = join(ROOT, 'dist/cli/main.js');
const tmp = mkdtempSync(join(tmpdir(), 'webgpu-attention-cli-'));

/** Runs the CLI; returns exit code, stdout and stderr. */
function cli(...args: string[]) {
  const r = spawnSync(process.execPath, [MAIN, ...args], { cwd: ROOT, encoding: 'utf8', timeout: 240_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, lines: r.stdout.trimEnd().split('\n') };
}

beforeAll(() => {
  if (existsSync(MAIN)) return;
  const tsc = spawnSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'], { cwd: ROOT, encoding: 'utf8' });
  if (tsc.status !== 0) throw new Error(`build failed:\n${tsc.stdout}${tsc.stderr}`);
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('cli verify', () => {
  it('--backend cpu --quick: one line per case, then "N passed, 0 failed", exit 0', () => {
    const r = cli('verify', '--backend', 'cpu', '--quick');
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const last = r.lines.at(-1)!;
    expect(last).toMatch(/^\d+ passed, 0 failed$/);
    const n = Number(last.split(' ')[0]);
    expect(n).toBeGreaterThan(0);
    const cases = r.lines.slice(0, -1);
    expect(cases).toHaveLength(n);
    for (const line of cases) expect(line).toMatch(/^ok {3}(flash|naive|backward)\/\S+/);
  });

  it('--filter that matches nothing: "0 passed, 0 failed", exit 0', () => {
    const r = cli('verify', '--backend', 'cpu', '--filter', 'nonexistent');
    expect(r.code).toBe(0);
    expect(r.lines).toEqual(['0 passed, 0 failed']);
  });
});

describe('cli bench', () => {
  it('--json writes the adapter and the contract fields of every result row', () => {
    const file = join(tmp, 'bench.json');
    const r = cli('bench', '--backend', 'cpu', '--seq', '32', '--heads', '2', '--json', file);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const json = JSON.parse(readFileSync(file, 'utf8'));
    expect(json.adapter).toMatchObject({ backend: 'cpu', vendor: expect.any(String), device: expect.any(String) });
    expect(json.results.map((x: { algorithm: string }) => x.algorithm).sort()).toEqual(['flash', 'naive']);
    for (const row of json.results) {
      expect(row).toMatchObject({
        batch: 1, heads: 2, kvHeads: 2, seqQ: 32, seqK: 32, headDim: 64, causal: false, dtype: 'f32',
        msMedian: expect.any(Number), tflops: expect.any(Number), modelBytes: expect.any(Number), maxAbsErr: expect.any(Number),
      });
      expect(row.maxAbsErr).toBeLessThan(1e-5);
    }
  });

  it('--kernel basic runs the teaching kernel on the GPU, checked against the reference', () => {
    const file = join(tmp, 'bench-basic.json');
    const r = cli('bench', '--backend', 'webgpu', '--kernel', 'basic', '--seq', '40', '--heads', '2', '--causal', '--json', file);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const [row] = JSON.parse(readFileSync(file, 'utf8')).results;
    expect(row).toMatchObject({ algorithm: 'basic', seqQ: 40, causal: true, msMedian: expect.any(Number) });
    expect(row.maxAbsErr).toBeLessThan(1e-5);
    expect(cli('bench', '--kernel', 'basic', '--algorithms', 'flash').code).toBe(2);
    expect(cli('bench', '--kernel', 'fancy').stderr).toContain("--kernel takes flash,naive,basic, got 'fancy'");
  });

  it('on webgpu, every row carries the floor and "% of floor", and the table prints it', () => {
    const file = join(tmp, 'bench-gpu.json');
    const r = cli('bench', '--backend', 'webgpu', '--algorithms', 'flash', '--seq', '32', '--heads', '1', '--json', file);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.lines[0]).toContain('of floor');
    const [row] = JSON.parse(readFileSync(file, 'utf8')).results;
    expect(row.floorMs).toBeGreaterThan(0);
    expect(row.pctOfFloor).toBeCloseTo((100 * row.floorMs) / row.msMedian, 6);
    expect(r.stdout).toMatch(new RegExp(`${Math.round(row.pctOfFloor)}%`));
  });

  it('--render merges our JSON and a peer\'s into one table with time / ours per row', () => {
    const ours = join(tmp, 'ours.json');
    const peer = join(tmp, 'peer.json');
    const shape = { heads: 16, seqQ: 4096, seqK: 4096, headDim: 64, causal: false, dtype: 'f32' };
    writeFileSync(ours, JSON.stringify({ results: [{ algorithm: 'flash', ...shape, msMedian: 2, tflops: 30 }] }));
    writeFileSync(peer, JSON.stringify({ results: [{ algorithm: 'torch-sdpa-math', ...shape, msMedian: 5, tflops: 12 }, { algorithm: 'torch-sdpa-flash', ...shape, dtype: 'f16', msMedian: 1, tflops: 60 }] }));
    const merged = join(tmp, 'merged.json');
    const r = cli('bench', '--render', `${ours},${peer}`, '--json', merged);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const line = (alg: string) => r.lines.find((l) => l.startsWith(alg)) ?? '';
    expect(line('torch-sdpa-math')).toContain('2.50×');
    expect(line('torch-sdpa-flash')).toContain('0.50×');
    expect(line('flash')).toContain('1.00×');
    expect(JSON.parse(readFileSync(merged, 'utf8')).results).toHaveLength(3);
    expect(cli('bench', '--render', join(tmp, 'missing.json')).code).toBe(2);
  });
});

describe('cli usage and other commands', () => {
  it('a bad flag exits 2 and prints the usage', () => {
    const r = cli('verify', '--bogus');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--bogus');
    expect(r.stderr).toContain('usage: webgpu-attention');
  });

  it('--dq-tile: only with --backward, as tx,ty,rm,cn[,ds-in-v]; a forced dQ tile runs on the GPU', () => {
    const alone = cli('bench', '--backend', 'cpu', '--dq-tile', '8,8,4,4');
    expect(alone.code).toBe(2);
    expect(alone.stderr).toContain('--dq-tile is a backward tile: add --backward');
    const bad = cli('bench', '--backend', 'cpu', '--backward', '--dq-tile', '8,8,4,4,swizzle');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("--dq-tile takes tx,ty,rm,cn[,ds-in-v], got '8,8,4,4,swizzle'");
    const r = cli('bench', '--backend', 'webgpu', '--algorithms', 'flash', '--backward', '--seq', '64', '--heads', '1', '--samples', '1', '--dq-tile', '8,8,4,4,ds-in-v');
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/attention\.backward\.dq\.v3 [\d.]+ ms/);
  });

  it('an unknown command, or none, exits 2 with the usage', () => {
    expect(cli('frobnicate').code).toBe(2);
    const none = cli();
    expect(none.code).toBe(2);
    expect(none.stdout).toContain('usage: webgpu-attention');
  });

  it('info exits 0, names the chosen backend and says the arithmetic is f32', () => {
    const r = cli('info');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/chosen backend: (webgpu|cpu)/);
    expect(r.stdout).toContain('arithmetic: f32 in every kernel');
  });

  it('explain prints the IO model per step and the totals', () => {
    const r = cli('explain', '--backend', 'cpu', '--seq', '32', '--heads', '1');
    expect(r.code, r.stderr).toBe(0);
    for (const step of ['scores S = scale·QKᵀ', 'softmax P = softmax(S)', 'output O = P·V', 'fused (Q once, K/V per Q tile)']) {
      expect(r.stdout).toContain(step);
    }
    expect(r.lines.filter((l) => /^(naive|flash) +total/.test(l))).toHaveLength(2);
  });
});
