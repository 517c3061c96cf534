import { type ChildProcess, type StdioOptions, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

const LOG_TAIL_LINES = 40;

/** Every child this process started, so that any exit path can stop them all. */
const live = new Set<ManagedProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // Last resort for paths that skip orderly shutdown (uncaught error, process.exit).
  process.on('exit', () => {
    for (const p of live) p.killNow();
  });
}

export interface SpawnOptions {
  name: string;
  command: string;
  args: string[];
  env: NodeJS.ProcessEnv;
  /** CPU list for taskset (e.g. "1" or "0-1"); ignored when taskset is unavailable. */
  cpus?: string | undefined;
  cwd?: string | undefined;
}

export class ChildExitedError extends Error {
  override name = 'ChildExitedError';
}

/** A child process with its recent output kept for error messages and a bounded stop. */
export class ManagedProcess {
  readonly child: ChildProcess;
  readonly name: string;
  private readonly tail: string[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  exitStatus: { code: number | null; signal: NodeJS.Signals | null } | undefined;

  constructor(opts: SpawnOptions, tasksetPath?: string, stdio: StdioOptions = ['ignore', 'pipe', 'pipe']) {
    installExitHook();
    this.name = opts.name;
    const [cmd, args] =
      opts.cpus && tasksetPath
        ? [tasksetPath, ['-c', opts.cpus, opts.command, ...opts.args]]
        : [opts.command, opts.args];
    this.child = spawn(cmd, args, { env: opts.env, stdio, ...(opts.cwd ? { cwd: opts.cwd } : {}) });
    live.add(this);
    const keep = (chunk: Buffer) => {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (!line) continue;
        this.tail.push(line);
        if (this.tail.length > LOG_TAIL_LINES) this.tail.shift();
      }
    };
    this.child.stdout?.on('data', keep);
    this.child.stderr?.on('data', keep);
    this.exited = new Promise((resolve) => {
      this.child.once('exit', (code, signal) => {
        this.exitStatus = { code, signal };
        live.delete(this);
        resolve({ code, signal });
      });
      this.child.once('error', (err) => {
        this.tail.push(`spawn error: ${err.message}`);
        this.exitStatus = { code: -1, signal: null };
        live.delete(this);
        resolve({ code: -1, signal: null });
      });
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get running(): boolean {
    return this.exitStatus === undefined;
  }

  logTail(lines = 10): string {
    return this.tail.slice(-lines).join('\n');
  }

  signal(sig: NodeJS.Signals): void {
    if (this.running) this.child.kill(sig);
  }

  killNow(): void {
    if (this.running) {
      try {
        this.child.kill('SIGKILL');
      } catch {
        // already gone
      }
    }
  }

  /** `signal` (SIGTERM), then SIGKILL if it has not exited within graceMs. */
  async stop(graceMs = 5_000, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    if (!this.running) return;
    this.child.kill(signal);
    const timer = sleep(graceMs).then(() => 'timeout' as const);
    if ((await Promise.race([this.exited, timer])) === 'timeout') {
      this.killNow();
      await this.exited;
    }
  }
}

/** Whether a process exists. EPERM means it does (another user's): only ESRCH means gone. */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The command line of a process (NUL-separated arguments joined by spaces), or undefined if it is gone. */
export function commandLineOf(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
  } catch {
    return undefined;
  }
}
