/**
 * The reference sync server from the command line: `npm run server -- [flags]` (or
 * `npx tsx server/cli.ts [flags]`); `--help` lists every flag with its default.
 *
 * - One table, `FLAGS`, names every flag with its type, default and description; the parser and
 *   `--help` are both made from it, so they cannot disagree.
 * - `--flag value` and `--flag=value` both work for every flag; a boolean is `--dev` or
 *   `--dev=true|false`. Every flag also reads `JAZZ_<NAME>` from the environment (`--max-frame-bytes`:
 *   `JAZZ_MAX_FRAME_BYTES`); the flag wins. Secrets are better given that way: the command line
 *   shows in `ps`.
 * - Unknown flags, positional arguments, a flag given twice, a value that does not fit its type
 *   (a port that is not a port, a level that is not a level) are errors that name the flag, and the
 *   server does not start. Relative paths (`--data`, `--permissions`, `--jwt-public-key`) are
 *   resolved against the working directory.
 * - `--jwt-public-key` is the key itself when it starts with `-----BEGIN` (a PEM; literal `\n` from
 *   an environment variable are accepted) or `{` (a JWK or JWKS), and otherwise a file to read.
 * - The parser is our own rather than `node:util` `parseArgs`: that one refuses a value starting
 *   with `-`, so `--jwt-public-key "-----BEGIN PUBLIC KEY-----..."` could not be written, and it
 *   cannot report unknown flags with the list of valid ones. A value is the next argument unless
 *   that argument is itself one of our flags (then the value is missing, which is an error).
 * - `--postgres <url>` (or `JAZZ_POSTGRES`) keeps the data in PostgreSQL instead (server/pg-store.ts),
 *   and excludes `--data` and `--in-memory`. The banner and the log name its host:port/database,
 *   never its password; a database that cannot be reached stops the start with that address.
 * - `--upstream ws://host:port` makes the server an edge of that one (server/edge.ts); it needs
 *   `--backend-secret` (the upstream's: the edge signs in there as a peer) and a store of its own
 *   (`--data` or `--postgres`, not `--in-memory`: what it acknowledged at `edge` must survive).
 * - The start banner (stdout, plain text, before any log record) says what is in force: the URL,
 *   the upstream (or that this server is the authority), dev mode, the data folder (or database) and the apps found in it (schema hash and rules), the rules from
 *   `--permissions`, the ways to sign in, the admin routes, the limits and the logging. Then the
 *   server logs through pino (server/log.ts): JSON lines, or short human lines when stdout is a
 *   terminal (`--log-format`), from `--log-level` up.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { startSyncServer, type SyncServer, type SyncServerOptions } from './sync-server.ts';
import { DEFAULT_JWT_ALGORITHMS, parseAuthFlags } from './auth.ts';
import { createLogger, LOG_LEVELS, type Logger, type LogFormat, type LogLevel } from './log.ts';
import { schemaFromJSON, schemaHash } from '../src/schema/schema.ts';
import { describePostgresUrl } from './pg-log.ts';
import type { Permissions } from '../src/policy/define.ts';

type Kind = 'int' | 'string' | 'path' | 'list' | 'boolean' | 'choice' | 'key' | 'url' | 'ws' | 'postgres';

export interface FlagSpec {
  readonly name: string;
  readonly kind: Kind;
  /** The value in force when the flag is absent; without one, `none` says what absence means. */
  readonly default?: number | string | boolean | readonly string[];
  readonly none?: string;
  readonly help: string;
  readonly choices?: readonly string[];
  readonly min?: number;
  readonly max?: number;
  /** Read from the environment too (every flag but --help). */
  readonly env?: false;
}

const MiB = 2 ** 20;

