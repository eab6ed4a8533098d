/**
 * `npx jazz-elements <command>`: schema versions and migrations from the command line.
 *
 *   schema hash <schema>                              the schema's hash (the API's schemaHash)
 *   migrations create --from <old> --to <new> [--out <file>]
 *                                                     a migration from the difference (a draft
 *                                                     where a person must decide: src/lens/diff.ts)
 *   validate <schema> [<migrations>…]                 the schema, the migrations, and that they
 *                                                     connect every version to the schema
 *   publish --server <url> --app <id> --admin-secret <secret> --schema <schema>
 *           [--migrations <file>…] [--permissions <module>]
 *                                                     schema, migrations and permissions through the
 *                                                     server's admin routes, in that order
 *
 * `<schema>` is a JSON schema file (`.json`) or a module exporting the app (`s.defineApp`, the
 * default export or any export with `$schema`). A migrations file is JSON (one migration or an
 * array) or a module exporting them (default or any export). `--flag value` and `--flag=value`
 * both work; `--admin-secret` is also read from JAZZ_ADMIN_SECRET. Relative paths are the working
 * directory's. Exit code 0 when all went well, 1 with a message on stderr otherwise, 2 for a
 * command line that does not parse.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { schemaFromJSON, schemaHash, canonicalSchemaJSON, type AppSchema } from '../src/schema/schema.ts';
import { migrationFromJSON, type Migration } from '../src/lens/migration.ts';
import { diffSchemas } from '../src/lens/diff.ts';
import { VersionGraph } from '../src/schema/versions.ts';
import type { Permissions } from '../src/policy/define.ts';

export interface Io {
  readonly out: (line: string) => void;
  readonly err: (line: string) => void;
  readonly cwd: string;
  readonly env: Readonly<Record<string, string | undefined>>;
}

const USAGE = `usage: npx jazz-elements <command>

  schema hash <schema>
  migrations create --from <old schema> --to <new schema> [--out <file>]
  validate <schema> [<migrations file>...]
  publish --server <url> --app <id> --admin-secret <secret> --schema <schema> [--migrations <file>...] [--permissions <module>]

<schema>: a JSON schema file, or a module exporting the app (s.defineApp).`;

class UsageError extends Error {}

/** Positional arguments and `--name value` / `--name=value` flags (repeatable ones collect). */
function parse(argv: readonly string[], known: Record<string, 'one' | 'many'>): { args: string[]; flags: Map<string, string[]> } {
  const args: string[] = [];
  const flags = new Map<string, string[]>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith('--')) {
      args.push(a);
      continue;
    }
    const eq = a.indexOf('=');
    const name = a.slice(2, eq < 0 ? undefined : eq);
    if (!(name in known))
      throw new UsageError(
        `unknown flag --${name}; this command takes ${
          Object.keys(known)
            .map((k) => `--${k}`)
            .join(', ') || 'no flags'
        }`,
      );
    const value = eq < 0 ? argv[++i] : a.slice(eq + 1);
    if (value === undefined || (eq < 0 && value.startsWith('--'))) throw new UsageError(`--${name} needs a value`);
    const list = flags.get(name) ?? [];
    if (known[name] === 'one' && list.length) throw new UsageError(`--${name} is given twice`);
    // A repeatable flag also takes the plain arguments that follow it (--migrations a.json b.json).
    list.push(value);
    if (known[name] === 'many') while (argv[i + 1] !== undefined && !argv[i + 1]!.startsWith('--')) list.push(argv[++i]!);
    flags.set(name, list);
  }
  return { args, flags };
}

function one(flags: Map<string, string[]>, name: string, required = true): string | undefined {
  const v = flags.get(name)?.[0];
  if (v === undefined && required) throw new UsageError(`--${name} is required`);
  return v;
}

async function importModule(file: string): Promise<Record<string, unknown>> {
  return (await import(pathToFileURL(file).href)) as Record<string, unknown>;
}

/** A schema from a JSON file or a module exporting the app. */
export async function loadSchema(file: string): Promise<AppSchema> {
  if (!fs.existsSync(file)) throw new Error(`no such schema file: ${file}`);
  if (file.endsWith('.json')) return schemaFromJSON(JSON.parse(fs.readFileSync(file, 'utf8')));
  const mod = await importModule(file);
  const app = [mod['default'], ...Object.values(mod)].find((v) => v && typeof v === 'object' && '$schema' in (v as object)) as { $schema: AppSchema } | undefined;
  if (!app) throw new Error(`${file} exports no app (s.defineApp(...) as its default export, or any export)`);
  return app.$schema;
}

/** The migrations in a JSON file (one or an array) or a module (its default export or any export). */
export async function loadMigrations(file: string): Promise<Migration[]> {
  if (!fs.existsSync(file)) throw new Error(`no such migrations file: ${file}`);
  let found: unknown[];
  if (file.endsWith('.json')) {
    const json = JSON.parse(fs.readFileSync(file, 'utf8')) as unknown;
    found = Array.isArray(json) ? json : [json];
  } else {
    const mod = await importModule(file);
    found = [
      mod['default'],
      ...Object.entries(mod)
        .filter(([k]) => k !== 'default')
        .map(([, v]) => v),
    ].flatMap((v) => (Array.isArray(v) ? v : v && typeof v === 'object' && 'ops' in v ? [v] : []));
  }
  try {
    return found.map((m) => migrationFromJSON(m));
  } catch (e) {
    throw new Error(`${file}: ${(e as Error).message}`);
  }
}

