/**
 * jazz-elements: a local-first relational database. The engine's public surface.
 */
import { s as schemaBuilder } from './schema/builder.ts';
import { migrationBuilder } from './lens/builder.ts';

/** The schema builder, with the migration builder (`s.defineMigration`, `s.renameFrom`, `s.add.*`, `s.drop.*`). */
export const s = Object.freeze({ ...schemaBuilder, ...migrationBuilder });
export { appFromSchema } from './schema/builder.ts';
export { defineMigration, migrationFromJSON } from './lens/migration.ts';
export type { Migration, MigrationDefinition } from './lens/migration.ts';
export type { LensOp } from './lens/ops.ts';
export type { App, DynamicApp, RowOf, InsertOf, JsonValue, ColumnBuilder, TableBuilder } from './schema/builder.ts';
export type { AppSchema, TableSchema, ColumnSchema, ColumnType } from './schema/schema.ts';
export { schemaHash, schemaFromJSON } from './schema/schema.ts';
export { createDb, Db, Transaction } from './db.ts';
export { BatchWriter } from './rows/batch-writer.ts';
export type { DbContract, TransactionContract } from './handles.ts';
export { definePermissions } from './policy/define.ts';
export type { InsertOptions } from './rows/insert-options.ts';
export type { Permissions, PolicyExpr, TablePolicy } from './policy/define.ts';
export type {
  CreateDbOptions,
  DriverConfig,
  WriteHandle,
  BatchHandle,
  WaitOptions,
  SubscriptionUpdate,
  SubscribeOptions,
  Tier,
  Delta,
  OutRow,
  SyncStatus,
  BatchRejection,
} from './db.ts';
export type { HistoryEntry, FieldConflict, ConflictSide } from './history/history.ts';
export type { BranchInfo, MergeChange } from './history/branches.ts';
export type { SysField, SysValues } from './rows/system-fields.ts';
export type { CreateFileOptions, LoadFileOptions, FileInfo, FileProgress, FileHost } from './files/files.ts';
export type { CreateStreamOptions, StreamWriter, LiveHost, LiveEvent } from './files/live.ts';
export type { FileState } from './files/system-tables.ts';
export { FILES, FILE_PARTS, DEFAULT_PART_SIZE, MAX_PART_SIZE } from './files/system-tables.ts';
export { QueryBuilder } from './query/builder.ts';
export type { WhereInput, IncludeInput } from './query/builder.ts';
export type { QueryAst, Expr, Value, OrderTerm, IncludeAst, Direction, CompareOp } from './query/ast.ts';
export { parseWhere, formatWhere } from './query/where-parser.ts';
export { JazzError, QueryParseError } from './util/errors.ts';
export type { ErrorCode } from './util/errors.ts';
export type { KvStore, KvTransaction, KeyRange, KvEntry } from './store/types.ts';
export { createMemoryStore } from './store/memory.ts';
export { Engine } from './engine/engine.ts';
export type { RowVersion } from './rows/version.ts';
