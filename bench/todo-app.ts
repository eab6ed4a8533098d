/** The schema every benchmark uses: ~200-byte todos with one ref to 100 projects. */
import { migrationBuilder as m } from '../src/lens/builder.ts';
import { s } from '../src/schema/builder.ts';

export const benchApp = s.defineApp({
  projects: s.table({ name: s.string() }),
  todos: s.table({
    title: s.string(),
    done: s.boolean(),
    priority: s.int(),
    due: s.timestamp(),
    notes: s.string(),
    projectId: s.ref('projects'),
  }),
});

/**
 * Schema version k + 1 of benchApp (k ≥ 1) and the migrations that lead to it: v2 renames `title`
 * to `label` and adds `tag1`; each later version adds one more string column `tagK` (default '').
 * The browser bench opens its database as v2, v3, … to time an upgrade.
 */
export function upgradeTo(k: number) {
  const tags = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`tag${i + 1}`, s.string().default('')]));
  const version = (n: number) =>
    n === 0
      ? benchApp
      : s.defineApp({
          projects: s.table({ name: s.string() }),
          todos: s.table({ label: s.string(), done: s.boolean(), priority: s.int(), due: s.timestamp(), notes: s.string(), projectId: s.ref('projects'), ...tags(n) }),
        });
  const migrations = [];
  for (let n = 1; n <= k; n++) {
    const migrate: Record<string, unknown> = { [`tag${n}`]: m.add.string({ default: '' }) };
    if (n === 1) migrate['label'] = m.renameFrom('title');
    migrations.push(m.defineMigration({ from: version(n - 1), to: version(n), migrate: { todos: migrate as any } }));
  }
  return { app: version(k) as any, migrations };
}
