/*
 * ESLint (flat config): typescript-eslint's recommended rules without type
 * information (fast enough for every CI run), plus the layer boundaries of
 * DESIGN.md: each folder of src/ imports only the folders above it in
 * LAYERS, and cli/ only api/ and harness/. Formatting is Prettier's job.
 */
import js from '@eslint/js';
import { defineConfig } from 'eslint/config';
import tseslint from 'typescript-eslint';

/** The folders of src/, top (imports nothing of ours) to bottom (may import the rest). */
const LAYERS = ['tensor', 'mods', 'reference', 'kernels', 'runtime', 'cpu', 'api', 'adapters', 'harness', 'cli'];

/**
 * Folders a layer may not import although they are above it: the runtime is a generic executor
 * (kernels/ lower the modifiers, issue #12), cli/ goes only through api/ and harness/, and the
 * framework adapters (package subpaths, not used by the harness or CLI) only through api/ and tensor/.
 */
const ALSO_FORBIDDEN = {
  runtime: ['mods'],
  adapters: ['mods', 'reference', 'kernels', 'runtime', 'cpu'],
  harness: ['adapters'],
  cli: ['tensor', 'mods', 'reference', 'kernels', 'runtime', 'cpu', 'adapters'],
};

/** A no-restricted-imports rule forbidding relative imports of `folders` from src/<layer>/. */
function forbid(layer, folders) {
  return {
    'no-restricted-imports': [
      'error',
      {
        patterns: folders.map((f) => ({
          // '../runtime/x.js' from src/<layer>/, '../../runtime/x.js' from a subfolder, './runtime/x.js' from src/index.ts.
          regex: `^(\\.\\.?/)+${f}(/|$)`,
          message: `layers: src/${layer}/ must not import src/${f}/ (see LAYERS in eslint.config.js).`,
        })),
      },
    ],
  };
}

const layerRules = LAYERS.map((layer, i) => ({
  files: [`src/${layer}/**/*.ts`],
  rules: forbid(layer, [...LAYERS.slice(i + 1), ...(ALSO_FORBIDDEN[layer] ?? [])]),
}));

export default defineConfig(
  {
    ignores: [
      'dist/',
      'web/dist/',
      'web/dist-ort/',
      'docs/api/',
      'asm/',
      'src/cpu/wasm-binary.gen.ts',
      'node_modules/',
      'bench/results/',
      '.gpu/',
      '.ab/',
      '.tc/',
    ],
  },
  js.configs.recommended,
  tseslint.configs.recommended,
  ...layerRules,
  // The package entry re-exports the public surface (api/ and what it names); never the harness or CLI.
  { files: ['src/index.ts'], rules: forbid('index.ts', ['harness', 'cli', 'adapters']) },
  // The bench probes run WebGPU in Node through the `webgpu` package, which installs these globals.
  { files: ['bench/**/*.mjs'], languageOptions: { globals: { GPUBufferUsage: 'readonly', GPUMapMode: 'readonly', GPUShaderStage: 'readonly' } } },
  // The end-to-end tests hand functions to the page (page.waitForFunction), which run there, with the browser's globals.
  { files: ['web/e2e/**/*.mjs'], languageOptions: { globals: { document: 'readonly' } } },
  // The browser examples run in a page.
  { files: ['examples/vite-app/**/*.js', 'examples/esbuild/**/*.js'], languageOptions: { globals: { document: 'readonly' } } },
  {
    languageOptions: {
      // The Node globals the plain .mjs scripts use (TypeScript files are checked by tsc, so no-undef is off there).
      globals: {
        console: 'readonly',
        process: 'readonly',
        performance: 'readonly',
        URL: 'readonly',
        Buffer: 'readonly',
        fetch: 'readonly',
        setTimeout: 'readonly',
      },
    },
    rules: {
      // `_` marks a deliberately unused name: the modifier signatures' unused positions (score(s, b, h, q, kv)), a skipped destructured value.
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
);
