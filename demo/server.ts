/**
 * The demo's server (`npm start`, issue 7): the reference sync server plus the demo's static site
 * and a development sign-in, all on one origin so the page is a secure context on localhost.
 *
 * - `/` serves demo/ (the app: HTML, a little plain JavaScript, the PWA manifest and service
 *   worker); `/jazz.js`, its lazy parts and its workers (`/jazz-*.js`) serve the drop-in build from `distDir`
 *   (`npm run build`). Nothing else on disk is reachable: paths are resolved and checked, and
 *   TypeScript under demo/ (the permissions) is never served.
 * - The app `demo` is published at start with demo/schema.json and demo/permissions.ts, so the
 *   server enforces the rules from the first connection (it does not run in `--dev` mode: every
 *   client signs in).
 * - `GET /dev/token?user=alice` signs a JWT for that user with a key this server keeps in its data
 *   folder, and the server verifies tokens against it. **Anyone can get a token for any name**: it
 *   is a demo sign-in, never something to expose. Tokens last 7 days and survive restarts.
 * - A fresh data folder gets a welcome project with a few tasks.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type * as http from 'node:http';
import { fileURLToPath } from 'node:url';
import { exportJWK, generateKeyPair, importJWK, SignJWT, type JWK } from 'jose';
import { startSyncServer, type SyncServer } from '../server/sync-server.ts';
import type { Logger } from '../server/log.ts';
import { schemaFromJSON } from '../src/schema/schema.ts';
import permissions, { schemaJSON } from './permissions.ts';

export const DEMO_APP_ID = 'demo';
const DEMO_DIR = fileURLToPath(new URL('./', import.meta.url));
/** The drop-in build's files: jazz.js, its lazy parts, its workers, their maps. */
const DIST_FILE = /^jazz(-[a-z]+)?\.js(\.map)?$/;
const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.map': 'application/json',
  '.webmanifest': 'application/manifest+json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
};
const USER = /^[a-z][a-z0-9_-]{0,31}$/;
const TOKEN_DAYS = 7;

export interface DemoServerOptions {
  readonly port?: number;
  readonly host?: string;
  /** Where the app's database and the sign-in key live; absent: in memory (nothing survives). */
  readonly dataDir?: string;
  /** The drop-in build (default ./dist). */
  readonly distDir?: string;
  /** Where the sync server logs (see server/log.ts); default JSON lines on stdout. */
  readonly logger?: Logger;
  readonly log?: (line: string) => void;
}

export interface DemoServer {
  /** The page's address, e.g. http://localhost:4000/. */
  readonly url: string;
  readonly port: number;
  readonly sync: SyncServer;
  close(): Promise<void>;
}

