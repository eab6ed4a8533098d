/**
 * Every message between a client and a server, in one place. Frames are encoded with
 * `codec.ts`; the first field of every message is its type `t`. Decoding checks every field's type
 * and turns anything unexpected into a `ProtocolError`, so the server can close just that
 * connection with a clear code.
 *
 * Versions travel with column names, not catalogue numbers, so client and server may number their
 * columns differently.
 */
import type { Tier } from '../engine/engine.ts';
import type { Expr, IncludeAst, OrderTerm, QueryAst, Value } from '../query/ast.ts';
import { decodeFrame, encodeFrame, ProtocolError, type WireValue } from './codec.ts';
import { isUuid } from '../rows/ids.ts';
import { HLC_COUNTER } from '../clock/hlc.ts';
import type { WireErrorCode } from './wire-errors.ts';

export { SERVER_ERROR_CODES, type WireErrorCode } from './wire-errors.ts';

export const PROTOCOL_VERSION = 1;

/**
 * The largest frame a server takes unless configured otherwise (16 MiB). A server says its own in
 * `welcome`; a client checks every write against the one it knows (this, until a server said).
 */
export const DEFAULT_MAX_FRAME_BYTES = 16 * 2 ** 20;

/** WebSocket close codes (4000–4999 are the application's). */
export const CloseCode = {
  normal: 1000,
  goingAway: 1001,
  protocolError: 4400,
  unauthorized: 4401,
  forbidden: 4403,
  /** The server has no app by that id (publish its schema, or run the server in dev mode). */
  unknownApp: 4404,
  schemaMismatch: 4409,
  tooLarge: 4413,
  versionMismatch: 4426,
  rateLimited: 4429,
  serverError: 4500,
} as const;

/** A row version as it travels: column names instead of numbers. */
export interface WireVersion {
  readonly table: string;
  readonly rowId: string;
  readonly versionId: string;
  readonly parents: readonly string[];
  readonly ts: number;
  /** The user the version is written as; the server checks it against the pusher's session. */
  readonly author: string;
  /** Who really wrote it, when a privileged session wrote on behalf of `author`. */
  readonly via?: string;
  readonly batchId: string;
  /** The branch the version was written on; absent for `main` (src/history/branches.ts). */
  readonly branch?: string;
  readonly deleted: boolean;
  /** The fields the version changed: column names, and `$deleted` for the deleted flag. */
  readonly changed: readonly string[];
  readonly values: Readonly<Record<string, unknown>>;
}

/**
 * Where a branch starts: `from` (main or another branch) as it stood at `at` (epoch ms). Frames
 * that carry versions of a branch carry the records of that branch and of those it started from,
 * so the receiver reads them on the same line.
 */
export interface WireBranch {
  readonly name: string;
  readonly from: string;
  readonly at: number;
}

/** A query a transaction ran, with the ids it returned. */
export interface TxnQuery {
  readonly query: QueryAst;
  readonly ids: readonly string[];
}

/** [table, row id, digest of its versions]. */
export type HaveEntry = readonly [string, string, string];

export interface Credentials {
  /** A user's JWT. */
  readonly token?: string;
  /** The backend secret (Admin and Peer roles). */
  readonly secret?: string;
  /** With the backend secret: act as a peer (a trusted runtime relaying for others) instead of admin. */
  readonly role?: 'admin' | 'peer';
}

export type ClientMessage =
  /**
   * The catalogue lane: `schema` is the client's schema version (its JSON), `migrations` (JSON, an
   * array) the migrations it knows, so a server in development mode can adopt a newer version.
   * Everything the client sends and receives after it is in its version's names.
   */
  | { readonly t: 'hello'; readonly protocol: number; readonly clientId: string; readonly schemaHash: string; readonly schema: string; readonly migrations?: string; readonly auth: Credentials }
  /**
   * `have`: the rows the client already holds for this query (its local result, includes too), each
   * with the digest of its versions. The server resends only rows whose digest differs, and keeps
   * the client up to date on all of them even if they no longer match.
   */
  /**
   * `branch`: the query is read on that branch (only to a server whose `welcome` said `branches`):
   * besides the query's rows on main, the server sends every row of its tables that the branch's
   * line touched, as far as the user may read it.
   */
  | { readonly t: 'sub'; readonly id: number; readonly query: QueryAst; readonly tier: Tier; readonly have: readonly HaveEntry[]; readonly branch?: string }
  | { readonly t: 'unsub'; readonly id: number }
  /** `branches`: with versions of a branch, the records of its line (see `WireBranch`). */
  | { readonly t: 'push'; readonly batchId: string; readonly versions: readonly WireVersion[]; readonly branches?: readonly WireBranch[] }
  /**
   * A transaction for the authority: accepted (acked like a batch) only if every row it read still
   * has the digest it read and every query it ran still gives the same rows; else rejected.
   */
  | { readonly t: 'txn'; readonly batchId: string; readonly reads: readonly HaveEntry[]; readonly queries: readonly TxnQuery[]; readonly versions: readonly WireVersion[] }
  /**
   * Live streams (src/files/live.ts): `watch` asks for the chunks of a file being written as they
   * are written (the server relays them only while the user may read the file); `chunk` from the
   * writer (the file's creator) is relayed, never stored: the file's parts are its stored form.
   * `at` is the chunk's byte offset in the file; `end` says the writer closed it at `at`.
   */
  | { readonly t: 'watch'; readonly file: string }
  | { readonly t: 'unwatch'; readonly file: string }
  | LiveChunk
  | { readonly t: 'ping' };

