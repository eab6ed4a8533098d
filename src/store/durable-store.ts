/**
 * The durable `KvStore`: a copy-on-write B+tree in a data file, a write-ahead log in a second file,
 * and A/B superblocks (issue 3).
 *
 * ## Files
 *
 * Data file: pages of `pageSize` bytes (4 KiB default, fixed at creation). Pages 0 and 1 hold
 * superblocks A and B (superblock.ts); every other page is a B+tree leaf or branch, an overflow
 * page of a large value, or a free-list page (btree.ts, pager.ts), each with a CRC-32C of its
 * content seeded with its page number.
 *
 * WAL file: records (wal.ts) `[magic, salt, seq, length, chained CRC-32C][ops]`, one per commit.
 *
 * ## Writing
 *
 * Each put or delete of a transaction is appended to its WAL record as it is made (the record
 * copies the bytes, so callers may reuse their buffers) and waits there. Committed writes keep
 * waiting (`#held`) until a scan, a point read of one of their keys (`#waitingKeys`: a read of
 * any other key reads the tree as it is), a checkpoint, `APPLY_AFTER_MS` without a commit, or
 * `HOLD_WRITES` / `HOLD_BYTES` (`APPLY_BIG_AFTER_MS` after the commit that passes them, so that
 * its live query deliveries, its WAL flush and the page taking them come first; at once if they
 * were passed before it, so a loop of commits holds at most the limits and one transaction); so
 * every read sees every write, the open transaction's included.
 * Then they go into the tree together: sorted by key (`applyWaiting`, `sort-keys.ts`), or as
 * written when they are one small transaction's (`#applyInOrder`). A bulk load reaches the tree as
 * sorted runs, where each leaf is reached from the one before instead of by a descent per key
 * and, once the tree outgrows the cache, read once per run instead of once per key. Measured
 * (`npm run bench -- revisions 50abd17`, Node files, alternating): bulk loads of 100k and 300k
 * rows ~17–20% faster. And a write's live query deliveries and WAL flush (microtasks after the
 * commit) no longer wait for its tree writes: in Chromium, a transaction of 20 updates under 20
 * live queries went from 12.3–12.5 to 6.1–7.0 ms (p50) and one update from 1.6–1.9 to 1.3 ms
 * (`bench/browser.ts`, alternating with the code before; together with the live windows' idle
 * prefetch, `src/query/ivm/take.ts`, without which their walks put the writes in first). The tree
 * keeps an undo list of the open transaction's writes it received, for `rollback()`, which drops
 * the ones still waiting.
 *
 * `commit()` queues the record. Every record committed in the same tick is written with one
 * `write` and made durable with one `flush` in a microtask (group commit), and that flush resolves
 * the commits' promises: tier `local`.
 *
 * Pages changed since the last checkpoint live in the cache (a dirty page is always a newly
 * allocated one: copy-on-write), or have been written early to their own slot when evicted.
 * A checkpoint (when the WAL passes `checkpointWalBytes`, when the store has been idle, and on
 * close) writes the dirty pages and
 * the new free list, flushes, writes superblock generation g + 1 into slot (g + 1) % 2 naming the
 * new root and a new WAL salt, flushes again, and then starts the WAL over at offset 0 (records of
 * the old epoch carry the old salt and are never replayed).
 *
 * ## Recovery (open)
 *
 * 1. Read both superblocks; the valid one (magic, version, CRC) with the highest generation wins.
 *    Both invalid: `STORAGE_CORRUPT` (never a silently empty database); not our format or a newer
 *    version: `STORAGE_FORMAT`. (A file holding nothing but zeros in both slots, with an empty WAL,
 *    is a creation that crashed before its first flush and is created anew.)
 * 2. Replay the WAL records after the superblock's position with its salt, in sequence, stopping at
 *    the first torn or bad record; then truncate the WAL there, so a record that was never
 *    acknowledged cannot come back after later commits overwrite the ones before it.
 * 3. Nothing else: pages, the free list and overflow values are read when first needed, so opening
 *    costs two superblock reads plus the WAL tail (P5).
 *
 * ## Why a crash at any moment is safe
 *
 * - Writes waiting for the tree are in the WAL like any other (a commit's record holds them all);
 *   the tree in memory receives them before a checkpoint writes it, so no checkpoint drops them.
 * - A commit is acknowledged only after its WAL record is flushed; replay reapplies it onto the
 *   tree of the durable superblock, and records are applied whole or not at all (CRC per record,
 *   stop at the first bad one), so the recovered state is always a prefix of the commits that
 *   contains every acknowledged one.
 * - The durable superblock's tree is never overwritten: changed pages are copied to pages no
 *   durable superblock reaches, and freed pages wait until two checkpoints later, so the previous
 *   superblock's tree survives too (the fallback when the newest superblock is damaged).
 * - The superblock is written only after the pages it names are flushed, into the slot not holding
 *   the current one, and is itself flushed before the WAL is recycled. A torn superblock fails its
 *   CRC and the other slot wins; its WAL records carry the old salt, which still matches.
 * - Any write or flush failure in the commit path or after the superblock write stops the store
 *   (every call then throws the error, telling the user to reopen): memory may hold commits that
 *   did not reach the disk, and reopening recovers exactly what did. A failure before the
 *   superblock write (e.g. quota during a checkpoint's page writes) changes nothing durable: the
 *   checkpoint is retried later and `close()` reports it.
 */
import { JazzError } from '../util/errors.ts';
import type { BlockFile } from './blockfile.ts';
import { BTree, decodePage, isOverflow, streamHash, type Overflow, type Position, type StoredValue } from './btree.ts';
import { Pager, corrupt, type PreparedCheckpoint } from './pager.ts';
import { SUPERBLOCK_BYTES, FORMAT_VERSION, decodeSuperblock, encodeSuperblock, isValidPageSize, type Superblock, type SuperblockRead } from './superblock.ts';
import { compareBytes as compareKeys, type KeyRange, type KvEntry, type KvStore, type KvTransaction } from './types.ts';
import { sortKeys } from './sort-keys.ts';
import { WalRecord, decodeOps, replay, sealRecords, type WalCursor } from './wal.ts';

