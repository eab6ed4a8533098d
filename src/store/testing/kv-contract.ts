/**
 * The contract suite every `KvStore` implementation runs (memory, the durable B+tree over each
 * `BlockFile`). It tests only what `../types.ts` promises, never an implementation's internals:
 *
 *   runKvContract('memory', () => createMemoryStore());
 *   runKvContract('btree on memory file', () => open(file), async (s) => { await s.close(); return open(file); });
 *
 * `open` must return a fresh, empty store for every call. `reopen`, when given, must close the
 * store it receives (as an app would, without awaiting pending commits first) and open the same
 * backing storage again; the persistence tests run only then.
 *
 * The randomised model test prints its seed; replay a failure with `KV_CONTRACT_SEED=<seed>`.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { compareBytes, type KeyRange, type KvStore } from '../types.ts';
import { mulberry32 as prng } from '../../util/random.ts';

export function runKvContract(name: string, open: () => KvStore | Promise<KvStore>, reopen?: (store: KvStore) => Promise<KvStore>): void {
  describe(`KvStore contract: ${name}`, () => {
    const opened: KvStore[] = [];

    async function fresh(): Promise<KvStore> {
      const store = await open();
      opened.push(store);
      return store;
    }

    async function again(store: KvStore): Promise<KvStore> {
      const next = await reopen!(store);
      opened.push(next);
      return next;
    }

    afterEach(async () => {
      for (const store of opened.splice(0)) {
        try {
          await store.close();
        } catch {
          // Already closed by the test; closing twice is not part of the contract.
        }
      }
    });

    describe('single keys', () => {
      it('starts empty', async () => {
        const store = await fresh();
        expect(store.get(s('a'))).toBeUndefined();
        expect(dump(store)).toEqual([]);
        expect(dump(store, { reverse: true })).toEqual([]);
        expect(typeof store.persistent).toBe('boolean');
      });

      it('puts, gets and deletes', async () => {
        const store = await fresh();
        await write(store, (tx) => {
          tx.put(s('a'), s('1'));
          tx.put(s('b'), s('2'));
        });
        expect(str(store.get(s('a')))).toBe('1');
        expect(str(store.get(s('b')))).toBe('2');
        expect(store.get(s('c'))).toBeUndefined();

        await write(store, (tx) => tx.delete(s('a')));
        expect(store.get(s('a'))).toBeUndefined();
        expect(str(store.get(s('b')))).toBe('2');
        expect(dump(store)).toEqual([['62', '32']]);
      });

      it('overwrites, including with longer and shorter values', async () => {
        const store = await fresh();
        await write(store, (tx) => tx.put(s('k'), s('first')));
        await write(store, (tx) => tx.put(s('k'), s('a much longer second value')));
        expect(str(store.get(s('k')))).toBe('a much longer second value');
        await write(store, (tx) => tx.put(s('k'), s('3')));
        expect(str(store.get(s('k')))).toBe('3');
        expect(dump(store)).toHaveLength(1);
      });

      it('deleting a missing key is a no-op', async () => {
        const store = await fresh();
        await write(store, (tx) => tx.put(s('a'), s('1')));
        await write(store, (tx) => {
          tx.delete(s('zz'));
          tx.delete(s('a'));
          tx.delete(s('a'));
        });
        expect(dump(store)).toEqual([]);
      });

      it('keeps empty values apart from missing keys', async () => {
        const store = await fresh();
        await write(store, (tx) => {
          tx.put(s('empty'), new Uint8Array(0));
          tx.put(s('full'), s('x'));
        });
        const v = store.get(s('empty'));
        expect(v).toBeInstanceOf(Uint8Array);
        expect(v!.length).toBe(0);
        expect(dump(store)).toEqual([
          [hex(s('empty')), ''],
          [hex(s('full')), '78'],
        ]);
        await write(store, (tx) => tx.put(s('full'), new Uint8Array(0)));
        expect(store.get(s('full'))!.length).toBe(0);
      });

      it("stores long keys and values (a few KiB; keys up to the store's maxKeyBytes), and refuses a longer key", async () => {
        const store = await fresh();
        // A store may bound its keys (`maxKeyBytes`: a durable store, a third of its page).
        const max = store.maxKeyBytes ?? Infinity;
        const rnd = prng(7);
        const entries: [Uint8Array, Uint8Array][] = [];
        for (let i = 0; i < 40; i++) {
          const key = randomBytes(rnd, Math.min(max, 1000 + Math.floor(rnd() * 3000)));
          key[0] = i; // distinct keys
          entries.push([key, randomBytes(rnd, Math.floor(rnd() * 6000))]);
        }
        await write(store, (tx) => {
          for (const [k, v] of entries) tx.put(k, v);
        });
        for (const [k, v] of entries) expect(hex(store.get(k))).toBe(hex(v));
        const expected = entries.map(([k, v]) => [hex(k), hex(v)]).sort(byFirst);
        expect(dump(store)).toEqual(expected);
        expect(dump(store, { reverse: true })).toEqual([...expected].reverse());
        // A long key next to short keys sharing its prefix.
        const longA = new Uint8Array(Math.min(max, 4096)).fill(0x61);
        await write(store, (tx) => {
          tx.put(longA, s('long'));
          tx.put(longA.subarray(0, 1), s('short'));
          tx.put(longA.subarray(0, longA.length - 1), s('almost'));
        });
        expect(str(store.get(longA))).toBe('long');
        expect(str(store.get(longA.subarray(0, longA.length - 1)))).toBe('almost');
        expect(str(store.get(s('a')))).toBe('short');
        if (max !== Infinity) {
          // One byte over the bound: refused, and the store is unchanged.
          const before = dump(store);
          const tx = store.transaction();
          expect(() => tx.put(new Uint8Array(max + 1).fill(0x62), s('too long'))).toThrow(/longer than/);
          tx.rollback();
          expect(dump(store)).toEqual(before);
        }
      });

      it('copies keys and values on put and honours byteOffset', async () => {
        const store = await fresh();
        const backing = new Uint8Array([9, 9, 0x6b, 0x65, 0x79, 0x76, 0x61, 0x6c, 9]);
        const key = backing.subarray(2, 5); // 'key'
        const value = backing.subarray(5, 8); // 'val'
        await write(store, (tx) => tx.put(key, value));
        backing.fill(0);
        expect(str(store.get(s('key')))).toBe('val');
        expect(store.get(new Uint8Array([0, 0, 0]))).toBeUndefined();
        const probe = new Uint8Array([1, 0x6b, 0x65, 0x79]).subarray(1);
        expect(str(store.get(probe))).toBe('val');
      });
    });

    describe('order', () => {
      it('orders keys by unsigned bytes, prefixes first, including 0x00 and 0xFF', async () => {
        const store = await fresh();
        const keys = [
          [0x00],
          [0x00, 0x00],
          [0x00, 0x01],
          [0x00, 0xff],
          [0x01],
          [0x7f],
          [0x80],
          [0x80, 0x00],
          [0xfe, 0xff, 0xff],
          [0xff],
          [0xff, 0x00],
          [0xff, 0xff],
          [0xff, 0xff, 0xff, 0xff],
          [0x61],
          [0x61, 0x62],
          [0x61, 0x62, 0x63],
          [0x62],
        ].map((k) => new Uint8Array(k));
        const shuffled = shuffle([...keys], prng(3));
        await write(store, (tx) => {
          for (const k of shuffled) tx.put(k, k);
        });
        const sorted = [...keys].sort(compareBytes).map(hex);
        expect(dump(store).map(([k]) => k)).toEqual(sorted);
        expect(dump(store, { reverse: true }).map(([k]) => k)).toEqual([...sorted].reverse());
        for (const k of keys) expect(hex(store.get(k))).toBe(hex(k));
        expect(store.get(new Uint8Array([0x00, 0x00, 0x00]))).toBeUndefined();
        expect(store.get(new Uint8Array([0xff, 0xff, 0xff]))).toBeUndefined();
      });

      it('scans every bound combination in both directions', async () => {
        const store = await fresh();
        // Keys 0x10, 0x10 0x00, 0x20, 0x20 0x00, ... 0x90 0x00: prefixes next to their extensions.
        const present: Uint8Array[] = [];
        for (let b = 0x10; b <= 0x90; b += 0x10) present.push(new Uint8Array([b]), new Uint8Array([b, 0x00]));
        await write(store, (tx) => {
          for (const k of shuffle([...present], prng(11))) tx.put(k, k);
        });
        const probes = [
          new Uint8Array([]),
          new Uint8Array([0x00]),
          new Uint8Array([0x10]),
          new Uint8Array([0x10, 0x00]),
          new Uint8Array([0x10, 0x00, 0x00]),
          new Uint8Array([0x15]),
          new Uint8Array([0x50]),
          new Uint8Array([0x50, 0x00]),
          new Uint8Array([0x8f, 0xff]),
          new Uint8Array([0x90]),
          new Uint8Array([0x90, 0x00]),
          new Uint8Array([0xff]),
        ];
        type Lower = { gt?: Uint8Array; gte?: Uint8Array };
        type Upper = { lt?: Uint8Array; lte?: Uint8Array };
        const lowers: Lower[] = [{}];
        const uppers: Upper[] = [{}];
        for (const p of probes) {
          lowers.push({ gt: p }, { gte: p });
          uppers.push({ lt: p }, { lte: p });
        }
        let checked = 0;
        for (const lower of lowers) {
          for (const upper of uppers) {
            for (const reverse of [false, true]) {
              const range: KeyRange = { ...lower, ...upper, reverse };
              const expected = modelScan(
                present.map((k) => [k, k] as const),
                range,
              ).map(([k]) => hex(k));
              expect(
                dump(store, range).map(([k]) => k),
                describeRange(range),
              ).toEqual(expected);
              checked++;
            }
          }
        }
        expect(checked).toBe(lowers.length * uppers.length * 2);
      });

      it('yields nothing for empty and inverted ranges', async () => {
        const store = await fresh();
        await write(store, (tx) => {
          for (const k of ['a', 'b', 'c', 'd']) tx.put(s(k), s(k));
        });
        for (const reverse of [false, true]) {
          expect(dump(store, { gt: s('b'), lt: s('b'), reverse })).toEqual([]);
          expect(dump(store, { gte: s('b'), lt: s('b'), reverse })).toEqual([]);
          expect(dump(store, { gt: s('b'), lte: s('b'), reverse })).toEqual([]);
          expect(dump(store, { gte: s('c'), lte: s('b'), reverse })).toEqual([]);
          expect(dump(store, { gt: s('d'), reverse })).toEqual([]);
          expect(dump(store, { lt: s('a'), reverse })).toEqual([]);
          expect(dump(store, { gt: s('b'), lt: s('c'), reverse })).toEqual([]);
          expect(dump(store, { gte: s('b'), lte: s('b'), reverse }).map(([k]) => k)).toEqual([hex(s('b'))]);
        }
      });

      it('scans across many keys in both directions', async () => {
        const store = await fresh();
        const rnd = prng(5);
        const model = new Map<string, Uint8Array>();
        await write(store, (tx) => {
          for (let i = 0; i < 5000; i++) {
            const key = randomBytes(rnd, 4 + Math.floor(rnd() * 30));
            const value = randomBytes(rnd, Math.floor(rnd() * 60));
            tx.put(key, value);
            model.set(hex(key), value);
          }
        });
        const expected = [...model].map(([k, v]) => [k, hex(v)]).sort(byFirst);
        expect(dump(store)).toEqual(expected);
        expect(dump(store, { reverse: true })).toEqual([...expected].reverse());
        const lo = unhex(expected[1000]![0]!);
        const hi = unhex(expected[3999]![0]!);
        expect(dump(store, { gt: lo, lte: hi })).toEqual(expected.slice(1001, 4000));
        expect(dump(store, { gte: lo, lt: hi, reverse: true })).toEqual(expected.slice(1000, 3999).reverse());
      });
    });

    describe('transactions', () => {
      it('reads its own writes before commit', async () => {
        const store = await fresh();
        await write(store, (tx) => tx.put(s('a'), s('old')));
        const tx = store.transaction();
        tx.put(s('a'), s('new'));
        tx.put(s('b'), s('added'));
        expect(str(store.get(s('a')))).toBe('new');
        expect(str(store.get(s('b')))).toBe('added');
        expect(dump(store).map(([k, v]) => [str(unhex(k)), str(unhex(v))])).toEqual([
          ['a', 'new'],
          ['b', 'added'],
        ]);
        tx.delete(s('a'));
        expect(store.get(s('a'))).toBeUndefined();
        expect(dump(store, { reverse: true }).map(([k]) => str(unhex(k)))).toEqual(['b']);
        const done = tx.commit();
        expect(done).toBeInstanceOf(Promise);
        await done;
        expect(store.get(s('a'))).toBeUndefined();
        expect(str(store.get(s('b')))).toBe('added');
      });

      it('rollback restores exactly the previous state', async () => {
        const store = await fresh();
        await write(store, (tx) => {
          for (const k of ['a', 'b', 'c', 'd', 'e']) tx.put(s(k), s(`${k}0`));
          tx.put(s('empty'), new Uint8Array(0));
        });
        const before = dump(store);
        const tx = store.transaction();
        tx.put(s('a'), s('a1')); // overwrite
        tx.put(s('a'), s('a2')); // overwrite twice
        tx.delete(s('b')); // delete
        tx.put(s('b'), s('b-again')); // then re-create
        tx.delete(s('c')); // delete for good
        tx.put(s('new'), s('n')); // insert
        tx.put(s('new2'), s('n2'));
        tx.delete(s('new2')); // insert then delete
        tx.put(s('empty'), s('now full'));
        tx.delete(s('missing')); // no-op delete
        for (let i = 0; i < 500; i++) tx.put(s(`bulk${i}`), s(`v${i}`)); // enough to reshape a tree
        for (let i = 0; i < 500; i += 3) tx.delete(s(`bulk${i}`));
        tx.delete(s('d'));
        tx.delete(s('e'));
        expect(dump(store)).not.toEqual(before);
        tx.rollback();
        expect(dump(store)).toEqual(before);
        expect(dump(store, { reverse: true })).toEqual([...before].reverse());
        expect(str(store.get(s('a')))).toBe('a0');
        expect(str(store.get(s('c')))).toBe('c0');
        expect(store.get(s('empty'))!.length).toBe(0);
        expect(store.get(s('new'))).toBeUndefined();
        expect(store.get(s('bulk1'))).toBeUndefined();
      });

      it('applies writes to one key in the order made, with or without reads between them, in small and large transactions', async () => {
        const store = await fresh();
        const N = 1500; // a transaction of ~3,600 writes: past where a store may start sorting them
        await write(store, (tx) => {
          for (let i = 0; i < N; i++) tx.put(s(`k${i}`), s(`old${i}`));
        });
        const before = dump(store);
        // No read in between: a store may hold the writes back and apply them later, sorted.
        for (const n of [60, N]) {
          await write(store, (tx) => {
            for (let i = 0; i < n; i++) {
              tx.put(s(`k${i}`), s(`a${i}`));
              if (i % 2 === 0) tx.delete(s(`k${i}`));
              if (i % 3 === 0) tx.put(s(`k${i}`), s(`b${i}`));
              if (i % 5 === 0) tx.delete(s(`k${i}`));
            }
          });
          const expected = (i: number) => (i >= n ? `old${i}` : i % 5 === 0 ? undefined : i % 3 === 0 ? `b${i}` : i % 2 === 0 ? undefined : `a${i}`);
          for (const i of [0, 1, 2, 3, 5, 6, 9, 10, 15, 30, 59, 60, 61, 997, N - 1]) {
            const v = store.get(s(`k${i}`));
            expect(v && str(v), `k${i} after ${n}`).toBe(expected(i));
          }
          expect(dump(store).length).toBe([...Array(N).keys()].filter((i) => expected(i) !== undefined).length);
        }
        // Then transactions whose first part was read (so applied) and the rest not, rolled back.
        const after = dump(store);
        for (const n of [30, N]) {
          const tx = store.transaction();
          for (let i = 0; i < n; i++) tx.put(s(`k${i}`), s(`c${i}`));
          expect(str(store.get(s(`k${n - 1}`)))).toBe(`c${n - 1}`);
          for (let i = n; i < 2 * n && i < N; i++) tx.delete(s(`k${i}`));
          tx.put(s('k0'), s('d0'));
          tx.put(s('zz'), s('new'));
          expect(str(store.get(s('k0')))).toBe('d0');
          tx.rollback();
          expect(dump(store)).toEqual(after);
        }
        expect(after).not.toEqual(before);
      });

      it('rollback of a first transaction leaves the store empty', async () => {
        const store = await fresh();
        const tx = store.transaction();
        for (let i = 0; i < 300; i++) tx.put(s(`k${i}`), s(`v${i}`));
        tx.rollback();
        expect(dump(store)).toEqual([]);
        expect(store.get(s('k1'))).toBeUndefined();
      });

      it('allows one open transaction at a time', async () => {
        const store = await fresh();
        const tx = store.transaction();
        expect(() => store.transaction()).toThrow();
        tx.put(s('a'), s('1'));
        await tx.commit();
        const tx2 = store.transaction();
        expect(() => store.transaction()).toThrow();
        tx2.put(s('b'), s('2'));
        tx2.rollback();
        const tx3 = store.transaction();
        tx3.put(s('c'), s('3'));
        await tx3.commit();
        expect(dump(store).map(([k]) => str(unhex(k)))).toEqual(['a', 'c']);
      });

      it('a failed second transaction() leaves the open one usable', async () => {
        const store = await fresh();
        const tx = store.transaction();
        tx.put(s('a'), s('1'));
        expect(() => store.transaction()).toThrow();
        tx.put(s('b'), s('2'));
        await tx.commit();
        expect(dump(store)).toHaveLength(2);
      });

      it('commits resolve and flush resolves', async () => {
        const store = await fresh();
        const commits: Promise<void>[] = [];
        for (let i = 0; i < 5; i++) {
          const tx = store.transaction();
          tx.put(s(`k${i}`), s(`v${i}`));
          commits.push(tx.commit()); // several commits in one tick may share a flush
        }
        await store.flush();
        await Promise.all(commits);
        expect(dump(store)).toHaveLength(5);
      });
    });

    describe('iterators under writes', () => {
      async function lettered(store: KvStore, letters: string): Promise<void> {
        await write(store, (tx) => {
          for (const c of letters) tx.put(s(c), s(c));
        });
      }

      it('sees keys inserted ahead and not those inserted behind', async () => {
        const store = await fresh();
        await lettered(store, 'bdfh');
        const it = store.scan();
        const seen: string[] = [];
        seen.push(keyOf(it.next())); // b
        seen.push(keyOf(it.next())); // d
        await write(store, (tx) => {
          tx.put(s('a'), s('a')); // behind
          tx.put(s('c'), s('c')); // behind
          tx.put(s('e'), s('e')); // ahead
          tx.put(s('i'), s('i')); // ahead
        });
        seen.push(...drain(it));
        expect(seen).toEqual(['b', 'd', 'e', 'f', 'h', 'i']);
      });

      it('skips keys deleted ahead and survives deletion of the current key', async () => {
        const store = await fresh();
        await lettered(store, 'abcdefg');
        const it = store.scan();
        const seen: string[] = [keyOf(it.next()), keyOf(it.next())]; // a b
        await write(store, (tx) => {
          tx.delete(s('b')); // the key just yielded
          tx.delete(s('c')); // next one
          tx.delete(s('e'));
        });
        seen.push(keyOf(it.next())); // d
        await write(store, (tx) => {
          tx.delete(s('d'));
          tx.delete(s('f'));
          tx.put(s('dd'), s('dd'));
        });
        seen.push(...drain(it));
        expect(seen).toEqual(['a', 'b', 'd', 'dd', 'g']);
      });

      it('continues in reverse with writes on both sides', async () => {
        const store = await fresh();
        await lettered(store, 'bdfhj');
        const it = store.scan({ reverse: true });
        const seen: string[] = [keyOf(it.next()), keyOf(it.next())]; // j h
        await write(store, (tx) => {
          tx.put(s('k'), s('k')); // behind
          tx.put(s('i'), s('i')); // behind
          tx.put(s('g'), s('g')); // ahead
          tx.delete(s('h')); // current
          tx.delete(s('d')); // ahead
          tx.put(s('a'), s('a')); // ahead
        });
        seen.push(...drain(it));
        expect(seen).toEqual(['j', 'h', 'g', 'f', 'b', 'a']);
      });

      it('respects the range bounds after writes', async () => {
        const store = await fresh();
        await lettered(store, 'bcdefg');
        for (const reverse of [false, true]) {
          const it = store.scan({ gt: s('b'), lt: s('g'), reverse });
          const seen: string[] = [keyOf(it.next())];
          const tx = store.transaction();
          tx.put(s('a'), s('a'));
          tx.put(s('h'), s('h'));
          tx.put(s('dd'), s('dd'));
          tx.put(s('b0'), s('b0'));
          tx.put(s('f0'), s('f0'));
          seen.push(...drain(it));
          tx.rollback();
          // 'b0' is behind a forward scan that is past 'c', 'f0' behind a reverse one past 'f'.
          expect(seen).toEqual(reverse ? ['f', 'e', 'dd', 'd', 'c', 'b0'] : ['c', 'd', 'dd', 'e', 'f', 'f0']);
        }
      });

      it('sees the current state after a rollback, and a scan started before any write', async () => {
        const store = await fresh();
        await lettered(store, 'ace');
        const early = store.scan(); // created, not started
        const it = store.scan();
        expect(keyOf(it.next())).toBe('a');
        const tx = store.transaction();
        tx.put(s('b'), s('b'));
        tx.delete(s('c'));
        expect(keyOf(it.next())).toBe('b');
        tx.rollback();
        expect(drain(it)).toEqual(['c', 'e']);
        await lettered(store, 'd');
        expect(drain(early)).toEqual(['a', 'c', 'd', 'e']);
      });

      it('keeps going while a large share of the store is rewritten', async () => {
        const store = await fresh();
        await write(store, (tx) => {
          for (let i = 0; i < 2000; i += 2) tx.put(num(i), num(i));
        });
        const seen: number[] = [];
        for (const entry of store.scan()) {
          const n = unnum(entry.key);
          seen.push(n);
          if (seen.length > 4000) throw new Error('the scan does not end: it yields keys again');
          const tx = store.transaction();
          if (n >= 10) tx.delete(num(n - 10)); // behind
          if (n >= 1) tx.put(num(n - 1), num(0)); // behind, overwriting
          tx.put(num(n), num(n)); // the current key
          if (n + 1 < 2000) tx.put(num(n + 1), num(n + 1)); // just ahead
          if (n + 8 < 2000 && (n + 8) % 4 === 0) tx.delete(num(n + 8)); // ahead; put back later
          await tx.commit();
        }
        expect(seen).toEqual(Array.from({ length: 2000 }, (_, i) => i));
        expect(dump(store).map(([k]) => unnum(unhex(k)))).toEqual(Array.from({ length: 10 }, (_, i) => 1990 + i));
      });
    });

    describe('randomised model', () => {
      it('matches a sorted-map model over thousands of random operations', async () => {
        const envSeed = typeof process !== 'undefined' ? process.env['KV_CONTRACT_SEED'] : undefined;
        const seed = envSeed !== undefined ? Number(envSeed) : Math.floor(Math.random() * 2 ** 31);
        console.log(`[kv-contract ${name}] model seed ${seed} (replay with KV_CONTRACT_SEED=${seed})`);
        const store = await fresh();
        await randomModel(store, seed, 6000);
      });

      it('matches the model with a fixed seed', async () => {
        const store = await fresh();
        await randomModel(store, 12345, 4000);
      });
    });

    describe('close', () => {
      it('makes further use throw CLOSED', async () => {
        const store = await fresh();
        await write(store, (tx) => tx.put(s('a'), s('1')));
        const it = store.scan();
        it.next();
        await store.close();
        expect(() => store.get(s('a'))).toThrow(expect.objectContaining({ code: 'CLOSED' }));
        expect(() => store.transaction()).toThrow(expect.objectContaining({ code: 'CLOSED' }));
        expect(() => [...store.scan()]).toThrow(expect.objectContaining({ code: 'CLOSED' }));
        expect(() => it.next()).toThrow(expect.objectContaining({ code: 'CLOSED' }));
        await expect((async () => store.flush())()).rejects.toMatchObject({ code: 'CLOSED' });
      });

      it('makes a transaction left open unusable', async () => {
        const store = await fresh();
        const tx = store.transaction();
        tx.put(s('a'), s('1'));
        await store.close();
        expect(() => tx.put(s('b'), s('2'))).toThrow(expect.objectContaining({ code: 'CLOSED' }));
      });
    });

    if (reopen) {
      describe('persistence', () => {
        it('keeps committed data across reopen', async () => {
          let store = await fresh();
          const rnd = prng(21);
          const model = new Map<string, Uint8Array>();
          for (let t = 0; t < 5; t++) {
            await write(store, (tx) => {
              for (let i = 0; i < 400; i++) {
                const key = randomBytes(rnd, 3 + Math.floor(rnd() * 20));
                const value = randomBytes(rnd, Math.floor(rnd() * (i % 50 === 0 ? 3000 : 80)));
                tx.put(key, value);
                model.set(hex(key), value);
              }
              for (const k of [...model.keys()].slice(0, 30)) {
                tx.delete(unhex(k));
                model.delete(k);
              }
            });
          }
          const expected = [...model].map(([k, v]) => [k, hex(v)]).sort(byFirst);
          expect(dump(store)).toEqual(expected);
          store = await again(store);
          expect(dump(store)).toEqual(expected);
          expect(dump(store, { reverse: true })).toEqual([...expected].reverse());
          for (const [k, v] of expected.slice(0, 200)) expect(hex(store.get(unhex(k)))).toBe(v);
          // Still writable after reopening, and again durable.
          await write(store, (tx) => tx.put(s('after'), s('reopen')));
          store = await again(store);
          expect(str(store.get(s('after')))).toBe('reopen');
          expect(dump(store)).toHaveLength(expected.length + 1);
        });

        it('drops rolled-back data and keeps commits that were not awaited before close', async () => {
          let store = await fresh();
          await write(store, (tx) => {
            tx.put(s('keep'), s('1'));
            tx.put(s('overwrite'), s('old'));
            tx.put(s('delete'), s('x'));
          });
          const rolled = store.transaction();
          rolled.put(s('keep'), s('changed'));
          rolled.put(s('overwrite'), s('new'));
          rolled.delete(s('delete'));
          rolled.put(s('added'), s('y'));
          for (let i = 0; i < 300; i++) rolled.put(s(`bulk${i}`), s(`v${i}`));
          rolled.rollback();
          const tx = store.transaction();
          tx.put(s('late'), s('commit'));
          tx.delete(s('delete'));
          const pending = tx.commit(); // not awaited: close() must make it durable
          store = await again(store);
          await pending;
          expect(dump(store).map(([k, v]) => [str(unhex(k)), str(unhex(v))])).toEqual([
            ['keep', '1'],
            ['late', 'commit'],
            ['overwrite', 'old'],
          ]);
        });

        it('reopens an empty store as empty', async () => {
          let store = await fresh();
          const tx = store.transaction();
          tx.put(s('a'), s('1'));
          tx.rollback();
          store = await again(store);
          expect(dump(store)).toEqual([]);
        });
      });
    }
  });
}

// ---- the model test ----

async function randomModel(store: KvStore, seed: number, ops: number): Promise<void> {
  const rnd = prng(seed);
  let model = new Map<string, Uint8Array>(); // hex key -> value; hex order is byte order
  let snapshot: Map<string, Uint8Array> | undefined;
  let tx: ReturnType<KvStore['transaction']> | undefined;
  let live: { it: Iterator<{ key: Uint8Array; value: Uint8Array }>; range: KeyRange; last?: string } | undefined;
  const commits: Promise<void>[] = [];
  const alphabet = [0x00, 0x01, 0x61, 0x7f, 0x80, 0xfe, 0xff];

  const randomKey = (): Uint8Array => {
    const r = rnd();
    if (r < 0.6) {
      // Dense: short keys from a small alphabet, so puts collide and prefixes abound.
      const key = new Uint8Array(1 + Math.floor(rnd() * 4));
      for (let i = 0; i < key.length; i++) key[i] = alphabet[Math.floor(rnd() * alphabet.length)]!;
      return key;
    }
    if (r < 0.97) {
      // Wide: a shared prefix and random tail, so the store grows to a few thousand keys.
      const key = randomBytes(rnd, 8 + Math.floor(rnd() * 24));
      key[0] = 0x40 + Math.floor(rnd() * 4);
      return key;
    }
    const key = randomBytes(rnd, Math.min(store.maxKeyBytes ?? Infinity, 500 + Math.floor(rnd() * 2500))); // long (up to the store's bound)
    key[0] = 0x61;
    return key;
  };
  const existingKey = (): Uint8Array | undefined => {
    if (model.size === 0) return undefined;
    const keys = [...model.keys()];
    return unhex(keys[Math.floor(rnd() * keys.length)]!);
  };
  const randomValue = (): Uint8Array => randomBytes(rnd, rnd() < 0.05 ? Math.floor(rnd() * 5000) : Math.floor(rnd() * 64));
  const probe = (): Uint8Array => (rnd() < 0.5 ? (existingKey() ?? randomKey()) : randomKey());
  const randomRange = (): KeyRange => {
    const range: KeyRange = { reverse: rnd() < 0.5 };
    const lo = rnd();
    if (lo < 0.33) range.gt = probe();
    else if (lo < 0.66) range.gte = probe();
    const hi = rnd();
    if (hi < 0.33) range.lt = probe();
    else if (hi < 0.66) range.lte = probe();
    return range;
  };
  const sorted = (): [Uint8Array, Uint8Array][] => [...model.keys()].sort().map((k) => [unhex(k), model.get(k)!] as [Uint8Array, Uint8Array]);
  const context = (op: number, what: string): string => `seed ${seed}, op ${op}: ${what}`;

  for (let op = 0; op < ops; op++) {
    const r = rnd();
    if (r < 0.55) {
      // A write, inside the open transaction (opened on demand).
      if (!tx) {
        tx = store.transaction();
        snapshot = new Map(model);
      }
      if (rnd() < 0.65) {
        const key = rnd() < 0.2 ? (existingKey() ?? randomKey()) : randomKey();
        const value = randomValue();
        tx.put(key, value);
        model.set(hex(key), value);
      } else {
        const key = rnd() < 0.7 ? (existingKey() ?? randomKey()) : randomKey();
        tx.delete(key);
        model.delete(hex(key));
      }
      if (rnd() < 0.08) {
        if (rnd() < 0.7) {
          commits.push(tx.commit());
        } else {
          tx.rollback();
          model = snapshot!;
        }
        tx = undefined;
        snapshot = undefined;
      }
    } else if (r < 0.75) {
      const key = probe();
      const got = store.get(key);
      expect(got === undefined ? undefined : hex(got), context(op, `get ${hex(key)}`)).toBe(model.has(hex(key)) ? hex(model.get(hex(key))) : undefined);
    } else if (r < 0.8) {
      const range = randomRange();
      const expected = modelScan(sorted(), range).map(([k, v]) => [hex(k), hex(v)]);
      expect(dump(store, range), context(op, `scan ${describeRange(range)}`)).toEqual(expected);
    } else {
      // Step the live iterator (starting one if none) and compare with the model's next key.
      if (!live) {
        const range = randomRange();
        live = { it: store.scan(range), range };
      }
      const res = live.it.next();
      const next = modelNext(model, live.range, live.last);
      const what = `iterator ${describeRange(live.range)} after ${live.last ?? '(start)'}`;
      if (next === undefined) {
        expect(res.done, context(op, what)).toBe(true);
        live = undefined;
      } else {
        expect(res.done, context(op, what)).toBe(false);
        const entry = res.value as { key: Uint8Array; value: Uint8Array };
        expect([hex(entry.key), hex(entry.value)], context(op, what)).toEqual([next, hex(model.get(next))]);
        live.last = hex(entry.key);
        if (rnd() < 0.02) live = undefined; // abandon it
      }
    }
  }
  if (tx) commits.push(tx.commit());
  await Promise.all(commits);
  const expected = sorted().map(([k, v]) => [hex(k), hex(v)]);
  expect(dump(store), `seed ${seed}: final scan`).toEqual(expected);
  expect(dump(store, { reverse: true }), `seed ${seed}: final reverse scan`).toEqual([...expected].reverse());
}

// ---- helpers ----

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function s(text: string): Uint8Array {
  return encoder.encode(text);
}

function str(bytes: Uint8Array | undefined): string | undefined {
  return bytes === undefined ? undefined : decoder.decode(bytes);
}

function hex(bytes: Uint8Array | undefined): string {
  if (bytes === undefined) return '(undefined)';
  let out = '';
  for (let i = 0; i < bytes.length; i++) out += bytes[i]!.toString(16).padStart(2, '0');
  return out;
}

function unhex(text: string): Uint8Array {
  const out = new Uint8Array(text.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(text.slice(2 * i, 2 * i + 2), 16);
  return out;
}

function num(n: number): Uint8Array {
  return new Uint8Array([0x6e, n >>> 8, n & 0xff]);
}

function unnum(key: Uint8Array): number {
  return (key[1]! << 8) | key[2]!;
}

function keyOf(result: IteratorResult<{ key: Uint8Array }>): string {
  expect(result.done).toBe(false);
  return str((result.value as { key: Uint8Array }).key)!;
}

function byFirst(a: string[], b: string[]): number {
  return a[0]! < b[0]! ? -1 : a[0]! > b[0]! ? 1 : 0;
}

/** More entries than any test writes: a scan yielding this many is stuck repeating itself. */
const RUNAWAY = 100_000;

