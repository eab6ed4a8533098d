/**
 * `npm start`: the reference sync server in development mode on port 4000 (JAZZ_PORT to change),
 * storing under ./data, then a short tour of the engine as a client of it. The server keeps running
 * (Ctrl-C stops it cleanly). Once the demo app exists, this serves it too.
 */
import { startSyncServer } from './sync-server.ts';
import { runTour } from './example.ts';

const port = Number(process.env.JAZZ_PORT ?? 4000);
const server = await startSyncServer({ port, dataDir: process.env.JAZZ_DATA ?? './data', dev: true });
console.log(`jazz server (development mode) on ${server.url}, data in ${process.env.JAZZ_DATA ?? './data'}`);
console.log('  ⚠ development mode: anonymous clients, schemas adopted from clients. Never expose it.\n');
await runTour(server.url);
console.log(`\nThe server keeps running on ${server.url}; press Ctrl-C to stop it.`);
const stop = async () => {
  await server.close();
  process.exit(0);
};
process.on('SIGINT', () => void stop());
process.on('SIGTERM', () => void stop());
