/**
 * `<jazz-db app server driver db-name cache-bytes token branch undo warm-start>`: opens a database for everything inside it. The
 * schema is the JSON in a child `<script type="application/json" slot="schema">`, or the `.schema`
 * property (the JSON form, or an app from `s.defineApp`). Descendants get the database through
 * the context protocol (`jazzDbContext`), so an element inside a shadow root finds it too.
 *
 * Migrations (a page deployed with a newer schema, or a tab still on an older one beside it) go in
 * a child `<script type="application/json" slot="migrations">` holding a JSON array of them (what
 * `s.defineMigration` returns, or the CLI writes); a bad one is `MIGRATION_INVALID`.
 *
 * The `.indexes` property takes indexes on several columns (createDb's `indexes`, checked in the
 * worker against the schema: a bad one is `OPTION_INVALID`); changing it reopens the database.
 *
 * `warm-start` (createDb's `warmStart`): each `<jazz-query>` inside shows its rows from the last
 * visit at once, `aria-busy` and without events, until the database answers. It is read when the
 * database opens (it only matters then: changing it does not reopen the database).
 *
 * `branch` reads and writes on that branch (made from main, now, if the database does not have it;
 * a branch the server has already is taken as the server started it) and syncs it.
 *
 * It renders nothing of its own (its children are the page's). Changing `app`, `server`,
 * `driver`, `db-name`, `cache-bytes`, `branch`, the schema or the migrations closes the database and opens the new one;
 * changing `token` only hands the new credentials to the open one. Removing the element from the
 * page closes it.
 *
 * The `state` attribute is `loading` (opening), `ready` or `error`. Every mistake is reported as a
 * `jazz-error` from here with a `console.warn` (once per distinct code and message):
 *
 * - No schema once the document has been parsed (`SCHEMA_MISSING`; a schema set or added later
 *   still opens the database), or a bad one (`SCHEMA_INVALID`, `attribute: 'schema'`), or a bad
 *   `driver`: `state="error"`, and the elements inside show the same error in their own error
 *   state (through `jazzDbErrorContext`) without firing it again.
 * - The database could not open, or a write nobody waited for failed.
 * - The server rejected a batch (with its `batchId`; the element that wrote it fires one too).
 * - The sync client's `lastError` (`UNKNOWN_APP`, `SCHEMA_MISMATCH`, `PROTOCOL_MISMATCH`,
 *   `UNAUTHORIZED`, `UNREACHABLE`, ...): once per distinct error until sync is online again, not
 *   on every retry. While such an error stands `state` is `error`, except for `UNREACHABLE`: being
 *   offline is normal for a local-first page, and the data keeps working.
 *
 * `undo="table"` keeps the undo list of the elements' writes in that table (undo.ts, lazy: only
 * the attribute is read, by the lazy part).
 *
 * Events: `jazz-status` (the database's `DbStatus`, whenever it changes), `jazz-merge` (its
 * database merged a branch into its own: `{ from, into, batchId, ids }`, from `db.onMerge`) and
 * `jazz-error`.
 */
import { ReactiveElement, type PropertyValues } from '@lit/reactive-element';
import { createDb, JazzError, s, type BrowserDb, type DbStatus, type DriverType, type DynamicApp } from '../worker/page/index.ts';
import { jazzDbContext, jazzDbErrorContext, Provided } from './context.ts';
import { ElementError, errorDetail, fire, report, type JazzErrorDetail } from './events.ts';

/**
 * Opens a database for everything inside it (see the module comment above).
 * @tagname jazz-db
 * @slot schema - A `<script type="application/json">` with the app's schema.
 * @slot migrations - A `<script type="application/json">` with an array of migrations.
 * @fires jazz-status - The database's status (`DbStatus`), whenever it changes.
 * @fires jazz-merge - The database merged a branch into its own: `{ from, into, batchId, ids }`.
 * @fires jazz-error - A mistake or a failure: `{ code, message, ... }`.
 * @attr state - `loading`, `ready` or `error` (set by the element).
 * @attr undo - The table that keeps the undo list of the elements' writes.
 */
