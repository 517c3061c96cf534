import type { Histogram } from 'hdr-histogram-js';
import hdr from 'hdr-histogram-js';
import type { LatencySummaryMs } from '../results/index.js';
import { round3 } from './round.js';

export type { Histogram };

/** Microsecond resolution, up to 10 minutes, 3 significant digits: lossless enough to merge. */
export function newHistogram(): Histogram {
  return hdr.build({
    bitBucketSize: 32,
    useWebAssembly: false,
    autoResize: true,
    lowestDiscernibleValue: 1,
    highestTrackableValue: 600_000_000,
    numberOfSignificantValueDigits: 3,
  });
}

export function encodeHistogram(h: Histogram): string {
  return hdr.encodeIntoCompressedBase64(h);
}

export function decodeHistogram(b64: string): Histogram {
  return hdr.decodeFromCompressedBase64(b64, 32, false);
}

/** Merge histograms (never average percentiles). */
export function mergeHistograms(encoded: string[]): Histogram {
  const out = newHistogram();
  for (const e of encoded) out.add(decodeHistogram(e));
  return out;
}

export type { LatencySummaryMs } from '../results/index.js';

export function summarizeMs(h: Histogram): LatencySummaryMs {
  if (h.totalCount === 0) return { min: 0, p50: 0, p90: 0, p99: 0, p999: 0, max: 0, mean: 0 };
  const at = (p: number) => round3(h.getValueAtPercentile(p) / 1000);
  return {
    min: round3(h.minNonZeroValue / 1000),
    p50: at(50),
    p90: at(90),
    p99: at(99),
    p999: at(99.9),
    max: round3(h.maxValue / 1000),
    mean: round3(h.mean / 1000),
  };
}
