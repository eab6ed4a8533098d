/**
 * Files as rows: writing a file from a WHATWG stream (or a Blob) as a `$files` record and its
 * `$fileParts`, reading it back as a stream or a Blob, and what happens to parts when their file
 * is deleted. docs/engine.md "Files" has the decisions; system-tables.ts the tables.
 *
 * Contract:
 * - Writing: the record is written first (state `writing`, so the writer owns the file before any
 *   part exists anywhere), then each part as its own batch (so each travels through the outbox on
 *   its own and an interrupted upload resumes at the first unacknowledged part), then the record
 *   again with the sizes of the parts, the total size, the SHA-256 of the content and state
 *   `complete`. The returned promise resolves to the file's id once all of it reached `tier`.
 *   At most `WINDOW` parts wait (to be durable, or for the server) at a time, so memory holds a
 *   few parts whatever the size of the file; `onProgress` reports the bytes that reached `tier`.
 * - Aborting (`signal`), a failing source stream or a store that is full (`STORAGE_QUOTA`) leaves
 *   nothing behind: what was written and not yet sent is purged with its batches; if some of it
 *   may have reached a server, the record is deleted (which makes every replica drop the parts).
 *   The promise rejects with the signal's reason, the stream's error or the store's error.
 * - Reading: `FILE_NOT_FOUND` for a file that does not exist, was deleted or may not be read (the
 *   server sends nothing of such a file, so the three look the same); `FILE_INCOMPLETE` when a part
 *   is missing, its size differs from the record's, the content's SHA-256 differs, or the file is
 *   not finished (a stream not closed: read it live with `loadFileAsStream`). Parts are read one at
 *   a time, and fetched from the server (when there is one and a tier above `local` is asked)
 *   `WINDOW` at a time, the next window while one is read, only when the file is read: syncing a
 *   row that references a file fetches nothing.
 * - Deleting a `$files` row (on any replica, written here or received) purges its parts from the
 *   store: their space is freed, history included.
 */
import { TIERS } from '../engine/tiers.ts';
import type { Engine, Tier, WriteOp, WriteResult } from '../engine/engine.ts';
import type { QueryAst, Expr } from '../query/ast.ts';
import { planQuery } from '../query/plan.ts';
import { Source } from '../query/ivm/source.ts';
import { rowComparator } from '../query/compare.ts';
import { compilePredicate } from '../query/predicate.ts';
import { isUuid } from '../rows/ids.ts';
import { JazzError } from '../util/errors.ts';
import { utf8Encode } from '../util/utf8.ts';
import { Sha256 } from './sha256.ts';
import { DEFAULT_PART_SIZE, FILES, FILE_PARTS, MAX_FILE_NAME, MAX_PART_SIZE, fileColumns, partId, type FileState } from './system-tables.ts';

/** What the files code needs from a database (db.ts supplies it; the browser worker can too). */
export interface FileHost {
  readonly engine: Engine;
  /** Writes as the database writes (pushed to the server when there is one). */
  write(ops: WriteOp[]): WriteResult;
  /** Resolves when a write reached `tier`. */
  wait(result: WriteResult, tier: Tier): Promise<void>;
  /**
   * Asks the server for the rows of a query and resolves once they are here (settled at `tier`);
   * absent without a server.
   */
  fetch?(query: QueryAst, tier: Exclude<Tier, 'local'>): Promise<void>;
}

export interface FileProgress {
  /** Bytes stored so far. */
  readonly loaded: number;
  /** The file's size when known (a Blob's, or `size` given for a stream), else undefined. */
  readonly total: number | undefined;
}

export interface CreateFileOptions {
  /** The file's name (at most 1024 characters). */
  readonly name?: string;
  /** Its MIME type (a Blob's own type by default, else `application/octet-stream`). */
  readonly mimeType?: string;
  /** Resolve once the file reached this tier (default `local`). */
  readonly tier?: Tier;
  /** Called after each part is stored. */
  readonly onProgress?: (p: FileProgress) => void;
  /** Aborting stops the upload and removes what it wrote. */
  readonly signal?: AbortSignal;
  /** Bytes per part: 256 KiB by default, at most 1 MiB. */
  readonly partSize?: number;
  /** For a stream: its size if known (reported as `total` in progress). */
  readonly size?: number;
}

