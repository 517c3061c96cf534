import { cp, mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '@mlbench/model';
import { type Deployment, metricsUrlOf } from '../backends/types.js';
import { ManagedProcess } from '../sys/child.js';
import { freePort } from '../sys/ports.js';
import { waitReady } from '../sys/ready.js';
import { COMPOSE_DIR } from '../sys/repo.js';
import { which } from '../sys/which.js';

/** One file_sd entry: a scrape target and the labels every dashboard query selects on. */
export interface ScrapeTarget {
  address: string;
  labels: { service: string; replica: string; topology?: string };
}

export interface LocalPrometheus {
  url: string;
  dir: string;
  /** Register (or replace) a named group of targets; Prometheus picks the file up within a second. */
  setTargets(group: string, targets: ScrapeTarget[]): Promise<void>;
  removeTargets(group: string): Promise<void>;
  stop(): Promise<void>;
}

export const PROMETHEUS_HINT =
  "Debian's prometheus package (apt-get install prometheus) or any Prometheus 2.x binary on PATH";

/** The targets of a deployment: every component, labelled with its service, replica name and topology. */
export function deploymentTargets(dep: Deployment): ScrapeTarget[] {
  return dep.components.map((c) => ({
    address: new URL(metricsUrlOf(c)).host,
    labels: { service: c.service, replica: c.name, topology: dep.topology },
  }));
}

/**
 * Start the local Prometheus binary with the shipped process-backend configuration
 * (compose/prometheus/process.yml and its rules, copied into `dir`), on a free loopback port.
 */
export async function startLocalPrometheus(dir: string, opts: { retention?: string } = {}): Promise<LocalPrometheus> {
  const binary = which('prometheus');
  if (!binary) throw new Error(`--with prometheus needs ${PROMETHEUS_HINT}`);
  await mkdir(join(dir, 'targets'), { recursive: true });
  await cp(join(COMPOSE_DIR, 'prometheus', 'process.yml'), join(dir, 'process.yml'));
  await cp(join(COMPOSE_DIR, 'prometheus', 'rules'), join(dir, 'rules'), { recursive: true });
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const proc = new ManagedProcess({
    name: 'prometheus',
    command: binary,
    args: [
      `--config.file=${join(dir, 'process.yml')}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--storage.tsdb.retention.time=${opts.retention ?? '15d'}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--web.enable-lifecycle',
      '--log.level=warn',
    ],
    env: { PATH: process.env.PATH, HOME: process.env.HOME },
  });
  try {
    await waitReady(proc, url, 30_000, '/-/ready');
  } catch (err) {
    await proc.stop(2_000);
    throw err;
  }
  const fileOf = (group: string) => join(dir, 'targets', `${group.replace(/[^A-Za-z0-9_.-]/g, '_')}.json`);
  return {
    url,
    dir,
    setTargets: async (group, targets) => {
      const sd = targets.map((t) => ({ targets: [t.address], labels: t.labels }));
      await writeFileAtomic(fileOf(group), `${JSON.stringify(sd, null, 2)}\n`);
    },
    removeTargets: (group) => rm(fileOf(group), { force: true }),
    stop: () => proc.stop(5_000),
  };
}
