/**
 * The browser benches' dev server: the project root served by Vite on a free port of 127.0.0.1,
 * Dexie pre-bundled at start-up (discovering it on the first request would reload the page under
 * a running bench), with the bench's own `plugins`. Resolves with the server and its origin.
 */
import { fileURLToPath } from 'node:url';
import { createServer, type Plugin, type ViteDevServer } from 'vite';

export async function benchServer(name: string, plugins: Plugin[] = []): Promise<{ server: ViteDevServer; base: string }> {
  const server = await createServer({
    configFile: false,
    plugins,
    root: fileURLToPath(new URL('..', import.meta.url)),
    cacheDir: fileURLToPath(new URL(`../.tmp/vite-bench-${name}`, import.meta.url)),
    clearScreen: false,
    logLevel: 'warn',
    optimizeDeps: { noDiscovery: true, entries: [], include: ['dexie'] },
    server: { host: '127.0.0.1', port: 0, hmr: false, watch: null },
  });
  await server.listen();
  const addr = server.httpServer!.address();
  return { server, base: `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}` };
}
