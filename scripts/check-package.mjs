#!/usr/bin/env node
/*
 * Package check (`npm run check:package`, run in CI after `npm run build`): what
 * `npm publish` would ship, checked the way its consumers will use it.
 *
 *  1. Packs the package (`npm pack`, scripts skipped: dist/ is already built) and
 *     checks the file list: dist/ JavaScript with its .d.ts and source maps, the
 *     TypeScript sources the maps point at, README, LICENSE, CHANGELOG and docs;
 *     nothing else (no tests, bench scripts or CI files); every path package.json
 *     names (main, types, exports, bin, browser) is in it.
 *  2. No dangling source maps: every `sourceMappingURL` and every map's `sources`
 *     resolve to a packed file (a stale dist/ file whose source was deleted fails).
 *  3. Every relative link and image in the packed Markdown resolves to a packed file.
 *     The built demo site, web/dist/ (index.html and its assets), is in it.
 *  4. In a scratch directory, installs the tarball (dependencies from the registry;
 *     the optional `webgpu` package left out: the CPU backend needs no Dawn) and
 *     (a) bundles a browser entry with esbuild, `--platform=browser`, no externals,
 *         checks that the browser stand-ins replaced the Node-only modules, and runs
 *         the bundle on the CPU backend;
 *     (b) type-checks a consumer with this repository's TypeScript and the tsconfig
 *         `tsc --init` writes, the package's .d.ts included (skipLibCheck off);
 *     (c) imports the installed package in Node and runs a forward on the CPU
 *         backend against the float64 reference;
 *     (d) starts the installed `webgpu-attention demo` on a free port and fetches
 *         index.html and every script and stylesheet it names;
 *     (e) imports the framework adapters (`webgpu-attention/tfjs`, `/onnxruntime`) in
 *         Node with their optional peers (tfjs, onnxruntime-web) not installed: they
 *         load, and refuse a framework without a WebGPU backend with the library's error.
 *     The consumer of (b) imports the adapters too, so their .d.ts name no peer types.
 *
 * Prints one line per check and exits 1 if any failed. KEEP_SCRATCH=1 keeps the
 * scratch directory (its path is printed).
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = fileURLToPath(new URL('..', import.meta.url));
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));

/** Files that may sit at the package's top level (npm adds package.json itself). */
const ROOT_FILES = ['package.json', 'README.md', 'LICENSE', 'CHANGELOG.md'];
/** Folders that may be shipped, and what may be in them. */
const SHIPPED = [
  { dir: 'dist/', allowed: /\.(js|d\.ts|js\.map)$/ },
  { dir: 'src/', allowed: /\.ts$/ },
  { dir: 'docs/', allowed: /\.(md|png|svg|jpg)$/ },
  // The built demo site that `webgpu-attention demo` serves (`npm run build` or prepack builds it).
  { dir: 'web/dist/', allowed: /\.(html|js|css|wasm|svg|png|ico)$/ },
];
/** The Node-only modules and the browser stand-ins that package.json's "browser" field swaps in. */
const BROWSER_SWAPS = Object.entries(pkg.browser ?? {});

/** Problems printed per check (the rest are counted). */
const MAX_SHOWN = 12;

let failures = 0;
/** Prints one check's outcome; `problems` empty means it passed. */
function report(name, problems) {
  if (problems.length === 0) {
    console.log(`ok    ${name}`);
    return;
  }
  failures++;
  console.log(`FAIL  ${name}`);
  for (const p of problems.slice(0, MAX_SHOWN)) console.log(`        ${p}`);
  if (problems.length > MAX_SHOWN) console.log(`        … and ${problems.length - MAX_SHOWN} more`);
}

/** Runs a command; returns its stdout, or throws with its output when it fails. */
function run(cmd, args, cwd) {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) {
    const output = `${r.stdout ?? ''}${r.stderr ?? ''}${r.error ? String(r.error) : ''}`.trim();
    throw new Error(`${cmd} ${args.join(' ')} (in ${cwd}) exited ${r.status}:\n${output}`);
  }
  return r.stdout;
}

/** Packs the package into `dir`; returns the tarball's path and the packed file paths. */
function pack(dir) {
  const out = run('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', dir], root);
  const [info] = JSON.parse(out);
  return { tarball: join(dir, info.filename), files: new Set(info.files.map((f) => f.path)) };
}

/** Every path package.json points at, without the leading './'. */
function namedPaths() {
  const paths = [pkg.main, pkg.types, ...Object.values(pkg.bin ?? {})];
  const walk = (v) => (typeof v === 'string' ? paths.push(v) : v && Object.values(v).forEach(walk));
  walk(pkg.exports);
  for (const [from, to] of BROWSER_SWAPS) paths.push(from, to);
  return paths.filter(Boolean).map((p) => posix.normalize(p));
}

