#!/usr/bin/env node
// Serves the project for the browser tests: the Vite dev server of e2e/vite.config.ts on a free
// port of 127.0.0.1 (a secure context, so OPFS, SharedWorker and Web Locks work). Prints
// "e2e server ready at http://127.0.0.1:<port>/"; playwright.config.ts waits for that line and
// takes the port from it. Runs until killed.
import { createServer as createNetServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { createServer } from 'vite';

const port = Number(process.env.JAZZ_E2E_PORT) || (await freePort());
const server = await createServer({
  configFile: fileURLToPath(new URL('./vite.config.ts', import.meta.url)),
  server: { port },
});
await server.listen();
console.log(`e2e server ready at http://127.0.0.1:${port}/`);

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    void server.close().finally(() => process.exit(0));
  });
}

function freePort() {
  return new Promise((resolve, reject) => {
    const probe = createNetServer();
    probe.unref();
    probe.on('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}
