/**
 * Evaluates permissions for one session. Placeholders are filled with the session's
 * values once; `exists` and `allowedTo` look other rows up through the engine's indexes when a row
 * is checked. Admin and peer sessions, and apps without permissions, are unrestricted.
 *
 * Contract: every check is a pure function of the session and the engine's current rows; rules
 * that reach other tables (`allowedTo`, `exists`) are listed by `dependsOn`, so the server knows
 * which changes can move rows into or out of a user's scope.
 */
import type { Engine } from '../engine/engine.ts';
import type { Expr, Value } from '../query/ast.ts';
import { compilePredicate, type Predicate } from '../query/predicate.ts';
import { planQuery } from '../query/plan.ts';
import { relationsOf } from '../schema/schema.ts';
import { Source } from '../query/ivm/source.ts';
import { rowComparator } from '../query/compare.ts';
import { unreachable } from '../util/assert.ts';
import { readsSystemFields } from '../query/validate.ts';
import { isSysField } from '../rows/system-fields.ts';
import { MAX_RULE_DEPTH, placeholder, type Action, type Permissions, type PolicyExpr } from './define.ts';
import { FilesPolicy } from '../files/policy.ts';
import { FILES, FILE_PARTS, isSystemTable } from '../files/system-tables.ts';

export type Role = 'user' | 'admin' | 'peer';

export interface PolicySession {
  readonly role: Role;
  readonly userId: string;
  readonly claims: Readonly<Record<string, unknown>>;
}

type Row = Readonly<Record<string, unknown>> & { readonly id: string };

const MAX_DEPTH = MAX_RULE_DEPTH;
const FALSE: Expr = { op: 'not', arg: { op: 'true' } };

export class PolicyEvaluator {
  readonly #engine: Engine;
  readonly #perms: Permissions | undefined;
  readonly #session: PolicySession;
  readonly #compiled = new Map<string, Map<PolicyExpr, (row: Row, depth: number) => boolean>>();
  /** The fixed rules of files (src/files/policy.ts): the system tables, and file columns in writes. */
  readonly #files: FilesPolicy;

