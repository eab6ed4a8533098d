/**
 * What both pages of the DOM bench (bench/dom.ts) share: the rows, the 20 lists, and the click →
 * DOM timing. Timing is taken on the page: `t0` is `performance.now()` in a capturing `click`
 * listener on `document`; a MutationObserver over all 20 lists takes `performance.now()` in each
 * callback that saw a change to a row (added, removed, moved, an attribute or text changed), and
 * a `requestAnimationFrame` scheduled from it marks the next frame. After `quiet` ms with no
 * change, the last such time is when every list that had to change shows the change; the page
 * then checks (outside the timing) that every list shows exactly what a fresh, non-live query
 * returns.
 */

import { rand, reseed } from '../rows.ts';

export { DUE0, rand, reseed, makeRows, type TodoRow } from '../rows.ts';

/** The JSON form of bench/todo-app.ts. */
export const SCHEMA_JSON = {
  tables: {
    projects: { name: 'string' },
    todos: { title: 'string', done: 'boolean', priority: 'int', due: 'timestamp', notes: 'string', projectId: { ref: 'projects' } },
  },
};

/** One list: a filter, an order and a limit, each with the project of its rows (one include). */
export type ListSpec =
  | { readonly kind: 'project'; readonly project: number; readonly done: boolean; readonly limit: number }
  | { readonly kind: 'priorityAtLeast'; readonly min: number; readonly limit: number }
  | { readonly kind: 'priorityDone'; readonly priority: number; readonly done: boolean; readonly limit: number };

/**
 * The 20 lists. They overlap, so one toggle of `done` changes several: a row leaves a "not done"
 * list (and the next row comes in at its end), may enter the matching "done" list, and its
 * checkbox and `data-done` change in the by-due lists that show it.
 */
export const LISTS: readonly ListSpec[] = [
  ...[0, 1, 2, 3, 4, 5].map((project) => ({ kind: 'project', project, done: false, limit: 30 }) as const),
  ...[0, 1, 2, 3, 4, 5].map((project) => ({ kind: 'project', project, done: true, limit: 30 }) as const),
  ...[0, 3, 6, 8].map((min) => ({ kind: 'priorityAtLeast', min, limit: 25 }) as const),
  { kind: 'priorityDone', priority: 0, done: false, limit: 40 },
  { kind: 'priorityDone', priority: 1, done: false, limit: 40 },
  { kind: 'priorityDone', priority: 0, done: true, limit: 40 },
  { kind: 'priorityDone', priority: 1, done: true, limit: 40 },
];

export function listTitle(s: ListSpec): string {
  if (s.kind === 'project') return `project ${s.project}, ${s.done ? 'done' : 'to do'}, by title`;
  if (s.kind === 'priorityAtLeast') return `priority ≥ ${s.min}, by due (latest first)`;
  return `priority ${s.priority}, ${s.done ? 'done' : 'to do'}, by title`;
}

/** What a list shows, read from the DOM: one line per row (id, done, title, project name). */
export function readList(section: Element): string[] {
  return [...section.querySelectorAll('li[data-id]')].map((li) => {
    const box = li.querySelector('input[type=checkbox]') as HTMLInputElement;
    return `${li.getAttribute('data-id')}|${box.checked}|${li.getAttribute('data-done')}|${li.querySelector('.title')?.textContent}|${li.querySelector('.project')?.textContent}`;
  });
}

/** What a list should show, from rows with `project` included. */
export function expectList(rows: readonly any[]): string[] {
  return rows.map((r) => `${r.id}|${r.done}|${r.done}|${r.title}|${r.project?.name}`);
}

