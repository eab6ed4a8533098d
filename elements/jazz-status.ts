/**
 * `<jazz-status>`: the database's status in a line that reads as words, styled or not: the
 * connection, writes pending, leader or follower tab, and the storage driver in use, separated by
 * commas ("online, 2 pending, leader, opfs"). It has `role="status"`, so assistive technology
 * announces its changes politely.
 *
 * The connection is `online`, `connecting`, `offline`, `local only` (no server), and in place of
 * `offline` what someone has to do when the server refused this page: `update needed` (the server
 * does not accept this app's schema or this client's protocol: `SCHEMA_MISMATCH`,
 * `PROTOCOL_MISMATCH`), `unknown app` (the server has no such app: `UNKNOWN_APP`, `NO_SCHEMA`),
 * `sign in needed` (`UNAUTHORIZED`, `TOKEN_EXPIRED`); `error` when there is no database (its
 * `<jazz-db>` has no usable schema, or there is no `<jazz-db>`). The connection's `title` is the
 * error's message.
 *
 * It renders in its shadow root, styleable from the page with CSS parts (`::part(connection)` plus
 * one part named for the connection: `::part(online)`, `::part(offline)`, `::part(update-needed)`,
 * `::part(unknown-app)`, `::part(sign-in-needed)`, `::part(error)`, ...; `::part(pending)`,
 * `::part(role)`, `::part(driver)`), and mirrors the status in attributes on itself (`connection`
 * = the same names, `pending`, `tab` = leader or follower, `driver`) for selectors like
 * `jazz-status[connection="update-needed"]`, and `state` (`loading`, `ready`, or `error` when
 * there is no database). `.status` is the last `DbStatus`.
 *
 * With `plain` it speaks to the people using the app rather than to developers: one sentence in
 * the connection part ("Saved on this device · syncing…", "All changes saved and synced", "Offline ·
 * 2 changes saved on this device, not synced yet", "Saved on this device · reload the page to
 * update the app", …), no tab or driver. In either mode, a write the server refused shows in a
 * part `refused` with `role="alert"` (announced at once): what was refused and that it was undone
 * on this device, with the server's reason; it clears after 30 seconds or with the next refusal.
 */
import { ReactiveElement, type PropertyValues } from '@lit/reactive-element';
import type { BrowserDb, DbStatus, DynamicApp } from '../worker/page/index.ts';
import { DbController } from './db-controller.ts';

/** What the connection shows instead of `offline` when the server said why it will not sync. */
const NEEDS: Readonly<Record<string, string>> = {
  SCHEMA_MISMATCH: 'update-needed',
  PROTOCOL_MISMATCH: 'update-needed',
  UNKNOWN_APP: 'unknown-app',
  NO_SCHEMA: 'unknown-app',
  UNAUTHORIZED: 'sign-in-needed',
  TOKEN_EXPIRED: 'sign-in-needed',
};

const PARTS = ['connection', 'pending', 'role', 'driver'];

/** `plain`: the connection (with the changes waiting) in words for the people using the app. */
const PLAIN: Readonly<Record<string, (pending: number) => string>> = {
  error: () => 'This page cannot open its data',
  connecting: (n) => (n ? 'Saved on this device · connecting…' : 'Connecting…'),
  local: () => 'Saved on this device',
  online: (n) => (n ? 'Saved on this device · syncing…' : 'All changes saved and synced'),
  offline: (n) => `Offline · ${n ? `${n} ${n === 1 ? 'change' : 'changes'} saved on this device, not synced yet` : 'changes are saved on this device'}`,
  'update-needed': () => 'Saved on this device · reload the page to update the app and sync',
  'unknown-app': () => 'Saved on this device · the server does not know this app',
  'sign-in-needed': () => 'Saved on this device · sign in again to sync',
};

/** Why the server refused a change, in words. */
const REFUSED: Readonly<Record<string, string>> = {
  PERMISSION_DENIED: 'you are not allowed to make it',
  TOO_LARGE: 'it is too large',
};

