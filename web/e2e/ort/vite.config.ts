/*
 * Vite configuration of the onnxruntime-web end-to-end page (web/e2e/ort/): the demo
 * site's configuration (the same browser swaps of src/runtime's Node-only modules),
 * rooted here and built into web/dist-ort/ — outside web/dist, so the package does not
 * ship ORT's 27 MB wasm. `npm run test:e2e` builds it; web/e2e/e2e.mjs serves it.
 */
import { fileURLToPath } from 'node:url';
import { defineConfig, mergeConfig } from 'vite';
import site from '../../vite.config.js';

export default mergeConfig(
  site,
  defineConfig({
    root: fileURLToPath(new URL('.', import.meta.url)),
    build: {
      outDir: '../../dist-ort',
      emptyOutDir: true,
      // onnxruntime-web's bundle is ~400 kB of JS beside its wasm.
      chunkSizeWarningLimit: 2048,
    },
  }),
);
