import cliProgress from 'cli-progress';
import type { DriverProgress } from '../driver/types.js';

/**
 * A live line per run: progress, current rate, p99 of the last second, errors, drops
 * and time left. On a non-TTY (CI, pipes) the same line is printed every few seconds.
 */
export class Progress {
  private bar: cliProgress.SingleBar;
  private label = '';
  private active = false;
  private runIndex = 0;

  constructor(
    private readonly totalRuns: number,
    private readonly stream: NodeJS.WriteStream = process.stderr,
  ) {
    this.bar = new cliProgress.SingleBar(
      {
        stream,
        format:
          '{run} {label} |{bar}| {percentage}% | {rate} req/s | p99 {p99} ms | err {errors} | drop {dropped} | {left}s left',
        barsize: 20,
        hideCursor: true,
        noTTYOutput: true,
        notTTYSchedule: 5000,
        etaBuffer: 5,
      },
      cliProgress.Presets.shades_classic,
    );
  }

  update(p: DriverProgress): void {
    const total = Math.max(1, Math.round(p.totalMs));
    const payload = {
      run: `[${this.runIndex}/${this.totalRuns}]`,
      label: p.label,
      rate: Math.round(p.rate),
      p99: p.p99Ms.toFixed(2),
      errors: p.errors,
      dropped: p.dropped,
      left: Math.max(0, Math.round((p.totalMs - p.elapsedMs) / 1000)),
    };
    if (!this.active || p.label !== this.label) {
      if (this.active) this.bar.stop();
      this.label = p.label;
      this.active = true;
      this.bar.start(total, Math.min(total, Math.round(p.elapsedMs)), payload);
    } else this.bar.update(Math.min(total, Math.round(p.elapsedMs)), payload);
  }

  nextRun(): void {
    this.runIndex++;
  }

  /** A permanent line above the live one. */
  log(line: string): void {
    if (this.active) {
      this.bar.stop();
      this.active = false;
    }
    this.stream.write(`${line}\n`);
  }

  stop(): void {
    if (this.active) this.bar.stop();
    this.active = false;
  }
}
