/**
 * `<jazz-status>`: the database's status in a line: online, connecting, offline (or `local` without
 * a server), writes pending, leader or follower tab, and the storage driver in use. It renders in
 * its shadow root, styleable from the page with CSS parts (`::part(connection)`, `::part(online)`,
 * `::part(offline)`, `::part(pending)`, `::part(role)`, `::part(driver)`), and mirrors the status
 * in attributes on itself (`connection`, `pending`, `tab` = leader or follower, `driver`) for selectors like
 * `jazz-status[connection="offline"]`. `.status` is the last `DbStatus`.
 */
import { ContextConsumer } from '@lit/context';
import { ReactiveElement, type PropertyValues } from '@lit/reactive-element';
import type { BrowserDb, DbStatus, DynamicApp } from '../worker/page/index.ts';
import { jazzDbContext } from './context.ts';

export class JazzStatusElement extends ReactiveElement {
  readonly #consumer = new ContextConsumer(this, { context: jazzDbContext, subscribe: true, callback: () => this.requestUpdate() });
  #ownDb: BrowserDb<DynamicApp> | undefined;
  #watching: BrowserDb<DynamicApp> | undefined;
  #unwatch: (() => void) | undefined;
  #status: DbStatus | undefined;

  get db(): BrowserDb<DynamicApp> | undefined {
    return this.#ownDb ?? this.#consumer.value;
  }

  set db(db: BrowserDb<DynamicApp> | undefined) {
    this.#ownDb = db;
    this.requestUpdate();
  }

  /** The status shown (undefined without a database). */
  get status(): DbStatus | undefined {
    return this.#status;
  }

  override connectedCallback(): void {
    super.connectedCallback();
    this.requestUpdate();
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    this.#unwatch?.();
    this.#unwatch = undefined;
    this.#watching = undefined;
  }

  protected override willUpdate(_changed: PropertyValues<this>): void {
    const db = this.db;
    if (db === this.#watching) return;
    this.#unwatch?.();
    this.#watching = db;
    this.#status = db?.status;
    this.#unwatch = db?.onStatus((s) => {
      this.#status = s;
      this.requestUpdate();
    });
  }

  #parts: Record<'connection' | 'pending' | 'role' | 'driver', HTMLElement> | undefined;

  protected override update(changed: PropertyValues<this>): void {
    super.update(changed);
    const s = this.#status;
    const connection = !s || !s.ready ? 'connecting' : s.sync ? s.sync.state : 'local';
    const pending = (s?.pendingWrites ?? 0) + (s?.sync?.pendingBatches ?? 0);
    const role = s?.role ?? '';
    const driver = s?.driver?.used ?? '';
    const root = this.renderRoot;
    const p = (this.#parts ??= {
      connection: root.appendChild(document.createElement('span')),
      pending: root.appendChild(document.createElement('span')),
      role: root.appendChild(document.createElement('span')),
      driver: root.appendChild(document.createElement('span')),
    });
    p.connection.setAttribute('part', `connection ${connection}`);
    p.connection.textContent = connection === 'local' ? 'local only' : connection;
    p.pending.setAttribute('part', 'pending');
    p.pending.textContent = `${pending} pending`;
    p.role.setAttribute('part', 'role');
    p.role.textContent = role;
    p.driver.setAttribute('part', 'driver');
    p.driver.textContent = driver;
    p.driver.title = s?.driver?.fallbackReason ?? '';
    const mirror: Record<string, string> = { connection, pending: String(pending), tab: role, driver };
    for (const [name, value] of Object.entries(mirror)) {
      if (value) this.setAttribute(name, value);
      else this.removeAttribute(name);
    }
  }
}