export interface LoadFileOptions {
  /**
   * `local`: only what this replica holds. `edge`/`global`: ask the server for what is missing
   * (the default when the database has a server).
   */
  readonly tier?: Tier;
}

/** A file's record, as `fileInfo` returns it. */
export interface FileInfo {
  readonly id: string;
  readonly name: string | null;
  readonly mimeType: string;
  readonly size: number | null;
  readonly partSizes: readonly number[];
  readonly hash: string | null;
  readonly state: FileState;
}

const CREATE_OPTIONS = new Set(['name', 'mimeType', 'tier', 'onProgress', 'signal', 'partSize', 'size']);
const LOAD_OPTIONS = new Set(['tier']);
/** Parts an upload has waiting (to be durable, or for the server) at once; parts a read fetches from the server at once. */
const WINDOW = 8;

function optionError(message: string, details: Record<string, unknown> = {}): JazzError {
  return new JazzError('OPTION_INVALID', message, details);
}

export function checkCreateOptions(opts: unknown): CreateFileOptions {
  if (opts === undefined) return {};
  if (typeof opts !== 'object' || opts === null) throw optionError('file options are an object: { name, mimeType, tier, onProgress, signal, partSize }');
  for (const k of Object.keys(opts)) if (!CREATE_OPTIONS.has(k)) throw optionError(`creating a file takes no option "${k}"; it takes ${[...CREATE_OPTIONS].join(', ')}`, { option: k });
  const o = opts as CreateFileOptions;
  if (o.name !== undefined && (typeof o.name !== 'string' || o.name.length > MAX_FILE_NAME)) throw optionError(`a file name is a string of at most ${MAX_FILE_NAME} characters`, { option: 'name' });
  if (o.mimeType !== undefined && (typeof o.mimeType !== 'string' || o.mimeType.length > 255 || !/^[\x21-\x7e]+\/[\x21-\x7e]+$/.test(o.mimeType.split(';')[0]!.trim()))) {
    throw optionError(`mimeType must be a MIME type like "image/png", got ${JSON.stringify(o.mimeType)}`, { option: 'mimeType' });
  }
  if (o.tier !== undefined && !TIERS.includes(o.tier)) throw optionError(`tier is one of ${TIERS.join(', ')}`, { option: 'tier' });
  if (o.onProgress !== undefined && typeof o.onProgress !== 'function') throw optionError('onProgress is a function of { loaded, total }', { option: 'onProgress' });
  if (o.signal !== undefined && (typeof o.signal !== 'object' || o.signal === null || typeof o.signal.aborted !== 'boolean')) throw optionError('signal is an AbortSignal', { option: 'signal' });
  if (o.partSize !== undefined && (!Number.isInteger(o.partSize) || o.partSize < 1 || o.partSize > MAX_PART_SIZE)) {
    throw optionError(`partSize is a whole number of bytes from 1 to ${MAX_PART_SIZE} (1 MiB), got ${String(o.partSize)}`, { option: 'partSize' });
  }
  if (o.size !== undefined && (!Number.isSafeInteger(o.size) || o.size < 0)) throw optionError("size is the stream's length in bytes", { option: 'size' });
  return o;
}

export function checkLoadOptions(opts: unknown): LoadFileOptions {
  if (opts === undefined) return {};
  if (typeof opts !== 'object' || opts === null) throw optionError('load options are an object: { tier }');
  for (const k of Object.keys(opts)) if (!LOAD_OPTIONS.has(k)) throw optionError(`loading a file takes no option "${k}"; it takes ${[...LOAD_OPTIONS].join(', ')}`, { option: k });
  const o = opts as LoadFileOptions;
  if (o.tier !== undefined && !TIERS.includes(o.tier)) throw optionError(`tier is one of ${TIERS.join(', ')}`, { option: 'tier' });
  return o;
}

