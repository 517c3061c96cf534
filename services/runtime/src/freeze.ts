/**
 * Tells a frozen process (SIGSTOP, a paused container or VM) from an overloaded one.
 * After a freeze the event-loop-delay sample holds the whole stall, which would make
 * load shedding reject the first requests after resuming although nothing is queued
 * beyond what one loop turn clears.
 */
export class FreezeDetector {
  private last = performance.now();
  private frozenUntil = 0;
  private readonly timer: NodeJS.Timeout;

  constructor(
    tickMs = 100,
    private readonly stallMs = 1_000,
    private readonly graceMs = 1_500,
  ) {
    this.timer = setInterval(() => this.tick(), tickMs);
    this.timer.unref();
  }

  private tick(): void {
    const now = performance.now();
    // An overloaded loop is late by its work; a frozen process by seconds of nothing.
    if (now - this.last > this.stallMs) this.frozenUntil = now + this.graceMs;
    this.last = now;
  }

  recentlyFrozen(): boolean {
    return performance.now() < this.frozenUntil;
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
