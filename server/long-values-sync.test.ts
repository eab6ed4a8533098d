/**
 * Long values through the server: 1 MiB strings, 10 MiB bytes, 10,000-element arrays and strings
 * that share a 20 KB prefix, written on one client (on files), synced through a server on files to
 * another, and read again after the server and the clients reopen. Queries over them (eq, ranges,
 * orderBy, contains) give the same rows on the writer, the reader and the server.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createDb, startSyncServer, type SyncServer } from './index.ts';
import { longApp as app } from '../src/testing/long-values-contract.ts';
import { Db } from '../src/db.ts';
import type { QueryBuilder } from '../src/query/builder.ts';
import { until } from '../src/testing/until.ts';
const waitFor = (cond: () => boolean, ms = 30_000) => until(cond, ms);

const dir = mkdtempSync(join(tmpdir(), 'jazz-long-sync-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const MiB = 1 << 20;

/** Rows as comparable text: long values as their length and a hash. */
function summary(rows: readonly Record<string, unknown>[]): string[] {
  const h = (s: string) => {
    let x = 0x811c9dc5;
    for (let i = 0; i < s.length; i++) x = Math.imul(x ^ s.charCodeAt(i), 0x01000193);
    return (x >>> 0).toString(16);
  };
  return rows.map((r) =>
    JSON.stringify(r, (_, v) => {
      if (v instanceof Uint8Array) return `bytes(${v.length}) ${h(String.fromCharCode(...v.subarray(0, 4096)))} ${v[v.length - 1]}`;
      if (typeof v === 'string' && v.length > 100) return `string(${v.length}) ${h(v)}`;
      if (Array.isArray(v) && v.length > 100) return `array(${v.length}) ${h(JSON.stringify(v))}`;
      return v;
    }),
  );
}

describe('long values sync between clients and survive a reopen', () => {
  it('1 MiB strings, 10 MiB bytes, 10,000-element arrays and 20 KB shared prefixes: the same rows and query results everywhere', async () => {
    const serverDir = join(dir, 'server');
    let server: SyncServer = await startSyncServer({ port: 0, dataDir: serverDir, dev: true, log: () => {} });
    const port = server.port;
    const url = `ws://127.0.0.1:${port}`;
    const opened: Db<typeof app>[] = [];
    const open = (name: string) => {
      const db = createDb({ app, driver: { type: 'file', path: join(dir, `${name}.db`) }, server: url, appId: 'long', backoff: { initialMs: 20, maxMs: 200 } });
      opened.push(db);
      return db;
    };
    try {
      const writer = open('writer');
      const prefix = 'p'.repeat(20_000);
      const bytes = new Uint8Array(10 * MiB).map((_, i) => (i * 31) & 0xff);
      const writes = [
        writer.insert(app.notes, { title: 'x'.repeat(MiB), body: 'あ'.repeat(MiB / 3) }),
        writer.insert(app.notes, { title: 'bytes', data: bytes }),
        writer.insert(app.notes, { title: 'tags', tags: Array.from({ length: 10_000 }, (_, i) => `t${i}`) }),
        ...['', 'a', 'b', 'zz', '\u0000', '😀'].map((t, i) => writer.insert(app.notes, { title: prefix + t, rank: i })),
      ];
      await Promise.all(writes.map((h) => h.wait({ tier: 'global' })));

      const queries: QueryBuilder<any, any>[] = [
        app.notes.orderBy('title'),
        app.notes.orderBy('title', 'desc').limit(4),
        app.notes.where({ title: prefix + 'b' }),
        app.notes.where({ title: { gt: prefix, lt: prefix + 'z' } }).orderBy('title'),
        app.notes.where({ title: { contains: 'x'.repeat(100) } }),
        app.notes.where({ tags: { contains: 't9999' } }),
        app.notes.where({ data: bytes }),
        app.notes.where({ body: { contains: 'あああ' } }),
      ];
      const results = async (db: Db<typeof app>) => Promise.all(queries.map(async (q) => summary(await db.all(q))));
      const expected = await results(writer);
      expect(expected[0]).toHaveLength(9);
      expect(expected[2]).toHaveLength(1);
      expect(expected[3]).toHaveLength(3); // a, b and NUL after the prefix: "" is not above it, "zz" and "😀" not below "z"
      for (const k of [4, 5, 6, 7]) expect(expected[k], `query ${k}`).toHaveLength(1);

      // Another client receives all of it (its first read waits for the server).
      const reader = open('reader');
      const all = await reader.all(app.notes, { tier: 'global' });
      expect(all).toHaveLength(9);
      expect(await results(reader)).toEqual(expected);
      // The server answers the same (its engine, read through a Db of its own).
      const onServer = new Db(app, server.engineOf('long')!);
      expect(queries.map((q) => summary(onServer.allSync(q)))).toEqual(expected);

      // A change to a long value travels as well.
      await writer.update(app.notes, writes[5]!.id, { title: prefix + 'c' }).wait({ tier: 'global' });
      await waitFor(() => reader.engine.getRowById(reader.engine.table('notes'), writes[5]!.id)?.title === prefix + 'c');

      // Everything closes and reopens from its files: the server, then both clients.
      await Promise.all(opened.splice(0).map((db) => db.close()));
      await server.close();
      server = await startSyncServer({ port, dataDir: serverDir, dev: true, log: () => {} });
      const writer2 = open('writer');
      const reader2 = open('reader');
      const after = await results(writer2);
      expect(await results(reader2)).toEqual(after);
      expect(after[0]).toHaveLength(9);
      expect(after[2]).toEqual([]); // prefix + 'b' became prefix + 'c'
      const fresh = open('fresh');
      expect(summary(await fresh.all(app.notes.orderBy('title'), { tier: 'global' }))).toEqual(after[0]);
    } finally {
      await Promise.all(opened.map((db) => db.close()));
      await server.close();
    }
  }, 120_000);
});
