/**
 * Join nests related rows into each row (include, the array subquery). Every parent row gets
 * its own small graph over the related table — `id = parent.ref` for a forward ref, `ref = parent.id`
 * for a reverse relation, plus the include's own where/order/limit/includes. Join listens to the
 * related table once and routes each change only to the graphs of the parents it concerns (by the
 * ref value before and after the change), so a change costs the parents it touches, not all of them.
 */
import type { Engine, ChangeListener, RowChange, TableRuntime } from '../../engine/engine.ts';
import type { IncludeAst } from '../ast.ts';
import type { Change, Input, Output, Row, Start } from './operator.ts';
import type { OutRow } from './view.ts';
import type { BuildGraph, Graph, GraphOptions } from '../graph.ts';
import { shaper } from './shape.ts';
import type { Predicate } from '../predicate.ts';

/** The related rows of one parent, kept current. */
interface Related {
  readonly rows: readonly OutRow[];
  /** A change of the related table that concerns this parent. */
  push(change: RowChange): void;
  destroy(): void;
}

/** The general case: a small query graph over the related table. */
class GraphRelated implements Related {
  readonly #graph: Graph;
  constructor(graph: Graph) {
    this.#graph = graph;
  }
  get rows(): readonly OutRow[] {
    this.#graph.view.clearDelta();
    return this.#graph.view.all;
  }
  push(change: RowChange): void {
    this.#graph.source.push(change);
  }
  destroy(): void {
    this.#graph.destroy();
  }
}

/** A plain forward ref (`{ project: true }`): one row by id, no graph needed. */
class RowRelated implements Related {
  #row: OutRow | undefined;
  readonly #onChange: () => void;
  readonly #shape: (row: Row) => OutRow;
  constructor(row: Row | undefined, onChange: () => void, shape: (row: Row) => OutRow) {
    this.#shape = shape;
    this.#row = row && shape(row);
    this.#onChange = onChange;
  }
  get rows(): readonly OutRow[] {
    return this.#row ? [this.#row] : [];
  }
  push(change: RowChange): void {
    this.#row = change.row && this.#shape(change.row);
    this.#onChange();
  }
  destroy(): void {}
}

interface Child {
  key: string | null;
  related: Related | undefined;
  /** The parent row with the include attached (what flows downstream). */
  row: Row;
}

export class Join implements Input, Output {
  readonly #input: Input;
  readonly #engine: Engine;
  readonly #name: string;
  readonly #inc: IncludeAst;
  readonly #childTable: TableRuntime;
  #output: Output | undefined;
  readonly #children = new Map<string, Child>();
  readonly #byKey = new Map<string, Set<string>>();
  #listening = false;
  /** A forward include with nothing of its own to evaluate: kept as one row, without a graph. */
  readonly #plainForward: boolean;
  readonly #router: ChangeListener = { push: (c) => this.receive(c) };

  readonly #readFilter: ((table: string) => Predicate | undefined) | undefined;

  readonly #columns: ((table: string) => readonly (readonly [string, string])[] | undefined) | undefined;
  /** A plain forward include's row as the reader sees it (see GraphOptions.columns). */
  readonly #shape: (row: Row) => OutRow;

  readonly #readFilterSys: ((table: string) => boolean) | undefined;

  /** Builds the graphs of included rows (graph.ts's buildGraph). */
  readonly #build: BuildGraph;

  constructor(input: Input, engine: Engine, name: string, inc: IncludeAst, opts: Pick<GraphOptions, 'readFilter' | 'readFilterSys' | 'columns'>, build: BuildGraph) {
    const { readFilter, columns } = opts;
    this.#build = build;
    this.#input = input;
    this.#readFilter = readFilter;
    this.#readFilterSys = opts.readFilterSys;
    this.#columns = columns;
    this.#shape = shaper({}, columns?.(inc.query.table));
    this.#engine = engine;
    this.#name = name;
    this.#inc = inc;
    this.#childTable = engine.table(inc.query.table);
    const q = inc.query;
    this.#plainForward = !readFilter?.(q.table) && inc.kind === 'forward' && q.where.op === 'true' && q.limit === undefined && !q.offset && !q.select && Object.keys(q.include ?? {}).length === 0;
    input.setOutput(this);
  }

  setOutput(output: Output): void {
    this.#output = output;
  }

