/**
 * `<jazz-db app server driver db-name token>`: opens a database for everything inside it
 * (DESIGN.md §10). The schema is the JSON in a child `<script type="application/json"
 * slot="schema">`, or the `.schema` property (the JSON form, or an app from `s.defineApp`).
 * Descendants get the database through the context protocol (`jazzDbContext`), so an element
 * inside a shadow root finds it too.
 *
 * It renders nothing of its own (its children are the page's). Changing `app`, `server`,
 * `driver`, `db-name` or the schema closes the database and opens the new one; changing `token`
 * only hands the new credentials to the open one. Removing the element from the page closes it.
 *
 * Events: `jazz-status` (the database's `DbStatus`, whenever it changes) and `jazz-error` (the
 * schema is wrong, the database could not open, or a write nobody waited for failed).
 */
import { ContextProvider } from '@lit/context';
import { ReactiveElement, type PropertyValues } from '@lit/reactive-element';
import { createDb, JazzError, s, type BrowserDb, type DriverType, type DynamicApp } from '../worker/page/index.ts';
import { jazzDbContext } from './context.ts';
import { errorDetail, fire } from './events.ts';

const DRIVERS: readonly DriverType[] = ['opfs', 'idb', 'memory'];

export class JazzDbElement extends ReactiveElement {
  static override properties = {
    app: { type: String },
    server: { type: String },
    driver: { type: String },
    dbName: { type: String, attribute: 'db-name' },
    token: { type: String },
    workerUrl: { type: String, attribute: 'worker-url' },
    schema: { attribute: false },
  };

  /** The app id the sync server knows this app by; also the default `db-name`. */
  declare app: string | undefined;
  /** A sync server, e.g. `ws://localhost:4000`; none keeps the data on this device only. */
  declare server: string | undefined;
  /** `opfs` (default), `idb` or `memory`. */
  declare driver: string | undefined;
  /** The database's name in the browser's storage (default: `app`, else `default`). */
  declare dbName: string | undefined;
  /** The user's token (a JWT) for the sync server. */
  declare token: string | undefined;
  /** Where `jazz-worker.js` is, when it is not beside `jazz.js`. */
  declare workerUrl: string | undefined;
  /** The schema: the JSON form (object or text) or an app from `s.defineApp`; else the child script. */
  declare schema: unknown;

  readonly #provider = new ContextProvider(this, { context: jazzDbContext, initialValue: undefined });
  #db: BrowserDb<DynamicApp> | undefined;
  #openedWith = '';
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
    const app = this.#app();
    if (app === null) return; // a bad schema (reported)
    if (app) this.#observer?.disconnect();
    const key = JSON.stringify([app?.$hash, this.app, this.server, this.driver, this.dbName, this.workerUrl]);
    if (this.#db && key === this.#openedWith) {
      if (changed.has('token')) this.#db.setAuth(this.token ? { token: this.token } : {});
      return;
    }
    this.#close();
    if (!app) return;
    const driver = (this.driver ?? 'opfs') as DriverType;
    if (!DRIVERS.includes(driver)) {
      fire(this, 'jazz-error', errorDetail(new JazzError('SCHEMA_INVALID', `driver must be one of ${DRIVERS.join(', ')}, got "${driver}"`), { attribute: 'driver', position: 0 }));
      return;
    }
    const db = createDb({
      app,
      driver: { type: driver, dbName: this.dbName || this.app || 'default' },
      ...(this.server ? { server: this.server } : {}),
      ...(this.app ? { appId: this.app } : {}),
      ...(this.token ? { auth: { token: this.token } } : {}),
      ...(this.workerUrl ? { workerUrl: new URL(this.workerUrl, document.baseURI) } : {}),
    });
    this.#db = db;
    this.#openedWith = key;
    this.#stop.push(
      db.onStatus((status) => fire(this, 'jazz-status', status)),
      db.onError((e) => fire(this, 'jazz-error', errorDetail(e))),
      db.onRejected((e) => fire(this, 'jazz-error', errorDetail(e))),
    );
    db.ready.catch((e: unknown) => {
      if (this.#db === db) fire(this, 'jazz-error', errorDetail(e));
    });
    this.#provider.setValue(db);
  }

  /** The app from `.schema` or the schema script; undefined when there is none, null when it is wrong. */
  #app(): DynamicApp | undefined | null {
    let source: unknown = this.schema;
    if (source === undefined) {
      const script = this.querySelector(':scope > script[slot="schema"]') ?? this.querySelector(':scope > script[type="application/json"]');
      if (!script) return undefined;
      source = script.textContent ?? '';
    }
    if (source && typeof source === 'object' && '$schema' in source) return source as DynamicApp;
    try {
      return s.fromJSON(source);
    } catch (e) {
      const error = e instanceof JazzError ? e : new JazzError('SCHEMA_INVALID', `the schema is not valid JSON: ${(e as Error).message}`);
      // Report one bad schema once, not on every update.
      const key = `bad:${String(source)}`;
      if (this.#openedWith !== key) {
        this.#close();
        this.#openedWith = key;
        fire(this, 'jazz-error', errorDetail(error, { attribute: 'schema' }));
      }
      return null;
    }
  }

  #close(): void {
    const db = this.#db;
    if (!db) return;
    this.#db = undefined;
    this.#openedWith = '';
    for (const stop of this.#stop.splice(0)) stop();
    this.#provider.setValue(undefined);
    void db.close().catch(() => {});
  }
}
