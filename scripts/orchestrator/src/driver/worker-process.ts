import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ManagedProcess } from '../sys/child.js';
import { which } from '../sys/which.js';
import type { DriverProgress, DriverRunResult, DriverRunSpec } from './types.js';

// Under a TypeScript loader (tests) this module runs from src/; the worker always runs compiled.
const here = fileURLToPath(new URL('./worker/main.js', import.meta.url));
const WORKER = existsSync(here)
  ? here
  : here.replace(/\/src\/driver\/worker\/main\.js$/, '/dist/driver/worker/main.js');

/** The built-in driver, running in a child process (optionally pinned with taskset). */
export class DriverProcess {
  private nextId = 1;
  private readonly pending = new Map<
    number,
    { resolve: (r: DriverRunResult) => void; reject: (e: Error) => void; onProgress?: (p: DriverProgress) => void }
  >();
  readonly proc: ManagedProcess;
  private readonly ready: Promise<void>;
  private closing = false;

  constructor(opts: { cpus?: string | undefined; runId: string }) {
    const taskset = opts.cpus ? which('taskset') : undefined;
    this.proc = new ManagedProcess(
      {
        name: 'driver',
        command: process.execPath,
        args: [WORKER],
        env: { PATH: process.env.PATH, MLBENCH_RUN_ID: opts.runId },
        cpus: opts.cpus,
      },
      taskset,
      ['ignore', 'pipe', 'pipe', 'ipc'],
    );
    const child = this.proc.child;
    this.ready = new Promise((resolve, reject) => {
      child.on('message', (msg: any) => {
        if (msg.type === 'ready') return resolve();
        const p = this.pending.get(msg.id);
        if (!p) return;
        if (msg.type === 'progress') p.onProgress?.(msg.progress);
        else if (msg.type === 'result') {
          this.pending.delete(msg.id);
          p.resolve(msg.result);
        } else if (msg.type === 'error') {
          this.pending.delete(msg.id);
          p.reject(new Error(`driver failed: ${msg.message}`));
        }
      });
      void this.proc.exited.then(() => {
        const err = new Error(`driver process exited unexpectedly; last output:\n${this.proc.logTail()}`);
        reject(err);
        for (const p of this.pending.values()) p.reject(err);
        this.pending.clear();
      });
    });
    // A worker that dies at start-up is reported by the first run() (and by close()), not as
    // an unhandled rejection that would end mlbench before it cleans up what it deployed.
    this.ready.catch(() => undefined);
  }

  get pid(): number | undefined {
    return this.proc.pid;
  }

  async run(spec: DriverRunSpec, onProgress?: (p: DriverProgress) => void): Promise<DriverRunResult> {
    await this.ready;
    // A run asked for after close() (an interrupt lands between two runs) must fail, not wait
    // for an answer that never comes: with nothing else pending, Node would exit with code 0.
    if (this.closing || !this.proc.running) throw new Error('driver closed');
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, onProgress });
      this.proc.child.send({ type: 'run', id, spec }, (err) => {
        if (!err) return;
        this.pending.delete(id);
        reject(new Error(`driver unreachable: ${err.message}`));
      });
    });
  }

  async close(): Promise<void> {
    this.closing = true;
    if (!this.proc.running) return;
    try {
      this.proc.child.send({ type: 'close' });
    } catch {
      // channel already closed
    }
    const timer = setTimeout(() => this.proc.killNow(), 3_000);
    await this.proc.exited;
    clearTimeout(timer);
  }
}
