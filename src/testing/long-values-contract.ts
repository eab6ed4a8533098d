/**
 * The long-values contract: values of every size in every column type, on any store the engine
 * runs on (memory, files in Node; OPFS and IndexedDB in the browser, through e2e/worker/suites.ts).
 *
 *   runLongValuesContract('memory', () => createMemoryStore());
 *   runLongValuesContract('files', () => openFileStore(p), async (s) => { await s.close(); return openFileStore(p); });
 *
 * It stores 1 MiB strings, 10 MiB bytes, 10,000-element arrays, long JSON, and strings that share
 * a 20 KB prefix and differ only at their end (index entries hold a cut prefix of long values, so
 * these are the values the index alone cannot tell apart), then checks that `eq`, `in`, ranges,
 * `orderBy` (with limits and offsets, one and two terms) and `contains` give exactly what a naive
 * evaluation over plain rows gives (src/testing/reference.ts): one-shot reads and live queries,
 * through random updates, deletes and inserts, and again after a reopen when `reopen` is given.
 *
 * `open` returns a fresh, empty store per call; `reopen` closes the store it is given and opens the
 * same storage again. The random steps print their seed; replay with `LONG_VALUES_SEED=<seed>`.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { KvStore } from '../store/types.ts';
import { createDb, type Db } from '../db.ts';
import { s } from '../schema/builder.ts';
import { evaluate } from './reference.ts';
import { mulberry32 } from '../util/random.ts';
import type { QueryAst } from '../query/ast.ts';
import type { QueryBuilder } from '../query/builder.ts';

export const longApp = s.defineApp({
  notes: s.table({
    title: s.string(),
    rank: s.int().optional(),
    body: s.string().optional(),
    data: s.bytes().optional(),
    tags: s.array(s.string()).optional(),
    meta: s.json().optional(),
  }),
});

type Row = Record<string, unknown> & { id: string };
type Db_ = Db<typeof longApp>;

const MiB = 1 << 20;

/** A digest of a value that stays small however large the value is (FNV-1a over its bytes or text). */
function digest(v: unknown): unknown {
  if (v === null || v === undefined || typeof v === 'number' || typeof v === 'boolean') return v ?? null;
  if (typeof v === 'string') {
    if (v.length <= 64) return v;
    let h = 0x811c9dc5;
    for (let i = 0; i < v.length; i++) h = Math.imul(h ^ v.charCodeAt(i), 0x01000193);
    return `string(${v.length}) ${v.slice(0, 12)}…${v.slice(-12)} #${(h >>> 0).toString(16)}`;
  }
  if (v instanceof Uint8Array) {
    let h = 0x811c9dc5;
    for (let i = 0; i < v.length; i++) h = Math.imul(h ^ v[i]!, 0x01000193);
    return `bytes(${v.length}) #${(h >>> 0).toString(16)}`;
  }
  if (Array.isArray(v)) return v.length <= 16 ? v.map(digest) : `array(${v.length}) ${JSON.stringify(digest(JSON.stringify(v)))}`;
  return digest(JSON.stringify(v));
}

function summarise(rows: readonly Record<string, unknown>[]): unknown[] {
  return rows.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, digest(v)])));
}

