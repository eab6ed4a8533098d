/**
 * The warm-start specs' page (e2e/client-warm.spec.ts in Chromium, e2e/engines/warm.spec.ts in
 * Firefox and WebKitGTK), on `e2e/client.html`: `startWarm` runs in the page (pass it to
 * `evaluate` with `[schema, dbName]`), opens the database with `warmStart`, and keeps in
 * `window.t`: `app`, `db`, `updates` (every update of the live queries `follow(name, query)`
 * starts, with whether the database was open then) and `follow`.
 */
export function startWarm([schema, dbName, workerUrl]: readonly [unknown, string, string?]): void {
  const { createDb, s } = window.jazz;
  const app = s.fromJSON(schema as never);
  const db = createDb({ app, driver: { type: 'opfs', dbName }, warmStart: true, ...(workerUrl ? { workerUrl: new URL(workerUrl, location.href) } : {}) });
  let ready = false;
  void db.ready.then(() => (ready = true));
  const updates: unknown[] = [];
  const follow = (name: string, q: any, opts?: object) =>
    db.subscribeAll(
      q,
      ({ all, delta, partial, stale }: any) =>
        updates.push({
          name,
          titles: all.map((r: any) => r.title),
          added: delta.added.length,
          removed: delta.removed.map((r: any) => r.title),
          changed: delta.changed.map((r: any) => r.title),
          partial: !!partial,
          stale: !!stale,
          ready,
        }),
      opts,
    );
  window.t = { app, db, updates, follow };
}
