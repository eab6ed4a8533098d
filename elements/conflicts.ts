/**
 * Concurrent edits in a `<jazz-query>`'s rows (lazy: part of more.ts). A query asks for them with
 * its `conflicts` attribute, or by naming `$conflicts` in its template; each row then carries the
 * engine's `$conflicts` (`db.conflicts`: per field whose concurrent edit lost under
 * last-writer-wins, the `winner` and the `losers`, each `{ value, author, at, versionId }`), kept
 * current as versions arrive, and
 *
 * - **`<template jazz-each="$conflicts">`** in the row repeats once per side of each conflict: the
 *   value the row shows now first (`current` is true), then each value that lost. A side binds
 *   `{{field}}`, `{{value}}`, `{{author}}`, `{{at}}` (epoch milliseconds, like `$at` in
 *   `<jazz-history>`: `{{at | relative}}`), `{{versionId}}` and `{{current}}`; conditions test them
 *   too (`jazz-if="field = 'title'"`). It is keyed by field and version, so a focused button stays.
 * - **`jazz-action="pick"`** on a button in a side writes that side's value to the row's field: a
 *   new write, made having seen every side, so the conflict is over on every device once it
 *   syncs (and, unlike `db.revert` to the side's version, no other field of the row moves). It
 *   is tracked (and undoable) like any write of the query.
 * - **In a condition** (`jazz-if`, `jazz-class`, `jazz-attr`) of the row, `$conflicts` reads as
 *   the names of the fields in conflict, comma-separated, or null when there is none:
 *   `jazz-class="conflict: $conflicts is not null"`, `jazz-if="$conflicts contains 'title'"`.
 *   (A condition cannot test an array of objects; a text of names can, with the grammar it has.)
 * - **`jazz-conflict`** is fired by the query for each row of its result whose conflicts changed
 *   since its last result, with `{ table, id, conflicts }` (the row's `$conflicts`, empty when the
 *   conflict is over): a row that comes with conflicts counts, one that leaves the result does not.
 */
import type { AppSchema, ColumnSchema, FieldConflict, TableSchema } from '../worker/page/index.ts';
import { fire, type JazzRow } from './events.ts';
import { KeyedList } from './keyed-list.ts';
import { checkBindings, compileTemplate, RowView, type Extra, type RowContext } from './template.ts';

/** The table name a `$conflicts` copy's bindings are checked against. */
const SIDES = '$conflicts';
const SIDE_FIELDS: Record<string, ColumnSchema> = {
  field: { type: 'string' },
  value: { type: 'string', optional: true },
  author: { type: 'string' },
  at: { type: 'timestamp' },
  versionId: { type: 'string' },
  current: { type: 'boolean' },
};

/** The schema as conditions see it: `$conflicts` a text column of `table`, and a table of sides. */
export function withConflicts(schema: AppSchema, table: string): AppSchema {
  const spec = schema.tables[table];
  const tables: Record<string, TableSchema> = { ...schema.tables, [SIDES]: { columns: SIDE_FIELDS } };
  if (spec) tables[table] = { ...spec, columns: { ...spec.columns, $conflicts: { type: 'string', optional: true } } };
  return { ...schema, tables };
}

/** A row as its conditions see it: `$conflicts` as the names of the fields in conflict, or null. */
export function conditionRow(row: JazzRow): JazzRow {
  const c = row['$conflicts'];
  return Array.isArray(c) ? { ...row, $conflicts: c.length ? (c as FieldConflict[]).map((x) => x.field).join(', ') : null } : row;
}

/** Every side of every conflict of a row, the value shown now first. */
function sidesOf(conflicts: unknown): JazzRow[] {
  if (!Array.isArray(conflicts)) return [];
  return (conflicts as FieldConflict[]).flatMap((c) =>
    [c.winner, ...c.losers].map((s, i) =>
      Object.freeze({ id: `${c.field} ${s.versionId}`, field: c.field, value: s.value, author: s.author, at: new Date(s.at).getTime(), versionId: s.versionId, current: i === 0 }),
    ),
  );
}

/** `<template jazz-each="$conflicts">`: the sides of the row's conflicts (see above). */
export function conflictEach(t: HTMLTemplateElement): Extra {
  const nested = compileTemplate(t);
  return {
    check: (schema, query) => checkBindings(nested, withConflicts(schema, query.table), { table: SIDES, where: { op: 'true' }, orderBy: [] }),
    part(end, view) {
      // The sides' buttons act for the row's query, on the row (`parent`).
      const ctx: RowContext = { ...view.ctx, parent: view };
      const list = new KeyedList<RowView>(end, (row) => new RowView(nested, row, ctx, view.onField));
      let last: unknown;
      return {
        update(row) {
          const v = row['$conflicts'];
          if (v === last) return;
          last = v;
          list.set(sidesOf(v));
        },
        dispose: () => list.clear(),
      };
    },
  };
}

/** What each query last showed of its rows' conflicts (JSON by row id). */
const shown = new WeakMap<Element, Map<string, string>>();

/** Fires `jazz-conflict` from `query` for each row whose conflicts changed since its last result. */
export function conflictEvents(query: Element, table: string, rows: readonly JazzRow[]): void {
  const before = shown.get(query);
  const now = new Map<string, string>();
  for (const row of rows) {
    const conflicts = (row['$conflicts'] ?? []) as readonly FieldConflict[];
    const key = JSON.stringify(conflicts);
    now.set(row.id, key);
    if (before?.get(row.id) !== key && (before?.has(row.id) || conflicts.length)) fire(query, 'jazz-conflict', { table, id: row.id, conflicts });
  }
  shown.set(query, now);
}
