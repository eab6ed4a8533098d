/**
 * Undo that survives a reload and follows its user to their other tabs and devices (lazy: part of
 * more.ts). `<jazz-db undo="undo">` names a table of the app's own schema, with a string column
 * `batch`, that holds the undo list; a `jazz-action="undo"` button anywhere in that `<jazz-db>`
 * undoes the user's last change.
 *
 * - **The list is in the database, not in the page's memory or localStorage.** Every write an
 *   element makes (a form's insert, a `jazz-field` change, a row's delete, a `<jazz-count>` batch,
 *   a `<jazz-history>` revert, a conflict picked: whatever `DbController.wrote` hears of) adds a
 *   row `{ batch: <its batchId> }` there, in a batch of its own right after it. So the list is
 *   durable (a reload finds it), shared by the tabs of the database (live queries), and synced to
 *   the user's other devices like any row: "Undo" on a phone undoes the last change made on the
 *   laptop. localStorage was the other choice: it is neither on the other devices nor live in the
 *   other tabs, and it is lost with the site's data in the same way as the database anyway.
 * - **Whose list.** With a `token` on the `<jazz-db>`, the list is the rows its user (the token's
 *   `sub`, the author every write is stamped with) created, so people sharing one database on a
 *   device, or an app with no read rules, never undo each other's changes; the app's permissions
 *   should keep the table to its authors too (`allowRead.where({ $createdBy: session.userId })`,
 *   and the same for insert and delete). Without a token, every row of the table counts.
 * - **Undo** takes the newest entry, writes `db.revertBatch(batch)` (one new batch, by this user:
 *   it syncs like any write, and the old versions stay), then deletes the entry. An entry whose
 *   revert writes nothing (undone already, refused by the server, or every field it set was set
 *   again since) is dropped and the one before it is undone, so each click undoes something. The
 *   revert and the entry's delete are two batches: a page closed between them leaves an entry
 *   whose revert writes nothing, dropped at the next click. Clicks are done one after the other.
 *   A batch this device does not hold (made on another device, in rows this one never loaded) is
 *   `BATCH_NOT_FOUND`, a `jazz-error` from the button; the entry stays for a device that has it.
 * - **The list is kept short**: recording the 51st entry deletes the oldest in the same batch.
 * - **Buttons** are enabled only while their list has an entry (so a keyboard user does not land
 *   on a button that does nothing); the page gives them their name ("Undo your last change").
 *   They are found in the document (not inside shadow roots). A MutationObserver follows each
 *   `<jazz-db undo>` (found when this loads, or when it fires `jazz-status`, as it does when its
 *   database opens): buttons added in it later, its database changing (`state`), its `token`. A
 *   page with no `<jazz-db undo>` has no observer at all (an observer of the whole document would
 *   make every row rendered anywhere cost a mutation record).
 * - A table that does not exist or has no string `batch` column is a `jazz-error` from the
 *   `<jazz-db>` (`attribute: 'undo'`), once; nothing is recorded and the buttons stay disabled.
 */
import { JazzError, QueryBuilder, type BrowserDb, type DynamicApp } from '../worker/page/index.ts';
import { errorDetail, fire, report } from './events.ts';
import type { JazzDbElement } from './jazz-db.ts';

/** The longest the list gets. */
export const KEEP = 50;

interface Entry {
  readonly id: string;
  readonly batch: string;
}

class UndoList {
  entries: readonly Entry[] = [];
  /** Entries this page has undone or dropped, until the live query stops showing them. */
  readonly #gone = new Set<string>();
  #queue: Promise<unknown> = Promise.resolve();

  constructor(
    readonly db: BrowserDb<DynamicApp>,
    readonly table: string,
    user: string | undefined,
  ) {
    let q = QueryBuilder.forTable(db.app.$schema, table).orderBy('id', 'desc');
    if (user) q = q.where({ $createdBy: user });
    db.subscribeAll(q, ({ all }) => ((this.entries = all as readonly Entry[]), refresh()));
  }

