/**
 * Crash harness, part 1 (R1): a crash at every write index of the 200-commit workload,
 * under both sector sizes, cycling through the fates of unflushed writes; then the first half of
 * the random crash points (the other half runs in `crash.random.test.ts`, in parallel).
 *
 * JAZZ_CRASH_POINTS sets the number of random points per run (default 10,000, split over the two
 * files); the seed is printed and JAZZ_CRASH_SEED=<seed> replays it. See testing/crash-harness.ts.
 */
import { describe, expect, it } from 'vitest';
import { Faults } from './blockfile.ts';
import { COMMITS, FATES, SECTORS, prefixFingerprints, randomCrashPoints, runUntilCrash, verifyRecovery, workload } from './testing/crash-harness.ts';

const envSeed = process.env['JAZZ_CRASH_SEED'];
const RUN_SEED = envSeed !== undefined ? Number(envSeed) : Math.floor(Math.random() * 2 ** 31);
const POINTS = Number(process.env['JAZZ_CRASH_POINTS'] ?? 10_000);

describe('crash harness (R1), part 1', () => {
  it('recovers a prefix with every acknowledged commit after a crash at every write index', async () => {
    const commits = workload(42);
    const prefixes = prefixFingerprints(commits);
    const clean = await runUntilCrash(commits, new Faults({ seed: 1 }));
    expect(clean.crashed).toBe(false);
    expect(clean.acked).toBe(COMMITS);
    const total = clean.writes;
    expect(total).toBeGreaterThan(COMMITS); // WAL writes plus checkpoints
    for (let n = 1; n <= total; n++) {
      for (const sectorSize of SECTORS) {
        const unflushed = FATES[n % FATES.length]!;
        const faults = new Faults({ seed: n, crashAtWrite: n, sectorSize, unflushed });
        const run = await runUntilCrash(commits, faults);
        expect(run.crashed).toBe(true);
        await verifyRecovery(run, prefixes, `crash at write ${n}/${total}, ${sectorSize} B sectors, ${unflushed}`);
      }
    }
    console.log(`[crash harness] every one of ${total} write indexes x ${SECTORS.length} sector sizes recovered`);
  });

  const half = Math.ceil(POINTS / 2);
  it(`recovers after ${half} random crash points (first half)`, async () => {
    console.log(`[crash harness] seed ${RUN_SEED} (replay with JAZZ_CRASH_SEED=${RUN_SEED}), ${half} of ${POINTS} points here`);
    await randomCrashPoints(RUN_SEED, half, `seed ${RUN_SEED} part 1`);
  }, 600_000);
});