export const FLAGS = [
  { name: 'port', kind: 'int', min: 0, max: 65535, default: 4000, help: 'TCP port to listen on; 0 picks a free one.' },
  { name: 'host', kind: 'string', default: '127.0.0.1', help: 'Address to listen on; 0.0.0.0 for every interface (put a TLS proxy in front).' },
  { name: 'data', kind: 'path', none: './data, unless --in-memory or --postgres', help: "Folder for the apps' databases, published schemas and published permissions." },
  { name: 'in-memory', kind: 'boolean', default: false, help: 'Keep everything in memory, nothing survives a restart (instead of --data).' },
  {
    name: 'postgres',
    kind: 'postgres',
    none: 'none, the data is in files (--data)',
    help: 'Keep everything in this PostgreSQL database instead of --data: apps, schemas, permissions and every accepted batch (tables jazz_*, created if missing). postgres://user:password@host:5432/database; better given as JAZZ_POSTGRES (the command line shows in ps).',
  },
  {
    name: 'dev',
    kind: 'boolean',
    default: false,
    help: "Development mode: clients without credentials get in anonymously, and an app without a schema adopts its first client's. Never expose such a server.",
  },
  {
    name: 'upstream',
    kind: 'ws',
    none: 'none, this server is the authority',
    help: "Make this server an edge of the sync server at this address (ws://host:port or wss://...): it answers its clients from its own store (--data or --postgres), acknowledges edge once it stored a batch, forwards batches and subscriptions upstream as a peer and relays global from there. Needs --backend-secret, the upstream's.",
  },
  { name: 'admin-secret', kind: 'string', none: 'none, the admin routes are closed', help: 'Opens the admin routes (schema and permissions publication) to `Authorization: Bearer <secret>`.' },
  {
    name: 'permissions',
    kind: 'path',
    none: 'none',
    help: 'A module (.js, or .ts under tsx) whose default export is definePermissions(app, ...): the rules for apps with that schema, deny by default.',
  },
  { name: 'allowed-origins', kind: 'list', none: 'any origin', help: 'Comma-separated origins allowed to open a WebSocket (browsers send Origin).' },
  {
    name: 'max-frame-bytes',
    kind: 'int',
    min: 1024,
    default: 16 * MiB,
    help: 'Largest frame a client may send. Clients learn it when they connect and refuse larger writes (TOO_LARGE); a larger frame closes its connection.',
  },
  { name: 'max-subscriptions', kind: 'int', min: 1, default: 1000, help: 'Most subscriptions one connection may hold.' },
  { name: 'max-messages-per-second', kind: 'int', min: 1, default: 1000, help: 'Most messages one connection may send per second, averaged over 10 s.' },
  {
    name: 'file-grace',
    kind: 'int',
    min: 1,
    default: 86_400,
    help: 'Seconds after which a file no row references, and of which nothing was written meanwhile, is deleted (uploads whose row never came).',
  },
  { name: 'max-held-rows', kind: 'int', min: 1, default: 1_000_000, help: "Most rows one connection may hold (bounds the server's memory per client)." },
  { name: 'jwt-public-key', kind: 'key', none: 'none', help: "Verifies users' JWTs: a PEM public key itself (starts with -----BEGIN), a JWK or JWKS as JSON, or a file holding one." },
  { name: 'jwks-url', kind: 'url', none: 'none', help: "Verifies users' JWTs against this JWKS endpoint instead (keys fetched on demand, cached)." },
  { name: 'jwt-algorithms', kind: 'list', default: DEFAULT_JWT_ALGORITHMS, help: 'Comma-separated JWS algorithms accepted; asymmetric only (RS*, PS*, ES*, EdDSA).' },
  { name: 'jwt-audience', kind: 'string', none: 'not checked', help: 'The "aud" a token must carry.' },
  { name: 'jwt-issuer', kind: 'string', none: 'not checked', help: 'The "iss" a token must carry.' },
  { name: 'backend-secret', kind: 'string', none: 'none', help: 'A secret that lets a backend connect as admin (or as a peer).' },
  { name: 'log-level', kind: 'choice', choices: LOG_LEVELS, default: 'info', help: 'Least severe records logged; debug adds refused WebSocket upgrades (unknown app, origin not allowed).' },
  {
    name: 'log-format',
    kind: 'choice',
    choices: ['auto', 'json', 'pretty'],
    default: 'auto',
    help: 'json: one JSON object per line (pino); pretty: one short line per record; auto: pretty on a terminal, json otherwise.',
  },
  { name: 'help', kind: 'boolean', default: false, env: false, help: 'Print this and exit.' },
] as const satisfies readonly FlagSpec[];

