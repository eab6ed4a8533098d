/**
 * `npm run server -- --port 4000 --data ./data [--dev] [--in-memory] [--admin-secret S]`
 * Every flag also reads from the environment: JAZZ_PORT, JAZZ_DATA, JAZZ_DEV=1, JAZZ_IN_MEMORY=1,
 * JAZZ_ADMIN_SECRET, JAZZ_HOST, JAZZ_MAX_FRAME_BYTES, JAZZ_ALLOWED_ORIGINS (comma-separated),
 * JAZZ_PERMISSIONS, JAZZ_MAX_SUBSCRIPTIONS, JAZZ_MAX_MESSAGES_PER_SECOND, and the auth settings:
 * --jwt-public-key (file or PEM/JWK), --jwks-url, --jwt-algorithms, --jwt-audience, --jwt-issuer,
 * --backend-secret (JAZZ_JWT_PUBLIC_KEY, JAZZ_JWKS_URL, ..., JAZZ_BACKEND_SECRET).
 * --permissions ./permissions.js loads a module whose default export is definePermissions(...).
 */
import { pathToFileURL } from 'node:url';
import { resolve } from 'node:path';
import { startSyncServer, type SyncServerOptions } from './sync-server.ts';
import { parseAuthFlags } from './auth.ts';
import type { Permissions } from '../src/policy/define.ts';

export function parseServerArgs(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): SyncServerOptions {
  const flags = new Map<string, string | true>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith('--')) throw new Error(`unexpected argument "${a}"`);
    const [k, inline] = a.slice(2).split('=', 2) as [string, string | undefined];
    if (inline !== undefined) flags.set(k, inline);
    else if (argv[i + 1] !== undefined && !argv[i + 1]!.startsWith('--')) flags.set(k, argv[++i]!);
    else flags.set(k, true);
  }
  const known = ['port', 'host', 'data', 'dev', 'in-memory', 'admin-secret', 'max-frame-bytes', 'allowed-origins', 'permissions', 'max-subscriptions', 'max-messages-per-second', 'jwt-public-key', 'jwks-url', 'jwt-algorithms', 'jwt-audience', 'jwt-issuer', 'backend-secret', 'help'];
  for (const k of flags.keys()) if (!known.includes(k)) throw new Error(`unknown flag --${k}; flags: ${known.map((x) => '--' + x).join(' ')}`);
  const get = (k: string, e: string): string | undefined => {
    const v = flags.get(k);
    return typeof v === 'string' ? v : env[e];
  };
  const on = (k: string, e: string) => flags.get(k) === true || flags.get(k) === 'true' || env[e] === '1' || env[e] === 'true';
  const port = Number(get('port', 'JAZZ_PORT') ?? 4000);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--port must be a port number, got ${get('port', 'JAZZ_PORT')}`);
  const inMemory = on('in-memory', 'JAZZ_IN_MEMORY');
  const dataDir = get('data', 'JAZZ_DATA') ?? (inMemory ? undefined : './data');
  const origins = get('allowed-origins', 'JAZZ_ALLOWED_ORIGINS');
  const maxFrame = get('max-frame-bytes', 'JAZZ_MAX_FRAME_BYTES');
  const maxSubs = get('max-subscriptions', 'JAZZ_MAX_SUBSCRIPTIONS');
  const maxRate = get('max-messages-per-second', 'JAZZ_MAX_MESSAGES_PER_SECOND');
  const auth = parseAuthFlags(get);
  return {
    port,
    host: get('host', 'JAZZ_HOST') ?? '127.0.0.1',
    ...(dataDir !== undefined ? { dataDir } : {}),
    inMemory,
    dev: on('dev', 'JAZZ_DEV'),
    ...(get('admin-secret', 'JAZZ_ADMIN_SECRET') ? { adminSecret: get('admin-secret', 'JAZZ_ADMIN_SECRET')! } : {}),
    ...(maxFrame ? { maxFrameBytes: Number(maxFrame) } : {}),
    ...(origins ? { allowedOrigins: origins.split(',').map((s) => s.trim()).filter(Boolean) } : {}),
    ...(maxSubs ? { maxSubscriptions: Number(maxSubs) } : {}),
    ...(maxRate ? { maxMessagesPerSecond: Number(maxRate) } : {}),
    ...(Object.keys(auth).length ? { auth } : {}),
  };
}

/** Loads `--permissions`: a module whose default export is the result of definePermissions. */
export async function loadPermissions(file: string): Promise<Permissions> {
  const mod = (await import(pathToFileURL(resolve(file)).href)) as { default?: Permissions };
  if (!mod.default || typeof mod.default !== 'object' || !('tables' in mod.default)) {
    throw new Error(`--permissions ${file}: its default export must be definePermissions(app, ...)`);
  }
  return mod.default;
}

export async function main(argv = process.argv.slice(2)): Promise<void> {
  if (argv.includes('--help')) {
    console.log('usage: npm run server -- [--port 4000] [--data ./data | --in-memory] [--dev] [--admin-secret S] [--allowed-origins a,b] [--max-frame-bytes N]');
    return;
  }
  let opts = parseServerArgs(argv);
  const permissionsFile = argv.includes('--permissions') ? argv[argv.indexOf('--permissions') + 1] : process.env.JAZZ_PERMISSIONS;
  if (permissionsFile) opts = { ...opts, permissions: await loadPermissions(permissionsFile) };
  const server = await startSyncServer(opts);
  console.log(`jazz server listening on ${server.url}`);
  console.log(`  storage:  ${opts.inMemory ? 'in memory (nothing survives a restart)' : `files under ${opts.dataDir}`}`);
  console.log(`  admin:    ${opts.adminSecret ? 'enabled (Bearer secret)' : 'disabled (no --admin-secret)'}`);
  console.log(`  origins:  ${opts.allowedOrigins ? opts.allowedOrigins.join(', ') : 'any'}`);
  console.log(`  frames:   up to ${opts.maxFrameBytes ?? 16 * 2 ** 20} bytes`);
  console.log(`  auth:     ${opts.auth?.jwtPublicKey ? 'JWT (public key)' : opts.auth?.jwksUrl ? `JWT (JWKS ${opts.auth.jwksUrl})` : 'no JWT verification configured'}${opts.auth?.backendSecret ? ', backend secret set' : ''}`);
  console.log(`  rules:    ${opts.permissions ? `permissions from ${permissionsFile} (deny by default)` : 'no permissions loaded: every authenticated user may do everything'}`);
  if (opts.dev) {
    console.log('\n  ⚠ DEVELOPMENT MODE: anonymous clients, schemas adopted from clients, everything allowed. Never expose this server.\n');
  }
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`jazz server: ${signal}, shutting down`);
    await server.close();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((e) => {
    console.error(`jazz server: ${e instanceof Error ? e.message : String(e)}`);
    process.exit(1);
  });
}