export class JazzDbElement extends ReactiveElement {
  static override properties = {
    app: { type: String },
    server: { type: String },
    driver: { type: String },
    dbName: { type: String, attribute: 'db-name' },
    cacheBytes: { type: Number, attribute: 'cache-bytes' },
    token: { type: String },
    workerUrl: { type: String, attribute: 'worker-url' },
    branch: { type: String },
    schema: { attribute: false },
    indexes: { attribute: false },
    warmStart: { type: Boolean, attribute: 'warm-start' },
  };

  /** The app id the sync server knows this app by; also the default `db-name`. */
  declare app: string | undefined;
  /** A sync server, e.g. `ws://localhost:4000`; none keeps the data on this device only. */
  declare server: string | undefined;
  /** `opfs` (default), `idb` or `memory`. */
  declare driver: string | undefined;
  /** The database's name in the browser's storage (default: `app`, else `default`). */
  declare dbName: string | undefined;
  /** `cache-bytes`: the `opfs` driver's page cache in bytes (default 32 MiB, at least 1 MiB; createDb's `driver.cacheBytes`). */
  declare cacheBytes: number | undefined;
  /** The user's token (a JWT) for the sync server. */
  declare token: string | undefined;
  /** The branch to read and write (main when absent). */
  declare branch: string | undefined;
  /** Where `jazz-worker.js` is, when it is not beside `jazz.js`. */
  declare workerUrl: string | undefined;
  /** The schema: the JSON form (object or text) or an app from `s.defineApp`; else the child script. */
  declare schema: unknown;
  /** Indexes on several columns, per table (createDb's `indexes`): `{ todos: [['projectId', 'title']] }`. */
  declare indexes: Readonly<Record<string, readonly (readonly string[])[]>> | undefined;
  /** `warm-start`: the lists inside show their rows from the last visit at once (createDb's `warmStart`). */
  declare warmStart: boolean;

  readonly #provider = new Provided(this, jazzDbContext, undefined);
  readonly #errorProvider = new Provided<JazzErrorDetail | undefined>(this, jazzDbErrorContext, undefined);
  #db: BrowserDb<DynamicApp> | undefined;
  #openedWith = '';
  /** The mistake that keeps the database closed (its code and message), reported once. */
  #failedWith = '';
  /** The sync errors reported since sync was last online. */
  readonly #syncErrors = new Set<string>();
  #stop: (() => void)[] = [];
  #observer: MutationObserver | undefined;

  /** The open database (undefined until there is a schema). */
  get db(): BrowserDb<DynamicApp> | undefined {
    return this.#db;
  }

  protected override createRenderRoot(): HTMLElement {
    return this;
  }

  override connectedCallback(): void {
    super.connectedCallback();
    this.#provider.announce();
    // The schema script may be parsed after this element is upgraded (or added later).
    this.#observer ??= new MutationObserver(() => this.requestUpdate());
    this.#observer.observe(this, { childList: true });
    this.requestUpdate();
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    this.#observer?.disconnect();
    // Moving the element (removed and added back in one task) keeps the database open.
    queueMicrotask(() => {
      if (!this.isConnected) this.#close();
    });
  }

