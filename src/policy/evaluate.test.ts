import { describe, expect, it } from 'vitest';
import { createDb } from '../db.ts';
import { s } from '../schema/builder.ts';
import { definePermissions } from './define.ts';
import { PolicyEvaluator } from './evaluate.ts';

const app = s.defineApp({ notes: s.table({ ownerId: s.string(), text: s.string() }) });

describe('session placeholders', () => {
  it('session.user_id (jazz-tools’ spelling) is the user id, never a claim named user_id', async () => {
    for (const spelling of ['userId', 'user_id'] as const) {
      const perms = definePermissions(app, ({ policy, session }) => {
        policy.notes.allowRead.where({ ownerId: session[spelling] });
      });
      const db = createDb({ app });
      // A token could carry a claim named user_id; it must not decide who the user is.
      const check = new PolicyEvaluator(db.engine, perms, { role: 'user', userId: 'alice', claims: { user_id: 'mallory', sub: 'alice' } });
      const id = '0190c6d2-5f3a-7c4e-9b1d-2a6f0e8c4b7a';
      expect(check.canRead('notes', { id, ownerId: 'alice', text: 'mine' }), spelling).toBe(true);
      expect(check.canRead('notes', { id, ownerId: 'mallory', text: 'theirs' }), spelling).toBe(false);
      await db.close();
    }
  });
});

const tree = s.defineApp({ folders: s.table({ name: s.string(), ownerId: s.string(), parentId: s.ref('folders').optional() }) });

describe('allowedTo chains and never()', () => {
  it('maxDepth bounds how many refs a chain of allowedTo follows', async () => {
    const db = createDb({ app: tree });
    let parentId: string | null = null;
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) {
      const h: { id: string } = db.insert(tree.folders, { name: `f${i}`, ownerId: i === 0 ? 'alice' : 'bob', parentId });
      ids.push(h.id);
      parentId = h.id;
    }
    const rows = await db.all(tree.folders.orderBy('name'));
    const readable = (maxDepth?: number) => {
      const perms = definePermissions(tree, ({ policy, session, allowedTo, anyOf }) => {
        policy.folders.allowRead.where(anyOf([{ ownerId: session.userId }, maxDepth === undefined ? allowedTo.read('parent') : allowedTo.read('parent', { maxDepth })]));
      });
      const check = new PolicyEvaluator(db.engine, perms, { role: 'user', userId: 'alice', claims: {} });
      return rows.filter((r) => check.canRead('folders', r)).map((r) => r.name);
    };
    expect(readable()).toEqual(['f0', 'f1', 'f2', 'f3']);
    expect(readable(2)).toEqual(['f0', 'f1', 'f2']);
    expect(readable(1)).toEqual(['f0', 'f1']);
    for (const bad of [0, 9, 1.5]) expect(() => readable(bad)).toThrow(expect.objectContaining({ code: 'SCHEMA_INVALID' }));
    expect(() => definePermissions(tree, ({ allowedTo }) => void allowedTo.read('parent', { maxdepth: 2 } as never))).toThrow(expect.objectContaining({ code: 'OPTION_INVALID' }));
    await db.close();
  });

  it('never() denies, and refuses a rule that would allow the same operation', () => {
    const perms = definePermissions(tree, ({ policy }) => {
      policy.folders.allowRead.always();
      policy.folders.allowDelete.never();
      policy.folders.allowUpdate.never();
    });
    expect(perms.tables['folders']).toMatchObject({ read: [expect.anything()], delete: [], update: [] });
    expect(() =>
      definePermissions(tree, ({ policy, session }) => {
        policy.folders.allowDelete.never();
        policy.folders.allowDelete.where({ ownerId: session.userId });
      }),
    ).toThrow(expect.objectContaining({ code: 'SCHEMA_INVALID', message: expect.stringContaining('allowDelete is never()') }));
  });
});
