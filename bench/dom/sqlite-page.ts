/**
 * Page C of the DOM bench (bench/dom.ts): the same 20 lists as page A on SQLite-WASM, in the
 * browser bench's worker (bench/browser/sqlite.worker.ts: the `opfs-sahpool` VFS, else `opfs`;
 * exclusive locking, WAL if the VFS takes it, `synchronous=FULL`, so durable), rendered by hand
 * with the keyed rendering of render.ts (the same as the Dexie page).
 *
 * SQLite has no live queries: on a checkbox's `change` the page sends one message that writes
 * `done` (one transaction) and then re-runs all 20 list queries, and re-renders the 20 lists from
 * the answer (one round trip page → worker → page). Each list is one SELECT joined to its rows'
 * project, with the same filter, order and limit as the other pages.
 */
import { SqliteClient } from '../browser/sqlite-client.ts';
import type { SqlQuery, SqliteSettings } from '../browser/sqlite-protocol.ts';
import { keyedList, listSections, type ShownTodo } from './render.ts';
import { harness, LISTS, makeRows, waitRendered, type ListSpec } from './shared.ts';

const SELECT = 'SELECT t.id, t.title, t.done, p.name AS projectName FROM todos t JOIN projects p ON p.id = t.projectId';

function listSql(s: ListSpec, projects: readonly string[]): SqlQuery {
  if (s.kind === 'project') return { sql: `${SELECT} WHERE t.projectId = ? AND t.done = ? ORDER BY t.title LIMIT ${s.limit}`, bind: [projects[s.project], s.done ? 1 : 0] };
  if (s.kind === 'priorityAtLeast') return { sql: `${SELECT} WHERE t.priority >= ? ORDER BY t.due DESC LIMIT ${s.limit}`, bind: [s.min] };
  return { sql: `${SELECT} WHERE t.priority = ? AND t.done = ? ORDER BY t.title LIMIT ${s.limit}`, bind: [s.priority, s.done ? 1 : 0] };
}

/** A result row as the lists show it (SQLite's `done` is 0 or 1). */
const shown = (r: any): ShownTodo => ({ id: r.id, title: r.title, done: !!r.done, project: { name: r.projectName } });

let sql: SqliteClient | undefined;
let h: ReturnType<typeof harness> | undefined;

const bench = {
  /** Creates the database and loads the same rows as page A (its ids and projects), one transaction per 1,000 rows, each awaited. */
  async load(projects: string[], ids: string[]): Promise<{ ms: number; settings: SqliteSettings }> {
    sql = new SqliteClient();
    const settings = await sql.call({ op: 'open', fresh: true });
    await sql.call({ op: 'projects', projects: projects.map((id, i) => ({ id, name: `project ${i}` })) });
    const rows = makeRows(ids.length, projects).map((r, i) => ({ id: ids[i]!, ...r }));
    const t0 = performance.now();
    for (let i = 0; i < rows.length; i += 1000) await sql.call({ op: 'insert', rows: rows.slice(i, i + 1000) });
    const ms = performance.now() - t0;
    await sql.close();
    sql = undefined;
    return { ms, settings };
  },

  /** Opens the database, runs the 20 queries and renders them; resolves when all 20 show rows. */
  async mount(projects: string[]) {
    const t0 = performance.now();
    const client = new SqliteClient();
    sql = client;
    const settings = await client.call({ op: 'open', fresh: false });
    const queries = LISTS.map((s) => listSql(s, projects));
    await client.call({ op: 'define', queries });
    const sections = listSections(document.getElementById('lists')!);
    const renders: ((rows: readonly ShownTodo[]) => void)[] = [];
    const renderAll = (results: readonly any[][]) => results.forEach((rows, i) => renders[i]!(rows.map(shown)));
    const onToggle = (id: string, done: boolean) => {
      client
        .call({ op: 'update', updates: [{ id, set: { done } }], requery: true })
        .then((results) => renderAll(results!))
        .catch((e: unknown) => console.error(e));
    };
    for (const sec of sections) renders.push(keyedList(sec.querySelector('ul')!, onToggle));
    renderAll(await client.call({ op: 'queries' }));
    const rendered = await waitRendered(sections);
    h = harness(sections, async (i) => (await client.call({ op: 'select', query: queries[i]! })).map(shown));
    for (const sec of sections) h.containers.add(sec.querySelector('ul')!);
    h.start();
    return { ms: performance.now() - t0, renderedMs: rendered, sinceNavigation: performance.now(), settings };
  },

  pick: (k: number) => h!.pick(k),
  settle: (quiet: number) => h!.settle(quiet),
  check: () => h!.check(),
  diff: (i: number) => h!.diff(i),
  async close() {
    await sql?.close();
    sql = undefined;
  },
};

(window as any).bench = bench;
document.documentElement.dataset['ready'] = 'yes';