  constructor(engine: Engine, perms: Permissions | undefined, session: PolicySession) {
    this.#engine = engine;
    this.#perms = perms;
    this.#session = session;
    this.#files = new FilesPolicy(engine, session.userId, {
      canRead: (t, row, depth) => this.canRead(t, row, depth),
      canDelete: (t, row) => this.canDelete(t, row),
    });
  }

  /** True when no rule applies: no permissions loaded, or an admin or peer session. */
  get unrestricted(): boolean {
    return !this.#perms || this.#session.role !== 'user';
  }

  canRead(table: string, row: Row, depth = 0): boolean {
    if (this.unrestricted) return true;
    if (depth > MAX_DEPTH) return false;
    if (isSystemTable(table)) return this.#files.canRead(table, row, depth);
    return this.#any(table, this.#perms!.tables[table]?.read, row, depth);
  }

  canInsert(table: string, row: Row): boolean {
    if (this.unrestricted) return true;
    if (isSystemTable(table)) return this.#files.canInsert(table, row);
    return this.#any(table, this.#perms!.tables[table]?.insert, row, 0) && this.#files.mayReference(table, undefined, row);
  }

  canUpdate(table: string, old: Row, next: Row, depth = 0): boolean {
    if (this.unrestricted) return true;
    if (isSystemTable(table)) return this.#files.canUpdate(table, old);
    for (const u of this.#perms!.tables[table]?.update ?? []) {
      if (this.#eval(table, u.old, old, depth) && this.#eval(table, u.new, next, depth)) return depth > 0 || this.#files.mayReference(table, old, next);
    }
    return false;
  }

  canDelete(table: string, old: Row): boolean {
    if (this.unrestricted) return true;
    if (isSystemTable(table)) return this.#files.canDelete(table, old);
    return this.#any(table, this.#perms!.tables[table]?.delete, old, 0);
  }

  /**
   * Runs `fn`, which must not write, with verdicts on files remembered for its duration (the parts
   * of one file are judged once: src/files/policy.ts).
   */
  readOnly<T>(fn: () => T): T {
    return this.unrestricted ? fn() : this.#files.readOnly(fn);
  }

  /** The read check as a row predicate for query graphs, or undefined when unrestricted. */
  readFilter(table: string): Predicate | undefined {
    if (this.unrestricted) return undefined;
    return (row) => this.canRead(table, row as Row);
  }

  /** Whether the read rules of a table read system fields (`$createdBy`, ...) of its rows. */
  readsSystemFields(table: string): boolean {
    if (this.unrestricted) return false;
    if (table === FILES) return true; // its creator reads it
    const walk = (r: PolicyExpr): boolean => (r.op === 'where' ? readsSystemFields({ where: r.expr, orderBy: [] }) : r.op === 'anyOf' || r.op === 'allOf' ? r.args.some(walk) : false);
    return (this.#perms!.tables[table]?.read ?? []).some(walk);
  }

  /** Tables whose changes can change whether rows of `table` may be read. */
  dependsOn(table: string): Set<string> {
    const out = new Set<string>();
    if (this.unrestricted) return out;
    if (isSystemTable(table)) {
      // Files are read through the rows that reference them, and through what those rows' rules read.
      if (table === FILE_PARTS) out.add(FILES);
      for (const t of this.#files.referencingTables) {
        out.add(t);
        for (const d of this.dependsOn(t)) out.add(d);
      }
      return out;
    }
    const visit = (t: string, depth: number) => {
      if (depth > MAX_DEPTH) return;
      const walk = (r: PolicyExpr): void => {
        switch (r.op) {
          case 'where':
            return;
          case 'exists':
            out.add(r.table);
            return;
          case 'allowedTo': {
            const rel = relationsOf(this.#engine.schema, t).find((x) => x.name === r.relation && x.kind === 'forward');
            if (rel && !out.has(rel.table)) {
              out.add(rel.table);
              visit(rel.table, depth + 1);
            }
            return;
          }
          case 'anyOf':
          case 'allOf':
            r.args.forEach(walk);
            return;
        }
      };
      const tp = this.#perms!.tables[t];
      for (const r of tp?.read ?? []) walk(r);
      for (const u of tp?.update ?? []) {
        walk(u.old);
        walk(u.new);
      }
      for (const r of [...(tp?.insert ?? []), ...(tp?.delete ?? [])]) walk(r);
    };
    visit(table, 0);
    return out;
  }

  #any(table: string, rules: readonly PolicyExpr[] | undefined, row: Row, depth: number): boolean {
    if (!rules) return false;
    for (const r of rules) if (this.#eval(table, r, row, depth)) return true;
    return false;
  }

  #eval(table: string, rule: PolicyExpr, row: Row, depth: number): boolean {
    if (depth > MAX_DEPTH) return false;
    let forTable = this.#compiled.get(table);
    if (!forTable) this.#compiled.set(table, (forTable = new Map()));
    let f = forTable.get(rule);
    if (!f) {
      f = this.#compile(table, rule);
      forTable.set(rule, f);
    }
    return f(row, depth);
  }

  #compile(table: string, rule: PolicyExpr): (row: Row, depth: number) => boolean {
    switch (rule.op) {
      case 'where': {
        const p = compilePredicate(this.#bindSession(rule.expr));
        if (!readsSystemFields({ where: rule.expr, orderBy: [] })) return (row) => p(row);
        // A row read without its system fields (most are) gets them from the engine.
        const t = this.#engine.table(table);
        return (row) => {
          if (row['$createdBy'] !== undefined) return p(row);
          const stored = this.#engine.getRowById(t, row.id, true);
          if (!stored) return p(row);
          const sys: Record<string, unknown> = {};
          for (const k in stored) if (isSysField(k)) sys[k] = stored[k];
          return p({ ...row, ...sys });
        };
      }
      case 'anyOf': {
        const args = rule.args;
        return (row, depth) => args.some((a) => this.#eval(table, a, row, depth));
      }
      case 'allOf': {
        const args = rule.args;
        return (row, depth) => args.every((a) => this.#eval(table, a, row, depth));
      }
      case 'allowedTo': {
        const rel = relationsOf(this.#engine.schema, table).find((x) => x.name === rule.relation && x.kind === 'forward');
        const max = rule.maxDepth ?? MAX_DEPTH;
        return (row, depth) => {
          if (!rel || depth >= max) return false;
          const key = row[rel.column];
          if (typeof key !== 'string') return false;
          const target = this.#engine.getRowById(this.#engine.table(rel.table), key, true);
          if (!target) return false;
          return this.#allowed(rule.action, rel.table, target, depth + 1);
        };
      }
      case 'exists': {
        const bound = this.#bindSession(rule.where);
        const t = this.#engine.table(rule.table);
        return (row) => {
          const where = bindRow(bound, row);
          const plan = planQuery(this.#engine, t, { table: rule.table, where, orderBy: [], limit: 1 });
          const source = new Source(this.#engine, t, plan, rowComparator([]), readsSystemFields({ where, orderBy: [] }));
          const pred = compilePredicate(where);
          for (const r of source.fetch()) if (pred(r)) return true;
          return false;
        };
      }
      default:
        return unreachable(rule);
    }
  }

  #allowed(action: Action, table: string, row: Row, depth: number): boolean {
    switch (action) {
      case 'read':
        return this.canRead(table, row, depth);
      case 'insert':
        return this.#any(table, this.#perms!.tables[table]?.insert, row, depth);
      case 'update':
        return this.canUpdate(table, row, row, depth);
      case 'delete':
        return this.#any(table, this.#perms!.tables[table]?.delete, row, depth);
    }
  }

  #bindSession(e: Expr): Expr {
    const session = this.#session;
    const resolve = (path: string): unknown => {
      // `user_id` is jazz-tools' name for the user's id: the same here, never a claim of that name.
      if (path === 'userId' || path === 'user_id') return session.userId;
      if (path === 'role') return session.role;
      let v: unknown = session.claims;
      for (const k of path.split('.')) v = v && typeof v === 'object' ? (v as Record<string, unknown>)[k] : undefined;
      return v;
    };
    return mapValues(e, (v) => {
      const ph = placeholder(v);
      if (ph?.kind !== 'session') return { value: v };
      const x = resolve(ph.path);
      return x === undefined ? { missing: true } : { value: x as Value };
    });
  }
}

/** Fills `row.x` placeholders from the row being checked. */
function bindRow(e: Expr, row: Row): Expr {
  return mapValues(e, (v) => {
    const ph = placeholder(v);
    if (ph?.kind !== 'row') return { value: v };
    const x = row[ph.path];
    return x === undefined || x === null ? { missing: true } : { value: x as Value };
  });
}

/** Rewrites the literal values of an expression; a missing value makes its comparison false. */
function mapValues(e: Expr, f: (v: Value) => { value?: Value; missing?: boolean }): Expr {
  switch (e.op) {
    case 'true':
    case 'isNull':
      return e;
    case 'and':
    case 'or':
      return { op: e.op, args: e.args.map((a) => mapValues(a, f)) };
    case 'not':
      return { op: 'not', arg: mapValues(e.arg, f) };
    case 'cmp':
    case 'contains': {
      const r = f(e.value);
      return r.missing ? FALSE : { ...e, value: r.value! };
    }
    case 'in': {
      const values: Value[] = [];
      for (const v of e.values) {
        const r = f(v);
        if (!r.missing) values.push(r.value!);
      }
      return { ...e, values };
    }
    default:
      return unreachable(e);
  }
}
