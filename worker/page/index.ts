/**
 * The browser entry (`dist/jazz.js`): the page's `createDb`, which runs the engine in a dedicated
 * worker (`dist/jazz-worker.js`), and the schema builder. Everything here runs on the page.
 *
 *   import { createDb, s } from './jazz.js';
 *   const app = s.fromJSON({ tables: { todos: { title: 'string', done: { type: 'boolean', default: false } } } });
 *   const db = createDb({ app, driver: { type: 'opfs', dbName: 'todos' } });
 */
export { createDb, BrowserDb } from './client.ts';
export type { Transaction } from './revisions.ts';
export { BatchWriter } from '../../src/rows/batch-writer.ts';
export type { DbContract, TransactionContract } from '../../src/handles.ts';
export type { InsertOptions } from '../../src/rows/insert-options.ts';
export type {
  BrowserCreateDbOptions,
  BrowserDriverConfig,
  DbStatus,
  WriteHandle,
  BatchHandle,
  WaitOptions,
  SubscriptionUpdate,
  MergeDone,
  SubscribeOptions,
  ReadOptions,
} from './client.ts';
export type { BatchRejection, DriverStatus, DriverType, SyncStatus, Tier, Credentials, WireError, HistoryEntry, FieldConflict, AsOf, BranchInfo, MergeChange, FileInfo } from '../protocol.ts';
export type { PageCreateFileOptions, PageFileProgress, PageStreamWriter } from './files.ts';
export { s, appFromSchema } from '../../src/schema/builder.ts';
export type { App, DynamicApp, RowOf, InsertOf, JsonValue } from '../../src/schema/builder.ts';
export type { AppSchema, TableSchema, ColumnSchema, ColumnType } from '../../src/schema/schema.ts';
export { QueryBuilder } from '../../src/query/builder.ts';
export type { WhereInput, IncludeInput } from '../../src/query/builder.ts';
export type { QueryAst, Expr, Value, OrderTerm, IncludeAst, Direction, CompareOp } from '../../src/query/ast.ts';
// `formatWhere` (an Expr back to text) is in the main entry only: nothing on a page needs it, and
// it would be 0.6 kB gzipped of jazz.js's 25 kB.
export { parseWhere } from '../../src/query/where-parser.ts';
export { JazzError, QueryParseError } from '../../src/util/errors.ts';
export { SYS_FIELDS } from '../../src/rows/system-fields.ts';
export type { SysField, SysValues } from '../../src/rows/system-fields.ts';
export type { ErrorCode } from '../../src/util/errors.ts';
