/**
 * Crash harness, part 2: the second half of the random crash points (see `crash.test.ts`), in its
 * own file so the two halves run in parallel. Its seed derives from the same JAZZ_CRASH_SEED.
 */
import { describe, it } from 'vitest';
import { randomCrashPoints } from './testing/crash-harness.ts';

const envSeed = process.env['JAZZ_CRASH_SEED'];
const RUN_SEED = envSeed !== undefined ? Number(envSeed) : Math.floor(Math.random() * 2 ** 31);
const POINTS = Number(process.env['JAZZ_CRASH_POINTS'] ?? 10_000);

describe('crash harness (R1), part 2', () => {
  const half = Math.floor(POINTS / 2);
  it(`recovers after ${half} random crash points (second half)`, async () => {
    const seed = (RUN_SEED ^ 0x5bd1e995) >>> 0;
    console.log(`[crash harness] part 2 seed ${seed} (JAZZ_CRASH_SEED=${RUN_SEED}), ${half} of ${POINTS} points here`);
    await randomCrashPoints(seed, half, `seed ${RUN_SEED} part 2`);
  }, 600_000);
});
