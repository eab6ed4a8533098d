/**
 * Live streams: a file whose writer has not closed it (its record says `writing`).
 *
 * Contract:
 * - `createStream` writes the record at once (so the id can be shared before any byte) and returns
 *   `{ id, write(chunk), close(), abort() }`. Chunks are strings (UTF-8) or bytes.
 * - Every chunk is published at once, whole, to the readers of this database (`LiveHub`) and, when
 *   online, to the server (the chunks of one tick as one frame, at most one frame every 2 ms), which relays it to the
 *   readers that watch the file and may read it (server/live-streams.ts). Chunks are never stored as such: writes are coalesced into parts,
 *   flushed when `partSize` bytes are waiting or `flushMs` after the first waiting byte (250 ms by
 *   default), so a stream of tokens costs a handful of stored parts per second, each an ordinary
 *   batch through the outbox.
 * - `close()` stores what waits, then the record with sizes, SHA-256 and state `complete`, then
 *   tells live readers the end; it resolves once all of it is stored locally. `abort()` deletes the
 *   file (its parts are purged everywhere the deletion reaches). A writer that goes away leaves the
 *   record `writing` with whole parts: an unfinished stream (`loadFileAsBlob` says
 *   `FILE_INCOMPLETE`), never a corrupt file.
 * - A live reader (`loadFileAsStream` of a `writing` file) delivers the stored parts, then the live
 *   chunks from where the parts end, in byte order, each byte once: a chunk is placed by its byte
 *   offset, and a gap (chunks written before the reader started and not stored yet) is filled by
 *   the part that stores them, which arrives within `flushMs`. It ends when the writer closes the
 *   stream and every byte was delivered, checking the SHA-256 of what it delivered against the
 *   record (`FILE_INCOMPLETE` if it differs); a stream aborted by its writer errors with
 *   `FILE_INCOMPLETE`. Memory holds the chunks not yet delivered.
 */
import type { Tier, WriteOp, WriteResult } from '../engine/engine.ts';
import type { QueryAst } from '../query/ast.ts';
import { JazzError } from '../util/errors.ts';
import { Sha256 } from './sha256.ts';
import { chunkBytes, readFileInfo, type FileHost, type FileInfo } from './files.ts';
import { DEFAULT_PART_SIZE, FILES, FILE_PARTS, MAX_FILE_NAME, MAX_PART_SIZE, partId } from './system-tables.ts';

/** One chunk of a live stream, or its end (`end`: the stream's size is `at`). */
export interface LiveEvent {
  readonly at: number;
  readonly data: Uint8Array;
  readonly end?: boolean;
  /** The writer aborted the stream. */
  readonly aborted?: boolean;
}

/** Chunks of the live streams of one database, to its readers (from its writers and its server). */
export class LiveHub {
  readonly #listeners = new Map<string, Set<(e: LiveEvent) => void>>();

