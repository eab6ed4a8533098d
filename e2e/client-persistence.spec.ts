/**
 * The page's client keeps its data across browser restarts: a page writes through each persistent
 * driver (`opfs`, `idb`), the browser is closed, a new browser opens the same profile, and every
 * row is there. One database is closed by the page first; the others are left open, as a closed
 * tab leaves them.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { chromium, expect, test } from '@playwright/test';
import { launchOptions } from './support/chromium.ts';
import { openClient } from './support/client-page.ts';

let profileDir: string;

test.beforeAll(() => {
  profileDir = mkdtempSync(join(resolve('.tmp'), 'e2e-profile-'));
});

test.afterAll(() => {
  rmSync(profileDir, { recursive: true, force: true });
});

const CASES = [
  { dbName: 'persist-opfs', driver: 'opfs', close: false },
  { dbName: 'persist-opfs-closed', driver: 'opfs', close: true },
  { dbName: 'persist-idb', driver: 'idb', close: false },
] as const;

test('rows written through opfs and idb are there after the browser restarts', async ({ baseURL }) => {
  const first = await chromium.launchPersistentContext(profileDir, { ...launchOptions(), baseURL });
  const written: Record<string, unknown> = {};
  for (const c of CASES) {
    const page = await first.newPage();
    await openClient(page, c);
    written[c.dbName] = await page.evaluate(async (close) => {
      const { app, db } = window.t;
      const p = db.insert(app.projects, { name: 'kept' });
      db.batch((b: any) => {
        for (let i = 0; i < 200; i++) b.insert(app.todos, { title: `todo ${String(i).padStart(3, '0')}`, priority: i % 7, projectId: p.id });
      });
      const last = db.update(app.projects, p.id, { name: 'kept and renamed' });
      await last.wait({ tier: 'local' });
      const status = db.status;
      if (close) await db.close();
      return { status, rows: 201 };
    }, c.close);
  }
  await first.close();

  const second = await chromium.launchPersistentContext(profileDir, { ...launchOptions(), baseURL });
  try {
    for (const c of CASES) {
      const page = await second.newPage();
      await openClient(page, c);
      const r = await page.evaluate(async () => {
        const { app, db } = window.t;
        const projects = await db.all(app.projects.include({ todosViaProject: app.todos.orderBy('title') }));
        return {
          status: db.status,
          projects: projects.map((p: any) => ({ name: p.name, todos: p.todosViaProject.length, first: p.todosViaProject[0]?.title, last: p.todosViaProject.at(-1)?.title })),
        };
      });
      expect(r.status.driver, c.dbName).toMatchObject({ requested: c.driver, used: c.driver, persistent: true });
      expect(r.projects, c.dbName).toEqual([{ name: 'kept and renamed', todos: 200, first: 'todo 000', last: 'todo 199' }]);
    }
  } finally {
    await second.close();
  }
  expect(Object.keys(written)).toHaveLength(CASES.length);
});
