/**
 * The engine in src/ must not learn where it runs. `tsconfig.src.json` compiles it
 * against ECMAScript plus src/platform.d.ts, which catches DOM and Node globals and imports; this
 * test catches what a type check cannot: reaching them through `globalThis`, `self` or `require`.
 */
import { describe, expect, it } from 'vitest';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) {
      if (name !== 'testing') out.push(...sources(p));
    } else if (name.endsWith('.ts') && !name.endsWith('.test.ts') && !name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

const FORBIDDEN: [RegExp, string][] = [
  [/\bglobalThis\b/, 'globalThis'],
  [/\bself\./, 'self.'],
  [/\bwindow\b\s*\./, 'window.'],
  [/\bdocument\b\s*\./, 'document.'],
  [/\bnavigator\b\s*\./, 'navigator.'],
  [/\brequire\s*\(/, 'require('],
  [/\bprocess\s*\./, 'process.'],
  [/\bBuffer\b/, 'Buffer'],
  [/from\s+['"]node:/, "an import from 'node:'"],
  [/import\s*\(\s*['"]node:/, "a dynamic import of 'node:'"],
];

describe('src/ is pure', () => {
  const files = sources(new URL('.', import.meta.url).pathname);
  it('has files to check', () => expect(files.length).toBeGreaterThan(20));
  it('uses no DOM or Node globals, even indirectly', () => {
    const problems: string[] = [];
    for (const f of files) {
      const text = readFileSync(f, 'utf8')
        .replace(/\/\*[\s\S]*?\*\//g, '')
        .replace(/\/\/.*$/gm, '');
      for (const [re, what] of FORBIDDEN) if (re.test(text)) problems.push(`${f}: ${what}`);
    }
    expect(problems).toEqual([]);
  });
});
