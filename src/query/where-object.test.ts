import { describe, expect, expectTypeOf, it } from 'vitest';
import type { CompareOp, Expr, Value } from './ast.ts';
import { MAX_WHERE_OBJECT_DEPTH, whereFromObject, type WhereFor, type WhereObject } from './where-object.ts';
import { JazzError } from '../util/errors.ts';

const cmp = (column: string, op: CompareOp, value: Value): Expr => ({ op: 'cmp', column, cmp: op, value });
const eq = (column: string, value: Value): Expr => cmp(column, 'eq', value);
const isNull = (column: string, v = true): Expr => ({ op: 'isNull', column, isNull: v });

/** Asserts a QUERY_INVALID error whose message contains `text` and whose details name `field`. */
function expectInvalid(obj: unknown, text: string, field: string): void {
  let error: unknown;
  try {
    whereFromObject(obj as WhereObject);
  } catch (e) {
    error = e;
  }
  expect(error, `whereFromObject should throw for ${text}`).toBeInstanceOf(JazzError);
  const err = error as JazzError;
  expect(err.code).toBe('QUERY_INVALID');
  expect(err.message).toContain(text);
  expect(err.details.field).toBe(field);
}

describe('whereFromObject: plain values', () => {
  it('maps an empty object to true', () => {
    expect(whereFromObject({})).toEqual({ op: 'true' });
  });

  it('maps plain values to equality and null to isNull', () => {
    expect(whereFromObject({ done: false })).toEqual(eq('done', false));
    expect(whereFromObject({ id: 'uuid' })).toEqual(eq('id', 'uuid'));
    expect(whereFromObject({ n: 0 })).toEqual(eq('n', 0));
    expect(whereFromObject({ due: null })).toEqual(isNull('due'));
    expect(whereFromObject({ tags: ['a', 'b'] })).toEqual(eq('tags', ['a', 'b']));
    expect(whereFromObject({ blob: new Uint8Array([1, 2]) })).toEqual(eq('blob', new Uint8Array([1, 2])));
  });

  it('ANDs the fields in key order as one flat node', () => {
    expect(whereFromObject({ done: false, priority: { gte: 2, lt: 5 }, title: 'x' })).toEqual({
      op: 'and',
      args: [eq('done', false), cmp('priority', 'gte', 2), cmp('priority', 'lt', 5), eq('title', 'x')],
    });
  });

  it('copies values so later mutation does not change the AST', () => {
    const tags = ['a'];
    const bytes = new Uint8Array([1]);
    const json = { k: 1 };
    const e = whereFromObject({ tags, bytes, json: { eq: json } });
    tags.push('b');
    bytes[0] = 9;
    json.k = 2;
    expect(e).toEqual({
      op: 'and',
      args: [eq('tags', ['a']), eq('bytes', new Uint8Array([1])), eq('json', { k: 1 })],
    });
  });
});

describe('whereFromObject: operators', () => {
  it('maps every operator', () => {
    expect(whereFromObject({ x: { eq: 1 } })).toEqual(eq('x', 1));
    expect(whereFromObject({ x: { ne: 1 } })).toEqual(cmp('x', 'ne', 1));
    expect(whereFromObject({ x: { gt: 1 } })).toEqual(cmp('x', 'gt', 1));
    expect(whereFromObject({ x: { gte: 1 } })).toEqual(cmp('x', 'gte', 1));
    expect(whereFromObject({ x: { lt: 'm' } })).toEqual(cmp('x', 'lt', 'm'));
    expect(whereFromObject({ x: { lte: 1 } })).toEqual(cmp('x', 'lte', 1));
    expect(whereFromObject({ x: { in: [1, 'a', null] } })).toEqual({ op: 'in', column: 'x', values: [1, 'a', null] });
    expect(whereFromObject({ x: { in: [] } })).toEqual({ op: 'in', column: 'x', values: [] });
    expect(whereFromObject({ title: { contains: 'x' } })).toEqual({ op: 'contains', column: 'title', value: 'x' });
    expect(whereFromObject({ x: { isNull: true } })).toEqual(isNull('x'));
    expect(whereFromObject({ x: { isNull: false } })).toEqual(isNull('x', false));
  });

  it('maps eq null and ne null to isNull', () => {
    expect(whereFromObject({ x: { eq: null } })).toEqual(isNull('x'));
    expect(whereFromObject({ x: { ne: null } })).toEqual(isNull('x', false));
  });

  it('ANDs several operators on one field', () => {
    expect(whereFromObject({ x: { gte: 1, lte: 9, ne: 5 } })).toEqual({
      op: 'and',
      args: [cmp('x', 'gte', 1), cmp('x', 'lte', 9), cmp('x', 'ne', 5)],
    });
  });

  it('compares JSON values through eq', () => {
    expect(whereFromObject({ meta: { eq: { a: [1, { b: null }] } } })).toEqual(eq('meta', { a: [1, { b: null }] }));
    expect(whereFromObject({ meta: { eq: {} } })).toEqual(eq('meta', {}));
    // An object value whose keys happen to be operator names is still data inside eq.
    expect(whereFromObject({ meta: { eq: { gt: 1 } } })).toEqual(eq('meta', { gt: 1 }));
  });

  it('accepts objects with a null prototype', () => {
    const ops = Object.assign(Object.create(null) as Record<string, unknown>, { gt: 1 });
    const where = Object.assign(Object.create(null) as Record<string, unknown>, { x: ops });
    expect(whereFromObject(where)).toEqual(cmp('x', 'gt', 1));
  });
});