export function runLongValuesContract(name: string, open: () => KvStore | Promise<KvStore>, reopen?: (store: KvStore) => Promise<KvStore>): void {
  describe(`long values contract: ${name}`, () => {
    const opened: Db_[] = [];
    afterEach(async () => {
      for (const db of opened.splice(0)) await db.close().catch(() => {});
    });
    const dbOn = (store: KvStore): Db_ => {
      const db = createDb({ app: longApp, store });
      opened.push(db);
      return db;
    };

    it('stores and reads back 1 MiB strings, 10 MiB bytes, 10,000-element arrays and long JSON, exactly', async () => {
      let store = await open();
      let db = dbOn(store);
      const r = mulberry32(7);
      const ascii = 'x'.repeat(MiB);
      const japanese = Array.from({ length: MiB / 3 }, (_, i) => String.fromCharCode(0x3042 + (i % 80))).join(''); // 1 MiB of UTF-8
      const bytes = new Uint8Array(10 * MiB);
      for (let i = 0; i < bytes.length; i += 4096) bytes.fill(Math.floor(r() * 256), i, i + 4096);
      bytes[0] = 0; // zero bytes escape in keys
      const tags = Array.from({ length: 10_000 }, (_, i) => `tag ${i} ${'t'.repeat(i % 300)}`);
      const meta = { text: 'm'.repeat(100_000), list: Array.from({ length: 1000 }, (_, i) => i) };
      const a = db.insert(longApp.notes, { title: ascii, body: japanese, tags, meta });
      const b = db.insert(longApp.notes, { title: 'bytes', data: bytes });
      await Promise.all([a.wait(), b.wait()]);
      const check = async () => {
        const ra = await db.one(longApp.notes.where({ id: a.id }));
        const rb = await db.one(longApp.notes.where({ id: b.id }));
        expect(ra!.title).toBe(ascii);
        expect(ra!.body).toBe(japanese);
        expect(ra!.tags).toEqual(tags);
        expect(ra!.meta).toEqual(meta);
        expect((rb!.data as Uint8Array).length).toBe(bytes.length);
        expect(digest(rb!.data)).toBe(digest(bytes));
        // Found through their indexes, too.
        expect((await db.all(longApp.notes.where({ title: ascii }).select('title'))).map((x) => x.id)).toEqual([a.id]);
        expect((await db.all(longApp.notes.where({ data: bytes }).select('title'))).map((x) => x.id)).toEqual([b.id]);
        expect((await db.all(longApp.notes.where({ tags: { contains: tags[9_999]! } }).select('title'))).map((x) => x.id)).toEqual([a.id]);
        expect((await db.all(longApp.notes.where({ body: { contains: japanese.slice(-40) } }).select('title'))).map((x) => x.id)).toEqual([a.id]);
      };
      await check();
      // A second version of the big row: its history keeps the first.
      await db.update(longApp.notes, b.id, { title: 'bytes, renamed' }).wait();
      if (reopen) {
        store = await reopen(store);
        opened.splice(opened.indexOf(db), 1);
        db = dbOn(store);
        await check();
        expect((await db.one(longApp.notes.where({ id: b.id })))!.title).toBe('bytes, renamed');
      }
    });

    it('eq, in, ranges, orderBy and contains over long values agree with a naive model, live and after a reopen (randomised)', async () => {
      const envSeed = typeof process !== 'undefined' ? process.env['LONG_VALUES_SEED'] : undefined;
      const seed = envSeed !== undefined ? Number(envSeed) : Math.floor(Math.random() * 2 ** 31);
      console.log(`[long-values ${name}] seed ${seed} (replay with LONG_VALUES_SEED=${seed})`);
      const r = mulberry32(seed);
      const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
      const chance = (p: number) => r() < p;

      // Strings sharing a 20 KB prefix (with a NUL and non-ASCII in it) that differ at the end.
      const prefix = Array.from({ length: 20_000 }, (_, i) => (i === 5000 ? '\u0000' : i % 997 === 0 ? 'é' : String.fromCharCode(97 + (i % 26)))).join('');
      const tails = ['', 'a', 'b', 'ba', 'z', '\u0000', 'é', '😀', 'a'.repeat(300)];
      const titles = [...tails.map((t) => prefix + t), prefix.slice(0, 255), prefix.slice(0, 256), prefix.slice(0, 257), 'a', 'b', 'zz', '', 'é'];
      const bytePrefix = new Uint8Array(20_000).map((_, i) => (i % 7 === 0 ? 0 : i & 0xff));
      const withTail = (t: number[]) => {
        const out = new Uint8Array(bytePrefix.length + t.length);
        out.set(bytePrefix);
        out.set(t, bytePrefix.length);
        return out;
      };
      const datas = [withTail([]), withTail([0]), withTail([1]), withTail([1, 0]), withTail([255]), new Uint8Array([1, 2]), new Uint8Array(0)];
      const longTags = ['t' + prefix + '1', 't' + prefix + '2', 'red', 'green'];
      const metas = [{ k: prefix + 'x' }, { k: prefix + 'y' }, { k: 'short' }, [1, 2, 3]];
      const bigBody = 'q'.repeat(MiB - 3) + 'END';

      const randomValues = (): Record<string, unknown> => ({
        title: pick(titles),
        rank: chance(0.2) ? null : Math.floor(r() * 4),
        body: chance(0.5) ? null : pick(titles),
        data: chance(0.4) ? null : pick(datas),
        tags: chance(0.3) ? null : longTags.filter(() => chance(0.5)),
        meta: chance(0.4) ? null : pick(metas),
      });

      let store = await open();
      let db = dbOn(store);
      const model = new Map<string, Row>();
      const tables = () => new Map([['notes', model as Map<string, Record<string, unknown>>]]);
      const write = (fn: () => void) => fn();
      for (let i = 0; i < 30; i++) {
        const v = randomValues();
        write(() => {
          const { id } = db.insert(longApp.notes, v as never);
          model.set(id, { id, ...v });
        });
      }
      // Two rows with a 1 MiB body, one of 10,000 tags (a few of them long).
      for (const title of [prefix + 'b', 'big']) {
        const v = { title, rank: 2, body: bigBody, data: null, tags: null, meta: null };
        const { id } = db.insert(longApp.notes, v);
        model.set(id, { id, ...v });
      }
      const manyTags = Array.from({ length: 10_000 }, (_, i) => (i % 1000 === 0 ? `t${prefix}${i}` : `tag${i}`));
      write(() => {
        const v = { title: prefix + 'many', tags: manyTags, rank: 1, body: null, data: null, meta: null };
        const { id } = db.insert(longApp.notes, v);
        model.set(id, { id, ...v });
      });

      const n = longApp.notes;
      const sel = (q: QueryBuilder<any, any>) => q.select('title', 'rank');
      const queries: QueryBuilder<any, any>[] = [];
      for (const t of [...titles, prefix + 'q', prefix.slice(0, 256) + 'q']) queries.push(sel(n.where({ title: t })));
      for (const t of [prefix + 'b', prefix, prefix + '\u0000', prefix.slice(0, 256), prefix.slice(0, 256) + 'q', 'b']) {
        for (const op of ['gt', 'gte', 'lt', 'lte'] as const)
          queries.push(
            sel(
              n
                .where({ title: { [op]: t } })
                .orderBy('title')
                .limit(7),
            ),
          );
      }
      queries.push(sel(n.where({ title: { in: [titles[1]!, titles[4]!, 'a', prefix + 'q'] } })));
      queries.push(sel(n.where({ title: { gte: prefix + 'a', lt: prefix + 'z' } })));
      for (const dir of ['asc', 'desc'] as const) {
        queries.push(sel(n.orderBy('title', dir)));
        for (const [limit, offset] of [
          [1, 0],
          [3, 0],
          [5, 4],
          [10, 20],
        ] as const)
          queries.push(sel(n.orderBy('title', dir).limit(limit).offset(offset)));
        queries.push(sel(n.orderBy('title', dir).orderBy('rank', 'desc').limit(12)));
        queries.push(sel(n.orderBy('data', dir).limit(9)));
        queries.push(
          sel(
            n
              .where({ rank: { gte: 1 } })
              .orderBy('title', dir)
              .limit(6),
          ),
        );
      }
      for (const d of [...datas, withTail([2])]) {
        queries.push(sel(n.where({ data: d })));
        queries.push(
          sel(
            n
              .where({ data: { gt: d } })
              .orderBy('data')
              .limit(5),
          ),
        );
        queries.push(sel(n.where({ data: { lte: d } })));
      }
      for (const t of [...longTags, manyTags[4000]!, manyTags[5000]!, 't' + prefix]) queries.push(sel(n.where({ tags: { contains: t } })));
      for (const m of metas) queries.push(sel(n.where({ meta: { eq: m } })));
      queries.push(sel(n.where({ title: { contains: 'ba' } })));
      queries.push(sel(n.where({ body: { contains: 'END' } })));
      queries.push(
        sel(
          n
            .where({ title: { ne: titles[0]! } })
            .orderBy('title')
            .limit(10),
        ),
      );

      const expected = (q: QueryAst) => summarise(evaluate(tables(), q));
      const live = queries.map((q) => {
        const entry = { q: q.ast, rows: [] as unknown[], stop: () => {} };
        entry.stop = db.subscribeAll(q, ({ all }) => (entry.rows = summarise(all)));
        return entry;
      });
      const checkAll = async (when: string) => {
        await new Promise((res) => setTimeout(res, 0));
        for (const e of live) {
          const want = expected(e.q);
          if (JSON.stringify(e.rows) !== JSON.stringify(want)) expect({ when, seed, query: e.q, live: e.rows }).toEqual({ when, seed, query: e.q, live: want });
        }
        for (const q of queries) {
          const got = summarise(await db.all(q));
          const want = expected(q.ast);
          if (JSON.stringify(got) !== JSON.stringify(want)) expect({ when, seed, query: q.ast, read: got }).toEqual({ when, seed, query: q.ast, read: want });
        }
      };
      await checkAll('after loading');

      for (let step = 0; step < 20; step++) {
        const ids = [...model.keys()];
        const k = r();
        if (k < 0.5) {
          const id = pick(ids);
          const v = randomValues();
          const patch = Object.fromEntries(Object.entries(v).filter(() => chance(0.5)));
          if (Object.keys(patch).length === 0) patch['title'] = pick(titles);
          db.update(n, id, patch as never);
          Object.assign(model.get(id)!, patch);
        } else if (k < 0.7) {
          const id = pick(ids);
          db.delete(n, id);
          model.delete(id);
        } else {
          const v = randomValues();
          const { id } = db.insert(n, v as never);
          model.set(id, { id, ...v });
        }
        // Live results must follow every write (a sample of them each step: the naive evaluation
        // is the slow part); every live result and every read is checked every few steps.
        await new Promise((res) => setTimeout(res, 0));
        for (const e of live.filter(() => chance(0.15))) {
          const want = expected(e.q);
          if (JSON.stringify(e.rows) !== JSON.stringify(want)) expect({ step, seed, query: e.q, live: e.rows }).toEqual({ step, seed, query: e.q, live: want });
        }
        if (step % 10 === 9) await checkAll(`step ${step}`);
      }

      if (reopen) {
        for (const e of live) e.stop();
        live.length = 0;
        await db.all(n.limit(1)); // every write applied before the close
        store = await reopen(store);
        opened.splice(opened.indexOf(db), 1);
        db = dbOn(store);
        await checkAll('after the reopen');
        // The values themselves, whole.
        for (const row of await db.all(n)) expect(summarise([row])).toEqual(summarise([model.get(row.id as string)!]));
      }
    });
  });
}
