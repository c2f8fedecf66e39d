/*
 * `bench --backend cpu --peers` through the built binary: every installed CPU peer
 * (onnxruntime-web, onnxruntime-node, tfjs-wasm — optional dev dependencies) gets a
 * row whose error against the float64 reference is under bench's f32 bar, on a shape
 * that exercises grouped-query K/V and bottom-right causal alignment with Nq ≠ Nk; a
 * peer hidden with WEBGPU_ATTENTION_HIDE_PEERS (standing in for "not installed") is
 * one line naming what to install; --peers and --threads without --backend cpu are
 * usage errors before any device opens.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const MAIN = join(ROOT, 'dist/cli/main.js');
const tmp = mkdtempSync(join(tmpdir(), 'webgpu-attention-peers-'));

/** Peer row name → the packages it needs. */
const PEERS: Record<string, string[]> = {
  'onnxruntime-web': ['onnxruntime-web'],
  'onnxruntime-node': ['onnxruntime-node'],
  'tfjs-wasm': ['@tensorflow/tfjs-core', '@tensorflow/tfjs-backend-wasm'],
};
// Not require.resolve: onnxruntime-web's "exports" does not export its package.json.
const installed = (pkg: string) => existsSync(join(ROOT, 'node_modules', pkg, 'package.json'));
const installedPeers = Object.keys(PEERS).filter((p) => PEERS[p]!.every(installed));

function cli(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [MAIN, ...args], { cwd: ROOT, encoding: 'utf8', timeout: 240_000, env: { ...process.env, ...env } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The peers table's rows (after its header line), each split into cells, by impl name. */
function peerRows(stdout: string): Map<string, Record<string, string>> {
  const lines = stdout.split('\n');
  const at = lines.findIndex((l) => l.startsWith('impl '));
  expect(at, stdout).toBeGreaterThanOrEqual(0);
  const header = lines[at]!.trim().split(/\s{2,}/);
  const rows = new Map<string, Record<string, string>>();
  for (const line of lines.slice(at + 2)) {
    if (!line.trim()) break;
    const cells = line.trim().split(/\s{2,}/);
    rows.set(cells[0]!.split(' ')[0]!, Object.fromEntries(header.map((h, i) => [h, cells[i] ?? ''])));
  }
  return rows;
}

const SHAPE = ['--seq', '17', '--seq-k', '40', '--heads', '2', '--kv-heads', '1', '--head-dim', '32', '--causal', '--algorithms', 'flash', '--samples', '1'];

beforeAll(() => {
  if (existsSync(MAIN)) return;
  const tsc = spawnSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'], { cwd: ROOT, encoding: 'utf8' });
  if (tsc.status !== 0) throw new Error(`build failed:\n${tsc.stdout}${tsc.stderr}`);
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('cli bench --peers', () => {
  it('lists every installed peer with its error against the reference under 1e-3, ours first; JSON has the rows', () => {
    const json = join(tmp, 'peers.json');
    const r = cli(['bench', '--backend', 'cpu', '--peers', '--threads', '1', ...SHAPE, '--json', json]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const rows = peerRows(r.stdout);
    expect([...rows.keys()]).toEqual(['ours', ...installedPeers]);
    for (const name of installedPeers) {
      const row = rows.get(name)!;
      expect(Number(row['max err']), `${name}: ${JSON.stringify(row)}`).toBeLessThan(1e-3);
      expect(Number(row.ms)).toBeGreaterThan(0);
      expect(row['time / ours']).toMatch(/^\d+\.\d\d×$/);
      expect(row.threads).toBe('1');
    }
    const out = JSON.parse(readFileSync(json, 'utf8')) as { cpu: { threads: number }; peers: { algorithm: string; maxAbsErr: number; timeOverOurs: number }[] };
    expect(out.cpu.threads).toBe(1);
    expect(out.peers.map((p) => p.algorithm)).toEqual(installedPeers);
    for (const p of out.peers) expect(p.maxAbsErr).toBeLessThan(1e-3);
  });

  it('a hidden (or missing) peer is one line saying what to install, and the others still run', () => {
    const r = cli(['bench', '--backend', 'cpu', '--peers', '--threads', '1', ...SHAPE], { WEBGPU_ATTENTION_HIDE_PEERS: 'onnxruntime-node' });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const lines = r.stderr.split('\n').filter((l) => l.includes('onnxruntime-node'));
    expect(lines).toEqual([
      'peer onnxruntime-node skipped: onnxruntime-node is hidden by WEBGPU_ATTENTION_HIDE_PEERS (to time it: npm install -D --save-exact onnxruntime-node@1.30.0)',
    ]);
    expect([...peerRows(r.stdout).keys()]).toEqual(['ours', ...installedPeers.filter((p) => p !== 'onnxruntime-node')]);
  });

  it('--peers and --threads need --backend cpu: a usage error before any device opens', () => {
    for (const args of [['--peers'], ['--backend', 'webgpu', '--peers'], ['--backend', 'webgpu', '--threads', '2']]) {
      const r = cli(['bench', ...args]);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toContain('add --backend cpu');
      expect(r.stderr).not.toMatch(/^backend: /m); // openBackend's line: no device was opened
    }
    expect(cli(['bench', '--backend', 'cpu', '--peers', '--variant', 'alibi']).stderr).toContain('--peers times plain attention');
    expect(cli(['bench', '--backend', 'cpu', '--threads', '0']).stderr).toContain('--threads takes a positive integer');
  });
});
