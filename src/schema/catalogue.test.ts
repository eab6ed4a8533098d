import { describe, expect, it } from 'vitest';
import { s } from './builder.ts';
import { Catalogue } from './catalogue.ts';

describe('Catalogue', () => {
  it('knows only its own schema versions: names every object has are unknown versions, not crashes', () => {
    const app = s.defineApp({ todos: s.table({ title: s.string() }) });
    const cat = Catalogue.open(app.$schema);
    expect(cat.knows(app.$hash)).toBe(true);
    expect(cat.view(app.$hash).get('todos')).toBeDefined();
    // A client's hello names the version: the sync fuzz test found `__proto__` taken as known.
    for (const name of ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'nope']) {
      expect(cat.knows(name), name).toBe(false);
      expect(() => cat.view(name), name).toThrow(expect.objectContaining({ code: 'MIGRATION_INVALID' }));
    }
  });
});
