import type { CapacitySearchOptions } from './capacity.js';
import type { Topology } from './backends/types.js';

export interface Plan {
  name: string;
  scenario: string;
  topologies: Topology[];
  replicas: number[];
  trials: number;
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
    topologies: ['monolith', 'microservices'],
    replicas: [1],
    trials: 1,
    capacity: { startRps: 1000, minRps: 50, maxRps: 40_000, maxProbes: 5, tolerance: 0.25, probeMs: 1500, warmupMs: 500 },
    sweepFeatures: [],
    sweepRps: 200,
    sweepMs: 3000,
  },
  full: {
    name: 'full',
    scenario: 'steady',
    topologies: ['monolith', 'microservices'],
    replicas: [1, 2],
    trials: 3,
    capacity: { startRps: 1000, minRps: 50, maxRps: 40_000, maxProbes: 9, tolerance: 0.05, probeMs: 3000, warmupMs: 1000 },
    sweepFeatures: [8, 512, 4096],
    sweepRps: 200,
    sweepMs: 5000,
  },
};