/** The server's HTTP address from its sync address (ws → http). */
function httpBase(server: string): string {
  return server.replace(/^ws(s?):\/\//, 'http$1://').replace(/\/+$/, '');
}

export async function main(argv: readonly string[], io: Io = { out: (l) => console.log(l), err: (l) => console.error(l), cwd: process.cwd(), env: process.env }): Promise<number> {
  const at = (p: string) => path.resolve(io.cwd, p);
  try {
    const [command, sub] = argv;
    if (!command || command === '--help' || command === 'help') {
      io.out(USAGE);
      return command ? 0 : 2;
    }
    if (command === 'schema' && sub === 'hash') {
      const { args } = parse(argv.slice(2), {});
      if (args.length !== 1) throw new UsageError('schema hash takes one schema file');
      io.out(schemaHash(await loadSchema(at(args[0]!))));
      return 0;
    }
    if (command === 'migrations' && sub === 'create') {
      const { args, flags } = parse(argv.slice(2), { from: 'one', to: 'one', out: 'one' });
      if (args.length) throw new UsageError(`unexpected ${args.join(' ')}`);
      const m = diffSchemas(await loadSchema(at(one(flags, 'from')!)), await loadSchema(at(one(flags, 'to')!)));
      const text = `${JSON.stringify(m, null, 2)}\n`;
      const out = one(flags, 'out', false);
      if (out) fs.writeFileSync(at(out), text);
      else io.out(text.trimEnd());
      if (m.draft) {
        io.err(`This migration is a draft: decide, edit it, and remove "draft" before using it:\n${m.draft.map((d) => `  - ${d}`).join('\n')}`);
      }
      if (out) io.err(`wrote ${out} (${m.from} → ${m.to}, ${m.ops.length} operations)`);
      return 0;
    }
    if (command === 'validate') {
      const { args } = parse(argv.slice(1), {});
      if (args.length < 1) throw new UsageError('validate takes a schema and migrations files');
      const schema = await loadSchema(at(args[0]!));
      const migrations = (await Promise.all(args.slice(1).map((f) => loadMigrations(at(f))))).flat();
      const graph = new VersionGraph();
      for (const m of migrations) graph.addMigration(m);
      const hash = graph.addSchema(schema);
      const stray = [...graph.schemas.keys()].filter((h) => h !== hash && !graph.path(h, hash));
      if (stray.length) throw new Error(`no migrations connect version${stray.length > 1 ? 's' : ''} ${stray.join(', ')} to the schema (${hash})`);
      io.out(
        `schema ${hash}: valid${migrations.length ? `; ${migrations.length} migration${migrations.length > 1 ? 's' : ''} connect ${graph.schemas.size - 1} older or newer version${graph.schemas.size > 2 ? 's' : ''} to it` : ''}`,
      );
      return 0;
    }
    if (command === 'publish') {
      const { args, flags } = parse(argv.slice(1), { server: 'one', app: 'one', 'admin-secret': 'one', schema: 'one', migrations: 'many', permissions: 'one' });
      if (args.length) throw new UsageError(`unexpected ${args.join(' ')}`);
      const base = httpBase(one(flags, 'server')!);
      const app = one(flags, 'app')!;
      const secret = one(flags, 'admin-secret', false) ?? io.env['JAZZ_ADMIN_SECRET'];
      if (!secret) throw new UsageError('--admin-secret is required (or JAZZ_ADMIN_SECRET)');
      const schema = await loadSchema(at(one(flags, 'schema')!));
      const migrations = (await Promise.all((flags.get('migrations') ?? []).map((f) => loadMigrations(at(f))))).flat();
      const post = async (route: string, body: unknown) => {
        const res = await fetch(`${base}/apps/${encodeURIComponent(app)}/admin/${route}`, {
          method: 'POST',
          headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
          body: JSON.stringify(body),
        });
        const json = (await res.json().catch(() => ({}))) as Record<string, unknown>;
        if (!res.ok) throw new Error(`the server refused the ${route} (${res.status}): ${String(json['message'] ?? json['error'] ?? res.statusText)}`);
        return json;
      };
      const published = await post('schema', { schema: JSON.parse(canonicalSchemaJSON(schema)), migrations });
      io.out(`published schema ${String(published['hash'])} of app "${app}" (versions: ${(published['versions'] as string[] | undefined)?.join(', ') ?? '?'})`);
      const permsFile = one(flags, 'permissions', false);
      if (permsFile) {
        const mod = await importModule(at(permsFile));
        const perms = (mod['default'] ?? Object.values(mod).find((v) => v && typeof v === 'object' && 'schemaHash' in (v as object))) as Permissions | undefined;
        if (!perms) throw new Error(`${permsFile} exports no permissions (definePermissions(app, ...) as its default export)`);
        await post('permissions', perms);
        io.out(`published permissions for ${perms.schemaHash}`);
      }
      return 0;
    }
    throw new UsageError(`unknown command "${argv.join(' ')}"`);
  } catch (e) {
    if (e instanceof UsageError) {
      io.err(`${e.message}\n\n${USAGE}`);
      return 2;
    }
    io.err(`jazz-elements: ${e instanceof Error ? e.message : String(e)}`);
    return 1;
  }
}
