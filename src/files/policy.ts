/**
 * Who may do what with files, for user sessions under permissions (evaluate.ts asks this module
 * for the system tables, and for the file columns of every write). Nothing here is configurable:
 *
 * - Read a file (`$files` row) or its parts: its creator, and whoever may read some live row that
 *   references it through a file column (arrays of files included). Nobody else.
 * - Create a file: any user. Update its record: its creator, while it is `writing` (a complete
 *   file never changes). Delete it: its creator, or whoever may delete a row that references it.
 * - Write a part: the file's creator, while the file is `writing`, under the part's derived id
 *   (`partId`). Parts are never updated or deleted by users (they go with their file).
 * - Reference a file in a row (insert, or an update that puts a new file id in a file column): the
 *   writer created the file or may already read it, so nobody gains a file by putting its id in a
 *   row of their own. A file this replica does not have cannot be referenced.
 */
import type { Engine } from '../engine/engine.ts';
import { FILES, FILE_PARTS, fileColumns, partId } from './system-tables.ts';
import { referencingRows } from './files.ts';

type Row = Readonly<Record<string, unknown>> & { readonly id: string };

/** The checks of user tables that file rules lean on (the policy evaluator's own). */
export interface UserChecks {
  canRead(table: string, row: Row, depth: number): boolean;
  canDelete(table: string, row: Row): boolean;
}

export class FilesPolicy {
  readonly #engine: Engine;
  readonly #userId: string;
  readonly #user: UserChecks;
  readonly #columns: Map<string, { column: string; array: boolean }[]>;

  constructor(engine: Engine, userId: string, user: UserChecks) {
    this.#engine = engine;
    this.#userId = userId;
    this.#user = user;
    this.#columns = new Map();
    for (const c of fileColumns(engine.schema)) {
      let list = this.#columns.get(c.table);
      if (!list) this.#columns.set(c.table, (list = []));
      list.push({ column: c.column, array: c.array });
    }
  }

  /** The user tables whose rows decide who may read files. */
  get referencingTables(): string[] {
    return [...this.#columns.keys()];
  }

  #file(id: unknown): Row | undefined {
    if (typeof id !== 'string') return undefined;
    return this.#engine.getRowById(this.#engine.table(FILES), id, true) as Row | undefined;
  }

  #creator(row: Row): unknown {
    return row.$createdBy !== undefined ? row.$createdBy : this.#file(row.id)?.$createdBy;
  }

  /** Verdicts on files while `readOnly` runs (nothing can change them meanwhile): file id → readable. */
  #cache: Map<string, boolean> | undefined;

  /**
   * Runs `fn`, which only reads, remembering the verdict on each file it asks about: checking the
   * many parts of one file costs one check of the file (the server's recheck of held rows).
   */
  readOnly<T>(fn: () => T): T {
    if (this.#cache) return fn();
    this.#cache = new Map();
    try {
      return fn();
    } finally {
      this.#cache = undefined;
    }
  }

  canRead(table: string, row: Row, depth: number): boolean {
    if (table === FILE_PARTS) {
      const id = row.file;
      if (typeof id !== 'string') return false;
      const known = this.#cache?.get(id);
      if (known !== undefined) return known;
      const file = this.#file(id);
      const verdict = file !== undefined && this.canRead(FILES, file, depth + 1);
      this.#cache?.set(id, verdict);
      return verdict;
    }
    if (this.#creator(row) === this.#userId) return true;
    for (const r of referencingRows(this.#engine, row.id)) if (this.#user.canRead(r.table, r.row as Row, depth + 1)) return true;
    return false;
  }

  canInsert(table: string, row: Row): boolean {
    if (table === FILES) return true;
    const file = this.#file(row.file);
    return file !== undefined && file.$createdBy === this.#userId && file.state === 'writing' && typeof row.index === 'number' && row.id === partId(file.id, row.index);
  }

  canUpdate(table: string, old: Row): boolean {
    return table === FILES && this.#creator(old) === this.#userId && old.state === 'writing';
  }

  canDelete(table: string, old: Row): boolean {
    if (table !== FILES) return false;
    if (this.#creator(old) === this.#userId) return true;
    for (const r of referencingRows(this.#engine, old.id)) if (this.#user.canDelete(r.table, r.row as Row)) return true;
    return false;
  }

  /** Whether a write of a user table may put the file ids it puts in its file columns. */
  mayReference(table: string, old: Row | undefined, next: Row): boolean {
    const cols = this.#columns.get(table);
    if (!cols) return true;
    for (const { column } of cols) {
      const before = new Set(ids(old?.[column]));
      for (const id of ids(next[column])) {
        if (before.has(id)) continue;
        const file = this.#file(id);
        if (!file || !this.canRead(FILES, file, 0)) return false;
      }
    }
    return true;
  }
}

function ids(v: unknown): string[] {
  return typeof v === 'string' ? [v] : Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
}
