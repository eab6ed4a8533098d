/**
 * The dev server the browser tests run against (`e2e/serve.mjs` starts it; playwright.config.ts
 * starts that). It serves the project root as is: TypeScript from src/, worker/ and e2e/ reaches
 * the browser as ES modules, so a spec can start `new Worker('/e2e/worker/x.worker.ts', { type: 'module' })`.
 *
 * `vitest` is aliased to the in-worker harness (`e2e/worker/vitest-shim.ts`): the contract suites
 * in src/store/testing/ import `describe`/`it`/`expect` from 'vitest' and run unchanged in the worker.
 */
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const root = fileURLToPath(new URL('..', import.meta.url));

export default defineConfig({
  root,
  cacheDir: fileURLToPath(new URL('../.tmp/vite-e2e', import.meta.url)),
  clearScreen: false,
  logLevel: 'warn',
  resolve: {
    alias: [{ find: /^vitest$/, replacement: fileURLToPath(new URL('./worker/vitest-shim.ts', import.meta.url)) }],
  },
  // Pre-bundle the one npm dependency the browser side has, at start-up: discovering it on the
  // first request would make Vite reload the page under a running test.
  optimizeDeps: { noDiscovery: true, entries: [], include: ['@vitest/expect'] },
  server: { host: '127.0.0.1', strictPort: true, hmr: false, watch: null },
});
