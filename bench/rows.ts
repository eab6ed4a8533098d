/**
 * The rows the browser benchmarks load (bench/browser/page.ts, bench/dom/): ~200-byte todos over
 * 100 projects (bench/todo-app.ts), generated from a fixed seed so every run and both sides of a
 * comparison (the engine and Dexie) get the same content.
 */
import { mulberry32 } from '../src/util/random.ts';

export const DUE0 = 1_700_000_000_000;
export const DUE_SPAN = 1e10;

let next = mulberry32(42);
/** A number in [0, 1) from the shared seeded generator. */
export const rand = (): number => next();
export const reseed = (seed: number): void => {
  next = mulberry32(seed);
};
/** Six random base-36 letters. */
export const word = (): string =>
  Math.floor(rand() * 36 ** 6)
    .toString(36)
    .padStart(6, '0');

export interface TodoRow {
  title: string;
  done: boolean;
  priority: number;
  due: number;
  notes: string;
  projectId: string;
}

/** `n` todos spread over `projects` (always the same ones for the same arguments: seed 42). */
export function makeRows(n: number, projects: readonly string[]): TodoRow[] {
  reseed(42);
  const rows: TodoRow[] = [];
  for (let i = 0; i < n; i++) {
    rows.push({
      title: `${word()} ${word()} ${word()}`,
      done: rand() < 0.5,
      priority: Math.floor(rand() * 10),
      due: DUE0 + Math.floor(rand() * DUE_SPAN),
      notes: 'n'.repeat(60 + Math.floor(rand() * 80)),
      projectId: projects[Math.floor(rand() * projects.length)]!,
    });
  }
  return rows;
}