  destroy(): void {
    this.#childTable.listeners.delete(this.#router);
    this.#listening = false;
    for (const c of this.#children.values()) c.related?.destroy();
    this.#children.clear();
    this.#byKey.clear();
    this.#input.destroy();
  }

  #keyOf(row: Row): string | null {
    const k = this.#inc.kind === 'forward' ? row[this.#inc.column] : row.id;
    return typeof k === 'string' ? k : null;
  }

  #attach(parent: Row): Child {
    const key = this.#keyOf(parent);
    const child: Child = { key, related: undefined, row: parent };
    if (key !== null) {
      const onChange = () => this.#childChanged(parent.id);
      if (this.#plainForward) {
        child.related = new RowRelated(this.#engine.getRowById(this.#childTable, key), onChange, this.#shape);
      } else {
        const column = this.#inc.kind === 'forward' ? 'id' : this.#inc.column;
        child.related = new GraphRelated(
          this.#build(this.#engine, this.#inc.query, {
            extra: { op: 'cmp', column, cmp: 'eq', value: key },
            attach: false,
            onChange,
            ...(this.#readFilter ? { readFilter: this.#readFilter } : {}),
            ...(this.#readFilterSys ? { readFilterSys: this.#readFilterSys } : {}),
            ...(this.#columns ? { columns: this.#columns } : {}),
          }),
        );
      }
      let set = this.#byKey.get(key);
      if (!set) this.#byKey.set(key, (set = new Set()));
      set.add(parent.id);
    }
    child.row = this.#enrich(parent, child);
    this.#children.set(parent.id, child);
    return child;
  }

  #detach(id: string): Child | undefined {
    const child = this.#children.get(id);
    if (!child) return undefined;
    child.related?.destroy();
    if (child.key !== null) {
      const set = this.#byKey.get(child.key);
      set?.delete(id);
      if (set && set.size === 0) this.#byKey.delete(child.key);
    }
    this.#children.delete(id);
    return child;
  }

  #enrich(parent: Row, child: Child): Row {
    const rows: readonly OutRow[] = child.related ? child.related.rows : [];
    const value = this.#inc.kind === 'forward' ? (rows[0] ?? null) : rows;
    return { ...parent, [this.#name]: value };
  }

  #childChanged(parentId: string): void {
    const child = this.#children.get(parentId);
    if (!child) return;
    const old = child.row;
    const { [this.#name]: _, ...base } = old;
    child.row = this.#enrich(base as Row, child);
    this.#output?.push({ type: 'edit', old, row: child.row });
  }

  #listen(): void {
    if (this.#listening) return;
    this.#listening = true;
    this.#childTable.listeners.add(this.#router);
  }

  *fetch(start?: Start): Iterable<Row> {
    this.#listen();
    for (const r of this.#input.fetch(start)) {
      const existing = this.#children.get(r.id);
      if (existing && existing.key === this.#keyOf(r)) {
        yield existing.row;
        continue;
      }
      if (existing) this.#detach(r.id);
      yield this.#attach(r).row;
    }
  }

  /** A change to the parent rows. */
  push(change: Change): void {
    const out = this.#output;
    switch (change.type) {
      case 'add': {
        this.#detach(change.row.id);
        const child = this.#attach(change.row);
        out?.push({ type: 'add', row: child.row });
        return;
      }
      case 'remove': {
        const child = this.#detach(change.row.id);
        out?.push({ type: 'remove', row: child?.row ?? change.row });
        return;
      }
      case 'edit': {
        const prev = this.#children.get(change.row.id);
        if (prev && prev.key === this.#keyOf(change.row)) {
          const old = prev.row;
          prev.row = this.#enrich(change.row, prev);
          out?.push({ type: 'edit', old, row: prev.row });
        } else {
          const old = prev ? this.#detach(change.row.id)!.row : change.old;
          const child = this.#attach(change.row);
          out?.push({ type: 'edit', old, row: child.row });
        }
      }
    }
  }

  /** A change to the related table: route it to the graphs of the parents it concerns. */
  receive(change: RowChange): void {
    const keys = new Set<string>();
    const addKey = (r: Row | undefined) => {
      if (!r) return;
      const k = this.#inc.kind === 'forward' ? r.id : r[this.#inc.column];
      if (typeof k === 'string') keys.add(k);
    };
    addKey(change.old);
    addKey(change.row);
    for (const k of keys) {
      const parents = this.#byKey.get(k);
      if (!parents) continue;
      for (const pid of [...parents]) this.#children.get(pid)?.related?.push(change);
    }
  }
}
