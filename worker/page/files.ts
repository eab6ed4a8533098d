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
 * - It works in a follower tab as in the leader: the calls are plain data the follower's worker
 *   forwards to the leader's. A leader change during an upload or a read fails it with CLOSED.
 */
import { JazzError } from '../../src/util/errors.ts';
import type { FileCall, FileInfo, LoadFileOptions, Tier } from '../protocol.ts';

/** Sends a files call to the worker, transferring `transfer`. */
export type FileCaller = (call: FileCall, transfer?: Transferable[]) => Promise<unknown>;

export interface PageFileProgress {
  readonly loaded: number;
  readonly total: number;
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

export async function createFileFromBlob(call: FileCaller, blob: Blob, options?: PageCreateFileOptions): Promise<string> {
  const { onProgress, signal, ...rest } = checkKeys(options, ['name', 'mimeType', 'tier', 'onProgress', 'signal', 'partSize'], 'creating a file') as PageCreateFileOptions;
  if (onProgress !== undefined && typeof onProgress !== 'function') throw new JazzError('OPTION_INVALID', 'onProgress is a function of { loaded, total }', { option: 'onProgress' });
  if (signal !== undefined && !(signal instanceof AbortSignal)) throw new JazzError('OPTION_INVALID', 'signal is an AbortSignal', { option: 'signal' });
  if (!(blob instanceof Blob)) throw new JazzError('TYPE_MISMATCH', 'createFileFromBlob takes a Blob or a File');
  signal?.throwIfAborted();
  const name = rest.name ?? (blob as { name?: string }).name;
  const mimeType = rest.mimeType ?? (blob.type || undefined);
  const total = blob.size;
  // Rejects as soon as the signal aborts, whatever call is under way.
  const stopped = new Promise<never>((_, reject) => signal?.addEventListener('abort', () => reject(signal.reason), { once: true }));
  stopped.catch(() => {});
  const step = <T>(c: FileCall, transfer?: Transferable[]): Promise<T> => Promise.race([call(c, transfer) as Promise<T>, stopped]);
  const report = (stored: readonly number[]) => {
    for (const loaded of stored) onProgress?.({ loaded, total });
  };
  const upload = await step<number>({ f: 'start', opts: { ...rest, size: total, ...(name !== undefined ? { name } : {}), ...(mimeType !== undefined ? { mimeType } : {}) } });
  try {
    for (let at = 0; at < total; at += SLICE) {
      const bytes = new Uint8Array(await Promise.race([blob.slice(at, at + SLICE).arrayBuffer(), stopped]));
      report(await step<number[]>({ f: 'part', upload, bytes }, [bytes.buffer]));
    }
    const { id, progress } = await step<{ id: string; progress: number[] }>({ f: 'end', upload });
    report(progress);
    return id;
  } catch (e) {
    call({ f: 'abort', upload }).catch(() => {});
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