type Flag = (typeof FLAGS)[number];
interface KindValue {
  int: number;
  string: string;
  path: string;
  list: readonly string[];
  boolean: boolean;
  choice: string;
  key: string;
  url: string;
  ws: string;
  postgres: string;
}
/** The parsed flags: a flag with a default always has a value. */
export type FlagValues = { [F in Flag as F['name']]: F extends { default: unknown } ? KindValue[F['kind']] : KindValue[F['kind']] | undefined };

const BY_NAME = new Map<string, FlagSpec>(FLAGS.map((f) => [f.name, f]));
const FLAG_WORD = /^--([a-z][a-z-]*)(=|$)/;

export const envName = (flag: string): string => `JAZZ_${flag.toUpperCase().replace(/-/g, '_')}`;

/** The default as `--help` shows it. */
export function defaultText(f: FlagSpec): string {
  if (f.default === undefined) return f.none ?? 'none';
  if (typeof f.default === 'boolean') return f.default ? 'on' : 'off';
  return Array.isArray(f.default) ? f.default.join(',') : String(f.default);
}

const valueHint = (f: FlagSpec): string =>
  f.kind === 'boolean'
    ? ''
    : f.kind === 'choice'
      ? ` <${f.choices!.join('|')}>`
      : f.kind === 'list'
        ? ' <a,b,...>'
        : f.kind === 'int'
          ? ' <n>'
          : f.kind === 'path'
            ? ' <path>'
            : f.kind === 'postgres'
              ? ' <postgres://...>'
              : f.kind === 'ws'
                ? ' <ws://host:port>'
                : ` <${f.kind === 'key' ? 'pem|file' : f.kind}>`;

export function helpText(): string {
  const out = [
    'usage: npm run server -- [flags]      (or: npx tsx server/cli.ts [flags])',
    '',
    'Write a flag as --name value or --name=value. Each one is also read from the environment',
    'variable shown (the flag wins). Relative paths are resolved against the working directory.',
    '',
  ];
  for (const f of FLAGS as readonly FlagSpec[]) {
    out.push(`  --${f.name}${valueHint(f)}    default: ${defaultText(f)}${f.env === false ? '' : `    env: ${envName(f.name)}`}`);
    out.push(`      ${f.help}`);
  }
  out.push(
    '',
    "Without --dev: publish each app's schema (and permissions) through the admin routes, and give",
    'a way to sign in (--jwt-public-key or --jwks-url). See the README, "Running the sync server".',
  );
  return out.join('\n');
}