  /** The entry an undo would take. */
  get top(): Entry | undefined {
    return this.entries.find((e) => !this.#gone.has(e.id));
  }

  record(batchId: string): void {
    const kept = this.entries.filter((e) => !this.#gone.has(e.id));
    this.db.batch((b) => {
      b.insert(this.table, { batch: batchId });
      for (const e of kept.slice(KEEP - 1)) {
        this.#gone.add(e.id);
        b.delete(this.table, e.id);
      }
    });
  }

  undo(button: Element): void {
    this.#queue = this.#queue
      .then(async () => {
        for (let top = this.top; top; top = this.top) {
          this.#gone.add(top.id);
          refresh();
          let handle: Awaited<ReturnType<BrowserDb['revertBatch']>>;
          try {
            handle = await this.db.revertBatch(top.batch);
          } catch (e) {
            this.#gone.delete(top.id);
            refresh();
            throw e;
          }
          this.db.delete(this.table, top.id);
          if (handle.ids.length) return handle.wait();
        }
      })
      .catch((e: unknown) => fire(button, 'jazz-error', errorDetail(e)));
  }
}

const lists = new WeakMap<BrowserDb<DynamicApp>, Map<string, UndoList | null>>();

/**
 * The user a token names: its `sub`, read as src/sync/author.ts `subjectOf` reads it (the author
 * stamped on this page's writes). Not that function itself: its base64 decoder is shared with
 * jazz.js, which would then carry it (0.2 kB); the page has `atob`.
 */
function userOf(token: string): string | undefined {
  try {
    const bytes = Uint8Array.from(atob(token.split('.')[1]!.replace(/-/g, '+').replace(/_/g, '/')), (c) => c.charCodeAt(0));
    const sub = (JSON.parse(new TextDecoder().decode(bytes)) as { sub?: unknown }).sub;
    return typeof sub === 'string' && sub ? sub : undefined;
  } catch {
    return undefined;
  }
}

/** The `<jazz-db>` around `el`, also from inside a shadow root. */
function hostOf(el: Node): JazzDbElement | undefined {
  for (let n: Node | null = el; n; n = n instanceof ShadowRoot ? n.host : n.parentNode) {
    if (n instanceof Element && n.localName === 'jazz-db') return n as JazzDbElement;
  }
  return undefined;
}

/** The undo list of a `<jazz-db undo>` (made on first use), or undefined without one. */
function listOf(host: JazzDbElement | undefined): UndoList | undefined {
  const table = host?.getAttribute('undo')?.trim();
  const db = host?.db;
  if (!table || !db) return undefined;
  const user = host!.token ? userOf(host!.token) : undefined;
  let byKey = lists.get(db);
  if (!byKey) lists.set(db, (byKey = new Map()));
  const key = `${table} ${user ?? ''}`;
  if (!byKey.has(key)) {
    const batch = db.app.$schema.tables[table]?.columns['batch'];
    if (batch?.type !== 'string') {
      byKey.set(key, null);
      const problem = batch ? `its column "batch" is a ${batch.type}, not a string` : db.app.$schema.tables[table] ? 'it has no column "batch"' : 'the schema has no such table';
      report(
        host!,
        errorDetail(new JazzError('UNKNOWN_TABLE', `undo="${table}" names the table that keeps the undo list, with a string column "batch"; ${problem}`, { table }), {
          attribute: 'undo',
          position: 0,
        }),
      );
    } else byKey.set(key, new UndoList(db, table, user));
  }
  return byKey.get(key) ?? undefined;
}

/** An element (`host`) of the page wrote batch `batchId` to `db`: onto the undo list, if its `<jazz-db>` keeps one. */
export function remember(host: Element, db: BrowserDb<DynamicApp> | undefined, batchId: string): void {
  const jazzDb = hostOf(host);
  if (db && jazzDb?.db === db) listOf(jazzDb)?.record(batchId);
}

let scheduled = false;

/** Enables each undo button while its list has an entry (once per task, however often asked). */
function refresh(): void {
  if (scheduled) return;
  scheduled = true;
  queueMicrotask(() => {
    scheduled = false;
    for (const b of document.querySelectorAll<HTMLButtonElement>('[jazz-action="undo"]')) b.disabled = !listOf(hostOf(b))?.top;
  });
}

const watched = new WeakSet<Element>();
let observer: MutationObserver | undefined;

/** Follows a `<jazz-db undo>`: buttons added in it, its database changing (`state`), its `token`. */
function watch(el: Element): void {
  if (watched.has(el) || el.localName !== 'jazz-db' || !el.hasAttribute('undo')) return;
  watched.add(el);
  (observer ??= new MutationObserver(refresh)).observe(el, { childList: true, subtree: true, attributes: true, attributeFilter: ['jazz-action', 'undo', 'state', 'token'] });
  refresh();
}

/** Starts looking after the document's undo buttons (more.ts, once). */
export function watchUndo(): void {
  if (typeof document === 'undefined') return;
  for (const el of document.querySelectorAll('jazz-db[undo]')) watch(el);
  // Every <jazz-db> fires jazz-status when its database opens: one with `undo` made later.
  document.addEventListener('jazz-status', (e) => watch(e.composedPath()[0] as Element));
  document.addEventListener('click', (e) => {
    const button = (e.target as Element).closest?.('[jazz-action="undo"]');
    if (button && !(button as HTMLButtonElement).disabled) listOf(hostOf(button))?.undo(button);
  });
}
