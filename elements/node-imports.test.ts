/**
 * Every module of elements/ imports in Node without a DOM and without crashing (like
 * Lit's node-imports test): server rendering, tests and tools may load them. Lit's Node build
 * brings a minimal `customElements` registry, so the tags get defined there too.
 */
import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const modules = readdirSync(new URL('.', import.meta.url)).filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'));

describe('elements in Node', () => {
  it('has the modules this test expects', () => {
    expect(modules).toEqual(
      expect.arrayContaining(['index.ts', 'jazz.ts', 'jazz-db.ts', 'jazz-query.ts', 'jazz-form.ts', 'jazz-status.ts', 'more.ts', 'jazz-count.ts', 'jazz-history.ts', 'jazz-nav.ts', 'virtual.ts']),
    );
    expect(typeof document).toBe('undefined');
  });

  it.each(modules)('imports %s', async (file) => {
    const mod = (await import(/* @vite-ignore */ new URL(file, import.meta.url).href)) as Record<string, unknown>;
    expect(Object.keys(mod).length).toBeGreaterThan(0);
  });

  it('defines every tag, and the drop-in entry exports the client too', async () => {
    const jazz = await import('./jazz.ts');
    for (const tag of ['jazz-db', 'jazz-query', 'jazz-form'] as const) expect(customElements.get(tag)).toBe(jazz.ELEMENTS[tag]);
    // The lazy part's tags, once it is loaded.
    const more = await import('./more.ts');
    expect(customElements.get('jazz-count')).toBe(more.JazzCountElement);
    expect(customElements.get('jazz-status')).toBe(more.JazzStatusElement);
    expect(customElements.get('jazz-history')).toBe(more.JazzHistoryElement);
    expect(typeof jazz.createDb).toBe('function');
    expect(typeof jazz.s.fromJSON).toBe('function');
    jazz.defineElements(); // again: idempotent
  });
});
