/*
 * Vite configuration of the demo site (web/). The page imports the library
 * from ../src (TypeScript, compiled by Vite), so the Node-only GPU and tuning
 * modules are swapped for their browser stand-ins here, as package.json's "browser"
 * field does for bundlers that import the built package. (The third pair, the CPU's
 * worker threads, is not swapped: the page's CPU fallback runs on its own thread, which
 * threads-node.ts does where it finds no Node.) `base: './'` makes every
 * asset path relative: the built web/dist works from any static host and path,
 * with no CDN and no network.
 */
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

/** Node-only module of src/runtime → its browser stand-in (the "browser" field's pairs, on the sources). */
const BROWSER_SWAPS = [
  { find: /^\.\/gpu-node\.js$/, replacement: './gpu-browser.js' },
  { find: /^\.\/tuning-node\.js$/, replacement: './tuning-browser.js' },
];

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: './',
  resolve: { alias: BROWSER_SWAPS },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    // One page, one bundle: the library, uPlot and jsep together are a few hundred kB.
    chunkSizeWarningLimit: 1024,
  },
  preview: { host: '127.0.0.1', strictPort: false },
  server: { host: '127.0.0.1' },
});
