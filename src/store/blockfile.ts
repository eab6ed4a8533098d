/**
 * `BlockFile`: the synchronous file the durable store runs on, and a memory
 * implementation that injects the faults real storage has.
 *
 * Implementations: memory (here, for tests), Node `fs` (`server/fs-blockfile.ts`), OPFS
 * `FileSystemSyncAccessHandle` (worker/). The contract suite in `blockfile-contract.ts` runs over
 * each of them.
 */
import { JazzError } from '../util/errors.ts';
import { mulberry32 } from '../util/random.ts';

/**
 * A byte-addressed file with synchronous I/O.
 *
 * Contract, for every implementation:
 * - `read(offset, into)` copies up to `into.length` bytes starting at `offset` and returns how many
 *   it copied: fewer only at the end of the file (0 at or past the end). Bytes of `into` past the
 *   count are left untouched.
 * - `write(offset, bytes)` writes every byte or throws; writing past the end extends the file and
 *   any gap reads as zeros. A write that throws may have written a part of its bytes (a torn or
 *   short write), never anything outside `[offset, offset + bytes.length)`.
 * - `flush()` is the durability barrier: when it returns, every write and truncate made before it
 *   survives a crash or power loss. Writes not yet flushed may survive whole, in part (torn at
 *   sector granularity), or not at all, in any order. Bytes outside a write's range are never
 *   damaged by it ("powersafe overwrite").
 * - `size()` is the current length in bytes, including unflushed writes.
 * - `truncate(size)` sets the length (shrinking or zero-extending); durable after `flush()`.
 * - `close()` releases the file (and any lock it holds). Further use throws.
 * - Failures are `JazzError`s: `STORAGE_QUOTA` when the disk or browser quota is full,
 *   `STORAGE_IO` for every other I/O failure, `STORAGE_LOCKED` when opening a file another
 *   process or tab holds.
 */
export interface BlockFile {
  read(offset: number, into: Uint8Array): number;
  write(offset: number, bytes: Uint8Array): void;
  size(): number;
  truncate(size: number): void;
  flush(): void;
  close(): void;
}

/** What happens at a crash to writes made since the last `flush()`. */
export type UnflushedFate =
  /** None of them survives. */
  | 'drop'
  /** All of them survive whole (the write in progress at the crash is torn). */
  | 'keep'
  /** A prefix of them survives, the next one torn, the rest lost (an in-order disk). */
  | 'torn'
  /** Each survives whole, torn or not at all, applied in a random order (a reordering disk). */
  | 'reorder';

export interface FaultOptions {
  /** Seeds every random choice; the same seed and workload give the same image. */
  seed?: number;
  /** The 1-based index, counted over every file sharing these faults, of the write that crashes. */
  crashAtWrite?: number;
  /** Torn writes keep or lose whole sectors of this size (512 B or 4 KiB). Default 512. */
  sectorSize?: number;
  /** Default 'drop'. */
  unflushed?: UnflushedFate;
  /** Every N-th operation (read, write, flush or truncate, over all files) throws `STORAGE_IO`. */
  ioErrorEvery?: number;
  /** Total bytes the files sharing these faults may occupy; a write growing past it fails. */
  quotaBytes?: number;
  /** 'throw': the failing write writes nothing. 'short': it writes what fits, then throws. */
  quotaMode?: 'throw' | 'short';
}

/**
 * Fault injection shared by a set of `MemoryBlockFile`s (a data file and its WAL crash together).
 * Every field may be changed between operations, e.g. to arm a crash after setting up a database.
 */
export class Faults {
  seed: number;
  crashAtWrite: number | undefined;
  sectorSize: number;
  unflushed: UnflushedFate;
  ioErrorEvery: number | undefined;
  quotaBytes: number | undefined;
  quotaMode: 'throw' | 'short';
  /** Writes so far, over every file. */
  writes = 0;
  /** Operations so far (read, write, flush, truncate), over every file. */
  ops = 0;
  /** True once the crash write happened: every later operation throws. */
  crashed = false;
  readonly #files = new Set<MemoryBlockFile>();
  readonly random: () => number;