/** Check 1: the file list. */
function checkFileList(files) {
  const problems = [];
  for (const f of files) {
    if (ROOT_FILES.includes(f)) continue;
    const place = SHIPPED.find((s) => f.startsWith(s.dir));
    if (!place) problems.push(`${f}: not expected in the package`);
    else if (!place.allowed.test(f)) problems.push(`${f}: not expected in ${place.dir}`);
    if (/(^|\/)(test|__tests__)\/|\.test\.[jt]s$/.test(f)) problems.push(`${f}: a test file`);
  }
  for (const f of ROOT_FILES) if (!files.has(f)) problems.push(`${f}: missing`);
  if (!files.has('web/dist/index.html')) problems.push('web/dist/index.html: missing (the demo site; `npm run build:web` first)');
  for (const p of namedPaths()) if (!files.has(p)) problems.push(`${p}: named in package.json but not packed`);
  for (const f of files) {
    if (!f.startsWith('dist/') || !f.endsWith('.js')) continue;
    for (const twin of [f.replace(/\.js$/, '.d.ts'), `${f}.map`]) if (!files.has(twin)) problems.push(`${twin}: missing beside ${f}`);
  }
  report(`file list (${files.size} files)`, problems);
}

/** Check 2: every source map reference and every map's sources resolve inside the package. */
function checkSourceMaps(files, unpacked) {
  const problems = [];
  let maps = 0;
  for (const f of files) {
    if (f.endsWith('.js')) {
      const url = /\/\/# sourceMappingURL=(\S+)\s*$/.exec(readFileSync(join(unpacked, f), 'utf8'))?.[1];
      if (url && !url.startsWith('data:') && !files.has(posix.join(posix.dirname(f), url))) problems.push(`${f}: sourceMappingURL ${url} is not packed`);
    }
    if (!f.endsWith('.map')) continue;
    maps++;
    const map = JSON.parse(readFileSync(join(unpacked, f), 'utf8'));
    for (const [i, source] of map.sources.entries()) {
      if (map.sourcesContent?.[i] != null) continue; // the map carries the text itself
      const path = posix.normalize(posix.join(posix.dirname(f), map.sourceRoot ?? '', source));
      if (!files.has(path)) problems.push(`${f}: source ${source} (${path}) is not packed`);
    }
  }
  report(`source maps (${maps} maps, none dangling)`, problems);
}

