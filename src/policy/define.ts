/**
 * Permissions, written in TypeScript with the shape of jazz-tools' `definePermissions`:
 *
 *   export default definePermissions(app, ({ policy, session, allowedTo, anyOf, exists }) => {
 *     policy.projects.allowRead.where({ ownerId: session.userId });
 *     policy.todos.allowRead.where(allowedTo.read('project'));
 *     policy.todos.allowInsert.where(allowedTo.update('project'));
 *     policy.todos.allowUpdate.whereOld({ ownerId: session.userId }).whereNew({ ownerId: session.userId });
 *     policy.todos.allowDelete.where({ ownerId: session.userId });
 *     policy.members.allowRead.where(exists(app.members.where({ projectId: row.projectId, userId: session.userId })));
 *   });
 *
 * The result is plain JSON (it can be published through the admin route). Rules use the query
 * language; `session.x` and `row.x` are placeholders filled in when a rule is evaluated. Several
 * rules for one operation are alternatives (any one allows). Once permissions are loaded, an
 * operation without a rule is denied.
 */
import type { AppSchema } from '../schema/schema.ts';
import { relationsOf, schemaHash } from '../schema/schema.ts';
import type { Expr } from '../query/ast.ts';
import { QueryBuilder } from '../query/builder.ts';
import { whereFromObject } from '../query/where-object.ts';
import { parseWhere } from '../query/where-parser.ts';
import { checkExpr, PLACEHOLDER_PREFIX } from '../query/validate.ts';
import { JazzError } from '../util/errors.ts';
import { checkOptions } from '../util/options.ts';

/** How many refs a chain of `allowedTo` rules follows at most (the evaluator's limit). */
export const MAX_RULE_DEPTH = 8;

export type Action = 'read' | 'insert' | 'update' | 'delete';

export type PolicyExpr =
  | { readonly op: 'where'; readonly expr: Expr }
  /** `maxDepth`: how many refs a chain of these rules may follow (a folder's parent's parent...); at most 8, the default. */
  | { readonly op: 'allowedTo'; readonly action: Action; readonly relation: string; readonly maxDepth?: number }
  | { readonly op: 'exists'; readonly table: string; readonly where: Expr }
  | { readonly op: 'anyOf'; readonly args: readonly PolicyExpr[] }
  | { readonly op: 'allOf'; readonly args: readonly PolicyExpr[] };

export interface TablePolicy {
  readonly read: PolicyExpr[];
  readonly insert: PolicyExpr[];
  readonly update: { readonly old: PolicyExpr; readonly new: PolicyExpr }[];
  readonly delete: PolicyExpr[];
}

export interface Permissions {
  readonly schemaHash: string;
  readonly tables: Readonly<Record<string, TablePolicy>>;
}

type RuleInput = Record<string, unknown> | PolicyExpr | string;

const ALWAYS: PolicyExpr = Object.freeze({ op: 'where' as const, expr: { op: 'true' as const } });
const SESSION = `${PLACEHOLDER_PREFIX}session:`;
const ROW = `${PLACEHOLDER_PREFIX}row:`;

export function sessionPlaceholder(path: string): string {
  return SESSION + path;
}
export function rowPlaceholder(column: string): string {
  return ROW + column;
}
/** If `v` is a placeholder: its kind and path. */
export function placeholder(v: unknown): { kind: 'session' | 'row'; path: string } | undefined {
  if (typeof v !== 'string' || !v.startsWith(PLACEHOLDER_PREFIX)) return undefined;
  if (v.startsWith(SESSION)) return { kind: 'session', path: v.slice(SESSION.length) };
  if (v.startsWith(ROW)) return { kind: 'row', path: v.slice(ROW.length) };
  return undefined;
}

function isPolicyExpr(v: unknown): v is PolicyExpr {
  const op = (v as { op?: unknown } | null)?.op;
  return typeof op === 'string' && ['where', 'allowedTo', 'exists', 'anyOf', 'allOf'].includes(op) && Object.getPrototypeOf(v) === Object.prototype && Object.isFrozen(v);
}

function toPolicy(schema: AppSchema, table: string, input: RuleInput): PolicyExpr {
  if (isPolicyExpr(input)) return input;
  const expr = typeof input === 'string' ? QueryBuilder.forTable(schema, table).where(input).ast.where : whereFromObject(input as Record<string, unknown>);
  checkExpr(schema, table, expr);
  return Object.freeze({ op: 'where', expr });
}

