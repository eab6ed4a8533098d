/**
 * Files on the page (`jazz-files.js`, loaded by `BrowserDb`'s files methods on first use, so
 * jazz.js carries only one-line stubs): `createFileFromBlob`, `loadFileAsBlob`,
 * `loadFileAsStream`, `fileInfo` and `deleteFile` over the worker's `FileCall`s
 * (worker/file-calls.ts), with the Node Db's semantics and error codes.
 *
 * Contract:
 * - Writing reads the Blob a slice at a time (`SLICE` bytes) and transfers each slice's bytes to
 *   the worker, sending the next only once the worker's writer took the last: the page holds one
 *   slice, whatever the file's size. `onProgress({ loaded, total })` is called with the bytes the
 *   worker stored, after each part (as the Node Db). Aborting `signal` rejects with its reason at
 *   once and tells the worker, which removes what was written. Unknown options: OPTION_INVALID;
 *   the others are checked by the worker as the Node Db checks them.
 * - Reading asks the worker for one part at a time: `loadFileAsStream` pulls a part when its
 *   reader wants one (cancelling stops the worker's read), `loadFileAsBlob` collects them into a
 *   Blob of the file's MIME type. FILE_NOT_FOUND, FILE_INCOMPLETE as the Node Db.
 * - `createFileFromStream` sends what the stream gives the same way (strings as UTF-8); its size
 *   is known at its end, so its progress has no `total`.
 * - `createStream` resolves (unlike the Node Db's, which returns at once) when the worker wrote the
 *   stream's record: the id comes from there. Chunks are sent without waiting, in order (the
 *   worker applies its calls in the order they come), and published by the worker to live readers
 *   in every tab and, through the server, on every device.
 * - WHATWG streams: what this uses of them (`ReadableStream` with a pull source and
 *   `highWaterMark`, readers, `cancel`) is in every browser the project supports (Chromium,
 *   Firefox ESR, Safari and WebKitGTK), in pages and workers, so no streams polyfill is shipped or
 *   loaded: jazz.js itself needs class static blocks and private methods (Safari 16.4, Firefox
 *   93, Chromium 94 or later), and every browser that runs it has those streams.
 * - It works in a follower tab as in the leader: the calls are plain data the follower's worker
 *   forwards to the leader's. A leader change during an upload or a read fails it with CLOSED.
 */
import { JazzError } from '../../src/util/errors.ts';
import type { FileCall, FileInfo, LoadFileOptions, Tier } from '../protocol.ts';

/** Sends a files call to the worker, transferring `transfer`. */
export type FileCaller = (call: FileCall, transfer?: Transferable[]) => Promise<unknown>;

export interface PageFileProgress {
  readonly loaded: number;
  /** The file's size; undefined for a stream, whose size is known at its end. */
  readonly total: number | undefined;
}

export interface PageCreateFileOptions {
  /** The file's name (a File's own by default; at most 1024 characters). */
  readonly name?: string;
  /** Its MIME type (the Blob's own by default, else `application/octet-stream`). */
  readonly mimeType?: string;
  /** Resolve once the file reached this tier (default `local`). */
  readonly tier?: Tier;
  /** Called after each part is stored, with the bytes stored so far and the Blob's size. */
  readonly onProgress?: (p: PageFileProgress) => void;
  /** Aborting stops the upload and removes what it wrote. */
  readonly signal?: AbortSignal;
  /** Bytes per stored part: 256 KiB by default, at most 1 MiB. */
  readonly partSize?: number;
}

/** Bytes read from the Blob and sent to the worker at a time. */
const SLICE = 1 << 20;

function checkKeys(opts: unknown, allowed: readonly string[], what: string): Record<string, unknown> {
  if (opts === undefined) return {};
  if (typeof opts !== 'object' || opts === null) throw new JazzError('OPTION_INVALID', `${what} options are an object: { ${allowed.join(', ')} }`);
  for (const k of Object.keys(opts)) {
    if (!allowed.includes(k)) throw new JazzError('OPTION_INVALID', `${what} takes no option "${k}"; it takes ${allowed.join(', ')}`, { option: k });
  }
  return opts as Record<string, unknown>;
}

const CREATE_OPTIONS = ['name', 'mimeType', 'tier', 'onProgress', 'signal', 'partSize'];

