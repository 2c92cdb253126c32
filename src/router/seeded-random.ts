// A seeded uniform random source (mulberry32): the split's draws made repeatable, for tests that
// check shares to a tolerance. The router uses Math.random unless a seed is given.

/** Returns a function like Math.random (uniform in [0, 1)) whose sequence depends on `seed` only. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}
