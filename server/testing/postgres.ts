/**
 * For tests: a real PostgreSQL of the test file's own, made with Debian's `postgresql` binaries.
 *
 * - `findPostgres()` looks for `initdb`, `pg_ctl` and `postgres` on PATH, then under
 *   /usr/lib/postgresql/<version>/bin (newest first). None found: it throws, saying exactly what to
 *   install. Tests never skip for want of PostgreSQL: they fail with that message.
 * - `startPostgres()` runs initdb into a fresh temporary folder and starts the server on a free
 *   port of 127.0.0.1 (and a Unix socket in that folder only), with trust authentication, fsync
 *   on (the tests check durability). initdb refuses to run as root: a root process runs the binaries
 *   as the `postgres` user (`runuser`), and the folder is made theirs.
 * - The cluster gives a fresh database per test (`database()`), can be stopped and started again
 *   (the same port, the same data), and `destroy()` stops it and deletes its folder; a process
 *   that exits without calling it stops and deletes it on its way out.
 * - `usePostgres()` does all of it for a test file: one cluster started in `beforeAll`, destroyed
 *   in `afterAll` (about a second each way).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll } from 'vitest';

export const INSTALL_POSTGRES = 'apt-get update && apt-get install -y postgresql   (Debian/Ubuntu, as root; .ci/run does this)';

export interface PostgresBinaries {
  readonly initdb: string;
  readonly pgCtl: string;
  readonly bin: string;
}

/** The PostgreSQL binaries of this machine; throws with what to install when there are none. */
export function findPostgres(searchPath = process.env.PATH ?? '', root = '/usr/lib/postgresql'): PostgresBinaries {
  const dirs: string[] = [];
  for (const d of searchPath.split(path.delimiter)) if (d) dirs.push(d);
  if (fs.existsSync(root)) {
    const versions = fs
      .readdirSync(root)
      .filter((v) => /^\d+(\.\d+)?$/.test(v))
      .sort((a, b) => Number(b) - Number(a));
    for (const v of versions) dirs.push(path.join(root, v, 'bin'));
  }
  for (const d of dirs) {
    const initdb = path.join(d, 'initdb');
    if (!fs.existsSync(initdb)) continue;
    // /usr/local/bin/initdb may be a link into /usr/lib/postgresql/<v>/bin: pg_ctl sits beside its target.
    const bin = path.dirname(fs.realpathSync(initdb));
    const pgCtl = path.join(bin, 'pg_ctl');
    if (fs.existsSync(pgCtl) && fs.existsSync(path.join(bin, 'postgres'))) return { initdb: path.join(bin, 'initdb'), pgCtl, bin };
  }
  throw new Error(`PostgreSQL is not installed (no initdb with pg_ctl on PATH or under ${root}/*/bin); the PostgreSQL tests need it. Install it: ${INSTALL_POSTGRES}`);
}

/** A free TCP port on 127.0.0.1 (free when asked; PostgreSQL takes it a moment later). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

const isRoot = () => typeof process.getuid === 'function' && process.getuid() === 0;

/** Runs a PostgreSQL binary, as the `postgres` user when this process is root. */
function runPg(bin: string, args: readonly string[]): void {
  const [cmd, argv] = isRoot() ? ['runuser', ['-u', 'postgres', '--', bin, ...args]] : [bin, [...args]];
  const r = spawnSync(cmd, argv, { encoding: 'utf8', timeout: 60_000 });
  if (r.status !== 0) throw new Error(`${path.basename(bin)} ${args.join(' ')} failed (${r.error?.message ?? `exit ${r.status}`}): ${(r.stderr || r.stdout || '').trim()}`);
}

export interface TestPostgres {
  readonly port: number;
  readonly dir: string;
  /** A URL for the `postgres` database (administration). */
  readonly adminUrl: string;
  /** A new, empty database: its URL. */
  database(): Promise<string>;
  stop(): void;
  start(): void;
  destroy(): void;
}

let databases = 0;

export async function startPostgres(): Promise<TestPostgres> {
  const bins = findPostgres();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'jazz-pg-'));
  const data = path.join(dir, 'data');
  const logFile = path.join(dir, 'server.log');
  if (isRoot()) {
    fs.chmodSync(dir, 0o755);
    execFileSync('chown', ['postgres:postgres', dir]);
  }
  const port = await freePort();
  runPg(bins.initdb, ['-D', data, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--no-locale', '--no-sync']);
  const opts = `-c listen_addresses=127.0.0.1 -p ${port} -k ${dir} -c max_connections=50 -c shared_buffers=16MB -c fsync=on`;
  let running = false;
  const start = () => {
    runPg(bins.pgCtl, ['-D', data, '-l', logFile, '-o', opts, '-w', '-t', '30', 'start']);
    running = true;
  };
  const stop = () => {
    if (!running) return;
    runPg(bins.pgCtl, ['-D', data, '-m', 'fast', '-w', 'stop']);
    running = false;
  };
  try {
    start();
  } catch (e) {
    const log = fs.existsSync(logFile) ? fs.readFileSync(logFile, 'utf8').slice(-2000) : '';
    fs.rmSync(dir, { recursive: true, force: true });
    throw new Error(`${(e as Error).message}\n${log}`);
  }
  const adminUrl = `postgres://postgres@127.0.0.1:${port}/postgres`;
  // A test process that ends without `destroy` (a crash, a time-out) leaves no server running.
  const atExit = () => {
    try {
      stop();
    } catch {
      // already stopped, or its folder gone
    }
    fs.rmSync(dir, { recursive: true, force: true });
  };
  process.once('exit', atExit);
  return {
    port,
    dir,
    adminUrl,
    async database() {
      const name = `jazz_test_${process.pid}_${databases++}`;
      const c = new pg.Client({ connectionString: adminUrl });
      await c.connect();
      try {
        await c.query(`CREATE DATABASE ${name}`);
      } finally {
        await c.end();
      }
      return `postgres://postgres@127.0.0.1:${port}/${name}`;
    },
    stop,
    start,
    destroy() {
      process.removeListener('exit', atExit);
      try {
        stop();
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}

/** One cluster for the calling test file: started before its tests, destroyed after them. */
export function usePostgres(): { readonly cluster: TestPostgres } {
  const holder: { cluster?: TestPostgres } = {};
  beforeAll(async () => {
    holder.cluster = await startPostgres();
  }, 60_000);
  afterAll(() => holder.cluster?.destroy());
  return {
    get cluster() {
      if (!holder.cluster) throw new Error('the PostgreSQL cluster is not started (usePostgres() runs in beforeAll)');
      return holder.cluster;
    },
  };
}
