/**
 * `npm run server -- --port 4000 --data ./data [--dev] [--in-memory] [--admin-secret S]`
 * Every flag also reads from the environment: JAZZ_PORT, JAZZ_DATA, JAZZ_DEV=1, JAZZ_IN_MEMORY=1,
 * JAZZ_ADMIN_SECRET, JAZZ_HOST, JAZZ_MAX_FRAME_BYTES, JAZZ_ALLOWED_ORIGINS (comma-separated).
 */
import { startSyncServer, type SyncServerOptions } from './sync-server.ts';

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
  const known = ['port', 'host', 'data', 'dev', 'in-memory', 'admin-secret', 'max-frame-bytes', 'allowed-origins', 'help'];
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
  return {
    port,
    host: get('host', 'JAZZ_HOST') ?? '127.0.0.1',
    ...(dataDir !== undefined ? { dataDir } : {}),
    inMemory,
    dev: on('dev', 'JAZZ_DEV'),
    ...(get('admin-secret', 'JAZZ_ADMIN_SECRET') ? { adminSecret: get('admin-secret', 'JAZZ_ADMIN_SECRET')! } : {}),
    ...(maxFrame ? { maxFrameBytes: Number(maxFrame) } : {}),
    ...(origins ? { allowedOrigins: origins.split(',').map((s) => s.trim()).filter(Boolean) } : {}),
  };
}

export async function main(argv = process.argv.slice(2)): Promise<void> {
  if (argv.includes('--help')) {
    console.log('usage: npm run server -- [--port 4000] [--data ./data | --in-memory] [--dev] [--admin-secret S] [--allowed-origins a,b] [--max-frame-bytes N]');
    return;
  }
  const opts = parseServerArgs(argv);
  const server = await startSyncServer(opts);
  console.log(`jazz server listening on ${server.url}`);
  console.log(`  storage:  ${opts.inMemory ? 'in memory (nothing survives a restart)' : `files under ${opts.dataDir}`}`);
  console.log(`  admin:    ${opts.adminSecret ? 'enabled (Bearer secret)' : 'disabled (no --admin-secret)'}`);
  console.log(`  origins:  ${opts.allowedOrigins ? opts.allowedOrigins.join(', ') : 'any'}`);
  console.log(`  frames:   up to ${opts.maxFrameBytes ?? 16 * 2 ** 20} bytes`);
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
