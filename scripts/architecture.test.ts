/**
 * The layout's rules, checked on every import of the source folders:
 *
 * | folder      | may import (besides itself and npm packages)                               |
 * | ----------- | -------------------------------------------------------------------------- |
 * | `src/`      | nothing of ours: the engine never learns where it runs                      |
 * | `worker/`   | `src/`                                                                      |
 * | `elements/` | the page client (`worker/page/`), and `src/` for types only                 |
 * | `react/`    | `src/` for types only (it programs against the databases' shared contract)  |
 * | `server/`   | `src/`                                                                      |
 * | `bin/`      | `src/`                                                                      |
 * | `demo/`     | `server/` and `src/` (its server), nothing else                             |
 *
 * and no cycle of runtime imports anywhere (type-only imports may go both ways: they vanish when
 * compiled). Tests (`*.test.ts`) may import anything.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import { describe, expect, it } from 'vitest';

const FOLDERS = ['src', 'worker', 'elements', 'react', 'server', 'bin', 'demo'] as const;
type Folder = (typeof FOLDERS)[number];

interface Edge {
  readonly from: string;
  readonly to: string;
  readonly typeOnly: boolean;
}

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return name === 'node_modules' ? [] : sources(p);
    return p.endsWith('.ts') && !p.endsWith('.d.ts') && !p.endsWith('.test.ts') ? [p] : [];
  });
}

/** Every relative `import … from` / `export … from` of a file (dynamic `import()` loads lazily and is not a cycle). */
function importsOf(file: string): Edge[] {
  const text = readFileSync(file, 'utf8');
  const edges: Edge[] = [];
  for (const m of text.matchAll(/(?:^|\n)\s*(?:import|export)\s+(type\s+)?([^;]*?)\s+from\s+['"](\.[^'"]+)['"]/g)) {
    const names = m[2]!.trim();
    const typeOnly = !!m[1] || /^\{\s*(?:type\s+[^,}]+,?\s*)+\}$/.test(names);
    edges.push({ from: file, to: normalize(join(dirname(file), m[3]!)), typeOnly });
  }
  return edges;
}

const files = FOLDERS.flatMap((f) => sources(f));
const edges = files.flatMap(importsOf);
const folderOf = (p: string): string => p.split('/')[0]!;

/** Whether `e` crosses the layers the wrong way; returns why. */
function violation(e: Edge): string | undefined {
  const from = folderOf(e.from) as Folder;
  const to = folderOf(e.to);
  if (to === from || to === 'node_modules') return undefined;
  const allowed: Record<Folder, (e: Edge, to: string) => boolean> = {
    src: () => false,
    worker: (_, t) => t === 'src',
    elements: (x, t) => x.to.startsWith('worker/page/') || (t === 'src' && x.typeOnly),
    react: (x, t) => t === 'src' && x.typeOnly,
    server: (_, t) => t === 'src',
    bin: (_, t) => t === 'src',
    demo: (_, t) => t === 'server' || t === 'src',
  };
  return allowed[from](e, to) ? undefined : `${e.from} imports ${e.to}${e.typeOnly ? ' (types)' : ''}`;
}

/** The cycles among runtime imports (strongly connected components of two or more files). */
function cycles(): string[][] {
  const graph = new Map<string, string[]>(files.map((f) => [f, []]));
  for (const e of edges) if (!e.typeOnly && graph.has(e.to)) graph.get(e.from)!.push(e.to);
  let counter = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, counter);
    low.set(v, counter++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v)!) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1) found.push(component.sort());
    }
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return found;
}

describe('architecture', () => {
  it('reads the source folders', () => {
    expect(files.length).toBeGreaterThan(100);
    expect(edges.length).toBeGreaterThan(300);
  });

  it('every import stays within the layers its folder may use', () => {
    expect(edges.map(violation).filter(Boolean)).toEqual([]);
  });

  it('the rules catch a crossing: src importing the worker, elements importing engine values', () => {
    expect(violation({ from: 'src/db.ts', to: 'worker/protocol.ts', typeOnly: true })).toBeDefined();
    expect(violation({ from: 'elements/x.ts', to: 'src/query/validate.ts', typeOnly: false })).toBeDefined();
    expect(violation({ from: 'elements/x.ts', to: 'src/query/ast.ts', typeOnly: true })).toBeUndefined();
    expect(violation({ from: 'server/x.ts', to: 'demo/permissions.ts', typeOnly: false })).toBeDefined();
  });

  it('no cycle of runtime imports', () => {
    expect(cycles()).toEqual([]);
  });
});