describe('whereFromObject: combinators', () => {
  it('builds $or, $and and $not', () => {
    expect(whereFromObject({ $or: [{ a: 1 }, { b: 2 }] })).toEqual({ op: 'or', args: [eq('a', 1), eq('b', 2)] });
    expect(whereFromObject({ $or: [{ a: 1 }] })).toEqual(eq('a', 1));
    expect(whereFromObject({ $and: [{ a: 1 }, { b: 2 }] })).toEqual({ op: 'and', args: [eq('a', 1), eq('b', 2)] });
    expect(whereFromObject({ $and: [] })).toEqual({ op: 'true' });
    expect(whereFromObject({ $not: { a: 1 } })).toEqual({ op: 'not', arg: eq('a', 1) });
    expect(whereFromObject({ $not: { a: 1, b: 2 } })).toEqual({ op: 'not', arg: { op: 'and', args: [eq('a', 1), eq('b', 2)] } });
  });

  it('combines fields and combinators into one flat and', () => {
    expect(
      whereFromObject({
        done: false,
        $or: [{ priority: { gte: 2 } }, { $and: [{ a: 1 }, { b: 2 }] }, { $or: [{ c: 3 }, { d: 4 }] }],
        $and: [{ e: 5 }, { f: { gt: 1, lt: 3 } }],
        $not: { g: null },
      }),
    ).toEqual({
      op: 'and',
      args: [
        eq('done', false),
        {
          op: 'or',
          args: [cmp('priority', 'gte', 2), { op: 'and', args: [eq('a', 1), eq('b', 2)] }, eq('c', 3), eq('d', 4)],
        },
        eq('e', 5),
        cmp('f', 'gt', 1),
        cmp('f', 'lt', 3),
        { op: 'not', arg: isNull('g') },
      ],
    });
  });
});

describe('whereFromObject: errors', () => {
  it.each([
    [{ meta: { a: 1 } }, 'use { eq: {...} } to compare with a JSON value', 'meta'],
    [{ meta: {} }, 'use { eq: {} } to compare with an empty JSON object', 'meta'],
    [{ x: { gt: 1, foo: 2 } }, "unknown operator 'foo' for 'x'", 'x'],
    [{ x: { gte: 1, $gt: 2 } }, "unknown operator '$gt' for 'x'", 'x'],
    [{ x: { in: 'a' } }, "'x': in takes an array of values, got string", 'x'],
    [{ x: { in: new Set([1]) } }, "'x': in takes an array of values, got a Set", 'x'],
    [{ x: { isNull: 'yes' } }, "'x': isNull takes true or false, got string", 'x'],
    [{ x: { gt: null } }, "'x': gt cannot compare with null", 'x'],
    [{ x: undefined }, "'x' is undefined; omit the field", 'x'],
    [{ x: { eq: undefined } }, "'x': eq is undefined", 'x'],
    [{ x: Number.NaN }, "'x': NaN is not a valid value", 'x'],
    [{ x: { lt: Infinity } }, "'x': Infinity is not a valid value", 'x'],
    [{ x: 10n }, "'x': bigint is not a valid value", 'x'],
    [{ x: () => 1 }, "'x': function is not a valid value", 'x'],
    [{ x: Symbol('s') }, "'x': symbol is not a valid value", 'x'],
    [{ x: new Date(0) }, 'use date.getTime()', 'x'],
    [{ x: new Map() }, "'x': a Map is not a valid value", 'x'],
    [{ x: { in: [1, undefined] } }, "'x': undefined is not a valid value", 'x'],
    [{ x: ['a', { b: undefined }] }, "'x': undefined is not a valid value", 'x'],
    [{ $or: { a: 1 } }, '$or must be an array of where objects, got an object', '$or'],
    [{ $or: [] }, '$or must not be empty', '$or'],
    [{ $and: 'a = 1' }, '$and must be an array of where objects, got string', '$and'],
    [{ $or: [{ a: 1 }, 'b'] }, '$or[1] must be a plain object', '$or[1]'],
    [{ $not: [{ a: 1 }] }, '$not must be a plain object like { done: false }, got an array', '$not'],
    [{ $nor: [] }, "unknown combinator or system field '$nor'; use $or, $and, $not or a system field", '$nor'],
    [{ $or: [{ x: { bad: 1 } }] }, "'x' has a plain object", 'x'],
  ])('%o → %s', (obj, text, field) => {
    expectInvalid(obj, text, field);
  });

  it('rejects a non-object where', () => {
    expectInvalid(null, 'where must be a plain object', 'where');
    expectInvalid([{ a: 1 }], 'where must be a plain object like { done: false }, got an array', 'where');
    expectInvalid('a = 1', 'where must be a plain object', 'where');
  });

  it('names the offending operator in details', () => {
    try {
      whereFromObject({ x: { gtee: 1, gt: 1 } });
      expect.unreachable();
    } catch (e) {
      expect((e as JazzError).details).toEqual({ field: 'x', operator: 'gtee' });
    }
  });

  it('limits nesting, which also stops cyclic input', () => {
    let deep: Record<string, unknown> = { a: 1 };
    for (let i = 0; i < MAX_WHERE_OBJECT_DEPTH; i++) deep = { $not: deep };
    expect(() => whereFromObject(deep)).not.toThrow();
    expectInvalid({ $not: deep }, `nested deeper than ${MAX_WHERE_OBJECT_DEPTH} levels`, '$not');

    const cyclic: Record<string, unknown> = {};
    cyclic.$not = cyclic;
    expectInvalid(cyclic, 'nested deeper', '$not');

    const loop: unknown[] = [];
    loop.push(loop);
    expectInvalid({ x: loop }, 'value nested deeper', 'x');
  });
});

