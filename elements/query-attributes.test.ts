import { describe, expect, it } from 'vitest';
import { s } from '../worker/page/index.ts';
import { longestIncreasing } from './keyed-list.ts';
import { AttributeError, queryFromAttributes } from './query-attributes.ts';

const app = s.fromJSON({
  tables: {
    projects: { name: 'string' },
    todos: { title: 'string', done: 'boolean', priority: { type: 'int', optional: true }, projectId: { ref: 'projects', optional: true } },
  },
});

/** The located mistake `queryFromAttributes` throws for these attributes. */
function mistake(attrs: Parameters<typeof queryFromAttributes>[1]): { code: string; attribute: string; position: number } {
  try {
    queryFromAttributes(app.$schema, attrs);
  } catch (e) {
    if (e instanceof AttributeError) return { code: e.error.code, attribute: e.attribute, position: e.position };
    throw e;
  }
  throw new Error('no mistake');
}

describe('queryFromAttributes', () => {
  it('builds the query the attributes describe', () => {
    const q = queryFromAttributes(app.$schema, { table: 'todos', where: 'done = false', orderBy: 'title desc, priority', limit: '10', offset: '5', select: 'title, done', include: 'project' });
    expect(q.ast).toMatchObject({
      table: 'todos',
      where: { op: 'cmp', column: 'done', cmp: 'eq', value: false },
      orderBy: [
        { column: 'title', direction: 'desc' },
        { column: 'priority', direction: 'asc' },
      ],
      limit: 10,
      offset: 5,
      select: ['title', 'done'],
      include: { project: { kind: 'forward', column: 'projectId' } },
    });
    const nested = queryFromAttributes(app.$schema, { table: 'projects', include: 'todosViaProject.project, todosViaProject' });
    expect(nested.ast.include?.['todosViaProject']?.query.include?.['project']?.kind).toBe('forward');
  });

  it('locates every mistake in its attribute', () => {
    expect(mistake({ table: 'todoz' })).toEqual({ code: 'UNKNOWN_TABLE', attribute: 'table', position: 0 });
    expect(mistake({ table: 'todos', where: 'done = false and (priority >> 2)' })).toEqual({ code: 'QUERY_PARSE', attribute: 'where', position: 27 });
    expect(mistake({ table: 'todos', where: `title = "colour" or colour = 1` })).toEqual({ code: 'UNKNOWN_COLUMN', attribute: 'where', position: 20 });
    expect(mistake({ table: 'todos', orderBy: 'title,  nope desc' })).toEqual({ code: 'UNKNOWN_COLUMN', attribute: 'order-by', position: 8 });
    expect(mistake({ table: 'todos', orderBy: 'title sideways' })).toEqual({ code: 'QUERY_INVALID', attribute: 'order-by', position: 6 });
    expect(mistake({ table: 'todos', select: 'title, nope' })).toEqual({ code: 'UNKNOWN_COLUMN', attribute: 'select', position: 7 });
    expect(mistake({ table: 'projects', include: 'todosViaProject.nope' })).toEqual({ code: 'QUERY_INVALID', attribute: 'include', position: 16 });
    expect(mistake({ table: 'todos', limit: '-1' })).toMatchObject({ attribute: 'limit' });
  });
});

describe('longestIncreasing', () => {
  it('keeps the longest run in order, so the fewest rows move', () => {
    expect([...longestIncreasing([1, 2, 3, 0])].sort()).toEqual([0, 1, 2]); // the first row went last: move it alone
    expect([...longestIncreasing([3, 0, 1, 2])].sort()).toEqual([1, 2, 3]);
    expect([...longestIncreasing([-1, 0, -1, 1])].sort()).toEqual([1, 3]); // new rows (-1) never count
    expect(longestIncreasing([]).size).toBe(0);
  });
});
