#!/usr/bin/env node
// The package's command line (`npx jazz-elements <command>`): see bin/cli.ts. It runs the
// TypeScript sources through tsx, which the repository has; the built package ships JS instead.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('./cli.ts');
process.exitCode = await main(process.argv.slice(2));
