import { MAX_FEATURES } from './train.js';
import { EMBED_DIM_DEFAULT, RANDOM_FEATURES_SIZES } from './train-random-features.js';

/** What `mlbench models` prints: each family, what it is, and what its knobs do. */
export const FAMILIES = [
  {
    name: 'linear',
    what: 'linear regression fitted by ml-regression (CGLS above 512 features); JSON artifact',
    knobs: [`--features F (1..${MAX_FEATURES}): F multiply-adds a prediction, 8·F bytes of weights`],
    cost: '0.001–0.012 ms a prediction up to 4,096 features; memory negligible',
  },
  {
    name: 'random-features',
    what: 'seeded random tanh layers, a readout fitted by ridge CGLS, and an optional embedding table fitted per category; binary artifact',
    knobs: [
      `--size ${Object.entries(RANDOM_FEATURES_SIZES)
        .map(([k, v]) => `${k}=${v.width}×${v.depth}`)
        .join(', ')} (width × depth): compute, width·F + (depth−1)·width² multiply-adds a prediction`,
      '--width W, --depth D: the same knob, set directly',
      `--memory-mb N: an embedding table of about N MB (rows of ${EMBED_DIM_DEFAULT} float32), one random row read a prediction`,
      '--categories C, --embed-dim E: the table, set directly',
    ],
    cost: 'about 0.001 ms (xs) to 20 ms (xl) a prediction on a 2-vCPU host; 10 MB to GBs resident with --memory-mb',
  },
] as const;