/** A chunk of a live stream (both ways: writer → server → watchers). */
export interface LiveChunk {
  readonly t: 'chunk';
  readonly file: string;
  readonly at: number;
  readonly data: Uint8Array;
  readonly end?: boolean;
}

export type ServerMessage =
  | {
      readonly t: 'welcome';
      readonly protocol: number;
      readonly serverId: string;
      readonly role: string;
      /** The largest frame this server takes (absent from older servers: the default). */
      readonly maxFrameBytes?: number;
      /**
       * The server keeps branches (stores their versions, serves subscriptions on them). A client
       * sends branch writes and branch subscriptions only to a server that says so: an older one
       * would take a branch's versions for main's.
       */
      readonly branches?: boolean;
      /**
       * The server relays live streams (`watch`, `chunk`): a client sends those only to a server
       * that says so, since an older one would close the connection on a message it does not know.
       */
      readonly streams?: boolean;
    }
  | { readonly t: 'versions'; readonly versions: readonly WireVersion[]; readonly branches?: readonly WireBranch[] }
  | { readonly t: 'settled'; readonly id: number; readonly tier: Tier }
  | { readonly t: 'ack'; readonly batchId: string; readonly tier: Tier }
  /**
   * A pushed batch or transaction the server will not apply, and why: `PERMISSION_DENIED`,
   * `TRANSACTION_CONFLICT`, `TOO_LARGE`, `INTERNAL` (the server failed; it is not retried), or the
   * code of the check the versions failed (`TYPE_MISMATCH`, `UNKNOWN_COLUMN`, `BATCH_REJECTED`, ...).
   */
  | { readonly t: 'reject'; readonly batchId: string; readonly code: WireErrorCode; readonly reason: string }
  /** An error; with `sub`, about that subscription only (it will not settle). */
  | { readonly t: 'error'; readonly code: WireErrorCode; readonly message: string; readonly sub?: number }
  /** Rows this client may no longer hold (they left its read scope): forget them. */
  | { readonly t: 'drop'; readonly rows: readonly (readonly [string, string])[] }
  /** A chunk of a live stream this connection watches. */
  | LiveChunk
  | { readonly t: 'pong' };

export function encodeMessage(m: ClientMessage | ServerMessage): Uint8Array {
  return encodeFrame(m);
}

// ─── decoding with checks ──────────────────────────────────────────────────

type Obj = Record<string, WireValue>;

/**
 * A client's value inside an error message: short and ASCII only. Messages end up as WebSocket
 * close reasons, which must fit 123 bytes; echoing 60 "é" there made `ws` throw (fuzz finding).
 */
function quote(v: WireValue | undefined): string {
  const s = v instanceof Uint8Array ? `<${v.length} bytes>` : (JSON.stringify(v) ?? 'nothing');
  const ascii = s.replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  return ascii.length > 40 ? `${ascii.slice(0, 37)}...` : ascii;
}

function obj(v: WireValue | undefined, what: string): Obj {
  if (v === null || v === undefined || typeof v !== 'object' || Array.isArray(v) || v instanceof Uint8Array) throw new ProtocolError(`${what} must be a map`);
  return v as Obj;
}
function str(o: Obj, k: string, max = 10_000): string {
  const v = o[k];
  if (typeof v !== 'string') throw new ProtocolError(`field "${k}" must be a string`);
  if (v.length > max) throw new ProtocolError(`field "${k}" is too long`);
  return v;
}
/**
 * Version and batch ids: 1 to 128 printable ASCII characters. They become parts of store keys,
 * which have a bounded length, and appear in log lines and error messages.
 */
