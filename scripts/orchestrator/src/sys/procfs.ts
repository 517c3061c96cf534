import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

let ticksPerSecond: number | undefined;
function clockTicks(): number {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

export interface ProcSample {
  /** user + system CPU seconds since the process started. */
  cpuSeconds: number;
  rssMB: number;
  /** Peak resident set size (VmHWM). */
  rssPeakMB: number;
  /** What was sampled (a container ID), where a component's name can outlive it. */
  id?: string;
}

/** CPU and memory of a process from /proc; undefined when it is gone or /proc is absent. */
export function sampleProcess(pid: number | undefined): ProcSample | undefined {
  if (!pid) return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const utime = Number(rest[11]);
    const stime = Number(rest[12]);
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (key: string) => Number(status.match(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm'))?.[1] ?? 0);
    return {
      cpuSeconds: (utime + stime) / clockTicks(),
      rssMB: kb('VmRSS') / 1024,
      rssPeakMB: kb('VmHWM') / 1024,
    };
  } catch {
    return undefined;
  }
}

/** Each component with a PID, sampled now, by component name (a process that is gone is left out). */
export function sampleComponents(components: { name: string; pid?: number | undefined }[]): Map<string, ProcSample> {
  const out = new Map<string, ProcSample>();
  for (const c of components) {
    const s = c.pid ? sampleProcess(c.pid) : undefined;
    if (s) out.set(c.name, s);
  }
  return out;
}
