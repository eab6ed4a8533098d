/**
 * Migrations: how one schema version becomes the next, as lens operations (ops.ts), written in the
 * shape jazz-tools users know and checked when they are defined:
 *
 *   export default s.defineMigration({
 *     from: v1, to: v2,
 *     migrate: { todos: { name: s.renameFrom('title'), done: s.add.boolean({ default: false }), priority: s.drop.int({ backwardsDefault: 0 }) } },
 *     createTables: { tags: true }, dropTables: { legacy: true }, renameTables: { tasks: s.renameTableFrom('jobs') },
 *   });
 *
 * `migrate` is keyed by the tables' new names, then by column: its new name for a rename or an
 * added column, its old name for a dropped one. Columns that keep their name and type need no entry.
 *
 * The result is the JSON form (`Migration`): both schemas, their hashes and the operations, so a
 * migration alone says everything a replica needs to read the older version's rows. It is what
 * `<script type="application/json" slot="migrations">` holds (an array of them) and what the CLI
 * writes. `migrationFromJSON` checks one; a draft (written by `migrations create` where a person must
 * decide, e.g. whether a drop and an add are a rename) refuses to load.
 *
 * The check: every table and column the two schemas do not share is accounted for (added, dropped
 * or renamed), nothing changes its type (that is a drop and an add), defaults fit their columns,
 * and running the operations on `from` gives `to`. Anything else is `MIGRATION_INVALID`, naming the
 * table and column.
 */
import { canonicalSchemaJSON, checkValue, schemaFromJSON, schemaHash, type AppSchema, type ColumnSchema } from '../schema/schema.ts';
import { JazzError } from '../util/errors.ts';
import { applyOps, orderOps, type LensOp } from './ops.ts';

/** A migration in its JSON form. */
export interface Migration {
  readonly from: string;
  readonly to: string;
  readonly fromSchema: unknown;
  readonly toSchema: unknown;
  readonly ops: readonly LensOp[];
  /** Set by `migrations create` where a person must decide; such a migration does not load. */
  readonly draft?: readonly string[];
}

/** What a column entry of `migrate` says. */
export type ColumnChange =
  | { readonly kind: 'rename'; readonly from: string }
  | { readonly kind: 'add'; readonly type: string; readonly default?: unknown }
  | { readonly kind: 'drop'; readonly type: string; readonly backwardsDefault?: unknown };

export interface TableRename {
  readonly kind: 'renameTable';
  readonly from: string;
}

/** A schema given to `defineMigration`: an app (`s.defineApp` / `s.fromJSON`), a normalised schema, or its JSON form. */
export type SchemaInput = { readonly $schema: AppSchema } | AppSchema | string;

export interface MigrationDefinition {
  readonly from: SchemaInput;
  readonly to: SchemaInput;
  readonly migrate?: Readonly<Record<string, Readonly<Record<string, ColumnChange>>>>;
  readonly createTables?: Readonly<Record<string, true>>;
  readonly dropTables?: Readonly<Record<string, true>>;
  readonly renameTables?: Readonly<Record<string, TableRename>>;
}

function fail(message: string, details: Record<string, unknown> = {}): never {
  throw new JazzError('MIGRATION_INVALID', message, details);
}

export function schemaOf(input: SchemaInput): AppSchema {
  if (typeof input === 'string') return schemaFromJSON(JSON.parse(input));
  if ('$schema' in input) return input.$schema;
  return schemaFromJSON(input);
}

/** The type of a column as a migration names it: `int`, `enum`, `array<string>`, `ref<projects>`. */
export function typeName(c: ColumnSchema): string {
  if (c.type === 'array') return `array<${typeName(c.items!)}>`;
  if (c.type === 'ref') return `ref<${c.ref}>`;
  return c.type;
}

/** The value a column gets where it has none: the given one, else the column's default, else null (optional columns only). */
function defaultFor(where: string, c: ColumnSchema, given: unknown, what: 'default' | 'backwardsDefault'): unknown {
  const v = given !== undefined ? given : c.default !== undefined ? c.default : null;
  if (v === null) {
    if (!c.optional) fail(`${where} is required: give it a ${what} (the value ${what === 'default' ? 'rows written without it read' : 'older readers see on rows written without it'})`);
    return null;
  }
  const problem = checkValue(c, v);
  if (problem) fail(`${where}: the ${what} ${problem}`);
  return v;
}

