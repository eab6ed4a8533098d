/**
 * Files over the worker protocol (`FileCall`, protocol.ts): the leader's side of the page's
 * `createFileFromBlob`, `loadFileAsBlob`/`loadFileAsStream`, `fileInfo` and `deleteFile`
 * (worker/page/files.ts), for its own tab and for followers (the calls are plain data, so they
 * cross a peer link as they cross Comlink).
 *
 * Contract:
 * - An upload is `start` (options, checked as the Node Db checks them: OPTION_INVALID), then
 *   `part`s in order, then `end` (resolves to the file's id once it reached the asked tier) or
 *   `abort` (removes what was written, as aborting the Node Db's signal does). The parts feed one
 *   `createFileFromStream` through a stream that pulls one part at a time: `part` resolves once
 *   the writer took the bytes, so the page sends the next only then and memory holds a part or
 *   two whatever the file's size. `part` and `end` answer the progress (bytes stored) reported
 *   since the last answer. A failed upload (quota, a bad option) rejects its next `part`/`end`
 *   with the writer's error.
 * - A read is `open` (FILE_NOT_FOUND / FILE_INCOMPLETE as the Node Db), then `read` until it
 *   answers null (the end); a damaged or missing part rejects a `read` with FILE_INCOMPLETE.
 *   `close` stops it early. Bytes are copied to the caller, never transferred (they may be the
 *   engine's own).
 * - A live stream is `stream` (options checked as the Node Db's `createStream`; answers its handle
 *   and the file's id once the record is written), then `chunk`s, applied in the order they come
 *   (the page sends them without waiting), then `finish` (close, or abort). A writer's failure
 *   rejects its next `chunk` or `finish`. A stream whose page went away stays unfinished (its
 *   record says `writing`, its whole parts stored), as in Node; its handle is dropped after
 *   `STREAM_IDLE_MS` without a chunk.
 * - Handles live in this leader's worker: a leader change ends them (the page's call fails, see
 *   db-host.ts), and an upload or read left unfinished by a page is dropped after `IDLE_MS`
 *   without a call.
 */
import type { Db } from '../src/db.ts';
import { checkCreateOptions, type FileInfo } from '../src/files/files.ts';
import type { StreamWriter } from '../src/files/live.ts';
import type { AppSchema } from '../src/schema/schema.ts';
import { JazzError } from '../src/util/errors.ts';
import type { FileCall } from './protocol.ts';

type AnyDb = Db<{ readonly $schema: AppSchema }>;

/** An unfinished upload or read with no call for this long is dropped (its page went away). */
const IDLE_MS = 60_000;
/** A live stream may pause longer between chunks (a person typing, a model thinking). */
const STREAM_IDLE_MS = 3_600_000;

interface Upload {
  /** The part waiting for the writer's pull, and who to tell when it is taken. */
  next?: { bytes: Uint8Array | null; taken: () => void };
  /** The writer's pull, waiting for a part. */
  wanted?: (p: { bytes: Uint8Array | null; taken: () => void }) => void;
  abort: AbortController;
  progress: number[];
  done: Promise<string>;
  timer: ReturnType<typeof setTimeout>;
}

interface Reader {
  reader: ReadableStreamDefaultReader<Uint8Array>;
  timer: ReturnType<typeof setTimeout>;
}

interface Stream {
  writer: StreamWriter;
  timer: ReturnType<typeof setTimeout>;
}

export class FileCalls {
  readonly #uploads = new Map<number, Upload>();
  readonly #readers = new Map<number, Reader>();
  readonly #streams = new Map<number, Stream>();
  #next = 1;

