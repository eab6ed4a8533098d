/** For tests: waits until `cond()` holds, checking every few milliseconds; fails after `ms`. */
export async function until(cond: () => boolean, ms = 5000, what = 'a condition'): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