  publish(file: string, e: LiveEvent): void {
    for (const l of [...(this.#listeners.get(file) ?? [])]) {
      try {
        l(e);
      } catch (err) {
        console.error('jazz-elements: a live stream reader failed', err);
      }
    }
  }

  listen(file: string, fn: (e: LiveEvent) => void): () => void {
    let set = this.#listeners.get(file);
    if (!set) this.#listeners.set(file, (set = new Set()));
    set.add(fn);
    return () => {
      set.delete(fn);
      if (set.size === 0 && this.#listeners.get(file) === set) this.#listeners.delete(file);
    };
  }
}

/** What live streams need besides a FileHost. */
export interface LiveHost extends FileHost {
  readonly hub: LiveHub;
  /** Sends a chunk to the server (when online); absent without a server. */
  sendChunk?(file: string, e: LiveEvent): void;
  /** Watches a file's chunks at the server, and keeps a query's rows coming; returns a stop function. */
  follow?(file: string, queries: QueryAst[]): () => void;
}

export interface CreateStreamOptions {
  readonly mimeType?: string;
  readonly name?: string;
  /** The largest stored part (256 KiB by default, at most 1 MiB). */
  readonly partSize?: number;
  /** How long written bytes may wait before they are stored as a part (default 250 ms). */
  readonly flushMs?: number;
}

export interface StreamWriter {
  readonly id: string;
  /** Publishes a chunk to live readers at once and stores it with the next part. */
  write(chunk: string | Uint8Array): void;
  /** Stores the rest and finishes the file; resolves once stored locally. */
  close(): Promise<void>;
  /** Deletes the file. */
  abort(): Promise<void>;
}

const STREAM_OPTIONS = new Set(['mimeType', 'name', 'partSize', 'flushMs']);
const DEFAULT_FLUSH_MS = 250;
/** The least time between two chunk frames of one stream to the server. */
const MIN_FRAME_GAP_MS = 2;

function checkStreamOptions(opts: unknown): CreateStreamOptions {
  if (opts === undefined) return {};
  const bad = (m: string, option?: string) => new JazzError('OPTION_INVALID', m, option ? { option } : {});
  if (typeof opts !== 'object' || opts === null) throw bad('createStream takes { mimeType, name, partSize, flushMs }');
  for (const k of Object.keys(opts)) if (!STREAM_OPTIONS.has(k)) throw bad(`createStream takes no option "${k}"; it takes ${[...STREAM_OPTIONS].join(', ')}`, k);
  const o = opts as CreateStreamOptions;
  if (o.mimeType !== undefined && (typeof o.mimeType !== 'string' || !/^[\x21-\x7e]+\/[\x21-\x7e]+$/.test(o.mimeType.split(';')[0]!.trim())))
    throw bad(`mimeType must be a MIME type like "text/plain", got ${JSON.stringify(o.mimeType)}`, 'mimeType');
  if (o.name !== undefined && (typeof o.name !== 'string' || o.name.length > MAX_FILE_NAME)) throw bad(`a file name is a string of at most ${MAX_FILE_NAME} characters`, 'name');
  if (o.partSize !== undefined && (!Number.isInteger(o.partSize) || o.partSize < 1 || o.partSize > MAX_PART_SIZE))
    throw bad(`partSize is a whole number of bytes from 1 to ${MAX_PART_SIZE} (1 MiB)`, 'partSize');
  if (o.flushMs !== undefined && (typeof o.flushMs !== 'number' || !(o.flushMs >= 0) || o.flushMs > 60_000)) throw bad('flushMs is a number of milliseconds from 0 to 60000', 'flushMs');
  return o;
}

export function createStream(host: LiveHost, options?: CreateStreamOptions): StreamWriter {
  const opts = checkStreamOptions(options);
  const partSize = opts.partSize ?? DEFAULT_PART_SIZE;
  const flushMs = opts.flushMs ?? DEFAULT_FLUSH_MS;
  const engine = host.engine;
  const id = engine.newRowId();
  const written: WriteResult[] = [];
  const write = (ops: WriteOp[]) => {
    const r = host.write(ops);
    r.durable.catch(() => {});
    written.push(r);
    return r;
  };
  write([{ kind: 'insert', table: FILES, id, values: { name: opts.name ?? null, mimeType: opts.mimeType ?? 'application/octet-stream', state: 'writing', partSize, partSizes: [], live: true } }]);
  const hash = new Sha256();
  const sizes: number[] = [];
  let waiting: Uint8Array[] = [];
  let waitingBytes = 0;
  let offset = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let state: 'open' | 'closed' | 'aborted' | 'failed' = 'open';
  let failure: unknown;

  const store = (bytes: Uint8Array) => {
    const index = sizes.length;
    write([{ kind: 'insert', table: FILE_PARTS, id: partId(id, index), values: { file: id, index, bytes } }]);
    hash.update(bytes);
    sizes.push(bytes.length);
  };
  /** Stores what waits: whole parts, and (`all`) the rest as a smaller one. */
  const flush = (all: boolean) => {
    if (waitingBytes === 0 || (!all && waitingBytes < partSize)) return;
    const joined = new Uint8Array(waitingBytes);
    let at = 0;
    for (const c of waiting) {
      joined.set(c, at);
      at += c.length;
    }
    let from = 0;
    while (joined.length - from >= partSize) {
      store(joined.slice(from, from + partSize));
      from += partSize;
    }
    if (all && from < joined.length) {
      store(joined.slice(from));
      from = joined.length;
    }
    waiting = from < joined.length ? [joined.slice(from)] : [];
    waitingBytes = joined.length - from;
    // The timer runs from the first waiting byte: it stops only when nothing waits any more.
    if (waitingBytes === 0 && timer !== undefined) {
      clearTimeout(timer);
      timer = undefined;
    }
  };
  const guarded = (fn: () => void) => {
    try {
      fn();
    } catch (e) {
      state = 'failed';
      failure = e;
      throw e;
    }
  };
  // Chunks go to the server as soon as the tick ends, those of one tick as one frame, and at most
  // one frame every MIN_FRAME_GAP_MS (a connection's messages are rate-limited: 1000 a second).
  let outgoing: Uint8Array[] = [];
  let outgoingAt = 0;
  let lastSent = -Infinity;
  const sendLater = (e: LiveEvent) => {
    if (!host.sendChunk) return;
    if (outgoing.length === 0) {
      outgoingAt = e.at;
      const wait = lastSent + MIN_FRAME_GAP_MS - performance.now();
      if (wait <= 0) queueMicrotask(sendNow);
      else setTimeout(sendNow, wait);
    }
    outgoing.push(e.data);
  };
  const sendNow = () => {
    if (outgoing.length === 0) return;
    lastSent = performance.now();
    const total = outgoing.reduce((n, c) => n + c.length, 0);
    const data = new Uint8Array(total);
    let at = 0;
    for (const c of outgoing) {
      data.set(c, at);
      at += c.length;
    }
    outgoing = [];
    host.sendChunk!(id, { at: outgoingAt, data });
  };
  const checkOpen = () => {
    if (state === 'failed') throw failure;
    if (state !== 'open') throw new JazzError('CLOSED', `stream ${id} is ${state}; write to a new one`, { id });
  };
  return {
    id,
    write(chunk) {
      checkOpen();
      const bytes = chunkBytes(chunk).slice();
      if (bytes.length === 0) return;
      const e: LiveEvent = { at: offset, data: bytes };
      offset += bytes.length;
      waiting.push(bytes);
      waitingBytes += bytes.length;
      host.hub.publish(id, e);
      sendLater(e);
      guarded(() => flush(false));
      if (waitingBytes > 0 && timer === undefined) {
        timer = setTimeout(() => {
          timer = undefined;
          if (state !== 'open') return;
          try {
            guarded(() => flush(true));
          } catch (err) {
            console.error(`jazz-elements: storing stream ${id} failed; it stays unfinished`, err);
          }
        }, flushMs);
      }
    },
    async close() {
      checkOpen();
      guarded(() => {
        flush(true);
        write([{ kind: 'update', table: FILES, id, values: { size: offset, partSizes: sizes, hash: hash.hex(), state: 'complete' } }]);
      });
      state = 'closed';
      const end: LiveEvent = { at: offset, data: new Uint8Array(0), end: true };
      host.hub.publish(id, end);
      sendNow();
      host.sendChunk?.(id, end);
      await Promise.all(written.map((r) => r.durable));
    },
    async abort() {
      if (state === 'aborted') return;
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
      state = 'aborted';
      waiting = [];
      const r = host.write([{ kind: 'delete', table: FILES, id }]);
      host.hub.publish(id, { at: offset, data: new Uint8Array(0), aborted: true });
      await r.durable;
    },
  };
}

/**
 * Reads a stream that is being written: stored parts first, then live chunks (see the top).
 * `tier`: when set, parts and the record keep coming from the server while it is read.
 */
export function liveStream(host: LiveHost, start: FileInfo, tier: Exclude<Tier, 'local'> | undefined): ReadableStream<Uint8Array> {
  const engine = host.engine;
  const file = start.id;
  const parts = engine.table(FILE_PARTS);
  const files = engine.table(FILES);
  const hash = new Sha256();
  let offset = 0;
  let nextPart = 0;
  let partStart = 0;
  let live: LiveEvent[] = [];
  let endAt: number | undefined;
  let aborted = false;
  let wake: () => void = () => {};
  let woken = new Promise<void>((r) => (wake = r));
  const poke = () => {
    wake();
    woken = new Promise<void>((r) => (wake = r));
  };
  const stops: (() => void)[] = [];
  const listen = (t: typeof parts, pick: (row: Record<string, unknown> | undefined, old: Record<string, unknown> | undefined) => boolean) => {
    const l = { push: (c: { row: Record<string, unknown> | undefined; old: Record<string, unknown> | undefined }) => (pick(c.row, c.old) ? poke() : undefined) };
    t.listeners.add(l);
    stops.push(() => t.listeners.delete(l));
  };
  listen(parts, (row) => row?.file === file);
  listen(files, (row, old) => (row ?? old)?.id === file);
  stops.push(
    host.hub.listen(file, (e) => {
      if (e.aborted) aborted = true;
      else if (e.end) endAt = e.at;
      else if (e.at + e.data.length > offset) live.push(e);
      poke();
    }),
  );
  if (tier && host.follow) {
    stops.push(
      host.follow(file, [
        { table: FILES, where: { op: 'cmp', column: 'id', cmp: 'eq', value: file }, orderBy: [] },
        { table: FILE_PARTS, where: { op: 'cmp', column: 'file', cmp: 'eq', value: file }, orderBy: [], select: ['index'] },
      ]),
    );
  }
  const stop = () => {
    for (const s of stops.splice(0)) s();
  };
  const readPart = (i: number): Uint8Array | undefined => {
    const row = engine.getRowById(parts, partId(file, i));
    return row && row.file === file && row.index === i ? (row.bytes as Uint8Array) : undefined;
  };
  /** The next bytes in order, if any are here. */
  const next = (): Uint8Array | undefined => {
    for (;;) {
      const part = readPart(nextPart);
      if (!part) break;
      nextPart++;
      const from = partStart;
      partStart += part.length;
      if (partStart > offset) return part.subarray(offset - from);
    }
    live = live.filter((e) => e.at + e.data.length > offset);
    const here = live.find((e) => e.at <= offset);
    return here?.data.subarray(offset - here.at);
  };
  return new ReadableStream<Uint8Array>(
    {
      pull: async (controller) => {
        try {
          for (;;) {
            const bytes = next();
            if (bytes && bytes.length > 0) {
              offset += bytes.length;
              hash.update(bytes);
              controller.enqueue(bytes.slice());
              return;
            }
            const info = readFileInfo(engine, file);
            if (aborted || !info || info.state === 'aborted') throw new JazzError('FILE_INCOMPLETE', `stream ${file} was aborted by its writer`, { id: file });
            const size = info.state === 'complete' ? info.size! : endAt;
            if (info.state === 'complete' && offset < size! && !tier && !readPart(nextPart) && !live.some((e) => e.at <= offset)) {
              throw new JazzError('FILE_INCOMPLETE', `stream ${file} is closed and part ${nextPart} is missing here`, { id: file, part: nextPart });
            }
            if (size !== undefined && offset >= size && info.state === 'complete') {
              if (hash.hex() !== info.hash) throw new JazzError('FILE_INCOMPLETE', `stream ${file} does not match its SHA-256`, { id: file });
              stop();
              controller.close();
              return;
            }
            await woken;
          }
        } catch (e) {
          stop();
          controller.error(e);
        }
      },
      cancel: () => stop(),
    },
    { highWaterMark: 0 },
  );
}
