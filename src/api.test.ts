/**
 * Type-level tests of the public API: what inference gives a user. These assertions are checked by
 * `tsc` (npm test's typecheck step); the runtime part only makes sure the calls run.
 */
import { describe, expect, expectTypeOf, it } from 'vitest';
import { s, createDb, type RowOf, type InsertOf, type WriteHandle } from './index.ts';

const app = s.defineApp({
  projects: s.table({ name: s.string() }),
  todos: s.table({
    title: s.string(),
    done: s.boolean().default(false),
    priority: s.int().optional(),
    status: s.enum('open', 'closed').default('open'),
    tags: s.array(s.string()).optional(),
    projectId: s.ref('projects').optional(),
  }),
});

describe('public API types', () => {
  it('infers rows and inserts from the schema', async () => {
    type Todo = RowOf<typeof app.todos>;
    expectTypeOf<Todo['id']>().toEqualTypeOf<string>();
    expectTypeOf<Todo['title']>().toEqualTypeOf<string>();
    expectTypeOf<Todo['done']>().toEqualTypeOf<boolean>();
    expectTypeOf<Todo['priority']>().toEqualTypeOf<number | null>();
    expectTypeOf<Todo['status']>().toEqualTypeOf<'open' | 'closed'>();
    expectTypeOf<Todo['tags']>().toEqualTypeOf<string[] | null>();

    type NewTodo = InsertOf<typeof app.todos>;
    expectTypeOf<{ title: string }>().toMatchTypeOf<NewTodo>();
    expectTypeOf<{ done: boolean }>().not.toMatchTypeOf<NewTodo>(); // title is required

    const db = createDb({ app });
    const h = db.insert(app.todos, { title: 'x', priority: 2 });
    expectTypeOf(h).toEqualTypeOf<WriteHandle<RowOf<typeof app.todos>>>();
    expectTypeOf(await h.wait()).toEqualTypeOf<RowOf<typeof app.todos> | null>();
    // @ts-expect-error a string is not a number
    expect(() => db.insert(app.todos, { title: 'x', priority: 'high' })).toThrow();
    // @ts-expect-error an unknown column
    expect(() => db.insert(app.todos, { title: 'x', nope: 1 })).toThrow();
    // where's keys are the table's columns, system fields and $or/$and/$not.
    // @ts-expect-error a column the table does not have
    expect(() => app.todos.where({ titel: 'x' })).toThrow(expect.objectContaining({ code: 'UNKNOWN_COLUMN' }));
    // @ts-expect-error inside $or too
    expect(() => app.todos.where({ $or: [{ done: true }, { nope: 1 }] })).toThrow(expect.objectContaining({ code: 'UNKNOWN_COLUMN' }));
    expect(app.todos.where({ done: false, $or: [{ priority: { gt: 2 } }, { $createdBy: 'alice' }], $not: { title: 'x' } }).ast.table).toBe('todos');
    const rows = await db.all(app.todos.where({ done: false }).orderBy('title'));
    expectTypeOf(rows[0]!.title).toEqualTypeOf<string>();
    // @ts-expect-error orderBy takes a column of the table
    expect(() => app.todos.orderBy('nope')).toThrow();
  });
});
