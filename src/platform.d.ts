/**
 * The only globals the engine may use beyond ECMAScript itself: web standards present in every
 * runtime we target (browsers, workers, Node 20+). Everything else that is platform-specific is
 * handed in through small interfaces (BlockFile, Transport, Clock). `tsconfig.src.json` compiles
 * src/ against this file alone, so a DOM or Node global fails the build.
 */
declare class TextEncoder {
  encode(input?: string): Uint8Array;
  encodeInto(src: string, dest: Uint8Array): { read: number; written: number };
}
declare class TextDecoder {
  constructor(label?: string, options?: { fatal?: boolean; ignoreBOM?: boolean });
  decode(input?: Uint8Array): string;
}
declare const crypto: { getRandomValues<T extends Uint8Array | Uint32Array>(array: T): T };
/** WHATWG streams, Blob and AbortSignal, as far as files use them (src/files). */
interface ReadableStreamDefaultController<R> {
  enqueue(chunk: R): void;
  close(): void;
  error(e?: unknown): void;
  readonly desiredSize: number | null;
}
type ReadableStreamReadResult<R> = { done: true; value?: undefined } | { done: false; value: R };
interface ReadableStreamDefaultReader<R> {
  read(): Promise<ReadableStreamReadResult<R>>;
  releaseLock(): void;
  cancel(reason?: unknown): Promise<void>;
}
interface UnderlyingDefaultSource<R> {
  start?(controller: ReadableStreamDefaultController<R>): void | Promise<void>;
  pull?(controller: ReadableStreamDefaultController<R>): void | Promise<void>;
  cancel?(reason?: unknown): void | Promise<void>;
}
declare class ReadableStream<R = unknown> {
  constructor(source?: UnderlyingDefaultSource<R>, strategy?: { highWaterMark?: number });
  getReader(): ReadableStreamDefaultReader<R>;
  cancel(reason?: unknown): Promise<void>;
  readonly locked: boolean;
}
declare class Blob {
  constructor(parts?: readonly (Uint8Array | string | Blob)[], options?: { type?: string });
  readonly size: number;
  readonly type: string;
  stream(): ReadableStream<Uint8Array>;
  arrayBuffer(): Promise<ArrayBuffer>;
  slice(start?: number, end?: number, contentType?: string): Blob;
}
interface AbortSignal {
  readonly aborted: boolean;
  readonly reason: unknown;
  addEventListener(type: 'abort', listener: () => void, options?: { once?: boolean }): void;
  removeEventListener(type: 'abort', listener: () => void): void;
}
declare function queueMicrotask(callback: () => void): void;
declare function setTimeout(callback: () => void, ms?: number): unknown;
declare function clearTimeout(handle: unknown): void;
declare const console: { log(...a: unknown[]): void; warn(...a: unknown[]): void; error(...a: unknown[]): void };
declare const performance: { now(): number };
