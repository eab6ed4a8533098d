#!/usr/bin/env node
// The package's command line (`npx jazz-elements <command>`): see bin/cli.ts. In the repository it
// runs the TypeScript source through tsx; the installed package has no sources and runs the
// built lib/bin/cli.js (scripts/build-lib.mjs).
import { existsSync } from 'node:fs';

const source = new URL('./cli.ts', import.meta.url);
let main;
if (existsSync(source)) {
  const { register } = await import('tsx/esm/api');
  register();
  ({ main } = await import(source.href));
} else {
  ({ main } = await import(new URL('../lib/bin/cli.js', import.meta.url).href));
}
process.exitCode = await main(process.argv.slice(2));
