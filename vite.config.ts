/**
 * The library build (`npm run build`): the drop-in files a page imports with no bundler.
 *
 *   dist/jazz.js          the page side: createDb (worker/page/client.ts), the schema builder, errors
 *   dist/jazz-worker.js   the database's module worker (worker/worker.ts): engine, stores, sync
 *
 * Two builds, one per file (`vite build` then `vite build --mode worker`), so each file is one
 * self-contained ES module with no shared chunk: the page never loads the engine, and the worker
 * file is found relative to jazz.js (`new URL('./jazz-worker.js', import.meta.url)`, see
 * worker/page/worker-url.dist.ts, put in place of worker-url.ts here). `JAZZ_DIST` overrides the
 * output folder (the build spec writes to .tmp/).
 *
 * The browser tests' dev server has its own config (e2e/vite.config.ts); Vitest has vitest.config.ts.
 */
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const here = (p: string): string => fileURLToPath(new URL(p, import.meta.url));

export default defineConfig(({ mode }) => {
  const worker = mode === 'worker';
  return {
    root: here('.'),
    publicDir: false,
    clearScreen: false,
    logLevel: 'warn',
    resolve: {
      alias: worker ? [] : [{ find: /^\.\/worker-url\.ts$/, replacement: here('./worker/page/worker-url.dist.ts') }],
    },
    build: {
      outDir: process.env['JAZZ_DIST'] ?? here('./dist'),
      // The page build runs first and clears the folder; the worker build adds its file.
      emptyOutDir: !worker,
      target: 'es2022',
      minify: 'oxc',
      // Vite keeps whitespace in an ES library (so a consumer's bundler can tree-shake with the
      // pure annotations); these files are the end product, loaded as they are, so minify fully.
      rolldownOptions: { output: { minify: true } },
      sourcemap: true,
      reportCompressedSize: false,
      lib: {
        entry: worker ? here('./worker/worker.ts') : here('./worker/page/index.ts'),
        formats: ['es'],
        fileName: () => (worker ? 'jazz-worker.js' : 'jazz.js'),
      },
    },
  };
});
