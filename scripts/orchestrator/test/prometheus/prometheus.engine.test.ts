import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { DEFAULT_MODEL_PATH } from '@mlbench/model';
import { type TSchema, Type } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import t from 'tap';
import { request } from 'undici';
import { deployProcesses } from '../../src/backends/process.js';
import { DriverProcess } from '../../src/driver/worker-process.js';
import { driverSpec } from '../../src/measure/run.js';
import { instantQuery, runWindow } from '../../src/prometheus/api.js';
import { DriverMetrics } from '../../src/prometheus/driver-metrics.js';
import { deploymentTargets, startLocalPrometheus } from '../../src/prometheus/local.js';
import { atRate, loadScenario } from '../../src/scenario/scenario.js';
import { which } from '../../src/sys/which.js';
import { ROOT } from '../helpers/paths.js';

/**
 * The observability side against a real Prometheus (Debian's package): the shipped
 * configuration and rules pass promtool, the dashboards are well-formed, and every panel
 * query and recording rule returns data from a live topology under load.
 */
const run = promisify(execFile);
const PROM_DIR = join(ROOT, 'compose/prometheus');
const DATASOURCE_UID = 'mlbench-prometheus';

const missing = !which('prometheus') || !which('promtool') ? 'prometheus/promtool not installed' : undefined;
if (missing && process.env.CI === 'true') throw new Error(`CI=true requires the Prometheus test: ${missing}`);

interface Target {
  refId: string;
  expr: string;
  datasource: { type: string; uid: string };
}
interface Panel {
  id: number;
  type: string;
  title: string;
  gridPos: { h: number; w: number; x: number; y: number };
  targets: Target[];
}
interface Dashboard {
  uid: string;
  title: string;
  panels: Panel[];
  templating: { list: { name: string; query: { query: string } }[] };
}

const Datasource = Type.Object({ type: Type.Literal('prometheus'), uid: Type.Literal(DATASOURCE_UID) });
// The part of Grafana's dashboard model (schemaVersion 39) that provisioning and rendering rely on.
const DashboardSchema: TSchema = Type.Object({
  uid: Type.String({ pattern: '^[a-zA-Z0-9_-]{1,40}$' }),
  title: Type.String({ minLength: 1 }),
  schemaVersion: Type.Integer({ minimum: 30 }),
  time: Type.Object({ from: Type.String(), to: Type.String() }),
  templating: Type.Object({
    list: Type.Array(
      Type.Object({
        name: Type.String({ pattern: '^[a-z_]+$' }),
        type: Type.Literal('query'),
        datasource: Datasource,
        query: Type.Object({ query: Type.String({ minLength: 1 }) }),
      }),
    ),
  }),
  panels: Type.Array(
    Type.Object({
      id: Type.Integer({ minimum: 1 }),
      type: Type.Union([Type.Literal('timeseries'), Type.Literal('stat'), Type.Literal('gauge')]),
      title: Type.String({ minLength: 1 }),
      datasource: Datasource,
      gridPos: Type.Object({
        h: Type.Integer({ minimum: 1 }),
        w: Type.Integer({ minimum: 1, maximum: 24 }),
        x: Type.Integer({ minimum: 0, maximum: 23 }),
        y: Type.Integer({ minimum: 0 }),
      }),
      targets: Type.Array(
        Type.Object({
          refId: Type.String({ minLength: 1 }),
          expr: Type.String({ minLength: 1 }),
          datasource: Datasource,
        }),
        { minItems: 1 },
      ),
    }),
    { minItems: 1 },
  ),
});

async function loadDashboards(): Promise<[string, Dashboard][]> {
  const dir = join(ROOT, 'dashboards');
  const files = (await readdir(dir)).filter((f) => f.endsWith('.json'));
  return Promise.all(
    files.map(async (f) => [f, JSON.parse(await readFile(join(dir, f), 'utf8'))] as [string, Dashboard]),
  );
}

/** Every `datasource` object anywhere in the document. */
function datasources(node: unknown, out: unknown[] = []): unknown[] {
  if (Array.isArray(node)) for (const x of node) datasources(x, out);
  else if (node && typeof node === 'object')
    for (const [k, v] of Object.entries(node)) {
      if (k === 'datasource') out.push(v);
      datasources(v, out);
    }
  return out;
}

/** Grafana's variables and macros, as Grafana would expand them with "All" selected. */
function expand(expr: string, vars: Record<string, string> = {}): string {
  return expr
    .replace(/\$__rate_interval/g, '30s')
    .replace(/\$__interval/g, '5s')
    .replace(/\$(\w+)/g, (_, name: string) => vars[name] ?? '.*');
}

t.test('shipped Prometheus configuration and rules pass promtool', { skip: missing }, async (t) => {
  for (const file of ['prometheus.yml', 'process.yml']) {
    const { stdout } = await run('promtool', ['check', 'config', join(PROM_DIR, file)]);
    t.match(stdout, /SUCCESS: .* is valid prometheus config file syntax/, `promtool check config ${file}`);
  }
  const { stdout } = await run('promtool', ['check', 'rules', join(PROM_DIR, 'rules', 'mlbench.yml')]);
  t.match(stdout, /SUCCESS: \d+ rules found/, 'promtool check rules');
});