function hash(s: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return (h >>> 0).toString(16).padStart(8, '0');
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface ClickResult {
  /** Click → the last DOM change it caused (MutationObserver callback), ms. */
  readonly dom: number;
  /** Click → the first animation frame after that change, ms. */
  readonly frame: number;
  /** Click → the checkbox's `change` event (where both pages write), ms. */
  readonly change: number;
  /** Click → the first DOM change in any list, ms. */
  readonly first: number;
  /** Lists that changed. */
  readonly lists: number;
  readonly mutations: number;
}

/**
 * The timing harness over the page's 20 list sections (`[data-list]`). `fresh(i)` runs list i's
 * query once, not live (for the check).
 */
export function harness(sections: readonly HTMLElement[], fresh: (i: number) => Promise<any[]>) {
  let t0 = NaN;
  let last = NaN;
  let frame = NaN;
  let mutations = 0;
  let clicks = 0;
  let change = NaN;
  let firstMutation = NaN;
  const touched = new Set<number>();
  const listOf = new Map<Node, number>(sections.map((s, i) => [s, i]));
  const containers = new Set<Node>();

  document.addEventListener(
    'click',
    () => {
      t0 = performance.now();
      last = NaN;
      frame = NaN;
      mutations = 0;
      change = NaN;
      firstMutation = NaN;
      clicks++;
      touched.clear();
    },
    true,
  );
  document.addEventListener(
    'change',
    () => {
      change = performance.now();
    },
    true,
  );

  const mo = new MutationObserver((records) => {
    const now = performance.now();
    let counted = false;
    for (const r of records) {
      // `<jazz-query state="ready">` is set again with every result: not a change to the rows.
      if (r.type === 'attributes' && containers.has(r.target)) continue;
      let n: Node | null = r.target;
      while (n && !listOf.has(n)) n = n.parentNode;
      if (n) touched.add(listOf.get(n)!);
      counted = true;
      mutations++;
    }
    if (!counted || Number.isNaN(t0)) return;
    last = now;
    if (Number.isNaN(firstMutation)) firstMutation = now;
    requestAnimationFrame(() => {
      if (last === now) frame = performance.now();
    });
  });

  return {
    /** The elements that hold the rows (their own attributes are not counted). */
    containers,
    start(): void {
      for (const s of sections) mo.observe(s, { subtree: true, childList: true, attributes: true, characterData: true });
    },

    /** The checkbox to click for click number k: the same pick on both pages when they show the same. */
    pick(k: number): string | null {
      reseed(1 + k * 7919);
      rand();
      const list = k % sections.length;
      const rows = [...sections[list]!.querySelectorAll('li[data-id]')];
      if (rows.length === 0) return null;
      const id = rows[Math.floor(rand() * rows.length)]!.getAttribute('data-id');
      return `[data-list="${list}"] li[data-id="${id}"] input[type=checkbox]`;
    },

    /** Waits until no list has changed for `quiet` ms since the click; the click's timings. */
    async settle(quiet: number, timeout = 10_000): Promise<ClickResult | { missed: true; clicks: number }> {
      // Every click changes at least the list it was made in: wait for the first change (up to
      // `timeout`), then until nothing has changed for `quiet` ms.
      for (;;) {
        const now = performance.now();
        if (Number.isNaN(last) ? now - t0 > timeout : now - last >= quiet && !Number.isNaN(frame)) break;
        await sleep(Math.max(5, quiet / 5));
      }
      if (Number.isNaN(last)) return { missed: true, clicks };
      return { dom: last - t0, frame: frame - t0, change: change - t0, first: firstMutation - t0, lists: touched.size, mutations };
    },

    /** Every list against a fresh query; a hash of what the page shows (to compare the two pages). */
    async check(): Promise<{ bad: number[]; hash: string; rows: number }> {
      const bad: number[] = [];
      let all = '';
      let rows = 0;
      for (let i = 0; i < sections.length; i++) {
        const shown = readList(sections[i]!);
        const want = expectList(await fresh(i));
        if (shown.join('\n') !== want.join('\n')) bad.push(i);
        all += shown.join('\n') + '\n#\n';
        rows += shown.length;
      }
      return { bad, hash: hash(all), rows };
    },

    /** What list i shows and what a fresh query returns (for a report on a mismatch). */
    async diff(i: number): Promise<{ shown: string[]; want: string[] }> {
      return { shown: readList(sections[i]!), want: expectList(await fresh(i)) };
    },
  };
}

/** Resolves when every section shows at least one row, or after `timeout` ms. */
export async function waitRendered(sections: readonly HTMLElement[], timeout = 120_000): Promise<number> {
  const t0 = performance.now();
  while (sections.some((s) => !s.querySelector('li[data-id]'))) {
    if (performance.now() - t0 > timeout) throw new Error('the lists did not render');
    await new Promise((r) => requestAnimationFrame(r));
  }
  return performance.now() - t0;
}
