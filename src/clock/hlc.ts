/**
 * The hybrid logical clock. A timestamp is one number: wall-clock milliseconds
 * times 1024 plus a counter, so timestamps compare with `<` and fit a float64 exactly until the
 * year 2248. `tick()` is strictly increasing; `observe(ts)` moves the clock past every timestamp
 * it receives, so a version that causally follows another always has a larger timestamp. Ties
 * between clients are broken by version id where timestamps are compared.
 */
export const HLC_COUNTER = 1024;

export class HybridClock {
  #last: number;
  readonly #wall: () => number;

  constructor(wall: () => number = Date.now, last = 0) {
    this.#wall = wall;
    this.#last = last;
  }

  /** The next timestamp for a local write. */
  tick(): number {
    const physical = Math.floor(this.#wall()) * HLC_COUNTER;
    this.#last = physical > this.#last ? physical : this.#last + 1;
    return this.#last;
  }

  /** Moves the clock past a timestamp seen on a received version. */
  observe(ts: number): void {
    if (ts > this.#last) this.#last = ts;
  }

  get last(): number {
    return this.#last;
  }
}

/** Wall-clock milliseconds of an HLC timestamp. */
export function hlcMillis(ts: number): number {
  return Math.floor(ts / HLC_COUNTER);
}