/** Builds and checks a migration; throws `MIGRATION_INVALID` naming what is wrong. */
export function defineMigration(def: MigrationDefinition): Migration {
  const from = schemaOf(def.from);
  const to = schemaOf(def.to);
  const ops: LensOp[] = [];
  const renamedFrom = new Map<string, string>(); // new table name → old
  for (const [name, r] of Object.entries(def.renameTables ?? {})) {
    if (r?.kind !== 'renameTable') fail(`renameTables.${name} must be s.renameTableFrom('<old name>')`);
    ops.push({ op: 'renameTable', from: r.from, to: name });
    renamedFrom.set(name, r.from);
  }
  for (const [tname, cols] of Object.entries(def.migrate ?? {})) {
    const tt = to.tables[tname];
    const ft = from.tables[renamedFrom.get(tname) ?? tname];
    if (!tt) fail(`migrate.${tname}: the new schema has no table "${tname}"`, { table: tname });
    if (!ft) fail(`migrate.${tname}: the old schema has no table "${renamedFrom.get(tname) ?? tname}" (a table created by the migration needs no column entries)`, { table: tname });
    for (const [cname, change] of Object.entries(cols)) {
      const where = `${tname}.${cname}`;
      switch (change?.kind) {
        case 'rename': {
          const fc = ft.columns[change.from];
          const tc = tt.columns[cname];
          if (!fc) fail(`${where}: renamed from "${change.from}", which the old table does not have`, { table: tname, column: cname });
          if (!tc) fail(`${where}: the new table has no column "${cname}" to rename "${change.from}" to`, { table: tname, column: cname });
          if (typeName(fc) !== typeName(tc))
            fail(`${where}: renamed from "${change.from}" but its type changes (${typeName(fc)} → ${typeName(tc)}); a new type is a drop and an add`, { table: tname, column: cname });
          ops.push({ op: 'renameColumn', table: tname, from: change.from, to: cname });
          break;
        }
        case 'add': {
          const tc = tt.columns[cname];
          if (!tc) fail(`${where}: added, but the new table has no such column`, { table: tname, column: cname });
          if (change.type !== typeName(tc)) fail(`${where}: added as ${change.type}, but the new schema has it as ${typeName(tc)}`, { table: tname, column: cname });
          ops.push({ op: 'addColumn', table: tname, column: cname, schema: tc, default: defaultFor(where, tc, change.default, 'default') });
          break;
        }
        case 'drop': {
          const fc = ft.columns[cname];
          if (!fc) fail(`${where}: dropped, but the old table has no such column`, { table: tname, column: cname });
          if (change.type !== typeName(fc)) fail(`${where}: dropped as ${change.type}, but the old schema has it as ${typeName(fc)}`, { table: tname, column: cname });
          ops.push({ op: 'dropColumn', table: tname, column: cname, schema: fc, backwardsDefault: defaultFor(where, fc, change.backwardsDefault, 'backwardsDefault') });
          break;
        }
        default:
          fail(`${where}: an entry of migrate is s.renameFrom(...), s.add.<type>(...) or s.drop.<type>(...)`, { table: tname, column: cname });
      }
    }
  }
  for (const name of Object.keys(def.createTables ?? {})) {
    const tt = to.tables[name] ?? fail(`createTables.${name}: the new schema has no table "${name}"`, { table: name });
    ops.push({ op: 'addTable', table: name, schema: tt });
  }
  for (const name of Object.keys(def.dropTables ?? {})) {
    const ft = from.tables[name] ?? fail(`dropTables.${name}: the old schema has no table "${name}"`, { table: name });
    ops.push({ op: 'dropTable', table: name, schema: ft });
  }
  const m: Migration = { from: schemaHash(from), to: schemaHash(to), fromSchema: JSON.parse(canonicalSchemaJSON(from)), toSchema: JSON.parse(canonicalSchemaJSON(to)), ops: orderOps(ops) };
  checkOps(from, to, m.ops);
  return m;
}

