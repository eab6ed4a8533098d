/**
 * A short tour of the engine, as a client of a sync server (`npm start` runs it against the one it
 * starts) or on its own in memory (`npx tsx server/example.ts`). Run it, read it, change it.
 */
import { s, createDb } from './index.ts';

const app = s.defineApp({
  projects: s.table({ name: s.string() }),
  todos: s.table({
    title: s.string(),
    done: s.boolean().default(false),
    priority: s.int().optional(),
    projectId: s.ref('projects').optional(),
  }),
});

export async function runTour(server?: string): Promise<void> {
  const db = createDb({ app, driver: { type: 'memory' }, ...(server ? { server, appId: 'tour' } : {}) });

  const project = db.insert(app.projects, { name: 'jazz-elements' });
  const open = app.todos.where('done = false').orderBy('priority', 'desc').limit(5).include({ project: true });

  const stop = db.subscribeAll(open, ({ all, delta }) => {
    console.log(`\nopen todos (${all.length}): +${delta.added.length} −${delta.removed.length} ~${delta.changed.length}`);
    for (const t of all) console.log(`  [${t.priority ?? '-'}] ${t.title}  (${(t as any).project?.name ?? 'no project'})`);
  });

  const engine = db.insert(app.todos, { title: 'write the engine', priority: 3, projectId: project.id });
  db.insert(app.todos, { title: 'write the store', priority: 2, projectId: project.id });
  db.insert(app.todos, { title: 'write the elements', priority: 1 });
  await engine.wait({ tier: 'local' });

  await new Promise((r) => setTimeout(r, 10));
  db.update(app.todos, engine.id, { done: true });
  await new Promise((r) => setTimeout(r, 10));
  db.batch((b) => {
    b.insert(app.todos, { title: 'ship it', priority: 5, projectId: project.id });
    b.update(app.todos, engine.id, { done: false, title: 'write the engine, again' });
  });
  await new Promise((r) => setTimeout(r, 10));
  db.delete(app.todos, engine.id);
  await new Promise((r) => setTimeout(r, 10));

  const history = db.engine.history(db.engine.table('todos'), engine.id);
  console.log(`\n"write the engine" has ${history.length} versions in its history`);
  if (server) {
    await db.insert(app.todos, { title: 'synced', priority: 0 }).wait({ tier: 'global' });
    console.log(`the server confirmed a write at tier global; sync status: ${db.syncStatus.state}`);
  }
  stop();
  await db.close();
}

if (import.meta.url === `file://${process.argv[1]}`) await runTour();
