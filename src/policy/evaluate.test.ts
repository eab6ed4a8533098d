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
