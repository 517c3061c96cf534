import { RETRY_BUDGET } from './policy.js';

/**
 * Retries allowed per one-second window: at most `ratio` of the requests (at least
 * `minPerWindow`), so that retries cannot multiply load on an already failing tier.
 */
export class RetryBudget {
  private windowStart = 0;
  private requests = 0;
  private previousRequests = 0;
  private retries = 0;

  constructor(
    private readonly ratio = RETRY_BUDGET.ratio,
    private readonly minPerWindow = RETRY_BUDGET.minPerWindow,
    private readonly now: () => number = () => performance.now(),
  ) {}

  private roll(): void {
    const t = this.now();
    if (t - this.windowStart >= 1000) {
      // A failure burst right after a window starts must still see the recent rate.
      this.previousRequests = t - this.windowStart < 2000 ? this.requests : 0;
      this.windowStart = t;
      this.requests = 0;
      this.retries = 0;
    }
  }

  recordRequest(): void {
    this.roll();
    this.requests++;
  }

  tryAcquire(): boolean {
    this.roll();
    const base = Math.max(this.requests, this.previousRequests);
    if (this.retries >= Math.max(this.minPerWindow, this.ratio * base)) return false;
    this.retries++;
    return true;
  }
}
