/*
 * The CLI contract of DESIGN.md, through the built binary (`node dist/cli/main.js`):
 * verify's output lines and exit code, bench's JSON fields, usage errors, info
 * and explain. CI builds dist/ first; a missing build is made here.
 */
import { get } from 'node:http';
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const hasScript = process.platform === 'linux' && spawnSync('script', ['--version']).status === 0;
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

  it('--filter that matches nothing: exit 2 before a device opens, with some case names', () => {
    const r = cli('verify', '--backend', 'cpu', '--filter', 'nonexistent');
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain("--filter 'nonexistent' matches none of the");
    expect(r.stderr).toContain('flash/control');
    expect(r.stderr).not.toContain('backend:');
  });

  it('a filter that matches runs only those cases; no progress bar when stderr is not a terminal', () => {
    const r = cli('verify', '--backend', 'cpu', '--quick', '--filter', 'control', '--seed', '7');
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.lines).toEqual([
      expect.stringMatching(/^ok {3}flash\/control /),
      expect.stringMatching(/^ok {3}naive\/control /),
      expect.stringMatching(/^ok {3}backward\/control /),
      '3 passed, 0 failed',
    ]);
    expect(r.stderr).not.toMatch(/[░█]/);
    expect(r.stderr).toContain('f16 tier: f16-values');
  });

  it.skipIf(!hasScript)('on a terminal: a progress bar on stderr, and the contract lines unchanged', () => {
    // script(1) runs the CLI on a pseudo-terminal (stdout and stderr both), as a person would.
    const r = spawnSync('script', ['-qec', `"${process.execPath}" "${MAIN}" verify --backend cpu --quick --filter control`, '/dev/null'], {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 240_000,
    });
    expect(r.status, r.stdout).toBe(0);
    expect(r.stdout).toMatch(/[░█]+ 0\/3 flash\/control/);
    // With the terminal's line clearing taken out, the lines are verify's usual ones.
    const lines = r.stdout
      // eslint-disable-next-line no-control-regex -- terminal escape sequences start with ESC
      .replace(/\x1b\[[0-9;]*[A-Za-z]/g, '\n')
      .split(/\r?\n/)
      .filter((l) => /^(ok|FAIL) |passed/.test(l));
    expect(lines).toHaveLength(4);
    expect(lines.at(-1)).toBe('3 passed, 0 failed');
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
    expect(r.stderr).toContain('note: these timings come from the CPU backend; they say nothing about GPU speed');
    expect(r.stderr).toMatch(/\[1\/2\] naive f32 B=1 Hq=2 N=32 D=64 …/);
    for (const row of json.results) {
      expect(row).toMatchObject({
        batch: 1,
        heads: 2,
        kvHeads: 2,
        seqQ: 32,
        seqK: 32,
        headDim: 64,
        causal: false,
        dtype: 'f32',
        msMedian: expect.any(Number),
        tflops: expect.any(Number),
        modelBytes: expect.any(Number),
        maxAbsErr: expect.any(Number),
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

  it('a case that cannot run (a forced kernel this adapter lacks) exits 1 and says so; the JSON keeps its error', () => {
    const file = join(tmp, 'bench-failed.json');
    const r = cli(
      'bench',
      '--backend',
      'webgpu',
      '--algorithms',
      'flash',
      '--seq',
      '32',
      '--heads',
      '1',
      '--samples',
      '1',
      '--dtype',
      'f16',
      '--tensor-cores',
      'on',
      '--json',
      file,
    );
    expect(r.code, r.stdout + r.stderr).toBe(1);
    expect(r.stderr).toContain('1 case failed to run: see the note column');
    const [row] = JSON.parse(readFileSync(file, 'utf8')).results;
    expect(row).toMatchObject({ msMedian: null, error: expect.stringMatching(/tensorCores/) });
    expect(row.beyondLimits).toBeUndefined();
  });

  it('on webgpu, every row carries the floor and "% of floor", and the table prints it', () => {
    const file = join(tmp, 'bench-gpu.json');
    const r = cli('bench', '--backend', 'webgpu', '--algorithms', 'flash', '--seq', '32', '--heads', '1', '--json', file);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.lines[0]).toContain('of floor');
    const { vendor, device, description } = JSON.parse(readFileSync(file, 'utf8')).adapter;
    const software = /swiftshader/i.test(`${vendor} ${device} ${description}`);
    expect(r.stderr.includes('note: these timings come from SwiftShader, a software renderer on the CPU; they say nothing about GPU speed')).toBe(software);
    const [row] = JSON.parse(readFileSync(file, 'utf8')).results;
    expect(row.floorMs).toBeGreaterThan(0);
    expect(row.pctOfFloor).toBeCloseTo((100 * row.floorMs) / row.msMedian, 6);
    expect(r.stdout).toMatch(new RegExp(`${Math.round(row.pctOfFloor)}%`));
  });

  it("--render merges our JSON and a peer's into one table with time / ours per row", () => {
    const ours = join(tmp, 'ours.json');
    const peer = join(tmp, 'peer.json');
    const shape = { heads: 16, seqQ: 4096, seqK: 4096, headDim: 64, causal: false, dtype: 'f32' };
    writeFileSync(ours, JSON.stringify({ results: [{ algorithm: 'flash', ...shape, msMedian: 2, tflops: 30 }] }));
    writeFileSync(
      peer,
      JSON.stringify({
        results: [
          { algorithm: 'torch-sdpa-math', ...shape, msMedian: 5, tflops: 12 },
          { algorithm: 'torch-sdpa-flash', ...shape, dtype: 'f16', msMedian: 1, tflops: 60 },
        ],
      }),
    );
    const merged = join(tmp, 'merged.json');
    const r = cli('bench', '--render', `${ours},${peer}`, '--json', merged);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    // Two files: each row names its source (the file, and its backend where it says one).
    const line = (alg: string) => r.lines.find((l) => l.split(/\s+/).includes(alg)) ?? '';
    expect(line('torch-sdpa-math')).toMatch(/^peer\.json .*2\.50×/);
    expect(line('torch-sdpa-flash')).toContain('0.50×');
    expect(line('flash')).toMatch(/^ours\.json .*1\.00×/);
    expect(JSON.parse(readFileSync(merged, 'utf8')).results).toHaveLength(3);
    expect(cli('bench', '--render', join(tmp, 'missing.json')).code).toBe(2);
  });

  it('--render of two of our files (GPU and CPU): rows tell their source, and time / ours says which file it compares with', () => {
    const shape = { heads: 1, seqQ: 64, seqK: 64, headDim: 32, causal: false, dtype: 'f32' };
    const files = (['webgpu', 'cpu'] as const).map((backend, i) => {
      const f = join(tmp, `${backend}.json`);
      writeFileSync(f, JSON.stringify({ adapter: { backend }, results: [{ algorithm: 'flash', ...shape, msMedian: 1 + i, tflops: 1 }] }));
      return f;
    });
    const r = cli('bench', '--render', files.join(','));
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.lines.find((l) => l.startsWith('webgpu.json (webgpu)'))).toContain('1.00×');
    expect(r.lines.find((l) => l.startsWith('cpu.json (cpu)'))).toContain('2.00×');
    expect(r.stdout).toContain("time / ours: against the first file's flash f32 row of each shape");
  });
});

describe('cli bench --plot', () => {
  /** The <path class="series"> elements of an SVG file, after checking it parses as XML. */
  function seriesPaths(file: string) {
    const text = readFileSync(file, 'utf8');
    expect(XMLValidator.validate(text)).toBe(true);
    const svg = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '' }).parse(text).svg;
    const groups = [svg.g].flat().filter((g: { class?: string }) => g.class === 'series-group');
    return groups.map((g: { 'data-label': string; path: { class: string; d: string } }) => ({ label: g['data-label'], ...g.path }));
  }

  it('writes an SVG with one path per algorithm × dtype, axes labelled; --render plots the JSON the same way', () => {
    const [svg, json, again] = ['plot.svg', 'plot.json', 'again.svg'].map((f) => join(tmp, f));
    const r = cli('bench', '--backend', 'cpu', '--seq', '16,32', '--heads', '1', '--dtype', 'f32,f16', '--json', json, '--plot', svg);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const paths = seriesPaths(svg!);
    expect(paths.map((p) => p.label)).toEqual(['naive f32', 'flash f32', 'naive f16', 'flash f16']);
    for (const p of paths) expect(p.d).toMatch(/^M[\d.]+,[\d.]+L[\d.]+,[\d.]+$/); // two points each
    const text = readFileSync(svg!, 'utf8');
    expect(text).toContain('sequence length N');
    expect(text).toContain('TFLOP/s');
    const rendered = cli('bench', '--render', json!, '--plot', again!);
    expect(rendered.code, rendered.stderr).toBe(0);
    expect(seriesPaths(again!).map((p) => p.label)).toEqual(paths.map((p) => p.label));
  });

  it('an unwritable --plot path fails at once (exit 2)', () => {
    const r = cli('bench', '--backend', 'cpu', '--plot', '/nonexistent-dir/x.svg');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--plot');
  });
});

