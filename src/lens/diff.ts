/**
 * A migration written from the difference between two schemas, for `jazz-elements migrations
 * create`. What the difference decides is written out; what only a person can decide makes it a
 * draft (`draft`: one sentence per decision), which refuses to load until the person has edited it
 * and removed `draft`:
 *
 * - a column dropped and another added in the same table with the same type may be a rename
 *   (written as a drop and an add; replace both with a `renameColumn` if it is one);
 * - a table dropped and another added may be a rename (replace with a `renameTable`);
 * - a column whose type changes is a drop and an add (its data does not carry over);
 * - a required column added without a default, or dropped without one, needs the value older rows
 *   (or older readers) get.
 *
 * New tables, and columns that are optional or have a default, need no decision.
 */
import { canonicalSchemaJSON, schemaHash, type AppSchema, type ColumnSchema } from '../schema/schema.ts';
import { orderOps, type LensOp } from './ops.ts';
import { typeName, type Migration } from './migration.ts';

export function diffSchemas(from: AppSchema, to: AppSchema): Migration {
  const ops: LensOp[] = [];
  const draft: string[] = [];
  const created = Object.keys(to.tables).filter((t) => !from.tables[t]);
  const dropped = Object.keys(from.tables).filter((t) => !to.tables[t]);
  for (const t of created) ops.push({ op: 'addTable', table: t, schema: to.tables[t]! });
  for (const t of dropped) ops.push({ op: 'dropTable', table: t, schema: from.tables[t]! });
  if (created.length && dropped.length) {
    draft.push(
      `tables ${dropped.map((t) => `"${t}"`).join(', ')} are dropped and ${created.map((t) => `"${t}"`).join(', ')} created: if one is a rename, replace its dropTable and addTable with { "op": "renameTable", "from": "<old>", "to": "<new>" } (and its columns' changes)`,
    );
  }
  for (const [tname, tt] of Object.entries(to.tables)) {
    const ft = from.tables[tname];
    if (!ft) continue;
    const added: string[] = [];
    const gone: string[] = [];
    for (const [cname, c] of Object.entries(tt.columns)) {
      const old = ft.columns[cname];
      if (old && typeName(old) === typeName(c)) continue;
      if (old) {
        draft.push(`${tname}.${cname} changes its type (${typeName(old)} → ${typeName(c)}): it is written as a drop and an add, so its values do not carry over; check the defaults`);
        ops.push(drop(tname, cname, old, draft));
      }
      ops.push(add(tname, cname, c, draft));
      if (!old) added.push(cname);
    }
    for (const [cname, c] of Object.entries(ft.columns)) {
      if (tt.columns[cname]) continue;
      ops.push(drop(tname, cname, c, draft));
      gone.push(cname);
    }
    for (const a of added) {
      for (const g of gone) {
        if (typeName(tt.columns[a]!) === typeName(ft.columns[g]!)) {
          draft.push(
            `${tname}.${g} is dropped and ${tname}.${a} added, both ${typeName(ft.columns[g]!)}: if it is a rename, replace its dropColumn and addColumn with { "op": "renameColumn", "table": "${tname}", "from": "${g}", "to": "${a}" }`,
          );
        }
      }
    }
  }
  return {
    from: schemaHash(from),
    to: schemaHash(to),
    fromSchema: JSON.parse(canonicalSchemaJSON(from)),
    toSchema: JSON.parse(canonicalSchemaJSON(to)),
    ops: orderOps(ops),
    ...(draft.length ? { draft } : {}),
  };
}

function add(table: string, column: string, c: ColumnSchema, draft: string[]): LensOp {
  const value = c.default ?? null;
  if (value === null && !c.optional) draft.push(`${table}.${column} is added and required: set the "default" of its addColumn to the value rows written before it read`);
  return { op: 'addColumn', table, column, schema: c, default: value };
}

function drop(table: string, column: string, c: ColumnSchema, draft: string[]): LensOp {
  const value = c.default ?? null;
  if (value === null && !c.optional) draft.push(`${table}.${column} is dropped and was required: set the "backwardsDefault" of its dropColumn to the value older readers see on newer rows`);
  return { op: 'dropColumn', table, column, schema: c, backwardsDefault: value };
}