export async function createFileFromBlob(call: FileCaller, blob: Blob, options?: PageCreateFileOptions): Promise<string> {
  const opts = checkCreate(options);
  if (!(blob instanceof Blob)) throw new JazzError('TYPE_MISMATCH', 'createFileFromBlob takes a Blob or a File');
  const name = opts.name ?? (blob as { name?: string }).name;
  const total = blob.size;
  async function* slices(): AsyncGenerator<Uint8Array> {
    for (let at = 0; at < total; at += SLICE) yield new Uint8Array(await blob.slice(at, at + SLICE).arrayBuffer());
  }
  return upload(call, slices(), { ...opts, ...(name !== undefined ? { name } : {}), mimeType: opts.mimeType ?? (blob.type || undefined) }, total);
}

/**
 * Stores what a stream gives (bytes, or strings as UTF-8) as a file; resolves to its id. Its size is
 * not known before its end, so `onProgress` gives no `total`.
 */
export async function createFileFromStream(call: FileCaller, readable: ReadableStream<Uint8Array | string>, options?: PageCreateFileOptions): Promise<string> {
  const opts = checkCreate(options);
  if (typeof (readable as { getReader?: unknown })?.getReader !== 'function') throw new JazzError('TYPE_MISMATCH', 'createFileFromStream takes a ReadableStream');
  const encoder = new TextEncoder();
  async function* slices(): AsyncGenerator<Uint8Array> {
    const reader = readable.getReader();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return;
        const bytes = typeof value === 'string' ? encoder.encode(value) : value;
        if (!(bytes instanceof Uint8Array)) throw new JazzError('TYPE_MISMATCH', 'a file stream gives Uint8Array or string chunks');
        // A large chunk goes in slices; a small one is copied, so transferring it leaves the caller's bytes alone.
        for (let at = 0; at < bytes.length; at += SLICE) yield bytes.slice(at, at + SLICE);
      }
    } finally {
      reader.releaseLock();
    }
  }
  return upload(call, slices(), opts);
}

function checkCreate(options: PageCreateFileOptions | undefined): PageCreateFileOptions {
  const opts = checkKeys(options, CREATE_OPTIONS, 'creating a file') as PageCreateFileOptions;
  if (opts.onProgress !== undefined && typeof opts.onProgress !== 'function') throw new JazzError('OPTION_INVALID', 'onProgress is a function of { loaded, total }', { option: 'onProgress' });
  if (opts.signal !== undefined && !(opts.signal instanceof AbortSignal)) throw new JazzError('OPTION_INVALID', 'signal is an AbortSignal', { option: 'signal' });
  opts.signal?.throwIfAborted();
  return opts;
}

/**
 * Sends `slices` to the worker as one upload (see the top of the file); `total` is the size when
 * known before the end.
 */
async function upload(call: FileCaller, slices: AsyncGenerator<Uint8Array>, opts: PageCreateFileOptions, total?: number): Promise<string> {
  const { onProgress, signal, ...rest } = opts;
  // Rejects as soon as the signal aborts, whatever call is under way.
  const stopped = new Promise<never>((_, reject) => signal?.addEventListener('abort', () => reject(signal.reason), { once: true }));
  stopped.catch(() => {});
  const step = <T>(c: FileCall, transfer?: Transferable[]): Promise<T> => Promise.race([call(c, transfer) as Promise<T>, stopped]);
  const report = (stored: readonly number[]) => {
    for (const loaded of stored) onProgress?.({ loaded, total });
  };
  const start = { ...rest, ...(total !== undefined ? { size: total } : {}) };
  for (const k of ['name', 'mimeType'] as const) if (start[k] === undefined) delete start[k];
  const handle = await step<number>({ f: 'start', opts: start });
  try {
    for (;;) {
      const next = await Promise.race([slices.next(), stopped]);
      if (next.done) break;
      report(await step<number[]>({ f: 'part', upload: handle, bytes: next.value }, [next.value.buffer]));
    }
    const { id, progress } = await step<{ id: string; progress: number[] }>({ f: 'end', upload: handle });
    report(progress);
    return id;
  } catch (e) {
    call({ f: 'abort', upload: handle }).catch(() => {});
    void slices.return(undefined).catch(() => {});
    throw e;
  }
}

