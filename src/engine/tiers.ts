/**
 * The durability tiers, written once: `local` (durable on this device), `edge` (stored by the
 * server the client talks to), `global` (accepted by the authority). A write that reached a tier
 * has reached every weaker one.
 */
export type Tier = 'local' | 'edge' | 'global';

/** Every tier, weakest first. */
export const TIERS: readonly Tier[] = ['local', 'edge', 'global'];

/** A tier's strength: compare two with `tierRank(a) >= tierRank(b)`. */
export function tierRank(t: Tier): number {
  return TIERS.indexOf(t);
}