/** Turns a chunk of a source stream into bytes (strings as UTF-8); anything else is TYPE_MISMATCH. */
export function chunkBytes(chunk: unknown): Uint8Array {
  if (chunk instanceof Uint8Array) return chunk;
  if (typeof chunk === 'string') return utf8Encode(chunk);
  if (chunk instanceof ArrayBuffer) return new Uint8Array(chunk);
  if (ArrayBuffer.isView(chunk)) return new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  throw new JazzError('TYPE_MISMATCH', `a file's chunks are bytes (Uint8Array, ArrayBuffer) or strings, got ${chunk === null ? 'null' : typeof chunk}`);
}

function notFound(id: string): JazzError {
  return new JazzError('FILE_NOT_FOUND', `there is no file ${id} that this user may read (it may not exist, have been deleted, or belong to someone else)`, { id });
}

function incomplete(id: string, why: string, details: Record<string, unknown> = {}): JazzError {
  return new JazzError('FILE_INCOMPLETE', `file ${id} is incomplete: ${why}`, { id, ...details });
}

function aborted(signal: AbortSignal): unknown {
  return signal.reason ?? new JazzError('OPTION_INVALID', 'the file upload was aborted');
}

/**
 * Writes a file from a stream of bytes (or strings, as UTF-8) and resolves to its id once it
 * reached `opts.tier` (see the top of the file).
 */
export async function createFileFromStream(host: FileHost, readable: ReadableStream<unknown>, opts: CreateFileOptions): Promise<string> {
  const tier = opts.tier ?? 'local';
  if (tier !== 'local' && !host.fetch) throw new JazzError('NO_SERVER', `this database has no server, so no file reaches tier "${tier}"; wait for tier "local"`);
  const partSize = opts.partSize ?? DEFAULT_PART_SIZE;
  const signal = opts.signal;
  if (signal?.aborted) throw aborted(signal);
  const engine = host.engine;
  const fileId = engine.newRowId();
  const written: WriteResult[] = [];
  const partIds: string[] = [];
  const write = (ops: WriteOp[]): WriteResult => {
    const r = host.write(ops);
    r.durable.catch(() => {});
    written.push(r);
    return r;
  };
  const reader = readable.getReader();
  let stop: (() => void) | undefined;
  const stopped = new Promise<never>((_, reject) => {
    stop = () => reject(aborted(signal!));
  });
  stopped.catch(() => {});
  if (signal) signal.addEventListener('abort', stop!, { once: true });
  // A promise already settled wins a race against an abort that came first: look at the signal too.
  const raceAbort = async <T>(p: Promise<T>): Promise<T> => {
    if (!signal) return p;
    const v = await Promise.race([p, stopped]);
    if (signal.aborted) throw aborted(signal);
    return v;
  };
  try {
    write([{ kind: 'insert', table: FILES, id: fileId, values: { name: opts.name ?? null, mimeType: opts.mimeType ?? 'application/octet-stream', state: 'writing', partSize, partSizes: [] } }]);
    const hash = new Sha256();
    const sizes: number[] = [];
    let loaded = 0;
    // Parts written and not yet at `tier`, with the bytes stored once each is: at most WINDOW.
    const inFlight: { r: WriteResult; loaded: number }[] = [];
    const settle = async ({ r, loaded }: { r: WriteResult; loaded: number }): Promise<void> => {
      await raceAbort(tier === 'local' ? r.durable : host.wait(r, tier));
      opts.onProgress?.({ loaded, total: opts.size });
    };
    const buf = new Uint8Array(partSize);
    let fill = 0;
    const flush = async (): Promise<void> => {
      const bytes = buf.slice(0, fill);
      const index = sizes.length;
      const id = partId(fileId, index);
      partIds.push(id);
      const r = write([{ kind: 'insert', table: FILE_PARTS, id, values: { file: fileId, index, bytes } }]);
      hash.update(bytes);
      sizes.push(fill);
      loaded += fill;
      fill = 0;
      // Bounded: at most WINDOW parts wait to be durable, or for the server (the outbox keeps
      // them if it is away); progress is reported as each reaches the tier.
      inFlight.push({ r, loaded });
      if (inFlight.length >= WINDOW) await settle(inFlight.shift()!);
    };
    for (;;) {
      const { done, value } = await raceAbort(reader.read());
      if (done) break;
      let bytes = chunkBytes(value);
      while (bytes.length > 0) {
        const n = Math.min(partSize - fill, bytes.length);
        buf.set(bytes.subarray(0, n), fill);
        fill += n;
        bytes = bytes.subarray(n);
        if (fill === partSize) await flush();
      }
    }
    if (fill > 0) await flush();
    while (inFlight.length > 0) await settle(inFlight.shift()!);
    if (signal?.aborted) throw aborted(signal);
    write([{ kind: 'update', table: FILES, id: fileId, values: { size: loaded, partSizes: sizes, hash: hash.hex(), state: 'complete' } }]);
    if (sizes.length === 0) opts.onProgress?.({ loaded: 0, total: opts.size });
    await raceAbort(Promise.all(written.map((r) => (tier === 'local' ? r.durable : host.wait(r, tier)))));
    return fileId;
  } catch (e) {
    reader.cancel(e).catch(() => {});
    await discard(host, fileId, partIds, written).catch((d: unknown) => console.error('jazz-elements: removing an abandoned file failed', d));
    throw e;
  } finally {
    if (signal) signal.removeEventListener('abort', stop!);
    try {
      reader.releaseLock();
    } catch {
      // released by cancel
    }
  }
}

