/**
 * The load generator as its own process, so it can be pinned to its own cores and its
 * CPU measured apart from the orchestrator. Commands arrive over IPC.
 */

import type { DriverRunSpec } from '../types.js';
import { closePools, runDriver } from './drive.js';

type Command = { type: 'run'; id: number; spec: DriverRunSpec } | { type: 'close' };

const send = (msg: unknown) => process.send?.(msg);
let current: AbortController | undefined;

process.on('message', (msg: Command) => {
  if (msg.type === 'close') {
    current?.abort();
    void closePools().finally(() => process.exit(0));
    return;
  }
  if (msg.type === 'run') {
    current = new AbortController();
    runDriver(msg.spec, (p) => send({ type: 'progress', id: msg.id, progress: p }), current.signal).then(
      (result) => send({ type: 'result', id: msg.id, result }),
      (err: Error) => send({ type: 'error', id: msg.id, message: err.stack ?? err.message }),
    );
  }
});
// The orchestrator is gone: nothing left to report to.
process.on('disconnect', () => process.exit(0));
send({ type: 'ready' });
