import { validateContract, type SplitContract } from '../../domain/split-contracts.js';
/** A seeded generator (mulberry32): a failing property test prints its seed and can be replayed. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function randomInt(random: () => number, min: number, max: number): number {
  return min + Math.floor(random() * (max - min + 1));
}

/** A valid split contract: 1 to 4 creator tiers with rising thresholds, and sometimes an agency. */
export function randomContract(random: () => number): SplitContract {
  const agencyBps = random() < 0.5 ? 0 : randomInt(random, 1, 4_000);
  const tierCount = randomInt(random, 1, 4);
  let from = 0;
  const creatorTiers = Array.from({ length: tierCount }, (_, index) => {
    if (index > 0) from += randomInt(random, 1, random() < 0.7 ? 300 : 50_000_000);
    return { fromMonthCoins: from, bps: randomInt(random, 0, 10_000 - agencyBps) };
  });
  const contract: SplitContract = { creatorTiers, agency: agencyBps === 0 ? null : { agencyId: `ag${randomInt(random, 1, 9)}`, bps: agencyBps } };
  validateContract(contract);
  return contract;
}