function checkName(v: string, k: string): string {
  if (v.length === 0 || v.length > 128 || !/^[\x21-\x7e]+$/.test(v)) throw new ProtocolError(`field "${k}" must be 1 to 128 printable ASCII characters`);
  return v;
}
function name(o: Obj, k: string): string {
  return checkName(str(o, k, 128), k);
}
function num(o: Obj, k: string): number {
  const v = o[k];
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new ProtocolError(`field "${k}" must be a number`);
  return v;
}
function int(o: Obj, k: string): number {
  const v = num(o, k);
  if (!Number.isSafeInteger(v) || v < 0) throw new ProtocolError(`field "${k}" must be a whole number`);
  return v;
}
/**
 * How far ahead of the server's clock a client's version may be stamped. Every clock that observes
 * a timestamp moves past it, so one absurd value from one client would reach every clock: 1e300
 * made version ids too long for this protocol, and 2^53 − 1 left no room to count, so successive
 * writes got the same id or could no longer be sent (fuzz findings). A fixed ceiling cannot help
 * (a value just under it does the same), so the bound follows the receiving server's clock.
 */
export const MAX_CLOCK_AHEAD_MS = 24 * 3600 * 1000;
function timestamp(o: Obj, k: string, max: number): number {
  const v = int(o, k);
  if (v > max) throw new ProtocolError(`field "${k}" is more than a day ahead of the server's clock; check the client's clock`);
  return v;
}
function bool(o: Obj, k: string): boolean {
  const v = o[k];
  if (typeof v !== 'boolean') throw new ProtocolError(`field "${k}" must be true or false`);
  return v;
}
function arr(o: Obj, k: string, max = 100_000): WireValue[] {
  const v = o[k];
  if (!Array.isArray(v)) throw new ProtocolError(`field "${k}" must be an array`);
  if (v.length > max) throw new ProtocolError(`field "${k}" has too many items`);
  return v;
}
function strs(o: Obj, k: string, max = 10_000): string[] {
  return arr(o, k, max).map((x) => {
    if (typeof x !== 'string') throw new ProtocolError(`field "${k}" must hold strings`);
    return x;
  });
}
function tier(o: Obj, k: string): Tier {
  const v = o[k];
  if (v !== 'local' && v !== 'edge' && v !== 'global') throw new ProtocolError(`field "${k}" must be a tier`);
  return v;
}

/** `maxTs`: the latest hybrid-clock timestamp accepted (servers bound it by their own clock). */
export function decodeVersion(v: WireValue, maxTs = Number.MAX_SAFE_INTEGER): WireVersion {
  const o = obj(v, 'a version');
  const values = obj(o.values, 'version values');
  return {
    table: str(o, 'table', 200),
    rowId: str(o, 'rowId', 64),
    versionId: name(o, 'versionId'),
    parents: strs(o, 'parents', 1000).map((p) => checkName(p, 'parents')),
    ts: timestamp(o, 'ts', maxTs),
    author: str(o, 'author', 1000),
    ...(o.via !== undefined ? { via: str(o, 'via', 1000) } : {}),
    batchId: name(o, 'batchId'),
    ...(o.branch !== undefined && o.branch !== null ? { branch: branchName(o, 'branch') } : {}),
    deleted: bool(o, 'deleted'),
    changed: strs(o, 'changed', 10_000),
    values: plain(values) as Record<string, unknown>,
  };
}

/** A branch name: 1 to 100 characters, no control characters, not `main` (main is sent as no branch). */
function branchName(o: Obj, k: string): string {
  const v = str(o, k, 100);
  if (v.length === 0 || v === 'main' || /[\u0000-\u001f]/.test(v)) throw new ProtocolError(`field "${k}" must be a branch name other than main`);
  return v;
}

function decodeBranches(o: Obj): WireBranch[] | undefined {
  if (o.branches === undefined || o.branches === null) return undefined;
  return arr(o, 'branches', 100).map((b) => {
    const bo = obj(b, 'a branch');
    const from = str(bo, 'from', 100);
    if (from !== 'main') branchName(bo, 'from');
    return { name: branchName(bo, 'name'), from, at: int(bo, 'at') };
  });
}

/**
 * The codec builds maps without a prototype (so a `__proto__` key is just a key); values that reach
 * the schema and the engine must be ordinary objects, or a JSON column's `{ a: 1 }` would not count
 * as a plain object. Keys are defined, never assigned, so `__proto__` stays an own key.
 */
function plain(v: WireValue): WireValue {
  if (Array.isArray(v)) return v.map(plain);
  if (v === null || typeof v !== 'object' || v instanceof Uint8Array) return v;
  const o: Record<string, WireValue> = {};
  for (const k of Object.keys(v)) Object.defineProperty(o, k, { value: plain(v[k]!), enumerable: true, writable: true, configurable: true });
  return o;
}

