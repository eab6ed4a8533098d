/**
 * The browser benches' dev server: the project root served by Vite on a free port of 127.0.0.1,
 * Dexie and TanStack DB (and any of `include`) pre-bundled at start-up (discovering them on the
 * first request would reload the page under a running bench), with the bench's own `plugins`. Resolves with the server
 * and its origin. (@sqlite.org/sqlite-wasm is left as it is: it finds its .wasm file and its
 * proxy worker from its own `import.meta.url`.)
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, realpathSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createServer, type Plugin, type ViteDevServer } from 'vite';

export async function benchServer(name: string, plugins: Plugin[] = [], include: string[] = []): Promise<{ server: ViteDevServer; base: string }> {
  const root = fileURLToPath(new URL('..', import.meta.url));
  const server = await createServer({
    configFile: false,
    plugins,
    root,
    cacheDir: fileURLToPath(new URL(`../.tmp/vite-bench-${name}`, import.meta.url)),
    clearScreen: false,
    logLevel: 'warn',
    optimizeDeps: { noDiscovery: true, entries: [], include: ['dexie', '@tanstack/db', ...include] },
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

/**
 * `npm run build` into .tmp/bench-dist-<name>-<pid>/ (removed when the process exits), and a plugin
 * serving those files as a static host would (bytes as they are, ETag, revalidated) at `path`:
 * Vite's dev transform would add a ~1 MB inline source map to jazz-worker.js, and a cold start would
 * time that instead of the file users load.
 */
export function builtDist(name: string): { plugin: Plugin; path: string } {
  const path = `/.tmp/bench-dist-${name}-${process.pid}/`;
  const dir = fileURLToPath(new URL(`..${path}`, import.meta.url));
  execFileSync('npm', ['run', '--silent', 'build'], { env: { ...process.env, JAZZ_DIST: dir }, stdio: 'pipe' });
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  const plugin: Plugin = {
    name: 'bench-built-dist',
    configureServer(s) {
      s.middlewares.use((req, res, next) => {
        const file = (req.url ?? '').split('?')[0]!;
        if (!file.startsWith(path) || !file.endsWith('.js')) return next();
        let body: Buffer;
        try {
          body = readFileSync(fileURLToPath(new URL(`..${file}`, import.meta.url)));
        } catch {
          return next();
        }
        const etag = `"${createHash('sha1').update(body).digest('base64url')}"`;
        res.setHeader('Cache-Control', 'no-cache');
        res.setHeader('ETag', etag);
        if (req.headers['if-none-match'] === etag) {
          res.statusCode = 304;
          return res.end();
        }
        res.setHeader('Content-Type', 'text/javascript');
        res.end(body);
      });
    },
  };
  return { plugin, path };
}
