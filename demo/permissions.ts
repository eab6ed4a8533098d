/**
 * Who may see and change what on the demo's board (the server loads this; see demo/server.ts).
 * Everyone signed in works on the same projects and tasks; a comment is written in its author's
 * name and only its author edits or deletes it; a private note is its owner's alone: no other user
 * ever receives it (the server filters every frame it sends). So is a user's undo list (the rows of
 * `undo` they wrote, `$createdBy`), which only they read, add to and take from.
 */
import { readFileSync } from 'node:fs';
import { s } from '../src/index.ts';
import { definePermissions } from '../src/policy/define.ts';

export const schemaJSON: unknown = JSON.parse(readFileSync(new URL('./schema.json', import.meta.url), 'utf8'));
export const app = s.fromJSON(schemaJSON);

export default definePermissions(app, ({ policy, session }) => {
  const mine = (column: string) => ({ [column]: session.userId });
  policy.projects.allowRead.always();
  policy.projects.allowInsert.always();
  policy.projects.allowUpdate.always();
  policy.projects.allowDelete.always();

  policy.tasks.allowRead.always();
  policy.tasks.allowInsert.where(mine('createdBy'));
  policy.tasks.allowUpdate.always();
  policy.tasks.allowDelete.always();

  policy.comments.allowRead.always();
  policy.comments.allowInsert.where(mine('author'));
  policy.comments.allowUpdate.where(mine('author'));
  policy.comments.allowDelete.where(mine('author'));

  policy.notes.allowRead.where(mine('ownerId'));
  policy.notes.allowInsert.where(mine('ownerId'));
  policy.notes.allowUpdate.where(mine('ownerId'));
  policy.notes.allowDelete.where(mine('ownerId'));

  // The undo list (<jazz-db undo="undo">): each user's own entries, by who wrote them.
  policy.undo.allowRead.where(mine('$createdBy'));
  policy.undo.allowInsert.where(mine('$createdBy'));
  policy.undo.allowDelete.where(mine('$createdBy'));
});