  async run(call: FileCall, dbOf: () => Promise<AnyDb>): Promise<unknown> {
    switch (call.f) {
      case 'start': {
        const opts = checkCreateOptions(call.opts);
        const db = await dbOf();
        const id = this.#next++;
        const abort = new AbortController();
        const upload: Upload = { abort, progress: [], done: undefined as unknown as Promise<string>, timer: this.#idle(() => this.#dropUpload(id)) };
        const source = new ReadableStream<Uint8Array>(
          {
            pull: (controller) =>
              new Promise<void>((resolve) => {
                const take = (p: { bytes: Uint8Array | null; taken: () => void }) => {
                  upload.next = undefined;
                  upload.wanted = undefined;
                  if (p.bytes) controller.enqueue(p.bytes);
                  else controller.close();
                  p.taken();
                  resolve();
                };
                if (upload.next) take(upload.next);
                else upload.wanted = take;
              }),
          },
          { highWaterMark: 0 },
        );
        upload.done = db.createFileFromStream(source, { ...opts, signal: abort.signal, onProgress: (p) => void upload.progress.push(p.loaded) });
        upload.done.catch(() => {});
        this.#uploads.set(id, upload);
        return id;
      }
      case 'part':
      case 'end': {
        const upload = this.#upload(call.upload);
        // Taken by the writer, or the writer failed (its error rejects this call).
        await Promise.race([new Promise<void>((taken) => this.#give(upload, call.f === 'part' ? call.bytes : null, taken)), upload.done]);
        if (call.f === 'part') return upload.progress.splice(0);
        const id = await upload.done;
        this.#dropUpload(call.upload, false);
        return { id, progress: upload.progress.splice(0) };
      }
      case 'abort': {
        const upload = this.#uploads.get(call.upload);
        if (!upload) return undefined;
        this.#dropUpload(call.upload);
        await upload.done.catch(() => {});
        return undefined;
      }
      case 'open': {
        const db = await dbOf();
        const info = await db.fileInfo(call.id, call.opts);
        const stream = await db.loadFileAsStream(info.id, call.opts);
        const id = this.#next++;
        this.#readers.set(id, { reader: stream.getReader(), timer: this.#idle(() => this.#dropReader(id)) });
        return { reader: id, info } satisfies { reader: number; info: FileInfo };
      }
      case 'read': {
        const r = this.#readers.get(call.reader);
        if (!r) throw gone();
        this.#touch(r, () => this.#dropReader(call.reader));
        try {
          const { done, value } = await r.reader.read();
          if (done) this.#dropReader(call.reader);
          return done ? null : value.slice();
        } catch (e) {
          this.#dropReader(call.reader);
          throw e;
        }
      }
      case 'close':
        this.#dropReader(call.reader);
        return undefined;
      case 'stream': {
        const writer = (await dbOf()).createStream(call.opts);
        const id = this.#next++;
        this.#streams.set(id, { writer, timer: this.#idle(() => this.#streams.delete(id), STREAM_IDLE_MS) });
        return { stream: id, id: writer.id };
      }
      case 'chunk': {
        const s = this.#streams.get(call.stream);
        if (!s) throw gone();
        this.#touch(s, () => this.#streams.delete(call.stream), STREAM_IDLE_MS);
        s.writer.write(call.data);
        return undefined;
      }
      case 'finish': {
        const s = this.#streams.get(call.stream);
        if (!s) throw gone();
        this.#streams.delete(call.stream);
        clearTimeout(s.timer);
        return call.abort ? s.writer.abort() : s.writer.close();
      }
      case 'info':
        return (await dbOf()).fileInfo(call.id, call.opts);
      case 'delete':
        return (await dbOf()).deleteFile(call.id, call.opts);
    }
  }

  /** Ends everything (the database closes). */
  stop(): void {
    for (const id of [...this.#uploads.keys()]) this.#dropUpload(id);
    for (const id of [...this.#readers.keys()]) this.#dropReader(id);
    for (const s of this.#streams.values()) clearTimeout(s.timer);
    this.#streams.clear();
  }

  #upload(id: number): Upload {
    const upload = this.#uploads.get(id);
    if (!upload) throw gone();
    this.#touch(upload, () => this.#dropUpload(id));
    return upload;
  }

  #give(upload: Upload, bytes: Uint8Array | null, taken: () => void): void {
    const p = { bytes, taken };
    if (upload.wanted) upload.wanted(p);
    else upload.next = p;
  }

  #idle(drop: () => void, ms = IDLE_MS): ReturnType<typeof setTimeout> {
    return setTimeout(drop, ms);
  }

  #touch(h: { timer: ReturnType<typeof setTimeout> }, drop: () => void, ms = IDLE_MS): void {
    clearTimeout(h.timer);
    h.timer = this.#idle(drop, ms);
  }

  /** Forgets an upload; unless it finished (`abort` false), its writer stops and removes what it wrote. */
  #dropUpload(id: number, abort = true): void {
    const upload = this.#uploads.get(id);
    if (!upload) return;
    this.#uploads.delete(id);
    clearTimeout(upload.timer);
    if (abort) upload.abort.abort(new JazzError('CLOSED', 'the file upload was aborted'));
  }

  #dropReader(id: number): void {
    const r = this.#readers.get(id);
    if (!r) return;
    this.#readers.delete(id);
    clearTimeout(r.timer);
    void r.reader.cancel().catch(() => {});
  }
}

function gone(): JazzError {
  return new JazzError('CLOSED', 'this file upload, read or stream is over (it finished, failed, was aborted, idle too long, or the leader tab changed)');
}
