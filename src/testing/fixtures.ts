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

/** Deterministic randomness for a seed (mulberry32). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function seededBytes(next: () => number): (b: Uint8Array) => void {
  return (b) => {
    for (let i = 0; i < b.length; i++) b[i] = Math.floor(next() * 256);
  };
}