describe('cli usage and other commands', () => {
  it('without XDG_RUNTIME_DIR, the Vulkan loader does not complain about it (the CLI gives it a private folder)', () => {
    const env = { ...process.env };
    delete env.XDG_RUNTIME_DIR;
    const r = spawnSync(process.execPath, [MAIN, 'info'], { cwd: ROOT, encoding: 'utf8', env, timeout: 240_000 });
    expect(r.status).toBe(0);
    expect(r.stderr).not.toContain('XDG_RUNTIME_DIR');
  });

  it("--version prints package.json's version, read beside the built files (any cwd, an installed copy)", () => {
    const version = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version;
    for (const flag of ['--version', '-v']) {
      const r = spawnSync(process.execPath, [MAIN, flag], { cwd: tmp, encoding: 'utf8' });
      expect(r.status).toBe(0);
      expect(r.stdout).toBe(`${version}\n`);
    }
    // As an installed package: dist/ and package.json under node_modules/webgpu-attention/.
    const pkg = join(tmp, 'node_modules/webgpu-attention');
    mkdirSync(pkg, { recursive: true });
    cpSync(join(ROOT, 'dist'), join(pkg, 'dist'), { recursive: true });
    writeFileSync(join(pkg, 'package.json'), JSON.stringify({ name: 'webgpu-attention', version: '9.8.7-installed', type: 'module' }));
    symlinkSync(join(ROOT, 'node_modules/cli-progress'), join(tmp, 'node_modules/cli-progress'));
    const r = spawnSync(process.execPath, [join(pkg, 'dist/cli/main.js'), '--version'], { cwd: tmp, encoding: 'utf8' });
    expect(r.stdout + r.stderr).toBe('9.8.7-installed\n');
  });

  it('--help and -h print the overview; <command> --help its own usage; all exit 0', () => {
    for (const flag of ['--help', '-h']) {
      const r = cli(flag);
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/^usage: webgpu-attention <command>/);
      for (const c of ['info', 'verify', 'bench', 'explain']) expect(r.stdout).toContain(`  ${c} `);
    }
    const own: Record<string, string> = { info: '--backend', verify: '--filter S', bench: '--variant V', explain: '--seq 1024' };
    for (const [c, flag] of Object.entries(own)) {
      const forms = [[c, '--help'], [c, '-h'], ['help', c], ...(c === 'bench' ? [[c, '--seq', '8', '--help']] : [])];
      for (const args of forms) {
        const r = cli(...args);
        expect(r.code, args.join(' ')).toBe(0);
        expect(r.stdout).toMatch(new RegExp(`^usage: webgpu-attention ${c} \\[flags\\]`));
        expect(r.stdout).toContain(flag);
        expect(r.stderr).toBe('');
      }
    }
    expect(cli('bench', '--help').stdout).not.toContain('--quick');
  });

  it('every bad flag exits 2 at once, naming the flag and the value, before any device opens', () => {
    const cases: [string[], string][] = [
      [['bench', '--head-dim', '48'], '--head-dim 48: unsupported head dim; supported: 32, 64, 80, 96, 128, 256'],
      [['bench', '--head-dim', '64,48'], '--head-dim 48'],
      [['explain', '--head-dim', '48'], '--head-dim 48'],
      [['bench', '--heads', '8', '--kv-heads', '3'], '--kv-heads 3 must divide --heads 8'],
      [['bench', '--kv-heads', '16'], '--kv-heads 16 must divide --heads 8'],
      [['bench', '--variant', 'foo'], '--variant foo: unknown; choose from alibi'],
      [['bench', '--variant', 'window:x'], "--variant window:x: 'window' needs a positive number"],
      [
        ['bench', '--json', join(tmp, 'no/such/folder/out.json')],
        `--json ${join(tmp, 'no/such/folder/out.json')}: ${join(tmp, 'no/such/folder')} does not exist`,
      ],
      [['bench', '--json', tmp], `--json ${tmp}: is a folder, not a file`],
      [['bench', '--json', '/proc/out.json'], '--json /proc/out.json: cannot be written'],
      [['bench', '--render', 'x.json', '--json', '/proc/out.json'], '--json /proc/out.json: cannot be written'],
      [['verify', '--seed', 'x'], "--seed takes an integer from 0 to 4294967295, got 'x'"],
      [['verify', '--seed', '-1'], "--seed takes an integer from 0 to 4294967295, got '-1'"],
      [['bench', '--seq', '-5'], "--seq takes positive integers separated by commas, got '-5'"],
      [['bench', '--samples', '-3'], "--samples takes a positive integer, got '-3'"],
      [['verify', '--backend', 'gpu'], "--backend takes auto, webgpu, cpu, got 'gpu'"],
      [['bench', '--backend', 'gpu'], "--backend takes auto, webgpu, cpu, got 'gpu'"],
      [['info', '--backend', 'gpu'], "--backend takes auto, webgpu, cpu, got 'gpu'"],
      [['bench', '--seq', 'abc'], "--seq takes positive integers separated by commas, got 'abc'"],
      [['bench', '--seq', '256,'], "--seq takes positive integers separated by commas, got '256,'"],
      [['bench', '--seq', '0x10'], "--seq takes positive integers separated by commas, got '0x10'"],
      [['bench', '--head-dim', '64,64'], "--head-dim lists 64 twice, got '64,64'"],
      [['explain', '--seq', '1e3'], "--seq takes positive integers separated by commas, got '1e3'"],
      [['bench', '--samples', '0'], "--samples takes a positive integer, got '0'"],
      [['bench', '--samples', '2,3'], "--samples takes a positive integer, got '2,3'"],
      [['bench', '--batch', '1.5'], "--batch takes a positive integer, got '1.5'"],
      [['bench', '--seq-k', ''], "--seq-k takes a positive integer, got ''"],
      [['bench', '--key-splits', 'two'], "--key-splits takes a positive integer, got 'two'"],
      [['bench', '--dtype', 'bf16'], "--dtype takes f32,f16 (a comma list), got 'bf16'"],
      [['bench', '--tile', '8,8'], '--tile takes tx,ty,rm,cn'],
      [['bench', '--tune', '--tile', '8,8,4,4'], '--tune and --tile exclude each other'],
      [['bench', '--tune', '--backend', 'cpu'], '--tune needs the webgpu backend'],
      [['bench', '--backward', '--backend', 'cpu'], '--backward needs the webgpu backend'],
      [
        ['bench', '--backend', 'cpu', '--step-times', '--key-splits', '2'],
        '--key-splits, --step-times steer the WebGPU kernels: the cpu backend has none of them',
      ],
      [['bench', '--tile', '999,999,1,1', '--seq', '32', '--head-dim', '64'], '--tile 999,999,1,1 cannot run at head dim 64: tx must be at most D/4'],
      [['bench', '--tensor-cores', 'on'], '--tensor-cores on forces the f16 tensor-core kernel: --dtype f32 cannot run there'],
      [['bench', '--backward', '--tile', '16,16,16,1', '--head-dim', '64'], '--tile 16,16,16,1 cannot run at head dim 64: it holds 128 accumulator floats'], // --backward: the backward tile's rules
      [['bench', '--backward', '--algorithms', 'naive,flash'], '--algorithms naive,flash: --backward times the fused (flash) backward only'],
      [['explain', '--json', 'x.json'], 'unknown flag --json for this command; flags it takes: --backend'],
      [['info', '--quick'], 'unknown flag --quick for this command; flags it takes: --backend'],
      [['bench', '--sampels', '3'], 'unknown flag --sampels for this command (did you mean --samples?)'],
      [['bench', '--seq', '16', '--seq', '32'], '--seq is given twice; give it once (a list takes commas: --seq a,b)'],
      [['bench', '--render', 'r.json', '--seq', '64'], '--render draws saved results and measures nothing; it takes only --json and --plot, not --seq'],
    ];
    for (const [args, message] of cases) {
      const r = cli(...args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr, args.join(' ')).toContain(message);
      expect(r.stderr, args.join(' ')).toContain(`usage: webgpu-attention ${args[0]} [flags]`);
      // openBackend prints "backend: …" first thing: its absence means no device was opened.
      expect(r.stderr, args.join(' ')).not.toContain('backend: ');
      expect(r.stdout).toBe('');
    }
  });

  it('help with an unknown command or extra words exits 2', () => {
    for (const [args, message] of [
      [['help', 'bogus'], "unknown command 'bogus'"],
      [['help', 'bench', 'extra'], "help takes one command name, got 'bench extra'"],
    ] as const) {
      const r = cli(...args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr, args.join(' ')).toContain(message);
      expect(r.stdout).toBe('');
    }
    expect(cli('help', 'bench').code).toBe(0);
    for (const args of [
      ['help', '--help'],
      ['help', 'bench', '--help'],
      ['help', '-h'],
    ])
      expect(cli(...args).code, args.join(' ')).toBe(0);
  });

  it("'off' for a GPU kernel flag is what the CPU does anyway: the CPU backend takes it", () => {
    const r = cli('bench', '--backend', 'cpu', '--tensor-cores', 'off', '--decode-kernel', 'off', '--seq', '16', '--heads', '1', '--samples', '1');
    expect(r.code, r.stdout + r.stderr).toBe(0);
  });

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
    const r = cli(
      'bench',
      '--backend',
      'webgpu',
      '--algorithms',
      'flash',
      '--backward',
      '--seq',
      '64',
      '--heads',
      '1',
      '--samples',
      '1',
      '--dq-tile',
      '8,8,4,4,ds-in-v',
    );
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/attention\.backward\.dq\.ds-in-v [\d.]+ ms/);
  });

  it('an unknown command, or none, exits 2 with the usage', () => {
    expect(cli('frobnicate').code).toBe(2);
    const none = cli();
    expect(none.code).toBe(2);
    expect(none.stdout).toContain('usage: webgpu-attention');
  });

  it('info exits 0, names the chosen backend, the f16 tier, the arithmetic and whether tensor cores are used', () => {
    const r = cli('info');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/chosen backend: (webgpu|cpu)/);
    expect(r.stderr).not.toContain('backend: '); // said once, in the report (not also in the CLI's banner)
    expect(r.stdout).toMatch(/dtypes: f32; (f16 values held in f32|f16 tier f16-(storage|shader))/);
    // No machine here offers subgroup matrices (SwiftShader, the CPU): said outright, not left to the feature list.
    const gpu = r.stdout.includes('chosen backend: webgpu');
    expect(r.stdout).toContain(
      gpu ? 'arithmetic: f32 products and sums in the SIMT kernels; tensor cores: not offered or off here' : 'arithmetic: f32 products and sums on the CPU',
    );
  });

  it('info --backend cpu names the CPU kernels, not GPU ones', () => {
    const r = cli('info', '--backend', 'cpu');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('chosen backend: cpu (cpu WebAssembly SIMD, TypeScript for modifiers (tiled online softmax))');
    expect(r.stdout).toContain('arithmetic: f32 products and sums on the CPU');
    expect(r.stdout).not.toContain('SIMT');
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

describe('cli demo', () => {
  const SITE = join(ROOT, 'web/dist/index.html');
  beforeAll(() => {
    // `npm run build` builds the site; a checkout that only ran tsc gets it built here (a couple of seconds).
    if (existsSync(SITE)) return;
    const vite = spawnSync(process.execPath, [join(ROOT, 'node_modules/vite/bin/vite.js'), 'build', '--config', 'web/vite.config.ts'], {
      cwd: ROOT,
      encoding: 'utf8',
    });
    if (vite.status !== 0) throw new Error(`vite build failed:\n${vite.stdout}${vite.stderr}`);
  });

  it('serves the built site on a free port: index.html, a JS asset as text/javascript, no path traversal', async () => {
    const child = spawn(process.execPath, [MAIN, 'demo', '--port', '0'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      let stdout = '';
      child.stdout.setEncoding('utf8');
      const url = await new Promise<string>((ok, fail) => {
        child.stdout.on('data', (chunk: string) => {
          stdout += chunk;
          const m = /webgpu-attention demo: (http:\/\/127\.0\.0\.1:\d+\/)/.exec(stdout);
          if (m) ok(m[1]!);
        });
        child.once('exit', (code) => fail(new Error(`demo exited ${code}: ${stdout}`)));
      });
      const index = await fetch(url);
      expect(index.status).toBe(200);
      expect(index.headers.get('content-type')).toMatch(/^text\/html/);
      const html = await index.text();
      const script = /src="\.\/(assets\/[^"]+\.js)"/.exec(html)?.[1];
      expect(script, html).toBeDefined();
      const js = await fetch(url + script);
      expect(js.status).toBe(200);
      expect(js.headers.get('content-type')).toMatch(/^text\/javascript/);
      expect((await js.text()).length).toBeGreaterThan(1000);
      // An encoded '..' segment would leave web/dist: refused.
      expect((await fetch(`${url}assets%2f..%2f..%2f..%2fpackage.json`)).status).toBe(403);
      // Sent as is (fetch would resolve them first): a '..' segment, plain or encoded, and a backslash are refused too.
      const raw = (path: string) =>
        new Promise<number>((done, fail) =>
          get({ host: new URL(url).hostname, port: new URL(url).port, path }, (r) => (r.resume(), done(r.statusCode!))).on('error', fail),
        );
      expect(await Promise.all(['/assets/../index.html', '/assets/%2E%2E/index.html', '/assets\\x.js', '/index.html'].map(raw))).toEqual([403, 403, 403, 200]);
      expect((await fetch(`${url}missing.js`)).status).toBe(404);
    } finally {
      child.kill('SIGTERM');
    }
  });

  it('--port out of range is a usage error (exit 2)', () => {
    const r = cli('demo', '--port', '70000');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("--port takes 0 (a free port) to 65535, got '70000'");
  });
});
