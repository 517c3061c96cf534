import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import type { ResultsFile } from '../../src/results/index.js';
import { which } from '../../src/sys/which.js';
import { CLI } from '../helpers/servers.js';

const run = promisify(execFile);

// Real k6 (a v1.3.0 binary built from k6's source; CI puts it on PATH and sets MLBENCH_REAL_K6).
// Where there is none, the stand-in tests in k6.test.ts cover the driver's side.
const k6 = which('k6');
const version = k6 ? (await run(k6, ['version']).catch(() => ({ stdout: '' }))).stdout : '';
const real = /^k6 v\d/.test(version);
if (process.env.MLBENCH_REAL_K6 && !real) throw new Error(`MLBENCH_REAL_K6 is set but no real k6 is on PATH (${k6})`);

t.test(
  'real k6 over both topologies: capacity beyond what k6 can send is a load-generator bound',
  { skip: real ? false : 'no real k6 on PATH' },
  async (t) => {
    t.comment(version.trim());
    const out = await mkdtemp(join(tmpdir(), 'mlbench-k6-real-'));
    t.teardown(() => rm(out, { recursive: true, force: true }));
    await run(
      process.execPath,
      [CLI, 'bench', '--preset', 'quick', '--driver', 'k6', '--topology', 'both', '--out', out, '--run-id', 'k6'],
      { timeout: 600_000, maxBuffer: 16 << 20 },
    );
    const results = JSON.parse(await readFile(join(out, 'k6', 'results.json'), 'utf8')) as ResultsFile;
    t.equal(results.status, 'complete');
    t.ok(results.runs.every((r) => r.driver === 'k6'));
    const k6Runs = results.runs.filter((r) => r.resources.driver);
    t.ok(
      k6Runs.length > 0 && k6Runs.every((r) => r.resources.driver!.cpuSeconds > 0),
      'CPU of the k6 process that ran each run',
    );
    for (const c of results.capacity) {
      t.ok(['slo', 'load-generator', 'search-range'].includes(c.limitedBy), `${c.topology}: limited by ${c.limitedBy}`);
      t.comment(
        `${c.topology}×${c.replicas}: ${c.limitedBy === 'slo' ? '' : '≥ '}${c.rateRps} req/s, limited by ${c.limitedBy}`,
      );
    }
    // k6 holds under ~2,000 arrivals/s on its one core; the monolith serves several times that.
    const mono = results.capacity.find((c) => c.topology === 'monolith')!;
    t.equal(mono.limitedBy, 'load-generator', 'the monolith’s capacity is the load generator’s limit, not a figure');
    t.ok(
      mono.probes.some((p) => p.verdict === 'load-generator'),
      'a probe k6 could not hold',
    );
    const late = results.runs.filter((r) => r.driverLate);
    t.ok(
      late.length > 0 && late.every((r) => /k6|load generator/.test(r.driverLateReason ?? '')),
      'each late run says why',
    );
    const report = await readFile(join(out, 'k6', 'report.md'), 'utf8');
    t.match(report, /load generator limit/, 'the report states the bound');
  },
);