/** Decodes what a client sent; `now` is the server's wall clock (ms), which bounds timestamps. */
export function decodeClientMessage(bytes: Uint8Array, now: number = Date.now()): ClientMessage {
  const o = obj(decodeFrame(bytes), 'a message');
  const maxTs = (Math.floor(now) + MAX_CLOCK_AHEAD_MS) * HLC_COUNTER + (HLC_COUNTER - 1);
  const version = (v: WireValue) => decodeVersion(v, maxTs);
  switch (o.t) {
    case 'hello': {
      const auth = o.auth === undefined || o.auth === null ? {} : obj(o.auth, 'auth');
      const creds: { token?: string; secret?: string; role?: 'admin' | 'peer' } = {};
      if (typeof auth.token === 'string') creds.token = auth.token;
      if (typeof auth.secret === 'string') creds.secret = auth.secret;
      if (auth.role === 'admin' || auth.role === 'peer') creds.role = auth.role;
      const schemaHash = str(o, 'schemaHash', 100);
      // A hash is printable ASCII; the server quotes it back in error messages and close reasons.
      if (!/^[\x21-\x7e]*$/.test(schemaHash)) throw new ProtocolError('field "schemaHash" must be printable ASCII');
      return {
        t: 'hello',
        protocol: int(o, 'protocol'),
        clientId: str(o, 'clientId', 200),
        schemaHash,
        schema: str(o, 'schema', 1_000_000),
        ...(o.migrations !== undefined && o.migrations !== null ? { migrations: str(o, 'migrations', 4_000_000) } : {}),
        auth: creds,
      };
    }
    case 'sub':
      return {
        t: 'sub',
        id: int(o, 'id'),
        query: decodeQuery(o.query, 0),
        tier: tier(o, 'tier'),
        have: decodeHave(o),
        ...(o.branch !== undefined && o.branch !== null ? { branch: branchName(o, 'branch') } : {}),
      };
    case 'unsub':
      return { t: 'unsub', id: int(o, 'id') };
    case 'push': {
      const branches = decodeBranches(o);
      return { t: 'push', batchId: name(o, 'batchId'), versions: arr(o, 'versions').map(version), ...(branches ? { branches } : {}) };
    }
    case 'txn':
      return {
        t: 'txn',
        batchId: name(o, 'batchId'),
        reads: decodeHave({ have: o.reads ?? [] }),
        queries: arr(o, 'queries', 1000).map((q) => {
          const qo = obj(q, 'a transaction query');
          return { query: decodeQuery(qo.query, 0), ids: strs(qo, 'ids', 1_000_000) };
        }),
        versions: arr(o, 'versions').map(version),
      };
    case 'watch':
    case 'unwatch':
      return { t: o.t, file: str(o, 'file', 36) };
    case 'chunk':
      return decodeChunk(o);
    case 'ping':
      return { t: 'ping' };
    default:
      throw new ProtocolError(`unknown message type ${quote(o.t)}`);
  }
}

export function decodeServerMessage(bytes: Uint8Array): ServerMessage {
  const o = obj(decodeFrame(bytes), 'a message');
  switch (o.t) {
    case 'welcome':
      return {
        t: 'welcome',
        protocol: int(o, 'protocol'),
        serverId: str(o, 'serverId'),
        role: str(o, 'role'),
        ...(o.maxFrameBytes !== undefined && o.maxFrameBytes !== null ? { maxFrameBytes: int(o, 'maxFrameBytes') } : {}),
        ...(o.branches === true ? { branches: true } : {}),
        ...(o.streams === true ? { streams: true } : {}),
      };
    case 'versions': {
      const branches = decodeBranches(o);
      return { t: 'versions', versions: arr(o, 'versions', 1_000_000).map((v) => decodeVersion(v)), ...(branches ? { branches } : {}) };
    }
    case 'settled':
      return { t: 'settled', id: int(o, 'id'), tier: tier(o, 'tier') };
    case 'ack':
      return { t: 'ack', batchId: str(o, 'batchId'), tier: tier(o, 'tier') };
    case 'reject':
      // A code this client does not know (a newer server's) is kept as it is (wire-errors.ts).
      return { t: 'reject', batchId: str(o, 'batchId'), code: str(o, 'code') as WireErrorCode, reason: str(o, 'reason') };
    case 'error':
      return { t: 'error', code: str(o, 'code') as WireErrorCode, message: str(o, 'message'), ...(o.sub !== undefined && o.sub !== null ? { sub: int(o, 'sub') } : {}) };
    case 'pong':
      return { t: 'pong' };
    case 'chunk':
      return decodeChunk(o);
    case 'drop':
      return {
        t: 'drop',
        rows: arr(o, 'rows', 1_000_000).map((e) => {
          if (!Array.isArray(e) || e.length !== 2 || typeof e[0] !== 'string' || typeof e[1] !== 'string') throw new ProtocolError('drop entries are [table, row id]');
          return [e[0], e[1]] as const;
        }),
      };
    default:
      throw new ProtocolError(`unknown message type ${quote(o.t)}`);
  }
}