function convert(f: FlagSpec, raw: string, source: string, cwd: string): KindValue[Kind] {
  const bad = (what: string): never => {
    throw new Error(`${source} ${what}, got ${JSON.stringify(raw.length > 60 ? raw.slice(0, 60) + '…' : raw)}`);
  };
  switch (f.kind) {
    case 'int': {
      if (!/^-?\d+$/.test(raw.trim())) bad('must be a whole number');
      const n = Number(raw);
      if ((f.min !== undefined && n < f.min) || (f.max !== undefined && n > f.max)) bad(`must be between ${f.min ?? '-∞'} and ${f.max ?? '∞'}`);
      return n;
    }
    case 'boolean': {
      const v = raw.trim().toLowerCase();
      if (['true', '1', 'yes', 'on'].includes(v)) return true;
      if (['false', '0', 'no', 'off'].includes(v)) return false;
      return bad('must be true or false');
    }
    case 'choice':
      return f.choices!.includes(raw) ? raw : bad(`must be one of ${f.choices!.join(', ')}`);
    case 'list': {
      const list = raw
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
      return list.length ? list : bad('must list at least one value');
    }
    case 'path':
      return raw.trim() ? path.resolve(cwd, raw) : bad('must be a path');
    case 'key': {
      const v = raw.trim();
      if (!v) bad('must be a PEM key or a file');
      return v.startsWith('-----BEGIN') || v.startsWith('{') ? v : path.resolve(cwd, v);
    }
    case 'url': {
      const u = URL.canParse(raw) ? new URL(raw) : bad('must be a URL');
      return u.protocol === 'https:' || u.protocol === 'http:' ? raw : bad('must be an http(s) URL');
    }
    case 'ws': {
      const u = URL.canParse(raw) ? new URL(raw) : bad('must be a ws:// or wss:// address');
      return (u.protocol === 'ws:' || u.protocol === 'wss:') && u.pathname === '/' ? raw.replace(/\/+$/, '') : bad('must be a ws:// or wss:// address with no path (ws://host:port)');
    }
    case 'postgres': {
      // The value is not repeated in the message: it may hold a password.
      const v = raw.trim();
      try {
        describePostgresUrl(v);
      } catch {
        throw new Error(`${source} must be a PostgreSQL URL: postgres://user:password@host:5432/database`);
      }
      return v;
    }
    case 'string':
      return raw;
  }
}

/**
 * Reads the flags from `argv`, then the environment for the ones not given; checks and converts
 * every value. Throws on anything it cannot take as written.
 */
export function parseFlags(argv: readonly string[], env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): FlagValues {
  const raw = new Map<string, { value: string; source: string }>();
  const list = () => FLAGS.map((f) => `--${f.name}`).join(' ');
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const m = FLAG_WORD.exec(arg);
    if (!m) throw new Error(`unexpected argument ${JSON.stringify(arg)}: every argument is a flag (--name value or --name=value); see --help`);
    const name = m[1]!;
    const f = BY_NAME.get(name);
    if (!f) throw new Error(`unknown flag --${name}; the flags are: ${list()}`);
    if (raw.has(name)) throw new Error(`--${name} is given twice`);
    const inline = m[2] === '=' ? arg.slice(m[0].length) : undefined;
    let value: string;
    if (inline !== undefined) value = inline;
    else if (f.kind === 'boolean') value = 'true';
    else {
      const next = argv[i + 1];
      const nextFlag = next === undefined ? undefined : FLAG_WORD.exec(next);
      if (next === undefined || (nextFlag && BY_NAME.has(nextFlag[1]!))) throw new Error(`--${name} needs a value${valueHint(f)}`);
      value = next;
      i++;
    }
    raw.set(name, { value, source: `--${name}` });
  }
  const values: Record<string, unknown> = {};
  for (const f of FLAGS as readonly FlagSpec[]) {
    let given = raw.get(f.name);
    const fromEnv = f.env === false ? undefined : env[envName(f.name)];
    if (!given && fromEnv !== undefined && fromEnv !== '') given = { value: fromEnv, source: envName(f.name) };
    values[f.name] = given ? convert(f, given.value, given.source, cwd) : f.default;
  }
  return values as FlagValues;
}

/** What the command line asks for: the server's options and what the banner reports. */
export interface CliConfig {
  readonly flags: FlagValues;
  /** Everything but the permissions (loaded by `loadPermissions`) and the logger. */
  readonly options: SyncServerOptions;
  readonly permissionsFile?: string;
  readonly logLevel: LogLevel;
  readonly logFormat: LogFormat;
}

