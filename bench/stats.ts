/** Small statistics helpers for the benchmarks: these machines are noisy, so medians and p95. */
import { loadavg } from 'node:os';

/** The machine's load averages (1, 5, 15 min), printed beside every run. */
export const load = (): string =>
  loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');

/**
 * Runs one system's step; a failure is printed and added to `failures`, and gives undefined, so
 * that system's figures stay empty while the others run.
 */
export async function attempt<T>(failures: string[], what: string, fn: () => Promise<T>): Promise<T | undefined> {
  try {
    return await fn();
  } catch (e) {
    const msg = String((e as Error)?.message ?? e).split('\n')[0];
    failures.push(`${what}: ${msg}`);
    console.error(`  ✗ ${what}: ${msg}`);
    return undefined;
  }
}
export function percentile(xs: readonly number[], p: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const i = Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1));
  return s[i]!;
}

export function summary(xs: readonly number[]): { p50: number; p95: number; n: number } {
  return { p50: percentile(xs, 50), p95: percentile(xs, 95), n: xs.length };
}

export function fmt(ms: number): string {
  if (!Number.isFinite(ms)) return '—';
  if (ms < 0.1) return `${(ms * 1000).toFixed(0)} µs`;
  if (ms < 10) return `${ms.toFixed(2)} ms`;
  return `${ms.toFixed(1)} ms`;
}

export function table(rows: (string | number)[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => String(r[i]).length)));
  return rows
    .map((r, k) => {
      const line = r.map((c, i) => String(c).padEnd(widths[i]!)).join('  ');
      return k === 0 ? `${line}\n${widths.map((w) => '-'.repeat(w)).join('  ')}` : line;
    })
    .join('\n');
}
