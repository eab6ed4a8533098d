/** Schemas and helpers shared by the engine's tests. */
import { s } from '../schema/builder.ts';

export const todoApp = s.defineApp({
  projects: s.table({ name: s.string() }),
  todos: s.table({
    title: s.string(),
    done: s.boolean().default(false),
    priority: s.int().optional(),
    due: s.timestamp().optional(),
    tags: s.array(s.string()).optional(),
    meta: s.json().optional(),
    projectId: s.ref('projects').optional(),
  }),
});

/** Deterministic randomness for a seed. */
export { mulberry32 as rng } from '../util/random.ts';
import { mulberry32 } from '../util/random.ts';

export function seededBytes(next: () => number): (b: Uint8Array) => void {
  return (b) => {
    for (let i = 0; i < b.length; i++) b[i] = Math.floor(next() * 256);
  };
}

/** Deterministic bytes for a seed, `n` at a time (test files' contents). */
export function seededByteSource(seed: number): (n: number) => Uint8Array {
  const fill = seededBytes(mulberry32(seed));
  return (n) => {
    const b = new Uint8Array(n);
    fill(b);
    return b;
  };
}