  constructor(options: FaultOptions = {}) {
    this.seed = options.seed ?? 1;
    this.crashAtWrite = options.crashAtWrite;
    this.sectorSize = options.sectorSize ?? 512;
    this.unflushed = options.unflushed ?? 'drop';
    this.ioErrorEvery = options.ioErrorEvery;
    this.quotaBytes = options.quotaBytes;
    this.quotaMode = options.quotaMode ?? 'throw';
    this.random = mulberry32(this.seed);
  }

  /** @internal */
  attach(file: MemoryBlockFile): void {
    this.#files.add(file);
  }

  /** @internal */
  detach(file: MemoryBlockFile): void {
    this.#files.delete(file);
  }

  /** Bytes used by every attached file. */
  used(): number {
    let n = 0;
    for (const f of this.#files) n += f.size();
    return n;
  }

  /** @internal Counts an operation; throws the injected I/O error or the post-crash error. */
  operation(kind: string): void {
    if (this.crashed) throw crashError();
    this.ops++;
    if (this.ioErrorEvery !== undefined && this.ops % this.ioErrorEvery === 0) {
      throw new JazzError('STORAGE_IO', `Injected I/O error on ${kind} (operation ${this.ops}).`, {
        injected: true,
        op: this.ops,
      });
    }
  }
}

type Pending = { kind: 'write'; offset: number; bytes: Uint8Array; crashing?: boolean } | { kind: 'truncate'; size: number };

/**
 * A `BlockFile` in memory. Alone it is a plain, fault-free file. With a `Faults` it can crash at
 * a chosen write, tear writes at sector granularity, and fail with I/O or quota errors; after a
 * crash, `crashImage()` gives the bytes that survive, to reopen with `MemoryBlockFile.fromImage`.
 */
export class MemoryBlockFile implements BlockFile {
  #data: Uint8Array;
  #size: number;
  /** The bytes as of the last flush: what survives a crash for certain. */
  #durable: Img;
  #pending: Pending[] = [];
  #closed = false;
  readonly faults: Faults | undefined;

  constructor(faults?: Faults, image?: Uint8Array) {
    this.faults = faults;
    const init = image ?? new Uint8Array(0);
    this.#data = new Uint8Array(Math.max(4096, init.length));
    this.#data.set(init);
    this.#size = init.length;
    this.#durable = { data: new Uint8Array(Math.max(4096, init.length)), size: init.length };
    this.#durable.data.set(init);
    faults?.attach(this);
  }

  /** A file whose durable content is `image` (e.g. a `crashImage()`), optionally with new faults. */
  static fromImage(image: Uint8Array, faults?: Faults): MemoryBlockFile {
    return new MemoryBlockFile(faults, image);
  }