/**
 * The database's status in words (see the module comment above).
 * @tagname jazz-status
 */
export class JazzStatusElement extends ReactiveElement {
  static override properties = { plain: { type: Boolean } };

  /** Words for the people using the app instead of the developer's line. */
  declare plain: boolean;

  readonly #ctl = new DbController(this);
  #refused: HTMLElement | undefined;
  #refusedTimer: ReturnType<typeof setTimeout> | undefined;
  #watching: BrowserDb<DynamicApp> | undefined;
  #unwatch: (() => void) | undefined;
  #status: DbStatus | undefined;
  /** The parts' spans, with a text node before each but the first: ", ", or nothing before an empty part. */
  #spans: HTMLElement[] | undefined;

  get db(): BrowserDb<DynamicApp> | undefined {
    return this.#ctl.db;
  }

  set db(db: BrowserDb<DynamicApp> | undefined) {
    this.#ctl.db = db;
  }

  /** The status shown (undefined without a database). */
  get status(): DbStatus | undefined {
    return this.#status;
  }

  override connectedCallback(): void {
    super.connectedCallback();
    if (!this.hasAttribute('role')) this.setAttribute('role', 'status');
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
    const stops = db ? [db.onStatus((s) => ((this.#status = s), this.requestUpdate())), db.onRejected((e) => this.#showRefused(e))] : [];
    this.#unwatch = () => stops.forEach((stop) => stop());
  }

  protected override update(changed: PropertyValues<this>): void {
    super.update(changed);
    const problem = this.#ctl.problem();
    const s = this.#status;
    const sync = s?.sync;
    const error = problem ?? sync?.lastError;
    const connection = problem ? 'error' : !s?.ready ? 'connecting' : !sync ? 'local' : (sync.state !== 'online' && NEEDS[sync.lastError?.code ?? '']) || sync.state;
    const pending = (s?.pendingWrites ?? 0) + (sync?.pendingBatches ?? 0);
    const role = s?.role ?? '';
    const driver = s?.driver?.used ?? '';
    const root = this.renderRoot;
    const spans = (this.#spans ??= PARTS.map((part, i) => {
      if (i) root.append('');
      const span = root.appendChild(document.createElement('span'));
      span.setAttribute('part', part);
      return span;
    }));
    const text = this.plain
      ? [(PLAIN[connection] ?? PLAIN['offline']!)(pending), '', '', '']
      : [connection === 'local' ? 'local only' : connection.replace(/-/g, ' '), `${pending} pending`, role, driver];
    spans.forEach((span, i) => {
      span.textContent = text[i]!;
      if (i) (span.previousSibling as Text).data = text[i] ? ', ' : '';
    });
    spans[0]!.setAttribute('part', `connection ${connection}`);
    spans[0]!.title = error?.message ?? '';
    spans[3]!.title = s?.driver?.fallbackReason ?? '';
    const mirror: Record<string, string> = { state: problem ? 'error' : s?.ready ? 'ready' : 'loading', connection, pending: String(pending), tab: role, driver };
    for (const [name, value] of Object.entries(mirror)) {
      if (value) this.setAttribute(name, value);
      else this.removeAttribute(name);
    }
  }

  /** A change the server refused: said at once (`role="alert"`), with what happened to it. */
  #showRefused(e: { code?: string; message?: string }): void {
    const part = (this.#refused ??= this.renderRoot.appendChild(document.createElement('span')));
    part.setAttribute('part', 'refused');
    part.setAttribute('role', 'alert');
    const why = REFUSED[e.code ?? ''] ?? e.message ?? e.code ?? 'no reason given';
    part.textContent = ` · The server refused a change (${why}); it was undone on this device.`;
    clearTimeout(this.#refusedTimer);
    this.#refusedTimer = setTimeout(() => (part.textContent = ''), 30_000);
  }
}
