/**
 * The page's side of the SQLite-WASM worker (sqlite.worker.ts): one call, one message, one answer.
 * A call's time on the page is the whole round trip page → worker → page.
 */
import type { SqliteAnswers, SqliteReply, SqliteRequest } from './sqlite-protocol.ts';

export class SqliteClient {
  readonly #worker = new Worker(new URL('./sqlite.worker.ts', import.meta.url), { type: 'module' });
  readonly #waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  #next = 0;

  constructor() {
    this.#worker.onmessage = (e: MessageEvent<SqliteReply>) => {
      const w = this.#waiting.get(e.data.seq);
      this.#waiting.delete(e.data.seq);
      if (e.data.ok) w?.resolve(e.data.value);
      else w?.reject(new Error(`SQLite worker: ${e.data.error}`));
    };
    this.#worker.onerror = (e) => {
      for (const w of this.#waiting.values()) w.reject(new Error(`SQLite worker failed: ${e.message}`));
      this.#waiting.clear();
    };
  }

  call<R extends SqliteRequest>(req: R): Promise<SqliteAnswers[R['op']]> {
    const seq = this.#next++;
    return new Promise((resolve, reject) => {
      this.#waiting.set(seq, { resolve: resolve as (v: unknown) => void, reject });
      this.#worker.postMessage({ ...req, seq });
    });
  }

  async close(): Promise<void> {
    await this.call({ op: 'close' }).catch(() => {});
    this.#worker.terminate();
  }
}
