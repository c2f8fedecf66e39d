#!/usr/bin/env node
/*
 * End-to-end tests of the demo page in a real browser (`npm run test:e2e`, after
 * `vite build`): Debian's /usr/bin/chromium driven by playwright-core (no browser
 * download), headless, WebGPU on SwiftShader, the built site served from
 * web/dist on 127.0.0.1. Checks the walkthrough's numbers, a finished benchmark
 * with its charts, the playground's result and its error message, and the CPU
 * fallback in a browser without WebGPU, examples/browser.html (the unbundled
 * dist/, so `npm run build` first), and webgpu-attention/onnxruntime on a real
 * onnxruntime-web WebGPU session's GPU outputs (web/e2e/ort/, built to web/dist-ort).
 * Saves each view's screenshot to docs/screenshots/. Prints one line per check
 * (`skip` lines, with their reason, count as neither) and `N passed, M failed`.
 *
 * The flags that give headless Chromium a WebGPU adapter on SwiftShader (no GPU,
 * no display) are WEBGPU_FLAGS below; docs/web.md explains them.
 */
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { serve } from './serve.mjs';

const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
/** Quiet, offline, reproducible headless Chromium. */
const BASE_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];
/** WebGPU in headless Chromium without a GPU: the unsafe-WebGPU switch (Linux), on Dawn's SwiftShader adapter. */
const WEBGPU_FLAGS = ['--enable-unsafe-webgpu', '--use-webgpu-adapter=swiftshader'];
/** A browser without WebGPU: the page must say so and fall back to the CPU backend. */
const NO_WEBGPU_FLAGS = ['--disable-webgpu'];
const SHOTS = fileURLToPath(new URL('../../docs/screenshots/', import.meta.url));
const DIST = fileURLToPath(new URL('../dist/', import.meta.url));
const ORT_DIST = fileURLToPath(new URL('../dist-ort/', import.meta.url));
const E = Math.E;
const EXACT = (2 * E + 4 * E ** 2 + 8 * E ** 3) / (E + E ** 2 + E ** 3);

