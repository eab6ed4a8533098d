/**
 * What a write, a batch and a live query hand back: one definition for the engine's `Db`
 * (src/db.ts) and the page's client (worker/page/client.ts), which both return these.
 */
import type { Tier } from './engine/engine.ts';

export interface WaitOptions {
  readonly tier: Tier;
}

/**
 * What a write returns at once: the row's id, its batch, and `wait`, which resolves once the write
 * is durable at the tier (`local` by default) to the row as it reads then (null when it is deleted,
 * or the database was closed before it could be read), or rejects with the reason it never will be.
 */
export interface WriteHandle<R = Readonly<Record<string, unknown>> & { readonly id: string }> {
  readonly id: string;
  readonly batchId: string;
  wait(opts?: WaitOptions): Promise<R | null>;
}

/** What a batch returns: the ids it wrote, in order, and its one fate. */
export interface BatchHandle {
  readonly batchId: string;
  readonly ids: readonly string[];
  wait(opts?: WaitOptions): Promise<void>;
}

export interface SubscriptionUpdate<R> {
  /** The whole current result, in order. */
  readonly all: readonly R[];
  /** What changed since the last call (the first call reports every row as added). */
  readonly delta: { readonly added: readonly R[]; readonly removed: readonly R[]; readonly changed: readonly R[] };
}