/** Every entry of a scan as [hex key, hex value], copied before anything else runs. */
function dump(store: KvStore, range?: KeyRange): string[][] {
  const out: string[][] = [];
  for (const { key, value } of store.scan(range)) {
    out.push([hex(key), hex(value)]);
    if (out.length > RUNAWAY) throw new Error(`scan ${describeRange(range ?? {})} does not end`);
  }
  return out;
}

/** The remaining keys of an iterator, as text. */
function drain(it: Iterator<{ key: Uint8Array }>): string[] {
  const out: string[] = [];
  for (let r = it.next(); !r.done; r = it.next()) {
    out.push(str(r.value.key)!);
    if (out.length > RUNAWAY) throw new Error('iterator does not end');
  }
  return out;
}

async function write(store: KvStore, body: (tx: ReturnType<KvStore['transaction']>) => void): Promise<void> {
  const tx = store.transaction();
  body(tx);
  await tx.commit();
}

/** What a scan of `range` must yield from sorted `entries`. */
function modelScan<T extends readonly [Uint8Array, Uint8Array]>(entries: readonly T[], range: KeyRange): T[] {
  const out = entries.filter(([k]) => {
    if (range.gt && compareBytes(k, range.gt) <= 0) return false;
    if (range.gte && compareBytes(k, range.gte) < 0) return false;
    if (range.lt && compareBytes(k, range.lt) >= 0) return false;
    if (range.lte && compareBytes(k, range.lte) > 0) return false;
    return true;
  });
  out.sort((a, b) => compareBytes(a[0], b[0]));
  return range.reverse ? out.reverse() : out;
}

/** The hex key a live iterator over `range` must yield next, having last yielded `last`. */
function modelNext(model: Map<string, Uint8Array>, range: KeyRange, last: string | undefined): string | undefined {
  const inRange = (k: string): boolean => modelScan([[unhex(k), new Uint8Array(0)] as const], range).length === 1;
  let best: string | undefined;
  for (const k of model.keys()) {
    if (last !== undefined && (range.reverse ? k >= last : k <= last)) continue;
    if (best !== undefined && (range.reverse ? k <= best : k >= best)) continue;
    if (inRange(k)) best = k;
  }
  return best;
}

function describeRange(range: KeyRange): string {
  const parts: string[] = [];
  for (const bound of ['gt', 'gte', 'lt', 'lte'] as const) {
    if (range[bound]) parts.push(`${bound}=${hex(range[bound])}`);
  }
  if (range.reverse) parts.push('reverse');
  return `{${parts.join(' ')}}`;
}

function randomBytes(rnd: () => number, length: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = Math.floor(rnd() * 256);
  return out;
}

function shuffle<T>(items: T[], rnd: () => number): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
}