class OperationBuilder {
  readonly #add: (rule: PolicyExpr) => void;
  readonly #schema: AppSchema;
  readonly #table: string;
  readonly #never: () => void;
  constructor(schema: AppSchema, table: string, add: (rule: PolicyExpr) => void, never: () => void) {
    this.#schema = schema;
    this.#table = table;
    this.#add = add;
    this.#never = never;
  }
  /** Nobody may (what no rule allows is denied anyway; this says so, and refuses a rule that would allow it). */
  never(): this {
    this.#never();
    return this;
  }
  /** Allows the operation for rows matching this rule. */
  where(rule: RuleInput): this {
    this.#add(toPolicy(this.#schema, this.#table, rule));
    return this;
  }
  /** Allows it for every row. */
  always(): this {
    this.#add(ALWAYS);
    return this;
  }
}

class UpdateBuilder {
  readonly #schema: AppSchema;
  readonly #table: string;
  readonly #add: (rule: { old: PolicyExpr; new: PolicyExpr }) => void;
  readonly #never: () => void;
  constructor(schema: AppSchema, table: string, add: (rule: { old: PolicyExpr; new: PolicyExpr }) => void, never: () => void) {
    this.#schema = schema;
    this.#table = table;
    this.#add = add;
    this.#never = never;
  }
  /** Nobody may update (see `OperationBuilder.never`). */
  never(): this {
    this.#never();
    return this;
  }
  /** The same rule for the row before and after the update. */
  where(rule: RuleInput): this {
    const p = toPolicy(this.#schema, this.#table, rule);
    this.#add({ old: p, new: p });
    return this;
  }
  /** A rule on the row before the update; follow with `.whereNew(...)` for the row after. */
  whereOld(rule: RuleInput): { whereNew(rule: RuleInput): void } {
    const old = toPolicy(this.#schema, this.#table, rule);
    const entry = { old, new: ALWAYS };
    this.#add(entry);
    return {
      whereNew: (r: RuleInput) => {
        entry.new = toPolicy(this.#schema, this.#table, r);
      },
    };
  }
  always(): this {
    this.#add({ old: ALWAYS, new: ALWAYS });
    return this;
  }
}

export interface TableRules {
  readonly allowRead: OperationBuilder;
  readonly allowInsert: OperationBuilder;
  readonly allowUpdate: UpdateBuilder;
  readonly allowDelete: OperationBuilder;
}

export interface PermissionTools {
  readonly policy: Record<string, TableRules>;
  /**
   * Placeholders for the connecting user's session: `session.userId` (also `session.user_id`, as
   * jazz-tools writes it), `session.role`, or any other claim of the token (`session.org`).
   */
  readonly session: Record<string, string>;
  /** Placeholders for the row being checked, for `exists` rules: `row.projectId`. */
  readonly row: Record<string, string>;
  /**
   * The row this ref points to must allow the action (`allowedTo.read('project')`). A chain of
   * them (a folder readable if its parent is) follows at most 8 refs, or `maxDepth`:
   * `allowedTo.read('parentId', { maxDepth: 3 })`.
   */
  readonly allowedTo: Record<Action, (relation: string, opts?: { maxDepth?: number }) => PolicyExpr>;
  readonly anyOf: (rules: RuleInput[]) => PolicyExpr;
  readonly allOf: (rules: RuleInput[]) => PolicyExpr;
  /** Some row of another table matches (its rows are never sent because of this). */
  readonly exists: (query: QueryBuilder<any, any>) => PolicyExpr;
}

/** Builds the permissions of an app. The callback runs once; what it returns is ignored. */
export function definePermissions(app: { readonly $schema: AppSchema }, build: (tools: PermissionTools) => void): Permissions {
  const schema = app.$schema;
  const tables: Record<string, TablePolicy> = {};
  const policy: Record<string, TableRules> = {};
  /** The operations said `never()`, as `table.op`: no rule may allow them. */
  const never = new Set<string>();
  for (const table of Object.keys(schema.tables)) {
    const tp: TablePolicy = { read: [], insert: [], update: [], delete: [] };
    tables[table] = tp;
    const no = (op: keyof TablePolicy) => () => void never.add(`${table}.${op}`);
    policy[table] = {
      allowRead: new OperationBuilder(schema, table, (r) => tp.read.push(r), no('read')),
      allowInsert: new OperationBuilder(schema, table, (r) => tp.insert.push(r), no('insert')),
      allowUpdate: new UpdateBuilder(schema, table, (r) => tp.update.push(r), no('update')),
      allowDelete: new OperationBuilder(schema, table, (r) => tp.delete.push(r), no('delete')),
    };
  }
  const policyProxy = new Proxy(policy, {
    get(target, name) {
      if (typeof name === 'string' && !(name in target)) throw new JazzError('UNKNOWN_TABLE', `permissions name unknown table "${name}"`);
      return target[name as string];
    },
  });
  const placeholders = (make: (k: string) => string) => new Proxy({}, { get: (_, k) => (typeof k === 'string' ? make(k) : undefined) }) as Record<string, string>;
  const allowedTo = Object.fromEntries(
    (['read', 'insert', 'update', 'delete'] as Action[]).map((action) => [
      action,
      (relation: string, opts?: { maxDepth?: number }) => {
        checkOptions(`allowedTo.${action}`, opts, 'maxDepth');
        return Object.freeze({ op: 'allowedTo' as const, action, relation, ...(opts?.maxDepth !== undefined ? { maxDepth: opts.maxDepth } : {}) });
      },
    ]),
  ) as PermissionTools['allowedTo'];
  const tools: PermissionTools = {
    policy: policyProxy,
    session: placeholders(sessionPlaceholder),
    row: placeholders(rowPlaceholder),
    allowedTo,
    anyOf: (rules) => Object.freeze({ op: 'anyOf' as const, args: rules.map((r) => asPolicy(r)) }),
    allOf: (rules) => Object.freeze({ op: 'allOf' as const, args: rules.map((r) => asPolicy(r)) }),
    exists: (q) => Object.freeze({ op: 'exists' as const, table: q.table, where: q.ast.where }),
  };
  // anyOf/allOf take rules before their table is known; plain objects are kept as where-rules and
  // checked against the table when the enclosing rule is added.
  function asPolicy(r: RuleInput): PolicyExpr {
    if (isPolicyExpr(r)) return r;
    const expr = typeof r === 'string' ? parseWhere(r) : whereFromObject(r as Record<string, unknown>);
    return Object.freeze({ op: 'where' as const, expr });
  }
  build(tools);
  for (const key of never) {
    const [table, op] = key.split('.') as [string, keyof TablePolicy];
    if (tables[table]![op].length) throw new JazzError('SCHEMA_INVALID', `${table}: allow${op[0]!.toUpperCase()}${op.slice(1)} is never() and also has a rule that allows it; keep one`, { table });
  }
  const result: Permissions = { schemaHash: schemaHash(schema), tables };
  checkPermissions(schema, result);
  return JSON.parse(JSON.stringify(result)) as Permissions;
}

/** Checks permissions (possibly received as JSON) against a schema; throws SCHEMA_INVALID. */
export function checkPermissions(schema: AppSchema, perms: Permissions): void {
  if (typeof perms !== 'object' || perms === null || typeof perms.tables !== 'object') throw new JazzError('SCHEMA_INVALID', 'permissions must be { schemaHash, tables: { ... } }');
  for (const [table, tp] of Object.entries(perms.tables)) {
    if (!schema.tables[table]) throw new JazzError('SCHEMA_INVALID', `permissions name unknown table "${table}"`);
    for (const k of ['read', 'insert', 'delete'] as const) for (const r of tp[k] ?? []) checkRule(schema, table, r, 0);
    for (const u of tp.update ?? []) {
      checkRule(schema, table, u.old, 0);
      checkRule(schema, table, u.new, 0);
    }
  }
}

function checkRule(schema: AppSchema, table: string, r: PolicyExpr, depth: number): void {
  if (depth > 32) throw new JazzError('SCHEMA_INVALID', 'permission rules nested too deeply');
  switch (r.op) {
    case 'where':
      checkExpr(schema, table, r.expr);
      return;
    case 'allowedTo': {
      const rel = relationsOf(schema, table).find((x) => x.name === r.relation && x.kind === 'forward');
      if (!rel) throw new JazzError('SCHEMA_INVALID', `allowedTo.${r.action}('${r.relation}'): table "${table}" has no ref named ${r.relation}`);
      if (r.maxDepth !== undefined && !(Number.isInteger(r.maxDepth) && r.maxDepth >= 1 && r.maxDepth <= MAX_RULE_DEPTH)) {
        throw new JazzError('SCHEMA_INVALID', `allowedTo.${r.action}('${r.relation}'): maxDepth is a whole number from 1 to ${MAX_RULE_DEPTH}, not ${JSON.stringify(r.maxDepth)}`);
      }
      return;
    }
    case 'exists':
      if (!schema.tables[r.table]) throw new JazzError('SCHEMA_INVALID', `exists on unknown table "${r.table}"`);
      checkExpr(schema, r.table, r.where);
      return;
    case 'anyOf':
    case 'allOf':
      for (const a of r.args) checkRule(schema, table, a, depth + 1);
      return;
    default:
      throw new JazzError('SCHEMA_INVALID', `unknown permission rule ${JSON.stringify((r as { op?: unknown }).op)}`);
  }
}
