/**
 * The contexts that carry a `<jazz-db>`'s database, and the reason it has none, to the elements
 * inside it, by the context protocol that `@lit/context` implements: a descendant dispatches a
 * `context-request` event that bubbles and is composed, so it reaches its `<jazz-db>` from inside
 * any number of shadow roots, and the `<jazz-db>` answers through the event's callback, again on
 * every change for a request that subscribed (with the same unsubscribe function every time, which
 * is how `@lit/context`'s consumers tell a new provider from the old one).
 *
 * The provider is this file's `Provided` rather than `@lit/context`'s `ContextProvider`: it is all
 * `<jazz-db>` needs, for fewer bytes of `jazz.js`. Like that one it announces itself with a
 * `context-provider` event when connected (what `@lit/context`'s `ContextRoot` listens for).
 */
import { ContextEvent, createContext, type Context } from '@lit/context';
import type { BrowserDb, DynamicApp } from '../worker/page/index.ts';
import type { JazzErrorDetail } from './events.ts';

/** The database an element works on; `undefined` until its `<jazz-db>` has a schema. */
export type JazzDbValue = BrowserDb<DynamicApp> | undefined;

/** The context key `<jazz-db>` provides and the other elements consume (with updates). */
export const jazzDbContext = createContext<JazzDbValue>(Symbol.for('jazz-elements/db'));

/**
 * Why the `<jazz-db>` has no database to give (no schema, a bad one, a bad `driver`); `undefined`
 * when nothing is wrong. The elements inside show it in their error state (the `<jazz-db>` alone
 * fires the `jazz-error`).
 */
export const jazzDbErrorContext = createContext<JazzErrorDetail | undefined>(Symbol.for('jazz-elements/db-error'));

type Callback<T> = (value: T, unsubscribe?: () => void) => void;

/** A value `host` provides for `context` to the elements inside it, telling subscribers of each change. */
export class Provided<T> {
  readonly #host: HTMLElement;
  readonly #context: Context<unknown, T>;
  /** Each subscriber with its own unsubscribe function (the same one every time: consumers compare it). */
  readonly #subscribers = new Map<Callback<T>, () => void>();
  #value: T;

  constructor(host: HTMLElement, context: Context<unknown, T>, value: T) {
    this.#host = host;
    this.#context = context;
    this.#value = value;
    host.addEventListener('context-request', (e) => {
      const { context: wanted, contextTarget, callback, subscribe } = e as ContextEvent<Context<unknown, T>>;
      if (wanted !== context || contextTarget === host) return;
      e.stopPropagation();
      if (!subscribe) return callback(this.#value);
      let unsubscribe = this.#subscribers.get(callback);
      if (!unsubscribe) this.#subscribers.set(callback, (unsubscribe = () => this.#subscribers.delete(callback)));
      callback(this.#value, unsubscribe);
    });
  }

  /** Says a provider is here (for `ContextRoot`, which re-sends the requests nobody answered yet). */
  announce(): void {
    this.#host.dispatchEvent(Object.assign(new Event('context-provider', { bubbles: true, composed: true }), { context: this.#context, contextTarget: this.#host }));
  }

  set(value: T): void {
    if (value === this.#value) return;
    this.#value = value;
    for (const [callback, unsubscribe] of this.#subscribers) callback(value, unsubscribe);
  }
}

/** Asks for `context` from `host` and follows its changes; the answer goes to `set`. Returns how to stop. */
export function request<T>(host: HTMLElement, context: Context<unknown, T>, set: (value: T) => void): () => void {
  let stop: (() => void) | undefined;
  host.dispatchEvent(
    new ContextEvent(
      context,
      host,
      (value, unsubscribe) => {
        // A new provider (the element moved): let go of the old one.
        if (stop !== unsubscribe) stop?.();
        stop = unsubscribe;
        set(value);
      },
      true,
    ),
  );
  return () => stop?.();
}
