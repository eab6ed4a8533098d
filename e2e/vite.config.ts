/**
 * The dev server the browser tests run against (`e2e/serve.mjs` starts it; playwright.config.ts
 * starts that). It serves the project root as is: TypeScript from src/, worker/ and e2e/ reaches
 * the browser as ES modules, so a spec can start `new Worker('/e2e/worker/x.worker.ts', { type: 'module' })`.
 *
 * `vitest` is aliased to the in-worker harness (`e2e/worker/vitest-shim.ts`): the contract suites
 * in src/store/testing/ import `describe`/`it`/`expect` from 'vitest' and run unchanged in the worker.
 *
 * The scripts that start a page or a worker are served bundled (`bundledEntries` below).
 */
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, defineConfig, type Plugin } from 'vite';

const root = fileURLToPath(new URL('..', import.meta.url));
/** The contract suites' `vitest`, in the browser (see above). */
const vitestAlias = { find: /^vitest$/, replacement: fileURLToPath(new URL('./worker/vitest-shim.ts', import.meta.url)) };

export default defineConfig({
  root,
  cacheDir: fileURLToPath(new URL('../.tmp/vite-e2e', import.meta.url)),
  clearScreen: false,
  logLevel: 'warn',
  resolve: {
    alias: [vitestAlias],
  },
  // Pre-bundle the one npm dependency the browser side has, at start-up: discovering it on the
  // first request would make Vite reload the page under a running test.
  optimizeDeps: { noDiscovery: true, entries: [], include: ['@vitest/expect'] },
  server: { host: '127.0.0.1', strictPort: true, hmr: false, watch: null },
  plugins: [bundledEntries()],
});

/**
 * Serves each entry script (the pages' `/e2e/page/*.ts`, and the workers' `/worker/worker.ts`,
 * `/worker/broker.ts`, `/e2e/worker/*.worker.ts`) bundled from the same sources, instead of
 * Vite's module by module: a browser starts a module's imports only once it has it, so in a fresh
 * browser (most tests start one) the database worker's ~90 modules took ~1 s to arrive and a client
 * page's ~30 modules ~0.4 s, in every test that opens a database.
 *
 * What stays as it is: each module's `import.meta.url` is still its own source URL (so
 * `new URL('../worker.ts', import.meta.url)` finds the worker), a dynamic `import()` still loads
 * its module when called (a chunk beside the entry), a worker's query string (`?hold=1500`) still
 * reaches it as `location.search`. Each entry is bundled once, on its first request; the server does
 * not watch files (`watch: null`), as for the modules it serves. What ships is the library build
 * (vite.config.ts), which the build specs test.
 */
function bundledEntries(): Plugin {
  const entry = /^\/(worker\/(worker|broker)\.ts|e2e\/worker\/[\w-]+\.worker\.ts|e2e\/page\/[\w-]+\.ts)$/;
  /** Entry path → its files by path (the entry's own, and its chunks beside it). */
  const bundles = new Map<string, Promise<Map<string, string>>>();
  /** A chunk's path → the bundle that made it. */
  const chunks = new Map<string, string>();
  const bundle = async (path: string): Promise<Map<string, string>> => {
    const dir = path.slice(1, path.lastIndexOf('/') + 1);
    const out = await build({
      configFile: false,
      root,
      mode: 'development',
      logLevel: 'warn',
      publicDir: false,
      resolve: { alias: [vitestAlias] },
      // Vite's build would turn `process.env` into `{}`; the contract suites read their replay
      // seeds from it behind `typeof process` (contract.worker.ts defines `process` for them).
      define: { 'process.env': 'process.env' },
      plugins: [
        {
          name: 'jazz-e2e-source-urls',
          enforce: 'pre',
          transform(code, id) {
            if (!code.includes('import.meta.url') || id.includes('/node_modules/')) return null;
            const url = `new URL(${JSON.stringify(`/${relative(root, id.split('?')[0]!)}`)}, self.location.href).href`;
            return { code: code.replaceAll('import.meta.url', url), map: null };
          },
        },
      ],
      build: {
        write: false,
        target: 'es2022',
        minify: false,
        sourcemap: 'inline',
        modulePreload: false,
        rolldownOptions: {
          input: root + path.slice(1),
          // No tree-shaking: package.json's `sideEffects` would drop `import '../../worker/worker.ts'`.
          treeshake: false,
          output: { format: 'es', entryFileNames: path.slice(1), chunkFileNames: `${dir}bundled-[name]-[hash].js` },
        },
      },
    });
    const [result] = Array.isArray(out) ? out : [out];
    const files = new Map<string, string>();
    for (const o of (result as { output: { type: string; fileName: string; code?: string }[] }).output) {
      if (o.type === 'chunk' && o.code !== undefined) files.set(`/${o.fileName}`, o.code);
    }
    if (!files.has(path)) throw new Error(`bundling ${path} gave no ${path}`);
    for (const file of files.keys()) if (file !== path) chunks.set(file, path);
    return files;
  };
  return {
    name: 'jazz-e2e-bundled-entries',
    configureServer(server) {
      server.middlewares.use((req, res, next) => {
        const path = new URL(req.url ?? '/', 'http://x').pathname;
        const owner = chunks.get(path) ?? (entry.test(path) ? path : undefined);
        if (req.method !== 'GET' || owner === undefined) return next();
        let files = bundles.get(owner);
        if (!files) {
          files = bundle(owner);
          bundles.set(owner, files);
          files.catch(() => bundles.delete(owner));
        }
        files.then(
          (f) => {
            res.setHeader('Content-Type', 'text/javascript');
            res.setHeader('Cache-Control', 'no-cache');
            res.end(f.get(path));
          },
          (e: unknown) => {
            server.config.logger.error(`bundling ${path}: ${String(e)}`);
            res.statusCode = 500;
            res.end(String(e));
          },
        );
      });
    },
  };
}