/** The link targets of a Markdown text: inline links and images, and reference definitions; code left out. */
function markdownLinks(text) {
  const prose = text.replace(/^(```|~~~)[^]*?^\1/gm, '').replace(/`[^`\n]*`/g, '');
  const inline = [...prose.matchAll(/!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)].map((m) => m[1]);
  const defined = [...prose.matchAll(/^\s*\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)/gm)].map((m) => m[1]);
  return [...inline, ...defined];
}

/** Check 3: relative links in the packed Markdown resolve to packed files. */
function checkLinks(files, unpacked) {
  const problems = [];
  let links = 0;
  for (const f of files) {
    if (!f.endsWith('.md')) continue;
    for (const target of markdownLinks(readFileSync(join(unpacked, f), 'utf8'))) {
      if (/^([a-z][a-z0-9+.-]*:|\/\/|#)/i.test(target)) continue; // absolute, or an anchor in the same file
      links++;
      const path = posix.normalize(posix.join(posix.dirname(f), decodeURI(target.replace(/[#?].*$/, ''))));
      const isDir = [...files].some((p) => p.startsWith(path.replace(/\/?$/, '/')));
      if (!files.has(path) && !isDir) problems.push(`${f}: link ${target} does not resolve inside the package`);
    }
  }
  report(`Markdown links (${links} relative links)`, problems);
}

/** A scratch project with the tarball installed (no optional dependencies), and the unpacked tarball. */
function install(scratch, tarball) {
  const consumer = join(scratch, 'consumer');
  mkdirSync(consumer);
  writeFileSync(join(consumer, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }, null, 2));
  run('npm', ['install', '--no-audit', '--no-fund', '--omit=optional', tarball], consumer);
  return { consumer, unpacked: join(consumer, 'node_modules', pkg.name) };
}

/** What every consumer below computes: a causal forward on the CPU, printed next to the float64 reference. */
const SMOKE = `
const attn = await createAttention({ backend: 'cpu' });
const [B, H, N, D] = [1, 2, 5, 32];
const data = (seed) => Float32Array.from({ length: B * H * N * D }, (_, i) => Math.sin(seed * 1000 + i * 0.37));
const [qd, kd, vd] = [data(1), data(2), data(3)];
const { out } = await attn.forward(attn.tensor(qd, [B, H, N, D]), attn.tensor(kd, [B, H, N, D]), attn.tensor(vd, [B, H, N, D]), { causal: true });
const got = await out.read();
const host = (data) => ({ data, shape: { batch: B, heads: H, seq: N, headDim: D }, layout: 'bhnd' });
const want = referenceForward(host(qd), host(kd), host(vd), { causal: true }).out;
const err = got.reduce((m, x, i) => Math.max(m, Math.abs(x - want[i])), 0);
console.log(\`backend \${attn.backend}: out[0..3] = \${[...got.slice(0, 4)].map((x) => x.toFixed(6)).join(' ')}, max |out - reference| = \${err.toExponential(2)}\`);
if (!(err < 1e-5)) throw new Error('forward differs from the reference');
attn.destroy();
`;

/** Check 4a: a browser bundle with no externals, the stand-ins swapped in, run on the CPU backend. */
async function checkBundle(consumer) {
  const problems = [];
  writeFileSync(join(consumer, 'browser-entry.js'), `import { createAttention, referenceForward } from '${pkg.name}';\n${SMOKE}`);
  const result = await build({
    absWorkingDir: consumer,
    entryPoints: ['browser-entry.js'],
    outfile: 'bundle.mjs',
    bundle: true,
    platform: 'browser',
    format: 'esm',
    metafile: true,
    logLevel: 'silent',
  }).catch((e) => ({ error: e }));
  if (result.error) {
    report('esbuild --bundle --platform=browser', result.error.errors?.map((e) => `${e.location?.file ?? ''}: ${e.text}`) ?? [String(result.error)]);
    return;
  }
  const inputs = Object.keys(result.metafile.inputs);
  for (const [nodeOnly, browser] of BROWSER_SWAPS) {
    if (inputs.some((i) => i.endsWith(nodeOnly.slice(1)))) problems.push(`${nodeOnly} is in the browser bundle`);
    if (!inputs.some((i) => i.endsWith(browser.slice(1)))) problems.push(`${browser} is not in the browser bundle`);
  }
  const bundle = readFileSync(join(consumer, 'bundle.mjs'), 'utf8');
  for (const m of bundle.matchAll(/\b(?:import\s*\(|from\s*)\s*["'](node:[^"']+|webgpu)["']/g)) problems.push(`the bundle imports ${m[1]}`);
  const bytes = Buffer.byteLength(bundle);
  try {
    console.log(`      ${run('node', ['bundle.mjs'], consumer).trim()}`);
  } catch (e) {
    problems.push(`the bundle does not run: ${e.message}`);
  }
  report(`esbuild --bundle --platform=browser, no externals (${inputs.length} modules, ${(bytes / 1024).toFixed(0)} KiB)`, problems);
}

/** Check 4b: a consumer type-checks with the tsconfig that `tsc --init` writes, the package's .d.ts included. */
function checkTypes(consumer) {
  const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  writeFileSync(
    join(consumer, 'consumer.ts'),
    `import { createAttention, causal, type ForwardOptions } from '${pkg.name}';
import { attentionOp, type TfAttention } from '${pkg.name}/tfjs';
import { ortAttention, type OrtTensorLike } from '${pkg.name}/onnxruntime';

const attn = await createAttention({ backend: 'cpu' });
const q = attn.tensor(new Float32Array(4 * 32), [1, 1, 4, 32]);
const options: ForwardOptions = { mask: causal() };
const { out } = await attn.forward(q, q, q, options);
const values: Float32Array = await out.read();
// The WebGPU types arrive with the package: a consumer can name them without installing anything.
const device: GPUDevice | undefined = undefined;
console.log(values.length, device, attentionOp, ortAttention);
export type Adapters = [TfAttention<{ dataId: object; shape: number[]; dtype: string }>, OrtTensorLike];
`,
  );
  const problems = [];
  try {
    run('node', [tsc, '--init'], consumer);
    const version = run('node', [tsc, '--version'], consumer).trim();
    run('node', [tsc, '-p', '.', '--noEmit', '--skipLibCheck', 'false'], consumer);
    report(`tsc --noEmit, default tsconfig (${version}, skipLibCheck off)`, problems);
  } catch (e) {
    report('tsc --noEmit, default tsconfig', e.message.split('\n'));
  }
}

/** Check 4c: the installed package imported in Node, a forward on the CPU backend. */
function checkNode(consumer) {
  const code = `const { createAttention, referenceForward } = await import('${pkg.name}');\n${SMOKE}`;
  try {
    console.log(`      ${run('node', ['--input-type=module', '-e', code], consumer).trim()}`);
    report(`node: import('${pkg.name}'), forward on the CPU backend`, []);
  } catch (e) {
    report(`node: import('${pkg.name}'), forward on the CPU backend`, e.message.split('\n'));
  }
}

/** Check 4d: the installed CLI's `demo` serves the packed site: index.html and the assets it names. */
async function checkDemo(consumer) {
  const name = 'webgpu-attention demo: serves index.html and its assets from the installed package';
  const bin = join(consumer, 'node_modules', pkg.name, pkg.bin['webgpu-attention']);
  const child = spawn(process.execPath, [bin, 'demo', '--port', '0'], { cwd: consumer, stdio: ['ignore', 'pipe', 'pipe'] });
  const problems = [];
  try {
    const url = await new Promise((ok, fail) => {
      let out = '';
      child.stdout.setEncoding('utf8');
      child.stdout.on('data', (chunk) => {
        out += chunk;
        const m = /(http:\/\/\S+\/)/.exec(out);
        if (m) ok(m[1]);
      });
      child.once('exit', (code) => fail(new Error(`demo exited ${code} before printing its URL: ${out}`)));
      setTimeout(() => fail(new Error('demo printed no URL within 20 s')), 20_000);
    });
    const index = await fetch(url);
    const html = await index.text();
    if (index.status !== 200 || !html.includes('<html')) problems.push(`GET / → ${index.status}, not the page`);
    const assets = [...html.matchAll(/(?:src|href)="\.\/([^"]+\.(?:js|css))"/g)].map((m) => m[1]);
    if (assets.length === 0) problems.push('index.html names no script or stylesheet');
    for (const a of assets) {
      const r = await fetch(url + a);
      if (r.status !== 200) problems.push(`GET /${a} → ${r.status}`);
    }
    console.log(`      ${url}: index.html and ${assets.length} assets`);
  } catch (e) {
    problems.push(e.message);
  } finally {
    child.kill('SIGTERM');
  }
  report(name, problems);
}

/** Check 4e: the adapters load with their optional peers absent, and refuse a framework with no WebGPU backend. */
function checkAdapters(consumer) {
  const name = `node: import('${pkg.name}/tfjs') and ('${pkg.name}/onnxruntime') without the peers`;
  const code = `
const { attentionOp } = await import('${pkg.name}/tfjs');
const { ortAttention } = await import('${pkg.name}/onnxruntime');
const { AttentionInputError } = await import('${pkg.name}');
for (const peer of ['@tensorflow/tfjs-core', 'onnxruntime-web']) {
  if (await import(peer).then(() => true, () => false)) throw new Error(peer + ' is installed: the check needs it absent');
}
const tfOnCpu = { getBackend: () => 'cpu', backend: () => ({}) };
const refused = await attentionOp(tfOnCpu).then(() => 'accepted', (e) => e instanceof AttentionInputError ? 'refused' : String(e));
const noDevice = await ortAttention({ env: { webgpu: { device: undefined } } }).then(() => 'accepted', (e) => e instanceof AttentionInputError ? 'refused' : String(e));
console.log('tfjs on cpu: ' + refused + ', onnxruntime without a device: ' + noDevice);
if (refused !== 'refused' || noDevice !== 'refused') throw new Error('adapters did not refuse');
`;
  try {
    console.log(`      ${run('node', ['--input-type=module', '-e', code], consumer).trim()}`);
    report(name, []);
  } catch (e) {
    report(name, e.message.split('\n'));
  }
}

async function main() {
  const scratch = mkdtempSync(join(tmpdir(), 'check-package-'));
  try {
    const { tarball, files } = pack(scratch);
    console.log(`packed ${tarball}`);
    checkFileList(files);
    const { consumer, unpacked } = install(scratch, tarball);
    checkSourceMaps(files, unpacked);
    checkLinks(files, unpacked);
    await checkBundle(consumer);
    checkTypes(consumer);
    checkNode(consumer);
    checkAdapters(consumer);
    await checkDemo(consumer);
  } finally {
    if (process.env.KEEP_SCRATCH) console.log(`scratch directory kept: ${scratch}`);
    else rmSync(scratch, { recursive: true, force: true });
  }
  console.log(failures === 0 ? 'package ok' : `${failures} package check(s) failed`);
  process.exit(failures === 0 ? 0 : 1);
}

await main();
