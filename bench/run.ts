/**
 * `npm run bench`: every benchmark scenario, one after another. Pass a name to run one:
 * `npm run bench -- live-queries`.
 */
import { spawnSync } from 'node:child_process';

const scenarios: Record<string, string[]> = {
  'live-queries': ['bench/live-queries.ts'],
  sync: ['bench/sync.ts'],
  store: ['bench/store.ts'],
  'engine-files': ['bench/engine-files.ts'],
  browser: ['bench/browser.ts'],
  dom: ['bench/dom.ts'],
  // One list of 10,000 rows, virtual and plain, beside the same rows rendered from memory (issue 17).
  list: ['bench/list.ts'],
  // P3 and P4 in Firefox and WebKitGTK beside Dexie there (issue 19).
  engines: ['bench/engines.ts'],
  lenses: ['bench/lenses.ts'],
  history: ['bench/history.ts'],
  // Files and live streams through the server, beside raw OPFS and raw WebSocket (issue 14).
  files: ['bench/files.ts'],
  // A server node on PostgreSQL opening an app of 100,000 rows (needs Debian's postgresql).
  'pg-replay': ['bench/pg-replay.ts'],
  // One app's write rate on PostgreSQL beside memory (needs Debian's postgresql).
  'pg-write': ['bench/pg-write.ts'],
  // P13: 2,000 clients over 1 and 3 nodes, on files and PostgreSQL (needs Debian's postgresql).
  scale: ['bench/scale.ts'],
  // Not in the default run: needs a revision to compare with (`npm run bench -- revisions <rev>`).
  revisions: ['bench/revisions.ts'],
};
const only = process.argv[2];
for (const [name, args] of Object.entries(scenarios)) {
  if (only ? only !== name : name === 'revisions') continue;
  console.log(`\n═══ ${name}`);
  const r = spawnSync('npx', ['tsx', ...args, ...process.argv.slice(3)], { stdio: 'inherit' });
  if (r.status !== 0) process.exitCode = 1;
}
