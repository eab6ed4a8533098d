#!/usr/bin/env node
// `npm run build:lib` (and `npm pack`, through `prepack`): the package's ES modules and .d.ts files
// in lib/, one per source module, for every entry of package.json's "exports" and the command line.
//
// 1. tsc -p tsconfig.lib.json emits them (relative `.ts` imports become `.js`).
// 2. Declaration files can keep a `.ts` specifier (type-only imports); they are rewritten to `.js`
//    so a consumer's TypeScript resolves them without `allowImportingTsExtensions`.
// 3. The Custom Elements Manifest (custom-elements.json, package.json's "customElements"), so
//    editors complete the tags, attributes, events and slots: read from the element classes' doc
//    tags (`@tagname`, `@fires`, `@slot`, `@attr`) and their Lit properties.
// 4. From source, the page client finds the worker's TypeScript entry beside it; in the package it
//    uses the built, self-contained `dist/jazz-worker.js` and `dist/jazz-broker.js` (from `npm run
//    build`), so a bundler copies them as assets and a page needs no build of the engine. The
//    broker is under Vite's 4 KiB inlining limit, and a SharedWorker from a `data:` URL would not
//    be shared between tabs: `?no-inline` keeps it a file in Vite, and a plain server ignores it.
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

rmSync('lib', { recursive: true, force: true });
const tsc = spawnSync('npx', ['tsc', '-p', 'tsconfig.lib.json'], { stdio: 'inherit' });
if (tsc.status !== 0) process.exit(tsc.status ?? 1);

let rewritten = 0;
for (const file of walk('lib')) {
  if (!file.endsWith('.d.ts')) continue;
  const text = readFileSync(file, 'utf8');
  const out = text.replace(/((?:from|import)\s*\(?\s*['"])(\.{1,2}\/[^'"]+)\.ts(['"])/g, (_, a, p, b) => `${a}${p}.js${b}`);
  if (out !== text) {
    writeFileSync(file, out);
    rewritten++;
  }
}

writeFileSync(
  'lib/worker/page/worker-url.js',
  `// The package's worker and broker: the self-contained builds in dist/ (scripts/build-lib.mjs).
export function defaultWorkerUrl() {
  return new URL('../../../dist/jazz-worker.js', import.meta.url);
}
export function defaultBrokerUrl() {
  return new URL('../../../dist/jazz-broker.js?no-inline', import.meta.url);
}
`,
);
const cem = spawnSync('npx', ['cem', 'analyze', '--litelement', '--globs', 'elements/*.ts', '--exclude', 'elements/*.test.ts', '--outdir', '.'], { stdio: 'pipe' });
if (cem.status !== 0) {
  process.stderr.write(cem.stderr);
  process.exit(cem.status ?? 1);
}
console.log(`lib/: ${[...walk('lib')].length} files (${rewritten} declaration files' imports rewritten to .js)`);

function* walk(dir) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) yield* walk(p);
    else yield p;
  }
}
