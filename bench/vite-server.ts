/**
 * The browser benches' dev server: the project root served by Vite on a free port of 127.0.0.1,
 * Dexie and TanStack DB pre-bundled at start-up (discovering them on the first request would
 * reload the page under a running bench), with the bench's own `plugins`. Resolves with the server
 * and its origin. (@sqlite.org/sqlite-wasm is left as it is: it finds its .wasm file and its
 * proxy worker from its own `import.meta.url`.)
 */
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createServer, type Plugin, type ViteDevServer } from 'vite';

export async function benchServer(name: string, plugins: Plugin[] = []): Promise<{ server: ViteDevServer; base: string }> {
  const root = fileURLToPath(new URL('..', import.meta.url));
  const server = await createServer({
    configFile: false,
    plugins,
    root,
    cacheDir: fileURLToPath(new URL(`../.tmp/vite-bench-${name}`, import.meta.url)),
    clearScreen: false,
    logLevel: 'warn',
    optimizeDeps: { noDiscovery: true, entries: [], include: ['dexie', '@tanstack/db'] },
    // node_modules by its real path too (it may be a link out of the root): SQLite's .wasm is fetched, not imported.
    server: { host: '127.0.0.1', port: 0, hmr: false, watch: null, fs: { allow: [root, realpathSync(`${root}node_modules`)] } },
  });
  await server.listen();
  const addr = server.httpServer!.address();
  return { server, base: `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}` };
}

/**
 * Serves every response with COOP/COEP headers, so the pages are cross-origin isolated:
 * `performance.now()` is not coarsened to 0.1 ms, and SharedArrayBuffer (SQLite's `opfs` VFS) works.
 */
export const crossOriginIsolation: Plugin = {
  name: 'bench-cross-origin-isolation',
  configureServer(s) {
    s.middlewares.use((_req, res, next) => {
      res.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
      res.setHeader('Cross-Origin-Embedder-Policy', 'require-corp');
      next();
    });
  },
};
