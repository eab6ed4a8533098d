/**
 * Before and after in one run: `bench/write-path.ts` (P2 bulk load, P3 serial updates, ~200-byte
 * rows on Node files) against this working tree and against another revision, alternating, so
 * both see the same machine at the same moments. The other revision gets a git worktree under
 * .tmp/ with this tree's node_modules, and a copy of this tree's write-path.ts, so the measuring
 * code is the same on both sides and only the engine differs.
 *
 *   npm run bench -- revisions <rev> [rounds]      e.g. npm run bench -- revisions e901b36 5
 *
 * Prints the medians and p95 of each figure over the rounds, their ratio, and the load average.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { percentile, table } from './stats.ts';

const rev = process.argv[2];
const rounds = Number(process.argv[3] ?? 5);
if (!rev) {
  console.error('usage: npm run bench -- revisions <rev> [rounds]');
  process.exit(2);
}
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const sha = execFileSync('git', ['rev-parse', '--short', rev], { cwd: root, encoding: 'utf8' }).trim();
const other = path.join(root, '.tmp', `bench-rev-${sha}`);
if (!fs.existsSync(other)) {
  execFileSync('git', ['worktree', 'add', '--detach', other, sha], { cwd: root, stdio: 'ignore' });
  fs.symlinkSync(path.join(root, 'node_modules'), path.join(other, 'node_modules'));
}
fs.mkdirSync(path.join(other, '.tmp'), { recursive: true });
fs.copyFileSync(path.join(root, 'bench', 'write-path.ts'), path.join(other, 'bench', 'write-path.ts'));

interface Result {
  p2RowsPerSec: number;
  p3p50: number;
  p3p95: number;
}
const results: Record<'before' | 'after', Result[]> = { before: [], after: [] };
const loads: number[] = [];
for (let r = 0; r < rounds; r++) {
  // Alternate which goes first, so neither always runs on a warmer or cooler machine.
  const order: ('before' | 'after')[] = r % 2 === 0 ? ['before', 'after'] : ['after', 'before'];
  for (const side of order) {
    const cwd = side === 'before' ? other : root;
    loads.push(os.loadavg()[0]!);
    const out = spawnSync(process.execPath, ['--import', 'tsx', path.join(cwd, 'bench', 'write-path.ts')], { cwd, encoding: 'utf8', env: process.env });
    if (out.status !== 0) throw new Error(`${side} failed: ${out.stderr}`);
    const line = out.stdout.trim().split('\n').pop()!;
    results[side].push(JSON.parse(line) as Result);
    console.log(`round ${r + 1} ${side.padEnd(6)} ${line}`);
  }
}

const fig = (side: 'before' | 'after', k: keyof Result, p: number) =>
  percentile(
    results[side].map((x) => x[k]),
    p,
  );
const row = (label: string, k: keyof Result, unit: (v: number) => string, higherIsBetter: boolean) => {
  const b50 = fig('before', k, 50);
  const a50 = fig('after', k, 50);
  const change = higherIsBetter ? a50 / b50 - 1 : b50 / a50 - 1;
  return [
    label,
    `${unit(b50)} (p95 of runs ${unit(fig('before', k, higherIsBetter ? 5 : 95))})`,
    `${unit(a50)} (p95 of runs ${unit(fig('after', k, higherIsBetter ? 5 : 95))})`,
    `${(a50 / b50).toFixed(3)}×`,
    `${change >= 0 ? '+' : ''}${(change * 100).toFixed(1)}% ${change >= 0 ? 'better' : 'worse'}`,
  ];
};
const ms = (v: number) => `${v.toFixed(3)} ms`;
console.log(
  `\n${rounds} rounds each, alternating; before = ${sha}, after = this working tree; load average during the runs: median ${percentile(loads, 50).toFixed(2)}, max ${Math.max(...loads).toFixed(2)} (${os.cpus().length} CPUs)\n`,
);
console.log(
  table([
    ['figure', 'before: median', 'after: median', 'after/before', 'change'],
    row('P2 bulk load, rows/s', 'p2RowsPerSec', (v) => Math.round(v).toLocaleString(), true),
    row('P3 serial update p50', 'p3p50', ms, false),
    row('P3 serial update p95', 'p3p95', ms, false),
  ]),
);