export interface DurableStoreOptions {
  /** The data file (pages). */
  data: BlockFile;
  /** The write-ahead log file. */
  wal: BlockFile;
  /** Page size for a new file (a power of two, 512 B..64 KiB). Default 4 KiB; an existing file keeps its own. */
  pageSize?: number;
  /** Page cache budget in bytes. Default 32 MiB. */
  cacheBytes?: number;
  /**
   * Checkpoint once the WAL holds this many bytes. Default 32 MiB: a checkpoint rewrites every
   * page changed since the last one, and pages of randomly ordered indexes change again between
   * any two, so fewer checkpoints write fewer bytes (a 100k-row load on 16 KiB pages: 272 MiB
   * written at 8 MiB, 182 MiB at 32 MiB). The price is replaying up to this much WAL when opening
   * after a crash.
   */
  checkpointWalBytes?: number;
  /**
   * After this many milliseconds without a commit, write the pages changed since the last
   * checkpoint back to the file, a slice of `IDLE_SLICE_PAGES` at a time between other work, then
   * checkpoint. Default 500. Without it, the pages a burst of writes changed stay dirty in the
   * cache until the WAL reaches `checkpointWalBytes`: the reads after the burst then write them
   * out one by one as they evict them (measured on a 3,000-row range read after a 100k-row load:
   * 29% of its time), and a reopen after a crash replays that WAL. `Infinity`: never.
   */
  idleCheckpointMs?: number;
}

/** What `checkIntegrity()` verified. */
export interface IntegrityReport {
  readonly entries: number;
  readonly pageCount: number;
  readonly treePages: number;
  readonly generation: number;
  readonly durableEntries: number;
}

/** The durable store, with its extra operations for tests and tools. */
export interface DurableStore extends KvStore {
  /**
   * Verifies the current tree (order, bounds, depth, checksums of every page read), the durable
   * superblock's tree, the previous superblock's tree, and that every page is accounted for exactly
   * once (tree, free, pending or free-list page). Throws `STORAGE_CORRUPT` describing the first fault.
   */
  checkIntegrity(): IntegrityReport;
  /** Runs a checkpoint now (waits for no timer). */
  checkpoint(): Promise<void>;
  /** Figures for tests and benchmarks. */
  /** `cacheBytes`: the page cache's budget (the option rounded to whole pages, at least 16). */
  stats(): { generation: number; pageCount: number; cachedPages: number; dirtyPages: number; walBytes: number; pageSize: number; cacheBytes: number };
}

/**
 * 4 KiB, like SQLite's default. Measured in Chromium on OPFS at 100k rows (`npm run bench --
 * browser`, three runs each): against 16 KiB pages, a durable single-row update (P3) took
 * p50 1.5–1.7 / p95 4.6–6.7 ms instead of 2.4–3.1 / 8.3–9.3 ms, and one transaction touching 20
 * live queries p50 13–20 / p95 21–32 ms instead of 22–24 / 41–94 ms: a random update copies,
 * checksums and writes a quarter of the bytes per changed page, and the same cache holds four
 * times the pages. Bulk load, point reads and live updates measured the same; a file's large
 * parts take four times the overflow pages. Keys are bounded by a third of a page (~1.3 KiB;
 * the engine's are at most `MAX_ENGINE_KEY_BYTES`). An existing file keeps its own page size.
 */
const DEFAULT_PAGE_SIZE = 4096;
const DEFAULT_CACHE_BYTES = 32 * 1024 * 1024;
const DEFAULT_CHECKPOINT_WAL_BYTES = 32 * 1024 * 1024;
const DEFAULT_IDLE_CHECKPOINT_MS = 500;
/** Dirty pages written per step of an idle checkpoint (~1 ms of work on OPFS), so a call that comes meanwhile waits little. */
const IDLE_SLICE_PAGES = 64;
/**
 * Committed writes held back from the tree until a read needs them or this many wait, so a run of
 * writing transactions (a bulk load) reaches the tree sorted together.
 */
const HOLD_WRITES = 32_768;
/** ... or once their records take this many bytes (large values, such as a file's parts). */
const HOLD_BYTES = 8 * 1024 * 1024;
/**
 * A read inside a transaction with fewer writes than this, when nothing else is held, puts them into
 * the tree in the order written: see `#applyInOrder`. Larger ones (bulk writes) are sorted.
 */
const SMALL_WRITES = 1024;
/** Committed writes go into the tree once no commit came for this long (or a read needs them). */
const APPLY_AFTER_MS = 5;
/**
 * ... and this long after the commit that takes them past the hold limits, so that the page takes
 * that commit's (big) live query results first. `npm run bench -- list` (10,000 rows inserted in
 * one batch under one list, two cores): applied inside the commit, a virtual list showed them
 * after 316–405 ms, applied after the deliveries after 214–339 ms. Applied in the next task
 * (0 ms), the ~110 ms of tree writes ran beside the page taking the result, and a plain list's
 * tasks went over 50 ms in 4 of 6 inserts (58–130 ms); at 50 ms in 3 of 12 (59–80 ms), against 1
 * of 15 (51 ms) inside the commit: the cost of the virtual list's 100 ms, on two cores.
 */
const APPLY_BIG_AFTER_MS = 50;
/**
 * The most waiting writes whose keys are tracked (`#waitingKeys`): a bulk write's (a 1,000-row
 * batch makes ~12,000) would only fill a set (up to `HOLD_WRITES` entries) that its next read
 * rarely needs; the small transactions of live updates are far below it.
 */
const TRACKED_KEYS = 4096;

/** Opens (or creates, when the data file is empty) the durable store on two block files. */
export function openDurableStore(options: DurableStoreOptions): DurableStore {
  return new Store(options);
}

interface Waiter {
  resolve(): void;
  reject(e: unknown): void;
}