let passed = 0;
let failed = 0;
/** Runs one named check; a throw is a failure with its message. */
async function check(name, fn) {
  const t0 = Date.now();
  try {
    await fn();
    passed++;
    console.log(`ok    ${name} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
  } catch (e) {
    failed++;
    console.log(`FAIL  ${name}: ${e instanceof Error ? e.message : String(e)}`);
  }
}
function expect(cond, message) {
  if (!cond) throw new Error(message);
}
function near(got, want, tol, what) {
  expect(Math.abs(got - want) <= tol, `${what}: got ${got}, want ${want} ± ${tol}`);
}

/** A page of a fresh headless Chromium with `flags`, console errors collected into `errors`. */
async function openPage(flags, errors) {
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: [...BASE_FLAGS, ...flags] });
  const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
  return { browser, page };
}

/** Runs the benchmark view at small N in `dtype` (f32, f16 or both) and waits for it to finish. */
async function runBenchmark(page, url, seqs, dtype = 'f32') {
  await page.goto(`${url}#benchmark`);
  await page.fill('#bench-seqs', seqs);
  await page.fill('#bench-heads', '1');
  await page.fill('#bench-samples', '1');
  await page.selectOption('#bench-dtype', dtype);
  await page.click('#bench-run');
  await page.waitForSelector('#benchmark[data-state="done"], #benchmark[data-state="failed"]', { timeout: 120_000 });
  expect((await page.getAttribute('#benchmark', 'data-state')) === 'done', `benchmark: ${await page.textContent('#bench-status')}`);
  const rows = await page.$$eval('#bench-table tbody tr', (trs) => trs.map((tr) => tr.textContent ?? ''));
  const want = 2 * seqs.split(',').length * (dtype === 'both' ? 2 : 1);
  expect(rows.length === want, `expected ${want} result rows, got ${rows.length}`);
  expect(!rows.some((r) => r.includes('failed')), `a case failed: ${rows.find((r) => r.includes('failed'))}`);
  expect((await page.$$('#bench-charts figure svg')).length === 2, 'two charts drawn');
  expect((await page.$$('#bench-charts path.series')).length >= 2, 'chart lines drawn');
  expect((await page.getAttribute('#bench-json', 'download')) === 'bench.json', 'JSON download link');
  return rows;
}

async function webgpuPage(url) {
  const errors = [];
  const { browser, page } = await openPage(WEBGPU_FLAGS, errors);
  try {
    await check('walkthrough: online softmax = (2e¹+4e²+8e³)/(e¹+e²+e³), and the library agrees', async () => {
      await page.goto(`${url}#walkthrough`);
      await page.waitForFunction(() => !document.querySelector('#wt-library')?.textContent?.includes('computing'));
      near(Number(await page.textContent('#wt-online')), EXACT, 1e-12, 'online');
      near(Number(await page.textContent('#wt-exact')), EXACT, 1e-12, 'closed form');
      near(Number(await page.textContent('#wt-library')), EXACT, 1e-5, 'library forward');
      const stepRows = await page.$$('#wt-steps tbody tr');
      expect(stepRows.length === 3, `3 steps, got ${stepRows.length}`);
    });
    await check('walkthrough: IO model and causal tile maps (N=1024, tile 64)', async () => {
      await page.check('#wt-causal');
      await page.waitForFunction(
        () => document.querySelectorAll('#wt-maps figure').length === 3 && document.querySelector('#wt-io')?.textContent?.includes('up to the diagonal'),
      );
      const causalMap = await page.$eval('#wt-maps figure', (f) => ({ ...f.dataset }));
      expect(causalMap.empty === '120' && causalMap.partial === '16' && causalMap.full === '120', `causal 16×16 map: ${JSON.stringify(causalMap)}`);
      const ratio = parseFloat(await page.textContent('#wt-ratio'));
      expect(ratio > 3, `naive/flash bytes ratio ${ratio}`);
      await page.screenshot({ path: `${SHOTS}walkthrough.png`, fullPage: true });
    });
    await check('benchmark on WebGPU (SwiftShader): naive and flash, f32 and f16, at N = 64, 128, with charts', async () => {
      const rows = await runBenchmark(page, url, '64,128', 'both');
      // A finished f16 row (cells: algorithm, dtype, N, ms, …), and every chart has a series per algorithm × dtype.
      const f16 = await page.$$eval('#bench-table tbody tr', (trs) =>
        trs.map((tr) => [...tr.cells].map((c) => c.textContent ?? '')).filter((c) => c[1] === 'f16'),
      );
      expect(f16.length === 4 && f16.every((c) => Number(c[3]) > 0), `f16 rows: ${JSON.stringify(f16)} of ${rows.length}`);
      const series = await page.$$eval('#bench-charts figure', (fs) => fs.map((f) => f.dataset.series));
      expect(series.length === 2 && series.every((s) => s === 'naive f32,flash f32,naive f16,flash f16'), `chart series: ${series}`);
      const json = await page.$eval('#bench-json', async (a) => (await fetch(a.href)).json());
      const dtypes = json.results.map((r) => r.dtype).join(',');
      expect(dtypes === 'f32,f32,f16,f16,f32,f32,f16,f16', `JSON dtypes: ${dtypes}`);
      expect((await page.textContent('#backend-line')).includes('WebGPU'), `backend line: ${await page.textContent('#backend-line')}`);
      await page.screenshot({ path: `${SHOTS}benchmark.png`, fullPage: true });
    });
    await check('playground: the default variant runs and matches the float64 reference', async () => {
      await page.goto(`${url}#playground`);
      await page.fill('#pg-n', '128');
      await page.click('#pg-run');
      await page.waitForSelector('#pg-result, #pg-error', { timeout: 120_000 });
      expect((await page.$('#pg-error')) === null, `error: ${await page.textContent('#pg-error').catch(() => '')}`);
      expect((await page.getAttribute('#pg-result', 'data-ok')) === 'true', await page.textContent('#pg-result'));
      expect((await page.$$('#pg-out .tilemap canvas')).length === 1, 'block mask drawn');
      await page.screenshot({ path: `${SHOTS}playground.png`, fullPage: true });
    });
    await check('playground: bad text gets a message at the character position', async () => {
      await page.fill('#pg-mask', 'q - kv < 8 && kv <= foo');
      await page.click('#pg-run');
      await page.waitForSelector('#pg-error');
      const text = await page.textContent('#pg-error');
      expect(text.includes("mask at character 21: unknown name 'foo'"), `message: ${text}`);
      expect(text.includes('\n' + ' '.repeat(20) + '^'), `caret under 'foo': ${JSON.stringify(text)}`);
      await page.screenshot({ path: `${SHOTS}playground-error.png` });
    });
    await check('no page errors with WebGPU', async () => expect(errors.length === 0, errors.join('\n')));
  } finally {
    await browser.close();
  }
}

async function cpuPage(url, repoUrl) {
  const errors = [];
  const { browser, page } = await openPage(NO_WEBGPU_FLAGS, errors);
  try {
    await check('without WebGPU: a clear message, and the benchmark runs on the CPU backend', async () => {
      await runBenchmark(page, url, '64,128');
      const notice = await page.textContent('#bench-notice');
      expect((await page.isVisible('#bench-notice')) && notice.includes('CPU backend'), `notice: ${notice}`);
      expect(!/VK_ICD_FILENAMES|Node package/.test(notice), `a browser's reason, not Node's advice: ${notice}`);
      expect((await page.getAttribute('#backend-line', 'data-backend')) === 'cpu', 'backend line says cpu');
      await page.screenshot({ path: `${SHOTS}benchmark-cpu.png`, fullPage: true });
    });
    await check("without WebGPU: the playground at 2 heads × 256 rows (above the CPU backend's threading threshold) matches float64", async () => {
      await page.goto(`${url}#playground`);
      await page.fill('#pg-n', '256');
      await page.click('#pg-run');
      await page.waitForSelector('#pg-result, #pg-error', { timeout: 120_000 });
      expect((await page.$('#pg-error')) === null, `error: ${await page.textContent('#pg-error').catch(() => '')}`);
      expect((await page.getAttribute('#pg-result', 'data-ok')) === 'true', await page.textContent('#pg-result'));
    });
    await check('examples/browser.html: the unbundled dist/ runs a forward and matches the reference', async () => {
      await page.goto(`${repoUrl}examples/browser.html`);
      await page.waitForSelector('#out[data-max-abs-err]', { timeout: 60_000 });
      const err = Number(await page.getAttribute('#out', 'data-max-abs-err'));
      expect(err < 1e-4, `max |Δ| ${err}: ${await page.textContent('#out')}`);
    });
    await check('no page errors without WebGPU', async () => expect(errors.length === 0, errors.join('\n')));
  } finally {
    await browser.close();
  }
}

/** The checks of one ortAttention run of web/e2e/ort/main.ts (one entry of its report's cases). */
function expectOrtCase(c) {
  expect(c.status === 'ok', `status ${c.status}: ${c.reason ?? ''}`);
  expect(
    c.locations.every((l) => l === 'gpu-buffer'),
    `q, k, v, O locations: ${c.locations}`,
  );
  expect(c.out.type === c.dtype && c.out.dims.join() === '1,19,4,32', `O: ${JSON.stringify(c.out)}`);
  expect(c.onOrtDevice, "ortAttention's Attention is not on ORT's device");
  expect(c.boundInPlace, "the op did not bind ORT's q, k, v buffers and O's own buffer");
  const t = c.traffic;
  expect(t.uploads === 0 && t.mapAsyncs === 0 && t.copies === 0, `host traffic or copies during the op: ${JSON.stringify(t)}`);
  expect(c.projErr <= c.projTol, `ORT's Q, K, V vs X·W in float64: ${c.projErr} > ${c.projTol}`);
  expect(c.err <= c.tol, `O vs the float64 reference: ${c.err} > ${c.tol} (naive ${c.dtype} error ${c.naiveErr})`);
  expect(c.nextErr <= 1e-5, `next session's y = O·Wo vs float64: ${c.nextErr}`);
}

async function ortPage(url) {
  const errors = [];
  const { browser, page } = await openPage(WEBGPU_FLAGS, errors);
  try {
    let report;
    await check(
      "onnxruntime-web WebGPU session on the caller's device: Q, K, V as GPU tensors → ortAttention in place → next session, f32 vs float64",
      async () => {
        await page.goto(url);
        await page.waitForSelector('#out[data-state]', { timeout: 300_000 });
        const text = await page.textContent('#out');
        expect((await page.getAttribute('#out', 'data-state')) === 'done', text);
        report = JSON.parse(text);
        expectOrtCase(report.cases.find((c) => c.dtype === 'float32' && c.device === 'caller'));
      },
    );
    const f16 = report?.cases.find((c) => c.dtype === 'float16');
    const f16Name = 'onnxruntime-web: the same in f16';
    if (f16?.status === 'skipped' && !report.shaderF16) console.log(`skip  ${f16Name}: ${f16.reason}`);
    else await check(f16Name, async () => expectOrtCase(f16));
    await check("onnxruntime-web on ORT's own device (a session without one; ortAttention finds it in ort.env.webgpu.device), f32", async () => {
      expect(report?.ortOwnDevice, 'ORT did not put a device of its own in ort.env.webgpu.device');
      expectOrtCase(report.cases.find((c) => c.device === 'ort'));
    });
    // ORT logs its f16 refusal as a console error when it cannot run f16 (reported above as a skip).
    const expected = (e) => f16?.status === 'skipped' && e.includes('requires f16 but the device does not support it');
    await check('no page errors on the onnxruntime-web page', async () => expect(errors.every(expected), errors.filter((e) => !expected(e)).join('\n')));
  } finally {
    await browser.close();
  }
}

const t0 = Date.now();
mkdirSync(SHOTS, { recursive: true });
const server = await serve(DIST);
// The repository root, for examples/browser.html (it loads ../dist/, the library as built by `npm run build`).
const repo = await serve(fileURLToPath(new URL('../../', import.meta.url)));
const ortServer = await serve(ORT_DIST);
try {
  await webgpuPage(server.url);
  await cpuPage(server.url, repo.url);
  await ortPage(ortServer.url);
} finally {
  await server.close();
  await repo.close();
  await ortServer.close();
}
console.log(`e2e: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed > 0 ? 1 : 0);