/**
 * Checks that the operations take `from` to `to`, every difference accounted for: applying them to
 * `from` must give `to`'s tables with `to`'s columns and types.
 */
export function checkOps(from: AppSchema, to: AppSchema, ops: readonly LensOp[]): void {
  if (schemaHash(from) === schemaHash(to)) fail('a migration needs two different schemas; these are the same');
  const result = applyOps(from, ops);
  for (const tname of Object.keys(to.tables)) {
    if (!result.tables[tname]) fail(`table "${tname}" of the new schema is not accounted for: add it to createTables (or renameTables)`, { table: tname });
  }
  for (const tname of Object.keys(result.tables)) {
    if (!to.tables[tname]) fail(`table "${tname}" of the old schema is not accounted for: add it to dropTables (or renameTables)`, { table: tname });
  }
  for (const [tname, tt] of Object.entries(to.tables)) {
    const rt = result.tables[tname]!;
    for (const [cname, c] of Object.entries(tt.columns)) {
      const r = rt.columns[cname];
      if (!r) fail(`${tname}.${cname} is not accounted for: it is new, so add it (s.add.${typeName(c)}) or rename it from an old column (s.renameFrom)`, { table: tname, column: cname });
      if (typeName(r) !== typeName(c))
        fail(`${tname}.${cname} changes its type (${typeName(r)} → ${typeName(c)}): that is a drop of the old column and an add of a new one`, { table: tname, column: cname });
    }
    for (const cname of Object.keys(rt.columns)) {
      if (!tt.columns[cname])
        fail(`${tname}.${cname} is not accounted for: it is gone, so drop it (s.drop.${typeName(rt.columns[cname]!)}, with a backwardsDefault for older readers)`, { table: tname, column: cname });
    }
  }
}

/** Reads and checks a migration's JSON form (an object, or its text). */
export function migrationFromJSON(json: unknown): Migration {
  const m = (typeof json === 'string' ? JSON.parse(json) : json) as Migration;
  if (!m || typeof m !== 'object') fail('a migration is an object { from, to, fromSchema, toSchema, ops }');
  if (Array.isArray(m.draft) && m.draft.length > 0) {
    fail(`this migration (${String(m.from)} → ${String(m.to)}) is a draft: ${m.draft.join('; ')}. Decide, edit it, and remove "draft" before using it`, { from: m.from, to: m.to });
  }
  if (typeof m.from !== 'string' || typeof m.to !== 'string' || !Array.isArray(m.ops)) fail('a migration is an object { from, to, fromSchema, toSchema, ops }');
  const from = schemaFromJSON(m.fromSchema);
  const to = schemaFromJSON(m.toSchema);
  if (schemaHash(from) !== m.from) fail(`the migration's "from" (${m.from}) is not the hash of its fromSchema (${schemaHash(from)})`, { from: m.from });
  if (schemaHash(to) !== m.to) fail(`the migration's "to" (${m.to}) is not the hash of its toSchema (${schemaHash(to)})`, { to: m.to });
  for (const op of m.ops) checkOpShape(op);
  checkOps(from, to, m.ops);
  return { from: m.from, to: m.to, fromSchema: m.fromSchema, toSchema: m.toSchema, ops: m.ops };
}

function checkOpShape(op: LensOp): void {
  const str = (v: unknown) => typeof v === 'string' && v.length > 0;
  const ok = (() => {
    switch (op?.op) {
      case 'renameTable':
        return str(op.from) && str(op.to);
      case 'renameColumn':
        return str(op.table) && str(op.from) && str(op.to);
      case 'addColumn':
      case 'dropColumn':
        return str(op.table) && str(op.column) && typeof op.schema === 'object' && op.schema !== null;
      case 'addTable':
      case 'dropTable':
        return str(op.table) && typeof op.schema === 'object' && op.schema !== null;
      default:
        return false;
    }
  })();
  if (!ok) fail(`not a lens operation: ${JSON.stringify(op)}`);
}