t.test('dashboards parse as Grafana dashboards and use only the provisioned datasource', async (t) => {
  const dashboards = await loadDashboards();
  t.ok(dashboards.length > 0, 'at least one dashboard');
  const provisioned = await readFile(join(ROOT, 'compose/grafana/provisioning/datasources/prometheus.yaml'), 'utf8');
  t.match(provisioned, new RegExp(`uid: ${DATASOURCE_UID}\\b`), 'the provisioned datasource has the fixed uid');
  for (const [file, d] of dashboards) {
    const errors = [...Value.Errors(DashboardSchema, d)].slice(0, 3).map((e) => `${e.path}: ${e.message}`);
    t.same(errors, [], `${file} matches the dashboard model`);
    const ids = d.panels.map((p) => p.id);
    t.equal(new Set(ids).size, ids.length, `${file}: panel ids are unique`);
    t.ok(
      datasources(d).every((ds) => (ds as { uid?: string }).uid === DATASOURCE_UID),
      `${file}: every datasource reference is uid ${DATASOURCE_UID}`,
    );
    const cells = new Set<string>();
    let overlap = false;
    for (const p of d.panels) {
      t.ok(p.gridPos.x + p.gridPos.w <= 24, `${file}: "${p.title}" fits the 24-column grid`);
      for (let x = p.gridPos.x; x < p.gridPos.x + p.gridPos.w; x++)
        for (let y = p.gridPos.y; y < p.gridPos.y + p.gridPos.h; y++) {
          if (cells.has(`${x},${y}`)) overlap = true;
          cells.add(`${x},${y}`);
        }
    }
    t.notOk(overlap, `${file}: panels do not overlap`);
  }
});

t.test(
  'every panel query and recording rule returns data from a live topology under load',
  { skip: missing },
  async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'mlbench-prom-'));
    const prom = await startLocalPrometheus(dir);
    t.teardown(() => prom.stop());
    const opts = { modelPath: DEFAULT_MODEL_PATH, runId: `test-prometheus-${process.pid}` };
    const mono = await deployProcesses('monolith', 1, opts);
    t.teardown(() => mono.stop());
    const micro = await deployProcesses('microservices', 2, opts);
    t.teardown(() => micro.stop());
    for (const d of [mono, micro]) await prom.setTargets(d.topology, deploymentTargets(d));
    const exporter = new DriverMetrics();
    t.teardown(() => exporter.close());
    await prom.setTargets('driver', [
      { address: await exporter.listen(), labels: { service: 'driver', replica: 'driver' } },
    ]);

    // Load starts once every target has been scraped, as in a bench (deploy and warm-up come first).
    const scraped = async () => (await instantQuery(prom.url, 'up == 1')).length;
    for (let i = 0; i < 40 && (await scraped()) < 5; i++) await sleep(250);
    t.equal(await scraped(), 5, 'Prometheus scrapes monolith, gateway, 2 prediction replicas and the driver');

    const scenario = atRate(await loadScenario('quick'), 200, 12_000, 0);
    const drivers = [mono, micro].map(() => new DriverProcess({ runId: opts.runId }));
    t.teardown(() => Promise.all(drivers.map((d) => d.close())));
    const startedAt = Date.now();
    const [monoRun, microRun] = await Promise.all(
      [mono, micro].map((dep, i) =>
        drivers[i]!.run({ ...driverSpec(scenario, dep, `trial ${dep.topology}×1`), progressEveryMs: 500 }, (p) =>
          exporter.observe(p),
        ),
      ),
    );
    const endedAt = Date.now();
    t.equal(monoRun!.ok, monoRun!.completed, 'monolith: every request succeeded');
    t.equal(microRun!.ok, microRun!.completed, 'microservices: every request succeeded');
    // One more scrape and one more rule evaluation (both every 2 s) after the load.
    await sleep(4_500);

    t.equal(await scraped(), 5, 'and still does after the load');

    const rules = await readFile(join(PROM_DIR, 'rules', 'mlbench.yml'), 'utf8');
    const records = [...rules.matchAll(/^\s*- record: (\S+)/gm)].map((m) => m[1]!);
    t.ok(records.length >= 8, `${records.length} recording rules`);
    for (const name of records) {
      const r = await instantQuery(prom.url, name);
      t.ok(r.length > 0, `rule ${name} records data`, { result: r.slice(0, 3) });
    }

    for (const [file, d] of await loadDashboards()) {
      for (const v of d.templating.list) {
        const match = /^label_values\((.*), (\w+)\)$/.exec(v.query.query);
        if (!t.ok(match, `${file}: variable ${v.name} is label_values(selector, label)`) || !match) continue;
        const selector = expand(match[1]!);
        const res = await request(
          `${prom.url}/api/v1/label/${match[2]}/values?${new URLSearchParams({ 'match[]': selector })}`,
        );
        const values = ((await res.body.json()) as { data: string[] }).data;
        t.ok(values.length > 0, `${file}: variable ${v.name} has values: ${values.join(', ')}`);
      }
      for (const p of d.panels)
        for (const target of p.targets) {
          const expr = expand(target.expr);
          const r = await instantQuery(prom.url, expr);
          t.ok(r.length > 0, `${file}: "${p.title}" ${target.refId} returns data`, { expr });
        }
    }

    // What the bench records with --with prometheus: the run window, as Prometheus saw it.
    const view = await runWindow(prom.url, 'microservices', startedAt, endedAt);
    const sent = microRun!.completed;
    for (const service of ['gateway', 'prediction']) {
      const seen = view[service]?.requests ?? 0;
      t.ok(Math.abs(seen - sent) / sent < 0.15, `${service}: Prometheus counted ${seen} of ${sent} requests (±15%)`);
      t.ok((view[service]?.p99Ms ?? 0) > 0, `${service}: a p99 over the window`);
    }
  },
);
