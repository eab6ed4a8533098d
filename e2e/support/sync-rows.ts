/**
 * Rows as the sync specs compare them across devices and the server (the Chromium spec
 * client-sync.spec.ts and the cross-engine ones in e2e/engines/): the todos of the client specs'
 * schema, in id order, absent values as null.
 */
import type { TestSyncServer } from './sync-server.ts';

/** A row as compared across devices and the server. */
export interface Row {
  id: string;
  title: string;
  done: boolean;
  priority: number | null;
  projectId: string | null;
}

export function norm(rows: readonly Record<string, unknown>[]): Row[] {
  return rows
    .map((r) => ({
      id: r['id'] as string,
      title: r['title'] as string,
      done: r['done'] as boolean,
      priority: (r['priority'] as number | null | undefined) ?? null,
      projectId: (r['projectId'] as string | null | undefined) ?? null,
    }))
    .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

let appNo = 0;
/** A fresh app id per test, so the server's apps never mix. */
export function newAppId(name: string): string {
  return `sync-${name}-${Date.now().toString(36)}-${appNo++}`;
}

/** The live rows of the app's todos on the server, as `norm` shapes them. */
export function serverRows(server: TestSyncServer, appId: string): Row[] {
  const engine = server.engineOf(appId);
  if (!engine) throw new Error(`the server has no app ${appId}`);
  const t = engine.table('todos');
  const rows = [];
  for (const id of engine.rowIds('todos')) {
    const row = engine.getRowById(t, id);
    if (row) rows.push(row as Record<string, unknown>);
  }
  return norm(rows);
}