/**
 * Removes an abandoned upload: batches not acknowledged are dropped with their rows; if any was
 * acknowledged (a server has part of it), the record is deleted instead, which makes every replica
 * purge the parts (`installFileHooks`).
 */
async function discard(host: FileHost, fileId: string, partIds: string[], written: WriteResult[]): Promise<void> {
  const engine = host.engine;
  if (engine.closed) return;
  await Promise.allSettled(written.map((r) => r.durable));
  const outbox = new Set(engine.outbox());
  const sent = written.some((r) => r.written > 0 && !outbox.has(r.batchId) && engine.batchRecord(r.batchId)?.s === 'accepted');
  const mine = written.map((r) => r.batchId);
  if (sent && engine.getRowById(engine.table(FILES), fileId)) {
    await engine.dropLocalBatches(mine.filter((b) => outbox.has(b) && b !== written[0]!.batchId));
    host.write([{ kind: 'delete', table: FILES, id: fileId }]).durable.catch(() => {});
    await engine.purgeRows(partIds.map((rowId) => ({ table: FILE_PARTS, rowId })));
    return;
  }
  await engine.dropLocalBatches(mine);
  await engine.purgeRows([{ table: FILES, rowId: fileId }, ...partIds.map((rowId) => ({ table: FILE_PARTS, rowId }))]);
}

/**
 * Removes the uploads this replica started and never finished (the process stopped, or the store
 * did: a full disk stops a durable store, so the upload's own clean-up could not run). Run when a
 * database opens, before anything writes: no upload of this replica can still be going on. Live
 * streams are left as they are: an unfinished stream is a stream, marked `writing`.
 */
export async function discardAbandoned(host: FileHost): Promise<void> {
  const engine = host.engine;
  const files = engine.table(FILES);
  const mine = `${engine.clientId}.`;
  const abandoned: string[] = [];
  for (const row of rowsWhere(engine, FILES, { op: 'cmp', column: 'state', cmp: 'eq', value: 'writing' })) {
    if (row.live === true) continue;
    const state = engine.getVisibleState(files, row.id as string);
    if (state?.created.vid.startsWith(mine)) abandoned.push(row.id as string);
  }
  for (const fileId of abandoned) {
    const partIds = partsOf(engine, fileId);
    const batches = new Set<string>();
    for (const v of engine.history(files, fileId)) batches.add(v.batchId);
    for (const p of partIds) for (const v of engine.history(engine.table(FILE_PARTS), p)) batches.add(v.batchId);
    const written = [...batches].map((batchId) => ({ batchId, ids: [], durable: Promise.resolve(), written: 1 }));
    // The record's first batch first (discard keeps it when part of the file was sent).
    written.sort((a, b) => (a.batchId < b.batchId ? -1 : 1));
    await discard(host, fileId, partIds, written);
  }
}

