/**
 * `npm start` for now: a small tour of the engine in Node (the demo app and the sync server
 * replace it in their issues). Run it, read it, change it.
 */
import { s, createDb } from '../src/index.ts';

const app = s.defineApp({
  projects: s.table({ name: s.string() }),
  todos: s.table({
    title: s.string(),
    done: s.boolean().default(false),
    priority: s.int().optional(),
    projectId: s.ref('projects').optional(),
  }),
});

const db = createDb({ app, driver: { type: 'memory' } });

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
stop();
await db.close();
