import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { type Static, Type } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import Docker from 'dockerode';
import { NODES_ENV } from '../../scenario/faults.js';

const run = promisify(execFile);

/**
 * The nodes of a multi-node swarm, as mlbench needs them beyond the manager's API: each node's
 * own engine (CPU and memory of its tasks come from it: the manager's engine sees only its own
 * containers), and how to stop and start that engine (the node-stop fault). A JSON file named by
 * MLBENCH_SWARM_NODES, keyed by the node's hostname (`docker node ls`); swarm-cluster.sh writes one.
 *
 *   { "node2": { "engine": "unix:///run/…/docker.sock", "zone": "b",
 *                "stop": ["ssh", "node2", "sudo", "systemctl", "stop", "docker"],
 *                "start": ["ssh", "node2", "sudo", "systemctl", "start", "docker"] } }
 */
const Argv = Type.Array(Type.String({ minLength: 1 }), { minItems: 1 });
export const SwarmNodeSchema = Type.Object(
  {
    /** unix:///path/docker.sock, tcp://host:port (plain; TLS through DOCKER_CERT_PATH is not read) or ssh://user@host. */
    engine: Type.String({ pattern: '^(unix|tcp|ssh)://.+' }),
    zone: Type.Optional(Type.String({ minLength: 1 })),
    /** argv, no shell; run on this machine. */
    stop: Type.Optional(Argv),
    start: Type.Optional(Argv),
  },
  { additionalProperties: false },
);
const NodesFileSchema = Type.Record(Type.String({ minLength: 1 }), SwarmNodeSchema);
export type SwarmNode = Static<typeof SwarmNodeSchema>;

export { NODES_ENV } from '../../scenario/faults.js';

/** The nodes file's entries, or an empty map when none is named; a bad file is a one-line error. */
export function loadSwarmNodes(path = process.env[NODES_ENV]): Map<string, SwarmNode> {
  if (!path) return new Map();
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new Error(`${NODES_ENV}=${path}: ${(err as Error).message}`);
  }
  if (!Value.Check(NodesFileSchema, parsed)) {
    const e = [...Value.Errors(NodesFileSchema, parsed)][0]!;
    throw new Error(`${NODES_ENV}=${path}: ${e.path || '/'} ${e.message}`);
  }
  return new Map(Object.entries(parsed));
}

/** A Docker API client for a node's engine URL. */
export function engineClient(url: string): Docker {
  const u = new URL(url);
  if (u.protocol === 'unix:') return new Docker({ socketPath: u.pathname });
  if (u.protocol === 'ssh:')
    return new Docker({ protocol: 'ssh', host: u.hostname, port: Number(u.port || 22), username: u.username });
  return new Docker({ protocol: 'http', host: u.hostname, port: Number(u.port || 2375) });
}

/** Run a node's stop or start command; a failure names the node and the command's last line. */
export async function nodeCommand(node: string, which: 'stop' | 'start', spec: SwarmNode | undefined) {
  const argv = spec?.[which];
  if (!argv) throw new Error(`node ${node} has no "${which}" command in ${NODES_ENV}`);
  try {
    await run(argv[0]!, argv.slice(1), { timeout: 120_000 });
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`${which} ${node} (${argv.join(' ')}) failed: ${(e.stderr || e.message).trim().split('\n').pop()}`);
  }
}