/** The record of a file this replica holds (live), or undefined. */
export function readFileInfo(engine: Engine, id: string): FileInfo | undefined {
  if (!isUuid(id)) return undefined;
  const row = engine.getRowById(engine.table(FILES), id);
  if (!row) return undefined;
  return {
    id,
    name: (row.name as string | null) ?? null,
    mimeType: row.mimeType as string,
    size: (row.size as number | null) ?? null,
    partSizes: (row.partSizes as number[] | null) ?? [],
    hash: (row.hash as string | null) ?? null,
    state: row.state as FileState,
  };
}

/** The tier a read asks the server at, or undefined to read only this replica. */
export function remoteTier(host: FileHost, opts: LoadFileOptions): Exclude<Tier, 'local'> | undefined {
  const tier = opts.tier ?? (host.fetch ? 'edge' : 'local');
  if (tier === 'local') return undefined;
  if (!host.fetch) throw new JazzError('NO_SERVER', `this database has no server, so no file is read at tier "${tier}"; use tier "local"`);
  return tier;
}

const byId = (table: string, ids: readonly string[]): QueryAst => ({
  table,
  where: ids.length === 1 ? { op: 'cmp', column: 'id', cmp: 'eq', value: ids[0]! } : { op: 'in', column: 'id', values: ids },
  orderBy: [],
});

/** The record of a file, fetched from the server first when asked; FILE_NOT_FOUND if there is none. */
export async function loadFileInfo(host: FileHost, id: unknown, options?: LoadFileOptions): Promise<FileInfo> {
  const opts = checkLoadOptions(options);
  if (typeof id !== 'string' || !isUuid(id)) throw new JazzError('FILE_NOT_FOUND', `a file id is a UUID string, got ${JSON.stringify(String(id)).slice(0, 60)}`, { id: String(id) });
  const tier = remoteTier(host, opts);
  let info = readFileInfo(host.engine, id);
  if (tier && (!info || info.state === 'writing')) {
    await host.fetch!(byId(FILES, [id]), tier);
    info = readFileInfo(host.engine, id);
  }
  if (!info || info.state === 'aborted') throw notFound(id);
  return info;
}

/**
 * The file's bytes as a stream, one part at a time (FILE_NOT_FOUND rejects the promise; a missing
 * or damaged part errors the stream with FILE_INCOMPLETE, after the parts before it).
 */
export async function loadFileAsStream(
  host: FileHost,
  id: unknown,
  options?: LoadFileOptions,
  /** How to read a file still being written (a live stream: live.ts); without it, FILE_INCOMPLETE. */
  live?: (info: FileInfo, tier: Exclude<Tier, 'local'> | undefined) => ReadableStream<Uint8Array>,
): Promise<ReadableStream<Uint8Array>> {
  const opts = checkLoadOptions(options);
  const info = await loadFileInfo(host, id, opts);
  if (info.state === 'writing' && live) return live(info, remoteTier(host, opts));
  if (info.state !== 'complete') throw incomplete(info.id, 'its writer has not finished it (a stream still being written, or whose writer went away)', { state: info.state });
  const tier = remoteTier(host, opts);
  return partsStream(host, info, tier);
}

