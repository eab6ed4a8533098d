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
  constructor(label?: string, options?: { fatal?: boolean });
  decode(input?: Uint8Array): string;
}
declare const crypto: { getRandomValues<T extends Uint8Array | Uint32Array>(array: T): T };
declare function queueMicrotask(callback: () => void): void;
declare function setTimeout(callback: () => void, ms?: number): unknown;
declare function clearTimeout(handle: unknown): void;
declare const console: { log(...a: unknown[]): void; warn(...a: unknown[]): void; error(...a: unknown[]): void };
declare const performance: { now(): number };
