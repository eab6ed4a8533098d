/**
 * SQLite-WASM for the browser bench, in its own dedicated worker (its OPFS VFSes need one): the same
 * todos and projects as the engine and Dexie, the same indexes as Dexie, the 20 queries of
 * queries.ts in SQL. Requests and answers: sqlite-protocol.ts.
 *
 * VFS: `opfs-sahpool` when the installed build has it, else `opfs` (SQLite's OPFS VFS through its
 * async proxy worker; needs a cross-origin isolated page). Journal: WAL if the VFS takes it, else
 * TRUNCATE; exclusive locking (one connection); `synchronous=FULL` (each commit is flushed before
 * it returns). The page reports which.
 */
/// <reference lib="webworker" />
import sqlite3InitModule from '@sqlite.org/sqlite-wasm';
import { LIMIT, QUERIES, type QuerySpec } from './queries.ts';
import type { SqlQuery, SqliteAnswers, SqliteMessage, SqliteReply, SqliteRequest } from './sqlite-protocol.ts';

const FILE = '/bench.sqlite3';
const COLS = 'id, title, done, priority, due, notes, projectId';
let db: any;
let projects: string[] = [];
/** The queries `queries` and `update … requery` run, when `define` gave them (else queries.ts's). */
let defined: readonly SqlQuery[] | undefined;

function querySql(q: QuerySpec): { sql: string; bind: unknown[] } {
  const sel = `SELECT t.id, t.title, t.done, t.priority, t.due, t.projectId, p.name AS projectName FROM todos t JOIN projects p ON p.id = t.projectId`;
  switch (q.kind) {
    case 'project':
      return { sql: `${sel} WHERE t.projectId = ? AND t.done = 0 ORDER BY t.title LIMIT ${LIMIT}`, bind: [projects[q.project]] };
    case 'priorityAtLeast':
      return { sql: `${sel} WHERE t.priority >= ? ORDER BY t.due DESC LIMIT ${LIMIT}`, bind: [q.min] };
    case 'priorityDone':
      return { sql: `${sel} WHERE t.priority = ? AND t.done = ? ORDER BY t.title LIMIT ${LIMIT}`, bind: [q.priority, q.done ? 1 : 0] };
  }
}

const rows = (sql: string, bind: readonly unknown[] = []): any[] => db.exec({ sql, bind, rowMode: 'object', returnValue: 'resultRows' });
const runQueries = () => (defined ?? QUERIES.map((q) => querySql(q))).map(({ sql, bind }) => rows(sql, bind));

async function open(fresh: boolean): Promise<SqliteAnswers['open']> {
  const sqlite3: any = await sqlite3InitModule({ print: () => {}, printErr: (...a: unknown[]) => console.error(...a) });
  let vfs: string;
  if (typeof sqlite3.installOpfsSAHPoolVfs === 'function') {
    const pool = await sqlite3.installOpfsSAHPoolVfs({ name: 'opfs-sahpool' });
    if (fresh) pool.unlink(FILE);
    db = new pool.OpfsSAHPoolDb(FILE);
    vfs = 'opfs-sahpool';
  } else if (sqlite3.oo1.OpfsDb) {
    if (fresh) {
      const root = await navigator.storage.getDirectory();
      for (const f of [FILE, `${FILE}-journal`, `${FILE}-wal`]) await root.removeEntry(f.slice(1)).catch(() => {});
    }
    db = new sqlite3.oo1.OpfsDb(FILE, 'c');
    vfs = 'opfs';
  } else throw new Error(`SQLite ${sqlite3.version.libVersion} has no OPFS VFS here (is the page cross-origin isolated?)`);
  // One connection, in one worker: exclusive locking keeps the page cache across transactions and
  // lets WAL work without shared memory (which the wasm build has not).
  db.exec('PRAGMA locking_mode=EXCLUSIVE');
  let journalMode = String(db.selectValue('PRAGMA journal_mode=WAL')).toLowerCase();
  if (journalMode !== 'wal') journalMode = String(db.selectValue('PRAGMA journal_mode=TRUNCATE')).toLowerCase();
  db.exec('PRAGMA synchronous=FULL');
  if (fresh) {
    db.exec(`CREATE TABLE IF NOT EXISTS projects (id TEXT PRIMARY KEY, name TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS todos (id TEXT PRIMARY KEY, title TEXT, done INTEGER, priority INTEGER, due INTEGER, notes TEXT, projectId TEXT);
      CREATE INDEX IF NOT EXISTS todos_title ON todos(title);
      CREATE INDEX IF NOT EXISTS todos_due ON todos(due);
      CREATE INDEX IF NOT EXISTS todos_priority ON todos(priority);
      CREATE INDEX IF NOT EXISTS todos_project_title ON todos(projectId, title);
      CREATE INDEX IF NOT EXISTS todos_priority_title ON todos(priority, title);`);
  }
  projects = rows('SELECT id FROM projects ORDER BY rowid').map((r) => r.id);
  return { version: sqlite3.version.libVersion, vfs, journalMode, synchronous: Number(db.selectValue('PRAGMA synchronous')) };
}

function inTransaction(fn: () => void): void {
  db.exec('BEGIN');
  try {
    fn();
    db.exec('COMMIT');
  } catch (e) {
    db.exec('ROLLBACK');
    throw e;
  }
}

async function handle(m: SqliteRequest): Promise<unknown> {
  switch (m.op) {
    case 'open':
      return open(m.fresh);
    case 'projects':
      inTransaction(() => {
        for (const p of m.projects) db.exec({ sql: 'INSERT INTO projects (id, name) VALUES (?, ?)', bind: [p.id, p.name] });
      });
      projects = m.projects.map((p) => p.id);
      return null;
    case 'insert': {
      const st = db.prepare(`INSERT INTO todos (${COLS}) VALUES (?, ?, ?, ?, ?, ?, ?)`);
      try {
        inTransaction(() => {
          for (const r of m.rows) st.bind([r.id, r.title, r.done ? 1 : 0, r.priority, r.due, r.notes, r.projectId]).stepReset();
        });
      } finally {
        st.finalize();
      }
      return null;
    }
    case 'update':
      inTransaction(() => {
        for (const u of m.updates) {
          const keys = Object.keys(u.set);
          const vals = keys.map((k) => {
            const v = (u.set as Record<string, unknown>)[k];
            return typeof v === 'boolean' ? (v ? 1 : 0) : v;
          });
          db.exec({ sql: `UPDATE todos SET ${keys.map((k) => `${k} = ?`).join(', ')} WHERE id = ?`, bind: [...vals, u.id] });
        }
      });
      return m.requery ? runQueries() : null;
    case 'get':
      return rows(`SELECT ${COLS} FROM todos WHERE id = ?`, [m.id])[0] ?? null;
    case 'range':
      return rows(`SELECT ${COLS} FROM todos WHERE due >= ? AND due < ?`, [m.lo, m.hi]).length;
    case 'queries':
      return runQueries();
    case 'define':
      defined = m.queries;
      return null;
    case 'select':
      return rows(m.query.sql, m.query.bind);
    case 'first50':
      return rows(`SELECT ${COLS} FROM todos ORDER BY title LIMIT 50`);
    case 'close':
      db?.close();
      db = undefined;
      return null;
  }
}

self.onmessage = async (e: MessageEvent<SqliteMessage>) => {
  let reply: SqliteReply;
  try {
    reply = { seq: e.data.seq, ok: true, value: await handle(e.data) };
  } catch (err) {
    reply = { seq: e.data.seq, ok: false, error: String((err as Error)?.stack ?? err) };
  }
  postMessage(reply);
};
