import type { ResultsFile } from '../results/index.js';

/**
 * What must match for two runs' figures to be comparable (the machine's hardware, the
 * scenario, the plan, the SLO): each difference in one line. What may legitimately differ
 * between a baseline and a candidate (commit, hostname, backend, driver) is a note instead.
 */
export interface Differences {
  blocking: string[];
  notes: string[];
}

const show = (x: unknown) => (typeof x === 'string' ? x : JSON.stringify(x));

export function differences(a: ResultsFile, b: ResultsFile): Differences {
  const blocking: string[] = [];
  const notes: string[] = [];
  const check = (into: string[], what: string, x: unknown, y: unknown) => {
    if (show(x) !== show(y)) into.push(`${what}: ${show(x)} vs ${show(y)}`);
  };
  check(blocking, 'machine CPU', a.machine.cpuModel, b.machine.cpuModel);
  check(blocking, 'machine CPUs', a.machine.logicalCpus, b.machine.logicalCpus);
  check(blocking, 'machine memory GB', Math.round(a.machine.memoryGB), Math.round(b.machine.memoryGB));
  check(blocking, 'machine platform', a.machine.platform, b.machine.platform);
  check(blocking, 'plan', a.config.plan, b.config.plan);
  const scenario = (r: ResultsFile) =>
    `${r.config.scenario.name} (${r.config.scenario.executor}, ${r.config.scenario.arrival})`;
  check(blocking, 'scenario', scenario(a), scenario(b));
  check(blocking, 'SLO p99 ms', a.config.slo.p99Ms, b.config.slo.p99Ms);
  check(blocking, 'SLO error rate', a.config.slo.errorRate, b.config.slo.errorRate);
  check(notes, 'commit', a.machine.gitCommit, b.machine.gitCommit);
  check(notes, 'hostname', a.machine.hostname, b.machine.hostname);
  check(notes, 'backend', a.config.backend, b.config.backend);
  check(notes, 'driver', a.config.driver, b.config.driver);
  check(notes, 'core split', a.config.pinning.description, b.config.pinning.description);
  check(notes, 'model', a.config.model.name, b.config.model.name);
  return { blocking, notes };
}