describe('whereFromObject: hostile input is data', () => {
  it('treats __proto__ and constructor keys as columns and values as data', () => {
    const where = JSON.parse('{"__proto__": 1, "constructor": "x", "toString": {"eq": "\\"); alert(1)//"}}') as WhereObject;
    expect(whereFromObject(where)).toEqual({
      op: 'and',
      args: [eq('__proto__', 1), eq('constructor', 'x'), eq('toString', '"); alert(1)//')],
    });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('does not take inherited names for operators', () => {
    expectInvalid({ x: { constructor: 1 } }, "'x' has a plain object", 'x');
    expectInvalid(JSON.parse('{"x": {"__proto__": 1}}'), "'x' has a plain object", 'x');
    expectInvalid({ x: { gt: 1, hasOwnProperty: 1 } }, "unknown operator 'hasOwnProperty'", 'x');
  });

  it('keeps a __proto__ key inside a JSON value as an own property', () => {
    const e = whereFromObject(JSON.parse('{"meta": {"eq": {"__proto__": {"polluted": true}}}}') as WhereObject);
    expect(e.op).toBe('cmp');
    const value = (e as { value: Record<string, unknown> }).value;
    expect(Object.keys(value)).toEqual(['__proto__']);
    expect(Object.getPrototypeOf(value)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

describe('WhereFor<Row>', () => {
  interface Todo {
    id: string;
    title: string;
    done: boolean;
    priority: number;
    due: number | null;
    tags: string[];
    meta: { readonly [k: string]: Value };
  }

  it('types columns, operators and combinators', () => {
    const ok: WhereFor<Todo> = {
      done: false,
      priority: { gte: 2, lt: 5 },
      title: { contains: 'x' },
      tags: { contains: 'a' },
      id: { in: ['a', 'b'] },
      due: { isNull: true },
      meta: { eq: { a: 1 } },
      $or: [{ done: true }, { $not: { priority: 1 } }],
    };
    expect(whereFromObject(ok).op).toBe('and');
    expectTypeOf<WhereFor<Todo>>().toExtend<WhereObject>();

    // @ts-expect-error: unknown column
    const badColumn: WhereFor<Todo> = { nope: 1 };
    // @ts-expect-error: wrong value type
    const badValue: WhereFor<Todo> = { done: 'yes' };
    // @ts-expect-error: contains on a boolean column
    const badContains: WhereFor<Todo> = { done: { contains: true } };
    // @ts-expect-error: a bare JSON object must be written { eq: ... }
    const bareJson: WhereFor<Todo> = { meta: { a: 1 } };
    // @ts-expect-error: gt with null
    const gtNull: WhereFor<Todo> = { due: { gt: null } };
    void [badColumn, badValue, badContains, bareJson, gtNull];
  });
});
