#!/usr/bin/env node
// `npm test`: the type checks (including the purity check of src/), the linter, then every test suite: Vitest,
// then the browser tests (Playwright: real Chromium, and the cross-engine part in Firefox and
// WebKitGTK too). Ends with one plain summary line, "N passed, N failed", that CI reads.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, mkdirSync, rmSync } from 'node:fs';
import { missing } from '../e2e/support/find-engines.mjs';

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

// 1. Types: the whole project, then src/ alone against ECMAScript + web-standard globals, and the
//    formatter and the linter (Biome, biome.json): a file not formatted (`npm run format` fixes
//    it) or a lint finding fails the step. Independent of each other, they run two at a time (the
//    machines have 2 cores); each one's output is printed whole when it ends.
const checks = [
  ['typecheck', ['tsc', '-p', 'tsconfig.json', '--noEmit']],
  ['purity of src/ (no DOM, no Node)', ['tsc', '-p', 'tsconfig.src.json', '--noEmit']],
  ['worker code (WebWorker globals only)', ['tsc', '-p', 'tsconfig.worker.json', '--noEmit']],
  ['page client (DOM globals)', ['tsc', '-p', 'worker/page/tsconfig.json', '--noEmit']],
  ['elements (DOM globals)', ['tsc', '-p', 'elements/tsconfig.json', '--noEmit']],
  ['format and lint (biome)', ['biome', 'check', '--error-on-warnings']],
];
for (const ok of await runTwoAtATime(checks)) {
  if (ok) passed++;
  else failed++;
}

// 2. Unit and integration tests (Vitest), counted from its JSON report. The server's PostgreSQL
//    tests start a PostgreSQL of their own from Debian's binaries (server/testing/postgres.ts):
//    when they are missing, they are installed here if this process can (root with apt-get),
//    else what to install is said here, and those tests fail saying it too (never skipped).
ensurePostgres();

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

// 3. Browser tests (Playwright), counted from the JSON report playwright.config.ts writes: the
//    Chromium projects, and Firefox and WebKitGTK (e2e/engines/, driven by e2e/support/engines.ts).
//    A missing browser is a failure, never a skip: CI installs them (.ci/run), a developer must too.
//    Without Chromium the Firefox and WebKit projects still run; a missing Firefox or WebKitGTK
//    fails each of its tests with what to install.
const chromium = await findChromium();
const engines = missingEngines();
for (const m of engines) console.error(`\n── ${m}`);
const projects = [];
if (!chromium.path) {
  console.error(`\n── browser tests in Chromium: FAILED, no Chromium found (${chromium.looked}).
   Install it: apt-get update && apt-get install -y chromium   (Debian/Ubuntu; .ci/run does this)
   or point CHROMIUM_PATH at a Chromium binary, or, where browser downloads work: npx playwright install chromium`);
  steps.push({ name: 'browser tests (Chromium missing)', ok: false, seconds: 0 });
  failed++;
  projects.push('--project=firefox', '--project=webkit', '--project=firefox+webkit');
}
{
  const pwReport = '.tmp/playwright-report.json';
  rmSync(pwReport, { force: true });
  run(`browser tests (${chromium.path ?? 'no Chromium'}; Firefox, WebKitGTK)`, 'npx', ['playwright', 'test', ...projects], chromium.path ? { CHROMIUM_PATH: chromium.path } : {});
  try {
    const json = JSON.parse(readFileSync(pwReport, 'utf8'));
    const { expected = 0, unexpected = 0, flaky = 0, skipped = 0 } = json.stats ?? {};
    passed += expected;
    failed += unexpected + flaky;
    // Errors outside any test (the web server did not start, a spec did not load, time ran out).
    failed += (json.errors ?? []).length;
    if (skipped > 0) console.warn(`${skipped} browser test(s) were skipped or did not run`);
    if (expected + unexpected + flaky === 0) failed++;
  } catch {
    console.error('no Playwright report was written');
    failed++;
  }
}

console.log('\n── summary');
for (const s of steps) console.log(`${s.ok ? 'ok  ' : 'FAIL'} ${s.name} (${s.seconds.toFixed(1)} s)`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);

/** Runs `npx <args>` for each [name, args], two at a time; resolves to whether each passed, in order. */
async function runTwoAtATime(list) {
  const results = [];
  const base = steps.length;
  let next = 0;
  const lane = async () => {
    while (next < list.length) {
      const i = next++;
      const [name, args] = list[i];
      const t0 = Date.now();
      const { code, output } = await new Promise((resolve) => {
        const child = spawn('npx', args, { stdio: ['ignore', 'pipe', 'pipe'] });
        const chunks = [];
        child.stdout.on('data', (c) => chunks.push(c));
        child.stderr.on('data', (c) => chunks.push(c));
        child.on('error', (e) => resolve({ code: 1, output: String(e) }));
        child.on('close', (c) => resolve({ code: c, output: Buffer.concat(chunks).toString() }));
      });
      console.log(`\n── ${name}: npx ${args.join(' ')}`);
      if (output) process.stdout.write(output);
      results[i] = code === 0;
      steps[base + i] = { name, ok: code === 0, seconds: (Date.now() - t0) / 1000 };
    }
  };
  await Promise.all([lane(), lane()]);
  return results;
}

/** Where initdb is (PATH, then /usr/lib/postgresql/<version>/bin, as server/testing/postgres.ts looks), or undefined. */
function findInitdb() {
  const dirs = (process.env.PATH ?? '').split(':').filter(Boolean);
  try {
    for (const v of readdirSync('/usr/lib/postgresql')) dirs.push(`/usr/lib/postgresql/${v}/bin`);
  } catch {
    // no /usr/lib/postgresql
  }
  return dirs.map((d) => `${d}/initdb`).find((p) => existsSync(p));
}

function ensurePostgres() {
  if (findInitdb()) return;
  const install = 'apt-get update && apt-get install -y postgresql';
  const root = typeof process.getuid === 'function' && process.getuid() === 0;
  if (root && spawnSync('sh', ['-c', 'command -v apt-get'], { stdio: 'ignore' }).status === 0) {
    console.log(`\n── PostgreSQL is missing (the server's PostgreSQL tests need it): ${install}`);
    const r = spawnSync('sh', ['-c', install], { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
    if (r.status === 0 && findInitdb()) return;
    console.error('\n── installing postgresql failed (see above); the PostgreSQL tests will fail');
    return;
  }
  console.error(`\n── PostgreSQL is missing: the server's PostgreSQL tests will FAIL until it is installed.
   Install it: ${install}   (Debian/Ubuntu, as root; .ci/run does this)`);
}

/** The Chromium the browser tests will use (same order as e2e/support/chromium.ts), or why none. */
async function findChromium() {
  const candidates = [];
  if (process.env.CHROMIUM_PATH) candidates.push(process.env.CHROMIUM_PATH);
  else {
    candidates.push('/usr/lib/chromium/chromium');
    try {
      const { chromium } = await import('@playwright/test');
      candidates.push(chromium.executablePath());
    } catch {
      // @playwright/test not installed: `npm install` first; reported below as no Chromium.
    }
  }
  const path = candidates.find((p) => p && existsSync(p));
  return { path, looked: candidates.join(', ') || 'nowhere' };
}

/** What is missing of Firefox and WebKitGTK (e2e/support/find-engines.mjs), with what to install. */
function missingEngines() {
  return ['firefox', 'webkit']
    .map((e) => missing(e))
    .filter(Boolean)
    .map((m) => `${m}; its tests will fail`);
}
