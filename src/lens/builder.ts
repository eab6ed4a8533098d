/**
 * The migration builder: `s.defineMigration` and the markers its `migrate` entries are made of,
 * added to the schema builder `s` by the main entries (src/index.ts). Kept apart from the schema
 * builder itself so the page's drop-in script, which takes migrations as JSON, does not carry it.
 *
 *   s.renameFrom('title')                     this column was called `title`
 *   s.add.boolean({ default: false })         this column is new; older rows read `false`
 *   s.drop.int({ backwardsDefault: 0 })       this column is gone; older readers see `0` on newer rows
 *   s.add.column(s.enum('a', 'b'), { default: 'a' }), s.drop.column(s.ref('projects'))   any type
 *   s.renameTableFrom('jobs')                 this table was called `jobs`
 */
import type { ColumnBuilder } from '../schema/builder.ts';
import { defineMigration, typeName, type ColumnChange, type TableRename } from './migration.ts';

type Simple = 'string' | 'boolean' | 'int' | 'float' | 'timestamp' | 'bytes' | 'json';
const SIMPLE: readonly Simple[] = ['string', 'boolean', 'int', 'float', 'timestamp', 'bytes', 'json'];

type AddFns = { readonly [K in Simple]: (opts?: { default?: unknown }) => ColumnChange } & {
  /** Any column type, given as a column builder: `s.add.column(s.enum('a', 'b'), { default: 'a' })`. */
  readonly column: (col: ColumnBuilder<any, boolean, boolean>, opts?: { default?: unknown }) => ColumnChange;
};
type DropFns = { readonly [K in Simple]: (opts?: { backwardsDefault?: unknown }) => ColumnChange } & {
  readonly column: (col: ColumnBuilder<any, boolean, boolean>, opts?: { backwardsDefault?: unknown }) => ColumnChange;
};

const add = Object.freeze({
  ...Object.fromEntries(SIMPLE.map((t) => [t, (opts: { default?: unknown } = {}) => ({ kind: 'add', type: t, ...(opts.default !== undefined ? { default: opts.default } : {}) })])),
  column: (col: ColumnBuilder<any, boolean, boolean>, opts: { default?: unknown } = {}) => ({
    kind: 'add',
    type: typeName(col.spec),
    ...(opts.default !== undefined ? { default: opts.default } : {}),
  }),
}) as AddFns;

const drop = Object.freeze({
  ...Object.fromEntries(
    SIMPLE.map((t) => [t, (opts: { backwardsDefault?: unknown } = {}) => ({ kind: 'drop', type: t, ...(opts.backwardsDefault !== undefined ? { backwardsDefault: opts.backwardsDefault } : {}) })]),
  ),
  column: (col: ColumnBuilder<any, boolean, boolean>, opts: { backwardsDefault?: unknown } = {}) => ({
    kind: 'drop',
    type: typeName(col.spec),
    ...(opts.backwardsDefault !== undefined ? { backwardsDefault: opts.backwardsDefault } : {}),
  }),
}) as DropFns;

export const migrationBuilder = {
  defineMigration,
  /** The column was called `from` in the older schema. */
  renameFrom: (from: string): ColumnChange => ({ kind: 'rename', from }),
  add,
  drop,
  /** The table was called `from` in the older schema. */
  renameTableFrom: (from: string): TableRename => ({ kind: 'renameTable', from }),
};
