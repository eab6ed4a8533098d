/**
 * The schema versions a replica knows and the migrations between them: a graph whose nodes are
 * schema hashes and whose edges are migrations, each walkable in both directions (backwards through
 * its inverted operations). Paths are the shortest ones (breadth first), so v1 and v4 replicas work
 * together through v2 and v3.
 *
 * The graph is a forest: a migration between two versions that are already connected (a cycle, or
 * a second path) is refused, as is a different migration between the same two versions, so every
 * pair of versions has at most one path and the meaning of a column across versions is unambiguous.
 * The same migration given again is accepted and changes nothing.
 */
import { JazzError } from '../util/errors.ts';
import { invertOps, type LensOp } from '../lens/ops.ts';
import { migrationFromJSON, type Migration } from '../lens/migration.ts';
import { canonicalSchemaJSON, schemaFromJSON, schemaHash, type AppSchema } from './schema.ts';

export interface Edge {
  readonly to: string;
  /** The operations that turn the edge's start into `to` (inverted when walking a migration backwards). */
  readonly ops: readonly LensOp[];
}

export class VersionGraph {
  readonly schemas = new Map<string, AppSchema>();
  readonly migrations: Migration[] = [];
  readonly #edges = new Map<string, Edge[]>();

  /** Adds a schema version (its hash). */
  addSchema(schema: AppSchema): string {
    const hash = schemaHash(schema);
    if (!this.schemas.has(hash)) this.schemas.set(hash, schema);
    return hash;
  }

  /** Adds a migration (checked by `migrationFromJSON`); refuses one that would close a cycle. */
  addMigration(input: Migration): void {
    const m = migrationFromJSON(input);
    const same = this.migrations.find((x) => (x.from === m.from && x.to === m.to) || (x.from === m.to && x.to === m.from));
    if (same) {
      if (same.from === m.from && JSON.stringify(same.ops) === JSON.stringify(m.ops)) return; // given again
      throw new JazzError('MIGRATION_INVALID', `there are two different migrations between ${m.from} and ${m.to}; keep one`, { from: m.from, to: m.to });
    }
    if (this.schemas.has(m.from) && this.schemas.has(m.to) && this.path(m.from, m.to)) {
      throw new JazzError('MIGRATION_INVALID', `the migration ${m.from} → ${m.to} closes a cycle: those versions are already connected through other migrations`, { from: m.from, to: m.to });
    }
    this.addSchema(schemaFromJSON(m.fromSchema));
    this.addSchema(schemaFromJSON(m.toSchema));
    this.migrations.push(m);
    this.#edge(m.from, { to: m.to, ops: m.ops });
    this.#edge(m.to, { to: m.from, ops: invertOps(m.ops) });
  }

  #edge(from: string, e: Edge): void {
    let list = this.#edges.get(from);
    if (!list) this.#edges.set(from, (list = []));
    list.push(e);
  }

  edges(from: string): readonly Edge[] {
    return this.#edges.get(from) ?? [];
  }

  /** The shortest path from one version to another, as the edges walked, or undefined when there is none. */
  path(from: string, to: string): Edge[] | undefined {
    if (from === to) return [];
    const prev = new Map<string, { from: string; edge: Edge }>();
    const queue = [from];
    const seen = new Set([from]);
    while (queue.length) {
      const at = queue.shift()!;
      for (const e of this.edges(at)) {
        if (seen.has(e.to)) continue;
        seen.add(e.to);
        prev.set(e.to, { from: at, edge: e });
        if (e.to === to) {
          const out: Edge[] = [];
          for (let x = to; x !== from; x = prev.get(x)!.from) out.unshift(prev.get(x)!.edge);
          return out;
        }
        queue.push(e.to);
      }
    }
    return undefined;
  }

  /** Whether `to` follows `from` along migrations taken forwards only (it is a newer version). */
  newer(from: string, to: string): boolean {
    const seen = new Set([from]);
    const queue = [from];
    while (queue.length) {
      const at = queue.shift()!;
      for (const m of this.migrations) {
        if (m.from !== at || seen.has(m.to)) continue;
        if (m.to === to) return true;
        seen.add(m.to);
        queue.push(m.to);
      }
    }
    return false;
  }

  /** Every version reachable from `from`, nearest first, with the edge that first reached it. */
  *walk(from: string): IterableIterator<{ version: string; via?: { from: string; edge: Edge } }> {
    yield { version: from };
    const queue = [from];
    const seen = new Set([from]);
    while (queue.length) {
      const at = queue.shift()!;
      for (const e of this.edges(at)) {
        if (seen.has(e.to)) continue;
        seen.add(e.to);
        yield { version: e.to, via: { from: at, edge: e } };
        queue.push(e.to);
      }
    }
  }

  /** The schemas as their JSON form (for persisting). */
  schemasJSON(): Record<string, unknown> {
    return Object.fromEntries([...this.schemas].map(([h, s]) => [h, JSON.parse(canonicalSchemaJSON(s))]));
  }
}