async function open(call: FileCaller, id: unknown, options: unknown): Promise<{ reader: number; info: FileInfo }> {
  const opts = checkKeys(options, ['tier'], 'loading a file') as LoadFileOptions;
  return (await call({ f: 'open', id: String(id), opts })) as { reader: number; info: FileInfo };
}

export async function loadFileAsStream(call: FileCaller, id: string, options?: LoadFileOptions): Promise<ReadableStream<Uint8Array>> {
  const { reader } = await open(call, id, options);
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        const bytes = (await call({ f: 'read', reader })) as Uint8Array | null;
        if (bytes) controller.enqueue(bytes);
        else controller.close();
      },
      cancel() {
        call({ f: 'close', reader }).catch(() => {});
      },
    },
    { highWaterMark: 0 },
  );
}

export async function loadFileAsBlob(call: FileCaller, id: string, options?: LoadFileOptions): Promise<Blob> {
  const { reader, info } = await open(call, id, options);
  if (info.state !== 'complete') {
    // A live stream's writer has not closed it: the Node Db's loadFileAsBlob refuses it too.
    call({ f: 'close', reader }).catch(() => {});
    throw new JazzError('FILE_INCOMPLETE', `file ${info.id} is incomplete: its writer has not finished it (a stream still being written, or whose writer went away)`, {
      id: info.id,
      state: info.state,
    });
  }
  const parts: BlobPart[] = [];
  for (;;) {
    const bytes = (await call({ f: 'read', reader })) as Uint8Array<ArrayBuffer> | null;
    if (!bytes) return new Blob(parts, { type: info.mimeType });
    parts.push(bytes);
  }
}

export async function fileInfo(call: FileCaller, id: string, options?: LoadFileOptions): Promise<FileInfo> {
  return (await call({ f: 'info', id: String(id), opts: checkKeys(options, ['tier'], 'loading a file') as LoadFileOptions })) as FileInfo;
}

export async function deleteFile(call: FileCaller, id: string, options?: { tier?: Tier }): Promise<void> {
  if (options !== undefined && (typeof options !== 'object' || options === null || Object.keys(options).some((k) => k !== 'tier'))) {
    throw new JazzError('OPTION_INVALID', 'deleteFile takes { tier }');
  }
  await call({ f: 'delete', id: String(id), opts: options });
}

/** A live stream written from this page (the Node Db's `StreamWriter`, through the worker). */
export interface PageStreamWriter {
  readonly id: string;
  /** Sends a chunk (a string, as UTF-8, or bytes) to the worker, which publishes it to live readers at once. */
  write(chunk: string | Uint8Array): void;
  /** Stores the rest and finishes the file; resolves once stored on this device. Rejects with the first failed write's error. */
  close(): Promise<void>;
  /** Deletes the file. */
  abort(): Promise<void>;
}

/**
 * Starts a live stream; resolves once its record is written, with its `id` (so it can be put in a
 * row before any byte) and its writer. Writes are sent without waiting, in order; one that fails
 * makes the next `write` throw and `close` reject with its error.
 */
export async function createStream(call: FileCaller, options?: { mimeType?: string; name?: string; partSize?: number; flushMs?: number }): Promise<PageStreamWriter> {
  const { stream, id } = (await call({ f: 'stream', opts: options })) as { stream: number; id: string };
  let failure: unknown;
  let state: 'open' | 'closed' = 'open';
  const finish = async (abort: boolean) => {
    if (state === 'closed') throw new JazzError('CLOSED', `stream ${id} is already ${abort ? 'finished' : 'closed'}`);
    state = 'closed';
    await call({ f: 'finish', stream, abort });
    if (failure !== undefined && !abort) throw failure;
  };
  return {
    id,
    write(chunk) {
      if (failure !== undefined) throw failure;
      if (state === 'closed') throw new JazzError('CLOSED', `stream ${id} is closed`);
      if (typeof chunk !== 'string' && !(chunk instanceof Uint8Array)) throw new JazzError('TYPE_MISMATCH', 'a stream chunk is a string or a Uint8Array');
      call({ f: 'chunk', stream, data: chunk }).catch((e: unknown) => {
        failure ??= e;
      });
    },
    close: () => finish(false),
    abort: () => finish(true),
  };
}
