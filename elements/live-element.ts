/**
 * What the lazy part's elements that show one live subscription share (`<jazz-count>`,
 * `<jazz-history>`; lazy: part of more.ts): the database (DbController: `.db`, or the nearest
 * `<jazz-db>`'s, and why there is none), rendering into the light DOM, subscribing again when an
 * attribute the subscription depends on (`key`) or the database changes and stopping when the
 * element leaves the page, and the error state (`state="error"`, the message in `title`, a
 * `jazz-error` once).
 *
 * A subclass subscribes in `subscribe` (which may throw: the mistake is reported), sets `stop`,
 * and ignores calls of callbacks made for an older `generation`.
 */
import { ReactiveElement } from '@lit/reactive-element';
import type { BrowserDb, DynamicApp } from '../worker/page/index.ts';
import { DbController } from './db-controller.ts';
import { errorDetail, report, type JazzErrorDetail } from './events.ts';

export abstract class LiveElement extends ReactiveElement {
  protected readonly ctl = new DbController(this);
  /** Stops the current subscription. */
  protected stop: (() => void) | undefined;
  /** Bumped whenever the subscription stops: callbacks of an older one are ignored. */
  protected generation = 0;
  #key = '';
  #db: BrowserDb<DynamicApp> | undefined;

  /** The database: set directly, or the nearest `<jazz-db>`'s. */
  get db(): BrowserDb<DynamicApp> | undefined {
    return this.ctl.db;
  }

  set db(db: BrowserDb<DynamicApp> | undefined) {
    this.ctl.db = db;
  }

  /** What the subscription depends on besides the database (its attributes). */
  protected abstract key(): unknown[];

  /** Subscribes (after `unsubscribe`); throwing reports the mistake. */
  protected abstract subscribe(db: BrowserDb<DynamicApp>): void;

  protected override createRenderRoot(): HTMLElement {
    return this;
  }

  override connectedCallback(): void {
    super.connectedCallback();
    this.#key = '';
    this.requestUpdate();
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    this.unsubscribe();
  }

  protected unsubscribe(): void {
    this.stop?.();
    this.stop = undefined;
    this.generation++;
  }

  protected override updated(): void {
    if (!this.isConnected) return;
    const db = this.db;
    const problem = this.ctl.problem();
    const key = JSON.stringify([...this.key(), problem?.message]);
    if (key === this.#key && db === this.#db) return;
    this.#key = key;
    this.#db = db;
    this.unsubscribe();
    if (problem) return this.fail(problem, false);
    if (!db) return this.setAttribute('state', 'loading');
    try {
      this.subscribe(db);
    } catch (e) {
      this.fail(errorDetail(e));
    }
  }

  /** Shows the error state; `own`: the mistake is this element's, so it reports it too. */
  protected fail(detail: JazzErrorDetail, own = true): void {
    this.unsubscribe();
    this.setAttribute('state', 'error');
    this.title = detail.message;
    if (own) report(this, detail);
  }
}
