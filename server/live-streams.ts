/**
 * Live streams through the server (src/files/live.ts has the writer and the readers):
 *
 * - `watch`/`unwatch` (a file id): the connection wants the chunks of that file as they are
 *   written. Nothing is sent back for a watch, so watching says nothing about whether the file
 *   exists; at most `MAX_WATCHES` per connection.
 * - `chunk` from a writer is relayed, never stored (the writer stores the same bytes as parts): only
 *   from the file's creator (or an admin or peer session), while the file is being written or just
 *   closed (`end`). Each watcher gets it only if it may read the file at that moment (the read
 *   gate's rule for files); one that may not is not told anything.
 * - A chunk refused (not the writer, no such file) gets an `error` frame `PERMISSION_DENIED`, once
 *   per file and connection, and is dropped.
 */
import type { LiveChunk } from '../src/sync/protocol.ts';
import { FILES } from '../src/files/system-tables.ts';
import type { AppState } from './apps.ts';
import type { Conn } from './connection.ts';
import { readVerdict } from './read-gate.ts';

const MAX_WATCHES = 1000;

const watchersOf = new WeakMap<AppState, Map<string, Set<Conn>>>();
const watchesOf = new WeakMap<Conn, Set<string>>();
const refusedOf = new WeakMap<Conn, Set<string>>();

function watchers(app: AppState): Map<string, Set<Conn>> {
  let m = watchersOf.get(app);
  if (!m) watchersOf.set(app, (m = new Map()));
  return m;
}

export function handleWatch(conn: Conn, file: string): void {
  let mine = watchesOf.get(conn);
  if (!mine) watchesOf.set(conn, (mine = new Set()));
  if (mine.has(file)) return;
  if (mine.size >= MAX_WATCHES) {
    conn.send({ t: 'error', code: 'TOO_LARGE', message: `a connection may watch at most ${MAX_WATCHES} live streams at once` });
    return;
  }
  mine.add(file);
  const all = watchers(conn.app);
  let set = all.get(file);
  if (!set) all.set(file, (set = new Set()));
  set.add(conn);
}

export function handleUnwatch(conn: Conn, file: string): void {
  watchesOf.get(conn)?.delete(file);
  const all = watchers(conn.app);
  const set = all.get(file);
  if (!set) return;
  set.delete(conn);
  if (set.size === 0) all.delete(file);
}

/** The connection went away. */
export function unwatchAll(conn: Conn): void {
  for (const file of [...(watchesOf.get(conn) ?? [])]) handleUnwatch(conn, file);
}

export function handleChunk(conn: Conn, msg: LiveChunk): void {
  const engine = conn.app.engine!;
  const session = conn.session!;
  if (session.role === 'user') {
    const file = engine.getRowById(engine.table(FILES), msg.file, true);
    const ok = file !== undefined && file.$createdBy === session.userId && (file.state === 'writing' || (msg.end === true && file.state === 'complete'));
    if (!ok) {
      let refused = refusedOf.get(conn);
      if (!refused) refusedOf.set(conn, (refused = new Set()));
      if (!refused.has(msg.file)) {
        refused.add(msg.file);
        conn.send({ t: 'error', code: 'PERMISSION_DENIED', message: `chunks of file ${msg.file} were refused: only its writer sends them, while it is being written` });
      }
      return;
    }
  }
  for (const other of watchers(conn.app).get(msg.file) ?? []) {
    if (other === conn) continue;
    if (readVerdict(other, FILES, msg.file).verdict === 'readable') other.send(msg);
  }
}
