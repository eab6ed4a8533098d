/**
 * The command line's round trip: a migration created from two schema files (a draft), edited,
 * validated, published with the schemas through a real server's admin routes, and a client on
 * each side of it syncing.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { main, type Io } from './cli.ts';
import { createDb, startSyncServer, s } from '../server/index.ts';
import { until } from '../src/testing/until.ts';

const dir = mkdtempSync(join(tmpdir(), 'jazz-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function io(): Io & { lines: string[]; errors: string[] } {
  const lines: string[] = [];
  const errors: string[] = [];
  return { out: (l) => lines.push(l), err: (l) => errors.push(l), cwd: dir, env: {}, lines, errors };
}

const V1 = { tables: { todos: { title: 'string', priority: 'int' } } };
const V2 = { tables: { todos: { name: 'string', done: { type: 'boolean', default: false } } } };

describe('npx jazz-elements', () => {
  it('schema hash prints the API’s hash, for a JSON file and for a module', async () => {
    writeFileSync(join(dir, 'v1.json'), JSON.stringify(V1));
    writeFileSync(join(dir, 'app.mjs'), `export default { $schema: ${JSON.stringify({ tables: { todos: { columns: { title: { type: 'string' }, priority: { type: 'int' } } } } })} };\n`);
    const a = io();
    expect(await main(['schema', 'hash', 'v1.json'], a)).toBe(0);
    expect(a.lines).toEqual([s.fromJSON(V1).$hash]);
    const b = io();
    expect(await main(['schema', 'hash', 'app.mjs'], b)).toBe(0);
    expect(b.lines).toEqual([s.fromJSON(V1).$hash]);
    // And through the package's bin, as `npx jazz-elements` runs it.
    const out = execFileSync(process.execPath, [join(__dirname, 'jazz-elements.mjs'), 'schema', 'hash', join(dir, 'v1.json')], { encoding: 'utf8' });
    expect(out.trim()).toBe(s.fromJSON(V1).$hash);
  });

  it('create → edit the draft → validate → publish, and clients of both versions sync', async () => {
    writeFileSync(join(dir, 'v1.json'), JSON.stringify(V1));
    writeFileSync(join(dir, 'v2.json'), JSON.stringify(V2));
    const created = io();
    expect(await main(['migrations', 'create', '--from', 'v1.json', '--to=v2.json', '--out', 'm12.json'], created)).toBe(0);
    expect(created.errors.join('\n')).toContain('if it is a rename, replace its dropColumn and addColumn');
    const draft = JSON.parse(readFileSync(join(dir, 'm12.json'), 'utf8'));
    expect(draft.draft.length).toBeGreaterThan(0);
    // A draft refuses to validate.
    const refused = io();
    expect(await main(['validate', 'v2.json', 'm12.json'], refused)).toBe(1);
    expect(refused.errors.join('\n')).toContain('is a draft');
    // A person decides: title became name; priority goes with a backwards default.
    const ops = draft.ops.filter((o: { op: string; column?: string }) => !(o.op === 'addColumn' && o.column === 'name') && !(o.op === 'dropColumn' && o.column === 'title'));
    ops.unshift({ op: 'renameColumn', table: 'todos', from: 'title', to: 'name' });
    for (const o of ops) if (o.op === 'dropColumn' && o.column === 'priority') o.backwardsDefault = 0;
    delete draft.draft;
    writeFileSync(join(dir, 'm12.json'), JSON.stringify({ ...draft, ops }, null, 2));
    const valid = io();
    expect(await main(['validate', 'v2.json', 'm12.json'], valid)).toBe(0);
    expect(valid.lines[0]).toMatch(/valid; 1 migration connect 1 older or newer version to it/);
    // Errors that name what to do: a migration that does not reach the schema, a bad flag.
    const stray = io();
    writeFileSync(join(dir, 'v3.json'), JSON.stringify({ tables: { notes: { text: 'string' } } }));
    expect(await main(['validate', 'v3.json', 'm12.json'], stray)).toBe(1);
    expect(stray.errors[0]).toMatch(/no migrations connect versions .* to the schema/);
    const usage = io();
    expect(await main(['publish', '--nope', 'x'], usage)).toBe(2);
    expect(usage.errors[0]).toContain('unknown flag --nope');

    const server = await startSyncServer({ port: 0, inMemory: true, adminSecret: 'top-secret', auth: { backendSecret: 'backend' }, log: () => {} });
    try {
      const url = `http://127.0.0.1:${server.port}`;
      const p1 = io();
      expect(await main(['publish', '--server', url, '--app', 'todos', '--schema', 'v1.json', '--admin-secret', 'top-secret'], p1)).toBe(0);
      const old = createDb({ app: s.fromJSON(V1), server: server.url, appId: 'todos', auth: { secret: 'backend' } });
      const h = old.insert('todos', { title: 'written in v1', priority: 4 });
      await h.wait({ tier: 'global' });
      const p2 = io();
      expect(
        await main(['publish', `--server=ws://127.0.0.1:${server.port}`, '--app', 'todos', '--schema', 'v2.json', '--migrations', 'm12.json'], { ...p2, env: { JAZZ_ADMIN_SECRET: 'top-secret' } }),
      ).toBe(0);
      expect(p2.lines[0]).toMatch(/published schema .* of app "todos" \(versions: .*,.*\)/);
      const v2 = s.fromJSON(V2);
      const fresh = createDb({ app: v2, server: server.url, appId: 'todos', auth: { secret: 'backend' } });
      expect((await fresh.all(v2['todos']!, { tier: 'global' })).map((r) => [r['name'], r['done']])).toEqual([['written in v1', false]]);
      await fresh.update('todos', h.id, { name: 'renamed in v2' }).wait({ tier: 'global' });
      // The v1 client (moved to the new engine: it reconnected) sees it in its own shape.
      let title: unknown;
      old.subscribeAll(s.fromJSON(V1)['todos']!, ({ all }) => (title = all[0]?.['title']), { tier: 'global' });
      await until(() => title === 'renamed in v2', 10_000);
      await old.close();
      await fresh.close();
    } finally {
      await server.close();
    }
  });
});
