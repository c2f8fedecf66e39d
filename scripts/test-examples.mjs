#!/usr/bin/env node
/*
 * Examples check (`npm run test:examples`, run in CI after `npm run build`):
 *
 *  1. runs examples/node.mjs (a forward on WebGPU where Dawn finds an adapter, else
 *     the CPU, checked against the float64 reference) and again with the CPU forced;
 *     examples/generate.mjs, token-by-token generation through a KV cache (contiguous on
 *     the auto backend, streaming on the CPU), each step checked against recomputing
 *     attention without a cache;
 *  2. a consumer's esbuild bundle: examples/esbuild/entry.js, importing the package
 *     by name, bundled with `bundle: true, platform: 'browser'` and nothing else
 *     (no externals, no aliases), then run;
 *  3. a consumer's Vite app: examples/vite-app built by Vite with no configuration
 *     file;
 *  4. examples/deno.ts under Deno (npm `deno`, a dev dependency): an f16 forward on
 *     Deno's own WebGPU (wgpu) where it finds an adapter, else the CPU, and on the CPU;
 *     and test/fixtures/deno-cpu-threads.mjs: CPU worker threads under Deno, from a
 *     function with nothing else holding the process (it once ended mid-call, exit 0).
 * The consumers sit in a scratch directory whose node_modules/webgpu-attention links
 * to this repository, so they resolve the package by name as an installed one would
 * (the packed tarball itself is checked by check:package). Both bundles must contain
 * the browser stand-ins and no Node-only import. Prints one line per check; exit 1
 * if any failed.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build as esbuild } from 'esbuild';
import { build as viteBuild } from 'vite';

const root = fileURLToPath(new URL('..', import.meta.url));
const examples = join(root, 'examples');
let failures = 0;

/** Runs one named check; a throw is a failure. */
async function check(name, fn) {
  const t0 = Date.now();
  try {
    const note = await fn();
    console.log(`ok    ${name}${note ? `: ${note}` : ''} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
  } catch (e) {
    failures++;
    console.log(`FAIL  ${name}\n        ${String(e instanceof Error ? e.message : e).replace(/\n/g, '\n        ')}`);
  }
}

/** Runs node on `args`; returns its stdout's lines joined by ' | ' (Dawn may warn on stderr), or throws with the output. */
function node(args, cwd) {
  const r = spawnSync(process.execPath, args, { cwd, encoding: 'utf8', timeout: 120_000 });
  const output = `${r.stdout ?? ''}${r.stderr ?? ''}`.trim();
  if (r.status !== 0) throw new Error(`node ${args.join(' ')} exited ${r.status}:\n${output}`);
  return r.stdout.trim().split('\n').join(' | ');
}

/** What a browser bundle must not contain: a Node built-in import, or the Dawn loader. */
function nodeOnly(code) {
  const found = [];
  if (/\bfrom\s*["']node:|import\(\s*["']node:|require\(\s*["']node:/.test(code)) found.push('a node: import');
  if (/import\(\s*["']webgpu["']/.test(code)) found.push("the Dawn loader (import('webgpu'))");
  return found;
}

/** A scratch copy of examples/<name> whose node_modules/webgpu-attention links to this repository. */
function consumer(scratch, name) {
  const dir = join(scratch, name);
  cpSync(join(examples, name), dir, { recursive: true });
  mkdirSync(join(dir, 'node_modules'));
  symlinkSync(root, join(dir, 'node_modules', 'webgpu-attention'), 'dir');
  return dir;
}

const scratch = mkdtempSync(join(tmpdir(), 'webgpu-attention-examples-'));
try {
  await check('examples/node.mjs (auto backend)', () => node([join(examples, 'node.mjs')], root));
  await check('examples/node.mjs cpu', () => node([join(examples, 'node.mjs'), 'cpu'], root));
  await check('examples/generate.mjs (auto backend, contiguous cache)', () => node([join(examples, 'generate.mjs')], root));
  await check('examples/generate.mjs cpu streaming', () => node([join(examples, 'generate.mjs'), 'cpu', 'streaming'], root));

  await check('esbuild bundle (--bundle --platform=browser, no configuration) builds and runs', async () => {
    const dir = consumer(scratch, 'esbuild');
    const out = join(dir, 'bundle.mjs');
    await esbuild({ entryPoints: [join(dir, 'entry.js')], bundle: true, platform: 'browser', format: 'esm', outfile: out, logLevel: 'error' });
    const problems = nodeOnly(readFileSync(out, 'utf8'));
    if (problems.length) throw new Error(`the bundle contains ${problems.join(' and ')}`);
    return node([out], dir);
  });

  await check('Vite app (no configuration file) builds', async () => {
    const dir = consumer(scratch, 'vite-app');
    await viteBuild({ root: dir, configFile: false, logLevel: 'error', build: { outDir: join(dir, 'dist') } });
    const assets = join(dir, 'dist', 'assets');
    const code = readdirSync(assets)
      .filter((f) => f.endsWith('.js'))
      .map((f) => readFileSync(join(assets, f), 'utf8'))
      .join('\n');
    const problems = nodeOnly(code);
    if (!code.includes('createAttention') && !code.includes('forward')) problems.push('no library code');
    if (problems.length) throw new Error(`the build contains ${problems.join(' and ')}`);
    writeFileSync(join(dir, 'ok'), '');
    return `${(code.length / 1024).toFixed(0)} KiB of JavaScript`;
  });

  for (const mode of ['auto', 'cpu']) {
    await check(`examples/deno.ts (${mode} backend) under Deno`, () => {
      const deno = join(root, 'node_modules', '.bin', 'deno');
      const r = spawnSync(
        deno,
        ['run', '--allow-read', '--allow-env', '--allow-ffi', '--allow-sys', join(examples, 'deno.ts'), ...(mode === 'cpu' ? ['cpu'] : [])],
        {
          cwd: root,
          encoding: 'utf8',
          timeout: 120_000,
        },
      );
      const output = `${r.stdout ?? ''}${r.stderr ?? ''}`.trim();
      if (r.status !== 0) throw new Error(`deno exited ${r.status}:\n${output}`);
      return r.stdout.trim().split('\n').join(' | ');
    });
  }
  await check('CPU worker threads under Deno, nothing else holding the process', () => {
    const deno = join(root, 'node_modules', '.bin', 'deno');
    const r = spawnSync(deno, ['run', '--allow-read', '--allow-env', join(root, 'test', 'fixtures', 'deno-cpu-threads.mjs')], {
      cwd: root,
      encoding: 'utf8',
      timeout: 120_000,
    });
    const output = `${r.stdout ?? ''}${r.stderr ?? ''}`.trim();
    if (r.status !== 0 || !/^done: /m.test(r.stdout ?? '')) throw new Error(`deno exited ${r.status} without 'done':\n${output}`);
    if (!/^default threads: 1$/m.test(r.stdout)) throw new Error(`the default under Deno is not inline:\n${output}`);
    return r.stdout.trim().split('\n').join(' | ');
  });
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
console.log(failures ? `${failures} example check(s) failed` : 'all example checks passed');
process.exit(failures ? 1 : 0);
