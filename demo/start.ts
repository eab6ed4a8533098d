/**
 * `npm start`: builds the drop-in script (`npm run build`, about 2 s), then runs the demo (demo/)
 * on the reference sync server at http://localhost:4000/ (JAZZ_PORT to change), storing under
 * ./data (JAZZ_DATA). See demo/server.ts. Ctrl-C stops it cleanly.
 *
 * The engine's tour as a Node client: `npx tsx server/example.ts`.
 */
import { spawnSync } from 'node:child_process';
import { startDemoServer } from './server.ts';
import { createLogger } from '../server/log.ts';

const port = Number(process.env.JAZZ_PORT ?? 4000);
const dataDir = process.env.JAZZ_DATA ?? './data';

console.log('building dist/jazz.js and its workers…');
const build = spawnSync('npm', ['run', '--silent', 'build'], { stdio: 'inherit' });
if (build.status !== 0) {
  console.error('npm run build failed; see above');
  process.exit(1);
}

let demo: Awaited<ReturnType<typeof startDemoServer>>;
try {
  // The server's log: one short line per record at a terminal, JSON lines otherwise (server/log.ts).
  demo = await startDemoServer({ port, dataDir, distDir: './dist', logger: createLogger({ format: process.stdout.isTTY ? 'pretty' : 'json' }) });
} catch (e) {
  console.error(`jazz demo: ${(e as Error).message}`);
  process.exit(1);
}
console.log(`
jazz demo: ${demo.url}
  Open it, sign in as one user; open it again in another browser profile or a private window and
  sign in as someone else. Data is kept in ${dataDir}; the sync endpoint is ws://localhost:${demo.port}/apps/demo/ws.
  ⚠ The demo's sign-in hands a token to anyone for any name. Never expose this server.
  Ctrl-C stops it.`);

let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  await demo.close();
  process.exit(0);
};
process.on('SIGINT', () => void stop());
process.on('SIGTERM', () => void stop());
