import type { FaultKind } from '../results/index.js';
import { parseDuration } from '../sys/duration.js';

export type { FaultKind, FaultOutcome } from '../results/index.js';

export interface FaultSpec {
  kind: FaultKind;
  /** When, from the start of the measured run. */
  atMs: number;
  /** pause: how long the replica is frozen; restart: how long it stays down. */
  durationMs: number;
  text: string;
}

const DEFAULT_DURATION: Record<FaultKind, number> = { kill: 0, stop: 0, pause: 5_000, restart: 2_000, 'node-stop': 0 };

/** The swarm nodes file (backends/swarm-nodes.ts): how node-stop stops and starts a node. */
export const NODES_ENV = 'MLBENCH_SWARM_NODES';

/** Faults on one replica's process; node-stop loses a whole swarm node (its engine stopped). */
export const isNodeFault = (kind: FaultKind): boolean => kind === 'node-stop';

/** `kill@10s`, `stop@10s`, `pause@10s:5s`, `restart@10s:2s`, `node-stop@10s`. */
export function parseFault(text: string): FaultSpec {
  const m = /^(kill|stop|pause|restart|node-stop)@([^:]+)(?::(.+))?$/.exec(text.trim());
  if (!m)
    throw new Error(
      `--fault must be kill@T, stop@T, pause@T[:D], restart@T[:D] or node-stop@T (e.g. kill@10s, pause@10s:5s), got "${text}"`,
    );
  const kind = m[1] as FaultKind;
  const atMs = parseDuration(m[2]!);
  if (m[3] !== undefined && (kind === 'kill' || kind === 'stop' || kind === 'node-stop'))
    throw new Error(`--fault ${kind} takes no duration`);
  const durationMs = m[3] !== undefined ? parseDuration(m[3]) : DEFAULT_DURATION[kind];
  return { kind, atMs, durationMs, text };
}