class Store implements DurableStore {
  readonly persistent = true;
  get maxKeyBytes(): number {
    return this.#tree.maxKey;
  }
  readonly #data: BlockFile;
  readonly #wal: BlockFile;
  readonly #pageSize: number;
  readonly #pager: Pager;
  readonly #tree: BTree;
  readonly #checkpointWalBytes: number;
  #sb: Superblock;
  #walCursor: WalCursor;
  /** WAL bytes durable on disk (records past it are pending). */
  #walDurable: number;

  /** Records of commits not yet written to the WAL, in commit order. */
  #pending: WalRecord[] = [];
  #waiters: Waiter[] = [];
  #flushScheduled = false;
  #txn: Txn | undefined;
  #closed = false;
  #failure: JazzError | undefined;
  #checkpointDue = false;
  #checkpointTimer = false;
  /** Don't retry a failed checkpoint before the WAL reaches this size. */
  #checkpointRetryAt = 0;
  readonly #idleMs: number;
  /** `performance.now()` at the last commit. */
  #lastCommit = 0;
  /** The idle checkpoint's timer, while one is set. */
  #idleTimer: ReturnType<typeof setTimeout> | undefined;
  /**
   * Writes of committed transactions not yet in the tree (their WAL records' bytes and, per write,
   * key offset and length, value offset and length or -1 for a delete, and its stream for `put`), in
   * commit order.
   */
  #held: { buf: Uint8Array; st: number[]; hints: number[] }[] = [];
  /** The bytes of `#held`'s records (values included). */
  #heldBytes = 0;
  /** Writes not yet in the tree: `#held`'s and the open transaction's. */
  #waiting = 0;
  /**
   * A hash of the key of every write not yet in the tree (`keyHash`; a few stale ones after a
   * rollback): a point read of any other key reads the tree as it is, without putting them in.
   * Undefined once more than `TRACKED_KEYS` wait (a bulk write): then every point read puts them in.
   */
  #waitingKeys: Set<number> | undefined = new Set<number>();
  /** The timer that puts committed writes into the tree after the last commit (`APPLY_AFTER_MS`). */
  #applyTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(options: DurableStoreOptions) {
    this.#data = options.data;
    this.#wal = options.wal;
    this.#checkpointWalBytes = options.checkpointWalBytes ?? DEFAULT_CHECKPOINT_WAL_BYTES;
    const idle = options.idleCheckpointMs ?? DEFAULT_IDLE_CHECKPOINT_MS;
    if (typeof idle !== 'number' || !(idle >= 0)) {
      throw new JazzError('OPTION_INVALID', `idleCheckpointMs must be a number of milliseconds, 0 or more (Infinity: never), got ${String(idle)}.`);
    }
    this.#idleMs = idle;
    const sb = boundary(() => this.#openSuperblock(options.pageSize ?? DEFAULT_PAGE_SIZE));
    this.#sb = sb;
    this.#pageSize = sb.pageSize;
    this.#pager = new Pager(
      this.#data,
      sb.pageSize,
      options.cacheBytes ?? DEFAULT_CACHE_BYTES,
      sb.pageCount,
      { head: sb.freeHead, freeCount: sb.freeCount, pendingCount: sb.pendingCount },
      decodePage,
    );
    this.#tree = new BTree(this.#pager, sb.root);
    // Replay the WAL after the superblock.
    const { payloads, cursor } = boundary(() => replay(this.#wal, sb.walSalt, sb.walStart, sb.walSeq));
    boundary(() => {
      for (const payload of payloads) {
        decodeOps(payload, (key, value) => {
          const old = value === null ? this.#tree.delete(key) : this.#tree.put(key, this.#store(key, value));
          if (old !== undefined && isOverflow(old)) this.#tree.freeOverflow(old);
        });
      }
      this.#pager.evict();
      if (this.#wal.size() > cursor.offset) {
        this.#wal.truncate(cursor.offset);
        this.#wal.flush();
      }
    });
    this.#walCursor = cursor;
    this.#walDurable = cursor.offset;
  }

  #openSuperblock(newPageSize: number): Superblock {
    const dataSize = this.#data.size();
    if (dataSize === 0) return this.#create(newPageSize);
    const reads: SuperblockRead[] = [];
    const a = readSlot(this.#data, 0);
    reads.push(a);
    const candidates: Superblock[] = [];
    if (a.ok) {
      candidates.push(a.superblock);
      const b = readSlot(this.#data, a.superblock.pageSize);
      reads.push(b);
      if (b.ok && b.superblock.pageSize === a.superblock.pageSize) candidates.push(b.superblock);
    } else {
      // Slot A is unreadable, so its page size is unknown: look for B at every possible size.
      for (let size = 512; size <= 65536; size *= 2) {
        const b = readSlot(this.#data, size);
        reads.push(b);
        if (b.ok && b.superblock.pageSize === size) candidates.push(b.superblock);
      }
    }
    if (candidates.length > 0) {
      candidates.sort((x, y) => y.generation - x.generation);
      return candidates[0]!;
    }
    const newer = reads.find((r) => !r.ok && r.reason === 'version');
    if (newer && !newer.ok) {
      throw new JazzError(
        'STORAGE_FORMAT',
        `The database file has storage format version ${newer.version}; this version of jazz-elements reads version ${FORMAT_VERSION}. Open it with a matching version of jazz-elements.`,
        { version: newer.version, supported: FORMAT_VERSION },
      );
    }
    if (reads.every((r) => !r.ok && r.reason === 'empty') && dataSize <= SUPERBLOCK_BYTES && this.#wal.size() === 0) {
      return this.#create(newPageSize); // a creation that never completed its first flush
    }
    if (!a.ok && a.reason === 'magic' && reads.every((r) => !r.ok && (r.reason === 'magic' || r.reason === 'empty'))) {
      throw new JazzError('STORAGE_FORMAT', 'This file is not a jazz-elements database. Check the path, or move the file away to create a new database there.');
    }
    throw corrupt('both superblocks are damaged', { reasons: reads.map((r) => (r.ok ? 'ok' : r.reason)) });
  }

  #create(pageSize: number): Superblock {
    if (!isValidPageSize(pageSize)) {
      throw new JazzError('STORAGE_FORMAT', `Page size ${pageSize} is not allowed: use a power of two from 512 to 65536.`);
    }
    const sb: Superblock = {
      generation: 1,
      pageSize,
      root: 0,
      pageCount: 2,
      freeHead: 0,
      freeCount: 0,
      pendingCount: 0,
      walSalt: randomSalt(),
      walStart: 0,
      walSeq: 1,
    };
    // A stale WAL (of a deleted data file) carries another salt, but drop it anyway.
    if (this.#wal.size() > 0) {
      this.#wal.truncate(0);
      this.#wal.flush();
    }
    this.#data.write(0, encodeSuperblock(sb));
    this.#data.flush();
    return sb;
  }

  // ---- reads ----

  get(key: Uint8Array): Uint8Array | undefined {
    this.#usable();
    if (this.#waiting > 0 && (this.#waitingKeys === undefined || this.#waitingKeys.has(keyHash(key)))) this.applyWaiting();
    try {
      const v = this.#tree.get(key);
      return v === undefined ? undefined : this.#tree.readValue(v);
    } finally {
      this.#pager.evict();
    }
  }

  scan(range: KeyRange = {}): IterableIterator<KvEntry> {
    this.#usable();
    if (this.#waiting > 0) this.applyWaiting();
    return new Cursor(this, this.#tree, range);
  }

  estimate(range: KeyRange = {}): number {
    this.#usable();
    if (this.#waiting > 0) this.applyWaiting();
    try {
      const tree = this.#tree;
      const from = seekFirst(tree, range);
      if (from === undefined) return 0;
      const to = range.lt ? tree.seek('ge', range.lt) : range.lte ? tree.seek('gt', range.lte) : undefined;
      return tree.estimate(from, to);
    } finally {
      this.#pager.evict();
    }
  }

  /** @internal */
  usable(): void {
    this.#usable();
    if (this.#waiting > 0) this.applyWaiting();
  }

  /** @internal */
  afterRead(): void {
    this.#pager.evict();
  }

  // ---- transactions ----

  transaction(): KvTransaction {
    this.#usable();
    if (this.#txn) throw new Error('A transaction is already open: commit or roll it back before starting another.');
    // A due checkpoint runs here too, not only from its timer: a writer that awaits each commit in
    // a tight loop never lets timers fire, and the WAL would grow without bound.
    if (this.#checkpointDue && this.#pending.length === 0 && this.#waiters.length === 0) {
      try {
        this.#checkpoint();
      } catch {
        // Retried after more WAL, and by close(), which reports its failure.
      }
      this.#usable();
    }
    const txn = new Txn(this);
    this.#txn = txn;
    return txn;
  }

  /** @internal */
  txPut(txn: Txn, key: Uint8Array, value: Uint8Array, stream: number): void {
    this.#active(txn);
    if (key.length > this.#tree.maxKey) {
      throw new JazzError(
        'TYPE_MISMATCH',
        `A key of ${key.length} bytes is longer than the ${this.#tree.maxKey} bytes a ${this.#pageSize}-byte page allows. Use shorter keys (truncate long indexed values) or a larger page size.`,
        { keyLength: key.length, maxKey: this.#tree.maxKey },
      );
    }
    if (value.length > 0x7fff_ffff) {
      throw new JazzError('TYPE_MISMATCH', `A value of ${value.length} bytes is larger than the 2 GiB a value may hold.`);
    }
    // Staged in the WAL record (which copies the bytes: the caller may reuse its buffers); the
    // tree receives it sorted, before the next read or with later commits' writes (`applyWaiting`).
    const rec = txn.record;
    const at = rec.add(key, value);
    txn.staged.push(at, key.length, rec.len - value.length, value.length);
    txn.hints.push(stream);
    this.#waiting++;
    this.#track(key);
  }

  /** Once nothing waits, starts noting keys afresh (`#waitingKeys`). */
  #noneWaiting(): void {
    if (this.#waiting === 0) this.#waitingKeys = new Set();
  }

  /** Notes a waiting write's key (`#waitingKeys`), or stops noting them past `TRACKED_KEYS`. */
  #track(key: Uint8Array): void {
    const keys = this.#waitingKeys;
    if (keys === undefined) return;
    if (keys.size >= TRACKED_KEYS) this.#waitingKeys = undefined;
    else keys.add(keyHash(key));
  }

  /**
   * @internal Puts every waiting write into the tree, in key order (a key written more than once:
   * in the order written): those of committed transactions (`#held`) and the open one's. Writes
   * land all over the tree (visible rows, the manifest, an entry per indexed value); in key order
   * each leaf is reached from the one before, mostly without a descent, and once the tree outgrows
   * the page cache its pages are read in order and each once per run of keys, not once per key.
   * The open transaction's writes keep their undo entries; committed ones need none.
   */
  applyWaiting(): void {
    if (this.#waiting === 0) return;
    const txn = this.#txn;
    if (this.#held.length === 0 && txn !== undefined && txn.staged.length >> 2 < SMALL_WRITES) {
      this.#applyInOrder(txn.record.buf, txn.staged, txn.hints, txn);
      txn.staged = [];
      txn.hints = [];
      return;
    }
    const only = this.#held[0];
    if (txn === undefined && this.#held.length === 1 && only!.st.length >> 2 < SMALL_WRITES) {
      this.#held = [];
      this.#heldBytes = 0;
      this.#applyInOrder(only!.buf, only!.st, only!.hints, undefined);
      return;
    }
    const groups = this.#held;
    if (txn !== undefined && txn.staged.length > 0) groups.push({ buf: txn.record.buf, st: txn.staged, hints: txn.hints });
    const open = txn !== undefined && txn.staged.length > 0 ? groups.length - 1 : -1;
    const n = this.#waiting;
    // Per write: its group, where it is in the group, and where its key starts and how long it is.
    const group = new Uint32Array(n);
    const op = new Uint32Array(n);
    const keyAt = new Uint32Array(n);
    const keyLen = new Uint32Array(n);
    const bufs: Uint8Array[] = [];
    let k = 0;
    for (let g = 0; g < groups.length; g++) {
      const { buf, st } = groups[g]!;
      bufs.push(buf);
      for (let i = 0; i < st.length; i += 4, k++) {
        group[k] = g;
        op[k] = i;
        keyAt[k] = st[i]!;
        keyLen[k] = st[i + 1]!;
      }
    }
    const order = sortKeys(n, bufs, group, keyAt, keyLen);
    this.#held = [];
    this.#heldBytes = 0;
    this.#waiting = 0;
    this.#noneWaiting();
    if (txn !== undefined) {
      txn.staged = [];
      txn.hints = [];
    }
    this.#mutate(() => {
      for (let j = 0; j < n; j++) {
        const w = order[j]!;
        const g = group[w]!;
        const { buf, st } = groups[g]!;
        this.#applyWrite(buf, st, op[w]!, 0, g === open ? txn : undefined);
        // Between puts, keep the cache within its budget (a long run would overfill it).
        if ((j & 1023) === 1023) this.#pager.evict();
      }
    });
  }

  /**
   * A small transaction's writes (a few rows': fewer than `SMALL_WRITES`, all that waits) go into
   * the tree as they were made, each with its stream's finger, as they did before writes were
   * sorted: sorting them measured no faster, and single-row updates and live queries keep the
   * tree's shape they were tuned on. `txn`: the open transaction (which keeps undo entries), or
   * undefined for a committed one.
   */
  #applyInOrder(buf: Uint8Array, st: number[], hints: number[], txn: Txn | undefined): void {
    this.#waiting -= st.length >> 2;
    this.#noneWaiting();
    this.#mutate(() => {
      for (let i = 0, h = 0; i < st.length; i += 4, h++) this.#applyWrite(buf, st, i, hints[h]!, txn);
    });
  }

  /**
   * Puts write `i` of `st` (key and value in `buf`) into the tree. `txn`: the open transaction,
   * which keeps an undo entry for it; a committed write (undefined) frees a value it replaced at
   * once.
   */
  #applyWrite(buf: Uint8Array, st: number[], i: number, stream: number, txn: Txn | undefined): void {
    const tree = this.#tree;
    const at = st[i]!;
    const key = buf.subarray(at, at + st[i + 1]!);
    const vl = st[i + 3]!;
    let stored: StoredValue | undefined;
    let old: StoredValue | undefined;
    if (vl < 0) old = tree.delete(key);
    else {
      const va = st[i + 2]!;
      stored = this.#store(key, buf.subarray(va, va + vl));
      old = tree.put(key, stored, stream);
    }
    if (txn === undefined) {
      if (old !== undefined && isOverflow(old)) tree.freeOverflow(old);
      return;
    }
    if (stored === undefined && old === undefined) return; // a delete of a missing key
    if (stored !== undefined && isOverflow(stored)) txn.created.push(stored);
    txn.undoKeys.push(at, key.length);
    txn.undoOld.push(old);
    if (old !== undefined && isOverflow(old)) txn.toFree.push(old);
  }

  /** @internal */
  txDelete(txn: Txn, key: Uint8Array): void {
    this.#active(txn);
    if (key.length > this.#tree.maxKey) return; // no such key can exist
    // Whether the tree holds the key is seen when the delete is applied (`applyWaiting`).
    txn.staged.push(txn.record.add(key, null), key.length, 0, -1);
    txn.hints.push(0);
    this.#waiting++;
    this.#track(key);
  }

  /** @internal */
  txCommit(txn: Txn): Promise<void> {
    this.#active(txn);
    this.#txn = undefined;
    txn.done = true;
    let big = false;
    if (txn.staged.length > 0) {
      // Past the hold limits: the writes go in at once if those held before this transaction were
      // past them already (so commits in a loop hold at most the limits and one transaction), else
      // APPLY_BIG_AFTER_MS later, after this one's live query deliveries and WAL flush (a
      // 10,000-row insert waited ~110 ms in Chromium for its own tree writes before its lists
      // changed).
      const pastBefore = this.#waiting - (txn.staged.length >> 2) >= HOLD_WRITES || this.#heldBytes >= HOLD_BYTES;
      this.#held.push({ buf: txn.record.buf, st: txn.staged, hints: txn.hints });
      this.#heldBytes += txn.record.len;
      if (pastBefore) this.applyWaiting();
      else big = this.#waiting >= HOLD_WRITES || this.#heldBytes >= HOLD_BYTES;
    }
    if (this.#held.length > 0) this.#armApply(big ? APPLY_BIG_AFTER_MS : APPLY_AFTER_MS);
    if (txn.record.count === 0) return this.flush();
    this.#mutate(() => {
      for (const ov of txn.toFree) this.#tree.freeOverflow(ov);
    });
    this.#pending.push(txn.record);
    const done = this.#waitForFlush();
    this.#afterTxn();
    this.#lastCommit = performance.now();
    if (this.#idleTimer === undefined && this.#idleMs !== Infinity) this.#armIdle(this.#idleMs);
    return done;
  }

  /** @internal */
  txRollback(txn: Txn): void {
    this.#active(txn);
    this.#waiting -= txn.staged.length >> 2;
    this.#noneWaiting();
    txn.staged = [];
    txn.hints = [];
    this.#txn = undefined;
    if (this.#held.length > 0) this.#armApply();
    txn.done = true;
    this.#mutate(() => {
      const buf = txn.record.buf;
      for (let i = txn.undoOld.length - 1; i >= 0; i--) {
        const at = txn.undoKeys[2 * i]!;
        const k = buf.subarray(at, at + txn.undoKeys[2 * i + 1]!);
        const old = txn.undoOld[i];
        if (old === undefined) this.#tree.delete(k);
        else this.#tree.put(k, old);
      }
      for (const ov of txn.created) this.#tree.freeOverflow(ov);
    });
    this.#afterTxn();
  }

  #afterTxn(): void {
    this.#pager.evict();
    if (this.#checkpointDue) this.#scheduleCheckpoint();
  }

  #store(key: Uint8Array, value: Uint8Array): StoredValue {
    return this.#tree.inline(key.length, value.length) ? value : this.#tree.writeOverflow(value);
  }

  #active(txn: Txn): void {
    this.#usable();
    if (txn.done || this.#txn !== txn) {
      throw new Error('This transaction has already been committed or rolled back.');
    }
  }

  /** Runs a change of the tree; any failure in it stops the store (the tree may be half-changed). */
  #mutate(body: () => void): void {
    try {
      body();
    } catch (e) {
      throw this.#fail(e);
    }
  }