function partsStream(host: FileHost, info: FileInfo, tier: Exclude<Tier, 'local'> | undefined): ReadableStream<Uint8Array> {
  const engine = host.engine;
  const parts = engine.table(FILE_PARTS);
  const hash = new Sha256();
  let index = 0;
  const readPart = (i: number): Uint8Array | undefined => {
    const row = engine.getRowById(parts, partId(info.id, i));
    return row && row.file === info.id && row.index === i ? (row.bytes as Uint8Array) : undefined;
  };
  // Parts are fetched WINDOW at a time (batch k holds parts kW to kW + W - 1), the next batch asked
  // for while this one is read, so the transfer does not stop at each batch's end.
  const batches = new Map<number, Promise<void>>();
  const fetchBatch = (k: number): Promise<void> | undefined => {
    if (!tier || k * WINDOW >= info.partSizes.length) return undefined;
    let p = batches.get(k);
    if (!p) {
      const ids: string[] = [];
      for (let i = k * WINDOW; i < Math.min((k + 1) * WINDOW, info.partSizes.length); i++) if (!readPart(i)) ids.push(partId(info.id, i));
      p = ids.length ? host.fetch!(byId(FILE_PARTS, ids), tier) : Promise.resolve();
      p.catch(() => {});
      batches.set(k, p);
      batches.delete(k - 2);
    }
    return p;
  };
  return new ReadableStream<Uint8Array>(
    {
      pull: async (controller) => {
        try {
          if (index >= info.partSizes.length) {
            if (hash.hex() !== info.hash) throw incomplete(info.id, 'its content does not match its SHA-256', { expected: info.hash });
            controller.close();
            return;
          }
          let bytes = readPart(index);
          if (!bytes && tier) {
            // Fetched when read, a window ahead: memory holds a few parts, not the file.
            const k = Math.floor(index / WINDOW);
            const mine = fetchBatch(k);
            fetchBatch(k + 1);
            await mine;
            bytes = readPart(index);
          } else if (tier && index % WINDOW === 0) fetchBatch(index / WINDOW + 1);
          if (!bytes) throw incomplete(info.id, `part ${index} of ${info.partSizes.length} is missing`, { part: index });
          if (bytes.length !== info.partSizes[index]) throw incomplete(info.id, `part ${index} has ${bytes.length} bytes, its record says ${info.partSizes[index]}`, { part: index });
          hash.update(bytes);
          index++;
          controller.enqueue(bytes);
        } catch (e) {
          controller.error(e);
        }
      },
    },
    { highWaterMark: 0 },
  );
}

/** The whole file as a Blob of its MIME type (FILE_NOT_FOUND / FILE_INCOMPLETE reject). */
export async function loadFileAsBlob(host: FileHost, id: unknown, options?: LoadFileOptions): Promise<Blob> {
  const opts = checkLoadOptions(options);
  const info = await loadFileInfo(host, id, opts);
  const stream = await loadFileAsStream(host, info.id, opts);
  const reader = stream.getReader();
  const chunks: Uint8Array<ArrayBuffer>[] = [];
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value as Uint8Array<ArrayBuffer>);
  }
  return new Blob(chunks, { type: info.mimeType });
}

// ─── deletion ─────────────────────────────────────────────────────────────────

/** Rows of a table matching `where` (through its indexes). */
function rowsWhere(engine: Engine, table: string, where: Expr, limit?: number): Record<string, unknown>[] {
  const t = engine.table(table);
  const q: QueryAst = { table, where, orderBy: [], ...(limit !== undefined ? { limit } : {}) };
  const plan = planQuery(engine, t, q);
  const source = new Source(engine, t, plan, rowComparator([]));
  const pred = compilePredicate(where);
  const out: Record<string, unknown>[] = [];
  for (const r of source.fetch()) {
    if (!pred(r)) continue;
    out.push(r);
    if (limit !== undefined && out.length >= limit) break;
  }
  return out;
}

/** The live rows of the app that reference a file (through any file column), lazily. */
export function* referencingRows(engine: Engine, fileId: string): IterableIterator<{ table: string; row: Record<string, unknown> }> {
  for (const { table, column, array } of fileColumns(engine.schema)) {
    const where: Expr = array ? { op: 'contains', column, value: fileId } : { op: 'cmp', column, cmp: 'eq', value: fileId };
    const t = engine.table(table);
    const pred = compilePredicate(where);
    const source = new Source(engine, t, planQuery(engine, t, { table, where, orderBy: [] }), rowComparator([]));
    for (const row of source.fetch()) if (pred(row)) yield { table, row };
  }
}