export function parseServerArgs(argv: readonly string[], env: NodeJS.ProcessEnv = process.env, cwd = process.cwd(), stdoutIsTerminal = false): CliConfig {
  const flags = parseFlags(argv, env, cwd);
  if (flags['in-memory'] && flags.data !== undefined) throw new Error('--data and --in-memory exclude each other: keep the databases in files or in memory');
  if (flags.postgres !== undefined && (flags.data !== undefined || flags['in-memory'])) {
    throw new Error(`--postgres excludes ${flags.data !== undefined ? '--data' : '--in-memory'}: the data is kept in PostgreSQL, or in files, or in memory`);
  }
  if (flags['jwt-public-key'] !== undefined && flags['jwks-url'] !== undefined) throw new Error('give either --jwt-public-key or --jwks-url, not both');
  if (flags.upstream !== undefined && flags['backend-secret'] === undefined) {
    throw new Error('--upstream needs --backend-secret: an edge signs in upstream as a peer with the backend secret the upstream has');
  }
  if (flags.upstream !== undefined && flags['in-memory']) throw new Error('--upstream excludes --in-memory: an edge keeps what it acknowledged in a store of its own (--data or --postgres)');
  const dataDir = flags['in-memory'] || flags.postgres !== undefined ? undefined : (flags.data ?? path.resolve(cwd, 'data'));
  // auth.ts reads the key (a resolved file path, or the key itself) and checks the rest.
  const auth = flags.help
    ? {}
    : parseAuthFlags((flag) => {
        const v = (flags as Record<string, unknown>)[flag];
        return Array.isArray(v) ? v.join(',') : (v as string | undefined);
      });
  const options: SyncServerOptions = {
    port: flags.port,
    host: flags.host,
    ...(dataDir !== undefined ? { dataDir } : {}),
    inMemory: flags['in-memory'],
    ...(flags.postgres !== undefined ? { postgres: flags.postgres } : {}),
    ...(flags.upstream !== undefined ? { upstream: flags.upstream } : {}),
    dev: flags.dev,
    ...(flags['admin-secret'] !== undefined ? { adminSecret: flags['admin-secret'] } : {}),
    maxFrameBytes: flags['max-frame-bytes'],
    ...(flags['allowed-origins'] !== undefined ? { allowedOrigins: flags['allowed-origins'] } : {}),
    maxSubscriptions: flags['max-subscriptions'],
    maxMessagesPerSecond: flags['max-messages-per-second'],
    maxHeldRows: flags['max-held-rows'],
    fileGraceMs: flags['file-grace'] * 1000,
    auth,
  };
  const format = flags['log-format'];
  return {
    flags,
    options,
    ...(flags.permissions !== undefined ? { permissionsFile: flags.permissions } : {}),
    logLevel: flags['log-level'] as LogLevel,
    logFormat: format === 'auto' ? (stdoutIsTerminal ? 'pretty' : 'json') : (format as LogFormat),
  };
}

/** Loads `--permissions`: a module whose default export is the result of definePermissions. */
export async function loadPermissions(file: string): Promise<Permissions> {
  if (!fs.existsSync(file)) throw new Error(`--permissions: no file ${file}`);
  const mod = (await import(pathToFileURL(path.resolve(file)).href)) as { default?: Permissions };
  if (!mod.default || typeof mod.default !== 'object' || typeof mod.default.schemaHash !== 'string' || !('tables' in mod.default)) {
    throw new Error(`--permissions ${file}: its default export must be definePermissions(app, ...)`);
  }
  return mod.default;
}

/** An app found in the data folder: its published schema's hash, and whether it has published rules. */
export interface AppOnDisk {
  readonly id: string;
  /** The schema hash, or why the schema file could not be read. */
  readonly hash: string;
  readonly readable: boolean;
  readonly publishedPermissions: boolean;
}

