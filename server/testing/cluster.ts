/**
 * For tests and benchmarks: several server nodes on one PostgreSQL.
 *
 * - `processCluster(n, args)`: n real servers, each `server/cli.ts` with `args` (`--postgres url`
 *   for several; `--data dir` for one on files) as a child process (testing/cli-process.ts), that the caller can kill (SIGKILL), stop (SIGTERM, a drain)
 *   and restart (on a new free port); `route` gives each new client connection a random live
 *   node's URL (a dead one's too, now and then, while it restarts: the client retries).
 * - `inProcessNodes(url, n, opts)`: n servers in this process on the same database.
 * - `publishOver(adminUrl, appId, schema, permissions, secret)`: publishes through the admin routes
 *   of one node, and `servedBy(url, appId, secret)` waits until a node serves the app.
 */
import { startSyncServer, type SyncServer, type SyncServerOptions } from '../sync-server.ts';
import { canonicalSchemaJSON, type AppSchema } from '../../src/schema/schema.ts';
import type { Permissions } from '../../src/policy/define.ts';
import { startCli, type Cli } from './cli-process.ts';

export interface ProcessCluster {
  /** The running nodes (undefined while one is down). */
  readonly nodes: readonly (Cli | undefined)[];
  /** SIGKILL (or SIGTERM with `graceful`) node i; resolves when it has exited. */
  stop(i: number, graceful?: boolean): Promise<void>;
  /** Starts node i again. */
  restart(i: number): Promise<void>;
  /** The URL a new connection goes to: a random node's, with the client's path. */
  route(url: string, random: () => number): string;
  /** Ends every node (SIGKILL). */
  destroy(): Promise<void>;
}

export async function processCluster(n: number, args: readonly string[]): Promise<ProcessCluster> {
  const start = () => startCli(['--port', '0', '--log-level', 'warn', ...args]);
  const nodes: (Cli | undefined)[] = await Promise.all(Array.from({ length: n }, start));
  // A node's last URL, so clients keep trying it while it restarts.
  const urls = nodes.map((c) => c!.url);
  return {
    nodes,
    async stop(i, graceful = false) {
      const node = nodes[i];
      nodes[i] = undefined;
      await (graceful ? node?.stop() : node?.kill());
    },
    async restart(i) {
      const node = await start();
      nodes[i] = node;
      urls[i] = node.url;
    },
    route(url, random) {
      const path = new URL(url).pathname;
      return `${urls[Math.floor(random() * urls.length)]}${path}`;
    },
    async destroy() {
      await Promise.all(nodes.map((c) => c?.kill()));
    },
  };
}

export async function inProcessNodes(postgres: string, n: number, opts: Partial<SyncServerOptions> = {}): Promise<SyncServer[]> {
  const nodes: SyncServer[] = [];
  for (let i = 0; i < n; i++) nodes.push(await startSyncServer({ port: 0, log: () => {}, ...opts, postgres }));
  return nodes;
}

const httpOf = (url: string) => url.replace(/^ws/, 'http');

export async function publishOver(url: string, appId: string, schema: AppSchema, secret: string, permissions?: Permissions): Promise<void> {
  const post = async (what: string, body: string) => {
    const res = await fetch(`${httpOf(url)}/apps/${appId}/admin/${what}`, { method: 'POST', headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' }, body });
    if (!res.ok) throw new Error(`publishing the ${what} of ${appId}: ${res.status} ${await res.text()}`);
  };
  await post('schema', canonicalSchemaJSON(schema));
  if (permissions) await post('permissions', JSON.stringify(permissions));
}

/** Waits until the node at `url` serves `appId` with the given schema hash (10 s at most). */
export async function servedBy(url: string, appId: string, hash: string, secret: string): Promise<void> {
  const t0 = Date.now();
  for (;;) {
    const res = await fetch(`${httpOf(url)}/apps/${appId}/admin/schema`, { headers: { authorization: `Bearer ${secret}` } });
    if (res.ok && ((await res.json()) as { hash: string }).hash === hash) return;
    if (Date.now() - t0 > 10_000) throw new Error(`${url} does not serve ${appId} after 10 s`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
