/**
 * One step of the restart test, run by the page itself (`e2e/persist.html`): MiniBrowser outside
 * WebDriver cannot be told what to do, so the URL says it, and every engine runs the same steps.
 *
 *   ?step=write&cases=<dbName>:<driver>:<close 0|1>,...   writes a project and 200 todos in one
 *                                                          batch, renames the project, waits at `local`
 *   ?step=read&cases=...                                  reads them back with their status
 *
 * The result (one entry per case, or `{ failed }`) is kept in `window.result` and, with
 * `&report=<url>`, posted there (the spec listens on loopback: a MiniBrowser run on its own has no
 * other way back).
 */
import { createDb, s } from '../../worker/page/index.ts';
import { SCHEMA } from '../support/client-page.ts';

declare global {
  interface Window {
    result: unknown;
  }
}

type Driver = 'opfs' | 'idb';

async function write(db: any, app: any, close: boolean): Promise<unknown> {
  const p = db.insert(app.projects, { name: 'kept' });
  db.batch((b: any) => {
    for (let i = 0; i < 200; i++) b.insert(app.todos, { title: `todo ${String(i).padStart(3, '0')}`, priority: i % 7, projectId: p.id });
  });
  await db.update(app.projects, p.id, { name: 'kept and renamed' }).wait({ tier: 'local' });
  const status = db.status;
  if (close) await db.close();
  return { driver: status.driver };
}

async function read(db: any, app: any): Promise<unknown> {
  const projects = await db.all(app.projects.include({ todosViaProject: app.todos.orderBy('title') }));
  return {
    driver: db.status.driver,
    projects: projects.map((p: any) => ({ name: p.name, todos: p.todosViaProject.length, first: p.todosViaProject[0]?.title, last: p.todosViaProject.at(-1)?.title })),
  };
}

async function run(): Promise<unknown> {
  const q = new URLSearchParams(location.search);
  const out: Record<string, unknown> = {};
  for (const c of (q.get('cases') ?? '').split(',').filter(Boolean)) {
    const [dbName, driver, close] = c.split(':') as [string, Driver, string];
    const app = s.fromJSON(SCHEMA as never) as any;
    const db = createDb({ app, driver: { type: driver, dbName } });
    await db.ready;
    out[dbName] = q.get('step') === 'write' ? await write(db, app, close === '1') : await read(db, app);
  }
  return out;
}

run()
  .catch((e: unknown) => ({ failed: String(e) }))
  .then((r) => {
    window.result = r;
    const report = new URLSearchParams(location.search).get('report');
    if (report) void fetch(report, { method: 'POST', mode: 'no-cors', body: JSON.stringify(r) });
  });