function decodeChunk(o: Obj): LiveChunk {
  const data = o.data;
  if (!(data instanceof Uint8Array)) throw new ProtocolError('field "data" must be bytes');
  return { t: 'chunk', file: str(o, 'file', 36), at: int(o, 'at'), data, ...(o.end === true ? { end: true } : {}) };
}

function decodeHave(o: Obj): HaveEntry[] {
  if (o.have === undefined || o.have === null) return [];
  return arr(o, 'have', 5_000_000).map((e) => {
    if (!Array.isArray(e) || e.length !== 3 || !e.every((x) => typeof x === 'string' && x.length <= 200)) throw new ProtocolError('have entries are [table, row id, digest]');
    if (!isUuid(e[1])) throw new ProtocolError('a have entry names a row id that is not a UUID');
    return e as unknown as HaveEntry;
  });
}

// ─── query ASTs from the wire: shape only; the schema check comes after ────

const MAX_QUERY_DEPTH = 16;

function decodeQuery(v: WireValue | undefined, depth: number): QueryAst {
  if (depth > MAX_QUERY_DEPTH) throw new ProtocolError('query nested too deeply');
  const o = obj(v, 'a query');
  const q: { -readonly [K in keyof QueryAst]: QueryAst[K] } = {
    table: str(o, 'table', 200),
    where: decodeExpr(o.where, 0),
    orderBy: arr(o, 'orderBy', 32).map((t): OrderTerm => {
      const to = obj(t, 'an order term');
      const direction = to.direction;
      if (direction !== 'asc' && direction !== 'desc') throw new ProtocolError('order direction must be asc or desc');
      return { column: str(to, 'column', 200), direction };
    }),
  };
  if (o.limit !== undefined && o.limit !== null) q.limit = int(o, 'limit');
  if (o.offset !== undefined && o.offset !== null) q.offset = int(o, 'offset');
  if (o.select !== undefined && o.select !== null) q.select = strs(o, 'select', 1000);
  if (o.include !== undefined && o.include !== null) {
    const inc = obj(o.include, 'include');
    const include: Record<string, IncludeAst> = {};
    for (const [name, iv] of Object.entries(inc)) {
      const io = obj(iv, 'an include');
      const kind = io.kind;
      if (kind !== 'forward' && kind !== 'reverse') throw new ProtocolError('include kind must be forward or reverse');
      // Defined, not assigned: an include named "__proto__" must not become the object's prototype.
      Object.defineProperty(include, name, { value: { kind, column: str(io, 'column', 200), query: decodeQuery(io.query, depth + 1) }, enumerable: true, writable: true, configurable: true });
    }
    q.include = include;
  }
  return q;
}

function decodeExpr(v: WireValue | undefined, depth: number): Expr {
  if (depth > 64) throw new ProtocolError('where nested too deeply');
  const o = obj(v, 'a where expression');
  switch (o.op) {
    case 'true':
      return { op: 'true' };
    case 'and':
    case 'or':
      return { op: o.op, args: arr(o, 'args', 1000).map((a) => decodeExpr(a, depth + 1)) };
    case 'not':
      return { op: 'not', arg: decodeExpr(o.arg, depth + 1) };
    case 'cmp': {
      const cmp = o.cmp;
      if (cmp !== 'eq' && cmp !== 'ne' && cmp !== 'gt' && cmp !== 'gte' && cmp !== 'lt' && cmp !== 'lte') throw new ProtocolError('unknown comparison');
      return { op: 'cmp', column: str(o, 'column', 200), cmp, value: plain(o.value ?? null) as Value };
    }
    case 'in':
      return { op: 'in', column: str(o, 'column', 200), values: arr(o, 'values', 10_000).map(plain) as Value[] };
    case 'contains':
      return { op: 'contains', column: str(o, 'column', 200), value: plain(o.value ?? null) as Value };
    case 'isNull':
      return { op: 'isNull', column: str(o, 'column', 200), isNull: bool(o, 'isNull') };
    default:
      throw new ProtocolError(`unknown where operator ${quote(o.op)}`);
  }
}
