/**
 * The writes of `db.batch` and `db.transaction`, collected as engine ops; each returns the row's
 * id at once. One class for the engine's `Db` and the page's client, which differ only in how a
 * new id is made.
 */
import type { WriteOp } from '../engine/engine.ts';
import type { QueryBuilder } from '../query/builder.ts';
import { JazzError } from '../util/errors.ts';
import { chosenId, type InsertOptions } from './insert-options.ts';

/** A table: the app's (`app.todos`) or its name. */
export type TableRef = QueryBuilder<any, any> | string;
export type InsertOfRef<T> = T extends QueryBuilder<any, infer I> ? I : Record<string, unknown>;

/** The table's name; anything else is `UNKNOWN_TABLE`. */
export function tableName(t: TableRef): string {
  if (typeof t === 'string') return t;
  if (t && typeof t === 'object' && typeof (t as { table?: unknown }).table === 'string') return t.table;
  throw new JazzError('UNKNOWN_TABLE', 'the first argument must be a table of the app, like app.todos');
}

export class BatchWriter {
  readonly ops: WriteOp[] = [];
  readonly #ids: { next(): string };

  /** `ids.next()` makes a row id. A chosen id that is no UUID is refused by the engine when the batch is written (`TYPE_MISMATCH`). */
  constructor(ids: { next(): string }) {
    this.#ids = ids;
  }

  insert<T extends TableRef>(table: T, values: InsertOfRef<T>, opts?: InsertOptions): { id: string } {
    const chosen = chosenId(opts);
    const id = chosen ?? this.#ids.next();
    this.ops.push({ kind: 'insert', table: tableName(table), id, fresh: chosen === undefined, values: values as Record<string, unknown> });
    return { id };
  }

  update<T extends TableRef>(table: T, id: string, values: Partial<InsertOfRef<T>>): { id: string } {
    this.ops.push({ kind: 'update', table: tableName(table), id, values: values as Record<string, unknown> });
    return { id };
  }

  upsert<T extends TableRef>(table: T, values: InsertOfRef<T>, opts: { id: string }): { id: string } {
    this.ops.push({ kind: 'upsert', table: tableName(table), id: opts.id, values: values as Record<string, unknown> });
    return { id: opts.id };
  }

  delete(table: TableRef, id: string): { id: string } {
    this.ops.push({ kind: 'delete', table: tableName(table), id });
    return { id };
  }

  /** Undeletes the row, setting `values` in the same version when given. */
  restore<T extends TableRef>(table: T, id: string, values?: Partial<InsertOfRef<T>>): { id: string } {
    this.ops.push({ kind: 'restore', table: tableName(table), id, values: values as Record<string, unknown> | undefined });
    return { id };
  }
}
