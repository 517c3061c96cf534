import type { CapacitySearchOptions } from './capacity.js';

export interface Plan {
  name: string;
  scenario: string;
  replicas: number[];
  trials: number;
  /** Discarded load right after a deployment: JIT and connection pools of a cold process. */
  deployWarmupMs: number;
  capacity: (CapacitySearchOptions & { probeMs: number; warmupMs: number }) | null;
  /** Feature counts for the model-cost sweep (empty: no sweep). */
  sweepFeatures: number[];
  sweepRps: number;
  sweepMs: number;
}

/** quick: < 1 minute, a smoke of the whole pipeline; full: the comparison `make bench` runs. */
export const PLANS: Record<string, Plan> = {
  quick: {
    name: 'quick',
    scenario: 'quick',
    replicas: [1],
    trials: 1,
    deployWarmupMs: 3000,
    capacity: {
      startRps: 1000,
      minRps: 50,
      maxRps: 40_000,
      maxProbes: 5,
      tolerance: 0.25,
      probeMs: 1500,
      warmupMs: 1000,
    },
    sweepFeatures: [],
    sweepRps: 200,
    sweepMs: 3000,
  },
  full: {
    name: 'full',
    scenario: 'steady',
    replicas: [1, 2],
    trials: 3,
    deployWarmupMs: 6000,
    capacity: {
      startRps: 2000,
      minRps: 50,
      maxRps: 40_000,
      maxProbes: 10,
      tolerance: 0.05,
      probeMs: 3000,
      warmupMs: 2000,
      confirmFailures: true,
    },
    sweepFeatures: [8, 512, 4096],
    sweepRps: 200,
    sweepMs: 4000,
  },
};
