#!/usr/bin/env node
// `npm test`: the type checks (including the purity check of src/), then every test suite.
// Ends with one plain summary line, "N passed, N failed", that CI reads.
import { spawnSync } from 'node:child_process';
import { readFileSync, mkdirSync, rmSync } from 'node:fs';

const steps = [];
let passed = 0;
let failed = 0;

function run(name, cmd, args, env = {}) {
  const t0 = Date.now();
  console.log(`\n── ${name}: ${cmd} ${args.join(' ')}`);
  const r = spawnSync(cmd, args, { stdio: 'inherit', env: { ...process.env, ...env } });
  const ok = r.status === 0;
  steps.push({ name, ok, seconds: (Date.now() - t0) / 1000 });
  return ok;
}

// 1. Types: the whole project, then src/ alone against ECMAScript + web-standard globals.
if (run('typecheck', 'npx', ['tsc', '-p', 'tsconfig.json', '--noEmit'])) passed++;
else failed++;
if (run('purity of src/ (no DOM, no Node)', 'npx', ['tsc', '-p', 'tsconfig.src.json', '--noEmit'])) passed++;
else failed++;

// 2. Unit and integration tests (Vitest), counted from its JSON report.
mkdirSync('.tmp', { recursive: true });
const report = '.tmp/vitest-report.json';
rmSync(report, { force: true });
run('unit and integration tests', 'npx', ['vitest', 'run', '--reporter=default', '--reporter=json', `--outputFile.json=${report}`]);
try {
  const json = JSON.parse(readFileSync(report, 'utf8'));
  passed += json.numPassedTests;
  failed += json.numFailedTests + (json.numTotalTestSuites > 0 && json.testResults.some((f) => f.status === 'failed' && f.assertionResults.length === 0) ? 1 : 0);
  if (json.numTotalTests === 0) failed++;
} catch {
  console.error('no Vitest report was written');
  failed++;
}

console.log('\n── summary');
for (const s of steps) console.log(`${s.ok ? 'ok  ' : 'FAIL'} ${s.name} (${s.seconds.toFixed(1)} s)`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