  protected override updated(changed: PropertyValues<this>): void {
    if (!this.isConnected) return;
    let app: DynamicApp | undefined;
    try {
      app = this.#app();
    } catch (e) {
      return this.#fail(errorDetail(e, { attribute: 'schema' }));
    }
    if (!app) {
      // The schema script may not be parsed yet: a mistake only once the document is.
      if (document.readyState === 'loading') return void document.addEventListener('DOMContentLoaded', () => this.requestUpdate(), { once: true });
      return this.#fail(
        errorDetail(new ElementError('SCHEMA_MISSING', '<jazz-db> has no schema: put a <script type="application/json" slot="schema"> with { "tables": … } inside it, or set .schema')),
      );
    }
    this.#observer?.disconnect();
    // Migrations: a JSON array in <script type="application/json" slot="migrations">.
    const migrationsText = this.querySelector(':scope > script[slot="migrations"]')?.textContent ?? '';
    let migrations: unknown[] = [];
    try {
      if (migrationsText.trim()) migrations = JSON.parse(migrationsText);
      if (!Array.isArray(migrations)) throw new Error('it must hold a JSON array of migrations');
    } catch (e) {
      return this.#fail(errorDetail(new JazzError('MIGRATION_INVALID', `the migrations script is not valid: ${(e as Error).message}`), { attribute: 'migrations' }));
    }
    const key = JSON.stringify([app.$hash, this.app, this.server, this.driver, this.dbName, this.cacheBytes, this.workerUrl, migrationsText, this.branch, this.indexes]);
    if (this.#db && key === this.#openedWith) {
      if (changed.has('token')) this.#db.setAuth(this.token ? { token: this.token } : {});
      return;
    }
    // The worker refuses a driver that is none of opfs, idb and memory (OPTION_INVALID, reported
    // as the open's failure below).
    const driver = (this.driver ?? 'opfs') as DriverType;
    this.#close();
    const db = createDb({
      app,
      migrations,
      indexes: this.indexes,
      driver: { type: driver, dbName: this.dbName || this.app || 'default', cacheBytes: this.cacheBytes },
      server: this.server || undefined,
      appId: this.app || undefined,
      auth: this.token ? { token: this.token } : undefined,
      workerUrl: this.workerUrl ? new URL(this.workerUrl, document.baseURI) : undefined,
      branch: this.branch || undefined,
      warmStart: this.warmStart,
    });
    this.#db = db;
    this.#openedWith = key;
    this.#failedWith = '';
    this.#stop.push(
      db.onStatus((status) => {
        this.#syncError(status);
        this.#showState();
        fire(this, 'jazz-status', status);
      }),
      db.onError((e) => report(this, errorDetail(e))),
      db.onRejected((e, batchId) => report(this, { ...errorDetail(e), ...(batchId ? { batchId } : {}) })),
      db.onMerge((m) => fire(this, 'jazz-merge', m)),
    );
    db.ready.catch((e: unknown) => {
      if (this.#db === db) report(this, errorDetail(e));
    });
    this.#errorProvider.set(undefined);
    this.#provider.set(db);
    this.#showState();
  }

  /** The app from `.schema` or the schema script; undefined when there is none; throws when it is wrong. */
  #app(): DynamicApp | undefined {
    let source: unknown = this.schema;
    if (source === undefined) {
      const script = this.querySelector(':scope > script[slot="schema"]') ?? this.querySelector(':scope > script[type="application/json"]:not([slot])');
      if (!script) return undefined;
      source = script.textContent ?? '';
    }
    if (source && typeof source === 'object' && '$schema' in source) return source as DynamicApp;
    try {
      return s.fromJSON(source);
    } catch (e) {
      throw e instanceof JazzError ? e : new JazzError('SCHEMA_INVALID', `the schema is not valid JSON: ${(e as Error).message}`);
    }
  }

  /** A mistake that keeps the database closed: reported once, shown here and in the elements inside. */
  #fail(detail: JazzErrorDetail): void {
    const key = `${detail.code}:${detail.message}`;
    if (key === this.#failedWith) return;
    this.#close();
    this.#failedWith = key;
    report(this, detail);
    this.#errorProvider.set(detail);
    this.#showState();
  }

  /** Reports the sync client's last error once per distinct code and message while it is not online. */
  #syncError(status: DbStatus): void {
    const e = status.sync?.lastError;
    if (!e) return this.#syncErrors.clear();
    const key = `${e.code}:${e.message}`;
    if (this.#syncErrors.has(key)) return;
    this.#syncErrors.add(key);
    report(this, errorDetail(e));
  }

  #showState(): void {
    const status = this.#db?.status;
    const sync = status?.sync?.lastError;
    const error = this.#failedWith || status?.error || (sync && sync.code !== 'UNREACHABLE');
    this.setAttribute('state', error ? 'error' : status?.ready ? 'ready' : 'loading');
  }

  #close(): void {
    const db = this.#db;
    if (!db) return;
    this.#db = undefined;
    this.#openedWith = '';
    this.#syncErrors.clear();
    for (const stop of this.#stop.splice(0)) stop();
    this.#provider.set(undefined);
    void db.close().catch(() => {});
  }
}