  // ---- group commit ----

  #waitForFlush(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.#waiters.push({ resolve, reject });
      if (!this.#flushScheduled) {
        this.#flushScheduled = true;
        queueMicrotask(() => {
          this.#flushScheduled = false;
          this.#flushWal();
        });
      }
    });
  }

  /** Writes and flushes every pending record, then settles the waiters. Never throws. */
  #flushWal(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    if (this.#failure) {
      for (const w of waiters) w.reject(this.#failure);
      return;
    }
    if (this.#pending.length > 0) {
      const commits = this.#pending;
      this.#pending = [];
      try {
        const buf = sealRecords(this.#walCursor, commits);
        this.#wal.write(this.#walDurable, buf);
        this.#wal.flush();
        this.#walDurable += buf.length;
      } catch (e) {
        const failure = this.#fail(e);
        for (const w of waiters) w.reject(failure);
        return;
      }
    }
    for (const w of waiters) w.resolve();
    if (this.#walDurable >= this.#checkpointWalBytes && this.#walDurable >= this.#checkpointRetryAt) {
      this.#checkpointDue = true;
      this.#scheduleCheckpoint();
    }
  }

  flush(): Promise<void> {
    try {
      this.#usable();
    } catch (e) {
      return Promise.reject(e);
    }
    if (this.#pending.length === 0 && this.#waiters.length === 0) return Promise.resolve();
    return this.#waitForFlush();
  }

  // ---- checkpoints ----

  #scheduleCheckpoint(): void {
    if (this.#checkpointTimer) return;
    this.#checkpointTimer = true;
    setTimeout(() => {
      this.#checkpointTimer = false;
      if (this.#closed || this.#failure || !this.#checkpointDue) return;
      if (this.#txn) return; // runs when the transaction ends
      try {
        this.#checkpoint();
      } catch {
        // Retried after more WAL, and by close(), which reports its failure.
      }
    }, 0);
  }

  /**
   * Puts the held writes into the tree `APPLY_AFTER_MS` after the last commit: after the commit's
   * live query deliveries and WAL flush (microtasks), so neither waits for the tree, and in one sorted
   * run for a burst of commits.
   */
  #armApply(ms = APPLY_AFTER_MS): void {
    if (this.#applyTimer !== undefined) clearTimeout(this.#applyTimer);
    const timer = setTimeout(() => {
      this.#applyTimer = undefined;
      // An open transaction's end arms it again.
      if (this.#closed || this.#failure || this.#txn || this.#waiting === 0) return;
      try {
        this.applyWaiting();
        this.#pager.evict();
      } catch {
        // The store has stopped (#mutate); the next call reports it.
      }
    }, ms);
    (timer as { unref?: () => void }).unref?.();
    this.#applyTimer = timer;
  }

  #armIdle(ms: number): void {
    const timer = setTimeout(() => this.#idle(), ms);
    // In Node, a pending idle checkpoint does not keep the process alive.
    (timer as { unref?: () => void }).unref?.();
    this.#idleTimer = timer;
  }

  /**
   * The idle checkpoint (`idleCheckpointMs`): once no commit came for that long, writes the dirty
   * pages back a slice per step, then checkpoints. A commit in between postpones the rest.
   */
  #idle(): void {
    this.#idleTimer = undefined;
    if (this.#closed || this.#failure) return;
    const quiet = performance.now() - this.#lastCommit;
    if (quiet < this.#idleMs || this.#txn || this.#pending.length > 0 || this.#waiters.length > 0) {
      this.#armIdle(Math.max(this.#idleMs - quiet, 1));
      return;
    }
    try {
      this.applyWaiting();
      if (this.#pager.writeBack(IDLE_SLICE_PAGES)) {
        this.#armIdle(0);
        return;
      }
      if (this.#walDurable > 0 || this.#pager.changed) this.#checkpoint();
    } catch {
      // As for a checkpoint the WAL's size starts: nothing durable changed before the superblock
      // write (a failure after it stops the store); the next commit tries again, close() reports.
    }
  }

  checkpoint(): Promise<void> {
    try {
      this.#usable();
      if (this.#txn) throw new Error('Commit or roll back the open transaction before a checkpoint.');
      this.#checkpoint();
      return Promise.resolve();
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /** The whole checkpoint, synchronously. Requires no open transaction. */
  #checkpoint(): void {
    this.#checkpointDue = false;
    this.#flushWal();
    if (this.#failure) throw this.#failure;
    this.applyWaiting();
    let prepared: PreparedCheckpoint;
    try {
      prepared = this.#pager.prepareCheckpoint();
    } catch (e) {
      // Nothing durable changed: the WAL still holds every commit. Retry after more WAL.
      const error = typed(e);
      this.#checkpointRetryAt = this.#walDurable + this.#checkpointWalBytes;
      if (error.code !== 'STORAGE_QUOTA' && error.code !== 'STORAGE_IO') throw this.#fail(error);
      throw error;
    }
    const generation = this.#sb.generation + 1;
    const sb: Superblock = {
      generation,
      pageSize: this.#pageSize,
      root: this.#tree.root,
      pageCount: prepared.pageCount,
      freeHead: prepared.freeHead,
      freeCount: prepared.freeCount,
      pendingCount: prepared.pendingCount,
      walSalt: randomSalt(this.#sb.walSalt),
      walStart: 0,
      walSeq: 1,
    };
    try {
      this.#data.write((generation % 2) * this.#pageSize, encodeSuperblock(sb));
      this.#data.flush();
    } catch (e) {
      // The superblock may or may not have reached the disk: only a reopen can tell.
      this.#pager.abortCheckpoint(prepared);
      throw this.#fail(e);
    }
    this.#pager.commitCheckpoint(prepared);
    this.#sb = sb;
    this.#walCursor = { offset: 0, seq: 1, crc: sb.walSalt, salt: sb.walSalt };
    this.#walDurable = 0;
    this.#checkpointRetryAt = 0;
  }

  // ---- closing and failure ----

  async close(): Promise<void> {
    if (this.#closed) return;
    if (this.#txn) {
      const txn = this.#txn;
      try {
        this.txRollback(txn);
      } catch {
        // The store has stopped; nothing of this transaction was committed anyway.
      }
    }
    let error: unknown;
    if (!this.#failure) {
      try {
        this.#flushWal();
        if (this.#failure) throw this.#failure;
        if (this.#walDurable > 0 || this.#pager.changed || this.#pager.dirtyPages() > 0) this.#checkpoint();
        if (this.#wal.size() > 0) {
          this.#wal.truncate(0);
          this.#wal.flush();
        }
      } catch (e) {
        error = e;
      }
    }
    this.#closed = true;
    if (this.#idleTimer !== undefined) clearTimeout(this.#idleTimer);
    if (this.#applyTimer !== undefined) clearTimeout(this.#applyTimer);
    this.#idleTimer = undefined;
    for (const w of this.#waiters.splice(0)) w.reject(closedError());
    try {
      this.#data.close();
    } catch {
      // Releasing is best effort; the data is safe either way.
    }
    try {
      this.#wal.close();
    } catch {
      // As above.
    }
    if (error !== undefined) {
      const e = typed(error);
      throw new JazzError(
        e.code,
        `The database was closed, but its final checkpoint failed (${e.message}). Every committed change is safe in the write-ahead log and is recovered when the database is opened again.`,
        { ...e.details, cause: e.message },
      );
    }
  }

  #usable(): void {
    if (this.#closed) throw closedError();
    if (this.#failure) throw this.#failure;
  }

  /** Stops the store after a storage failure; returns the error to throw. */
  #fail(e: unknown): JazzError {
    if (this.#failure) return this.#failure;
    const cause = typed(e);
    this.#failure = new JazzError(cause.code, `${cause.message} The database stopped to protect your data: close it and open it again. Every change that was confirmed as durable is kept.`, {
      ...cause.details,
      cause: cause.message,
    });
    const waiters = this.#waiters.splice(0);
    for (const w of waiters) w.reject(this.#failure);
    return this.#failure;
  }

  // ---- integrity and stats ----

  checkIntegrity(): IntegrityReport {
    this.#usable();
    this.applyWaiting();
    const pager = this.#pager;
    const P = this.#pageSize;
    // 1. The current tree, through the cache.
    const current = BTree.check(this.#tree.root, (id) => pager.get(id), P);
    // 2. Page accounting of the current state.
    const acc = pager.accounting();
    const owner = new Map<number, string>();
    const claim = (id: number, what: string): void => {
      if (id < 2 || id >= pager.pageCount) throw corrupt(`${what} page ${id} is outside the file`, { page: id });
      const prev = owner.get(id);
      if (prev !== undefined) throw corrupt(`page ${id} is both ${prev} and ${what}`, { page: id });
      owner.set(id, what);
    };
    for (const id of current.pages) claim(id, 'in the tree');
    for (const id of acc.available) claim(id, 'free');
    for (const id of acc.freedThis) claim(id, 'freed since the checkpoint');
    for (const id of acc.freedLast) claim(id, 'pending');
    for (const id of acc.flPages) claim(id, 'a free-list page');
    if (owner.size !== pager.pageCount - 2) {
      throw corrupt(`${pager.pageCount - 2 - owner.size} of ${pager.pageCount - 2} pages are unaccounted for`, {});
    }
    for (const id of acc.fresh) {
      if (!current.pages.has(id)) throw corrupt(`fresh page ${id} is not in the tree`, { page: id });
    }
    // 3. The durable superblock's tree and free list, read from the file.
    const sb = this.#sb;
    const fromFile = (id: number) => pager.load(id);
    const durable = BTree.check(sb.root, fromFile, P);
    const fl = pager.readFreeList({ head: sb.freeHead, freeCount: sb.freeCount, pendingCount: sb.pendingCount }, (id) => pager.readRaw(id));
    const seen = new Set<number>();
    for (const id of [...durable.pages, ...fl.entries, ...fl.pages]) {
      if (id < 2 || id >= sb.pageCount || seen.has(id)) throw corrupt(`durable page ${id} is listed twice or outside the file`, { page: id });
      seen.add(id);
    }
    if (seen.size !== sb.pageCount - 2) throw corrupt('the durable superblock does not account for every page', {});
    // 4. The previous superblock's tree must still be whole (it is the fallback).
    const other = readSlot(this.#data, ((sb.generation + 1) % 2) * P);
    if (other.ok && other.superblock.generation === sb.generation - 1) {
      const prev = BTree.check(other.superblock.root, fromFile, P);
      const pending = new Set(fl.entries.slice(sb.freeCount));
      for (const id of prev.pages) {
        if (!durable.pages.has(id) && !pending.has(id)) {
          throw corrupt(`page ${id} of the previous superblock's tree was reused too early`, { page: id });
        }
      }
    }
    pager.evict();
    return {
      entries: current.entries,
      pageCount: pager.pageCount,
      treePages: current.pages.size,
      generation: sb.generation,
      durableEntries: durable.entries,
    };
  }

  stats(): { generation: number; pageCount: number; cachedPages: number; dirtyPages: number; walBytes: number; pageSize: number; cacheBytes: number } {
    return {
      generation: this.#sb.generation,
      pageCount: this.#pager.pageCount,
      cachedPages: this.#pager.cachedPages,
      dirtyPages: this.#pager.dirtyPages(),
      walBytes: this.#walCursor.offset,
      pageSize: this.#pageSize,
      cacheBytes: this.#pager.capacity * this.#pageSize,
    };
  }
}

class Txn implements KvTransaction {
  /** The commit's WAL record, built as it goes. */
  readonly record = new WalRecord();
  /** Writes not yet in the tree: per write, key offset and length, value offset and length (-1: delete). */
  staged: number[] = [];
  /** Per staged write, the `stream` hint it was put with (for `#applyInOrder`). */
  hints: number[] = [];
  /** Per change, in order: the offset and length of its key in `record.buf` ... */
  readonly undoKeys: number[] = [];
  /** ... and the value it replaced (undefined: none). Leaf values are views of cells, which never change. */
  readonly undoOld: (StoredValue | undefined)[] = [];
  /** Overflow chains this transaction replaced: freed on commit. */
  readonly toFree: Overflow[] = [];
  /** Overflow chains this transaction wrote: freed on rollback. */
  readonly created: Overflow[] = [];
  done = false;
  readonly #store: Store;

  constructor(store: Store) {
    this.#store = store;
  }

  put(key: Uint8Array, value: Uint8Array, stream = 12): void {
    this.#store.txPut(this, key, value, stream);
  }

  delete(key: Uint8Array): void {
    this.#store.txDelete(this, key);
  }

  commit(): Promise<void> {
    try {
      return this.#store.txCommit(this);
    } catch (e) {
      return Promise.reject(e);
    }
  }

  rollback(): void {
    this.#store.txRollback(this);
  }
}

/**
 * A scan. It remembers the last key it yielded; when the tree changed since it last moved, it
 * seeks again to the first key past that one, so it sees the current state from there on.
 */
class Cursor implements IterableIterator<KvEntry> {
  readonly #store: Store;
  readonly #tree: BTree;
  readonly #range: KeyRange;
  #pos: Position | undefined;
  #version = -1;
  #last: Uint8Array | undefined;
  #done = false;

  constructor(store: Store, tree: BTree, range: KeyRange) {
    this.#store = store;
    this.#tree = tree;
    this.#range = range;
  }

  [Symbol.iterator](): IterableIterator<KvEntry> {
    return this;
  }

  next(): IteratorResult<KvEntry> {
    this.#store.usable();
    if (this.#done) return { done: true, value: undefined };
    try {
      const tree = this.#tree;
      const r = this.#range;
      const reverse = r.reverse === true;
      let pos: Position | undefined;
      if (this.#pos === undefined || this.#version !== tree.version) {
        if (this.#last !== undefined) pos = tree.seek(reverse ? 'lt' : 'gt', this.#last);
        else if (reverse) pos = r.lte ? tree.seek('le', r.lte) : r.lt ? tree.seek('lt', r.lt) : tree.seek('last');
        else pos = seekFirst(tree, r);
      } else {
        pos = reverse ? tree.prev(this.#pos) : tree.next(this.#pos);
      }
      this.#pos = pos;
      this.#version = tree.version;
      if (pos === undefined) return this.#end();
      const key = pos.leaf.keyAt(pos.idx);
      if (reverse) {
        if (r.gt && compareKeys(key, r.gt) <= 0) return this.#end();
        if (r.gte && compareKeys(key, r.gte) < 0) return this.#end();
      } else {
        if (r.lt && compareKeys(key, r.lt) >= 0) return this.#end();
        if (r.lte && compareKeys(key, r.lte) > 0) return this.#end();
      }
      this.#last = key;
      return { done: false, value: { key, value: tree.readValue(pos.leaf.valAt(pos.idx)) } };
    } finally {
      this.#store.afterRead();
    }
  }

  #end(): IteratorResult<KvEntry> {
    this.#done = true;
    this.#pos = undefined;
    return { done: true, value: undefined };
  }

  return(): IteratorResult<KvEntry> {
    this.#end();
    return { done: true, value: undefined };
  }
}

/** The first entry of `range` in key order (or the one after it when there is none in the range). */
function seekFirst(tree: BTree, range: KeyRange): Position | undefined {
  return range.gte ? tree.seek('ge', range.gte) : range.gt ? tree.seek('gt', range.gt) : tree.seek('first');
}

function readSlot(file: BlockFile, offset: number): SuperblockRead {
  const bytes = new Uint8Array(SUPERBLOCK_BYTES);
  const n = file.read(offset, bytes);
  if (n < SUPERBLOCK_BYTES) return n === 0 ? { ok: false, reason: 'empty' } : decodeSuperblock(bytes);
  return decodeSuperblock(bytes);
}

/** Converts anything thrown at the storage boundary into a typed error. */
function typed(e: unknown): JazzError {
  if (e instanceof JazzError) return e;
  const message = e instanceof Error ? e.message : String(e);
  return new JazzError('STORAGE_IO', `A storage operation failed: ${message}.`, { cause: message });
}

/** Runs an open-time step; errors become typed ones. */
function boundary<T>(body: () => T): T {
  try {
    return body();
  } catch (e) {
    throw typed(e);
  }
}

function closedError(): JazzError {
  return new JazzError('CLOSED', 'The database is closed. Open it again to use it.');
}

function randomSalt(avoid?: number): number {
  const a = new Uint32Array(1);
  do crypto.getRandomValues(a);
  while (a[0] === avoid || a[0] === 0);
  return a[0]!;
}

/** `#waitingKeys`' hash of a whole key (a collision only puts the waiting writes in early). */
function keyHash(key: Uint8Array): number {
  return streamHash(key, key.length);
}