/** The apps the server will serve from `dataDir` (`<appId>.schema.json`, as the admin route writes). */
export function appsOnDisk(dataDir: string | undefined): AppOnDisk[] {
  if (!dataDir || !fs.existsSync(dataDir)) return [];
  const out: AppOnDisk[] = [];
  for (const name of fs.readdirSync(dataDir).sort()) {
    const m = /^([A-Za-z0-9_-]{1,64})\.schema\.json$/.exec(name);
    if (!m) continue;
    const id = m[1]!;
    let hash: string;
    let readable = true;
    try {
      hash = schemaHash(schemaFromJSON(JSON.parse(fs.readFileSync(path.join(dataDir, name), 'utf8'))));
    } catch (e) {
      hash = `unreadable (${e instanceof Error ? e.message : String(e)})`;
      readable = false;
    }
    out.push({ id, hash, readable, publishedPermissions: fs.existsSync(path.join(dataDir, `${id}.permissions.json`)) });
  }
  return out;
}

export interface BannerFacts {
  readonly url: string;
  readonly port: number;
  readonly config: CliConfig;
  readonly permissions?: Permissions;
  readonly apps: readonly AppOnDisk[];
}

/** The start banner: what is in force, each line a fact the server acts on. */
export function banner({ url, port, config, permissions, apps }: BannerFacts): string {
  const o = config.options;
  const f = config.flags;
  const file = config.permissionsFile;
  const everything = `every authenticated user may do everything${o.dev ? ', anonymous clients too (dev mode)' : ''}`;
  const rulesOf = (a: AppOnDisk): string => {
    if (a.publishedPermissions) return `rules: published${o.postgres ? '' : ` (${a.id}.permissions.json)`}`;
    if (permissions && permissions.schemaHash === a.hash) return `rules: from ${file}`;
    if (permissions) return `rules: users may do nothing (${file} is for schema ${permissions.schemaHash}); publish permissions for this schema`;
    return `no rules: ${everything}`;
  };
  const host = o.host === '0.0.0.0' || o.host === '::' ? 'localhost' : o.host;
  const lines = [`jazz server listening on ${url}`, `  health:      http://${host}:${port}/health`];
  lines.push(
    o.dev
      ? "  dev mode:    ON: clients without credentials get in anonymously, and an app without a schema adopts its first client's. Never expose this server."
      : '  dev mode:    off: every client signs in; an app exists once its schema is published (POST /apps/<appId>/admin/schema)',
  );
  lines.push(
    `  storage:     ${o.postgres ? `PostgreSQL at ${describePostgresUrl(o.postgres).text} (tables jazz_*: apps, schemas, permissions, every accepted batch)` : o.inMemory ? 'in memory (nothing survives a restart)' : `files under ${o.dataDir}`}`,
  );
  lines.push(
    o.upstream
      ? `  upstream:    edge of ${o.upstream}: batches acknowledged edge when stored here, global when the upstream has them; signs in there as a peer (backend secret)`
      : '  upstream:    none: this server is the authority (acknowledges global)',
  );
  if (apps.length === 0) lines.push(`  apps:        none yet${o.dev ? "; a client's first connection creates one (dev mode)" : '; publish a schema through the admin route'}`);
  else {
    const width = Math.max(...apps.map((a) => a.id.length));
    apps.forEach((a, i) => lines.push(`  ${i === 0 ? 'apps:' : '     '}        ${a.id.padEnd(width)}  schema ${a.hash}; ${rulesOf(a)}`));
  }
  if (permissions) {
    lines.push(
      `  rules:       from ${file} for schema ${permissions.schemaHash} (${Object.keys(permissions.tables).length} tables), deny by default; apps with another schema deny users everything until their permissions are published`,
    );
  } else if (apps.some((a) => a.publishedPermissions)) {
    lines.push(`  rules:       none from --permissions; apps with published permissions follow them, the others: ${everything}`);
  } else {
    lines.push(`  rules:       no rules: ${everything}; publish permissions or give --permissions to restrict`);
  }
  const auth = o.auth ?? {};
  const ways: string[] = [];
  if (auth.jwtPublicKey !== undefined) {
    const raw = f['jwt-public-key']!;
    ways.push(`JWT verified with the public key ${raw.startsWith('-----BEGIN') || raw.startsWith('{') ? 'given inline' : `from ${raw}`}`);
  }
  if (auth.jwksUrl !== undefined) ways.push(`JWT verified against the keys at ${auth.jwksUrl}`);
  if (ways.length) {
    ways[ways.length - 1] += ` (${f['jwt-algorithms'].join(', ')}; audience ${auth.jwtAudience ?? 'not checked'}, issuer ${auth.jwtIssuer ?? 'not checked'})`;
  }
  if (auth.backendSecret !== undefined) ways.push('backend secret (admin or peer)');
  if (o.dev) ways.push('anonymous (dev mode)');
  lines.push(`  sign-in:     ${ways.length ? ways.join('; ') : 'none configured: no client can connect (give --jwt-public-key or --jwks-url)'}`);
  lines.push(`  admin:       ${o.adminSecret ? 'routes open to Authorization: Bearer <admin secret>' : 'routes closed (no --admin-secret)'}`);
  lines.push(`  origins:     ${o.allowedOrigins ? o.allowedOrigins.join(', ') : 'any'}`);
  lines.push(`  limits:      frames up to ${o.maxFrameBytes} bytes; per connection ${o.maxSubscriptions} subscriptions, ${o.maxMessagesPerSecond} messages/s, ${o.maxHeldRows} rows`);
  lines.push(`  log:         ${config.logLevel} and above, ${config.logFormat === 'json' ? 'JSON lines' : 'one line per record'} on stdout`);
  return lines.join('\n');
}