  read(offset: number, into: Uint8Array): number {
    this.#check();
    this.faults?.operation('read');
    if (offset >= this.#size) return 0;
    const n = Math.min(into.length, this.#size - offset);
    into.set(this.#data.subarray(offset, offset + n));
    return n;
  }

  write(offset: number, bytes: Uint8Array): void {
    this.#check();
    const faults = this.faults;
    if (faults) {
      faults.operation('write');
      faults.writes++;
      if (faults.crashAtWrite !== undefined && faults.writes === faults.crashAtWrite) {
        faults.crashed = true;
        // The write in progress at the crash: it may reach the disk in part.
        this.#pending.push({ kind: 'write', offset, bytes: bytes.slice(), crashing: true });
        throw crashError();
      }
      if (faults.quotaBytes !== undefined) {
        const growth = Math.max(0, offset + bytes.length - this.#size);
        const room = faults.quotaBytes - faults.used();
        if (growth > room) {
          if (faults.quotaMode === 'short') {
            const fits = Math.max(0, this.#size + Math.max(0, room) - offset);
            if (fits > 0) this.#apply(offset, bytes.subarray(0, Math.min(fits, bytes.length)));
          }
          throw new JazzError('STORAGE_QUOTA', 'The storage quota is full (injected). Free some space or ask the browser for more, then reopen the database.', { injected: true });
        }
      }
    }
    this.#apply(offset, bytes);
  }

  #apply(offset: number, bytes: Uint8Array): void {
    const end = offset + bytes.length;
    this.#ensure(end);
    this.#data.set(bytes, offset);
    if (end > this.#size) this.#size = end;
    this.#pending.push({ kind: 'write', offset, bytes: bytes.slice() });
  }

  size(): number {
    this.#check();
    return this.#size;
  }

  truncate(size: number): void {
    this.#check();
    this.faults?.operation('truncate');
    this.#ensure(size);
    if (size < this.#size) this.#data.fill(0, size, this.#size);
    this.#size = size;
    this.#pending.push({ kind: 'truncate', size });
  }

  flush(): void {
    this.#check();
    this.faults?.operation('flush');
    for (const p of this.#pending) applyTo(this.#durable, p);
    this.#pending = [];
  }

  close(): void {
    this.#closed = true;
    this.faults?.detach(this);
  }

  /** The durable bytes plus whatever the fault model lets survive of the unflushed writes. */
  crashImage(): Uint8Array {
    const image: Img = { data: this.#durable.data.slice(0, Math.max(this.#durable.size, 1)), size: this.#durable.size };
    const faults = this.faults;
    const fate = faults?.unflushed ?? 'drop';
    const rnd = faults?.random ?? Math.random;
    const sector = faults?.sectorSize ?? 512;
    const pending = this.#pending;
    if (fate === 'keep') {
      for (const p of pending) {
        if (p.kind === 'write' && p.crashing) applyTorn(image, p, sector, rnd);
        else applyTo(image, p);
      }
    } else if (fate === 'torn') {
      const keep = Math.floor(rnd() * (pending.length + 1));
      for (let i = 0; i < keep; i++) applyTo(image, pending[i]!);
      const next = pending[keep];
      if (next) {
        if (next.kind === 'write') applyTorn(image, next, sector, rnd);
        else applyTo(image, next);
      }
    } else if (fate === 'reorder') {
      const order = pending.map((_, i) => i);
      for (let i = order.length - 1; i > 0; i--) {
        const j = Math.floor(rnd() * (i + 1));
        [order[i], order[j]] = [order[j]!, order[i]!];
      }
      for (const i of order) {
        const p = pending[i]!;
        const r = rnd();
        if (r < 0.35) continue;
        if (p.kind === 'write' && r < 0.7) applyTorn(image, p, sector, rnd);
        else applyTo(image, p);
      }
    }
    return image.data.slice(0, image.size);
  }

  /** The bytes as they are now, flushed or not (for tests that corrupt files on purpose). */
  snapshot(): Uint8Array {
    return this.#data.slice(0, this.#size);
  }

  #ensure(n: number): void {
    if (n <= this.#data.length) return;
    const grown = new Uint8Array(Math.max(n, this.#data.length * 2));
    grown.set(this.#data.subarray(0, this.#size));
    this.#data = grown;
  }

  #check(): void {
    if (this.#closed) throw new JazzError('STORAGE_IO', 'This file is closed.');
  }
}

interface Img {
  data: Uint8Array;
  size: number;
}

function applyTo(img: Img, p: Pending): void {
  if (p.kind === 'truncate') {
    grow(img, p.size);
    if (p.size < img.size) img.data.fill(0, p.size, img.size);
    img.size = p.size;
    return;
  }
  const end = p.offset + p.bytes.length;
  grow(img, end);
  img.data.set(p.bytes, p.offset);
  if (end > img.size) img.size = end;
}

/** Applies a random subset of the write's sectors (absolute sector boundaries). */
function applyTorn(img: Img, p: { offset: number; bytes: Uint8Array }, sector: number, rnd: () => number): void {
  const start = p.offset;
  const end = start + p.bytes.length;
  for (let s = Math.floor(start / sector) * sector; s < end; s += sector) {
    if (rnd() < 0.5) continue;
    const a = Math.max(s, start);
    const b = Math.min(s + sector, end);
    grow(img, b);
    img.data.set(p.bytes.subarray(a - start, b - start), a);
    if (b > img.size) img.size = b;
  }
}

function grow(img: Img, n: number): void {
  if (n <= img.data.length) return;
  const grown = new Uint8Array(Math.max(n, img.data.length * 2));
  grown.set(img.data.subarray(0, img.size));
  img.data = grown;
}

function crashError(): JazzError {
  return new JazzError('STORAGE_IO', 'Simulated crash: the storage is gone until it is reopened.', { crash: true });
}
