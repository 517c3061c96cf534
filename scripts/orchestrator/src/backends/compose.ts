import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';

const run = promisify(execFile);

import { COMPOSE_DIR, REPO_ROOT } from '../sys/repo.js';

/** Pins from the root .env (what Compose itself reads), overridden by the environment. */
export function composePins(env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const pins: Record<string, string> = {};
  let text = '';
  try {
    text = readFileSync(`${REPO_ROOT}.env`, 'utf8');
  } catch {
    // No .env (an installed package): defaults below apply.
  }
  for (const line of text.split('\n')) {
    const m = /^([A-Z_][A-Z0-9_]*)=(.*)$/.exec(line.trim());
    if (m) pins[m[1]!] = m[2]!;
  }
  for (const k of Object.keys(pins)) if (env[k] !== undefined) pins[k] = env[k]!;
  return pins;
}

export function imageOf(service: string, pins = composePins()): string {
  return `${pins.IMAGE_PREFIX ?? 'mlbench/'}${service}:${pins.MLBENCH_TAG ?? 'dev'}`;
}

let detected: string[] | undefined;
/** `docker compose` (v2) when present, else `docker-compose` (v1); undefined when neither runs. */
export async function composeCommand(): Promise<string[] | undefined> {
  if (detected) return detected;
  for (const cmd of [['docker', 'compose'], ['docker-compose']]) {
    try {
      await run(cmd[0]!, [...cmd.slice(1), 'version'], { timeout: 15_000 });
      detected = cmd;
      return cmd;
    } catch {
      // try the next one
    }
  }
  return undefined;
}

export interface ComposeProject {
  name: string;
  files: string[];
  env: Record<string, string>;
}

/** Run a Compose subcommand for a project; rejects with Compose's own last lines on failure. */
export async function compose(p: ComposeProject, args: string[], timeoutMs = 180_000): Promise<string> {
  const cmd = await composeCommand();
  if (!cmd)
    throw new Error(
      "neither 'docker compose' nor 'docker-compose' is installed (scripts/docker/ensure-engine.sh installs one)",
    );
  const fileArgs = p.files.flatMap((f) => ['-f', `${COMPOSE_DIR}/${f}`]);
  try {
    const { stdout } = await run(cmd[0]!, [...cmd.slice(1), '-p', p.name, ...fileArgs, ...args], {
      cwd: REPO_ROOT,
      env: { ...process.env, ...p.env },
      timeout: timeoutMs,
      maxBuffer: 16 * 1024 * 1024,
    });
    return stdout;
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    const tail = (e.stderr ?? e.message).trim().split('\n').slice(-3).join(' | ');
    throw new Error(`${cmd.join(' ')} ${args[0]} (${p.name}) failed: ${tail}`);
  }
}
