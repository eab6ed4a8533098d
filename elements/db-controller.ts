/**
 * What `<jazz-query>`, `<jazz-form>` and `<jazz-status>` do alike, as one Lit reactive controller:
 *
 * - **The database**: `.db` when the page set one, else the nearest `<jazz-db>`'s, found through
 *   context (`jazzDbContext`) and followed as it changes.
 * - **Why there is none**: `problem()` is the `<jazz-db>`'s own error (no schema, a bad one, a bad
 *   `driver`: the `<jazz-db>` fired that `jazz-error`, the element only shows it), or `NO_DATABASE`
 *   when no `<jazz-db>` answered the element at all, which the controller reports itself (a
 *   `jazz-error` from the element and a `console.warn`, once per time the element is connected).
 * - **Refused writes**: `wrote(batchId, by)` remembers who wrote a batch (the element, or the
 *   control or button in it); when the server rejects that batch (`db.onRejected` reports the
 *   handle's `batchId`), `jazz-error` is fired from the writer while it is still on the page, else
 *   from the element, with the `batchId` in its detail. Every such write is also handed to the
 *   lazy part's undo list (undo.ts `remember`: kept when the `<jazz-db>` has `undo`); the writers
 *   are all lazy code, so it is loaded by then.
 *
 * The element asks `problem()` in its update: a `.db` set in the same task as the element was
 * added counts, and a `<jazz-db>` that shows up later (a page that defines the tags itself, with
 * `ContextRoot`) clears the problem.
 */
import type { ReactiveController, ReactiveElement } from '@lit/reactive-element';
import { jazzDbContext, jazzDbErrorContext, request, type JazzDbValue } from './context.ts';
import { ElementError, errorDetail, report, type JazzErrorDetail } from './events.ts';
import { more } from './lazy.ts';

/** Batches remembered per element for its rejections (the oldest are forgotten first). */
const REMEMBERED = 1000;

export class DbController implements ReactiveController {
  readonly #host: ReactiveElement;
  #own: JazzDbValue;
  /** What the `<jazz-db>` gives: its database and its error. */
  #given: JazzDbValue;
  #error: JazzErrorDetail | undefined;
  /** Whether a `<jazz-db>` answered since the element was last connected. */
  #found = false;
  #missing: JazzErrorDetail | undefined;
  #unsubscribe: (() => void)[] = [];
  readonly #writers = new Map<string, Element>();
  #listening: JazzDbValue;
  #stop: (() => void) | undefined;

  constructor(host: ReactiveElement) {
    this.#host = host;
    host.addController(this);
  }

  get db(): JazzDbValue {
    return this.#own ?? this.#given;
  }

  set db(db: JazzDbValue) {
    this.#own = db;
    this.#host.requestUpdate();
  }

  hostConnected(): void {
    this.#found = false;
    this.#missing = this.#given = this.#error = undefined;
    const host = this.#host;
    this.#unsubscribe = [
      request(host, jazzDbContext, (db) => {
        this.#found = true;
        this.#given = db;
        host.requestUpdate();
      }),
      request(host, jazzDbErrorContext, (error) => {
        this.#error = error;
        host.requestUpdate();
      }),
    ];
  }

  hostUpdate(): void {
    if (this.#writers.size) this.#listen();
  }

  hostDisconnected(): void {
    for (const stop of this.#unsubscribe) stop();
    this.#stop?.();
    this.#stop = this.#listening = undefined;
  }

  /** Why the element has no database to work on; undefined when it has one or one is coming. */
  problem(): JazzErrorDetail | undefined {
    if (this.db) return undefined;
    if (this.#found) return this.#error;
    if (!this.#missing) {
      const tag = `<${this.#host.localName}>`;
      this.#missing = errorDetail(new ElementError('NO_DATABASE', `${tag} is not inside a <jazz-db>: put it inside one (also across shadow roots), or set its .db property`));
      report(this.#host, this.#missing);
    }
    return this.#missing;
  }

  /** `by` (the element, or a control or button in it) wrote the batch `batchId`: onto the undo list (lazy undo.ts), and remembered for its rejection. */
  wrote(batchId: string, by: Element): void {
    more?.remember(this.#host, this.db, batchId);
    this.#writers.set(batchId, by);
    if (this.#writers.size > REMEMBERED) this.#writers.delete(this.#writers.keys().next().value!);
    this.#listen();
  }

  #listen(): void {
    const db = this.db;
    if (db === this.#listening) return;
    this.#stop?.();
    this.#listening = db;
    this.#stop = db?.onRejected((e, batchId) => {
      const by = batchId !== undefined && this.#writers.get(batchId);
      if (!by) return;
      this.#writers.delete(batchId!);
      report(by.isConnected ? by : this.#host, { ...errorDetail(e), batchId: batchId! });
    });
  }
}
