/** The schema every benchmark uses: ~200-byte todos with one ref to 100 projects. */
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
