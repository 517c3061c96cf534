/**
 * Tells a frozen process (SIGSTOP, a paused container or VM, a host that gave it no CPU)
 * from an overloaded one. After a freeze the event-loop-delay sample holds the whole stall
 * (or, when the sampler runs first, no sample at all, which under-pressure reads as an
 * infinite delay), so load shedding would reject the requests that arrive after resuming
 * although nothing is queued beyond what one loop turn clears. Measured: a 700 ms freeze of
 * both prediction replicas made them shed, the gateway ejected them for 5xx in a row, and
 * clients got 500+ 503s.
 *
 * The difference is CPU time: a loop late because of its own work used the CPU all along;
 * a frozen one used almost none during the gap.
 */
export class FreezeDetector {
  private lastWall: number;
  private lastCpuMs: number;
  private frozenUntil = 0;
  private readonly timer: NodeJS.Timeout;

  constructor(
    tickMs = 100,
    /** A gap this long between ticks is a stall (a shedding threshold of 200 ms mean delay is reached by less). */
    private readonly stallMs = 250,
    /** Covers the under-pressure sample (500 ms) that holds the stall, and the next one. */
    private readonly graceMs = 1_500,
    /** Below this share of the gap spent on the CPU, the process was not running: frozen. */
    private readonly busyShare = 0.25,
    private readonly clock: { wall: () => number; cpu: () => number } = { wall: () => performance.now(), cpu: cpuMs },
  ) {
    this.lastWall = clock.wall();
    this.lastCpuMs = clock.cpu();
    this.timer = setInterval(() => this.tick(), tickMs);
    this.timer.unref();
  }

  /** Public for tests, which drive it with their own clock. */
  tick(): void {
    const wall = this.clock.wall();
    const cpu = this.clock.cpu();
    const gap = wall - this.lastWall;
    if (gap > this.stallMs && cpu - this.lastCpuMs < this.busyShare * gap) this.frozenUntil = wall + this.graceMs;
    this.lastWall = wall;
    this.lastCpuMs = cpu;
  }

  recentlyFrozen(): boolean {
    return this.clock.wall() < this.frozenUntil;
  }

  stop(): void {
    clearInterval(this.timer);
  }
}

function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}