/** Whether some live row of the app references the file. */
export function isReferenced(engine: Engine, fileId: string): boolean {
  for (const _ of referencingRows(engine, fileId)) return true;
  return false;
}

/** The ids of the parts this replica holds of a file. */
export function partsOf(engine: Engine, fileId: string): string[] {
  return rowsWhere(engine, FILE_PARTS, { op: 'cmp', column: 'file', cmp: 'eq', value: fileId }).map((r) => r.id as string);
}

export interface FileHooks {
  /** Stops them. */
  stop(): void;
  /** Counts work started elsewhere (clean-up at open) in `settled`. */
  track(p: Promise<unknown>): void;
  /** Resolves once every purge and collection started so far is done (tests). */
  settled(): Promise<void>;
}

/**
 * Keeps files consistent on one engine:
 * - a `$files` row that is deleted (here or received) has its parts purged, and a part received
 *   for a deleted file is purged as it arrives;
 * - `collect` (the authority only: a database without a server, or the sync server): when a row
 *   stops referencing a file (deleted, or its file column changed) and no live row references it
 *   any more, the file's record is deleted through `collect`, which purges its parts as above.
 */
export function installFileHooks(engine: Engine, collect?: (fileIds: string[]) => void): FileHooks {
  const pending = new Set<Promise<unknown>>();
  const track = (p: Promise<unknown>) => {
    pending.add(p);
    p.catch((e: unknown) => console.error('jazz-elements: purging the parts of a deleted file failed', e)).finally(() => pending.delete(p));
  };
  const toPurge = new Set<string>();
  const toCheck = new Set<string>();
  let scheduled = false;
  let stopped = false;
  const run = () => {
    scheduled = false;
    if (stopped || engine.closed) return;
    const files = engine.table(FILES);
    const gone = [...toCheck].filter((f) => engine.getRowById(files, f) !== undefined && !isReferenced(engine, f));
    toCheck.clear();
    if (gone.length && collect) collect(gone);
    const parts: { table: string; rowId: string }[] = [];
    for (const f of toPurge) for (const rowId of partsOf(engine, f)) parts.push({ table: FILE_PARTS, rowId });
    toPurge.clear();
    if (parts.length) track(engine.purgeRows(parts));
  };
  const later = () => {
    if (scheduled) return;
    scheduled = true;
    engine.schedule(run);
  };
  const unlisten: (() => void)[] = [];
  const listen = (table: string, push: (old: Record<string, unknown> | undefined, row: Record<string, unknown> | undefined) => void) => {
    const t = engine.table(table);
    const l = { push: (c: { old: Record<string, unknown> | undefined; row: Record<string, unknown> | undefined }) => push(c.old, c.row) };
    t.listeners.add(l);
    unlisten.push(() => t.listeners.delete(l));
  };
  listen(FILES, (old, row) => {
    if (old && !row) {
      toPurge.add(old.id as string);
      later();
    }
  });
  listen(FILE_PARTS, (old, row) => {
    if (!old && row && engine.getVisibleState(engine.table(FILES), row.file as string)?.deleted) {
      toPurge.add(row.file as string);
      later();
    }
  });
  if (collect) {
    const refs = (row: Record<string, unknown> | undefined, column: string): string[] => {
      const v = row?.[column];
      return typeof v === 'string' ? [v] : Array.isArray(v) ? (v as string[]) : [];
    };
    for (const { table, column } of fileColumns(engine.schema)) {
      listen(table, (old, row) => {
        const now = new Set(refs(row, column));
        for (const f of refs(old, column)) if (!now.has(f)) toCheck.add(f);
        if (toCheck.size) later();
      });
    }
  }
  return {
    track,
    stop() {
      stopped = true;
      for (const u of unlisten) u();
    },
    async settled() {
      await new Promise<void>((r) => queueMicrotask(r));
      while (pending.size) await Promise.allSettled([...pending]);
    },
  };
}
