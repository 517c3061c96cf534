/**
 * The balancing policy's defaults, in one place: the gateway's configuration schema, the
 * client-side balancer in mlbench's driver and the report's description all read these.
 */

export interface OutlierPolicy {
  /** Connection failures in a row that eject (a refused connection is strong evidence). */
  consecutiveConnectFailures: number;
  /** 5xx answers in a row that eject. */
  consecutive5xx: number;
  baseEjectionMs: number;
  maxEjectionMs: number;
  /**
   * A replica that returns (restarted, readmitted) ramps from 10% to its full share of
   * traffic over this time: a cold process answers far slower than a warm one and would
   * otherwise shed or queue its first second of full-rate traffic.
   */
  slowStartMs: number;
}

export const DEFAULT_OUTLIER_POLICY: Readonly<OutlierPolicy> = Object.freeze({
  consecutiveConnectFailures: 1,
  consecutive5xx: 5,
  baseEjectionMs: 1_000,
  maxEjectionMs: 30_000,
  slowStartMs: 3_000,
});

/** Active /readyz checks. */
export const HEALTH_CHECK: Readonly<{ intervalMs: number; timeoutMs: number; unhealthyThreshold: number }> =
  Object.freeze({
    intervalMs: 1_000,
    timeoutMs: 500,
    /**
     * Checks in a row that must time out before a replica is marked down: one late answer is
     * weak evidence (a 600 ms host stall otherwise became a second of 503s for everyone).
     */
    unhealthyThreshold: 2,
  });

/** Retries per one-second window: at most `ratio` of the requests, at least `minPerWindow`. */
export const RETRY_BUDGET: Readonly<{ ratio: number; minPerWindow: number }> = Object.freeze({
  ratio: 0.2,
  minPerWindow: 3,
});

/** Per-try limits: a try that exceeds them is answered 504 (gateway) or counted as a timeout (driver). */
export const UPSTREAM_TIMEOUTS: Readonly<{ connectMs: number; perTryMs: number }> = Object.freeze({
  connectMs: 1_000,
  perTryMs: 5_000,
});

export interface PolicyDescription {
  healthIntervalMs: number;
  consecutive5xx: number;
  retryBudgetRatio: number;
}

/** The policy in one sentence, for reports: built from the numbers in force, never restated by hand. */
export function describePolicy(p: Partial<PolicyDescription> = {}): string {
  const interval = p.healthIntervalMs ?? HEALTH_CHECK.intervalMs;
  const streak = p.consecutive5xx ?? DEFAULT_OUTLIER_POLICY.consecutive5xx;
  const ratio = p.retryBudgetRatio ?? RETRY_BUDGET.ratio;
  return (
    `round robin, active /readyz checks every ${interval / 1000} s, ejection on a refused/reset connection or ` +
    `${streak} consecutive 5xx (doubling back-off, never the last replica), one retry on another replica after a ` +
    `connection failure (budget ${Math.round(ratio * 100)}%)`
  );
}