export interface RunningCli {
  readonly server: SyncServer;
  readonly logger: Logger;
}

/**
 * Starts the server as the flags say and prints the banner; SIGINT and SIGTERM drain it and exit.
 * Undefined after `--help`.
 */
export async function main(argv = process.argv.slice(2)): Promise<RunningCli | undefined> {
  const config = parseServerArgs(argv, process.env, process.cwd(), process.stdout.isTTY === true);
  if (config.flags.help) {
    console.log(helpText());
    return undefined;
  }
  const logger = createLogger({ level: config.logLevel, format: config.logFormat });
  const permissions = config.permissionsFile ? await loadPermissions(config.permissionsFile) : undefined;
  let apps = appsOnDisk(config.options.dataDir);
  const server = await startSyncServer({ ...config.options, logger, ...(permissions ? { permissions } : {}) });
  if (config.options.postgres !== undefined) apps = server.storedApps();
  // Before the banner: whoever reads it may stop the server at once.
  // The first signal drains (server/drain.ts) and exits 0; a second one exits at once (1).
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) {
      logger.warn({ event: 'server-stopping', signal }, `${signal} again: exiting without finishing the drain`);
      process.exit(1);
    }
    stopping = true;
    logger.info({ event: 'server-stopping', signal }, `${signal}: draining, then shutting down`);
    await server.drain();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
  console.log(banner({ url: server.url, port: server.port, config, apps, ...(permissions ? { permissions } : {}) }));
  logger.info(
    {
      event: 'server-started',
      url: server.url,
      dev: config.options.dev,
      dataDir: config.options.dataDir ?? null,
      postgres: config.options.postgres !== undefined ? describePostgresUrl(config.options.postgres).text : null,
      apps: apps.map((a) => ({ id: a.id, schemaHash: a.hash, publishedPermissions: a.publishedPermissions })),
      permissionsFile: config.permissionsFile ?? null,
      permissionsFor: permissions?.schemaHash ?? null,
    },
    'server started',
  );
  return { server, logger };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((e) => {
    console.error(`jazz server: ${e instanceof Error ? e.message : String(e)}`);
    process.exit(1);
  });
}
