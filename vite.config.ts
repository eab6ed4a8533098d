/**
 * The library build (`npm run build`): the drop-in files a page imports with no bundler.
 *
 *   dist/jazz.js          the page side: createDb (worker/page/client.ts), the schema builder, errors
 *   dist/jazz-worker.js   the database's module worker (worker/worker.ts): engine, stores, sync
 *   dist/jazz-inspector.js <jazz-inspector> (elements/jazz-inspector.ts), a page's development view of
 *                         its database, loaded only by pages that add its script tag
 *   dist/jazz-broker.js   the tab broker, a SharedWorker (worker/broker.ts) that connects the
 *                         tabs of one database to their leader
 *
 * Three builds, one per file (`vite build`, then `--mode worker` and `--mode broker`), so each file is one
 * self-contained ES module with no shared chunk: the page never loads the engine, and the worker
 * file is found relative to jazz.js (`new URL('./jazz-worker.js', import.meta.url)`, see
 * worker/page/worker-url.dist.ts, put in place of worker-url.ts here; the broker likewise). `JAZZ_DIST` overrides the
 * output folder (the build spec writes to .tmp/). `JAZZ_MINIFY=0` keeps names and whitespace (for CPU
 * profiles that name functions: `PROFILE=… npm run bench -- browser`).
 *
 * The browser tests' dev server has its own config (e2e/vite.config.ts); Vitest has vitest.config.ts.
 */
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const here = (p: string): string => fileURLToPath(new URL(p, import.meta.url));

export default defineConfig(({ mode }) => {
  // Builds that add one self-contained file beside jazz.js (the inspector imports only types).
  const worker = mode === 'worker' || mode === 'broker' || mode === 'inspector';
  const minify = process.env['JAZZ_MINIFY'] !== '0';
  const file = mode === 'worker' ? 'jazz-worker.js' : mode === 'broker' ? 'jazz-broker.js' : mode === 'inspector' ? 'jazz-inspector.js' : 'jazz.js';
  return {
    root: here('.'),
    publicDir: false,
    clearScreen: false,
    logLevel: 'warn',
    resolve: {
      alias: worker
        ? // The page reads `where` strings and objects; the worker gets query ASTs (worker/no-where-parser.ts).
          mode === 'worker'
          ? [
              { find: /^\.\/where-parser\.ts$/, replacement: here('./worker/no-where-parser.ts') },
              { find: /^\.\/where-object\.ts$/, replacement: here('./worker/no-where-parser.ts') },
            ]
          : []
        : [
            { find: /^\.\/worker-url\.ts$/, replacement: here('./worker/page/worker-url.dist.ts') },
            // Lit's stylesheet support, unused by the elements (see elements/no-styles.ts).
            { find: /^\.\/css-tag\.js$/, replacement: here('./elements/no-styles.ts') },
          ],
    },
    build: {
      outDir: process.env['JAZZ_DIST'] ?? here('./dist'),
      // The page build runs first and clears the folder; the worker builds add their files.
      emptyOutDir: !worker,
      target: 'es2022',
      minify: minify ? 'oxc' : false,
      // Vite keeps whitespace in an ES library (so a consumer's bundler can tree-shake with the
      // pure annotations); these files are the end product, loaded as they are, so minify fully.
      // The page's lazy parts (elements/lazy.ts) are chunks beside jazz.js, named for their module
      // (jazz-more.js, jazz-virtual.js) and found relative to it, like the worker.
      // `comments: { annotation: false }`: no `/* @__PURE__ */` marks (41 in jazz.js) in files
      // nothing tree-shakes again.
      // `allow-extension`: what the entry shares with a lazy part stays in jazz.js (which gets
      // internal exports for it) instead of going to a third, shared chunk every page would load.
      rolldownOptions: { preserveEntrySignatures: 'allow-extension', output: { minify, comments: { annotation: false }, ...(worker ? {} : { chunkFileNames: 'jazz-[name].js' }) } },
      sourcemap: true,
      reportCompressedSize: false,
      lib: {
        entry:
          mode === 'worker' ? here('./worker/worker.ts') : mode === 'broker' ? here('./worker/broker.ts') : mode === 'inspector' ? here('./elements/jazz-inspector.ts') : here('./elements/jazz.ts'),
        formats: ['es'],
        fileName: () => file,
      },
    },
  };
});