export async function startDemoServer(opts: DemoServerOptions = {}): Promise<DemoServer> {
  const distDir = path.resolve(opts.distDir ?? 'dist');
  if (!fs.existsSync(path.join(distDir, 'jazz.js'))) throw new Error(`no jazz.js in ${distDir}: run npm run build first`);
  const key = await signingKey(opts.dataDir);
  const schema = schemaFromJSON(schemaJSON);

  const onRequest = (req: http.IncomingMessage, res: http.ServerResponse): boolean => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return false;
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname === '/dev/token') {
      const user = url.searchParams.get('user') ?? '';
      if (!USER.test(user)) {
        res
          .writeHead(400, { 'content-type': 'application/json' })
          .end(JSON.stringify({ error: 'BAD_USER', message: 'a user name is 1 to 32 lowercase letters, digits, "_" or "-", starting with a letter' }));
        return true;
      }
      void new SignJWT({ name: user[0]!.toUpperCase() + user.slice(1) })
        .setProtectedHeader({ alg: 'ES256', kid: key.kid })
        .setSubject(user)
        .setIssuedAt()
        .setExpirationTime(`${TOKEN_DAYS}d`)
        .sign(key.privateKey)
        .then((token) => {
          res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(JSON.stringify({ user, token }));
        });
      return true;
    }
    const name = url.pathname === '/' ? 'index.html' : decodeURIComponent(url.pathname.slice(1));
    const dist = DIST_FILE.test(name);
    const file = dist ? path.join(distDir, name) : path.resolve(DEMO_DIR, name);
    if (!dist && (!file.startsWith(DEMO_DIR) || file.endsWith('.ts') || file.endsWith('README.md'))) return false;
    let body: Buffer;
    try {
      body = fs.readFileSync(file);
    } catch {
      return false;
    }
    res.writeHead(200, {
      'content-type': TYPES[path.extname(file)] ?? 'application/octet-stream',
      // Always revalidated: the service worker keeps the offline copy, the browser cache need not.
      'cache-control': 'no-cache',
    });
    res.end(req.method === 'HEAD' ? undefined : body);
    return true;
  };

  const sync = await startSyncServer({
    port: opts.port ?? 4000,
    host: opts.host ?? '127.0.0.1',
    ...(opts.dataDir ? { dataDir: opts.dataDir } : { inMemory: true }),
    auth: { jwtPublicKey: JSON.stringify({ keys: [key.publicJwk] }), jwtAlgorithms: ['ES256'] },
    onRequest,
    ...(opts.logger ? { logger: opts.logger } : {}),
    ...(opts.log ? { log: opts.log } : {}),
  });
  try {
    sync.publish(DEMO_APP_ID, schema, permissions);
  } catch (e) {
    await sync.close();
    // A data folder from an older demo (another schema) or an older storage format.
    throw new Error(`${(e as Error).message}\nThe data folder ${opts.dataDir ?? ''} was made by an older version of the demo: delete it to start afresh.`);
  }
  await seed(sync);
  return {
    url: `http://localhost:${sync.port}/`,
    port: sync.port,
    sync,
    close: () => sync.close(),
  };
}

/** A welcome project on a fresh database, so the board is not empty the first time. */
async function seed(sync: SyncServer): Promise<void> {
  const engine = sync.engineOf(DEMO_APP_ID)!;
  if (!engine.rowIds('projects').next().done) return;
  const projectId = engine.newRowId();
  const task = (title: string, done = false) => ({ kind: 'insert' as const, table: 'tasks', values: { projectId, title, done, createdBy: 'alice' } });
  const result = engine.write([
    { kind: 'insert', table: 'projects', id: projectId, fresh: true, values: { name: 'Welcome' } },
    task('Open this page in a second window as another user'),
    task('Tick a task and watch the other window'),
    task('Stop the server, keep working, start it again'),
    task('Try the app with the network off: it still opens', false),
    task('Read the README', true),
  ]);
  await result.durable;
}

interface SigningKey {
  readonly kid: string;
  readonly privateKey: CryptoKey | Uint8Array;
  readonly publicJwk: JWK;
}

/** The demo sign-in's ES256 key: kept in `<dataDir>/demo-signing-key.json`, made on first start. */
async function signingKey(dataDir: string | undefined): Promise<SigningKey> {
  const file = dataDir ? path.join(dataDir, 'demo-signing-key.json') : undefined;
  let jwk: JWK | undefined;
  if (file && fs.existsSync(file)) jwk = JSON.parse(fs.readFileSync(file, 'utf8')) as JWK;
  if (!jwk) {
    const pair = await generateKeyPair('ES256', { extractable: true });
    jwk = { ...(await exportJWK(pair.privateKey)), kid: `demo-${Date.now().toString(36)}`, alg: 'ES256' };
    if (file) {
      fs.mkdirSync(dataDir!, { recursive: true });
      fs.writeFileSync(file, JSON.stringify(jwk), { mode: 0o600 });
    }
  }
  const { d: _private, ...publicJwk } = jwk;
  return { kid: jwk.kid!, privateKey: await importJWK(jwk, 'ES256'), publicJwk: { ...publicJwk, use: 'sig' } };
}
